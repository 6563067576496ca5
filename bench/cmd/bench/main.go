// Command bench measures what sigtrace costs the processes it watches and
// prints a markdown table; `make bench` runs it through bench/run.sh.
//
//	sudo go run ./bench/cmd/bench [-pairs 5] [-d 2s] [-idle 10s] [-o bench/results/latest.md]
//	sudo go run ./bench/cmd/bench -smoke
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sigtrace/sigtrace/bench"
)

func main() {
	var cfg bench.Config
	var waitQuiet time.Duration
	flag.IntVar(&cfg.Pairs, "pairs", 5, "alternating alone/traced pairs per workload × variant")
	flag.DurationVar(&cfg.Dur, "d", time.Second, "storm length per run")
	flag.Int64Var(&cfg.Signals, "n", 0, "storm length in signals instead of -d")
	flag.DurationVar(&cfg.Idle, "idle", 10*time.Second, "idle window: tracer attached, no storm (0: skip)")
	flag.DurationVar(&cfg.KDur, "kernel", 2*time.Second, "storm length per workload for the in-kernel cost (0: skip)")
	flag.IntVar(&cfg.Nice, "nice", -20, "nice level of the storm and the tracer, against other work on the machine (0: unchanged)")
	flag.DurationVar(&cfg.ForeignWait, "foreign-wait", time.Minute, "before each run, wait this long for other tracing BPF programs (a test suite) to unload; pairs with one loaded are run again (0: neither)")
	flag.DurationVar(&cfg.Settle, "settle", 500*time.Millisecond, "pause after the tracer attaches, and before each storm alone")
	flag.DurationVar(&waitQuiet, "wait-quiet", 0, "first wait up to this long for a 1-minute load average below 0.5")
	workloads := flag.String("workloads", strings.Join(bench.Workloads, ","), "workloads to run")
	variants := flag.String("variants", "", "tracer variants to run, of "+strings.Join(bench.VariantKeys(), ",")+" (default: all that exist)")
	out := flag.String("o", "bench/results/latest.md", "also write the table here, relative to the repository root (\"\": do not)")
	smoke := flag.Bool("smoke", false, "one pair of a 20k-signal storm per workload, 1s idle, no file: checks the bench works (of -variants, default json)")
	flag.Parse()
	if waitQuiet > 0 {
		bench.WaitQuiet(waitQuiet, os.Stderr)
	}

	cfg.Workloads = split(*workloads)
	cfg.Variants = split(*variants)
	if *smoke {
		nice, wait, workloads, variants := cfg.Nice, cfg.ForeignWait, cfg.Workloads, cfg.Variants
		cfg = bench.SmokeConfig()
		cfg.Nice, cfg.ForeignWait, cfg.Workloads = nice, wait, workloads
		if len(variants) > 0 {
			cfg.Variants = variants
		}
		*out = ""
	}
	cfg.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	md := res.Markdown()
	fmt.Print("\n" + md)
	if *out != "" {
		path := *out
		if !filepath.IsAbs(path) {
			path = filepath.Join(res.Cfg.Root, path)
		}
		err := os.MkdirAll(filepath.Dir(path), 0o755)
		if err == nil {
			err = os.WriteFile(path, []byte(md), 0o644)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: writing %s: %v\n", path, err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", path)
	}
	if *smoke {
		if err := bench.CheckSmoke(res); err != nil {
			fmt.Fprintf(os.Stderr, "bench: smoke: %v\n", err)
			os.Exit(1)
		}
	}
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
