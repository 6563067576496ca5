package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/testproc"
)

// countStorm: SIGUSR1 ignored; on a byte from stdin, exactly
// SIGTRACE_COUNTSTORM kill(2)s of it to itself, then it exits.
func countStorm() int {
	n, err := strconv.Atoi(os.Getenv("SIGTRACE_COUNTSTORM"))
	if err != nil {
		return 111
	}
	if err := testproc.SetDisposition(syscall.SIGUSR1, testproc.SigIgn); err != nil {
		return 111
	}
	runtime.LockOSThread()
	fmt.Println("ready")
	var b [1]byte
	if _, err := os.Stdin.Read(b[:]); err != nil {
		return 112
	}
	pid := os.Getpid()
	for range n {
		_ = syscall.Kill(pid, syscall.SIGUSR1)
	}
	return 0
}

// TestStopDrains is issue 19's drained stop as a user meets it: trace is
// stopped (SIGINT, SIGTERM, SIGQUIT, or its --duration running out) with
// its 1 MiB ring full of a storm's records it has not read. It reads them
// all before it exits: the events it prints plus the lost ones it reports
// are exactly the signals sent, and stderr's total is the lost records'.
func TestStopDrains(t *testing.T) {
	requireRoot(t)
	const sent = 50000
	for _, stop := range []string{"SIGINT", "SIGTERM", "SIGQUIT", "--duration"} {
		t.Run(stop, func(t *testing.T) {
			storm := exec.Command(self(t))
			storm.Env = append(os.Environ(), "SIGTRACE_COUNTSTORM="+strconv.Itoa(sent))
			stormIn, _ := storm.StdinPipe()
			stormOut, _ := storm.StdoutPipe()
			must(t, storm.Start())
			t.Cleanup(func() { _ = storm.Process.Kill(); _ = storm.Wait() })
			var ready [6]byte
			if _, err := stormOut.Read(ready[:]); err != nil || string(ready[:5]) != "ready" {
				t.Fatalf("storm: %q %v", ready, err)
			}
			args := []string{"trace", "-o", "json", "--rate-limit", "0", "--no-deliver", "--no-dispositions",
				"--target-pid", strconv.Itoa(storm.Process.Pid), "-s", "USR1", "--ring-size", "1"}
			// --duration counts from the start, attaching included,
			// which takes seconds under a guest's emulation.
			duration := 3 * time.Second
			if os.Getenv("SIGTRACE_GUEST") != "" {
				duration = 20 * time.Second
			}
			if stop == "--duration" {
				args = append(args, "--duration", duration.String())
			}
			start := time.Now()
			p := startSigtrace(t, args...)
			must(t, p.cmd.Process.Signal(syscall.SIGSTOP))
			_, _ = stormIn.Write([]byte{1})
			if err := storm.Wait(); err != nil {
				t.Fatalf("storm: %v", err)
			}
			switch stop {
			case "--duration":
				time.Sleep(time.Until(start.Add(duration + 100*time.Millisecond)))
			default:
				sig := map[string]syscall.Signal{"SIGINT": syscall.SIGINT, "SIGTERM": syscall.SIGTERM, "SIGQUIT": syscall.SIGQUIT}[stop]
				must(t, p.cmd.Process.Signal(sig))
			}
			must(t, p.cmd.Process.Signal(syscall.SIGCONT))
			out := p.readRest(t)
			if code := p.wait(t); code != 0 {
				t.Fatalf("trace exited %d: %s", code, p.errText())
			}
			if strings.TrimSpace(out) == "" {
				t.Fatalf("trace printed nothing (stderr: %s)", p.errText())
			}
			var events, lost int
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("%v: %q", err, line)
				}
				switch m["type"] {
				case "generate":
					if field(m, "signal", "name") == "SIGUSR1" {
						events++
					}
				case "lost":
					lost += num(m["count"])
				}
			}
			t.Logf("%s: %d sent, %d printed, %d lost", stop, sent, events, lost)
			if events+lost != sent || lost == 0 {
				t.Errorf("%d sent, %d printed and %d reported lost: want the two to add up, with the ring overrun", sent, events, lost)
			}
			if want := fmt.Sprintf("sigtrace: %d events lost", lost); !strings.Contains(p.errText(), want) {
				t.Errorf("stderr lacks %q: %s", want, p.errText())
			}
		})
	}
}
