package main

// The least-privilege tests run the real `trace` (this test binary as
// sigtrace, SIGTRACE_AS_MAIN) and read its /proc status once it says it
// is attached.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/internal/elftest"
	"github.com/sigtrace/sigtrace/internal/privs"
)

// requireDrop: the privilege tests need a binary that can drop, one
// without cgo (`make test` builds so); under CI=true they may not skip.
func requireDrop(t *testing.T) {
	t.Helper()
	requireRoot(t)
	if err := privs.Supported(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v: run the tests with CGO_ENABLED=0 (make test does); under CI=true they may not skip", err)
		}
		t.Skipf("%v: run the tests with CGO_ENABLED=0 (make test does)", err)
	}
}

// kernelBefore65: whether this kernel still checks bpf_capable() at the
// bpf(2) entry when kernel.unprivileged_bpf_disabled is set (moved into
// map and program creation in 6.5), so that reading the lost counters
// needs CAP_BPF.
func kernelBefore65(t *testing.T) bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var maj, min int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &maj, &min); err != nil {
		t.Fatalf("kernel release %q: %v", u.Release[:], err)
	}
	return maj < 6 || (maj == 6 && min < 5)
}

// threadStatuses reads every thread's status of pid.
func threadStatuses(t *testing.T, pid int) map[string]privs.Status {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]privs.Status{}
	for _, task := range tasks {
		st, err := privs.ReadStatus(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue // a thread that ended since the listing
		}
		if err != nil {
			t.Fatal(err)
		}
		out[task.Name()] = st
	}
	return out
}

func wantDropped(t *testing.T, pid int, want privs.Set) {
	t.Helper()
	wantDroppedAs(t, pid, want, privs.Nobody)
}

// wantDroppedAs: every thread holds exactly want, no_new_privs, and opens
// files as fsuid.
func wantDroppedAs(t *testing.T, pid int, want privs.Set, fsuid int) {
	t.Helper()
	for tid, st := range threadStatuses(t, pid) {
		if st.Effective != want || st.Permitted != want || st.Bounding != want || st.Inheritable != 0 || st.Ambient != 0 {
			t.Errorf("sigtrace thread %s: CapEff %s, CapPrm %s, CapBnd %s, CapInh %s, CapAmb %s; want %s, and nothing inheritable or ambient",
				tid, st.Effective, st.Permitted, st.Bounding, st.Inheritable, st.Ambient, want)
		}
		if !st.NoNewPrivs {
			t.Errorf("sigtrace thread %s: NoNewPrivs 0", tid)
		}
		if st.FSUID != fsuid || st.FSGID != fsuid {
			t.Errorf("sigtrace thread %s: files opened as uid %d gid %d, want %d", tid, st.FSUID, st.FSGID, fsuid)
		}
	}
}

// startGoVictim runs this test binary as a Go daemon that never called
// signal.Notify (SIGTRACE_VICTIM_GO), named name, in the cgroup fd cg.
func startGoVictim(t *testing.T, name string, cg int) *exec.Cmd {
	t.Helper()
	// The notify mask is found through the executable's symbol table,
	// which plain `go test` leaves out.
	exe, err := elftest.SelfWithSymbols(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link)
	cmd.Env = append(os.Environ(), "SIGTRACE_VICTIM=1", "SIGTRACE_VICTIM_GO=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case s := <-line:
		if strings.TrimSpace(s) != "ready" {
			t.Fatalf("victim said %q", s)
		}
	case <-time.After(timeout()):
		t.Fatal("victim not ready")
	}
	return cmd
}

// TestTraceDropsPrivileges: once attached, every thread of trace has only
// cap_sys_ptrace and cap_dac_read_search (and cap_bpf on a kernel before
// 6.5) as effective, permitted and bounding sets, opens files as nobody and
// has no_new_privs; and what those are kept for still works: a root Go
// daemon's notify mask is read from its memory (mem and exe of a process
// of another fsuid: CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH), and a cgroup
// made after the drop is named (open_by_handle_at: CAP_DAC_READ_SEARCH).
func TestTraceDropsPrivileges(t *testing.T) {
	requireDrop(t)
	name := fmt.Sprintf("privgo%06d", rand.Intn(1000000))
	p := startSigtrace(t, "trace", "-o", "json", "--debug", "--comm", name, "-s", "USR1")
	want := privs.SetOf(privs.CapSysPtrace, privs.CapDacReadSearch)
	if kernelBefore65(t) {
		want |= privs.SetOf(privs.CapBPF)
	}
	wantDropped(t, p.cmd.Process.Pid, want)
	if !strings.Contains(p.errText(), "sigtrace: keeping cap_sys_ptrace: ") {
		t.Errorf("--debug does not say why cap_sys_ptrace is kept:\n%s", p.errText())
	}

	cg := fmt.Sprintf("sigtrace-priv-%d-%d", os.Getpid(), rand.Intn(1000000))
	v := startGoVictim(t, name, cgroupDir(t, cg))
	if err := v.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	ev := p.nextJSON(t, "the SIGUSR1 to the Go daemon", func(m map[string]any) bool {
		return m["type"] == "generate" && num(field(m, "target", "pid")) == v.Process.Pid
	})
	if field(ev, "go_runtime", "mask_known") != true {
		t.Errorf("the Go daemon's notify mask was not read after the drop: %v\n%s", ev, p.errText())
	}
	if got := field(ev, "target", "cgroup"); got != "/"+cg {
		t.Errorf("target.cgroup %v, want /%s", got, cg)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if rc := p.wait(t); rc != 0 {
		t.Errorf("sigtrace exited %d after SIGTERM: %s", rc, p.errText())
	}
}

// TestTracePendingKeepsSysAdmin: --pending-after reads kernel stacks,
// which needs cap_sys_admin; it is kept then (and covers cap_bpf).
func TestTracePendingKeepsSysAdmin(t *testing.T) {
	requireDrop(t)
	p := startSigtrace(t, "trace", "-o", "json", "--pending-after", "1s", "--comm", "nosuchcomm")
	wantDropped(t, p.cmd.Process.Pid, privs.SetOf(privs.CapSysPtrace, privs.CapDacReadSearch, privs.CapSysAdmin))
}

// TestTraceKeepPrivileges: --keep-privileges keeps them all.
func TestTraceKeepPrivileges(t *testing.T) {
	requireDrop(t)
	mine, err := privs.Self()
	if err != nil {
		t.Fatal(err)
	}
	p := startSigtrace(t, "trace", "--keep-privileges", "--comm", "nosuchcomm")
	for tid, st := range threadStatuses(t, p.cmd.Process.Pid) {
		if st.Effective != mine.Effective || st.NoNewPrivs || st.FSUID != 0 {
			t.Errorf("thread %s with --keep-privileges: CapEff %s, NoNewPrivs %v, fsuid %d; want %s as the test's, no no_new_privs, fsuid 0",
				tid, st.Effective, st.NoNewPrivs, st.FSUID, mine.Effective)
		}
	}
}

// TestRecordDropsPrivileges: record, attached, keeps the reading side's
// capabilities on every thread with no_new_privs, as trace does, but goes
// on opening its files as root, the owner of its 0700 directory (it
// rotates and compresses them); with --keep-privileges it keeps all.
func TestRecordDropsPrivileges(t *testing.T) {
	requireDrop(t)
	dir := filepath.Join(t.TempDir(), "rec")
	p := startSigtrace(t, "record", "-w", dir, "--comm", "nosuchcomm")
	want := privs.SetOf(privs.CapSysPtrace, privs.CapDacReadSearch)
	if kernelBefore65(t) {
		want |= privs.SetOf(privs.CapBPF)
	}
	wantDroppedAs(t, p.cmd.Process.Pid, want, 0)
	stopRecorder(t, p)

	mine, err := privs.Self()
	if err != nil {
		t.Fatal(err)
	}
	p = startSigtrace(t, "record", "-w", dir, "--comm", "nosuchcomm", "--keep-privileges")
	for tid, st := range threadStatuses(t, p.cmd.Process.Pid) {
		if st.Effective != mine.Effective || st.NoNewPrivs {
			t.Errorf("record thread %s with --keep-privileges: CapEff %s, NoNewPrivs %v; want %s as the test's, no no_new_privs", tid, st.Effective, st.NoNewPrivs, mine.Effective)
		}
	}
	stopRecorder(t, p)
}
