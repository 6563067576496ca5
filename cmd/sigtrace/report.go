package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/record"
	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tracer"
)

func init() { extraCommands = append(extraCommands, newReportCmd) }

const (
	// reportEarlier is how far before a death its earlier signals are
	// looked for, and reportMaxEarlier how many are told.
	reportEarlier    = 10 * time.Minute
	reportMaxEarlier = 10
	// reportVictims is the window around a death in which its killer's
	// other signals are its other victims.
	reportVictims = time.Minute
	reportMaxList = 10
)

func newReportCmd() *cobra.Command {
	var why, outFmt string
	cmd := &cobra.Command{
		Use:   "report [--why PID|COMM] PATH...",
		Short: "Tell the story of one death from a recording, or sum a recording up",
		Long: `With --why PID or --why COMM: finds the death of that process in the
recording (its exit event, else the last signal it was going to die of) and
tells it in a few lines: when, which signal, who sent it (argv and parent
chain; through a re-raise, the sender of the signal the process caught and
raised again), what the process had set up for the signal, the signals it
got in the ` + reportEarlier.String() + ` before, and the sender's other victims within
` + reportVictims.String() + `. Without --why: the recording's time span, deaths by signal,
top senders, fatal and unprepared signals, summarised storms, lost events
and gaps. -o json gives one object.`,
		Example: `  sigtrace report --why logdeviced /var/lib/sigtrace
  sigtrace report --why 3003 /var/lib/sigtrace -o json
  sigtrace report /var/lib/sigtrace`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outFmt != "table" && outFmt != "json" {
				return fmt.Errorf("unknown output format %q (want table or json)", outFmt)
			}
			for _, p := range args {
				if _, err := os.Lstat(p); err != nil {
					return fmt.Errorf("recording %s: %w", p, errors.Unwrap(err))
				}
			}
			if why != "" {
				return reportWhy(os.Stdout, why, args, outFmt == "json")
			}
			return reportSummary(os.Stdout, args, outFmt == "json")
		},
	}
	cmd.Flags().StringVar(&why, "why", "", "the process whose death to tell: its pid or its command name")
	cmd.Flags().StringVarP(&outFmt, "output", "o", "table", "output format: table or json")
	return cmd
}

// eachEvent reads every event of a recording, the Reader's warnings (a
// torn tail, corrupt lines) going to stderr.
func eachEvent(paths []string, fn func(ev *tracer.Event)) error {
	rd, err := record.NewReader(paths, record.ReaderOptions{Warn: os.Stderr})
	if err != nil {
		return err
	}
	defer rd.Close()
	p := output.NewParser()
	var ev tracer.Event
	for {
		line, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
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
		fn(&ev)
	}
}

// whoMatches says whether p is the process --why names.
func whoMatches(who string, p *tracer.Process) bool {
	if pid, err := strconv.ParseUint(who, 10, 32); err == nil {
		return p.PID == uint32(pid)
	}
	return string(tracer.CommBytes(p.Comm[:])) == who || string(tracer.CommBytes(p.ThreadComm[:])) == who
}

// death is what report --why found.
type death struct {
	ev      tracer.Event // the exit, or the fatal generate
	earlier []tracer.Event
	victims []tracer.Event
	// change: the last disposition event that made the signal fatal to
	// the process before its death, when recorded.
	change *tracer.Event
}

func reportWhy(w io.Writer, who string, paths []string, asJSON bool) error {
	// First pass: the last death of that process.
	var d death
	found := false
	err := eachEvent(paths, func(ev *tracer.Event) {
		switch {
		case ev.Type == tracer.TypeExit && whoMatches(who, &ev.Target):
		case ev.Type == tracer.TypeGenerate && ev.Generate.Fatal && whoMatches(who, &ev.Target):
			// A fatal signal counts until its exit is seen (which
			// then replaces it: it has the cause and the killer).
			if found && d.ev.Type == tracer.TypeExit && d.ev.Target.PID == ev.Target.PID && !ev.Time.After(d.ev.Time) {
				return
			}
		default:
			return
		}
		d.ev, found = ev.Clone(), true
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("no death of %s in the recording (no exit event, and no signal it was going to die of)", who)
	}
	pid := d.ev.Target.PID
	var killer uint32
	if f := d.ev.From(); f != nil && !f.KernelSender {
		killer = f.Sender.PID
	}
	// Second pass: what came before it, and the killer's other victims.
	err = eachEvent(paths, func(ev *tracer.Event) {
		if ev.Type == tracer.TypeDisposition && ev.Target.PID == pid && ev.Sig == d.ev.Sig && ev.Disposition.Fatal &&
			!ev.Time.After(d.ev.Time) && (d.change == nil || !ev.Time.Before(d.change.Time)) {
			c := ev.Clone()
			d.change = &c
		}
		if ev.Type != tracer.TypeGenerate {
			return
		}
		dt := d.ev.Time.Sub(ev.Time)
		if ev.Target.PID == pid && dt > 0 && dt <= reportEarlier {
			d.earlier = append(d.earlier, ev.Clone())
			if len(d.earlier) > reportMaxEarlier {
				d.earlier = d.earlier[1:]
			}
		}
		if killer != 0 && ev.Target.PID != pid && !ev.Generate.KernelSender && ev.Generate.Sender.PID == killer &&
			dt.Abs() <= reportVictims && len(d.victims) < reportMaxList {
			d.victims = append(d.victims, ev.Clone())
		}
	})
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSONReport(w, &d)
	}
	_, err = io.WriteString(w, d.story())
	return err
}

// story is the death told in a few lines.
func (d *death) story() string {
	var b strings.Builder
	ev := &d.ev
	name := fmt.Sprintf("%s[%d]", commOf(&ev.Target), ev.Target.PID)
	sig := signals.Name(ev.Sig)
	when := ev.Time.Format(time.RFC3339Nano)
	if ev.Type == tracer.TypeExit {
		fmt.Fprintf(&b, "%s died of %s at %s", name, sig, when)
		if ev.Exit.CoreDumped {
			b.WriteString(" (core dumped)")
		}
	} else {
		fmt.Fprintf(&b, "%s was sent %s at %s, which it was going to die of (its exit is not in the recording)", name, sig, when)
	}
	b.WriteString(".\n")
	f := ev.From()
	switch {
	case f == nil:
		b.WriteString("  Who sent it was not seen (its generate event was before the recording, or lost).\n")
	case f.KernelSender:
		fmt.Fprintf(&b, "  The kernel raised it: %s", output.SafeString(f.KernelReason))
		if f.MemCgroup != "" {
			fmt.Fprintf(&b, " (memory cgroup %s)", output.SafeString(f.MemCgroup))
		}
		b.WriteString(".\n")
	default:
		fmt.Fprintf(&b, "  Sent by %s", processLine(&f.Sender))
		if ev.Code != 0 || ev.Type == tracer.TypeExit {
			fmt.Fprintf(&b, " (%s)", signals.CodeName(ev.Sig, ev.Code))
		}
		b.WriteString(".\n")
		if len(f.Sender.Ancestry) > 0 {
			b.WriteString("    started by")
			for _, a := range f.Sender.Ancestry {
				fmt.Fprintf(&b, " ← %s[%d]", output.SafeString(string(tracer.CommBytes(a.Comm[:]))), a.PID)
			}
			b.WriteString("\n")
		}
	}
	if ev.Type == tracer.TypeExit && ev.Exit.KillerVia == tracer.KillerReraise {
		b.WriteString("  The process caught that signal and raised it again to die of it (a re-raise): the sender above sent the one it caught.\n")
	}
	if ev.Type == tracer.TypeGenerate && ev.Generate.ReraiseOf != nil {
		o := ev.Generate.ReraiseOf
		if o.KernelSender {
			fmt.Fprintf(&b, "  It re-raised a signal the kernel raised: %s.\n", output.SafeString(o.KernelReason))
		} else {
			fmt.Fprintf(&b, "  It re-raised the signal %s sent it.\n", processLine(&o.Sender))
		}
	}
	if s := ev.Setup(); s != nil && (ev.Type != tracer.TypeExit || ev.Exit.KillerKnown) {
		fmt.Fprintf(&b, "  It had %s for %s (default action: %s)", dispText(s), sig, s.DefaultAction)
		if s.Disposition == tracer.DispDefault && signals.Catchable(ev.Sig) && s.DefaultAction.Kills() {
			b.WriteString(": unprepared, it could have caught it")
		}
		b.WriteString(".\n")
	}
	d.sinceLine(&b)
	if len(d.earlier) > 0 {
		fmt.Fprintf(&b, "  Signals to it in the %s before:\n", reportEarlier)
		for i := range d.earlier {
			e := &d.earlier[i]
			fmt.Fprintf(&b, "    %s %s from %s: %s\n", e.Time.Format("15:04:05.000"), signals.Name(e.Sig), senderText(e), e.Generate.Kind)
		}
	}
	if len(d.victims) > 0 {
		fmt.Fprintf(&b, "  The sender's other signals within %s:\n", reportVictims)
		for i := range d.victims {
			e := &d.victims[i]
			fmt.Fprintf(&b, "    %s %s to %s[%d]: %s\n", e.Time.Format("15:04:05.000"), signals.Name(e.Sig),
				commOf(&e.Target), e.Target.PID, e.Generate.Kind)
		}
	}
	return b.String()
}

// sinceLine says since when the process had no handler for the signal
// it died of: from the exit (the kernel's disposition history), else
// from the last change the recording holds, else that it is not known.
func (d *death) sinceLine(b *strings.Builder) {
	ev := &d.ev
	sig := signals.Name(ev.Sig)
	if !signals.Catchable(ev.Sig) || !signals.DefaultAction(ev.Sig).Kills() {
		return
	}
	if ev.Type == tracer.TypeExit && ev.Exit.KillerVia == tracer.KillerReraise {
		return // it had a handler, which re-raised
	}
	if s := ev.Setup(); s != nil && s.Disposition != tracer.DispDefault && (ev.Type != tracer.TypeExit || ev.Exit.KillerKnown) {
		return
	}
	c := d.change
	switch s := ev.Exit.DefaultSince; {
	case ev.Type == tracer.TypeExit && s.Known:
		fmt.Fprintf(b, "  It had no %s handler since %s, ", sig, s.Time.Format(time.RFC3339))
		switch s.Cause {
		case tracer.CauseExec:
			b.WriteString("when it exec'd (and never installed one after)")
		case tracer.CauseResethand:
			b.WriteString("when SA_RESETHAND reset it as its handler ran")
		default:
			b.WriteString("when it set SIG_DFL with sigaction")
		}
		if c != nil && c.Disposition.Cause == s.Cause && c.Time.Sub(s.Time).Abs() < time.Millisecond && c.Disposition.From.Disposition == tracer.DispHandler && c.Disposition.From.Handler != 0 {
			fmt.Fprintf(b, " (its handler was 0x%x)", c.Disposition.From.Handler)
		}
		b.WriteString(".\n")
	case c != nil:
		fmt.Fprintf(b, "  It had no %s handler since %s, when %s (%s → default).\n", sig, c.Time.Format(time.RFC3339),
			map[tracer.Cause]string{tracer.CauseSigaction: "it set SIG_DFL with sigaction", tracer.CauseExec: "it exec'd",
				tracer.CauseResethand: "SA_RESETHAND reset it"}[c.Disposition.Cause], c.Disposition.From.Disposition)
	default:
		fmt.Fprintf(b, "  Since when it had no %s handler is not known (disposition history did not see it: not recorded then, or a kernel that shows no sigaction change).\n", sig)
	}
}

// commOf is a process's name for a terminal: what others chose, under the
// one policy for hostile text (output.SafeString).
func commOf(p *tracer.Process) string { return output.SafeString(string(tracer.CommBytes(p.Comm[:]))) }

func processLine(p *tracer.Process) string {
	s := fmt.Sprintf("%s[%d]", commOf(p), p.PID)
	if p.HasUID {
		s += fmt.Sprintf(" uid %d", p.UID)
	}
	if argv := p.ArgvStrings(); len(argv) > 0 {
		for i := range argv {
			argv[i] = output.SafeString(output.Clip(argv[i], 200))
		}
		s += ": " + strings.Join(argv, " ")
	}
	return s
}

func senderText(e *tracer.Event) string {
	if e.Generate.KernelSender {
		return "the kernel (" + output.SafeString(e.Generate.KernelReason) + ")"
	}
	return fmt.Sprintf("%s[%d]", commOf(&e.Generate.Sender), e.Generate.Sender.PID)
}

func dispText(s *tracer.Setup) string {
	switch s.Disposition {
	case tracer.DispHandler:
		return fmt.Sprintf("a handler (0x%x)", s.Handler)
	case tracer.DispIgnore:
		return "SIG_IGN"
	}
	return "no handler (SIG_DFL)"
}

// writeJSONReport writes the story as one object whose events are as -o
// json writes them.
func writeJSONReport(w io.Writer, d *death) error {
	b := []byte(`{"type":"report","death":`)
	b = trimNL(output.AppendJSON(b, &d.ev))
	list := func(name string, evs []tracer.Event) {
		b = append(b, `,"`+name+`":[`...)
		for i := range evs {
			if i > 0 {
				b = append(b, ',')
			}
			b = trimNL(output.AppendJSON(b, &evs[i]))
		}
		b = append(b, ']')
	}
	list("earlier", d.earlier)
	list("other_victims", d.victims)
	if d.change != nil {
		b = trimNL(output.AppendJSON(append(b, `,"disposition_change":`...), d.change))
	}
	b = append(b, "}\n"...)
	_, err := w.Write(b)
	return err
}

func trimNL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}

// summary is report without --why.
type recSummary struct {
	First, Last   time.Time
	Events        map[string]uint64
	Deaths        map[string]uint64 // by signal
	Senders       map[string]uint64 // generate events (summarised ones counted) by sender
	Fatal         uint64
	Unprepared    uint64
	Summarised    uint64
	Storms        map[string]uint64 // summarised, by sender -> target signal
	Lost, Gap     uint64
	FatalExamples []string
}

func reportSummary(w io.Writer, paths []string, asJSON bool) error {
	s := recSummary{Events: map[string]uint64{}, Deaths: map[string]uint64{}, Senders: map[string]uint64{}, Storms: map[string]uint64{}}
	var like tracer.Event
	err := eachEvent(paths, func(ev *tracer.Event) {
		if s.First.IsZero() || ev.Time.Before(s.First) {
			s.First = ev.Time
		}
		if ev.Time.After(s.Last) {
			s.Last = ev.Time
		}
		s.Events[ev.Type.String()]++
		switch ev.Type {
		case tracer.TypeExit:
			s.Deaths[signals.Name(ev.Sig)]++
		case tracer.TypeGenerate:
			s.Senders[senderText(ev)]++
			if ev.Generate.Fatal {
				s.Fatal++
				if len(s.FatalExamples) < reportMaxList {
					s.FatalExamples = append(s.FatalExamples, fmt.Sprintf("%s %s from %s to %s[%d]", ev.Time.Format(time.RFC3339),
						signals.Name(ev.Sig), senderText(ev), commOf(&ev.Target), ev.Target.PID))
				}
			}
			if ev.Generate.Unprepared {
				s.Unprepared++
			}
		case tracer.TypeCount:
			s.Summarised += ev.Count.N
			if ev.Count.Like(&like) && like.Type == tracer.TypeGenerate {
				s.Senders[senderText(&like)] += ev.Count.N
				s.Storms[fmt.Sprintf("%s -> %s[%d] %s", senderText(&like), commOf(&like.Target), like.Target.PID, signals.Name(like.Sig))] += ev.Count.N
			}
		case tracer.TypeLost:
			s.Lost += ev.Lost.Count
		case tracer.TypeGap:
			s.Gap += ev.Gap.Count
		}
	})
	if err != nil {
		return err
	}
	if asJSON {
		return writeSummaryJSON(w, &s)
	}
	var b strings.Builder
	if s.First.IsZero() {
		b.WriteString("The recording holds no events.\n")
	} else {
		fmt.Fprintf(&b, "From %s to %s (%s).\n", s.First.Format(time.RFC3339), s.Last.Format(time.RFC3339), s.Last.Sub(s.First).Round(time.Second))
	}
	fmt.Fprintf(&b, "Events: %s.\n", joinCounts(s.Events, 0))
	if len(s.Deaths) == 0 {
		b.WriteString("Deaths by a signal: none.\n")
	} else {
		fmt.Fprintf(&b, "Deaths by a signal: %s.\n", joinCounts(s.Deaths, 0))
	}
	fmt.Fprintf(&b, "Fatal signals: %d (unprepared: %d, they had no handler for a signal they could have caught).\n", s.Fatal, s.Unprepared)
	for _, e := range s.FatalExamples {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	fmt.Fprintf(&b, "Top senders: %s.\n", joinCounts(s.Senders, 5))
	if s.Summarised > 0 {
		fmt.Fprintf(&b, "Summarised (repeated signals counted, not kept in full): %d; storms: %s.\n", s.Summarised, joinCounts(s.Storms, 5))
	}
	if s.Lost > 0 || s.Gap > 0 {
		fmt.Fprintf(&b, "Missing: %d events lost by the kernel side (ring full), %d not written (disk).\n", s.Lost, s.Gap)
	} else {
		b.WriteString("Nothing lost.\n")
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// joinCounts lists counts largest first: "a 12, b 3"; top 0: all.
func joinCounts(m map[string]uint64, top int) string {
	type kv struct {
		k string
		n uint64
	}
	var l []kv
	for k, n := range m {
		l = append(l, kv{k, n})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].n > l[j].n || l[i].n == l[j].n && l[i].k < l[j].k })
	if top > 0 && len(l) > top {
		l = l[:top]
	}
	var parts []string
	for _, e := range l {
		parts = append(parts, fmt.Sprintf("%s %d", e.k, e.n))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func writeSummaryJSON(w io.Writer, s *recSummary) error {
	b := []byte(`{"type":"summary"`)
	if !s.First.IsZero() {
		b = append(b, `,"from":"`...)
		b = s.First.AppendFormat(b, output.TimeLayout)
		b = append(b, `","to":"`...)
		b = s.Last.AppendFormat(b, output.TimeLayout)
		b = append(b, '"')
	}
	obj := func(name string, m map[string]uint64) {
		b = append(b, `,"`+name+`":{`...)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = output.AppendJSONString(b, []byte(k))
			b = append(b, ':')
			b = strconv.AppendUint(b, m[k], 10)
		}
		b = append(b, '}')
	}
	obj("events", s.Events)
	obj("deaths", s.Deaths)
	obj("senders", s.Senders)
	obj("storms", s.Storms)
	b = fmt.Appendf(b, `,"fatal":%d,"unprepared":%d,"summarised":%d,"lost":%d,"gap":%d}`+"\n", s.Fatal, s.Unprepared, s.Summarised, s.Lost, s.Gap)
	_, err := w.Write(b)
	return err
}
