package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestCountInKernel: --count-by with kernel keys and a filter the kernel
// decides whole counts in a BPF map, and gives exactly the counts that
// the same question counted in Go gives (a filter with a Go-only part).
func TestCountInKernel(t *testing.T) {
	requireRoot(t)
	v := startVictim(t, "counted") // a Go program: its runtime drops SIGUSR1 and SIGWINCH
	pid := v.cmd.Process.Pid
	kernel := `type == "generate" && target.pid == ` + strconv.Itoa(pid)
	inKernel := startSigtrace(t, "trace", "--debug", "-o", "json", "--count-by", "signal.name,target.pid,type", kernel)
	inGo := startSigtrace(t, "trace", "--debug", "-o", "json", "--count-by", "signal.name,target.pid,type", kernel+` && verdict != "fatal"`)
	const usr1, winch = 500, 20
	for i := 0; i < usr1; i++ {
		if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < winch; i++ {
		if err := syscall.Kill(pid, syscall.SIGWINCH); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p *sigtraceProc) map[string]int {
		got := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(p.stop(t)), "\n") {
			var m struct {
				Type  string         `json:"type"`
				Keys  map[string]any `json:"keys"`
				Count int            `json:"count"`
			}
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("bad line %q: %v", line, err)
			}
			if m.Type != "count" {
				t.Fatalf("not a count record: %s", line)
			}
			if m.Keys["type"] != "generate" || int(m.Keys["target.pid"].(float64)) != pid {
				t.Errorf("keys %v", m.Keys)
			}
			got[m.Keys["signal.name"].(string)] += m.Count
		}
		return got
	}
	kc, gc := read(inKernel), read(inGo)
	if kc["SIGUSR1"] != usr1 || kc["SIGWINCH"] != winch || len(kc) != 2 {
		t.Errorf("counted in the kernel: %v, want SIGUSR1 %d, SIGWINCH %d", kc, usr1, winch)
	}
	if len(gc) != len(kc) || gc["SIGUSR1"] != kc["SIGUSR1"] || gc["SIGWINCH"] != kc["SIGWINCH"] {
		t.Errorf("counted in Go %v, in the kernel %v", gc, kc)
	}
	const line = "counting in the kernel"
	if !strings.Contains(inKernel.errText(), line) {
		t.Errorf("the kernel's filter and keys did not count in the kernel: %q", inKernel.errText())
	}
	if strings.Contains(inGo.errText(), line) {
		t.Errorf("a filter with a Go-only part counted in the kernel: %q", inGo.errText())
	}
}
