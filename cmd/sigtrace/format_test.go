package main

// End-to-end tests of --format and --count-by/--hist with real signals
// between real processes: the test binary runs as the victim "app" and as
// the sender "kill" (symlinks named so, as /bin/kill would be named).

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runKill runs `kill -SIG pid` as a process named kill.
func runKill(t *testing.T, sig string, pid int) {
	t.Helper()
	link := filepath.Join(t.TempDir(), "kill")
	if err := os.Symlink(self(t), link); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(link, "-"+sig, strconv.Itoa(pid)).CombinedOutput(); err != nil {
		t.Fatalf("kill -%s %d: %v: %s", sig, pid, err, out)
	}
}

// readLine reads one line of sigtrace's output, bounded.
func (p *sigtraceProc) readLine(t *testing.T) string {
	t.Helper()
	got := make(chan string, 1)
	go func() { s, _ := p.stdout.ReadString('\n'); got <- s }()
	select {
	case s := <-got:
		return s
	case <-time.After(timeout()):
		t.Fatalf("no line within %v; stderr: %s", timeout(), p.errText())
		return ""
	}
}

// stop ends sigtrace with SIGTERM and returns all it wrote after what was
// read already.
func (p *sigtraceProc) stop(t *testing.T) string {
	t.Helper()
	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(p.stdout); got <- b }()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var out []byte
	select {
	case out = <-got:
	case <-time.After(timeout()):
		t.Fatalf("sigtrace did not end within %v", timeout())
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status %d; stderr: %s", code, p.errText())
	}
	return string(out)
}

// TestFormatKillApp is the example: kill -USR2 at app, written
// as kill>app:SIGUSR2.
func TestFormatKillApp(t *testing.T) {
	requireRoot(t)
	v := startVictim(t, "app")
	pid := v.cmd.Process.Pid
	p := startSigtrace(t, "trace", "--format", "{{.sender.comm}}>{{.target.comm}}:{{.signal.name}}",
		"-s", "USR2", "--no-deliver", "--target-pid", strconv.Itoa(pid))
	runKill(t, "USR2", pid)
	if got := p.readLine(t); got != "kill>app:SIGUSR2\n" {
		t.Errorf("got %q, want %q", got, "kill>app:SIGUSR2\n")
	}
	if rest := p.stop(t); rest != "" {
		t.Errorf("more lines: %q", rest)
	}
}

// TestFormatSanitises: a command name with an escape sequence reaches
// the output escaped (as in the table), and json quotes it.
func TestFormatSanitises(t *testing.T) {
	requireRoot(t)
	v := startVictim(t, "a\x1b[31mb")
	pid := v.cmd.Process.Pid
	p := startSigtrace(t, "trace", "--format", `{{.target.comm}} {{json .target.comm}} {{.target.pid}}`,
		"-s", "USR2", "--no-deliver", "--target-pid", strconv.Itoa(pid))
	runKill(t, "USR2", pid)
	want := fmt.Sprintf(`a\x1b[31mb "a\u001b[31mb" %d`+"\n", pid)
	if got := p.readLine(t); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	p.stop(t)
}

// TestFormatCountErrors: a bad template or key fails before tracing
// starts, with one line (and the closest names), status 2.
func TestFormatCountErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "{{.sender.com}}"}, "unknown field .sender.com; did you mean .sender.comm?"},
		{[]string{"--format", "{{.sig"}, "--format: 1: unclosed action"},
		{[]string{"--format", "{{.sig}}", "-o", "json"}, "--format and -o"},
		{[]string{"--count-by", "target.cmm"}, `unknown field "target.cmm"; did you mean target.comm?`},
		{[]string{"--count-by", "time"}, "a time differs for every event"},
		{[]string{"--hist", "signal.name"}, "a histogram needs a number"},
		{[]string{"--top", "3"}, "--top needs --count-by or --hist"},
		{[]string{"--interval", "1s"}, "--interval needs --count-by or --hist"},
		{[]string{"--count-by", "sig", "--format", "x"}, "give one"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := exec.Command(self(t), append([]string{"trace"}, tc.args...)...)
			cmd.Env = append(os.Environ(), "SIGTRACE_AS_MAIN=1")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); err == nil || code != 2 {
				t.Errorf("status %d (%v), want 2", code, err)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.want) || strings.Contains(stderr.String(), readyLine) {
				t.Errorf("stderr %q, want one line with %q, before tracing", stderr.String(), tc.want)
			}
		})
	}
}

// TestCountByMatchesEvents: the counts of --count-by are the events -o
// json prints with the same filters, key by key; the table says the same
// in bpftrace's layout, and --hist counts the deliveries' latencies.
func TestCountByMatchesEvents(t *testing.T) {
	requireRoot(t)
	v := startVictim(t, "app") // a Go program: its runtime takes SIGUSR1 and SIGUSR2 and drops them
	pid := strconv.Itoa(v.cmd.Process.Pid)
	filters := []string{"-s", "USR1,USR2", "--target-pid", pid}
	events := startSigtrace(t, append([]string{"trace", "-o", "json"}, filters...)...)
	counts := startSigtrace(t, append([]string{"trace", "-o", "json", "--count-by", "type,sender.comm,signal.name"}, filters...)...)
	table := startSigtrace(t, append([]string{"trace", "--no-deliver", "--count-by", "sender.comm,sig"}, filters...)...)
	hist := startSigtrace(t, append([]string{"trace", "-o", "json", "--hist", "latency_ns", "--count-by", "signal.name"}, filters...)...)

	// One signal at a time, each delivered before the next is sent (two
	// at once would merge), so that all five are delivered. A delivery
	// printed by the events trace is in every tracer's ring (the same
	// tracepoint runs each one's program).
	want := map[string]int{}
	send := func(send func()) {
		send()
		for {
			m := events.nextJSON(t, "an event", func(map[string]any) bool { return true })
			want[fmt.Sprint(m["type"], "|", field(m, "sender", "comm"), "|", field(m, "signal", "name"))]++
			if m["type"] == "deliver" {
				return
			}
		}
	}
	for range 3 {
		send(func() { runKill(t, "USR1", v.cmd.Process.Pid) })
	}
	for range 2 {
		send(func() {
			if err := syscall.Kill(v.cmd.Process.Pid, syscall.SIGUSR2); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, line := range strings.Split(strings.TrimSpace(events.stop(t)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		want[fmt.Sprint(m["type"], "|", field(m, "sender", "comm"), "|", field(m, "signal", "name"))]++
	}
	me := selfComm(t)
	if want["generate|kill|SIGUSR1"] != 3 || want["generate|"+me+"|SIGUSR2"] != 2 || want["deliver|<nil>|SIGUSR1"] != 3 {
		t.Fatalf("the events are not the signals sent: %v", want)
	}

	got := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(counts.stop(t)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if m["type"] != "count" || m["interval_end"] != nil {
			t.Errorf("not a count record (without an interval): %s", line)
		}
		keys, _ := m["keys"].(map[string]any)
		got[fmt.Sprint(keys["type"], "|", keys["sender.comm"], "|", keys["signal.name"])] += num(m["count"])
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("--count-by counted\n%v\nthe events were\n%v", got, want)
	}

	text := table.stop(t)
	for _, line := range []string{"count by sender.comm, signal.num", "@[kill, 10]: 3", fmt.Sprintf("@[%s, 12]: 2", me)} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("table lacks %q:\n%s", line, text)
		}
	}

	byName := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(hist.stop(t)), "\n") {
		var m struct {
			Keys  map[string]string `json:"keys"`
			Count int               `json:"count"`
			Hist  struct {
				Field   string `json:"field"`
				Buckets []struct {
					Min, Max uint64
					Count    int
				} `json:"buckets"`
			} `json:"hist"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		sum := 0
		for _, b := range m.Hist.Buckets {
			sum += b.Count
		}
		if m.Hist.Field != "latency_ns" || sum != m.Count {
			t.Errorf("histogram %s: buckets hold %d of %d", line, sum, m.Count)
		}
		byName[m.Keys["signal.name"]] += m.Count
	}
	if byName["SIGUSR1"] != 3 || byName["SIGUSR2"] != 2 {
		t.Errorf("latencies counted %v, want 3 SIGUSR1 and 2 SIGUSR2 deliveries", byName)
	}
}

// TestCountInterval: with --interval, the counts come every interval,
// with interval_end, each interval's own.
func TestCountInterval(t *testing.T) {
	requireRoot(t)
	v := startVictim(t, "app")
	p := startSigtrace(t, "trace", "-o", "json", "--count-by", "sig", "--no-deliver", "--interval", "300ms",
		"-s", "USR1", "--target-pid", strconv.Itoa(v.cmd.Process.Pid))
	runKill(t, "USR1", v.cmd.Process.Pid)
	m := p.nextJSON(t, "a count record", func(m map[string]any) bool { return m["type"] == "count" })
	if num(m["count"]) != 1 || num(field(m, "keys", "signal.num")) != 10 {
		t.Errorf("record %v", m)
	}
	if s, _ := m["interval_end"].(string); s == "" {
		t.Errorf("no interval_end: %v", m)
	} else if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		t.Errorf("interval_end %q: %v", s, err)
	}
	// Nothing more was sent: the next intervals have no counts.
	if rest := p.stop(t); strings.TrimSpace(rest) != "" {
		t.Errorf("counts in later intervals: %q", rest)
	}
}
