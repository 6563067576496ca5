package tracer

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// countOf sums the count events of the signals sig to pid: a Go helper's
// runtime also preempts its threads with SIGURG, summarised too.
func countOf(evs []Event, pid int, sig syscall.Signal) uint64 {
	var n uint64
	for i := range evs {
		keys := map[string]string{}
		for _, k := range evs[i].Count.Keys {
			keys[k.Field] = string(k.Value)
		}
		if keys["target.pid"] == strconv.Itoa(pid) && keys["signal.num"] == strconv.Itoa(int(sig)) {
			n += evs[i].Count.N
		}
	}
	return n
}

// TestRateLimitSummarises: beyond a key's burst, a storm of ignored
// signals is counted in the kernel and handed over as count events that
// add up, with the events kept in full, to exactly what was sent; a signal
// that may kill (blocked, its default kills) is never summarised, however
// often it repeats.
func TestRateLimitSummarises(t *testing.T) {
	const burst, storm, blockedSends = 5, 3000, 40
	sink := spawn(t, "daemon", withEnv("SIGTRACE_IGN="+sigList(syscall.SIGUSR1)))
	blocked := spawn(t, "exec", withEnv("SIGTRACE_BLOCK="+sigList(syscall.SIGTERM)))
	tr, col := startTracer(t, Options{
		TargetPIDs: []uint32{uint32(sink.pid()), uint32(blocked.pid()), uint32(os.Getpid())},
		NoDeliver:  true,
		// An hour between events once the burst is spent: what is not
		// in the burst is counted, whatever the machine's speed.
		RateLimit: RateLimit{Burst: burst, Interval: time.Hour, SummaryEvery: 100 * time.Millisecond},
	})
	for range storm {
		if err := syscall.Kill(sink.pid(), syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
	}
	for range blockedSends {
		if err := syscall.Kill(blocked.pid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	end := barrier(t, col, 0)
	self := strconv.Itoa(os.Getpid())
	isCount := func(e *Event) bool { return e.Type == TypeCount }
	// The counts come with the next summary: wait for them to add up.
	deadline := time.Now().Add(waitTimeout())
	var counted uint64
	for {
		counted = countOf(col.since(0, isCount), sink.pid(), syscall.SIGUSR1)
		if counted >= storm-burst || time.Now().After(deadline) {
			break
		}
		col.waitFor(t, col.len(), "count", isCount)
	}
	full := len(col.since(0, genTo(sink.pid(), syscall.SIGUSR1)))
	if full != burst || counted != storm-burst {
		t.Errorf("%d SIGUSR1 events in full and %d counted, want %d and %d (of %d sent)", full, counted, burst, storm-burst, storm)
	}
	if got := len(col.since(0, genTo(blocked.pid(), syscall.SIGTERM))); got != blockedSends {
		t.Errorf("%d blocked SIGTERM events, want all %d: a signal that may kill is never summarised", got, blockedSends)
	}
	if n := countOf(col.since(0, isCount), blocked.pid(), syscall.SIGTERM); n != 0 {
		t.Errorf("%d blocked SIGTERMs counted, want none", n)
	}
	for _, ev := range col.since(0, isCount) {
		keys := map[string]string{}
		for _, k := range ev.Count.Keys {
			keys[k.Field] = string(k.Value)
		}
		if keys["target.pid"] != strconv.Itoa(sink.pid()) || keys["signal.num"] != "10" {
			continue
		}
		want := map[string]string{"type": `"generate"`, "signal.num": "10", "sender.pid": self,
			"result": `"ignored"`, "disposition": `"ignore"`, "verdict": `"ignored"`}
		for f, v := range want {
			if keys[f] != v {
				t.Errorf("count event %s = %s, want %s (keys %v)", f, keys[f], v, keys)
			}
		}
	}
	st, err := tr.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Summarised < storm-burst {
		t.Errorf("the kernel summarised %d, want at least %d", st.Summarised, storm-burst)
	}
	_ = end
}

// TestRateLimitPairsDeliveries: a storm at a handler is summarised on both
// sides, and in pairs: the deliveries in full are those of the signals
// sent in full (which latency_ns joins them to), and the deliveries
// counted those of the signals counted.
func TestRateLimitPairsDeliveries(t *testing.T) {
	const burst, storm = 3, 100
	h := spawn(t, "daemon", withEnv("SIGTRACE_HANDLE="+sigList(syscall.SIGUSR2)))
	_, col := startTracer(t, Options{
		TargetPIDs: []uint32{uint32(h.pid())},
		RateLimit:  RateLimit{Burst: burst, Interval: time.Hour, SummaryEvery: 100 * time.Millisecond},
	})
	for i := range storm {
		if err := syscall.Kill(h.pid(), syscall.SIGUSR2); err != nil {
			t.Fatal(err)
		}
		// Taken before the next is sent, so each is queued, not merged
		// into one still pending (a round trip with the daemon does not
		// ensure it: another of its threads may take the signal later).
		waitNotPending(t, h.pid(), syscall.SIGUSR2)
		if !h.alive(t) {
			t.Fatalf("the handler died after %d", i)
		}
	}
	pid := strconv.Itoa(h.pid())
	queued := func(e *Event) bool {
		return genTo(h.pid(), syscall.SIGUSR2)(e) && e.Generate.Result == ResultDelivered
	}
	deliveries := func(e *Event) bool {
		return e.Type == TypeDeliver && e.Target.PID == uint32(h.pid()) && e.Sig == int(syscall.SIGUSR2)
	}
	countsOf := func(typ, result string) uint64 {
		var n uint64
		for _, ev := range col.since(0, func(e *Event) bool { return e.Type == TypeCount }) {
			keys := map[string]string{}
			for _, k := range ev.Count.Keys {
				keys[k.Field] = string(k.Value)
			}
			// SIGUSR2's alone: the daemon's Go runtime preempts its own
			// threads with SIGURG, summarised too.
			if keys["type"] == `"`+typ+`"` && keys["target.pid"] == pid && keys["signal.num"] == strconv.Itoa(int(syscall.SIGUSR2)) &&
				(result == "" || keys["result"] == `"`+result+`"`) {
				n += ev.Count.N
			}
		}
		return n
	}
	// Every queued signal is delivered: wait until both sides add up.
	deadline := time.Now().Add(waitTimeout())
	for {
		fullSent, fullTaken := len(col.since(0, queued)), len(col.since(0, deliveries))
		countSent, countTaken := countsOf("generate", "delivered"), countsOf("deliver", "")
		if fullSent == fullTaken && countSent == countTaken && countsOf("generate", "")+uint64(len(col.since(0, genTo(h.pid(), syscall.SIGUSR2)))) == storm {
			if countTaken == 0 {
				t.Errorf("no delivery was summarised (%d in full)", fullTaken)
			}
			for _, d := range col.since(0, deliveries) {
				if !d.Deliver.HasLatency {
					t.Errorf("a delivery in full answers no generate: %+v", d.Deliver)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sent in full %d (queued), taken in full %d; counted sent %d (queued), taken %d; %d generate events in all",
				fullSent, fullTaken, countSent, countTaken, countsOf("generate", "")+uint64(len(col.since(0, genTo(h.pid(), syscall.SIGUSR2)))))
		}
		// The next event, or the next summary's (every 100 ms).
		col.waitChange(200 * time.Millisecond)
	}
}

// waitNotPending waits (bounded) until sig is pending neither for the
// process nor for its main thread (/proc/PID/status ShdPnd, SigPnd).
func waitNotPending(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	bit := uint64(1) << (sig - 1)
	deadline := time.Now().Add(waitTimeout())
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			t.Fatal(err)
		}
		pending := uint64(0)
		for _, line := range strings.Split(string(b), "\n") {
			for _, k := range []string{"ShdPnd:", "SigPnd:"} {
				if v, ok := strings.CutPrefix(line, k); ok {
					n, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
					pending |= n
				}
			}
		}
		if pending&bit == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v still pending for %d after %v", sig, pid, waitTimeout())
		}
		time.Sleep(time.Millisecond)
	}
}
