package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/sigtrace/sigtrace/output"
)

// WriteJSON writes one finding per line.
func WriteJSON(w io.Writer, rep *Report) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	var out []byte
	for i := range rep.Findings {
		buf.Reset()
		if err := enc.Encode(&rep.Findings[i]); err != nil {
			return err
		}
		out = escapeFormat(out[:0], buf.Bytes())
		if _, err := w.Write(out); err != nil {
			return err
		}
	}
	return nil
}

// escapeFormat copies encoding/json's output, writing as \uNNNN what it
// leaves raw but the one policy (output.AppendSafe) escapes: DEL, C1
// controls (U+009B is CSI to a terminal) and the bidirectional and
// invisible format characters. -o json is read on terminals too, and the trace's JSON
// escapes them (output.AppendJSONString). encoding/json's output is valid
// UTF-8 and has such runes only inside strings, so the result stays valid
// JSON and decodes to the same text.
func escapeFormat(dst, js []byte) []byte {
	for i := 0; i < len(js); {
		c := js[i]
		if c < utf8.RuneSelf && c != 0x7f {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(js[i:])
		if s := string(js[i : i+size]); output.SafeString(s) != s {
			dst = fmt.Appendf(dst, `\u%04x`, r)
		} else {
			dst = append(dst, js[i:i+size]...)
		}
		i += size
	}
	return dst
}

// WriteTable writes the findings as a table, fatal risks first, each with
// its file and line; reasons go on an indented line below their row.
// --all exposures follow, one row per process; a summary line ends it.
func WriteTable(w io.Writer, rep *Report) error {
	ew := &errWriter{w: w}
	header := []string{"RISK", "SIGNAL", "TARGET", "DISPOSITION", "SOURCE", "COMMAND"}
	var rows [][]string
	var notes []string
	var exposures []Finding
	for _, f := range rep.Findings {
		if f.Kind == "exposure" {
			exposures = append(exposures, f)
			continue
		}
		risk := f.Risk
		if risk == RiskFatal {
			risk = "FATAL"
		}
		sig, target, disp := "-", "-", "-"
		if f.Signal != nil {
			sig = f.Signal.Name
		}
		if f.Target != nil {
			target = fmt.Sprintf("%d %s", f.Target.PID, printable(f.Target.Comm))
		}
		if f.Disposition != "" {
			disp = f.Disposition
		}
		src, text := "-", ""
		if f.Source != nil {
			src, text = shortChain(*f.Source), f.Source.Command()
		}
		rows = append(rows, []string{risk, sig, target, disp, printable(src), printable(strings.ReplaceAll(text, "\t", " "))})
		note := f.Reason
		if f.Risk == RiskFatal && strings.HasPrefix(note, "no handler:") {
			note = ""
		}
		notes = append(notes, note)
	}
	if len(rows) > 0 {
		widths := columnWidths(header, rows)
		writeRow(ew, widths, header)
		for i, r := range rows {
			writeRow(ew, widths, r)
			if notes[i] != "" {
				fmt.Fprintf(ew, "%s-> %s\n", strings.Repeat(" ", widths[0]+2), printable(notes[i]))
			}
		}
	}

	if len(exposures) > 0 {
		if len(rows) > 0 {
			fmt.Fprintln(ew)
		}
		fmt.Fprintln(ew, "Unprepared processes (--all): no handler (or a Go program that did not ask for it), so it would die of it")
		byPID := map[int][]string{}
		var order []*Target
		for _, f := range exposures {
			if _, ok := byPID[f.Target.PID]; !ok {
				order = append(order, f.Target)
			}
			byPID[f.Target.PID] = append(byPID[f.Target.PID], f.Signal.Name)
		}
		h := []string{"PID", "COMM", "SIGNALS", "CMDLINE"}
		var er [][]string
		for _, t := range order {
			er = append(er, []string{fmt.Sprint(t.PID), printable(t.Comm), strings.Join(byPID[t.PID], ","), printable(output.Clip(t.Cmdline, maxCmdline))})
		}
		widths := columnWidths(h, er)
		writeRow(ew, widths, h)
		for _, r := range er {
			writeRow(ew, widths, r)
		}
	}

	if len(rep.Findings) > 0 {
		fmt.Fprintln(ew)
	}
	fmt.Fprintln(ew, summary(rep))
	return ew.err
}

// shortChain is the source's file:line chain for the table: a hop in the
// same file as the one before it shows its line only ("a:9 → :4").
func shortChain(s Source) string {
	out := fmt.Sprintf("%s:%d", s.File, s.Line)
	prev := s.File
	for _, h := range s.Via {
		if h.File == prev {
			out += fmt.Sprintf(" → :%d", h.Line)
		} else {
			out += fmt.Sprintf(" → %s:%d", h.File, h.Line)
		}
		prev = h.File
	}
	return out
}

// maxCmdline bounds the command lines shown in the --all table, for its
// layout (JSON has them whole).
const maxCmdline = 100

// printable applies sigtrace's one policy for text that others choose
// (output.AppendSafe) to a cell of the audit's table.
func printable(s string) string { return output.SafeString(s) }

func summary(rep *Report) string {
	var s string
	if rep.Senders == 0 {
		s = "No configured signal senders found"
	} else {
		s = fmt.Sprintf("%d fatal, %d unresolved, %d ok: %d signal sender%s",
			rep.Count(RiskFatal), rep.Count(RiskUnresolved), rep.Count(RiskOK), rep.Senders, plural(rep.Senders))
	}
	s += fmt.Sprintf(" (%d configuration file%s read, %d process%s examined", rep.Files, plural(rep.Files), rep.Procs, pluralES(rep.Procs))
	if rep.Inactive > 0 {
		s += fmt.Sprintf("; %d sender%s of units with no live process left out", rep.Inactive, plural(rep.Inactive))
	}
	if n := rep.omitted(); n > 0 {
		s += fmt.Sprintf("; %d finding%s not listed, past %d from one line (see the warnings)", n, plural(n), maxFindingsPerLine)
	}
	s += ")."
	if w := rep.Stopped; w != nil {
		s += fmt.Sprintf(" INCOMPLETE: the audit stopped at %s:%d, at a bound on its work (see the warnings); what it did not reach is not listed.",
			printable(output.Clip(w.File, maxMessage)), w.Line)
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pluralES(n int) string {
	if n == 1 {
		return ""
	}
	return "es"
}

func columnWidths(header []string, rows [][]string) []int {
	w := make([]int, len(header))
	for i, h := range header {
		w[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			if len(c) > w[i] {
				w[i] = len(c)
			}
		}
	}
	return w
}

func writeRow(w io.Writer, widths []int, cells []string) {
	var b strings.Builder
	for i, c := range cells {
		if i == len(cells)-1 {
			b.WriteString(c)
			break
		}
		b.WriteString(c)
		b.WriteString(strings.Repeat(" ", widths[i]-len(c)+2))
	}
	fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
}

// errWriter keeps the first write error, so a closed pipe ends output once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
