package tracer

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/signals"
)

// TestKernelCounts: generate events counted in the kernel map come out
// exact, by the keys asked for, and never reach the ring.
func TestKernelCounts(t *testing.T) {
	requirePrivileged(t)
	target := spawn(t, "exec", withEnv("SIGTRACE_IGN="+sigList(syscall.SIGUSR1, syscall.SIGUSR2)))
	tr, err := New(Options{
		Signals:    []int{int(syscall.SIGUSR1), int(syscall.SIGUSR2)},
		TargetPIDs: []uint32{uint32(target.pid())},
		NoDeliver:  true, NoExit: true,
		CountKeys: CountSig | CountTargetPID | CountSenderComm | CountTargetUID,
		Debug:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	const n1, n2 = 1000, 37
	for i := 0; i < n1; i++ {
		must(t, syscall.Kill(target.pid(), syscall.SIGUSR1))
	}
	for i := 0; i < n2; i++ {
		must(t, syscall.Kill(target.pid(), syscall.SIGUSR2))
	}
	// Signals to others are filtered out in the kernel, not counted.
	must(t, syscall.Kill(os.Getpid(), syscall.SIGWINCH))

	self := filepath.Base(selfExe(t))
	if len(self) > 15 {
		self = self[:15]
	}
	got := map[int]uint64{}
	must(t, tr.Counts(func(k *CountKey, n uint64) {
		if k.TargetPID != uint32(target.pid()) || string(CommBytes(k.SenderComm[:])) != self || k.TargetUID != 0 || k.SenderPID != 0 {
			t.Errorf("key %+v (sender comm %q): want target %d, sender %q, uid 0, no sender pid", *k, CommBytes(k.SenderComm[:]), target.pid(), self)
		}
		got[k.Sig] += n
	}))
	if got[int(syscall.SIGUSR1)] != n1 || got[int(syscall.SIGUSR2)] != n2 || len(got) != 2 {
		t.Errorf("counts %v, want SIGUSR1 %d, SIGUSR2 %d", got, n1, n2)
	}
	st, err := tr.Stats()
	must(t, err)
	if st.Submitted != 0 || st.Counted != n1+n2 || st.CountFull != 0 {
		t.Errorf("stats %+v: want %d counted, nothing in the ring", st, n1+n2)
	}
}

func TestKernelCountsRefused(t *testing.T) {
	requirePrivileged(t)
	if _, err := New(Options{CountKeys: CountSig, PendingAfter: time.Second}); err == nil {
		t.Error("counting with PendingAfter was accepted")
	}
	if _, err := New(Options{CountKeys: CountSig | CountSenderPID}); err == nil {
		t.Error("counting deliveries by the sender was accepted")
	}
}

// TestKernelCountsDeliveries: with deliveries on, they are counted in the
// kernel too, under their own type; a SIGKILL's delivery and the exit
// come as events, for Go to tell the kernel's kills of a dying group's
// threads apart.
func TestKernelCountsDeliveries(t *testing.T) {
	requirePrivileged(t)
	target := spawn(t, "thread") // a Go program: its runtime handles real-time signals
	rt := signals.RTMin + 3      // queued, one delivery per kill
	tr, err := New(Options{
		Signals:    []int{rt, int(syscall.SIGKILL)},
		TargetPIDs: []uint32{uint32(target.pid())},
		CountKeys:  CountSig | CountTargetPID,
		Debug:      true,
	})
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{changed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx, col.add, nil) }()
	defer func() {
		cancel()
		must(t, <-done)
		tr.Close()
	}()
	counts := func() map[CountKey]uint64 {
		got := map[CountKey]uint64{}
		must(t, tr.Counts(func(k *CountKey, n uint64) { got[*k] = n }))
		return got
	}
	const n = 200
	for range n {
		must(t, syscall.Kill(target.pid(), syscall.Signal(rt)))
	}
	gen := CountKey{Type: TypeGenerate, Sig: rt, TargetPID: uint32(target.pid())}
	del := CountKey{Type: TypeDeliver, Sig: rt, TargetPID: uint32(target.pid())}
	deadline := time.Now().Add(waitTimeout())
	for got := counts(); got[gen] != n || got[del] != n; got = counts() {
		if time.Now().After(deadline) {
			t.Fatalf("counts %v, want %d sent and %d delivered", got, n, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	must(t, syscall.Kill(target.pid(), syscall.SIGKILL))
	target.wait(t)
	pid := uint32(target.pid())
	col.waitFor(t, 0, "the exit", func(e *Event) bool { return e.Type == TypeExit && e.Target.PID == pid })
	col.waitFor(t, 0, "the SIGKILL's delivery", func(e *Event) bool {
		return e.Type == TypeDeliver && e.Sig == int(syscall.SIGKILL) && e.Target.PID == pid
	})
	for _, e := range col.since(0, func(e *Event) bool {
		return e.Type == TypeGenerate || (e.Type == TypeDeliver && e.Sig != int(syscall.SIGKILL))
	}) {
		t.Errorf("an event counted in the kernel came through the ring: %v %d", e.Type, e.Sig)
	}
	if got := counts(); got[CountKey{Type: TypeGenerate, Sig: int(syscall.SIGKILL), TargetPID: pid}] != 1 || got[del] != n {
		t.Errorf("counts %v: want the SIGKILL sent counted, and no SIGKILL delivery", got)
	}
	for k := range counts() {
		if k.Type == TypeDeliver && k.Sig == int(syscall.SIGKILL) {
			t.Errorf("a SIGKILL delivery counted in the kernel: %+v", k)
		}
	}
}
