package tracer

import (
	"bytes"
	"time"

	"github.com/sigtrace/sigtrace/signals"
)

// EventType is the SPEC's `type` field.
type EventType uint8

const (
	TypeGenerate EventType = iota + 1
	TypeDeliver
	TypeLost
	TypeExit
	TypePending
	// TypeCount: counts of events instead of the events (--count-by, and
	// repeated traffic summarised beyond a per-key rate). Made in Go,
	// never by the kernel side.
	TypeCount
	// TypeGap: events a recording could not write (disk full).
	TypeGap
	// TypeDisposition: a process changed what it does with a signal.
	TypeDisposition
)

var typeNames = [...]string{"", "generate", "deliver", "lost", "exit", "pending", "count", "gap", "disposition"}

// ParseType is String backwards (false for a name no kind has).
func ParseType(name string) (EventType, bool) {
	for i, n := range typeNames {
		if n == name && i > 0 {
			return EventType(i), true
		}
	}
	return 0, false
}

func (t EventType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

// Result is the kernel's own verdict on queueing (enum trace_signal_result
// in include/trace/events/signal.h).
type Result uint8

const (
	ResultDelivered      Result = 0
	ResultIgnored        Result = 1
	ResultAlreadyPending Result = 2
	ResultOverflow       Result = 3
	ResultLoseInfo       Result = 4
)

var resultNames = [...]string{"delivered", "ignored", "already_pending", "overflow", "lose_info"}

func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "unknown"
}

// Disposition is what the receiver set up for the signal.
type Disposition uint8

const (
	DispDefault Disposition = iota
	DispIgnore
	DispHandler
)

var dispNames = [...]string{"default", "ignore", "handler"}

func (d Disposition) String() string { return dispNames[d] }

// DispositionOf classifies a sa_handler value (SIG_DFL is 0, SIG_IGN 1 in
// include/uapi/asm-generic/signal-defs.h).
func DispositionOf(handler uint64) Disposition {
	switch handler {
	case 0:
		return DispDefault
	case 1:
		return DispIgnore
	}
	return DispHandler
}

// Scope says whether a signal was sent to a process or to one thread.
type Scope uint8

const (
	ScopeProcess Scope = iota
	ScopeThread
)

func (s Scope) String() string {
	if s == ScopeThread {
		return "thread"
	}
	return "process"
}

// Ancestor is one step of a sender's parent chain.
type Ancestor struct {
	PID  uint32
	Comm [16]byte
}

// Process is a SPEC process object. Comm is the process's name (its
// group leader's comm) and ThreadComm the name of thread TID, which
// programs set apart (rsyslogd's "rs:main Q:Reg"); both NUL-padded as the
// kernel keeps them. Argv, when known, is NUL-separated as in
// /proc/PID/cmdline.
type Process struct {
	PID, TID   uint32
	UID        uint32
	HasUID     bool
	Comm       [16]byte
	ThreadComm [16]byte
	Argv       []byte
	Ancestry   []Ancestor
	// CgroupID is the process's cgroup in the default (v2) hierarchy, as
	// the kernel names it (0: not known); Cgroup its path and what that
	// says (unit, container), nil when it could not be resolved. Shared,
	// never changed: it outlives the event.
	CgroupID uint64
	Cgroup   *CgroupInfo
}

var noCgroup CgroupInfo

// Cg is the process's cgroup information, empty when not known.
func (p *Process) Cg() *CgroupInfo {
	if p.Cgroup == nil {
		return &noCgroup
	}
	return p.Cgroup
}

// own makes p's ancestry and argv its own copies.
func (p *Process) own() {
	if p.Ancestry != nil {
		p.Ancestry = append([]Ancestor(nil), p.Ancestry...)
	}
	if p.Argv != nil {
		p.Argv = append([]byte(nil), p.Argv...)
	}
}

// ThreadNamed says whether the thread has a name of its own, which
// renderers show beside the process's.
func (p *Process) ThreadNamed() bool {
	return p.ThreadComm[0] != 0 && p.ThreadComm != p.Comm
}

// CommString returns the comm as a Go string (allocates).
func (p *Process) CommString() string { return commString(p.Comm[:]) }

// ArgvStrings splits Argv (allocates).
func (p *Process) ArgvStrings() []string {
	if len(p.Argv) == 0 {
		return nil
	}
	parts := bytes.Split(bytes.TrimRight(p.Argv, "\x00"), []byte{0})
	out := make([]string, len(parts))
	for i, a := range parts {
		out[i] = string(a)
	}
	return out
}

func commString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// CommBytes trims a NUL-padded comm without allocating.
func CommBytes(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// Event is one decoded record, the Go form of the SPEC's JSON object: a
// head every kind has (time, type, signal, code, target, scope) and one
// typed payload per kind, of which only the one Type names is meaningful.
// The payloads are values inside the one Event, not pointers, so that a
// Reader reuses one Event for every record without allocating: copy what
// must outlive the callback (Clone).
type Event struct {
	Time time.Time
	Type EventType
	Sig  int
	// Code is the si_code of the signal; for an exit, of the signal that
	// killed the process (when its killer is known).
	Code int32

	// bootNs is the kernel's CLOCK_BOOTTIME stamp Time came from: it
	// never steps, so durations between events are taken from it.
	bootNs int64

	// Target is who the signal is for: a generate's receiver, the thread
	// taking a delivery, the process an exit is of.
	Target Process
	Scope  Scope

	Generate Generate
	Deliver  Deliver
	Exit     Exit
	Pending  Pending
	Lost     Lost
	Count    Count
	Gap      Gap
	// Disposition: the payload of a disposition event (Target is the
	// process, with its ancestry and argv).
	Disposition Change
}

// From is who sent a signal: a process, or the kernel (KernelSender)
// with a Reason instead of whatever task happened to be running. A
// generate's sender, an exit's killer and a re-raise's original sender
// are one.
type From struct {
	// Sender is meaningful when !KernelSender.
	Sender       Process
	KernelSender bool
	KernelReason string
	// MemCgroup: for an OOM kill, the path of the memory cgroup that ran
	// out (the target's own or an ancestor; on a v1 host, of the memory
	// hierarchy).
	MemCgroup string
	// DetailID names the sender detail (Sender.Argv, Sender.Ancestry and
	// ArgvTruncated) this event carries: events with the same non-zero
	// DetailID carry identical detail, so a renderer may cache what it
	// made of it. 0: no identity (render the fields as they are).
	DetailID      uint64
	ArgvTruncated bool
}

// Setup is what the receiver had set up for the signal when it met it.
type Setup struct {
	Disposition   Disposition
	Handler       uint64
	SAFlags       uint64
	DefaultAction signals.Action
}

// Generate is the payload of a generate event: a signal was sent.
type Generate struct {
	From
	Setup
	Result     Result
	Blocked    bool
	Traced     bool
	SigWait    bool
	Unkillable bool
	// TargetExiting: the target's group was already exiting, so the
	// kernel dropped the signal (result ignored).
	TargetExiting bool

	Verdict

	// Go: a Go program's runtime met the signal (its handler), when
	// Go.Met. When the runtime will end the process, the verdict says
	// fatal although a handler is installed.
	Go GoRuntime

	// The system call the sender made (HasSendSyscall), and whether it
	// was a process-group or broadcast kill().
	HasSendSyscall bool
	SendSyscallNr  int
	GroupSend      GroupSend
	GroupID        uint32 // the process group of a GroupSendPgrp

	// ReraiseOf: this self-sent signal re-raises Original, which reached
	// the process's handler shortly before. Points into the tracer's
	// table: valid until the next event, like Sender's detail.
	ReraiseOf *Original
}

// Deliver is the payload of a deliver event: the thread takes the signal.
type Deliver struct {
	Setup

	// The system call the signal interrupted (x86_64, 5.15+), and what
	// becomes of it.
	HasSyscall     bool
	SyscallNr      int
	SyscallOutcome SyscallOutcome

	// LatencyNs: time since the generate event this delivery answers,
	// when that was seen.
	LatencyNs  int64
	HasLatency bool

	// GroupExit: the group was already dying of ExitSignal when this
	// thread took its (internal) SIGKILL.
	GroupExit  bool
	ExitSignal int
	CoreDumped bool
	// KillCause: why the kernel itself queued this SIGKILL to the thread,
	// when nobody sent it (KillNone for a SIGKILL someone sent).
	KillCause KillCause
}

// Exit is the payload of an exit event: a process died of the signal in
// the head (from group_exit_code).
type Exit struct {
	// KillerKnown: the killer, and the Setup the killing signal met (the
	// head's Code is its si_code), was joined in the kernel.
	KillerKnown bool
	Killer      From
	Setup
	CoreDumped bool
	// KillerVia: KillerReraise when the process re-raised the signal it
	// died of and Killer is the sender of the one its handler caught
	// (see reraises), not the process itself.
	KillerVia KillerVia
	// DefaultSince: since when the signal's disposition had been the
	// default, when disposition history saw it (Known).
	DefaultSince Since
}

// Since is when a process made a signal fatal to itself, and how: by a
// sigaction, SA_RESETHAND, or (CauseExec) it exec'd then, and did not
// change the signal after.
type Since struct {
	Known bool
	Time  time.Time
	Cause Cause
}

// Pending is the payload of a pending event: generated Ns ago and still
// not delivered.
type Pending struct {
	Ns     int64
	Reason PendingReason
	// WhenUnblocked: for PendingBlocked, what the signal does once
	// unblocked, as the generate event predicted.
	WhenUnblocked Unblocked
	// Wait: for PendingUninterruptible, where the task waits (nil
	// otherwise). Made for this event and never changed after.
	Wait *WaitSite
}

// Lost is the payload of a lost event: records the kernel side could not
// hand over since the previous lost record; Shed of them were ordinary
// records dropped to keep the ring's reserve for deaths (Options.Reserve);
// Missed of them were signals the kernel ran no program for, because the
// program was already running on that CPU (Stats.Missed).
type Lost struct {
	Count  uint64
	Shed   uint64
	Missed uint64
}

// Count is the payload of a count event: N events had the values Keys
// give (in the order they were asked for), in the interval that ended at
// IntervalEnd (zero: since the start).
type Count struct {
	Keys        []CountValue
	N           uint64
	IntervalEnd time.Time
}

// CountValue is one counted field and its value, as JSON writes it (a
// quoted string, a number, true/false, or null when the events did not
// carry the field).
type CountValue struct {
	Field string
	Value []byte
}

// Gap is the payload of a gap event: Count events between From and To
// that a recording could not write.
type Gap struct {
	Count    uint64
	From, To time.Time
	Error    string // why, as the writer last saw it ("no space left on device")
}

// Cause says what changed a disposition.
type Cause uint8

const (
	CauseSigaction Cause = iota + 1 // rt_sigaction, sigaction, signal
	CauseExec                       // execve reset the handlers to default
	CauseResethand                  // SA_RESETHAND, as the handler ran
)

var causeNames = [...]string{"", "sigaction", "exec", "resethand"}

func (c Cause) String() string {
	if int(c) < len(causeNames) && c > 0 {
		return causeNames[c]
	}
	return "unknown"
}

// ParseCause is String backwards.
func ParseCause(name string) (Cause, bool) {
	for i, n := range causeNames {
		if n == name && i > 0 {
			return Cause(i), true
		}
	}
	return 0, false
}

// Change is the payload of a disposition event: the process changed
// what it does with the head's signal from From to To.
type Change struct {
	Cause    Cause
	From, To Setup
	// Fatal: the signal now kills the process (its default action kills
	// and the new disposition is the default).
	Fatal bool
	// Vfork: made by a vfork child between its spawn and its exec
	// (reported with HistoryAll only).
	Vfork         bool
	ArgvTruncated bool
	// resets: an exec record's other signals, still to be handed over
	// as events of their own (Run); bit sig-1.
	resets uint64
}

// From returns the event's sender: a generate's, or an exit's killer
// (nil for other kinds, and for an exit whose killer is not known).
func (ev *Event) From() *From {
	switch {
	case ev.Type == TypeGenerate:
		return &ev.Generate.From
	case ev.Type == TypeExit && ev.Exit.KillerKnown:
		return &ev.Exit.Killer
	}
	return nil
}

// WhenUnblocked is what a blocked signal does once unblocked: a
// generate's prediction, or a pending event's copy of it.
func (ev *Event) WhenUnblocked() Unblocked {
	switch ev.Type {
	case TypeGenerate:
		return ev.Generate.WhenUnblocked
	case TypePending:
		return ev.Pending.WhenUnblocked
	}
	return UnblockedNone
}

// Setup returns what the receiver had set up, for the kinds that say it
// (generate, deliver, and an exit with a known killer); nil otherwise.
func (ev *Event) Setup() *Setup {
	switch ev.Type {
	case TypeGenerate:
		return &ev.Generate.Setup
	case TypeDeliver:
		return &ev.Deliver.Setup
	case TypeExit:
		return &ev.Exit.Setup
	}
	return nil
}

// Clone returns a copy of ev that owns its ancestry and argv, for callers
// that keep events beyond the Handler call: a Reader reuses its Event, and
// the decoder keeps the detail events point to.
func (ev *Event) Clone() Event {
	c := *ev
	c.Generate.Sender.own()
	c.Exit.Killer.Sender.own()
	c.Target.own()
	if ev.Count.Keys != nil {
		c.Count.Keys = make([]CountValue, len(ev.Count.Keys))
		for i, k := range ev.Count.Keys {
			c.Count.Keys[i] = CountValue{Field: k.Field, Value: append([]byte(nil), k.Value...)}
		}
	}
	if ev.Generate.ReraiseOf != nil {
		o := *ev.Generate.ReraiseOf
		o.Sender.own()
		c.Generate.ReraiseOf = &o
	}
	return c
}

// GroupSend says whether a signal came from a kill() at many processes,
// each of which gets its own generate event.
type GroupSend uint8

const (
	GroupSendNone      GroupSend = iota
	GroupSendPgrp                // kill(-pgid, sig), killpg(), or kill(0, sig): the sender's own group
	GroupSendBroadcast           // kill(-1, sig): every process the sender may signal
)

var groupSendNames = [...]string{"", "process_group", "broadcast"}

func (g GroupSend) String() string { return groupSendNames[g] }

// KillCause is why the kernel queued a SIGKILL to a thread itself
// (kernel/signal.c get_signal(), "Has this task already been marked for
// death?"): nobody sent it.
type KillCause uint8

const (
	KillNone        KillCause = iota
	KillFatalSignal           // the group dies of a fatal signal (ExitSignal)
	KillExitGroup             // another thread called exit_group()
	KillExec                  // another thread execs (de_thread())
	KillCoredump              // the group dumps core (ExitSignal)
)

var killCauseNames = [...]string{"", "fatal_signal", "exit_group", "exec", "coredump"}

func (k KillCause) String() string { return killCauseNames[k] }
