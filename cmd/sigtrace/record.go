package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/record"
	"github.com/sigtrace/sigtrace/tracer"
)

func init() { extraCommands = append(extraCommands, newRecordCmd) }

type recordFlags struct {
	traceFlags
	dir        string
	maxSizeMiB int64
	maxFiles   int
	compress   string
	keepAll    bool
	redact     string
}

func newRecordCmd() *cobra.Command {
	f := &recordFlags{}
	f.output = "json"
	cmd := &cobra.Command{
		Use:   "record -w DIR [FILTER]",
		Short: "Record signals to rotating JSONL files, for replay and report after the fact",
		Long: `Records what trace -o json shows, to files in DIR, so that "who killed it at
midnight" can be answered in the morning (sigtrace replay, sigtrace report).

Every file starts with a header line (schema, host, kernel, boot time and
id, sigtrace version, filter, clock offset), then one event per line: tail -f
the live file and pipe it to jq. Files rotate at --max-size; rotated ones
are compressed (zstd); the oldest go beyond --max-files. The defaults hold
about a week of a normal server's signals in at most ~180 MiB of disk.

Repeated traffic is summarised, not dropped: of each sender, target, signal
and verdict, the first --rate-limit events are kept in full, then that many
a minute, and the rest written as exact count records every 10 s. A signal
that may kill, a delivery and a death are always kept in full, and so is
what a selection asks for (-s, -p, --comm or a FILTER) unless --rate-limit
is given. --keep-all records everything.

Lines are written within a second (buffered, then fsynced): a crash loses at
most about a second. A full or read-only disk does not stop the recording:
what could not be written is counted, said on stderr at most once a
minute, and a gap record says how much when writing works again.

DIR is created 0700 and files 0600 (argv may hold secrets); a DIR that is a
symlink, not owned by the user sigtrace runs as, or writable by others is
refused. --redact-argv REGEX replaces what it matches in every argument
with ***.` + filterHelp,
		Example: `  sudo sigtrace record -w /var/lib/sigtrace
  sudo sigtrace record -w /var/lib/sigtrace --redact-argv '--password=\S+'
  sudo sigtrace record -w /tmp/rec -s TERM,KILL,HUP --duration 1h`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.setFilter(args); err != nil {
				return err
			}
			f.signalSet = cmd.Flags().Changed("signal")
			debug, _ := cmd.Flags().GetBool("debug")
			return runRecord(cmd.Context(), f, debug)
		},
	}
	f.registerSelect(cmd)
	f.registerLive(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&f.dir, "dir", "w", "", "the recording's directory (created 0700 if missing)")
	fl.Int64Var(&f.maxSizeMiB, "max-size", record.DefaultMaxSize>>20, "MiB of a file before it is rotated")
	fl.IntVar(&f.maxFiles, "max-files", record.DefaultMaxFiles, "files kept, the live one included; the oldest is removed")
	fl.StringVar(&f.compress, "compress", "zstd", "compression of rotated files: zstd, gzip or none")
	fl.BoolVar(&f.keepAll, "keep-all", false, "record every event in full: no summarising of repeated signals (--rate-limit 0)")
	fl.StringVar(&f.redact, "redact-argv", "", "a regular expression (Go syntax): what it matches in any argument is written as ***")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}

func (f *recordFlags) writerOptions() (record.Options, error) {
	var o record.Options
	if f.dir == "" {
		return o, errors.New("record needs a directory: -w DIR")
	}
	if f.maxSizeMiB < 1 || f.maxSizeMiB > 1<<20 {
		return o, fmt.Errorf("--max-size %d: want MiB between 1 and %d", f.maxSizeMiB, 1<<20)
	}
	if f.maxFiles < 2 {
		return o, fmt.Errorf("--max-files %d: want at least 2 (the live file and one rotated)", f.maxFiles)
	}
	c, err := record.ParseCompression(f.compress)
	if err != nil {
		return o, fmt.Errorf("--compress: %w", err)
	}
	filter := ""
	if f.filter != nil {
		filter = f.filter.String()
	}
	h, err := record.NewHeader(versionString(), filter)
	if err != nil {
		return o, err
	}
	return record.Options{MaxSize: f.maxSizeMiB << 20, MaxFiles: f.maxFiles, Compress: c, Header: h, Warn: os.Stderr}, nil
}

func runRecord(parent context.Context, f *recordFlags, debug bool) error {
	if f.keepAll {
		if f.changed("rate-limit") && f.rateLimit != 0 {
			return errors.New("--keep-all and --rate-limit: choose one")
		}
		f.rateLimit = 0
	}
	opts, err := f.tracerOptions()
	if err != nil {
		return err
	}
	opts.Debug = debug
	var render output.JSON
	if f.redact != "" {
		re, err := regexp.Compile(f.redact)
		if err != nil {
			return fmt.Errorf("--redact-argv: %w", err)
		}
		render = output.NewJSONRedacting(re)
	} else {
		render = output.NewJSON()
	}
	wopts, err := f.writerOptions()
	if err != nil {
		return err
	}

	signal.Ignore(syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM, syscall.SIGQUIT)
	defer stop()
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}

	// The ready file and the directory first: a bad one is one line
	// before anything loads (and before privileges are dropped).
	var ready *os.File
	if f.readyFile != "" {
		if ready, err = os.OpenFile(f.readyFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
			return fmt.Errorf("writing ready file: %w", err)
		}
		defer ready.Close()
	}
	w, err := record.Open(f.dir, wopts)
	if err != nil {
		return err
	}
	tr, err := tracer.New(opts)
	if err != nil {
		_ = w.Close()
		return err
	}
	if !f.keepPrivs {
		// The recording's directory and live file are open, and new
		// files are made in it as root, its owner: the files keep
		// being written with no capability beyond the reading side's.
		if err := dropPrivileges(tr, debug, true); err != nil {
			tr.Close()
			_ = w.Close()
			return err
		}
	}
	warnHistory(tr, &opts) // once it is sure to trace: a bad ready file is its one line
	fmt.Fprintf(os.Stderr, "Recording to %s ... Ctrl-C to stop.\n", f.dir)
	if ready != nil {
		if _, err := ready.WriteString("ready\n"); err != nil {
			tr.Close()
			_ = w.Close()
			return fmt.Errorf("writing ready file: %w", err)
		}
	}

	var lost lostCount
	buf := make([]byte, 0, 64<<10)
	runErr := tr.Run(ctx, func(ev *tracer.Event) error {
		switch ev.Type {
		case tracer.TypeLost:
			lost.add(ev)
		case tracer.TypeCount:
		default:
			if !f.match(ev) {
				return nil
			}
		}
		buf = render.AppendRow(buf[:0], ev)
		if len(buf) > record.MaxLine {
			return nil // cannot be: what others control is clipped far below
		}
		return w.Write(buf)
	}, nil)
	tr.Close()
	closeErr := w.Close()
	st := w.Stats()
	fmt.Fprintf(os.Stderr, "sigtrace: recorded %d events to %s", st.Lines, f.dir)
	if st.Dropped > 0 {
		fmt.Fprintf(os.Stderr, "; %d could not be written (disk full or failing)", st.Dropped)
	}
	fmt.Fprintln(os.Stderr)
	lost.report()
	if runErr != nil {
		return runErr
	}
	if closeErr != nil {
		return fmt.Errorf("closing the recording: %w", closeErr)
	}
	return nil
}
