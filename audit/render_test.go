package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func debianReport(t *testing.T, all bool) *Report {
	t.Helper()
	rep, err := Run(Options{Root: debianRoot, Proc: writeFakeProc(t, debianHost), All: all})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestWriteJSON(t *testing.T) {
	rep := debianReport(t, false)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(rep.Findings) {
		t.Fatalf("%d lines for %d findings", len(lines), len(rep.Findings))
	}
	type obj = map[string]any
	var first, unresolved obj
	for _, l := range lines {
		var o obj
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("not one JSON object per line: %q: %v", l, err)
		}
		if first == nil {
			first = o
		}
		if o["risk"] == "unresolved" && unresolved == nil {
			unresolved = o
		}
	}
	// The first line is the first fatal finding, with every field.
	src := first["source"].(obj)
	sig := first["signal"].(obj)
	tgt := first["target"].(obj)
	if first["risk"] != "fatal" || first["kind"] != "sender" || first["disposition"] != "default" ||
		!strings.HasSuffix(src["file"].(string), "/etc/cron.d/mydaemon") || src["line"] != 3.0 ||
		!strings.Contains(src["text"].(string), `kill -USR2 "$(cat /run/mydaemon.pid)"`) ||
		sig["num"] != 12.0 || sig["name"] != "SIGUSR2" ||
		tgt["pid"] != 4242.0 || tgt["comm"] != "mydaemon" || tgt["cmdline"] != "/usr/sbin/mydaemon --daemonize" ||
		first["default_action"] != "terminate" {
		t.Errorf("first finding = %v", first)
	}
	if unresolved == nil || unresolved["reason"] == "" || unresolved["target"] != nil || unresolved["selector"] == "" {
		t.Errorf("unresolved finding = %v, want a reason, a selector and no target", unresolved)
	}
}

func TestWriteTable(t *testing.T) {
	rep := debianReport(t, false)
	var buf bytes.Buffer
	if err := WriteTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Logf("\n%s", out)
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "RISK") || !strings.Contains(lines[0], "SOURCE") {
		t.Errorf("header = %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], "FATAL") || !strings.Contains(lines[1], "4242 mydaemon") || !strings.Contains(lines[1], "/etc/cron.d/mydaemon:3") {
		t.Errorf("first row = %q, want the first fatal risk with its file:line", lines[1])
	}
	seenOK := false
	for _, l := range lines {
		if strings.HasPrefix(l, "ok ") {
			seenOK = true
		}
		if seenOK && strings.HasPrefix(l, "FATAL") {
			t.Errorf("a fatal row after an ok one: %q", l)
		}
	}
	if !strings.Contains(out, "-> invoke-rc.d rsyslog rotate: rotate is not a systemctl verb") {
		t.Error("unresolved rows do not carry their reason")
	}
	if !strings.Contains(out, "9 fatal, 8 unresolved, 7 ok") {
		t.Errorf("summary: %q", lines[len(lines)-2])
	}
}

func TestAllListsUnprepared(t *testing.T) {
	rep := debianReport(t, true)
	got := map[int][]string{}
	for _, f := range rep.Findings {
		if f.Kind == "exposure" {
			if f.Risk != RiskUnprepared || f.Source != nil {
				t.Errorf("exposure finding %+v", f)
			}
			got[f.Target.PID] = append(got[f.Target.PID], f.Signal.Name)
		}
	}
	want := map[int]string{
		4242: "SIGHUP,SIGUSR1,SIGUSR2,SIGPIPE",
		600:  "SIGUSR1,SIGUSR2,SIGPIPE", // HUP is blocked in every thread, USR1 in one only
		800:  "SIGHUP,SIGUSR2,SIGPIPE",
		500:  "SIGUSR2,SIGPIPE",
	}
	for pid, w := range want {
		if g := strings.Join(got[pid], ","); g != w {
			t.Errorf("PID %d unprepared for %s, want %s", pid, g, w)
		}
	}
	for _, pid := range []int{1, 4300} {
		if len(got[pid]) > 0 {
			t.Errorf("PID %d is a namespace init, listed for %v", pid, got[pid])
		}
	}
	// Exposures come after every sender finding and do not make it fatal.
	var buf bytes.Buffer
	if err := WriteTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Unprepared processes (--all)") {
		t.Error("no --all section in the table")
	}
	last := rep.Findings[len(rep.Findings)-1]
	if last.Kind != "exposure" {
		t.Errorf("last finding is %+v, want an exposure", last)
	}
}

func TestRunErrors(t *testing.T) {
	if _, err := Run(Options{Root: "testdata/does-not-exist"}); err == nil || !strings.Contains(err.Error(), "--root") {
		t.Errorf("missing root: err = %v", err)
	}
	if _, err := Run(Options{Root: "testdata/debian/etc/crontab"}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("root is a file: err = %v", err)
	}
	if _, err := Run(Options{Root: debianRoot, Proc: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "proc") {
		t.Errorf("empty proc: err = %v", err)
	}
}

func TestTableEscapesHostileNames(t *testing.T) {
	proc := writeFakeProc(t, []fakeProcess{
		{pid: 77, ppid: 1, comm: "ev\x1b[2Jil", argv: []string{"evil", "x\nFATAL  SIGHUP  1 init", "\xff"}},
	})
	rep, err := Run(Options{Root: t.TempDir(), Proc: proc, All: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "\x1b") || strings.Contains(out, "\xff") || strings.Contains(out, "\nFATAL") {
		t.Errorf("control characters reach the terminal:\n%q", out)
	}
	if !strings.Contains(out, `77   ev\x1b[2Jil  SIGHUP,SIGUSR1,SIGUSR2,SIGPIPE  evil x\x0aFATAL  SIGHUP  1 init \xff`) {
		t.Errorf("escaped row missing:\n%s", out)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Count(js.String(), "\n") != 4 {
		t.Errorf("JSON lines broken by a newline in argv:\n%s", js.String())
	}
}
