// Package privs drops a process's privileges to a named minimal set once
// the work that needed them (loading and attaching BPF programs) is done.
//
// Linux keeps capabilities, the bounding set, securebits, no_new_privs and
// the filesystem uid per thread (struct cred hangs off the task_struct), and
// a Go program runs on several threads from its start: a capset(2) on one
// thread leaves every other thread with its privileges, and code that gains
// control of the process could use any of them. So every change here is
// made with syscall.AllThreadsSyscall, which stops the world and runs the
// system call on each of the runtime's threads (Go 1.16+); threads made
// later are cloned from those and inherit the result. The Go runtime offers
// that only when cgo is not linked (threads C code started are unknown to
// it): a cgo build cannot drop, and Drop says so (ErrCgo).
package privs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Cap is a capability number (include/uapi/linux/capability.h).
type Cap uint

// The capabilities sigtrace keeps, or needs to name.
const (
	CapDacOverride   Cap = 1
	CapDacReadSearch Cap = 2
	CapSetGID        Cap = 6
	CapSetUID        Cap = 7
	CapSetPCap       Cap = 8
	CapSysPtrace     Cap = 19
	CapSysAdmin      Cap = 21
	CapPerfmon       Cap = 38
	CapBPF           Cap = 39
)

var capNames = map[Cap]string{
	0: "cap_chown", 1: "cap_dac_override", 2: "cap_dac_read_search", 3: "cap_fowner",
	4: "cap_fsetid", 5: "cap_kill", 6: "cap_setgid", 7: "cap_setuid", 8: "cap_setpcap",
	9: "cap_linux_immutable", 10: "cap_net_bind_service", 11: "cap_net_broadcast",
	12: "cap_net_admin", 13: "cap_net_raw", 14: "cap_ipc_lock", 15: "cap_ipc_owner",
	16: "cap_sys_module", 17: "cap_sys_rawio", 18: "cap_sys_chroot", 19: "cap_sys_ptrace",
	20: "cap_sys_pacct", 21: "cap_sys_admin", 22: "cap_sys_boot", 23: "cap_sys_nice",
	24: "cap_sys_resource", 25: "cap_sys_time", 26: "cap_sys_tty_config", 27: "cap_mknod",
	28: "cap_lease", 29: "cap_audit_write", 30: "cap_audit_control", 31: "cap_setfcap",
	32: "cap_mac_override", 33: "cap_mac_admin", 34: "cap_syslog", 35: "cap_wake_alarm",
	36: "cap_block_suspend", 37: "cap_audit_read", 38: "cap_perfmon", 39: "cap_bpf",
	40: "cap_checkpoint_restore",
}

// ParseCap reads a capability's name as systemd and capabilities(7)
// write it: CAP_SYS_PTRACE, or cap_sys_ptrace.
func ParseCap(name string) (Cap, bool) {
	name = strings.ToLower(name)
	for c, n := range capNames {
		if n == name {
			return c, true
		}
	}
	return 0, false
}

func (c Cap) String() string {
	if n, ok := capNames[c]; ok {
		return n
	}
	return "cap_" + strconv.Itoa(int(c))
}

// Set is a capability set, bit c for Cap c, as /proc/PID/status shows it.
type Set uint64

// SetOf makes a Set of caps.
func SetOf(caps ...Cap) Set {
	var s Set
	for _, c := range caps {
		s |= 1 << c
	}
	return s
}

func (s Set) Has(c Cap) bool { return s&(1<<c) != 0 }

// String names the set's capabilities, "none" when it is empty.
func (s Set) String() string {
	var names []string
	for c := Cap(0); c < 64; c++ {
		if s.Has(c) {
			names = append(names, c.String())
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ",")
}

// Need is a capability kept, and why.
type Need struct {
	Cap Cap
	Why string
}

// SetOfNeeds is the set of the needs' capabilities.
func SetOfNeeds(needs []Need) Set {
	var s Set
	for _, n := range needs {
		s |= SetOf(n.Cap)
	}
	return s
}

// Options are what Drop does besides the capabilities.
type Options struct {
	// NoFileWrites sets the filesystem uid and gid to nobody (65534)
	// and clears the supplementary groups, so that files are opened as
	// nobody: the process, still uid 0 for signals and ptrace (no
	// unprivileged user may signal or trace it), can then write no file
	// that root owns. It keeps the files it has open (stdout). Reading
	// goes by the kept capabilities (CAP_DAC_READ_SEARCH). Skipped, not
	// failed, without CAP_SETUID and CAP_SETGID (a container that gave
	// only CAP_BPF and CAP_PERFMON).
	NoFileWrites bool
}

// Nobody is the uid and gid of the overflow user, whom files are opened
// as with NoFileWrites.
const Nobody = 65534

// ErrCgo: the Go runtime cannot run a system call on every thread of a
// program that links cgo (syscall.AllThreadsSyscall returns ENOTSUP).
var ErrCgo = errors.New("this sigtrace binary links cgo, and a cgo program's threads cannot all drop their capabilities (rebuild it with CGO_ENABLED=0, as 'make build' does)")

// Supported says whether Drop can work in this binary: nil, or ErrCgo.
func Supported() error {
	// A system call that changes nothing: prctl(PR_GET_NO_NEW_PRIVS).
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_GET_NO_NEW_PRIVS, 0, 0); e == syscall.ENOTSUP {
		return ErrCgo
	}
	return nil
}

// securebits (include/uapi/linux/securebits.h).
const (
	secNoRoot                 = 1 << 0
	secNoRootLocked           = 1 << 1
	secKeepCapsLocked         = 1 << 5
	secNoCapAmbientRaise      = 1 << 6
	secNoCapAmbientRaiseLocke = 1 << 7
)

// Drop reduces every thread of the process to the capabilities in keep
// (effective and permitted; inheritable and ambient empty), removes every
// other one from the bounding set, locks the securebits that would give
// root capabilities back on exec, and sets no_new_privs: nothing this
// process executes can ever have more than keep. Then it reads every
// thread's /proc status back and fails unless each shows exactly that.
//
// A capability in keep that the process does not have cannot be added
// (the kernel refuses): Drop keeps the others and returns what it kept.
func Drop(keep Set, opts Options) (Set, error) {
	kept, err := drop(keep, opts)
	if err != nil {
		return 0, err
	}
	return kept, Verify(kept)
}

func drop(keep Set, opts Options) (Set, error) {
	if err := Supported(); err != nil {
		return 0, err
	}
	cur, err := Self()
	if err != nil {
		return 0, fmt.Errorf("reading this process's capabilities: %w", err)
	}
	keep &= cur.Permitted

	if opts.NoFileWrites && cur.Effective.Has(CapSetUID) && cur.Effective.Has(CapSetGID) {
		// Groups and gid before the uid: setfsgid needs CAP_SETGID,
		// which a change of the fsuid away from 0 does not remove (it
		// removes the CAP_FS_MASK ones from the effective set:
		// security/commoncap.c cap_task_fix_setuid), but in this order
		// nothing depends on that.
		if err := allThreads("setgroups", unix.SYS_SETGROUPS, 0, 0, 0); err != nil {
			return 0, err
		}
		if err := setfsid("setfsgid", unix.SYS_SETFSGID, Nobody); err != nil {
			return 0, err
		}
		if err := setfsid("setfsuid", unix.SYS_SETFSUID, Nobody); err != nil {
			return 0, err
		}
	}

	// The bounding set and securebits need CAP_SETPCAP. Without it (a
	// container that did not give it) no_new_privs alone keeps an exec
	// from gaining anything: the kernel then caps an exec's permitted
	// set at the caller's (security/commoncap.c cap_bprm_creds_from_file,
	// LSM_UNSAFE_NO_NEW_PRIVS).
	if cur.Effective.Has(CapSetPCap) {
		last, err := lastCap()
		if err != nil {
			return 0, err
		}
		for c := Cap(0); c <= last; c++ {
			if keep.Has(c) || !cur.Bounding.Has(c) {
				continue
			}
			if err := allThreads("dropping "+c.String()+" from the bounding set", unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0); err != nil {
				return 0, err
			}
		}
		// uid 0 gets no capabilities from an exec (NOROOT), none can be
		// raised into the ambient set, and keep-caps stays off: each
		// locked, so nothing can undo it.
		bits := uintptr(secNoRoot | secNoRootLocked | secKeepCapsLocked | secNoCapAmbientRaise | secNoCapAmbientRaiseLocke)
		if err := allThreads("setting securebits", unix.SYS_PRCTL, unix.PR_SET_SECUREBITS, bits, 0); err != nil {
			return 0, err
		}
	}
	if err := allThreads("clearing the ambient set", unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		// EINVAL: a kernel before 4.3 has no ambient set to clear.
		return 0, err
	}
	if err := capsetAll(keep, keep); err != nil {
		return 0, err
	}
	if err := allThreads("setting no_new_privs", unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return 0, err
	}
	return keep, nil
}

// Verify reads every thread's /proc/self/task/TID/status and fails unless
// each has exactly want as its effective and permitted sets, no
// inheritable or ambient capabilities and no_new_privs set.
func Verify(want Set) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("listing this process's threads: %w", err)
	}
	for _, t := range tasks {
		st, err := ReadStatus(filepath.Join("/proc/self/task", t.Name(), "status"))
		if errors.Is(err, os.ErrNotExist) {
			continue // a thread that ended
		}
		if err != nil {
			return err
		}
		if st.Effective != want || st.Permitted != want || st.Inheritable != 0 || st.Ambient != 0 || !st.NoNewPrivs {
			return fmt.Errorf("thread %s still has effective %s, permitted %s, inheritable %s, ambient %s, no_new_privs %v: want %s and no_new_privs",
				t.Name(), st.Effective, st.Permitted, st.Inheritable, st.Ambient, st.NoNewPrivs, want)
		}
	}
	return nil
}

// WithoutEffective runs fn on one locked thread whose effective set lacks
// drop (the permitted set keeps it, so it is given back after): a probe of
// whether something works without those capabilities. Only the calling
// thread changes, and no other goroutine runs on it meanwhile.
func WithoutEffective(drop Set, fn func() error) (err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var hdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	saved := data
	for c := Cap(0); c < 64; c++ {
		if drop.Has(c) {
			data[c/32].Effective &^= 1 << (c % 32)
		}
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	defer func() {
		if rerr := unix.Capset(&hdr, &saved[0]); rerr != nil && err == nil {
			err = fmt.Errorf("restoring capabilities: %w", rerr)
		}
	}()
	return fn()
}

func capsetAll(eff, perm Set) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(eff), Permitted: uint32(perm)},
		{Effective: uint32(eff >> 32), Permitted: uint32(perm >> 32)},
	}
	// AllThreadsSyscall is go:uintptrescapes: the pointers converted in
	// the call stay valid until it returns on every thread.
	_, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	if e != 0 {
		return fmt.Errorf("capset to %s: %w", eff, e)
	}
	return nil
}

func allThreads(what string, trap, a1, a2, a3 uintptr) error {
	if _, _, e := syscall.AllThreadsSyscall(trap, a1, a2, a3); e != 0 {
		if e == syscall.ENOTSUP {
			return ErrCgo
		}
		return fmt.Errorf("%s: %w", what, e)
	}
	return nil
}

// setfsid sets the filesystem uid or gid, which the kernel changes
// without an error when it refuses (setfsuid(2)): it is read back.
func setfsid(what string, trap uintptr, id int) error {
	if _, _, e := syscall.AllThreadsSyscall(trap, uintptr(id), 0, 0); e != 0 {
		return fmt.Errorf("%s: %w", what, e)
	}
	// An invalid id (-1) changes nothing and returns the current one.
	r, _, _ := syscall.AllThreadsSyscall(trap, ^uintptr(0), 0, 0)
	if int(r) != id {
		return fmt.Errorf("%s(%d): the kernel kept %d", what, id, int(r))
	}
	return nil
}

// lastCap is the highest capability this kernel knows.
func lastCap() (Cap, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("reading the kernel's last capability: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 || n > 63 {
		return 0, fmt.Errorf("reading the kernel's last capability: %q", b)
	}
	return Cap(n), nil
}

// Status is what /proc/PID/status says of a task's privileges.
type Status struct {
	Effective, Permitted, Inheritable, Bounding, Ambient Set
	NoNewPrivs                                           bool
	// FSUID and FSGID: the fourth of the Uid and Gid lines.
	FSUID, FSGID int
}

// Self reads this thread's status (every thread's is the same once Drop
// has returned).
func Self() (Status, error) { return ReadStatus("/proc/thread-self/status") }

// ReadStatus parses a /proc/PID/status (or task/TID/status) file.
func ReadStatus(path string) (Status, error) {
	f, err := os.Open(path)
	if err != nil {
		return Status{}, err
	}
	defer f.Close()
	var st Status
	sets := map[string]*Set{"CapEff:": &st.Effective, "CapPrm:": &st.Permitted, "CapInh:": &st.Inheritable, "CapBnd:": &st.Bounding, "CapAmb:": &st.Ambient}
	seen := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch {
		case sets[k] != nil:
			n, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				return st, fmt.Errorf("%s: bad %s %q", path, k, v)
			}
			*sets[k] = Set(n)
			seen++
		case k == "NoNewPrivs:":
			st.NoNewPrivs = v == "1"
		case k == "Uid:" || k == "Gid:":
			f := strings.Fields(v)
			if len(f) == 4 {
				n, _ := strconv.Atoi(f[3])
				if k == "Uid:" {
					st.FSUID = n
				} else {
					st.FSGID = n
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("reading %s: %w", path, err)
	}
	// CapAmb is missing before 4.3.
	if seen < 4 {
		return st, fmt.Errorf("%s has no capability lines", path)
	}
	return st, nil
}
