// Package audit finds, on a live host, the processes that a configured
// signal sender would kill: a logrotate postrotate, a cron job or a unit's
// ExecReload= that sends SIGHUP (or USR1, ...) to a process that neither
// catches, ignores nor blocks it. It reads the configuration (logrotate,
// systemd units, cron), finds the senders in their shell with a real shell
// parser, resolves their targets among the live processes with each tool's
// own matching rules, and judges each pair from /proc/PID/status.
package audit

import (
	"fmt"
	"os"
	"sort"

	"github.com/sigtrace/sigtrace/goruntime"
	"github.com/sigtrace/sigtrace/signals"
	"golang.org/x/sys/unix"
)

// Options say what to audit.
type Options struct {
	Root string // the configuration's root directory ("/" for this system)
	Proc string // where /proc is mounted
	All  bool   // also list every process unprepared for HUP, USR1, USR2, PIPE
	Self int    // a PID to leave out (the auditing process), or 0

	noFollowMemo bool // tests: scan a followed script again for every caller
}

// Risk values.
const (
	RiskFatal      = "fatal"      // the target would die of the signal
	RiskOK         = "ok"         // handled, ignored, blocked, or a stop that is meant to end it
	RiskUnresolved = "unresolved" // no live target could be found: the reason says what would match
	RiskUnprepared = "unprepared" // --all: no handler for a signal whose default kills
)

// Finding is one (source, signal, target) judgement, or with --all one
// process unprepared for one signal.
type Finding struct {
	Kind          string  `json:"kind"` // "sender" or "exposure" (--all)
	Source        *Source `json:"source,omitempty"`
	Sender        string  `json:"sender,omitempty"`   // the tool: kill, pkill, killall, systemctl kill, systemd, ...
	Selector      string  `json:"selector,omitempty"` // what the sender names, in words
	Signal        *Signal `json:"signal,omitempty"`   // absent when the signal is not known (indirect senders)
	Target        *Target `json:"target,omitempty"`   // absent when unresolved
	Disposition   string  `json:"disposition,omitempty"`
	DefaultAction string  `json:"default_action,omitempty"`
	Risk          string  `json:"risk"`
	Reason        string  `json:"reason,omitempty"`
	// Go is set when the target is a Go program with the runtime's
	// handler for the signal: judged by the Go runtime's rules.
	Go *GoRuntime `json:"go,omitempty"`
	// Became: audit --watch only, how the process came to be unprepared.
	Became *Became `json:"became,omitempty"`
}

// GoRuntime is what the audit read of a Go program target.
type GoRuntime struct {
	Version string `json:"version"` // the Go version that built it
	// Notify is whether the program asked for the signal with
	// signal.Notify, read from the runtime's notify mask in its memory;
	// absent when that cannot be read (no symbol table, no access).
	Notify *bool `json:"notify,omitempty"`
	// Unnotified is what the runtime does with the signal when the
	// program did not ask for it: "exit" (re-raised with the default
	// action: it dies of it), "crash" (goroutine dump, exit status 2),
	// "discard", or "default" (the runtime installs no handler for it).
	Unnotified string `json:"unnotified"`
}

// Signal is a signal as the JSON schema names it.
type Signal struct {
	Num  int    `json:"num"`
	Name string `json:"name"`
}

// Target is the process a finding is about.
type Target struct {
	PID     int    `json:"pid"`
	Comm    string `json:"comm"`
	Cmdline string `json:"cmdline"`
	Unit    string `json:"unit,omitempty"`
}

// Report is the result of one audit.
type Report struct {
	Findings []Finding
	Warnings []Warning
	Files    int // configuration files read
	Senders  int // signal senders found in them
	Procs    int // live processes examined
	Inactive int // senders of units that have no live process, left out
	// Omitted counts, by risk, the sender findings not listed because
	// their configuration line had more than maxFindingsPerLine; a
	// warning names each such line.
	Omitted map[string]int
	// Stopped is set when the audit passed a bound on the work of the
	// whole audit (budget.go): it is the one warning that says where it
	// stopped and which bound. What was not reached is not listed, so
	// the audit cannot say that nothing would be killed.
	Stopped *Warning
	work    work // what it spent of that budget
}

// Incomplete reports whether the audit stopped at a bound before it read
// everything (Stopped).
func (r *Report) Incomplete() bool { return r.Stopped != nil }

// Fatal reports whether any configured sender would kill its target.
func (r *Report) Fatal() bool {
	if r.Omitted[RiskFatal] > 0 {
		return true
	}
	for _, f := range r.Findings {
		if f.Kind == "sender" && f.Risk == RiskFatal {
			return true
		}
	}
	return false
}

// Count returns how many sender findings have the given risk, those not
// listed included.
func (r *Report) Count(risk string) int {
	n := r.Omitted[risk]
	for _, f := range r.Findings {
		if f.Kind == "sender" && f.Risk == risk {
			n++
		}
	}
	return n
}

// exposureSignals are the signals --all checks every process for: the ones
// daemons are sent for reloads and log reopening, and SIGPIPE.
var exposureSignals = []int{int(unix.SIGHUP), int(unix.SIGUSR1), int(unix.SIGUSR2), int(unix.SIGPIPE)}

// Run audits the configuration under opts.Root against the processes under
// opts.Proc. It fails only when those cannot be read at all; problems with
// single files are warnings in the report.
func Run(opts Options) (*Report, error) {
	rep, _, err := run(opts)
	return rep, err
}

// configured is what an audit read of the configuration: its senders,
// and what resolving their targets needs besides the processes.
type configured struct {
	rf      *rootFS
	senders []Sender
	units   map[string]*unit
	users   map[string]int
}

func run(opts Options) (*Report, *configured, error) {
	if opts.Root == "" {
		opts.Root = "/"
	}
	if opts.Proc == "" {
		opts.Proc = "/proc"
	}
	const rootHint = " (--root wants the directory that holds the audited system's etc/)"
	fi, err := os.Stat(opts.Root)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read --root %s: %s%s", opts.Root, errText(err), rootHint)
	}
	if !fi.IsDir() {
		return nil, nil, fmt.Errorf("--root %s is not a directory%s", opts.Root, rootHint)
	}
	if _, err := os.ReadDir(opts.Root); err != nil {
		return nil, nil, fmt.Errorf("cannot read --root %s: %s%s", opts.Root, errText(err), rootHint)
	}
	procs, err := ScanProcs(opts.Proc, opts.Self)
	if err != nil {
		return nil, nil, err
	}

	rf := &rootFS{root: opts.Root}
	col := &collector{}
	col.warn(procs.Skipped...)
	senders, units := collectSenders(rf, col, !opts.noFollowMemo)
	cfg := &configured{rf: rf, senders: senders, units: units, users: readPasswd(rf)}
	res := &resolver{procs: procs, root: rf, units: units, users: cfg.users}

	rep := &Report{Procs: len(procs.List)}
	seen := map[string]bool{}
	lim := newLineLimit(maxFindingsPerLine)
	for _, snd := range senders {
		if snd.Unit != "" && !res.unitActive(snd.Unit) {
			rep.Inactive++ // its ExecReload=/KillSignal= cannot run now
			continue
		}
		rep.Senders++
		for _, f := range judgeSender(res, snd, seen) {
			boundFinding(&f)
			lim.add(f)
		}
	}
	var omitted []Warning
	rep.Findings, rep.Omitted, omitted = lim.result()
	col.warn(omitted...)
	if opts.All {
		for _, p := range procs.List {
			if p.NSInit {
				continue // the kernel drops signals init has no handler for
			}
			for _, sig := range exposureSignals {
				f := Finding{Kind: "exposure", Signal: sigOf(sig), Target: targetOf(p),
					Disposition: p.Disposition(sig), DefaultAction: signals.DefaultAction(sig).String(), Risk: RiskUnprepared,
					Reason: "no handler: " + signals.Name(sig) + " would terminate it"}
				switch f.Disposition {
				case "default":
				case "handler":
					// A Go program that did not ask for it dies of it
					// all the same, through the runtime's handler.
					g := p.Go()
					if g == nil || g.err != nil || g.wanted.Has(sig) || !goruntime.Unnotified(sig).Kills() {
						continue
					}
					judgeGo(&f, sig, g)
					f.Risk = RiskUnprepared
				default:
					continue
				}
				rep.Findings = append(rep.Findings, f)
			}
		}
	}
	sortFindings(rep.Findings)
	sort.SliceStable(col.warnings, func(i, j int) bool {
		a, b := col.warnings[i], col.warnings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	rep.Warnings = col.warnings
	rep.Files = col.files
	rep.Stopped, rep.work = col.work.stop, col.work
	return rep, cfg, nil
}

// collectSenders reads logrotate, systemd and cron configuration.
func collectSenders(r *rootFS, col *collector, memo bool) ([]Sender, map[string]*unit) {
	var scripts []*script

	// logrotate: logrotate.conf, what it includes, and logrotate.d.
	queue := []string{"/etc/logrotate.conf", "/etc/logrotate.d"}
	done := map[string]bool{}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if done[r.real(p)] {
			continue
		}
		done[r.real(p)] = true
		files := []string{p}
		if fi, err := os.Stat(r.real(p)); err == nil && fi.IsDir() {
			files = nil
			for _, e := range r.listDir(p, col) {
				files = append(files, e.path)
			}
		}
		for _, f := range files {
			if p != f {
				if done[r.real(f)] {
					continue
				}
				done[r.real(f)] = true
			}
			data, ok := r.read(f, col)
			if !ok {
				continue
			}
			sc, inc, warns := parseLogrotate(r.display(f), data)
			col.warn(warns...)
			scripts = append(scripts, sc...)
			queue = append(queue, inc...)
		}
	}

	// cron: the system crontab and cron.d have a user field, the spool
	// does not; run-parts directories hold whole scripts.
	cronFiles := []struct {
		path   string
		system bool
	}{{"/etc/crontab", true}}
	for _, e := range r.listDir("/etc/cron.d", col) {
		cronFiles = append(cronFiles, struct {
			path   string
			system bool
		}{e.path, true})
	}
	for _, dir := range []string{"/var/spool/cron/crontabs", "/var/spool/cron/tabs", "/var/spool/cron"} {
		for _, e := range r.listDir(dir, col) {
			cronFiles = append(cronFiles, struct {
				path   string
				system bool
			}{e.path, false})
		}
	}
	for _, cf := range cronFiles {
		data, ok := r.read(cf.path, col)
		if !ok {
			continue
		}
		sc, warns := parseCrontab(r.display(cf.path), data, cf.system)
		col.warn(warns...)
		scripts = append(scripts, sc...)
	}
	for _, period := range []string{"hourly", "daily", "weekly", "monthly"} {
		for _, e := range r.listDir("/etc/cron."+period, col) {
			if e.mode&0o111 == 0 {
				continue // run-parts runs executable files only
			}
			data, ok := r.read(e.path, col)
			if !ok || !isShellScript(data) {
				continue
			}
			scripts = append(scripts, &script{file: r.display(e.path), lines: splitLines(data), firstLine: 1,
				text: string(data), context: "cron." + period, intent: IntentNotify})
		}
	}

	units := loadUnits(r, col)
	env := &scanEnv{root: r, col: col, units: units}
	if memo {
		env.memo, env.kinds = followMemo{}, map[string]fileKind{}
	}
	var senders []Sender
	for _, sc := range scripts {
		s, warns := scanScriptIn(env, sc)
		col.warn(warns...)
		senders = append(senders, s...)
	}

	names := make([]string, 0, len(units))
	for n := range units {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		senders = append(senders, unitSenders(env, units[n])...)
	}
	return senders, units
}

// judgeSender resolves a sender's targets and judges each one.
func judgeSender(res *resolver, snd Sender, seen map[string]bool) []Finding {
	src := snd.Source
	var sig *Signal
	if snd.Signal != 0 {
		sig = sigOf(snd.Signal)
	}
	var out []Finding
	unresolved := func(sel Selector, reason string) {
		out = append(out, Finding{Kind: "sender", Source: &src, Sender: snd.Tool, Selector: sel.Describe(),
			Signal: sig, Risk: RiskUnresolved, Reason: reason})
	}
	if snd.Indirect != "" {
		for _, sel := range snd.Targets {
			unresolved(sel, sel.Reason)
		}
		return out
	}
	if snd.Signal == 0 {
		for _, sel := range snd.Targets {
			unresolved(sel, fmt.Sprintf("the signal %s is only known when the command runs", snd.SigText))
		}
		return out
	}
	for _, sel := range snd.Targets {
		procs, why := res.resolve(sel, snd.Signal)
		if len(procs) == 0 {
			unresolved(sel, why)
			continue
		}
		for _, p := range procs {
			key := fmt.Sprintf("%s:%d:%d", src.String(), snd.Signal, p.PID)
			if seen[key] {
				continue
			}
			seen[key] = true
			f := judge(snd.Signal, snd.Intent, p)
			f.Source, f.Sender, f.Selector = &src, snd.Tool, sel.Describe()
			out = append(out, f)
		}
	}
	return out
}

// judge decides what sig does to p.
func judge(sig int, intent Intent, p *Proc) Finding {
	act := signals.DefaultAction(sig)
	f := Finding{Kind: "sender", Signal: sigOf(sig), Target: targetOf(p),
		Disposition: p.Disposition(sig), DefaultAction: act.String(), Risk: RiskOK}
	switch {
	case !signals.Catchable(sig):
		if act.Kills() {
			f.Risk = RiskFatal
			f.Reason = signals.Name(sig) + " cannot be caught"
		} else {
			f.Reason = signals.Name(sig) + " stops the process; it cannot be caught"
		}
	case f.Disposition == "handler":
		if g := p.Go(); g != nil {
			judgeGo(&f, sig, g)
		}
	case f.Disposition == "ignore":
	case p.NSInit:
		f.Reason = "init of its PID namespace: the kernel discards signals it has no handler for"
	case !act.Kills():
		f.Reason = "the default action of " + signals.Name(sig) + " is " + act.String()
	case f.Disposition == "blocked":
		f.Reason = "blocked in every thread: it stays pending (read with signalfd or sigwait), and kills if ever unblocked"
	default:
		f.Risk = RiskFatal
		f.Reason = "no handler: the default action of " + signals.Name(sig) + " is " + act.String()
	}
	if intent == IntentStop && (f.Risk == RiskFatal || f.Risk == RiskUnresolved && f.Go != nil) {
		f.Risk = RiskOK
		f.Reason = "a stop signal: ending the process is its purpose"
	}
	return f
}

// judgeGo judges a signal to a Go program by the Go runtime's rules: the
// handler in SigCgt is the runtime's own, and what it does depends on
// whether the program asked for the signal with signal.Notify.
func judgeGo(f *Finding, sig int, g *goProgram) {
	name := signals.Name(sig)
	act := goruntime.Unnotified(sig)
	f.Go = &GoRuntime{Version: g.version, Unnotified: act.String()}
	known := g.err == nil
	asked := known && g.wanted.Has(sig)
	if known {
		f.Go.Notify = &asked
	}
	unknown := ""
	if !known {
		unknown = "whether it does is not known: " + g.err.Error()
	}
	switch {
	case asked:
		f.Reason = "a Go program that asked for " + name + " with signal.Notify (read from the Go runtime's notify mask in its memory)"
	case act == goruntime.NoHandler:
		// A handler the runtime did not install at start (cgo code's own).
	case act == goruntime.Discard && known:
		f.Reason = "a Go program that did not ask for " + name + " with signal.Notify: the Go runtime's handler discards it " +
			"(runtime/signal_unix.go sighandler), so it survives, but what the sender meant (a reload, reopening logs) does not happen"
	case act == goruntime.Discard:
		f.Reason = "a Go program: it survives either way, since the Go runtime's handler discards " + name +
			" unless the program asked for it with signal.Notify; " + unknown
	case known:
		f.Risk = RiskFatal
		f.Reason = "a Go program that did not ask for " + name + " with signal.Notify: " + goKills(act, name)
	default:
		f.Risk = RiskUnresolved
		f.Reason = "a Go program, fatal unless it calls signal.Notify(" + name + "): " + goKills(act, name) + "; " + unknown
	}
}

// goKills says how the Go runtime's handler ends the program.
func goKills(act goruntime.Action, name string) string {
	if act == goruntime.Exit {
		return "the Go runtime's handler resets " + name + " to the default action and raises it again " +
			"(runtime/signal_unix.go dieFromSignal), so it dies of it"
	}
	return "the Go runtime's handler prints a goroutine dump and exits with status 2 (runtime/signal_unix.go sighandler)"
}

func sigOf(sig int) *Signal { return &Signal{Num: sig, Name: signals.Name(sig)} }

func targetOf(p *Proc) *Target {
	return &Target{PID: p.PID, Comm: p.Comm, Cmdline: p.Cmdline(), Unit: p.Unit}
}

var riskOrder = map[string]int{RiskFatal: 0, RiskUnresolved: 1, RiskOK: 2, RiskUnprepared: 3}

// sortFindings puts fatal risks first, then unresolved, ok and --all
// exposures; within each, by file and line, then PID.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if riskOrder[a.Risk] != riskOrder[b.Risk] {
			return riskOrder[a.Risk] < riskOrder[b.Risk]
		}
		if (a.Source == nil) != (b.Source == nil) {
			return a.Source != nil
		}
		if a.Source != nil {
			if a.Source.File != b.Source.File {
				return a.Source.File < b.Source.File
			}
			if a.Source.Line != b.Source.Line {
				return a.Source.Line < b.Source.Line
			}
		}
		pa, pb := 0, 0
		if a.Target != nil {
			pa = a.Target.PID
		}
		if b.Target != nil {
			pb = b.Target.PID
		}
		if pa != pb {
			return pa < pb
		}
		sa, sb := 0, 0
		if a.Signal != nil {
			sa = a.Signal.Num
		}
		if b.Signal != nil {
			sb = b.Signal.Num
		}
		return sa < sb
	})
}

// omitted is how many sender findings are not listed.
func (r *Report) omitted() int {
	n := 0
	for _, c := range r.Omitted {
		n += c
	}
	return n
}
