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

// Tick is called after every poll deadline (at least every Poll), so a
// caller can flush buffered output while the event rate is low.
type Tick func() error

// Run reads events until ctx is done, the tracer is closed, or h fails. On
// cancellation it drains what the kernel already handed over, so nothing
// recorded before Ctrl-C is lost, then returns nil. Lost-event counts are
// delivered as TypeLost events as soon as they are noticed.
func (t *Tracer) Run(ctx context.Context, h Handler, tick Tick) error {
	var (
		rec      ringbuf.Record
		ev       Event
		lastLost uint64
		lastSeen = time.Now()
		draining bool
	)
	checkLost := func() error {
		st, err := t.Stats()
		if err != nil {
			return err
		}
		if st.Lost > lastLost {
			lost := Event{Type: TypeLost, Time: time.Now(), Lost: st.Lost - lastLost}
			lastLost = st.Lost
			return h(&lost)
		}
		return nil
	}

	for {
		if !draining && ctx.Err() != nil {
			// Read what is already in the ring without waiting.
			draining = true
			t.rd.SetDeadline(time.Now())
		} else if !draining {
			t.rd.SetDeadline(time.Now().Add(t.poll))
		}
		err := t.rd.ReadInto(&rec)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			if err := checkLost(); err != nil {
				return err
			}
			if err := t.trk.sweep(time.Now(), h); err != nil {
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

		if err := t.dec.Decode(rec.RawSample, &ev); err != nil {
			return err
		}
		t.trk.observe(&ev)
		if err := h(&ev); err != nil {
			return err
		}
		// A busy ring never hits the deadline: look at the lost counter
		// and flush on time anyway.
		if now := time.Now(); now.Sub(lastSeen) >= t.poll {
			lastSeen = now
			if err := checkLost(); err != nil {
				return err
			}
			if err := t.trk.sweep(now, h); err != nil {
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
