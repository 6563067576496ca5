package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"

	"mvdan.cc/sh/v3/syntax"
)

// This file follows what a configured line runs, down to the commands
// that send: shell scripts named by path or found in PATH, `sh FILE`,
// functions, `invoke-rc.d X ACTION` / `service X ACTION` / `/etc/init.d/X
// ACTION` (the init script's case branch, or the unit's reload) and
// `systemctl reload X` (the unit's ExecReload= or ReloadSignal=).

// scanEnv is what following needs: the audited system's files and units.
type scanEnv struct {
	root  *rootFS
	col   *collector
	units map[string]*unit
	memo  followMemo // followed scripts' scans; nil: none remembered
	// kinds is what readRun found each path to be, for initScript's
	// look before it runs one: a path is not read again for that.
	kinds map[string]fileKind
}

// searchPath is where a command without a slash is looked up: systemd's
// default PATH, which logrotate and units inherit; cron's /usr/bin:/bin is
// part of it.
var searchPath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// shellBuiltins run inside the shell: a file of the same name in PATH
// (/usr/bin/test, /usr/bin/echo) is not what runs.
var shellBuiltins = map[string]bool{
	".": true, ":": true, "[": true, "[[": true, "alias": true, "break": true, "cd": true, "continue": true,
	"declare": true, "echo": true, "eval": true, "exit": true, "export": true, "false": true, "getopts": true,
	"hash": true, "let": true, "local": true, "printf": true, "pwd": true, "read": true, "readonly": true,
	"return": true, "set": true, "shift": true, "source": true, "test": true, "times": true, "trap": true,
	"true": true, "type": true, "typeset": true, "ulimit": true, "umask": true, "unalias": true, "unset": true,
	"wait": true,
}

// fileKind is what a followed file turned out to be.
type fileKind int

const (
	kindMissing fileKind = iota // not there: the command fails and sends nothing
	kindProgram                 // an ELF or other binary: not followed
	kindShell                   // a shell script (#!/bin/sh, bash, dash..., or no #! at all)
	kindOther                   // a script for another interpreter
	kindUnreadable
)

// readRun reads a file the audited system would execute, and says what
// it is. Only a shell script is read whole (data); interp is the #!
// program of a kindOther script; err is set for kindUnreadable.
func (e *scanEnv) readRun(p string) (data []byte, mode fs.FileMode, kind fileKind, interp string, err error) {
	data, mode, kind, interp, err = e.readRunOnce(p)
	if e.kinds != nil && len(e.kinds) < maxFollowMemo {
		e.kinds[p] = kind
	}
	return data, mode, kind, interp, err
}

// kindOf is what the file at p is, read once.
func (e *scanEnv) kindOf(p string) fileKind {
	if k, ok := e.kinds[p]; ok {
		return k
	}
	_, _, kind, _, _ := e.readRun(p)
	return kind
}

func (e *scanEnv) readRunOnce(p string) (data []byte, mode fs.FileMode, kind fileKind, interp string, err error) {
	f, err := e.root.open(p)
	if errors.Is(err, ErrNotRegular) {
		return nil, 0, kindMissing, "", nil // a FIFO or device runs nothing the audit can see
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, 0, kindMissing, "", nil
		}
		return nil, 0, kindUnreadable, "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, kindUnreadable, "", err
	}
	if !fi.Mode().IsRegular() {
		return nil, fi.Mode(), kindMissing, "", nil
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fi.Mode(), kindUnreadable, "", err
	}
	kind, interp = scriptKind(head[:n])
	if kind != kindShell {
		return nil, fi.Mode(), kind, interp, nil
	}
	rest, err := io.ReadAll(io.LimitReader(f, maxConfigBytes))
	e.col.work.spent[budgetBytes] += n + len(rest) // checked where it is scanned
	if err != nil {
		return nil, fi.Mode(), kindUnreadable, "", err
	}
	e.col.files++
	return append(head[:n], rest...), fi.Mode(), kindShell, "", nil
}

// scriptKind tells a shell script from a program and from other scripts.
// A text file without #! is run by the shell: execve fails with ENOEXEC
// and sh runs it itself (POSIX "Command Search and Execution").
func scriptKind(data []byte) (fileKind, string) {
	head := data[:min(len(data), 512)]
	if !bytes.HasPrefix(head, []byte("#!")) {
		if bytes.HasPrefix(head, []byte("\x7fELF")) || bytes.IndexByte(head, 0) >= 0 {
			return kindProgram, ""
		}
		return kindShell, ""
	}
	if isShellScript(data) {
		return kindShell, ""
	}
	first, _, _ := strings.Cut(string(head), "\n")
	f := strings.Fields(strings.TrimPrefix(first, "#!"))
	if len(f) == 0 {
		return kindShell, "" // "#!" alone: the kernel refuses it, sh runs it
	}
	interp := path.Base(f[0])
	if interp == "env" && len(f) > 1 {
		interp = f[1]
	}
	return kindOther, interp
}

// unresolvedAt records a command whose signals cannot be known, with why.
func (s *shellScan) unresolvedAt(src Source, tool, what, reason string) {
	s.add(Sender{Source: src, Tool: clip(tool), Indirect: clip(what),
		Targets: []Selector{{Kind: SelUnknown, Text: clip(what), Reason: reason}}})
}

// callFunc walks a shell function's body where it is called, with its
// arguments as $1...; a function that calls itself is walked once.
func (s *shellScan) callFunc(c *syntax.CallExpr, fn *syntax.FuncDecl, args []value) {
	name := fn.Name.Value
	if s.inFunc[name] {
		return
	}
	saved := *s
	s.inFunc[name] = true
	s.chain, s.pargs, s.argsKnown, s.fn = s.via(c), args, true, name
	s.walk(fn.Body)
	delete(s.inFunc, name)
	s.chain, s.pargs, s.argsKnown, s.fn = saved.chain, saved.pargs, saved.argsKnown, saved.fn
}

// command follows a command that is none of the known senders: a script
// named by its absolute path, or a script found in PATH.
func (s *shellScan) command(c *syntax.CallExpr, src Source, cmd string, args []value) {
	if s.env == nil {
		return
	}
	switch {
	case strings.HasPrefix(cmd, "/"):
		s.runScript(c, src, cmd, args, false, "script")
	case strings.Contains(cmd, "/"):
		// ./x or bin/x: relative to a working directory the audit does not know.
		s.unresolvedAt(src, cmd, cmd, "runs "+clip(cmd)+", a path relative to the working directory, which is only known when it runs")
	case !shellBuiltins[cmd]:
		for _, dir := range searchPath {
			p := dir + "/" + cmd
			if fi, err := os.Stat(s.env.root.real(p)); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				s.runScript(c, src, p, args, false, "script")
				return
			}
		}
	}
}

// shellFile follows `sh FILE ARGS...`: the shell reads FILE whatever its
// #! line and mode say.
func (s *shellScan) shellFile(c *syntax.CallExpr, src Source, rest []value) {
	if s.env == nil {
		return
	}
	for i, a := range rest {
		if a.isLit && strings.HasPrefix(a.lit, "-") {
			if a.lit == "-s" || a.lit == "--" {
				return // commands from stdin
			}
			continue
		}
		switch {
		case !a.isLit:
			s.unresolvedAt(src, a.text, a.text, "runs the script "+a.text+", which is only known when the command runs") // a.text is clipped
		case strings.HasPrefix(a.lit, "/"):
			s.runScript(c, src, a.lit, rest[i+1:], true, "script")
		default:
			s.unresolvedAt(src, a.lit, a.lit, "runs "+clip(a.lit)+", a path relative to the working directory, which is only known when it runs")
		}
		return
	}
}

// runScript scans the script at p (a path of the audited system) as it
// runs from the command at c, with args as $1...: its senders carry the
// chain to c's line. A script already followed the same way (same file,
// same caller's intent, unit, depth and files on the chain, and the same
// arguments if it reads them) is not scanned again: its senders are
// remembered and put under this chain.
func (s *shellScan) runScript(c *syntax.CallExpr, src Source, p string, args []value, byShell bool, context string) {
	shown := s.env.root.display(p)
	named := clip(shown) // in messages
	if shown == s.sc.file || slices.ContainsFunc(s.chain, func(h Hop) bool { return h.File == shown }) {
		s.known = true
		return // a script that runs itself: its senders are already found
	}
	if s.depth >= maxShellDepth {
		s.unresolvedAt(src, p, p, fmt.Sprintf("runs %s, not followed: scripts and sh -c nested deeper than %d", named, maxShellDepth))
		return
	}
	if s.stopped() {
		return // the audit is over its budget, and says so once
	}
	via := s.via(c)
	noArgs := followKey(s, shown, context, byShell, via, nil, false)
	withArgs := followKey(s, shown, context, byShell, via, args, true)
	if r := s.env.memo[noArgs]; r != nil {
		s.env.col.work.hits++
		s.replay(r, via)
		return
	}
	if r := s.env.memo[withArgs]; r != nil {
		s.env.col.work.hits++
		s.replay(r, via)
		return
	}
	n0, known := len(s.senders), s.known
	s.known = false
	usedArgs := s.follow(c, src, p, args, byShell, context, via)
	r, ok := remember(s.known, s.senders[n0:], via)
	s.known = s.known || known
	if !ok || s.stopped() || s.env.memo == nil || len(s.env.memo) >= maxFollowMemo {
		return // not remembered: an incomplete scan, or too many
	}
	if usedArgs {
		s.env.memo[withArgs] = r
	} else {
		s.env.memo[noArgs] = r
	}
}

// follow is runScript's scan: a missing file, a program or a file that is
// not executable sends nothing the audit can see; another language or an
// unreadable file is unresolved. It reports whether what it found may
// depend on args: the script was scanned, and may read $1...
func (s *shellScan) follow(c *syntax.CallExpr, src Source, p string, args []value, byShell bool, context string, via []Hop) bool {
	shown := s.env.root.display(p)
	named := clip(shown) // in messages
	data, mode, kind, interp, err := s.env.readRun(p)
	switch {
	case kind == kindUnreadable:
		s.known = true
		s.unresolvedAt(src, p, p, fmt.Sprintf("runs %s, which cannot be read (%s), so what it sends is not known", named, errText(err)))
		return false
	case kind == kindMissing, kind == kindProgram:
		return false
	case !byShell && mode&0o111 == 0:
		return false // not executable: the command fails with EACCES
	case kind == kindOther && !byShell:
		s.known = true
		s.unresolvedAt(src, p, p, fmt.Sprintf("runs %s, a script for %s: the audit follows shell scripts only, so what it sends is not known", named, clip(interp)))
		return false
	}
	s.known = true
	if !s.spend(budgetScans, 1, via[len(via)-1]) || !s.spend(budgetBytes, 0, via[len(via)-1]) {
		return false
	}
	sc := &script{file: shown, lines: splitLines(data), firstLine: 1, text: string(data),
		context: context, intent: s.sc.intent, unit: s.sc.unit}
	inner := s.child(sc, 0, via)
	inner.pargs, inner.argsKnown, inner.read = args, true, true
	inner.scan(sc.text)
	s.senders = append(s.senders, inner.senders...)
	s.warns = append(s.warns, inner.warns...)
	return usesPositional(sc.text)
}

// parseInitCall reads `invoke-rc.d [OPTIONS] NAME ACTION`, `service NAME
// ACTION` and `/etc/init.d/NAME ACTION`.
func parseInitCall(tool string, args []value) (name, action value, ok bool) {
	var words []value
	for _, a := range args {
		if a.isLit && strings.HasPrefix(a.lit, "-") && tool != "service" {
			continue // invoke-rc.d --quiet, --force, ...
		}
		words = append(words, a)
	}
	if strings.Contains(tool, "/") {
		if len(words) < 1 {
			return value{}, value{}, false
		}
		base := path.Base(tool)
		return value{lit: base, isLit: true, text: base}, words[0], true
	}
	if len(words) < 2 {
		return value{}, value{}, false
	}
	return words[0], words[1], true
}

// initAction follows `invoke-rc.d NAME ACTION`, `service NAME ACTION` and
// `/etc/init.d/NAME ACTION` to what they run. On a systemd host
// invoke-rc.d and service turn reload and force-reload into `systemctl
// reload` when the unit can reload, and run the init script for actions
// that are no systemctl verb (init-system-helpers' invoke-rc.d and
// service); Debian's /lib/lsb/init-functions.d/40-systemd does the same
// for /etc/init.d/NAME. Without a unit, the init script runs.
func (s *shellScan) initAction(c *syntax.CallExpr, src Source, tool string, args []value) {
	name, action, ok := parseInitCall(tool, args)
	if !ok {
		return
	}
	if action.isLit && initActionsWithoutSignal[action.lit] {
		return
	}
	cmd := clip(tool) + " " + name.text + " " + action.text // the words are clipped
	if strings.Contains(tool, "/") {
		cmd = clip(tool) + " " + action.text
	}
	switch {
	case !name.isLit:
		s.unresolvedAt(src, tool, name.text, fmt.Sprintf("%s: the service name %s is only known when the command runs", cmd, name.text))
		return
	case !action.isLit:
		s.unresolvedAt(src, tool, name.text, fmt.Sprintf("%s: the action %s is only known when the command runs", cmd, action.text))
		return
	}
	svc := strings.TrimSuffix(name.lit, ".sh")
	unitN := unitName(svc)
	u := s.env.units[unitN]
	act := action.lit
	if u != nil && tool != "rc-service" && (act == "reload" || act == "force-reload") {
		if u.canReload() {
			s.unitReload(c, src, u)
			return
		}
		if act == "force-reload" {
			return // CanReload=no: force-reload restarts the unit, no signal is sent
		}
		// reload with CanReload=no falls back to the init script.
	}
	initPath := "/etc/init.d/" + svc
	if strings.Contains(tool, "/") {
		initPath = tool
	}
	s.initScript(c, src, tool, cmd, initPath, act, u != nil)
}

// initScript runs an init script's branch for action.
func (s *shellScan) initScript(c *syntax.CallExpr, src Source, tool, cmd, initPath, action string, haveUnit bool) {
	if s.stopped() {
		return
	}
	shown := clip(s.env.root.display(initPath)) // in messages
	if s.env.kindOf(initPath) == kindMissing {
		svc := path.Base(initPath)
		why := fmt.Sprintf("%s: neither %s nor %s exists in the audited system, so what it would send is not known",
			cmd, clip(unitName(svc)), shown)
		if haveUnit {
			why = fmt.Sprintf("%s: %s is not a systemctl verb, so it runs %s %s, which does not exist: the command fails",
				cmd, clip(action), shown, clip(action))
		}
		s.unresolvedAt(src, tool, svc, why)
		return
	}
	s.runScript(c, src, initPath, []value{{lit: action, isLit: true, text: clip(action)}}, false, "init script "+clip(action))
}

// systemctlReload follows `systemctl reload UNIT...` (and its variants)
// into each unit's reload; it reports false for any other systemctl use.
func (s *shellScan) systemctlReload(c *syntax.CallExpr, src Source, args []value) bool {
	sa := parseSystemctlArgs(args)
	if !reloadVerbs[sa.verb] || sa.user || sa.remote != "" {
		return false
	}
	for _, uv := range sa.units {
		cmd := "systemctl " + clip(sa.verb) + " " + uv.text
		if !uv.isLit {
			s.unresolvedAt(src, "systemctl "+sa.verb, uv.text, fmt.Sprintf("%s: the unit name %s is only known when the command runs", cmd, uv.text))
			continue
		}
		name := unitName(uv.lit)
		if u := s.env.units[name]; u != nil {
			switch {
			case u.canReload():
				s.unitReload(c, src, u)
			case strings.Contains(sa.verb, "restart"):
				// Cannot reload: it restarts the unit; no signal is sent.
			default:
				s.unresolvedAt(src, "systemctl "+sa.verb, name, fmt.Sprintf(
					"%s: %s defines no ExecReload= and is not Type=notify-reload, so systemctl refuses to reload it and sends nothing", cmd, clip(name)))
			}
			continue
		}
		// No unit file: systemd-sysv-generator makes one from
		// /etc/init.d/NAME, whose ExecReload= runs the script's reload.
		svc := strings.TrimSuffix(name, ".service")
		s.initScript(c, src, "systemctl "+sa.verb, cmd, "/etc/init.d/"+svc, "reload", false)
	}
	return true
}

// canReload is systemd's CanReload: the unit has an ExecReload= or is
// Type=notify-reload.
func (u *unit) canReload() bool {
	return len(u.exec["ExecReload"]) > 0 || u.get("Type") == "notify-reload"
}

// unitReload follows a unit's reload from the command at c: each
// ExecReload= line (scanned, and followed, like the unit's own), or the
// ReloadSignal= that systemd sends itself for Type=notify-reload.
func (s *shellScan) unitReload(c *syntax.CallExpr, src Source, u *unit) {
	if slices.ContainsFunc(s.chain, func(h Hop) bool { return h.File == u.file && h.Context == "systemd ExecReload" }) {
		return // a reload that reloads itself: its senders are already found
	}
	if s.depth >= maxShellDepth {
		s.unresolvedAt(src, "systemctl reload", u.name, fmt.Sprintf("reloads %s, not followed: scripts and sh -c nested deeper than %d", u.name, maxShellDepth))
		return
	}
	if s.stopped() {
		return
	}
	via := s.via(c)
	for _, e := range u.exec["ExecReload"] {
		if !s.spend(budgetScans, 1, via[len(via)-1]) {
			return
		}
		line := execCommandLine(e.value, u.name)
		sc := &script{file: e.file, lines: e.lines, firstLine: e.line, text: line,
			context: "systemd ExecReload", intent: IntentNotify, unit: u.name}
		inner := s.child(sc, 0, via)
		inner.scan(sc.text)
		s.senders = append(s.senders, inner.senders...)
		s.warns = append(s.warns, inner.warns...)
		if len(inner.senders) > 0 || inner.known {
			continue // senders found, or known commands that send nothing (kill -0, a reload of itself)
		}
		here := Hop{File: e.file, Line: e.line, Text: quoteLine(e.lines, e.line), Context: "systemd ExecReload"}
		why := fmt.Sprintf("%s's ExecReload= sends no signal the audit can find", u.name)
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "/") {
			if _, _, kind, _, _ := s.env.readRun(f[0]); kind == kindProgram || kind == kindMissing {
				why = fmt.Sprintf("%s's ExecReload= runs the program %s: which signal it sends, if any, is decided inside it", u.name, clip(f[0]))
			}
		}
		snd := Sender{Source: chainSource(via, here), Tool: "systemd ExecReload", Indirect: u.name, Unit: u.name, Intent: IntentNotify,
			Targets: []Selector{{Kind: SelUnknown, Text: u.name, Reason: why}}}
		s.keep(snd)
	}
	if t, ok := u.single["Type"]; ok && t.value == "notify-reload" {
		e, explicit := u.single["ReloadSignal"]
		if !explicit {
			e = t
			e.value = "SIGHUP"
		}
		snd := unitSignal(e, u, "ReloadSignal", IntentNotify)
		here := snd.Source.hop()
		snd.Source = chainSource(via, here)
		if snd.Signal != 0 {
			snd.Targets = []Selector{{Kind: SelMainPID, Unit: u.name, Text: u.name}}
		}
		s.keep(snd)
	}
}
