package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sigtrace/sigtrace/filter"
	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tracer"
)

// maxCommLen is how much of a command name the kernel keeps.
const maxCommLen = 15

// maxRingMiB bounds --ring-size: a 1 GiB ring took 7.7 s to set up and
// 2.1 GB of memory for a one-second trace; 256 MiB holds about half a
// million full records, seconds of the worst storm.
const maxRingMiB = 256

type traceFlags struct {
	output      string
	signals     []string
	pids        []string
	targetPIDs  []string
	senderPIDs  []string
	comms       []string
	fatal       bool
	failed      bool
	noDeliver   bool
	threadKills bool
	duration    time.Duration
	count       int
	ringSizeMiB int
	readyFile   string
	keepPrivs   bool
	allDisp     bool // --all-dispositions
	noDisp      bool // --no-dispositions
	pending     time.Duration
	rateLimit   int
	signalSet   bool           // -s was given, even as -s "": an empty set is an error
	filter      *filter.Filter // the FILTER argument (trace_filter.go), or nil
	fs          *pflag.FlagSet
	formatFlags // --format, --count-by, --hist, --interval, --top (trace_format.go)
}

func (f *traceFlags) register(cmd *cobra.Command) {
	f.registerSelect(cmd)
	f.registerLive(cmd)
	f.registerShow(cmd)
}

// registerSelect registers the flags that choose events: trace, record
// and replay share them.
func (f *traceFlags) registerSelect(cmd *cobra.Command) {
	fl := cmd.Flags()
	f.fs = fl
	fl.StringSliceVarP(&f.signals, "signal", "s", nil, "only these signals: names with or without SIG, numbers, RTMIN+N; comma-separated or repeated")
	fl.StringSliceVarP(&f.pids, "pid", "p", nil, "only signals sent by or to these process ids")
	fl.StringSliceVar(&f.targetPIDs, "target-pid", nil, "only signals sent to these process ids")
	fl.StringSliceVar(&f.senderPIDs, "sender-pid", nil, "only signals sent by these process ids")
	fl.StringSliceVar(&f.comms, "comm", nil, "only signals sent by or to processes with these command names")
	fl.BoolVar(&f.fatal, "fatal", false, "only signals the receiver dies of, now or when it unblocks them, and the deaths; a signal caught and re-raised to die of shows as the fatal re-raise, which names the original sender")
	fl.BoolVar(&f.failed, "failed", false, "only signals the kernel did not queue: ignored, merged with a pending one, or dropped")
	fl.BoolVar(&f.noDeliver, "no-deliver", false, "leave out deliver events (a thread taking a signal)")
}

// registerLive registers the flags of a live tracer: trace and record.
func (f *traceFlags) registerLive(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.DurationVar(&f.duration, "duration", 0, "stop after this long (e.g. 30s, 10m)")
	fl.DurationVar(&f.pending, "pending-after", 0, "report a signal still not delivered this long after it was sent (e.g. 500ms), with why; for a task in D state, where it waits (kernel stack, system call); off by default")
	fl.IntVar(&f.ringSizeMiB, "ring-size", tracer.DefaultRingSize>>20, fmt.Sprintf("ring buffer size in MiB (a power of two, at most %d): kernel memory that the reader also maps, and that is zeroed and faulted in at start", maxRingMiB))
	fl.IntVar(&f.rateLimit, "rate-limit", tracer.DefaultRateBurst, "summarise repeated signals: of each sender, target, signal and verdict, show this many in full, then this many a minute, and count the rest (count rows, exact); never a signal that may kill, a delivery or a death; 0: show every one. Off by default with --count, --count-by, --hist, --format, -s, -p, --comm and a FILTER")
	fl.BoolVar(&f.keepPrivs, "keep-privileges", false, "keep every capability after attaching; by default trace drops all but those its reading needs (cap_sys_ptrace, cap_dac_read_search; cap_sys_admin with --pending-after; cap_bpf before Linux 6.5), opens files as nobody and sets no_new_privs, and stops with one line if it cannot")
	fl.BoolVar(&f.allDisp, "all-dispositions", false, "show every disposition change of any signal (installing a handler, ignoring, flags, vfork children's); by default only a change that leaves a signal whose default action kills fatal to the process")
	fl.BoolVar(&f.noDisp, "no-dispositions", false, "leave out disposition events (a process changing what it does with a signal)")
	fl.StringVar(&f.readyFile, "ready-file", "", "write this file once probes are attached")
	_ = fl.MarkHidden("ready-file")
}

// registerShow registers the flags of what is shown: trace and replay.
func (f *traceFlags) registerShow(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table or json (one object per line)")
	fl.BoolVar(&f.threadKills, "thread-kills", false, "table: also show the SIGKILLs the kernel gives the other threads when a process calls exit_group() or execs (JSON always has them, with kill_cause)")
	fl.IntVar(&f.count, "count", 0, fmt.Sprintf("stop after this many signals (generate rows; as tcpdump -c counts packets), once their delivery and exit rows are in (waiting at most %v for them)", countGrace))
	f.registerFormat(cmd)
}

// tracerOptions is called after parsing, so Changed tells whether -s was
// given at all.
func (f *traceFlags) tracerOptions() (tracer.Options, error) {
	// sigtrace's own runtime signals (Go preempts a busy goroutine with
	// SIGURG to its own thread) are not what anyone is tracing.
	o := tracer.Options{HideSelf: true}
	var err error
	if f.output != "table" && f.output != "json" {
		return o, fmt.Errorf("unknown output format %q (want table or json)", f.output)
	}
	if f.signals != nil || f.signalSet {
		if o.Signals, err = signals.ParseList(strings.Join(f.signals, ",")); err != nil {
			return o, err
		}
	}
	limit := pidMax()
	if o.AnyPIDs, err = f.parsePIDs("pid", f.pids, limit); err != nil {
		return o, err
	}
	if o.TargetPIDs, err = f.parsePIDs("target-pid", f.targetPIDs, limit); err != nil {
		return o, err
	}
	if o.SenderPIDs, err = f.parsePIDs("sender-pid", f.senderPIDs, limit); err != nil {
		return o, err
	}
	// pflag reads --comm '' as no names at all, which would trace every
	// process: an empty name is a mistake, not "everything".
	if f.changed("comm") && len(f.comms) == 0 {
		return o, fmt.Errorf("empty --comm: give a command name (e.g. --comm nginx)")
	}
	for _, c := range f.comms {
		c = strings.TrimSpace(c)
		if c == "" {
			return o, fmt.Errorf("empty --comm: give a command name (e.g. --comm nginx)")
		}
		// The kernel keeps 15 bytes of a name (TASK_COMM_LEN - 1): a
		// longer one, cut, would also match every other name it starts.
		if len(c) > maxCommLen {
			return o, fmt.Errorf("--comm %q: the kernel keeps only %d bytes of a command name; give --comm %q", c, maxCommLen, c[:maxCommLen])
		}
		o.Comms = append(o.Comms, c)
	}
	if f.count < 0 {
		return o, fmt.Errorf("--count %d: want a positive number", f.count)
	}
	if f.duration < 0 {
		return o, fmt.Errorf("--duration %s: want a positive duration", f.duration)
	}
	mib := f.ringSizeMiB
	if mib < 1 || mib > maxRingMiB || mib&(mib-1) != 0 {
		return o, fmt.Errorf("--ring-size %d: want a power of two between 1 and %d MiB", mib, maxRingMiB)
	}
	o.RingSize = mib << 20
	o.NoDeliver = f.noDeliver
	if f.pending < 0 {
		return o, fmt.Errorf("--pending-after %s: want a positive duration", f.pending)
	}
	if f.pending > 0 && f.noDeliver {
		return o, fmt.Errorf("--pending-after needs deliver events: drop --no-deliver")
	}
	o.PendingAfter = f.pending
	switch {
	case f.allDisp && f.noDisp:
		return o, fmt.Errorf("--all-dispositions and --no-dispositions: choose one")
	case f.noDisp:
	case f.allDisp:
		o.History = tracer.HistoryAll
	default:
		o.History = tracer.HistoryFatal
	}
	// Counts are of signals: disposition changes join them only when
	// asked for, by --all-dispositions or a filter of them alone.
	if (f.countBy != "" || f.hist != "") && !f.allDisp && !f.onlyDispositions() {
		o.History = tracer.HistoryOff
	}
	if f.filter != nil {
		f.filter.Narrow(&o) // the kernel's part of FILTER, intersected with the flags
	}
	if o.RateLimit, err = f.rateLimitOf(&o); err != nil {
		return o, err
	}
	return o, nil
}

// rateLimitOf is --rate-limit as the tracer takes it. Unless given, it is
// off where every event must be seen (counts, --count, a template, which
// has no line for a count) or was asked for: by signal, pid or name, or
// by a FILTER (issue 18: what a filter asks for is never summarised).
func (f *traceFlags) rateLimitOf(o *tracer.Options) (tracer.RateLimit, error) {
	n := f.rateLimit
	if n < 0 {
		return tracer.RateLimit{}, fmt.Errorf("--rate-limit %d: want a number of signals (0: no limit)", n)
	}
	narrowed := len(o.AnyPIDs)+len(o.TargetPIDs)+len(o.SenderPIDs)+len(o.Comms) > 0 ||
		f.signals != nil || f.signalSet || f.filter != nil
	if !f.changed("rate-limit") && (narrowed || f.count > 0 || f.countBy != "" || f.hist != "" || f.format != "") {
		n = 0
	}
	if n == 0 {
		return tracer.RateLimit{}, nil
	}
	if f.countBy != "" || f.hist != "" {
		return tracer.RateLimit{}, fmt.Errorf("--rate-limit with --count-by or --hist: counts must see every signal; drop --rate-limit")
	}
	return tracer.RateLimit{Burst: n, Interval: time.Minute / time.Duration(n)}, nil
}

// changed reports whether a flag was given on the command line.
func (f *traceFlags) changed(name string) bool { return f.fs != nil && f.fs.Changed(name) }

// parsePIDs parses a pid flag's values; limit is the kernel's pid_max.
func (f *traceFlags) parsePIDs(name string, in []string, limit uint64) ([]uint32, error) {
	flag := "--" + name
	// As with --comm, pflag reads -p '' as no pids: a filter on nothing
	// would trace everything.
	if f.changed(name) && len(in) == 0 {
		return nil, fmt.Errorf("empty %s: give a process id", flag)
	}
	var out []uint32
	for _, s := range in {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("bad %s %q: want a process id (a positive number)", flag, s)
		}
		// alloc_pid() hands out pids below pid_max (kernel/pid.c:
		// idr_alloc_cyclic's end is exclusive), so no process can get
		// one at or above it and the filter would match nothing. Only a
		// process from before pid_max was lowered still can have one.
		if n >= limit && !pidExists(n) {
			return nil, fmt.Errorf("bad %s %q: no process can have it, pids are below the kernel's pid_max %d", flag, s, limit)
		}
		out = append(out, uint32(n))
	}
	return out, nil
}

func pidExists(n uint64) bool {
	_, err := os.Stat("/proc/" + strconv.FormatUint(n, 10))
	return err == nil
}

// pidMaxLimit is PID_MAX_LIMIT on 64-bit kernels (include/linux/threads.h:
// 4 * 1024 * 1024), the largest pid_max can be set to.
const pidMaxLimit = 4 << 20

// pidMax is the kernel's pid_max, or PID_MAX_LIMIT when it cannot be read
// (no /proc): then only pids no kernel can have are refused.
var pidMax = func() uint64 {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		return pidMaxLimit
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n == 0 {
		return pidMaxLimit
	}
	return n
}

// match applies what the kernel cannot decide: verdict classes. A signal
// that a handler caught and then re-raised (the Go runtime without
// signal.Notify, raise() after clean-up) is handled when sent, so --fatal
// leaves that row out; the re-raise, which names it (ReraiseOf), is the
// fatal row, and the exit names it as the killer.
func (f *traceFlags) match(ev *tracer.Event) bool {
	// Nobody sent these: a process that exits or execs takes its other
	// threads down with an internal SIGKILL, which in a table reads like
	// kill -9 for every exiting compiler.
	if f.output == "table" && !f.threadKills && ev.Type == tracer.TypeDeliver &&
		(ev.Deliver.KillCause == tracer.KillExitGroup || ev.Deliver.KillCause == tracer.KillExec) {
		return false
	}
	if f.fatal {
		switch ev.Type {
		case tracer.TypeGenerate:
			if !ev.Generate.Fatal && !ev.Generate.FatalWhenUnblocked {
				return false
			}
		case tracer.TypeDeliver:
			if !ev.Deliver.GroupExit {
				return false
			}
		}
		// An exit event is a death: always shown under --fatal.
	}
	if f.fatal && ev.Type == tracer.TypePending {
		return false
	}
	if f.failed {
		if ev.Type != tracer.TypeGenerate {
			return false
		}
		switch ev.Generate.Result {
		case tracer.ResultIgnored, tracer.ResultAlreadyPending, tracer.ResultOverflow:
		default:
			return false
		}
	}
	return f.filter == nil || f.filter.Match(ev)
}

// warnHistory says once, on stderr, that this kernel hides sigaction
// changes from disposition history (tracer.HistoryGap), and why.
func warnHistory(tr *tracer.Tracer, o *tracer.Options) {
	if gap := tr.HistoryGap(); gap != "" && o.History != tracer.HistoryOff {
		fmt.Fprintf(os.Stderr, "sigtrace: disposition history without sigaction changes (exec and SA_RESETHAND resets are seen): %s\n", gap)
	}
}

// onlyDispositions: the FILTER matches disposition events and no signal's
// (generate, deliver, exit, pending).
func (f *traceFlags) onlyDispositions() bool {
	if f.filter == nil {
		return false
	}
	k := f.filter.Pushdown().Kinds
	return k.Has(tracer.TypeDisposition) && !k.Has(tracer.TypeGenerate) && !k.Has(tracer.TypeDeliver) &&
		!k.Has(tracer.TypeExit) && !k.Has(tracer.TypePending)
}
