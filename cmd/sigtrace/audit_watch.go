package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sigtrace/sigtrace/audit"
	textout "github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tracer"
)

// watchRescan is how often audit --watch reads every process again, for
// the ones that started unprepared (a start is no disposition change: a
// new program has the default from its exec on).
const watchRescan = 2 * time.Second

type watchFlags struct {
	duration  time.Duration
	readyFile string
	debug     bool
}

// runAuditWatch is audit --watch: the audit once, then the configured
// senders held against disposition changes as they happen, and against
// new processes every watchRescan. It returns whether any finding was
// fatal, as the audit's exit status says.
func runAuditWatch(parent context.Context, opts audit.Options, output string, wf watchFlags, keepPrivs bool, stdout, stderr io.Writer) (bool, error) {
	signal.Ignore(syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM, syscall.SIGQUIT)
	defer stop()
	if wf.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wf.duration)
		defer cancel()
	}
	// The tracer first, so that no change between the audit and the
	// attach goes unseen, and privileges are dropped before any
	// configuration is read; it hands over disposition changes only.
	tr, err := tracer.New(tracer.Options{History: tracer.HistoryFatal, NoGenerate: true, NoDeliver: true, NoExit: true,
		HideSelf: true, Debug: wf.debug})
	if err != nil {
		return false, err
	}
	defer tr.Close()
	var ready *os.File
	if wf.readyFile != "" {
		if ready, err = os.OpenFile(wf.readyFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
			return false, fmt.Errorf("writing ready file: %w", err)
		}
		defer ready.Close()
	}
	if !keepPrivs {
		if err := dropPrivileges(tr, wf.debug, false); err != nil {
			return false, err
		}
	}
	if gap := tr.HistoryGap(); gap != "" {
		fmt.Fprintf(stderr, "sigtrace: audit --watch sees no sigaction change on this kernel (%s): it finds processes that become unprepared by an exec, SA_RESETHAND or a new start only\n", gap)
	}
	w, rep, err := audit.NewWatcher(opts)
	if err != nil {
		return false, err
	}
	if err := writeReport(stdout, stderr, rep, output); err != nil {
		return false, err
	}
	fatal := rep.Fatal() || rep.Incomplete()
	if len(w.Signals()) == 0 {
		fmt.Fprintln(stderr, "sigtrace: audit --watch: no configured sender names a signal: nothing to watch")
		return fatal, nil
	}
	fmt.Fprintf(stderr, "Watching the configured senders of %s... Ctrl-C to stop.\n", signalNames(w.Signals()))
	if ready != nil {
		if _, err := ready.WriteString("ready\n"); err != nil {
			return false, fmt.Errorf("writing ready file: %w", err)
		}
	}

	var mu sync.Mutex // the watcher and the output
	emit := func(fs []audit.Finding) error {
		for i := range fs {
			fatal = true
			var line []byte
			if output == "json" {
				b, err := json.Marshal(&fs[i])
				if err != nil {
					return err
				}
				line = append(b, '\n')
			} else {
				line = []byte(audit.WatchLine(&fs[i]) + "\n")
			}
			if _, err := stdout.Write(line); err != nil {
				return fmt.Errorf("writing a finding: %w", err)
			}
		}
		return nil
	}
	watched := map[int]bool{}
	for _, s := range w.Signals() {
		watched[s] = true
	}
	handle := func(ev *tracer.Event) error {
		if ev.Type != tracer.TypeDisposition || !ev.Disposition.Fatal || !watched[ev.Sig] {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		fs, err := w.Changed(int(ev.Target.PID), ev.Sig, audit.Became{Time: ev.Time, Cause: ev.Disposition.Cause.String(),
			From: ev.Disposition.From.Disposition.String()})
		if err != nil {
			return err
		}
		return emit(fs)
	}
	rescanErr := make(chan error, 1)
	go func() {
		t := time.NewTicker(watchRescan)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				rescanErr <- nil
				return
			case now := <-t.C:
				mu.Lock()
				fs, err := w.Rescan(now)
				if err == nil {
					err = emit(fs)
				}
				mu.Unlock()
				if err != nil {
					rescanErr <- err
					return
				}
			}
		}
	}()
	if err := tr.Run(ctx, handle, nil); err != nil {
		return fatal, err
	}
	if err := <-rescanErr; err != nil {
		return fatal, err
	}
	return fatal, nil
}

// writeReport writes an audit's warnings (on stderr) and its report.
func writeReport(out, stderr io.Writer, rep *audit.Report, output string) error {
	for _, w := range rep.Warnings {
		// File names and lines come from the audited system: the same
		// policy as the tables, so no escape reaches the terminal and
		// no newline forges a warning.
		fmt.Fprintf(stderr, "sigtrace: warning: %s\n", textout.SafeString(w.String()))
	}
	var err error
	if output == "json" {
		err = audit.WriteJSON(out, rep)
	} else {
		err = audit.WriteTable(out, rep)
	}
	if err != nil && !errors.Is(err, syscall.EPIPE) {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

func signalNames(sigs []int) string {
	names := make([]string, len(sigs))
	for i, s := range sigs {
		names[i] = signals.Name(s)
	}
	return strings.Join(names, ", ")
}
