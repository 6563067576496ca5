package output

import (
	"strings"
	"testing"
)

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short", "kill -HUP 1", 200, "kill -HUP 1"},
		{"exact", strings.Repeat("a", 200), 200, strings.Repeat("a", 200)},
		{"one over", strings.Repeat("a", 201), 200, strings.Repeat("a", 200) + "…[1 more bytes]"},
		{"megabyte", strings.Repeat("A", 1<<20), 200, strings.Repeat("A", 200) + "…[1048376 more bytes]"},
		// "é" is 2 bytes: a cut inside it moves back to its start.
		{"inside a character", "abcé", 4, "abc…[2 more bytes]"},
		{"before a character", "abcé", 3, "abc…[2 more bytes]"},
		// "€" is 3 bytes.
		{"inside a 3-byte character", "ab€€", 4, "ab…[6 more bytes]"},
		// Invalid UTF-8 has no character start to move back to.
		{"invalid", strings.Repeat("\x80", 10), 4, "\x80\x80\x80\x80…[6 more bytes]"},
		{"zero", "abc", 0, "…[3 more bytes]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Clip(tc.in, tc.max); got != tc.want {
				t.Errorf("Clip(%.40q, %d) = %.60q, want %.60q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

// TestClipThenSafe: the marker passes the terminal policy unchanged, and
// a clipped control still reaches the terminal escaped.
func TestClipThenSafe(t *testing.T) {
	got := SafeString(Clip("\x1b[2J"+strings.Repeat("x", 300), 10))
	want := `\x1b[2Jxxxxxx…[294 more bytes]`
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
