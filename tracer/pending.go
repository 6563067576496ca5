package tracer

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// MaxTracked bounds the signals the tracer remembers between generation
// and delivery (for latency_ns and pending events): about 100 bytes each,
// so at most ~6.5 MB. Past it new signals are not tracked (and counted).
const MaxTracked = 65536

// pendingKey names a signal queue: a thread's private one or its process's
// shared one (kernel/signal.c: t->pending and t->signal->shared_pending).
// One integer (id<<32 | thread<<8 | sig), so the map takes Go's fast
// 64-bit key path instead of hashing a struct: the tracker does a lookup
// per generate and per deliver.
type pendingKey uint64

func makeKey(id uint32, sig int, thread bool) pendingKey {
	k := pendingKey(id)<<32 | pendingKey(uint8(sig))
	if thread {
		k |= 1 << 8
	}
	return k
}

func (k pendingKey) sig() int     { return int(uint8(k)) }
func (k pendingKey) thread() bool { return k&(1<<8) != 0 }

// pendingEntry is kept small (and the queue below under the 128 bytes past
// which Go stores map values out of line), so tracking a signal allocates
// nothing once the map has grown.
type pendingEntry struct {
	gen      int64 // CLOCK_BOOTTIME ns of the generate event (Event.bootNs)
	pid, tid uint32
	uid      uint32
	comm     [16]byte
	blocked  bool
	reported bool
	// gone: a sweep found the kernel no longer has it pending (or the
	// process gone). It is forgotten at the next sweep, not at once: its
	// deliver event may still be in the ring, behind the reader.
	gone bool
	// What the signal does once unblocked, judged at generation.
	whenUnblocked Unblocked
}

// queue holds the instances of one signal pending on one queue: one for a
// standard signal, possibly more for a real-time one.
type queue struct {
	first pendingEntry
	more  []pendingEntry
}

func (q *queue) len() int { return 1 + len(q.more) }

// tracker joins deliver events to the generate events they answer, and
// finds signals that stay pending. It runs on the reader's goroutine.
type tracker struct {
	queues map[pendingKey]queue
	// perPID counts each process's queues in queues, so that an exit
	// (forget) looks up the process's keys instead of scanning the table:
	// under pid churn every exit would otherwise cost up to MaxTracked.
	perPID    map[uint32]int
	n         int
	untracked uint64
	after     time.Duration // 0: no pending events
	lastSweep time.Time
	procRoot  string
	boot      func() int64 // CLOCK_BOOTTIME ns, the clock of gen
}

func newTracker(after time.Duration) *tracker {
	return &tracker{queues: map[pendingKey]queue{}, perPID: map[uint32]int{}, after: after, procRoot: "/proc", boot: bootNs}
}

// observe updates the tracker with ev and fills ev.LatencyNs for a deliver
// event that answers a tracked generate event.
func (k *tracker) observe(ev *Event) {
	switch ev.Type {
	case TypeGenerate:
		// Only signals the kernel queued: the rest were discarded
		// (ignored) or merged into one already tracked.
		if ev.Generate.Result != ResultDelivered && ev.Generate.Result != ResultLoseInfo {
			return
		}
		if k.n >= MaxTracked {
			k.untracked++
			return
		}
		key := makeKey(ev.Target.PID, ev.Sig, false)
		if ev.Scope == ScopeThread {
			key = makeKey(ev.Target.TID, ev.Sig, true)
		}
		e := pendingEntry{gen: ev.bootNs, pid: ev.Target.PID, tid: ev.Target.TID,
			uid: ev.Target.UID, comm: ev.Target.Comm, blocked: ev.Generate.Blocked, whenUnblocked: ev.Generate.WhenUnblocked}
		q, ok := k.queues[key]
		switch {
		case !ok:
			k.queues[key] = queue{first: e}
			k.perPID[e.pid]++
		case ev.Sig < 32:
			return // standard signals coalesce: one pending instance per queue
		default:
			q.more = append(q.more, e)
			k.queues[key] = q
		}
		k.n++
	case TypeDeliver:
		if ev.Deliver.GroupExit {
			// The group dies of ExitSignal: nothing of it will be delivered.
			k.forget(ev.Target.PID)
			return
		}
		// dequeue_signal() takes the thread's own queue first.
		for _, key := range [2]pendingKey{
			makeKey(ev.Target.TID, ev.Sig, true),
			makeKey(ev.Target.PID, ev.Sig, false),
		} {
			q, ok := k.queues[key]
			if !ok {
				continue
			}
			// From the kernel's stamps: a wall clock stepped in between
			// (clock.go) changes neither.
			ev.Deliver.LatencyNs = ev.bootNs - q.first.gen
			ev.Deliver.HasLatency = true
			if len(q.more) == 0 {
				k.drop(key, q.first.pid)
			} else {
				q.first, q.more = q.more[0], q.more[1:]
				k.queues[key] = q
			}
			k.n--
			return
		}
	case TypeExit:
		k.forget(ev.Target.PID)
	}
}

// forget drops everything queued for a process and its threads: its own
// queues and its main thread's by key, other threads' (rare) by a scan.
func (k *tracker) forget(tgid uint32) {
	if k.perPID[tgid] == 0 {
		return
	}
	for sig := 1; sig <= 64; sig++ {
		for _, key := range [2]pendingKey{makeKey(tgid, sig, false), makeKey(tgid, sig, true)} {
			if q, ok := k.queues[key]; ok && q.first.pid == tgid {
				k.n -= q.len()
				k.drop(key, tgid)
			}
		}
	}
	if k.perPID[tgid] == 0 {
		return
	}
	for key, q := range k.queues {
		if q.first.pid == tgid {
			k.n -= q.len()
			k.drop(key, tgid)
		}
	}
}

// drop deletes a queue of process pid.
func (k *tracker) drop(key pendingKey, pid uint32) {
	delete(k.queues, key)
	if k.perPID[pid]--; k.perPID[pid] <= 0 {
		delete(k.perPID, pid)
	}
}

func (k *tracker) period() time.Duration {
	if k.after <= 0 {
		return 10 * time.Second
	}
	return k.after
}

func (k *tracker) sweepEvery() time.Duration { return min(k.period()/4, time.Second) }

// nextSweep is when a sweep has work to do; zero when nothing is tracked,
// so an idle reader can wait for the next record with no deadline.
func (k *tracker) nextSweep() time.Time {
	if k.n == 0 {
		return time.Time{}
	}
	return k.lastSweep.Add(k.sweepEvery())
}

// sweep runs on the reader's ticks. It reports signals pending longer than
// k.after (once each), and forgets those whose process is gone or that the
// kernel no longer has pending (delivered while deliver events were
// filtered out), so memory stays bounded by what is really pending.
func (k *tracker) sweep(now time.Time, emit func(*Event) error) error {
	if now.Sub(k.lastSweep) < k.sweepEvery() {
		return nil
	}
	k.lastSweep = now
	bootNow := k.boot()
	for key, q := range k.queues {
		e := q.first
		age := time.Duration(bootNow - e.gen)
		if age < k.period() {
			continue
		}
		state, pending, blocked, ok := k.procSignalState(e.pid, e.tid, key)
		if !ok || !pending {
			if e.gone {
				k.n -= q.len()
				k.drop(key, e.pid)
			} else {
				q.first.gone = true
				k.queues[key] = q
			}
			continue
		}
		if k.after <= 0 || e.reported {
			continue
		}
		q.first.reported = true
		k.queues[key] = q
		ev := Event{
			Type:    TypePending,
			Time:    now,
			Sig:     key.sig(),
			Target:  Process{PID: e.pid, TID: e.tid, UID: e.uid, HasUID: true, Comm: e.comm},
			Scope:   ScopeProcess,
			Pending: Pending{Ns: age.Nanoseconds()},
		}
		if key.thread() {
			ev.Scope = ScopeThread
		}
		ev.Pending.Reason = pendingReason(state, blocked || e.blocked)
		if ev.Pending.Reason == PendingBlocked {
			ev.Pending.WhenUnblocked = e.whenUnblocked
		}
		if ev.Pending.Reason == PendingUninterruptible {
			// Read right after the state that said D: "waits in
			// D" alone does not tell a stuck NFS mount from a
			// vfork() parent or a disk flush.
			ev.Pending.Wait = k.waitSite(e.pid, e.tid)
		}
		if err := emit(&ev); err != nil {
			return err
		}
	}
	return nil
}

// PendingReason says why a signal is not delivered yet.
type PendingReason uint8

const (
	PendingUnknown PendingReason = iota
	PendingBlocked
	PendingStopped
	PendingTraced
	PendingUninterruptible
)

var pendingReasonNames = [...]string{"unknown", "blocked", "stopped", "traced", "uninterruptible"}

func (r PendingReason) String() string { return pendingReasonNames[r] }

// pendingReason: a blocked signal waits for the mask whatever the task
// does, so the mask comes first: a blocked signal at a task that sleeps in
// D state stays pending after it wakes, and naming the sleep would promise
// a delivery that will not come. Otherwise a stopped or traced task takes
// no signal until continued (wants_signal()), and a task in D state not
// until it wakes.
func pendingReason(state byte, blocked bool) PendingReason {
	if blocked {
		return PendingBlocked
	}
	switch state {
	case 'T':
		return PendingStopped
	case 't':
		return PendingTraced
	case 'D':
		return PendingUninterruptible
	}
	return PendingUnknown
}

// procSignalState reads the task's state letter and whether sig is still
// pending (SigPnd for a thread's queue, ShdPnd for the process's) and
// blocked (SigBlk), from /proc/PID/task/TID/{stat,status}.
func (k *tracker) procSignalState(pid, tid uint32, key pendingKey) (state byte, pending, blocked, ok bool) {
	dir := k.procRoot + "/" + strconv.FormatUint(uint64(pid), 10) + "/task/" + strconv.FormatUint(uint64(tid), 10)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, false, false, false
	}
	// The state follows the comm, which is in parentheses and may hold
	// anything: take the last ')'.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		state = stat[i+2]
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return 0, false, false, false
	}
	bit := uint64(1) << (key.sig() - 1)
	field := "ShdPnd:"
	if key.thread() {
		field = "SigPnd:"
	}
	pnd, okP := statusMask(status, field)
	blk, _ := statusMask(status, "SigBlk:")
	return state, okP && pnd&bit != 0, blk&bit != 0, true
}

func statusMask(status []byte, field string) (uint64, bool) {
	i := bytes.Index(status, []byte(field))
	if i < 0 {
		return 0, false
	}
	rest := status[i+len(field):]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	v, err := strconv.ParseUint(string(bytes.TrimSpace(rest)), 16, 64)
	return v, err == nil
}
