// Package goruntime knows what the Go runtime does with the signals a Go
// program receives, and reads from a live Go program which signals it
// asked for with os/signal's signal.Notify.
//
// A Go program always shows handlers in /proc/PID/status (SigCgt): the
// runtime installs its own for nearly every signal at start (runtime
// initsig, runtime/signal_unix.go). That handler is not a promise that
// the program survives: for a signal the program did not ask for, it
// re-raises SIGHUP, SIGINT and SIGTERM with the default action
// (dieFromSignal), dumps the goroutines and exits with status 2 on SIGQUIT
// and the other "throw" signals, and silently drops the rest (SIGUSR1,
// SIGUSR2, ...). Whether the program asked is the runtime's notify mask,
// runtime.sig.wanted (runtime/sigqueue.go), which this package reads from
// the program's memory when its executable has a symbol table.
package goruntime

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sigtrace/sigtrace/internal/safeio"
	"github.com/sigtrace/sigtrace/signals"
	"golang.org/x/sys/unix"
)

// openExe opens a file of a process (its executable, its maps) only when
// it is a regular file: under a crafted /proc (audit --proc) it could be a
// FIFO, which would wait forever, or a device.
func openExe(path string) (*os.File, error) { return safeio.Open(path) }

// Version returns the Go version that built the executable at path
// ("go1.26.8"), and whether it is a Go program at all: one with the
// build information every Go linker since Go 1.13 writes.
func Version(path string) (string, bool) {
	f, err := openExe(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	bi, err := buildinfo.Read(f)
	if err != nil {
		return "", false
	}
	return bi.GoVersion, true
}

// IsGo reports whether the executable at path is a Go program.
func IsGo(path string) bool {
	_, ok := Version(path)
	return ok
}

// Action is what the Go runtime's own handler does with a signal that
// another process sent (SI_USER) when the program did not ask for it with
// signal.Notify.
type Action uint8

const (
	// NoHandler: the runtime installs no handler for it (SIGKILL,
	// SIGSTOP, and the job-control signals it leaves alone until the
	// program asks): the kernel's default action applies.
	NoHandler Action = iota
	// Exit: the handler resets the signal to SIG_DFL and raises it again
	// (dieFromSignal), so the process dies of it: SIGHUP, SIGINT, SIGTERM.
	Exit
	// Crash: the handler prints a goroutine dump and exits with status 2
	// (a core dump with GOTRACEBACK=crash): SIGQUIT, SIGILL, SIGTRAP,
	// SIGABRT, SIGSTKFLT, SIGSYS, and SIGBUS, SIGFPE, SIGSEGV when sent by
	// kill rather than raised by a fault.
	Crash
	// Discard: the handler drops it; the program goes on as if nothing
	// was sent: SIGUSR1, SIGUSR2, SIGPIPE (sent by kill), SIGALRM, the
	// real-time signals, ...
	Discard
)

func (a Action) String() string {
	switch a {
	case Exit:
		return "exit"
	case Crash:
		return "crash"
	case Discard:
		return "discard"
	}
	return "default"
}

// Kills reports whether the action ends the process.
func (a Action) Kills() bool { return a == Exit || a == Crash }

// The flags of the runtime's sigtable that decide what sighandler does
// (runtime/runtime2.go _SigNotify...).
const (
	sigNotify = 1 << iota
	sigKill
	sigThrow
	sigPanic
	sigDefault
	sigGoExit
	sigSetStack
	sigUnblock
	sigIgn
)

// sigtable is the runtime's table for Linux other than MIPS (amd64 and
// arm64 here), flags only, from Go 1.26's runtime/sigtab_linux_generic.go.
var sigtable = [65]uint16{
	0:  0,
	1:  sigNotify | sigKill,             // SIGHUP
	2:  sigNotify | sigKill,             // SIGINT
	3:  sigNotify | sigThrow,            // SIGQUIT
	4:  sigThrow | sigUnblock,           // SIGILL
	5:  sigThrow | sigUnblock,           // SIGTRAP
	6:  sigNotify | sigThrow,            // SIGABRT
	7:  sigPanic | sigUnblock,           // SIGBUS
	8:  sigPanic | sigUnblock,           // SIGFPE
	9:  0,                               // SIGKILL
	10: sigNotify,                       // SIGUSR1
	11: sigPanic | sigUnblock,           // SIGSEGV
	12: sigNotify,                       // SIGUSR2
	13: sigNotify,                       // SIGPIPE
	14: sigNotify,                       // SIGALRM
	15: sigNotify | sigKill,             // SIGTERM
	16: sigThrow | sigUnblock,           // SIGSTKFLT
	17: sigNotify | sigUnblock | sigIgn, // SIGCHLD
	18: sigNotify | sigDefault | sigIgn, // SIGCONT
	19: 0,                               // SIGSTOP
	20: sigNotify | sigDefault | sigIgn, // SIGTSTP
	21: sigNotify | sigDefault | sigIgn, // SIGTTIN
	22: sigNotify | sigDefault | sigIgn, // SIGTTOU
	23: sigNotify | sigIgn,              // SIGURG (also the runtime's preemption signal)
	24: sigNotify,                       // SIGXCPU
	25: sigNotify,                       // SIGXFSZ
	26: sigNotify,                       // SIGVTALRM
	27: sigNotify | sigUnblock,          // SIGPROF
	28: sigNotify | sigIgn,              // SIGWINCH
	29: sigNotify,                       // SIGIO
	30: sigNotify,                       // SIGPWR
	31: sigThrow,                        // SIGSYS
	32: sigSetStack | sigUnblock,        // glibc's SIGCANCEL
	33: sigSetStack | sigUnblock,        // glibc's SIGSETXID
	34: sigSetStack | sigUnblock,        // musl's SIGSYNCCALL
	35: sigNotify, 36: sigNotify, 37: sigNotify, 38: sigNotify, 39: sigNotify, 40: sigNotify,
	41: sigNotify, 42: sigNotify, 43: sigNotify, 44: sigNotify, 45: sigNotify, 46: sigNotify,
	47: sigNotify, 48: sigNotify, 49: sigNotify, 50: sigNotify, 51: sigNotify, 52: sigNotify,
	53: sigNotify, 54: sigNotify, 55: sigNotify, 56: sigNotify, 57: sigNotify, 58: sigNotify,
	59: sigNotify, 60: sigNotify, 61: sigNotify, 62: sigNotify, 63: sigNotify, 64: sigNotify,
}

// Unnotified is what the runtime's handler does with sig, sent by another
// process, in a program that did not ask for it with signal.Notify. It
// follows runtime/signal_unix.go sighandler: a signal from a user that
// sigsend does not take (not in sig.wanted) goes on to dieFromSignal when
// the entry has _SigKill, to a fatal "throw" (goroutine dump, exit 2) when
// it has _SigThrow or _SigPanic, and is dropped otherwise. Entries without
// flags, and the job-control ones (_SigDefault), get no handler at start
// (initsig).
func Unnotified(sig int) Action {
	if sig < 1 || sig >= len(sigtable) {
		return NoHandler
	}
	f := sigtable[sig]
	switch {
	case f == 0:
		return NoHandler
	case f&sigKill != 0:
		return Exit
	case f&(sigThrow|sigPanic) != 0:
		return Crash
	}
	return Discard
}

// ErrNoSymbols says that the executable has no symbol table (built with
// -ldflags=-s, or stripped), so the notify mask cannot be found.
var ErrNoSymbols = errors.New("its executable has no symbol table (built with -ldflags=-s or stripped)")

// sigSymbol is the runtime's signal state: var sig struct { note note;
// mask, wanted, ignored, recv [(_NSIG + 31) / 32]uint32; ... }
// (runtime/sigqueue.go). note is one uintptr on Linux (runtime/note_other.go),
// _NSIG is 65, so wanted is three uint32 words after a pointer and three
// words; bit s%32 of word s/32 is signal s.
const (
	sigSymbol   = "runtime.sig"
	nsigWords   = (65 + 31) / 32
	wantedWords = nsigWords
)

// Wanted reads the signals that the Go program running as pid asked for
// with signal.Notify (and has not stopped with signal.Stop or
// signal.Reset): the runtime's sig.wanted, found through the symbol table
// of /proc/PID/exe and, for a position-independent executable, the load
// address in /proc/PID/maps, read from /proc/PID/mem. procDir is where
// /proc is mounted. Reading another process's memory needs root or
// ptrace access to it.
func Wanted(procDir string, pid int) (signals.Set, error) {
	dir := filepath.Join(procDir, strconv.Itoa(pid))
	exe := filepath.Join(dir, "exe")
	ef, err := openExe(exe)
	if err != nil {
		return 0, fmt.Errorf("reading its executable: %w", err)
	}
	defer ef.Close()
	f, err := elf.NewFile(ef)
	if err != nil {
		return 0, fmt.Errorf("reading its executable: %w", err)
	}
	addr, size, err := symbol(f, sigSymbol)
	if err != nil {
		return 0, err
	}
	ptr := uint64(8)
	if f.Class == elf.ELFCLASS32 {
		ptr = 4
	}
	off := ptr + 4*nsigWords // after note and mask
	if size < off+4*wantedWords {
		return 0, fmt.Errorf("%s is %d bytes, too small for the runtime's signal state: an unknown Go runtime", sigSymbol, size)
	}
	if f.Type == elf.ET_DYN {
		bias, err := loadBias(f, dir, exe)
		if err != nil {
			return 0, err
		}
		addr += bias
	}
	mem, err := os.Open(filepath.Join(dir, "mem"))
	if err != nil {
		return 0, fmt.Errorf("reading its memory: %w", err)
	}
	defer mem.Close()
	buf := make([]byte, 4*wantedWords)
	if _, err := mem.ReadAt(buf, int64(addr+off)); err != nil {
		return 0, fmt.Errorf("reading its memory: %w", err)
	}
	var set signals.Set
	for s := 1; s <= signals.Max; s++ {
		w := f.ByteOrder.Uint32(buf[4*(s/32):])
		if w&(1<<(s%32)) != 0 {
			set = set.With(s)
		}
	}
	return set, nil
}

// symbol finds a data symbol's address and size in the ELF symbol table.
func symbol(f *elf.File, name string) (addr, size uint64, err error) {
	syms, err := f.Symbols()
	if errors.Is(err, elf.ErrNoSymbols) {
		return 0, 0, ErrNoSymbols
	}
	if err != nil {
		return 0, 0, fmt.Errorf("reading its symbol table: %w", err)
	}
	for _, s := range syms {
		if s.Name == name && elf.ST_TYPE(s.Info) == elf.STT_OBJECT {
			return s.Value, s.Size, nil
		}
	}
	return 0, 0, fmt.Errorf("no %s in its symbol table", name)
}

// loadBias is where a position-independent executable was loaded: the
// start of its mapping at file offset 0 (matched by inode in
// /proc/PID/maps, so it holds whatever the file is called in the
// process's mount namespace) less the first segment's address.
func loadBias(f *elf.File, dir, exe string) (uint64, error) {
	var first *elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Off == 0 {
			first = p
			break
		}
	}
	if first == nil {
		return 0, errors.New("its executable has no segment at file offset 0")
	}
	var st unix.Stat_t
	if err := unix.Stat(exe, &st); err != nil {
		return 0, fmt.Errorf("reading its executable: %w", err)
	}
	mf, err := openExe(filepath.Join(dir, "maps"))
	if err != nil {
		return 0, fmt.Errorf("reading its mappings: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(mf, 16<<20))
	mf.Close()
	if err != nil {
		return 0, fmt.Errorf("reading its mappings: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// start-end perms offset major:minor inode path
		fl := strings.Fields(sc.Text())
		if len(fl) < 5 || fl[2] != "00000000" && strings.Trim(fl[2], "0") != "" {
			continue
		}
		ino, err := strconv.ParseUint(fl[4], 10, 64)
		if err != nil || ino != st.Ino || fl[3] != fmt.Sprintf("%02x:%02x", unix.Major(st.Dev), unix.Minor(st.Dev)) {
			continue
		}
		start, _, _ := strings.Cut(fl[0], "-")
		s, err := strconv.ParseUint(start, 16, 64)
		if err != nil {
			continue
		}
		// The kernel maps the segment from its page (fs/binfmt_elf.c elf_map).
		return s - first.Vaddr&^uint64(os.Getpagesize()-1), nil
	}
	return 0, errors.New("its executable is not in its mappings")
}
