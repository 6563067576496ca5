package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"slices"
	"strings"
)

// Bounds on the work of the whole audit (issue 21, item 3). The bounds of
// one script (maxExpansions, maxNesting) and of one line (bounds.go) did
// not bound following: 500 crontab lines each running the same 2000-kill
// script scanned it 500 times (43 s, 1.3 GB), and scripts that call the
// next one twice scan the last one 2^depth times. A followed script's
// scan is remembered (followMemo), and the whole audit has a budget: once
// one of these is spent, it stops scanning and following, says where
// (one warning) and that it is incomplete (Report.Stopped, the summary,
// exit status 1). An honest Debian host spends a few thousand words, a
// few hundred KiB, a few dozen followed scans and senders.
const (
	maxAuditWords   = 1 << 20 // words expanded, in every script the audit scans
	maxAuditBytes   = 8 << 20 // bytes of shell read (followed files) or parsed (configured lines), each once
	maxAuditScans   = 1 << 12 // followed scripts and unit reloads scanned (remembered ones not counted)
	maxAuditSenders = 1 << 16 // signal senders found, those of remembered scans included
	// Bytes of the words expanded to a literal, in every script: each
	// word is at most maxWordBytes, but 2^20 words of 64 KiB each
	// (x=$x$x up to 32 KiB, then y=$x$x 65,000 times: 4 s a script)
	// would be 64 GiB copied.
	maxAuditExpanded = 1 << 26
	// At most this many followed scans are remembered; past it, a
	// script is scanned again (and spends the budget again).
	maxFollowMemo = 1 << 12
)

// budgetKind is one of the whole audit's bounds.
type budgetKind int

const (
	budgetWords budgetKind = iota
	budgetBytes
	budgetScans
	budgetSenders
	budgetExpanded
	numBudgets
)

var budgets = [numBudgets]struct {
	max  int
	what string
}{
	budgetWords:    {maxAuditWords, "words expanded"},
	budgetBytes:    {maxAuditBytes, "bytes of shell read or parsed"},
	budgetScans:    {maxAuditScans, "scripts and unit reloads followed"},
	budgetSenders:  {maxAuditSenders, "signal senders found"},
	budgetExpanded: {maxAuditExpanded, "bytes of words expanded"},
}

// work is what the audit has spent of its budget. stop is set, with the
// one warning that says where and why, when a bound is passed: nothing
// is scanned or followed after it.
type work struct {
	spent [numBudgets]int
	hits  int // followed scripts whose remembered scan was used
	stop  *Warning
}

// stopped reports whether the audit has stopped at a bound.
func (s *shellScan) stopped() bool { return s.env != nil && s.env.col.work.stop != nil }

// spend takes n of the bound k for the work at the line at (a line of
// this scan's script). It reports false, and the audit stops with one
// warning at that line, when that passes the bound; and false ever
// after. Without env (scanScript) nothing is counted.
func (s *shellScan) spend(k budgetKind, n int, at Hop) bool {
	if s.env == nil {
		return true
	}
	w := &s.env.col.work
	if w.stop != nil {
		return false
	}
	w.spent[k] += n
	if w.spent[k] <= budgets[k].max {
		return true
	}
	msg := fmt.Sprintf("audit incomplete: more than %d %s in the whole audit (a bound against crafted input): "+
		"the audit stops here, scans and follows nothing more, and lists what it found before", budgets[k].max, budgets[k].what)
	if len(s.chain) > 0 && (s.chain[0].File != at.File || s.chain[0].Line != at.Line) {
		msg += fmt.Sprintf(" (this line is run from %s:%d)", clip(s.chain[0].File), s.chain[0].Line)
	}
	w.stop = &Warning{File: at.File, Line: at.Line, Msg: msg}
	s.env.col.warn(*w.stop)
	return false
}

// at is a line of this scan's script, for spend.
func (s *shellScan) at(scriptLine int) Hop {
	return Hop{File: s.sc.file, Line: s.fileLine(scriptLine)}
}

// followed is a followed script's scan, remembered: whether it ran a
// command the audit knows, and its senders with only the hops below the
// command that ran it (the rest of the chain is the caller's).
type followed struct {
	known   bool
	senders []Sender // Source is empty: rel holds the hops
	rel     [][]Hop
}

// followMemo remembers followed scans by what decides their result.
type followMemo map[[sha256.Size]byte]*followed

// followKey is what decides what running the script at file from the
// command at the end of via finds: the file and how it is run (by sh
// FILE or by exec, as what), what the caller passes on (its intent and
// unit, its depth), the files on the chain (a script that runs one of
// them again is not followed into it: runScript, unitReload) and, when
// withArgs, the arguments ($1...).
func followKey(s *shellScan, file, what string, byShell bool, via []Hop, args []value, withArgs bool) [sha256.Size]byte {
	h := sha256.New()
	str := func(v string) {
		writeLen(h, len(v))
		h.Write([]byte(v))
	}
	str(file)
	str(what)
	str(s.sc.unit)
	writeLen(h, int(s.sc.intent))
	writeLen(h, s.depth)
	if byShell {
		str("sh")
	} else {
		str("exec")
	}
	// The chain as a set: only membership is looked at below.
	seen := map[string]bool{}
	var files []string
	for _, hop := range via {
		for _, k := range []string{"f" + hop.File, "r" + hop.File} {
			if k[0] == 'r' && hop.Context != "systemd ExecReload" || seen[k] {
				continue
			}
			seen[k] = true
			files = append(files, k)
		}
	}
	slices.Sort(files)
	writeLen(h, len(files))
	for _, f := range files {
		str(f)
	}
	if !withArgs {
		str("no args")
	} else {
		str("args")
		writeLen(h, len(args))
		for _, a := range args {
			str(fmt.Sprintf("%t", a.isLit))
			str(a.lit)
			str(a.text)
			writeLen(h, len(a.sels))
			for _, sel := range a.sels {
				m := sel.Match
				sel.Match = nil
				str(fmt.Sprintf("%#v", sel))
				if m != nil {
					str(fmt.Sprintf("%#v", *m))
				}
			}
		}
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func writeLen(h hash.Hash, n int) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(n))
	h.Write(b[:])
}

// usesPositional reports whether shell text may read its arguments:
// $1, ${1}, ${1:-x}, ${#1}... It over-counts (quotes, comments and
// functions' own arguments are not told apart), which only costs the
// memo a hit.
func usesPositional(text string) bool {
	text = strings.ReplaceAll(text, "\\\n", "")
	for i := 0; i+1 < len(text); i++ {
		if text[i] != '$' {
			continue
		}
		j := i + 1
		if text[j] == '{' {
			j++
			if j < len(text) && (text[j] == '#' || text[j] == '!') {
				j++
			}
		}
		if j < len(text) && text[j] >= '0' && text[j] <= '9' {
			return true
		}
	}
	return false
}

// remember makes a followed scan of the senders found after the call at
// the end of via; ok is false when a sender's chain does not start with
// via (it cannot be told apart from the caller's then).
func remember(known bool, senders []Sender, via []Hop) (*followed, bool) {
	r := &followed{known: known}
	for _, snd := range senders {
		hops := append([]Hop{snd.Source.hop()}, snd.Source.Via...)
		if len(hops) < len(via) {
			return nil, false
		}
		for i := range via {
			if hops[i].File != via[i].File || hops[i].Line != via[i].Line || hops[i].Context != via[i].Context {
				return nil, false
			}
		}
		snd.Source = Source{}
		r.senders = append(r.senders, snd)
		r.rel = append(r.rel, hops[len(via):])
	}
	return r, true
}

// replay adds a remembered scan's senders to this scan, under via: each
// one spends the senders' budget (at the line of the call that runs the
// script).
func (s *shellScan) replay(r *followed, via []Hop) {
	s.known = s.known || r.known
	at := via[len(via)-1]
	for i, snd := range r.senders {
		if !s.spend(budgetSenders, 1, at) {
			return
		}
		full := append(append(make([]Hop, 0, len(via)+len(r.rel[i])), via...), r.rel[i]...)
		snd.Source = chainSource(full[:len(full)-1], full[len(full)-1])
		s.senders = append(s.senders, snd)
	}
}
