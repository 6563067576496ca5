package tracer

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
)

// Options choose what the kernel side records. Everything here is applied
// in BPF, before a ring-buffer reservation.
type Options struct {
	Signals    []int    // only these signals (empty: all)
	SenderPIDs []uint32 // sender tgid is one of these
	TargetPIDs []uint32 // target tgid is one of these
	AnyPIDs    []uint32 // sender or target tgid is one of these
	Comms      []string // sender or target comm is one of these
	SenderUIDs []uint32 // sender's uid (a delivery's: si_uid; an exit's killer's) is one of these
	TargetUIDs []uint32 // target's uid is one of these
	NoDeliver  bool     // skip signal_deliver events
	NoExit     bool     // skip exit events (and the killer bookkeeping)
	// NoGenerate skips generate events (a signal sent): only with NoExit,
	// whose killer is joined from them, and no PendingAfter or counting.
	NoGenerate bool
	// HideSelf drops the signals this process sends itself (the Go
	// runtime preempts a busy goroutine with SIGURG to its own thread);
	// signals other processes send it are still reported.
	HideSelf bool
	// PendingAfter, when set, reports a signal still pending this long
	// after it was generated (needs deliver events).
	PendingAfter time.Duration

	RingSize    int // bytes, a power of two multiple of the page size; 0: DefaultRingSize
	WakeupBytes int // wake the reader once this much is unread; 0: RingSize/8
	// CountKeys, when set, counts generate events by these fields in a
	// kernel map (Tracer.Counts) instead of handing them over, and
	// deliveries too unless NoDeliver (by the target's fields only), but
	// for SIGKILL's, which come as events, as exits do; needs no
	// PendingAfter.
	CountKeys CountKeys
	// Reserve is the ring space kept for vital records (a signal that
	// kills now, its delivery, the exit): other records are shed once
	// less would be left free. 0: RingSize/DefaultReserveDiv; <0: none.
	Reserve int
	// RateLimit summarises repeated traffic: see RateLimit. Zero: every
	// event is handed over.
	RateLimit RateLimit
	Poll      time.Duration // reader deadline; 0: DefaultPoll

	// History: which disposition changes to report (disposition events).
	// HistoryOff (the zero value) attaches none of their programs.
	History History

	// Debug keeps the verifier's full log in load errors.
	Debug bool

	// historyGap: why the sigaction program could not be loaded (load);
	// loadKprobe loads its kprobe form, for a kernel that loaded the
	// fentry one but cannot attach it.
	historyGap string
	loadKprobe func() (*ebpf.Program, error)
}

const (
	// DefaultRingSize holds ~30k full records: at 400k signals/s that is
	// ~75 ms of slack for a reader that is descheduled.
	DefaultRingSize = 16 << 20
	// DefaultReserveDiv: by default an eighth of the ring is kept for
	// vital records, ~2,500 deaths with their killers in a 16 MiB ring;
	// each uid may use a quarter of it per second.
	DefaultReserveDiv = 8
	reservePerUIDDiv  = 4
	// DefaultPoll bounds how stale output can be while events flow, since
	// the kernel side only wakes a busy reader in batches. After a poll
	// with nothing read, the reader waits for the next record with no
	// deadline, and that record wakes it.
	DefaultPoll = 50 * time.Millisecond
	// MaxComms is the size of the kernel's comm filter map.
	MaxComms = int(sigtraceLimitsMAX_COMMS)
	// MaxPIDs is the size of the kernel's pid filter map.
	MaxPIDs = int(sigtraceLimitsMAX_PIDS)
	// MaxUIDs is the size of the kernel's uid filter map.
	MaxUIDs = int(sigtraceLimitsMAX_UIDS)
)

// pid_filter value bits, from bpf/sigtrace.h.
const (
	pidSender = uint8(sigtracePidBitsPID_SENDER)
	pidTarget = uint8(sigtracePidBitsPID_TARGET)
	pidAny    = uint8(sigtracePidBitsPID_ANY)
)

// Tracer owns the loaded programs, their links and the ring-buffer reader.
type Tracer struct {
	objs  sigtraceObjects
	links []link.Link
	rd    *ringbuf.Reader
	poll  time.Duration
	dec   *Decoder
	trk   *tracker
	rr    *reraises
	gom   *goMarker
	sleep *sleepFlag // nil: always poll on a deadline
	// counting: generate events are counted in the kernel (CountKeys).
	counting bool
	// sum writes what the rate limit counted as count events.
	sum *rateSummary
	// pending: --pending-after reads tasks' kernel stacks (ReadingNeeds).
	pending bool
	// ownsObjs: Close closes objs (false only for lifecycle tests that
	// load the programs once and attach them many times).
	ownsObjs bool

	// linkMu guards links: Run detaches them as it stops (lifecycle.go),
	// Close from any goroutine.
	linkMu sync.Mutex
	// read: records read from the ring, which a drained stop compares
	// with the kernel's count of records submitted (Run's goroutine).
	read uint64
	// submittedAtStart: STAT_SUBMITTED when this tracer started (not 0
	// only when the programs were loaded for an earlier one).
	submittedAtStart uint64
	// missedAtStart: the programs' recursion misses when this tracer
	// started (Stats.Missed counts from there).
	missedAtStart uint64
	closeOnce     sync.Once
	// historyGap: why sigaction changes are not seen (HistoryGap).
	historyGap string
	loadKprobe func() (*ebpf.Program, error)
}

// New loads the BPF programs with the filters in opts and attaches them.
// Once it returns, signals are being recorded.
func New(opts Options) (*Tracer, error) {
	objs, err := load(&opts)
	if err != nil {
		return nil, err
	}
	return start(objs, &opts, true)
}

// load checks the kernel and loads the programs and maps, configured by
// opts: the verifier's part, which takes most of New's time.
func load(opts *Options) (*sigtraceObjects, error) {
	if err := CheckPrivileges(); err != nil {
		return nil, err
	}
	if err := CheckBTF(); err != nil {
		return nil, err
	}
	// Before 5.11 BPF maps are charged to RLIMIT_MEMLOCK, which the 16 MiB
	// ring alone exceeds (Debian 11's 5.10); from 5.11 on memory is
	// memcg-accounted and this does nothing.
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("raising the locked-memory limit that this kernel (before 5.11) charges BPF maps to: %w (try 'ulimit -l unlimited')", err)
	}
	spec, err := loadSigtrace()
	if err != nil {
		return nil, fmt.Errorf("reading embedded BPF object: %w", err)
	}
	if err := configure(spec, opts); err != nil {
		return nil, err
	}

	if opts.CountKeys != 0 && opts.PendingAfter > 0 {
		return nil, fmt.Errorf("counting in the kernel hands over no generate or deliver events: pending signals cannot be found from them (no PendingAfter)")
	}
	if opts.CountKeys&(CountSenderPID|CountSenderUID|CountSenderComm) != 0 && !opts.NoDeliver {
		return nil, fmt.Errorf("counting deliveries in the kernel: a delivery has no sender keys (NoDeliver, or count by the target's fields)")
	}
	if opts.CountKeys&^countAll != 0 {
		return nil, fmt.Errorf("unknown count keys %#x", uint32(opts.CountKeys&^countAll))
	}
	if err := opts.RateLimit.check(); err != nil {
		return nil, err
	}
	if opts.NoGenerate && (!opts.NoExit || opts.PendingAfter > 0 || opts.CountKeys != 0) {
		return nil, fmt.Errorf("leaving out generate events needs NoExit, and no PendingAfter or counting: exits and pending signals are found from them")
	}
	if opts.PendingAfter > 0 && opts.NoDeliver {
		return nil, fmt.Errorf("pending signals are found from deliver events: --pending-after cannot go with --no-deliver")
	}
	var objs sigtraceObjects
	gap, kp, err := loadObjects(spec, &objs, opts.History, opts.Debug)
	if err != nil {
		return nil, err
	}
	opts.historyGap, opts.loadKprobe = gap, kp
	return &objs, nil
}

// start attaches loaded programs and opens the reader: what New does once
// the programs passed the verifier (the expensive part, done once).
func start(objs *sigtraceObjects, opts *Options, owned bool) (*Tracer, error) {
	t := &Tracer{objs: *objs, poll: opts.Poll, dec: NewDecoder(), trk: newTracker(opts.PendingAfter), rr: newReraises(), gom: newGoMarker(),
		counting: opts.CountKeys != 0, pending: opts.PendingAfter > 0, ownsObjs: owned, sum: newRateSummary(opts.RateLimit)}
	if t.poll <= 0 {
		t.poll = DefaultPoll
	}
	if err := t.fillFilterMaps(opts); err != nil {
		t.Close()
		return nil, err
	}
	for _, p := range []struct {
		name string
		prog *ebpf.Program
	}{{"signal_generate", t.objs.OnGenerate}, {"signal_deliver", t.objs.OnDeliver}, {"sched_process_exit", t.objs.OnExit}} {
		l, err := link.AttachTracing(link.TracingOptions{Program: p.prog})
		if err != nil {
			t.Close()
			return nil, explainAttach(p.name, err)
		}
		t.links = append(t.links, l)
	}
	if opts.History != HistoryOff {
		t.historyGap, t.loadKprobe = opts.historyGap, opts.loadKprobe
		if err := t.attachHistory(); err != nil {
			t.Close()
			return nil, err
		}
		t.dec.sinceValid = t.historyGap == ""
	}
	rd, err := ringbuf.NewReader(t.objs.Events)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("opening ring buffer: %w", err)
	}
	t.rd = rd
	if !owned {
		st, err := t.Stats()
		if err != nil {
			t.Close()
			return nil, err
		}
		t.submittedAtStart = st.Submitted
		t.missedAtStart = t.recursionMisses()
	}
	t.sleep = mapSleepFlag(t.objs.ReaderState)
	// The prescan reads every Go program's notify mask for generate
	// events' verdicts: counting in the kernel hands over none.
	if !t.counting {
		t.gom.startPrescan()
	}
	return t, nil
}

func configure(spec *ebpf.CollectionSpec, opts *Options) error {
	ring := opts.RingSize
	if ring == 0 {
		ring = DefaultRingSize
	}
	if ring < 4096 || ring&(ring-1) != 0 {
		return fmt.Errorf("ring buffer size %d is not a power of two of at least 4096 bytes", ring)
	}
	wake := opts.WakeupBytes
	if wake <= 0 {
		wake = ring / 8
	}
	spec.Maps[sigtraceMapEvents].MaxEntries = uint32(ring)
	reserve := opts.Reserve
	switch {
	case reserve == 0:
		reserve = ring / DefaultReserveDiv
	case reserve < 0:
		reserve = 0
	case reserve >= ring:
		return fmt.Errorf("ring reserve of %d bytes does not fit a ring of %d", reserve, ring)
	}

	var mask uint64
	for _, s := range opts.Signals {
		if s < 1 || s > 64 {
			return fmt.Errorf("signal number %d out of range 1..64", s)
		}
		mask |= 1 << (s - 1)
	}
	if len(opts.Comms) > MaxComms {
		return fmt.Errorf("at most %d comm filters", MaxComms)
	}
	if n := len(opts.SenderPIDs) + len(opts.TargetPIDs) + len(opts.AnyPIDs); n > MaxPIDs {
		return fmt.Errorf("at most %d pid filters", MaxPIDs)
	}
	if n := len(opts.SenderUIDs) + len(opts.TargetUIDs); n > MaxUIDs {
		return fmt.Errorf("at most %d uid filters", MaxUIDs)
	}
	sets := []struct {
		name string
		val  any
	}{
		{sigtraceVarFilterSigmask, mask},
		{sigtraceVarFilterSenderPids, b2u8(len(opts.SenderPIDs) > 0)},
		{sigtraceVarFilterTargetPids, b2u8(len(opts.TargetPIDs) > 0)},
		{sigtraceVarFilterAnyPids, b2u8(len(opts.AnyPIDs) > 0)},
		{sigtraceVarFilterComms, b2u8(len(opts.Comms) > 0)},
		{sigtraceVarFilterSenderUids, b2u8(len(opts.SenderUIDs) > 0)},
		{sigtraceVarFilterTargetUids, b2u8(len(opts.TargetUIDs) > 0)},
		{sigtraceVarWantDeliver, b2u8(!opts.NoDeliver)},
		{sigtraceVarWantExit, b2u8(!opts.NoExit)},
		{sigtraceVarWantGenerate, b2u8(!opts.NoGenerate)},
		{sigtraceVarExitHasGroupDead, b2u8(ExitHasGroupDead())},
		{sigtraceVarWakeupBytes, uint64(wake)},
		{sigtraceVarCountKeys, uint32(opts.CountKeys)},
		{sigtraceVarRingBytes, uint64(ring)},
		{sigtraceVarRingReserve, uint64(reserve)},
		{sigtraceVarReservePerUid, uint64(reserve / reservePerUIDDiv)},
		{sigtraceVarSelfTgid, selfTgid(opts.HideSelf)},
		{sigtraceVarOomText, oomText()},
		{sigtraceVarRateIntervalNs, uint64(opts.RateLimit.Interval.Nanoseconds())},
		{sigtraceVarRateBurst, uint64(opts.RateLimit.Burst)},
		{sigtraceVarWantDisp, b2u8(opts.History != HistoryOff)},
		{sigtraceVarDispAll, b2u8(opts.History == HistoryAll)},
		{sigtraceVarDispSigmask, historyMask(opts.History, mask)},
	}
	for _, s := range sets {
		v, ok := spec.Variables[s.name]
		if !ok {
			return fmt.Errorf("BPF object has no variable %s", s.name)
		}
		if err := v.Set(s.val); err != nil {
			return fmt.Errorf("setting %s: %w", s.name, err)
		}
	}
	return nil
}

// ExitHasGroupDead reports whether the running kernel's sched_process_exit
// tracepoint passes group_dead (added in 6.x), read from the kernel's BTF
// typedef btf_trace_sched_process_exit: (void *, struct task_struct *[,
// bool]). Without it the BPF side uses signal->live instead.
func ExitHasGroupDead() bool {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return false
	}
	var td *btf.Typedef
	if err := spec.TypeByName("btf_trace_sched_process_exit", &td); err != nil {
		return false
	}
	ptr, ok := td.Type.(*btf.Pointer)
	if !ok {
		return false
	}
	fp, ok := ptr.Target.(*btf.FuncProto)
	return ok && len(fp.Params) >= 3
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func (t *Tracer) fillFilterMaps(opts *Options) error {
	bits := map[uint32]uint8{}
	for _, p := range opts.SenderPIDs {
		bits[p] |= pidSender
	}
	for _, p := range opts.TargetPIDs {
		bits[p] |= pidTarget
	}
	for _, p := range opts.AnyPIDs {
		bits[p] |= pidAny
	}
	for pid, b := range bits {
		if err := t.objs.PidFilter.Put(pid, b); err != nil {
			return fmt.Errorf("setting pid filter: %w", err)
		}
	}
	ubits := map[uint32]uint8{}
	for _, u := range opts.SenderUIDs {
		ubits[u] |= uint8(sigtraceUidBitsUID_SENDER)
	}
	for _, u := range opts.TargetUIDs {
		ubits[u] |= uint8(sigtraceUidBitsUID_TARGET)
	}
	for uid, b := range ubits {
		if err := t.objs.UidFilter.Put(uid, b); err != nil {
			return fmt.Errorf("setting uid filter: %w", err)
		}
	}
	for _, c := range opts.Comms {
		var key [16]byte
		if len(c) > 15 {
			// The kernel keeps 15 bytes of a command name.
			c = c[:15]
		}
		copy(key[:], c)
		if err := t.objs.CommFilter.Put(key, uint8(1)); err != nil {
			return fmt.Errorf("setting comm filter: %w", err)
		}
	}
	return nil
}

// Stats are the kernel side's counters, summed over CPUs.
type Stats struct {
	Submitted uint64 // records handed to the ring buffer
	Lost      uint64 // records dropped because the ring buffer was full
	Filtered  uint64 // signals dropped by a kernel filter, never copied
	// Shed: records dropped while the ring was into its reserve, to keep
	// room for vital ones; ShedVital: vital records dropped because their
	// uid had used its share of the reserve. Both are lost too.
	Shed      uint64
	ShedVital uint64
	// Counting in the kernel: events counted, and those not counted
	// because a new key found the map full (lost too).
	Counted   uint64
	CountFull uint64
	// Summarised: generate events beyond their key's rate
	// (Options.RateLimit), counted in the kernel and handed over as
	// count events, not copied.
	Summarised uint64
	// Missed: times the kernel did not run one of the programs because
	// that program was already running on the CPU (a signal sent from an
	// interrupt, such as an itimer's SIGALRM, that came while the program
	// ran for another signal): __bpf_trace_run in kernel/trace/bpf_trace.c
	// skips it and counts a miss (Linux 5.12+; 0 before). Each is an
	// event not seen, or one a filter would have dropped anyway.
	Missed uint64
}

// Dropped is every event the kernel side could not hand over or count.
func (s Stats) Dropped() uint64 {
	return s.Lost + s.Shed + s.ShedVital + s.CountFull + s.Missed
}

// Stats reads the per-CPU counters.
func (t *Tracer) Stats() (Stats, error) {
	var s Stats
	for idx, dst := range map[sigtraceStatIndex]*uint64{
		sigtraceStatIndexSTAT_SUBMITTED:  &s.Submitted,
		sigtraceStatIndexSTAT_LOST:       &s.Lost,
		sigtraceStatIndexSTAT_FILTERED:   &s.Filtered,
		sigtraceStatIndexSTAT_SHED:       &s.Shed,
		sigtraceStatIndexSTAT_SHED_VITAL: &s.ShedVital,
		sigtraceStatIndexSTAT_COUNTED:    &s.Counted,
		sigtraceStatIndexSTAT_COUNT_FULL: &s.CountFull,
		sigtraceStatIndexSTAT_SUMMARISED: &s.Summarised,
	} {
		var per []uint64
		if err := t.objs.Stats.Lookup(uint32(idx), &per); err != nil {
			return s, fmt.Errorf("reading stats: %w", err)
		}
		for _, v := range per {
			*dst += v
		}
	}
	if m := t.recursionMisses(); m > t.missedAtStart {
		s.Missed = m - t.missedAtStart
	}
	return s, nil
}

// recursionMisses sums the kernel's recursion-miss counts of the loaded
// programs. The count is kept whether or not bpf_stats is enabled, and
// reading it needs only the program's fd.
func (t *Tracer) recursionMisses() uint64 {
	var n uint64
	for _, p := range []*ebpf.Program{t.objs.OnGenerate, t.objs.OnDeliver, t.objs.OnExit,
		t.objs.OnExecRename, t.objs.OnSigactionFentry, t.objs.OnSigactionKprobe} {
		if p == nil {
			continue
		}
		if st, err := p.Stats(); err == nil {
			n += st.RecursionMisses
		}
	}
	return n
}

// BootTime is the wall-clock boot time events are relative to, as last
// measured: it follows a stepped wall clock. Call it before Run or from
// Run's Handler or Tick (the reader goroutine re-measures it).
func (t *Tracer) BootTime() time.Time { return t.dec.BootTime() }

// Close detaches the programs and frees everything: nothing of the tracer
// stays behind, no file descriptor, mapping or goroutine, and nothing is
// pinned. It unblocks a Run in progress, which then returns nil. Calling
// it again does nothing.
func (t *Tracer) Close() error {
	var errs []error
	t.closeOnce.Do(func() {
		if t.rd != nil {
			errs = append(errs, t.rd.Close())
		}
		errs = append(errs, t.detach())
		t.sleep.close()
		t.gom.stop() // waits for the prescan goroutine
		if t.ownsObjs {
			errs = append(errs, t.objs.Close())
		}
	})
	return errors.Join(errs...)
}

// selfTgid is this process's pid as the BPF side sees it. Like the pid
// filters, it assumes the tracer runs in the initial pid namespace; in
// another one it matches nothing and hides nothing.
func selfTgid(hide bool) uint32 {
	if !hide {
		return 0
	}
	return uint32(os.Getpid())
}
