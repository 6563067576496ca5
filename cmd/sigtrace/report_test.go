package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/record"
)

// goldenRecording is a recording of every event kind the renderers know
// (output's JSON golden), plus a storm summarised by the recorder, as one
// file of a recording directory.
func goldenRecording(t *testing.T) string {
	t.Helper()
	golden, err := os.ReadFile("../../output/testdata/events.json.golden")
	must(t, err)
	h, err := record.NewHeader("test", "")
	must(t, err)
	start := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	h.Seq, h.Start = 1, start
	storm := `{"time":"2026-03-14T00:00:02Z","type":"count","keys":{"type":"generate","signal.num":10,"sender.pid":19783,"sender.comm":"python3","sender.uid":0,"target.pid":19741,"target.comm":"python3","target.uid":0,"result":"ignored","disposition":"ignore","verdict":"ignored"},"count":4990,"interval_end":"2026-03-14T00:00:02Z"}` + "\n"
	dir := filepath.Join(t.TempDir(), "rec")
	must(t, os.Mkdir(dir, 0o700))
	must(t, os.WriteFile(filepath.Join(dir, "sigtrace-20260314T000000.000Z-000001.jsonl"), append(append(h.Marshal(), golden...), storm...), 0o600))
	return dir
}

// report without --why sums a recording up; with --why it tells one
// death: the sender with its argv and parents, the setup and since when,
// the signals before, the sender's other victims. Both as text and JSON.
func TestReportFromRecording(t *testing.T) {
	dir := goldenRecording(t)
	out, errText, code := runSigtrace(t, "report", dir)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errText)
	}
	for _, want := range []string{
		"From 2026-03-14T00:00:01Z to 2026-03-14T00:00:02Z",
		"Deaths by a signal: SIGTERM 3, SIGHUP 2,",
		"Fatal signals: 12 (unprepared: 9",
		"SIGHUP from pkill[5001] to logdeviced[3003]",
		"Top senders: ",
		"storms: python3[19783] -> python3[19741] SIGUSR1 4990",
		"Missing: 91 events lost by the kernel side (ring full), 5120 not written (disk).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report: no %q in:\n%s", want, out)
		}
	}
	out, _, code = runSigtrace(t, "report", dir, "-o", "json")
	var sum struct {
		Deaths map[string]int `json:"deaths"`
		Storms map[string]int `json:"storms"`
		Fatal  int            `json:"fatal"`
		Lost   int            `json:"lost"`
		Gap    int            `json:"gap"`
	}
	if err := json.Unmarshal([]byte(out), &sum); code != 0 || err != nil || sum.Deaths["SIGHUP"] != 2 || sum.Fatal != 12 || sum.Lost != 91 || sum.Gap != 5120 || len(sum.Storms) != 1 {
		t.Errorf("report -o json: exit %d, %v: %s", code, err, out)
	}

	out, errText, code = runSigtrace(t, "report", "--why", "logdeviced", dir)
	if code != 0 {
		t.Fatalf("report --why: exit %d: %s", code, errText)
	}
	for _, want := range []string{
		"logdeviced[3003] died of SIGHUP at 2026-03-14T00:00:01.173456789Z.",
		"Sent by pkill[5001] uid 0: pkill -HUP -x logdeviced (SI_USER).",
		"← sh[5000] ← nightlyjob[4990] ← cron[800] ← systemd[1]",
		"It had no handler (SIG_DFL) for SIGHUP",
		"no SIGHUP handler since 2026-03-14T00:00:01Z, when it set SIG_DFL with sigaction",
		"Signals to it in the 10m0s before:",
		"SIGUSR1 from kill[2200]: handled",
		"The sender's other signals within 1m0s:",
		"SIGHUP to goapp[8100]: fatal",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report --why: no %q in:\n%s", want, out)
		}
	}
	out, _, code = runSigtrace(t, "report", "--why", "3003", dir, "-o", "json")
	var why map[string]any
	if err := json.Unmarshal([]byte(out), &why); code != 0 || err != nil {
		t.Fatalf("report --why -o json: exit %d, %v: %s", code, err, out)
	}
	if s := string(mustJSON(t, why)); !strings.Contains(s, `"nightlyjob"`) || !strings.Contains(s, `"goapp"`) {
		t.Errorf("report --why -o json lacks the sender's parents or other victims: %s", s)
	}

	_, errText, code = runSigtrace(t, "report", "--why", "nosuchd", dir)
	if code == 0 || strings.Count(strings.TrimSpace(errText), "\n") != 0 || !strings.Contains(errText, "nosuchd") {
		t.Errorf("report --why of a process not in the recording: exit %d, %q", code, errText)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return b
}

// A hostile name in a recording reaches the report escaped, as in the
// table and the JSON (output.SafeString: the one policy), never raw.
func TestReportEscapesHostileNames(t *testing.T) {
	dir := goldenRecording(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	b, err := os.ReadFile(files[0])
	must(t, err)
	hostile := strings.ReplaceAll(string(b), `"comm":"logdeviced"`, `"comm":"log\u001b]0;pwned\u0007\u001b[2Jd"`)
	hostile = strings.ReplaceAll(hostile, `"pkill","-HUP"`, `"pkill","\u001b[31m-HUP\nFATAL forged row"`)
	must(t, os.WriteFile(files[0], []byte(hostile), 0o600))
	for _, args := range [][]string{{"report", dir}, {"report", "--why", "3003", dir}} {
		out, errText, code := runSigtrace(t, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errText)
		}
		if strings.ContainsAny(out, "\x1b\x07") || strings.Contains(out, "\nFATAL forged row") {
			t.Errorf("%q printed a hostile name raw:\n%q", args, out)
		}
		if !strings.Contains(out, `log\x1b]0;pwned\x07\x1b[[3003]`) { // a comm is 15 bytes
			t.Errorf("%q: the name is not there escaped:\n%s", args, out)
		}
	}
}
