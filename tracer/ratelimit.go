package tracer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sigtrace/sigtrace/signals"
)

// RateLimit summarises repeated traffic, so that a storm (any user can
// send a million SIG_IGN signals a second, Go programs preempt their own
// threads with SIGURG, every exiting child sends SIGCHLD) cannot drown
// what matters: per key (sender, target, signal, and what the kernel and
// the receiver made of it: result, disposition, blocked), the first Burst
// generate events are handed over in full, then one per Interval; the
// rest are counted in the kernel, with no ring copy, and handed over as
// exact count events (type count) every SummaryEvery and when Run ends.
//
// The delivery of a signal summarised when sent is summarised too (its
// own count events, type deliver), and only that one: a delivery in full
// always answers a generate in full, which latency_ns joins it to. A
// signal that may kill (SIGKILL, or a default action that kills with no
// handler) is never summarised, nor its delivery, nor exits and pending
// events: a death and the signal that caused it are always in full.
type RateLimit struct {
	Burst    int
	Interval time.Duration
	// SummaryEvery is how often count events are written; 0:
	// DefaultSummaryEvery.
	SummaryEvery time.Duration
}

const (
	// DefaultRateBurst and DefaultRateInterval are record's and trace's
	// default: 10 events of a key in full, then one every 6 s (10 a
	// minute). A key that repeats steadily (a Go program's SIGURG, a
	// health check's SIGUSR1) then costs 14,400 full lines a day at most,
	// and its count lines.
	DefaultRateBurst    = 10
	DefaultRateInterval = 6 * time.Second
	DefaultSummaryEvery = 10 * time.Second
	// MaxRateKeys is how many keys the kernel keeps a rate for; a key
	// the map has no room for is not summarised.
	MaxRateKeys = int(sigtraceRateLimitsMAX_RATE_KEYS)
	// rateIdle is how many summaries a key must go unchanged, and its
	// burst be back, before it is forgotten (room for new keys).
	rateIdle = 6
)

// Enabled reports whether the limit applies.
func (r RateLimit) Enabled() bool { return r.Burst > 0 && r.Interval > 0 }

func (r RateLimit) check() error {
	switch {
	case r.Burst < 0 || r.Interval < 0 || r.SummaryEvery < 0:
		return errors.New("rate limit: burst, interval and summary period must not be negative")
	case (r.Burst > 0) != (r.Interval > 0):
		return errors.New("rate limit: a burst needs an interval and the other way round")
	}
	return nil
}

// rateSummary turns the kernel's per-key counts into count events. The
// kernel's counts only grow; what was written of each is remembered, so a
// count event holds exactly the events summarised since the one before.
type rateSummary struct {
	every time.Duration
	next  time.Time
	keys  map[sigtraceRateKey]*rateSeen
	ev    Event
}

type rateSeen struct {
	written uint64 // of the kernel's count
	idle    int    // summaries in a row with nothing new
}

func newRateSummary(r RateLimit) *rateSummary {
	if !r.Enabled() {
		return nil
	}
	every := r.SummaryEvery
	if every <= 0 {
		every = DefaultSummaryEvery
	}
	return &rateSummary{every: every, keys: map[sigtraceRateKey]*rateSeen{}}
}

// due is when the next summary is: the reader wakes for it.
func (s *rateSummary) due(now time.Time) time.Time {
	if s.next.IsZero() {
		s.next = now.Add(s.every)
	}
	return s.next
}

// summarise hands over a count event per key with events summarised since
// the last summary, when one is due or final (Run ends: the programs no
// longer count). It forgets keys idle for rateIdle summaries whose burst
// is back, so the map has room for new ones: such a key's next event is
// copied in full, never counted, so forgetting it loses no count.
func (t *Tracer) summarise(now time.Time, h Handler, final bool) error {
	s := t.sum
	if s == nil || (!final && now.Before(s.due(now))) {
		return nil
	}
	s.next = now.Add(s.every)
	bootNow := t.dec.clock.bootNs(now)
	var (
		key   sigtraceRateKey
		val   sigtraceRateVal
		stale []sigtraceRateKey
		iter  = t.objs.RateKeys.Iterate()
	)
	for iter.Next(&key, &val) {
		seen := s.keys[key]
		if seen == nil {
			seen = &rateSeen{}
			s.keys[key] = seen
		}
		if n := val.Summarised - seen.written; n > 0 {
			seen.written, seen.idle = val.Summarised, 0
			if err := h(s.countEvent(now, &key, &val, n)); err != nil {
				return err
			}
			continue
		}
		if seen.idle++; seen.idle >= rateIdle && int64(val.Tat) < bootNow {
			stale = append(stale, key)
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("reading the kernel's rate counts: %w", err)
	}
	for _, k := range stale {
		// Deleted while the kernel may look it up: that CPU updates an
		// element on its way out, and the event it has is copied
		// (its burst was back), not counted.
		_ = t.objs.RateKeys.Delete(&k)
		delete(s.keys, k)
	}
	return nil
}

// countEvent is the count event of n summarised events of one key. Its
// keys are fields of the events it stands for, by their JSON names.
func (s *rateSummary) countEvent(now time.Time, k *sigtraceRateKey, v *sigtraceRateVal, n uint64) *Event {
	ev := &s.ev
	disp := Disposition(k.Disp)
	verdict := Judge(VerdictInput{Sig: int(k.Sig), Result: Result(k.Result), Disposition: disp, Blocked: k.Blocked != 0})
	var scomm, tcomm [16]byte
	copyComm(&scomm, &v.SenderComm)
	copyComm(&tcomm, &v.TargetComm)
	if k.Result == uint8(sigtraceRateLimitsRK_DELIVER) {
		// The deliveries of signals summarised when sent.
		*ev = Event{Type: TypeCount, Time: now, Count: Count{N: n, IntervalEnd: now, Keys: []CountValue{
			{Field: "type", Value: jsonString(TypeDeliver.String())},
			{Field: "signal.num", Value: strconv.AppendInt(nil, int64(k.Sig), 10)},
			{Field: "target.pid", Value: strconv.AppendUint(nil, uint64(k.TargetPid), 10)},
			{Field: "target.comm", Value: jsonString(string(CommBytes(tcomm[:])))},
			{Field: "target.uid", Value: strconv.AppendUint(nil, uint64(v.TargetUid), 10)},
			{Field: "disposition", Value: jsonString(disp.String())},
		}}}
		return ev
	}
	keys := []CountValue{
		{Field: "type", Value: jsonString(TypeGenerate.String())},
		{Field: "signal.num", Value: strconv.AppendInt(nil, int64(k.Sig), 10)},
	}
	// A parent's SIGCHLDs are counted together, whichever child sent
	// each (bpf/sigtrace.c): no sender pid, and the first one's name.
	if k.SenderPid != 0 {
		keys = append(keys, CountValue{Field: "sender.pid", Value: strconv.AppendUint(nil, uint64(k.SenderPid), 10)})
	}
	*ev = Event{Type: TypeCount, Time: now, Count: Count{N: n, IntervalEnd: now, Keys: append(keys, []CountValue{
		{Field: "sender.comm", Value: jsonString(string(CommBytes(scomm[:])))},
		{Field: "sender.uid", Value: strconv.AppendUint(nil, uint64(v.SenderUid), 10)},
		{Field: "target.pid", Value: strconv.AppendUint(nil, uint64(k.TargetPid), 10)},
		{Field: "target.comm", Value: jsonString(string(CommBytes(tcomm[:])))},
		{Field: "target.uid", Value: strconv.AppendUint(nil, uint64(v.TargetUid), 10)},
		{Field: "result", Value: jsonString(Result(k.Result).String())},
		{Field: "disposition", Value: jsonString(disp.String())},
		{Field: "verdict", Value: jsonString(verdict.Kind.String())},
	}...)}}
	return ev
}

// jsonString quotes s as JSON does (hostile comms included: control
// bytes escaped, invalid UTF-8 replaced).
func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// Like fills ev with the event a count of the rate limit stands for, from
// its keys (the fields countEvent writes), and reports whether the keys
// describe one: then every field of those events reads the same of ev
// (signal.name from signal.num, fatal from verdict), and a count of them
// by any such field is exact. Fields the keys do not hold (argv, a unit)
// read as absent.
func (c *Count) Like(ev *Event) bool {
	*ev = Event{Time: c.IntervalEnd}
	var typ, result, disp, verdict string
	var ok = true
	str := func(v []byte) string {
		var s string
		if json.Unmarshal(v, &s) != nil {
			ok = false
		}
		return s
	}
	num := func(v []byte) uint64 {
		n, err := strconv.ParseUint(string(v), 10, 32)
		if err != nil {
			ok = false
		}
		return n
	}
	for _, k := range c.Keys {
		switch k.Field {
		case "type":
			typ = str(k.Value)
		case "signal.num":
			ev.Sig = int(num(k.Value))
		case "sender.pid":
			ev.Generate.Sender.PID = uint32(num(k.Value))
			ev.Generate.Sender.TID = ev.Generate.Sender.PID
		case "sender.comm":
			copy(ev.Generate.Sender.Comm[:15], str(k.Value))
			ev.Generate.Sender.ThreadComm = ev.Generate.Sender.Comm
		case "sender.uid":
			ev.Generate.Sender.UID, ev.Generate.Sender.HasUID = uint32(num(k.Value)), true
		case "target.pid":
			ev.Target.PID = uint32(num(k.Value))
			ev.Target.TID = ev.Target.PID
		case "target.comm":
			copy(ev.Target.Comm[:15], str(k.Value))
			ev.Target.ThreadComm = ev.Target.Comm
		case "target.uid":
			ev.Target.UID, ev.Target.HasUID = uint32(num(k.Value)), true
		case "result":
			result = str(k.Value)
		case "disposition":
			disp = str(k.Value)
		case "verdict":
			verdict = str(k.Value)
		default:
			return false // a count of other fields (--count-by)
		}
	}
	d, dok := nameIndex(disp, dispNames[:])
	switch {
	case !ok || !dok || ev.Sig == 0:
		return false
	case typ == TypeDeliver.String():
		ev.Type, ev.Scope = TypeDeliver, ScopeThread
		ev.Deliver.Disposition = Disposition(d)
		ev.Deliver.DefaultAction = signals.DefaultAction(ev.Sig)
		return true
	case typ != TypeGenerate.String():
		return false
	}
	r, rok := nameIndex(result, resultNames[:])
	v, vok := nameIndex(verdict, verdictNames[:])
	if !rok || !vok {
		return false
	}
	ev.Type = TypeGenerate
	g := &ev.Generate
	g.Result, g.Disposition = Result(r), Disposition(d)
	g.DefaultAction = signals.DefaultAction(ev.Sig)
	g.Verdict = Judge(VerdictInput{Sig: ev.Sig, Result: g.Result, Disposition: g.Disposition})
	if g.Kind != VerdictKind(v) { // blocked: the key said so through the verdict
		g.Blocked = true
		g.Verdict = Judge(VerdictInput{Sig: ev.Sig, Result: g.Result, Disposition: g.Disposition, Blocked: true})
	}
	return g.Kind == VerdictKind(v)
}

func nameIndex(name string, names []string) (int, bool) {
	for i, n := range names {
		if n == name {
			return i, true
		}
	}
	return 0, false
}
