package output

import (
	"testing"

	"github.com/sigtrace/sigtrace/tracer"
)

// pkillEvent is the first fixture, the shape of the tracer's "generate
// with detail" sample: sender with argv and four ancestors.
func pkillEvent(tb testing.TB) tracer.Event {
	ev := fixtures()[0].ev
	if len(ev.Generate.Sender.Argv) == 0 || len(ev.Generate.Sender.Ancestry) != 4 {
		tb.Fatal("fixture 0 is no longer pkill with its detail")
	}
	return ev
}

func BenchmarkAppendJSON(b *testing.B) {
	ev := pkillEvent(b)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSON(buf[:0], &ev)
	}
}

// The same sender detail every event, as a storm from one sender.
func BenchmarkJSONRenderer(b *testing.B) {
	ev := pkillEvent(b)
	ev.Generate.DetailID = 1
	r := NewJSON()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = r.AppendRow(buf[:0], &ev)
	}
}

// A new DetailID every event: the cache misses each time (a sender first
// seen, or IDs that keep colliding).
func BenchmarkJSONRendererNewDetail(b *testing.B) {
	ev := pkillEvent(b)
	r := NewJSON()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		ev.Generate.DetailID++
		buf = r.AppendRow(buf[:0], &ev)
	}
}
