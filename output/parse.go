package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sigtrace/sigtrace/goruntime"
	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tracer"
)

// ErrNotEvent is returned by Parser.Parse for a line that is valid JSON
// but no event (a recording's header, or a type this version does not
// know): a reader skips it, or handles it itself.
var ErrNotEvent = errors.New("not an event")

// Parser reads the JSON lines AppendJSON writes back into events: what
// `replay` runs through the same filters, templates, counts and
// renderers as `trace`. It is AppendJSON backwards, and a test holds the
// two to each other on every fixture (what AppendJSON writes, Parse reads
// to an event AppendJSON writes the same). A Parser reuses its buffers:
// the event it fills is valid until the next call.
type Parser struct {
	w       wireEvent
	cgroups map[string]*tracer.CgroupInfo // by path: ParseCgroupPath once per cgroup
	orig    tracer.Original
}

// NewParser returns a Parser.
func NewParser() *Parser { return &Parser{cgroups: map[string]*tracer.CgroupInfo{}} }

// wireEvent is the JSON schema as encoding/json reads it: every key any
// kind writes. The names are the registry's (package fields).
type wireEvent struct {
	Time          string          `json:"time"`
	Type          string          `json:"type"`
	Signal        *wireSignal     `json:"signal"`
	Code          json.RawMessage `json:"code"`
	Sender        *wireProc       `json:"sender"`
	Target        *wireProc       `json:"target"`
	Killer        *wireProc       `json:"killer"`
	KillerVia     string          `json:"killer_via"`
	Scope         string          `json:"scope"`
	Result        string          `json:"result"`
	Disposition   string          `json:"disposition"`
	Handler       string          `json:"handler"`
	DefaultAction string          `json:"default_action"`
	Blocked       bool            `json:"blocked"`
	Traced        bool            `json:"traced"`
	SigWait       bool            `json:"sigwait"`
	TargetExiting bool            `json:"target_exiting"`
	Unkillable    bool            `json:"unkillable"`
	GoRuntime     *struct {
		Action    string `json:"action"`
		Notified  bool   `json:"notified"`
		MaskKnown bool   `json:"mask_known"`
	} `json:"go_runtime"`
	SendSyscall *wireSyscall `json:"send_syscall"`
	GroupSend   *struct {
		Kind string `json:"kind"`
		PGID uint32 `json:"pgid"`
	} `json:"group_send"`
	Verdict            string `json:"verdict"`
	Fatal              bool   `json:"fatal"`
	Unprepared         bool   `json:"unprepared"`
	FatalWhenUnblocked bool   `json:"fatal_when_unblocked"`
	WhenUnblocked      string `json:"when_unblocked"`
	ReraiseOf          *struct {
		Sender *wireProc       `json:"sender"`
		Code   json.RawMessage `json:"code"`
		Time   string          `json:"time"`
	} `json:"reraise_of"`

	Flags     []string     `json:"flags"`
	Syscall   *wireSyscall `json:"syscall"`
	LatencyNs *int64       `json:"latency_ns"`
	KillCause string       `json:"kill_cause"`
	GroupExit *struct {
		Signal     wireSignal `json:"signal"`
		CoreDumped bool       `json:"core_dumped"`
	} `json:"group_exit"`
	CoreDumped bool `json:"core_dumped"`

	PendingNs int64  `json:"pending_ns"`
	Reason    string `json:"reason"`
	Wait      *struct {
		Stack      []string     `json:"stack"`
		StackError string       `json:"stack_error"`
		Syscall    *wireSyscall `json:"syscall"`
	} `json:"wait"`

	Count       uint64          `json:"count"`
	Shed        uint64          `json:"shed"`
	Missed      uint64          `json:"missed"`
	Keys        json.RawMessage `json:"keys"`
	IntervalEnd string          `json:"interval_end"`
	// from and to: a gap's times (strings), a disposition's setups
	// (objects).
	From         json.RawMessage `json:"from"`
	To           json.RawMessage `json:"to"`
	Cause        string          `json:"cause"`
	DefaultSince *struct {
		Time  string `json:"time"`
		Cause string `json:"cause"`
	} `json:"default_since"`
	Vfork bool   `json:"vfork"`
	Error string `json:"error"`
}

type wireSignal struct {
	Num int `json:"num"`
}

type wireSyscall struct {
	Nr      int    `json:"nr"`
	Outcome string `json:"outcome"`
}

type wireProc struct {
	Kernel        bool     `json:"kernel"`
	Reason        string   `json:"reason"`
	MemoryCgroup  string   `json:"memory_cgroup"`
	PID           uint32   `json:"pid"`
	TID           uint32   `json:"tid"`
	Comm          string   `json:"comm"`
	ThreadComm    string   `json:"thread_comm"`
	Cgroup        *string  `json:"cgroup"`
	UID           *uint32  `json:"uid"`
	Argv          []string `json:"argv"`
	ArgvTruncated bool     `json:"argv_truncated"`
	Ancestry      []struct {
		PID  uint32 `json:"pid"`
		Comm string `json:"comm"`
	} `json:"ancestry"`
}

// Parse fills ev from one JSON line. A line of an unknown type, or a
// recording's header, gives ErrNotEvent; anything else wrong (not JSON, a
// value out of its set) an error that says what.
func (p *Parser) Parse(line []byte, ev *tracer.Event) error {
	p.w = wireEvent{}
	if err := json.Unmarshal(line, &p.w); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	w := &p.w
	*ev = tracer.Event{}
	typ, ok := tracer.ParseType(w.Type)
	if !ok {
		return fmt.Errorf("%w: type %q", ErrNotEvent, w.Type)
	}
	ev.Type = typ
	var err error
	if ev.Time, err = parseTime("time", w.Time); err != nil {
		return err
	}
	switch typ {
	case tracer.TypeLost:
		ev.Lost = tracer.Lost{Count: w.Count, Shed: w.Shed, Missed: w.Missed}
		return nil
	case tracer.TypeGap:
		ev.Gap.Count = w.Count
		if ev.Gap.From, err = parseRawTime("from", w.From); err != nil {
			return err
		}
		ev.Gap.Error = w.Error
		ev.Gap.To, err = parseRawTime("to", w.To)
		return err
	case tracer.TypeCount:
		return p.parseCount(w, ev)
	}
	if w.Signal == nil || !signals.Valid(w.Signal.Num) {
		return errors.New("no valid signal")
	}
	ev.Sig = w.Signal.Num
	if w.Target == nil {
		return errors.New("no target")
	}
	if err := p.proc(w.Target, &ev.Target); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if typ == tracer.TypeDisposition {
		return p.parseChange(w, ev)
	}
	if ev.Code, err = parseCode(ev.Sig, w.Code); err != nil {
		return err
	}
	switch typ {
	case tracer.TypeGenerate:
		return p.parseGenerate(w, ev)
	case tracer.TypeDeliver:
		return p.parseDeliver(w, ev)
	case tracer.TypeExit:
		return p.parseExit(w, ev)
	case tracer.TypePending:
		return p.parsePending(w, ev)
	}
	return nil
}

// wireSetup is a disposition event's from or to.
type wireSetup struct {
	Disposition string   `json:"disposition"`
	Handler     string   `json:"handler"`
	Flags       []string `json:"flags"`
}

func (p *Parser) parseChange(w *wireEvent, ev *tracer.Event) error {
	c := &ev.Disposition
	var err error
	ev.Scope = tracer.ScopeProcess
	if c.Cause, err = enum("cause", w.Cause, tracer.Cause.String); err != nil {
		return err
	}
	for _, side := range []struct {
		name string
		raw  json.RawMessage
		dst  *tracer.Setup
	}{{"from", w.From, &c.From}, {"to", w.To, &c.To}} {
		var ws wireSetup
		if err := json.Unmarshal(side.raw, &ws); err != nil || len(side.raw) == 0 {
			return fmt.Errorf("%s: no disposition object", side.name)
		}
		sw := wireEvent{Disposition: ws.Disposition, Handler: ws.Handler, DefaultAction: w.DefaultAction}
		if err := setup(ev.Sig, &sw, side.dst); err != nil {
			return fmt.Errorf("%s: %w", side.name, err)
		}
		for _, f := range ws.Flags {
			bit, ok := saFlagBit(f)
			if !ok {
				return fmt.Errorf("%s.flags: unknown flag %q", side.name, f)
			}
			side.dst.SAFlags |= bit
		}
	}
	c.Fatal, c.Vfork = w.Fatal, w.Vfork
	c.ArgvTruncated = w.Target.ArgvTruncated
	return nil
}

func (p *Parser) parseGenerate(w *wireEvent, ev *tracer.Event) error {
	g := &ev.Generate
	var err error
	if ev.Scope, err = enum("scope", w.Scope, tracer.Scope.String); err != nil {
		return err
	}
	if w.Sender == nil {
		return errors.New("no sender")
	}
	if err := p.from(w.Sender, &g.From); err != nil {
		return fmt.Errorf("sender: %w", err)
	}
	if g.Result, err = enum("result", w.Result, tracer.Result.String); err != nil {
		return err
	}
	if err := setup(ev.Sig, w, &g.Setup); err != nil {
		return err
	}
	g.Blocked, g.Traced, g.SigWait, g.TargetExiting, g.Unkillable = w.Blocked, w.Traced, w.SigWait, w.TargetExiting, w.Unkillable
	if gr := w.GoRuntime; gr != nil {
		g.Go = tracer.GoRuntime{Met: true, Notified: gr.Notified, MaskKnown: gr.MaskKnown}
		if g.Go.Action, err = enum("go_runtime.action", gr.Action, goruntime.Action.String); err != nil {
			return err
		}
	}
	if s := w.SendSyscall; s != nil {
		g.HasSendSyscall, g.SendSyscallNr = true, s.Nr
	}
	if gs := w.GroupSend; gs != nil {
		if g.GroupSend, err = enum("group_send.kind", gs.Kind, tracer.GroupSend.String); err != nil {
			return err
		}
		g.GroupID = gs.PGID
	}
	if g.Kind, err = enum("verdict", w.Verdict, tracer.VerdictKind.String); err != nil {
		return err
	}
	g.Fatal, g.Unprepared, g.FatalWhenUnblocked = w.Fatal, w.Unprepared, w.FatalWhenUnblocked
	if w.WhenUnblocked != "" {
		if g.WhenUnblocked, err = enum("when_unblocked", w.WhenUnblocked, tracer.Unblocked.String); err != nil {
			return err
		}
	}
	if r := w.ReraiseOf; r != nil {
		o := &p.orig
		*o = tracer.Original{}
		if r.Sender == nil {
			return errors.New("reraise_of: no sender")
		}
		if err := p.from(r.Sender, &o.From); err != nil {
			return fmt.Errorf("reraise_of.sender: %w", err)
		}
		if o.Code, err = parseCode(ev.Sig, r.Code); err != nil {
			return fmt.Errorf("reraise_of: %w", err)
		}
		if o.Time, err = parseTime("reraise_of.time", r.Time); err != nil {
			return err
		}
		g.ReraiseOf = o
	}
	return nil
}

func (p *Parser) parseDeliver(w *wireEvent, ev *tracer.Event) error {
	d := &ev.Deliver
	ev.Scope = tracer.ScopeThread
	if err := setup(ev.Sig, w, &d.Setup); err != nil {
		return err
	}
	for _, name := range w.Flags {
		bit, ok := saFlagBit(name)
		if !ok {
			return fmt.Errorf("flags: unknown %q", name)
		}
		d.SAFlags |= bit
	}
	var err error
	if s := w.Syscall; s != nil {
		d.HasSyscall, d.SyscallNr = true, s.Nr
		if d.SyscallOutcome, err = enum("syscall.outcome", s.Outcome, tracer.SyscallOutcome.String); err != nil {
			return err
		}
	}
	if w.LatencyNs != nil {
		d.HasLatency, d.LatencyNs = true, *w.LatencyNs
	}
	if w.KillCause != "" {
		if d.KillCause, err = enum("kill_cause", w.KillCause, tracer.KillCause.String); err != nil {
			return err
		}
	}
	if ge := w.GroupExit; ge != nil {
		d.GroupExit, d.ExitSignal, d.CoreDumped = true, ge.Signal.Num, ge.CoreDumped
	}
	return nil
}

func (p *Parser) parseExit(w *wireEvent, ev *tracer.Event) error {
	x := &ev.Exit
	ev.Scope = tracer.ScopeProcess
	x.CoreDumped = w.CoreDumped
	x.DefaultAction = signals.DefaultAction(ev.Sig)
	if ds := w.DefaultSince; ds != nil {
		var err error
		x.DefaultSince.Known = true
		if x.DefaultSince.Time, err = parseTime("default_since.time", ds.Time); err != nil {
			return err
		}
		if x.DefaultSince.Cause, err = enum("default_since.cause", ds.Cause, tracer.Cause.String); err != nil {
			return err
		}
	}
	if w.Killer == nil {
		return nil
	}
	x.KillerKnown = true
	if err := p.from(w.Killer, &x.Killer); err != nil {
		return fmt.Errorf("killer: %w", err)
	}
	if w.KillerVia != "" {
		var err error
		if x.KillerVia, err = enum("killer_via", w.KillerVia, tracer.KillerVia.String); err != nil {
			return err
		}
	}
	return setup(ev.Sig, w, &x.Setup)
}

func (p *Parser) parsePending(w *wireEvent, ev *tracer.Event) error {
	pe := &ev.Pending
	var err error
	if ev.Scope, err = enum("scope", w.Scope, tracer.Scope.String); err != nil {
		return err
	}
	pe.Ns = w.PendingNs
	if pe.Reason, err = enum("reason", w.Reason, tracer.PendingReason.String); err != nil {
		return err
	}
	if w.WhenUnblocked != "" {
		if pe.WhenUnblocked, err = enum("when_unblocked", w.WhenUnblocked, tracer.Unblocked.String); err != nil {
			return err
		}
	}
	if ws := w.Wait; ws != nil {
		site := &tracer.WaitSite{Stack: ws.Stack, StackErr: ws.StackError}
		if ws.Syscall != nil {
			site.InSyscall, site.SyscallNr = true, ws.Syscall.Nr
		}
		pe.Wait = site
	}
	return nil
}

// parseCount reads keys in the order they were written: that is the
// order they were asked for.
func (p *Parser) parseCount(w *wireEvent, ev *tracer.Event) error {
	c := &ev.Count
	c.N = w.Count
	if w.IntervalEnd != "" {
		var err error
		if c.IntervalEnd, err = parseTime("interval_end", w.IntervalEnd); err != nil {
			return err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(w.Keys))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("keys: not an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("keys: %w", err)
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("keys.%s: %w", name, err)
		}
		if string(v) == "null" {
			v = nil
		}
		c.Keys = append(c.Keys, tracer.CountValue{Field: name, Value: v})
	}
	return nil
}

// proc reads a process object.
func (p *Parser) proc(w *wireProc, out *tracer.Process) error {
	*out = tracer.Process{PID: w.PID, TID: w.TID}
	// At most the kernel's 15 bytes and a NUL: a hostile name written
	// with replacement characters may have grown.
	copy(out.Comm[:15], w.Comm)
	if w.ThreadComm != "" {
		copy(out.ThreadComm[:15], w.ThreadComm)
	} else {
		out.ThreadComm = out.Comm
	}
	if w.UID != nil {
		out.UID, out.HasUID = *w.UID, true
	}
	if w.Cgroup != nil {
		ci, ok := p.cgroups[*w.Cgroup]
		if !ok {
			if len(p.cgroups) > 4096 { // a bound, whatever a file holds
				clear(p.cgroups)
			}
			ci = tracer.ParseCgroupPath(*w.Cgroup)
			p.cgroups[*w.Cgroup] = ci
		}
		out.Cgroup = ci
	}
	if len(w.Argv) > 0 {
		n := 0
		for _, a := range w.Argv {
			n += len(a) + 1
		}
		argv := make([]byte, 0, n)
		for _, a := range w.Argv {
			argv = append(append(argv, a...), 0)
		}
		out.Argv = argv
	}
	if len(w.Ancestry) > 0 {
		out.Ancestry = make([]tracer.Ancestor, len(w.Ancestry))
		for i, a := range w.Ancestry {
			out.Ancestry[i].PID = a.PID
			copy(out.Ancestry[i].Comm[:15], a.Comm)
		}
	}
	return nil
}

// from reads a sender: the kernel with its reason, or a process.
func (p *Parser) from(w *wireProc, f *tracer.From) error {
	if w.Kernel {
		f.KernelSender, f.KernelReason, f.MemCgroup = true, w.Reason, w.MemoryCgroup
		return nil
	}
	f.ArgvTruncated = w.ArgvTruncated
	return p.proc(w, &f.Sender)
}

func setup(sig int, w *wireEvent, s *tracer.Setup) error {
	var err error
	if s.Disposition, err = enum("disposition", w.Disposition, tracer.Disposition.String); err != nil {
		return err
	}
	if w.Handler != "" {
		h, ok := strings.CutPrefix(w.Handler, "0x")
		if s.Handler, err = strconv.ParseUint(h, 16, 64); !ok || err != nil {
			return fmt.Errorf("handler %q is no 0x address", w.Handler)
		}
	} else if s.Disposition == tracer.DispIgnore {
		s.Handler = 1 // SIG_IGN
	}
	s.DefaultAction = signals.DefaultAction(sig)
	if w.DefaultAction != "" {
		if s.DefaultAction, err = enum("default_action", w.DefaultAction, signals.Action.String); err != nil {
			return err
		}
	}
	return nil
}

// enum finds the value of a uint8 enum whose String is name. Each enum's
// names are listed once, on first use, by calling its String on every
// value until it has no more (an index out of its names, or "unknown").
func enum[T ~uint8](field, name string, str func(T) string) (T, error) {
	enumMu.Lock()
	names, ok := enumNames[field]
	if !ok {
		names = map[string]uint8{}
		for i := range 256 {
			n, ok := nameOf(str, T(i))
			if !ok {
				break
			}
			if _, dup := names[n]; !dup {
				names[n] = uint8(i)
			}
		}
		enumNames[field] = names
	}
	enumMu.Unlock()
	v, ok := names[name]
	if !ok || name == "" {
		return 0, fmt.Errorf("%s: unknown value %q", field, name)
	}
	return T(v), nil
}

var (
	enumMu    sync.Mutex
	enumNames = map[string]map[string]uint8{}
)

// nameOf calls str, which may index past its names for a value it does
// not have.
func nameOf[T ~uint8](str func(T) string, v T) (name string, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return str(v), true
}

func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is no RFC 3339 time", field, s)
	}
	return t, nil
}

// parseCode reads si_code: a name (for sig), or a number.
// parseRawTime parses a time given as a JSON string.
func parseRawTime(field string, raw json.RawMessage) (time.Time, error) {
	var s string
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, fmt.Errorf("%s: not a time string", field)
		}
	}
	return parseTime(field, s)
}

func parseCode(sig int, raw json.RawMessage) (int32, error) {
	if len(raw) == 0 {
		return 0, nil // an exit whose killer is not known
	}
	if raw[0] == '"' {
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return 0, fmt.Errorf("code: %w", err)
		}
		if c, ok := signals.ParseCode(sig, name); ok {
			return c, nil
		}
		return 0, fmt.Errorf("code %q is no si_code of %s", name, signals.Name(sig))
	}
	n, err := strconv.ParseInt(string(raw), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("code %s is neither a name nor a number", raw)
	}
	return int32(n), nil
}

func saFlagBit(name string) (uint64, bool) {
	for _, f := range signals.SAFlags {
		if f.Name == name {
			return f.Bit, true
		}
	}
	return 0, false
}
