package fields

import "testing"

// BenchmarkAppendText reads every field a generate event may carry, as a
// template or count key would: 0 allocs/op.
func BenchmarkAppendText(b *testing.B) {
	ev := full()
	fs := Of(ev.Type)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range fs {
			if f.On(&ev) {
				buf = f.AppendText(buf[:0], &ev)
			}
		}
	}
}
