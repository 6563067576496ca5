package audit

import (
	"bytes"
	"sort"
	"strings"
)

// unitDirs are searched in systemd's order of precedence: a unit file in
// /etc overrides one of the same name in /usr/lib.
var unitDirs = []string{
	"/etc/systemd/system",
	"/run/systemd/system",
	"/usr/local/lib/systemd/system",
	"/usr/lib/systemd/system",
	"/lib/systemd/system",
}

// unitEntry is one assignment in a unit file or drop-in.
type unitEntry struct {
	section, key, value string
	file                string
	line                int
	lines               []string // the whole file, to quote the line
}

// unit is a service unit with its drop-ins applied: what the audit needs
// to know of it.
type unit struct {
	name   string // "nginx.service", or a template "getty@.service"
	file   string
	exec   map[string][]unitEntry // ExecReload, ExecStop: lists, "" resets
	single map[string]unitEntry   // KillSignal, KillMode, PIDFile, Type, ReloadSignal
}

var unitLists = map[string]bool{"ExecReload": true, "ExecStop": true}
var unitSingles = map[string]bool{"KillSignal": true, "KillMode": true, "PIDFile": true, "Type": true, "ReloadSignal": true}

func (u *unit) apply(e unitEntry) {
	if e.section != "Service" {
		return
	}
	switch {
	case unitLists[e.key]:
		if e.value == "" {
			delete(u.exec, e.key)
			return
		}
		u.exec[e.key] = append(u.exec[e.key], e)
	case unitSingles[e.key]:
		if e.value == "" {
			delete(u.single, e.key)
			return
		}
		u.single[e.key] = e
	}
}

func (u *unit) get(key string) string { return u.single[key].value }

func (u *unit) isTemplate() bool {
	return strings.HasSuffix(strings.TrimSuffix(u.name, ".service"), "@")
}

// parseUnitFile reads systemd's ini syntax: [Section], Key=Value, comments
// with # or ;, and lines continued with a trailing backslash.
func parseUnitFile(file string, data []byte) ([]unitEntry, []Warning) {
	lines := splitLines(data)
	var out []unitEntry
	var warns []Warning
	section := ""
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimSpace(lines[i])
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				warns = append(warns, Warning{File: file, Line: n, Msg: "bad section header " + clip(line)})
				section = ""
				continue
			}
			section = line[1 : len(line)-1]
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			warns = append(warns, Warning{File: file, Line: n, Msg: "not a Key=Value assignment: " + clip(line)})
			continue
		}
		val = strings.TrimSpace(val)
		l := longLine{first: n, lines: 1, bytes: len(lines[i])}
		if strings.HasSuffix(val, `\`) {
			joined := []byte(val) // appended to: linear in the line's length
			for bytes.HasSuffix(joined, []byte(`\`)) && i+1 < len(lines) {
				joined = joined[:len(joined)-1]
				i++
				l.lines++
				l.bytes += 1 + len(lines[i])
				next := strings.TrimSpace(lines[i])
				switch {
				case next != "" && (next[0] == '#' || next[0] == ';'):
					joined = append(joined, '\\') // comment lines inside a continuation are skipped
				case l.tooLong():
					joined = append(joined[:0], next...) // not joined any more: only whether it goes on matters
				default:
					joined = append(append(joined, ' '), next...)
				}
			}
			val = string(joined)
		}
		if l.tooLong() {
			warns = append(warns, l.warning(file, "unit file", n))
			continue
		}
		if section == "" {
			warns = append(warns, Warning{File: file, Line: n, Msg: "assignment before any [Section]"})
			continue
		}
		out = append(out, unitEntry{section: section, key: strings.TrimSpace(key), value: strings.TrimSpace(val), file: file, line: n, lines: lines})
	}
	return out, warns
}

// loadUnits finds every service unit under the root, in precedence order,
// with its drop-ins (NAME.d/*.conf and service.d/*.conf) applied. Masked
// units (linked to /dev/null) and aliases are left out.
func loadUnits(r *rootFS, rep *collector) map[string]*unit {
	units := map[string]*unit{}
	seen := map[string]bool{}
	for _, dir := range unitDirs {
		for _, f := range r.listDir(dir, rep) {
			if !strings.HasSuffix(f.name, ".service") || seen[f.name] {
				continue
			}
			seen[f.name] = true
			if f.link != "" {
				if f.link == "/dev/null" {
					continue // masked
				}
				if base := f.link[strings.LastIndexByte(f.link, '/')+1:]; base != f.name {
					continue // an alias: the unit is loaded under its own name
				}
			}
			data, ok := r.read(f.path, rep)
			if !ok {
				continue
			}
			entries, warns := parseUnitFile(r.display(f.path), data)
			rep.warn(warns...)
			u := &unit{name: f.name, file: r.display(f.path), exec: map[string][]unitEntry{}, single: map[string]unitEntry{}}
			for _, e := range entries {
				u.apply(e)
			}
			units[f.name] = u
		}
	}
	// Drop-ins: the first file of a given name in precedence order wins,
	// and they apply in the lexical order of their names.
	for name, u := range units {
		dropins := map[string]string{}
		for _, dir := range unitDirs {
			for _, d := range []string{dir + "/service.d", dir + "/" + name + ".d"} {
				for _, f := range r.listDir(d, rep) {
					if strings.HasSuffix(f.name, ".conf") {
						if _, ok := dropins[f.name]; !ok {
							dropins[f.name] = f.path
						}
					}
				}
			}
		}
		names := make([]string, 0, len(dropins))
		for n := range dropins {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			data, ok := r.read(dropins[n], rep)
			if !ok {
				continue
			}
			entries, warns := parseUnitFile(r.display(dropins[n]), data)
			rep.warn(warns...)
			for _, e := range entries {
				u.apply(e)
			}
		}
	}
	return units
}

// unitSenders turns a unit's ExecReload=, ExecStop=, KillSignal= and
// Type=notify-reload into senders. Its commands see $MAINPID.
func unitSenders(env *scanEnv, u *unit) []Sender {
	var out []Sender
	for _, key := range []string{"ExecReload", "ExecStop"} {
		intent := IntentNotify
		if key == "ExecStop" {
			intent = IntentStop
		}
		for _, e := range u.exec[key] {
			sc := &script{file: e.file, lines: e.lines, firstLine: e.line, text: execCommandLine(e.value, u.name),
				context: "systemd " + key, intent: intent, unit: u.name}
			senders, warns := scanScriptIn(env, sc)
			env.col.warn(warns...)
			out = append(out, senders...)
		}
	}
	if e, ok := u.single["KillSignal"]; ok && u.get("KillMode") != "none" {
		snd := unitSignal(e, u, "KillSignal", IntentStop)
		if snd.Signal != 0 {
			kind := SelUnit
			if m := u.get("KillMode"); m == "process" || m == "mixed" {
				kind = SelMainPID
			}
			snd.Targets = []Selector{{Kind: kind, Unit: u.name, Text: u.name}}
		}
		out = append(out, snd)
	}
	if t, ok := u.single["Type"]; ok && t.value == "notify-reload" {
		e, explicit := u.single["ReloadSignal"]
		if !explicit {
			e = t
			e.value = "SIGHUP"
		}
		snd := unitSignal(e, u, "ReloadSignal", IntentNotify)
		snd.Targets = []Selector{{Kind: SelMainPID, Unit: u.name, Text: u.name}}
		out = append(out, snd)
	}
	return out
}

func unitSignal(e unitEntry, u *unit, what string, intent Intent) Sender {
	src := Source{File: e.file, Line: e.line, Text: quoteLine(e.lines, e.line), Context: "systemd " + what}
	snd := Sender{Source: src, Tool: "systemd", Intent: intent, Unit: u.name, SigText: clip(e.value)}
	if n, ok := sigArg(e.value); ok && n != 0 {
		snd.Signal = n
	} else {
		snd.Targets = []Selector{{Kind: SelUnknown, Text: clip(e.value), Reason: "not a signal systemd knows: " + clip(e.value)}}
	}
	return snd
}

// execCommandLine turns an Exec*= value into the command line it runs:
// the prefixes (-@:+!|) go, @ drops the argv[0] word, and the specifiers
// the audit can know are expanded.
func execCommandLine(v, unitName string) string {
	at := false
	for len(v) > 0 && strings.IndexByte("-@:+!|", v[0]) >= 0 {
		if v[0] == '@' {
			at = true
		}
		v = v[1:]
	}
	if at {
		// "@/bin/kill kill -HUP $MAINPID": the second word is argv[0].
		v = strings.TrimLeft(v, " \t")
		if exe, rest, ok := strings.Cut(v, " "); ok {
			rest = strings.TrimLeft(rest, " \t")
			if i := strings.IndexAny(rest, " \t"); i >= 0 {
				v = exe + " " + strings.TrimLeft(rest[i:], " \t")
			} else {
				v = exe
			}
		}
	}
	return expandSpecifiers(v, unitName)
}

func expandSpecifiers(v, unitName string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	base := strings.TrimSuffix(unitName, ".service")
	prefix, instance, _ := strings.Cut(base, "@")
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' || i+1 >= len(v) {
			b.WriteByte(v[i])
			continue
		}
		i++
		switch v[i] {
		case '%':
			b.WriteByte('%')
		case 'n':
			b.WriteString(unitName)
		case 'N':
			b.WriteString(base)
		case 'p', 'P':
			b.WriteString(prefix)
		case 'i', 'I':
			if instance == "" {
				b.WriteString("%" + string(v[i])) // a template: unknown instance
			} else {
				b.WriteString(instance)
			}
		case 't':
			b.WriteString("/run")
		case 'T':
			b.WriteString("/tmp")
		default:
			b.WriteByte('%')
			b.WriteByte(v[i])
		}
	}
	return b.String()
}
