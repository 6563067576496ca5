package signals

import (
	"slices"
	"testing"
)

func TestParseMask(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"0000000000000000", nil},
		{"0000000000000001", []int{1}},                // SIGHUP is bit 0
		{"0000000000004a03", []int{1, 2, 10, 12, 15}}, // HUP INT USR1 USR2 TERM
		{"8000000000000000", []int{64}},
		{" 0000000000000200\n", []int{10}},
	}
	for _, tt := range tests {
		s, err := ParseMask(tt.in)
		if err != nil {
			t.Fatalf("ParseMask(%q): %v", tt.in, err)
		}
		if got := s.Signals(); !slices.Equal(got, tt.want) {
			t.Errorf("ParseMask(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "xyz", "00000000000000001"} {
		if _, err := ParseMask(bad); err == nil {
			t.Errorf("ParseMask(%q) succeeded", bad)
		}
	}
	var s Set
	s = s.With(1).With(64).With(0).With(65)
	if !s.Has(1) || !s.Has(64) || s.Has(2) || s.Has(0) || s.String() != "8000000000000001" {
		t.Errorf("With/Has/String: %v", s)
	}
}
