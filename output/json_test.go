package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/fields"
	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tracer"
)

func TestJSONGolden(t *testing.T) {
	var b []byte
	for _, f := range fixtures() {
		b = AppendJSON(b, &f.ev)
	}
	golden(t, "events.json.golden", b)
}

// schema checks one decoded object against the SPEC: field names, their
// JSON types and allowed values (the registry's, package fields, whose
// test holds them to the SPEC), and that they say what the Event says.
// TestJSONMatchesRegistry checks that no other field is written.
type schema struct {
	t    *testing.T
	name string
}

func (s schema) errorf(format string, args ...any) {
	s.t.Helper()
	s.t.Errorf("%s: %s", s.name, fmt.Sprintf(format, args...))
}

func (s schema) field(obj map[string]any, key string) (any, bool) {
	s.t.Helper()
	v, ok := obj[key]
	if !ok {
		s.errorf("no %q in %v", key, obj)
	}
	return v, ok
}

func (s schema) str(obj map[string]any, key string) string {
	s.t.Helper()
	v, ok := s.field(obj, key)
	if !ok {
		return ""
	}
	str, isStr := v.(string)
	if !isStr {
		s.errorf("%q is %T (%v), want a string", key, v, v)
	}
	return str
}

func (s schema) num(obj map[string]any, key string) float64 {
	s.t.Helper()
	v, ok := s.field(obj, key)
	if !ok {
		return 0
	}
	n, isNum := v.(float64)
	if !isNum {
		s.errorf("%q is %T (%v), want a number", key, v, v)
	}
	return n
}

func (s schema) boolean(obj map[string]any, key string) bool {
	s.t.Helper()
	v, ok := s.field(obj, key)
	if !ok {
		return false
	}
	b, isBool := v.(bool)
	if !isBool {
		s.errorf("%q is %T (%v), want a bool", key, v, v)
	}
	return b
}

func (s schema) object(obj map[string]any, key string) map[string]any {
	s.t.Helper()
	v, ok := s.field(obj, key)
	if !ok {
		return map[string]any{}
	}
	o, isObj := v.(map[string]any)
	if !isObj {
		s.errorf("%q is %T (%v), want an object", key, v, v)
		return map[string]any{}
	}
	return o
}

func (s schema) array(obj map[string]any, key string) []any {
	s.t.Helper()
	v, ok := s.field(obj, key)
	if !ok {
		return nil
	}
	a, isArr := v.([]any)
	if !isArr {
		s.errorf("%q is %T (%v), want an array", key, v, v)
	}
	return a
}

// enum reads obj[key], the field at the registry's path, and checks that
// it is one of the values the registry gives that field.
func (s schema) enum(obj map[string]any, key, path string) string {
	s.t.Helper()
	f := fields.Lookup(path)
	if f == nil || f.Values == nil {
		s.errorf("the registry has no values for %s", path)
		return ""
	}
	v := s.str(obj, key)
	if !slices.Contains(f.Values, v) {
		s.errorf("%q = %q, want one of %q", path, v, f.Values)
	}
	return v
}

func (s schema) process(obj map[string]any, p *tracer.Process) {
	s.t.Helper()
	if got := s.num(obj, "pid"); got != float64(p.PID) {
		s.errorf("pid = %v, want %d", got, p.PID)
	}
	if got := s.num(obj, "tid"); got != float64(p.TID) {
		s.errorf("tid = %v, want %d", got, p.TID)
	}
	if got := s.str(obj, "comm"); got != string(tracer.CommBytes(p.Comm[:])) {
		s.errorf("comm = %q, want %q", got, tracer.CommBytes(p.Comm[:]))
	}
	if p.ThreadNamed() {
		if got := s.str(obj, "thread_comm"); got != string(tracer.CommBytes(p.ThreadComm[:])) {
			s.errorf("thread_comm = %q, want %q", got, tracer.CommBytes(p.ThreadComm[:]))
		}
	} else if _, ok := obj["thread_comm"]; ok {
		s.errorf("thread_comm present for a thread named as its process")
	}
	if p.Cgroup != nil {
		if got := s.str(obj, "cgroup"); got != p.Cgroup.Path {
			s.errorf("cgroup = %q, want %q", got, p.Cgroup.Path)
		}
	} else if _, ok := obj["cgroup"]; ok {
		s.errorf("cgroup present but not known")
	}
	if p.HasUID {
		if got := s.num(obj, "uid"); got != float64(p.UID) {
			s.errorf("uid = %v, want %d", got, p.UID)
		}
	}
	if len(p.Argv) > 0 {
		argv := s.array(obj, "argv")
		want := p.ArgvStrings()
		if len(argv) != len(want) {
			s.errorf("argv = %q, want %q", argv, want)
		}
		for i, a := range argv {
			str, ok := a.(string)
			if !ok {
				s.errorf("argv[%d] is %T", i, a)
			} else if i < len(want) && str != validUTF8(want[i]) {
				s.errorf("argv[%d] = %q, want %q", i, str, validUTF8(want[i]))
			}
		}
	}
	if len(p.Ancestry) > 0 {
		anc := s.array(obj, "ancestry")
		if len(anc) != len(p.Ancestry) {
			s.errorf("ancestry has %d entries, want %d", len(anc), len(p.Ancestry))
		}
		for i, a := range anc {
			o, ok := a.(map[string]any)
			if !ok {
				s.errorf("ancestry[%d] is %T", i, a)
				continue
			}
			if i < len(p.Ancestry) {
				if got := s.num(o, "pid"); got != float64(p.Ancestry[i].PID) {
					s.errorf("ancestry[%d].pid = %v, want %d", i, got, p.Ancestry[i].PID)
				}
				if got := s.str(o, "comm"); got != string(tracer.CommBytes(p.Ancestry[i].Comm[:])) {
					s.errorf("ancestry[%d].comm = %q", i, got)
				}
			}
		}
	}
}

// validUTF8 is what a JSON decoder must read back for arbitrary bytes:
// every byte that is not part of valid UTF-8 becomes U+FFFD.
func validUTF8(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

func (s schema) check(obj map[string]any, ev *tracer.Event) {
	s.t.Helper()
	ts := s.str(obj, "time")
	if tm, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		s.errorf("time %q is not RFC 3339: %v", ts, err)
	} else if !tm.Equal(ev.Time) {
		s.errorf("time %q, want %v (nanoseconds kept)", ts, ev.Time)
	}
	typ := s.enum(obj, "type", "type")
	if typ != ev.Type.String() {
		s.errorf("type %q, want %q", typ, ev.Type)
	}
	if typ == "lost" {
		if got := s.num(obj, "count"); got != float64(ev.Lost.Count) {
			s.errorf("count = %v, want %d", got, ev.Lost.Count)
		}
		return
	}
	switch typ {
	case "count":
		if got := s.num(obj, "count"); got != float64(ev.Count.N) {
			s.errorf("count = %v, want %d", got, ev.Count.N)
		}
		keys := s.object(obj, "keys")
		if len(keys) != len(ev.Count.Keys) {
			s.errorf("%d keys, want %d", len(keys), len(ev.Count.Keys))
		}
		for _, k := range ev.Count.Keys {
			v, ok := keys[k.Field]
			switch {
			case !ok:
				s.errorf("no key %s", k.Field)
			case len(k.Value) == 0 && v != nil:
				s.errorf("key %s = %v, want null", k.Field, v)
			}
		}
		if _, ok := obj["interval_end"]; ok == ev.Count.IntervalEnd.IsZero() {
			s.errorf("interval_end present: %v, want %v", ok, !ev.Count.IntervalEnd.IsZero())
		}
		return
	case "gap":
		if got := s.num(obj, "count"); got != float64(ev.Gap.Count) {
			s.errorf("count = %v, want %d", got, ev.Gap.Count)
		}
		for name, want := range map[string]time.Time{"from": ev.Gap.From, "to": ev.Gap.To} {
			if tm, err := time.Parse(time.RFC3339Nano, s.str(obj, name)); err != nil || !tm.Equal(want) {
				s.errorf("%s = %v (%v), want %v", name, tm, err, want)
			}
		}
		return
	}
	sig := s.object(obj, "signal")
	if got := s.num(sig, "num"); got != float64(ev.Sig) {
		s.errorf("signal.num = %v, want %d", got, ev.Sig)
	}
	if got := s.str(sig, "name"); got != signals.Name(ev.Sig) {
		s.errorf("signal.name = %q, want %q", got, signals.Name(ev.Sig))
	}
	if typ == "pending" {
		s.pending(obj, ev)
		return
	}
	if typ == "disposition" {
		s.change(obj, ev)
		return
	}
	// An exit writes the code of the signal it died of with its killer:
	// without one seen, it is not known.
	if ev.Type == tracer.TypeExit && !ev.Exit.KillerKnown {
		if _, ok := obj["code"]; ok {
			s.errorf("code present without a killer")
		}
	} else if code, ok := s.field(obj, "code"); ok {
		switch c := code.(type) {
		case string:
			if c != signals.CodeName(ev.Sig, ev.Code) {
				s.errorf("code = %q, want %q", c, signals.CodeName(ev.Sig, ev.Code))
			}
		case float64:
			if c != float64(ev.Code) {
				s.errorf("code = %v, want %d", c, ev.Code)
			}
		default:
			s.errorf("code is %T, want a name or a number", code)
		}
	}
	s.process(s.object(obj, "target"), &ev.Target)
	if typ == "exit" {
		if got := s.boolean(obj, "core_dumped"); got != ev.Exit.CoreDumped {
			s.errorf("core_dumped = %v", got)
		}
		if ev.Exit.KillerKnown {
			s.sender(s.object(obj, "killer"), &ev.Exit.Killer)
		} else if _, ok := obj["killer"]; ok {
			s.errorf("killer present but not known")
		}
		if ds := ev.Exit.DefaultSince; ds.Known {
			o := s.object(obj, "default_since")
			if got := s.enum(o, "cause", "default_since.cause"); got != ds.Cause.String() {
				s.errorf("default_since.cause = %q, want %q", got, ds.Cause)
			}
			if tm, err := time.Parse(time.RFC3339Nano, s.str(o, "time")); err != nil || !tm.Equal(ds.Time) {
				s.errorf("default_since.time = %v (%v), want %v", tm, err, ds.Time)
			}
		} else if _, ok := obj["default_since"]; ok {
			s.errorf("default_since present but not known")
		}
		return
	}
	disp := s.enum(obj, "disposition", "disposition")
	if disp != ev.Setup().Disposition.String() {
		s.errorf("disposition %q, want %q", disp, ev.Setup().Disposition)
	}
	if disp == "handler" {
		if got, want := s.str(obj, "handler"), fmt.Sprintf("0x%x", ev.Setup().Handler); got != want {
			s.errorf("handler = %q, want %q", got, want)
		}
	} else if _, ok := obj["handler"]; ok {
		s.errorf("handler present with disposition %q", disp)
	}

	if typ == "deliver" {
		flags := s.array(obj, "flags")
		want := SAFlagNames(ev.Deliver.SAFlags)
		if len(flags) != len(want) {
			s.errorf("flags = %v, want %v", flags, want)
		}
		for i, f := range flags {
			if str, ok := f.(string); !ok || !strings.HasPrefix(str, "SA_") || (i < len(want) && str != want[i]) {
				s.errorf("flags[%d] = %v", i, f)
			}
		}
		if ev.Deliver.GroupExit {
			ge := s.object(obj, "group_exit")
			if got := s.num(s.object(ge, "signal"), "num"); got != float64(ev.Deliver.ExitSignal) {
				s.errorf("group_exit.signal.num = %v, want %d", got, ev.Deliver.ExitSignal)
			}
			if got := s.boolean(ge, "core_dumped"); got != ev.Deliver.CoreDumped {
				s.errorf("group_exit.core_dumped = %v", got)
			}
		} else if _, ok := obj["group_exit"]; ok {
			s.errorf("group_exit without a group exit")
		}
		if ev.Deliver.KillCause != tracer.KillNone {
			if got := s.enum(obj, "kill_cause", "kill_cause"); got != ev.Deliver.KillCause.String() {
				s.errorf("kill_cause %q, want %q", got, ev.Deliver.KillCause)
			}
		} else if _, ok := obj["kill_cause"]; ok {
			s.errorf("kill_cause for a SIGKILL someone sent")
		}
		return
	}

	s.sender(s.object(obj, "sender"), &ev.Generate.From)
	if ev.Generate.TargetExiting != (obj["target_exiting"] == true) {
		s.errorf("target_exiting = %v, want %v", obj["target_exiting"], ev.Generate.TargetExiting)
	}
	if ev.Generate.HasSendSyscall {
		sc := s.object(obj, "send_syscall")
		if got := s.num(sc, "nr"); got != float64(ev.Generate.SendSyscallNr) {
			s.errorf("send_syscall.nr = %v, want %d", got, ev.Generate.SendSyscallNr)
		}
		if s.str(sc, "name") == "" {
			s.errorf("send_syscall has no name")
		}
	} else if _, ok := obj["send_syscall"]; ok {
		s.errorf("send_syscall present but not known")
	}
	if ev.Generate.GroupSend != tracer.GroupSendNone {
		g := s.object(obj, "group_send")
		if got := s.enum(g, "kind", "group_send.kind"); got != ev.Generate.GroupSend.String() {
			s.errorf("group_send.kind %q, want %q", got, ev.Generate.GroupSend)
		}
		if ev.Generate.GroupSend == tracer.GroupSendPgrp && s.num(g, "pgid") != float64(ev.Generate.GroupID) {
			s.errorf("group_send.pgid = %v, want %d", g["pgid"], ev.Generate.GroupID)
		}
	} else if _, ok := obj["group_send"]; ok {
		s.errorf("group_send for a send to one process")
	}
	if got := s.enum(obj, "scope", "scope"); got != ev.Scope.String() {
		s.errorf("scope %q, want %q", got, ev.Scope)
	}
	s.verdict(obj, ev)
}

// sender checks a generate event's sender or an exit event's killer.
func (s schema) sender(sender map[string]any, f *tracer.From) {
	s.t.Helper()
	if f.KernelSender {
		if !s.boolean(sender, "kernel") {
			s.errorf("sender.kernel is not true")
		}
		if got := s.str(sender, "reason"); got != f.KernelReason || got == "" {
			s.errorf("sender.reason = %q, want %q", got, f.KernelReason)
		}
		if _, ok := sender["pid"]; ok {
			s.errorf("kernel sender names a pid: %v", sender)
		}
	} else {
		if _, ok := sender["kernel"]; ok {
			s.errorf("process sender with a kernel field: %v", sender)
		}
		s.process(sender, &f.Sender)
		if f.ArgvTruncated && len(f.Sender.Argv) > 0 && !s.boolean(sender, "argv_truncated") {
			s.errorf("argv_truncated missing")
		}
	}
}

// verdict checks a generate event's result, disposition and verdict.
func (s schema) verdict(obj map[string]any, ev *tracer.Event) {
	s.t.Helper()
	if got := s.enum(obj, "result", "result"); got != ev.Generate.Result.String() {
		s.errorf("result %q, want %q", got, ev.Generate.Result)
	}
	if got := s.enum(obj, "default_action", "default_action"); got != signals.DefaultAction(ev.Sig).String() {
		s.errorf("default_action %q, want %q", got, signals.DefaultAction(ev.Sig))
	}
	if got := s.boolean(obj, "blocked"); got != ev.Generate.Blocked {
		s.errorf("blocked = %v", got)
	}
	if got := s.enum(obj, "verdict", "verdict"); got != ev.Generate.Kind.String() {
		s.errorf("verdict %q, want %q", got, ev.Generate.Kind)
	}
	if got := s.boolean(obj, "fatal"); got != ev.Generate.Fatal {
		s.errorf("fatal = %v", got)
	}
	if got := s.boolean(obj, "unprepared"); got != ev.Generate.Unprepared {
		s.errorf("unprepared = %v", got)
	}
	if ev.Generate.Blocked {
		if got := s.boolean(obj, "fatal_when_unblocked"); got != ev.Generate.FatalWhenUnblocked {
			s.errorf("fatal_when_unblocked = %v", got)
		}
	}
	if ev.Generate.Kind == tracer.VerdictBlocked {
		if got := s.enum(obj, "when_unblocked", "when_unblocked"); got != ev.Generate.WhenUnblocked.String() {
			s.errorf("when_unblocked %q, want %q", got, ev.Generate.WhenUnblocked)
		}
	} else if _, ok := obj["when_unblocked"]; ok {
		s.errorf("when_unblocked with verdict %s", ev.Generate.Kind)
	}
}

// pending checks the rest of a pending event: target, scope, pending_ns,
// reason and, for a task in D state, where it waits.
func (s schema) pending(obj map[string]any, ev *tracer.Event) {
	s.t.Helper()
	s.process(s.object(obj, "target"), &ev.Target)
	if got := s.enum(obj, "scope", "scope"); got != ev.Scope.String() {
		s.errorf("scope %q, want %q", got, ev.Scope)
	}
	if got := s.num(obj, "pending_ns"); got != float64(ev.Pending.Ns) {
		s.errorf("pending_ns = %v, want %d", got, ev.Pending.Ns)
	}
	if got := s.enum(obj, "reason", "reason"); got != ev.Pending.Reason.String() {
		s.errorf("reason %q, want %q", got, ev.Pending.Reason)
	}
	if ev.Pending.Reason == tracer.PendingBlocked {
		if got := s.enum(obj, "when_unblocked", "when_unblocked"); got != ev.Pending.WhenUnblocked.String() {
			s.errorf("when_unblocked %q, want %q", got, ev.Pending.WhenUnblocked)
		}
	} else if _, ok := obj["when_unblocked"]; ok {
		s.errorf("when_unblocked with reason %s", ev.Pending.Reason)
	}
	if ev.Pending.Wait == nil {
		if _, ok := obj["wait"]; ok {
			s.errorf("wait without a wait site")
		}
		return
	}
	w := s.object(obj, "wait")
	if len(ev.Pending.Wait.Stack) > 0 {
		stack := s.array(w, "stack")
		if len(stack) != len(ev.Pending.Wait.Stack) {
			s.errorf("wait.stack = %v, want %q", stack, ev.Pending.Wait.Stack)
		}
		for i, f := range stack {
			if str, ok := f.(string); !ok || (i < len(ev.Pending.Wait.Stack) && str != ev.Pending.Wait.Stack[i]) {
				s.errorf("wait.stack[%d] = %v", i, f)
			}
		}
		if _, ok := w["stack_error"]; ok {
			s.errorf("wait.stack_error with a stack")
		}
	} else if got := s.str(w, "stack_error"); got == "" || got != ev.Pending.Wait.StackErr {
		s.errorf("wait.stack_error = %q, want %q", got, ev.Pending.Wait.StackErr)
	}
	if ev.Pending.Wait.InSyscall {
		sc := s.object(w, "syscall")
		if got := s.num(sc, "nr"); got != float64(ev.Pending.Wait.SyscallNr) {
			s.errorf("wait.syscall.nr = %v, want %d", got, ev.Pending.Wait.SyscallNr)
		}
		if got := s.str(sc, "name"); got != syscallName(ev.Pending.Wait.SyscallNr) {
			s.errorf("wait.syscall.name = %q", got)
		}
	} else if _, ok := w["syscall"]; ok {
		s.errorf("wait.syscall outside a system call")
	}
}

// change checks a disposition event: the process, cause, from and to,
// default_action and fatal, and no code (it is no signal's).
func (s schema) change(obj map[string]any, ev *tracer.Event) {
	c := &ev.Disposition
	if _, ok := obj["code"]; ok {
		s.errorf("code in a disposition event")
	}
	s.process(s.object(obj, "target"), &ev.Target)
	if got := s.enum(obj, "cause", "cause"); got != c.Cause.String() {
		s.errorf("cause = %q, want %q", got, c.Cause)
	}
	for name, want := range map[string]*tracer.Setup{"from": &c.From, "to": &c.To} {
		o := s.object(obj, name)
		if got := s.str(o, "disposition"); got != want.Disposition.String() {
			s.errorf("%s.disposition = %q, want %q", name, got, want.Disposition)
		}
		h, ok := o["handler"]
		switch {
		case want.Disposition == tracer.DispHandler && want.Handler != 0:
			if h != fmt.Sprintf("0x%x", want.Handler) {
				s.errorf("%s.handler = %v, want 0x%x", name, h, want.Handler)
			}
		case ok:
			s.errorf("%s.handler present: %v", name, h)
		}
		flags, _ := o["flags"].([]any)
		if wantF := SAFlagNames(want.SAFlags); len(flags) != len(wantF) {
			s.errorf("%s.flags = %v, want %v", name, flags, wantF)
		}
	}
	if got := s.str(obj, "default_action"); got != signals.DefaultAction(ev.Sig).String() {
		s.errorf("default_action = %q", got)
	}
	if got := s.boolean(obj, "fatal"); got != c.Fatal {
		s.errorf("fatal = %v, want %v", got, c.Fatal)
	}
	if v, ok := obj["vfork"]; ok != c.Vfork || (ok && v != true) {
		s.errorf("vfork = %v, want %v", v, c.Vfork)
	}
}

func TestJSONSchema(t *testing.T) {
	for _, f := range fixtures() {
		line := AppendJSON(nil, &f.ev)
		if !bytes.HasSuffix(line, []byte("}\n")) || bytes.Count(line, []byte("\n")) != 1 {
			t.Errorf("%s: not one object on one line: %q", f.name, line)
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(line, &obj); err != nil {
			t.Errorf("%s: invalid JSON: %v\n%s", f.name, err, line)
			continue
		}
		schema{t, f.name}.check(obj, &f.ev)
	}
}

// TestJSONAppends: the renderer appends to what is in the buffer and does
// not touch it.
func TestJSONAppends(t *testing.T) {
	evs := fixtures()
	prefix := []byte("previous line\n")
	b := AppendJSON(append([]byte(nil), prefix...), &evs[0].ev)
	if !bytes.HasPrefix(b, prefix) {
		t.Errorf("AppendJSON overwrote the buffer: %q", b)
	}
	if string(b[len(prefix):]) != string(AppendJSON(nil, &evs[0].ev)) {
		t.Errorf("AppendJSON output depends on the buffer")
	}
}

func TestJSONHostileStrings(t *testing.T) {
	args := []string{
		"sh", "-c", `echo "quoted" 'single' \back\slash\\ end\`,
		"tab\there", "new\nline", "cr\rret", "nul-free \x01\x02\x1b[31m bell\x07 del\x7f",
		"bad utf8 \xff\xfe end", "truncated \xc3", "overlong \xc0\xaf", "surrogate \xed\xa0\x80",
		"valid é 日本 🙂", "line sep \u2028 para \u2029", "</script>", "",
	}
	var argv []byte
	for _, a := range args {
		argv = append(argv, a...)
		argv = append(argv, 0)
	}
	ev := tracer.Event{
		Time:   baseTime,
		Type:   tracer.TypeGenerate,
		Sig:    1,
		Target: tracer.Process{PID: 2, TID: 2, Comm: comm("\x1b]0;pwn\x07")},
		Generate: tracer.Generate{
			From: tracer.From{Sender: tracer.Process{
				PID: 1, TID: 1, Comm: comm("we\"ird\\\n\xff"), Argv: argv,
				Ancestry: []tracer.Ancestor{ancestor(2, "a\tb\x00junk")},
			}},
			Setup:   tracer.Setup{DefaultAction: signals.Terminate},
			Verdict: tracer.Verdict{Kind: tracer.VerdictFatal, Fatal: true, Unprepared: true},
		},
	}
	line := AppendJSON(nil, &ev)
	if !json.Valid(line) {
		t.Fatalf("invalid JSON: %q", line)
	}
	if bytes.Count(line, []byte("\n")) != 1 {
		t.Errorf("raw newline inside the object: %q", line)
	}
	for _, c := range line[:len(line)-1] {
		if c < 0x20 || c == 0x7f {
			t.Errorf("raw control byte %#x in %q", c, line)
			break
		}
	}
	var obj struct {
		Sender struct {
			Comm     string   `json:"comm"`
			Argv     []string `json:"argv"`
			Ancestry []struct {
				Comm string `json:"comm"`
			} `json:"ancestry"`
		} `json:"sender"`
		Target struct {
			Comm string `json:"comm"`
		} `json:"target"`
	}
	if err := json.Unmarshal(line, &obj); err != nil {
		t.Fatal(err)
	}
	if len(obj.Sender.Argv) != len(args) {
		t.Fatalf("argv has %d entries, want %d: %q", len(obj.Sender.Argv), len(args), obj.Sender.Argv)
	}
	for i, a := range args {
		if got, want := obj.Sender.Argv[i], validUTF8(a); got != want {
			t.Errorf("argv[%d] = %q, want %q", i, got, want)
		}
	}
	if want := validUTF8("we\"ird\\\n\xff"); obj.Sender.Comm != want {
		t.Errorf("sender comm = %q, want %q", obj.Sender.Comm, want)
	}
	if len(obj.Sender.Ancestry) != 1 || obj.Sender.Ancestry[0].Comm != "a\tb" {
		t.Errorf("ancestry = %+v, want comm \"a\\tb\" (cut at the NUL)", obj.Sender.Ancestry)
	}
	if obj.Target.Comm != "\x1b]0;pwn\x07" {
		t.Errorf("target comm = %q", obj.Target.Comm)
	}
}

func TestJSONKernelReasonEscaped(t *testing.T) {
	ev := tracer.Event{
		Time:     baseTime,
		Type:     tracer.TypeGenerate,
		Sig:      14,
		Code:     0x80,
		Generate: tracer.Generate{From: tracer.From{KernelSender: true, KernelReason: "a \"quoted\"\\ reason\n"}, Setup: tracer.Setup{DefaultAction: signals.Terminate}},
	}
	line := AppendJSON(nil, &ev)
	var obj struct {
		Sender struct {
			Kernel bool   `json:"kernel"`
			Reason string `json:"reason"`
		} `json:"sender"`
	}
	if err := json.Unmarshal(line, &obj); err != nil {
		t.Fatalf("%v: %q", err, line)
	}
	if !obj.Sender.Kernel || obj.Sender.Reason != ev.Generate.KernelReason {
		t.Errorf("sender = %+v", obj.Sender)
	}
}

// Codes without a name are numbers, named ones strings.
func TestJSONCode(t *testing.T) {
	for _, tc := range []struct {
		sig  int
		code int32
		want any
	}{
		{1, 0, "SI_USER"},
		{11, 1, "SEGV_MAPERR"},
		{17, 1, "CLD_EXITED"},
		{10, -6, "SI_TKILL"},
		{1, 3, float64(3)},
		{1, -100, float64(-100)},
		{11, 99, float64(99)},
	} {
		ev := tracer.Event{Time: baseTime, Type: tracer.TypeDeliver, Sig: tc.sig, Code: tc.code}
		var obj map[string]any
		if err := json.Unmarshal(AppendJSON(nil, &ev), &obj); err != nil {
			t.Fatal(err)
		}
		if obj["code"] != tc.want {
			t.Errorf("sig %d code %d: \"code\": %#v, want %#v", tc.sig, tc.code, obj["code"], tc.want)
		}
	}
}

func TestNewRenderer(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   string
	}{{"table", "*output.Table"}, {"", "*output.Table"}, {"json", "output.JSON"}} {
		r, err := New(tc.format, false)
		if err != nil {
			t.Errorf("New(%q): %v", tc.format, err)
			continue
		}
		if got := fmt.Sprintf("%T", r); got != tc.want {
			t.Errorf("New(%q) = %s, want %s", tc.format, got, tc.want)
		}
	}
	for _, bad := range []string{"yaml", "JSON", "csv"} {
		_, err := New(bad, false)
		if err == nil || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "\n") {
			t.Errorf("New(%q) error = %v, want one line naming it", bad, err)
		}
	}
	// JSON has no header line: a recording is one object per line.
	if h := (JSON{}).AppendHeader(nil); len(h) != 0 {
		t.Errorf("JSON header = %q", h)
	}
}

func TestSAFlagNames(t *testing.T) {
	for _, tc := range []struct {
		flags uint64
		want  []string
	}{
		{0, nil},
		{0x04000000, nil}, // SA_RESTORER is libc's, not the user's
		{0x10000004, []string{"SA_SIGINFO", "SA_RESTART"}},
		{0x14000004, []string{"SA_SIGINFO", "SA_RESTART"}},
		{0x08000000, []string{"SA_ONSTACK"}},
		{0xc0000000, []string{"SA_NODEFER", "SA_RESETHAND"}},
		{0x00000003, []string{"SA_NOCLDSTOP", "SA_NOCLDWAIT"}},
		{0xdc000007, []string{"SA_NOCLDSTOP", "SA_NOCLDWAIT", "SA_SIGINFO", "SA_ONSTACK", "SA_RESTART", "SA_NODEFER", "SA_RESETHAND"}},
	} {
		got := SAFlagNames(tc.flags)
		if len(got) != len(tc.want) || (len(got) > 0 && !slices.Equal(got, tc.want)) {
			t.Errorf("SAFlagNames(%#x) = %q, want %q", tc.flags, got, tc.want)
		}
	}
}
