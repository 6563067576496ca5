package main

import (
	"testing"

	"github.com/sigtrace/sigtrace/tracer"
)

func cGen(pid uint32, sig int, r tracer.Result, fatal bool) tracer.Event {
	ev := tracer.Event{Type: tracer.TypeGenerate, Sig: sig, Target: tracer.Process{PID: pid, TID: pid}, Generate: tracer.Generate{Result: r}}
	ev.Generate.Fatal = fatal
	return ev
}

func cDel(pid uint32, sig int) tracer.Event {
	return tracer.Event{Type: tracer.TypeDeliver, Sig: sig, Target: tracer.Process{PID: pid, TID: pid}}
}

// cKill is the SIGKILL a fatal default action becomes in each thread.
func cKill(pid, tid uint32, cause int) tracer.Event {
	return tracer.Event{Type: tracer.TypeDeliver, Sig: 9, Target: tracer.Process{PID: pid, TID: tid}, Deliver: tracer.Deliver{GroupExit: true, ExitSignal: cause}}
}

func cExit(pid uint32, sig int) tracer.Event {
	return tracer.Event{Type: tracer.TypeExit, Sig: sig, Target: tracer.Process{PID: pid, TID: pid}}
}

const (
	hup  = 1
	usr1 = 10
	usr2 = 12
	term = 15
)

var (
	queued  = tracer.ResultDelivered
	ignored = tracer.ResultIgnored
	merged  = tracer.ResultAlreadyPending
)

// step is one event and what --count must do with it.
type step struct {
	ev         tracer.Event
	show, done bool
}

func TestSignalCounter(t *testing.T) {
	blockedFatal := cGen(30, term, queued, false)
	blockedFatal.Generate.Blocked, blockedFatal.Generate.FatalWhenUnblocked = true, true
	pending := tracer.Event{Type: tracer.TypePending, Sig: term, Target: tracer.Process{PID: 30, TID: 30}}
	lost := tracer.Event{Type: tracer.TypeLost, Lost: tracer.Lost{Count: 7}}

	for _, tc := range []struct {
		name  string
		limit int
		flags traceFlags
		steps []step
	}{
		{"three signals, not three rows (the issue's --count 3)", 3, traceFlags{}, []step{
			{cGen(10, usr1, queued, false), true, false},
			{cDel(10, usr1), true, false},
			{cGen(10, usr1, queued, false), true, false},
			{cDel(10, usr1), true, false},
			{cGen(10, usr1, queued, false), true, false},
			{cDel(10, usr1), true, true},
		}},
		{"a fatal signal: its SIGKILLs and the death follow", 1, traceFlags{}, []step{
			{cGen(20, hup, queued, true), true, false},
			{cKill(20, 20, hup), true, false},
			{cKill(20, 21, hup), true, false},
			{cExit(20, hup), true, true},
		}},
		{"not queued: nothing more comes of it", 1, traceFlags{}, []step{
			{cGen(10, usr1, ignored, false), true, true},
		}},
		{"merged with a pending one", 2, traceFlags{}, []step{
			{cGen(10, usr1, queued, false), true, false},
			{cGen(10, usr1, merged, false), true, false},
			{cDel(10, usr1), true, true},
		}},
		{"signals after the Nth are not shown, nor their rows", 1, traceFlags{}, []step{
			{cGen(10, usr1, queued, false), true, false},
			{cGen(11, usr1, queued, false), false, false},
			{cDel(11, usr1), false, false},
			{cGen(12, hup, queued, true), false, false},
			{cExit(12, hup), false, false},
			{cDel(10, usr1), true, true},
		}},
		{"a counted signal delivered after the Nth was sent (pkill matching two)", 2, traceFlags{}, []step{
			{cGen(10, hup, queued, false), true, false},
			{cGen(11, hup, queued, false), true, false},
			{cDel(11, hup), true, false},
			{cDel(10, hup), true, true},
		}},
		{"rows of other signals before the Nth are shown", 2, traceFlags{}, []step{
			{cGen(10, usr1, queued, false), true, false},
			{cDel(99, usr2), true, false},
			{cExit(98, term), true, false},
			{cDel(10, usr1), true, false},
			{cGen(10, usr2, ignored, false), true, true},
		}},
		{"a blocked signal fatal once unblocked waits for the death; pending rows belong", 1, traceFlags{}, []step{
			{blockedFatal, true, false},
			{pending, true, false},
			{cDel(30, usr1), false, false},
			{cExit(30, term), true, true},
		}},
		{"a death ends every story of the process", 2, traceFlags{}, []step{
			{cGen(10, usr1, queued, false), true, false},
			{cGen(10, usr2, queued, false), true, false},
			{cExit(10, 9), true, true},
		}},
		{"lost rows are never hidden", 1, traceFlags{}, []step{
			{cGen(10, usr1, queued, false), true, false},
			{lost, true, false},
			{cDel(10, usr1), true, true},
		}},
		{"--failed shows generate rows only: nothing to wait for", 2, traceFlags{failed: true}, []step{
			{cGen(10, usr1, merged, false), true, false},
			{cGen(10, usr1, queued, false), true, true},
		}},
		{"--no-deliver: a handled signal is complete when sent, a fatal one at the death", 2, traceFlags{noDeliver: true}, []step{
			{cGen(10, usr1, queued, false), true, false},
			{cGen(20, hup, queued, true), true, false},
			{cExit(20, hup), true, true},
		}},
		{"--fatal: the SIGKILLs and the death", 1, traceFlags{fatal: true}, []step{
			{cGen(20, hup, queued, true), true, false},
			{cKill(20, 20, hup), true, false},
			{cExit(20, hup), true, true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newSignalCounter(tc.limit, &tc.flags)
			for i, s := range tc.steps {
				ev := s.ev
				show, done := c.admit(&ev)
				if show != s.show || done != s.done {
					t.Fatalf("step %d (%v %d to %d): show %v done %v, want show %v done %v",
						i, ev.Type, ev.Sig, ev.Target.PID, show, done, s.show, s.done)
				}
			}
		})
	}
}

// The stories waited for are bounded, and admitting allocates nothing.
func TestSignalCounterBounded(t *testing.T) {
	c := newSignalCounter(1000, &traceFlags{})
	for pid := uint32(1); pid <= 200; pid++ {
		ev := cGen(pid, usr1, queued, false)
		c.admit(&ev)
	}
	if c.nOpen != maxOpenStories {
		t.Errorf("%d open stories, want at most %d", c.nOpen, maxOpenStories)
	}
	// The newest are kept: pid 200's delivery still closes its story.
	d := cDel(200, usr1)
	c.admit(&d)
	if c.nOpen != maxOpenStories-1 {
		t.Errorf("the delivery of the newest signal closed nothing (%d open)", c.nOpen)
	}
	g, del := cGen(5, usr1, queued, false), cDel(5, usr1)
	if a := testing.AllocsPerRun(100, func() { c.admit(&g); c.admit(&del) }); a != 0 {
		t.Errorf("admit allocates %.0f times", a)
	}
}
