package tracer

import (
	"testing"
	"time"
)

// TestTrackerJoinAllocs: tracking a signal and matching its delivery
// allocates nothing once the map has grown (the ping-pong hot path).
func TestTrackerJoinAllocs(t *testing.T) {
	k := newTracker(0)
	now := time.Now()
	gen := Event{
		Type:     TypeGenerate,
		Sig:      10,
		Time:     now,
		bootNs:   5e9,
		Target:   Process{PID: 100, TID: 100},
		Generate: Generate{Result: ResultDelivered},
	}
	del := Event{Type: TypeDeliver, Sig: 10, Time: now.Add(time.Microsecond), bootNs: 5e9 + 1000,
		Target: Process{PID: 100, TID: 100}, Scope: ScopeThread}
	allocs := testing.AllocsPerRun(1000, func() {
		k.observe(&gen)
		d := del
		k.observe(&d)
		if !d.Deliver.HasLatency || d.Deliver.LatencyNs != 1000 {
			t.Fatalf("latency %d (known %v), want 1000", d.Deliver.LatencyNs, d.Deliver.HasLatency)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per signal, want 0", allocs)
	}
	if k.n != 0 {
		t.Errorf("%d entries left after matching every delivery", k.n)
	}
}

// TestTrackerBounded: signals that are never delivered stop being tracked
// at MaxTracked, and an exit forgets a process's.
func TestTrackerBounded(t *testing.T) {
	k := newTracker(0)
	for i := 0; i < MaxTracked+10; i++ {
		k.observe(&Event{Type: TypeGenerate, Sig: 10, Target: Process{PID: uint32(i + 1), TID: uint32(i + 1)}, Generate: Generate{Result: ResultDelivered}})
	}
	if k.n != MaxTracked || k.untracked != 10 {
		t.Errorf("tracked %d, untracked %d; want %d and 10", k.n, k.untracked, MaxTracked)
	}
	k.observe(&Event{Type: TypeExit, Target: Process{PID: 1}})
	if k.n != MaxTracked-1 {
		t.Errorf("after an exit: %d tracked, want %d", k.n, MaxTracked-1)
	}
}

// TestTrackerClockStep: latency_ns and a pending signal's age come from the
// kernel's CLOCK_BOOTTIME stamps, so a wall clock stepped between the
// generate and the deliver (the reader then re-measures the offset and
// stamps the deliver 18.6 s earlier) leaves them true.
func TestTrackerClockStep(t *testing.T) {
	k := newTracker(time.Second)
	boot := int64(100e9)
	k.boot = func() int64 { return boot }
	now := time.Now()
	k.observe(&Event{
		Type:     TypeGenerate,
		Sig:      10,
		Time:     now,
		bootNs:   90e9,
		Target:   Process{PID: 100, TID: 100},
		Generate: Generate{Result: ResultDelivered},
	})
	d := Event{Type: TypeDeliver, Sig: 10, Time: now.Add(-18600 * time.Millisecond), bootNs: 90e9 + 2500,
		Target: Process{PID: 100, TID: 100}, Scope: ScopeThread}
	k.observe(&d)
	if !d.Deliver.HasLatency || d.Deliver.LatencyNs != 2500 {
		t.Errorf("latency across a clock step: %d (known %v), want 2500", d.Deliver.LatencyNs, d.Deliver.HasLatency)
	}

	// A signal's age in the sweep is also boot-clock time: 0.5 s after
	// its generate it is young (kept) even though the wall clock moved an
	// hour; 2 s after, past the 1 s period, the sweep looks it up (and,
	// with no such process under procRoot, forgets it at the sweep after:
	// its delivery may still be in the ring).
	k.procRoot = t.TempDir()
	k.observe(&Event{
		Type:     TypeGenerate,
		Sig:      12,
		Time:     now,
		bootNs:   90e9,
		Target:   Process{PID: 200, TID: 200},
		Generate: Generate{Result: ResultDelivered},
	})
	noEvents := func(ev *Event) error { t.Errorf("unexpected %v event", ev.Type); return nil }
	boot = 90e9 + int64(500*time.Millisecond)
	if err := k.sweep(now.Add(time.Hour), noEvents); err != nil {
		t.Fatal(err)
	}
	if k.n != 1 {
		t.Errorf("a signal 0.5 s old by the boot clock was swept (tracked %d)", k.n)
	}
	boot = 90e9 + int64(2*time.Second)
	if err := k.sweep(now.Add(2*time.Hour), noEvents); err != nil {
		t.Fatal(err)
	}
	if q := k.queues[makeKey(200, 12, false)]; k.n != 1 || !q.first.gone {
		t.Errorf("a signal 2 s old by the boot clock was not looked at (tracked %d, gone %v)", k.n, q.first.gone)
	}
	if err := k.sweep(now.Add(3*time.Hour), noEvents); err != nil {
		t.Fatal(err)
	}
	if k.n != 0 {
		t.Errorf("a signal found gone was not forgotten at the next sweep (tracked %d)", k.n)
	}
}

// TestTrackerDeliveryBehindSweep: a sweep that finds a signal no longer
// pending (delivered, its deliver event still in the ring behind the
// reader) keeps it until the next sweep, so that deliver event still gets
// its latency. The arm64 guest's TestPendingUninterruptible lost it so.
func TestTrackerDeliveryBehindSweep(t *testing.T) {
	k := newTracker(300 * time.Millisecond)
	k.procRoot = t.TempDir() // no such process: "not pending"
	boot := int64(100e9)
	k.boot = func() int64 { return boot }
	now := time.Now()
	k.observe(&Event{
		Type:     TypeGenerate,
		Sig:      10,
		Time:     now,
		bootNs:   boot,
		Target:   Process{PID: 300, TID: 301},
		Scope:    ScopeThread,
		Generate: Generate{Result: ResultDelivered},
	})
	boot += int64(time.Second)
	if err := k.sweep(now.Add(time.Second), func(*Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	d := Event{Type: TypeDeliver, Sig: 10, Time: now.Add(time.Second), bootNs: boot - int64(time.Millisecond),
		Target: Process{PID: 300, TID: 301}, Scope: ScopeThread}
	k.observe(&d)
	if !d.Deliver.HasLatency || time.Duration(d.Deliver.LatencyNs) != time.Second-time.Millisecond {
		t.Errorf("latency %v (known %v), want %v", time.Duration(d.Deliver.LatencyNs), d.Deliver.HasLatency, time.Second-time.Millisecond)
	}
	if k.n != 0 {
		t.Errorf("tracked %d after the delivery", k.n)
	}
}
