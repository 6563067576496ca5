package audit

import (
	"fmt"
	"strconv"
	"strings"
)

var cronSpecials = map[string]bool{
	"@reboot": true, "@yearly": true, "@annually": true, "@monthly": true,
	"@weekly": true, "@daily": true, "@midnight": true, "@hourly": true,
}

// cronFields are the five time fields: their range, and whether names
// (jan, mon) are allowed.
var cronFields = []struct {
	name     string
	lo, hi   int
	names    []string
	namesOff int
}{
	{"minute", 0, 59, nil, 0},
	{"hour", 0, 23, nil, 0},
	{"day of month", 1, 31, nil, 0},
	{"month", 1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}, 1},
	{"day of week", 0, 7, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}, 0},
}

// parseCrontab reads a crontab. system is true for /etc/crontab and
// /etc/cron.d/* (a user field follows the time), false for the per-user
// spool files. Each command becomes a script; malformed lines are
// warnings.
func parseCrontab(file string, data []byte, system bool) ([]*script, []Warning) {
	lines := splitLines(data)
	var scripts []*script
	var warns []Warning
	for i, raw := range lines {
		n := i + 1
		if l := (longLine{first: n, lines: 1, bytes: len(raw)}); l.tooLong() {
			// cron has no continuation lines: each line is one job.
			warns = append(warns, l.warning(file, "cron", n))
			continue
		}
		line := strings.TrimLeft(raw, " \t")
		if line == "" || line[0] == '#' {
			continue
		}
		if isCronEnv(line) {
			continue
		}
		nfields := 5
		if strings.HasPrefix(line, "@") {
			nfields = 1
		}
		if system {
			nfields++
		}
		fields, rest := cutFields(line, nfields)
		if len(fields) < nfields || strings.TrimSpace(rest) == "" {
			what := "a time and a command"
			if system {
				what = "a time, a user and a command"
			}
			warns = append(warns, Warning{File: file, Line: n, Msg: "malformed cron line: want " + what})
			continue
		}
		if err := checkCronTime(fields); err != nil {
			warns = append(warns, Warning{File: file, Line: n, Msg: "malformed cron line: " + err.Error()})
			continue
		}
		scripts = append(scripts, &script{file: file, lines: lines, firstLine: n,
			text: cronCommand(rest), context: "cron", intent: IntentNotify})
	}
	return scripts, warns
}

// isCronEnv recognises "NAME=value" lines (SHELL=, PATH=, MAILTO=).
func isCronEnv(line string) bool {
	c := line[0]
	if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
		return false
	}
	eq := strings.IndexByte(line, '=')
	if eq < 0 {
		return false
	}
	name := strings.TrimSpace(line[:eq])
	return !strings.ContainsAny(name, " \t")
}

// cutFields takes n whitespace-separated fields off the front of a line and
// returns them with the rest of the line, its spacing intact.
func cutFields(line string, n int) ([]string, string) {
	var fields []string
	rest := line
	for len(fields) < n {
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			break
		}
		end := strings.IndexAny(rest, " \t")
		if end < 0 {
			end = len(rest)
		}
		fields = append(fields, rest[:end])
		rest = rest[end:]
	}
	return fields, strings.TrimLeft(rest, " \t")
}

func checkCronTime(fields []string) error {
	if strings.HasPrefix(fields[0], "@") {
		if !cronSpecials[strings.ToLower(fields[0])] {
			return fmt.Errorf("unknown schedule %s", clip(fields[0]))
		}
		return nil
	}
	for i, f := range fields[:5] {
		spec := cronFields[i]
		for _, item := range strings.Split(f, ",") {
			rng, step, hasStep := strings.Cut(item, "/")
			if hasStep {
				if v, err := strconv.Atoi(step); err != nil || v <= 0 {
					return fmt.Errorf("bad step %q in %s field %q", clip(step), spec.name, clip(f))
				}
			}
			if rng == "*" {
				continue
			}
			// cronie's "~" picks a random value in a range.
			for _, part := range strings.FieldsFunc(rng, func(r rune) bool { return r == '-' || r == '~' }) {
				if !cronValue(part, spec.lo, spec.hi, spec.names) {
					return fmt.Errorf("bad %s field %q", spec.name, clip(f))
				}
			}
			if rng == "" || strings.HasPrefix(rng, "-") || strings.HasSuffix(rng, "-") {
				return fmt.Errorf("bad %s field %q", spec.name, clip(f))
			}
		}
	}
	return nil
}

func cronValue(s string, lo, hi int, names []string) bool {
	if v, err := strconv.Atoi(s); err == nil {
		return v >= lo && v <= hi
	}
	for _, n := range names {
		if strings.EqualFold(s, n) {
			return true
		}
	}
	return false
}

// cronCommand applies cron's % rule: an unescaped % ends the command (the
// rest is its standard input); \% is a literal %.
func cronCommand(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '%':
			b.WriteByte('%')
			i++
		case s[i] == '%':
			return b.String()
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// isShellScript reports whether a run-parts script (cron.daily/...) is run
// by a shell the audit can read: its #! line names sh, bash, dash, ...
func isShellScript(data []byte) bool {
	first, _, _ := strings.Cut(string(data), "\n")
	if !strings.HasPrefix(first, "#!") {
		return false
	}
	f := strings.Fields(strings.TrimPrefix(first, "#!"))
	if len(f) == 0 {
		return false
	}
	prog := f[0][strings.LastIndexByte(f[0], '/')+1:]
	if prog == "env" && len(f) > 1 {
		prog = f[1]
	}
	switch prog {
	case "sh", "bash", "dash", "ash", "ksh", "mksh", "zsh", "busybox":
		return true
	}
	return false
}
