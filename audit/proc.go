package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/sigtrace/sigtrace/goruntime"
	"github.com/sigtrace/sigtrace/signals"
)

// pfKthread is PF_KTHREAD from include/linux/sched.h, as /proc/PID/stat
// prints it in the flags field. Kernel threads take no signals from users.
const pfKthread = 0x00200000

// Proc is one live process as /proc shows it, with what matters for the
// audit: how it is set up for each signal and how tools would select it.
type Proc struct {
	PID     int
	PPID    int
	PGRP    int
	Session int
	Comm    string   // /proc/PID/comm: at most 15 bytes
	Argv    []string // /proc/PID/cmdline split at NULs
	State   byte
	RUID    int
	EUID    int
	Start   uint64 // start time in clock ticks since boot
	Kthread bool
	// NSInit is true for PID 1 of a PID namespace (the host's init, a
	// container's): the kernel discards the signals it has no handler for.
	NSInit bool

	Caught  signals.Set // SigCgt: a handler is installed
	Ignored signals.Set // SigIgn
	// Blocked holds the signals blocked in every thread: a process-directed
	// signal in it stays pending (or is read with signalfd/sigwaitinfo).
	Blocked signals.Set

	Cgroup string // the systemd cgroup path ("/system.slice/nginx.service")
	Unit   string // the systemd unit that cgroup belongs to, if any

	procDir string
	exe     *string
	goRead  bool
	goProg  *goProgram
}

// goProgram is what the audit knows of a process that runs a Go program.
type goProgram struct {
	version string
	// wanted are the signals it asked for with signal.Notify, read from
	// the runtime's notify mask in its memory; err says why they are not
	// known (no symbol table, no access to its memory).
	wanted signals.Set
	err    error
}

// Go returns what is known of the Go program the process runs, or nil
// when it is no Go program (its executable has no Go build information).
// Such a program always shows handlers in SigCgt: the Go runtime installs
// its own at start, whether the program asked for the signals or not.
func (p *Proc) Go() *goProgram {
	if !p.goRead {
		p.goRead = true
		dir := filepath.Join(p.procDir, strconv.Itoa(p.PID))
		if v, ok := goruntime.Version(filepath.Join(dir, "exe")); ok {
			g := &goProgram{version: v}
			g.wanted, g.err = goruntime.Wanted(p.procDir, p.PID)
			p.goProg = g
		}
	}
	return p.goProg
}

// Cmdline is argv joined with spaces, the way ps and pkill -f see it; a
// process without one (a zombie, a kernel thread) shows "[comm]".
func (p *Proc) Cmdline() string {
	if len(p.Argv) == 0 {
		return "[" + p.Comm + "]"
	}
	return strings.Join(p.Argv, " ")
}

// Exe is the target of /proc/PID/exe ("" when unreadable: another user's
// process without privileges, or gone), without the " (deleted)" suffix.
func (p *Proc) Exe() string {
	if p.exe == nil {
		s, _ := os.Readlink(filepath.Join(p.procDir, strconv.Itoa(p.PID), "exe"))
		s = strings.TrimSuffix(s, " (deleted)")
		p.exe = &s
	}
	return *p.exe
}

// Disposition names what the process does with sig now: "handler",
// "ignore", "blocked" (no handler, blocked in every thread) or "default".
func (p *Proc) Disposition(sig int) string {
	switch {
	case p.Caught.Has(sig):
		return "handler"
	case p.Ignored.Has(sig):
		return "ignore"
	case p.Blocked.Has(sig):
		return "blocked"
	}
	return "default"
}

// Procs is a snapshot of the live processes, by PID.
type Procs struct {
	Dir  string
	List []*Proc // ordered by PID
	ByID map[int]*Proc
	// Skipped are processes left out because what /proc says of them
	// could not be read or made no sense (a crafted --proc, or a kernel
	// the audit does not know): each with why, for a warning.
	Skipped []Warning
}

// ScanProcs reads every process under procDir. Processes that exit while
// being read are skipped silently; kernel threads and zombies are skipped
// too (no user signal reaches them). skip is a PID to leave out (the audit
// itself), or 0.
func ScanProcs(procDir string, skip int) (*Procs, error) {
	ents, err := os.ReadDir(procDir)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %s (--proc wants a mounted proc file system)", procDir, errText(err))
	}
	ps := &Procs{Dir: procDir, ByID: map[int]*Proc{}}
	sawAny := false
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		sawAny = true
		if pid == skip {
			continue
		}
		p, err := readProc(procDir, pid)
		if err != nil {
			if !errors.Is(err, errGone) {
				ps.Skipped = append(ps.Skipped, Warning{File: filepath.Join(procDir, e.Name()),
					Msg: "process left out: " + errText(err)})
			}
			continue
		}
		if p.Kthread || p.State == 'Z' || p.State == 'X' {
			continue
		}
		ps.List = append(ps.List, p)
		ps.ByID[pid] = p
	}
	if !sawAny {
		return nil, fmt.Errorf("%s holds no processes: is it a proc file system?", procDir)
	}
	sort.Slice(ps.List, func(i, j int) bool { return ps.List[i].PID < ps.List[j].PID })
	return ps, nil
}

// errGone reports that the process went away while we read it.
var errGone = errors.New("process gone")

func readProc(procDir string, pid int) (*Proc, error) {
	dir := filepath.Join(procDir, strconv.Itoa(pid))
	p := &Proc{PID: pid, procDir: procDir}

	st, err := readStatus(filepath.Join(dir, "status"))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return nil, errGone // it exited while being read
	}
	if err != nil {
		return nil, err
	}
	p.Caught, p.Ignored, p.Blocked = st.cgt, st.ign, st.blk
	p.RUID, p.EUID, p.PPID = st.ruid, st.euid, st.ppid
	p.State = st.state
	p.NSInit = st.nsInit
	p.Comm = st.name

	if b, err := readRegular(filepath.Join(dir, "comm"), maxProcBytes); err == nil {
		p.Comm = strings.TrimSuffix(string(b), "\n")
	}
	if b, err := readRegular(filepath.Join(dir, "stat"), maxProcBytes); err == nil {
		parseStat(p, b)
	}
	if b, err := readRegular(filepath.Join(dir, "cmdline"), maxProcBytes); err == nil {
		b = bytes.TrimRight(b, "\x00")
		if len(b) > 0 {
			p.Argv = strings.Split(string(b), "\x00")
		}
	}
	if b, err := readRegular(filepath.Join(dir, "cgroup"), maxProcBytes); err == nil {
		p.Cgroup = systemdCgroup(string(b))
		p.Unit = unitOfCgroup(p.Cgroup)
	}
	// A signal sent to a process reaches whichever thread does not block
	// it: it is only held back when every thread blocks it.
	if blk, ok := blockedInAllThreads(dir); ok {
		p.Blocked = blk
	}
	return p, nil
}

type status struct {
	name             string
	state            byte
	ppid, ruid, euid int
	nsInit           bool
	cgt, ign, blk    signals.Set
}

func readStatus(path string) (status, error) {
	var st status
	b, err := readRegular(path, maxProcBytes)
	if err != nil {
		return st, err
	}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxProcBytes)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "Name":
			st.name = val
		case "State":
			if val != "" {
				st.state = val[0]
			}
		case "NSpid":
			f := strings.Fields(val)
			st.nsInit = len(f) > 0 && f[len(f)-1] == "1"
		case "PPid":
			st.ppid, _ = strconv.Atoi(val)
		case "Uid":
			f := strings.Fields(val)
			if len(f) >= 2 {
				st.ruid, _ = strconv.Atoi(f[0])
				st.euid, _ = strconv.Atoi(f[1])
			}
		case "SigCgt", "SigIgn", "SigBlk":
			m, err := signals.ParseMask(val)
			if err != nil {
				return st, fmt.Errorf("status: %s is not a signal mask", key)
			}
			switch key {
			case "SigCgt":
				st.cgt = m
			case "SigIgn":
				st.ign = m
			default:
				st.blk = m
			}
			seen++
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("status: %v", err)
	}
	if seen < 3 {
		return st, errors.New("status: SigCgt, SigIgn or SigBlk is missing")
	}
	return st, nil
}

// parseStat takes ppid, pgrp, session, flags and starttime from
// /proc/PID/stat. The comm field may hold spaces and parentheses, so fields
// are counted from the last ')'.
func parseStat(p *Proc, b []byte) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state) of proc_pid_stat(5).
	num := func(field int) uint64 {
		if field-3 >= len(f) {
			return 0
		}
		v, _ := strconv.ParseUint(f[field-3], 10, 64)
		return v
	}
	if len(f) > 0 && len(f[0]) > 0 {
		p.State = f[0][0]
	}
	p.PPID = int(num(4))
	p.PGRP = int(num(5))
	p.Session = int(num(6))
	p.Kthread = num(9)&pfKthread != 0
	p.Start = num(22)
}

func blockedInAllThreads(dir string) (signals.Set, bool) {
	tasks, err := os.ReadDir(filepath.Join(dir, "task"))
	if err != nil || len(tasks) == 0 {
		return 0, false
	}
	all := ^signals.Set(0)
	n := 0
	for _, t := range tasks {
		st, err := readStatus(filepath.Join(dir, "task", t.Name(), "status"))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // the thread exited meanwhile
			}
			return 0, false
		}
		all &= st.blk
		n++
	}
	if n == 0 {
		return 0, false
	}
	return all, true
}

// systemdCgroup picks the path systemd manages from /proc/PID/cgroup: the
// unified hierarchy ("0::/system.slice/x.service") or, on a v1 or hybrid
// host, the name=systemd one.
func systemdCgroup(s string) string {
	var v2, named string
	for _, line := range strings.Split(s, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case parts[1] == "name=systemd":
			named = parts[2]
		}
	}
	if named != "" && named != "/" {
		return named
	}
	return v2
}

// unitOfCgroup returns the innermost service or scope unit in a cgroup
// path ("/system.slice/nginx.service/worker" -> "nginx.service").
func unitOfCgroup(path string) string {
	parts := strings.Split(path, "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if strings.HasSuffix(parts[i], ".service") || strings.HasSuffix(parts[i], ".scope") {
			return parts[i]
		}
	}
	return ""
}
