package output

import (
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
