package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sigtrace/sigtrace/output"
)

// Bounds on what one input line may make the audit produce (issue 21,
// item 6: a 1 MB kill argument was echoed whole, twice; 20,000
// continuation lines of PIDs after one kill gave 20,000 findings from one
// line). Honest lines are far shorter, and name a handful of targets.
const (
	// A logical line (physical lines joined by a trailing backslash) of
	// more physical lines or bytes than this is not audited: one warning
	// says so at its first line, and the audit goes on with the next.
	maxLineLines = 1024
	maxLineBytes = 64 << 10
	// At most this many findings are listed per configuration line (the
	// first line of a finding's source chain); one warning counts the
	// rest, by risk, and the summary's counts include them.
	maxFindingsPerLine = 16
	// A message (a reason, a selector described in words, a warning)
	// quotes a few words of input, each clipped to output.MaxEcho; this
	// bounds the whole message, should one quote more than it should.
	maxMessage = 4 * output.MaxEcho
)

// clip is output.Clip to output.MaxEcho: what is quoted of one line or
// one word of input.
func clip(s string) string { return output.Clip(s, output.MaxEcho) }

// quoteLine is how the n-th (1-based) line of a file is quoted in a
// finding: trimmed and clipped.
func quoteLine(lines []string, n int) string {
	if n >= 1 && n <= len(lines) {
		return clip(strings.TrimSpace(lines[n-1]))
	}
	return ""
}

// longLine is a logical line over the bounds.
type longLine struct {
	first int // its first physical line, 1-based
	lines int // physical lines it spans
	bytes int // its bytes, the backslash-newlines included
}

func (l longLine) tooLong() bool { return l.lines > maxLineLines || l.bytes > maxLineBytes }

// warning is the one warning for a line over the bounds, in a file's
// what ("cron", "logrotate postrotate", "unit file").
func (l longLine) warning(file, what string, line int) Warning {
	msg := fmt.Sprintf("%s line too long: %d bytes (at most %d): not audited; the audit goes on with the next line",
		what, l.bytes, maxLineBytes)
	if l.lines > 1 {
		msg = fmt.Sprintf("%s line too long: %d lines joined by backslashes, %d bytes (at most %d lines, %d bytes): not audited; the audit goes on with the next line",
			what, l.lines, l.bytes, maxLineLines, maxLineBytes)
	}
	return Warning{File: file, Line: line, Msg: msg}
}

// continues reports whether a physical line of shell or of a unit file
// is continued on the next: it ends in an odd number of backslashes.
func continues(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// boundLines finds the logical lines of shell text that are over the
// bounds, and returns the text with each of their physical lines made
// empty (the newlines stay, so every other line keeps its number). It
// does not look at quotes: a backslash at the end of a line inside
// single quotes counts as a continuation, which can only over-count,
// which is safe for a bound.
func boundLines(text string) (string, []longLine) {
	var long []longLine
	var out strings.Builder
	done, line := 0, 1 // text[:done] is in out; line is the number of the next physical line
	for pos := 0; pos < len(text); {
		start := pos
		l := longLine{first: line}
		for {
			l.lines++
			line++
			nl := strings.IndexByte(text[pos:], '\n')
			if nl < 0 {
				pos = len(text)
				break
			}
			phys := text[pos : pos+nl]
			pos += nl + 1
			if !continues(phys) {
				break
			}
		}
		l.bytes = len(strings.TrimSuffix(text[start:pos], "\n"))
		if !l.tooLong() {
			continue
		}
		long = append(long, l)
		out.WriteString(text[done:start])
		out.WriteString(strings.Repeat("\n", strings.Count(text[start:pos], "\n")))
		done = pos
	}
	if long == nil {
		return text, nil
	}
	out.WriteString(text[done:])
	return out.String(), long
}

// boundFinding clips what a finding repeats of its input: the lines of
// its source chain to output.MaxEcho, the sender and the messages to
// maxMessage. The words those messages quote are clipped where they are
// put in (value.text, the selectors' fields); this is the last resort.
func boundFinding(f *Finding) {
	if f.Source != nil {
		src := *f.Source
		src.File, src.Text, src.Context = output.Clip(src.File, maxMessage), clip(src.Text), output.Clip(src.Context, maxMessage)
		src.Via = slices.Clone(src.Via)
		for i := range src.Via {
			h := &src.Via[i]
			h.File, h.Text, h.Context = output.Clip(h.File, maxMessage), clip(h.Text), output.Clip(h.Context, maxMessage)
		}
		f.Source = &src
	}
	f.Sender = output.Clip(f.Sender, maxMessage)
	f.Selector = output.Clip(f.Selector, maxMessage)
	f.Reason = output.Clip(f.Reason, maxMessage)
}

// lineLimit keeps at most maxFindingsPerLine findings per configuration
// line, the most serious first (a fatal risk is never left out for an ok
// one), and counts the rest by risk.
type lineLimit struct {
	max    int
	groups map[lineKey]*lineGroup
	order  []lineKey
}

type lineKey struct {
	file string
	line int
}

type lineGroup struct {
	kept    []Finding
	omitted map[string]int // by risk
}

func newLineLimit(max int) *lineLimit {
	return &lineLimit{max: max, groups: map[lineKey]*lineGroup{}}
}

// add takes one sender finding.
func (l *lineLimit) add(f Finding) {
	k := lineKey{}
	if f.Source != nil {
		k = lineKey{f.Source.File, f.Source.Line}
	}
	g := l.groups[k]
	if g == nil {
		g = &lineGroup{omitted: map[string]int{}}
		l.groups[k] = g
		l.order = append(l.order, k)
	}
	if len(g.kept) < l.max {
		g.kept = append(g.kept, f)
		return
	}
	// Full: the new one replaces the least serious kept one if it is
	// more serious, and the least serious of the two is counted.
	worst := 0
	for i, k := range g.kept {
		if riskOrder[k.Risk] > riskOrder[g.kept[worst].Risk] {
			worst = i
		}
	}
	if riskOrder[f.Risk] < riskOrder[g.kept[worst].Risk] {
		f, g.kept[worst] = g.kept[worst], f
	}
	g.omitted[f.Risk]++
}

// result is the findings kept, the counts of those left out by risk, and
// a warning for each line that had findings left out.
func (l *lineLimit) result() (kept []Finding, omitted map[string]int, warns []Warning) {
	omitted = map[string]int{}
	for _, k := range l.order {
		g := l.groups[k]
		kept = append(kept, g.kept...)
		n := 0
		var parts []string
		for _, r := range []string{RiskFatal, RiskUnresolved, RiskOK} {
			if c := g.omitted[r]; c > 0 {
				n += c
				omitted[r] += c
				parts = append(parts, fmt.Sprintf("%d %s", c, r))
			}
		}
		if n > 0 {
			warns = append(warns, Warning{File: k.file, Line: k.line, Msg: fmt.Sprintf(
				"... and %d more findings from this line, not listed: at most %d are listed per line (%s)",
				n, l.max, strings.Join(parts, ", "))})
		}
	}
	return kept, omitted, warns
}
