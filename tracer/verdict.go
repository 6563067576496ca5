package tracer

import (
	"syscall"

	"github.com/sigtrace/sigtrace/signals"
)

// VerdictKind is the SPEC's `verdict`: what will happen to the receiver.
type VerdictKind uint8

const (
	VerdictFatal VerdictKind = iota
	VerdictHandled
	VerdictIgnored
	VerdictBlocked
	VerdictStop
	VerdictContinue
	VerdictMerged
	VerdictDropped
)

var verdictNames = [...]string{"fatal", "handled", "ignored", "blocked", "stop", "continue", "merged", "dropped"}

func (v VerdictKind) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "unknown"
}

// VerdictInput is everything the kernel's own decision depends on, as
// observed at generation time.
type VerdictInput struct {
	Sig         int
	Result      Result
	Disposition Disposition
	// Blocked: every thread that could take it blocks it.
	Blocked bool
	// SigWait: the target waits for it in sigtimedwait()/sigwaitinfo()
	// (it is in task->real_blocked), so it is consumed, never fatal.
	SigWait bool
	// Unkillable: the target is a pid namespace's init (SIGNAL_UNKILLABLE).
	Unkillable bool
	// TargetExiting: the target's group is already exiting
	// (SIGNAL_GROUP_EXIT), or the target thread is, for a signal to it.
	TargetExiting bool
}

// Verdict is the outcome. Fatal means the receiver's whole thread group
// dies of it, even when the signal was directed at one thread.
type Verdict struct {
	Kind               VerdictKind
	Fatal              bool
	Unprepared         bool // fatal, and the receiver could have caught it
	FatalWhenUnblocked bool // blocked, and fatal the moment it is unblocked
	// WhenUnblocked: for a blocked signal, what it does once unblocked
	// (FatalWhenUnblocked is WhenUnblocked.Kills()); UnblockedNone for
	// every other verdict.
	WhenUnblocked Unblocked
}

// Unblocked is what a pending blocked signal does the moment its receiver
// unblocks it, decided by get_signal() (kernel/signal.c) from the
// disposition it then finds. sigtrace predicts it from the disposition at
// generation: a receiver that calls sigaction() before unblocking (the
// usual block, install, unblock sequence) changes the outcome.
type Unblocked uint8

const (
	UnblockedNone Unblocked = iota // not a blocked signal
	UnblockedTerminate
	UnblockedCore
	// UnblockedStop: SIGTSTP, SIGTTIN or SIGTTOU with SIG_DFL stop the
	// whole group, except that get_signal() discards them when the
	// receiver's process group is orphaned at that moment
	// (is_current_pgrp_orphaned(), "The job control signals do nothing
	// in an orphaned pgrp"), and a SIGCONT sent meanwhile removes them
	// from the queues (prepare_signal()). Neither is known at generation.
	UnblockedStop
	// UnblockedIgnore: SIG_IGN, a SIG_DFL whose default does nothing
	// (SIGCHLD, SIGURG, SIGWINCH), a pid namespace's init without a
	// handler, and SIGCONT with SIG_DFL: its one effect, resuming a
	// stopped group, happened in prepare_signal() when it was sent,
	// blocked or not, and get_signal() then does nothing with it.
	UnblockedIgnore
	UnblockedHandler
)

var unblockedNames = [...]string{"", "terminate", "core", "stop", "ignore", "handler"}

func (u Unblocked) String() string {
	if int(u) < len(unblockedNames) {
		return unblockedNames[u]
	}
	return "unknown"
}

// Kills reports whether the receiver dies once it unblocks the signal.
func (u Unblocked) Kills() bool { return u == UnblockedTerminate || u == UnblockedCore }

// whenUnblocked follows get_signal()'s order for a dequeued signal: SIG_IGN,
// a handler, then the default action, where SIG_KERNEL_IGNORE signals do
// nothing, a SIGNAL_UNKILLABLE task skips every default but SIGKILL's and
// SIGSTOP's (which cannot be blocked), stop signals stop and the rest kill.
func whenUnblocked(sig int, disp Disposition, unkillable bool) Unblocked {
	switch disp {
	case DispIgnore:
		return UnblockedIgnore
	case DispHandler:
		return UnblockedHandler
	}
	action := signals.DefaultAction(sig)
	switch {
	case action == signals.Ignore, action == signals.Continue, unkillable:
		return UnblockedIgnore
	}
	switch action {
	case signals.Stop:
		return UnblockedStop
	case signals.Core:
		return UnblockedCore
	}
	return UnblockedTerminate
}

var (
	sigKill = int(syscall.SIGKILL)
	sigStop = int(syscall.SIGSTOP)
	sigCont = int(syscall.SIGCONT)
)

// Judge predicts what the signal does to its receiver, following
// kernel/signal.c: prepare_signal() and sig_ignored() decide the result
// (which the tracepoint reports), complete_signal() turns a signal whose
// action is SIG_DFL and whose default kills into a group exit unless the
// task waits for it (real_blocked), and get_signal() applies the default
// action table (include/linux/signal.h) when it is finally delivered.
func Judge(in VerdictInput) Verdict {
	switch in.Result {
	case ResultOverflow:
		return Verdict{Kind: VerdictDropped}
	case ResultAlreadyPending:
		return Verdict{Kind: VerdictMerged}
	case ResultIgnored:
		// prepare_signal() resumes a stopped group on SIGCONT before it
		// asks sig_ignored(), which then reports SIG_DFL (SIGCONT is in
		// SIG_KERNEL_IGNORE_MASK) and SIG_IGN as ignored: the receiver
		// continued all the same. A blocked, waited-for or handled signal
		// is never ignored there; for those "ignored" means the group is
		// already exiting and prepare_signal() did nothing.
		if in.Sig == sigCont && in.Disposition != DispHandler && !in.Blocked && !in.SigWait {
			return Verdict{Kind: VerdictContinue}
		}
		// Includes a pid namespace's init receiving a signal it has no
		// handler for (sig_task_ignored(): SIGNAL_UNKILLABLE).
		return Verdict{Kind: VerdictIgnored}
	}

	// A dying group takes no more signals: since 5.17 prepare_signal()
	// drops them (result ignored, above); before, it queued them to
	// threads that exit without ever dequeuing them. Only SIGKILL still
	// matters: it ends a core dump in progress.
	if in.TargetExiting && in.Sig != sigKill {
		return Verdict{Kind: VerdictIgnored}
	}

	// SIGKILL and SIGSTOP can be neither caught, ignored nor blocked.
	switch in.Sig {
	case sigKill:
		return Verdict{Kind: VerdictFatal, Fatal: true}
	case sigStop:
		return Verdict{Kind: VerdictStop}
	}

	action := signals.DefaultAction(in.Sig)

	if in.Blocked {
		// complete_signal() finds no thread that wants it: it waits in
		// the queue, and get_signal() decides once it is unblocked.
		w := whenUnblocked(in.Sig, in.Disposition, in.Unkillable)
		return Verdict{Kind: VerdictBlocked, FatalWhenUnblocked: w.Kills(), WhenUnblocked: w}
	}
	if in.SigWait {
		return Verdict{Kind: VerdictHandled}
	}
	switch in.Disposition {
	case DispHandler:
		return Verdict{Kind: VerdictHandled}
	case DispIgnore:
		return Verdict{Kind: VerdictIgnored}
	}
	switch action {
	case signals.Terminate, signals.Core:
		if in.Unkillable {
			return Verdict{Kind: VerdictIgnored}
		}
		return Verdict{Kind: VerdictFatal, Fatal: true, Unprepared: signals.Catchable(in.Sig)}
	case signals.Stop:
		// get_signal() skips every default action but SIGKILL's and
		// SIGSTOP's for a SIGNAL_UNKILLABLE task, stopping included.
		if in.Unkillable {
			return Verdict{Kind: VerdictIgnored}
		}
		return Verdict{Kind: VerdictStop}
	case signals.Continue:
		return Verdict{Kind: VerdictContinue}
	}
	return Verdict{Kind: VerdictIgnored}
}
