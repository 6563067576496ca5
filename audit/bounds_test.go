package audit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/output"
)

func TestContinues(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		{`kill -HUP 1`, false},
		{`kill -HUP \`, true},
		{`echo \\`, false}, // an escaped backslash
		{`echo \\\`, true},
		{`\`, true},
		{``, false},
	} {
		if got := continues(tc.line); got != tc.want {
			t.Errorf("continues(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}

func TestBoundLines(t *testing.T) {
	cont := func(n int) string { // a logical line of n physical lines
		return "kill -HUP \\\n" + strings.Repeat("  1 \\\n", n-2) + "  1\n"
	}
	long := strings.Repeat("x", maxLineBytes+1)
	for _, tc := range []struct {
		name string
		text string
		want string // "" when the text comes back as it is
		long []longLine
	}{
		{name: "short", text: "kill -HUP 1\nkill -USR1 2\n"},
		{name: "continued", text: "kill -HUP \\\n 1 \\\n 2\nkill 3\n"},
		{name: "at the line bound", text: cont(maxLineLines) + "kill 1\n"},
		{name: "at the byte bound", text: strings.Repeat("x", maxLineBytes) + "\nkill 1\n"},
		{
			name: "one line too many",
			text: "true\n" + cont(maxLineLines+1) + "kill 1\n",
			want: "true\n" + strings.Repeat("\n", maxLineLines+1) + "kill 1\n",
			long: []longLine{{first: 2, lines: maxLineLines + 1, bytes: len(cont(maxLineLines+1)) - 1}},
		},
		{
			name: "one byte too many, no newline at the end",
			text: "kill 1\n" + long,
			want: "kill 1\n",
			long: []longLine{{first: 2, lines: 1, bytes: maxLineBytes + 1}},
		},
		{
			name: "two, lines between them kept",
			text: long + "\nkill 1\n" + long + "\nkill 2",
			want: "\nkill 1\n\nkill 2",
			long: []longLine{{first: 1, lines: 1, bytes: maxLineBytes + 1}, {first: 3, lines: 1, bytes: maxLineBytes + 1}},
		},
		{
			name: "continued past the end of the text",
			text: "kill 1\n" + strings.Repeat("1 \\\n", maxLineLines+1),
			want: "kill 1\n" + strings.Repeat("\n", maxLineLines+1),
			long: []longLine{{first: 2, lines: maxLineLines + 2, bytes: 4*(maxLineLines+1) - 1}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, long := boundLines(tc.text)
			want := tc.want
			if tc.long == nil {
				want = tc.text
			}
			if got != want {
				t.Errorf("text: got %.80q (%d bytes), want %.80q (%d bytes)", got, len(got), want, len(want))
			}
			if fmt.Sprint(long) != fmt.Sprint(tc.long) {
				t.Errorf("long lines: got %v, want %v", long, tc.long)
			}
			if strings.Count(got, "\n") != strings.Count(tc.text, "\n") {
				t.Errorf("line numbers moved: %d newlines, want %d", strings.Count(got, "\n"), strings.Count(tc.text, "\n"))
			}
		})
	}
}

func TestLongLineWarning(t *testing.T) {
	for _, tc := range []struct {
		l    longLine
		want string
	}{
		{longLine{first: 3, lines: 1, bytes: 70000}, "f:3: cron line too long: 70000 bytes (at most 65536): not audited; the audit goes on with the next line"},
		{longLine{first: 3, lines: 20002, bytes: 471021}, "f:3: cron line too long: 20002 lines joined by backslashes, 471021 bytes (at most 1024 lines, 65536 bytes): not audited; the audit goes on with the next line"},
	} {
		if got := tc.l.warning("f", "cron", tc.l.first).String(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

// TestScanScriptLongLine: a line over the bounds is not audited, with one
// warning at its first line; the lines after it are, at their own numbers.
func TestScanScriptLongLine(t *testing.T) {
	text := "kill -HUP 10\nkill -HUP \\\n" + strings.Repeat("  1 \\\n", 2000) + "  1\nkill -USR1 20\n"
	got, warns := scanText(t, text, "")
	want := []string{"L1 kill SIGHUP pid:10", "L2004 kill SIGUSR1 pid:20"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("senders: got %q, want %q", got, want)
	}
	ws := warnStrings(warns)
	wantW := []string{fmt.Sprintf("test:2: test line too long: 2002 lines joined by backslashes, %d bytes (at most 1024 lines, 65536 bytes): not audited; the audit goes on with the next line",
		len("kill -HUP \\\n")+2000*len("  1 \\\n")+len("  1"))}
	if fmt.Sprint(ws) != fmt.Sprint(wantW) {
		t.Errorf("warnings: got %q, want %q", ws, wantW)
	}
}

func TestParseUnitFileLongLine(t *testing.T) {
	// (A line that starts with ; is a comment, even inside a continuation.)
	unit := "[Service]\nExecReload=/bin/kill -HUP $MAINPID \\\n" + strings.Repeat("  1 \\\n", 2000) +
		"  1\nExecStop=/bin/kill -TERM $MAINPID\n"
	entries, warns := parseUnitFile("u", []byte(unit))
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%d %s=%s", e.line, e.key, e.value))
	}
	if want := []string{"2004 ExecStop=/bin/kill -TERM $MAINPID"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("entries: got %q, want %q", got, want)
	}
	bytes := len("ExecReload=/bin/kill -HUP $MAINPID \\") + 2000*len("\n  1 \\") + len("\n  1")
	wantW := []string{fmt.Sprintf("u:2: unit file line too long: 2002 lines joined by backslashes, %d bytes (at most 1024 lines, 65536 bytes): not audited; the audit goes on with the next line", bytes)}
	if ws := warnStrings(warns); fmt.Sprint(ws) != fmt.Sprint(wantW) {
		t.Errorf("warnings: got %q, want %q", ws, wantW)
	}
}

func TestParseCrontabLongLine(t *testing.T) {
	long := "* * * * * root kill -HUP " + strings.Repeat("A", 1<<20)
	scripts, warns := parseCrontab("c", []byte(long+"\n* * * * * root kill -USR1 7\n"), true)
	if len(scripts) != 1 || scripts[0].firstLine != 2 {
		t.Errorf("want the second line only as a job, got %d scripts", len(scripts))
	}
	want := []string{fmt.Sprintf("c:1: cron line too long: %d bytes (at most 65536): not audited; the audit goes on with the next line", len(long))}
	if ws := warnStrings(warns); fmt.Sprint(ws) != fmt.Sprint(want) {
		t.Errorf("warnings: got %q, want %q", ws, want)
	}
}

func TestLineLimit(t *testing.T) {
	f := func(line int, risk string, pid int) Finding {
		return Finding{Kind: "sender", Source: &Source{File: "f", Line: line}, Risk: risk, Target: &Target{PID: pid}}
	}
	lim := newLineLimit(4)
	// Line 1: six ok, then two fatal and one unresolved: the fatal and
	// unresolved ones take the place of ok ones.
	for pid := 1; pid <= 6; pid++ {
		lim.add(f(1, RiskOK, pid))
	}
	lim.add(f(1, RiskFatal, 7))
	lim.add(f(1, RiskUnresolved, 8))
	lim.add(f(1, RiskFatal, 9))
	lim.add(f(1, RiskOK, 10))
	// Line 2: at the bound, nothing left out.
	for pid := 11; pid <= 14; pid++ {
		lim.add(f(2, RiskFatal, pid))
	}
	kept, omitted, warns := lim.result()
	var got []string
	for _, k := range kept {
		got = append(got, fmt.Sprintf("%d:%s:%d", k.Source.Line, k.Risk, k.Target.PID))
	}
	want := []string{"1:fatal:7", "1:unresolved:8", "1:fatal:9", "1:ok:4", "2:fatal:11", "2:fatal:12", "2:fatal:13", "2:fatal:14"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("kept: got %v, want %v", got, want)
	}
	if fmt.Sprint(omitted) != fmt.Sprint(map[string]int{RiskOK: 6}) {
		t.Errorf("omitted: got %v", omitted)
	}
	wantW := []string{"f:1: ... and 6 more findings from this line, not listed: at most 4 are listed per line (6 ok)"}
	if ws := warnStrings(warns); fmt.Sprint(ws) != fmt.Sprint(wantW) {
		t.Errorf("warnings: got %q, want %q", ws, wantW)
	}
}

// TestRunFindingsPerLine: one pkill line that matches 40 live processes,
// 3 of them with no handler, lists 16 findings, the 3 fatal among them;
// the counts of the summary include the 24 not listed. The honest
// postrotate with several kills next to it is listed whole.
func TestRunFindingsPerLine(t *testing.T) {
	var procs []fakeProcess
	for i := 0; i < 40; i++ {
		p := fakeProcess{pid: 2000 + i, ppid: 1, comm: "worker", argv: []string{"worker"}, caught: []int{sigHUP}, start: uint64(100 + i)}
		if i%13 == 12 { // 2012, 2025, 2038
			p.caught = nil
		}
		procs = append(procs, p)
	}
	procs = append(procs,
		fakeProcess{pid: 3000, ppid: 1, comm: "a", argv: []string{"a"}, caught: []int{sigHUP}, start: 200},
		fakeProcess{pid: 3001, ppid: 1, comm: "b", argv: []string{"b"}, caught: []int{sigUSR1}, start: 201},
		fakeProcess{pid: 3002, ppid: 1, comm: "c", argv: []string{"c"}, start: 202},
	)
	root := writeRoot(t, map[string]string{
		"etc/crontab": "* * * * * root pkill -HUP worker\n",
		"etc/logrotate.d/x": "/var/log/x.log {\n  postrotate\n" +
			"    kill -HUP 3000\n    kill -USR1 3001 3002\n    kill -HUP $(cat /run/x.pid) 3000\n  endscript\n}\n",
	})
	rep, err := Run(Options{Root: root, Proc: writeFakeProc(t, procs)})
	if err != nil {
		t.Fatal(err)
	}
	perLine := map[string]int{}
	fatal := 0
	for _, f := range rep.Findings {
		perLine[fmt.Sprintf("%s:%d", strings.TrimPrefix(f.Source.File, root), f.Source.Line)]++
		if f.Risk == RiskFatal && strings.HasSuffix(f.Source.File, "crontab") {
			fatal++
		}
	}
	want := map[string]int{"/etc/crontab:1": 16, "/etc/logrotate.d/x:3": 1, "/etc/logrotate.d/x:4": 2, "/etc/logrotate.d/x:5": 2}
	if fmt.Sprint(perLine) != fmt.Sprint(want) {
		t.Errorf("findings per line: got %v, want %v", perLine, want)
	}
	if fatal != 3 {
		t.Errorf("the crontab line lists %d fatal findings, want all 3", fatal)
	}
	if got := fmt.Sprint(rep.Omitted); got != "map[ok:24]" {
		t.Errorf("omitted: %s", got)
	}
	// 3 fatal in the crontab, 1 (PID 3002) in the postrotate; 37 + 3 ok;
	// the pidfile is unresolved.
	if rep.Count(RiskFatal) != 4 || rep.Count(RiskOK) != 40 || rep.Count(RiskUnresolved) != 1 {
		t.Errorf("counts: %d fatal, %d ok, %d unresolved", rep.Count(RiskFatal), rep.Count(RiskOK), rep.Count(RiskUnresolved))
	}
	ws := warnStrings(rep.Warnings)
	wantW := []string{root + "/etc/crontab:1: ... and 24 more findings from this line, not listed: at most 16 are listed per line (24 ok)"}
	if fmt.Sprint(ws) != fmt.Sprint(wantW) {
		t.Errorf("warnings: got %q, want %q", ws, wantW)
	}
	var b strings.Builder
	if err := WriteTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "4 fatal, 1 unresolved, 40 ok: 4 signal senders (2 configuration files read, 43 processes examined; 24 findings not listed, past 16 from one line (see the warnings)).") {
		t.Errorf("summary:\n%s", b.String())
	}
}

// TestEchoBounded: a word of 40,000 bytes in each place a sender names
// its target is repeated, in every field of the findings, at most
// output.MaxEcho bytes at a time, with the count of what was left out.
func TestEchoBounded(t *testing.T) {
	word := strings.Repeat("W", 40000)
	lines := []string{
		"kill -HUP " + word,
		"kill -HUP $(cat /run/" + word + ")",
		"pkill -HUP " + word,
		"pkill -HUP -u " + word + " x",
		"killall -HUP " + word,
		"start-stop-daemon --stop --signal HUP --name " + word,
		"start-stop-daemon --stop --signal HUP --exec /" + word,
		"systemctl reload " + word,
		"systemctl kill -s HUP " + word,
		"invoke-rc.d " + word + " reload",
		"invoke-rc.d x " + word,
		"service " + word + " reload",
		"/etc/init.d/" + word + " reload",
		"sh /" + word,
		"/usr/local/bin/" + word,
		"./" + word,
		"kill -" + word + " 1",
	}
	crontab := ""
	for _, l := range lines {
		crontab += "* * * * * root " + l + "\n"
	}
	root := writeRoot(t, map[string]string{"etc/crontab": crontab})
	rep, err := Run(Options{Root: root, Proc: writeFakeProc(t, []fakeProcess{{pid: 1, comm: "init", argv: []string{"init"}, start: 1}})})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	check := func(what, s string) {
		t.Helper()
		for i := 0; i < len(s); {
			j := strings.IndexByte(s[i:], 'W')
			if j < 0 {
				break
			}
			i += j
			n := 0
			for i < len(s) && s[i] == 'W' {
				n++
				i++
			}
			if n > output.MaxEcho {
				t.Errorf("%s repeats %d bytes of the word: %.300q", what, n, s)
			}
			if !strings.HasPrefix(s[i:], "…[") {
				t.Errorf("%s: the clipped word has no marker: %.300q", what, s[i-10:])
			}
		}
	}
	for _, f := range rep.Findings {
		seen[f.Source.Line] = true
		check("text", f.Source.Text)
		for _, h := range f.Source.Via {
			check("via", h.Text)
			check("via file", h.File)
		}
		check("sender", f.Sender)
		check("selector", f.Selector)
		check("reason", f.Reason)
		if len(f.Reason) > maxMessage+len(output.ClipMarker(1<<20)) || len(f.Selector) > maxMessage+len(output.ClipMarker(1<<20)) {
			t.Errorf("line %d: a message of %d/%d bytes", f.Source.Line, len(f.Selector), len(f.Reason))
		}
	}
	for _, w := range rep.Warnings {
		check("warning", w.String())
	}
	// Each line of the crontab still gives its finding (a script whose
	// name is too long is one that cannot be read).
	for i, l := range lines {
		if !seen[i+1] {
			t.Errorf("line %d (%.30s...): no finding", i+1, l)
		}
	}
	var tb, jb strings.Builder
	if err := WriteTable(&tb, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&jb, rep); err != nil {
		t.Fatal(err)
	}
	// Far less than the 680,000 bytes of the crontab: each finding
	// repeats a few clipped words.
	for what, out := range map[string]string{"table": tb.String(), "json": jb.String()} {
		if len(out) > len(rep.Findings)*5*(output.MaxEcho+100) {
			t.Errorf("the %s is %d bytes for %d findings", what, len(out), len(rep.Findings))
		}
		check(what, out)
	}
	// The marker counts what was left out: the line's text is cut at
	// output.MaxEcho bytes of "kill -HUP WWW...".
	first := rep.Findings[0]
	for _, f := range rep.Findings {
		if f.Source.Line == 1 {
			first = f
		}
	}
	if want := "kill -HUP " + strings.Repeat("W", output.MaxEcho-len("* * * * * root kill -HUP ")); !strings.HasPrefix(first.Source.Text, "* * * * * root "+want[:10]) ||
		!strings.HasSuffix(first.Source.Text, fmt.Sprintf("…[%d more bytes]", len("* * * * * root kill -HUP ")+40000-output.MaxEcho)) {
		t.Errorf("line 1 text: %.300q", first.Source.Text)
	}
	if want := fmt.Sprintf("%q is not a PID", strings.Repeat("W", output.MaxEcho)+fmt.Sprintf("…[%d more bytes]", 40000-output.MaxEcho)); first.Reason != want {
		t.Errorf("line 1 reason: %.300q", first.Reason)
	}
}
