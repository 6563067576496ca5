package output

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"
	_ "time/tzdata" // zones with DST on any machine
	"unicode/utf8"

	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tracer"
)

// The time cache must make what AppendFormat makes, for every instant and
// zone, in any order: the cache is checked after each call.
func TestTimeCacheMatchesAppendFormat(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	lhi, err := time.LoadLocation("Australia/Lord_Howe") // 30-minute DST
	if err != nil {
		t.Fatal(err)
	}
	zones := []*time.Location{
		time.UTC, time.Local, ny, lhi,
		time.FixedZone("", 0),
		time.FixedZone("IST", 5*3600+30*60),
		time.FixedZone("PDT", -7*3600),
		time.FixedZone("NPT", 5*3600+45*60),
		time.FixedZone("LMT", -(1*60 + 15)), // an offset with seconds
		time.FixedZone("X", -(9*3600 + 30*60 + 7)),
		time.FixedZone("E", 14*3600),
	}
	var times []time.Time
	add := func(ts ...time.Time) { times = append(times, ts...) }
	base := time.Date(2026, 3, 14, 0, 0, 1, 123456789, time.UTC)
	for _, ns := range []int{0, 1, 9, 10, 99, 1000, 123456789, 100000000, 999999999, 500, 7} {
		add(base.Add(time.Duration(ns)), base.Truncate(time.Second).Add(time.Duration(ns)))
	}
	// Second boundaries, forwards and back.
	for d := -3 * time.Nanosecond; d <= 3*time.Nanosecond; d++ {
		add(base.Truncate(time.Second).Add(d), base.Truncate(time.Second).Add(time.Second+d))
	}
	add(base, base.Add(-time.Second), base, base.Add(time.Minute), base.Add(time.Hour), base.Add(24*time.Hour))
	// New York's DST starts 2026-03-08 07:00 UTC and ends 2026-11-01 06:00
	// UTC; Lord Howe's ends 2026-04-05 at 15:00 UTC.
	for _, edge := range []time.Time{
		time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC),
		time.Date(2026, 4, 5, 15, 0, 0, 0, time.UTC),
	} {
		for d := -2 * time.Second; d <= 2*time.Second; d += 250 * time.Millisecond {
			add(edge.Add(d), edge.Add(d-time.Nanosecond), edge.Add(d+time.Nanosecond))
		}
	}
	add(time.Unix(0, 0), time.Unix(-1, 0), time.Unix(-1, 999999999), time.Unix(-86400*365*70, 42),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(-5, 6, 7, 8, 9, 10, 11, time.UTC), time.Date(12345, 6, 7, 8, 9, 10, 11, time.UTC),
		time.Now(), time.Now().Round(0), time.Unix(0, time.Now().UnixNano()))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		// Mostly near each other, as events come, sometimes far.
		if rng.IntN(10) == 0 {
			add(time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)))
		} else {
			add(times[len(times)-1].Add(time.Duration(rng.Int64N(int64(3 * time.Second)))))
		}
	}

	var c timeCache
	check := func(tm time.Time) {
		t.Helper()
		want := string(tm.AppendFormat([]byte("x"), TimeLayout))
		if got := string(c.appendTime([]byte("x"), tm)); got != want {
			t.Fatalf("%v (%s, unix %d.%09d): got %q, want %q", tm, tm.Location(), tm.Unix(), tm.Nanosecond(), got, want)
		}
	}
	for _, tm := range times {
		check(tm)
		check(tm) // from the cache
	}
	for _, z := range zones {
		for _, tm := range times {
			check(tm.In(z))
		}
	}
	for i, tm := range times {
		// The same second in another zone, then back.
		check(tm.In(zones[i%len(zones)]))
		check(tm)
		check(tm.In(zones[(i+3)%len(zones)]))
	}
}

func TestAppendNanos(t *testing.T) {
	nanos := []uint32{0, 1, 10, 42, 100000000, 123456789, 999999999, 5000, 60}
	for p := uint32(1); p < 1e9; p *= 10 {
		nanos = append(nanos, p-1, p, p+1, 2*p, 9*p)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for range 10000 {
		nanos = append(nanos, rng.Uint32N(1e9))
	}
	for _, ns := range nanos {
		want := time.Unix(0, int64(ns)).UTC().Format(".000000000")[1:]
		if got := string(appendNanos(nil, ns)); got != want {
			t.Errorf("appendNanos(%d) = %q, want %q", ns, got, want)
		}
	}
}

// The renderer from NewJSON makes AppendJSON's bytes, event after event.
func TestJSONRendererMatchesAppendJSON(t *testing.T) {
	r := NewJSON()
	for round := range 3 {
		for _, f := range fixtures() {
			want := string(AppendJSON(nil, &f.ev))
			if got := string(r.AppendRow(nil, &f.ev)); got != want {
				t.Errorf("round %d, %s:\n got %s\nwant %s", round, f.name, got, want)
			}
		}
	}
}

func TestJSONRendererZeroAllocs(t *testing.T) {
	r := NewJSON()
	buf := make([]byte, 0, 4096)
	for _, f := range fixtures() {
		if allocs := testing.AllocsPerRun(100, func() { buf = r.AppendRow(buf[:0], &f.ev) }); allocs != 0 {
			t.Errorf("%s: %v allocations per event, want 0", f.name, allocs)
		}
	}
}

// refAppendBytesString and refAppendString are the byte-at-a-time
// escapers the fast ones replaced: the fast ones must say the same.
func refAppendBytesString(b []byte, s []byte) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			b = refAppendByte(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r >= 0x80 && r < 0xa0, r == 0x061c, r >= 0x200b && r <= 0x200f,
			r >= 0x202a && r <= 0x202e, r >= 0x2060 && r <= 0x2069, r == 0xfeff:
			// C1 and the bidi and invisible format characters.
			b = fmt.Appendf(b, `\u%04x`, r)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// refAppendString: a string is escaped as its bytes are (cgroup, unit
// and container names are chosen by users too, not only sigtrace).
func refAppendString(b []byte, s string) []byte { return refAppendBytesString(b, []byte(s)) }

func refAppendByte(b []byte, c byte) []byte {
	switch {
	case c == '"' || c == '\\':
		return append(b, '\\', c)
	case c == '\n':
		return append(b, '\\', 'n')
	case c == '\r':
		return append(b, '\\', 'r')
	case c == '\t':
		return append(b, '\\', 't')
	case c < 0x20 || c == 0x7f:
		return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
	}
	return append(b, c)
}

func checkEscape(t *testing.T, s []byte) {
	t.Helper()
	if got, want := appendBytesString([]byte("x"), s), refAppendBytesString([]byte("x"), s); string(got) != string(want) {
		t.Fatalf("appendBytesString(%q) = %q, want %q", s, got, want)
	}
	if got, want := appendString([]byte("x"), string(s)), refAppendString([]byte("x"), string(s)); string(got) != string(want) {
		t.Fatalf("appendString(%q) = %q, want %q", s, got, want)
	}
}

func TestEscapeMatchesReference(t *testing.T) {
	checkEscape(t, nil)
	for c := range 256 {
		checkEscape(t, []byte{byte(c)})
		for d := range 256 {
			checkEscape(t, []byte{byte(c), byte(d)})
		}
	}
	for _, s := range []string{
		"plain", `"quoted"`, `back\slash`, "tab\there", "new\nline", "cr\rret", "\x01\x1b[31m\x07\x7f",
		"rtl \u202eevil\u202c", "csi \u009b2J", "zero\u200bwidth", "bom \ufeff",
		"bad \xff\xfe end", "truncated \xc3", "overlong \xc0\xaf", "surrogate \xed\xa0\x80",
		"valid é 日本 🙂", "\u2028\u2029", "</script>", "\xf4\x90\x80\x80", "\xef\xbf\xbd", "a\xe6\x97",
	} {
		checkEscape(t, []byte(s))
	}
	// Mostly what needs work, to reach every path from every state.
	alphabet := []byte("ab\"\\\n\r\t\x00\x01\x1f\x7f\x80\xbf\xc0\xc3\xa9\xe6\x97\xa5\xed\xa0\xf0\x9f\x99\x82\xf4\x90\xff ")
	rng := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 0, 64)
	for range 200000 {
		buf = buf[:0]
		for n := rng.IntN(24); n > 0; n-- {
			buf = append(buf, alphabet[rng.IntN(len(alphabet))])
		}
		checkEscape(t, buf)
	}
}

// withDetailID gives each fixture with a sender an ID for its detail, as
// the decoder does: the same sender detail, the same ID.
func withDetailID(fs []namedEvent) []namedEvent {
	ids := map[string]uint64{}
	for i := range fs {
		ev := &fs[i].ev
		if ev.Generate.KernelSender || ev.Type == tracer.TypeLost {
			continue
		}
		key := fmt.Sprintf("%q %v %v", ev.Generate.Sender.Argv, ev.Generate.Sender.Ancestry, ev.Generate.ArgvTruncated)
		if ids[key] == 0 {
			ids[key] = uint64(len(ids)+1) * 1000003
		}
		ev.Generate.DetailID = ids[key]
	}
	return fs
}

func TestJSONDetailCache(t *testing.T) {
	r := NewJSON()
	fs := withDetailID(fixtures())
	for round := range 3 {
		for _, f := range fs {
			uncached := f.ev
			uncached.Generate.DetailID = 0
			want := string(AppendJSON(nil, &uncached))
			if got := string(r.AppendRow(nil, &f.ev)); got != want {
				t.Errorf("round %d, %s:\n got %s\nwant %s", round, f.name, got, want)
			}
		}
	}
}

// What is not detail changes under one DetailID: pid, tid, comm and uid
// are the event's own, also in an exit's killer.
func TestJSONDetailCacheKeepsPerEventFields(t *testing.T) {
	r := NewJSON()
	ev := fixtures()[0].ev
	ev.Generate.DetailID = 42
	r.AppendRow(nil, &ev)
	for i, p := range []struct {
		pid, tid, uid uint32
		hasUID        bool
		comm          string
	}{{1, 2, 3, true, "one"}, {4, 5, 0, false, "two\n"}, {7, 7, 1000, true, "three"}} {
		ev.Generate.Sender.PID, ev.Generate.Sender.TID, ev.Generate.Sender.UID, ev.Generate.Sender.HasUID = p.pid, p.tid, p.uid, p.hasUID
		ev.Generate.Sender.Comm = comm(p.comm)
		ev.Type = tracer.TypeGenerate
		if i == 2 {
			ev.Type, ev.Exit.KillerKnown = tracer.TypeExit, true
		}
		uncached := ev
		uncached.Generate.DetailID = 0
		if got, want := string(r.AppendRow(nil, &ev)), string(AppendJSON(nil, &uncached)); got != want {
			t.Errorf("sender %+v:\n got %s\nwant %s", p, got, want)
		}
	}
}

// IDs that share a slot each render their own detail, in any order.
func TestJSONDetailCacheCollisions(t *testing.T) {
	fs := fixtures()
	senders := []tracer.Event{fs[0].ev, fs[2].ev, fs[3].ev, fs[8].ev} // pkill, bash, kill, deep
	r := NewJSON()
	rng := rand.New(rand.NewPCG(5, 6))
	for range 1000 {
		k := rng.IntN(len(senders))
		ev := senders[k]
		ev.Generate.DetailID = 7 + uint64(k)*detailSlots // all in slot 7
		if rng.IntN(3) == 0 {
			ev.Type, ev.Exit.KillerKnown = tracer.TypeExit, true
		}
		uncached := ev
		uncached.Generate.DetailID = 0
		if got, want := string(r.AppendRow(nil, &ev)), string(AppendJSON(nil, &uncached)); got != want {
			t.Fatalf("sender %d, DetailID %d:\n got %s\nwant %s", k, ev.Generate.DetailID, got, want)
		}
	}
}

// DetailID 0 is no identity: never cached, whatever the sender.
func TestJSONDetailIDZeroNotCached(t *testing.T) {
	fs := fixtures()
	r := NewJSON()
	for _, i := range []int{0, 2, 0, 3, 8, 8, 2} {
		ev := fs[i].ev
		if ev.Generate.DetailID != 0 {
			t.Fatal("fixtures have a DetailID")
		}
		if got, want := string(r.AppendRow(nil, &ev)), string(AppendJSON(nil, &ev)); got != want {
			t.Fatalf("%s:\n got %s\nwant %s", fs[i].name, got, want)
		}
	}
	for i, s := range r.st.details {
		if s.id != 0 || len(s.b) != 0 {
			t.Errorf("slot %d holds DetailID %d: %q", i, s.id, s.b)
		}
	}
}

func TestJSONDetailCacheZeroAllocs(t *testing.T) {
	r := NewJSON()
	buf := make([]byte, 0, 4096)
	for _, f := range withDetailID(fixtures()) {
		if allocs := testing.AllocsPerRun(100, func() { buf = r.AppendRow(buf[:0], &f.ev) }); allocs != 0 {
			t.Errorf("%s: %v allocations per event, want 0", f.name, allocs)
		}
	}
	// Slots that keep changing hands reuse their buffers.
	fs := fixtures()
	a, c := fs[0].ev, fs[8].ev // the deep sender's detail is the larger
	a.Generate.DetailID, c.Generate.DetailID = 3, 3+detailSlots
	buf = r.AppendRow(r.AppendRow(buf[:0], &c), &a)
	if allocs := testing.AllocsPerRun(100, func() {
		buf = r.AppendRow(buf[:0], &a)
		buf = r.AppendRow(buf[:0], &c)
	}); allocs != 0 {
		t.Errorf("colliding IDs: %v allocations per event, want 0", allocs)
	}
	// A new ID every event (a new sender every event) does not allocate
	// either, from the first event on: the decoder gives each F_DETAIL
	// record a new ID.
	// AllocsPerRun rounds down an average: count them all.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, f := range []namedEvent{fs[0], fs[8]} {
		r := NewJSON()
		ev := f.ev
		ev.Generate.DetailID = 1
		buf = r.AppendRow(buf[:0], &ev)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 3 * detailSlots {
			ev.Generate.DetailID++
			buf = r.AppendRow(buf[:0], &ev)
		}
		runtime.ReadMemStats(&after)
		if n := after.Mallocs - before.Mallocs; n != 0 {
			t.Errorf("%s: %d allocations in %d events with new DetailIDs, want 0", f.name, n, 3*detailSlots)
		}
	}
}

func TestAppendUint32(t *testing.T) {
	check := func(v uint32) {
		t.Helper()
		if got, want := string(appendUint32([]byte("x"), v)), "x"+strconv.FormatUint(uint64(v), 10); got != want {
			t.Fatalf("appendUint32(%d) = %q, want %q", v, got, want)
		}
	}
	for v := range uint32(100000) {
		check(v)
	}
	for p := uint32(10); p < 1e9; p *= 10 {
		check(p - 1)
		check(p)
		check(p + 1)
	}
	check(math.MaxUint32)
	check(math.MaxUint32 - 1)
	rng := rand.New(rand.NewPCG(7, 8))
	for range 100000 {
		check(rng.Uint32())
	}
}

func TestSignalJSON(t *testing.T) {
	for sig := -3; sig <= signals.Max+3; sig++ {
		want := `x{"num":` + strconv.Itoa(sig) + `,"name":"` + signals.Name(sig) + `"}`
		if got := string(appendSignal([]byte("x"), sig)); got != want {
			t.Errorf("appendSignal(%d) = %s, want %s", sig, got, want)
		}
	}
}

// The renderer's si_code cache names each (signal, code) as
// signals.LookupCode does, in any order.
func TestLookupCodeCache(t *testing.T) {
	var st jsonState
	rng := rand.New(rand.NewPCG(11, 12))
	codes := []int32{0, -1, -2, -6, -7, -60, -42, 1, 2, 3, 6, 10, 11, 0x80, 0x81, 99}
	for range 20000 {
		sig, code := rng.IntN(signals.Max+3)-1, codes[rng.IntN(len(codes))]
		name, ok := st.lookupCode(sig, code)
		if wname, wok := signals.LookupCode(sig, code); name != wname || ok != wok {
			t.Fatalf("lookupCode(%d, %d) = %q, %v, want %q, %v", sig, code, name, ok, wname, wok)
		}
	}
}
