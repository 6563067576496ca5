package audit

// End-to-end tests against real processes: a copy of sleep (no handler
// for anything) and this test binary re-executed under other names, with a
// SIGHUP handler or with SIGHUP ignored. Nothing here needs root, the Go
// toolchain or anything beyond sleep (coreutils or busybox) at run time.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/goruntime"
	"github.com/sigtrace/sigtrace/internal/elftest"
	"github.com/sigtrace/sigtrace/signals"

	"github.com/sigtrace/sigtrace/internal/testproc"
)

// childEnv makes the test binary a stand-in daemon instead of running
// tests: "handler" catches SIGHUP with signal.Notify, "ignore" ignores it,
// "plain" is a Go program that never calls signal.Notify.
const childEnv = "SIGTRACE_AUDIT_CHILD"

var (
	scratch     string // removed when the tests end
	symbolsOnce sync.Once
	symbolsExe  string
	symbolsErr  error
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "handler":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGHUP)
		for range c {
			os.Stdout.WriteString("hup\n") // for a test that waits for it
		}
	case "ignore":
		signal.Ignore(syscall.SIGHUP)
		for {
			time.Sleep(time.Hour)
		}
	case "plain":
		for {
			time.Sleep(time.Hour)
		}
	}
	var err error
	if scratch, err = os.MkdirTemp("", "audit-test"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(scratch)
	os.Exit(code)
}

// selfExe is this test binary with its symbol table, so that the audit
// can read its children's notify masks (see elftest.SelfWithSymbols).
func selfExe(t *testing.T) string {
	t.Helper()
	symbolsOnce.Do(func() { symbolsExe, symbolsErr = elftest.SelfWithSymbols(scratch) })
	if symbolsErr != nil {
		t.Fatal(symbolsErr)
	}
	return symbolsExe
}

// readyTimeout bounds the wait for a child to be set up; generous for slow
// emulated guests, and only reached on failure.
const readyTimeout = 60 * time.Second

// startDaemon starts cmd and polls /proc/PID until it runs under name (the
// exec is done) and ready says its signal setup is in place.
// goNotified: the Go program pid has asked for sig with signal.Notify (its
// runtime catches every signal from the start, so SigCgt says nothing of
// that: a readiness check on it alone raced with the Notify call).
func goNotified(pid, sig int) bool {
	w, err := goruntime.Wanted("/proc", pid)
	return err == nil && w.Has(sig)
}

func startDaemon(t *testing.T, cmd *exec.Cmd, name string, ready func(pid int, st status) bool) *os.Process {
	t.Helper()
	p, _ := startDaemonWait(t, cmd, name, ready)
	return p
}

// startDaemonWait is startDaemon that also returns a wait for the
// daemon's exit: its wait status, or false after timeout.
func startDaemonWait(t *testing.T, cmd *exec.Cmd, name string, ready func(pid int, st status) bool) (*os.Process, func(time.Duration) (*os.ProcessState, bool)) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	var err error
	for range 20 { // a freshly written executable can be ETXTBSY for a moment
		if err = cmd.Start(); !errors.Is(err, syscall.ETXTBSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
		c := exec.Command(cmd.Path, cmd.Args[1:]...)
		c.Args[0], c.Env, c.SysProcAttr, c.Stderr = cmd.Args[0], cmd.Env, cmd.SysProcAttr, cmd.Stderr
		cmd = c
	}
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	dir := fmt.Sprintf("/proc/%d", cmd.Process.Pid)
	deadline := time.Now().Add(readyTimeout)
	last := ""
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("%s exited before it was ready: %v; stderr: %s", name, err, stderr.String())
		default:
		}
		comm, _ := os.ReadFile(dir + "/comm")
		st, err := readStatus(dir + "/status")
		if err == nil && strings.TrimSpace(string(comm)) == name && ready(cmd.Process.Pid, st) {
			c := cmd
			return cmd.Process, func(d time.Duration) (*os.ProcessState, bool) {
				select {
				case err := <-exited:
					exited <- err // for the cleanup
					return c.ProcessState, true
				case <-time.After(d):
					return nil, false
				}
			}
		}
		last = fmt.Sprintf("comm %q, SigCgt %s, SigIgn %s, err %v", strings.TrimSpace(string(comm)), st.cgt, st.ign, err)
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %v: %s", name, readyTimeout, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startSleepCopy runs a copy of sleep named name: a process with no
// handler at all. With busybox, the copy is busybox, told by argv[0] to
// be sleep; comm still comes from the file name.
func startSleepCopy(t *testing.T, dir, name string) *os.Process {
	t.Helper()
	src, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatalf("no sleep in PATH: %v", err)
	}
	real, err := filepath.EvalSymlinks(src)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, name)
	must(t, os.WriteFile(exe, data, 0o755))
	cmd := exec.Command(exe, "3600")
	if filepath.Base(real) == "busybox" {
		cmd.Args[0] = "sleep"
	}
	return startDaemon(t, cmd, name, func(int, status) bool { return true })
}

// startSelfAs re-executes the test binary through a symlink called name,
// so that its comm is name, as a child of the given kind.
func startSelfAs(t *testing.T, dir, name, kind string, ready func(pid int, st status) bool) *os.Process {
	t.Helper()
	link := filepath.Join(dir, name)
	must(t, os.Symlink(selfExe(t), link))
	cmd := exec.Command(link)
	cmd.Env = append(os.Environ(), childEnv+"="+kind)
	return startDaemon(t, cmd, name, ready)
}

type liveDaemons struct {
	x, h, i *os.Process
}

func startLiveDaemons(t *testing.T) liveDaemons {
	bin := t.TempDir()
	hup := int(syscall.SIGHUP)
	return liveDaemons{
		x: startSleepCopy(t, bin, "auditdaemonX"),
		h: startSelfAs(t, bin, "auditdaemonH", "handler", func(pid int, _ status) bool { return goNotified(pid, hup) }),
		i: startSelfAs(t, bin, "auditdaemonI", "ignore", func(_ int, st status) bool { return st.ign.Has(hup) }),
	}
}

func TestLiveProcesses(t *testing.T) {
	d := startLiveDaemons(t)
	root := t.TempDir()
	testproc.CopyTree(t, "testdata/live-risky", root)
	must(t, os.MkdirAll(filepath.Join(root, "run"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "run/auditdaemonX.pid"), fmt.Appendf(nil, "%d\n", d.x.Pid), 0o644))

	rep, err := Run(Options{Root: root, Proc: "/proc", Self: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range rep.Warnings {
		t.Errorf("warning: %s", w)
	}
	name := map[int]string{d.x.Pid: "X", d.h.Pid: "H", d.i.Pid: "I"}
	var got []string
	byKey := map[string]Finding{}
	for _, f := range rep.Findings {
		who := "-"
		if f.Target != nil {
			who = name[f.Target.PID]
			if who == "" {
				who = fmt.Sprintf("other:%d:%s", f.Target.PID, f.Target.Comm)
			}
		}
		sig := "-"
		if f.Signal != nil {
			sig = f.Signal.Name
		}
		k := fmt.Sprintf("%s %s:%d %s %s %s", f.Risk, strings.TrimPrefix(f.Source.File, root), f.Source.Line, sig, who, f.Disposition)
		got = append(got, k)
		byKey[k] = f
	}
	want := []string{
		"fatal /etc/logrotate.d/auditdaemon:10 SIGHUP X default",            // kill -HUP $(cat pidfile)
		"fatal /etc/logrotate.d/auditdaemon:11 SIGUSR2 X default",           // invoke-rc.d X rotate -> /etc/init.d/auditdaemonX
		"fatal /lib/systemd/system/auditdaemonX.service:8 SIGHUP X default", // ExecReload= kill -HUP $MAINPID
		"fatal /var/spool/cron/crontabs/root:2 SIGUSR2 X default",           // killall -USR2
		"unresolved /etc/logrotate.d/auditdaemon:32 SIGHUP - ",              // nothing named auditdaemonGone
		"ok /etc/cron.d/auditdaemon:2 SIGUSR1 H handler",
		"ok /etc/logrotate.d/auditdaemon:18 SIGHUP H handler", // pkill -HUP -x
		"ok /etc/logrotate.d/auditdaemon:25 SIGHUP I ignore",  // killall -HUP
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	fx := byKey[want[0]]
	if fx.Target.Comm != "auditdaemonX" || !strings.Contains(fx.Target.Cmdline, "3600") || fx.DefaultAction != "terminate" ||
		fx.Source.Text != "kill -HUP $(cat /run/auditdaemonX.pid)" {
		t.Errorf("fatal finding = %+v %+v", fx.Source, fx.Target)
	}
	// invoke-rc.d X rotate: rotate is no systemctl verb, so the init
	// script's rotate branch runs, which calls rotate_logs.
	if src := byKey[want[1]].Source; strings.TrimPrefix(src.String(), root) !=
		"/etc/logrotate.d/auditdaemon:11 → "+root+"/etc/init.d/auditdaemonX:24 → "+root+"/etc/init.d/auditdaemonX:12" ||
		src.Command() != "start-stop-daemon --stop --signal USR2 --quiet --pidfile $PID --name $NAME" ||
		src.Via[0].Context != "init script rotate" || src.Via[1].Context != "init script rotate, function rotate_logs" {
		t.Errorf("init script chain = %s (%+v)", src, src.Via)
	}
	if r := byKey[want[4]].Reason; !strings.Contains(r, "processes whose name matches /^(auditdaemonGone)$/") {
		t.Errorf("unresolved reason = %q, want what would match", r)
	}
	// The handler child is a Go program that asked for SIGHUP, not USR1.
	if f := byKey[want[6]]; f.Reason != "a Go program that asked for SIGHUP with signal.Notify (read from the Go runtime's notify mask in its memory)" ||
		f.Go == nil || f.Go.Notify == nil || !*f.Go.Notify || f.Go.Unnotified != "exit" {
		t.Errorf("Go handler: reason %q, go %+v", f.Reason, f.Go)
	}
	if r := byKey[want[5]].Reason; !strings.Contains(r, "did not ask for SIGUSR1 with signal.Notify: the Go runtime's handler discards it") {
		t.Errorf("SIGUSR1 to a Go program: reason %q", r)
	}
	if !rep.Fatal() {
		t.Error("Fatal() = false")
	}

	// The same daemons, configured only for the prepared ones: no risk.
	safe, err := Run(Options{Root: "testdata/live-safe", Proc: "/proc", Self: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	if safe.Fatal() || safe.Count(RiskOK) != 2 || len(safe.Findings) != 2 {
		t.Errorf("safe configuration: %+v", safe.Findings)
	}
}

// TestLiveAll checks --all against the real children: the sleep copy is
// unprepared for all four signals, the ignoring child not for SIGHUP.
func TestLiveAll(t *testing.T) {
	d := startLiveDaemons(t)
	rep, err := Run(Options{Root: t.TempDir(), Proc: "/proc", Self: os.Getpid(), All: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int][]string{}
	for _, f := range rep.Findings {
		got[f.Target.PID] = append(got[f.Target.PID], f.Signal.Name)
	}
	if g := strings.Join(got[d.x.Pid], ","); g != "SIGHUP,SIGUSR1,SIGUSR2,SIGPIPE" {
		t.Errorf("sleep copy unprepared for %s", g)
	}
	if slices.Contains(got[d.i.Pid], signals.Name(int(syscall.SIGHUP))) || slices.Contains(got[d.h.Pid], "SIGHUP") {
		t.Errorf("prepared children listed: H %v, I %v", got[d.h.Pid], got[d.i.Pid])
	}
	if rep.Fatal() {
		t.Error("--all exposures made the audit fatal")
	}
}

// TestLiveGo audits SIGHUP, SIGUSR1 and SIGQUIT to real Go programs (this
// test binary): one that never calls signal.Notify, one that asked for
// SIGHUP, and one whose symbol table is hidden; then sends the signals
// and checks that each verdict is what happens.
func TestLiveGo(t *testing.T) {
	bin := t.TempDir()
	hup := int(syscall.SIGHUP)
	hasHUP := func(_ int, st status) bool { return st.cgt.Has(hup) } // the runtime's handlers are in
	start := func(name, kind, exe string, stdout *os.File) (*os.Process, func(time.Duration) (*os.ProcessState, bool)) {
		t.Helper()
		if exe == "" {
			exe = filepath.Join(bin, name)
			must(t, os.Symlink(selfExe(t), exe))
		}
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), childEnv+"="+kind, "GOTRACEBACK=single") // crash would dump core instead of exit 2
		if stdout != nil {
			cmd.Stdout = stdout
		}
		return startDaemonWait(t, cmd, name, hasHUP)
	}
	plain, plainExit := start("auditgoPlain", "plain", "", nil)
	quitter, quitExit := start("auditgoQuit", "plain", "", nil)
	said, w, err := os.Pipe()
	must(t, err)
	defer said.Close()
	asked, _ := start("auditgoHUP", "handler", "", w)
	w.Close()
	stripped := filepath.Join(bin, "auditgoStrip")
	must(t, elftest.HideSymtab(selfExe(t), stripped))
	start("auditgoStrip", "plain", stripped, nil)

	root := writeRoot(t, map[string]string{"etc/logrotate.d/goapps": `/var/log/go/*.log {
	postrotate
		pkill -HUP -x auditgoPlain
		pkill -USR1 -x auditgoPlain
		pkill -QUIT -x auditgoQuit
		pkill -HUP -x auditgoHUP
		pkill -HUP -x auditgoStrip
	endscript
}
`})
	rep, err := Run(Options{Root: root, Proc: "/proc", Self: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	type verdict struct{ risk, reason, notify, unnotified string }
	got := map[string]verdict{}
	for _, f := range rep.Findings {
		if f.Target == nil || f.Go == nil {
			t.Errorf("finding without a Go target: %+v", f)
			continue
		}
		n := "unknown"
		if f.Go.Notify != nil {
			n = fmt.Sprint(*f.Go.Notify)
		}
		if !strings.HasPrefix(f.Go.Version, "go1.") {
			t.Errorf("go version %q", f.Go.Version)
		}
		got[f.Target.Comm+" "+f.Signal.Name] = verdict{f.Risk, f.Reason, n, f.Go.Unnotified}
	}
	want := map[string]verdict{
		"auditgoPlain SIGHUP":  {"fatal", "a Go program that did not ask for SIGHUP with signal.Notify: the Go runtime's handler resets SIGHUP to the default action and raises it again (runtime/signal_unix.go dieFromSignal), so it dies of it", "false", "exit"},
		"auditgoPlain SIGUSR1": {"ok", "a Go program that did not ask for SIGUSR1 with signal.Notify: the Go runtime's handler discards it (runtime/signal_unix.go sighandler), so it survives, but what the sender meant (a reload, reopening logs) does not happen", "false", "discard"},
		"auditgoQuit SIGQUIT":  {"fatal", "a Go program that did not ask for SIGQUIT with signal.Notify: the Go runtime's handler prints a goroutine dump and exits with status 2 (runtime/signal_unix.go sighandler)", "false", "crash"},
		"auditgoHUP SIGHUP":    {"ok", "a Go program that asked for SIGHUP with signal.Notify (read from the Go runtime's notify mask in its memory)", "true", "exit"},
		"auditgoStrip SIGHUP":  {"unresolved", "a Go program, fatal unless it calls signal.Notify(SIGHUP): the Go runtime's handler resets SIGHUP to the default action and raises it again (runtime/signal_unix.go dieFromSignal), so it dies of it; whether it does is not known: its executable has no symbol table (built with -ldflags=-s or stripped)", "unknown", "exit"},
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s:\n got %+v\nwant %+v", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("findings %v", got)
	}

	// --all lists the Go program that would die of SIGHUP, though SigCgt
	// shows a handler; not the one that asked, nor the one that cannot
	// be read.
	all, err := Run(Options{Root: t.TempDir(), Proc: "/proc", Self: os.Getpid(), All: true})
	if err != nil {
		t.Fatal(err)
	}
	exposed := map[string][]string{}
	for _, f := range all.Findings {
		if strings.HasPrefix(f.Target.Comm, "auditgo") {
			exposed[f.Target.Comm] = append(exposed[f.Target.Comm], f.Signal.Name+"/"+f.Disposition)
		}
	}
	if g := fmt.Sprint(exposed); g != "map[auditgoPlain:[SIGHUP/handler] auditgoQuit:[SIGHUP/handler]]" {
		t.Errorf("--all exposures of the Go programs: %s", g)
	}

	// What really happens. The plain program takes SIGUSR1 (the kernel
	// has dequeued it) and lives on to die of SIGHUP: killed by SIGHUP,
	// not by SIGUSR1.
	must(t, plain.Signal(syscall.SIGUSR1))
	usr1 := int(syscall.SIGUSR1)
	deadline := time.Now().Add(readyTimeout)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", plain.Pid))
		must(t, err)
		pending := signals.Set(0)
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "ShdPnd:"); ok {
				pending, _ = signals.ParseMask(strings.TrimSpace(v))
			}
		}
		if !pending.Has(usr1) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("SIGUSR1 still pending")
		}
		time.Sleep(5 * time.Millisecond)
	}
	must(t, plain.Signal(syscall.SIGHUP))
	st, done := plainExit(readyTimeout)
	if !done {
		t.Fatal("the plain Go program survived SIGHUP")
	}
	if ws := st.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGHUP {
		t.Errorf("plain Go program after SIGUSR1 and SIGHUP: %v, want killed by SIGHUP", st)
	}
	// The one that asked for SIGHUP receives it on its channel.
	must(t, asked.Signal(syscall.SIGHUP))
	must(t, said.SetReadDeadline(time.Now().Add(readyTimeout)))
	buf := make([]byte, 4)
	if n, err := io.ReadFull(said, buf); err != nil || string(buf[:n]) != "hup\n" {
		t.Errorf("the program that asked for SIGHUP: %q, %v", buf[:n], err)
	}
	must(t, quitter.Signal(syscall.SIGQUIT))
	if st, done := quitExit(readyTimeout); !done || st.ExitCode() != 2 {
		t.Errorf("Go program after SIGQUIT: %v, want exit status 2", st)
	}
}
