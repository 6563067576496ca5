// Package signals is sigtrace's vocabulary for Linux signals: names (from
// golang.org/x/sys/unix, plus the real-time range the way kill -l prints
// it), parsing of what users type, and the kernel's default actions.
package signals

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Max is the highest signal number on Linux (_NSIG, 64 on every
// architecture sigtrace supports).
const Max = 64

// RTMin and RTMax are the real-time range as glibc exposes it to users
// (SIGRTMIN is 34: glibc reserves 32 and 33 for NPTL), which is what `kill
// -l`, `kill -s RTMIN+3` and every man page mean by SIGRTMIN.
const (
	RTMin = 34
	RTMax = 64
)

// Action is a signal's default action, as in the kernel's table in
// include/linux/signal.h (SIG_KERNEL_*_MASK) and signal(7).
type Action uint8

const (
	Terminate Action = iota
	Core
	Ignore
	Stop
	Continue
)

var actionNames = [...]string{"terminate", "core", "ignore", "stop", "continue"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// Kills reports whether the action ends the process.
func (a Action) Kills() bool { return a == Terminate || a == Core }

// DefaultAction returns what the kernel does with sig when the receiver has
// no handler. Every signal not named in the kernel's coredump, ignore and
// stop masks terminates, including all real-time signals.
func DefaultAction(sig int) Action {
	switch syscall.Signal(sig) {
	case unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, unix.SIGBUS,
		unix.SIGFPE, unix.SIGSEGV, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGSYS:
		return Core
	case unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH:
		return Ignore
	case unix.SIGCONT:
		return Continue
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return Stop
	}
	return Terminate
}

// Catchable reports whether a process can install a handler for, ignore or
// block sig: everything but SIGKILL and SIGSTOP (sig_kernel_only()).
func Catchable(sig int) bool {
	return sig != int(unix.SIGKILL) && sig != int(unix.SIGSTOP)
}

// Valid reports whether sig is a signal number Linux can send.
func Valid(sig int) bool { return sig >= 1 && sig <= Max }

var rtNames [Max + 1]string

func init() {
	for s := 32; s <= Max; s++ {
		switch {
		case s < RTMin:
			rtNames[s] = "SIG" + strconv.Itoa(s)
		case s == RTMin:
			rtNames[s] = "SIGRTMIN"
		case s == RTMax:
			rtNames[s] = "SIGRTMAX"
		case s <= (RTMin+RTMax)/2:
			// kill -l names the lower half from RTMIN and the upper
			// half from RTMAX (35 is SIGRTMIN+1, 63 is SIGRTMAX-1).
			rtNames[s] = "SIGRTMIN+" + strconv.Itoa(s-RTMin)
		default:
			rtNames[s] = "SIGRTMAX-" + strconv.Itoa(RTMax-s)
		}
	}
}

// Name returns the signal's name ("SIGHUP", "SIGRTMIN+3"), or "SIG<n>" for
// a number Linux does not use. It does not allocate for valid signals.
func Name(sig int) string {
	if sig >= 32 && sig <= Max {
		return rtNames[sig]
	}
	if sig >= 1 && sig < 32 {
		if n := unix.SignalName(syscall.Signal(sig)); n != "" {
			return n
		}
	}
	return "SIG" + strconv.Itoa(sig)
}

// aliases are the other names Linux and glibc accept for the same numbers.
var aliases = map[string]int{
	"SIGIOT":  int(unix.SIGABRT),
	"SIGPOLL": int(unix.SIGIO),
	"SIGCLD":  int(unix.SIGCHLD),
}

// Parse turns what a user typed into a signal number: "HUP", "SIGHUP",
// "sighup", "1", "RTMIN+3", "SIGRTMAX-2", "SIG40".
func Parse(s string) (int, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty signal name")
	}
	if n, err := strconv.Atoi(in); err == nil {
		if !Valid(n) {
			return 0, fmt.Errorf("signal number %d out of range 1..%d", n, Max)
		}
		return n, nil
	}
	name := strings.ToUpper(in)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if n := int(unix.SignalNum(name)); n != 0 {
		return n, nil
	}
	if n, ok := aliases[name]; ok {
		return n, nil
	}
	if n, ok := parseRT(name); ok {
		return n, nil
	}
	if rest, ok := strings.CutPrefix(name, "SIG"); ok {
		if n, err := strconv.Atoi(rest); err == nil && Valid(n) {
			return n, nil
		}
	}
	return 0, fmt.Errorf("unknown signal %q (try a name like HUP or SIGTERM, a number 1..%d, or RTMIN+N)", s, Max)
}

func parseRT(name string) (int, bool) {
	for _, base := range []struct {
		prefix string
		at     int
	}{{"SIGRTMIN", RTMin}, {"SIGRTMAX", RTMax}} {
		rest, ok := strings.CutPrefix(name, base.prefix)
		if !ok {
			continue
		}
		if rest == "" {
			return base.at, true
		}
		off, err := strconv.Atoi(rest) // accepts "+3" and "-2"
		if err != nil || (rest[0] != '+' && rest[0] != '-') {
			return 0, false
		}
		n := base.at + off
		if n < RTMin || n > RTMax {
			return 0, false
		}
		return n, true
	}
	return 0, false
}

// ParseList parses a comma-separated list of signals, as -s takes them.
func ParseList(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		n, err := Parse(part)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty signal list %q", s)
	}
	return out, nil
}
