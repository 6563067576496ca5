package filter

import (
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/tracer"
)

func comm(s string) (c [16]byte) {
	copy(c[:], s)
	return c
}

// Fixture events: one of each kind a filter meets.
var (
	// pkill (uid 1000) sends SIGHUP to logdeviced, which has no handler.
	hupFatal = tracer.Event{
		Time:   time.Unix(1, 0),
		Type:   tracer.TypeGenerate,
		Sig:    1,
		Code:   0,
		Target: tracer.Process{PID: 20, TID: 20, UID: 0, HasUID: true, Comm: comm("logdeviced")},
		Scope:  tracer.ScopeProcess,
		Generate: tracer.Generate{
			From: tracer.From{Sender: tracer.Process{PID: 10, TID: 10, UID: 1000, HasUID: true, Comm: comm("pkill"),
				Argv: []byte("pkill\x00-HUP\x00logdeviced\x00"), Ancestry: []tracer.Ancestor{{PID: 9, Comm: comm("sh")}, {PID: 1, Comm: comm("systemd")}}}},
			Setup:   tracer.Setup{Disposition: tracer.DispDefault, DefaultAction: 0},
			Verdict: tracer.Verdict{Kind: tracer.VerdictFatal, Fatal: true, Unprepared: true},
		},
	}
	// root's kill sends SIGTERM to nginx, which handles it.
	termHandled = tracer.Event{
		Time:   time.Unix(2, 0),
		Type:   tracer.TypeGenerate,
		Sig:    15,
		Target: tracer.Process{PID: 40, TID: 41, UID: 33, HasUID: true, Comm: comm("nginx"), ThreadComm: comm("nginx: worker")},
		Generate: tracer.Generate{
			From:    tracer.From{Sender: tracer.Process{PID: 30, TID: 30, UID: 0, HasUID: true, Comm: comm("kill")}},
			Setup:   tracer.Setup{Disposition: tracer.DispHandler, Handler: 0x4000},
			Verdict: tracer.Verdict{Kind: tracer.VerdictHandled},
		},
	}
	// The kernel raises SIGPIPE in a writer.
	pipeKernel = tracer.Event{
		Time:     time.Unix(3, 0),
		Type:     tracer.TypeGenerate,
		Sig:      13,
		Target:   tracer.Process{PID: 50, TID: 50, UID: 1000, HasUID: true, Comm: comm("yes")},
		Generate: tracer.Generate{From: tracer.From{KernelSender: true, KernelReason: "write to a broken pipe"}, Verdict: tracer.Verdict{Kind: tracer.VerdictFatal, Fatal: true}},
	}
	// SIGRTMIN+3 delivered to a handler, interrupting read().
	rtDeliver = tracer.Event{
		Time:   time.Unix(4, 0),
		Type:   tracer.TypeDeliver,
		Sig:    37,
		Target: tracer.Process{PID: 60, TID: 61, UID: 0, HasUID: true, Comm: comm("app")},
		Deliver: tracer.Deliver{
			Setup: tracer.Setup{
				Disposition: tracer.DispHandler,
				Handler:     0x1,
				SAFlags:     0x10000000,
			},
			HasSyscall:     true,
			SyscallNr:      0,
			SyscallOutcome: tracer.OutcomeRestart,
			HasLatency:     true,
			LatencyNs:      1500,
		},
	}
	// logdeviced died of SIGHUP; pkill killed it.
	hupExit = tracer.Event{
		Time:    time.Unix(5, 0),
		Type:    tracer.TypeExit,
		Sig:     1,
		Target:  tracer.Process{PID: 20, TID: 20, UID: 0, HasUID: true, Comm: comm("logdeviced")},
		Deliver: tracer.Deliver{ExitSignal: 1},
		Exit:    tracer.Exit{KillerKnown: true, Killer: tracer.From{Sender: tracer.Process{PID: 10, TID: 10, UID: 1000, HasUID: true, Comm: comm("pkill")}}},
	}
)

var fixtures = map[string]*tracer.Event{
	"hupFatal": &hupFatal, "termHandled": &termHandled, "pipeKernel": &pipeKernel, "rtDeliver": &rtDeliver, "hupExit": &hupExit,
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		expr  string
		match []string // the fixtures it matches; the others it does not
	}{
		{`sig == SIGHUP && target.comm == "logdeviced"`, []string{"hupFatal", "hupExit"}},
		{`type == "exit"`, []string{"hupExit"}},
		{`type == "generate" && verdict == "fatal"`, []string{"hupFatal", "pipeKernel"}},
		{`sender.uid != 0 && sig in [SIGTERM, SIGKILL, SIGHUP]`, []string{"hupFatal"}},
		{`sender.uid != 0`, []string{"hupFatal"}},                                             // absent on the kernel's and the deliver: false
		{`not (sender.uid == 0)`, []string{"hupFatal", "pipeKernel", "rtDeliver", "hupExit"}}, // not negates
		{`sender.uid not in [0]`, []string{"hupFatal", "pipeKernel", "rtDeliver", "hupExit"}},
		{`target.comm matches "^nginx"`, []string{"termHandled"}},
		{`target.comm matches "^(log|ng)"`, []string{"hupFatal", "termHandled", "hupExit"}},
		{`verdict == "fatal" && unprepared`, []string{"hupFatal"}},
		{`unprepared`, []string{"hupFatal"}},
		{`!unprepared`, []string{"termHandled", "pipeKernel", "rtDeliver", "hupExit"}},
		{`sig == SIGRTMIN+3`, []string{"rtDeliver"}},
		{`signal.name == "SIGRTMIN+3"`, []string{"rtDeliver"}},
		{`sig in SIGRTMIN..SIGRTMAX`, []string{"rtDeliver"}},
		{`signal.num == 13`, []string{"pipeKernel"}},
		{`sig == SIGPIPE && sender.kernel`, []string{"pipeKernel"}},
		{`sender.reason contains "pipe"`, []string{"pipeKernel"}},
		{`sender.pid == nil`, []string{"pipeKernel", "rtDeliver", "hupExit"}},
		{`sender.pid != nil && sender.pid == 10`, []string{"hupFatal"}},
		{`killer.comm == "pkill"`, []string{"hupExit"}},
		{`target.pid in [20, 40]`, []string{"hupFatal", "termHandled", "hupExit"}},
		{`target.tid != target.pid`, []string{"termHandled", "rtDeliver"}},
		{`target.thread_comm == "nginx: worker"`, []string{"termHandled"}},
		{`"SA_RESTART" in flags`, []string{"rtDeliver"}},
		{`syscall.outcome == "restart" && latency_ns > 1000`, []string{"rtDeliver"}},
		{`latency_ns >= 1500 && latency_ns < 1501`, []string{"rtDeliver"}},
		{`"sh" in sender.ancestry.comm`, []string{"hupFatal"}},
		{`1 in sender.ancestry.pid`, []string{"hupFatal"}},
		{`len(sender.argv) == 3 && len(sender.ancestry) == 2`, []string{"hupFatal"}},
		{`"logdeviced" in sender.argv`, []string{"hupFatal"}},
		{`disposition == "handler" || type == "exit"`, []string{"termHandled", "rtDeliver", "hupExit"}},
		{`target.comm startsWith "log" and target.comm endsWith "d"`, []string{"hupFatal", "hupExit"}},
		{`target.comm > "m"`, []string{"termHandled", "pipeKernel"}},
		{`target.comm == sender.comm`, nil},
		{`sig * 2 == 2 || sig % 2 == 1 && sig > 30`, []string{"hupFatal", "rtDeliver", "hupExit"}},
		{`-sig == -15`, []string{"termHandled"}},
		{`traced == false && type == "generate"`, []string{"hupFatal", "termHandled", "pipeKernel"}},
		{`fatal == true`, []string{"hupFatal", "pipeKernel"}},
		{`true`, []string{"hupFatal", "termHandled", "pipeKernel", "rtDeliver", "hupExit"}},
		{`1 == 2`, nil},
		{`type == "exit" ? killer.comm == "pkill" : sig == SIGTERM`, []string{"termHandled", "hupExit"}},
		{`sig in [SIGIOT, SIGCLD, SIGPOLL]`, nil},
	} {
		f, err := Compile(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		for name, ev := range fixtures {
			want := false
			for _, m := range tc.match {
				want = want || m == name
			}
			if got := f.Match(ev); got != want {
				t.Errorf("%s on %s: %v, want %v", tc.expr, name, got, want)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`sig == "x"`, `bad filter at column 5 (at '== "x"'): invalid operation: == (mismatched types number and string)`},
		{`target.comn == "x"`, `bad filter at column 1 (at 'target.comn == "x"'): unknown field target.comn (did you mean target.comm?)`},
		{`comm == "x"`, `bad filter at column 1 (at 'comm == "x"'): unknown field comm (did you mean killer.comm, sender.comm, target.comm?)`},
		{`sig == HUP`, `bad filter at column 8 (at 'HUP'): unknown signal HUP (signal names are written in full: SIGHUP)`},
		{`sig == SIGHUPP`, `bad filter at column 8 (at 'SIGHUPP'): unknown signal SIGHUPP (did you mean SIGHUP?)`},
		{`sig == SIGHUP &&`, `bad filter at column 17 (at the end): the expression ends too early`},
		{`sig ==`, `bad filter at column 7 (at the end): the expression ends too early`},
		{`sig`, `bad filter: the expression must be true or false for an event, like sig == SIGHUP, not a value`},
		{`target`, `bad filter at column 1 (at 'target'): target is an object: compare one of its fields (target.pid, target.tid, target.comm, target.thread_comm, ...)`},
		{`target == "x"`, `bad filter at column 1 (at 'target == "x"'): target is an object: compare one of its fields (target.pid, target.tid, target.comm, target.thread_comm, ...)`},
		{`target.comm matches "("`, `bad filter at column 13 (at 'matches "("'): error parsing regexp: missing closing ): ` + "`(`"},
		{`sig == 1.5`, `bad filter at column 8 (at '1.5'): numbers in filters are integers`},
		{`time > 0`, `bad filter at column 6 (at '> 0'): invalid operation: > (mismatched types time.Time and number)`},
		{`sender.comm in ["a", 1]`, `bad filter at column 22 (at '1]'): the list after in holds constants of the type of what is looked up (a string)`},
		{`unprepared == 1`, `bad filter at column 12 (at '== 1'): invalid operation: == (mismatched types bool and number)`},
		{`target.comm == "averyveryverylongname"`, `bad filter at column 13 (at '== "averyveryverylong...'): target.comm is at most 15 bytes (the kernel keeps no more of a command name): "averyveryverylongname" never matches; write "averyveryverylo"`},
		{`upper(target.comm) == "X"`, `bad filter at column 1 (at 'upper(target.comm) ==...'): upper() is not supported in filters (only len())`},
		{``, `bad filter: empty expression (e.g. 'sig == SIGHUP && target.comm == "nginx"')`},
		{"sig == 1\n", `bad filter: the expression is one line: no newlines`},
	} {
		_, err := Compile(tc.expr)
		if err == nil {
			t.Errorf("%q compiles", tc.expr)
			continue
		}
		if got := err.Error(); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.expr, got, tc.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error has more than one line", tc.expr)
		}
	}
}
