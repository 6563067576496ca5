package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// commLen is the longest name the kernel keeps in comm (TASK_COMM_LEN-1):
// what pkill and killall match by default.
const commLen = 15

// resolver matches selectors to live processes, with each tool's rules.
type resolver struct {
	procs *Procs
	root  *rootFS
	units map[string]*unit
	users map[string]int
}

// resolve returns the live processes a selector names for signal sig, or
// why there are none (saying what would match).
func (r *resolver) resolve(sel Selector, sig int) ([]*Proc, string) {
	switch sel.Kind {
	case SelPID:
		if p := r.procs.ByID[sel.PID]; p != nil {
			return []*Proc{p}, ""
		}
		return nil, fmt.Sprintf("PID %d is not running", sel.PID)
	case SelPidfile:
		p, why := r.pidfile(sel.Path)
		if p == nil {
			return nil, why
		}
		return []*Proc{p}, ""
	case SelMainPID:
		return r.mainPIDs(sel.Unit)
	case SelUnit:
		var out []*Proc
		for _, p := range r.procs.List {
			if unitMatches(p.Unit, sel.Unit) {
				out = append(out, p)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Sprintf("no live process in the cgroup of %s (would signal every process of the unit)", clip(sel.Unit))
		}
		return out, ""
	case SelMatch:
		return r.match(sel.Match, sig)
	}
	return nil, sel.Reason
}

// pidfile reads a pidfile of the audited system and returns its live
// process, or why not.
func (r *resolver) pidfile(p string) (*Proc, string) {
	// A pidfile may name any file (kill -HUP $(cat /etc/shadow)): only a
	// small regular file is read, and what it holds is never repeated
	// unless it is a PID.
	b, err := r.root.readFile(p, maxPidfileBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Sprintf("pidfile %s does not exist (would signal the PID written there)", clip(r.root.display(p)))
		}
		return nil, fmt.Sprintf("pidfile %s is not read: %s", clip(r.root.display(p)), errText(err))
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return nil, fmt.Sprintf("pidfile %s is empty", clip(r.root.display(p)))
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return nil, fmt.Sprintf("pidfile %s does not hold a PID", clip(r.root.display(p)))
	}
	proc := r.procs.ByID[pid]
	if proc == nil {
		return nil, fmt.Sprintf("pidfile %s names PID %d, which is not running (stale pidfile)", clip(r.root.display(p)), pid)
	}
	return proc, ""
}

// unitMatches reports whether a process's unit is the named one: the unit
// itself, an instance of a template ("getty@.service" covers
// "getty@tty1.service"), or a systemctl glob ("nginx*").
func unitMatches(procUnit, name string) bool {
	if procUnit == "" {
		return false
	}
	if procUnit == name {
		return true
	}
	if strings.HasSuffix(name, "@.service") {
		prefix := strings.TrimSuffix(name, ".service")
		return strings.HasPrefix(procUnit, prefix) && strings.HasSuffix(procUnit, ".service")
	}
	if strings.ContainsAny(name, "*?[") {
		ok, _ := path.Match(name, procUnit)
		return ok
	}
	return false
}

// unitActive reports whether a unit has a live process: its commands
// (ExecReload=, KillSignal=) can only run then.
func (r *resolver) unitActive(name string) bool {
	ps, _ := r.mainPIDs(name)
	return len(ps) > 0
}

// mainPIDs finds a unit's main process: the one in its PIDFile= when that
// is live, else, in each instance's cgroup, the oldest process whose
// parent is outside the cgroup (the one systemd started).
func (r *resolver) mainPIDs(name string) ([]*Proc, string) {
	why := ""
	if u := r.units[name]; u != nil && u.get("PIDFile") != "" && !u.isTemplate() {
		pf := expandSpecifiers(u.get("PIDFile"), name)
		p, w := r.pidfile(pf)
		if p != nil {
			return []*Proc{p}, ""
		}
		why = "; its PIDFile= says: " + w
	}
	byUnit := map[string][]*Proc{}
	for _, p := range r.procs.List {
		if unitMatches(p.Unit, name) {
			byUnit[p.Unit] = append(byUnit[p.Unit], p)
		}
	}
	var out []*Proc
	for _, members := range byUnit {
		var main *Proc
		for _, p := range members {
			if parent := r.procs.ByID[p.PPID]; parent != nil && parent.Unit == p.Unit {
				continue
			}
			if main == nil || p.Start < main.Start || (p.Start == main.Start && p.PID < main.PID) {
				main = p
			}
		}
		if main != nil {
			out = append(out, main)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Sprintf("%s has no live process (would signal its main process)%s", clip(name), why)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, ""
}

// match applies pkill/pgrep, killall, pidof or start-stop-daemon selection.
func (r *resolver) match(m *Match, sig int) ([]*Proc, string) {
	cands := r.procs.List
	if m.Pidfile != "" {
		p, why := r.pidfile(m.Pidfile)
		if p == nil {
			return nil, why
		}
		cands = []*Proc{p}
	}
	var re *regexp.Regexp
	if m.Pattern != "" && (m.Tool == "pkill" || m.Tool == "pgrep" || m.Regex) {
		expr := m.Pattern
		if m.Exact {
			expr = "^(" + expr + ")$"
		}
		if m.IgnoreCase {
			expr = "(?i)" + expr
		}
		var err error
		if re, err = regexp.Compile(expr); err != nil {
			return nil, fmt.Sprintf("cannot evaluate the pattern %q: %s", clip(m.Pattern), clip(err.Error()))
		}
	}
	var uids, ruids []int
	for _, set := range []struct {
		names []string
		out   *[]int
	}{{m.EUsers, &uids}, {m.RUsers, &ruids}} {
		for _, u := range set.names {
			id, ok := r.users[u]
			if !ok {
				n, err := strconv.Atoi(u)
				if err != nil {
					return nil, fmt.Sprintf("user %q is not in %s (would signal %s)", clip(u), clip(r.root.display("/etc/passwd")), m.Describe())
				}
				id = n
			}
			*set.out = append(*set.out, id)
		}
	}

	var out []*Proc
	for _, p := range cands {
		if !r.nameMatches(m, re, p) ||
			(len(uids) > 0 && !containsInt(uids, p.EUID)) ||
			(len(ruids) > 0 && !containsInt(ruids, p.RUID)) ||
			(len(m.PPIDs) > 0 && !containsInt(m.PPIDs, p.PPID)) ||
			(len(m.PGroups) > 0 && !containsInt(m.PGroups, p.PGRP)) ||
			(len(m.Sessions) > 0 && !containsInt(m.Sessions, p.Session)) ||
			containsInt(m.Omit, p.PID) ||
			(m.RequireHandler && !p.Caught.Has(sig)) {
			continue
		}
		out = append(out, p)
	}
	if len(out) > 1 && (m.Newest || m.Oldest || m.Single) {
		pick := out[0]
		for _, p := range out[1:] {
			newer := p.Start > pick.Start || (p.Start == pick.Start && p.PID > pick.PID)
			if (m.Newest || m.Single) == newer {
				pick = p
			}
		}
		out = []*Proc{pick}
	}
	if len(out) == 0 {
		why := "no live process matches: would signal " + m.Describe()
		if (m.Tool == "pkill" || m.Tool == "pgrep") && !m.Full && len(m.Pattern) > commLen && !strings.ContainsAny(m.Pattern, `.*+?[](){}|\^$`) {
			why += fmt.Sprintf("; process names are at most %d characters, so without -f this pattern never matches", commLen)
		}
		if (m.Exe != "" || m.Tool == "pidof") && os.Geteuid() != 0 {
			why += "; reading other users' /proc/PID/exe needs root"
		}
		if len(m.Unsupported) > 0 {
			why += "; not evaluated: " + strings.Join(m.Unsupported, ", ")
		}
		return nil, why
	}
	return out, ""
}

func (r *resolver) nameMatches(m *Match, re *regexp.Regexp, p *Proc) bool {
	eq := func(a, b string) bool {
		if m.IgnoreCase {
			return strings.EqualFold(a, b)
		}
		return a == b
	}
	argv0 := ""
	if len(p.Argv) > 0 {
		argv0 = p.Argv[0]
	}
	switch m.Tool {
	case "pkill", "pgrep":
		if re == nil {
			return true
		}
		subject := p.Comm
		if m.Full && len(p.Argv) > 0 {
			subject = p.Cmdline()
		}
		return re.MatchString(subject)
	case "killall":
		if m.Exe != "" {
			return p.Exe() == m.Exe
		}
		if re != nil {
			return re.MatchString(p.Comm) || (len(p.Comm) == commLen && re.MatchString(path.Base(argv0)))
		}
		// psmisc: comm holds only the first 15 bytes; a longer name is
		// compared with argv[0] when that is readable, and with -e only then.
		if len(m.Pattern) > commLen {
			if !eq(p.Comm, m.Pattern[:commLen]) {
				return false
			}
			if argv0 != "" {
				return eq(path.Base(argv0), m.Pattern)
			}
			return !m.Exact
		}
		return eq(p.Comm, m.Pattern)
	case "pidof":
		if strings.Contains(m.Pattern, "/") {
			return argv0 == m.Pattern || p.Exe() == m.Pattern
		}
		return path.Base(argv0) == m.Pattern || p.Comm == m.Pattern || (p.Exe() != "" && path.Base(p.Exe()) == m.Pattern)
	case "start-stop-daemon":
		if m.Comm != "" && p.Comm != truncComm(m.Comm) {
			return false
		}
		if m.Exe != "" && p.Exe() != m.Exe {
			return false
		}
		return true
	}
	return false
}

func truncComm(s string) string {
	if len(s) > commLen {
		return s[:commLen]
	}
	return s
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
