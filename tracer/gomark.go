package tracer

import (
	"os"
	"strconv"
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
type goMarker struct {
	procRoot string
	procs    map[uint32]*goProc
}

func newGoMarker() *goMarker { return &goMarker{procRoot: "/proc", procs: map[uint32]*goProc{}} }

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
	if ev.Type != TypeGenerate || ev.Disposition != DispHandler || ev.KernelSender || ev.Sender.PID == ev.Target.PID {
		return
	}
	p := m.lookup(ev.Target.PID, ev.Time)
	if !p.isGo || !ev.DefaultAction.Kills() || ev.Blocked || ev.SigWait ||
		(ev.Result != ResultDelivered && ev.Result != ResultLoseInfo) {
		return
	}
	g := GoRuntime{Met: true, Action: goruntime.Unnotified(ev.Sig), MaskKnown: p.maskKnown}
	g.Notified = p.maskKnown && p.wanted.Has(ev.Sig)
	ev.Go = g
	// Only a mask read from its memory decides: without it the program
	// may have asked, and the verdict stays what the handler says.
	if g.MaskKnown && !g.Notified && g.Action.Kills() {
		ev.Verdict = Verdict{Kind: VerdictFatal, Fatal: true, Unprepared: true}
	}
}

func (m *goMarker) lookup(pid uint32, now time.Time) *goProc {
	p := m.procs[pid]
	if p != nil && now.Sub(p.checked) < goProcTTL && now.Sub(p.checked) >= 0 {
		return p
	}
	if p == nil {
		if len(m.procs) >= maxGoProcs {
			m.procs = map[uint32]*goProc{}
		}
		p = &goProc{}
		m.procs[pid] = p
	}
	p.checked = now
	dir := m.procRoot + "/" + strconv.FormatUint(uint64(pid), 10)
	ver, isGo := goruntime.Version(dir + "/exe")
	if !isGo && ver == "" && !exists(dir) {
		return p // gone: what was known of it stands
	}
	p.isGo = isGo
	p.maskKnown = false
	if p.isGo {
		if w, err := goruntime.Wanted(m.procRoot, int(pid)); err == nil {
			p.wanted, p.maskKnown = w, true
		}
	}
	return p
}

// forget drops a process that died.
func (m *goMarker) forget(ev *Event) {
	if ev.Type == TypeExit {
		delete(m.procs, ev.Target.PID)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
