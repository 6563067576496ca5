package output

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// The one policy for text that other users choose (command names, argv,
// file names, lines of configuration files) on its way to a terminal, in
// the trace table, the audit's table and every warning: what a terminal
// would act on or that would change how the line reads is shown as an
// escape, never passed raw. That is C0 and C1 controls and DEL (cursor
// moves, colours, window titles, a newline that forges a row), bytes that
// are not UTF-8, the bidirectional and invisible format characters that
// reorder or hide what follows (U+202E and friends), and the backslash,
// so an escape cannot be imitated.

// unsafeRune reports whether r (decoded with size bytes) must be escaped.
func unsafeRune(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size <= 1:
		return true
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0, r == '\\':
		return true
	case r == 0x061c, r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e,
		r >= 0x2060 && r <= 0x2069, r == 0xfeff:
		return true
	}
	return false
}

// AppendSafe appends s for a terminal under that policy: \xNN for each
// byte of a control or of invalid UTF-8, \uNNNN for a format character,
// \\ for a backslash.
func AppendSafe(b []byte, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case !unsafeRune(r, size):
			b = append(b, s[i:i+size]...)
		case r == '\\':
			b = append(b, '\\', '\\')
		case r >= 0x80 && r != utf8.RuneError && !(r < 0xa0):
			b = append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			for _, x := range s[i : i+size] {
				b = append(b, '\\', 'x', hexDigits[x>>4], hexDigits[x&0xf])
			}
		}
		i += size
	}
	return b
}

// SafeString is AppendSafe for a string.
func SafeString(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			return string(AppendSafe(make([]byte, 0, len(s)+8), []byte(s)))
		}
	}
	return s
}

// MaxEcho is the most of one piece of text others chose (a line of a
// configuration file, a word of it) that sigtrace repeats in any output:
// a crafted file must not make the report larger than what it reads
// (issue 21, item 6: a 1 MB kill argument was echoed whole, twice).
// Honest lines and words are shorter; what is cut is counted.
const MaxEcho = 200

// Clip returns s if it holds at most max bytes; otherwise its first max
// bytes or fewer, cut at a character boundary, followed by a marker that
// says how many bytes were left out: "…[1048376 more bytes]". It is the
// one rule for bounding what is repeated; the policy above still applies
// to the result on its way to a terminal. Clipping what Clip returned
// changes nothing: a word clipped where it is read may be clipped again
// where it is shown, and the count stays that of the input.
func Clip(s string, max int) string {
	if len(s) <= max || isClipped(s, max) {
		return s
	}
	if max < 0 {
		max = 0
	}
	cut := max
	// Back to the start of a character, at most the length of one
	// (invalid UTF-8 has no start: it is cut where it is).
	for i := 0; i < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(s[cut]); i++ {
		cut--
	}
	if !utf8.RuneStart(s[cut]) {
		cut = max
	}
	return s[:cut] + ClipMarker(len(s)-cut)
}

// ClipMarker is the marker Clip puts after text of which n bytes were
// left out.
func ClipMarker(n int) string { return "…[" + strconv.Itoa(n) + " more bytes]" }

// isClipped reports whether s is what Clip(_, max) returns for a longer
// text: at most max bytes and a marker. Input that imitates it is at most
// a marker's length over max, so it stays bounded.
func isClipped(s string, max int) bool {
	const open, shut = "…[", " more bytes]"
	i := strings.LastIndex(s, open)
	if i < 0 || i > max || !strings.HasSuffix(s, shut) || len(s)-len(shut) < i+len(open) {
		return false
	}
	n, err := strconv.Atoi(s[i+len(open) : len(s)-len(shut)])
	return err == nil && n > 0 && s[i:] == ClipMarker(n)
}
