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
	gen := Event{Type: TypeGenerate, Sig: 10, Result: ResultDelivered, Time: now,
		Target: Process{PID: 100, TID: 100}}
	del := Event{Type: TypeDeliver, Sig: 10, Time: now.Add(time.Microsecond),
		Target: Process{PID: 100, TID: 100}, Scope: ScopeThread}
	allocs := testing.AllocsPerRun(1000, func() {
		k.observe(&gen)
		d := del
		k.observe(&d)
		if !d.HasLatency || d.LatencyNs != 1000 {
			t.Fatalf("latency %d (known %v), want 1000", d.LatencyNs, d.HasLatency)
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
		k.observe(&Event{Type: TypeGenerate, Sig: 10, Result: ResultDelivered, Target: Process{PID: uint32(i + 1), TID: uint32(i + 1)}})
	}
	if k.n != MaxTracked || k.untracked != 10 {
		t.Errorf("tracked %d, untracked %d; want %d and 10", k.n, k.untracked, MaxTracked)
	}
	k.observe(&Event{Type: TypeExit, Target: Process{PID: 1}})
	if k.n != MaxTracked-1 {
		t.Errorf("after an exit: %d tracked, want %d", k.n, MaxTracked-1)
	}
}
