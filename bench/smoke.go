package bench

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// SmokeConfig is a one-pair run of a tiny storm per workload: enough to
// show every part of the bench still works, in seconds.
func SmokeConfig() Config {
	return Config{
		Pairs:    1,
		Signals:  20000,
		Idle:     time.Second,
		KSignals: 20000,
		Variants: []string{"json"},
		Nice:     -20,
		Settle:   100 * time.Millisecond,
	}
}

// CheckSmoke says what is wrong with a smoke run's numbers, if anything.
func CheckSmoke(res *Result) error {
	var errs []error
	avail := 0
	for _, v := range res.Variants {
		if v.missing == "" {
			avail++
		}
	}
	if len(res.Rows) != len(res.Cfg.Workloads)*avail {
		errs = append(errs, fmt.Errorf("%d rows for %d workloads × %d variants", len(res.Rows), len(res.Cfg.Workloads), avail))
	}
	for _, r := range res.Rows {
		for _, p := range r.Pairs {
			name := r.Workload + " × " + r.Variant.label
			switch {
			case p.Err != nil:
				errs = append(errs, fmt.Errorf("%s: %v", name, p.Err))
			case p.Alone.signals <= 0 || p.Traced.signals <= 0:
				errs = append(errs, fmt.Errorf("%s: no signals sent", name))
			case p.Alone.nsPerSignal() < 10 || p.Traced.nsPerSignal() < 10:
				errs = append(errs, fmt.Errorf("%s: %.1f/%.1f ns per signal is not believable", name, p.Alone.nsPerSignal(), p.Traced.nsPerSignal()))
			case p.Events <= 0:
				errs = append(errs, fmt.Errorf("%s: no events", name))
			case p.Tracer.cpuNs <= 0:
				errs = append(errs, fmt.Errorf("%s: the tracer used no CPU", name))
			}
			if p.Err == nil && r.Variant.output == "counts" && p.EventsSeen <= 0 {
				errs = append(errs, fmt.Errorf("%s: no counts in its output", name))
			}
			if p.Err == nil && r.Variant.kernelCount && p.KernelCounted <= 0 {
				errs = append(errs, fmt.Errorf("%s: nothing in the kernel's counts map (%d)", name, p.KernelCounted))
			}
			if r.Workload != "ign" && p.Err == nil && p.Traced.delivered <= 0 {
				errs = append(errs, fmt.Errorf("%s: nothing delivered", name))
			}
		}
	}
	for _, ir := range res.Idle {
		if ir.Err != nil || ir.Seconds <= 0 {
			errs = append(errs, fmt.Errorf("idle %s: %v", ir.Variant.label, ir.Err))
		}
	}
	if res.KernelErr != nil {
		errs = append(errs, fmt.Errorf("in-kernel cost: %v", res.KernelErr))
	}
	var runs uint64
	for _, k := range res.Kernel {
		runs += k.Runs
	}
	if runs == 0 {
		errs = append(errs, errors.New("in-kernel cost: no program runs counted"))
	}
	if res.StatsAfter != "" && res.StatsAfter != res.StatsBefore {
		errs = append(errs, fmt.Errorf("kernel.bpf_stats_enabled was %s before and %s after", res.StatsBefore, res.StatsAfter))
	}
	md := res.Markdown()
	for _, want := range []string{"| workload | tracer |", "## Targets", "## Reference", "| pingpong |", "| ign |", "| tgkill |"} {
		if !strings.Contains(md, want) {
			errs = append(errs, fmt.Errorf("table has no %q", want))
		}
	}
	return errors.Join(errs...)
}
