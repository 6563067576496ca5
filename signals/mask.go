package signals

import (
	"fmt"
	"strconv"
	"strings"
)

// Set is a set of signals as the kernel stores it in a sigset_t and prints
// it in /proc/PID/status (SigPnd, SigBlk, SigIgn, SigCgt): bit sig-1 is set
// when sig is a member.
type Set uint64

// ParseMask parses a mask as /proc/PID/status prints it: 16 hex digits,
// most significant first ("0000000000004a03").
func ParseMask(hex string) (Set, error) {
	h := strings.TrimSpace(hex)
	if h == "" || len(h) > 16 {
		return 0, fmt.Errorf("bad signal mask %q: want up to 16 hex digits", hex)
	}
	v, err := strconv.ParseUint(h, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("bad signal mask %q: %v", hex, err)
	}
	return Set(v), nil
}

// Has reports whether sig is in the set.
func (s Set) Has(sig int) bool {
	return Valid(sig) && s&(1<<(sig-1)) != 0
}

// With returns the set with sig added.
func (s Set) With(sig int) Set {
	if !Valid(sig) {
		return s
	}
	return s | 1<<(sig-1)
}

// Signals lists the members in increasing order.
func (s Set) Signals() []int {
	var out []int
	for sig := 1; sig <= Max; sig++ {
		if s.Has(sig) {
			out = append(out, sig)
		}
	}
	return out
}

// String prints the set the way /proc does.
func (s Set) String() string { return fmt.Sprintf("%016x", uint64(s)) }
