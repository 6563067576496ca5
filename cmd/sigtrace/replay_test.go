package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/sigtrace/sigtrace/record"
)

// replayFixture writes a recording as the recorder leaves one after a
// reboot: a rotated, compressed file and a plain one from boot-a, then a
// file from boot-b. Its three SIGHUPs from pkill are at now-3h, now-90m
// (boot-a) and now-10m (boot-b); it returns their times.
func replayFixture(t *testing.T, now time.Time) (dir string, times []time.Time) {
	t.Helper()
	dir = t.TempDir()
	golden, err := os.ReadFile("../../output/testdata/events.json.golden")
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	sc := bufio.NewScanner(strings.NewReader(string(golden)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"type":"generate"`) && strings.Contains(sc.Text(), `"name":"SIGHUP"`) {
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if line == nil {
		t.Fatal("no SIGHUP generate line in the JSON golden")
	}
	event := func(at time.Time) string {
		line["time"] = at.Format(time.RFC3339Nano)
		b, err := json.Marshal(line)
		if err != nil {
			t.Fatal(err)
		}
		return string(b) + "\n"
	}
	header := func(seq uint64, start time.Time, boot string) string {
		h, err := record.NewHeader("test", "")
		if err != nil {
			t.Fatal(err)
		}
		h.Seq, h.Start, h.BootID = seq, start, boot
		return string(h.Marshal())
	}
	times = []time.Time{now.Add(-3 * time.Hour), now.Add(-90 * time.Minute), now.Add(-10 * time.Minute)}

	// The first file, rotated and compressed.
	var zbuf strings.Builder
	zw, err := zstd.NewWriter(&zbuf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write([]byte(header(1, now.Add(-4*time.Hour), "boot-a") + event(times[0]))); err != nil {
		t.Fatal(err)
	}
	must(t, zw.Close())
	write := func(name, body string) {
		must(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	// Named as the recorder names them: sigtrace-START-SEQ.jsonl.
	name := func(start time.Time, seq int, ext string) string {
		return fmt.Sprintf("sigtrace-%s-%06d.jsonl%s", start.UTC().Format("20060102T150405.000Z"), seq, ext)
	}
	write(name(now.Add(-4*time.Hour), 1, ".zst"), zbuf.String())
	write(name(now.Add(-2*time.Hour), 2, ""), header(2, now.Add(-2*time.Hour), "boot-a")+event(times[1]))
	write(name(now.Add(-30*time.Minute), 1, ""), header(1, now.Add(-30*time.Minute), "boot-b")+event(times[2]))
	return dir, times
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// replay across a rotation (compressed and plain files) and a reboot,
// with --since/--until absolute and relative, and counts.
func TestReplaySpanAndBoots(t *testing.T) {
	now := time.Now()
	dir, times := replayFixture(t, now)
	eventsOf := func(out string) []time.Time {
		var got []time.Time
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l == "" {
				continue
			}
			var ev struct {
				Time time.Time `json:"time"`
			}
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("not JSON: %q", l)
			}
			got = append(got, ev.Time)
		}
		return got
	}
	for _, tc := range []struct {
		args []string
		want []time.Time
	}{
		{nil, times},
		{[]string{"--since", "-2h"}, times[1:]},
		{[]string{"--until", "-1h"}, times[:2]},
		{[]string{"--since", "-2h", "--until", "-1h"}, times[1:2]},
		{[]string{"--since", times[2].Add(-time.Minute).Format(time.RFC3339)}, times[2:]},
		{[]string{"--until", times[0].Format(time.RFC3339Nano)}, nil}, // until is exclusive
	} {
		args := append([]string{"replay", dir, "-o", "json"}, tc.args...)
		out, errText, code := runSigtrace(t, args...)
		if code != 0 {
			t.Errorf("%q: exit %d: %s", args, code, errText)
			continue
		}
		got := eventsOf(out)
		if len(got) != len(tc.want) {
			t.Errorf("%q: %d events, want %d:\n%s", args, len(got), len(tc.want), out)
			continue
		}
		for i := range got {
			if !got[i].Equal(tc.want[i]) {
				t.Errorf("%q: event %d at %v, want %v", args, i, got[i], tc.want[i])
			}
		}
		// The reboot is said once, as the replay reaches boot-b's file.
		if saysBoot := strings.Count(errText, "a new boot (boot-b"); saysBoot != 1 {
			t.Errorf("%q: stderr says the new boot %d times: %q", args, saysBoot, errText)
		}
	}

	out, errText, code := runSigtrace(t, "replay", dir, "--count-by", "signal.name,sender.comm", "--since", "-2h")
	if code != 0 || !strings.Contains(out, "@[SIGHUP, pkill]: 2") {
		t.Errorf("replay --count-by: exit %d, out %q, stderr %q", code, out, errText)
	}
	out, _, code = runSigtrace(t, "replay", dir, "--format", "{{.sender.comm}}>{{.target.comm}}:{{.signal.name}}", "--until", "-1h")
	if code != 0 || out != "pkill>logdeviced:SIGHUP\npkill>logdeviced:SIGHUP\n" {
		t.Errorf("replay --format: exit %d, out %q", code, out)
	}
	for _, bad := range [][]string{{"--since", "yesterday"}, {"--until", "+2h"}} {
		_, errText, code := runSigtrace(t, append([]string{"replay", dir}, bad...)...)
		if code == 0 || strings.Count(strings.TrimSpace(errText), "\n") != 0 || !strings.Contains(errText, bad[0]) {
			t.Errorf("%q: exit %d, stderr %q: want one line naming %s and a non-zero exit", bad, code, errText, bad[0])
		}
	}
}
