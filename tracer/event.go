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
)

var typeNames = [...]string{"", "generate", "deliver", "lost", "exit", "pending"}

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

// Process is a SPEC process object. Comm is NUL-padded as the kernel keeps
// it; Argv, when known, is NUL-separated as in /proc/PID/cmdline.
type Process struct {
	PID, TID uint32
	UID      uint32
	HasUID   bool
	Comm     [16]byte
	Argv     []byte
	Ancestry []Ancestor
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

// Event is one decoded record, the Go form of the SPEC's JSON object. A
// Reader reuses one Event: copy what must outlive the callback.
type Event struct {
	Time time.Time
	Type EventType
	Sig  int
	Code int32

	// bootNs is the kernel's CLOCK_BOOTTIME stamp Time came from: it
	// never steps, so durations between events are taken from it.
	bootNs int64

	// Sender is meaningful when !KernelSender; a kernel-raised signal has
	// a Reason instead of whatever task happened to be running.
	Sender       Process
	KernelSender bool
	KernelReason string

	Target Process
	Scope  Scope

	// DetailID names the sender detail (Sender.Argv, Sender.Ancestry and
	// ArgvTruncated) this event carries: events with the same non-zero
	// DetailID carry identical detail, so a renderer may cache what it
	// made of it. 0: no identity (render the fields as they are).
	DetailID uint64

	Result        Result
	Disposition   Disposition
	Handler       uint64
	SAFlags       uint64
	DefaultAction signals.Action
	Blocked       bool
	Traced        bool
	SigWait       bool
	Unkillable    bool
	ArgvTruncated bool

	Verdict

	// Deliver: the group was already dying of ExitSignal when this
	// thread took its (internal) SIGKILL.
	GroupExit  bool
	ExitSignal int
	CoreDumped bool

	// Exit: the killer (in Sender/KernelSender/KernelReason, with the
	// killing signal's Code and the Disposition it met) was joined in the
	// kernel. ExitSignal/CoreDumped say what the process died of.
	KillerKnown bool

	// Deliver: the system call the signal interrupted (x86_64, 5.15+),
	// and what becomes of it.
	HasSyscall     bool
	SyscallNr      int
	SyscallOutcome SyscallOutcome

	// Deliver: time since the generate event this delivery answers, when
	// that was seen.
	LatencyNs  int64
	HasLatency bool

	// Pending: generated PendingNs ago and still not delivered.
	PendingNs     int64
	PendingReason PendingReason

	// Lost: reserve failures since the previous lost record.
	Lost uint64
}

// Clone returns a copy of ev that owns its ancestry and argv, for callers
// that keep events beyond the Handler call: a Reader reuses its Event, and
// the decoder keeps the detail events point to.
func (ev *Event) Clone() Event {
	c := *ev
	if ev.Sender.Ancestry != nil {
		c.Sender.Ancestry = append([]Ancestor(nil), ev.Sender.Ancestry...)
	}
	if ev.Sender.Argv != nil {
		c.Sender.Argv = append([]byte(nil), ev.Sender.Argv...)
	}
	return c
}
