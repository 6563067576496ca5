package tracer

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// A drained stop: Run, told to stop, first detaches the programs, then
// waits until every program run that began before the detach has ended,
// and then reads the ring until it holds nothing more and the records
// read are all those the kernel side submitted (STAT_SUBMITTED). From the
// detach on, no record can be added, so the events handed over plus the
// lost counts reported are exactly what the kernel side made of the
// signals while attached, also when the stop lands in a storm.

// drainLimit bounds a drained stop's wait for records the kernel counted
// as submitted but that the reader has not seen (none, once quiesce has
// returned; it matters only where membarrier cannot be used).
const drainLimit = time.Second

// memberCmdGlobal is MEMBARRIER_CMD_GLOBAL (include/uapi/linux/membarrier.h).
const memberCmdGlobal = 1

// detach closes the links: no program starts running after it returns. A
// tp_btf link's release unregisters the probe from the tracepoint
// (kernel/bpf/syscall.c bpf_raw_tp_link_release -> bpf_probe_unregister);
// close(2) returns after that, since the last fput of a file closed by a
// task runs from task work before the return to user space.
func (t *Tracer) detach() error {
	t.linkMu.Lock()
	defer t.linkMu.Unlock()
	var errs []error
	for _, l := range t.links {
		errs = append(errs, l.Close())
	}
	t.links = nil
	return errors.Join(errs...)
}

// quiesce waits for the program runs that were in progress at the detach
// to end. A tracepoint calls its probes with preemption disabled
// (include/linux/tracepoint.h __DO_TRACE), and tracepoint_probe_unregister
// does not wait for callers that already loaded the old probe array (the
// kernel's own users call tracepoint_synchronize_unregister for that).
// membarrier(MEMBARRIER_CMD_GLOBAL) is synchronize_rcu()
// (kernel/sched/membarrier.c), which since 4.20 also waits out every
// preemption-disabled section: when it returns, each such run has
// committed its record and counted it. It fails on a nohz_full kernel
// (EINVAL) or one built without CONFIG_MEMBARRIER (ENOSYS); the drain then
// relies on the submitted count alone (see drained).
func quiesce() error {
	if _, _, e := unix.Syscall(unix.SYS_MEMBARRIER, memberCmdGlobal, 0, 0); e != 0 {
		return fmt.Errorf("membarrier: %w", e)
	}
	return nil
}

// stopKernel is the first half of a drained stop: detach, then quiesce.
func (t *Tracer) stopKernel() {
	_ = t.detach() // a link that fails to close is closed again by Close
	_ = quiesce()
}

// drained says whether a drained stop has read everything: the records
// read are at least those the kernel submitted, or drainLimit has passed
// since the stop began.
func (t *Tracer) drained(since time.Time) bool {
	st, err := t.Stats()
	if err != nil || t.submittedAtStart+t.read >= st.Submitted {
		return true
	}
	return time.Since(since) >= drainLimit
}
