package audit

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// script is shell text found in a configuration file (a logrotate
// postrotate block, a cron command, a unit's ExecReload=), with what is
// needed to point back at the file.
type script struct {
	file      string
	lines     []string // the whole file, to quote source lines
	firstLine int      // the file line of the script's first line
	text      string
	context   string // "logrotate postrotate", "cron", "systemd ExecReload"
	intent    Intent
	unit      string // the unit whose $MAINPID is meant, for systemd scripts
}

func (sc *script) lineText(n int) string { return quoteLine(sc.lines, n) }

// value is what a shell word expands to, as far as it can be known without
// running anything: a literal string, or PIDs from a selector ($(cat
// PIDFILE), $(pidof x), $MAINPID), or nothing known.
type value struct {
	lit   string
	isLit bool
	sels  []Selector
	text  string // the word as written, clipped (for messages)
}

// maxShellDepth bounds sh -c nesting.
const maxShellDepth = 4

// shellScan walks one parsed script and collects its signal senders.
type shellScan struct {
	env     *scanEnv // what is needed to follow scripts, init scripts and units; nil: nothing is followed
	sc      *script
	lineOff int // script lines before this (nested) piece
	depth   int // sh -c nesting plus scripts followed, bounded by maxShellDepth
	// chain is the lines that led to this script, the configuration line
	// first: the hops of every sender found here.
	chain []Hop
	// args are the positional parameters ($1, ...) when they are known: a
	// followed script's or a function's arguments. argsKnown is false for
	// configuration scripts, whose $1 the audit cannot know.
	pargs     []value
	argsKnown bool
	fn        string // the function whose body is walked, for hop contexts
	vars      map[string]value
	funcs     map[string]*syntax.FuncDecl
	inFunc    map[string]bool
	stdin     map[*syntax.CallExpr][]Selector // PIDs piped into `xargs kill`
	stmtOf    map[*syntax.CallExpr]*syntax.Stmt
	senders   []Sender
	warns     []Warning
	// known is set once a command the audit knows (a signal tool, a
	// followed script or function) runs: a unit reload that finds no
	// sender then says nothing rather than blame an unknown program.
	known bool
	// expansions counts word expansions, bounded by maxExpansions.
	expansions int
	// pr prints words as written: one for a configured script and all
	// the scans it leads to.
	pr *wordPrinter
	// read is set when the text to scan was just read by readRun, which
	// spent the bytes budget for it: it is not spent twice.
	read bool
	// longWord is set once a word expanded past maxWordBytes has been
	// warned about: one warning per scan.
	longWord bool
}

// Bounds on the work one script may cost (issue 21: nested ${a:-${a:-...}}
// doubled the time per level, nested $(...) grew cubically, and any user
// who may write a crontab could stall an audit run by root). Real scripts
// nest a handful of levels.
const (
	maxNesting    = 16      // $( ${ ( open at once, counted lexically
	maxExpansions = 1 << 16 // words expanded per script
	// A word is expanded to at most this many bytes, a line's bound:
	// longer, it is unknown. Variables can be doubled (x=$x$x, 34 times,
	// is 16 GiB: the audit was killed for memory), and no honest word
	// written on one line is longer.
	maxWordBytes = maxLineBytes
)

// nestingTooDeep returns the 1-based line at which text opens more than
// maxNesting command substitutions, parameter expansions or subshells at
// once, or 0. It over-counts (quotes are not looked at), which is safe for
// a bound.
func nestingTooDeep(text string) int {
	depth, line := 0, 1
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '\n':
			line++
		case c == '$' && i+1 < len(text) && (text[i+1] == '(' || text[i+1] == '{'):
			depth++
			i++
		case c == '(':
			depth++
		case c == ')' || c == '}':
			if depth > 0 {
				depth--
			}
		}
		if depth > maxNesting {
			return line
		}
	}
	return 0
}

// scanScript finds every signal sender in a script. A syntax error is
// reported as a warning at its line; the lines that parse on their own are
// still scanned, since sh runs the commands before a broken one.
func scanScript(sc *script) ([]Sender, []Warning) { return scanScriptIn(nil, sc) }

// scanScriptIn is scanScript that also follows what the script runs
// (scripts, init script actions, unit reloads) through env.
func scanScriptIn(env *scanEnv, sc *script) ([]Sender, []Warning) {
	s := newShellScan(sc, 0, 0)
	s.env, s.pr = env, &wordPrinter{}
	s.scan(sc.text)
	return s.senders, s.warns
}

func newShellScan(sc *script, lineOff, depth int) *shellScan {
	return &shellScan{
		sc: sc, lineOff: lineOff, depth: depth,
		vars:   map[string]value{},
		funcs:  map[string]*syntax.FuncDecl{},
		inFunc: map[string]bool{},
		stdin:  map[*syntax.CallExpr][]Selector{},
		stmtOf: map[*syntax.CallExpr]*syntax.Stmt{},
	}
}

// child is a scan of another script (or another piece of this one) that
// runs from here: it shares env and carries the chain on.
func (s *shellScan) child(sc *script, lineOff int, via []Hop) *shellScan {
	c := newShellScan(sc, lineOff, s.depth+1)
	c.env, c.pr = s.env, s.pr
	c.chain = via
	return c
}

func parseShell(text string) (*syntax.File, error) {
	return syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(text), "")
}

func (s *shellScan) scan(text string) {
	n := len(text)
	if s.read {
		n, s.read = 0, false
	}
	if !s.spend(budgetBytes, n, s.at(1)) {
		return
	}
	text, long := boundLines(text)
	for _, l := range long {
		s.warns = append(s.warns, l.warning(s.sc.file, s.sc.context, s.fileLine(l.first)))
	}
	if deep := nestingTooDeep(text); deep > 0 {
		s.warns = append(s.warns, Warning{File: s.sc.file, Line: s.fileLine(deep),
			Msg: fmt.Sprintf("%s nests expansions more than %d deep: too complex to follow; scanning its other lines one by one", s.sc.context, maxNesting)})
		s.scanLines(text)
		return
	}
	f, err := parseShell(text)
	if err == nil {
		s.walk(f)
		return
	}
	line, msg := 1, err.Error()
	if pe, ok := err.(syntax.ParseError); ok {
		line, msg = int(pe.Pos.Line()), pe.Text
		if line < 1 {
			line = 1
		}
	}
	s.warns = append(s.warns, Warning{File: s.sc.file, Line: s.fileLine(line),
		Msg: fmt.Sprintf("shell syntax error in %s: %s; scanning its lines one by one", s.sc.context, clip(msg))})
	s.scanLines(text)
}

// scanLines scans each line that parses on its own and is not nested too
// deep.
func (s *shellScan) scanLines(text string) {
	base := s.lineOff
	for i, l := range strings.Split(text, "\n") {
		if nestingTooDeep(l) > 0 {
			continue
		}
		f, err := parseShell(l)
		if err != nil {
			continue
		}
		s.lineOff = base + i
		s.walk(f)
	}
	s.lineOff = base
}

func (s *shellScan) fileLine(scriptLine int) int {
	return s.sc.firstLine + s.lineOff + scriptLine - 1
}

// hop is the line of n in this script.
func (s *shellScan) hop(n syntax.Node) Hop {
	fl := s.fileLine(int(n.Pos().Line()))
	ctx := s.sc.context
	if s.fn != "" {
		ctx += ", function " + s.fn
	}
	return Hop{File: s.sc.file, Line: fl, Text: s.sc.lineText(fl), Context: ctx}
}

// source is where a sender at n is configured: the first line of the
// chain that led here, with the rest of the chain and n's line as Via.
func (s *shellScan) source(n syntax.Node) Source {
	return chainSource(s.chain, s.hop(n))
}

// via is the chain for what runs from n: this chain and n's line.
func (s *shellScan) via(n syntax.Node) []Hop {
	return append(slices.Clone(s.chain), s.hop(n))
}

func chainSource(chain []Hop, here Hop) Source {
	if len(chain) == 0 {
		return Source{File: here.File, Line: here.Line, Text: here.Text, Context: here.Context}
	}
	first := chain[0]
	via := append(slices.Clone(chain[1:]), here)
	return Source{File: first.File, Line: first.Line, Text: first.Text, Context: first.Context, Via: via}
}

func (s *shellScan) walk(n syntax.Node) { syntax.Walk(n, s.visit) }

func (s *shellScan) visit(n syntax.Node) bool {
	switch x := n.(type) {
	case *syntax.FuncDecl:
		// A function's commands run where it is called, with the
		// variables and arguments of that moment.
		if x.Name != nil && x.Body != nil {
			s.funcs[x.Name.Value] = x
		}
		return false
	case *syntax.CaseClause:
		return s.caseClause(x)
	case *syntax.Stmt:
		if c, ok := x.Cmd.(*syntax.CallExpr); ok {
			s.stmtOf[c] = x
		}
	case *syntax.BinaryCmd:
		if x.Op == syntax.Pipe || x.Op == syntax.PipeAll {
			if c, ok := x.Y.Cmd.(*syntax.CallExpr); ok {
				if sels := s.pidProducer(x.X); sels != nil {
					s.stdin[c] = sels
				}
			}
		}
	case *syntax.DeclClause:
		for _, a := range x.Args {
			s.assign(a)
		}
	case *syntax.ForClause:
		if it, ok := x.Loop.(*syntax.WordIter); ok && it.Name != nil {
			var v value
			for _, w := range it.Items {
				wv := s.word(w)
				v.sels = append(v.sels, wv.sels...)
				if wv.isLit && len(it.Items) == 1 {
					v = wv
				}
			}
			v.text = "$" + it.Name.Value
			s.vars[it.Name.Value] = v
		}
	case *syntax.CallExpr:
		if len(x.Args) == 0 {
			for _, a := range x.Assigns {
				s.assign(a)
			}
			return true
		}
		s.call(x)
	}
	return true
}

// caseClause runs only the branch a known word selects, as sh does (the
// first pattern that matches; none: nothing runs): an init script's
// `case "$1" in rotate) ...`. An unknown word may select any branch.
func (s *shellScan) caseClause(x *syntax.CaseClause) bool {
	w := s.word(x.Word)
	if !w.isLit {
		return true
	}
	for _, it := range x.Items {
		for _, pat := range it.Patterns {
			p := s.word(pat)
			if !p.isLit {
				continue
			}
			if ok, err := path.Match(p.lit, w.lit); err == nil && ok {
				for _, st := range it.Stmts {
					s.walk(st)
				}
				return false
			}
		}
	}
	return false
}

func (s *shellScan) assign(a *syntax.Assign) {
	if a.Name == nil || a.Append || a.Index != nil || a.Array != nil {
		return
	}
	if a.Value == nil {
		if !a.Naked {
			s.vars[a.Name.Value] = value{isLit: true}
		}
		return
	}
	v := s.word(a.Value)
	if v.isLit || v.sels != nil {
		s.vars[a.Name.Value] = v
	} else {
		delete(s.vars, a.Name.Value)
	}
}

// wordPrinter renders words as they were written. A syntax.Printer
// allocates a 4 KiB buffer: made once per scan, not once per word.
type wordPrinter struct {
	p *syntax.Printer
	b bytes.Buffer
}

// print renders a word as it was written.
func (wp *wordPrinter) print(w *syntax.Word) string {
	if wp.p == nil {
		wp.p = syntax.NewPrinter()
	}
	wp.b.Reset()
	if err := wp.p.Print(&wp.b, w); err != nil {
		return ""
	}
	return wp.b.String()
}

// word expands a word as far as possible without running anything.
func (s *shellScan) word(w *syntax.Word) value {
	if s.expansions++; s.expansions > maxExpansions {
		if s.expansions == maxExpansions+1 {
			s.warns = append(s.warns, Warning{File: s.sc.file, Line: s.fileLine(int(w.Pos().Line())),
				Msg: fmt.Sprintf("%s expands more than %d words: too complex to follow further", s.sc.context, maxExpansions)})
		}
		return value{}
	}
	if !s.spend(budgetWords, 1, s.at(int(w.Pos().Line()))) {
		return value{}
	}
	if s.pr == nil {
		s.pr = &wordPrinter{} // a scan made on its own (tests)
	}
	text := clip(s.pr.print(w))
	parts := w.Parts
	if len(parts) == 1 {
		if dq, ok := parts[0].(*syntax.DblQuoted); ok && len(dq.Parts) == 1 {
			parts = dq.Parts
		}
	}
	if len(parts) == 1 {
		switch x := parts[0].(type) {
		case *syntax.CmdSubst:
			if len(x.Stmts) == 1 {
				if sels := s.pidProducer(x.Stmts[0]); sels != nil {
					return value{sels: sels, text: text}
				}
			}
		case *syntax.ParamExp:
			if v := s.param(x); v.sels != nil {
				v.text = text
				return v
			}
		}
	}
	var b strings.Builder
	lit := s.literal(&b, w.Parts, false)
	if !s.spend(budgetExpanded, b.Len(), s.at(int(w.Pos().Line()))) {
		return value{}
	}
	if lit {
		return value{lit: b.String(), isLit: true, text: text}
	}
	if b.Len() > maxWordBytes && !s.longWord {
		s.longWord = true
		s.warns = append(s.warns, Warning{File: s.sc.file, Line: s.fileLine(int(w.Pos().Line())),
			Msg: fmt.Sprintf("%s expands a word to more than %d bytes: too complex to follow; such words are taken as unknown", s.sc.context, maxWordBytes)})
	}
	return value{text: text}
}

func (s *shellScan) literal(b *strings.Builder, parts []syntax.WordPart, quoted bool) bool {
	for _, p := range parts {
		if b.Len() > maxWordBytes {
			return false
		}
		switch x := p.(type) {
		case *syntax.Lit:
			b.WriteString(unescape(x.Value, quoted))
		case *syntax.SglQuoted:
			if x.Dollar {
				return false
			}
			b.WriteString(x.Value)
		case *syntax.DblQuoted:
			if !s.literal(b, x.Parts, true) {
				return false
			}
		case *syntax.ParamExp:
			v := s.param(x)
			if !v.isLit {
				return false
			}
			b.WriteString(v.lit)
		default:
			return false
		}
	}
	return b.Len() <= maxWordBytes
}

// unescape removes the backslashes the shell would: all of them outside
// quotes, those before $ ` " \ inside double quotes.
func unescape(s string, quoted bool) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			next := s[i+1]
			if !quoted || strings.IndexByte("$`\"\\\n", next) >= 0 {
				if next != '\n' {
					b.WriteByte(next)
				}
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// param expands $NAME: a variable set earlier in the script, $MAINPID in a
// unit, or the default of ${NAME:-default}.
func (s *shellScan) param(pe *syntax.ParamExp) value {
	if pe.Param == nil || pe.Excl || pe.Length || pe.Width || pe.Index != nil ||
		pe.Slice != nil || pe.Repl != nil || pe.Names != 0 || pe.NestedParam != nil {
		return value{}
	}
	name := pe.Param.Value
	if pe.Exp != nil && pe.Exp.Op != syntax.DefaultUnset && pe.Exp.Op != syntax.DefaultUnsetOrNull {
		return value{}
	}
	if v, ok := s.vars[name]; ok && (pe.Exp == nil || v.sels != nil || v.lit != "") {
		return v
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 1 && s.argsKnown {
		if n <= len(s.pargs) && (pe.Exp == nil || s.pargs[n-1].lit != "" || !s.pargs[n-1].isLit) {
			return s.pargs[n-1]
		}
		if n > len(s.pargs) && pe.Exp == nil {
			return value{isLit: true}
		}
	}
	if name == "MAINPID" && s.sc.unit != "" {
		return value{sels: []Selector{{Kind: SelMainPID, Unit: s.sc.unit, Text: "$MAINPID"}}}
	}
	if pe.Exp != nil && pe.Exp.Word != nil {
		return s.word(pe.Exp.Word)
	}
	return value{}
}

// pidProducer recognises a command whose output is PIDs: `cat PIDFILE`,
// `< PIDFILE`, `head -1 PIDFILE`, `pidof NAME`, `pgrep ...`, `systemctl
// show -p MainPID --value UNIT`, possibly followed by a filter (`| head
// -1`) or `|| true`.
func (s *shellScan) pidProducer(st *syntax.Stmt) []Selector {
	if st == nil {
		return nil
	}
	if st.Cmd == nil {
		for _, r := range st.Redirs {
			if r.Op == syntax.RdrIn && r.Word != nil {
				if v := s.word(r.Word); v.isLit {
					return []Selector{{Kind: SelPidfile, Path: v.lit, Text: "$(<" + v.lit + ")"}}
				}
			}
		}
		return nil
	}
	switch c := st.Cmd.(type) {
	case *syntax.BinaryCmd:
		switch c.Op {
		case syntax.OrStmt, syntax.AndStmt:
			return s.pidProducer(c.X)
		case syntax.Pipe:
			if y, ok := c.Y.Cmd.(*syntax.CallExpr); ok {
				args := s.args(y)
				if len(args) > 0 && args[0].isLit {
					switch path.Base(args[0].lit) {
					case "head", "tail", "tr", "cut", "sort", "uniq", "sed", "awk", "xargs":
						return s.pidProducer(c.X)
					}
				}
			}
		}
	case *syntax.CallExpr:
		args := stripWrappers(s.args(c))
		if len(args) == 0 || !args[0].isLit {
			return nil
		}
		name, rest := path.Base(args[0].lit), args[1:]
		switch name {
		case "cat", "head", "tail":
			for i := 0; i < len(rest); i++ {
				a := rest[i]
				if a.isLit && (a.lit == "-n" || a.lit == "-c") {
					i++
					continue
				}
				if a.isLit && strings.HasPrefix(a.lit, "-") {
					continue
				}
				if a.isLit {
					return []Selector{{Kind: SelPidfile, Path: a.lit, Text: a.text}}
				}
				return nil
			}
			for _, r := range st.Redirs {
				if r.Op == syntax.RdrIn && r.Word != nil {
					if v := s.word(r.Word); v.isLit {
						return []Selector{{Kind: SelPidfile, Path: v.lit, Text: v.text}}
					}
				}
			}
		case "pidof":
			return parsePidof(rest)
		case "pgrep":
			if m, _, ok := parsePkill("pgrep", rest); ok {
				return []Selector{{Kind: SelMatch, Match: m, Text: "$(pgrep ...)"}}
			}
		case "systemctl":
			return systemctlShowMainPID(rest)
		}
	}
	return nil
}

func (s *shellScan) args(c *syntax.CallExpr) []value {
	out := make([]value, len(c.Args))
	for i, w := range c.Args {
		out[i] = s.word(w)
	}
	return out
}

// stripWrappers drops commands that run their arguments as a command:
// command, exec, nohup, sudo, env, nice, timeout... `command -v kill`
// looks a name up and runs nothing: it yields no command.
func stripWrappers(args []value) []value {
	for len(args) > 0 && args[0].isLit {
		switch path.Base(args[0].lit) {
		case "command", "builtin", "exec", "nohup", "setsid", "chronic":
			if len(args) > 1 && args[1].isLit && (args[1].lit == "-v" || args[1].lit == "-V") {
				return nil
			}
			args = args[1:]
			for len(args) > 0 && args[0].isLit && strings.HasPrefix(args[0].lit, "-") {
				args = args[1:]
			}
		case "sudo":
			args = skipOptions(args[1:], "ugCDhprtUTR")
		case "env":
			args = args[1:]
			for len(args) > 0 && args[0].isLit {
				a := args[0].lit
				if a == "-u" || a == "--unset" || a == "-C" || a == "--chdir" || a == "-S" {
					args = args[min(2, len(args)):]
					continue
				}
				if strings.HasPrefix(a, "-") || strings.Contains(a, "=") {
					args = args[1:]
					continue
				}
				break
			}
		case "nice", "ionice":
			args = skipOptions(args[1:], "ncp")
		case "timeout":
			args = skipOptions(args[1:], "sk")
			if len(args) > 0 {
				args = args[1:] // the duration
			}
		default:
			return args
		}
	}
	return args
}

// skipOptions drops leading options; letters in withArg take an argument.
func skipOptions(args []value, withArg string) []value {
	for len(args) > 0 && args[0].isLit && strings.HasPrefix(args[0].lit, "-") {
		a := args[0].lit
		args = args[1:]
		if a == "--" {
			break
		}
		if len(a) == 2 && strings.IndexByte(withArg, a[1]) >= 0 && len(args) > 0 {
			args = args[1:]
		}
	}
	return args
}

// call looks at one simple command and records it when it sends a signal.
func (s *shellScan) call(c *syntax.CallExpr) {
	args := stripWrappers(s.args(c))
	if len(args) == 0 || !args[0].isLit {
		return
	}
	cmd := args[0].lit
	name, rest := path.Base(cmd), args[1:]
	src := s.source(c)
	if fn := s.funcs[cmd]; fn != nil {
		s.known = true
		s.callFunc(c, fn, rest)
		return
	}
	switch name {
	case "xargs", "kill", "pkill", "killall", "start-stop-daemon", "systemctl", "invoke-rc.d", "service", "rc-service",
		"sh", "bash", "dash", "ash", "ksh", "zsh", "su", "runuser":
		s.known = true
	}
	switch name {
	case "xargs":
		s.xargs(c, src, rest)
	case "kill":
		s.add(parseKill(src, rest, nil, s.sc.unit))
	case "pkill":
		m, sig, ok := parsePkill("pkill", rest)
		if ok {
			s.add(matchSender(src, "pkill", sig, m))
		}
	case "killall":
		s.add(parseKillall(src, rest)...)
	case "start-stop-daemon":
		s.add(parseStartStopDaemon(src, rest)...)
	case "systemctl":
		if s.env != nil && s.systemctlReload(c, src, rest) {
			return
		}
		s.add(parseSystemctl(src, rest)...)
	case "invoke-rc.d", "service", "rc-service":
		if s.env != nil {
			s.initAction(c, src, name, rest)
			return
		}
		s.add(indirectInitScript(src, name, rest)...)
	case "sh", "bash", "dash", "ash", "ksh", "zsh", "su", "runuser":
		if !s.nested(c, name, rest) && name != "su" && name != "runuser" {
			s.shellFile(c, src, rest)
		}
	default:
		if d := path.Dir(cmd); d == "/etc/init.d" || d == "/etc/rc.d/init.d" {
			if s.env != nil {
				s.initAction(c, src, cmd, rest)
				return
			}
			s.add(indirectInitScript(src, cmd, rest)...)
			return
		}
		if d := path.Dir(cmd); d == "/etc/init.d" || d == "/etc/rc.d/init.d" {
			s.known = true
		}
		s.command(c, src, cmd, rest)
	}
}

func (s *shellScan) add(senders ...Sender) {
	for _, snd := range senders {
		if snd.Tool == "" {
			continue
		}
		snd.Intent = s.sc.intent
		if snd.Unit == "" {
			snd.Unit = s.sc.unit
		}
		s.keep(snd)
	}
}

// keep adds a sender found here, if the audit's budget has room for it.
func (s *shellScan) keep(snd Sender) {
	at := snd.Source.hop()
	if n := len(snd.Source.Via); n > 0 {
		at = snd.Source.Via[n-1]
	}
	if s.spend(budgetSenders, 1, at) {
		s.senders = append(s.senders, snd)
	}
}

// xargs handles `cat PIDFILE | xargs kill -HUP` and `pgrep x | xargs kill`.
func (s *shellScan) xargs(c *syntax.CallExpr, src Source, rest []value) {
	replace := ""
	for len(rest) > 0 && rest[0].isLit && strings.HasPrefix(rest[0].lit, "-") {
		a := rest[0].lit
		rest = rest[1:]
		switch {
		case a == "-I" && len(rest) > 0:
			replace, rest = rest[0].lit, rest[1:]
		case strings.HasPrefix(a, "-I") && len(a) > 2:
			replace = a[2:]
		case len(a) == 2 && strings.IndexByte("nLPsEdaI", a[1]) >= 0 && len(rest) > 0:
			rest = rest[1:]
		}
	}
	rest = stripWrappers(rest)
	if len(rest) == 0 || !rest[0].isLit || path.Base(rest[0].lit) != "kill" {
		return
	}
	in, ok := s.stdin[c]
	if !ok {
		in = []Selector{{Kind: SelUnknown, Text: "xargs", Reason: "PIDs read from a pipe whose source is not a pidfile, pidof or pgrep"}}
	}
	s.add(parseKill(src, rest[1:], &stdinPIDs{sels: in, replace: replace}, s.sc.unit))
}

// nested scans the script of `sh -c '...'` and `su -c '...'`. It
// reports false when there is no -c: sh runs a script file then.
func (s *shellScan) nested(c *syntax.CallExpr, name string, rest []value) bool {
	if s.depth >= maxShellDepth {
		return true
	}
	for i, a := range rest {
		if !a.isLit {
			continue
		}
		var body *value
		switch {
		case (a.lit == "-c" || a.lit == "--command") && i+1 < len(rest):
			body = &rest[i+1]
		case strings.HasPrefix(a.lit, "--command="):
			v := value{lit: strings.TrimPrefix(a.lit, "--command="), isLit: true}
			body = &v
		case strings.HasPrefix(a.lit, "-") && !strings.HasPrefix(a.lit, "--") && strings.Contains(a.lit, "c") &&
			name != "su" && name != "runuser" && i+1 < len(rest):
			body = &rest[i+1] // sh -ec '...'
		}
		if body == nil {
			continue
		}
		if !body.isLit {
			return true
		}
		inner := newShellScan(s.sc, s.lineOff+int(c.Pos().Line())-1, s.depth+1)
		inner.env, inner.chain, inner.fn, inner.pr = s.env, s.chain, s.fn, s.pr
		inner.scan(body.lit)
		s.senders = append(s.senders, inner.senders...)
		s.warns = append(s.warns, inner.warns...)
		return true
	}
	return false
}

// stdinPIDs are the PIDs xargs appends to (or substitutes into) a kill.
type stdinPIDs struct {
	sels    []Selector
	replace string
}

func atoiList(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			out = append(out, n)
		}
	}
	return out
}
