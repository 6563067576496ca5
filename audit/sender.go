package audit

import (
	"fmt"
	"strings"
)

// Source is where a configured sender is written: the configuration line
// (a logrotate script line, a cron line, a unit's Exec*=), and, when that
// line runs a script, an init script action or a unit's reload, the lines
// followed from it down to the command that sends (Via).
type Source struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Text    string `json:"text"`
	Context string `json:"context,omitempty"` // "logrotate postrotate", "cron", "systemd ExecReload"
	// Via lists the lines followed from File:Line, in the order they run;
	// the last one is the command that sends the signal.
	Via []Hop `json:"via,omitempty"`
}

// Hop is one line on the way from a configuration line to a sender: a
// script's line, an init script's case branch, a unit's ExecReload=.
type Hop struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Text    string `json:"text"`
	Context string `json:"context,omitempty"` // "script", "init script rotate", "systemd ExecReload", "function rotate_logs"
}

// String is the file:line chain, "a:16 → b:4".
func (s Source) String() string {
	out := fmt.Sprintf("%s:%d", s.File, s.Line)
	for _, h := range s.Via {
		out += fmt.Sprintf(" → %s:%d", h.File, h.Line)
	}
	return out
}

// Command is the text of the line that sends: the last hop's, or the
// configuration line's own.
func (s Source) Command() string {
	if len(s.Via) > 0 {
		return s.Via[len(s.Via)-1].Text
	}
	return s.Text
}

func (s Source) hop() Hop { return Hop{File: s.File, Line: s.Line, Text: s.Text, Context: s.Context} }

// Intent says what a sender is for. A stop signal that kills its target
// does what it was configured to do; a reload or rotation that kills it
// is the incident this audit exists to prevent.
type Intent int

const (
	IntentNotify Intent = iota // reload, rotate, reopen: the target must survive
	IntentStop                 // ExecStop=, KillSignal=: ending the target is the point
)

// Sender is one configured command that sends a signal: its signal, and
// the selectors naming its targets.
type Sender struct {
	Source  Source
	Tool    string // "kill", "pkill", "killall", "systemctl kill", "start-stop-daemon", "systemd"
	Signal  int    // 0 when it is not a literal (SignalText says what was written)
	SigText string
	Targets []Selector
	Intent  Intent
	// Unit is the systemd unit whose own file holds this sender: its
	// ExecReload= and the like run only while the unit is active.
	Unit string
	// Indirect, when set, names what could not be followed (a unit, an
	// init script, a script in another language): the sender has no
	// signal, and each target's Reason says why.
	Indirect string
}

// SelKind is how a sender names its target.
type SelKind int

const (
	SelPID     SelKind = iota // a literal PID
	SelPidfile                // the PID written in a file
	SelMainPID                // a systemd unit's main process ($MAINPID)
	SelUnit                   // every process of a unit's cgroup (systemctl kill, KillMode=control-group)
	SelMatch                  // processes matched by name, pattern, user... (pkill, killall, pidof)
	SelUnknown                // something that cannot be resolved statically
)

// Selector names the target processes of a sender.
type Selector struct {
	Kind   SelKind
	PID    int
	Path   string // SelPidfile
	Unit   string // SelMainPID, SelUnit
	Match  *Match // SelMatch
	Text   string // as written in the source, for messages
	Reason string // SelUnknown: why it cannot be resolved
}

// Match is the process selection of pkill/pgrep, killall, pidof and
// start-stop-daemon: every criterion that is set must hold.
type Match struct {
	Tool string // which tool's semantics apply: "pkill", "pgrep", "killall", "pidof", "start-stop-daemon"

	// Name matching.
	Pattern    string // pkill/pgrep: an extended regular expression; killall/pidof: a name
	Exact      bool   // pkill -x, killall -e
	Full       bool   // pkill -f: match the whole command line
	IgnoreCase bool   // pkill -i, killall -I
	Regex      bool   // killall -r
	Comm       string // start-stop-daemon --name: the comm, exactly
	Exe        string // start-stop-daemon --exec, killall /path: the executable

	// Other criteria.
	Pidfile        string   // pkill -F, start-stop-daemon --pidfile
	EUsers         []string // pkill -u, killall -u, start-stop-daemon --user
	RUsers         []string // pkill -U
	PPIDs          []int    // pkill -P
	PGroups        []int    // pkill -g
	Sessions       []int    // pkill -s
	Newest, Oldest bool     // pkill -n, -o
	Single         bool     // pidof -s
	Omit           []int    // pidof -o
	RequireHandler bool     // pkill -H: only processes with a handler for the signal
	Unsupported    []string // criteria given but not evaluated (listed in reasons)
}

// Describe says in words what the selector would signal, for the
// "unresolved" reasons and the selector field.
func (s Selector) Describe() string {
	switch s.Kind {
	case SelPID:
		return fmt.Sprintf("PID %d", s.PID)
	case SelPidfile:
		return "the PID in " + clip(s.Path)
	case SelMainPID:
		return "the main process of " + clip(s.Unit)
	case SelUnit:
		return "every process of " + clip(s.Unit)
	case SelMatch:
		return s.Match.Describe()
	}
	return clip(s.Text)
}

// Describe renders the match criteria ("processes named nginx (killall)").
// Each name, pattern and path in it is clipped (output.MaxEcho).
func (m *Match) Describe() string {
	var parts []string
	pattern, exe, comm, pidfile := clip(m.Pattern), clip(m.Exe), clip(m.Comm), clip(m.Pidfile)
	switch {
	case m.Tool == "killall" && m.Exe != "":
		parts = append(parts, "processes running "+exe)
	case m.Tool == "killall" && m.Regex:
		parts = append(parts, fmt.Sprintf("processes whose name matches /%s/", pattern))
	case m.Tool == "killall":
		parts = append(parts, "processes named "+pattern)
	case m.Tool == "pidof":
		parts = append(parts, "processes named "+pattern+" (argv[0], exe or comm)")
	case m.Pattern != "":
		what := "name"
		if m.Full {
			what = "command line"
		}
		re := pattern
		if m.Exact {
			re = "^(" + re + ")$"
		}
		parts = append(parts, fmt.Sprintf("processes whose %s matches /%s/", what, re))
	}
	if m.Comm != "" {
		parts = append(parts, "named "+comm)
	}
	if m.Exe != "" && m.Tool != "killall" {
		parts = append(parts, "running "+exe)
	}
	if m.Pidfile != "" {
		parts = append(parts, "with the PID in "+pidfile)
	}
	if len(m.EUsers) > 0 {
		parts = append(parts, "of user "+clip(strings.Join(m.EUsers, ",")))
	}
	if len(m.RUsers) > 0 {
		parts = append(parts, "of real user "+clip(strings.Join(m.RUsers, ",")))
	}
	if len(m.PPIDs) > 0 {
		parts = append(parts, "with parent "+clip(joinInts(m.PPIDs)))
	}
	if len(m.PGroups) > 0 {
		parts = append(parts, "in process group "+clip(joinInts(m.PGroups)))
	}
	if len(m.Sessions) > 0 {
		parts = append(parts, "in session "+clip(joinInts(m.Sessions)))
	}
	if m.RequireHandler {
		parts = append(parts, "that handle the signal")
	}
	if m.Newest {
		parts = append(parts, "(newest only)")
	}
	if m.Oldest {
		parts = append(parts, "(oldest only)")
	}
	if len(parts) == 0 {
		parts = append(parts, "every process")
	}
	return strings.Join(parts, " ") + " (" + m.Tool + ")"
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}
