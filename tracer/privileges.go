package tracer

import (
	"errors"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/internal/privs"
)

// Why the reading side keeps each capability, once New has returned: the
// programs are attached and every map they read is filled, and nothing
// opens, loads or attaches anything again. Closing the links, the maps
// and the ring at the end takes none.
const (
	whyPtrace = "reading other users' and non-dumpable processes' /proc/PID/exe, maps and mem (a Go program's signal.Notify mask, goruntime) and /proc/PID/task/TID/syscall (--pending-after): ptrace_may_access() in fs/proc/base.c, PTRACE_MODE_ATTACH for mem, syscall and stack"
	whyDac    = "naming a cgroup by its id with open_by_handle_at(2), which needs it (fs/fhandle.c), and opening other users' mode-0400/0600 /proc/PID files (mem, syscall, stack) read-only"
	whyAdmin  = "reading a task's kernel stack for --pending-after's wait site: proc_pid_stack() in fs/proc/base.c refuses it without (since 4.19, CVE-2018-17972)"
	whyBPF    = "reading the kernel side's counters (lost events) and counts: before 6.5 every bpf(2) command is refused without it once kernel.unprivileged_bpf_disabled is set (kernel/bpf/syscall.c, SYSCALL_DEFINE3(bpf))"
)

// ReadingNeeds names the capabilities the reading side still uses now
// that the programs are attached, each with why; privs.Drop keeps those
// and no other. A capability the process does not have is left out by
// Drop: the feature that uses it is then degraded as it would be anyway.
func (t *Tracer) ReadingNeeds() []privs.Need {
	needs := []privs.Need{
		{Cap: privs.CapSysPtrace, Why: whyPtrace},
		{Cap: privs.CapDacReadSearch, Why: whyDac},
	}
	if t.pending {
		// CAP_SYS_ADMIN also satisfies bpf_capable().
		return append(needs, privs.Need{Cap: privs.CapSysAdmin, Why: whyAdmin})
	}
	if t.mapsNeedBPF() {
		needs = append(needs, privs.Need{Cap: privs.CapBPF, Why: whyBPF})
	}
	return needs
}

// mapsNeedBPF says whether reading a map through bpf(2) needs
// bpf_capable(). From 6.5 on the unprivileged_bpf_disabled check moved from
// the system call's entry into map and program creation ("bpf: Move
// unprivileged checks into map_create() and bpf_prog_load()"); an fd
// already held is enough to look up. Before, the sysctl decides, and
// since root may set it at any time, CAP_BPF is kept there whatever it
// says now. A probe (a lookup without CAP_BPF and CAP_SYS_ADMIN in the
// effective set) confirms a newer kernel, and catches a backport.
func (t *Tracer) mapsNeedBPF() bool {
	if kernelBefore(6, 5) {
		return true
	}
	err := privs.WithoutEffective(privs.SetOf(privs.CapBPF, privs.CapSysAdmin), func() error {
		_, err := t.Stats()
		return err
	})
	return errors.Is(err, unix.EPERM)
}

// kernelBefore says whether the running kernel's release is older than
// major.minor; a release it cannot parse counts as older.
func kernelBefore(major, minor int) bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return true
	}
	return releaseBefore(unix.ByteSliceToString(u.Release[:]), major, minor)
}

// releaseBefore: "6.1.0-13-amd64", "5.10.0", "6.5-rc1" against major.minor.
func releaseBefore(rel string, major, minor int) bool {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return true
	}
	lead := func(s string) (int, error) {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return strconv.Atoi(s[:i])
	}
	maj, err1 := lead(parts[0])
	min, err2 := lead(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return maj < major || (maj == major && min < minor)
}
