package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Meta says where and on what the numbers were taken.
type Meta struct {
	Date      time.Time
	Kernel    string
	CPUModel  string
	CPUs      int
	Commit    string
	Dirty     string // uncommitted changes to the measured code, if any
	GoVersion string
	LoadStart string
	LoadEnd   string
}

func collectMeta(root string) Meta {
	m := Meta{Date: time.Now().UTC(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadStart: loadAvg()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Machine[:])
	}
	m.CPUModel = cpuModel()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", root}, args...)...)
		b, err := cmd.Output()
		if err != nil {
			return ""
		}
		// Not TrimSpace: status lines start with a blank column.
		return strings.TrimRight(string(b), "\n")
	}
	m.Commit = git("rev-parse", "--short=12", "HEAD")
	if m.Commit == "" {
		m.Commit = "unknown"
	}
	if st := git("status", "--porcelain", "--", "bpf", "tracer", "output", "cmd", "signals", "go.mod", "go.sum"); st != "" {
		dirs := map[string]bool{}
		for _, line := range strings.Split(st, "\n") {
			if len(line) > 3 {
				p := strings.TrimSpace(line[3:])
				d, _, _ := strings.Cut(p, "/")
				dirs[d] = true
			}
		}
		var ds []string
		for d := range dirs {
			ds = append(ds, d)
		}
		sort.Strings(ds)
		m.Dirty = strings.Join(ds, ", ")
	}
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// ---- aggregation ----

type spread struct{ med, min, max float64 }

func summarize(xs []float64) (spread, bool) {
	if len(xs) == 0 {
		return spread{}, false
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return spread{med: med, min: s[0], max: s[n-1]}, true
}

// RowStats are one row's numbers over its successful pairs.
type RowStats struct {
	OK, Failed    int
	Contaminated  int    // pairs left out: another tracer was loaded
	Alone, Traced spread // ns per signal
	Slowdown      spread // fraction
	Added         spread // ns per signal
	CPUPerM       spread // tracer CPU s per million events
	StormCPUPerM  spread // of which while the storm ran; ok false: not read
	StormCPUOK    bool
	Rate          spread // events per second
	WaitAlone     spread // storm runnable but off its CPU, fraction of the run
	WaitTraced    spread
	Lost          int64   // total
	LossyRuns     int     // traced runs that lost any
	SeenFrac      float64 // events found in the output / events expected; <0: not captured
	BytesPerEvent float64 // bytes written to a file or recording per event; <0: not captured
	// KernelFrac: of the counts printed, the fraction in sigtrace's
	// in-kernel counts map (median); <0: not read.
	KernelFrac float64
	FirstErr   error
}

func (r *Row) Stats() RowStats {
	var st RowStats
	var alone, traced, slow, added, cpu, stormCPU, rate, seen, kern, bytesPer []float64
	var waitA, waitT []float64
	clean := 0
	for _, p := range r.Pairs {
		if p.Err == nil && len(p.Foreign) == 0 {
			clean++
		}
	}
	for _, p := range r.Pairs {
		if p.Err == nil && len(p.Foreign) > 0 && clean > 0 {
			st.Contaminated++
			continue
		}
		if p.Err != nil {
			st.Failed++
			if st.FirstErr == nil {
				st.FirstErr = p.Err
			}
			continue
		}
		st.OK++
		alone = append(alone, p.Alone.nsPerSignal())
		traced = append(traced, p.Traced.nsPerSignal())
		slow = append(slow, p.Slowdown())
		waitA = append(waitA, float64(p.Alone.waitNs)/float64(p.Alone.elapsedNs))
		waitT = append(waitT, float64(p.Traced.waitNs)/float64(p.Traced.elapsedNs))
		added = append(added, p.AddedNs())
		if p.Events > 0 {
			cpu = append(cpu, float64(p.Tracer.cpuAfterNs)/1e9/(float64(p.Events)/1e6))
			if p.StormCPUNs >= 0 {
				stormCPU = append(stormCPU, float64(p.StormCPUNs)/1e9/(float64(p.Events)/1e6))
			}
			rate = append(rate, float64(p.Events)/(float64(p.Traced.elapsedNs)/1e9))
			if p.EventsSeen >= 0 {
				seen = append(seen, float64(p.EventsSeen)/float64(p.Events))
			}
			if p.OutBytes >= 0 {
				bytesPer = append(bytesPer, float64(p.OutBytes)/float64(p.Events))
			}
		}
		if p.KernelCounted >= 0 && p.EventsSeen > 0 {
			kern = append(kern, float64(p.KernelCounted)/float64(p.EventsSeen))
		}
		st.Lost += p.Tracer.lost
		if p.Tracer.lost > 0 {
			st.LossyRuns++
		}
	}
	st.Alone, _ = summarize(alone)
	st.Traced, _ = summarize(traced)
	st.Slowdown, _ = summarize(slow)
	st.Added, _ = summarize(added)
	st.CPUPerM, _ = summarize(cpu)
	st.StormCPUPerM, st.StormCPUOK = summarize(stormCPU)
	st.Rate, _ = summarize(rate)
	st.WaitAlone, _ = summarize(waitA)
	st.WaitTraced, _ = summarize(waitT)
	st.BytesPerEvent = -1
	if s, ok := summarize(bytesPer); ok {
		st.BytesPerEvent = s.med
	}
	st.SeenFrac = -1
	if s, ok := summarize(seen); ok {
		st.SeenFrac = s.med
	}
	st.KernelFrac = -1
	if s, ok := summarize(kern); ok {
		st.KernelFrac = s.med
	}
	return st
}

func (res *Result) row(workload, key string) *Row {
	for _, r := range res.Rows {
		if r.Workload == workload && r.Variant.key == key {
			return r
		}
	}
	return nil
}

// ---- markdown ----

func pct(f float64) string { return fmt.Sprintf("%+.1f%%", 100*f) }

func rateStr(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2f M", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.0f k", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

// Target is one of the issue's goals, judged on this run.
type Target struct {
	Issue    string // which issue's goal, and for what
	Goal     string
	Measured string
	Met      bool
	Known    bool // false: not measured in this run
}

// Targets judges the issues' goals: issue 5's for full events (`trace -o
// json`), then issue 17's for counting.
func (res *Result) Targets() []Target {
	ts := res.eventTargets()
	for i := range ts {
		ts[i].Issue = "5: `trace -o json`"
	}
	return append(ts, res.countingTargets()...)
}

func (res *Result) eventTargets() []Target {
	var ts []Target

	t := Target{Goal: "ping-pong slowdown ≤ 10%"}
	if r := res.row("pingpong", "json"); r != nil {
		if st := r.Stats(); st.OK > 0 {
			t.Known, t.Met = true, st.Slowdown.med <= 0.10
			t.Measured = fmt.Sprintf("%s median (%s – %s), %.0f → %.0f ns/signal",
				pct(st.Slowdown.med), pct(st.Slowdown.min), pct(st.Slowdown.max), st.Alone.med, st.Traced.med)
		}
	}
	ts = append(ts, t)

	t = Target{Goal: "SIG_IGN storm ≤ +200 ns per signal"}
	if r := res.row("ign", "json"); r != nil {
		if st := r.Stats(); st.OK > 0 {
			t.Known, t.Met = true, st.Added.med <= 200
			t.Measured = fmt.Sprintf("%+.0f ns/signal median (%+.0f – %+.0f), %s",
				st.Added.med, st.Added.min, st.Added.max, pct(st.Slowdown.med))
		}
	}
	ts = append(ts, t)

	t = Target{Goal: "0 lost at ≥ 1.5 M events/s"}
	var maxRate float64
	var maxAt string
	var lost int64
	runs, lossy := 0, 0
	var aloneMax float64 // signals/s of the storm alone
	for _, r := range res.Rows {
		if r.Variant.tool != nil {
			continue // another program's losses and rates are not sigtrace's
		}
		for _, p := range r.Pairs {
			if p.Err != nil || p.Events == 0 {
				continue
			}
			runs++
			lost += p.Tracer.lost
			if p.Tracer.lost > 0 {
				lossy++
			}
			aloneMax = math.Max(aloneMax, float64(p.Alone.signals)/(float64(p.Alone.elapsedNs)/1e9))
			if rate := float64(p.Events) / (float64(p.Traced.elapsedNs) / 1e9); rate > maxRate {
				maxRate, maxAt = rate, r.Workload+", "+r.Variant.key
			}
		}
	}
	if runs > 0 {
		t.Known = true
		t.Met = lost == 0 && maxRate >= 1.5e6
		t.Measured = fmt.Sprintf("%d lost in %d traced runs", lost, runs)
		if lost > 0 {
			t.Measured = fmt.Sprintf("%d lost in %d of %d traced runs", lost, lossy, runs)
		}
		t.Measured += fmt.Sprintf("; peak %s events/s (%s)", rateStr(maxRate), maxAt)
		if maxRate < 1.5e6 {
			t.Measured += fmt.Sprintf(": that rate was not reached (one storm CPU; untraced it peaks at %s signals/s)", rateStr(aloneMax))
		}
	}
	ts = append(ts, t)

	t = Target{Goal: "tracer CPU ≤ 0.15 s per million events"}
	var parts []string
	worst := -1.0
	for _, w := range res.Cfg.Workloads {
		r := res.row(w, "json")
		if r == nil {
			continue
		}
		if st := r.Stats(); st.OK > 0 {
			parts = append(parts, fmt.Sprintf("%s %.3f", w, st.CPUPerM.med))
			worst = math.Max(worst, st.CPUPerM.med)
		}
	}
	if worst >= 0 {
		t.Known, t.Met = true, worst <= 0.15
		t.Measured = "s/M events, median: " + strings.Join(parts, ", ")
	}
	ts = append(ts, t)

	t = Target{Goal: "idle ≤ 1 ms CPU per second and ≤ 25 wake-ups per second"}
	for _, ir := range res.Idle {
		if ir.Variant.key == "json" && ir.Err == nil && ir.Seconds > 0 {
			cpu := float64(ir.CPUNs) / 1e6 / ir.Seconds
			wk := float64(ir.Switches) / ir.Seconds
			t.Known, t.Met = true, cpu <= 1 && wk <= 25
			t.Measured = fmt.Sprintf("%.3f ms CPU/s, %.1f wake-ups/s", cpu, wk)
		}
	}
	ts = append(ts, t)
	return ts
}

// Markdown renders the whole result.
func (res *Result) Markdown() string {
	var b strings.Builder
	m := res.Meta
	fmt.Fprintf(&b, "# sigtrace bench, %s\n\n", m.Date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- kernel %s; CPU %s × %d; %s\n", m.Kernel, m.CPUModel, m.CPUs, m.GoVersion)
	commit := "commit " + m.Commit
	if m.Dirty != "" {
		commit += " plus uncommitted changes in " + m.Dirty
	}
	fmt.Fprintf(&b, "- %s\n", commit)
	length := res.Cfg.Dur.String()
	if res.Cfg.Signals > 0 {
		length = fmt.Sprintf("%d signals", res.Cfg.Signals)
	}
	fmt.Fprintf(&b, "- storm pinned to CPU %d, tracer to CPU %d, both at nice %d; %d alternating pairs (storm alone, then traced) of %s per workload × variant; load average %s at start, %s at end; took %s\n",
		stormCPU, tracerCPU, res.Cfg.Nice, res.Cfg.Pairs, length, m.LoadStart, m.LoadEnd, res.Took.Round(time.Second))
	for _, v := range res.Variants {
		if v.missing != "" {
			fmt.Fprintf(&b, "- `%s`: %s\n", v.display(), v.missing)
		}
	}
	if n := res.Tracefs.note(); n != "" {
		fmt.Fprintf(&b, "- %s\n", n)
	}

	b.WriteString("\n## Storm alone vs traced\n\n")
	b.WriteString("| workload | tracer | alone ns/signal | traced ns/signal | slowdown median (min – max) | added ns/signal | tracer CPU s / M events | events/s | lost | storm off-CPU alone / traced |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var notes []string
	for _, r := range res.Rows {
		st := r.Stats()
		if st.OK == 0 {
			fmt.Fprintf(&b, "| %s | %s | failed | | | | | | | |\n", r.Workload, r.Variant.label)
			notes = append(notes, fmt.Sprintf("%s × %s failed: %v", r.Workload, r.Variant.label, st.FirstErr))
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %s (%s – %s) | %+.0f | %.3f | %s | %s | %.1f%% / %.1f%% |\n",
			r.Workload, r.Variant.label, st.Alone.med, st.Traced.med,
			pct(st.Slowdown.med), pct(st.Slowdown.min), pct(st.Slowdown.max),
			st.Added.med, st.CPUPerM.med, rateStr(st.Rate.med), lostStr(st.Lost, st.LossyRuns, st.OK), 100*st.WaitAlone.med, 100*st.WaitTraced.med)
		if st.Failed > 0 {
			notes = append(notes, fmt.Sprintf("%s × %s: %d of %d pairs failed: %v", r.Workload, r.Variant.label, st.Failed, len(r.Pairs), st.FirstErr))
		}
		if st.Contaminated > 0 {
			notes = append(notes, fmt.Sprintf("%s × %s: %d of %d pairs left out: another tracer was loaded during them", r.Workload, r.Variant.label, st.Contaminated, len(r.Pairs)))
		} else if n := contaminatedKept(r); n > 0 {
			notes = append(notes, fmt.Sprintf("%s × %s: in all %d pairs another tracer was loaded too: these numbers are not clean", r.Workload, r.Variant.label, n))
		}
		if st.SeenFrac >= 0 {
			held := "the output held"
			if r.Variant.output == "counts" {
				held = "its counts added up to"
			}
			notes = append(notes, fmt.Sprintf("%s × %s: %s %.1f%% of the events the storm caused (median; other processes' signals count too)",
				r.Workload, r.Variant.label, held, 100*st.SeenFrac))
		}
		if st.BytesPerEvent >= 0 {
			notes = append(notes, fmt.Sprintf("%s × %s: wrote %.2f bytes per event (median)", r.Workload, r.Variant.label, st.BytesPerEvent))
		}
		if n := kernelNote(r.Variant, st); n != "" {
			notes = append(notes, fmt.Sprintf("%s × %s: %s", r.Workload, r.Variant.label, n))
		}
	}
	b.WriteString("\nEvents: pingpong = 2 per signal (generate + deliver); ign = 1 (generate; SIG_IGN is never delivered); tgkill = 1 + the deliveries the receiving threads counted (a signal already pending on a thread is merged). `--no-deliver` counts generate only. Counting (see below): `'type == \"generate\"'` and bpftrace count generate events only, events = signals counted; `--count-by signal.name` counts every event it would print, generate + deliver. Tracer CPU is utime+stime after the ready line (rusage at exit minus /proc schedstat at attach), for bpftrace as for sigtrace. Lost: the tracer's `N events lost` line on stderr (and `lost` records in files). Storm off-CPU: the time the sending thread was runnable but not running (schedstat), median; pingpong and tgkill share CPU 0 with their own receivers, so compare alone with traced: a rise is other work on CPU 0, the tracer's included.\n")
	for _, n := range notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}

	res.writeCounting(&b)

	if len(res.Idle) > 0 {
		b.WriteString("\n## Idle: attached, no storm\n\n")
		b.WriteString("| tracer | window | CPU ms/s | wake-ups/s | CPU to attach (ms) |\n|---|---:|---:|---:|---:|\n")
		for _, ir := range res.Idle {
			if ir.Err != nil || ir.Seconds == 0 {
				fmt.Fprintf(&b, "| %s | failed: %v | | | |\n", ir.Variant.label, ir.Err)
				continue
			}
			fmt.Fprintf(&b, "| %s | %.1f s | %.3f | %.1f | %.0f |\n", ir.Variant.label, ir.Seconds,
				float64(ir.CPUNs)/1e6/ir.Seconds, float64(ir.Switches)/ir.Seconds, float64(ir.StartupNs)/1e6)
		}
		b.WriteString("\nWake-ups: voluntary + involuntary context switches of all the tracer's threads (/proc/PID/task/*/status).\n")
	}

	if len(res.Kernel) > 0 || res.KernelErr != nil {
		b.WriteString("\n## In kernel, per BPF program run (`trace -o json` attached)\n\n")
		b.WriteString("| trace | workload | program | runs | runs/s | ns/run |\n|---|---|---|---:|---:|---:|\n")
		for _, k := range res.Kernel {
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %.0f |\n", k.Tracer, k.Workload, k.Program, k.Runs, rateStr(float64(k.Runs)/k.Seconds), k.NsPerRun())
		}
		if res.KernelErr != nil {
			fmt.Fprintf(&b, "\nfailed: %v\n", res.KernelErr)
		}
		fmt.Fprintf(&b, "\nFrom the programs' run_time_ns/run_cnt with run-time statistics on (BPF_ENABLE_STATS, which is what kernel.bpf_stats_enabled shows; on only for this part, which is why its storm rates are not used above). kernel.bpf_stats_enabled: %s before, %s after.\n",
			res.StatsBefore, res.StatsAfter)
	}

	b.WriteString("\n## Targets\n\n| issue | target | this run | |\n|---|---|---|---|\n")
	for _, t := range res.Targets() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Issue, t.Goal, t.Measured, t.status())
	}

	b.WriteString("\n## Reference: the issue's numbers on this VM (ping-pong)\n\n| tracer | slowdown |\n|---|---:|\n")
	untraced := "≈ 2.5 µs per signal"
	if r := res.row("pingpong", "json"); r != nil {
		if st := r.Stats(); st.OK > 0 {
			untraced += fmt.Sprintf(" (this run: %.2f µs)", st.Alone.med/1000)
		}
	}
	fmt.Fprintf(&b, "| none (untraced ping-pong) | %s |\n", untraced)
	for _, ref := range [][2]string{
		{"libbpf-tools sigsnoop", "+84.7%"},
		{"bpftrace printf", "+84.4%"},
		{"perf trace", "+91.7%"},
		{"perf record", "+15.0%"},
		{"minimal batched ring-buffer reader", "+16.7% (+484 ns/signal)"},
		{"ring-buffer reader with the kernel's default wake-ups", "+66.7%"},
	} {
		fmt.Fprintf(&b, "| %s | %s |\n", ref[0], ref[1])
	}
	for _, r := range res.Rows {
		if r.Workload != "pingpong" {
			continue
		}
		if st := r.Stats(); st.OK > 0 {
			fmt.Fprintf(&b, "| **%s** (this run) | **%s** (%+.0f ns/signal) |\n", r.Variant.display(), pct(st.Slowdown.med), st.Added.med)
		}
	}
	return b.String()
}

func contaminatedKept(r *Row) int {
	n := 0
	for _, p := range r.Pairs {
		if p.Err == nil && len(p.Foreign) > 0 {
			n++
		}
	}
	return n
}

// WaitQuiet waits up to max for the 1-minute load average to fall below
// 0.5 (another engineer's build or test run makes the pairs noisy).
func WaitQuiet(max time.Duration, log io.Writer) bool {
	deadline := time.Now().Add(max)
	for {
		f := strings.Fields(loadAvg())
		if len(f) > 0 {
			if l, err := strconv.ParseFloat(f[0], 64); err == nil && l < 0.5 {
				return true
			}
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(log, "bench: load average still %s after %s; measuring anyway\n", loadAvg(), max)
			return false
		}
		fmt.Fprintf(log, "bench: load average %s, waiting for < 0.5\n", loadAvg())
		time.Sleep(15 * time.Second)
	}
}

// lostStr says how many events a row lost and in how many of its runs: one
// unlucky run and a steady loss read differently.
func lostStr(lost int64, lossy, runs int) string {
	if lost == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%d of %d runs)", lost, lossy, runs)
}
