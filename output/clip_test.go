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
		// What Clip returned is left as it is: the count stays the input's.
		{"clipped again", strings.Repeat("A", 200) + "…[1048376 more bytes]", 200, strings.Repeat("A", 200) + "…[1048376 more bytes]"},
		{"clipped shorter", "abc…[7 more bytes]", 200, "abc…[7 more bytes]"},
		// Not a marker of Clip's: clipped like any text.
		{"marker past the bound", strings.Repeat("A", 201) + "…[5 more bytes]", 200, strings.Repeat("A", 200) + "…[18 more bytes]"},
		{"not a count", strings.Repeat("A", 200) + "…[x more bytes]", 200, strings.Repeat("A", 200) + "…[17 more bytes]"},
		{"zero count", strings.Repeat("A", 200) + "…[0 more bytes]", 200, strings.Repeat("A", 200) + "…[17 more bytes]"},
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

// TestClipIdempotent: clipping twice is clipping once, whatever the text.
func TestClipIdempotent(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("A", 1000), strings.Repeat("é", 300), strings.Repeat("\x80", 300),
		strings.Repeat("a…[", 100), "short",
	} {
		once := Clip(in, 200)
		if twice := Clip(once, 200); twice != once {
			t.Errorf("Clip(Clip(%.20q)) = %.60q, want %.60q", in, twice, once)
		}
		if len(once) > 200+len(ClipMarker(len(in))) {
			t.Errorf("Clip(%.20q) is %d bytes", in, len(once))
		}
	}
}
