package output

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tracer"
)

func renderTable(color bool, evs []namedEvent) []byte {
	tb := &Table{Color: color}
	b := tb.AppendHeader(nil)
	for i := range evs {
		b = tb.AppendRow(b, &evs[i].ev)
	}
	return b
}

func TestTableGolden(t *testing.T) {
	golden(t, "table.golden", renderTable(false, fixtures()))
	golden(t, "table_color.golden", renderTable(true, fixtures()))
}

var ownColors = strings.NewReplacer(ansiReset, "", ansiRed, "", ansiYellow, "", ansiDim, "")

func TestTableNoColor(t *testing.T) {
	out := renderTable(false, fixtures())
	if i := bytes.IndexByte(out, 0x1b); i >= 0 {
		t.Errorf("escape byte at %d with Color=false: %q", i, out[max(0, i-20):min(len(out), i+20)])
	}
}

func TestTableColor(t *testing.T) {
	const redFatal = "\x1b[1;31mFATAL\x1b[0m"
	evs := fixtures()
	for i := range evs {
		row := string((&Table{Color: true}).AppendRow(nil, &evs[i].ev))
		plain := string((&Table{Color: false}).AppendRow(nil, &evs[i].ev))
		if got := ownColors.Replace(row); got != plain {
			t.Errorf("%s: colour changes more than escapes:\n color: %q\n plain: %q", evs[i].name, got, plain)
		}
		if strings.Contains(ownColors.Replace(row), "\x1b") {
			t.Errorf("%s: an escape that is not a colour: %q", evs[i].name, row)
		}
		fatal := evs[i].ev.Type == tracer.TypeGenerate && evs[i].ev.Generate.Fatal
		if got := strings.Contains(row, redFatal); got != fatal {
			t.Errorf("%s: red FATAL present = %v, want %v: %q", evs[i].name, got, fatal, row)
		}
		if fatal && !strings.Contains(plain, "FATAL") {
			t.Errorf("%s: fatal row without FATAL: %q", evs[i].name, plain)
		}
	}
}

// TestTableContent: what each row must say, whatever the layout.
func TestTableContent(t *testing.T) {
	evs := fixtures()
	want := map[string][]string{
		"pkill from a cron job kills an unprepared daemon": {"SIGHUP", "SI_USER", "pkill[5001] ← sh ← nightlyjob ← cron ", "logdeviced[3003]", "FATAL unprepared: no SIGHUP handler, default terminate"},
		"kernel SIGSEGV SEGV_MAPERR":                       {"SIGSEGV", "SEGV_MAPERR", "kernel: invalid memory access: address not mapped", "crashy[6000/6001]", "FATAL", "core"},
		"SIGKILL: fatal, not unprepared":                   {"SIGKILL", "bash[2100] ← sshd ← sshd ", "FATAL"},
		"handled by a handler":                             {"SIGUSR1", "kill[2200] ← bash ← sshd", "handled"},
		"blocked, fatal when unblocked":                    {"blocked, FATAL when unblocked"},
		"merged with a pending one":                        {"merged"},
		"dropped: RT queue overflow":                       {"SIGRTMIN+3", "SI_QUEUE", "dropped"},
		"thread-directed, kills the whole process":         {"SI_TKILL", "logdeviced[3003/3010]", "FATAL", "kills the whole process"},
		"deep ancestry, argv truncated":                    {"svc-restart[6100] ← bash ← make ← ansible ← python3 ← …"},
		"pid namespace init: ignored":                      {"init[4000]", "ignored", "namespace init"},
		"SIGCONT continues":                                {"SIGCONT", "continue"},
		"SIGALRM from the kernel, SIG_IGN, traced":         {"kernel: timer expired", "ignored", "[traced]"},
		"sigwait": {"handled (sigwait)"},
		"deliver to a handler with SA_RESTART|SA_SIGINFO": {"↳ delivered", "logdeviced[3003/3010]", "handler 0x55d0c0de1234", "SA_SIGINFO", "SA_RESTART"},
		"deliver to the default action":                   {"↳ delivered", "default: terminate"},
		"deliver, group dying of SIGHUP":                  {"SIGKILL", "dying of SIGHUP"},
		"deliver, group dying of SIGSEGV, core dumped":    {"dying of SIGSEGV (core dumped)"},
		"lost": {"LOST 42 events"},
		"lost, mostly shed to keep room for deaths":                                  {"LOST 42 events: the ring buffer was full (40 of them shed to keep room for deaths) (try --ring-size"},
		"lost, some skipped by the kernel (its program already running on that CPU)": {"LOST 5 events: the ring buffer was full (1 of them shed to keep room for deaths); 3 skipped by the kernel, which does not run sigtrace's program on a CPU where it is already running (a signal sent from an interrupt) (try --ring-size"},
		"lost, all skipped by the kernel":                                            {"LOST 2 events: 2 skipped by the kernel, which does not run sigtrace's program on a CPU where it is already running (a signal sent from an interrupt)\n"},
		"SIGTERM from a container to a systemd unit":                                 {"SIGTERM", "\"runc:[2:INIT]\"[7300]", "nginx[7400]", "FATAL unprepared"},
		"SIGHUP to a Go program without signal.Notify":                               {"goapp[8100]", "FATAL unprepared: Go program without signal.Notify(SIGHUP): the runtime re-raises it to die"},
		"SIGUSR1 to a Go program, mask unreadable":                                   {"handled, but a Go program that did not call signal.Notify(SIGUSR1): the runtime drops it (notify mask unreadable)"},
		"deliver to a thread with a name of its own":                                 {`logdeviced[3003/3010 "rs:main Q:Reg"]`, "handler"},
		"deliver, internal SIGKILL: exit_group":                                      {"SIGKILL", "killed by the kernel: the process called exit_group()"},
		"deliver, internal SIGKILL: exec":                                            {"killed by the kernel: another thread execs"},
		"deliver, internal SIGKILL: core dump of SIGSEGV":                            {"dying of SIGSEGV (dumping core)"},
		"OOM kill in a memory cgroup":                                                {"SI_KERNEL", "kernel: OOM killer", "memhog[7100]", "FATAL"},
		"exit of the OOM victim":                                                     {"EXIT memhog[7100] killed by SIGKILL from the kernel (OOM killer in memory cgroup /system.slice)"},
		"hard RLIMIT_CPU":                                                            {"kernel: CPU time hard limit reached (RLIMIT_CPU)"},
		"to a process already exiting":                                               {"ignored: target already exiting"},
		"kill -HUP -3000: a process group":                                           {"FATAL", "[kill of process group 3000]"},
		"kill -TERM -1: every process":                                               {"handled [kill -1: every process]"},
		"tgkill from a named thread":                                                 {"bash[2100] ← sshd", "logdeviced[3003/3010]", "handled"},
		"exit: the process's name, the last thread's own":                            {"EXIT logdeviced[3003] killed by SIGTERM from kill[2200]"},
		"blocked SIGTSTP, stops when unblocked":                                      {"SIGTSTP", "blocked, stops when unblocked"},
		"blocked SIGUSR1, handled when unblocked":                                    {"SIGUSR1", "blocked, handled when unblocked"},
		"blocked SIGSEGV, fatal with a core when unblocked":                          {"blocked, FATAL when unblocked (core)"},
		"pending at a vfork parent in D state":                                       {"PENDING SIGUSR1 to logdeviced[3003/3010] for 1.5s: uninterruptible in kernel_clone ← vfork()"},
		"pending in D state, no stack file":                                          {"uninterruptible in close() (no kernel stack: this kernel has no /proc/PID/stack"},
		"pending blocked":                                                            {"PENDING SIGTERM to logdeviced[3003] for 600.0ms: blocked, FATAL when unblocked\n"},
		"blocked SIGCONT, resumed when sent":                                         {"blocked, ignored when unblocked (resumed the process when sent)"},
		"deliver to a handler, read() interrupted: EINTR":                            {"↳ delivered", "41.2µs after sending, read() fails with EINTR, handler 0x55d0c0de1234 SA_SIGINFO"},
		"deliver to SA_RESTART handler, read() restarts":                             {"SI_QUEUE", "2.5ms after sending, read() restarts, handler 0x55d0c0de1234 SA_SIGINFO SA_RESTART"},
		"deliver to SIG_IGN":                                                         {"SIGPIPE", "↳ delivered", "ignored"},
		"exit, killer not seen, core dumped":                                         {"EXIT crashy[6000] killed by SIGSEGV (sender not seen)", "core dumped"},
		"pending at a stopped process":                                               {"PENDING SIGUSR1 to logdeviced[3003] for 3.0s: stopped"},
		"pending at a traced thread":                                                 {"PENDING SIGTERM to logdeviced[3003/3010] for 750.0ms: traced"},
		"pending, reason unknown":                                                    {"PENDING SIGHUP to logdeviced[3003] for 1.0s"},
		"sigqueue with an unnamed code":                                              {"SIGUSR1", " -42 ", "kill[2200]", "handled"},
		"exit, killed by a named thread whose argv was cut":                          {"EXIT logdeviced[3003] killed by SIGTERM from svc-restart[6100]"},
		"re-raise of a signal from a named thread whose argv was cut":                {"SIGINT", "FATAL re-raise of SIGINT from svc-restart[6100]"},
		"count of a storm, summarised":                                               {"COUNT 184467× sender.comm=storm target.pid=3003 signal.name=SIGUSR1 verdict=ignored (interval to 00:00:01)"},
		"count with a field the events did not carry":                                {"COUNT 2× sender.comm=- fatal=true\n"},
		"gap in a recording":                                                         {"GAP 5120 events not recorded from 00:00:01.153456 to 00:00:01.167456"},
		"the original: pkill's SIGHUP meets the Go runtime's handler":                {"pkill[7120] ← sh ← logrotate ← cron", "goapp[7123]", "handled"},
		"first re-raise, through the runtime's own handler":                          {"handled, re-raise of SIGHUP from pkill[7120] ← sh ← logrotate ← cron, sent 180.0µs before"},
		"second re-raise, at SIG_DFL: fatal":                                         {"FATAL re-raise of SIGHUP from pkill[7120] ← sh ← logrotate ← cron, sent 1.2ms before (kills the whole process)"},
		"the death, its killer passed on through the re-raise":                       {"EXIT goapp[7123] killed by SIGHUP from pkill[7120] ← sh ← logrotate ← cron (re-raised by the process after its handler ran)"},
		"C program re-raises the kernel's SIGALRM with kill(getpid())":               {"FATAL re-raise of SIGALRM from the kernel: timer expired (alarm/setitimer), sent 20.1ms before"},
		"its death, from the kernel through the re-raise":                            {"EXIT legacyd[8800] killed by SIGALRM from the kernel (timer expired (alarm/setitimer)) (re-raised by the process after its handler ran)"},
		"a death by a signal to itself that re-raised nothing":                       {"EXIT legacyd[8800] killed by SIGUSR2 from legacyd[8800] (no SIGUSR2 handler: default action terminate)"},
		"a daemon removes its SIGHUP handler":                                        {"DISPOSITION logdeviced[3003] SIGHUP handler → default (now dies of SIGHUP)\n"},
		"an exec resets a shell's trap":                                              {"DISPOSITION true[4100] SIGUSR1 handler → default at exec (now dies of SIGUSR1)\n"},
		"SA_RESETHAND resets a handler as it runs":                                   {"DISPOSITION crashy[6000] SIGTERM handler → default as the handler ran (SA_RESETHAND) (now dies of SIGTERM)\n"},
		"a vfork child ignores SIGINT (all dispositions)":                            {"DISPOSITION bash[2100] SIGINT default → ignore in a vfork child\n"},
		"a process installs a handler (all dispositions)":                            {"DISPOSITION svc-restart[6100] SIGUSR2 default → handler\n"},
		"exit of a process unprepared since it removed its handler":                  {"EXIT logdeviced[3003] killed by SIGHUP from pkill[5001] ← sh ← nightlyjob ← cron (no SIGHUP handler since 00:00:01, when it set SIG_DFL with sigaction: default action terminate)\n"},
		"exit, sender not seen, of a program that never had a handler":               {"EXIT crashy[6000] killed by SIGTERM (sender not seen) (no SIGTERM handler since it exec'd at 2026-03-13 00:00:01: default action terminate)\n"},
	}
	unprepared := map[string]bool{}
	for i := range evs {
		ev := &evs[i].ev
		row := string((&Table{}).AppendRow(nil, ev))
		if strings.Count(row, "\n") != 1 || !strings.HasSuffix(row, "\n") {
			t.Errorf("%s: not one line: %q", evs[i].name, row)
		}
		if !strings.HasPrefix(row, "00:00:01.") {
			t.Errorf("%s: row does not start with the time: %q", evs[i].name, row)
		}
		parts, ok := want[evs[i].name]
		if !ok {
			t.Errorf("fixture %q has no expectations here", evs[i].name)
		}
		for _, p := range parts {
			if !strings.Contains(row, p) {
				t.Errorf("%s: row lacks %q:\n%s", evs[i].name, p, row)
			}
		}
		if strings.Contains(row, "unprepared") {
			unprepared[evs[i].name] = true
		}
		// A re-raise at SIG_DFL is fatal and "unprepared" by the rules,
		// but its handler passed it on: the row names the original.
		if ev.Type == tracer.TypeGenerate && ev.Generate.ReraiseOf == nil && ev.Generate.Unprepared != strings.Contains(row, "unprepared") {
			t.Errorf("%s: \"unprepared\" shown = %v, event says %v", evs[i].name, !ev.Generate.Unprepared, ev.Generate.Unprepared)
		}
	}
	// init (pid 1) ends a chain and is not shown.
	row := string((&Table{}).AppendRow(nil, &evs[0].ev))
	if strings.Contains(row, "systemd") {
		t.Errorf("pid 1 shown in the chain: %q", row)
	}
}

// displayCol is the terminal column (0-based) where byte offset i starts.
func displayCol(s string, i int) int {
	return len([]rune(s[:i]))
}

// TestTableAlignment: a cell starts in its header's column whenever the
// cells before it fit their width.
func TestTableAlignment(t *testing.T) {
	evs := fixtures()
	out := string(renderTable(false, evs))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	header := lines[0]
	col := map[string]int{}
	for _, h := range []string{"TIME", "SIGNAL", "CODE", "SENDER", "TARGET", "VERDICT"} {
		i := strings.Index(header, h)
		if i < 0 {
			t.Fatalf("header lacks %s: %q", h, header)
		}
		col[h] = i
	}
	// Rows whose SENDER cell is wider than its column push the rest right
	// on purpose; every other row must line up.
	overflow := map[string]bool{"kernel SIGSEGV SEGV_MAPERR": true, "deep ancestry, argv truncated": true,
		"hard RLIMIT_CPU": true, "deliver to a thread with a name of its own": true,
		"deliver, internal SIGKILL: exit_group": true, "deliver, internal SIGKILL: exec": true}
	for i, line := range lines[1:] {
		ev := &evs[i].ev
		name := evs[i].name
		if ev.Type == tracer.TypeLost || ev.Type == tracer.TypeExit || ev.Type == tracer.TypePending || ev.Type == tracer.TypeCount || ev.Type == tracer.TypeGap || ev.Type == tracer.TypeDisposition {
			continue // one-line stories, not cells
		}
		cells := []struct {
			column, text string
		}{
			{"SIGNAL", signals.Name(ev.Sig) + " "},
			{"CODE", signals.CodeName(ev.Sig, ev.Code) + " "},
		}
		if !overflow[name] {
			cells = append(cells, struct{ column, text string }{"TARGET", string(tracer.CommBytes(ev.Target.Comm[:])) + "["})
		}
		for _, c := range cells {
			at := strings.Index(line, c.text)
			if c.column == "TARGET" {
				// Past the SENDER cell's start: a process that signals
				// itself (a re-raise) is named there first.
				from := len(string([]rune(line)[:col["SENDER"]+1]))
				if at = strings.Index(line[from:], c.text); at >= 0 {
					at += from
				}
			}
			if at < 0 {
				t.Errorf("%s: no %q in %q", name, c.text, line)
				continue
			}
			if got := displayCol(line, at); got != col[c.column] {
				t.Errorf("%s: %s cell %q starts in column %d, header in %d:\n%s\n%s", name, c.column, c.text, got, col[c.column], header, line)
			}
		}
		if overflow[name] {
			continue
		}
		runes := []rune(line)
		if v := col["VERDICT"]; len(runes) <= v || runes[v] == ' ' || runes[v-1] != ' ' {
			t.Errorf("%s: the VERDICT cell does not start in column %d:\n%s\n%s", name, v, header, line)
		}
	}
}

// TestTableCodeColumn: every signal name (SIGRTMIN+10) and si_code name
// (CLD_CONTINUED overflowed the column once), and any number, leave SENDER
// in its header's column.
func TestTableCodeColumn(t *testing.T) {
	tb := &Table{}
	header := string(tb.AppendHeader(nil))
	want := strings.Index(header, "SENDER")
	tried := 0
	for sig := 1; sig <= signals.Max; sig++ {
		for code := int32(-70); code <= 20; code++ {
			name, ok := signals.LookupCode(sig, code)
			if !ok && code != -42 {
				continue
			}
			ev := tracer.Event{
				Time:     baseTime,
				Type:     tracer.TypeGenerate,
				Sig:      sig,
				Code:     code,
				Target:   tracer.Process{PID: 2, TID: 2, Comm: comm("target")},
				Generate: tracer.Generate{From: tracer.From{Sender: tracer.Process{PID: 1, TID: 1, Comm: comm("sender")}}},
			}
			row := string(tb.AppendRow(nil, &ev))
			if got := displayCol(row, strings.Index(row, "sender[")); got != want {
				t.Fatalf("sig %d code %d (%q): SENDER starts in column %d, header in %d:\n%s%s", sig, code, name, got, want, header, row)
			}
			tried++
		}
	}
	if tried < 50 {
		t.Fatalf("only %d codes tried", tried)
	}
	// The most negative si_code a process can sigqueue also fits.
	ev := tracer.Event{
		Time:     baseTime,
		Type:     tracer.TypeGenerate,
		Sig:      10,
		Code:     -2147483648,
		Target:   tracer.Process{PID: 2, Comm: comm("target")},
		Generate: tracer.Generate{From: tracer.From{Sender: tracer.Process{PID: 1, Comm: comm("sender")}}},
	}
	if row := string(tb.AppendRow(nil, &ev)); displayCol(row, strings.Index(row, "sender[")) != want {
		t.Errorf("code -2147483648 shifts the row:\n%s%s", header, row)
	}
}

// Command names are whatever a process set (prctl(PR_SET_NAME)): they
// must not reach the terminal as control sequences.
func TestTableHostileComm(t *testing.T) {
	ev := tracer.Event{
		Time:   baseTime,
		Type:   tracer.TypeGenerate,
		Sig:    1,
		Target: tracer.Process{PID: 4, TID: 4, Comm: comm("\x1b[31mred\x7f")},
		Generate: tracer.Generate{
			From: tracer.From{Sender: tracer.Process{PID: 1, TID: 1, Comm: comm("a\nb\x1b[2J"),
				Ancestry: []tracer.Ancestor{ancestor(2, "\x1b]0;title\x07"), ancestor(3, "ok\r")}}},
			Setup:   tracer.Setup{DefaultAction: signals.Terminate},
			Verdict: tracer.Verdict{Kind: tracer.VerdictFatal, Fatal: true, Unprepared: true},
		},
	}
	deliver := tracer.Event{Time: baseTime, Type: tracer.TypeDeliver, Sig: 1, Target: ev.Target, Scope: tracer.ScopeThread}
	row := string((&Table{}).AppendRow(nil, &ev))
	for _, want := range []string{`"a\x0ab\x1b[2J"[1] ← "\x1b]0;title\x07" ← ok\x0d `, `"\x1b[31mred\x7f"[4]`} {
		if !strings.Contains(row, want) {
			t.Errorf("row lacks %q: %q", want, row)
		}
	}
	// Printable UTF-8 is kept; C1 controls (U+0080..U+009F) and bytes
	// that are not UTF-8 are escaped byte by byte.
	uni := tracer.Event{Time: baseTime, Type: tracer.TypeDeliver, Sig: 1, Scope: tracer.ScopeThread,
		Target: tracer.Process{PID: 5, TID: 5, Comm: comm("café\u009b\xff日")}}
	if row := string((&Table{}).AppendRow(nil, &uni)); !strings.Contains(row, `café\xc2\x9b\xff日[5]`) {
		t.Errorf("row = %q, want café\\xc2\\x9b\\xff日[5]", row)
	}
	// A name made to look like the row's own syntax is quoted; a bidi
	// override cannot reverse what follows it.
	fake := tracer.Event{Time: baseTime, Type: tracer.TypeDeliver, Sig: 1, Scope: tracer.ScopeThread,
		Target: tracer.Process{PID: 6, TID: 6, Comm: comm("sshd[1] ← cro")}}
	if row := string((&Table{}).AppendRow(nil, &fake)); !strings.Contains(row, `"sshd[1] ← cro"[6]`) {
		t.Errorf("row = %q, want the name quoted", row)
	}
	rtl := tracer.Event{Time: baseTime, Type: tracer.TypeDeliver, Sig: 1, Scope: tracer.ScopeThread,
		Target: tracer.Process{PID: 7, TID: 7, Comm: comm("a\u202eb")}}
	if row := string((&Table{}).AppendRow(nil, &rtl)); !strings.Contains(row, `a\u202eb[7]`) {
		t.Errorf("row = %q, want U+202E escaped", row)
	}
	for _, color := range []bool{false, true} {
		for _, e := range []*tracer.Event{&ev, &deliver} {
			row := (&Table{Color: color}).AppendRow(nil, e)
			// Remove only the table's own colours: a comm's "\x1b[2J"
			// looks just like one.
			body := []byte(ownColors.Replace(string(row[:len(row)-1])))
			for _, c := range body {
				if c < 0x20 || c == 0x7f {
					t.Errorf("color=%v: control byte %#x from a comm reaches the terminal: %q", color, c, row)
					break
				}
			}
			if bytes.Count(row, []byte("\n")) != 1 {
				t.Errorf("color=%v: a comm broke the row: %q", color, row)
			}
		}
	}
}

func TestTableAppends(t *testing.T) {
	evs := fixtures()
	prefix := []byte("kept")
	b := (&Table{}).AppendRow(append([]byte(nil), prefix...), &evs[0].ev)
	if !bytes.HasPrefix(b, prefix) || !bytes.Equal(b[len(prefix):], (&Table{}).AppendRow(nil, &evs[0].ev)) {
		t.Errorf("AppendRow does not append: %q", b)
	}
}
