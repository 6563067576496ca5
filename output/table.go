package output

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/sigtrace/sigtrace/goruntime"
	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tracer"
)

// Table renders events as aligned rows for people: TIME, SIGNAL, CODE,
// SENDER (with its parent chain), TARGET, VERDICT. A fatal signal is
// marked FATAL, loudly when Color is on.
type Table struct {
	Color bool // ANSI colours: only for a terminal, never with NO_COLOR
}

// Column widths; a longer cell pushes the rest of its row right rather
// than being cut, since a truncated name is worse than a ragged row.
const (
	wTime   = 16 // "15:04:05.000000" and a space
	wSender = 42
	wTarget = 24
	// maxChain is how many ancestors the SENDER column shows; JSON has
	// all of them.
	maxChain = 4
)

// wSignal and wCode fit every name the signals package knows
// (SIGRTMIN+10, CLD_CONTINUED, SYS_USER_DISPATCH) and a space: a signal or
// code pushing the row right is nothing to warn about, unlike a long name.
var (
	wSignal = longestSignalName() + 1
	wCode   = signals.LongestCodeName + 1
)

func longestSignalName() int {
	n := 0
	for sig := 1; sig <= signals.Max; sig++ {
		n = max(n, len(signals.Name(sig)))
	}
	return n
}

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[2m"
)

// AppendHeader appends the column titles.
func (t *Table) AppendHeader(b []byte) []byte {
	b = pad(append(b, "TIME"...), 4, wTime)
	b = pad(append(b, "SIGNAL"...), 6, wSignal)
	b = pad(append(b, "CODE"...), 4, wCode)
	b = pad(append(b, "SENDER"...), 6, wSender)
	b = pad(append(b, "TARGET"...), 6, wTarget)
	return append(b, "VERDICT\n"...)
}

// AppendRow appends one event as a row.
func (t *Table) AppendRow(b []byte, ev *tracer.Event) []byte {
	start := len(b)
	b = ev.Time.AppendFormat(b, "15:04:05.000000")
	b = pad(b, len(b)-start, wTime)

	if ev.Type == tracer.TypeLost {
		b = t.color(b, ansiRed)
		b = append(b, "LOST "...)
		b = strconv.AppendUint(b, ev.Lost.Count, 10)
		b = append(b, " events: "...)
		b = appendLostWhy(b, &ev.Lost)
		if ev.Lost.Missed < ev.Lost.Count {
			b = append(b, " (try --ring-size or narrower filters)"...)
		}
		b = t.color(b, ansiReset)
		return append(b, '\n')
	}

	switch ev.Type {
	case tracer.TypeCount:
		return appendCountRow(b, &ev.Count)
	case tracer.TypeGap:
		b = t.color(b, ansiRed)
		b = append(b, "GAP "...)
		b = strconv.AppendUint(b, ev.Gap.Count, 10)
		b = append(b, " events not recorded from "...)
		b = ev.Gap.From.AppendFormat(b, "15:04:05.000000")
		b = append(b, " to "...)
		b = ev.Gap.To.AppendFormat(b, "15:04:05.000000")
		b = append(b, " (the recording could not write them)"...)
		b = t.color(b, ansiReset)
		return append(b, '\n')
	case tracer.TypeExit:
		return t.appendExit(b, ev)
	case tracer.TypePending:
		return t.appendPending(b, ev)
	case tracer.TypeDisposition:
		return t.appendChange(b, ev)
	}

	start = len(b)
	b = append(b, signals.Name(ev.Sig)...)
	b = pad(b, len(b)-start, wSignal)
	start = len(b)
	if name, ok := signals.LookupCode(ev.Sig, ev.Code); ok {
		b = append(b, name...)
	} else {
		b = strconv.AppendInt(b, int64(ev.Code), 10)
	}
	b = pad(b, len(b)-start, wCode)

	start = len(b)
	if ev.Type == tracer.TypeDeliver {
		b = t.color(b, ansiDim)
		b = append(b, "  ↳ delivered"...)
		b = t.color(b, ansiReset)
		b = pad(b, runeLen(b[start:]), wSender)
	} else {
		b = t.appendSender(b, &ev.Generate.From)
		b = pad(b, runeLen(b[start:]), wSender)
	}

	start = len(b)
	b = appendTarget(b, &ev.Target, ev.Type == tracer.TypeDeliver || ev.Scope == tracer.ScopeThread)
	b = pad(b, runeLen(b[start:]), wTarget)

	if ev.Type == tracer.TypeDeliver {
		b = t.appendDelivery(b, ev)
	} else {
		b = t.appendVerdict(b, ev)
	}
	return append(b, '\n')
}

func (t *Table) appendSender(b []byte, f *tracer.From) []byte {
	if f.KernelSender {
		b = append(b, "kernel: "...)
		return append(b, f.KernelReason...)
	}
	return appendChain(b, &f.Sender)
}

// appendCountRow writes a count event: COUNT 1200× sender.comm=kill
// signal.name=SIGUSR1, and the interval's end when it is an interval's.
// Values are written as JSON has them (strings quoted), through the one
// policy for hostile text.
func appendCountRow(b []byte, c *tracer.Count) []byte {
	b = append(b, "COUNT "...)
	b = strconv.AppendUint(b, c.N, 10)
	b = append(b, "×"...)
	for _, k := range c.Keys {
		b = append(b, ' ')
		b = appendComm(b, []byte(k.Field))
		b = append(b, '=')
		var text string
		switch {
		case len(k.Value) == 0:
			b = append(b, '-')
		case k.Value[0] == '"' && json.Unmarshal(k.Value, &text) == nil:
			b = appendComm(b, []byte(text))
		default:
			b = appendComm(b, k.Value)
		}
	}
	if !c.IntervalEnd.IsZero() {
		b = append(b, " (interval to "...)
		b = c.IntervalEnd.AppendFormat(b, "15:04:05")
		b = append(b, ')')
	}
	return append(b, '\n')
}

// appendChain writes a sending process and its parents: pkill[789] ← sh
// ← logrotate ← cron.
func appendChain(b []byte, p *tracer.Process) []byte {
	b = appendComm(b, p.Comm[:])
	b = append(b, '[')
	b = strconv.AppendUint(b, uint64(p.PID), 10)
	b = append(b, ']')
	for i, a := range p.Ancestry {
		if i == maxChain {
			return append(b, " ← …"...)
		}
		if a.PID == 1 && i > 0 {
			break // init ends every chain; it says nothing
		}
		b = append(b, " ← "...)
		b = appendComm(b, a.Comm[:])
	}
	return b
}

// appendChange writes a disposition change in one row:
//
//	DISPOSITION logdeviced[812] SIGHUP handler → default (now dies of SIGHUP)
//	DISPOSITION true[77] SIGUSR1 handler → default at exec (now dies of SIGUSR1)
func (t *Table) appendChange(b []byte, ev *tracer.Event) []byte {
	c := &ev.Disposition
	if c.Fatal {
		b = t.color(b, ansiYellow)
	}
	b = append(b, "DISPOSITION "...)
	b = appendComm(b, ev.Target.Comm[:])
	b = append(b, '[')
	b = strconv.AppendUint(b, uint64(ev.Target.PID), 10)
	b = append(b, "] "...)
	b = append(b, signals.Name(ev.Sig)...)
	b = append(b, ' ')
	b = append(b, c.From.Disposition.String()...)
	b = append(b, " → "...)
	b = append(b, c.To.Disposition.String()...)
	switch c.Cause {
	case tracer.CauseExec:
		b = append(b, " at exec"...)
	case tracer.CauseResethand:
		b = append(b, " as the handler ran (SA_RESETHAND)"...)
	}
	if c.Vfork {
		b = append(b, " in a vfork child"...)
	}
	if c.Fatal {
		b = append(b, " (now dies of "...)
		b = append(b, signals.Name(ev.Sig)...)
		b = append(b, ')')
	}
	if c.Fatal {
		b = t.color(b, ansiReset)
	}
	return append(b, '\n')
}

// appendExit tells the story of a death in one row: who died of which
// signal, who sent it (with its parent chain), and why it was fatal.
//
//	EXIT logdeviced[456] killed by SIGHUP from pkill[789] ← sh ← logrotate ← cron (no SIGHUP handler: default action terminate)
func (t *Table) appendExit(b []byte, ev *tracer.Event) []byte {
	b = t.color(b, ansiRed)
	b = append(b, "EXIT "...)
	b = t.color(b, ansiReset)
	b = appendTarget(b, &ev.Target, false)
	b = append(b, " killed by "...)
	b = append(b, signals.Name(ev.Sig)...)
	switch {
	case !ev.Exit.KillerKnown:
		b = append(b, " (sender not seen)"...)
	case ev.Exit.Killer.KernelSender:
		b = append(b, " from the kernel ("...)
		b = append(b, ev.Exit.Killer.KernelReason...)
		if ev.Exit.Killer.MemCgroup != "" {
			b = append(b, " in memory cgroup "...)
			b = appendComm(b, []byte(ev.Exit.Killer.MemCgroup))
		}
		b = append(b, ')')
	default:
		b = append(b, " from "...)
		b = t.appendSender(b, &ev.Exit.Killer)
	}
	switch {
	case ev.Sig == int(tracerSIGKILL):
		b = append(b, " (SIGKILL cannot be caught)"...)
	case ev.Exit.KillerVia == tracer.KillerReraise:
		b = append(b, " (re-raised by the process after its handler ran)"...)
	case (ev.Exit.KillerKnown && ev.Exit.Disposition == tracer.DispDefault) || ev.Exit.DefaultSince.Known:
		b = append(b, " (no "...)
		b = append(b, signals.Name(ev.Sig)...)
		b = append(b, " handler"...)
		b = appendSince(b, ev)
		b = append(b, ": default action "...)
		b = append(b, ev.Exit.DefaultAction.String()...)
		b = append(b, ')')
	}
	if ev.Exit.CoreDumped {
		b = append(b, ", core dumped"...)
	}
	return append(b, '\n')
}

const tracerSIGKILL = 9

// appendSince says since when a dead process had the default for the
// signal, when disposition history saw it:
//
//	since 10:02:11, when it set SIG_DFL with sigaction
//	since it exec'd at 10:02:11
//	since 10:02:11, when SA_RESETHAND reset it as its handler ran
//
// with the date too when it is not the day of the death.
func appendSince(b []byte, ev *tracer.Event) []byte {
	s := &ev.Exit.DefaultSince
	if !s.Known {
		return b
	}
	layout := "15:04:05"
	if y, m, d := s.Time.Date(); y != ev.Time.Year() || m != ev.Time.Month() || d != ev.Time.Day() {
		layout = "2006-01-02 15:04:05"
	}
	switch s.Cause {
	case tracer.CauseExec:
		b = append(b, " since it exec'd at "...)
		return s.Time.AppendFormat(b, layout)
	case tracer.CauseResethand:
		b = s.Time.AppendFormat(append(b, " since "...), layout)
		return append(b, ", when SA_RESETHAND reset it as its handler ran"...)
	}
	b = s.Time.AppendFormat(append(b, " since "...), layout)
	return append(b, ", when it set SIG_DFL with sigaction"...)
}

// appendReraise names the signal a re-raise passes on, and how long
// after it was sent:
//
//	re-raise of SIGHUP from pkill[120] ← sh ← logrotate ← cron, sent 1.2ms before
func appendReraise(b []byte, ev *tracer.Event) []byte {
	o := ev.Generate.ReraiseOf
	b = append(b, " re-raise of "...)
	b = append(b, signals.Name(ev.Sig)...)
	if o.KernelSender {
		b = append(b, " from the kernel: "...)
		b = append(b, o.KernelReason...)
	} else {
		b = appendChain(append(b, " from "...), &o.Sender)
	}
	b = append(b, ", sent "...)
	b = appendDuration(b, ev.Time.Sub(o.Time).Nanoseconds())
	return append(b, " before"...)
}

// appendPending: a signal generated and still not delivered, and why.
//
//	PENDING SIGTERM to worker[812] for 1.5s: blocked
func (t *Table) appendPending(b []byte, ev *tracer.Event) []byte {
	b = t.color(b, ansiYellow)
	b = append(b, "PENDING "...)
	b = t.color(b, ansiReset)
	b = append(b, signals.Name(ev.Sig)...)
	b = append(b, " to "...)
	b = appendTarget(b, &ev.Target, ev.Scope == tracer.ScopeThread)
	b = append(b, " for "...)
	b = appendDuration(b, ev.Pending.Ns)
	b = append(b, ": "...)
	if ev.Pending.Reason == tracer.PendingBlocked && ev.Pending.WhenUnblocked != tracer.UnblockedNone {
		b = t.appendBlocked(b, ev)
	} else {
		b = append(b, ev.Pending.Reason.String()...)
	}
	if ev.Pending.Wait != nil {
		b = appendWaitSite(b, ev.Pending.Wait)
	}
	return append(b, '\n')
}

// maxWaitFrames is how many kernel frames a PENDING row shows; JSON has
// the whole stack.
const maxWaitFrames = 4

// appendWaitSite: where a task in D state waits, innermost first, down to
// the system call it is in.
//
//	uninterruptible in kernel_clone ← vfork()
func appendWaitSite(b []byte, w *tracer.WaitSite) []byte {
	frames := w.Frames()
	if len(frames) == 0 && !w.InSyscall {
		b = append(b, " (no kernel stack: "...)
		b = append(b, w.StackErr...)
		return append(b, ')')
	}
	b = append(b, " in "...)
	for i, f := range frames {
		if i == maxWaitFrames {
			b = append(b, " ← …"...)
			break
		}
		if i > 0 {
			b = append(b, " ← "...)
		}
		b = append(b, f...)
	}
	if w.InSyscall {
		if len(frames) > 0 {
			b = append(b, " ← "...)
		}
		b = append(b, syscallName(w.SyscallNr)...)
		b = append(b, "()"...)
	}
	if len(w.Stack) == 0 {
		b = append(b, " (no kernel stack: "...)
		b = append(b, w.StackErr...)
		b = append(b, ')')
	}
	return b
}

// appendDuration writes ns as 850ns, 12.3µs, 4.5ms or 1.2s.
func appendDuration(b []byte, ns int64) []byte {
	switch {
	case ns < 1000:
		return append(strconv.AppendInt(b, ns, 10), "ns"...)
	case ns < 1000_000:
		return append(strconv.AppendFloat(b, float64(ns)/1e3, 'f', 1, 64), "µs"...)
	case ns < 1000_000_000:
		return append(strconv.AppendFloat(b, float64(ns)/1e6, 'f', 1, 64), "ms"...)
	}
	return append(strconv.AppendFloat(b, float64(ns)/1e9, 'f', 1, 64), "s"...)
}

// appendTarget writes name[pid], or name[pid/tid thread-name] for one
// thread of it: the process's name first, since that is what people look
// for, and the thread's when it has one of its own.
func appendTarget(b []byte, p *tracer.Process, withTID bool) []byte {
	b = appendComm(b, p.Comm[:])
	b = append(b, '[')
	b = strconv.AppendUint(b, uint64(p.PID), 10)
	if withTID && p.TID != p.PID {
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(p.TID), 10)
		if p.ThreadNamed() {
			b = append(b, ' ')
			b = appendComm(b, p.ThreadComm[:])
		}
	}
	return append(b, ']')
}

// appendComm appends a command name for a terminal. Processes choose
// their own (prctl(PR_SET_NAME)), so it goes through AppendSafe, and one
// that could pass for the row's own syntax (a space, brackets, the chain's
// arrow: "sshd[1] ← cro") is quoted, so it cannot imitate a pid or an
// ancestor.
func appendComm(b []byte, comm []byte) []byte {
	s := tracer.CommBytes(comm)
	if !looksLikeSyntax(s) {
		return AppendSafe(b, s)
	}
	b = append(b, '"')
	for len(s) > 0 {
		q := bytes.IndexByte(s, '"')
		if q < 0 {
			b = AppendSafe(b, s)
			break
		}
		b = append(AppendSafe(b, s[:q]), '\\', '"')
		s = s[q+1:]
	}
	return append(b, '"')
}

// looksLikeSyntax reports whether a name holds what the table's rows are
// made of: spaces, brackets, quotes, "←" or "…".
func looksLikeSyntax(s []byte) bool {
	return bytes.ContainsAny(s, " []\"←…")
}

func (t *Table) appendVerdict(b []byte, ev *tracer.Event) []byte {
	v := ev.Generate.Verdict
	switch {
	case v.Fatal:
		b = t.color(b, ansiRed)
		b = append(b, "FATAL"...)
		b = t.color(b, ansiReset)
		if ev.Generate.ReraiseOf != nil {
			// The process reset its handler to die of the signal
			// it caught: the one it caught is the news.
			b = appendReraise(b, ev)
		} else if ev.Generate.Go.Met {
			b = appendGoRuntime(b, ev)
		} else if v.Unprepared {
			b = append(b, " unprepared: no "...)
			b = append(b, signals.Name(ev.Sig)...)
			b = append(b, " handler, default "...)
			b = append(b, ev.Generate.DefaultAction.String()...)
		}
		if ev.Scope == tracer.ScopeThread {
			b = append(b, " (kills the whole process)"...)
		}
	case v.Kind == tracer.VerdictBlocked && v.WhenUnblocked != tracer.UnblockedNone:
		b = t.appendBlocked(b, ev)
	case v.Kind == tracer.VerdictHandled:
		b = append(b, "handled"...)
		if ev.Generate.SigWait {
			b = append(b, " (sigwait)"...)
		}
		if ev.Generate.Go.Met {
			b = appendGoRuntime(b, ev)
		}
	case v.Kind == tracer.VerdictMerged:
		b = append(b, "merged: already pending, this one is lost"...)
	case v.Kind == tracer.VerdictDropped:
		b = append(b, "dropped: signal queue full"...)
	case v.Kind == tracer.VerdictIgnored && ev.Generate.TargetExiting:
		b = append(b, "ignored: target already exiting"...)
	case v.Kind == tracer.VerdictIgnored && ev.Generate.Result == tracer.ResultIgnored && ev.Generate.Unkillable:
		b = append(b, "ignored (namespace init without a handler)"...)
	default:
		b = append(b, v.Kind.String()...)
	}
	if ev.Generate.ReraiseOf != nil && !v.Fatal {
		b = appendReraise(append(b, ','), ev)
	}
	if ev.Generate.Traced {
		b = append(b, " [traced]"...)
	}
	switch ev.Generate.GroupSend {
	case tracer.GroupSendPgrp:
		b = append(b, " [kill of process group "...)
		b = strconv.AppendUint(b, uint64(ev.Generate.GroupID), 10)
		b = append(b, ']')
	case tracer.GroupSendBroadcast:
		b = append(b, " [kill -1: every process]"...)
	}
	return b
}

// appendBlocked says what a blocked signal does once it is unblocked.
func (t *Table) appendBlocked(b []byte, ev *tracer.Event) []byte {
	switch ev.WhenUnblocked() {
	case tracer.UnblockedTerminate, tracer.UnblockedCore:
		b = t.color(b, ansiYellow)
		b = append(b, "blocked, FATAL when unblocked"...)
		if ev.WhenUnblocked() == tracer.UnblockedCore {
			b = append(b, " (core)"...)
		}
		return t.color(b, ansiReset)
	case tracer.UnblockedStop:
		return append(b, "blocked, stops when unblocked"...)
	case tracer.UnblockedHandler:
		return append(b, "blocked, handled when unblocked"...)
	}
	b = append(b, "blocked, ignored when unblocked"...)
	if ev.Sig == tracerSIGCONT && ev.Generate.Disposition == tracer.DispDefault {
		// The one thing SIGCONT does by default it did when sent.
		b = append(b, " (resumed the process when sent)"...)
	}
	return b
}

const tracerSIGCONT = 18

func (t *Table) appendDelivery(b []byte, ev *tracer.Event) []byte {
	switch ev.Deliver.KillCause {
	case tracer.KillExitGroup:
		return append(b, "killed by the kernel: the process called exit_group()"...)
	case tracer.KillExec:
		return append(b, "killed by the kernel: another thread execs"...)
	}
	if ev.Deliver.GroupExit {
		b = t.color(b, ansiRed)
		b = append(b, "dying of "...)
		b = append(b, signals.Name(ev.Deliver.ExitSignal)...)
		if ev.Deliver.KillCause == tracer.KillCoredump {
			b = append(b, " (dumping core)"...)
		} else if ev.Deliver.CoreDumped {
			b = append(b, " (core dumped)"...)
		}
		return t.color(b, ansiReset)
	}
	if ev.Deliver.HasLatency {
		b = appendDuration(b, ev.Deliver.LatencyNs)
		b = append(b, " after sending, "...)
	}
	if ev.Deliver.HasSyscall {
		b = append(b, syscallName(ev.Deliver.SyscallNr)...)
		if ev.Deliver.SyscallOutcome == tracer.OutcomeEINTR {
			b = append(b, "() fails with EINTR, "...)
		} else {
			b = append(b, "() restarts, "...)
		}
	}
	switch ev.Deliver.Disposition {
	case tracer.DispHandler:
		b = append(b, "handler 0x"...)
		b = strconv.AppendUint(b, ev.Deliver.Handler, 16)
		for _, f := range SAFlagNames(ev.Deliver.SAFlags) {
			b = append(b, ' ')
			b = append(b, f...)
		}
	case tracer.DispIgnore:
		b = append(b, "ignored"...)
	default:
		b = append(b, "default: "...)
		b = append(b, ev.Deliver.DefaultAction.String()...)
	}
	return b
}

func (t *Table) color(b []byte, code string) []byte {
	if !t.Color {
		return b
	}
	return append(b, code...)
}

// pad appends spaces so a cell of width n fills w columns, and at least
// one space after it.
func pad(b []byte, n, w int) []byte {
	for n < w-1 {
		b = append(b, ' ')
		n++
	}
	return append(b, ' ')
}

// runeLen counts display columns, skipping ANSI sequences.
func runeLen(b []byte) int {
	n := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == 0x1b {
			for i < len(b) && b[i] != 'm' {
				i++
			}
			continue
		}
		if c&0xc0 != 0x80 {
			n++
		}
	}
	return n
}

// appendGoRuntime says what a Go program's runtime does with a signal its
// handler met: hand it to the program (signal.Notify), or, the program not
// having asked, re-raise it to die of it, crash, or drop it.
//
//	FATAL unprepared: Go program without signal.Notify(SIGHUP): the runtime re-raises it to die
func appendGoRuntime(b []byte, ev *tracer.Event) []byte {
	g := &ev.Generate.Go
	if g.Notified {
		return append(b, " (Go: signal.Notify)"...)
	}
	switch {
	case !g.MaskKnown:
		b = append(b, ", but a Go program that did not call signal.Notify("...)
	case g.Action.Kills():
		b = append(b, " unprepared: Go program without signal.Notify("...)
	default:
		b = append(b, ": Go program without signal.Notify("...)
	}
	b = append(b, signals.Name(ev.Sig)...)
	switch g.Action {
	case goruntime.Exit:
		b = append(b, "): the runtime re-raises it to die"...)
	case goruntime.Crash:
		b = append(b, "): the runtime dumps goroutines and exits 2"...)
	default:
		b = append(b, "): the runtime drops it"...)
	}
	if !g.MaskKnown {
		b = append(b, " (notify mask unreadable)"...)
	}
	return b
}

// appendLostWhy says why a lost record's events were lost, for the table's
// LOST row and the total on stderr: the ring was full (some shed to keep
// room for deaths), or the kernel skipped the program (Lost.Missed).
func appendLostWhy(b []byte, l *tracer.Lost) []byte {
	full := l.Count - min(l.Missed, l.Count)
	if full > 0 {
		b = append(b, "the ring buffer was full"...)
		if l.Shed > 0 {
			b = append(b, " ("...)
			b = strconv.AppendUint(b, l.Shed, 10)
			b = append(b, " of them shed to keep room for deaths)"...)
		}
	}
	if l.Missed > 0 {
		if full > 0 {
			b = append(b, "; "...)
		}
		b = strconv.AppendUint(b, l.Missed, 10)
		b = append(b, " skipped by the kernel, which does not run sigtrace's program on a CPU where it is already running (a signal sent from an interrupt)"...)
	}
	return b
}

// LostWhy is appendLostWhy as a string, with whether a bigger ring or
// narrower filters could help (not for events the kernel skipped).
func LostWhy(l tracer.Lost) (why string, ringHelps bool) {
	return string(appendLostWhy(nil, &l)), l.Missed < l.Count
}
