package audit

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PIDs above the kernel's PID_MAX_LIMIT (4194304) never run: each kill of
// one is an unresolved finding, on any host.
const deadPID = 4194305

// crafted roots of issue 21, item 3: following amplified the work.
func followRoot(t *testing.T, variant string) string {
	t.Helper()
	files := map[string]string{}
	lines := func(n int, line func(i int) string) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(line(i) + "\n")
		}
		return b.String()
	}
	cron := func(cmd string) func(int) string {
		return func(int) string { return "* * * * * root " + cmd }
	}
	switch variant {
	case "kill", "echo":
		// 500 crontab lines each running one script of 2000 kills
		// (echoes): it was scanned 500 times.
		files["usr/local/bin/x*"] = "#!/bin/sh\n" + lines(2000, func(i int) string { return variant + " -HUP " + strconv.Itoa(deadPID+i) })
		files["etc/crontab"] = lines(500, cron("/usr/local/bin/x"))
	case "chain":
		// s0 runs s1 twice, s1 runs s2 twice, ... 20 levels: the last
		// one followed (maxShellDepth) was scanned 2^(depth-1) times.
		for l := 0; l < 20; l++ {
			files["usr/local/bin/s"+strconv.Itoa(l)+"*"] = fmt.Sprintf("#!/bin/sh\n/usr/local/bin/s%d\n/usr/local/bin/s%d\n", l+1, l+1)
		}
		files["etc/crontab"] = "* * * * * root /usr/local/bin/s0\n"
	case "wide":
		// Each of 4 levels runs the next 64 times: 64^3 scans of the
		// last.
		for l := 0; l < 3; l++ {
			files["usr/local/bin/w"+strconv.Itoa(l)+"*"] = "#!/bin/sh\n" + lines(64, func(int) string { return "/usr/local/bin/w" + strconv.Itoa(l+1) })
		}
		files["usr/local/bin/w3*"] = "#!/bin/sh\n" + lines(64, func(int) string { return "echo done" })
		files["etc/crontab"] = "* * * * * root /usr/local/bin/w0\n"
	case "self":
		// A script that sources itself and runs itself, from 10 lines.
		files["usr/local/bin/self*"] = "#!/bin/sh\n. /usr/local/bin/self\nsource /usr/local/bin/self\n/usr/local/bin/self\nsh /usr/local/bin/self\nkill -HUP " + strconv.Itoa(deadPID) + "\n"
		files["etc/crontab"] = lines(10, cron("/usr/local/bin/self"))
	case "args":
		// A script that reads $1 is scanned once per argument list; one
		// that does not, once.
		files["usr/local/bin/arg*"] = "#!/bin/sh\nkill -HUP \"$1\"\n"
		files["usr/local/bin/noarg*"] = "#!/bin/sh\nkill -HUP " + strconv.Itoa(deadPID+9) + "\n"
		files["etc/crontab"] = lines(3, func(i int) string {
			return fmt.Sprintf("* * * * * root /usr/local/bin/arg %d", deadPID+i%2)
		}) + lines(3, func(i int) string { return fmt.Sprintf("* * * * * root /usr/local/bin/noarg %d", i) })
	case "cycle":
		// a runs b, b runs a: which one stops the cycle depends on the
		// chain, so a scan of b from a is not one of b from cron.
		files["usr/local/bin/a*"] = "#!/bin/sh\n/usr/local/bin/b\nkill -HUP " + strconv.Itoa(deadPID) + "\n"
		files["usr/local/bin/b*"] = "#!/bin/sh\n/usr/local/bin/a\nkill -USR1 " + strconv.Itoa(deadPID+1) + "\n"
		files["etc/crontab"] = cron("/usr/local/bin/a")(0) + "\n" + cron("/usr/local/bin/b")(0) + "\n" + cron("/usr/local/bin/a")(0) + "\n"
	default:
		t.Fatalf("no root %q", variant)
	}
	return writeRoot(t, files)
}

func runRoot(t *testing.T, root string, memo bool) (*Report, time.Duration) {
	t.Helper()
	proc := writeFakeProc(t, []fakeProcess{{pid: 1, comm: "init", argv: []string{"init"}, start: 1}})
	start := time.Now()
	rep, err := Run(Options{Root: root, Proc: proc, noFollowMemo: !memo})
	if err != nil {
		t.Fatal(err)
	}
	return rep, time.Since(start)
}

// findingLines is a report's findings and warnings, without the root.
func findingLines(root string, rep *Report) []string {
	var out []string
	for _, f := range rep.Findings {
		pid := 0
		if f.Target != nil {
			pid = f.Target.PID
		}
		out = append(out, strings.ReplaceAll(fmt.Sprintf("%s %s %s %s %d %s", f.Risk, f.Source, f.Sender, f.Selector, pid, f.Reason), root, ""))
	}
	for _, w := range rep.Warnings {
		out = append(out, strings.ReplaceAll("warning "+w.String(), root, ""))
	}
	return out
}

// TestFollowRemembered: a followed script is scanned once for each way
// it runs (its file, its arguments if it reads them, the files on its
// chain), not once per caller; what the audit finds is the same as when
// it is scanned for every caller.
func TestFollowRemembered(t *testing.T) {
	for _, tc := range []struct {
		variant     string
		scans, hits int
		findings    int  // sender findings listed
		compare     bool // the same findings without the memo (cheap enough to run)
	}{
		{"echo", 1, 499, 0, false},
		{"chain", 4, 3, 16, true},     // s0..s3; s3's runs of s4 are deeper than maxShellDepth: 16 unresolved
		{"wide", 4, 3 * 63, 0, false}, // 1 + 64 + 64^2 + 64^3 scans without the memo
		{"self", 1, 9, 10, true},      // sourcing is not followed; running itself is a cycle
		{"args", 3, 3, 6, true},       // arg: twice (two PIDs), noarg: once
		{"cycle", 4, 1, 6, true},      // a, b from a, b, a from b; line 3 is line 1 again
	} {
		t.Run(tc.variant, func(t *testing.T) {
			root := followRoot(t, tc.variant)
			rep, d := runRoot(t, root, true)
			t.Logf("%v; spent %v, %d remembered scans used", d, rep.work.spent, rep.work.hits)
			if rep.Incomplete() {
				t.Errorf("stopped: %s", rep.Stopped)
			}
			if got := rep.work.spent[budgetScans]; got != tc.scans {
				t.Errorf("%d scans, want %d (one per script and chain)", got, tc.scans)
			}
			if rep.work.hits != tc.hits {
				t.Errorf("%d remembered scans used, want %d", rep.work.hits, tc.hits)
			}
			if got := rep.Count(RiskUnresolved) + rep.Count(RiskFatal) + rep.Count(RiskOK); got != tc.findings {
				t.Errorf("%d findings, want %d:\n%s", got, tc.findings, strings.Join(findingLines(root, rep), "\n"))
			}
			if !tc.compare {
				return
			}
			again, d := runRoot(t, root, false)
			t.Logf("without the memo: %v; spent %v", d, again.work.spent)
			got, want := findingLines(root, rep), findingLines(root, again)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("with the memo:\n%s\nwithout:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestFollowArgsRemembered: a script that reads $1 gives each caller
// the PID it was passed.
func TestFollowArgsRemembered(t *testing.T) {
	root := followRoot(t, "args")
	rep, _ := runRoot(t, root, true)
	var got []string
	for _, f := range rep.Findings {
		got = append(got, strings.ReplaceAll(f.Source.String()+" "+f.Selector, root, ""))
	}
	want := []string{
		"/etc/crontab:1 → /usr/local/bin/arg:2 PID 4194305",
		"/etc/crontab:2 → /usr/local/bin/arg:2 PID 4194306",
		"/etc/crontab:3 → /usr/local/bin/arg:2 PID 4194305",
		"/etc/crontab:4 → /usr/local/bin/noarg:2 PID 4194314",
		"/etc/crontab:5 → /usr/local/bin/noarg:2 PID 4194314",
		"/etc/crontab:6 → /usr/local/bin/noarg:2 PID 4194314",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestAuditStopsAtSenders: 500 lines running a 2000-kill script are a
// million senders. The audit stops at the line that passes 65,536, says
// so once, lists what it found before, and is incomplete.
func TestAuditStopsAtSenders(t *testing.T) {
	root := followRoot(t, "kill")
	rep, d := runRoot(t, root, true)
	t.Logf("%v; spent %v, %d remembered scans used", d, rep.work.spent, rep.work.hits)
	if rep.work.spent[budgetScans] != 1 {
		t.Errorf("%d scans of the script, want 1", rep.work.spent[budgetScans])
	}
	// 32 lines of 2000 senders, and 1536 of line 33's.
	wantStop := root + "/etc/crontab:33: audit incomplete: more than 65536 signal senders found in the whole audit " +
		"(a bound against crafted input): the audit stops here, scans and follows nothing more, and lists what it found before"
	if rep.Stopped == nil || rep.Stopped.String() != wantStop {
		t.Fatalf("stopped: %v\nwant %s", rep.Stopped, wantStop)
	}
	n := 0
	for _, w := range rep.Warnings {
		if strings.Contains(w.Msg, "audit incomplete") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d warnings say the audit is incomplete, want 1", n)
	}
	if rep.Senders != maxAuditSenders || rep.Count(RiskUnresolved) != maxAuditSenders {
		t.Errorf("%d senders, %d unresolved: want the %d found before it stopped", rep.Senders, rep.Count(RiskUnresolved), maxAuditSenders)
	}
	var b strings.Builder
	if err := WriteTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "). INCOMPLETE: the audit stopped at "+root+"/etc/crontab:33, at a bound on its work (see the warnings); what it did not reach is not listed.\n") {
		t.Errorf("summary: %s", b.String()[max(0, b.Len()-400):])
	}
}

// withBudget sets bound k to max for one test.
func withBudget(t *testing.T, k budgetKind, max int) {
	old := budgets[k].max
	budgets[k].max = max
	t.Cleanup(func() { budgets[k].max = old })
}

// TestAuditBudgets: each bound of the whole audit stops it at the line
// that passes it, with one warning naming the bound, and the lines before
// are listed. The words and bytes bounds are lowered here: at their real
// values the audit of a root that passes them takes a second.
func TestAuditBudgets(t *testing.T) {
	words := "echo" + strings.Repeat(" w", 59) // 60 words
	for _, tc := range []struct {
		name    string
		k       budgetKind
		max     int
		files   map[string]string
		stop    string // where, in the root
		listed  []string
		through string // "": the line is its own; else the configuration line it is run from
	}{
		{"words", budgetWords, 100, map[string]string{
			"etc/crontab": "* * * * * root kill -HUP 4194305\n" + "* * * * * root " + words + "\n" + "* * * * * root " + words + "\n* * * * * root kill -HUP 4194306\n",
		}, "/etc/crontab:3", []string{"/etc/crontab:1"}, ""},
		{"words in a followed script", budgetWords, 100, map[string]string{
			"usr/local/bin/x*": "#!/bin/sh\nkill -HUP 4194305\n" + words + "\n" + words + "\n",
			"etc/crontab":      "* * * * * root /usr/local/bin/x\n* * * * * root kill -HUP 4194306\n",
		}, "/usr/local/bin/x:4", []string{"/etc/crontab:1"}, "/etc/crontab:1"},
		{"bytes", budgetBytes, 1000, map[string]string{
			"usr/local/bin/x*": "#!/bin/sh\nkill -HUP 4194305\n#" + strings.Repeat("c", 1000) + "\n",
			"etc/crontab":      "* * * * * root kill -HUP 4194306\n* * * * * root /usr/local/bin/x\n* * * * * root kill -HUP 4194307\n",
		}, "/etc/crontab:2", []string{"/etc/crontab:1"}, ""},
		// 600 bytes, then 1200: the third word passes 1000.
		{"bytes expanded", budgetExpanded, 1000, map[string]string{
			"usr/local/bin/x*": "#!/bin/sh\nkill -HUP 4194305\nx=" + strings.Repeat("c", 600) + "\ny=$x$x\nkill -HUP 4194307\n",
			"etc/crontab":      "* * * * * root /usr/local/bin/x\n",
		}, "/usr/local/bin/x:4", []string{"/etc/crontab:1"}, "/etc/crontab:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withBudget(t, tc.k, tc.max)
			root := writeRoot(t, tc.files)
			rep, _ := runRoot(t, root, true)
			through := ""
			if tc.through != "" {
				through = " (this line is run from " + root + tc.through + ")"
			}
			checkStopped(t, root, rep, tc.stop, fmt.Sprintf("more than %d %s", tc.max, budgets[tc.k].what)+" in the whole audit", through, tc.listed)
		})
	}
}

// TestAuditStopsAtScans: at its real value, the bound on followed
// scripts: 4097 scripts, each run from its own line.
func TestAuditStopsAtScans(t *testing.T) {
	files := map[string]string{}
	var cron strings.Builder
	for i := 0; i <= maxAuditScans; i++ {
		p := "/usr/local/bin/s" + strconv.Itoa(i)
		files[p[1:]+"*"] = "#!/bin/sh\nkill -HUP " + strconv.Itoa(deadPID+i) + "\n"
		cron.WriteString("* * * * * root " + p + "\n")
	}
	files["etc/crontab"] = cron.String()
	root := writeRoot(t, files)
	rep, d := runRoot(t, root, true)
	t.Logf("%v; spent %v", d, rep.work.spent)
	var listed []string
	for i := 1; i <= maxAuditScans; i++ {
		listed = append(listed, "/etc/crontab:"+strconv.Itoa(i))
	}
	checkStopped(t, root, rep, "/etc/crontab:4097", "more than 4096 scripts and unit reloads followed in the whole audit", "", listed)
}

func checkStopped(t *testing.T, root string, rep *Report, stop, bound, through string, listed []string) {
	t.Helper()
	want := root + stop + ": audit incomplete: " + bound +
		" (a bound against crafted input): the audit stops here, scans and follows nothing more, and lists what it found before" + through
	if rep.Stopped == nil || rep.Stopped.String() != want {
		t.Fatalf("stopped: %v\nwant %s", rep.Stopped, want)
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, strings.TrimPrefix(f.Source.File, root)+":"+strconv.Itoa(f.Source.Line))
	}
	if strings.Join(got, " ") != strings.Join(listed, " ") {
		t.Errorf("findings from %v, want %v", got, listed)
	}
	n := 0
	for _, w := range rep.Warnings {
		if strings.Contains(w.Msg, "audit incomplete") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d warnings say the audit is incomplete, want 1:\n%s", n, strings.Join(warnStrings(rep.Warnings), "\n"))
	}
}

// TestHonestRootsBudget: the Debian fixtures spend a small part of each
// bound, and the same with the memo as without.
func TestHonestRootsBudget(t *testing.T) {
	for _, root := range []string{debianRoot, bookwormRoot, "testdata/live-risky", "testdata/live-safe"} {
		rep, _ := runRoot(t, root, true)
		again, _ := runRoot(t, root, false)
		t.Logf("%s: spent %v (words, bytes, scans, senders), %d remembered scans used", root, rep.work.spent, rep.work.hits)
		for k, b := range budgets {
			if rep.work.spent[k] > b.max/64 {
				t.Errorf("%s: %d %s, more than 1/64 of the bound %d", root, rep.work.spent[k], b.what, b.max)
			}
		}
		got, want := findingLines(root, rep), findingLines(root, again)
		if strings.Join(got, "\n") != strings.Join(want, "\n") || rep.Files != again.Files {
			t.Errorf("%s: with the memo:\n%s\nwithout:\n%s", root, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func TestUsesPositional(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"kill $1", true}, {`kill "${1}"`, true}, {"kill ${1:-2}", true}, {"echo ${#1}", true},
		{"kill $\\\n1", true}, {"echo $0", true},
		{"kill $PID", false}, {"echo $@ $* $#", false}, {"echo 1 $", false}, {"", false},
	} {
		if got := usesPositional(tc.text); got != tc.want {
			t.Errorf("usesPositional(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}
