package tracer

// Integration tests: they load the real BPF programs into the running
// kernel, make real processes send and receive real signals, and wait
// (bounded) for exactly the events that must follow.

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/internal/testproc"
	"github.com/sigtrace/sigtrace/signals"
)

// uniqueName is a comm for a test process that nothing else on the
// machine has (comm keeps 15 bytes).
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%06d", prefix, rand.Intn(1000000))
}

func TestPkillFromCronScriptKillsUnpreparedDaemon(t *testing.T) {
	_, col := startTracer(t, Options{Signals: []int{int(syscall.SIGHUP)}})
	name := uniqueName("logd")
	daemon := spawn(t, "daemon", withName(t, name), withEnv("SIGTRACE_DFL="+sigList(syscall.SIGHUP)))

	// A job named like a cron job that rotates logs the way the seed
	// incident did: postrotate pkill -HUP -x NAME.
	dir := t.TempDir()
	script := filepath.Join(dir, "nightlyjob")
	body := "#!/bin/sh\npkill -HUP -x " + name + "\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	job := exec.Command(script)
	job.Env = append(os.Environ(), "PATH="+testproc.PathWithPkill(t))
	if out, err := job.CombinedOutput(); err != nil {
		t.Fatalf("nightlyjob: %v: %s", err, out)
	}

	ev, _ := col.waitFor(t, 0, "SIGHUP to the daemon", genTo(daemon.pid(), syscall.SIGHUP))
	if ev.Generate.KernelSender {
		t.Fatalf("sender is the kernel (%s), want pkill", ev.Generate.KernelReason)
	}
	if got := ev.Generate.Sender.CommString(); got != "pkill" {
		t.Errorf("sender comm = %q, want pkill", got)
	}
	argv := ev.Generate.Sender.ArgvStrings()
	if !contains(argv, name) || !contains(argv, "-HUP") {
		t.Errorf("sender argv = %q, want it to hold -HUP and %s", argv, name)
	}
	if len(ev.Generate.Sender.Ancestry) == 0 || commOf(ev.Generate.Sender.Ancestry[0]) != "nightlyjob" {
		t.Errorf("ancestry = %v, want nightlyjob first", ancestryNames(ev.Generate.Sender.Ancestry))
	}
	if ev.Code != signals.SIUser || ev.Scope != ScopeProcess || ev.Generate.Result != ResultDelivered {
		t.Errorf("code %d scope %v result %v, want SI_USER process delivered", ev.Code, ev.Scope, ev.Generate.Result)
	}
	if ev.Generate.Disposition != DispDefault || ev.Generate.Blocked {
		t.Errorf("disposition %v blocked %v, want default unblocked", ev.Generate.Disposition, ev.Generate.Blocked)
	}
	if ev.Generate.Kind != VerdictFatal || !ev.Generate.Fatal || !ev.Generate.Unprepared {
		t.Errorf("verdict %+v, want fatal and unprepared", ev.Generate.Verdict)
	}
	if sig := killedBy(daemon.wait(t)); sig != syscall.SIGHUP {
		t.Errorf("daemon ended by %v, want SIGHUP", sig)
	}
}

func TestDispositions(t *testing.T) {
	_, col := startTracer(t, Options{Signals: []int{int(syscall.SIGUSR1), int(syscall.SIGTERM), int(syscall.SIGWINCH)}})

	t.Run("handler", func(t *testing.T) {
		c := spawn(t, "daemon", withEnv("SIGTRACE_HANDLE="+sigList(syscall.SIGUSR1)))
		from := col.len()
		must(t, syscall.Kill(c.pid(), syscall.SIGUSR1))
		ev, _ := col.waitFor(t, from, "SIGUSR1 to handler", genTo(c.pid(), syscall.SIGUSR1))
		if ev.Generate.Disposition != DispHandler || ev.Generate.Handler < 2 || ev.Generate.Kind != VerdictHandled || ev.Generate.Fatal {
			t.Errorf("got disposition %v handler %#x verdict %+v, want handled", ev.Generate.Disposition, ev.Generate.Handler, ev.Generate.Verdict)
		}
		if !c.alive(t) {
			t.Error("receiver died")
		}
	})

	t.Run("ignore", func(t *testing.T) {
		c := spawn(t, "exec", withEnv("SIGTRACE_IGN="+sigList(syscall.SIGUSR1)))
		from := col.len()
		must(t, syscall.Kill(c.pid(), syscall.SIGUSR1))
		ev, _ := col.waitFor(t, from, "SIGUSR1 to SIG_IGN", genTo(c.pid(), syscall.SIGUSR1))
		if ev.Generate.Disposition != DispIgnore || ev.Generate.Result != ResultIgnored || ev.Generate.Kind != VerdictIgnored || ev.Generate.Fatal {
			t.Errorf("got disposition %v result %v verdict %+v, want ignored", ev.Generate.Disposition, ev.Generate.Result, ev.Generate.Verdict)
		}
		if !c.alive(t) {
			t.Error("receiver died")
		}
	})

	t.Run("blocked then merged", func(t *testing.T) {
		c := spawn(t, "exec", withEnv("SIGTRACE_BLOCK="+sigList(syscall.SIGTERM)))
		from := col.len()
		must(t, syscall.Kill(c.pid(), syscall.SIGTERM))
		must(t, syscall.Kill(c.pid(), syscall.SIGTERM))
		end := barrier(t, col, from)
		got := col.since(from, genTo(c.pid(), syscall.SIGTERM))
		if len(got) != 2 {
			for _, e := range got {
				t.Logf("%s sender %d %s code %d result %v blocked %v scope %v", e.Time.Format("15:04:05.000000"), e.Generate.Sender.PID, e.Generate.Sender.CommString(), e.Code, e.Generate.Result, e.Generate.Blocked, e.Scope)
			}
			t.Fatalf("got %d SIGTERM generate events, want exactly 2", len(got))
		}
		first, second := got[0], got[1]
		if first.Generate.Result != ResultDelivered || !first.Generate.Blocked || first.Generate.Kind != VerdictBlocked || !first.Generate.FatalWhenUnblocked || first.Generate.Fatal {
			t.Errorf("first: result %v blocked %v verdict %+v, want blocked, fatal when unblocked", first.Generate.Result, first.Generate.Blocked, first.Generate.Verdict)
		}
		if second.Generate.Result != ResultAlreadyPending || second.Generate.Kind != VerdictMerged {
			t.Errorf("second: result %v verdict %+v, want already_pending/merged", second.Generate.Result, second.Generate.Verdict)
		}
		if n := len(col.since(from, func(e *Event) bool {
			return e.Type == TypeDeliver && e.Target.PID == uint32(c.pid()) && int(e.Sig) == int(syscall.SIGTERM)
		})); n != 0 {
			t.Errorf("%d deliver events for a blocked signal, want 0", n)
		}
		_ = end
		if !c.alive(t) {
			t.Error("receiver died of a blocked signal")
		}
		if sig := killedBy(c.wait(t)); sig != 0 {
			t.Errorf("receiver ended by %v, want a normal exit", sig)
		}
	})
}

func TestKernelOriginSignals(t *testing.T) {
	_, col := startTracer(t, Options{Signals: []int{int(syscall.SIGALRM), int(syscall.SIGSEGV), int(syscall.SIGPIPE)}})

	t.Run("alarm", func(t *testing.T) {
		c := spawn(t, "alarm")
		ev, _ := col.waitFor(t, 0, "SIGALRM", genTo(c.pid(), syscall.SIGALRM))
		if !ev.Generate.KernelSender || ev.Code != signals.SIKernel {
			t.Errorf("kernel %v (%q) code %s, want a kernel SI_KERNEL sender", ev.Generate.KernelSender, ev.Generate.KernelReason, signals.CodeName(ev.Sig, ev.Code))
		}
		if !ev.Generate.Fatal || !ev.Generate.Unprepared {
			t.Errorf("verdict %+v, want fatal unprepared", ev.Generate.Verdict)
		}
		if sig := killedBy(c.wait(t)); sig != syscall.SIGALRM {
			t.Errorf("ended by %v, want SIGALRM", sig)
		}
	})

	t.Run("null dereference", func(t *testing.T) {
		c := spawn(t, "segv")
		ev, _ := col.waitFor(t, 0, "SIGSEGV", genTo(c.pid(), syscall.SIGSEGV))
		if !ev.Generate.KernelSender || signals.CodeName(ev.Sig, ev.Code) != "SEGV_MAPERR" {
			t.Errorf("kernel %v code %s, want kernel SEGV_MAPERR", ev.Generate.KernelSender, signals.CodeName(ev.Sig, ev.Code))
		}
		if ev.Generate.DefaultAction != signals.Core || !ev.Generate.Fatal || ev.Scope != ScopeThread {
			t.Errorf("default %v verdict %+v scope %v, want core, fatal, thread", ev.Generate.DefaultAction, ev.Generate.Verdict, ev.Scope)
		}
		if sig := killedBy(c.wait(t)); sig != syscall.SIGSEGV {
			t.Errorf("ended by %v, want SIGSEGV", sig)
		}
	})

	t.Run("yes | head -c1", func(t *testing.T) {
		r, w, err := os.Pipe()
		must(t, err)
		yes := exec.Command("yes")
		yes.Stdout = w
		head := exec.Command("head", "-c1")
		head.Stdin = r
		must(t, yes.Start())
		must(t, head.Start())
		r.Close()
		w.Close()
		_ = head.Wait()
		_ = yes.Wait()
		ev, _ := col.waitFor(t, 0, "SIGPIPE to yes", genTo(yes.Process.Pid, syscall.SIGPIPE))
		if !ev.Generate.KernelSender || !strings.Contains(ev.Generate.KernelReason, "broken pipe") {
			t.Errorf("kernel %v reason %q, want the kernel (broken pipe)", ev.Generate.KernelSender, ev.Generate.KernelReason)
		}
		if !ev.Generate.Fatal || !ev.Generate.Unprepared {
			t.Errorf("verdict %+v, want fatal unprepared", ev.Generate.Verdict)
		}
		if sig := killedBy(yes.ProcessState); sig != syscall.SIGPIPE {
			t.Errorf("yes ended by %v, want SIGPIPE", sig)
		}
	})
}

func TestSenderKinds(t *testing.T) {
	_, col := startTracer(t, Options{Signals: []int{int(syscall.SIGKILL), int(syscall.SIGUSR1), int(syscall.SIGUSR2)}})
	self := uint32(os.Getpid())

	t.Run("SIGKILL", func(t *testing.T) {
		c := spawn(t, "daemon")
		must(t, syscall.Kill(c.pid(), syscall.SIGKILL))
		ev, _ := col.waitFor(t, 0, "SIGKILL", genTo(c.pid(), syscall.SIGKILL))
		if ev.Generate.KernelSender || ev.Generate.Sender.PID != self {
			t.Errorf("sender %d (kernel %v), want this test process %d", ev.Generate.Sender.PID, ev.Generate.KernelSender, self)
		}
		if !ev.Generate.Fatal || ev.Generate.Unprepared {
			t.Errorf("verdict %+v, want fatal and not unprepared (SIGKILL cannot be caught)", ev.Generate.Verdict)
		}
		if sig := killedBy(c.wait(t)); sig != syscall.SIGKILL {
			t.Errorf("ended by %v", sig)
		}
	})

	t.Run("pthread_kill", func(t *testing.T) {
		c := spawn(t, "thread")
		tid, err := strconv.Atoi(c.fields[0])
		must(t, err)
		if tid == c.pid() {
			t.Fatal("helper thread is the main thread")
		}
		must(t, unix.Tgkill(c.pid(), tid, syscall.SIGUSR1))
		ev, _ := col.waitFor(t, 0, "tgkill SIGUSR1", genTo(c.pid(), syscall.SIGUSR1))
		if ev.Scope != ScopeThread || ev.Target.TID != uint32(tid) || ev.Target.TID == ev.Target.PID {
			t.Errorf("scope %v target %d/%d, want thread scope and tid %d", ev.Scope, ev.Target.PID, ev.Target.TID, tid)
		}
		if ev.Code != signals.SITKill || ev.Generate.Kind != VerdictHandled {
			t.Errorf("code %d verdict %+v, want SI_TKILL handled", ev.Code, ev.Generate.Verdict)
		}
	})

	t.Run("sigqueue", func(t *testing.T) {
		c := spawn(t, "daemon", withEnv("SIGTRACE_HANDLE="+sigList(syscall.SIGUSR2)))
		must(t, sigqueue(c.pid(), syscall.SIGUSR2, 42))
		ev, _ := col.waitFor(t, 0, "sigqueue SIGUSR2", genTo(c.pid(), syscall.SIGUSR2))
		if ev.Code != signals.SIQueue || ev.Generate.KernelSender || ev.Generate.Sender.PID != self {
			t.Errorf("code %s kernel %v sender %d, want SI_QUEUE from %d", signals.CodeName(ev.Sig, ev.Code), ev.Generate.KernelSender, ev.Generate.Sender.PID, self)
		}
	})

	t.Run("pid namespace init", func(t *testing.T) {
		c := spawn(t, "daemon",
			withEnv("SIGTRACE_DFL="+sigList(syscall.SIGUSR1)),
			withSysProcAttr(&syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}))
		must(t, syscall.Kill(c.pid(), syscall.SIGUSR1))
		ev, _ := col.waitFor(t, 0, "SIGUSR1 to a namespace init", genTo(c.pid(), syscall.SIGUSR1))
		if ev.Generate.Result != ResultIgnored || ev.Generate.Kind != VerdictIgnored || ev.Generate.Fatal {
			t.Errorf("result %v verdict %+v, want ignored and not fatal", ev.Generate.Result, ev.Generate.Verdict)
		}
		if !ev.Generate.Unkillable || ev.Generate.Disposition != DispDefault {
			t.Errorf("unkillable %v disposition %v, want an unkillable init with no handler", ev.Generate.Unkillable, ev.Generate.Disposition)
		}
		if !c.alive(t) {
			t.Error("namespace init died")
		}
	})
}

// sigqueue is sigqueue(3): rt_sigqueueinfo with SI_QUEUE and a value.
func sigqueue(pid int, sig syscall.Signal, value int) error {
	var info [128]byte // siginfo_t
	*(*int32)(unsafe.Pointer(&info[0])) = int32(sig)
	*(*int32)(unsafe.Pointer(&info[8])) = signals.SIQueue
	*(*int32)(unsafe.Pointer(&info[16])) = int32(os.Getpid())
	*(*uint32)(unsafe.Pointer(&info[20])) = uint32(os.Getuid())
	*(*int64)(unsafe.Pointer(&info[24])) = int64(value)
	_, _, e := unix.Syscall(unix.SYS_RT_SIGQUEUEINFO, uintptr(pid), uintptr(sig), uintptr(unsafe.Pointer(&info[0])))
	if e != 0 {
		return e
	}
	return nil
}

// TestKernelFilters proves that -s, -p/--target-pid, --sender-pid and
// --comm are decided in BPF: the kernel's own count of submitted records
// equals what arrived, and nothing filtered out was ever submitted.
func TestKernelFilters(t *testing.T) {
	const noise = 100
	sigUSR1 := int(syscall.SIGUSR1)

	check := func(t *testing.T, tr *Tracer, col *collector, before Stats, from int, wanted func(*Event) bool, unwanted func(*Event) bool) {
		t.Helper()
		after, err := tr.Stats()
		must(t, err)
		got := col.len() - from
		if sub := after.Submitted - before.Submitted; sub != uint64(got) {
			t.Errorf("kernel submitted %d records, reader got %d", sub, got)
		}
		if sub := after.Submitted - before.Submitted; sub >= noise {
			t.Errorf("kernel submitted %d records: the %d filtered-out signals reached the ring", sub, noise)
		}
		if bad := col.since(from, unwanted); len(bad) > 0 {
			t.Errorf("%d filtered-out events arrived, e.g. %s to %d", len(bad), signals.Name(bad[0].Sig), bad[0].Target.PID)
		}
		if len(col.since(from, wanted)) == 0 {
			t.Error("the wanted event did not arrive")
		}
	}

	t.Run("signal set", func(t *testing.T) {
		tr, col := startTracer(t, Options{Signals: []int{int(syscall.SIGUSR2), int(syscall.SIGWINCH)}, NoDeliver: true})
		c := spawn(t, "daemon", withEnv("SIGTRACE_HANDLE="+sigList(syscall.SIGUSR1, syscall.SIGUSR2)))
		from := barrier(t, col, 0)
		before, err := tr.Stats()
		must(t, err)
		for i := 0; i < noise; i++ {
			must(t, syscall.Kill(c.pid(), syscall.SIGUSR1))
		}
		must(t, syscall.Kill(c.pid(), syscall.SIGUSR2))
		col.waitFor(t, from, "SIGUSR2", genTo(c.pid(), syscall.SIGUSR2))
		barrier(t, col, from)
		check(t, tr, col, before, from, genTo(c.pid(), syscall.SIGUSR2),
			func(e *Event) bool { return e.Sig == sigUSR1 })
	})

	t.Run("target pid", func(t *testing.T) {
		a := spawn(t, "daemon", withEnv("SIGTRACE_HANDLE="+sigList(syscall.SIGUSR1)))
		b := spawn(t, "daemon", withEnv("SIGTRACE_HANDLE="+sigList(syscall.SIGUSR1)))
		tr, col := startTracer(t, Options{TargetPIDs: []uint32{uint32(a.pid())}})
		before, err := tr.Stats()
		must(t, err)
		for i := 0; i < noise; i++ {
			must(t, syscall.Kill(b.pid(), syscall.SIGUSR1))
		}
		must(t, syscall.Kill(a.pid(), syscall.SIGUSR1))
		col.waitFor(t, 0, "SIGUSR1 to a", genTo(a.pid(), syscall.SIGUSR1))
		// a's deliver event follows its generate event; wait for it too
		// so the counts compare the same moment.
		col.waitFor(t, 0, "deliver to a", func(e *Event) bool { return e.Type == TypeDeliver && e.Target.PID == uint32(a.pid()) })
		check(t, tr, col, before, 0, genTo(a.pid(), syscall.SIGUSR1),
			func(e *Event) bool { return e.Target.PID != uint32(a.pid()) })
	})

	t.Run("pid either side", func(t *testing.T) {
		a := spawn(t, "daemon", withEnv("SIGTRACE_HANDLE="+sigList(syscall.SIGUSR1)))
		b := spawn(t, "daemon", withEnv("SIGTRACE_HANDLE="+sigList(syscall.SIGUSR1)))
		tr, col := startTracer(t, Options{Signals: []int{sigUSR1}, AnyPIDs: []uint32{uint32(a.pid())}, NoDeliver: true})
		before, err := tr.Stats()
		must(t, err)
		for i := 0; i < noise; i++ {
			must(t, syscall.Kill(b.pid(), syscall.SIGUSR1))
		}
		must(t, syscall.Kill(a.pid(), syscall.SIGUSR1))
		col.waitFor(t, 0, "SIGUSR1 to a", genTo(a.pid(), syscall.SIGUSR1))
		check(t, tr, col, before, 0, genTo(a.pid(), syscall.SIGUSR1),
			func(e *Event) bool { return e.Target.PID == uint32(b.pid()) })
		if st, _ := tr.Stats(); st.Filtered-before.Filtered < noise {
			t.Errorf("filtered counter rose by %d, want at least %d", st.Filtered-before.Filtered, noise)
		}
	})

	t.Run("sender pid", func(t *testing.T) {
		a := spawn(t, "daemon", withEnv("SIGTRACE_HANDLE="+sigList(syscall.SIGUSR1)))
		tr, col := startTracer(t, Options{Signals: []int{sigUSR1}, SenderPIDs: []uint32{uint32(os.Getpid())}, NoDeliver: true})
		before, err := tr.Stats()
		must(t, err)
		// A shell sends the noise; this process sends the one we want.
		script := fmt.Sprintf("i=0; while [ $i -lt %d ]; do kill -USR1 %d; i=$((i+1)); done", noise, a.pid())
		if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
			t.Fatalf("sh: %v: %s", err, out)
		}
		must(t, syscall.Kill(a.pid(), syscall.SIGUSR1))
		col.waitFor(t, 0, "SIGUSR1 from this process", genTo(a.pid(), syscall.SIGUSR1))
		self := uint32(os.Getpid())
		check(t, tr, col, before, 0, genTo(a.pid(), syscall.SIGUSR1),
			func(e *Event) bool { return e.Generate.Sender.PID != self })
	})

	t.Run("comm", func(t *testing.T) {
		name := uniqueName("commf")
		a := spawn(t, "daemon", withName(t, name), withEnv("SIGTRACE_HANDLE="+sigList(syscall.SIGUSR1)))
		b := spawn(t, "daemon", withEnv("SIGTRACE_HANDLE="+sigList(syscall.SIGUSR1)))
		tr, col := startTracer(t, Options{Signals: []int{sigUSR1}, Comms: []string{name}, NoDeliver: true})
		before, err := tr.Stats()
		must(t, err)
		for i := 0; i < noise; i++ {
			must(t, syscall.Kill(b.pid(), syscall.SIGUSR1))
		}
		must(t, syscall.Kill(a.pid(), syscall.SIGUSR1))
		col.waitFor(t, 0, "SIGUSR1 to "+name, genTo(a.pid(), syscall.SIGUSR1))
		check(t, tr, col, before, 0, genTo(a.pid(), syscall.SIGUSR1),
			func(e *Event) bool { return e.Target.CommString() != name })
	})
}

func TestDeliverEvents(t *testing.T) {
	// SIGKILL is not in the set: the dying deliver event must pass on its
	// cause (SIGHUP) alone.
	_, col := startTracer(t, Options{Signals: []int{int(syscall.SIGUSR1), int(syscall.SIGHUP)}})
	t.Run("handler", func(t *testing.T) {
		c := spawn(t, "daemon", withEnv("SIGTRACE_HANDLE="+sigList(syscall.SIGUSR1)))
		must(t, syscall.Kill(c.pid(), syscall.SIGUSR1))
		ev, _ := col.waitFor(t, 0, "deliver SIGUSR1", func(e *Event) bool {
			return e.Type == TypeDeliver && e.Target.PID == uint32(c.pid()) && e.Sig == int(syscall.SIGUSR1)
		})
		if ev.Deliver.Disposition != DispHandler || ev.Deliver.SAFlags&0x4 == 0 { // Go's handlers use SA_SIGINFO
			t.Errorf("deliver disposition %v flags %#x, want a SA_SIGINFO handler", ev.Deliver.Disposition, ev.Deliver.SAFlags)
		}
		if ev.Code != signals.SIUser {
			t.Errorf("deliver code %d, want SI_USER", ev.Code)
		}
	})
	t.Run("fatal default shows the cause", func(t *testing.T) {
		c := spawn(t, "daemon", withEnv("SIGTRACE_DFL="+sigList(syscall.SIGHUP)))
		must(t, syscall.Kill(c.pid(), syscall.SIGHUP))
		// complete_signal() turns the fatal SIGHUP into SIGKILL for every
		// thread; the deliver event must still name SIGHUP as the cause.
		ev, _ := col.waitFor(t, 0, "deliver to the dying daemon", func(e *Event) bool {
			return e.Type == TypeDeliver && e.Target.PID == uint32(c.pid()) && e.Deliver.GroupExit
		})
		if ev.Sig != int(syscall.SIGKILL) || ev.Deliver.ExitSignal != int(syscall.SIGHUP) {
			t.Errorf("deliver sig %d exit signal %d, want SIGKILL with cause SIGHUP", ev.Sig, ev.Deliver.ExitSignal)
		}
		if sig := killedBy(c.wait(t)); sig != syscall.SIGHUP {
			t.Errorf("ended by %v", sig)
		}
	})
}

// TestVerdictTruth spawns children with random dispositions and masks for
// random signals, sends each its signal, and compares the tracer's
// predicted fatal with what waitpid says: there must be no mismatch.
func TestVerdictTruth(t *testing.T) {
	n := 200
	if testing.Short() || os.Getenv("SIGTRACE_GUEST") != "" {
		n = 40 // qemu TCG spawns processes ~100x slower
	}
	// Stop signals would freeze the echo probe, and the Go runtime needs
	// its own handlers for the synchronous and preemption signals, so the
	// "handler" children use the rest.
	var pool []int
	for s := 1; s <= signals.Max; s++ {
		switch syscall.Signal(s) {
		case syscall.SIGSTOP, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGURG, syscall.SIGPROF:
			continue
		}
		if s == 32 || s == 33 {
			continue // glibc's internal signals
		}
		pool = append(pool, s)
	}
	// Only this test's children (a unique name, or cat after the exec), so
	// a signal storm elsewhere on the machine cannot overflow the ring.
	name := uniqueName("truth")
	_, col := startTracer(t, Options{Signals: pool, NoDeliver: true, Comms: []string{name, "cat"}})
	rng := rand.New(rand.NewSource(int64(os.Getpid())))
	synchronous := map[int]bool{int(syscall.SIGSEGV): true, int(syscall.SIGBUS): true, int(syscall.SIGFPE): true, int(syscall.SIGILL): true, int(syscall.SIGTRAP): true, int(syscall.SIGSYS): true}

	var mismatches, fatalSeen, aliveSeen int
	for i := 0; i < n; i++ {
		sig := pool[rng.Intn(len(pool))]
		disp := rng.Intn(3) // 0 default, 1 ignore, 2 handler
		if !signals.Catchable(sig) || (disp == 2 && synchronous[sig]) {
			disp = 0 // SIGKILL cannot be ignored or caught (rt_sigaction: EINVAL)
		}
		block := rng.Intn(3) == 0
		var c *child
		sl := strconv.Itoa(sig)
		switch disp {
		case 2:
			c = spawn(t, "daemon", withName(t, name), withEnv("SIGTRACE_HANDLE="+sl))
		case 1:
			c = spawn(t, "exec", withEnv("SIGTRACE_IGN="+sl, blockEnv(block, sl)))
		default:
			c = spawn(t, "exec", withEnv(blockEnv(block, sl)))
		}
		must(t, syscall.Kill(c.pid(), syscall.Signal(sig)))
		ev, _ := col.waitFor(t, 0, "truth "+signals.Name(sig), genTo(c.pid(), syscall.Signal(sig)))
		alive := c.alive(t)
		died := killedBy(c.wait(t))
		actuallyFatal := died == syscall.Signal(sig) || (died == syscall.SIGKILL && !alive)
		if ev.Generate.Fatal != actuallyFatal {
			mismatches++
			t.Errorf("child %d: %s disposition %v blocked %v: predicted fatal=%v (%v), waitpid says ended by %v",
				i, signals.Name(sig), ev.Generate.Disposition, ev.Generate.Blocked, ev.Generate.Fatal, ev.Generate.Kind, died)
		}
		if actuallyFatal {
			fatalSeen++
		} else {
			aliveSeen++
		}
	}
	t.Logf("%d children: %d died, %d survived, %d mismatches", n, fatalSeen, aliveSeen, mismatches)
	if fatalSeen == 0 || aliveSeen == 0 {
		t.Errorf("the random mix never exercised both outcomes (died %d, survived %d)", fatalSeen, aliveSeen)
	}
}

func blockEnv(block bool, sig string) string {
	if !block {
		return "SIGTRACE_BLOCK="
	}
	return "SIGTRACE_BLOCK=" + sig
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func commOf(a Ancestor) string { return string(bytes.TrimRight(a.Comm[:], "\x00")) }

func ancestryNames(as []Ancestor) []string {
	var out []string
	for _, a := range as {
		out = append(out, commOf(a))
	}
	return out
}
