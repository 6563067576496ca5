package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/tracer"
)

// readyLine tells people (and tests reading stderr) that probes are attached.
const readyLine = "Tracing signals... Ctrl-C to stop."

func init() { extraCommands = append(extraCommands, newTraceCmd) }

func newTraceCmd() *cobra.Command {
	f := &traceFlags{}
	cmd := &cobra.Command{
		Use:   "trace [FILTER]",
		Short: "Trace signals live: sender → target → disposition → verdict",
		Long: `Shows every signal on the machine as it is sent: who sent it (with its
parent chain and argv), to whom, with which si_code, what the receiver was set
up to do with it, and what will happen. FATAL marks a signal the receiver will
die of; "unprepared" means it could have caught it but has no handler. A
blocked signal says what it will do once unblocked (JSON when_unblocked:
terminate, core, stop, ignore or handler).

A process that catches a signal and sends it to itself again to die of it
(the Go runtime for SIGHUP, SIGINT and SIGTERM without signal.Notify,
Python's KeyboardInterrupt, shells, C's signal(sig, SIG_DFL); raise(sig))
is not named as its own killer: the re-raise row says "re-raise of SIGHUP
from pkill[120] ← sh ← ..." (JSON reraise_of) and the EXIT row names the
original sender (killer_via "reraise"), when that sender's signal was seen
in the 10 s before. With --fatal the original's row, which met a handler,
is left out; the fatal re-raise and the EXIT row show it.

A signal sent to a Go program meets the Go runtime's handler, but the
runtime re-raises SIGHUP, SIGINT and SIGTERM (and crashes on SIGQUIT) unless
the program called signal.Notify for it: when its notify mask can be read
from its memory, that row says FATAL (JSON go_runtime), and --fatal shows it.

Rows name processes by their process's name (JSON comm), and a thread by its
own when it has one (thread_comm); --comm matches either. The SIGKILLs the
kernel gives a process's other threads when it calls exit_group() or execs
are left out of the table unless --thread-kills (JSON kill_cause).

When output falls behind (a slow pipe) and the ring buffer fills, the
ring keeps an eighth of its room for the records of deaths (a signal that
kills now, its delivery, the exit) and sheds the others first, so no
flood of ignored or handled signals from any user can hide a kill. What
is dropped is always counted: LOST rows (JSON "lost" records, whose
"shed" says how many were shed for that room) and a total on stderr.

Once attached, trace keeps only the capabilities its reading needs
(cap_sys_ptrace and cap_dac_read_search for /proc and cgroup names;
cap_sys_admin with --pending-after, for kernel stacks; cap_bpf before Linux
6.5, for the lost counters), opens files as nobody, and sets no_new_privs;
if it cannot, it stops with one line, unless --keep-privileges (--debug
names each capability kept and why). On Ctrl-C, SIGTERM, SIGQUIT or at
--duration it detaches first, then reads everything still in the ring, so
the rows shown plus the LOST counts are every signal seen while attached.

--count N counts signals, not rows: after the Nth signal sent, no further
one is shown, but the rows that tell what became of the counted ones (their
delivery, the death they caused) still are, for up to ` + countGrace.String() + `.` + filterHelp,
		Example: `  sudo sigtrace trace
  sudo sigtrace trace -s HUP,USR1 --fatal
  sudo sigtrace trace -p 1234 -o json
  sudo sigtrace trace --comm nginx --duration 10m
  sudo sigtrace trace 'sig == SIGHUP && target.comm == "logdeviced"'
  sudo sigtrace trace -o json 'verdict == "fatal" && unprepared'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.setFilter(args); err != nil {
				return err
			}
			f.signalSet = cmd.Flags().Changed("signal")
			debug, _ := cmd.Flags().GetBool("debug")
			return runTrace(cmd.Context(), f, debug)
		},
	}
	f.register(cmd)
	return cmd
}

func runTrace(parent context.Context, f *traceFlags, debug bool) error {
	opts, err := f.tracerOptions()
	if err != nil {
		return err
	}
	opts.Debug = debug
	out, err := f.newTraceSink(os.Stdout)
	if err != nil {
		return err
	}
	inKernel := f.kernelCounting(&opts, out)
	if inKernel && debug {
		fmt.Fprintln(os.Stderr, "sigtrace: counting in the kernel: every key and the whole filter are the kernel's")
	}

	// It practices what it preaches: the signals that kill unprepared
	// daemons are ignored, and a closed stdout ends it quietly instead of
	// killing it with SIGPIPE.
	signal.Ignore(syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPIPE)
	// SIGQUIT (Ctrl-\) is a user's other stop key; left to the Go
	// runtime it dumps every goroutine and exits 2.
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM, syscall.SIGQUIT)
	defer stop()
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}

	// --count ends the trace through ctx too, once the rows of the
	// signals it counted are in or countGrace has passed.
	ctx, endCount := context.WithCancel(ctx)
	defer endCount()

	tr, err := tracer.New(opts)
	if err != nil {
		return err
	}
	defer tr.Close()
	// Opened while it may still create files anywhere: after the drop
	// files are opened as nobody.
	var ready *os.File
	if f.readyFile != "" {
		if ready, err = os.OpenFile(f.readyFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
			return fmt.Errorf("writing ready file: %w", err)
		}
		defer ready.Close()
	}
	if !f.keepPrivs {
		if err := dropPrivileges(tr, debug, false); err != nil {
			return err
		}
	}
	if inKernel {
		out.sum.feed = &kernelFeed{tr: tr}
	}
	var lost lostCount
	finished := make(chan struct{})
	defer close(finished)
	go stopWatchdog(ctx, finished, out, &lost)

	warnHistory(tr, &opts) // once it is sure to trace: a bad ready file is its one line
	fmt.Fprintln(os.Stderr, readyLine)
	if ready != nil {
		if _, err := ready.WriteString("ready\n"); err != nil {
			return fmt.Errorf("writing ready file: %w", err)
		}
	}
	if err := out.header(); err != nil {
		return quietOnClosedStdout(err)
	}
	out.startSummaries(endCount)

	var counter *signalCounter
	if f.count > 0 {
		counter = newSignalCounter(f.count, f)
	}
	var grace *time.Timer
	errEnough := errors.New("enough events")
	tick := out.flush
	var peak goroutinePeak
	if debug {
		tick = func() error { peak.sample(); return out.flush() }
	}
	runErr := tr.Run(ctx, func(ev *tracer.Event) error {
		switch ev.Type {
		case tracer.TypeLost:
			lost.add(ev)
			return out.write(ev) // lost events are never filtered out
		case tracer.TypeCount:
			// What the rate limit summarised: of events the kernel's
			// part of the filter let through.
			return out.write(ev)
		}
		if !f.match(ev) {
			return nil
		}
		if counter == nil {
			return out.write(ev)
		}
		show, done := counter.admit(ev)
		if show {
			if err := out.write(ev); err != nil {
				return err
			}
		}
		if done {
			return errEnough
		}
		if counter.full() && grace == nil {
			grace = time.AfterFunc(countGrace, endCount)
		}
		return nil
	}, tick)
	if grace != nil {
		grace.Stop()
	}
	if debug {
		peak.report()
	}
	if err := out.finishSummaries(); err != nil && runErr == nil {
		runErr = err
	}
	flushErr := out.flush()
	lost.report()
	if runErr != nil && !errors.Is(runErr, errEnough) {
		return quietOnClosedStdout(runErr)
	}
	return quietOnClosedStdout(flushErr)
}

// goroutinePeak is the most goroutines seen at a poll deadline, for
// --debug's line at exit (scripts/soak.sh reads it: a leak shows as a
// peak that grows with the run).
type goroutinePeak struct{ max int }

func (g *goroutinePeak) sample() { g.max = max(g.max, runtime.NumGoroutine()) }

func (g *goroutinePeak) report() {
	fmt.Fprintf(os.Stderr, "sigtrace: goroutines: %d at exit, at most %d while tracing\n", runtime.NumGoroutine(), g.max)
}

// stopGrace is how long a stop request (SIGINT, SIGTERM, --duration) waits
// for output to drain.
const stopGrace = 2 * time.Second

// exitOutputLost is the exit status when the watchdog gives up on output
// that could not be written: 2, as for every other failure (a write error
// too ends with run's 2); 1 is a finding (audit: at risk, doctor: a check
// failed), not a failure.
const exitOutputLost = 2

// stopWatchdog ends the process when a stop was requested but the output
// cannot drain (a reader that stopped reading: `sigtrace trace | less`, a
// stalled pipe). A write blocked in the kernel would otherwise keep sigtrace
// from ever seeing the stop. The BPF links are file descriptors, so the
// kernel detaches the programs as the process exits.
//
// Exiting while a write is blocked does not cut a line: the sink writes a
// pipe in whole lines of at most PIPE_BUF bytes, which the kernel writes all
// at once or not at all. It says how much was not written, and the exit
// status says output was lost.
func stopWatchdog(ctx context.Context, finished <-chan struct{}, out *sink, lost *lostCount) {
	select {
	case <-finished:
		return
	case <-ctx.Done():
	}
	select {
	case <-finished:
	case <-time.After(stopGrace):
		if lines, bytes := out.unwritten(); lines > 0 {
			fmt.Fprintf(os.Stderr, "sigtrace: output is blocked (nobody reads it): stopped after %v with %d lines (%d bytes) not written\n", stopGrace, lines, bytes)
		} else {
			fmt.Fprintf(os.Stderr, "sigtrace: could not stop within %v: stopped without the events still in the ring buffer\n", stopGrace)
		}
		lost.report()
		os.Exit(exitOutputLost)
	}
}

// lostCount totals the lost records, and of them those shed to keep the
// ring's room for deaths, for the line at exit. The watchdog reads it
// from another goroutine.
type lostCount struct{ lost, shed, missed atomic.Uint64 }

func (l *lostCount) add(ev *tracer.Event) {
	l.lost.Add(ev.Lost.Count)
	l.shed.Add(ev.Lost.Shed)
	l.missed.Add(ev.Lost.Missed)
}

// report gives the total of lost events, if any, on stderr at exit.
func (l *lostCount) report() {
	total := tracer.Lost{Count: l.lost.Load(), Shed: l.shed.Load(), Missed: l.missed.Load()}
	if total.Count == 0 {
		return
	}
	why, ringHelps := output.LostWhy(total)
	tip := ""
	if ringHelps {
		tip = " (try --ring-size or narrower filters)"
	}
	fmt.Fprintf(os.Stderr, "sigtrace: %d events lost: %s%s\n", total.Count, why, tip)
}

// quietOnClosedStdout turns "stdout was closed" (sigtrace trace | head -1)
// into a normal end: what was written stays written.
func quietOnClosedStdout(err error) error {
	if errors.Is(err, syscall.EPIPE) {
		return nil
	}
	return err
}
