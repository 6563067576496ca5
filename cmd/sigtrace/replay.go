package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/record"
	"github.com/sigtrace/sigtrace/tracer"
)

func init() { extraCommands = append(extraCommands, newReplayCmd) }

type replayFlags struct {
	traceFlags
	since, until string
}

func newReplayCmd() *cobra.Command {
	f := &replayFlags{}
	cmd := &cobra.Command{
		Use:   "replay PATH... [FILTER]",
		Short: "Show a recording (sigtrace record) as trace would have shown it live",
		Long: `Reads a recording: a directory that sigtrace record wrote, or some of its
files, plain or compressed, in the order they were written (across
rotations, restarts and reboots), and shows it through the same filters,
renderers, templates and counts as trace: -o json, --format, --count-by,
--hist, --fatal, -s, -p, --comm and FILTER work as they do there, and
--since and --until choose a time span (RFC 3339, or relative: -2h).

A last line cut by a crash gives one warning and the rest is shown (exit
0); corrupt lines in the middle are counted and warned about; a recording
of an unknown schema is one error. Count rows are the repeated signals
record summarised; GAP rows what it could not write (a full disk).` + filterHelp,
		Example: `  sigtrace replay /var/lib/sigtrace
  sigtrace replay /var/lib/sigtrace --since -2h --fatal
  sigtrace replay /var/lib/sigtrace -o json 'target.comm == "logdeviced"'
  sigtrace replay /var/lib/sigtrace --count-by sender.comm,signal.name`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			paths, expr, err := splitPathsFilter(args)
			if err != nil {
				return err
			}
			if err := f.setFilter(expr); err != nil {
				return err
			}
			f.signalSet = cmd.Flags().Changed("signal")
			return runReplay(f, paths)
		},
	}
	f.registerSelect(cmd)
	f.registerShow(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "only events at or after this time: RFC 3339 (2026-12-01T23:00:00Z) or relative to now (-2h)")
	fl.StringVar(&f.until, "until", "", "only events before this time: RFC 3339 or relative to now (-30m)")
	return cmd
}

// splitPathsFilter tells the recording's paths from a FILTER: the last
// argument is a FILTER when no file of that name exists.
func splitPathsFilter(args []string) (paths, filter []string, err error) {
	last := args[len(args)-1]
	if _, statErr := os.Lstat(last); statErr != nil && len(args) > 1 {
		args, filter = args[:len(args)-1], []string{last}
	}
	for _, p := range args {
		if _, err := os.Lstat(p); err != nil {
			return nil, nil, fmt.Errorf("recording %s: %w", p, errors.Unwrap(err))
		}
	}
	return args, filter, nil
}

// parseWhen reads --since/--until: RFC 3339, or a negative duration from
// now.
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if strings.HasPrefix(s, "-") {
		d, err := time.ParseDuration(s[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("--%s %q: want RFC 3339 or a time ago such as -2h", flag, s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s %q: want RFC 3339 (2026-12-01T23:00:00Z) or a time ago such as -2h", flag, s)
	}
	return t, nil
}

func runReplay(f *replayFlags, paths []string) error {
	now := time.Now()
	since, err := parseWhen("since", f.since, now)
	if err != nil {
		return err
	}
	until, err := parseWhen("until", f.until, now)
	if err != nil {
		return err
	}
	if f.interval > 0 {
		return errors.New("--interval counts live time: a replay counts over the whole span (use --since/--until)")
	}
	f.ringSizeMiB = tracer.DefaultRingSize >> 20 // no ring: tracerOptions checks it
	sel, err := f.tracerOptions()
	if err != nil {
		return err
	}
	out, err := f.newTraceSink(os.Stdout)
	if err != nil {
		return err
	}
	bootID := ""
	rd, err := record.NewReader(paths, record.ReaderOptions{Warn: os.Stderr, OnFile: func(path string, h record.Header) error {
		if bootID != "" && h.BootID != bootID {
			fmt.Fprintf(os.Stderr, "sigtrace: %s: a new boot (%s, booted %s)\n", path, h.BootID, h.BootTime.Format(time.RFC3339))
		}
		bootID = h.BootID
		return nil
	}})
	if err != nil {
		return err
	}
	defer rd.Close()
	if err := out.header(); err != nil {
		return quietOnClosedStdout(err)
	}

	var counter *signalCounter
	if f.count > 0 {
		counter = newSignalCounter(f.count, &f.traceFlags)
	}
	p := output.NewParser()
	var ev tracer.Event
	for {
		line, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := p.Parse(line, &ev); err != nil {
			if !errors.Is(err, output.ErrNotEvent) {
				rd.Reject(err.Error())
			}
			continue
		}
		if (!since.IsZero() && ev.Time.Before(since)) || (!until.IsZero() && !ev.Time.Before(until)) {
			continue
		}
		if !selected(&sel, &ev) || !f.matchRecorded(&ev) {
			continue
		}
		if counter != nil {
			show, done := counter.admit(&ev)
			if !show {
				continue
			}
			if err := out.write(&ev); err != nil {
				return quietOnClosedStdout(err)
			}
			if done {
				break
			}
			continue
		}
		if err := out.write(&ev); err != nil {
			return quietOnClosedStdout(err)
		}
	}
	if err := out.finishSummaries(); err != nil {
		return quietOnClosedStdout(err)
	}
	return quietOnClosedStdout(out.flush())
}

// matchRecorded is match for recorded events: what the recording says it
// lost, summarised or could not write is always shown, as trace shows it.
func (f *traceFlags) matchRecorded(ev *tracer.Event) bool {
	switch ev.Type {
	case tracer.TypeLost, tracer.TypeCount, tracer.TypeGap:
		return true
	}
	return f.match(ev)
}

// selected applies in Go what trace leaves to the kernel: the signal set
// (a delivery of the internal SIGKILL of a group dying of one of them
// counts as that signal), --no-deliver, the pids (a sender: a generate's,
// an exit's killer) and the comms (the process's or the thread's name, of
// the target or the sender).
func selected(o *tracer.Options, ev *tracer.Event) bool {
	switch ev.Type {
	case tracer.TypeLost, tracer.TypeCount, tracer.TypeGap:
		return true
	case tracer.TypeDeliver:
		if o.NoDeliver {
			return false
		}
	}
	if len(o.Signals) > 0 && !slices.Contains(o.Signals, ev.Sig) &&
		!(ev.Type == tracer.TypeDeliver && ev.Deliver.GroupExit && slices.Contains(o.Signals, ev.Deliver.ExitSignal)) {
		return false
	}
	var sender *tracer.Process
	if f := ev.From(); f != nil && !f.KernelSender {
		sender = &f.Sender
	}
	if len(o.TargetPIDs) > 0 && !slices.Contains(o.TargetPIDs, ev.Target.PID) {
		return false
	}
	if len(o.SenderPIDs) > 0 && (sender == nil || !slices.Contains(o.SenderPIDs, sender.PID)) {
		return false
	}
	if len(o.AnyPIDs) > 0 && !slices.Contains(o.AnyPIDs, ev.Target.PID) && (sender == nil || !slices.Contains(o.AnyPIDs, sender.PID)) {
		return false
	}
	if len(o.Comms) > 0 {
		named := func(p *tracer.Process) bool {
			return p != nil && (slices.Contains(o.Comms, string(tracer.CommBytes(p.Comm[:]))) ||
				slices.Contains(o.Comms, string(tracer.CommBytes(p.ThreadComm[:]))))
		}
		if !named(&ev.Target) && !named(sender) {
			return false
		}
	}
	return true
}
