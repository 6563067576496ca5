package tracer

import (
	"time"

	"github.com/sigtrace/sigtrace/signals"
)

// A re-raise: a process catches a signal whose default kills, cleans up,
// and sends the same signal to itself to die of it with the right wait
// status. The Go runtime does it for SIGHUP, SIGINT and SIGTERM in every
// program that did not ask for them with signal.Notify (runtime/
// signal_unix.go: sighandler -> dieFromSignal -> raise, a tgkill(2) to its
// own thread, first with its handler still installed, then after
// setsig(SIG_DFL)); so do Python for an unhandled KeyboardInterrupt, shells
// and C programs (`signal(sig, SIG_DFL); raise(sig)`). The kernel then
// names the process itself as the sender of the signal it dies of; the
// reraises table below remembers who sent it first.

const (
	// MaxReraiseTracked bounds the (process, signal) pairs remembered as
	// possible originals of a re-raise: each holds a sender's argv and
	// ancestry (~500 bytes), so at most ~2 MB. Past it the oldest entry
	// is reused.
	MaxReraiseTracked = 4096
	// ReraiseWindow is how long after an original signal reached its
	// handler (its deliver event; its generate event when deliveries are
	// not traced) a self-sent one counts as its re-raise. A handler that
	// cleans up for longer before re-raising is reported as its own
	// killer.
	ReraiseWindow = 10 * time.Second
)

// Original is the signal a re-raise passes on, as its generate event
// showed it: who sent it (a process with argv and ancestry, or the
// kernel), with which code, when, and what it met (a handler).
type Original struct {
	Time time.Time
	Code int32
	// From is the original generate event's sender; its DetailID names
	// the sender's argv and ancestry as the event's did.
	From
	Scope       Scope
	Disposition Disposition
	Handler     uint64
}

// KillerVia says how an exit event's killer was found.
type KillerVia uint8

const (
	// KillerDirect: the killer sent the signal the process died of
	// (joined in the kernel).
	KillerDirect KillerVia = iota
	// KillerReraise: the process re-raised the signal it died of; the
	// killer is the sender of the signal its handler caught.
	KillerReraise
)

func (v KillerVia) String() string {
	if v == KillerReraise {
		return "reraise"
	}
	return "direct"
}

// reraiseEntry is one remembered original. Its argv and ancestry live
// here, so Original.Sender's slices point into the entry: entries never
// move (see reraises.chunks).
type reraiseEntry struct {
	key       uint64 // reraiseKey; 0: free
	gen       int64  // wall-clock ns of the original's generate event
	delivered int64  // ... of its first deliver event to a handler; 0: not seen
	orig      Original
	argvLen   int
	ancN      int
	anc       [maxAncestry]Ancestor
	argv      [argvLen]byte
}

const reraiseChunk = 256

// reraises finds re-raises. It runs on the reader's goroutine, after the
// decoder: per (target process, signal) it remembers the last signal from
// another sender or from the kernel that met a handler although its
// default kills. A later generate event in which the process sends itself
// that signal (SI_USER, SI_TKILL or SI_QUEUE) within ReraiseWindow gets
// ReraiseOf; an exit whose kernel-joined killer is the process itself gets
// the original as its killer. Entries go at the process's death by a
// signal, at eviction (FIFO, past MaxReraiseTracked), and are ignored
// once older than the window. Nothing allocates per event once the table
// has grown.
type reraises struct {
	index  map[uint64]uint16 // reraiseKey -> entry number
	chunks [MaxReraiseTracked / reraiseChunk]*[reraiseChunk]reraiseEntry
	used   int      // entries handed out so far (never shrinks)
	free   []uint16 // entries released by an exit
	hand   int      // next entry to evict when all are in use
}

func newReraises() *reraises {
	return &reraises{index: map[uint64]uint16{}, free: make([]uint16, 0, MaxReraiseTracked)}
}

// reraiseKey packs a tgid and a signal (1..64) into one map key, never 0.
func reraiseKey(tgid uint32, sig int) uint64 { return uint64(tgid)<<8 | uint64(uint8(sig)) }

func (r *reraises) entry(i uint16) *reraiseEntry {
	return &r.chunks[int(i)/reraiseChunk][int(i)%reraiseChunk]
}

// processCode: si_codes a process sets when it sends a signal itself
// (kill, tgkill/tkill, sigqueue); the kernel's own are excluded.
func processCode(code int32) bool {
	return code == signals.SIUser || code == signals.SITKill || code == signals.SIQueue
}

// observe updates the table with ev and marks ev when it re-raises (a
// generate event) or dies of (an exit event) a remembered original.
func (r *reraises) observe(ev *Event) {
	switch ev.Type {
	case TypeGenerate:
		if !ev.Generate.DefaultAction.Kills() {
			return
		}
		if ev.Generate.KernelSender || ev.Generate.Sender.PID != ev.Target.PID {
			// Only a signal that reaches a handler can be re-raised;
			// one the kernel did not queue (ignored, merged, dropped)
			// never reaches it.
			if ev.Generate.Disposition == DispHandler && (ev.Generate.Result == ResultDelivered || ev.Generate.Result == ResultLoseInfo) {
				r.remember(ev)
			}
			return
		}
		if !processCode(ev.Code) {
			return
		}
		if e := r.find(ev.Target.PID, ev.Sig, ev.Time); e != nil {
			ev.Generate.ReraiseOf = &e.orig
		}
	case TypeDeliver:
		if ev.Deliver.Disposition != DispHandler || !ev.Deliver.DefaultAction.Kills() {
			return
		}
		// The first delivery after the original is the original's
		// (a standard signal is pending at most once): the handler
		// runs from now, so the window starts here. Later ones (the
		// re-raise's own) do not move it.
		if i, ok := r.index[reraiseKey(ev.Target.PID, ev.Sig)]; ok {
			if e := r.entry(i); e.delivered == 0 {
				e.delivered = ev.Time.UnixNano()
			}
		}
	case TypeExit:
		if ev.Exit.KillerKnown && !ev.Exit.Killer.KernelSender && ev.Exit.Killer.Sender.PID == ev.Target.PID && processCode(ev.Code) {
			if e := r.find(ev.Target.PID, ev.Sig, ev.Time); e != nil {
				o := &e.orig
				ev.Code = o.Code
				ev.Exit.Killer = o.From
				ev.Scope = o.Scope
				ev.Exit.Disposition, ev.Exit.Handler = o.Disposition, o.Handler
				ev.Exit.KillerVia = KillerReraise
			}
		}
		r.forget(ev.Target.PID)
	}
}

// find returns the original that a self-sent sig at time t re-raises, or
// nil. The entry stays: the Go runtime re-raises twice (once through its
// own handler, once more after resetting SIG_DFL), and the exit comes
// after both.
func (r *reraises) find(tgid uint32, sig int, t time.Time) *reraiseEntry {
	i, ok := r.index[reraiseKey(tgid, sig)]
	if !ok {
		return nil
	}
	e := r.entry(i)
	since := max(e.gen, e.delivered)
	if t.UnixNano()-since > int64(ReraiseWindow) {
		return nil
	}
	return e
}

// remember stores ev as the latest possible original for its target and
// signal. The sender's argv and ancestry are copied only when they differ
// from what the entry holds (another DetailID).
func (r *reraises) remember(ev *Event) {
	key := reraiseKey(ev.Target.PID, ev.Sig)
	i, ok := r.index[key]
	if !ok {
		i = r.take()
		r.index[key] = i
	}
	e := r.entry(i)
	e.key = key
	e.gen = ev.Time.UnixNano()
	e.delivered = 0
	o := &e.orig
	if ev.Generate.KernelSender || ev.Generate.DetailID == 0 || ev.Generate.DetailID != o.DetailID {
		e.ancN = copy(e.anc[:], ev.Generate.Sender.Ancestry)
		e.argvLen = copy(e.argv[:], ev.Generate.Sender.Argv)
	}
	*o = Original{
		Time: ev.Time, Code: ev.Code, From: ev.Generate.From,
		Scope: ev.Scope, Disposition: ev.Generate.Disposition, Handler: ev.Generate.Handler,
	}
	o.Sender.Ancestry = e.anc[:e.ancN:e.ancN]
	o.Sender.Argv = e.argv[:e.argvLen:e.argvLen]
	if ev.Generate.KernelSender {
		o.DetailID = 0
	}
}

// take returns a free entry: a released one, a new one, or (all in use)
// the oldest handed out, which is evicted.
func (r *reraises) take() uint16 {
	if n := len(r.free); n > 0 {
		i := r.free[n-1]
		r.free = r.free[:n-1]
		return i
	}
	if r.used < MaxReraiseTracked {
		i := r.used
		if r.chunks[i/reraiseChunk] == nil {
			r.chunks[i/reraiseChunk] = new([reraiseChunk]reraiseEntry)
		}
		r.used++
		return uint16(i)
	}
	i := uint16(r.hand)
	r.hand = (r.hand + 1) % MaxReraiseTracked
	delete(r.index, r.entry(i).key)
	return i
}

// forget drops a process's entries: it died, so nothing of it re-raises.
// Deaths by a signal are rare; a process that exits normally leaves its
// entries to age out of the window and to eviction.
func (r *reraises) forget(tgid uint32) {
	for sig := 1; sig <= signals.Max; sig++ {
		key := reraiseKey(tgid, sig)
		if i, ok := r.index[key]; ok {
			delete(r.index, key)
			r.entry(i).key = 0
			r.free = append(r.free, i)
		}
	}
}
