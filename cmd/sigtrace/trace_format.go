package main

// --format TEMPLATE and --count-by/--hist/--interval/--top: what trace
// writes instead of the table or the JSON, through the same sink.

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/agg"
	"github.com/sigtrace/sigtrace/fields"
	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/tmpl"
)

type formatFlags struct {
	format   string
	countBy  string
	hist     string
	interval time.Duration
	top      int
}

const formatHelp = `

--format TEMPLATE writes one line per event from a Go text/template over
the JSON field names (sigtrace fields lists them; sig is signal.num), e.g.
'{{.sender.comm}}>{{.target.comm}}:{{.signal.name}}'. A field an event does
not carry prints nothing; a list prints its elements separated by commas;
text is escaped for the terminal as in the table. Helpers: json X (JSON
value, quoted), time [LAYOUT] .time (Go layout, default 15:04:05.000000,
"unix" for seconds.ns), dur .latency_ns (12.3µs), join SEP LIST, chain
[SEP] .sender (pkill[789] ← sh[700] ← cron[1]). Plain fields, helpers and
{{if .field}} run compiled; anything else text/template does (range, with,
eq, printf, variables) works too, more slowly. An unknown field is an error
before tracing starts.

--count-by FIELD[,FIELD] counts the events the other flags select, one
count per event the table or -o json would show (add type to the keys, or
filter 'type == "generate"', to count only signals sent: --no-deliver
still counts the exit of a process one killed), by the values of those fields (a
field an event does not carry is "-", JSON null), and prints them when the
trace ends (Ctrl-C, --duration, --count) and, with --interval D, every D
(each interval's counts, from zero). The table is bpftrace's "@[kill, app]:
3", largest first; -o json gives {"time":...,"type":"count","keys":{...},"count":N}
lines, with interval_end. --top N keeps the N largest. --hist FIELD makes
a log2 histogram of a number (latency_ns of deliveries, pending_ns, a pid)
instead, one per key with --count-by, of the events that carry it. Lost
events are still reported as they happen.

Counted in the kernel: when the keys are among type, signal.num,
signal.name, target.pid, target.uid and target.comm, and a FILTER, if
any, is an and of type, signal and target.pid comparisons (== or in),
signals sent and delivered are counted in a BPF map and not copied out: a
storm costs a map update per signal (--debug says when). A SIGKILL's
deliveries and the exits still come as events, counted as they come.`

const formatExamples = `
  sudo sigtrace trace --format '{{.sender.comm}}>{{.target.comm}}:{{.signal.name}}'
  sudo sigtrace trace --format '{{time .time}} {{chain .sender}} -> {{.target.comm}} {{.signal.name}} {{json .sender.argv}}'
  sudo sigtrace trace --no-deliver --count-by sender.comm,target.comm,signal.name --interval 10s --top 20
  sudo sigtrace trace --hist latency_ns --count-by target.comm -o json
  sudo sigtrace trace --count-by signal.name,target.comm 'type == "generate"' --interval 1s`

func (f *traceFlags) registerFormat(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "", "write each event as this Go text/template over the JSON field names, e.g. '{{.sender.comm}} -> {{.target.comm}} {{.signal.name}}' (helpers: json, time, dur, join, chain)")
	fl.StringVar(&f.countBy, "count-by", "", "count events by these fields instead of writing them (comma-separated, e.g. sender.comm,signal.name); printed at exit and every --interval")
	fl.StringVar(&f.hist, "hist", "", "a log2 histogram of this numeric field instead of events (e.g. latency_ns, pending_ns); per key with --count-by")
	fl.DurationVar(&f.interval, "interval", 0, "with --count-by or --hist: print (and restart) the counts every interval (e.g. 10s)")
	fl.IntVar(&f.top, "top", 0, "with --count-by or --hist: only the N largest counts")
	cmd.Long += formatHelp
	cmd.Example += formatExamples
}

// summary is --count-by/--hist at run time.
type summary struct {
	a        *agg.Aggregator
	json     bool
	interval time.Duration
	top      int
	printed  bool        // a table was printed: the next one is set apart
	feed     *kernelFeed // counts made in the kernel, or nil
	stop     chan struct{}
	done     chan struct{}
}

// newTraceSink makes the sink trace writes to: the table, JSON, a
// template or counts. Every check of these flags happens here, before
// tracing starts.
func (f *traceFlags) newTraceSink(w io.Writer) (*sink, error) {
	counting := f.countBy != "" || f.hist != ""
	switch {
	case f.format != "" && f.changed("output"):
		return nil, fmt.Errorf("--format and -o both say how to write events: give one")
	case f.format != "" && counting:
		return nil, fmt.Errorf("--format writes events, --count-by and --hist count them: give one")
	case f.top < 0:
		return nil, fmt.Errorf("--top %d: want a positive number", f.top)
	case f.interval < 0:
		return nil, fmt.Errorf("--interval %s: want a positive duration", f.interval)
	case !counting && f.top > 0:
		return nil, fmt.Errorf("--top needs --count-by or --hist")
	case !counting && f.interval > 0:
		return nil, fmt.Errorf("--interval needs --count-by or --hist")
	case f.changed("count-by") && f.countBy == "":
		return nil, fmt.Errorf("empty --count-by: give field names (e.g. --count-by sender.comm,signal.name)")
	case f.changed("hist") && f.hist == "":
		return nil, fmt.Errorf("empty --hist: give a numeric field (e.g. --hist latency_ns)")
	}
	base, err := output.New(f.output, useColor(w))
	if err != nil {
		return nil, err
	}
	r := base
	var sum *summary
	switch {
	case f.format != "":
		t, err := tmpl.Compile(f.format)
		if err != nil {
			return nil, err
		}
		t.OnError = func(err error) {
			fmt.Fprintf(os.Stderr, "sigtrace: %v (an event it fails on is left out; this is said once)\n", err)
		}
		r = t
	case counting:
		var keys []*fields.Field
		if f.countBy != "" {
			if keys, err = agg.ParseKeys(f.countBy); err != nil {
				return nil, err
			}
		}
		var hist *fields.Field
		if f.hist != "" {
			if hist, err = agg.ParseHist(f.hist); err != nil {
				return nil, err
			}
		}
		a := agg.New(keys, hist)
		r = agg.Renderer{A: a, Base: base}
		sum = &summary{a: a, json: f.output == "json", interval: f.interval, top: f.top}
	}
	s := newSink(w, r)
	s.sum = sum
	return s, nil
}

// startSummaries prints the counts every --interval until
// finishSummaries; a write that fails (stdout closed) ends the trace
// through cancel.
func (s *sink) startSummaries(cancel context.CancelFunc) {
	sum := s.sum
	if sum == nil || sum.interval <= 0 {
		return
	}
	sum.stop, sum.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sum.done)
		tick := time.NewTicker(sum.interval)
		defer tick.Stop()
		for {
			select {
			case <-sum.stop:
				return
			case now := <-tick.C:
				if err := s.printCounts(now); err != nil {
					cancel()
					return
				}
			}
		}
	}()
}

// finishSummaries prints the counts at the end of the trace: the last
// (partial) interval's with --interval, else the whole trace's.
func (s *sink) finishSummaries() error {
	sum := s.sum
	if sum == nil {
		return nil
	}
	if sum.stop != nil {
		close(sum.stop)
		<-sum.done
	}
	return s.printCounts(time.Now())
}

// printCounts writes the counts so far and starts the next interval.
func (s *sink) printCounts(now time.Time) error {
	sum := s.sum
	var end time.Time
	if sum.interval > 0 {
		end = now
	}
	if sum.feed != nil {
		if err := sum.feed.pull(sum); err != nil {
			return err
		}
	}
	rows := sum.a.Snapshot(sum.top, true)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	n := len(s.buf)
	if sum.json {
		s.buf = sum.a.AppendJSON(s.buf, rows, now, end)
	} else {
		if sum.printed {
			s.buf = append(s.buf, '\n')
		}
		sum.printed = true
		s.buf = sum.a.AppendTable(s.buf, rows, end)
	}
	if err := s.added(n); err != nil {
		return err
	}
	return s.flushLocked()
}
