package signals

import (
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// si_code values from include/uapi/asm-generic/siginfo.h. golang.org/x/sys
// exports none of them, so they are listed here once. Codes <= 0 mean a
// process sent the signal (or a kernel facility acting for one); codes > 0
// are per-signal reasons the kernel itself raised it.
const (
	SIUser    = 0
	SIKernel  = 0x80
	SIQueue   = -1
	SITimer   = -2
	SIMesgQ   = -3
	SIAsyncIO = -4
	SISigIO   = -5
	SITKill   = -6
	SIDethrd  = -7
	SIAsyncNL = -60
)

var genericCodes = map[int32]string{
	SIUser:    "SI_USER",
	SIKernel:  "SI_KERNEL",
	SIQueue:   "SI_QUEUE",
	SITimer:   "SI_TIMER",
	SIMesgQ:   "SI_MESGQ",
	SIAsyncIO: "SI_ASYNCIO",
	SISigIO:   "SI_SIGIO",
	SITKill:   "SI_TKILL",
	SIDethrd:  "SI_DETHREAD",
	SIAsyncNL: "SI_ASYNCNL",
}

// Per-signal codes, index = code-1.
var (
	illCodes  = []string{"ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP", "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK", "ILL_BADIADDR"}
	fpeCodes  = []string{"FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF", "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB", "FPE_FLTUNK", "FPE_CONDTRAP"}
	segvCodes = []string{"SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR", "SEGV_ACCADI", "SEGV_ADIDERR", "SEGV_ADIPERR", "SEGV_MTEAERR", "SEGV_MTESERR", "SEGV_CPERR"}
	busCodes  = []string{"BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"}
	trapCodes = []string{"TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT", "TRAP_UNK", "TRAP_PERF"}
	cldCodes  = []string{"CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"}
	pollCodes = []string{"POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP"}
	sysCodes  = []string{"SYS_SECCOMP", "SYS_USER_DISPATCH"}
)

func perSignal(sig int) []string {
	switch syscall.Signal(sig) {
	case unix.SIGILL:
		return illCodes
	case unix.SIGFPE:
		return fpeCodes
	case unix.SIGSEGV:
		return segvCodes
	case unix.SIGBUS:
		return busCodes
	case unix.SIGTRAP:
		return trapCodes
	case unix.SIGCHLD:
		return cldCodes
	case unix.SIGIO:
		return pollCodes
	case unix.SIGSYS:
		return sysCodes
	}
	return nil
}

// CodeName names si_code for sig ("SI_USER", "SEGV_MAPERR", "CLD_EXITED"),
// or returns the number as a string when it has no name. Named codes do not
// allocate.
func CodeName(sig int, code int32) string {
	if n, ok := LookupCode(sig, code); ok {
		return n
	}
	return strconv.Itoa(int(code))
}

// LookupCode names si_code for sig and reports whether it has a name. It
// never allocates: renderers use it to print unnamed codes (any process
// can sigqueue one) as numbers straight into their buffer.
func LookupCode(sig int, code int32) (string, bool) {
	if n, ok := genericCodes[code]; ok {
		return n, true
	}
	if code > 0 {
		if names := perSignal(sig); int(code) <= len(names) {
			return names[code-1], true
		}
	}
	return "", false
}

// LongestCodeName is the length of the longest si_code name LookupCode
// knows, derived from the tables above so that a renderer's column fits
// every name (CLD_CONTINUED, SYS_USER_DISPATCH) as codes are added.
var LongestCodeName = longestCodeName()

func longestCodeName() int {
	n := 0
	for _, name := range genericCodes {
		n = max(n, len(name))
	}
	for sig := 1; sig <= Max; sig++ {
		for _, name := range perSignal(sig) {
			n = max(n, len(name))
		}
	}
	return n
}

// ParseCode is LookupCode backwards: the si_code a name stands for with
// sig ("SEGV_MAPERR" is 1 only for SIGSEGV), for reading events back.
func ParseCode(sig int, name string) (int32, bool) {
	for code, n := range genericCodes {
		if n == name {
			return code, true
		}
	}
	for i, n := range perSignal(sig) {
		if n == name {
			return int32(i + 1), true
		}
	}
	return 0, false
}
