package signals

import "testing"

// TestParseCodeRoundTrip: every code LookupCode names parses back to
// itself for the signal it was named with, and a name of another signal's
// codes does not.
func TestParseCodeRoundTrip(t *testing.T) {
	n := 0
	for sig := 1; sig <= Max; sig++ {
		for code := int32(-70); code <= 0x90; code++ {
			name, ok := LookupCode(sig, code)
			if !ok {
				continue
			}
			n++
			if got, ok := ParseCode(sig, name); !ok || got != code {
				t.Errorf("ParseCode(%d, %q) = %d, %v; want %d", sig, name, got, ok, code)
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d named codes round-tripped", n)
	}
	for _, tc := range []struct {
		sig  int
		name string
	}{{1, "SEGV_MAPERR"}, {11, "CLD_EXITED"}, {11, "42"}, {11, ""}} {
		if got, ok := ParseCode(tc.sig, tc.name); ok {
			t.Errorf("ParseCode(%d, %q) = %d, want no code", tc.sig, tc.name, got)
		}
	}
}
