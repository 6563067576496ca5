package tracer

import (
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/signals"
)

// churnProcesses is how many short-lived processes' worth of entries the
// churn test feeds each cache: more than any bound, so each has to hold.
const churnProcesses = 100_000

// The events of a short-lived process, as the reader sees them. Kept in
// one place so that a change of Event's shape changes only these.
func churnGenerate(pid uint32, sig int, at time.Time) *Event {
	return &Event{Type: TypeGenerate, Sig: sig, Time: at, bootNs: at.UnixNano(),
		Target: Process{PID: pid, TID: pid}, Generate: Generate{Result: ResultDelivered,
			From:  From{Sender: Process{PID: pid + 1, TID: pid + 1}},
			Setup: Setup{Disposition: DispHandler, DefaultAction: signals.DefaultAction(sig)}}}
}

func churnExit(pid uint32, at time.Time) *Event {
	return &Event{Type: TypeExit, Time: at, Target: Process{PID: pid, TID: pid}}
}

// TestChurnStaysBounded feeds each of the reader's per-process tables the
// entries of churnProcesses processes, each a new pid that gets a signal
// (and for half of them, dies, an exit seen; the other half's exits were
// lost or filtered out), and checks after each that the table is inside
// its named bound: the pending tracker (MaxTracked), the re-raise table
// (MaxReraiseTracked), the Go notify-mask cache (maxGoProcs), the cgroup
// path table (maxCgroups) and the memory-cgroup names (maxCgroupNames).
// The decoder's sender-detail slots are a fixed array (possible CPUs x
// DETAIL_SLOTS) and do not grow with pids at all.
func TestChurnStaysBounded(t *testing.T) {
	if !churnGenerate(1, 10, time.Now()).Generate.DefaultAction.Kills() {
		t.Fatal("the churn's signal must be one whose default kills (the re-raise table keeps only those)")
	}
	empty := t.TempDir() // a /proc, a cgroup hierarchy with nothing in it

	t.Run("pending tracker", func(t *testing.T) {
		k := newTracker(0)
		k.procRoot = empty
		now := time.Now()
		boot := now.UnixNano()
		k.boot = func() int64 { return boot }
		peak := 0
		for i := uint32(1); i <= churnProcesses; i++ {
			k.observe(churnGenerate(i, 10, now))
			if i%2 == 0 {
				k.observe(churnExit(i, now))
			}
			peak = max(peak, k.n, len(k.queues), len(k.perPID))
		}
		if peak > MaxTracked {
			t.Errorf("tracker held %d signals, bound MaxTracked %d", peak, MaxTracked)
		}
		if k.n == 0 {
			t.Error("nothing tracked: the churn did not reach the tracker")
		}
		// The processes are gone (nothing in the empty /proc): two sweeps
		// a period apart forget what their exits did not.
		for j := 1; j <= 2; j++ {
			boot += int64(2 * k.period())
			must(t, k.sweep(now.Add(time.Duration(j)*2*k.period()), func(*Event) error { return nil }))
		}
		if k.n != 0 || len(k.queues) != 0 || len(k.perPID) != 0 {
			t.Errorf("after the sweeps %d signals (%d queues, %d processes) still tracked of gone processes", k.n, len(k.queues), len(k.perPID))
		}
	})

	t.Run("re-raise table", func(t *testing.T) {
		r := newReraises()
		now := time.Now()
		peak := 0
		for i := uint32(1); i <= churnProcesses; i++ {
			r.observe(churnGenerate(i, 1, now))
			if i%2 == 0 {
				r.observe(churnExit(i, now))
			}
			peak = max(peak, len(r.index), r.used)
		}
		if peak > MaxReraiseTracked {
			t.Errorf("re-raise table held %d entries, bound MaxReraiseTracked %d", peak, MaxReraiseTracked)
		}
		if len(r.index) == 0 {
			t.Error("nothing remembered: the churn did not reach the table")
		}
	})

	t.Run("Go notify-mask cache", func(t *testing.T) {
		m := newGoMarker()
		m.procRoot = empty
		now := time.Now()
		peak := 0
		for i := uint32(1); i <= churnProcesses; i++ {
			m.lookup(i, now)
			if i%2 == 0 {
				m.forget(churnExit(i, now))
			}
			peak = max(peak, len(m.procs))
		}
		if peak > maxGoProcs {
			t.Errorf("Go cache held %d processes, bound maxGoProcs %d", peak, maxGoProcs)
		}
		if peak == 0 {
			t.Error("nothing cached: the churn did not reach the cache")
		}
	})

	t.Run("cgroup paths", func(t *testing.T) {
		// A cgroup per process (a systemd scope per cron job does that).
		c := cgroupTable{root: empty, looked: true, noHandle: true}
		peak := 0
		for i := uint64(2); i < churnProcesses+2; i++ {
			c.lookup(i)
			peak = max(peak, len(c.byID))
		}
		if peak > maxCgroups {
			t.Errorf("cgroup table held %d ids, bound maxCgroups %d", peak, maxCgroups)
		}
		if peak == 0 {
			t.Error("nothing cached: the churn did not reach the table")
		}
	})

	t.Run("memory cgroup names", func(t *testing.T) {
		c := cgroupNames{root: empty, looked: true}
		peak := 0
		for i := uint64(2); i < churnProcesses+2; i++ {
			c.path(i)
			peak = max(peak, len(c.paths))
		}
		if peak > maxCgroupNames {
			t.Errorf("memory cgroup names held %d ids, bound maxCgroupNames %d", peak, maxCgroupNames)
		}
		if peak == 0 {
			t.Error("nothing cached: the churn did not reach the names")
		}
	})
}
