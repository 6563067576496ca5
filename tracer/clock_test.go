package tracer

import (
	"testing"
	"time"
)

// fakeClocks is a machine whose wall clock is CLOCK_BOOTTIME plus offset;
// each boot reading advances boot time by step[i] (a reader preempted
// between two readings sees a long step), each wall reading by 1 ns.
type fakeClocks struct {
	boot   int64
	offset int64
	steps  []int64
	i      int
}

func (f *fakeClocks) readBoot() int64 {
	d := int64(100)
	if f.i < len(f.steps) {
		d = f.steps[f.i]
	}
	f.i++
	f.boot += d
	return f.boot
}

func (f *fakeClocks) readWall() int64 { f.boot++; return f.boot + f.offset }

func (f *fakeClocks) clock() wallClock {
	return wallClock{boot: f.readBoot, wall: f.readWall}
}

// TestClockTightestPair: of the boot/wall/boot readings, the pair of boot
// readings closest together brackets the wall reading; a preempted
// reading (a wide pair) does not skew the offset.
func TestClockTightestPair(t *testing.T) {
	const offset = 1_700_000_000_000_000_000
	for _, tc := range []struct {
		name   string
		steps  []int64 // boot advance per reading: b1, b2 of try 1, b1, b2 of try 2, ...
		spread int64
		maxErr int64
	}{
		{"all tight", []int64{10, 10, 10, 10, 10, 10, 10, 10, 10, 10}, 11, 6},
		// Try 1 is preempted for 5 ms between its wall reading and
		// its second boot reading: its midpoint would be 2.5 ms off.
		{"first preempted", []int64{10, 5_000_000, 10, 10, 10, 10, 10, 10, 10, 10}, 11, 6},
		// Every try but the 4th is preempted in the same place.
		{"only one clean", []int64{10, 3e6, 10, 2e6, 10, 4e6, 10, 20, 10, 1e6}, 21, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeClocks{boot: 5e9, offset: offset, steps: tc.steps}
			c := f.clock()
			c.sync(time.Now())
			if c.spread != tc.spread {
				t.Errorf("spread %d ns, want %d", c.spread, tc.spread)
			}
			if e := c.offset - offset; e < -tc.maxErr || e > tc.maxErr {
				t.Errorf("offset off by %d ns, want within %d", e, tc.maxErr)
			}
			if f.i != 2*clockTries {
				t.Errorf("%d boot readings, want %d", f.i, 2*clockTries)
			}
		})
	}
}

// TestClockStep: a wall clock stepped 18.6 s back (the VM of the issue)
// shifts the events stamped after the next measurement, and only until
// then: the reader measures again once the offset is clockResync old.
func TestClockStep(t *testing.T) {
	f := &fakeClocks{boot: 40e9, offset: 1_700_000_000e9}
	c := f.clock()
	start := time.Now()
	c.sync(start)
	event := uint64(83e9) // an event 43 s into the trace

	before := c.at(event)
	if want := time.Unix(0, 1_700_000_000e9+83e9); before.Sub(want).Abs() > time.Microsecond {
		t.Fatalf("before the step: %v, want %v", before, want)
	}

	f.offset -= 18_600_000_000 // settimeofday(), or the hypervisor
	c.tick(start.Add(clockResync / 2))
	if got := c.at(event); !got.Equal(before) {
		t.Errorf("measured again before clockResync: %v, want %v still", got, before)
	}
	reads := f.i
	c.tick(start.Add(clockResync))
	if f.i == reads {
		t.Fatal("no measurement once the offset was clockResync old")
	}
	after := c.at(event)
	if d := before.Sub(after) - 18600*time.Millisecond; d.Abs() > time.Microsecond {
		t.Errorf("after the step the event moved by %v, want 18.6s earlier (off by %v)", before.Sub(after), d)
	}
	if got := c.bootTime(); got.Sub(time.Unix(0, f.offset)).Abs() > time.Microsecond {
		t.Errorf("bootTime %v, want %v", got, time.Unix(0, f.offset))
	}
	// The next measurement is again clockResync after this one.
	reads = f.i
	c.tick(start.Add(clockResync + clockResync/2))
	if f.i != reads {
		t.Errorf("measured again %v after the last measurement", clockResync/2)
	}
}

// TestDecoderFollowsClock: events decoded after a re-measurement carry the
// new offset (the decoder asks the clock, it keeps no copy).
func TestDecoderFollowsClock(t *testing.T) {
	f := &fakeClocks{boot: 1e9, offset: 1_700_000_000e9}
	dec := NewDecoder()
	dec.clock = f.clock()
	dec.clock.sync(time.Now())
	pk, pkd := pkillEvent()
	pk.TsNs = 2e9
	raw := rawSample(t, pk, &pkd, 0)
	var ev Event
	if err := dec.Decode(raw, &ev); err != nil {
		t.Fatal(err)
	}
	first := ev.Time
	f.offset += 3_000_000 // the 3 ms two tracers disagreed by
	dec.clock.sync(time.Now())
	if err := dec.Decode(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if d := ev.Time.Sub(first); (d - 3*time.Millisecond).Abs() > time.Microsecond {
		t.Errorf("after a 3 ms step the same stamp moved by %v", d)
	}
	if ev.bootNs != 2e9 {
		t.Errorf("bootNs %d, want the record's stamp 2e9", ev.bootNs)
	}
}

// TestClockReal: on this machine, the offset converts a CLOCK_BOOTTIME
// reading to within a few microseconds of time.Now() read around it, and
// measuring it allocates nothing.
func TestClockReal(t *testing.T) {
	c := newWallClock()
	t.Logf("boot/wall/boot bracket: %v", time.Duration(c.spread))
	if c.spread <= 0 || time.Duration(c.spread) > 10*time.Millisecond {
		t.Errorf("spread %v: the boot clock readings are not back to back", time.Duration(c.spread))
	}
	for i := 0; i < 100; i++ {
		w1 := time.Now()
		b := bootNs()
		w2 := time.Now()
		got := c.at(uint64(b))
		// The offset is exact to within its spread; a preempted test
		// loop widens [w1, w2], never narrows it.
		slack := time.Duration(c.spread) + 50*time.Microsecond
		if got.Before(w1.Add(-slack)) || got.After(w2.Add(slack)) {
			t.Fatalf("CLOCK_BOOTTIME %d converts to %v, outside [%v, %v] ± %v",
				b, got.Format(time.RFC3339Nano), w1.Format(time.RFC3339Nano), w2.Format(time.RFC3339Nano), slack)
		}
	}
	if a := testing.AllocsPerRun(100, func() { c.sync(time.Now()) }); a != 0 {
		t.Errorf("a measurement allocates %.0f times", a)
	}
	if a := testing.AllocsPerRun(100, func() { c.tick(time.Now()) }); a != 0 {
		t.Errorf("a tick allocates %.0f times", a)
	}
}

func TestParseTimensBoot(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"monotonic           0         0\nboottime            0         0\n", 0},
		{"monotonic      -3600         0\nboottime       86400 500000000\n", 86400_500_000_000},
		{"boottime          -5 -250\n", -5_000_000_250},
		{"", 0},
		{"boottime x y\n", 0},
	} {
		if got := parseTimensBoot(tc.in); got != tc.want {
			t.Errorf("parseTimensBoot(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
