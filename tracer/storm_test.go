package tracer

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkStorm drives a kill(2) storm at a receiver that ignores the
// signal, with the default ring size and a reader that only counts, and
// reports signals/s, events/s and events lost. It runs the storm once for
// SIGTRACE_STORM_FOR (default 10s), whatever b.N is:
//
//	sudo go test -run '^$' -bench Storm -benchtime 1x ./tracer
func BenchmarkStorm(b *testing.B) {
	requirePrivileged(b)
	dur := "10s"
	if s := os.Getenv("SIGTRACE_STORM_FOR"); s != "" {
		dur = s
	}
	target := spawn(b, "exec", withEnv("SIGTRACE_IGN="+sigList(syscall.SIGUSR1)))
	tr, err := New(Options{Signals: []int{int(syscall.SIGUSR1)}, NoDeliver: true})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	var received uint64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- tr.Run(ctx, func(ev *Event) error {
			if ev.Type == TypeGenerate {
				received++
			}
			return nil
		}, nil)
	}()

	b.ResetTimer()
	start := time.Now()
	storm := spawn(b, "storm", withEnv("SIGTRACE_STORM_TARGET="+strconv.Itoa(target.pid()), "SIGTRACE_STORM_FOR="+dur))
	line, err := storm.stdout.ReadString('\n') // the count, printed at the end
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	storm.wait(b)
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	st, err := tr.Stats()
	if err != nil {
		b.Fatal(err)
	}
	sent, _ := strconv.Atoi(strings.TrimSpace(line))
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "signals/s")
	b.ReportMetric(float64(received)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(st.Lost), "lost")
	b.Logf("storm: %d signals in %v, %d events received, %d lost (ring %d MiB)",
		sent, elapsed.Round(time.Millisecond), received, st.Lost, DefaultRingSize>>20)
	if received+st.Lost < uint64(sent) {
		b.Errorf("%d signals sent but only %d received + %d lost", sent, received, st.Lost)
	}
}
