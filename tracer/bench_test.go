package tracer_test

import (
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/tracer"
)

// The hot path of `sigtrace trace`: one ring-buffer sample decoded into a
// reused Event and rendered into a reused buffer. The budget is 0
// allocations per event.

func sample(b *testing.B, name string) []byte {
	for _, s := range tracer.RawSamples(b) {
		if s.Name == name {
			return s.Raw
		}
	}
	b.Fatalf("no sample %q", name)
	return nil
}

func BenchmarkDecodeJSON(b *testing.B) {
	raw := sample(b, "generate with detail")
	dec := tracer.NewDecoder()
	var ev tracer.Event
	r := output.NewJSON()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if err := dec.Decode(raw, &ev); err != nil {
			b.Fatal(err)
		}
		buf = r.AppendRow(buf[:0], &ev)
	}
}

func BenchmarkDecodeTable(b *testing.B) {
	raw := sample(b, "generate with detail")
	dec := tracer.NewDecoder()
	var ev tracer.Event
	tb := &output.Table{Color: true}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if err := dec.Decode(raw, &ev); err != nil {
			b.Fatal(err)
		}
		buf = tb.AppendRow(buf[:0], &ev)
	}
}

func BenchmarkDecode(b *testing.B) {
	raw := sample(b, "generate with detail")
	dec := tracer.NewDecoder()
	var ev tracer.Event
	b.ReportAllocs()
	for b.Loop() {
		if err := dec.Decode(raw, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeRenderZeroAllocs holds the budget for every kind of record,
// with both renderers (a benchmark only reports; this fails).
func TestDecodeRenderZeroAllocs(t *testing.T) {
	dec := tracer.NewDecoder()
	renderers := []struct {
		name string
		r    output.Renderer
	}{
		{"json", output.JSON{}},
		{"json (cached)", output.NewJSON()},
		{"table", &output.Table{}},
		{"table+color", &output.Table{Color: true}},
	}
	for _, s := range tracer.RawSamples(t) {
		for _, r := range renderers {
			var ev tracer.Event
			buf := make([]byte, 0, 4096)
			allocs := testing.AllocsPerRun(200, func() {
				if err := dec.Decode(s.Raw, &ev); err != nil {
					t.Fatal(err)
				}
				buf = r.r.AppendRow(buf[:0], &ev)
			})
			if allocs != 0 {
				t.Errorf("%s, %s: %v allocations per event, want 0", s.Name, r.name, allocs)
			}
			if len(buf) == 0 {
				t.Errorf("%s, %s: rendered nothing", s.Name, r.name)
			}
		}
	}
	// Lost records are built by the reader, not decoded.
	lost := tracer.Event{Type: tracer.TypeLost, Time: time.Now(), Lost: tracer.Lost{Count: 12345}}
	for _, r := range renderers {
		buf := make([]byte, 0, 4096)
		if allocs := testing.AllocsPerRun(200, func() { buf = r.r.AppendRow(buf[:0], &lost) }); allocs != 0 {
			t.Errorf("lost, %s: %v allocations per event, want 0", r.name, allocs)
		}
	}
}
