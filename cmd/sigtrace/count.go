package main

import (
	"time"

	"github.com/sigtrace/sigtrace/tracer"
)

// countGrace bounds how long, after the Nth signal, --count waits for the
// rows that tell what became of the signals it counted (a blocked signal
// may never be delivered).
const countGrace = 500 * time.Millisecond

// maxOpenStories is how many counted signals --count remembers while it
// waits for their deliver or exit rows; older ones are forgotten (their
// rows before the Nth signal were printed anyway).
const maxOpenStories = 64

// signalCounter implements --count N the way tcpdump -c N counts packets:
// it counts signals, that is generate rows shown. Once the Nth is shown,
// no further signal is printed, but the rows that belong to the signals
// counted (the delivery, the SIGKILL a fatal one turns into, the death,
// a pending report) still print until each counted signal's story is
// complete or countGrace has passed; then the trace ends.
type signalCounter struct {
	limit int
	n     int
	// Which of a signal's later rows the filters show at all.
	deliverRows, exitRows bool

	open  [maxOpenStories]story // ring of the latest unfinished stories
	first int                   // index of the oldest in open
	nOpen int
}

// story is a counted signal still waiting for the row that completes it.
type story struct {
	pid     uint32 // target process (tgid)
	sig     int
	endExit bool // a fatal signal ends with the exit row, others with their delivery
}

func newSignalCounter(limit int, f *traceFlags) *signalCounter {
	return &signalCounter{
		limit: limit,
		// --failed shows generate rows only; --fatal shows a delivery
		// only as the SIGKILL of a dying group, which belongs to a
		// fatal story; --no-deliver none.
		deliverRows: !f.failed && !f.fatal && !f.noDeliver,
		exitRows:    !f.failed,
	}
}

// full reports whether the Nth signal was shown.
func (c *signalCounter) full() bool { return c.n >= c.limit }

// admit is called for each event the filters let through, in order. show
// says whether to print it; done, that the trace is complete after it.
func (c *signalCounter) admit(ev *tracer.Event) (show, done bool) {
	switch ev.Type {
	case tracer.TypeLost:
		return true, false // never hidden
	case tracer.TypeGenerate:
		if c.full() {
			return false, c.nOpen == 0
		}
		c.n++
		c.start(ev)
		return true, c.full() && c.nOpen == 0
	}
	belongs := c.finish(ev)
	if !c.full() {
		return true, false
	}
	return belongs, c.nOpen == 0
}

// start remembers a counted signal whose story has rows still to come.
func (c *signalCounter) start(ev *tracer.Event) {
	// The kernel did not queue it (ignored, merged, dropped): nothing
	// more comes of it. lose_info is queued, without its siginfo.
	if ev.Generate.Result != tracer.ResultDelivered && ev.Generate.Result != tracer.ResultLoseInfo {
		return
	}
	s := story{pid: ev.Target.PID, sig: ev.Sig, endExit: ev.Generate.Fatal || ev.Generate.FatalWhenUnblocked}
	if s.endExit && !c.exitRows || !s.endExit && !c.deliverRows {
		return // its last row would not be shown
	}
	if c.nOpen == maxOpenStories {
		c.first = (c.first + 1) % maxOpenStories
		c.nOpen--
	}
	c.open[(c.first+c.nOpen)%maxOpenStories] = s
	c.nOpen++
}

// finish reports whether ev belongs to a counted signal's story, and
// forgets the stories it completes.
func (c *signalCounter) finish(ev *tracer.Event) bool {
	belongs := false
	for i := 0; i < c.nOpen; i++ {
		j := (c.first + i) % maxOpenStories
		s := c.open[j]
		if s.pid != ev.Target.PID {
			continue
		}
		ends := false
		switch ev.Type {
		case tracer.TypeDeliver:
			// A fatal default action reaches every thread as SIGKILL
			// (complete_signal() in kernel/signal.c).
			if ev.Sig == s.sig || s.endExit && ev.Deliver.GroupExit && ev.Deliver.ExitSignal == s.sig {
				belongs = true
				ends = !s.endExit
			}
		case tracer.TypeExit:
			// The process is gone: whatever it was sent ends here.
			belongs, ends = true, true
		case tracer.TypePending:
			belongs = belongs || ev.Sig == s.sig
		}
		if ends {
			c.remove(i)
			i--
			if ev.Type == tracer.TypeDeliver {
				break // one delivery takes one signal
			}
		}
	}
	return belongs
}

// remove drops the i-th oldest open story, keeping the order of the rest.
func (c *signalCounter) remove(i int) {
	for k := i; k < c.nOpen-1; k++ {
		c.open[(c.first+k)%maxOpenStories] = c.open[(c.first+k+1)%maxOpenStories]
	}
	c.nOpen--
}
