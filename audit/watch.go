package audit

import (
	"fmt"
	"sort"
	"time"
)

// Became says how a finding of `audit --watch` came about: the process
// changed what it does with the signal (Cause sigaction, exec or
// resethand, from what it had), or it started unprepared ("started").
type Became struct {
	Time  time.Time `json:"time"`
	Cause string    `json:"cause"`
	From  string    `json:"from,omitempty"` // the disposition before a change
}

// Watcher holds an audit's configured senders so that processes can be
// judged against them again as they change (audit --watch). A finding is
// reported once per configuration line, signal and process (pid and
// start time).
type Watcher struct {
	opts Options
	cfg  *configured
	seen map[string]bool
	// signals: what the configured senders send, for the tracer's
	// signal filter.
	signals []int
}

// NewWatcher runs the audit once, and returns its report and a Watcher
// that holds its senders, with the report's fatal findings already seen.
func NewWatcher(opts Options) (*Watcher, *Report, error) {
	if opts.Proc == "" {
		opts.Proc = "/proc"
	}
	rep, cfg, err := run(opts)
	if err != nil {
		return nil, nil, err
	}
	w := &Watcher{opts: opts, cfg: cfg, seen: map[string]bool{}}
	set := map[int]bool{}
	for _, s := range cfg.senders {
		if s.Signal != 0 {
			set[s.Signal] = true
		}
	}
	for sig := range set {
		w.signals = append(w.signals, sig)
	}
	sort.Ints(w.signals)
	procs, err := ScanProcs(opts.Proc, opts.Self)
	if err != nil {
		return nil, nil, err
	}
	w.judge(procs, nil, nil) // what is fatal now is in the report
	return w, rep, nil
}

// Signals are the signals the configured senders send (nil: none known).
func (w *Watcher) Signals() []int { return w.signals }

// Changed judges process pid again after it changed what it does with
// sig: the findings of configured senders of sig that would now kill it,
// and were not reported before.
func (w *Watcher) Changed(pid, sig int, b Became) ([]Finding, error) {
	procs, err := ScanProcs(w.opts.Proc, w.opts.Self)
	if err != nil {
		return nil, err
	}
	return w.judge(procs, func(snd *Sender, p *Proc) bool { return p.PID == pid && snd.Signal == sig }, &b), nil
}

// Rescan judges every process again: the fatal findings not reported
// before are processes that started unprepared since (or changed unseen).
func (w *Watcher) Rescan(now time.Time) ([]Finding, error) {
	procs, err := ScanProcs(w.opts.Proc, w.opts.Self)
	if err != nil {
		return nil, err
	}
	return w.judge(procs, nil, &Became{Time: now, Cause: "started"}), nil
}

// judge returns the new fatal findings of the senders (and processes)
// that match, each marked with b.
func (w *Watcher) judge(procs *Procs, match func(*Sender, *Proc) bool, b *Became) []Finding {
	res := &resolver{procs: procs, root: w.cfg.rf, units: w.cfg.units, users: w.cfg.users}
	var out []Finding
	for i := range w.cfg.senders {
		snd := &w.cfg.senders[i]
		if snd.Signal == 0 || snd.Indirect != "" || (snd.Unit != "" && !res.unitActive(snd.Unit)) {
			continue
		}
		for _, sel := range snd.Targets {
			targets, _ := res.resolve(sel, snd.Signal)
			for _, p := range targets {
				if match != nil && !match(snd, p) {
					continue
				}
				f := judge(snd.Signal, snd.Intent, p)
				if f.Risk != RiskFatal {
					continue
				}
				key := fmt.Sprintf("%s:%d:%d:%d", snd.Source.String(), snd.Signal, p.PID, p.Start)
				if w.seen[key] {
					continue
				}
				w.seen[key] = true
				src := snd.Source
				f.Source, f.Sender, f.Selector = &src, snd.Tool, sel.Describe()
				boundFinding(&f)
				if b != nil {
					c := *b
					f.Became = &c
					out = append(out, f)
				}
			}
		}
	}
	return out
}

// WatchLine is one finding of audit --watch on one line:
//
//	10:02:11 FATAL SIGHUP 812 logdeviced: it set SIG_DFL (had a handler); /etc/logrotate.d/logdeviced:7 pkill -HUP -x logdeviced would kill it
func WatchLine(f *Finding) string {
	how := "now"
	if b := f.Became; b != nil {
		switch b.Cause {
		case "started":
			how = "started with no handler"
		case "exec":
			how = "exec'd, which reset its handler"
		case "resethand":
			how = "SA_RESETHAND reset its handler as it ran"
		default:
			how = "it set SIG_DFL"
			if b.From != "" {
				how += " (had " + b.From + ")"
			}
		}
	}
	at := ""
	if f.Became != nil {
		at = f.Became.Time.Format("15:04:05") + " "
	}
	return printable(fmt.Sprintf("%sFATAL %s %d %s: %s; %s %s would kill it", at, f.Signal.Name, f.Target.PID,
		f.Target.Comm, how, shortChain(*f.Source), f.Source.Command()))
}
