package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/internal/privs"
)

const unitFile = "../../contrib/sigtrace-record.service"

// unitBounds reads the unit's CapabilityBoundingSet.
func unitBounds(t *testing.T) privs.Set {
	t.Helper()
	f, err := os.Open(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var set privs.Set
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "CapabilityBoundingSet=")
		if !ok {
			continue
		}
		for _, name := range strings.Fields(v) {
			c, ok := privs.ParseCap(name)
			if !ok {
				t.Fatalf("%s: unknown capability %q", unitFile, name)
			}
			set |= privs.SetOf(c)
		}
	}
	if set == 0 {
		t.Fatalf("%s has no CapabilityBoundingSet", unitFile)
	}
	return set
}

// boundAndExec runs sigtrace as the unit would: root with only the
// capabilities of SIGTRACE_CAPBOUND (a Set, in hex) in its bounding set,
// no_new_privs and umask 077, on the thread that then execs it.
func boundAndExec() int {
	keep, err := strconv.ParseUint(os.Getenv("SIGTRACE_CAPBOUND"), 16, 64)
	if err != nil {
		return 111
	}
	runtime.LockOSThread() // the bounding set is per thread; exec keeps this one's
	for c := privs.Cap(0); c <= 63; c++ {
		if !privs.Set(keep).Has(c) {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
				fmt.Fprintln(os.Stderr, "PR_CAPBSET_DROP:", err)
				return 111
			}
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 111
	}
	syscall.Umask(0o077)
	exe, err := os.Executable()
	if err != nil {
		return 111
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIGTRACE_CAPBOUND=") {
			env = append(env, kv)
		}
	}
	err = syscall.Exec(exe, os.Args, env)
	fmt.Fprintln(os.Stderr, "exec:", err)
	return 111
}

// TestRecordUnderUnitBounds: record runs as its systemd unit has it run
// (the unit's CapabilityBoundingSet, NoNewPrivileges, UMask; this machine
// has no systemd to start it): the bound is enough to load, attach and
// record a signal; once attached it keeps only the reading side's
// capabilities on every thread; and it stops cleanly on SIGTERM, as
// systemctl stop sends.
func TestRecordUnderUnitBounds(t *testing.T) {
	requireDrop(t)
	bound := unitBounds(t)
	dir := filepath.Join(t.TempDir(), "rec")
	p := startSigtraceEnv(t, []string{fmt.Sprintf("SIGTRACE_CAPBOUND=%x", uint64(bound))}, "record", "-w", dir)
	st, err := privs.ReadStatus(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if st.Bounding&^bound != 0 || !st.NoNewPrivs {
		t.Errorf("recorder's bounding set %s (the unit's: %s), no_new_privs %v", st.Bounding, bound, st.NoNewPrivs)
	}
	want := privs.SetOf(privs.CapSysPtrace, privs.CapDacReadSearch)
	if kernelBefore65(t) {
		want |= privs.SetOf(privs.CapBPF)
	}
	// The unit gives no CAP_SETPCAP, so the bounding set stays the unit's:
	// no_new_privs is what keeps an exec from gaining anything then
	// (internal/privs: Drop).
	want &= bound
	for tid, st := range threadStatuses(t, p.cmd.Process.Pid) {
		if st.Effective != want || st.Permitted != want || st.Inheritable != 0 || st.Ambient != 0 || !st.NoNewPrivs || st.FSUID != 0 {
			t.Errorf("recorder thread %s: CapEff %s, CapPrm %s, CapInh %s, CapAmb %s, NoNewPrivs %v, fsuid %d; want %s, nothing inheritable or ambient, no_new_privs, fsuid 0",
				tid, st.Effective, st.Permitted, st.Inheritable, st.Ambient, st.NoNewPrivs, st.FSUID, want)
		}
	}

	v := startVictim(t, "unitwatched")
	if err := v.cmd.Process.Signal(syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	recordingHas(t, dir, `"type":"generate"`, `"name":"SIGWINCH"`, fmt.Sprintf(`"pid":%d`, v.cmd.Process.Pid))
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Fatalf("record under the unit's bounds exited %d: %s", code, p.errText())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, fi.Mode())
		}
	}
}
