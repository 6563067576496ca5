package tracer

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// TestLostEventsReported stalls the reader on a one-page ring buffer while
// signals keep coming: the kernel must count the reservations that failed,
// and Run must hand them over as lost events, exactly.
func TestLostEventsReported(t *testing.T) {
	requirePrivileged(t)
	const signalsSent = 300
	target := spawn(t, "exec", withEnv("SIGTRACE_IGN="+sigList(syscall.SIGUSR1)))
	tr, err := New(Options{Signals: []int{int(syscall.SIGUSR1)}, NoDeliver: true, RingSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()

	release := make(chan struct{})
	var received, lost uint64
	sawLost := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		first := true
		done <- tr.Run(ctx, func(ev *Event) error {
			switch ev.Type {
			case TypeGenerate:
				if first {
					first = false
					<-release // the reader is stuck while the storm runs
				}
				received++
			case TypeLost:
				if lost == 0 {
					close(sawLost)
				}
				lost += ev.Lost.Count
			}
			return nil
		}, nil)
	}()
	must(t, syscall.Kill(target.pid(), syscall.SIGUSR1))
	for i := 1; i < signalsSent; i++ {
		must(t, syscall.Kill(target.pid(), syscall.SIGUSR1))
	}
	close(release)
	select {
	case <-sawLost:
	case <-time.After(waitTimeout()):
		t.Fatal("no lost event reported for an overflowing ring")
	}
	st, err := tr.Stats()
	must(t, err)
	cancel()
	must(t, <-done)
	if lost != st.Dropped() {
		t.Errorf("lost events reported %d, kernel counted %d", lost, st.Dropped())
	}
	if received+lost < signalsSent {
		t.Errorf("received %d + lost %d < %d signals sent", received, lost, signalsSent)
	}
	if lost == 0 || received == 0 {
		t.Errorf("received %d, lost %d: want both", received, lost)
	}
	t.Logf("one-page ring: %d received, %d lost of %d", received, lost, signalsSent)
}

// TestVerifierRejectionIsOneLine feeds the kernel's verifier a program it
// must reject (it reads an uninitialised register) and checks the message
// a user sees: one line by default, the verifier's log under --debug.
func TestVerifierRejectionIsOneLine(t *testing.T) {
	requirePrivileged(t)
	_, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.SocketFilter,
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Reg(asm.R0, asm.R3), asm.Return()},
	})
	var ve *ebpf.VerifierError
	if !errors.As(err, &ve) {
		t.Fatalf("expected a verifier error, got %v", err)
	}
	short := explainLoad(err, false).Error()
	if strings.Contains(short, "\n") || !strings.Contains(short, "verifier rejected") || !strings.Contains(short, "--debug") {
		t.Errorf("default message: %q, want one line naming the verifier and --debug", short)
	}
	long := explainLoad(err, true).Error()
	if !strings.Contains(long, "\n") || !strings.Contains(long, "R3 !read_ok") {
		t.Errorf("--debug message lacks the verifier log: %q", long)
	}
}
