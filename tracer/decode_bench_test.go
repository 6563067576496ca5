package tracer

import "testing"

// The decoder alone, for the two generate records a storm from one sender
// produces: the first with the sender's detail, the rest referring to it.
func BenchmarkDecodeGenerate(b *testing.B) {
	ev, d := pkillEvent()
	full := rawSample(b, ev, &d, 0)
	ev.Flags = ev.Flags&^uint32(sigtraceEventFlagsF_DETAIL) | uint32(sigtraceEventFlagsF_DETAIL_SAME)
	same := rawSample(b, ev, nil, 0)
	for _, bc := range []struct {
		name string
		raw  []byte
	}{{"detail", full}, {"same", same}} {
		b.Run(bc.name, func(b *testing.B) {
			dec := NewDecoder()
			var out Event
			if err := dec.Decode(full, &out); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := dec.Decode(bc.raw, &out); err != nil {
					b.Fatal(err)
				}
			}
			if len(out.Generate.Sender.Argv) == 0 {
				b.Fatal("no argv decoded")
			}
		})
	}
}
