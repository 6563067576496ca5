package tracer

import (
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/signals"
)

// Events as the decoder fills them, for the re-raise table's logic.

var rrT0 = time.Unix(1_800_000_000, 0)

func rrAt(d time.Duration) time.Time { return rrT0.Add(d) }

func rrProc(pid uint32, name string) Process {
	p := Process{PID: pid, TID: pid, HasUID: true}
	copy(p.Comm[:], name)
	return p
}

var (
	rrApp   = rrProc(100, "goapp")
	rrOther = rrProc(200, "otherapp")
	rrPkill = func() Process {
		p := rrProc(50, "pkill")
		p.Argv = []byte("pkill\x00-HUP\x00goapp\x00")
		p.Ancestry = []Ancestor{{PID: 49, Comm: [16]byte{'s', 'h'}}}
		return p
	}()
	rrKill = rrProc(60, "kill")
)

// rrGen: sender sends sig to target, which has disp for it.
func rrGen(at time.Duration, sig int, code int32, sender, target Process, disp Disposition) Event {
	ev := Event{
		Type:     TypeGenerate,
		Time:     rrAt(at),
		Sig:      sig,
		Code:     code,
		Target:   target,
		Generate: Generate{From: From{Sender: sender, DetailID: uint64(sender.PID)}, Setup: Setup{Disposition: disp, DefaultAction: signals.DefaultAction(sig)}},
	}
	if disp == DispHandler {
		ev.Generate.Handler = 0x4567
	}
	return ev
}

func rrKernel(at time.Duration, sig int, target Process) Event {
	ev := rrGen(at, sig, signals.SIKernel, Process{}, target, DispHandler)
	ev.Generate.KernelSender, ev.Generate.KernelReason, ev.Generate.DetailID = true, "timer expired (alarm/setitimer)", 0
	return ev
}

func rrDeliver(at time.Duration, sig int, target Process, disp Disposition) Event {
	return Event{
		Type:    TypeDeliver,
		Time:    rrAt(at),
		Sig:     sig,
		Target:  target,
		Scope:   ScopeThread,
		Deliver: Deliver{Setup: Setup{Disposition: disp, DefaultAction: signals.DefaultAction(sig)}},
	}
}

// rrExit: target died of sig; the kernel joined killer (code) to it.
func rrExit(at time.Duration, sig int, code int32, killer, target Process) Event {
	return Event{
		Type:   TypeExit,
		Time:   rrAt(at),
		Sig:    sig,
		Code:   code,
		Target: target,
		Exit: Exit{
			KillerKnown: true,
			Killer:      From{Sender: killer, DetailID: 0},
			Setup:       Setup{DefaultAction: signals.DefaultAction(sig)},
		},
	}
}

func with(ev Event, f func(*Event)) Event { f(&ev); return ev }

const (
	hup  = 1
	usr1 = 10
	term = 15
	alrm = 14
	chld = 17
)

func TestReraiseTable(t *testing.T) {
	tkill, user := int32(signals.SITKill), int32(signals.SIUser)
	cases := []struct {
		name   string
		events []Event
		// What the last event must carry: the original sender's pid
		// (0: none), or a kernel original.
		wantPID    uint32
		wantKernel bool
	}{
		{"Go runtime: pkill's SIGHUP, delivered, re-raised with tgkill", []Event{
			rrGen(0, hup, user, rrPkill, rrApp, DispHandler),
			rrDeliver(time.Millisecond, hup, rrApp, DispHandler),
			rrGen(2*time.Millisecond, hup, tkill, rrApp, rrApp, DispHandler),
		}, 50, false},
		{"the second re-raise (after SIG_DFL) names it too", []Event{
			rrGen(0, hup, user, rrPkill, rrApp, DispHandler),
			rrGen(2*time.Millisecond, hup, tkill, rrApp, rrApp, DispHandler),
			rrGen(3*time.Millisecond, hup, tkill, rrApp, rrApp, DispDefault),
		}, 50, false},
		{"the exit's own killer was the process: the original replaces it", []Event{
			rrGen(0, hup, user, rrPkill, rrApp, DispHandler),
			rrGen(3*time.Millisecond, hup, tkill, rrApp, rrApp, DispDefault),
			rrExit(4*time.Millisecond, hup, tkill, rrApp, rrApp),
		}, 50, false},
		{"C style: kill(getpid()), SI_USER", []Event{
			rrGen(0, term, user, rrKill, rrApp, DispHandler),
			rrGen(time.Second, term, user, rrApp, rrApp, DispDefault),
		}, 60, false},
		{"sigqueue to itself, SI_QUEUE", []Event{
			rrGen(0, term, user, rrKill, rrApp, DispHandler),
			rrGen(time.Second, term, signals.SIQueue, rrApp, rrApp, DispDefault),
		}, 60, false},
		{"another thread of the process re-raises", []Event{
			rrGen(0, term, user, rrKill, rrApp, DispHandler),
			rrGen(time.Second, term, tkill, rrApp.withTID(101), rrApp, DispDefault),
		}, 60, false},
		{"kernel original: SIGALRM from a timer", []Event{
			rrKernel(0, alrm, rrApp),
			rrGen(time.Millisecond, alrm, user, rrApp, rrApp, DispDefault),
		}, 0, true},
		{"kernel original, exit", []Event{
			rrKernel(0, alrm, rrApp),
			rrExit(time.Millisecond, alrm, user, rrApp, rrApp),
		}, 0, true},
		{"a later original replaces an earlier one", []Event{
			rrGen(0, hup, user, rrKill, rrApp, DispHandler),
			rrGen(time.Millisecond, hup, user, rrPkill, rrApp, DispHandler),
			rrGen(2*time.Millisecond, hup, tkill, rrApp, rrApp, DispDefault),
		}, 50, false},
		{"a merged one (already pending) does not replace the one delivered", []Event{
			rrGen(0, hup, user, rrPkill, rrApp, DispHandler),
			with(rrGen(time.Millisecond, hup, user, rrKill, rrApp, DispHandler), func(e *Event) { e.Generate.Result = ResultAlreadyPending }),
			rrGen(2*time.Millisecond, hup, tkill, rrApp, rrApp, DispDefault),
		}, 50, false},
		{"within the window of the delivery, though not of the send", []Event{
			with(rrGen(0, term, user, rrKill, rrApp, DispHandler), func(e *Event) { e.Generate.Blocked = true }),
			rrDeliver(9*time.Second, term, rrApp, DispHandler),
			rrGen(15*time.Second, term, user, rrApp, rrApp, DispDefault),
		}, 60, false},
		{"a later delivery (the re-raise's own) does not move the window", []Event{
			rrGen(0, term, user, rrKill, rrApp, DispHandler),
			rrDeliver(time.Millisecond, term, rrApp, DispHandler),
			rrGen(2*time.Millisecond, term, user, rrApp, rrApp, DispHandler),
			rrDeliver(8*time.Second, term, rrApp, DispHandler),
			rrGen(ReraiseWindow+2*time.Millisecond, term, user, rrApp, rrApp, DispDefault),
		}, 0, false},

		// Not re-raises.
		{"a signal to itself that nobody sent before", []Event{
			rrGen(0, usr1, tkill, rrApp, rrApp, DispHandler),
		}, 0, false},
		{"a self-sent one is no original", []Event{
			rrGen(0, usr1, tkill, rrApp, rrApp, DispHandler),
			rrGen(time.Millisecond, usr1, tkill, rrApp, rrApp, DispDefault),
		}, 0, false},
		{"the original went to another process", []Event{
			rrGen(0, hup, user, rrPkill, rrOther, DispHandler),
			rrGen(time.Millisecond, hup, tkill, rrApp, rrApp, DispDefault),
		}, 0, false},
		{"another signal", []Event{
			rrGen(0, hup, user, rrPkill, rrApp, DispHandler),
			rrGen(time.Millisecond, term, tkill, rrApp, rrApp, DispDefault),
		}, 0, false},
		{"past the window", []Event{
			rrGen(0, hup, user, rrPkill, rrApp, DispHandler),
			rrDeliver(time.Millisecond, hup, rrApp, DispHandler),
			rrGen(ReraiseWindow+2*time.Millisecond, hup, tkill, rrApp, rrApp, DispDefault),
		}, 0, false},
		{"past the window, exit", []Event{
			rrGen(0, hup, user, rrPkill, rrApp, DispHandler),
			rrExit(ReraiseWindow+time.Millisecond, hup, tkill, rrApp, rrApp),
		}, 0, false},
		{"the original met the default action: it killed by itself", []Event{
			rrGen(0, hup, user, rrPkill, rrApp, DispDefault),
			rrGen(time.Millisecond, hup, tkill, rrApp, rrApp, DispDefault),
		}, 0, false},
		{"the original was ignored by the kernel", []Event{
			with(rrGen(0, hup, user, rrPkill, rrApp, DispHandler), func(e *Event) { e.Generate.Result = ResultIgnored }),
			rrGen(time.Millisecond, hup, tkill, rrApp, rrApp, DispDefault),
		}, 0, false},
		{"a signal whose default does not kill is never re-raised to die", []Event{
			rrGen(0, chld, user, rrKill, rrApp, DispHandler),
			rrGen(time.Millisecond, chld, user, rrApp, rrApp, DispHandler),
		}, 0, false},
		{"a kernel-made signal on itself (SIGPIPE from a write) is no re-raise", []Event{
			rrGen(0, 13, user, rrKill, rrApp, DispHandler),
			with(rrGen(time.Millisecond, 13, user, rrApp, rrApp, DispDefault), func(e *Event) {
				e.Generate.KernelSender, e.Generate.KernelReason = true, "broken pipe: write with no reader"
			}),
		}, 0, false},
		{"a kernel code on a self-send is no re-raise", []Event{
			rrGen(0, hup, user, rrPkill, rrApp, DispHandler),
			rrGen(time.Millisecond, hup, signals.SIKernel, rrApp, rrApp, DispDefault),
		}, 0, false},
		{"an exit killed by another process is left alone", []Event{
			rrGen(0, hup, user, rrPkill, rrApp, DispHandler),
			rrExit(time.Millisecond, hup, user, rrKill, rrApp),
		}, 60, false},
		{"a death forgets the process (its pid may come back)", []Event{
			rrGen(0, hup, user, rrPkill, rrApp, DispHandler),
			rrGen(0, term, user, rrPkill, rrApp, DispHandler),
			rrExit(time.Millisecond, hup, user, rrKill, rrApp),
			rrGen(2*time.Millisecond, term, tkill, rrApp, rrApp, DispDefault),
		}, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newReraises()
			var last Event
			for i := range c.events {
				last = c.events[i]
				r.observe(&last)
			}
			var gotPID uint32
			var gotKernel bool
			switch last.Type {
			case TypeGenerate:
				if o := last.Generate.ReraiseOf; o != nil {
					gotPID, gotKernel = o.Sender.PID, o.KernelSender
				}
			case TypeExit:
				gotPID, gotKernel = last.Exit.Killer.Sender.PID, last.Exit.Killer.KernelSender
				if gotPID == last.Target.PID && !gotKernel {
					gotPID = 0 // still the process itself
				}
				// Marked exactly when the killer was replaced.
				in := c.events[len(c.events)-1]
				replaced := in.Exit.Killer.Sender.PID == in.Target.PID && (gotKernel || gotPID != 0)
				if via := last.Exit.KillerVia == KillerReraise; via != replaced {
					t.Errorf("killer_via %s, killer replaced: %v", last.Exit.KillerVia, replaced)
				}
			}
			if gotPID != c.wantPID || gotKernel != c.wantKernel {
				t.Errorf("original pid %d kernel %v, want pid %d kernel %v", gotPID, gotKernel, c.wantPID, c.wantKernel)
			}
		})
	}
}

func (p Process) withTID(tid uint32) Process { p.TID = tid; return p }

// The exit takes everything of the original: its code, its sender's
// detail (copied: the decoder reuses the event's buffers), what it met.
func TestReraiseExitTakesOriginal(t *testing.T) {
	r := newReraises()
	argv := append([]byte(nil), rrPkill.Argv...)
	anc := append([]Ancestor(nil), rrPkill.Ancestry...)
	orig := rrGen(0, hup, signals.SIUser, rrPkill, rrApp, DispHandler)
	orig.Generate.Sender.Argv, orig.Generate.Sender.Ancestry = argv, anc
	orig.Generate.ArgvTruncated = true
	r.observe(&orig)
	for i := range argv {
		argv[i] = 'X' // the decoder's next record
	}
	anc[0].PID = 7

	exit := rrExit(time.Millisecond, hup, signals.SITKill, rrApp, rrApp)
	exit.Scope = ScopeProcess
	r.observe(&exit)
	switch {
	case exit.Exit.KillerVia != KillerReraise:
		t.Errorf("killer_via %s", exit.Exit.KillerVia)
	case exit.Code != signals.SIUser:
		t.Errorf("code %d, want the original's SI_USER", exit.Code)
	case string(exit.Exit.Killer.Sender.Argv) != string(rrPkill.Argv) || len(exit.Exit.Killer.Sender.Ancestry) != 1 || exit.Exit.Killer.Sender.Ancestry[0].PID != 49:
		t.Errorf("killer detail %q %v, want pkill's as it was sent", exit.Exit.Killer.Sender.Argv, exit.Exit.Killer.Sender.Ancestry)
	case exit.Exit.Killer.DetailID != orig.Generate.DetailID || !exit.Exit.Killer.ArgvTruncated:
		t.Errorf("detail id %d truncated %v, want %d true", exit.Exit.Killer.DetailID, exit.Exit.Killer.ArgvTruncated, orig.Generate.DetailID)
	case exit.Exit.Disposition != DispHandler || exit.Exit.Handler != 0x4567:
		t.Errorf("disposition %s %#x, want the handler the original met", exit.Exit.Disposition, exit.Exit.Handler)
	case exit.Sig != hup || exit.Target.PID != rrApp.PID:
		t.Errorf("exit of %d by %d changed", exit.Target.PID, exit.Sig)
	}
	if len(r.index) != 0 {
		t.Errorf("%d entries left after the death", len(r.index))
	}
}

// Detail is copied only when the DetailID changes, and a new one is.
func TestReraiseDetailByID(t *testing.T) {
	r := newReraises()
	ev := rrGen(0, hup, signals.SIUser, rrPkill, rrApp, DispHandler)
	r.observe(&ev)
	same := ev
	same.Generate.Sender.Argv = []byte("stale\x00") // same ID: the decoder's slot, as sent
	r.observe(&same)
	re := rrGen(time.Millisecond, hup, signals.SITKill, rrApp, rrApp, DispDefault)
	r.observe(&re)
	if re.Generate.ReraiseOf == nil || string(re.Generate.ReraiseOf.Sender.Argv) != string(rrPkill.Argv) {
		t.Fatalf("argv after a same-ID original: %v", re.Generate.ReraiseOf)
	}
	other := rrGen(2*time.Millisecond, hup, signals.SIUser, rrKill, rrApp, DispHandler)
	other.Generate.Sender.Argv = []byte("kill\x00-HUP\x00100\x00")
	r.observe(&other)
	re = rrGen(3*time.Millisecond, hup, signals.SITKill, rrApp, rrApp, DispDefault)
	r.observe(&re)
	if re.Generate.ReraiseOf == nil || string(re.Generate.ReraiseOf.Sender.Argv) != string(other.Generate.Sender.Argv) || len(re.Generate.ReraiseOf.Sender.Ancestry) != 0 {
		t.Fatalf("after a new ID: %+v", re.Generate.ReraiseOf)
	}
}

// TestReraiseBounded: past MaxReraiseTracked the oldest entries go first.
func TestReraiseBounded(t *testing.T) {
	r := newReraises()
	for i := 0; i < MaxReraiseTracked+10; i++ {
		ev := rrGen(0, hup, signals.SIUser, rrPkill, rrProc(uint32(1000+i), "d"), DispHandler)
		r.observe(&ev)
	}
	if len(r.index) != MaxReraiseTracked {
		t.Fatalf("%d entries, want %d", len(r.index), MaxReraiseTracked)
	}
	for _, c := range []struct {
		i    int
		kept bool
	}{{0, false}, {9, false}, {10, true}, {MaxReraiseTracked + 9, true}} {
		p := rrProc(uint32(1000+c.i), "d")
		re := rrGen(time.Millisecond, hup, signals.SITKill, p, p, DispDefault)
		r.observe(&re)
		if (re.Generate.ReraiseOf != nil) != c.kept {
			t.Errorf("process %d: remembered %v, want %v", c.i, re.Generate.ReraiseOf != nil, c.kept)
		}
	}
}

// TestReraiseAllocs: a handled signal from another process (every event
// of a ping-pong), its delivery, a re-raise and a death allocate nothing
// once the table has grown, also when the sender's detail changes.
func TestReraiseAllocs(t *testing.T) {
	r := newReraises()
	orig := rrGen(0, usr1, signals.SIUser, rrPkill, rrApp, DispHandler)
	del := rrDeliver(time.Microsecond, usr1, rrApp, DispHandler)
	re := rrGen(2*time.Microsecond, usr1, signals.SITKill, rrApp, rrApp, DispDefault)
	exit := rrExit(3*time.Microsecond, usr1, signals.SITKill, rrApp, rrApp)
	id := uint64(1)
	warm := func() {
		o, d, x, e := orig, del, re, exit
		id++
		o.Generate.DetailID = id
		r.observe(&o)
		r.observe(&d)
		r.observe(&x)
		if x.Generate.ReraiseOf == nil {
			t.Fatal("no re-raise")
		}
		r.observe(&e)
		if e.Exit.KillerVia != KillerReraise {
			t.Fatal("exit not joined")
		}
	}
	warm()
	if allocs := testing.AllocsPerRun(1000, warm); allocs != 0 {
		t.Errorf("%.1f allocations per signal, want 0", allocs)
	}
}

// BenchmarkReraiseHandled: the table's cost on a ping-pong's events, a
// handled SIGUSR1 from another process and its delivery.
func BenchmarkReraiseHandled(b *testing.B) {
	r := newReraises()
	orig := rrGen(0, usr1, signals.SIUser, rrPkill, rrApp, DispHandler)
	del := rrDeliver(time.Microsecond, usr1, rrApp, DispHandler)
	b.ReportAllocs()
	for b.Loop() {
		r.observe(&orig)
		r.observe(&del)
	}
}

// Clone owns the original's detail: the table reuses its entries.
func TestCloneOwnsReraiseOf(t *testing.T) {
	r := newReraises()
	orig := rrGen(0, hup, signals.SIUser, rrPkill, rrApp, DispHandler)
	r.observe(&orig)
	re := rrGen(time.Millisecond, hup, signals.SITKill, rrApp, rrApp, DispDefault)
	r.observe(&re)
	c := re.Clone()
	re.Generate.ReraiseOf.Sender.Argv[0] = 'X'
	re.Generate.ReraiseOf.Sender.Ancestry[0].PID = 7
	re.Generate.ReraiseOf.Sender.PID = 8
	if o := c.Generate.ReraiseOf; o == re.Generate.ReraiseOf || string(o.Sender.Argv) != string(rrPkill.Argv) || o.Sender.Ancestry[0].PID != 49 || o.Sender.PID != 50 {
		t.Errorf("the clone shares the table's entry: %+v", o)
	}
}
