package tracer

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/internal/testproc"
)

const saResethand = 0x80000000

func init() {
	moreHelpers["true"] = func() int { return 0 }
	// steps: the disposition changes of SIGTRACE_STEPS, one per byte read
	// from stdin (echoed once done): "h10" puts back SIGUSR1's handler
	// as the Go runtime installed it, "i10" SIG_IGN, "d10" SIG_DFL, "q10"
	// only asks. Prints the runtime handler's address when ready.
	moreHelpers["steps"] = func() int {
		orig, err := testproc.QuerySigaction(syscall.SIGUSR1)
		helperMust(err)
		ready(strconv.FormatUint(uint64(orig.Handler), 16))
		var b [1]byte
		for _, step := range strings.Fields(os.Getenv("SIGTRACE_STEPS")) {
			if _, err := os.Stdin.Read(b[:]); err != nil {
				return 0
			}
			n, err := strconv.Atoi(step[1:])
			helperMust(err)
			sig := syscall.Signal(n)
			switch step[0] {
			case 'h':
				helperMust(testproc.SetSigaction(sig, orig))
			case 'i':
				helperMust(testproc.SetDisposition(sig, testproc.SigIgn))
			case 'd':
				helperMust(testproc.SetDisposition(sig, testproc.SigDfl))
			case 'q':
				_, err := testproc.QuerySigaction(sig)
				helperMust(err)
			}
			_, _ = os.Stdout.Write(b[:])
		}
		return echo()
	}
	// resethand: SIGUSR1 goes to a signal.Notify channel through the
	// runtime's handler, installed again with SA_RESETHAND: the first
	// one is handled, and resets it to SIG_DFL; a second one kills.
	moreHelpers["resethand"] = func() int {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGUSR1)
		go func() {
			for range ch {
			}
		}()
		a, err := testproc.QuerySigaction(syscall.SIGUSR1)
		helperMust(err)
		a.Flags |= saResethand
		helperMust(testproc.SetSigaction(syscall.SIGUSR1, a))
		ready(strconv.FormatUint(uint64(a.Handler), 16))
		return echo()
	}
}

// changesOf are the disposition events of process pid.
func changesOf(col *collector, from int, pid int) []Event {
	return col.since(from, func(e *Event) bool { return e.Type == TypeDisposition && e.Target.PID == uint32(pid) })
}

// whoElse counts the events since from that are not pid's, by type,
// signal, sender and target: what filled the ring when a test that
// expects only its own events finds records dropped.
func whoElse(col *collector, from int, pid int) string {
	counts := map[string]int{}
	for _, e := range col.since(from, func(e *Event) bool { return e.Target.PID != uint32(pid) }) {
		counts[fmt.Sprintf("%v sig %d %s[%d] -> %s[%d]", e.Type, e.Sig, e.Generate.Sender.CommString(), e.Generate.Sender.PID, e.Target.CommString(), e.Target.PID)]++
	}
	var b strings.Builder
	for k, n := range counts {
		if n >= 10 {
			fmt.Fprintf(&b, "\n  %6d %s", n, k)
		}
	}
	return b.String()
}

func describe(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %s %d %s: %s(%#x %#x) -> %s(%#x %#x) fatal=%v vfork=%v",
			e.Target.CommString(), e.Sig, e.Disposition.Cause, e.Disposition.From.Disposition, e.Disposition.From.Handler,
			e.Disposition.From.SAFlags, e.Disposition.To.Disposition, e.Disposition.To.Handler, e.Disposition.To.SAFlags,
			e.Disposition.Fatal, e.Disposition.Vfork)
	}
	return b.String()
}

// TestHistoryExecResets: a shell that traps USR1 and ignores HUP, then
// execs, loses the trap (the exec resets it: now fatal) and keeps the
// ignore: an event for USR1, named after the new program, and none for
// HUP. (The shell has ways of its own: dash's SIGINT handler is reset
// too, and busybox sh sets its ignored SIGQUIT back to SIG_DFL with
// sigaction before it execs, which is an event where sigaction changes
// are seen.) Runs on every kernel: it needs only tp_btf.
func TestHistoryExecResets(t *testing.T) {
	_, col := startTracer(t, Options{History: HistoryFatal, NoDeliver: true})
	from := barrier(t, col, 0)
	// It execs this test binary as a helper that exits at once: a
	// program the shell must really exec (busybox's sh runs its own
	// applets, true among them, without one).
	cmd := exec.Command("sh", "-c", `trap "" HUP; trap ":" USR1; exec "$0"`, selfExe(t))
	cmd.Env = append(os.Environ(), helperEnv+"=true")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	e, _ := col.waitFor(t, from, "the exec's reset of SIGUSR1", func(e *Event) bool {
		return e.Type == TypeDisposition && e.Target.PID == uint32(pid) && e.Sig == int(syscall.SIGUSR1)
	})
	barrier(t, col, from)
	got := changesOf(col, from, pid)
	c := e.Disposition
	comm := filepath.Base(selfExe(t))
	if len(comm) > 15 {
		comm = comm[:15]
	}
	if c.Cause != CauseExec || c.From.Disposition != DispHandler || c.To.Disposition != DispDefault || !c.Fatal ||
		e.Target.CommString() != comm {
		t.Errorf("want %s's SIGUSR1 handler -> default at exec, fatal:%s", comm, describe(got))
	}
	for _, e := range got {
		if e.Sig == int(syscall.SIGHUP) {
			t.Errorf("SIGHUP was ignored, and an exec keeps SIG_IGN:%s", describe(got))
		}
	}
	t.Logf("%d reset by the exec:%s", len(got), describe(got))
}

// TestHistoryResethand: SA_RESETHAND resets the handler as it runs (a
// disposition event, now fatal); the second signal kills. Runs on every
// kernel: it is seen at signal_deliver.
func TestHistoryResethand(t *testing.T) {
	_, col := startTracer(t, Options{History: HistoryFatal})
	h := spawn(t, "resethand")
	from := barrier(t, col, 0)
	if err := syscall.Kill(h.pid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	e, _ := col.waitFor(t, from, "the SA_RESETHAND reset", func(e *Event) bool {
		return e.Type == TypeDisposition && e.Target.PID == uint32(h.pid())
	})
	c := e.Disposition
	if e.Sig != int(syscall.SIGUSR1) || c.Cause != CauseResethand || c.From.Disposition != DispHandler ||
		fmt.Sprintf("%x", c.From.Handler) != h.fields[0] || c.From.SAFlags&saResethand == 0 ||
		c.To.Disposition != DispDefault || !c.Fatal {
		t.Errorf("want SIGUSR1 handler 0x%s (SA_RESETHAND) -> default, fatal:%s", h.fields[0], describe([]Event{e}))
	}
	if !h.alive(t) {
		t.Fatal("the first SIGUSR1 killed the helper: its handler should have run")
	}
	if err := syscall.Kill(h.pid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if sig := killedBy(h.reap(t, waitTimeout())); sig != syscall.SIGUSR1 {
		t.Fatalf("second SIGUSR1: helper ended by %v, want killed by SIGUSR1", sig)
	}
	barrier(t, col, from)
	if got := changesOf(col, from, h.pid()); len(got) != 1 {
		t.Errorf("want one change, got %d:%s", len(got), describe(got))
	}
}

// requireSigactionHistory skips where the kernel can show no sigaction
// change, naming why (this build machine's kernel refuses trampolines
// and has no kprobes); in the kernel matrix's guests it runs.
func requireSigactionHistory(t *testing.T, tr *Tracer) {
	t.Helper()
	if gap := tr.HistoryGap(); gap != "" {
		t.Skip("sigaction changes cannot be seen here: " + gap)
	}
}

// step has the steps helper make its next change, and waits for it to
// be made (the helper echoes the byte once it has).
func step(t *testing.T, h *child) {
	t.Helper()
	if !h.alive(t) {
		t.Fatal("steps helper died")
	}
}

// TestHistorySigaction: a Go program sets SIGUSR1 to SIG_IGN, SIG_DFL,
// asks only, puts its handler back, and SIG_DFL again. By default only
// the two changes to SIG_DFL are events (each makes SIGUSR1 fatal),
// and the Go child's start, ~60 sigaction calls (and its vfork child's
// clearing of every handler before the exec), none.
func TestHistorySigaction(t *testing.T) {
	tr, col := startTracer(t, Options{History: HistoryFatal, NoDeliver: true})
	requireSigactionHistory(t, tr)
	from := barrier(t, col, 0)
	h := spawn(t, "steps", withEnv("SIGTRACE_STEPS=i10 d10 q10 h10 d10"))
	for range 5 {
		step(t, h)
	}
	barrier(t, col, from)
	got := changesOf(col, from, h.pid())
	if len(got) != 2 {
		t.Fatalf("want 2 changes (ignore -> default, handler -> default), got %d:%s", len(got), describe(got))
	}
	want := []Setup{{Disposition: DispIgnore, Handler: 1}, {Disposition: DispHandler}}
	for i, e := range got {
		c := e.Disposition
		if e.Sig != int(syscall.SIGUSR1) || c.Cause != CauseSigaction || c.From.Disposition != want[i].Disposition ||
			c.To.Disposition != DispDefault || !c.Fatal || c.Vfork {
			t.Errorf("change %d: want SIGUSR1 %s -> default by sigaction, fatal:%s", i, want[i].Disposition, describe(got))
		}
	}
	if addr := fmt.Sprintf("%x", got[1].Disposition.From.Handler); addr != h.fields[0] {
		t.Errorf("the handler removed is 0x%s, want the runtime's 0x%s", addr, h.fields[0])
	}
}

// TestHistorySigactionAll: with HistoryAll every change is an event: the
// four of the steps after the helper's start, each with its old and new
// action.
func TestHistorySigactionAll(t *testing.T) {
	tr, col := startTracer(t, Options{History: HistoryAll, NoDeliver: true})
	requireSigactionHistory(t, tr)
	h := spawn(t, "steps", withEnv("SIGTRACE_STEPS=i10 d10 q10 h10 d10"))
	from := barrier(t, col, 0)
	for range 5 {
		step(t, h)
	}
	barrier(t, col, from)
	got := changesOf(col, from, h.pid())
	want := []struct{ from, to Disposition }{{DispHandler, DispIgnore}, {DispIgnore, DispDefault}, {DispDefault, DispHandler}, {DispHandler, DispDefault}}
	if len(got) != len(want) {
		t.Fatalf("want %d changes, got %d:%s", len(want), len(got), describe(got))
	}
	for i, e := range got {
		c := e.Disposition
		if e.Sig != int(syscall.SIGUSR1) || c.From.Disposition != want[i].from || c.To.Disposition != want[i].to ||
			c.Fatal != (want[i].to == DispDefault) {
			t.Errorf("change %d: want %s -> %s:%s", i, want[i].from, want[i].to, describe(got))
		}
		if c.To.Disposition == DispHandler && fmt.Sprintf("%x", c.To.Handler) != h.fields[0] {
			t.Errorf("change %d: handler %#x, want the runtime's 0x%s", i, c.To.Handler, h.fields[0])
		}
	}
}

// sameInstant: two events stamped with one kernel clock reading, as the
// decoder converts them to wall time (its offset is measured again every
// clockResync, which may fall between them).
func sameInstant(a, b time.Time) bool { return a.Sub(b).Abs() < time.Millisecond }

// TestHistorySince: a process that removed its SIGUSR1 handler and dies
// of SIGUSR1 says since when, and how: the exit's DefaultSince is the
// change's time, cause sigaction.
func TestHistorySince(t *testing.T) {
	tr, col := startTracer(t, Options{History: HistoryFatal})
	requireSigactionHistory(t, tr)
	h := spawn(t, "steps", withEnv("SIGTRACE_STEPS=d10"))
	from := barrier(t, col, 0)
	step(t, h)
	change, _ := col.waitFor(t, from, "the change to SIG_DFL", func(e *Event) bool {
		return e.Type == TypeDisposition && e.Target.PID == uint32(h.pid())
	})
	if err := syscall.Kill(h.pid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	exit, _ := col.waitFor(t, from, "the exit", func(e *Event) bool { return e.Type == TypeExit && e.Target.PID == uint32(h.pid()) })
	s := exit.Exit.DefaultSince
	if !s.Known || s.Cause != CauseSigaction || !sameInstant(s.Time, change.Time) {
		t.Errorf("exit's since %+v, want the change at %v by sigaction", s, change.Time)
	}
}

// TestHistorySinceExec: a Go program execs cat, which never installs a
// handler, and dies of SIGTERM: where sigaction changes are seen, the
// exit says since it exec'd (the time of the exec's reset of the Go
// runtime's SIGTERM handler); where they are not, it says nothing, since
// a later sigaction could have gone unseen.
func TestHistorySinceExec(t *testing.T) {
	tr, col := startTracer(t, Options{History: HistoryFatal})
	from := barrier(t, col, 0)
	h := spawn(t, "exec")
	reset, _ := col.waitFor(t, from, "the exec's reset of SIGTERM", func(e *Event) bool {
		return e.Type == TypeDisposition && e.Target.PID == uint32(h.pid()) && e.Sig == int(syscall.SIGTERM)
	})
	if reset.Disposition.Cause != CauseExec || reset.Target.CommString() != "cat" {
		t.Errorf("reset %s", describe([]Event{reset}))
	}
	if err := syscall.Kill(h.pid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exit, _ := col.waitFor(t, from, "the exit", func(e *Event) bool { return e.Type == TypeExit && e.Target.PID == uint32(h.pid()) })
	s := exit.Exit.DefaultSince
	if tr.HistoryGap() != "" {
		if s.Known {
			t.Errorf("since %+v claimed on a kernel that shows no sigaction change (%s)", s, tr.HistoryGap())
		}
		return
	}
	if !s.Known || s.Cause != CauseExec || !sameInstant(s.Time, reset.Time) {
		t.Errorf("exit's since %+v, want the exec at %v", s, reset.Time)
	}
}

func init() {
	// sigactionburst: SIGUSR2 to SIG_IGN, one SIGUSR2 to itself (an
	// ignored signal, for on_generate's cost beside), and back to
	// SIG_DFL, SIGTRACE_ROUNDS times, with raw system calls; then exits.
	moreHelpers["sigactionburst"] = func() int {
		n, err := strconv.Atoi(os.Getenv("SIGTRACE_ROUNDS"))
		helperMust(err)
		pid := os.Getpid()
		for range n {
			helperMust(testproc.SetDisposition(syscall.SIGUSR2, testproc.SigIgn))
			helperMust(syscall.Kill(pid, syscall.SIGUSR2))
			helperMust(testproc.SetDisposition(syscall.SIGUSR2, testproc.SigDfl))
		}
		ready()
		return 0
	}
}

// TestHistorySigactionBurst: 2,000 rounds of SIG_IGN then SIG_DFL are
// 2,000 changes that make SIGUSR2 fatal, every one an event, none lost
// (the ring holds them). It also logs what the sigaction program costs
// per run (bpf_stats), the figure the kernel matrix's guests give, since
// this build machine cannot attach it: under qemu's emulation the ns are
// inflated, so compare them with on_generate's in the same guest.
func TestHistorySigactionBurst(t *testing.T) {
	const rounds = 2000
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		t.Fatalf("enabling bpf_stats: %v", err)
	}
	defer stats.Close()
	// Only SIGUSR2 and the barrier's SIGWINCH: this test process traces
	// itself (no HideSelf, the barrier needs its own signals), and under
	// qemu on 6.12 its readers were preempted with SIGURG often enough
	// (15,000 in 14 s, each an event that kept them busy) to fill the ring.
	tr, col := startTracer(t, Options{Signals: []int{int(syscall.SIGUSR2), int(syscall.SIGWINCH)}, History: HistoryFatal, NoDeliver: true, NoExit: true})
	requireSigactionHistory(t, tr)
	from := barrier(t, col, 0)
	h := spawn(t, "sigactionburst", withEnv("SIGTRACE_ROUNDS="+strconv.Itoa(rounds)))
	pid := h.pid()
	h.wait(t)
	deadline := time.Now().Add(waitTimeout())
	for len(changesOf(col, from, pid)) < rounds && time.Now().Before(deadline) {
		col.waitChange(100 * time.Millisecond)
	}
	barrier(t, col, from)
	got := changesOf(col, from, pid)
	var n int
	for _, e := range got {
		if e.Sig == int(syscall.SIGUSR2) && e.Disposition.Cause == CauseSigaction && e.Disposition.From.Disposition == DispIgnore &&
			e.Disposition.To.Disposition == DispDefault && e.Disposition.Fatal {
			n++
		}
	}
	if st, err := tr.Stats(); err == nil && st.Dropped() > 0 {
		t.Errorf("%d records dropped (%+v); what else the tracer saw:%s", st.Dropped(), st, whoElse(col, from, pid))
	}
	if n != rounds || len(got) != rounds {
		t.Fatalf("%d changes of SIGUSR2 ignore -> default (of %d events), want %d", n, len(got), rounds)
	}
	for _, p := range []struct {
		name string
		prog *ebpf.Program
	}{{"on_sigaction_fentry", tr.objs.OnSigactionFentry}, {"on_sigaction_kprobe", tr.objs.OnSigactionKprobe}, {"on_generate", tr.objs.OnGenerate}} {
		if p.prog == nil {
			continue
		}
		if s, err := p.prog.Stats(); err == nil && s.RunCount > 0 {
			t.Logf("bpf_stats %s: %d runs, %d ns per run", p.name, s.RunCount, s.Runtime.Nanoseconds()/int64(s.RunCount))
		}
	}
}
