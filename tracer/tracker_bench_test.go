package tracer

import (
	"testing"
	"time"
)

// BenchmarkTrackerPair: one queued signal generated, then delivered, as in
// a ping-pong (the tracker joins them for latency_ns).
func BenchmarkTrackerPair(b *testing.B) {
	k := newTracker(0)
	now := time.Now()
	gen := Event{
		Type:     TypeGenerate,
		Time:     now,
		bootNs:   5e9,
		Sig:      10,
		Scope:    ScopeProcess,
		Target:   Process{PID: 4242, TID: 4242},
		Generate: Generate{Result: ResultDelivered},
	}
	del := Event{Type: TypeDeliver, Time: now.Add(time.Microsecond), bootNs: 5e9 + 1000, Sig: 10, Target: Process{PID: 4242, TID: 4242}}
	b.ReportAllocs()
	for b.Loop() {
		k.observe(&gen)
		k.observe(&del)
		if !del.Deliver.HasLatency {
			b.Fatal("not joined")
		}
	}
}
