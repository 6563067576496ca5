package fields

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/sigtrace/sigtrace/goruntime"
	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/syscalls"
	"github.com/sigtrace/sigtrace/tracer"
)

// Shorthands for the kinds.
var (
	kGenerate = KindsOf(tracer.TypeGenerate)
	kDeliver  = KindsOf(tracer.TypeDeliver)
	kExit     = KindsOf(tracer.TypeExit)
	kPending  = KindsOf(tracer.TypePending)
	kLost     = KindsOf(tracer.TypeLost)
	kCount    = KindsOf(tracer.TypeCount)
	kGap      = KindsOf(tracer.TypeGap)
	kDisp     = KindsOf(tracer.TypeDisposition)
	kSignal   = AllKinds &^ (kLost | kCount | kGap) // every event about one signal
)

// registry is every field, in the order the JSON appender writes them.
var registry = buildRegistry()

func buildRegistry() []Field {
	var r []Field
	add := func(fs ...Field) { r = append(r, fs...) }

	add(Field{
		Name: "time", Type: Time, Kinds: AllKinds,
		Doc:  "when the kernel recorded the event (a pending event: when it was found still pending; RFC 3339, ns)",
		Time: func(ev *tracer.Event) time.Time { return ev.Time },
	}, Field{
		Name: "type", Type: String, Kinds: AllKinds, Kernel: true,
		Values: kindNames(),
		Doc:    "what happened: a signal was sent (generate), taken by a thread (deliver), a process died of one (exit), one is still not delivered (pending), a process changed what it does with one (disposition), events were lost (lost), counts instead of events (count), or a recording could not write some (gap)",
		Str:    static(func(ev *tracer.Event) string { return ev.Type.String() }),
	}, Field{
		Name: "count", Type: Uint, Kinds: kLost | kCount | kGap,
		Doc: "lost: events the kernel could not hand over (ring buffer full) since the previous lost record; count: the events that had the values of `keys` (an object of the counted fields by name: null where the events did not carry one); gap: the events a recording could not write",
		Uint: func(ev *tracer.Event) uint64 {
			switch ev.Type {
			case tracer.TypeCount:
				return ev.Count.N
			case tracer.TypeGap:
				return ev.Gap.Count
			}
			return ev.Lost.Count
		},
	}, Field{
		Name: "interval_end", Type: Time, Kinds: kCount,
		Doc:     "with --interval: the end of the interval the counts are of",
		Present: func(ev *tracer.Event) bool { return !ev.Count.IntervalEnd.IsZero() },
		Time:    func(ev *tracer.Event) time.Time { return ev.Count.IntervalEnd },
	}, Field{
		Name: "from", Type: Time, Kinds: kGap,
		Doc:  "the first event a recording could not write",
		Time: func(ev *tracer.Event) time.Time { return ev.Gap.From },
	}, Field{
		Name: "to", Type: Time, Kinds: kGap,
		Doc:  "the last event a recording could not write",
		Time: func(ev *tracer.Event) time.Time { return ev.Gap.To },
	}, Field{
		Name: "error", Type: String, Kinds: kGap,
		Doc:     "why the recording could not write them, as the system said (no space left on device)",
		Present: func(ev *tracer.Event) bool { return ev.Gap.Error != "" },
		Str:     func(dst []byte, ev *tracer.Event) []byte { return append(dst, ev.Gap.Error...) },
	}, Field{
		Name: "shed", Type: Uint, Kinds: kLost,
		Doc:     "of count, the records dropped while the ring was into the room it keeps for deaths (fatal signals, their delivery, exits); absent when none",
		Present: func(ev *tracer.Event) bool { return ev.Lost.Shed > 0 },
		Uint:    func(ev *tracer.Event) uint64 { return ev.Lost.Shed },
	}, Field{
		Name: "missed", Type: Uint, Kinds: kLost,
		Doc:     "of count, the signals the kernel ran no sigtrace program for because it was already running on that CPU (a signal from an interrupt, such as a timer's SIGALRM, that came while it ran for another); some a filter would have dropped anyway; absent when none",
		Present: func(ev *tracer.Event) bool { return ev.Lost.Missed > 0 },
		Uint:    func(ev *tracer.Event) uint64 { return ev.Lost.Missed },
	}, Field{
		Name: "signal.num", Type: Int, Kinds: kSignal, Kernel: true,
		Doc: "the signal's number (`sig` in filters); an exit's is the signal the process died of, not the kernel's internal SIGKILL",
		Int: func(ev *tracer.Event) int64 { return int64(ev.Sig) },
	}, Field{
		Name: "signal.name", Type: String, Kinds: kSignal, Kernel: true,
		Doc: "the signal's name: SIGHUP, SIGRTMIN+3",
		Str: func(dst []byte, ev *tracer.Event) []byte { return appendSignalName(dst, ev.Sig) },
	})

	// generate, deliver, exit: code, then the rest in the appender's order.
	add(Field{
		Name: "code", Type: String, Kinds: kGenerate | kDeliver | kExit,
		Doc:     "si_code by name (SI_USER, SI_KERNEL, SI_QUEUE, SI_TKILL, SEGV_MAPERR, ...), or its number when it has none (a JSON number); an exit's: the killing signal's",
		Present: exitNeedsKiller,
		Str:     func(dst []byte, ev *tracer.Event) []byte { return appendCode(dst, ev.Sig, ev.Code) },
	})
	add(senderFields("sender", "the sender", kGenerate, true,
		func(ev *tracer.Event) *tracer.From { return &ev.Generate.From })...)
	add(processFields("target", "the receiver (disposition: the process that changed it)", kSignal, targetOf, nil, false, true)...)
	add(detailFields("target", "disposition: the process", kDisp, targetOf,
		func(ev *tracer.Event) bool { return ev.Disposition.ArgvTruncated })...)
	add(scopeField(kGenerate | kPending))
	add(Field{
		Name: "result", Type: String, Kinds: kGenerate,
		Values: values(int(tracer.ResultDelivered), int(tracer.ResultLoseInfo), func(i int) string { return tracer.Result(i).String() }),
		Doc:    "the kernel's own verdict on queueing it",
		Str:    static(func(ev *tracer.Event) string { return ev.Generate.Result.String() }),
	})
	add(dispositionFields(kGenerate | kDeliver | kExit)...)
	add(defaultActionField(kGenerate | kExit | kDisp))
	add(Field{
		Name: "blocked", Type: Bool, Kinds: kGenerate,
		Doc:  "every thread that could take it blocks it",
		Bool: func(ev *tracer.Event) bool { return ev.Generate.Blocked },
	},
		onlyTrue("traced", "the target is traced (ptrace): the tracer sees the signal first", kGenerate, func(ev *tracer.Event) bool { return ev.Generate.Traced }),
		onlyTrue("sigwait", "the target waits for it in sigwaitinfo()/sigtimedwait(): consumed, never fatal", kGenerate, func(ev *tracer.Event) bool { return ev.Generate.SigWait }),
		onlyTrue("target_exiting", "the target was already exiting, so the kernel dropped it", kGenerate, func(ev *tracer.Event) bool { return ev.Generate.TargetExiting }),
		onlyTrue("unkillable", "the target is a pid namespace's init (or the kernel protects it otherwise): a signal it has no handler for is dropped, not fatal", kGenerate, func(ev *tracer.Event) bool { return ev.Generate.Unkillable }),
		Field{
			Name: "go_runtime.action", Type: String, Kinds: kGenerate,
			Values:  values(int(goruntime.NoHandler), int(goruntime.Discard), func(i int) string { return goruntime.Action(i).String() }),
			Doc:     "the target is a Go program whose runtime's handler met it: what the runtime does with it unless the program asked for it",
			Present: goMet,
			Str:     static(func(ev *tracer.Event) string { return ev.Generate.Go.Action.String() }),
		},
		Field{
			Name: "go_runtime.notified", Type: Bool, Kinds: kGenerate,
			Doc:     "the Go program asked for the signal with signal.Notify: the runtime hands it over",
			Present: goMet,
			Bool:    func(ev *tracer.Event) bool { return ev.Generate.Go.Notified },
		},
		Field{
			Name: "go_runtime.mask_known", Type: Bool, Kinds: kGenerate,
			Doc:     "the runtime's notify mask was read from the program's memory",
			Present: goMet,
			Bool:    func(ev *tracer.Event) bool { return ev.Generate.Go.MaskKnown },
		})
	add(syscallFields("send_syscall", "the system call the sender made", kGenerate,
		func(ev *tracer.Event) bool { return ev.Generate.HasSendSyscall },
		func(ev *tracer.Event) int { return ev.Generate.SendSyscallNr })...)
	add(Field{
		Name: "group_send.kind", Type: String, Kinds: kGenerate,
		Values:  values(int(tracer.GroupSendPgrp), int(tracer.GroupSendBroadcast), func(i int) string { return tracer.GroupSend(i).String() }),
		Doc:     "a kill() at many processes, each of which gets its own event: a process group (kill(-pgid), killpg(), kill(0)) or every process (kill(-1))",
		Present: func(ev *tracer.Event) bool { return ev.Generate.GroupSend != tracer.GroupSendNone },
		Str:     static(func(ev *tracer.Event) string { return ev.Generate.GroupSend.String() }),
	}, Field{
		Name: "group_send.pgid", Type: Uint, Kinds: kGenerate,
		Doc:     "the process group a process_group send went to",
		Present: func(ev *tracer.Event) bool { return ev.Generate.GroupSend == tracer.GroupSendPgrp },
		Uint:    func(ev *tracer.Event) uint64 { return uint64(ev.Generate.GroupID) },
	}, Field{
		Name: "verdict", Type: String, Kinds: kGenerate,
		Values: values(int(tracer.VerdictFatal), int(tracer.VerdictDropped), func(i int) string { return tracer.VerdictKind(i).String() }),
		Doc:    "what will happen to the receiver: fatal (it dies of it), handled, ignored, blocked (pending until unblocked), stop, continue, merged (already pending: this one is lost), dropped (queue full)",
		Str:    static(func(ev *tracer.Event) string { return ev.Generate.Kind.String() }),
	}, Field{
		Name: "fatal", Type: Bool, Kinds: kGenerate | kDisp,
		Doc: "generate: the receiver's whole process dies of it; disposition: the signal now kills the process",
		Bool: func(ev *tracer.Event) bool {
			if ev.Type == tracer.TypeDisposition {
				return ev.Disposition.Fatal
			}
			return ev.Generate.Fatal
		},
	}, Field{
		Name: "unprepared", Type: Bool, Kinds: kGenerate,
		Doc:  "fatal, and the receiver could have caught it but has no handler: the bug to fix",
		Bool: func(ev *tracer.Event) bool { return ev.Generate.Unprepared },
	}, Field{
		Name: "fatal_when_unblocked", Type: Bool, Kinds: kGenerate,
		Doc:     "blocked, and fatal the moment it is unblocked",
		Present: func(ev *tracer.Event) bool { return ev.Generate.Blocked },
		Bool:    func(ev *tracer.Event) bool { return ev.Generate.FatalWhenUnblocked },
	})
	add(whenUnblockedField())
	add(senderFields("reraise_of.sender", "a re-raise: the original signal's sender", kGenerate, false,
		func(ev *tracer.Event) *tracer.From {
			if o := ev.Generate.ReraiseOf; o != nil {
				return &o.From
			}
			return nil
		})...)
	add(Field{
		Name: "reraise_of.code", Type: String, Kinds: kGenerate,
		Doc:     "a re-raise: the si_code of the signal it passes on, as code",
		Present: func(ev *tracer.Event) bool { return ev.Generate.ReraiseOf != nil },
		Str: func(dst []byte, ev *tracer.Event) []byte {
			if ev.Generate.ReraiseOf == nil {
				return dst
			}
			return appendCode(dst, ev.Sig, ev.Generate.ReraiseOf.Code)
		},
	}, Field{
		Name: "reraise_of.time", Type: Time, Kinds: kGenerate,
		Doc:     "a re-raise: when the signal it passes on was sent",
		Present: func(ev *tracer.Event) bool { return ev.Generate.ReraiseOf != nil },
		Time: func(ev *tracer.Event) time.Time {
			if ev.Generate.ReraiseOf == nil {
				return time.Time{}
			}
			return ev.Generate.ReraiseOf.Time
		},
	})

	// pending
	add(Field{
		Name: "pending_ns", Type: Duration, Kinds: kPending,
		Doc: "how long ago the signal was sent",
		Int: func(ev *tracer.Event) int64 { return ev.Pending.Ns },
	}, Field{
		Name: "reason", Type: String, Kinds: kPending,
		Values: values(int(tracer.PendingUnknown), int(tracer.PendingUninterruptible), func(i int) string { return tracer.PendingReason(i).String() }),
		Doc:    "why it is not delivered: the target blocks it, is stopped, traced, in uninterruptible sleep (D state), or unknown",
		Str:    static(func(ev *tracer.Event) string { return ev.Pending.Reason.String() }),
	})
	add(Field{
		Name: "wait.stack", Type: List, Elem: String, Kinds: kPending,
		Doc:     "reason uninterruptible: the task's kernel stack, innermost first, without the scheduler's frames",
		Present: func(ev *tracer.Event) bool { return ev.Pending.Wait != nil && len(ev.Pending.Wait.Stack) > 0 },
		Len: func(ev *tracer.Event) int {
			if ev.Pending.Wait == nil {
				return 0
			}
			return len(ev.Pending.Wait.Stack)
		},
		StrAt: func(dst []byte, ev *tracer.Event, i int) []byte { return append(dst, ev.Pending.Wait.Stack[i]...) },
	}, Field{
		Name: "wait.stack_error", Type: String, Kinds: kPending,
		Doc:     "reason uninterruptible: why there is no wait.stack (no /proc/PID/stack, not allowed, the task exited or woke up)",
		Present: func(ev *tracer.Event) bool { return ev.Pending.Wait != nil && len(ev.Pending.Wait.Stack) == 0 },
		Str: func(dst []byte, ev *tracer.Event) []byte {
			if ev.Pending.Wait == nil {
				return dst
			}
			return append(dst, ev.Pending.Wait.StackErr...)
		},
	})
	add(syscallFields("wait.syscall", "the system call the task sleeps in", kPending,
		func(ev *tracer.Event) bool { return ev.Pending.Wait != nil && ev.Pending.Wait.InSyscall },
		func(ev *tracer.Event) int {
			if ev.Pending.Wait == nil {
				return 0
			}
			return ev.Pending.Wait.SyscallNr
		})...)

	// deliver
	add(Field{
		Name: "flags", Type: List, Elem: String, Kinds: kDeliver,
		Values: saFlagNames(),
		Doc:    "the handler's sa_flags by name (SA_RESTORER left out)",
		Len:    func(ev *tracer.Event) int { return saFlagCount(ev.Deliver.SAFlags) },
		StrAt: func(dst []byte, ev *tracer.Event, i int) []byte {
			return append(dst, saFlagAt(ev.Deliver.SAFlags, i)...)
		},
	})
	add(syscallFields("syscall", "the system call the signal interrupted (x86_64, 5.15+)", kDeliver,
		func(ev *tracer.Event) bool { return ev.Deliver.HasSyscall },
		func(ev *tracer.Event) int { return ev.Deliver.SyscallNr })...)
	add(Field{
		Name: "syscall.outcome", Type: String, Kinds: kDeliver,
		Values:  values(int(tracer.OutcomeRestart), int(tracer.OutcomeEINTR), func(i int) string { return tracer.SyscallOutcome(i).String() }),
		Doc:     "what becomes of the interrupted system call: it restarts, or fails with EINTR",
		Present: func(ev *tracer.Event) bool { return ev.Deliver.HasSyscall },
		Str:     static(func(ev *tracer.Event) string { return ev.Deliver.SyscallOutcome.String() }),
	}, Field{
		Name: "latency_ns", Type: Duration, Kinds: kDeliver,
		Doc:     "time since the generate event this delivery answers, when that was seen",
		Present: func(ev *tracer.Event) bool { return ev.Deliver.HasLatency },
		Int:     func(ev *tracer.Event) int64 { return ev.Deliver.LatencyNs },
	}, Field{
		Name: "kill_cause", Type: String, Kinds: kDeliver,
		Values:  values(int(tracer.KillFatalSignal), int(tracer.KillCoredump), func(i int) string { return tracer.KillCause(i).String() }),
		Doc:     "a SIGKILL the kernel queued itself, nobody having sent it: the group dies of a fatal signal, exit_group(), exec, a core dump",
		Present: func(ev *tracer.Event) bool { return ev.Deliver.KillCause != tracer.KillNone },
		Str:     static(func(ev *tracer.Event) string { return ev.Deliver.KillCause.String() }),
	}, Field{
		Name: "group_exit.signal.num", Type: Int, Kinds: kDeliver,
		Doc:     "the group was already dying of this signal when the thread took its (internal) SIGKILL",
		Present: groupExit,
		Int:     func(ev *tracer.Event) int64 { return int64(ev.Deliver.ExitSignal) },
	}, Field{
		Name: "group_exit.signal.name", Type: String, Kinds: kDeliver,
		Doc:     "the name of group_exit.signal.num",
		Present: groupExit,
		Str:     func(dst []byte, ev *tracer.Event) []byte { return appendSignalName(dst, ev.Deliver.ExitSignal) },
	}, Field{
		Name: "group_exit.core_dumped", Type: Bool, Kinds: kDeliver,
		Doc:     "the dying group dumps core",
		Present: groupExit,
		Bool:    func(ev *tracer.Event) bool { return ev.Deliver.CoreDumped },
	})

	// exit
	add(Field{
		Name: "core_dumped", Type: Bool, Kinds: kExit,
		Doc:  "the process dumped core",
		Bool: func(ev *tracer.Event) bool { return ev.Exit.CoreDumped },
	})
	add(senderFields("killer", "the killer (the sender of the signal the process died of, when seen)", kExit, false,
		func(ev *tracer.Event) *tracer.From {
			if ev.Exit.KillerKnown {
				return &ev.Exit.Killer
			}
			return nil
		})...)
	add(Field{
		Name: "killer_via", Type: String, Kinds: kExit,
		Values:  []string{tracer.KillerReraise.String()},
		Doc:     "reraise: the process re-raised the signal it died of, and killer sent the one its handler caught",
		Present: func(ev *tracer.Event) bool { return ev.Exit.KillerKnown && ev.Exit.KillerVia == tracer.KillerReraise },
		Str:     static(func(ev *tracer.Event) string { return ev.Exit.KillerVia.String() }),
	})
	add(Field{
		Name: "default_since.time", Type: Time, Kinds: kExit,
		Doc:     "since when the process had the default for the signal it died of, when disposition history saw it (sigtrace was tracing then, on a kernel that shows sigaction changes)",
		Present: func(ev *tracer.Event) bool { return ev.Exit.DefaultSince.Known },
		Time:    func(ev *tracer.Event) time.Time { return ev.Exit.DefaultSince.Time },
	}, Field{
		Name: "default_since.cause", Type: String, Kinds: kExit,
		Values:  values(int(tracer.CauseSigaction), int(tracer.CauseResethand), func(i int) string { return tracer.Cause(i).String() }),
		Doc:     "what made it the default then: sigaction (it removed its handler or ignore), exec (it exec'd then, and the program never installed one), resethand (SA_RESETHAND, as the handler ran)",
		Present: func(ev *tracer.Event) bool { return ev.Exit.DefaultSince.Known },
		Str:     static(func(ev *tracer.Event) string { return ev.Exit.DefaultSince.Cause.String() }),
	})

	// disposition
	add(Field{
		Name: "cause", Type: String, Kinds: kDisp,
		Values: values(int(tracer.CauseSigaction), int(tracer.CauseResethand), func(i int) string { return tracer.Cause(i).String() }),
		Doc:    "what changed it: sigaction (rt_sigaction, sigaction, signal), exec (execve resets every handler to the default and keeps SIG_IGN), resethand (SA_RESETHAND: reset to the default as the handler ran)",
		Str:    static(func(ev *tracer.Event) string { return ev.Disposition.Cause.String() }),
	})
	add(setupFields("from", "before the change", func(ev *tracer.Event) *tracer.Setup { return &ev.Disposition.From })...)
	add(setupFields("to", "after the change", func(ev *tracer.Event) *tracer.Setup { return &ev.Disposition.To })...)
	add(onlyTrue("vfork", "made by a vfork child between its spawn and its exec (shown with --all-dispositions only)", kDisp,
		func(ev *tracer.Event) bool { return ev.Disposition.Vfork }))

	return r
}

// setupFields declares a disposition event's {disposition, handler,
// flags} object.
func setupFields(prefix, when string, get func(*tracer.Event) *tracer.Setup) []Field {
	return []Field{{
		Name: prefix + ".disposition", Type: String, Kinds: kDisp,
		Values: values(int(tracer.DispDefault), int(tracer.DispHandler), func(i int) string { return tracer.Disposition(i).String() }),
		Doc:    "what the process did with the signal " + when + ": default, ignore or handler",
		Str:    static(func(ev *tracer.Event) string { return get(ev).Disposition.String() }),
	}, {
		Name: prefix + ".handler", Type: String, Kinds: kDisp,
		Doc: "the handler's address " + when + " (0x...), when known (an exec does not keep the old one)",
		Present: func(ev *tracer.Event) bool {
			s := get(ev)
			return s.Disposition == tracer.DispHandler && s.Handler != 0
		},
		Str: func(dst []byte, ev *tracer.Event) []byte {
			return strconv.AppendUint(append(dst, "0x"...), get(ev).Handler, 16)
		},
	}, {
		Name: prefix + ".flags", Type: List, Elem: String, Kinds: kDisp,
		Values:  saFlagNames(),
		Doc:     "sa_flags " + when + " by name (SA_RESTORER left out); absent when none",
		Present: func(ev *tracer.Event) bool { return saFlagCount(get(ev).SAFlags) > 0 },
		Len:     func(ev *tracer.Event) int { return saFlagCount(get(ev).SAFlags) },
		StrAt: func(dst []byte, ev *tracer.Event, i int) []byte {
			return append(dst, saFlagAt(get(ev).SAFlags, i)...)
		},
	}}
}

func targetOf(ev *tracer.Event) *tracer.Process { return &ev.Target }

// exitNeedsKiller: an exit writes its code, disposition and default
// action with its killer, when one is known.
func exitNeedsKiller(ev *tracer.Event) bool { return ev.Type != tracer.TypeExit || ev.Exit.KillerKnown }

func goMet(ev *tracer.Event) bool     { return ev.Generate.Go.Met }
func groupExit(ev *tracer.Event) bool { return ev.Deliver.GroupExit }

func scopeField(k Kinds) Field {
	return Field{
		Name: "scope", Type: String, Kinds: k,
		Values: []string{tracer.ScopeProcess.String(), tracer.ScopeThread.String()},
		Doc:    "sent to a whole process or to one thread",
		Str:    static(func(ev *tracer.Event) string { return ev.Scope.String() }),
	}
}

func whenUnblockedField() Field {
	return Field{
		Name: "when_unblocked", Type: String, Kinds: kGenerate | kPending,
		Values: values(int(tracer.UnblockedTerminate), int(tracer.UnblockedHandler), func(i int) string { return tracer.Unblocked(i).String() }),
		Doc:    "a blocked signal: what it does once unblocked, from the disposition at sending",
		Present: func(ev *tracer.Event) bool {
			if ev.Type == tracer.TypePending && ev.Pending.Reason != tracer.PendingBlocked {
				return false
			}
			return ev.WhenUnblocked() != tracer.UnblockedNone
		},
		Str: static(func(ev *tracer.Event) string { return ev.WhenUnblocked().String() }),
	}
}

// setupOf is what the receiver had set up, for the kinds that say it.
func setupOf(ev *tracer.Event) *tracer.Setup {
	if s := ev.Setup(); s != nil {
		return s
	}
	if ev.Type == tracer.TypeDisposition {
		return &ev.Disposition.To
	}
	return &noSetup
}

var noSetup tracer.Setup

func dispositionFields(k Kinds) []Field {
	return []Field{{
		Name: "disposition", Type: String, Kinds: k,
		Values:  values(int(tracer.DispDefault), int(tracer.DispHandler), func(i int) string { return tracer.Disposition(i).String() }),
		Doc:     "what the receiver set up for the signal (generate: at sending; deliver: at delivery; exit: what the killing signal met)",
		Present: exitNeedsKiller,
		Str:     static(func(ev *tracer.Event) string { return setupOf(ev).Disposition.String() }),
	}, {
		Name: "handler", Type: String, Kinds: k,
		Doc: "disposition handler: the handler's address (0x...)",
		Present: func(ev *tracer.Event) bool {
			return exitNeedsKiller(ev) && setupOf(ev).Disposition == tracer.DispHandler
		},
		Str: func(dst []byte, ev *tracer.Event) []byte {
			return strconv.AppendUint(append(dst, "0x"...), setupOf(ev).Handler, 16)
		},
	}}
}

func defaultActionField(k Kinds) Field {
	return Field{
		Name: "default_action", Type: String, Kinds: k,
		Values:  values(int(signals.Terminate), int(signals.Continue), func(i int) string { return signals.Action(i).String() }),
		Doc:     "the signal's default action",
		Present: exitNeedsKiller,
		Str:     static(func(ev *tracer.Event) string { return setupOf(ev).DefaultAction.String() }),
	}
}

func onlyTrue(name, doc string, k Kinds, get func(*tracer.Event) bool) Field {
	return Field{Name: name, Type: Bool, Kinds: k, Doc: doc + " (only when true)", Present: get, Bool: get}
}

// syscallFields declares a {nr, name} object.
func syscallFields(prefix, doc string, k Kinds, has func(*tracer.Event) bool, nr func(*tracer.Event) int) []Field {
	return []Field{{
		Name: prefix + ".nr", Type: Int, Kinds: k, Present: has,
		Doc: doc + ": its number on this machine's architecture",
		Int: func(ev *tracer.Event) int64 { return int64(nr(ev)) },
	}, {
		Name: prefix + ".name", Type: String, Kinds: k, Present: has,
		Doc: doc + ": its name",
		Str: static(func(ev *tracer.Event) string { return syscalls.Name(nr(ev)) }),
	}}
}

// senderFields declares a sender: a process object with its argv and
// ancestry, or {"kernel": true, "reason"} for a signal the kernel raised.
// An event's own sender (sender, killer) when orig gives nil, the
// original's of a re-raise otherwise.
func senderFields(prefix, who string, k Kinds, kernel bool, from func(*tracer.Event) *tracer.From) []Field {
	isKernel := func(ev *tracer.Event) bool {
		f := from(ev)
		return f != nil && f.KernelSender
	}
	proc := func(ev *tracer.Event) *tracer.Process {
		if f := from(ev); f != nil && !f.KernelSender {
			return &f.Sender
		}
		return nil
	}
	truncated := func(ev *tracer.Event) bool {
		f := from(ev)
		return f != nil && f.ArgvTruncated
	}
	fs := []Field{{
		Name: prefix + ".kernel", Type: Bool, Kinds: k,
		Doc:     who + " is the kernel, which raised the signal itself (a fault, a timer, SIGPIPE, the OOM killer): then no process fields, but a reason",
		Present: isKernel,
		Bool:    isKernel,
	}, {
		Name: prefix + ".reason", Type: String, Kinds: k,
		Doc:     who + " is the kernel: why it raised the signal",
		Present: isKernel,
		Str: func(dst []byte, ev *tracer.Event) []byte {
			if f := from(ev); f != nil {
				return append(dst, f.KernelReason...)
			}
			return dst
		},
	}}
	if !strings.HasPrefix(prefix, "reraise_of") { // a re-raise passes no OOM kill on
		fs = append(fs, Field{
			Name: prefix + ".memory_cgroup", Type: String, Kinds: k,
			Doc: who + " is the OOM killer: the memory cgroup that ran out (the target's own or an ancestor's), when it could be resolved",
			Present: func(ev *tracer.Event) bool {
				f := from(ev)
				return f != nil && f.KernelSender && f.MemCgroup != ""
			},
			Str: func(dst []byte, ev *tracer.Event) []byte {
				if f := from(ev); f != nil {
					return append(dst, f.MemCgroup...)
				}
				return dst
			},
		})
	}
	return append(fs, processFields(prefix, who, k, proc, truncated, true, kernel)...)
}

var noProcess tracer.Process

// tidNote says which thread a process object names, where that varies.
var tidNote = map[string]string{
	"target": " (deliver: the thread taking the signal; exit: the last thread to exit, while comm names the process)",
}

// processFields declares a SPEC process object at prefix; proc gives it,
// or nil when the event has none. detail (a sender's) adds argv,
// argv_truncated and ancestry.
func processFields(prefix, who string, k Kinds, proc func(*tracer.Event) *tracer.Process, truncated func(*tracer.Event) bool, detail, kernel bool) []Field {
	p := func(ev *tracer.Event) *tracer.Process {
		if q := proc(ev); q != nil {
			return q
		}
		return &noProcess
	}
	has := func(ev *tracer.Event) bool { return proc(ev) != nil }
	fs := []Field{{
		Name: prefix + ".pid", Type: Uint, Kinds: k, Kernel: kernel, Present: has,
		Doc:  who + ": process id (tgid)",
		Uint: func(ev *tracer.Event) uint64 { return uint64(p(ev).PID) },
	}, {
		Name: prefix + ".tid", Type: Uint, Kinds: k, Present: has,
		Doc:  who + ": thread id" + tidNote[prefix],
		Uint: func(ev *tracer.Event) uint64 { return uint64(p(ev).TID) },
	}, {
		Name: prefix + ".comm", Type: String, Kinds: k, Kernel: kernel, Present: has,
		Doc: who + ": the process's name (its main thread's comm)",
		Str: func(dst []byte, ev *tracer.Event) []byte { return append(dst, tracer.CommBytes(p(ev).Comm[:])...) },
	}, {
		Name: prefix + ".thread_comm", Type: String, Kinds: k,
		Doc:     who + ": the thread's own name, when it has one apart from the process's",
		Present: func(ev *tracer.Event) bool { q := proc(ev); return q != nil && q.ThreadNamed() },
		Str: func(dst []byte, ev *tracer.Event) []byte {
			return append(dst, tracer.CommBytes(p(ev).ThreadComm[:])...)
		},
	}, {
		Name: prefix + ".uid", Type: Uint, Kinds: k, Kernel: kernel,
		Doc:     who + ": real user id",
		Present: func(ev *tracer.Event) bool { q := proc(ev); return q != nil && q.HasUID },
		Uint:    func(ev *tracer.Event) uint64 { return uint64(p(ev).UID) },
	}}
	fs = append(fs, Field{
		Name: prefix + ".cgroup", Type: String, Kinds: k,
		Doc:     who + ": its cgroup's path in the cgroup v2 hierarchy, when it could be resolved",
		Present: func(ev *tracer.Event) bool { q := proc(ev); return q != nil && q.Cg().Path != "" },
		Str:     func(dst []byte, ev *tracer.Event) []byte { return append(dst, p(ev).Cg().Path...) },
	}, Field{
		Name: prefix + ".unit", Type: String, Kinds: k,
		Doc:     who + ": the systemd unit its cgroup belongs to (the innermost: nginx.service, session-2.scope)",
		Present: func(ev *tracer.Event) bool { q := proc(ev); return q != nil && q.Cg().Unit != "" },
		Str:     func(dst []byte, ev *tracer.Event) []byte { return append(dst, p(ev).Cg().Unit...) },
	}, Field{
		Name: prefix + ".container", Type: String, Kinds: k,
		Doc:     who + ": the container id its cgroup names (docker, containerd, CRI-O, podman, kubepods)",
		Present: func(ev *tracer.Event) bool { q := proc(ev); return q != nil && q.Cg().Container != "" },
		Str:     func(dst []byte, ev *tracer.Event) []byte { return append(dst, p(ev).Cg().Container...) },
	})
	if !detail {
		return fs
	}
	return append(fs, detailFields(prefix, who, k, proc, truncated)...)
}

// detailFields declares a process's argv and ancestry.
func detailFields(prefix, who string, k Kinds, proc func(*tracer.Event) *tracer.Process, truncated func(*tracer.Event) bool) []Field {
	p := func(ev *tracer.Event) *tracer.Process {
		if q := proc(ev); q != nil {
			return q
		}
		return &noProcess
	}
	return []Field{{
		Name: prefix + ".argv", Type: List, Elem: String, Kinds: k,
		Doc:     who + ": command line, read in the kernel at sending",
		Present: func(ev *tracer.Event) bool { return len(p(ev).Argv) > 0 },
		Len:     func(ev *tracer.Event) int { return argvLen(p(ev).Argv) },
		StrAt:   func(dst []byte, ev *tracer.Event, i int) []byte { return append(dst, argvAt(p(ev).Argv, i)...) },
	}, Field{
		Name: prefix + ".argv_truncated", Type: Bool, Kinds: k,
		Doc:     who + ": argv was cut at the kernel's bound (only when true)",
		Present: func(ev *tracer.Event) bool { return len(p(ev).Argv) > 0 && truncated(ev) },
		Bool:    func(ev *tracer.Event) bool { return len(p(ev).Argv) > 0 && truncated(ev) },
	}, Field{
		Name: prefix + ".ancestry", Type: List, Elem: Object, Kinds: k,
		Doc:     who + ": its parents, parent first, up to 8: objects {pid, comm}",
		Present: func(ev *tracer.Event) bool { return len(p(ev).Ancestry) > 0 },
		Len:     func(ev *tracer.Event) int { return len(p(ev).Ancestry) },
	}, Field{
		Name: prefix + ".ancestry.pid", Type: List, Elem: Uint, Kinds: k,
		Doc:     who + ": its parents' pids, parent first",
		Present: func(ev *tracer.Event) bool { return len(p(ev).Ancestry) > 0 },
		Len:     func(ev *tracer.Event) int { return len(p(ev).Ancestry) },
		UintAt:  func(ev *tracer.Event, i int) uint64 { return uint64(p(ev).Ancestry[i].PID) },
	}, Field{
		Name: prefix + ".ancestry.comm", Type: List, Elem: String, Kinds: k,
		Doc:     who + ": its parents' names, parent first",
		Present: func(ev *tracer.Event) bool { return len(p(ev).Ancestry) > 0 },
		Len:     func(ev *tracer.Event) int { return len(p(ev).Ancestry) },
		StrAt: func(dst []byte, ev *tracer.Event, i int) []byte {
			return append(dst, tracer.CommBytes(p(ev).Ancestry[i].Comm[:])...)
		},
	}}
}

// static makes a String getter of a function that returns a string it
// does not allocate (a name from a table).
func static(get func(*tracer.Event) string) func([]byte, *tracer.Event) []byte {
	return func(dst []byte, ev *tracer.Event) []byte { return append(dst, get(ev)...) }
}

// appendSignalName writes the signal's name, also for a number that is
// none (signals.Name would allocate "SIG<n>").
func appendSignalName(dst []byte, sig int) []byte {
	if sig >= 1 && sig <= signals.Max {
		return append(dst, signals.Name(sig)...)
	}
	return strconv.AppendInt(append(dst, "SIG"...), int64(sig), 10)
}

// appendCode writes si_code by name, or its number.
func appendCode(dst []byte, sig int, code int32) []byte {
	if name, ok := signals.LookupCode(sig, code); ok {
		return append(dst, name...)
	}
	return strconv.AppendInt(dst, int64(code), 10)
}

// values names the enum values first..last.
func values(first, last int, name func(int) string) []string {
	var out []string
	for i := first; i <= last; i++ {
		out = append(out, name(i))
	}
	return out
}

func kindNames() []string {
	var out []string
	for _, t := range EventKinds {
		out = append(out, t.String())
	}
	return out
}

func saFlagNames() []string {
	var out []string
	for _, f := range signals.SAFlags {
		out = append(out, f.Name)
	}
	return out
}

func saFlagCount(flags uint64) int {
	n := 0
	for _, f := range signals.SAFlags {
		if flags&f.Bit != 0 {
			n++
		}
	}
	return n
}

func saFlagAt(flags uint64, i int) string {
	for _, f := range signals.SAFlags {
		if flags&f.Bit != 0 {
			if i == 0 {
				return f.Name
			}
			i--
		}
	}
	return ""
}

// argvLen and argvAt split a NUL-separated argv as the JSON appender
// does: a trailing NUL ends the last argument, and a last argument cut
// without one still counts.
func argvLen(argv []byte) int {
	n := 0
	for rest := argv; len(rest) > 0; n++ {
		end := bytes.IndexByte(rest, 0)
		if end < 0 {
			return n + 1
		}
		rest = rest[end+1:]
	}
	return n
}

func argvAt(argv []byte, i int) []byte {
	rest := argv
	for len(rest) > 0 {
		end := bytes.IndexByte(rest, 0)
		if end < 0 {
			end = len(rest)
		}
		if i == 0 {
			return rest[:end]
		}
		i--
		if end == len(rest) {
			break
		}
		rest = rest[end+1:]
	}
	return nil
}
