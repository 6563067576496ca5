package agg

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/fields"
	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/tracer"
)

func comm(s string) (c [16]byte) {
	copy(c[:], s)
	return c
}

func gen(sender, target string, sig int) *tracer.Event {
	return &tracer.Event{
		Type:     tracer.TypeGenerate,
		Sig:      sig,
		Time:     time.Unix(1, 0),
		Target:   tracer.Process{PID: 2, TID: 2, Comm: comm(target)},
		Generate: tracer.Generate{From: tracer.From{Sender: tracer.Process{PID: 1, TID: 1, Comm: comm(sender)}}},
	}
}

func del(target string, latency int64) *tracer.Event {
	return &tracer.Event{
		Type:    tracer.TypeDeliver,
		Sig:     12,
		Time:    time.Unix(1, 0),
		Target:  tracer.Process{PID: 2, TID: 2, Comm: comm(target)},
		Deliver: tracer.Deliver{HasLatency: latency >= 0, LatencyNs: latency},
	}
}

func mustKeys(t testing.TB, s string) []*fields.Field {
	ks, err := ParseKeys(s)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ keys, hist, want string }{
		{"sender.com", "", `unknown field "sender.com"; did you mean sender.comm`},
		{"comm", "", "did you mean killer.comm, sender.comm, target.comm"},
		{"time", "", "a time differs for every event"},
		{"sender.argv", "", "a list of string cannot be a key"},
		{"sig,signal.num", "", "signal.num given twice"},
		{"sig,", "", "an empty field name"},
		{"", "latency", `unknown field "latency"; did you mean latency_ns`},
		{"", "signal.name", "a histogram needs a number"},
	} {
		var err error
		if tc.keys != "" {
			_, err = ParseKeys(tc.keys)
		} else {
			_, err = ParseHist(tc.hist)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q/%q: error %v, want one line with %q", tc.keys, tc.hist, err, tc.want)
		}
	}
	for _, ok := range []string{"sig", "sender.comm,target.comm", "type,verdict,fatal", "latency_ns", "target.pid"} {
		if _, err := ParseKeys(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestCountTable(t *testing.T) {
	a := New(mustKeys(t, "sender.comm,target.comm,sig"), nil)
	for range 3 {
		a.Add(gen("kill", "app", 12))
	}
	a.Add(gen("pkill", "my app", 1))
	a.Add(del("app", 5)) // no sender: "-"
	a.Add(gen("a\x1b[2Jb", "app", 15))
	end := time.Date(2024, 1, 1, 10, 11, 12, 0, time.UTC)
	got := string(a.AppendTable(nil, a.Snapshot(0, false), end))
	want := `10:11:12 count by sender.comm, target.comm, signal.num
@[kill, app, 12]: 3
@[-, app, 12]: 1
@[pkill, "my app", 1]: 1
@["a\x1b[2Jb", app, 15]: 1
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := string(a.AppendTable(nil, a.Snapshot(2, false), time.Time{})); !strings.HasPrefix(got, "count by") || strings.Count(got, "\n") != 3 {
		t.Errorf("--top 2:\n%s", got)
	}
}

func TestCountJSON(t *testing.T) {
	a := New(mustKeys(t, "sender.comm,target.pid,fatal"), nil)
	a.Add(gen("kill", "app", 12))
	a.Add(gen("kill", "app", 12))
	a.Add(del("app", 1))
	end := time.Date(2024, 1, 1, 10, 11, 12, 5, time.UTC)
	got := string(a.AppendJSON(nil, a.Snapshot(0, true), end, end))
	want := `{"time":"2024-01-01T10:11:12.000000005Z","type":"count","keys":{"sender.comm":"kill","target.pid":2,"fatal":false},"count":2,"interval_end":"2024-01-01T10:11:12.000000005Z"}
{"time":"2024-01-01T10:11:12.000000005Z","type":"count","keys":{"sender.comm":null,"target.pid":2,"fatal":null},"count":1,"interval_end":"2024-01-01T10:11:12.000000005Z"}
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
	// The reset started a new interval.
	if rows := a.Snapshot(0, false); len(rows) != 0 {
		t.Errorf("after reset: %v", rows)
	}
	if got := string(a.AppendTable(nil, nil, time.Time{})); got != "count by sender.comm, target.pid, fatal\n(no events)\n" {
		t.Errorf("empty: %q", got)
	}
}

func TestHist(t *testing.T) {
	h, err := ParseHist("latency_ns")
	if err != nil {
		t.Fatal(err)
	}
	a := New(nil, h)
	for _, v := range []int64{0, 1, 2, 3, 1500, 1600, 2048, 1 << 20} {
		a.Add(del("app", v))
	}
	a.Add(del("app", -1))        // no latency: not in the histogram
	a.Add(gen("kill", "app", 1)) // no latency_ns at all
	rows := a.Snapshot(0, false)
	if len(rows) != 1 || rows[0].Count != 8 {
		t.Fatalf("rows %+v", rows)
	}
	got := string(a.AppendTable(nil, rows, time.Time{}))
	for _, want := range []string{
		"histogram of latency_ns\n@latency_ns:\n",
		"[0]                1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n",
		"[2, 4)             2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n",
		"[1K, 2K)           2 |",
		"[2K, 4K)           1 |",
		"[512K, 1M)         0 |                                                    |\n",
		"[1M, 2M)           1 |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	js := string(a.AppendJSON(nil, rows, time.Unix(5, 0), time.Time{}))
	if !strings.Contains(js, `"count":8,"hist":{"field":"latency_ns","buckets":[{"min":0,"max":0,"count":1},{"min":1,"max":1,"count":1},{"min":2,"max":3,"count":2},{"min":1024,"max":2047,"count":2},{"min":2048,"max":4095,"count":1},{"min":1048576,"max":2097151,"count":1}]}}`) {
		t.Errorf("json: %s", js)
	}

	// One histogram per key.
	k := New(mustKeys(t, "target.comm"), h)
	k.Add(del("app", 10))
	k.Add(del("db", 10))
	k.Add(del("db", 100))
	got = string(k.AppendTable(nil, k.Snapshot(0, false), time.Time{}))
	if !strings.HasPrefix(got, "histogram of latency_ns by target.comm\n@latency_ns[db]:\n") || !strings.Contains(got, "@latency_ns[app]:\n[8, 16) ") {
		t.Errorf("per key:\n%s", got)
	}
}

func TestBucket(t *testing.T) {
	for _, tc := range []struct {
		v    uint64
		want int
	}{{0, 0}, {1, 1}, {2, 2}, {3, 2}, {4, 3}, {1023, 10}, {1024, 11}, {1<<64 - 1, 64}} {
		if got := Bucket(tc.v); got != tc.want {
			t.Errorf("Bucket(%d) = %d, want %d", tc.v, got, tc.want)
		}
		lo, hi := BucketRange(tc.want)
		if tc.v < lo || (tc.v >= hi && tc.want != 64) {
			t.Errorf("%d not in bucket %d's [%d, %d)", tc.v, tc.want, lo, hi)
		}
	}
	for i, want := range map[int]string{0: "[0]", 1: "[1]", 2: "[2, 4)", 11: "[1K, 2K)", 20: "[512K, 1M)", 21: "[1M, 2M)", 64: "[8E, 16E)"} {
		if got := bucketLabel(i); got != want {
			t.Errorf("label %d = %q, want %q", i, got, want)
		}
	}
}

// TestAddKey: counts made elsewhere (a BPF map) go in through the same
// key encoding and come out the same.
func TestAddKey(t *testing.T) {
	a := New(mustKeys(t, "sender.comm,sig"), nil)
	a.Add(gen("kill", "app", 12))
	var kb KeyBuilder
	kb.Str([]byte("kill"))
	kb.Int(12)
	if err := a.AddKey(kb.Bytes(), 41); err != nil {
		t.Fatal(err)
	}
	if err := a.AddKey([]byte{1, 2}, 1); err == nil {
		t.Error("a bad key was taken")
	}
	rows := a.Snapshot(0, false)
	if len(rows) != 1 || rows[0].Count != 42 {
		t.Errorf("rows %+v", rows)
	}
}

// TestRenderer: events are counted, not written; lost records are
// written as they come.
func TestRenderer(t *testing.T) {
	a := New(mustKeys(t, "sig"), nil)
	r := Renderer{A: a, Base: output.NewJSON()}
	if b := r.AppendRow(nil, gen("kill", "app", 12)); len(b) != 0 {
		t.Errorf("an event was written: %s", b)
	}
	if b := r.AppendRow(nil, &tracer.Event{Type: tracer.TypeLost, Time: time.Unix(1, 0), Lost: tracer.Lost{Count: 3}}); !strings.Contains(string(b), `"type":"lost"`) {
		t.Errorf("lost record: %q", b)
	}
	if rows := a.Snapshot(0, false); len(rows) != 1 || rows[0].Count != 1 {
		t.Errorf("rows %+v", rows)
	}
}

// TestAddDoesNotAllocate: once its key has been seen, counting an event
// (and filling its histogram) allocates nothing.
func TestAddDoesNotAllocate(t *testing.T) {
	h, _ := ParseHist("latency_ns")
	for _, a := range []*Aggregator{New(mustKeys(t, "sender.comm,target.comm,sig,type"), nil), New(mustKeys(t, "target.comm"), h)} {
		evs := []*tracer.Event{gen("kill", "app", 12), del("app", 5000)}
		for _, ev := range evs {
			a.Add(ev)
		}
		if n := testing.AllocsPerRun(100, func() {
			for _, ev := range evs {
				a.Add(ev)
			}
		}); n != 0 {
			t.Errorf("%v allocs per event", n)
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	a := New(mustKeys(b, "sender.comm,target.comm,signal.name"), nil)
	ev := gen("kill", "app", 12)
	b.ReportAllocs()
	for b.Loop() {
		a.Add(ev)
	}
}

func BenchmarkAddHist(b *testing.B) {
	h, _ := ParseHist("latency_ns")
	a := New(mustKeys(b, "target.comm"), h)
	ev := del("app", 12345)
	b.ReportAllocs()
	for b.Loop() {
		a.Add(ev)
	}
}
