package tracer

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"
)

// Check is one line of `sigtrace doctor`: what was checked, what was
// found, and, when it failed, what to do.
type Check struct {
	Name   string
	OK     bool
	Detail string
	Fix    string
}

// MinKernel is the oldest kernel sigtrace can run on: BPF ring buffers and
// BTF-typed tracepoints with bpf_ktime_get_boot_ns arrived in 5.8.
var MinKernel = [2]int{5, 8}

// Diagnose checks everything live tracing needs, in the order a user
// would fix them. The attach check really loads and attaches the
// programs, so it is only as good as the privileges it runs with.
func Diagnose() []Check {
	var checks []Check
	add := func(c Check) { checks = append(checks, c) }

	caps, capErr := EffectiveCaps()
	privOK := capErr == nil && HasBPFCaps(caps)
	switch {
	case privOK && os.Geteuid() == 0:
		add(Check{Name: "privileges", OK: true, Detail: "running as root"})
	case privOK:
		add(Check{Name: "privileges", OK: true, Detail: "CAP_BPF and CAP_PERFMON"})
	default:
		add(Check{Name: "privileges", Detail: fmt.Sprintf("uid %d without CAP_BPF and CAP_PERFMON", os.Geteuid()),
			Fix: "run with sudo, or grant CAP_BPF and CAP_PERFMON"})
	}

	rel := KernelRelease()
	if v, ok := parseKernelVersion(rel); ok && (v[0] > MinKernel[0] || (v[0] == MinKernel[0] && v[1] >= MinKernel[1])) {
		add(Check{Name: "kernel", OK: true, Detail: rel + " (5.8 or later needed)"})
	} else {
		add(Check{Name: "kernel", Detail: rel, Fix: "sigtrace needs Linux 5.8 or later (BPF ring buffer, BTF tracepoints)"})
	}

	if err := CheckBTF(); err == nil {
		add(Check{Name: "BTF", OK: true, Detail: "/sys/kernel/btf/vmlinux"})
	} else {
		add(Check{Name: "BTF", Detail: "missing", Fix: "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (every major distribution's since 2021)"})
	}

	switch mode := Lockdown(); mode {
	case "confidentiality":
		add(Check{Name: "lockdown", Detail: mode, Fix: "BPF tracing cannot read kernel memory under lockdown=confidentiality; boot with lockdown=integrity or none (on Secure Boot systems this is the distribution's policy)"})
	case "":
		add(Check{Name: "lockdown", OK: true, Detail: "no lockdown LSM"})
	default:
		add(Check{Name: "lockdown", OK: true, Detail: mode})
	}

	if !privOK {
		add(Check{Name: "ring buffer", Detail: "not checked without privileges", Fix: "rerun 'sudo sigtrace doctor'"})
		add(Check{Name: "tp_btf attach", Detail: "not checked without privileges", Fix: "rerun 'sudo sigtrace doctor'"})
		return checks
	}
	if err := features.HaveMapType(ebpf.RingBuf); err != nil {
		add(Check{Name: "ring buffer", Detail: oneLine(err.Error()), Fix: "sigtrace needs BPF ring buffers (Linux 5.8+)"})
	} else {
		add(Check{Name: "ring buffer", OK: true, Detail: "supported"})
	}
	// Optional features: reported, never a failure.
	if ExitHasGroupDead() {
		add(Check{Name: "exit probe", OK: true, Detail: "sched_process_exit passes group_dead"})
	} else {
		add(Check{Name: "exit probe", OK: true, Detail: "sched_process_exit has no group_dead argument (older kernel): using signal->live"})
	}
	if ok, why := HaveSyscallDetail(); ok {
		add(Check{Name: "syscall detail", OK: true, Detail: "interrupted system calls are named (" + why + ")"})
	} else {
		add(Check{Name: "syscall detail", OK: true, Detail: "not available: " + why + "; deliver events carry no syscall field"})
	}
	if root, how := CgroupNaming(); root != "" {
		add(Check{Name: "cgroups", OK: true, Detail: "cgroup v2 at " + root + ": processes carry cgroup, unit and container (" + how + ")"})
	} else {
		add(Check{Name: "cgroups", OK: true, Detail: "not available: no cgroup2 mount; processes carry no cgroup, unit or container (mount -t cgroup2 none /sys/fs/cgroup/unified)"})
	}
	if t, err := New(Options{Signals: []int{int(unix.SIGSYS)}, RingSize: 4096, History: HistoryFatal}); err != nil {
		add(Check{Name: "tp_btf attach", Detail: oneLine(err.Error()), Fix: attachFix(err)})
	} else {
		add(Check{Name: "tp_btf attach", OK: true, Detail: "signal_generate and signal_deliver attach"})
		add(historyCheck(t))
		t.Close()
	}
	return checks
}

func attachFix(err error) string {
	switch {
	case errors.Is(err, ErrLockdown):
		return "see the lockdown line above"
	case errors.Is(err, ErrNoBTF):
		return "see the BTF line above"
	case errors.Is(err, ErrPrivileges):
		return "run with sudo"
	}
	return "rerun with --debug and report the output"
}

// HaveSyscallDetail reports whether deliver events can name the system
// call a signal interrupted: x86_64 with bpf_task_pt_regs() (5.15+). On
// arm64 the kernel rewinds the registers before signal_deliver fires.
func HaveSyscallDetail() (bool, string) {
	if runtime.GOARCH != "amd64" {
		return false, "arm64 rewinds the syscall registers before signal_deliver"
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return false, "no kernel BTF"
	}
	var e *btf.Enum
	if err := spec.TypeByName("bpf_func_id", &e); err != nil {
		return false, "no bpf_func_id in the kernel's BTF"
	}
	for _, v := range e.Values {
		if v.Name == "BPF_FUNC_task_pt_regs" {
			return true, "bpf_task_pt_regs"
		}
	}
	return false, "the kernel lacks bpf_task_pt_regs() (5.15+)"
}

// KernelRelease is uname -r.
func KernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

func parseKernelVersion(rel string) ([2]int, bool) {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return [2]int{}, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minorStr := parts[1]
	if i := strings.IndexFunc(minorStr, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minorStr = minorStr[:i]
	}
	minor, err2 := strconv.Atoi(minorStr)
	if err1 != nil || err2 != nil {
		return [2]int{}, false
	}
	return [2]int{major, minor}, true
}

// Tracepoints names the kernel tracepoints the tracer's programs attach
// to, as its embedded BPF object declares them.
func Tracepoints() ([]string, error) {
	spec, err := loadSigtrace()
	if err != nil {
		return nil, fmt.Errorf("reading embedded BPF object: %w", err)
	}
	var tps []string
	for _, p := range spec.Programs {
		if p.Type == ebpf.Tracing && p.AttachType == ebpf.AttachTraceRawTp {
			tps = append(tps, p.AttachTo)
		}
	}
	sort.Strings(tps)
	return tps, nil
}

// historyCheck is doctor's line for disposition history: optional, so
// never a failure.
func historyCheck(t *Tracer) Check {
	c := Check{Name: "disposition history", OK: true}
	switch {
	case t.objs.OnSigactionFentry != nil && t.historyGap == "":
		c.Detail = "sigaction changes (fentry on do_sigaction), exec and SA_RESETHAND resets"
	case t.objs.OnSigactionKprobe != nil && t.historyGap == "":
		c.Detail = "sigaction changes (kprobe on do_sigaction), exec and SA_RESETHAND resets"
	default:
		c.Detail = "exec and SA_RESETHAND resets only; sigaction changes are not seen: " + t.HistoryGap()
	}
	return c
}
