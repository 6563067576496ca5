package tracer

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
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

func TestKernelCountsNeedGenerateOnly(t *testing.T) {
	requirePrivileged(t)
	if _, err := New(Options{CountKeys: CountSig}); err == nil {
		t.Error("counting with deliver and exit events on was accepted")
	}
}
