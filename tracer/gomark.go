package tracer

import (
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/sigtrace/sigtrace/goruntime"
	"github.com/sigtrace/sigtrace/signals"
)

// GoRuntime is what a Go program's runtime does with a signal that met
// its handler: every Go program has one installed for nearly every
// signal, which says nothing about surviving it (package goruntime).
type GoRuntime struct {
	Met    bool             // the target is a Go program and its runtime's handler met the signal
	Action goruntime.Action // what the runtime does, the program not having asked for the signal
	// Notified: the program asked for it with signal.Notify, so the
	// runtime hands it to the program (Action does not apply).
	Notified bool
	// MaskKnown: the runtime's notify mask was read from the program's
	// memory; without it (no symbol table) Action applies unless the
	// program calls signal.Notify for the signal.
	MaskKnown bool
}

// goProcTTL bounds how stale what is known of a process is: an exec makes
// another program of it, a late signal.Notify changes its mask.
const goProcTTL = time.Second

// goRecheck: how often a mask read before a signal was sent is read again
// when it would make that signal fatal (see mark). A program that lacks
// the signal in its mask dies of it, so a re-read finds it gone; this
// bounds the reads for one that survives regardless (a Go library in a C
// program, whose runtime forwards signals).
const goRecheck = time.Millisecond

// maxGoProcs bounds the cache; past it, it starts afresh.
const maxGoProcs = 4096

type goProc struct {
	checked   time.Time
	isGo      bool
	maskKnown bool
	wanted    signals.Set
}

// goMarker judges signals that meet a Go program's handler by the Go
// runtime's rules, on the reader goroutine. Only a generate event that
// met a handler for a signal whose default kills costs a lookup; /proc is
// read at most once per goProcTTL per process.
//
// Since a re-raising program is gone before the reader sees the signal
// that killed it, the processes already running when tracing starts (the
// daemons that matter) are looked at once then, in the background.
type goMarker struct {
	procRoot string
	reads    int        // refreshes done (a test's count; on the reader goroutine or the prescan's)
	mu       sync.Mutex // the prescan fills procs while the reader reads it
	procs    map[uint32]*goProc
	scanned  chan struct{} // closed once the prescan is done
	// quit ends the prescan early (Tracer.Close); started says there is
	// one to wait for.
	quit     chan struct{}
	quitOnce sync.Once
	started  bool
}

func newGoMarker() *goMarker {
	return &goMarker{procRoot: "/proc", procs: map[uint32]*goProc{}, scanned: make(chan struct{}), quit: make(chan struct{})}
}

// startPrescan runs the prescan in the background, until done or stop.
func (m *goMarker) startPrescan() {
	m.started = true
	go m.prescan()
}

// stop ends a prescan in progress and waits for its goroutine, so that a
// closed tracer leaves none behind.
func (m *goMarker) stop() {
	m.quitOnce.Do(func() { close(m.quit) })
	if m.started {
		<-m.scanned
	}
}

// prescan learns every running Go program's notify mask.
func (m *goMarker) prescan() {
	defer close(m.scanned)
	ents, err := os.ReadDir(m.procRoot)
	if err != nil {
		return
	}
	now := time.Now()
	for _, e := range ents {
		select {
		case <-m.quit:
			return
		default:
		}
		pid, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil {
			continue
		}
		m.mu.Lock()
		full := len(m.procs) >= maxGoProcs
		_, known := m.procs[uint32(pid)]
		m.mu.Unlock()
		if full {
			return
		}
		if known {
			continue
		}
		p := &goProc{}
		m.refresh(p, uint32(pid), now)
		if !p.isGo {
			continue // only Go programs are worth remembering
		}
		m.mu.Lock()
		if _, ok := m.procs[uint32(pid)]; !ok {
			m.procs[uint32(pid)] = p
		}
		m.mu.Unlock()
	}
}

// mark fills ev.Go and, when the runtime will end the process (the notify
// mask, read from its memory, does not have the signal), makes the verdict
// fatal: the handler re-raises (SIGHUP, SIGINT, SIGTERM) or
// exits 2 (SIGQUIT and the crash signals). A signal the process sends
// itself is its own runtime's business (a re-raise) and is left alone, as
// are kernel-raised ones, which the runtime treats by other rules.
//
// /proc is read when the event is decoded, and a Go program that re-raises
// is gone within microseconds: what was learnt of it from an earlier
// signal it got (any that met its handler, for goProcTTL) is what counts
// then, and without that it may not be judged at all. Its EXIT row names
// the killer either way (the re-raise join).
func (m *goMarker) mark(ev *Event) {
	if ev.Type != TypeGenerate || ev.Generate.Disposition != DispHandler || ev.Generate.KernelSender || ev.Generate.Sender.PID == ev.Target.PID {
		return
	}
	p := m.lookup(ev.Target.PID, ev.Time)
	// Only a signal the kernel hands to the handler now: not one that is
	// blocked, waited for, merged, dropped, or sent to a group already
	// exiting (whose verdict the kernel decides).
	if !p.isGo || !ev.Generate.DefaultAction.Kills() || ev.Generate.Kind != VerdictHandled || ev.Generate.SigWait || ev.Generate.TargetExiting {
		return
	}
	// A mask that lacks the signal but was read before it was sent may
	// be out of date: a daemon calls signal.Notify as it starts, and the
	// prescan or an earlier signal may have looked first. Read it again
	// (at most every goRecheck); when the process is gone, most likely
	// of this very signal, what was known stands.
	if p.maskKnown && !p.wanted.Has(ev.Sig) && goruntime.Unnotified(ev.Sig).Kills() && p.checked.Before(ev.Time) {
		if q, ok := m.recheck(ev.Target.PID); ok {
			p = q
		}
	}
	g := GoRuntime{Met: true, Action: goruntime.Unnotified(ev.Sig), MaskKnown: p.maskKnown}
	g.Notified = p.maskKnown && p.wanted.Has(ev.Sig)
	ev.Generate.Go = g
	// Only a mask read from its memory decides: without it the program
	// may have asked, and the verdict stays what the handler says.
	if g.MaskKnown && !g.Notified && g.Action.Kills() {
		ev.Generate.Verdict = Verdict{Kind: VerdictFatal, Fatal: true, Unprepared: true}
	}
}

// lookup returns what is known of pid, read again when older than
// goProcTTL. The result is the reader's own copy.
func (m *goMarker) lookup(pid uint32, now time.Time) goProc {
	m.mu.Lock()
	p := m.procs[pid]
	if p == nil {
		if len(m.procs) >= maxGoProcs {
			m.procs = map[uint32]*goProc{}
		}
		p = &goProc{}
		m.procs[pid] = p
	}
	// now is the event's time: one read after the event was sent (a
	// reader behind a storm) is fresh too, not read again per event.
	fresh := !p.checked.IsZero() && now.Sub(p.checked) < goProcTTL
	cur := *p
	m.mu.Unlock()
	if fresh {
		return cur
	}
	m.refresh(&cur, pid, now)
	m.mu.Lock()
	if q := m.procs[pid]; q != nil {
		*q = cur
	}
	m.mu.Unlock()
	return cur
}

// recheck reads pid again unless that was done in the last goRecheck;
// ok is false when it was not read (too soon, or the process is gone).
func (m *goMarker) recheck(pid uint32) (goProc, bool) {
	now := time.Now()
	m.mu.Lock()
	p := m.procs[pid]
	if p == nil || now.Sub(p.checked) < goRecheck {
		m.mu.Unlock()
		return goProc{}, false
	}
	cur := *p
	m.mu.Unlock()
	ok := m.refresh(&cur, pid, now)
	m.mu.Lock()
	if q := m.procs[pid]; q != nil {
		if ok {
			*q = cur
		} else {
			q.checked = now // gone: what was known stands, and is not looked for again
		}
	}
	m.mu.Unlock()
	return cur, ok
}

// refresh reads pid's executable and notify mask into p; a process that
// is gone, or a zombie (whose exe link no longer resolves), keeps what
// was known of it (and refresh says false).
func (m *goMarker) refresh(p *goProc, pid uint32, now time.Time) bool {
	p.checked = now
	m.mu.Lock()
	m.reads++
	m.mu.Unlock()
	exe := m.procRoot + "/" + strconv.FormatUint(uint64(pid), 10) + "/exe"
	_, isGo := goruntime.Version(exe)
	if !isGo {
		if _, err := os.Readlink(exe); err != nil {
			return false
		}
	}
	// A Go program dying of a signal (re-raising it) may still have its
	// exe but no longer a readable memory: what was read of it stands.
	keep := isGo && p.isGo && p.maskKnown
	p.isGo = isGo
	if !keep {
		p.maskKnown = false
	}
	if p.isGo {
		if w, err := goruntime.Wanted(m.procRoot, int(pid)); err == nil {
			p.wanted, p.maskKnown = w, true
		}
	}
	return true
}

// forget drops a process that died.
func (m *goMarker) forget(ev *Event) {
	if ev.Type == TypeExit {
		m.mu.Lock()
		delete(m.procs, ev.Target.PID)
		m.mu.Unlock()
	}
}
