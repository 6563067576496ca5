package tracer

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/syscalls"
)

func TestRestartOutcome(t *testing.T) {
	for _, tc := range []struct {
		ret   int32
		disp  Disposition
		flags uint64
		want  SyscallOutcome
	}{
		{errRestartSys, DispHandler, saRestart, OutcomeRestart},
		{errRestartSys, DispHandler, 0, OutcomeEINTR},
		{errRestartNoIntr, DispHandler, 0, OutcomeRestart},
		{errRestartNoHand, DispHandler, saRestart, OutcomeEINTR},
		{errRestartRestartBlock, DispHandler, saRestart, OutcomeEINTR},
		{errRestartSys, DispIgnore, 0, OutcomeRestart},
		{errRestartNoHand, DispDefault, 0, OutcomeRestart},
		{errRestartRestartBlock, DispDefault, 0, OutcomeRestart},
	} {
		if got := RestartOutcome(tc.ret, tc.disp, tc.flags); got != tc.want {
			t.Errorf("RestartOutcome(%d, %v, %#x) = %v, want %v", tc.ret, tc.disp, tc.flags, got, tc.want)
		}
	}
}

// TestInterruptedRead: a handler interrupts a read(2) blocked on a pipe;
// with SA_RESTART the deliver event says read/restart, without it
// read/eintr, and the latency since sending is positive and below a second.
func TestInterruptedRead(t *testing.T) {
	requirePrivileged(t)
	if ok, why := HaveSyscallDetail(); !ok {
		if os.Getenv("SIGTRACE_GUEST") == "" && os.Getenv("CI") == "true" && strings.Contains(why, "5.15") {
			t.Fatalf("syscall detail unavailable on the CI host: %s", why)
		}
		t.Skip("syscall detail unavailable: " + why)
	}
	_, col := startTracer(t, Options{Signals: []int{int(syscall.SIGUSR1)}})
	for _, tc := range []struct {
		name      string
		norestart bool
		want      SyscallOutcome
	}{{"SA_RESTART", false, OutcomeRestart}, {"no SA_RESTART", true, OutcomeEINTR}} {
		t.Run(tc.name, func(t *testing.T) {
			env := "SIGTRACE_NORESTART=0"
			if tc.norestart {
				env = "SIGTRACE_NORESTART=1"
			}
			c := spawn(t, "reader", withEnv(env))
			tid, err := strconv.Atoi(c.fields[0])
			must(t, err)
			waitInSyscall(t, c.pid(), tid, "read")
			must(t, unix.Tgkill(c.pid(), tid, syscall.SIGUSR1))
			ev, _ := col.waitFor(t, 0, "deliver to the reader", func(e *Event) bool {
				return e.Type == TypeDeliver && e.Target.TID == uint32(tid) && e.Sig == int(syscall.SIGUSR1)
			})
			if !ev.Deliver.HasSyscall || syscalls.Name(ev.Deliver.SyscallNr) != "read" || ev.Deliver.SyscallOutcome != tc.want {
				t.Errorf("syscall %v %s %v, want read %v", ev.Deliver.HasSyscall, syscalls.Name(ev.Deliver.SyscallNr), ev.Deliver.SyscallOutcome, tc.want)
			}
			if !ev.Deliver.HasLatency || ev.Deliver.LatencyNs <= 0 || ev.Deliver.LatencyNs >= int64(time.Second) {
				t.Errorf("latency %v (known %v), want positive and below a second", time.Duration(ev.Deliver.LatencyNs), ev.Deliver.HasLatency)
			}
		})
	}
}

// waitInSyscall waits (bounded) until the thread is blocked in the named
// system call, from /proc/PID/task/TID/syscall.
func waitInSyscall(t *testing.T, pid, tid int, name string) {
	t.Helper()
	path := "/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid) + "/syscall"
	deadline := time.Now().Add(waitTimeout())
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(path)
		if err == nil {
			if f := strings.Fields(string(b)); len(f) > 0 {
				if nr, err := strconv.Atoi(f[0]); err == nil && syscalls.Name(nr) == name {
					return
				}
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("thread %d never blocked in %s()", tid, name)
}
