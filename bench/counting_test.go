package bench

import (
	"errors"
	"strings"
	"testing"
)

func variantByKey(t *testing.T, key string) *variant {
	t.Helper()
	for _, v := range allVariants() {
		if v.key == key {
			return v
		}
	}
	t.Fatalf("no variant %q", key)
	return nil
}

// The counters' events: generate only for countkernel and bpftrace,
// generate + deliver for countby (as today), as for json.
func TestVariantEvents(t *testing.T) {
	storm := stormResult{signals: 1000, delivered: 990}
	for _, c := range []struct {
		key  string
		want int64
	}{
		{"json", 1990},
		{"nodeliver", 1000},
		{"countby", 1990},
		{"countkernel", 1000},
		{"bpftrace", 1000},
	} {
		if got := variantByKey(t, c.key).events(storm); got != c.want {
			t.Errorf("%s: %d events, want %d", c.key, got, c.want)
		}
	}
	for key, want := range map[string]bool{"json": false, "countby": true, "countkernel": true, "bpftrace": true} {
		if got := variantByKey(t, key).counting; got != want {
			t.Errorf("%s: counting %v, want %v", key, got, want)
		}
	}
	if v := variantByKey(t, "bpftrace"); v.tl() != bpftraceTool || v.display() != "bpftrace @[args->sig] = count()" {
		t.Errorf("bpftrace: tool %s, display %q", v.tl().name, v.display())
	}
	if v := variantByKey(t, "countkernel"); v.tl() != sigtraceTool || !strings.HasPrefix(v.display(), `sigtrace trace --count-by signal.name 'type == "generate"'`) {
		t.Errorf("countkernel: tool %s, display %q", v.tl().name, v.display())
	}
}

func TestReadyLines(t *testing.T) {
	for _, c := range []struct {
		tl   *tool
		line string
		want bool
	}{
		{sigtraceTool, "Tracing signals... Ctrl-C to stop.", true},
		{sigtraceTool, "Attaching 1 probe...", false},
		{bpftraceTool, "Attaching 1 probe...", true},
		{bpftraceTool, "Attaching 12 probes...", true},
		{bpftraceTool, `ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, you can try "ulimit -l 8192" to fix the problem`, false},
	} {
		if got := c.tl.ready.MatchString(c.line); got != c.want {
			t.Errorf("%s ready on %q: %v, want %v", c.tl.name, c.line, got, c.want)
		}
	}
}

func TestParseCounts(t *testing.T) {
	for _, c := range []struct {
		name, out string
		want      int64
	}{
		{"bpftrace", "Attaching 1 probe...\n\n\n@[25]: 1\n@[10]: 20000\n@[23]: 382\n", 20383},
		{"sigtrace", "count by signal.name\n@[SIGUSR1]: 187\n@[SIGURG]: 48\n", 235},
		{"keys with commas", "@[kill, app]: 3\n@[sh, x]: 4\n", 7},
		{"nothing", "Attaching 1 probe...\n", 0},
		{"not a count", "@[x]: many\n@x: 3\n", 0},
	} {
		if got := parseCounts(c.out); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

func TestSlowdownRatio(t *testing.T) {
	for _, c := range []struct {
		v, ref float64
		want   string
	}{
		{0.10, 0.20, "0.50×"},
		{0.30, 0.20, "1.50×"},
		{-0.02, 0.20, "-0.10×"},
		{0.10, 0.005, "n/a (bpftrace's +0.5%)"},
		{0.10, -0.03, "n/a (bpftrace's -3.0%)"},
	} {
		if got := slowdownRatio(c.v, c.ref); got != c.want {
			t.Errorf("slowdownRatio(%v, %v) = %q, want %q", c.v, c.ref, got, c.want)
		}
	}
}

// pairs makes a row's pairs: alone 1000 ns per signal, traced slower by
// each slowdown, one million events each, cpu s of tracer CPU.
func pairs(cpu float64, slowdowns ...float64) []Pair {
	var ps []Pair
	for _, s := range slowdowns {
		ps = append(ps, Pair{
			Alone:         stormResult{signals: 1e6, elapsedNs: 1e9},
			Traced:        stormResult{signals: 1e6, elapsedNs: int64((1 + s) * 1e9)},
			Tracer:        tracerExit{cpuAfterNs: int64(cpu * 1e9)},
			Events:        1e6,
			EventsSeen:    -1,
			KernelCounted: -1,
			StormCPUNs:    -1,
		})
	}
	return ps
}

type rowSpec struct {
	workload, key string
	cpu           float64
	slowdowns     []float64
}

func countingResult(t *testing.T, missing map[string]string, rows ...rowSpec) *Result {
	t.Helper()
	res := &Result{Cfg: Config{Workloads: []string{"pingpong", "ign"}}}
	for _, key := range []string{"countby", "countkernel", "bpftrace"} {
		v := variantByKey(t, key)
		v.missing = missing[key]
		res.Variants = append(res.Variants, v)
	}
	for _, r := range rows {
		res.Rows = append(res.Rows, &Row{Workload: r.workload, Variant: res.variant(r.key), Pairs: pairs(r.cpu, r.slowdowns...)})
	}
	return res
}

func countingTarget(ts []Target, key, goal string) *Target {
	for i := range ts {
		if ts[i].Issue == countingIssue && strings.Contains(ts[i].Goal, key) && strings.Contains(ts[i].Goal, goal) {
			return &ts[i]
		}
	}
	return nil
}

func TestCountingTargets(t *testing.T) {
	kernel := `'type == "generate"'`
	for _, c := range []struct {
		name    string
		missing map[string]string
		rows    []rowSpec
		// kernel counter's slowdown and CPU targets: "met", "**missed**", "not measured"
		slow, cpu string
		measured  []string // in the slowdown target's Measured
	}{
		{
			name: "less slowdown, little CPU",
			rows: []rowSpec{
				{"pingpong", "countkernel", 0.02, []float64{0.10, 0.12, 0.11}},
				{"pingpong", "bpftrace", 0.03, []float64{0.20, 0.18, 0.22}},
				{"ign", "countkernel", 0.04, []float64{0.30, 0.31, 0.29}},
				{"ign", "bpftrace", 0.03, []float64{0.40, 0.45, 0.35}},
			},
			slow: "met", cpu: "met",
			measured: []string{"pingpong +11.0% vs +20.0%", "ign +30.0% vs +40.0%"},
		},
		{
			name: "more slowdown on one workload, out of bpftrace's range; CPU over",
			rows: []rowSpec{
				{"pingpong", "countkernel", 0.02, []float64{0.10, 0.12, 0.11}},
				{"pingpong", "bpftrace", 0.03, []float64{0.20, 0.18, 0.22}},
				{"ign", "countkernel", 0.08, []float64{0.60, 0.65, 0.70}},
				{"ign", "bpftrace", 0.03, []float64{0.40, 0.45, 0.35}},
			},
			slow: "**missed**", cpu: "**missed**",
			measured: []string{"ign +65.0% vs +40.0% (more)"},
		},
		{
			name: "more slowdown within the pairs' ranges is still missed, and says so",
			rows: []rowSpec{
				{"pingpong", "countkernel", 0.02, []float64{0.21, 0.19, 0.25}},
				{"pingpong", "bpftrace", 0.03, []float64{0.20, 0.18, 0.22}},
			},
			slow: "**missed**", cpu: "met",
			measured: []string{"pingpong +21.0% vs +20.0% (more, within the pairs' ranges)"},
		},
		{
			name:    "bpftrace missing: slowdown not measured, CPU judged",
			missing: map[string]string{"bpftrace": "n/a: bpftrace is not installed (apt-get install bpftrace)"},
			rows:    []rowSpec{{"pingpong", "countkernel", 0.02, []float64{0.10}}},
			slow:    "not measured", cpu: "met",
			measured: []string{"bpftrace's count n/a: bpftrace is not installed"},
		},
		{
			name:    "kernel counter missing (FILTER not merged): neither measured",
			missing: map[string]string{"countkernel": "n/a: fails at start (FILTER expressions not merged yet?): ..."},
			rows:    []rowSpec{{"pingpong", "bpftrace", 0.03, []float64{0.20}}},
			slow:    "not measured", cpu: "not measured",
			measured: []string{"FILTER expressions not merged yet"},
		},
		{
			name: "no rows for the kernel counter: not measured",
			rows: []rowSpec{{"pingpong", "bpftrace", 0.03, []float64{0.20}}},
			slow: "not measured", cpu: "not measured",
			measured: []string{"no workload with both measured"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := countingResult(t, c.missing, c.rows...)
			for _, r := range res.Rows {
				if r.Variant.missing != "" {
					t.Fatalf("a row for missing variant %s", r.Variant.key)
				}
			}
			ts := res.Targets()
			slow := countingTarget(ts, kernel, "no more slowdown than bpftrace's")
			cpu := countingTarget(ts, kernel, "≤ 0.05 s per million events")
			if slow == nil || cpu == nil {
				t.Fatalf("no counting targets for the kernel counter in %+v", ts)
			}
			if slow.status() != c.slow || cpu.status() != c.cpu {
				t.Errorf("slowdown %s, CPU %s; want %s, %s\n%+v\n%+v", slow.status(), cpu.status(), c.slow, c.cpu, *slow, *cpu)
			}
			for _, m := range c.measured {
				if !strings.Contains(slow.Measured, m) {
					t.Errorf("slowdown target says %q, want it to contain %q", slow.Measured, m)
				}
			}
			md := res.Markdown()
			for _, want := range []string{"## Counting: next to bpftrace's count", "| issue | target | this run | |"} {
				if !strings.Contains(md, want) {
					t.Errorf("markdown has no %q", want)
				}
			}
		})
	}
}

// The Counting table puts each counter next to bpftrace's row on the
// same workload, with the ratio of their median slowdowns.
func TestCountingRows(t *testing.T) {
	res := countingResult(t, nil,
		rowSpec{"pingpong", "countby", 0.5, []float64{0.40}},
		rowSpec{"pingpong", "countkernel", 0.02, []float64{0.10}},
		rowSpec{"pingpong", "bpftrace", 0.03, []float64{0.20}},
		rowSpec{"ign", "countkernel", 0.02, []float64{0.30}},
	)
	rows := res.Counting()
	if len(rows) != 4 {
		t.Fatalf("%d counting rows, want 4", len(rows))
	}
	for _, r := range rows {
		if (r.Ref != nil) != (r.Workload == "pingpong") {
			t.Errorf("%s × %s: ref %v", r.Workload, r.Variant.key, r.Ref)
		}
	}
	md := res.Markdown()
	for _, want := range []string{
		"| pingpong | " + variantByKey(t, "countby").label + " | +40.0% (+40.0% – +40.0%) | +20.0% (+20.0% – +20.0%) | 2.00× |",
		"| pingpong | " + variantByKey(t, "countkernel").label + " | +10.0% (+10.0% – +10.0%) | +20.0% (+20.0% – +20.0%) | 0.50× |",
		"| pingpong | bpftrace @[args->sig] = count() | +20.0% (+20.0% – +20.0%) | +20.0% (+20.0% – +20.0%) | 1 (itself) |",
		"| ign | " + variantByKey(t, "countkernel").label + " | +30.0% (+30.0% – +30.0%) | n/a | n/a |",
		"| **bpftrace @[args->sig] = count()** (this run) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown has no %q\n%s", want, md)
		}
	}
	// Issue 5's loss and rate target is sigtrace's alone.
	for _, tg := range res.Targets() {
		if strings.Contains(tg.Goal, "0 lost") && strings.Contains(tg.Measured, "bpftrace") {
			t.Errorf("issue 5's target counts bpftrace: %+v", tg)
		}
	}
	// The CPU target shows bpftrace's figure next to each workload's.
	if tg := countingTarget(res.Targets(), `'type == "generate"'`, "≤ 0.05 s"); tg == nil || tg.status() != "met" ||
		!strings.Contains(tg.Measured, "pingpong 0.020 (bpftrace's 0.030), ign 0.020") {
		t.Errorf("countkernel CPU target: %+v", tg)
	}
	// countby's targets are judged too, under its own name.
	if tg := countingTarget(res.Targets(), "sigtrace trace --count-by signal.name (sent", "no more slowdown"); tg == nil || tg.status() != "**missed**" {
		t.Errorf("countby slowdown target: %+v", tg)
	}
}

func TestKernelNote(t *testing.T) {
	kv, gv := variantByKey(t, "countkernel"), variantByKey(t, "countby")
	for _, c := range []struct {
		v    *variant
		frac float64
		want string
	}{
		{kv, 1.0, "counted in the kernel: its counts map held 100.0%"},
		{kv, 0, "**not counted in the kernel**"},
		{kv, -1, "could not be read"},
		{gv, 1.0, "counted in the kernel: its counts map held 100.0%"},
		{variantByKey(t, "json"), 0, ""},
	} {
		got := kernelNote(c.v, RowStats{OK: 1, KernelFrac: c.frac})
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s at %v: %q, want %q", c.v.key, c.frac, got, c.want)
		}
	}
}

func TestTracefsNote(t *testing.T) {
	for _, c := range []struct {
		st   tracefsState
		want string
	}{
		{tracefsState{}, ""},
		{tracefsState{Needed: true, Had: "/sys/kernel/tracing"}, "already mounted at /sys/kernel/tracing"},
		{tracefsState{Needed: true, Mounted: true, Unmounted: true}, "mounted it at /sys/kernel/tracing for bpftrace and unmounted it afterwards"},
		{tracefsState{Needed: true, Mounted: true, UnmountErr: errors.New("device busy")}, "failed at device busy"},
		{tracefsState{Needed: true, Err: errors.New("tracefs is not mounted and mounting it failed")}, "mounting it failed"},
	} {
		got := c.st.note()
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%+v: %q, want %q", c.st, got, c.want)
		}
	}
}
