package main

import (
	"bufio"
	"fmt"
	"math/rand"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nextLine reads table rows until one holds want, bounded, and returns
// every row read.
func nextLine(t *testing.T, r *bufio.Reader, want string) []string {
	t.Helper()
	type res struct {
		rows []string
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		var rows []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				ch <- res{rows, err}
				return
			}
			rows = append(rows, strings.TrimRight(line, "\n"))
			if strings.Contains(line, want) {
				ch <- res{rows, nil}
				return
			}
		}
	}()
	select {
	case got := <-ch:
		if got.err != nil {
			t.Fatalf("no row with %q: %v; read:\n%s", want, got.err, strings.Join(got.rows, "\n"))
		}
		return got.rows
	case <-time.After(timeout()):
		t.Fatalf("no row with %q within %v", want, timeout())
		return nil
	}
}

// TestFatalShowsReraise: a Go daemon that never called signal.Notify dies
// of pkill -HUP from a cron-like job by re-raising it. `--fatal` leaves
// out pkill's row (the runtime's handler caught it) and shows the fatal
// re-raise, which names pkill and its parents, and the death, whose
// killer is pkill, in JSON and in the table.
func TestFatalShowsReraise(t *testing.T) {
	requireRoot(t)
	name := fmt.Sprintf("goapp%06d", rand.Intn(1000000))
	js := startSigtrace(t, "trace", "-o", "json", "--fatal", "-s", "HUP", "--comm", name)
	tab := startSigtrace(t, "trace", "--fatal", "-s", "HUP", "--comm", name)
	v := startVictim(t, name, "SIGTRACE_VICTIM_GO=1")
	pid := v.cmd.Process.Pid
	runNightlyjob(t, name)
	done := make(chan error, 1)
	go func() { done <- v.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(timeout()):
		t.Fatal("the Go daemon did not die of SIGHUP")
	}
	if ws := v.cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGHUP {
		t.Fatalf("Go daemon: %v, want killed by SIGHUP", v.cmd.ProcessState)
	}

	var seen []map[string]any
	exit := js.nextJSON(t, "the exit event", func(m map[string]any) bool {
		seen = append(seen, m)
		return m["type"] == "exit" && num(field(m, "target", "pid")) == pid
	})
	fatalReraises := 0
	for _, m := range seen {
		if m["type"] != "generate" {
			continue
		}
		if m["fatal"] != true && m["fatal_when_unblocked"] != true {
			t.Errorf("--fatal printed a %v generate event: %v", m["verdict"], m)
		}
		if field(m, "sender", "comm") == "pkill" {
			t.Errorf("--fatal printed pkill's row, which the Go runtime's handler caught: %v", m)
		}
		if num(field(m, "sender", "pid")) != pid {
			continue
		}
		fatalReraises++
		if field(m, "code") != "SI_TKILL" || field(m, "reraise_of", "sender", "comm") != "pkill" || field(m, "reraise_of", "code") != "SI_USER" {
			t.Errorf("re-raise %v: want SI_TKILL, reraise_of pkill's SI_USER", m)
		}
		if anc, _ := field(m, "reraise_of", "sender", "ancestry").([]any); len(anc) == 0 || field(anc[0].(map[string]any), "comm") != "nightlyjob" {
			t.Errorf("reraise_of.sender.ancestry %v, want nightlyjob first", anc)
		}
		if argv, _ := field(m, "reraise_of", "sender", "argv").([]any); len(argv) == 0 || argv[len(argv)-1] != name {
			t.Errorf("reraise_of.sender.argv %v, want pkill's, ending in %s", argv, name)
		}
	}
	if fatalReraises != 1 {
		t.Errorf("%d fatal re-raises printed, want 1 (the runtime's last tgkill, at SIG_DFL)", fatalReraises)
	}
	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"signal", "name"}, "SIGHUP"},
		{[]string{"killer", "comm"}, "pkill"},
		{[]string{"killer_via"}, "reraise"},
		{[]string{"code"}, "SI_USER"},
		{[]string{"disposition"}, "handler"},
	} {
		if got := field(exit, c.path...); got != c.want {
			t.Errorf("exit %s = %v, want %v", strings.Join(c.path, "."), got, c.want)
		}
	}

	rows := nextLine(t, tab.stdout, fmt.Sprintf("EXIT %s[%d]", name, pid))
	exitRow := rows[len(rows)-1]
	for _, want := range []string{"killed by SIGHUP from pkill[", "← nightlyjob", "(re-raised by the process after its handler ran)"} {
		if !strings.Contains(exitRow, want) {
			t.Errorf("EXIT row lacks %q:\n%s", want, exitRow)
		}
	}
	text := strings.Join(rows, "\n")
	if !strings.Contains(text, "FATAL re-raise of SIGHUP from pkill[") {
		t.Errorf("no fatal re-raise row naming pkill:\n%s", text)
	}
	if strings.Contains(text, "handled") {
		t.Errorf("--fatal printed a handled row:\n%s", text)
	}
}
