package main

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/tracer"
)

// tfParse parses a trace command line the way cobra does for `sigtrace
// trace` and converts it to tracer options.
func tfParse(t *testing.T, args ...string) (tracer.Options, error) {
	t.Helper()
	f := &traceFlags{}
	cmd := &cobra.Command{Use: "trace"}
	f.register(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		return tracer.Options{}, err
	}
	return f.tracerOptions()
}

func TestTraceFlagsToOptions(t *testing.T) {
	def := tracer.Options{RingSize: tracer.DefaultRingSize, HideSelf: true, History: tracer.HistoryFatal,
		RateLimit: tracer.RateLimit{Burst: tracer.DefaultRateBurst, Interval: tracer.DefaultRateInterval}}
	with := func(f func(*tracer.Options)) tracer.Options { o := def; f(&o); return o }
	// Asked for by signal, pid or name, or counted: every signal is shown.
	narrow := func(f func(*tracer.Options)) tracer.Options {
		return with(func(o *tracer.Options) { f(o); o.RateLimit = tracer.RateLimit{} })
	}
	for _, tc := range []struct {
		args []string
		want tracer.Options
	}{
		{nil, def},
		{[]string{"-o", "table"}, def},
		{[]string{"-o", "json"}, def},
		{[]string{"--output=json"}, def},
		{[]string{"-s", "HUP"}, narrow(func(o *tracer.Options) { o.Signals = []int{1} })},
		{[]string{"-s", "HUP,USR1"}, narrow(func(o *tracer.Options) { o.Signals = []int{1, 10} })},
		{[]string{"-s", "HUP", "-s", "15"}, narrow(func(o *tracer.Options) { o.Signals = []int{1, 15} })},
		{[]string{"--signal", "sigterm,SIGKILL,9"}, narrow(func(o *tracer.Options) { o.Signals = []int{15, 9, 9} })},
		{[]string{"-s", "RTMIN+3"}, narrow(func(o *tracer.Options) { o.Signals = []int{37} })},
		{[]string{"-s", "SIGRTMIN+3,SIGRTMAX-2,rtmin"}, narrow(func(o *tracer.Options) { o.Signals = []int{37, 62, 34} })},
		{[]string{"-s", "IOT,POLL"}, narrow(func(o *tracer.Options) { o.Signals = []int{6, 29} })},
		{[]string{"-p", "1234"}, narrow(func(o *tracer.Options) { o.AnyPIDs = []uint32{1234} })},
		{[]string{"-p", "1,2", "-p", "3"}, narrow(func(o *tracer.Options) { o.AnyPIDs = []uint32{1, 2, 3} })},
		{[]string{"--target-pid", "10", "--sender-pid", "20,21"}, narrow(func(o *tracer.Options) {
			o.TargetPIDs = []uint32{10}
			o.SenderPIDs = []uint32{20, 21}
		})},
		{[]string{"--comm", "nginx"}, narrow(func(o *tracer.Options) { o.Comms = []string{"nginx"} })},
		{[]string{"--comm", "nginx,cron", "--comm", " sshd "}, narrow(func(o *tracer.Options) { o.Comms = []string{"nginx", "cron", "sshd"} })},
		{[]string{"--no-deliver"}, with(func(o *tracer.Options) { o.NoDeliver = true })},
		{[]string{"--all-dispositions"}, with(func(o *tracer.Options) { o.History = tracer.HistoryAll })},
		{[]string{"--no-dispositions"}, with(func(o *tracer.Options) { o.History = tracer.HistoryOff })},
		{[]string{"--count-by", "signal.name"}, narrow(func(o *tracer.Options) { o.History = tracer.HistoryOff })},
		{[]string{"--hist", "latency_ns"}, narrow(func(o *tracer.Options) { o.History = tracer.HistoryOff })},
		{[]string{"--count-by", "signal.name", "--all-dispositions"}, narrow(func(o *tracer.Options) { o.History = tracer.HistoryAll })},
		{[]string{"--ring-size", "1"}, with(func(o *tracer.Options) { o.RingSize = 1 << 20 })},
		{[]string{"--ring-size", "64"}, with(func(o *tracer.Options) { o.RingSize = 64 << 20 })},
		{[]string{"--ring-size", "256"}, with(func(o *tracer.Options) { o.RingSize = 256 << 20 })},
		{[]string{"--comm", "systemd-journal"}, narrow(func(o *tracer.Options) { o.Comms = []string{"systemd-journal"} })},
		// Verdict classes, counts and durations are applied in Go, not
		// in the kernel: they leave the options alone.
		{[]string{"--fatal", "--failed", "--duration", "10s"}, def},
		{[]string{"--count", "3"}, narrow(func(*tracer.Options) {})},
		{[]string{"--rate-limit", "0"}, narrow(func(*tracer.Options) {})},
		{[]string{"--rate-limit", "60", "-p", "1"}, with(func(o *tracer.Options) {
			o.AnyPIDs = []uint32{1}
			o.RateLimit = tracer.RateLimit{Burst: 60, Interval: time.Second}
		})},
	} {
		got, err := tfParse(t, tc.args...)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.args, got, tc.want)
		}
	}
}

func TestTraceFlagsKeepGoSideFilters(t *testing.T) {
	f := &traceFlags{}
	cmd := &cobra.Command{Use: "trace"}
	f.register(cmd)
	if err := cmd.ParseFlags([]string{"--fatal", "--failed", "--count", "3", "--duration", "1m30s"}); err != nil {
		t.Fatal(err)
	}
	if !f.fatal || !f.failed || f.count != 3 || f.duration != 90*time.Second {
		t.Errorf("flags = %+v", f)
	}
}

// Every bad value is one line that names the flag or the value.
func TestTraceFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		mentions []string
	}{
		{[]string{"-s", "FOO"}, []string{"unknown signal", `"FOO"`}},
		{[]string{"-s", "HUP,FOO"}, []string{"unknown signal", `"FOO"`}},
		{[]string{"-s", "0"}, []string{"0", "out of range"}},
		{[]string{"-s", "65"}, []string{"65", "out of range"}},
		{[]string{"-s", "RTMIN+40"}, []string{`"RTMIN+40"`}},
		{[]string{"-s", ","}, []string{"empty signal list"}},
		{[]string{"-p", "abc"}, []string{"--pid", `"abc"`}},
		{[]string{"-p", "0"}, []string{"--pid", `"0"`}},
		{[]string{"-p", "-1"}, []string{"--pid", `"-1"`}},
		{[]string{"--pid=-1"}, []string{"--pid", `"-1"`}},
		{[]string{"-p", "12,x"}, []string{"--pid", `"x"`}},
		{[]string{"-p", "4294967296"}, []string{"--pid", `"4294967296"`}},
		{[]string{"--target-pid", "abc"}, []string{"--target-pid", `"abc"`}},
		{[]string{"--sender-pid", "0"}, []string{"--sender-pid", `"0"`}},
		{[]string{"--ring-size", "3"}, []string{"--ring-size 3", "power of two"}},
		{[]string{"--ring-size", "0"}, []string{"--ring-size 0"}},
		{[]string{"--ring-size", "2048"}, []string{"--ring-size 2048"}},
		{[]string{"--ring-size", "1024"}, []string{"--ring-size 1024", "between 1 and 256 MiB"}},
		// 16 bytes: the kernel keeps 15, and the cut name matches others.
		{[]string{"--comm", "systemd-journald"}, []string{`--comm "systemd-journald"`, "15 bytes", `--comm "systemd-journal"`}},
		{[]string{"--ring-size=-4"}, []string{"--ring-size -4"}},
		{[]string{"--ring-size", "big"}, []string{"ring-size", `"big"`}},
		{[]string{"-o", "yaml"}, []string{"output format", `"yaml"`}},
		{[]string{"-o", ""}, []string{"output format", `""`}},
		{[]string{"--count=-1"}, []string{"--count -1"}},
		{[]string{"--count", "many"}, []string{"count", `"many"`}},
		{[]string{"--duration=-5s"}, []string{"--duration -5s"}},
		{[]string{"--duration", "soon"}, []string{"duration", `"soon"`}},
		{[]string{"--comm", " "}, []string{"--comm"}},
		// pflag reads '' as an empty list: not "every process".
		{[]string{"--comm", ""}, []string{"empty --comm"}},
		{[]string{"--comm="}, []string{"empty --comm"}},
		{[]string{"-p", ""}, []string{"empty --pid"}},
		{[]string{"--target-pid", ""}, []string{"empty --target-pid"}},
		{[]string{"--sender-pid="}, []string{"empty --sender-pid"}},
		// Above PID_MAX_LIMIT (4194304): above pid_max on every kernel.
		{[]string{"-p", "99999999"}, []string{"--pid", `"99999999"`, "pid_max"}},
		{[]string{"-p", "1,4194304"}, []string{"--pid", `"4194304"`, "pid_max"}},
		{[]string{"--target-pid", "99999999"}, []string{"--target-pid", `"99999999"`, "pid_max"}},
		{[]string{"--sender-pid", "4294967295"}, []string{"--sender-pid", `"4294967295"`, "pid_max"}},
		{[]string{"--bogus"}, []string{"--bogus"}},
	} {
		_, err := tfParse(t, tc.args...)
		if err == nil {
			t.Errorf("%q: accepted, want an error", tc.args)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("%q: error on several lines: %q", tc.args, msg)
		}
		for _, m := range tc.mentions {
			if !strings.Contains(msg, m) {
				t.Errorf("%q: error %q does not mention %s", tc.args, msg, m)
			}
		}
	}
}

// The limit is the kernel's pid_max, read at parse time; a process that
// got its pid before pid_max was lowered is still accepted.
func TestTraceFlagsPidMax(t *testing.T) {
	saved := pidMax
	t.Cleanup(func() { pidMax = saved })
	// A limit no live process has: one that does is still accepted (it
	// got its pid before pid_max was lowered), which a guest's pid 1000
	// once was.
	limit := uint64(1000)
	for pidExists(limit) {
		limit++
	}
	pidMax = func() uint64 { return limit }
	below := strconv.FormatUint(limit-1, 10)
	if o, err := tfParse(t, "-p", below); err != nil || len(o.AnyPIDs) != 1 || uint64(o.AnyPIDs[0]) != limit-1 {
		t.Errorf("-p %s under pid_max %d: %v, %v", below, limit, o.AnyPIDs, err)
	}
	_, err := tfParse(t, "--target-pid", strconv.FormatUint(limit, 10))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("pid_max %d", limit)) {
		t.Errorf("--target-pid %d under pid_max %d: %v, want a pid_max error", limit, limit, err)
	}
	pidMax = func() uint64 { return 1 }
	self := strconv.Itoa(os.Getpid())
	if o, err := tfParse(t, "--sender-pid", self); err != nil || len(o.SenderPIDs) != 1 {
		t.Errorf("a live pid above a lowered pid_max: %v, %v", o.SenderPIDs, err)
	}
	// And the real pid_max of this kernel.
	pidMax = saved
	limit = saved()
	if limit < 301 || limit > pidMaxLimit {
		t.Fatalf("pid_max read as %d", limit)
	}
	if _, err := tfParse(t, "-p", strconv.FormatUint(limit, 10)); err == nil && !pidExists(limit) {
		t.Errorf("-p pid_max (%d) accepted", limit)
	}
}

// tfRun runs the command line in-process and captures what it prints.
func tfRun(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	capture := func(f **os.File) (done func() string) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		saved := *f
		*f = w
		out := make(chan string)
		go func() {
			b, _ := io.ReadAll(r)
			out <- string(b)
		}()
		return func() string {
			*f = saved
			w.Close()
			s := <-out
			r.Close()
			return s
		}
	}
	doneOut := capture(&os.Stdout)
	doneErr := capture(&os.Stderr)
	status = run(args)
	return status, doneOut(), doneErr()
}

// Paths that fail before anything is loaded: no privileges needed.
func TestTraceCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		mentions []string
	}{
		{[]string{"trace", `sig == "x"`}, []string{"bad filter at column 5", "mismatched types number and string"}},
		{[]string{"trace", "-s", "HUP", `target.comn == "x"`}, []string{"unknown field target.comn (did you mean target.comm?)"}},
		{[]string{"trace", "sig ==", "SIGHUP"}, []string{"one FILTER expression, quoted as one argument"}},
		{[]string{"trace", "-s", "FOO"}, []string{"unknown signal", `"FOO"`}},
		{[]string{"trace", "-p", "abc"}, []string{"--pid", `"abc"`}},
		{[]string{"trace", "--target-pid", "0"}, []string{"--target-pid", `"0"`}},
		{[]string{"trace", "--ring-size", "3"}, []string{"--ring-size 3"}},
		{[]string{"trace", "-o", "yaml"}, []string{"output format", `"yaml"`}},
		{[]string{"trace", "--count=-1"}, []string{"--count -1"}},
		{[]string{"trace", "--count", "x"}, []string{"count", `"x"`}},
		{[]string{"trace", "--nope"}, []string{"--nope"}},
		{[]string{"trace", "-p", "99999999"}, []string{"--pid", `"99999999"`, "pid_max"}},
		{[]string{"trace", "--comm", ""}, []string{"empty --comm"}},
	} {
		status, stdout, stderr := tfRun(t, tc.args...)
		if status != 2 {
			t.Errorf("%q: exit status %d, want 2 (stderr %q)", tc.args, status, stderr)
		}
		if stdout != "" {
			t.Errorf("%q: printed on stdout: %q", tc.args, stdout)
		}
		if !strings.HasPrefix(stderr, "sigtrace: ") || !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: stderr is not one \"sigtrace: ...\" line: %q", tc.args, stderr)
		}
		for _, m := range tc.mentions {
			if !strings.Contains(stderr, m) {
				t.Errorf("%q: stderr %q does not mention %s", tc.args, stderr, m)
			}
		}
		if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
			t.Errorf("%q: a stack trace: %q", tc.args, stderr)
		}
	}
	// The exact lines for a bad filter, as a user sees them.
	for _, tc := range []struct{ expr, want string }{
		{`sig == "x"`, `sigtrace: bad filter at column 5 (at '== "x"'): invalid operation: == (mismatched types number and string)` + "\n"},
		{`target.comn == "x"`, `sigtrace: bad filter at column 1 (at 'target.comn == "x"'): unknown field target.comn (did you mean target.comm?)` + "\n"},
	} {
		if _, _, stderr := tfRun(t, "trace", tc.expr); stderr != tc.want {
			t.Errorf("trace %q: stderr %q, want %q", tc.expr, stderr, tc.want)
		}
	}
	// The exact line for an unknown signal, as a user sees it.
	_, _, stderr := tfRun(t, "trace", "-s", "FOO")
	if want := `sigtrace: unknown signal "FOO"`; !strings.HasPrefix(stderr, want) {
		t.Errorf("stderr = %q, want it to start with %q", stderr, want)
	}
}

// What a FILTER asks for is never summarised, unless --rate-limit says so.
func TestFilterTurnsRateLimitOff(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want tracer.RateLimit
	}{
		{nil, tracer.RateLimit{}},
		{[]string{"--rate-limit", "60"}, tracer.RateLimit{Burst: 60, Interval: time.Second}},
	} {
		f := &traceFlags{}
		cmd := &cobra.Command{Use: "trace"}
		f.register(cmd)
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		if err := f.setFilter([]string{`target.comm matches "^nginx"`}); err != nil {
			t.Fatal(err)
		}
		o, err := f.tracerOptions()
		if err != nil {
			t.Fatal(err)
		}
		if o.RateLimit != tc.want {
			t.Errorf("%q with a FILTER: rate limit %+v, want %+v", tc.args, o.RateLimit, tc.want)
		}
	}
}
