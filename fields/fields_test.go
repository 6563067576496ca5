package fields

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/goruntime"
	"github.com/sigtrace/sigtrace/tracer"
)

// TestEntriesComplete: every field has a name, a doc, kinds and the one
// getter its type reads with.
func TestEntriesComplete(t *testing.T) {
	for _, f := range All() {
		if f.Name == "" || strings.Contains(f.Name, " ") || f.Doc == "" || f.Kinds == 0 || f.Kinds&^AllKinds != 0 {
			t.Errorf("%q: name, doc or kinds missing: %+v", f.Name, f)
		}
		if strings.HasSuffix(f.Name, "_ns") != (f.Type == Duration) {
			t.Errorf("%s: a duration's name ends in _ns, and only a duration's", f.Name)
		}
		ok := false
		switch f.Type {
		case Int, Duration:
			ok = f.Int != nil
		case Uint:
			ok = f.Uint != nil
		case String:
			ok = f.Str != nil
		case Bool:
			ok = f.Bool != nil
		case Time:
			ok = f.Time != nil
		case List:
			ok = f.Len != nil && (f.Elem == Uint) == (f.UintAt != nil) && (f.Elem == String) == (f.StrAt != nil) && (f.Elem == Uint || f.Elem == String || f.Elem == Object)
		}
		if !ok {
			t.Errorf("%s: the getter for %s is missing", f.Name, f.TypeString())
		}
		if f.Values != nil && f.Type != String && !(f.Type == List && f.Elem == String) {
			t.Errorf("%s: Values on a %s", f.Name, f.TypeString())
		}
		if Lookup(f.Name) == nil || Lookup(f.Name).Name != f.Name {
			t.Errorf("Lookup(%q) does not find it", f.Name)
		}
	}
	if f := Lookup("sig"); f == nil || f.Name != "signal.num" {
		t.Errorf("Lookup(sig) = %v", f)
	}
	if Lookup("no.such") != nil {
		t.Error("Lookup of an unknown name")
	}
}

// TestListElements: a list of objects has entries for its elements'
// fields, and each of those belongs to a list of objects.
func TestListElements(t *testing.T) {
	for _, f := range All() {
		if f.Type == List && f.Elem == Object {
			n := 0
			for _, g := range All() {
				if strings.HasPrefix(g.Name, f.Name+".") {
					n++
					if g.Type != List || g.Kinds != f.Kinds {
						t.Errorf("%s: an element field of %s is not a list of the same kinds", g.Name, f.Name)
					}
				}
			}
			if n == 0 {
				t.Errorf("%s: a list of objects without element fields", f.Name)
			}
		}
	}
}

func TestKinds(t *testing.T) {
	k := KindsOf(tracer.TypeGenerate, tracer.TypeExit)
	if !k.Has(tracer.TypeGenerate) || !k.Has(tracer.TypeExit) || k.Has(tracer.TypeDeliver) || k.Has(tracer.TypeLost) {
		t.Errorf("KindsOf: %b", k)
	}
	if got := k.String(); got != "generate,exit" {
		t.Errorf("String = %q", got)
	}
	if got := AllKinds.String(); got != "all" {
		t.Errorf("AllKinds.String = %q", got)
	}
	for _, kind := range EventKinds {
		if len(Of(kind)) == 0 {
			t.Errorf("no fields for %s", kind)
		}
	}
	if got := Lookup("type").Values; strings.Join(got, ",") != "generate,deliver,exit,pending,lost,count,gap,disposition" {
		t.Errorf("type values %q", got)
	}
}

func comm(s string) (c [16]byte) {
	copy(c[:], s)
	return c
}

// full is a generate event that sets nearly every field it may carry.
func full() tracer.Event {
	sender := tracer.Process{PID: 10, TID: 11, UID: 0, HasUID: true, Comm: comm("pkill"), ThreadComm: comm("worker"),
		Argv: []byte("pkill\x00-HUP\x00x\x00"), Ancestry: []tracer.Ancestor{{PID: 9, Comm: comm("sh")}, {PID: 1, Comm: comm("systemd")}}}
	return tracer.Event{
		Time:   time.Unix(1, 2),
		Type:   tracer.TypeGenerate,
		Sig:    1,
		Code:   0,
		Target: tracer.Process{PID: 20, TID: 20, HasUID: true, UID: 33, Comm: comm("goapp"), Cgroup: tracer.ParseCgroupPath("/a.slice")},
		Generate: tracer.Generate{
			From: tracer.From{Sender: sender, ArgvTruncated: true},
			Setup: tracer.Setup{
				Disposition: tracer.DispHandler,
				Handler:     0x1234,
				SAFlags:     0x14000004,
			},
			Blocked:        true,
			Traced:         true,
			Verdict:        tracer.Verdict{Kind: tracer.VerdictBlocked, WhenUnblocked: tracer.UnblockedHandler},
			Go:             tracer.GoRuntime{Met: true, Action: goruntime.Exit},
			HasSendSyscall: true,
			SendSyscallNr:  62,
			GroupSend:      tracer.GroupSendPgrp,
			GroupID:        20,
			ReraiseOf:      &tracer.Original{Time: time.Unix(1, 0), From: tracer.From{Sender: sender}, Code: -6},
		},
		Pending: tracer.Pending{Wait: &tracer.WaitSite{Stack: []string{"a", "b"}, InSyscall: true, SyscallNr: 0}, Ns: 7},
		Deliver: tracer.Deliver{
			Setup:      tracer.Setup{Disposition: tracer.DispHandler, Handler: 0x1234, SAFlags: 0x14000004},
			HasSyscall: true,
			HasLatency: true,
			LatencyNs:  5,
		},
	}
}

// TestGettersDoNotAllocate: reading any field of any kind, into a buffer
// with room, costs no allocation.
func TestGettersDoNotAllocate(t *testing.T) {
	ev := full()
	buf := make([]byte, 0, 4096)
	for _, kind := range EventKinds {
		ev.Type = kind
		for _, f := range All() {
			f := f
			allocs := testing.AllocsPerRun(20, func() {
				_ = f.On(&ev)
				b := f.AppendText(buf[:0], &ev)
				_ = b
			})
			if allocs != 0 {
				t.Errorf("%s on a %s event: %v allocations", f.Name, kind, allocs)
			}
		}
	}
}

func TestAppendText(t *testing.T) {
	ev := full()
	for name, want := range map[string]string{
		"time":                  time.Unix(1, 2).Format(TimeLayout),
		"type":                  "generate",
		"signal.num":            "1",
		"signal.name":           "SIGHUP",
		"code":                  "SI_USER",
		"sender.comm":           "pkill",
		"sender.thread_comm":    "worker",
		"sender.argv":           "pkill,-HUP,x",
		"sender.ancestry":       "2",
		"sender.ancestry.pid":   "9,1",
		"sender.ancestry.comm":  "sh,systemd",
		"handler":               "0x1234",
		"reraise_of.code":       "SI_TKILL",
		"reraise_of.sender.pid": "10",
		"verdict":               "blocked",
		"when_unblocked":        "handler",
		"flags":                 "SA_SIGINFO,SA_RESTART",
	} {
		f := Lookup(name)
		if f == nil {
			t.Errorf("no field %s", name)
			continue
		}
		if f.Kinds.Has(ev.Type) && !f.On(&ev) {
			t.Errorf("%s: not on the event", name)
		}
		if got := string(f.AppendText(nil, &ev)); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestArgvSplit(t *testing.T) {
	for _, tc := range []struct {
		argv string
		want []string
	}{
		{"", nil},
		{"a\x00", []string{"a"}},
		{"a\x00b", []string{"a", "b"}},
		{"a\x00\x00b\x00", []string{"a", "", "b"}},
		{"\x00", []string{""}},
	} {
		b := []byte(tc.argv)
		var got []string
		for i := range argvLen(b) {
			got = append(got, string(argvAt(b, i)))
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("%q: %q, want %q", tc.argv, got, tc.want)
		}
	}
}

// TestValuesAsSPEC: the values the SPEC (../shared/SPEC.md, "Event model
// and JSON") promises for its enumerated fields. Field names are stable:
// a value may be added, never renamed or removed.
func TestValuesAsSPEC(t *testing.T) {
	for name, spec := range map[string][]string{
		"result":          {"delivered", "ignored", "already_pending", "overflow", "lose_info"},
		"disposition":     {"default", "ignore", "handler"},
		"default_action":  {"terminate", "core", "ignore", "stop", "continue"},
		"verdict":         {"fatal", "handled", "ignored", "blocked", "stop", "continue", "merged", "dropped"},
		"scope":           {"process", "thread"},
		"when_unblocked":  {"terminate", "core", "stop", "ignore", "handler"},
		"reason":          {"blocked", "stopped", "traced", "uninterruptible", "unknown"},
		"syscall.outcome": {"restart", "eintr"},
		"flags":           {"SA_RESTART", "SA_SIGINFO", "SA_ONSTACK", "SA_RESETHAND", "SA_NODEFER"},
	} {
		f := Lookup(name)
		if f == nil {
			t.Errorf("no field %s", name)
			continue
		}
		for _, v := range spec {
			if !slices.Contains(f.Values, v) {
				t.Errorf("%s: the SPEC's value %q is not among %q", name, v, f.Values)
			}
		}
	}
	// The SPEC's names of fields and objects.
	for _, name := range []string{
		"time", "type", "signal.num", "signal.name", "code",
		"sender.pid", "sender.tid", "sender.comm", "sender.uid", "sender.argv", "sender.kernel", "sender.reason",
		"sender.ancestry", "sender.ancestry.pid", "sender.ancestry.comm",
		"target.pid", "target.tid", "target.comm", "target.cgroup", "scope", "result", "disposition", "handler",
		"default_action", "blocked", "verdict", "fatal", "unprepared", "fatal_when_unblocked", "when_unblocked",
		"flags", "latency_ns", "syscall.nr", "syscall.name", "syscall.outcome",
		"core_dumped", "killer.pid", "killer.comm", "killer.ancestry", "killer.kernel",
		"pending_ns", "reason", "count",
	} {
		if Lookup(name) == nil {
			t.Errorf("the SPEC's field %s is not in the registry", name)
		}
	}
}
