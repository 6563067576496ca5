package tracer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf/ringbuf"
)

// Handler receives each event. The Event is reused for the next record:
// copy what must outlive the call. Returning an error ends Run with it.
type Handler func(*Event) error

// Tick is called after every poll deadline (at least every Poll while
// events flow, and before the reader waits idle), so a caller can flush
// buffered output.
type Tick func() error

// maxIdle bounds an idle reader's wait for a wake-up: the most a record
// whose wake-up was missed waits, and how often an idle tracer wakes for
// nothing. The programs decide the wake-up once the record is in the ring
// (bpf/sigtrace.c submit), so only a store the BPF side's CPU has not yet
// made visible could still miss it: rare enough for 5 s, and each idle
// wake-up costs a few context switches and ~0.3 ms of CPU (make bench's
// idle rows: 1 s made it 4.5 wake-ups and 0.3 ms a second).
const maxIdle = 5 * time.Second

// Run reads events until ctx is done, the tracer is closed, or h fails. On
// cancellation it stops drained (lifecycle.go): it detaches the programs,
// waits for the runs in progress to end, and reads everything they handed
// over, so nothing recorded before Ctrl-C is lost, and the last lost count
// is final; then it returns nil. Lost-event counts are delivered as
// TypeLost events as soon as they are noticed.
func (t *Tracer) Run(ctx context.Context, h Handler, tick Tick) error {
	var (
		rec      ringbuf.Record
		ev       Event
		lastLost uint64 // Stats.Dropped at the last lost event
		lastShed uint64
		lastMiss uint64
		lastSeen = time.Now()
		seq      uint64
		draining bool
		stopped  time.Time // when the drained stop began
	)
	checkLost := func() error {
		st, err := t.Stats()
		if err != nil {
			return err
		}
		if d := st.Dropped(); d > lastLost {
			lost := Event{Type: TypeLost, Time: time.Now(), Lost: Lost{Count: d - lastLost, Shed: st.Shed - lastShed, Missed: st.Missed - lastMiss}}
			lastLost, lastShed, lastMiss = d, st.Shed, st.Missed
			return h(&lost)
		}
		return nil
	}

	// A stop interrupts a wait with no deadline (ErrFlushed); the loop
	// then drains.
	stop := context.AfterFunc(ctx, func() { _ = t.rd.Flush() })
	defer stop()

	quiet := false // the last poll period read nothing
	read := false  // something was read since the last deadline
	armed := false // a poll deadline is set for this period
	for {
		asleep := false
		switch {
		case draining:
		case ctx.Err() != nil:
			// Detach first: from here on the ring only empties.
			// Then read what is in it without waiting: with a
			// deadline in the past, ReadInto returns every record
			// up to the end of the ring before the deadline error.
			draining, stopped = true, time.Now()
			t.stopKernel()
			t.rd.SetDeadline(stopped)
		case quiet && t.sleep != nil:
			// Idle: wait for the next record (which wakes us, see
			// sleepFlag) or the tracker's next sweep, not a timer.
			t.sleep.set()
			if t.rd.AvailableBytes() > 0 {
				t.sleep.clear()
				t.rd.SetDeadline(time.Now().Add(t.poll))
				armed = true
				break
			}
			asleep = true
			wake := t.trk.nextSweep()
			if t.sum != nil {
				// The summary of what the rate limit counted is due
				// whether or not records come.
				if due := t.sum.due(time.Now()); wake.IsZero() || due.Before(wake) {
					wake = due
				}
			}
			// Never longer than maxIdle: a record committed in the
			// instant between the program's look at the flag and the
			// reader's (see wakeup_flags in bpf/sigtrace.c) wakes
			// nobody, and must not wait for the next record.
			if limit := time.Now().Add(maxIdle); wake.IsZero() || wake.After(limit) {
				wake = limit
			}
			t.rd.SetDeadline(wake)
			armed = false
		case !armed:
			// Once per period, not per record: while records flow
			// the deadline passes unnoticed, and the first wait after
			// it ends the period.
			t.rd.SetDeadline(time.Now().Add(t.poll))
			armed = true
		}
		err := t.rd.ReadInto(&rec)
		if asleep {
			t.sleep.clear()
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, ringbuf.ErrFlushed):
			if draining && !t.drained(stopped) {
				// The kernel counted records not read yet: read on.
				t.rd.SetDeadline(time.Now().Add(time.Millisecond))
				continue
			}
			quiet, read, armed = !read, false, false
			t.dec.clock.tick(time.Now())
			if err := checkLost(); err != nil {
				return err
			}
			if err := t.trk.sweep(time.Now(), h); err != nil {
				return err
			}
			// Draining, the programs are detached and quiesced: the
			// final summary, read once the ring is empty, counts all
			// that the rate limit summarised.
			if err := t.summarise(time.Now(), h, draining); err != nil {
				return err
			}
			if tick != nil {
				if err := tick(); err != nil {
					return err
				}
			}
			if draining {
				return nil
			}
			lastSeen = time.Now()
			continue
		case errors.Is(err, ringbuf.ErrClosed):
			return nil
		case err != nil:
			return fmt.Errorf("reading ring buffer: %w", err)
		}
		read, quiet = true, false
		t.read++
		if asleep {
			// The first record after an idle wait of any length: the
			// offset may be older than clockResync.
			t.dec.clock.tick(time.Now())
		}

		if err := t.dec.Decode(rec.RawSample, &ev); err != nil {
			return err
		}
		t.gom.mark(&ev)
		t.gom.forget(&ev)
		t.trk.observe(&ev)
		t.rr.observe(&ev)
		if err := h(&ev); err != nil {
			return err
		}
		// An exec's record: one event per signal whose handler it reset.
		for ev.NextReset() != 0 {
			if err := h(&ev); err != nil {
				return err
			}
		}
		// A busy ring never hits the deadline: look at the lost counter
		// and flush on time anyway. The clock is read every 64 records,
		// not per record.
		if seq++; seq%64 != 0 {
			continue
		}
		if now := time.Now(); now.Sub(lastSeen) >= t.poll {
			lastSeen = now
			t.dec.clock.tick(now)
			if err := checkLost(); err != nil {
				return err
			}
			if err := t.trk.sweep(now, h); err != nil {
				return err
			}
			if err := t.summarise(now, h, false); err != nil {
				return err
			}
			if tick != nil {
				if err := tick(); err != nil {
					return err
				}
			}
		}
	}
}
