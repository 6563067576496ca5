// Package output renders tracer events: JSON lines per the SPEC's schema,
// and the human table. Renderers append into a caller's buffer and do not
// allocate per event, so a signal storm costs no garbage.
package output

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/sigtrace/sigtrace/fields"
	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/syscalls"
	"github.com/sigtrace/sigtrace/tracer"
)

// syscallName names a system call number of this machine's architecture;
// the golden tests put a fixed table here so their files hold on any.
var syscallName = syscalls.Name

// TimeLayout is RFC 3339 with a fixed nanosecond fraction, so lines of a
// recording sort and align.
const TimeLayout = fields.TimeLayout

// AppendJSON appends ev as one JSON object and a newline. It keeps no
// state between calls; a JSON renderer from NewJSON makes the same bytes
// faster.
func AppendJSON(b []byte, ev *tracer.Event) []byte {
	return appendJSON(b, ev, nil)
}

// appendJSON renders ev, with what st remembers when st is not nil.
func appendJSON(b []byte, ev *tracer.Event, st *jsonState) []byte {
	b = append(b, `{"time":"`...)
	if st != nil {
		b = st.time.appendTime(b, ev.Time)
	} else {
		b = ev.Time.AppendFormat(b, TimeLayout)
	}
	b = append(b, `","type":"`...)
	b = append(b, ev.Type.String()...)
	b = append(b, '"')
	switch ev.Type {
	case tracer.TypeCount:
		return appendCount(b, &ev.Count)
	case tracer.TypeGap:
		b = append(b, `,"count":`...)
		b = strconv.AppendUint(b, ev.Gap.Count, 10)
		b = append(b, `,"from":"`...)
		b = ev.Gap.From.AppendFormat(b, TimeLayout)
		b = append(b, `","to":"`...)
		b = ev.Gap.To.AppendFormat(b, TimeLayout)
		b = append(b, '"')
		if ev.Gap.Error != "" {
			b = append(b, `,"error":`...)
			b = appendString(b, ev.Gap.Error)
		}
		return append(b, "}\n"...)
	}
	if ev.Type == tracer.TypeLost {
		b = append(b, `,"count":`...)
		b = strconv.AppendUint(b, ev.Lost.Count, 10)
		if ev.Lost.Shed > 0 {
			b = append(b, `,"shed":`...)
			b = strconv.AppendUint(b, ev.Lost.Shed, 10)
		}
		if ev.Lost.Missed > 0 {
			b = append(b, `,"missed":`...)
			b = strconv.AppendUint(b, ev.Lost.Missed, 10)
		}
		return append(b, "}\n"...)
	}
	b = appendSignal(append(b, `,"signal":`...), ev.Sig)
	switch ev.Type {
	case tracer.TypeExit:
		return appendExit(b, ev, st)
	case tracer.TypeDisposition:
		return appendChange(b, ev, st)
	case tracer.TypePending:
		b = appendProcess(append(b, `,"target":`...), &ev.Target, false)
		b = append(b, `,"scope":"`...)
		b = append(b, ev.Scope.String()...)
		b = append(b, `","pending_ns":`...)
		b = strconv.AppendInt(b, ev.Pending.Ns, 10)
		b = append(b, `,"reason":"`...)
		b = append(b, ev.Pending.Reason.String()...)
		b = append(b, '"')
		if ev.Pending.Reason == tracer.PendingBlocked && ev.Pending.WhenUnblocked != tracer.UnblockedNone {
			b = append(b, `,"when_unblocked":"`...)
			b = append(b, ev.Pending.WhenUnblocked.String()...)
			b = append(b, '"')
		}
		if ev.Pending.Wait != nil {
			b = appendWait(b, ev.Pending.Wait)
		}
		return append(b, "}\n"...)
	}
	b = append(b, `,"code":`...)
	b = appendCode(b, ev.Sig, ev.Code, st)

	switch ev.Type {
	case tracer.TypeGenerate:
		b = appendSender(append(b, `,"sender":`...), &ev.Generate.From, st)
		b = appendProcess(append(b, `,"target":`...), &ev.Target, false)
		b = append(b, `,"scope":"`...)
		b = append(b, ev.Scope.String()...)
		b = append(b, `","result":"`...)
		b = append(b, ev.Generate.Result.String()...)
		b = appendDisposition(append(b, '"'), &ev.Generate.Setup)
		b = append(b, `,"default_action":"`...)
		b = append(b, ev.Generate.DefaultAction.String()...)
		b = append(b, `","blocked":`...)
		b = strconv.AppendBool(b, ev.Generate.Blocked)
		if ev.Generate.Traced {
			b = append(b, `,"traced":true`...)
		}
		if ev.Generate.SigWait {
			b = append(b, `,"sigwait":true`...)
		}
		if ev.Generate.TargetExiting {
			b = append(b, `,"target_exiting":true`...)
		}
		if ev.Generate.Unkillable {
			b = append(b, `,"unkillable":true`...)
		}
		if ev.Generate.Go.Met {
			b = append(b, `,"go_runtime":{"action":"`...)
			b = append(b, ev.Generate.Go.Action.String()...)
			b = append(b, `","notified":`...)
			b = strconv.AppendBool(b, ev.Generate.Go.Notified)
			b = append(b, `,"mask_known":`...)
			b = strconv.AppendBool(b, ev.Generate.Go.MaskKnown)
			b = append(b, '}')
		}
		if ev.Generate.HasSendSyscall {
			b = append(b, `,"send_syscall":{"nr":`...)
			b = strconv.AppendInt(b, int64(ev.Generate.SendSyscallNr), 10)
			b = append(b, `,"name":"`...)
			b = append(b, syscallName(ev.Generate.SendSyscallNr)...)
			b = append(b, `"}`...)
		}
		if ev.Generate.GroupSend != tracer.GroupSendNone {
			b = append(b, `,"group_send":{"kind":"`...)
			b = append(b, ev.Generate.GroupSend.String()...)
			b = append(b, '"')
			if ev.Generate.GroupSend == tracer.GroupSendPgrp {
				b = append(b, `,"pgid":`...)
				b = appendUint32(b, ev.Generate.GroupID)
			}
			b = append(b, '}')
		}
		b = append(b, `,"verdict":"`...)
		b = append(b, ev.Generate.Verdict.Kind.String()...)
		b = append(b, `","fatal":`...)
		b = strconv.AppendBool(b, ev.Generate.Fatal)
		b = append(b, `,"unprepared":`...)
		b = strconv.AppendBool(b, ev.Generate.Unprepared)
		if ev.Generate.Blocked {
			b = append(b, `,"fatal_when_unblocked":`...)
			b = strconv.AppendBool(b, ev.Generate.FatalWhenUnblocked)
		}
		if ev.Generate.WhenUnblocked != tracer.UnblockedNone {
			b = append(b, `,"when_unblocked":"`...)
			b = append(b, ev.Generate.WhenUnblocked.String()...)
			b = append(b, '"')
		}
		if ev.Generate.ReraiseOf != nil {
			b = appendReraiseOf(b, ev.Sig, ev.Generate.ReraiseOf, st)
		}
	case tracer.TypeDeliver:
		b = appendProcess(append(b, `,"target":`...), &ev.Target, false)
		b = appendDisposition(b, &ev.Deliver.Setup)
		b = append(b, `,"flags":[`...)
		for i, f := range SAFlagNames(ev.Deliver.SAFlags) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, f...)
			b = append(b, '"')
		}
		b = append(b, ']')
		if ev.Deliver.HasSyscall {
			b = append(b, `,"syscall":{"nr":`...)
			b = strconv.AppendInt(b, int64(ev.Deliver.SyscallNr), 10)
			b = append(b, `,"name":"`...)
			b = append(b, syscallName(ev.Deliver.SyscallNr)...)
			b = append(b, `","outcome":"`...)
			b = append(b, ev.Deliver.SyscallOutcome.String()...)
			b = append(b, `"}`...)
		}
		if ev.Deliver.HasLatency {
			b = append(b, `,"latency_ns":`...)
			b = strconv.AppendInt(b, ev.Deliver.LatencyNs, 10)
		}
		if ev.Deliver.KillCause != tracer.KillNone {
			b = append(b, `,"kill_cause":"`...)
			b = append(b, ev.Deliver.KillCause.String()...)
			b = append(b, '"')
		}
		if ev.Deliver.GroupExit {
			b = appendSignal(append(b, `,"group_exit":{"signal":`...), ev.Deliver.ExitSignal)
			b = append(b, `,"core_dumped":`...)
			b = strconv.AppendBool(b, ev.Deliver.CoreDumped)
			b = append(b, '}')
		}
	}
	return append(b, "}\n"...)
}

// appendSender writes the sender (or an exit's killer): a process object,
// or the kernel with its reason. Its detail (argv, ancestry) comes from
// st's cache when the event names it.
func appendSender(b []byte, f *tracer.From, st *jsonState) []byte {
	if f.KernelSender {
		b = append(b, `{"kernel":true,"reason":`...)
		b = appendString(b, f.KernelReason)
		if f.MemCgroup != "" {
			b = append(b, `,"memory_cgroup":`...)
			b = appendString(b, f.MemCgroup)
		}
		return append(b, '}')
	}
	b = appendProcessHead(b, &f.Sender)
	if st == nil || f.DetailID == 0 {
		b = appendProcessDetail(b, &f.Sender, f.ArgvTruncated, st)
	} else {
		b = append(b, st.detail(f.DetailID, &f.Sender, f.ArgvTruncated)...)
	}
	return append(b, '}')
}

// appendReraiseOf writes what a re-raise passes on: the original's
// sender, code and time.
func appendReraiseOf(b []byte, sig int, o *tracer.Original, st *jsonState) []byte {
	b = append(b, `,"reraise_of":{"sender":`...)
	b = appendSender(b, &o.From, st)
	b = append(b, `,"code":`...)
	b = appendCode(b, sig, o.Code, st)
	b = append(b, `,"time":"`...)
	b = o.Time.AppendFormat(b, TimeLayout)
	return append(b, `"}`...)
}

// appendCount writes the rest of a count event:
//
//	"keys":{"sender.comm":"kill","target.comm":"app"},"count":3
//
// and interval_end when the counts are an interval's.
func appendCount(b []byte, c *tracer.Count) []byte {
	b = append(b, `,"keys":{`...)
	for i, k := range c.Keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, []byte(k.Field))
		b = append(b, ':')
		if len(k.Value) == 0 {
			b = append(b, "null"...)
		} else {
			b = append(b, k.Value...)
		}
	}
	b = append(b, `},"count":`...)
	b = strconv.AppendUint(b, c.N, 10)
	if !c.IntervalEnd.IsZero() {
		b = append(b, `,"interval_end":"`...)
		b = c.IntervalEnd.AppendFormat(b, TimeLayout)
		b = append(b, '"')
	}
	return append(b, "}\n"...)
}

// appendExit writes the rest of an exit event: signal is the cause (from
// group_exit_code), and killer the sender of that signal, when seen.
func appendExit(b []byte, ev *tracer.Event, st *jsonState) []byte {
	b = appendProcess(append(b, `,"target":`...), &ev.Target, false)
	b = append(b, `,"core_dumped":`...)
	b = strconv.AppendBool(b, ev.Exit.CoreDumped)
	if ev.Exit.KillerKnown {
		b = append(b, `,"code":`...)
		b = appendCode(b, ev.Sig, ev.Code, st)
		b = appendSender(append(b, `,"killer":`...), &ev.Exit.Killer, st)
		if ev.Exit.KillerVia == tracer.KillerReraise {
			b = append(b, `,"killer_via":"reraise"`...)
		}
		b = appendDisposition(b, &ev.Exit.Setup)
		b = append(b, `,"default_action":"`...)
		b = append(b, ev.Exit.DefaultAction.String()...)
		b = append(b, '"')
	}
	if s := &ev.Exit.DefaultSince; s.Known {
		b = append(b, `,"default_since":{"time":"`...)
		b = s.Time.AppendFormat(b, TimeLayout)
		b = append(b, `","cause":"`...)
		b = append(b, s.Cause.String()...)
		b = append(b, `"}`...)
	}
	return append(b, "}\n"...)
}

// appendChange writes a disposition event's body: the process (with its
// argv and ancestry), cause, from, to, default_action and fatal.
func appendChange(b []byte, ev *tracer.Event, st *jsonState) []byte {
	c := &ev.Disposition
	b = appendProcessHead(append(b, `,"target":`...), &ev.Target)
	b = appendProcessDetail(b, &ev.Target, c.ArgvTruncated, st)
	b = append(b, `},"cause":"`...)
	b = append(b, c.Cause.String()...)
	b = appendSetup(append(b, `","from":`...), &c.From)
	b = appendSetup(append(b, `,"to":`...), &c.To)
	b = append(b, `,"default_action":"`...)
	b = append(b, c.To.DefaultAction.String()...)
	b = append(b, `","fatal":`...)
	b = strconv.AppendBool(b, c.Fatal)
	if c.Vfork {
		b = append(b, `,"vfork":true`...)
	}
	return append(b, "}\n"...)
}

// appendSetup writes {disposition, handler, flags}: the handler when
// known, the flags when there are any.
func appendSetup(b []byte, s *tracer.Setup) []byte {
	b = append(b, `{"disposition":"`...)
	b = append(b, s.Disposition.String()...)
	b = append(b, '"')
	if s.Disposition == tracer.DispHandler && s.Handler != 0 {
		b = append(b, `,"handler":"0x`...)
		b = strconv.AppendUint(b, s.Handler, 16)
		b = append(b, '"')
	}
	if names := SAFlagNames(s.SAFlags); len(names) > 0 {
		b = append(b, `,"flags":[`...)
		for i, n := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, n...)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendWait writes where a task in D state waits: "wait":{"stack":[...]
// or "stack_error":"why not", and "syscall":{nr,name} when it is in one}.
func appendWait(b []byte, w *tracer.WaitSite) []byte {
	b = append(b, `,"wait":{`...)
	if len(w.Stack) > 0 {
		b = append(b, `"stack":[`...)
		for i, f := range w.Stack {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f)
		}
		b = append(b, ']')
	} else {
		b = append(b, `"stack_error":`...)
		b = appendString(b, w.StackErr)
	}
	if w.InSyscall {
		b = append(b, `,"syscall":{"nr":`...)
		b = strconv.AppendInt(b, int64(w.SyscallNr), 10)
		b = append(b, `,"name":"`...)
		b = append(b, syscallName(w.SyscallNr)...)
		b = append(b, `"}`...)
	}
	return append(b, '}')
}

func appendDisposition(b []byte, s *tracer.Setup) []byte {
	b = append(b, `,"disposition":"`...)
	b = append(b, s.Disposition.String()...)
	b = append(b, '"')
	if s.Disposition == tracer.DispHandler {
		b = append(b, `,"handler":"0x`...)
		b = strconv.AppendUint(b, s.Handler, 16)
		b = append(b, '"')
	}
	return b
}

func appendSignal(b []byte, sig int) []byte {
	if sig >= 0 && sig < len(signalJSON) {
		return append(b, signalJSON[sig]...)
	}
	return appendSignalSlow(b, sig)
}

// signalJSON holds the signal object of every signal number.
var signalJSON = func() (t [signals.Max + 1]string) {
	for sig := range t {
		t[sig] = string(appendSignalSlow(nil, sig))
	}
	return t
}()

func appendSignalSlow(b []byte, sig int) []byte {
	b = append(b, `{"num":`...)
	b = strconv.AppendInt(b, int64(sig), 10)
	b = append(b, `,"name":"`...)
	b = append(b, signals.Name(sig)...)
	return append(b, `"}`...)
}

// appendCode writes si_code by name, or as a number when it has none.
func appendCode(b []byte, sig int, code int32, st *jsonState) []byte {
	var name string
	var ok bool
	if st != nil {
		name, ok = st.lookupCode(sig, code)
	} else {
		name, ok = signals.LookupCode(sig, code)
	}
	if !ok {
		return strconv.AppendInt(b, int64(code), 10)
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"')
}

func appendProcess(b []byte, p *tracer.Process, argvTruncated bool) []byte {
	b = appendProcessHead(b, p)
	b = appendProcessDetail(b, p, argvTruncated, nil)
	return append(b, '}')
}

// appendProcessHead opens a process object with what changes from event
// to event: pid, tid, comm and uid.
func appendProcessHead(b []byte, p *tracer.Process) []byte {
	b = append(b, `{"pid":`...)
	b = appendUint32(b, p.PID)
	b = append(b, `,"tid":`...)
	b = appendUint32(b, p.TID)
	b = append(b, `,"comm":`...)
	b = appendBytesString(b, tracer.CommBytes(p.Comm[:]))
	if p.ThreadNamed() {
		b = append(b, `,"thread_comm":`...)
		b = appendBytesString(b, tracer.CommBytes(p.ThreadComm[:]))
	}
	if cg := p.Cgroup; cg != nil {
		b = append(b, `,"cgroup":`...)
		b = appendString(b, cg.Path)
		if cg.Unit != "" {
			b = append(b, `,"unit":`...)
			b = appendString(b, cg.Unit)
		}
		if cg.Container != "" {
			b = append(b, `,"container":`...)
			b = appendString(b, cg.Container)
		}
	}
	if p.HasUID {
		b = append(b, `,"uid":`...)
		b = appendUint32(b, p.UID)
	}
	return b
}

// redacted replaces what --redact-argv matches.
var redacted = []byte("***")

// appendProcessDetail continues a process object with its argv,
// argv_truncated and ancestry, the part of a sender an event's DetailID
// names. With st's redact set, what it matches in an argument is masked.
func appendProcessDetail(b []byte, p *tracer.Process, argvTruncated bool, st *jsonState) []byte {
	if len(p.Argv) > 0 {
		b = append(b, `,"argv":[`...)
		first := true
		rest := p.Argv
		for len(rest) > 0 {
			end := bytes.IndexByte(rest, 0)
			if end < 0 {
				end = len(rest)
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			if arg := rest[:end]; st != nil && st.redact != nil && st.redact.Match(arg) {
				b = appendBytesString(b, st.redact.ReplaceAll(arg, redacted))
			} else {
				b = appendBytesString(b, arg)
			}
			if end == len(rest) {
				break
			}
			rest = rest[end+1:]
		}
		b = append(b, ']')
		if argvTruncated {
			b = append(b, `,"argv_truncated":true`...)
		}
	}
	if len(p.Ancestry) > 0 {
		b = append(b, `,"ancestry":[`...)
		for i := range p.Ancestry {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"pid":`...)
			b = appendUint32(b, p.Ancestry[i].PID)
			b = append(b, `,"comm":`...)
			b = appendBytesString(b, tracer.CommBytes(p.Ancestry[i].Comm[:]))
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return b
}

// appendString is appendBytesString for a string. Not only sigtrace's own
// strings: cgroup paths, and the unit and container names read from
// them, are names that a user with a delegated cgroup subtree chooses
// (any bytes but '/' and NUL).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; ; {
		start := i
		for i < len(s) && !needsEscape[s[i]] {
			i++
		}
		b = append(b, s[start:i]...)
		if i == len(s) {
			return append(b, '"')
		}
		if c := s[i]; c < utf8.RuneSelf {
			b = appendEscape(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case unsafeRune(r, size):
			b = append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
}

// appendBytesString quotes s as a JSON string. Bytes that are not valid
// UTF-8 (argv can hold anything) become U+FFFD, as encoding/json does.
func appendBytesString(b []byte, s []byte) []byte {
	b = append(b, '"')
	for i := 0; ; {
		// Runs of bytes that need nothing go in one append.
		start := i
		for i < len(s) && !needsEscape[s[i]] {
			i++
		}
		b = append(b, s[start:i]...)
		if i == len(s) {
			return append(b, '"')
		}
		if c := s[i]; c < utf8.RuneSelf {
			b = appendEscape(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case unsafeRune(r, size):
			// C1 controls and the bidirectional and invisible format
			// characters are valid JSON, but a consumer that prints
			// them to a terminal gets them raw: escape them.
			b = append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
}

// needsEscape marks the bytes a JSON string cannot hold as they are
// (controls, '"', '\\', DEL) and those that need a UTF-8 check (>= 0x80).
var needsEscape = func() (t [256]bool) {
	for c := range t {
		t[c] = c < 0x20 || c == '"' || c == '\\' || c == 0x7f || c >= utf8.RuneSelf
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendEscape appends the escape of an ASCII byte marked in needsEscape.
func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}
