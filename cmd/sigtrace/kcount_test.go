package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/signals"
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
		countRecords(t, p.stop(t), func(keys map[string]any, n int) {
			if keys["type"] != "generate" || int(keys["target.pid"].(float64)) != pid {
				t.Errorf("keys %v", keys)
			}
			got[keys["signal.name"].(string)] += n
		})
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

// TestCountInKernelDeliveries: --count-by on kernel keys with deliveries
// and exits on counts generate events and deliveries in the kernel, and
// a SIGKILL's deliveries and the exit in Go: the same counts as the same
// question counted all in Go, by type and signal.
func TestCountInKernelDeliveries(t *testing.T) {
	requireRoot(t)
	v := startVictim(t, "countdel", "SIGTRACE_VICTIM_GO=1") // the Go runtime's handlers for every signal
	pid := v.cmd.Process.Pid
	kernel := `target.pid == ` + strconv.Itoa(pid)
	args := []string{"trace", "--debug", "-o", "json", "--count-by", "type,signal.name"}
	inKernel := startSigtrace(t, append(args, kernel)...)
	inGo := startSigtrace(t, append(args, kernel+` && target.comm matches "."`)...)
	const rt, usr1 = 300, 100
	for range rt {
		if err := syscall.Kill(pid, syscall.Signal(signals.RTMin+3)); err != nil { // queued: one delivery each
			t.Fatal(err)
		}
	}
	for range usr1 {
		if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
	}
	// The runtime takes the queue before the SIGKILL ends it: wait until
	// nothing is pending for the process (ShdPnd, kernel/signal.c's
	// shared queue, which kill(2) fills).
	deadline := time.Now().Add(timeout())
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "\nShdPnd:\t0000000000000000\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("signals still pending for the victim after %v", timeout())
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = v.cmd.Process.Kill()
	_ = v.cmd.Wait()
	read := func(p *sigtraceProc) map[string]int {
		got := map[string]int{}
		countRecords(t, p.stop(t), func(keys map[string]any, n int) {
			got[fmt.Sprint(keys["type"], " ", keys["signal.name"])] += n
		})
		return got
	}
	kc, gc := read(inKernel), read(inGo)
	t.Logf("in the kernel %v; in Go %v", kc, gc)
	if kc["generate SIGRTMIN+3"] != rt || kc["deliver SIGRTMIN+3"] != rt || kc["generate SIGUSR1"] != usr1 ||
		kc["deliver SIGUSR1"] == 0 || kc["generate SIGKILL"] != 1 || kc["deliver SIGKILL"] == 0 || kc["exit SIGKILL"] != 1 {
		t.Errorf("counted in the kernel: %v", kc)
	}
	if !maps.Equal(kc, gc) {
		t.Errorf("counted in the kernel %v, in Go %v", kc, gc)
	}
	const line = "counting in the kernel"
	if !strings.Contains(inKernel.errText(), line) || strings.Contains(inGo.errText(), line) {
		t.Errorf("counted in the kernel: %q; in Go: %q", inKernel.errText(), inGo.errText())
	}
}

// countRecords calls fn with the keys and count of each line of out, which
// must all be -o json count records.
func countRecords(t *testing.T, out string, fn func(keys map[string]any, n int)) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m struct {
			Type  string         `json:"type"`
			Keys  map[string]any `json:"keys"`
			Count int            `json:"count"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil || m.Type != "count" {
			t.Fatalf("not a count record (%v): %q", err, line)
		}
		fn(m.Keys, m.Count)
	}
}
