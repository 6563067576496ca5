package output_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sigtrace/sigtrace/audit"
	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tmpl"
	"github.com/sigtrace/sigtrace/tracer"
)

// TestOnePolicy (issue 19, item 4): the same hostile text, as a command
// name, an argv, a cgroup, a configuration file's name and line, goes
// through every renderer: the trace table (plain and coloured), a
// --format template, the trace JSON, and the audit's table, JSON and
// warnings. What is for a terminal holds no raw C0 or C1 control, DEL,
// byte that is not UTF-8 or bidirectional/invisible format character (the
// policy of output.AppendSafe), and has as many lines as it has for
// benign text (no newline forges a row); the JSON is valid, as safe on a
// terminal as the table, and decodes to the text given, with only the
// bytes that are not UTF-8 replaced by U+FFFD.
func TestOnePolicy(t *testing.T) {
	hostile := []struct{ name, s string }{
		{"CSI clear screen", "\x1b[2J\x1b[Hok"},
		{"OSC window title", "\x1b]0;pwned\x07t"},
		{"C1 CSI", "a\u009b31mred"},
		{"newline forging a row", "x\nFATAL  SIGHUP  1 init"},
		{"carriage return", "over\rwrite"},
		{"C0 and DEL", "bell\x07\x01\x02\x7fdel"},
		{"invalid UTF-8", "bad\xff\xfe end"},
		{"truncated UTF-8", "cut\xc3"},
		{"surrogate", "sur\xed\xa0\x80"},
		{"bidi override", "txt\u202egnp.exe"},
		{"invisible", "zero\u200bwidth\ufeffbom\u2066iso\u061c"},
		{"line separators", "ls\u2028ps\u2029"},
		{"backslash imitating an escape", `fake\x1b[2J\\`},
		{"quotes and syntax", `"sshd[1] ← cron" …`},
		{"very long", strings.Repeat("A\x1b[1m", 20000)},
	}
	renderers := []struct {
		name     string
		json     bool
		render   func(t *testing.T, s string) []byte
		decoded  func(t *testing.T, out []byte) []string // JSON: the strings that must come back
		expected func(s string) []string                 // what decoded must say
	}{
		{name: "trace table", render: func(t *testing.T, s string) []byte { return traceRows(&output.Table{}, events(s)) }},
		{name: "trace table, colour", render: func(t *testing.T, s string) []byte {
			// The table's own colours are SGR sequences; with the
			// hostile text escaped, no other ESC may be left.
			return sgr.ReplaceAll(traceRows(&output.Table{Color: true}, events(s)), nil)
		}},
		{name: "--format template", render: func(t *testing.T, s string) []byte {
			tp, err := tmpl.Compile("{{.sender.comm}} -> {{.target.comm}} {{.sender.argv}} {{.target.cgroup}} {{.target.unit}}")
			if err != nil {
				t.Fatal(err)
			}
			return traceRows(tp, events(s))
		}},
		{name: "trace JSON", json: true,
			render: func(t *testing.T, s string) []byte { return traceRows(output.NewJSON(), events(s)) },
			decoded: func(t *testing.T, out []byte) []string {
				var ev struct {
					Sender struct {
						Comm string   `json:"comm"`
						Argv []string `json:"argv"`
					} `json:"sender"`
					Target struct {
						Comm   string `json:"comm"`
						Cgroup string `json:"cgroup"`
						Unit   string `json:"unit"`
					} `json:"target"`
				}
				first, _, _ := bytes.Cut(out, []byte("\n"))
				if err := json.Unmarshal(first, &ev); err != nil {
					t.Fatal(err)
				}
				return append([]string{ev.Sender.Comm, ev.Target.Comm, ev.Target.Cgroup, ev.Target.Unit}, ev.Sender.Argv...)
			},
			expected: func(s string) []string {
				return []string{commOf(s), commOf(s), "/system.slice/" + s, s, "kill", "-HUP", s}
			},
		},
		{name: "audit table", render: func(t *testing.T, s string) []byte {
			var b bytes.Buffer
			if err := audit.WriteTable(&b, report(s)); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}},
		{name: "audit warnings", render: func(t *testing.T, s string) []byte {
			// As cmd/sigtrace's audit prints them.
			var b bytes.Buffer
			for _, w := range report(s).Warnings {
				fmt.Fprintf(&b, "sigtrace: warning: %s\n", output.SafeString(w.String()))
			}
			return b.Bytes()
		}},
		{name: "audit JSON", json: true,
			render: func(t *testing.T, s string) []byte {
				var b bytes.Buffer
				if err := audit.WriteJSON(&b, report(s)); err != nil {
					t.Fatal(err)
				}
				return b.Bytes()
			},
			decoded: func(t *testing.T, out []byte) []string {
				var f audit.Finding
				first, _, _ := bytes.Cut(out, []byte("\n"))
				if err := json.Unmarshal(first, &f); err != nil {
					t.Fatal(err)
				}
				return []string{f.Source.File, f.Source.Text, f.Source.Via[0].Text, f.Selector, f.Target.Comm, f.Target.Cmdline, f.Reason}
			},
			expected: func(s string) []string {
				return []string{"/etc/cron.d/" + s, "* * * * * root kill -HUP " + s, "kill " + s, "pid " + s, s, s, "no handler for " + s}
			},
		},
	}
	for _, r := range renderers {
		benign := r.render(t, "benign")
		for _, h := range hostile {
			t.Run(r.name+"/"+h.name, func(t *testing.T) {
				out := r.render(t, h.s)
				if got, want := bytes.Count(out, []byte("\n")), bytes.Count(benign, []byte("\n")); got != want {
					t.Errorf("%d lines, %d for benign text: a newline got through:\n%.2000q", got, want, out)
				}
				if i, bad := unsafeAt(out); bad {
					t.Errorf("raw %q at byte %d reaches the terminal: %.200q", out[i:min(i+4, len(out))], i, out[max(0, i-60):min(len(out), i+60)])
				}
				if !r.json {
					if !strings.Contains(string(out), output.SafeString(commOf(h.s))) && !strings.Contains(string(out), output.SafeString(h.s)) {
						t.Errorf("the text is not shown escaped: %.300q", out)
					}
					return
				}
				for _, l := range bytes.SplitAfter(out, []byte("\n")) {
					if len(l) > 0 && !json.Valid(l) {
						t.Errorf("invalid JSON: %.300q", l)
					}
				}
				got, want := r.decoded(t, out), r.expected(h.s)
				for i := range want {
					want[i] = validUTF8(want[i])
				}
				if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
					t.Errorf("decodes to\n%.400q\nwant\n%.400q", got, want)
				}
			})
		}
	}
}

var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// unsafeAt is the first rune of b the policy escapes, but a line's own
// newline and the backslash of an escape.
func unsafeAt(b []byte) (int, bool) {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != '\n' && r != '\\' && output.SafeString(string(b[i:i+size])) != string(b[i:i+size]) {
			return i, true
		}
		i += size
	}
	return 0, false
}

// validUTF8 is s with each byte that is not UTF-8 replaced by U+FFFD, as
// encoding/json does.
func validUTF8(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// commOf is s as the kernel keeps a comm: at most 15 bytes.
func commOf(s string) string {
	c := comm(s)
	return string(tracer.CommBytes(c[:]))
}

func comm(s string) (c [16]byte) {
	copy(c[:15], s)
	return c
}

type rowRenderer interface {
	AppendHeader(b []byte) []byte
	AppendRow(b []byte, ev *tracer.Event) []byte
}

func traceRows(r rowRenderer, evs []tracer.Event) []byte {
	b := r.AppendHeader(nil)
	for i := range evs {
		b = r.AppendRow(b, &evs[i])
	}
	return b
}

// events puts s where a trace shows what others chose: the names of a
// sender, its parent and its target and its target's thread, the
// sender's argv, the target's cgroup and unit, an OOM victim's memory
// cgroup.
func events(s string) []tracer.Event {
	at := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	cg := &tracer.CgroupInfo{Path: "/system.slice/" + s, Unit: s}
	sender := tracer.Process{PID: 10, TID: 10, Comm: comm(s), Argv: []byte("kill\x00-HUP\x00" + s + "\x00"),
		Ancestry: []tracer.Ancestor{{PID: 9, Comm: comm(s)}, {PID: 1, Comm: comm("init")}}}
	target := tracer.Process{PID: 20, TID: 21, Comm: comm(s), ThreadComm: comm("t" + s), Cgroup: cg}
	return []tracer.Event{
		{Time: at, Type: tracer.TypeGenerate, Sig: 1, Target: target, Generate: tracer.Generate{
			From: tracer.From{Sender: sender}, Setup: tracer.Setup{DefaultAction: signals.Terminate},
			Verdict: tracer.Verdict{Kind: tracer.VerdictFatal, Fatal: true, Unprepared: true}}},
		{Time: at, Type: tracer.TypeDeliver, Sig: 1, Target: target, Scope: tracer.ScopeThread},
		{Time: at, Type: tracer.TypeExit, Sig: 1, Target: target, Exit: tracer.Exit{KillerKnown: true, Killer: tracer.From{Sender: sender}}},
		{Time: at, Type: tracer.TypeExit, Sig: 9, Target: target, Exit: tracer.Exit{KillerKnown: true, Killer: tracer.From{
			KernelSender: true, KernelReason: "OOM killer", MemCgroup: "/user.slice/" + s}}},
		{Time: at, Type: tracer.TypeCount, Count: tracer.Count{N: 3, Keys: []tracer.CountValue{
			{Field: "sender.comm", Value: output.AppendJSONString(nil, []byte(s))}}}},
		{Time: at, Type: tracer.TypeGap, Gap: tracer.Gap{Count: 1, From: at, To: at, Error: s}},
	}
}

// report puts s where the audit shows what others chose: a configuration
// file's name and lines, what a sender names, a target's name and command
// line, a reason quoting it, and a warning's file and message.
func report(s string) *audit.Report {
	src := &audit.Source{File: "/etc/cron.d/" + s, Line: 3, Text: "* * * * * root kill -HUP " + s, Context: "cron",
		Via: []audit.Hop{{File: "/usr/local/bin/" + s, Line: 2, Text: "kill " + s, Context: "script"}}}
	target := &audit.Target{PID: 42, Comm: s, Cmdline: s, Unit: s}
	return &audit.Report{
		Findings: []audit.Finding{
			{Kind: "sender", Source: src, Sender: "kill", Selector: "pid " + s, Signal: &audit.Signal{Num: 1, Name: "SIGHUP"},
				Target: target, Disposition: "default", DefaultAction: "terminate", Risk: audit.RiskFatal, Reason: "no handler for " + s},
			{Kind: "exposure", Signal: &audit.Signal{Num: 10, Name: "SIGUSR1"}, Target: target, Disposition: "default",
				Risk: audit.RiskUnprepared, Reason: s},
		},
		Warnings: []audit.Warning{{File: "/etc/logrotate.d/" + s, Line: 7, Msg: "bad line " + s}},
		Files:    1, Senders: 1, Procs: 1,
	}
}
