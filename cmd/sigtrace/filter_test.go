package main

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"syscall"
	"testing"
)

// TestTraceFilterEndToEnd: the example filter shows the SIGHUP
// that kills one daemon and its death, and nothing of another daemon
// killed by SIGHUP at the same time.
func TestTraceFilterEndToEnd(t *testing.T) {
	requireRoot(t)
	name := fmt.Sprintf("logdev%06d", rand.Intn(1000000))
	other := fmt.Sprintf("otherd%06d", rand.Intn(1000000))
	p := startSigtrace(t, "trace", "-o", "json", fmt.Sprintf(`sig == SIGHUP && target.comm == %q`, name))
	v := startVictim(t, name)
	o := startVictim(t, other)
	if err := syscall.Kill(o.cmd.Process.Pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	_ = o.cmd.Wait()
	runNightlyjob(t, name)
	_ = v.cmd.Wait()

	var seen []map[string]any
	p.nextJSON(t, "the victim's exit", func(m map[string]any) bool {
		seen = append(seen, m)
		return m["type"] == "exit" && num(field(m, "target", "pid")) == v.cmd.Process.Pid
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(p.readRest(t)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		seen = append(seen, m)
	}
	types := map[string]int{}
	for _, m := range seen {
		types[fmt.Sprint(m["type"])]++
		if m["type"] == "lost" {
			continue
		}
		if field(m, "signal", "name") != "SIGHUP" || field(m, "target", "comm") != name {
			t.Errorf("the filter let through %v", m)
		}
	}
	if types["generate"] != 1 || types["exit"] != 1 {
		t.Errorf("events by type %v, want the one SIGHUP sent to %s and its exit", types, name)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status %d; stderr: %s", code, p.errText())
	}
}

// TestTraceFilterGenerateOnly: a filter only generate events can match
// has the kernel leave out deliveries and exits.
func TestTraceFilterGenerateOnly(t *testing.T) {
	requireRoot(t)
	name := fmt.Sprintf("unprep%06d", rand.Intn(1000000))
	p := startSigtrace(t, "trace", "-o", "json", fmt.Sprintf(`verdict == "fatal" && unprepared && target.comm == %q`, name))
	v := startVictim(t, name)
	runNightlyjob(t, name)
	_ = v.cmd.Wait()
	ev := p.nextJSON(t, "the fatal SIGHUP", func(m map[string]any) bool {
		return m["type"] == "generate" && num(field(m, "target", "pid")) == v.cmd.Process.Pid
	})
	if field(ev, "sender", "comm") != "pkill" {
		t.Errorf("sender %v, want pkill", field(ev, "sender"))
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if rest := strings.TrimSpace(p.readRest(t)); rest != "" {
		t.Errorf("more than the fatal SIGHUP: %s", rest)
	}
	_ = p.wait(t)
}
