package tracer

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// Capability numbers from include/uapi/linux/capability.h.
const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

// ErrPrivileges, ErrNoBTF and ErrLockdown are the failures a user fixes
// outside sigtrace; the CLI prints them as one line.
var (
	ErrPrivileges = errors.New("tracing signals needs root, or the CAP_BPF and CAP_PERFMON capabilities")
	ErrNoBTF      = errors.New("this kernel exposes no BTF type information (/sys/kernel/btf/vmlinux is missing; it needs CONFIG_DEBUG_INFO_BTF=y)")
	ErrLockdown   = errors.New("kernel lockdown (confidentiality mode) forbids BPF programs that read kernel memory")
)

// EffectiveCaps returns the effective capability set of this process.
func EffectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapEff in /proc/self/status")
}

// HasBPFCaps reports whether the capability set allows loading tracing
// programs: CAP_BPF with CAP_PERFMON (5.8+), or CAP_SYS_ADMIN.
func HasBPFCaps(caps uint64) bool {
	has := func(c uint) bool { return caps&(1<<c) != 0 }
	return has(capSysAdmin) || (has(capBPF) && has(capPerfmon))
}

// CheckPrivileges fails with ErrPrivileges, saying what is missing, before
// anything is loaded, so the user gets that line instead of an EPERM.
func CheckPrivileges() error {
	caps, err := EffectiveCaps()
	if err != nil {
		return nil // cannot tell; let the kernel decide
	}
	if HasBPFCaps(caps) {
		return nil
	}
	return fmt.Errorf("%w (running as uid %d without them): run it with sudo", ErrPrivileges, os.Geteuid())
}

// CheckBTF fails with ErrNoBTF when the kernel has no BTF: CO-RE cannot
// relocate anything without it.
func CheckBTF() error {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err == nil {
		return nil
	}
	if _, err := btf.LoadKernelSpec(); err != nil {
		return fmt.Errorf("%w: run 'sigtrace doctor'", ErrNoBTF)
	}
	return nil
}

// Lockdown returns the kernel's lockdown mode ("none", "integrity",
// "confidentiality"), or "" when the kernel has no lockdown LSM.
func Lockdown() string {
	b, err := os.ReadFile("/sys/kernel/security/lockdown")
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return strings.TrimSpace(s)
}

// explainLoad turns a load failure into one actionable line. The verifier's
// log is kept whole only with debug.
func explainLoad(err error, debug bool) error {
	if Lockdown() == "confidentiality" {
		return fmt.Errorf("%w: run 'sigtrace doctor'", ErrLockdown)
	}
	if errors.Is(err, unix.EPERM) && strings.Contains(err.Error(), "MEMLOCK") {
		return fmt.Errorf("the kernel refused BPF maps for the locked-memory limit (kernels before 5.11 charge them to it): raise it with 'ulimit -l unlimited' or a smaller --ring-size (%s)", oneLine(err.Error()))
	}
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("%w: the kernel refused to load the programs (%s): run it with sudo, or 'sigtrace doctor'", ErrPrivileges, oneLine(err.Error()))
	}
	if errors.Is(err, btf.ErrNotSupported) {
		return fmt.Errorf("%w: run 'sigtrace doctor'", ErrNoBTF)
	}
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		if debug {
			return fmt.Errorf("the kernel's verifier rejected sigtrace's BPF program:\n%+v", ve)
		}
		return fmt.Errorf("the kernel's verifier rejected sigtrace's BPF program (%s): rerun with --debug for the full log, and see 'sigtrace doctor'", oneLine(ve.Error()))
	}
	return fmt.Errorf("loading BPF programs: %s: see 'sigtrace doctor'", oneLine(err.Error()))
}

func explainAttach(name string, err error) error {
	return fmt.Errorf("attaching %s: %s (BTF tracepoints need Linux 5.8 or later): see 'sigtrace doctor'", name, oneLine(err.Error()))
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
