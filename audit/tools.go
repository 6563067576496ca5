package audit

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sigtrace/sigtrace/signals"
	"golang.org/x/sys/unix"
)

// This file knows the command lines of the tools that send signals: kill,
// pkill/pgrep, killall, pidof, start-stop-daemon and systemctl, and of the
// indirect ones (invoke-rc.d, service, init scripts).

const sigterm = int(unix.SIGTERM)

// sigArg parses a signal the way these tools take one ("HUP", "SIGHUP",
// "hup", "1", "RTMIN+2"); 0 is kill's "check only" signal.
func sigArg(s string) (int, bool) {
	if s == "0" || strings.EqualFold(s, "SIG0") {
		return 0, true
	}
	n, err := signals.Parse(s)
	return n, err == nil
}

// sigSetter records a signal option: a literal one, or what was written.
type sigSetter struct {
	sig  int
	text string
	set  bool
	zero bool // signal 0: nothing is sent
}

func (ss *sigSetter) from(v value) {
	ss.set = true
	if !v.isLit {
		ss.sig, ss.text = 0, v.text
		return
	}
	n, ok := sigArg(v.lit)
	switch {
	case !ok:
		ss.sig, ss.text = 0, clip(v.lit)
	case n == 0:
		ss.zero = true
	default:
		ss.sig, ss.text = n, clip(v.lit)
	}
}

func (ss *sigSetter) fromString(s string) { ss.from(value{lit: s, isLit: true, text: s}) }

func (ss *sigSetter) result() (int, string) {
	if !ss.set {
		return sigterm, "TERM"
	}
	return ss.sig, ss.text
}

// parseKill reads the arguments of kill (the shell builtin, procps or
// util-linux kill). stdin holds PIDs piped in through xargs. A kill that
// only lists signals, prints PIDs or sends signal 0 is no sender.
func parseKill(src Source, args []value, stdin *stdinPIDs, unit string) Sender {
	var ss sigSetter
	var operands []value
	optsDone := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if optsDone {
			operands = append(operands, a)
			continue
		}
		if !a.isLit {
			if strings.HasPrefix(a.text, "-") && !ss.set && len(operands) == 0 {
				ss.from(a) // kill -$SIG ...
				continue
			}
			operands = append(operands, a)
			continue
		}
		l := a.lit
		switch {
		case l == "--":
			optsDone = true
		case l == "-s" || l == "--signal" || l == "-n":
			if i+1 < len(args) {
				ss.from(args[i+1])
				i++
			}
		case strings.HasPrefix(l, "--signal="):
			ss.fromString(strings.TrimPrefix(l, "--signal="))
		case l == "-l" || l == "-L" || l == "--list" || l == "--table" || strings.HasPrefix(l, "--list="),
			l == "-p" || l == "--pid":
			return Sender{}
		case l == "-q" || l == "--queue":
			i++
		case l == "--timeout":
			i += 2 // a follow-up signal after a delay
		case l == "-a" || l == "--all" || l == "--verbose" || l == "-r" || l == "--require-handler":
		case strings.HasPrefix(l, "-") && len(l) > 1 && !ss.set && len(operands) == 0:
			ss.fromString(l[1:])
		default:
			operands = append(operands, a)
		}
	}
	if ss.zero {
		return Sender{}
	}
	var targets []Selector
	if stdin != nil && stdin.replace != "" {
		for i, o := range operands {
			if o.isLit && o.lit == stdin.replace {
				operands = append(operands[:i], operands[i+1:]...)
				break
			}
		}
	}
	for _, o := range operands {
		targets = append(targets, pidOperand(o, unit)...)
	}
	if stdin != nil {
		targets = append(targets, stdin.sels...)
	}
	if len(targets) == 0 {
		return Sender{}
	}
	sig, text := ss.result()
	return Sender{Source: src, Tool: "kill", Signal: sig, SigText: text, Targets: targets}
}

// pidOperand turns one kill operand into selectors.
func pidOperand(v value, unit string) []Selector {
	if v.sels != nil {
		return v.sels
	}
	if !v.isLit {
		why := "the PID comes from " + v.text + ", which is only known when the script runs"
		if strings.HasPrefix(v.text, "-") {
			why = "a process group (" + v.text + "), only known when the script runs"
		}
		if strings.Contains(v.text, "MAINPID") && unit == "" {
			why = "$MAINPID is only set by systemd for the unit's own commands"
		}
		return []Selector{{Kind: SelUnknown, Text: v.text, Reason: why}}
	}
	var out []Selector
	for _, f := range strings.Fields(v.lit) {
		n, err := strconv.Atoi(f)
		switch {
		case err != nil && strings.HasPrefix(f, "%"):
			out = append(out, Selector{Kind: SelUnknown, Text: clip(f), Reason: "a shell job specification"})
		case err != nil:
			out = append(out, Selector{Kind: SelUnknown, Text: clip(f), Reason: fmt.Sprintf("%q is not a PID", clip(f))})
		case n == -1:
			out = append(out, Selector{Kind: SelUnknown, Text: clip(f), Reason: "PID -1 means every process the sender may signal"})
		case n <= 0:
			out = append(out, Selector{Kind: SelUnknown, Text: clip(f), Reason: fmt.Sprintf("%d names a process group", n)})
		default:
			out = append(out, Selector{Kind: SelPID, PID: n, Text: f})
		}
	}
	return out
}

// parsePkill reads procps pkill/pgrep options: the signal (pkill only:
// -SIG, --signal SIG), the pattern and the selection criteria.
func parsePkill(tool string, args []value) (*Match, sigSetter, bool) {
	m := &Match{Tool: tool}
	var ss sigSetter
	var pattern *value
	withArg := map[string]bool{
		"g": true, "G": true, "P": true, "s": true, "t": true, "u": true, "U": true, "F": true,
		"r": true, "O": true, "q": true, "d": true, "L": false,
		"--pgroup": true, "--group": true, "--parent": true, "--session": true, "--terminal": true,
		"--euid": true, "--uid": true, "--pidfile": true, "--runstates": true, "--older": true,
		"--signal": true, "--queue": true, "--ns": true, "--nslist": true, "--cgroup": true, "--delimiter": true,
	}
	apply := func(opt, arg string) {
		switch opt {
		case "f", "--full":
			m.Full = true
		case "x", "--exact":
			m.Exact = true
		case "i", "--ignore-case":
			m.IgnoreCase = true
		case "n", "--newest":
			m.Newest = true
		case "o", "--oldest":
			m.Oldest = true
		case "H", "--require-handler":
			m.RequireHandler = true
		case "u", "--euid":
			m.EUsers = append(m.EUsers, strings.Split(arg, ",")...)
		case "U", "--uid":
			m.RUsers = append(m.RUsers, strings.Split(arg, ",")...)
		case "P", "--parent":
			m.PPIDs = append(m.PPIDs, atoiList(arg)...)
		case "g", "--pgroup":
			m.PGroups = append(m.PGroups, atoiList(arg)...)
		case "s", "--session":
			m.Sessions = append(m.Sessions, atoiList(arg)...)
		case "F", "--pidfile":
			m.Pidfile = arg
		case "--signal":
			ss.fromString(arg)
		case "v", "--inverse":
			m.Unsupported = append(m.Unsupported, "-v (inverse match)")
		case "G", "--group", "t", "--terminal", "r", "--runstates", "O", "--older", "--ns", "--nslist", "--cgroup":
			m.Unsupported = append(m.Unsupported, "-"+strings.TrimPrefix(opt, "-")+" "+arg)
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !a.isLit {
			if pattern == nil && !strings.HasPrefix(a.text, "-") {
				pattern = &args[i]
			}
			continue
		}
		l := a.lit
		next := func() string {
			if i+1 < len(args) {
				i++
				if args[i].isLit {
					return args[i].lit
				}
				return args[i].text
			}
			return ""
		}
		switch {
		case l == "--":
			if i+1 < len(args) && pattern == nil {
				pattern = &args[i+1]
			}
			i = len(args)
		case strings.HasPrefix(l, "--"):
			opt, arg, hasArg := strings.Cut(l, "=")
			if withArg[opt] && !hasArg {
				arg = next()
			}
			apply(opt, arg)
		case strings.HasPrefix(l, "-") && len(l) > 1:
			if tool == "pkill" && !ss.set {
				if _, ok := sigArg(l[1:]); ok {
					ss.fromString(l[1:])
					continue
				}
			}
			for j := 1; j < len(l); j++ {
				o := string(l[j])
				if withArg[o] {
					arg := l[j+1:]
					if arg == "" {
						arg = next()
					}
					apply(o, arg)
					break
				}
				apply(o, "")
			}
		default:
			if pattern == nil {
				pattern = &args[i]
			}
		}
	}
	if pattern != nil {
		if !pattern.isLit {
			return nil, ss, false
		}
		m.Pattern = pattern.lit
	}
	if pattern == nil && m.Pidfile == "" && len(m.EUsers) == 0 && len(m.RUsers) == 0 &&
		len(m.PPIDs) == 0 && len(m.PGroups) == 0 && len(m.Sessions) == 0 {
		return nil, ss, false // pkill with no criteria is an error
	}
	return m, ss, true
}

func matchSender(src Source, tool string, ss sigSetter, m *Match) Sender {
	if ss.zero {
		return Sender{}
	}
	sig, text := ss.result()
	return Sender{Source: src, Tool: tool, Signal: sig, SigText: text,
		Targets: []Selector{{Kind: SelMatch, Match: m, Text: src.Text}}}
}

// parsePidof reads `pidof [-s] [-x] [-o PID] NAME...`.
func parsePidof(args []value) []Selector {
	var names []string
	single := false
	var omit []int
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !a.isLit {
			return nil
		}
		switch {
		case a.lit == "-s":
			single = true
		case a.lit == "-o" && i+1 < len(args):
			omit = append(omit, atoiList(args[i+1].lit)...)
			i++
		case a.lit == "-S" && i+1 < len(args):
			i++
		case strings.HasPrefix(a.lit, "-"):
		default:
			names = append(names, a.lit)
		}
	}
	var out []Selector
	for _, n := range names {
		out = append(out, Selector{Kind: SelMatch, Text: "$(pidof " + n + ")",
			Match: &Match{Tool: "pidof", Pattern: n, Single: single, Omit: omit}})
	}
	return out
}

// parseKillall reads psmisc killall: -s SIG, --signal SIG, -SIG, -e, -I,
// -r, -u USER, and one or more names (a name with a slash is an
// executable path).
func parseKillall(src Source, args []value) []Sender {
	var ss sigSetter
	var names []value
	exact, icase, regex := false, false, false
	var users []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !a.isLit {
			names = append(names, a)
			continue
		}
		l := a.lit
		next := func() value {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return value{}
		}
		switch {
		case l == "-l" || l == "--list" || l == "-V" || l == "--version":
			return nil
		case l == "-s" || l == "--signal":
			ss.from(next())
		case strings.HasPrefix(l, "--signal="):
			ss.fromString(strings.TrimPrefix(l, "--signal="))
		case l == "-u" || l == "--user":
			users = append(users, next().lit)
		case l == "-o" || l == "-y" || l == "--older-than" || l == "--younger-than" || l == "-n" || l == "--ns" || l == "-Z" || l == "--context":
			next()
		case l == "--exact":
			exact = true
		case l == "--ignore-case":
			icase = true
		case l == "--regexp":
			regex = true
		case strings.HasPrefix(l, "--"):
		case strings.HasPrefix(l, "-") && len(l) > 1:
			if _, ok := sigArg(l[1:]); ok && !ss.set {
				ss.fromString(l[1:])
				continue
			}
			for _, c := range l[1:] {
				switch c {
				case 'e':
					exact = true
				case 'I':
					icase = true
				case 'r':
					regex = true
				}
			}
		default:
			names = append(names, a)
		}
	}
	if ss.zero {
		return nil
	}
	sig, text := ss.result()
	var out []Sender
	for _, n := range names {
		snd := Sender{Source: src, Tool: "killall", Signal: sig, SigText: text}
		if !n.isLit {
			snd.Targets = []Selector{{Kind: SelUnknown, Text: n.text, Reason: "the process name " + n.text + " is only known when the script runs"}}
		} else {
			m := &Match{Tool: "killall", Pattern: n.lit, Exact: exact, IgnoreCase: icase, Regex: regex, EUsers: users}
			if strings.Contains(n.lit, "/") && !regex {
				m.Exe, m.Pattern = n.lit, ""
			}
			snd.Targets = []Selector{{Kind: SelMatch, Match: m, Text: n.lit}}
		}
		out = append(out, snd)
	}
	return out
}

// parseStartStopDaemon reads `start-stop-daemon --stop [--signal SIG]
// [--pidfile F] [--name N] [--exec P] [--user U]`: it signals the
// processes meeting every given criterion. Without --stop, or with --test,
// nothing is sent.
func parseStartStopDaemon(src Source, args []value) []Sender {
	var ss sigSetter
	m := &Match{Tool: "start-stop-daemon"}
	stop := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !a.isLit {
			continue
		}
		opt, arg, hasArg := strings.Cut(a.lit, "=")
		needs := func() (value, bool) {
			if hasArg {
				return value{lit: arg, isLit: true, text: arg}, true
			}
			if i+1 < len(args) {
				i++
				return args[i], args[i].isLit
			}
			return value{}, false
		}
		switch opt {
		case "-K", "--stop":
			stop = true
		case "-t", "--test", "-S", "--start", "-T", "--status", "-H", "--help", "-V", "--version":
			return nil
		case "-s", "--signal":
			v, _ := needs()
			ss.from(v)
		case "-R", "--retry":
			v, ok := needs()
			if ok && !ss.set {
				// A schedule (TERM/30/KILL/5) starts with its signal.
				first := strings.Split(v.lit, "/")[0]
				if _, err := strconv.Atoi(first); err != nil {
					ss.fromString(first)
				}
			}
		case "-p", "--pidfile":
			if v, ok := needs(); ok {
				m.Pidfile = v.lit
			}
		case "-n", "--name":
			if v, ok := needs(); ok {
				m.Comm = v.lit
			}
		case "-x", "--exec":
			if v, ok := needs(); ok {
				m.Exe = v.lit
			}
		case "-u", "--user":
			if v, ok := needs(); ok {
				m.EUsers = append(m.EUsers, v.lit)
			}
		case "--ppid":
			if v, ok := needs(); ok {
				m.PPIDs = append(m.PPIDs, atoiList(v.lit)...)
			}
		case "-g", "--group", "-a", "--startas", "-c", "--chuid", "-r", "--chroot", "-d", "--chdir",
			"-N", "--nicelevel", "-P", "--procsched", "-I", "--iosched", "-k", "--umask", "-O", "--output":
			needs()
		}
	}
	if !stop || ss.zero {
		return nil
	}
	if m.Pidfile == "" && m.Comm == "" && m.Exe == "" && len(m.EUsers) == 0 && len(m.PPIDs) == 0 {
		return nil // start-stop-daemon refuses to run without a criterion
	}
	sig, text := ss.result()
	return []Sender{{Source: src, Tool: "start-stop-daemon", Signal: sig, SigText: text,
		Targets: []Selector{{Kind: SelMatch, Match: m, Text: src.Text}}}}
}

// systemctl options that take a value, so it is not mistaken for a verb.
var systemctlWithArg = map[string]bool{
	"-s": true, "--signal": true, "--kill-whom": true, "--kill-who": true, "--kill-value": true,
	"-p": true, "--property": true, "-H": true, "--host": true, "-M": true, "--machine": true,
	"-t": true, "--type": true, "--state": true, "--root": true, "-n": true, "--lines": true,
	"-o": true, "--output": true, "--job-mode": true, "--what": true, "--timestamp": true,
	"--message": true, "--boot-loader-entry": true, "--reboot-argument": true, "--drop-in": true,
	"--when": true, "-P": true,
}

type systemctlArgs struct {
	verb    string
	units   []value
	sig     sigSetter
	whom    string
	props   []string
	value   bool
	user    bool
	remote  string
	options []string
}

func parseSystemctlArgs(args []value) systemctlArgs {
	var sa systemctlArgs
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !a.isLit {
			if sa.verb != "" {
				sa.units = append(sa.units, a)
			}
			continue
		}
		l := a.lit
		if !strings.HasPrefix(l, "-") || l == "-" {
			if sa.verb == "" {
				sa.verb = l
			} else {
				sa.units = append(sa.units, a)
			}
			continue
		}
		opt, arg, hasArg := strings.Cut(l, "=")
		if !strings.HasPrefix(l, "--") && len(l) > 2 {
			opt, arg, hasArg = l[:2], l[2:], true // -sHUP
			if !systemctlWithArg[opt] {
				opt, hasArg = l, false
			}
		}
		if systemctlWithArg[opt] && !hasArg && i+1 < len(args) {
			i++
			arg = args[i].lit
			if !args[i].isLit {
				arg = args[i].text
			}
		}
		switch opt {
		case "-s", "--signal":
			sa.sig.from(value{lit: arg, isLit: arg != "" && !strings.HasPrefix(arg, "$"), text: arg})
		case "--kill-whom", "--kill-who":
			sa.whom = arg
		case "-p", "--property", "-P":
			sa.props = append(sa.props, strings.Split(arg, ",")...)
			if opt == "-P" {
				sa.value = true
			}
		case "--value":
			sa.value = true
		case "--user", "--global":
			sa.user = true
		case "-H", "--host", "-M", "--machine":
			sa.remote = opt + " " + arg
		}
		sa.options = append(sa.options, opt)
	}
	return sa
}

// unitName completes a unit name the way systemctl does: "nginx" is
// "nginx.service".
func unitName(s string) string {
	if i := strings.LastIndexByte(s, '.'); i > 0 {
		switch s[i+1:] {
		case "service", "socket", "target", "mount", "scope", "slice", "timer", "path", "swap", "automount", "device":
			return s
		}
	}
	return s + ".service"
}

var reloadVerbs = map[string]bool{
	"reload": true, "reload-or-restart": true, "try-reload-or-restart": true,
	"reload-or-try-restart": true, "force-reload": true,
}

// parseSystemctl reads `systemctl kill [-s SIG] [--kill-whom=W] UNIT...`
// (a sender) and `systemctl reload UNIT` (an indirect one).
func parseSystemctl(src Source, args []value) []Sender {
	sa := parseSystemctlArgs(args)
	switch {
	case sa.verb == "kill":
		if sa.sig.zero {
			return nil
		}
		sig, text := sa.sig.result()
		var out []Sender
		for _, u := range sa.units {
			snd := Sender{Source: src, Tool: "systemctl kill", Signal: sig, SigText: text}
			switch {
			case sa.user:
				snd.Targets = []Selector{{Kind: SelUnknown, Text: u.text, Reason: "systemctl --user: a per-user service manager's unit"}}
			case sa.remote != "":
				snd.Targets = []Selector{{Kind: SelUnknown, Text: u.text, Reason: "systemctl " + clip(sa.remote) + ": another host or container"}}
			case !u.isLit:
				snd.Targets = []Selector{{Kind: SelUnknown, Text: u.text, Reason: "the unit name " + u.text + " is only known when the script runs"}}
			default:
				kind := SelUnit
				switch sa.whom {
				case "main":
					kind = SelMainPID
				case "control":
					snd.Targets = []Selector{{Kind: SelUnknown, Text: clip(u.lit), Reason: "--kill-whom=control: the unit's control process exists only while a start/stop/reload command runs"}}
					out = append(out, snd)
					continue
				}
				snd.Targets = []Selector{{Kind: kind, Unit: unitName(u.lit), Text: u.lit}}
			}
			out = append(out, snd)
		}
		return out
	case reloadVerbs[sa.verb]:
		var out []Sender
		for _, u := range sa.units {
			name := u.text
			if u.isLit {
				name = unitName(u.lit)
			}
			out = append(out, Sender{Source: src, Tool: "systemctl " + sa.verb, Indirect: name,
				Targets: []Selector{{Kind: SelUnknown, Text: u.text,
					Reason: fmt.Sprintf("indirect: systemctl %s %s runs the unit's own reload (ExecReload=, or ReloadSignal= for Type=notify-reload); the signal is decided there", sa.verb, u.text)}}})
		}
		return out
	}
	return nil
}

// systemctlShowMainPID recognises `systemctl show -p MainPID --value UNIT`.
func systemctlShowMainPID(args []value) []Selector {
	sa := parseSystemctlArgs(args)
	if sa.verb != "show" || len(sa.props) != 1 || sa.props[0] != "MainPID" || len(sa.units) != 1 || !sa.units[0].isLit || sa.user || sa.remote != "" {
		return nil
	}
	u := unitName(sa.units[0].lit)
	return []Selector{{Kind: SelMainPID, Unit: u, Text: "$(systemctl show -p MainPID " + u + ")"}}
}

// initActionsWithoutSignal are init script actions that start or stop the
// service rather than signal it.
var initActionsWithoutSignal = map[string]bool{
	"start": true, "stop": true, "restart": true, "status": true, "try-restart": true,
	"condrestart": true, "force-stop": true, "--status-all": true, "--full-restart": true,
}

// indirectInitScript handles `invoke-rc.d NAME ACTION`, `service NAME
// ACTION` and `/etc/init.d/NAME ACTION`: an indirect sender, reported
// unresolved rather than guessed.
func indirectInitScript(src Source, tool string, args []value) []Sender {
	var words []value
	for _, a := range args {
		if a.isLit && strings.HasPrefix(a.lit, "-") && tool != "service" {
			continue // invoke-rc.d --quiet, --force, ...
		}
		words = append(words, a)
	}
	var name, action value
	if strings.Contains(tool, "/") { // /etc/init.d/NAME ACTION
		name = value{lit: tool[strings.LastIndexByte(tool, '/')+1:], isLit: true}
		name.text = name.lit
		if len(words) < 1 {
			return nil
		}
		action = words[0]
	} else {
		if len(words) < 2 {
			return nil
		}
		name, action = words[0], words[1]
	}
	if action.isLit && initActionsWithoutSignal[action.lit] {
		return nil
	}
	unit := name.text
	if name.isLit {
		unit = unitName(name.lit)
	}
	display := clip(tool)
	if !strings.Contains(tool, "/") {
		display = tool + " " + name.text
	}
	return []Sender{{Source: src, Tool: tool, Indirect: unit,
		Targets: []Selector{{Kind: SelUnknown, Text: name.text,
			Reason: fmt.Sprintf("indirect: %s %s runs %s's init script or unit action; the signal it sends, if any, is decided there", display, action.text, name.text)}}}}
}
