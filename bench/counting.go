package bench

import (
	"fmt"
	"math"
	"strings"
)

// Issue 17, part 4: counting where every key is known in the kernel, so a
// storm costs no ring copy, next to bpftrace's
// `@[args->sig] = count()` on the same storm. Goals: no more slowdown
// than bpftrace's count, and tracer CPU ≤ 0.05 s per million events.

const (
	countingIssue = "17.4: counting"
	countCPUGoal  = 0.05 // s of tracer CPU per million events
	refKey        = "bpftrace"
	// minRefSlowdown: below this bpftrace's slowdown is too close to
	// nothing (noise) to divide by.
	minRefSlowdown = 0.01
)

// CountRow is one counting variant on one workload, next to bpftrace's
// count on the same workload.
type CountRow struct {
	Workload string
	Variant  *variant
	St       RowStats
	Ref      *RowStats // bpftrace's; nil: not measured (or all its pairs failed)
}

// Counting lists the counting variants' rows, bpftrace's included, by
// workload.
func (res *Result) Counting() []CountRow {
	var out []CountRow
	for _, w := range res.Cfg.Workloads {
		var ref *RowStats
		if r := res.row(w, refKey); r != nil {
			if st := r.Stats(); st.OK > 0 {
				ref = &st
			}
		}
		for _, r := range res.Rows {
			if r.Workload != w || !r.Variant.counting {
				continue
			}
			out = append(out, CountRow{Workload: w, Variant: r.Variant, St: r.Stats(), Ref: ref})
		}
	}
	return out
}

// slowdownRatio is a slowdown over bpftrace's, as the table shows it.
func slowdownRatio(v, ref float64) string {
	if ref < minRefSlowdown {
		return fmt.Sprintf("n/a (bpftrace's %s)", pct(ref))
	}
	return fmt.Sprintf("%.2f×", v/ref)
}

// overlap says whether two spreads' ranges overlap: a difference of
// medians within the pairs' noise.
func overlap(a, b spread) bool { return a.min <= b.max && b.min <= a.max }

func (res *Result) variant(key string) *variant {
	for _, v := range res.Variants {
		if v.key == key {
			return v
		}
	}
	return nil
}

// countingTargets judges issue 17's goals for the kernel counter
// (countkernel, always listed) and the Go one (countby, when measured).
func (res *Result) countingTargets() []Target {
	var ts []Target
	for _, key := range []string{"countkernel", "countby"} {
		v := res.variant(key)
		if v == nil && key != "countkernel" {
			continue
		}
		name := "`sigtrace trace --count-by signal.name '" + kernelCountFilter + "'` (in the kernel)"
		if v != nil {
			name = "`" + v.display() + "`"
		}
		slow := Target{Issue: countingIssue, Goal: name + ": no more slowdown than bpftrace's count on the same storm"}
		cpu := Target{Issue: countingIssue, Goal: fmt.Sprintf("%s: tracer CPU ≤ %.2f s per million events", name, countCPUGoal)}
		switch {
		case v == nil:
			slow.Measured, cpu.Measured = "not selected (-variants)", "not selected (-variants)"
			ts = append(ts, slow, cpu)
			continue
		case v.missing != "":
			slow.Measured, cpu.Measured = v.missing, v.missing
			ts = append(ts, slow, cpu)
			continue
		}

		var sparts, cparts []string
		worse := false
		worst := -1.0
		for _, w := range res.Cfg.Workloads {
			r := res.row(w, key)
			if r == nil {
				continue
			}
			st := r.Stats()
			if st.OK == 0 {
				continue
			}
			worst = math.Max(worst, st.CPUPerM.med)
			cpart := fmt.Sprintf("%s %.3f", w, st.CPUPerM.med)
			var extra []string
			if st.StormCPUOK {
				extra = append(extra, fmt.Sprintf("during the storm %.3f", st.StormCPUPerM.med))
			}
			b := res.row(w, refKey)
			var bst RowStats
			if b != nil {
				bst = b.Stats()
			}
			if bst.OK > 0 {
				extra = append(extra, fmt.Sprintf("bpftrace's %.3f", bst.CPUPerM.med))
			}
			if len(extra) > 0 {
				cpart += " (" + strings.Join(extra, "; ") + ")"
			}
			cparts = append(cparts, cpart)
			if bst.OK == 0 {
				continue
			}
			part := fmt.Sprintf("%s %s vs %s", w, pct(st.Slowdown.med), pct(bst.Slowdown.med))
			if st.Slowdown.med > bst.Slowdown.med {
				worse = true
				if overlap(st.Slowdown, bst.Slowdown) {
					part += " (more, within the pairs' ranges)"
				} else {
					part += " (more)"
				}
			}
			sparts = append(sparts, part)
		}
		if len(sparts) > 0 {
			slow.Known, slow.Met = true, !worse
			slow.Measured = "median slowdown, this vs bpftrace's: " + strings.Join(sparts, "; ")
		} else if rv := res.variant(refKey); rv == nil {
			slow.Measured = "bpftrace's count not selected (-variants)"
		} else if rv.missing != "" {
			slow.Measured = "bpftrace's count " + rv.missing
		} else {
			slow.Measured = "no workload with both measured"
		}
		if worst >= 0 {
			cpu.Known, cpu.Met = true, worst <= countCPUGoal
			cpu.Measured = "s/M events, median: " + strings.Join(cparts, ", ")
		}
		ts = append(ts, slow, cpu)
	}
	return ts
}

func (t Target) status() string {
	switch {
	case !t.Known:
		return "not measured"
	case t.Met:
		return "met"
	}
	return "**missed**"
}

// kernelNote says whether a kernel counter's counts were in the kernel's
// map ("" for other variants, or nothing read).
func kernelNote(v *variant, st RowStats) string {
	if !v.kernelCount || st.OK == 0 {
		return ""
	}
	switch {
	case st.KernelFrac < 0:
		return "the kernel's counts map could not be read"
	case st.KernelFrac == 0:
		return "**not counted in the kernel**: sigtrace's counts map stayed empty (it counted in Go?)"
	}
	return fmt.Sprintf("counted in the kernel: its counts map held %.1f%% of the counts printed (median; read just before SIGINT)", 100*st.KernelFrac)
}

// writeCounting renders the Counting comparison.
func (res *Result) writeCounting(b *strings.Builder) {
	rows := res.Counting()
	if len(rows) == 0 {
		return
	}
	b.WriteString("\n## Counting: next to bpftrace's count\n\n")
	fmt.Fprintf(b, "Each counter's slowdown of a storm next to `bpftrace -e '%s'`'s on the same workload (pairs interleaved in the same run). Ratio: its median slowdown over bpftrace's (below 1: less). Goals (issue 17): no more slowdown than bpftrace's count; tracer CPU ≤ %.2f s per million events.\n\n", bpftraceCount, countCPUGoal)
	b.WriteString("| workload | counter | slowdown median (min – max) | bpftrace's slowdown | ratio | added ns/signal (bpftrace's) | tracer CPU s / M events (bpftrace's) | of which during the storm (bpftrace's) | events/s |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	stormCPU := func(st *RowStats) string {
		if !st.StormCPUOK {
			return "?"
		}
		return fmt.Sprintf("%.3f", st.StormCPUPerM.med)
	}
	for _, c := range rows {
		if c.St.OK == 0 {
			fmt.Fprintf(b, "| %s | %s | failed | | | | | | |\n", c.Workload, c.Variant.label)
			continue
		}
		refSlow, ratio, refAdded, refCPU, refStorm := "n/a", "n/a", "", "", ""
		if c.Ref != nil {
			refSlow = fmt.Sprintf("%s (%s – %s)", pct(c.Ref.Slowdown.med), pct(c.Ref.Slowdown.min), pct(c.Ref.Slowdown.max))
			ratio = slowdownRatio(c.St.Slowdown.med, c.Ref.Slowdown.med)
			refAdded = fmt.Sprintf(" (%+.0f)", c.Ref.Added.med)
			refCPU = fmt.Sprintf(" (%.3f)", c.Ref.CPUPerM.med)
			refStorm = " (" + stormCPU(c.Ref) + ")"
		}
		if c.Variant.key == refKey {
			ratio = "1 (itself)"
			refAdded, refCPU, refStorm = "", "", ""
		}
		fmt.Fprintf(b, "| %s | %s | %s (%s – %s) | %s | %s | %+.0f%s | %.3f%s | %s%s | %s |\n",
			c.Workload, c.Variant.label, pct(c.St.Slowdown.med), pct(c.St.Slowdown.min), pct(c.St.Slowdown.max),
			refSlow, ratio, c.St.Added.med, refAdded, c.St.CPUPerM.med, refCPU, stormCPU(&c.St), refStorm, rateStr(c.St.Rate.med))
	}
	b.WriteString("\nEvents: `'" + kernelCountFilter + "'` and bpftrace count generate events only (events = signals counted); `--count-by signal.name` counts generate + deliver, so its CPU per event is over more events. Tracer CPU is measured the same way for every counter: utime+stime from rusage at exit minus /proc schedstat once attached (sigtrace: its \"Ctrl-C to stop\" line; bpftrace: its \"Attaching N probes...\" line, then the process holding a BPF program and a perf event), so it includes what is done once per run after attaching (printing the counts, detaching, exiting): with short storms that fixed part weighs on the per-event figure. \"During the storm\" is the schedstat CPU of its threads from just before the storm to its end, without that part; the goal is judged on the first.\n")
	if v := res.variant(refKey); v != nil && v.missing != "" {
		fmt.Fprintf(b, "- bpftrace: %s\n", v.missing)
	}
}
