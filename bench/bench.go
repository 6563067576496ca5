// Package bench measures what sigtrace costs the processes it watches: a
// signal storm pinned to CPU 0 runs alone and then with the tracer (pinned
// to CPU 1) attached, in alternating pairs, for each workload and each way
// of running the tracer. It also measures the tracer's cost while idle and
// the in-kernel cost per BPF program run. `make bench` runs it
// (bench/run.sh → bench/cmd/bench); bench_test.go is a one-pair smoke run
// inside `make test`.
package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Workloads of the storm program (bench/storm).
var Workloads = []string{"pingpong", "ign", "tgkill"}

// Config chooses what to run.
type Config struct {
	Root        string        // repository root (with go.mod); "" finds it from the working directory
	Pairs       int           // alternating alone/traced pairs per workload × variant
	Dur         time.Duration // storm length per run
	Signals     int64         // if > 0, storm length in signals instead of Dur
	Idle        time.Duration // idle window (tracer attached, no storm); 0: skip
	KDur        time.Duration // storm length per workload for in-kernel cost; 0: skip
	KSignals    int64         // if > 0, in signals instead of KDur
	Nice        int           // nice level of the storm and the tracer (0: unchanged)
	ForeignWait time.Duration // how long to wait for other tracers to unload before a run (0: do not wait or retry)
	Settle      time.Duration // pause after attaching and before each alone run
	Workloads   []string      // subset of Workloads; empty: all
	Variants    []string      // subset of variant keys; empty: all available
	Log         io.Writer     // progress (stderr); nil: none
}

// variant is one way of running the tracer.
type variant struct {
	key   string
	label string
	tool  *tool // the program run: nil is sigtrace (built from the tree)
	args  func(tmp string) []string
	// output: "file": stdout to tmp/out.jsonl; "dir": args write under
	// tmp/rec; "counts": stdout to tmp/counts.txt, whose bpftrace-style
	// "@[key]: N" lines are summed (printed when it stops).
	output  string
	deliver bool // it gets deliver events
	idle    bool // measure its idle cost
	// counting: it counts events instead of writing them; it is in the
	// Counting comparison, next to bpftrace's count.
	counting bool
	// kernelCount: it should count in sigtrace's in-kernel map; the bench
	// sums that map before stopping it, to show it did.
	kernelCount bool
	// bin is the program's path, once found.
	bin string
	// missing is empty when the tracer has it, else why not.
	missing string
}

func (v *variant) tl() *tool {
	if v.tool == nil {
		return sigtraceTool
	}
	return v.tool
}

// events is how many events a storm gave the variant to handle: every
// signal's generate event, and each delivery if it gets those (the
// counters with 'type == "generate"' and bpftrace count signals only;
// --count-by signal.name counts deliveries too).
func (v *variant) events(s stormResult) int64 {
	n := s.signals
	if v.deliver {
		n += s.delivered
	}
	return n
}

// display names the variant with its program: "sigtrace trace -o json".
func (v *variant) display() string {
	if v.tool == nil {
		return "sigtrace " + v.label
	}
	return v.label
}

// bpftraceCount is the one-liner the counting variants are compared with.
const bpftraceCount = `tracepoint:signal:signal_generate { @[args->sig] = count(); }`

// kernelCountFilter makes --count-by count in the kernel: kernel fields
// as keys, and a filter the kernel decides that keeps generate events only.
const kernelCountFilter = `type == "generate"`

func allVariants() []*variant {
	return []*variant{
		// Every event in full (--rate-limit 0): what the kernel side
		// costs when nothing is summarised.
		{key: "json", label: "trace -o json --rate-limit 0 >/dev/null", deliver: true, idle: true,
			args: func(string) []string { return []string{"trace", "-o", "json", "--rate-limit", "0"} }},
		// The same without disposition history (on by default): what
		// its programs cost a storm in which nothing changes one.
		{key: "nohistory", label: "trace -o json --rate-limit 0 --no-dispositions >/dev/null", deliver: true,
			args: func(string) []string {
				return []string{"trace", "-o", "json", "--rate-limit", "0", "--no-dispositions"}
			}},
		{key: "nodeliver", label: "trace -o json --rate-limit 0 --no-deliver >/dev/null",
			args: func(string) []string { return []string{"trace", "-o", "json", "--rate-limit", "0", "--no-deliver"} }},
		{key: "file", label: "trace -o json --rate-limit 0 >file (tmpfs)", deliver: true, output: "file",
			args: func(string) []string { return []string{"trace", "-o", "json", "--rate-limit", "0"} }},
		// As users run it: repeated signals beyond 10 a minute per key
		// are counted in the kernel, not copied.
		{key: "summarised", label: "trace -o json >file (tmpfs; summarised, the default)", deliver: true, output: "file",
			args: func(string) []string { return []string{"trace", "-o", "json"} }},
		{key: "record", label: "record -w DIR (tmpfs)", deliver: true, idle: true, output: "dir",
			args: func(tmp string) []string { return []string{"record", "-w", filepath.Join(tmp, "rec")} }},
		// Every event it would print, generate and deliver, as users run
		// it: both counted in the kernel (a SIGKILL's deliveries and the
		// exits come as events).
		{key: "countby", label: "trace --count-by signal.name (sent and delivered, counted in the kernel)", deliver: true, idle: true,
			output: "counts", counting: true, kernelCount: true,
			args: func(string) []string { return []string{"trace", "--count-by", "signal.name"} }},
		{key: "countkernel", label: "trace --count-by signal.name '" + kernelCountFilter + "' (counted in the kernel)",
			idle: true, output: "counts", counting: true, kernelCount: true,
			args: func(string) []string { return []string{"trace", "--count-by", "signal.name", kernelCountFilter} }},
		{key: "bpftrace", label: "bpftrace @[args->sig] = count()", tool: bpftraceTool, output: "counts", counting: true,
			args: func(string) []string { return []string{"-e", bpftraceCount} }},
	}
}

// VariantKeys are the names Config.Variants accepts.
func VariantKeys() []string {
	var k []string
	for _, v := range allVariants() {
		k = append(k, v.key)
	}
	return k
}

// detect finds each variant's program and marks the variants that cannot
// run here: not in the built tracer yet, or bpftrace not installed. A
// variant that is there by its --help but could still fail at start
// (countkernel, bpftrace) is started once and stopped.
func detect(ctx context.Context, sigtrace, tmp string, vs []*variant) {
	for _, v := range vs {
		v.bin = sigtrace
		probe := false
		switch v.key {
		case "record":
			if err := exec.Command(sigtrace, "record", "--help").Run(); err != nil {
				v.missing = "n/a: not implemented yet (sigtrace record --help fails)"
			}
		case "countby":
			out, _ := exec.Command(sigtrace, "trace", "--help").CombinedOutput()
			if !bytes.Contains(out, []byte("--count-by")) {
				v.missing = "n/a: not implemented yet (no --count-by in sigtrace trace --help)"
			}
		case "countkernel":
			out, _ := exec.Command(sigtrace, "trace", "--help").CombinedOutput()
			switch {
			case !bytes.Contains(out, []byte("--count-by")):
				v.missing = "n/a: not implemented yet (no --count-by in sigtrace trace --help)"
			case !bytes.Contains(out, []byte("FILTER")):
				v.missing = "n/a: not implemented yet (no FILTER in sigtrace trace --help)"
			default:
				probe = true
			}
		case "bpftrace":
			bin, err := exec.LookPath("bpftrace")
			if err != nil {
				v.missing = "n/a: bpftrace is not installed (apt-get install bpftrace)"
				break
			}
			v.bin = bin
			probe = true
		}
		if !probe {
			continue
		}
		var out *os.File
		if v.output == "counts" {
			f, err := os.Create(filepath.Join(tmp, "probe.txt"))
			if err != nil {
				v.missing = "n/a: " + err.Error()
				continue
			}
			defer os.Remove(f.Name())
			defer f.Close()
			out = f
		}
		tr, err := startTracer(ctx, v.tl(), v.bin, v.args(tmp), out)
		if err != nil {
			v.missing = "n/a: fails at start: " + err.Error()
			if v.key == "countkernel" {
				v.missing = "n/a: fails at start (FILTER expressions not merged yet?): " + err.Error()
			}
			continue
		}
		if x := tr.stop(); x.exitErr != nil {
			v.missing = "n/a: fails when stopped: " + x.exitErr.Error()
		}
	}
}

// Pair is one storm alone then the same storm traced.
type Pair struct {
	Alone, Traced stormResult
	Tracer        tracerExit
	Events        int64    // events the tracer had to handle
	EventsSeen    int64    // events found in its output (or counts); -1: not captured
	KernelCounted int64    // sum of sigtrace's in-kernel counts map (kernelCount variants); -1: not read
	StormCPUNs    int64    // tracer CPU while the storm ran (schedstat of its live threads), without start, drain and exit; -1: not read
	OutBytes      int64    // bytes the tracer wrote to its file or recording directory; -1: not captured
	Foreign       []string // other tracing BPF programs loaded around the pair
	Err           error
}

// Slowdown is traced time per signal over alone, minus one.
func (p Pair) Slowdown() float64 { return p.Traced.nsPerSignal()/p.Alone.nsPerSignal() - 1 }

// AddedNs is the added time per signal.
func (p Pair) AddedNs() float64 { return p.Traced.nsPerSignal() - p.Alone.nsPerSignal() }

// Row is one workload × variant.
type Row struct {
	Workload string
	Variant  *variant
	Pairs    []Pair
}

// IdleRow is one variant's cost with no signals.
type IdleRow struct {
	Variant   *variant
	Seconds   float64
	CPUNs     int64
	Switches  int64
	StartupNs int64 // CPU until attached
	Err       error
}

// KRow is one program's in-kernel cost during one workload.
type KRow struct {
	// Tracer says how the tracer ran: every event in full, or
	// summarised (its default rate limit).
	Tracer   string
	Workload string
	Program  string
	Runs     uint64
	Ns       int64
	Misses   uint64
	Seconds  float64
}

// Result is everything one run measured.
type Result struct {
	Meta      Meta
	Cfg       Config
	Variants  []*variant
	Rows      []*Row
	Idle      []IdleRow
	Kernel    []KRow
	KernelErr error
	// StatsAfter is kernel.bpf_stats_enabled after the in-kernel phase.
	StatsBefore, StatsAfter string
	// Tracefs says what the bench did about tracefs for bpftrace.
	Tracefs tracefsState
	Took    time.Duration
}

func (c *Config) logf(format string, a ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", a...)
	}
}

// Run builds the tracer and the storm from the tree at cfg.Root and runs
// the whole bench.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	began := time.Now()
	loadStart := loadAvg() // before the builds raise it
	if os.Geteuid() != 0 {
		return nil, errors.New("the bench loads BPF programs: run it as root (sudo make bench)")
	}
	if cfg.Root == "" {
		root, err := FindRoot()
		if err != nil {
			return nil, err
		}
		cfg.Root = root
	}
	if cfg.Pairs <= 0 {
		cfg.Pairs = 5
	}
	if cfg.Dur <= 0 && cfg.Signals <= 0 {
		cfg.Dur = 2 * time.Second
	}
	if len(cfg.Workloads) == 0 {
		cfg.Workloads = Workloads
	}
	for _, w := range cfg.Workloads {
		if !contains(Workloads, w) {
			return nil, fmt.Errorf("unknown workload %q (have %s)", w, strings.Join(Workloads, ", "))
		}
	}
	for _, v := range cfg.Variants {
		if !contains(VariantKeys(), v) {
			return nil, fmt.Errorf("unknown variant %q (have %s)", v, strings.Join(VariantKeys(), ", "))
		}
	}

	tmp, err := os.MkdirTemp(scratchDir(), "sigtrace-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	cfg.logf("building sigtrace and storm from %s", cfg.Root)
	sigtrace := filepath.Join(tmp, "sigtrace")
	storm := filepath.Join(tmp, "storm")
	if err := goBuild(cfg.Root, sigtrace, "./cmd/sigtrace"); err != nil {
		return nil, err
	}
	if err := goBuild(cfg.Root, storm, "./bench/storm"); err != nil {
		return nil, err
	}

	res := &Result{Cfg: cfg, Meta: collectMeta(cfg.Root)}
	res.Meta.LoadStart = loadStart
	for _, v := range allVariants() {
		if len(cfg.Variants) > 0 && !contains(cfg.Variants, v.key) {
			continue
		}
		res.Variants = append(res.Variants, v)
	}
	for _, v := range res.Variants {
		if v.tool == bpftraceTool {
			if _, err := exec.LookPath("bpftrace"); err == nil {
				// bpftrace finds tracepoints through tracefs.
				res.Tracefs = ensureTracefs()
				defer func() {
					res.Tracefs.unmount()
					if res.Tracefs.UnmountErr != nil {
						cfg.logf("tracefs: %v", res.Tracefs.UnmountErr)
					}
				}()
				if res.Tracefs.Err != nil {
					v.missing = "n/a: " + res.Tracefs.Err.Error()
				}
			}
			break
		}
	}
	var probe []*variant
	for _, v := range res.Variants {
		if v.missing == "" {
			probe = append(probe, v)
		}
	}
	detect(ctx, sigtrace, tmp, probe)
	for _, v := range res.Variants {
		if v.missing != "" {
			cfg.logf("%s: %s", v.display(), v.missing)
		}
	}

	childNice = cfg.Nice
	if err := pinSelf(tracerCPU); err != nil {
		return nil, err
	}

	// A/B pairs, interleaved: pair i of every workload × variant before
	// pair i+1 of any, so a noisy minute spreads over all of them.
	for _, w := range cfg.Workloads {
		for _, v := range res.Variants {
			if v.missing == "" {
				res.Rows = append(res.Rows, &Row{Workload: w, Variant: v})
			}
		}
	}
	for i := 0; i < cfg.Pairs; i++ {
		for _, row := range res.Rows {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			p := runPair(ctx, &cfg, storm, tmp, row.Workload, row.Variant)
			row.Pairs = append(row.Pairs, p)
			if p.Err != nil {
				cfg.logf("pair %d/%d %-8s %-40s error: %v", i+1, cfg.Pairs, row.Workload, row.Variant.label, p.Err)
				continue
			}
			cfg.logf("pair %d/%d %-8s %-40s alone %7.0f ns/sig  traced %7.0f ns/sig  %+6.1f%%  lost %d",
				i+1, cfg.Pairs, row.Workload, row.Variant.label, p.Alone.nsPerSignal(), p.Traced.nsPerSignal(),
				100*p.Slowdown(), p.Tracer.lost)
			cfg.logf("  storm on its CPU %.0f%% / %.0f%% of the time, waited for it %.1f / %.1f ms (alone / traced)",
				100*float64(p.Alone.oncpuNs)/float64(p.Alone.elapsedNs), 100*float64(p.Traced.oncpuNs)/float64(p.Traced.elapsedNs),
				float64(p.Alone.waitNs)/1e6, float64(p.Traced.waitNs)/1e6)
			if len(p.Foreign) > 0 {
				cfg.logf("  (other tracing programs loaded around it: %s)", strings.Join(p.Foreign, ", "))
			}
		}
	}

	if cfg.Idle > 0 {
		for _, v := range res.Variants {
			if v.missing != "" || !v.idle {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r := runIdle(ctx, &cfg, tmp, v)
			res.Idle = append(res.Idle, r)
			if r.Err != nil {
				cfg.logf("idle %s: error: %v", v.label, r.Err)
			} else {
				cfg.logf("idle %s: %.3f ms CPU/s, %.1f wake-ups/s", v.label, float64(r.CPUNs)/1e6/r.Seconds, float64(r.Switches)/r.Seconds)
			}
		}
	}

	if cfg.KDur > 0 || cfg.KSignals > 0 {
		res.StatsBefore = bpfStatsSysctl()
		// Every event in full, as before the rate limit, then as users
		// run it: the limit's map lookup is on the hot path.
		for _, k := range []struct {
			label string
			args  []string
		}{
			{"every event (--rate-limit 0)", []string{"trace", "-o", "json", "--rate-limit", "0"}},
			{"summarised (default)", []string{"trace", "-o", "json"}},
		} {
			rows, err := runKernelStats(ctx, &cfg, sigtrace, storm, k.label, k.args)
			res.Kernel = append(res.Kernel, rows...)
			if err != nil {
				res.KernelErr = err
				break
			}
		}
		res.StatsAfter = bpfStatsSysctl()
		if res.KernelErr != nil {
			cfg.logf("in-kernel cost: error: %v", res.KernelErr)
		}
		cfg.logf("kernel.bpf_stats_enabled: %s before, %s after", res.StatsBefore, res.StatsAfter)
	}
	res.Meta.LoadEnd = loadAvg()
	res.Took = time.Since(began)
	return res, nil
}

// runPair runs the storm alone, then with the tracer variant attached.
func runPair(ctx context.Context, cfg *Config, storm, tmp, workload string, v *variant) Pair {
	var p Pair
	for attempt := 1; ; attempt++ {
		p = runPairOnce(ctx, cfg, storm, tmp, workload, v)
		if len(p.Foreign) == 0 || attempt == 3 || cfg.ForeignWait <= 0 || ctx.Err() != nil {
			return p
		}
		cfg.logf("  another tracer was loaded during the pair (%s): again", strings.Join(p.Foreign, ", "))
	}
}

func runPairOnce(ctx context.Context, cfg *Config, storm, tmp, workload string, v *variant) Pair {
	p := Pair{EventsSeen: -1, KernelCounted: -1, StormCPUNs: -1, OutBytes: -1}
	foreign := func() {
		for _, f := range foreignPrograms() {
			if !contains(p.Foreign, f) {
				p.Foreign = append(p.Foreign, f)
			}
		}
	}
	p.Foreign = waitNoForeign(ctx, cfg, cfg.ForeignWait)
	// And the previous run's detach (its programs are freed after RCU).
	sleepCtx(ctx, cfg.Settle)
	p.Alone, p.Err = runStorm(ctx, storm, workload, cfg.Dur, cfg.Signals)
	if p.Err != nil {
		return p
	}
	foreign()

	var out *os.File
	outPath := filepath.Join(tmp, "out.jsonl")
	if v.output == "counts" {
		outPath = filepath.Join(tmp, "counts.txt")
	}
	recDir := filepath.Join(tmp, "rec")
	os.RemoveAll(recDir)
	defer os.Remove(outPath)
	defer os.RemoveAll(recDir)
	switch v.output {
	case "file", "counts":
		f, err := os.Create(outPath)
		if err != nil {
			p.Err = err
			return p
		}
		defer f.Close()
		out = f
	case "dir":
		if err := os.MkdirAll(recDir, 0o755); err != nil {
			p.Err = err
			return p
		}
	}
	for _, f := range waitNoForeign(ctx, cfg, cfg.ForeignWait) {
		if !contains(p.Foreign, f) {
			p.Foreign = append(p.Foreign, f)
		}
	}
	tr, err := startTracer(ctx, v.tl(), v.bin, v.args(tmp), out)
	if err != nil {
		p.Err = err
		return p
	}
	// Let the attach settle (trampolines, workers, the tracer's own start).
	sleepCtx(ctx, cfg.Settle)
	s0, serr := readThreadStats(tr.pid)
	p.Traced, err = runStorm(ctx, storm, workload, cfg.Dur, cfg.Signals)
	if s1, err1 := readThreadStats(tr.pid); serr == nil && err1 == nil {
		p.StormCPUNs = s1.cpuNs - s0.cpuNs
	}
	foreign()
	if v.kernelCount {
		// Before it stops: the map goes with it.
		if n, found, kerr := kernelCountSum(tr.pid); kerr == nil {
			p.KernelCounted = 0
			if found {
				p.KernelCounted = n
			}
		}
	}
	p.Tracer = tr.stop()
	if err != nil {
		p.Err = err
		return p
	}
	if p.Tracer.exitErr != nil {
		p.Err = fmt.Errorf("tracer: %v", p.Tracer.exitErr)
		return p
	}
	p.Events = v.events(p.Traced)
	switch v.output {
	case "file":
		seen, lost, err := countJSONL(outPath)
		p.OutBytes = treeBytes(outPath)
		if err == nil {
			p.EventsSeen = seen
			if lost > p.Tracer.lost {
				p.Tracer.lost = lost
			}
		}
	case "counts":
		if seen, err := sumCounts(outPath); err == nil {
			p.EventsSeen = seen
		}
	case "dir":
		p.OutBytes = treeBytes(recDir)
		if seen, lost, err := countJSONL(recDir); err == nil && seen > 0 {
			p.EventsSeen = seen
			if lost > p.Tracer.lost {
				p.Tracer.lost = lost
			}
		}
	}
	return p
}

// runIdle measures a variant attached with no storm running.
func runIdle(ctx context.Context, cfg *Config, tmp string, v *variant) IdleRow {
	r := IdleRow{Variant: v}
	recDir := filepath.Join(tmp, "rec")
	os.RemoveAll(recDir)
	os.MkdirAll(recDir, 0o755)
	defer os.RemoveAll(recDir)
	var out *os.File
	if v.output == "file" || v.output == "counts" {
		f, err := os.Create(filepath.Join(tmp, "idle.out"))
		if err != nil {
			r.Err = err
			return r
		}
		defer f.Close()
		out = f
	}
	tr, err := startTracer(ctx, v.tl(), v.bin, v.args(tmp), out)
	if err != nil {
		r.Err = err
		return r
	}
	defer func() {
		x := tr.stop()
		if r.Err == nil && x.exitErr != nil {
			r.Err = x.exitErr
		}
	}()
	r.StartupNs = tr.atReady.cpuNs
	// Let the start-up settle, then measure a window.
	sleepCtx(ctx, 500*time.Millisecond)
	before, err := readThreadStats(tr.pid)
	if err != nil {
		r.Err = err
		return r
	}
	t0 := time.Now()
	sleepCtx(ctx, cfg.Idle)
	after, err := readThreadStats(tr.pid)
	if err != nil {
		r.Err = err
		return r
	}
	r.Seconds = time.Since(t0).Seconds()
	r.CPUNs = after.cpuNs - before.cpuNs
	r.Switches = after.switches - before.switches
	return r
}

// runKernelStats attaches `trace -o json`, turns on BPF run-time
// statistics (they go back off when this returns, or if it crashes), and
// runs each workload once, reading its programs' counters around it.
func runKernelStats(ctx context.Context, cfg *Config, sigtrace, storm, label string, args []string) (rows []KRow, err error) {
	tr, err := startTracer(ctx, sigtraceTool, sigtrace, args, nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		x := tr.stop()
		if err == nil && x.exitErr != nil {
			err = x.exitErr
		}
	}()
	ids, err := tracerProgIDs(tr.pid)
	if err != nil {
		return nil, err
	}
	stats, err := enableBPFStats()
	if err != nil {
		return nil, err
	}
	defer stats.Close()
	for _, w := range cfg.Workloads {
		before, err := readProgStats(ids)
		if err != nil {
			return rows, err
		}
		t0 := time.Now()
		if _, err := runStorm(ctx, storm, w, cfg.KDur, cfg.KSignals); err != nil {
			return rows, err
		}
		secs := time.Since(t0).Seconds()
		after, err := readProgStats(ids)
		if err != nil {
			return rows, err
		}
		for i := range after {
			rows = append(rows, KRow{
				Tracer: label, Workload: w, Program: after[i].name, Seconds: secs,
				Runs:   after[i].runs - before[i].runs,
				Ns:     after[i].runtime - before[i].runtime,
				Misses: after[i].misses - before[i].misses,
			})
		}
		cfg.logf("in-kernel %s, %s: %s", label, w, kernelSummary(rows[len(rows)-len(after):]))
	}
	return rows, nil
}

func kernelSummary(rows []KRow) string {
	var parts []string
	for _, r := range rows {
		parts = append(parts, fmt.Sprintf("%s %d runs %.0f ns/run", r.Program, r.Runs, r.NsPerRun()))
	}
	return strings.Join(parts, ", ")
}

// NsPerRun is the mean in-kernel time of one run.
func (k KRow) NsPerRun() float64 {
	if k.Runs == 0 {
		return 0
	}
	return float64(k.Ns) / float64(k.Runs)
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// scratchDir prefers tmpfs, so a tracer writing files does not make the
// disk's writeback threads part of the measurement.
func scratchDir() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	//lint:ignore SA1019 only when go is not on PATH: bench runs where it was built (go run), so the build's GOROOT is the one at hand
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func goBuild(root, out, pkg string) error {
	cmd := exec.Command(goTool(), "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// FindRoot walks up from the working directory to sigtrace's go.mod.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/sigtrace/sigtrace")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the sigtrace repository (no go.mod for github.com/sigtrace/sigtrace above the working directory)")
		}
		dir = parent
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
