package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tracer"
)

// reraiseFixtures, part of fixtures() and its goldens: the Go daemon of the seed incident (pkill -HUP from a
// cron job, caught by the runtime and re-raised twice with tgkill, first
// through its handler, then at SIG_DFL), its death, a kernel SIGALRM
// re-raised by a C program, and a death that was no re-raise.
func reraiseFixtures() []namedEvent {
	at := func(us int) time.Time { return baseTime.Add(time.Duration(us) * time.Microsecond) }
	goapp := tracer.Process{PID: 7123, TID: 7123, UID: 33, HasUID: true, Comm: comm("goapp")}
	goThread := goapp
	goThread.TID = 7127
	goSender := goThread
	goSender.Argv = []byte("/usr/bin/goapp\x00")
	pkill := tracer.Process{
		PID: 7120, TID: 7120, UID: 0, HasUID: true, Comm: comm("pkill"),
		Argv:     []byte("pkill\x00-HUP\x00-x\x00goapp\x00"),
		Ancestry: []tracer.Ancestor{ancestor(7119, "sh"), ancestor(7118, "logrotate"), ancestor(7110, "cron"), ancestor(1, "systemd")},
	}
	fromPkill := &tracer.Original{
		Time: at(0), Code: signals.SIUser, From: tracer.From{Sender: pkill, DetailID: 4001},
		Scope: tracer.ScopeProcess, Disposition: tracer.DispHandler, Handler: 0x46a2e0,
	}
	legacy := tracer.Process{PID: 8800, TID: 8800, UID: 1000, HasUID: true, Comm: comm("legacyd")}
	fromTimer := &tracer.Original{
		Time: at(5000), Code: signals.SIKernel, From: tracer.From{KernelSender: true, KernelReason: "timer expired (alarm/setitimer)"},
		Scope: tracer.ScopeProcess, Disposition: tracer.DispHandler, Handler: 0x401a10,
	}

	var out []namedEvent
	add := func(name string, ev tracer.Event) { out = append(out, namedEvent{name, ev}) }

	add("the original: pkill's SIGHUP meets the Go runtime's handler", tracer.Event{
		Time:   at(0),
		Type:   tracer.TypeGenerate,
		Sig:    1,
		Code:   signals.SIUser,
		Target: goapp,
		Scope:  tracer.ScopeProcess,
		Generate: tracer.Generate{
			From: tracer.From{Sender: pkill, DetailID: 4001},
			Setup: tracer.Setup{
				Disposition:   tracer.DispHandler,
				Handler:       0x46a2e0,
				DefaultAction: signals.Terminate,
			},
			Verdict: tracer.Verdict{Kind: tracer.VerdictHandled},
		},
	})
	// The re-raiser's own DetailID shares the JSON cache's slot with the
	// original's (4001 % 64 == 4065 % 64): each must render its own.
	add("first re-raise, through the runtime's own handler", tracer.Event{
		Time:   at(180),
		Type:   tracer.TypeGenerate,
		Sig:    1,
		Code:   signals.SITKill,
		Target: goThread,
		Scope:  tracer.ScopeThread,
		Generate: tracer.Generate{
			From: tracer.From{Sender: goSender, DetailID: 4065},
			Setup: tracer.Setup{
				Disposition:   tracer.DispHandler,
				Handler:       0x46a2e0,
				DefaultAction: signals.Terminate,
			},
			Verdict:   tracer.Verdict{Kind: tracer.VerdictHandled},
			ReraiseOf: fromPkill,
		},
	})
	add("second re-raise, at SIG_DFL: fatal", tracer.Event{
		Time:   at(1250),
		Type:   tracer.TypeGenerate,
		Sig:    1,
		Code:   signals.SITKill,
		Target: goThread,
		Scope:  tracer.ScopeThread,
		Generate: tracer.Generate{
			From:      tracer.From{Sender: goSender, DetailID: 4065},
			Setup:     tracer.Setup{Disposition: tracer.DispDefault, DefaultAction: signals.Terminate},
			Verdict:   tracer.Verdict{Kind: tracer.VerdictFatal, Fatal: true, Unprepared: true},
			ReraiseOf: fromPkill,
		},
	})
	add("the death, its killer passed on through the re-raise", tracer.Event{
		Time:   at(1400),
		Type:   tracer.TypeExit,
		Sig:    1,
		Code:   signals.SIUser,
		Target: goapp,
		Scope:  tracer.ScopeProcess,
		Exit: tracer.Exit{
			Killer: tracer.From{Sender: pkill, DetailID: 4001},
			Setup: tracer.Setup{
				Disposition:   tracer.DispHandler,
				Handler:       0x46a2e0,
				DefaultAction: signals.Terminate,
			},
			KillerKnown: true,
			KillerVia:   tracer.KillerReraise,
		},
	})
	add("C program re-raises the kernel's SIGALRM with kill(getpid())", tracer.Event{
		Time:   at(25100),
		Type:   tracer.TypeGenerate,
		Sig:    14,
		Code:   signals.SIUser,
		Target: legacy,
		Scope:  tracer.ScopeProcess,
		Generate: tracer.Generate{
			From:      tracer.From{Sender: legacy},
			Setup:     tracer.Setup{Disposition: tracer.DispDefault, DefaultAction: signals.Terminate},
			Verdict:   tracer.Verdict{Kind: tracer.VerdictFatal, Fatal: true, Unprepared: true},
			ReraiseOf: fromTimer,
		},
	})
	add("its death, from the kernel through the re-raise", tracer.Event{
		Time:   at(25200),
		Type:   tracer.TypeExit,
		Sig:    14,
		Code:   signals.SIKernel,
		Target: legacy,
		Scope:  tracer.ScopeProcess,
		Exit: tracer.Exit{
			Killer: tracer.From{KernelSender: true, KernelReason: "timer expired (alarm/setitimer)"},
			Setup: tracer.Setup{
				Disposition:   tracer.DispHandler,
				Handler:       0x401a10,
				DefaultAction: signals.Terminate,
			},
			KillerKnown: true,
			KillerVia:   tracer.KillerReraise,
		},
	})
	add("a death by a signal to itself that re-raised nothing", tracer.Event{
		Time:   at(30000),
		Type:   tracer.TypeExit,
		Sig:    12,
		Code:   signals.SIUser,
		Target: legacy,
		Scope:  tracer.ScopeProcess,
		Exit: tracer.Exit{
			Killer:      tracer.From{Sender: legacy},
			Setup:       tracer.Setup{Disposition: tracer.DispDefault, DefaultAction: signals.Terminate},
			KillerKnown: true,
		},
	})
	return out
}

// The JSON says what the Event says: reraise_of with the original's
// sender (argv, ancestry, or the kernel and why), code and time;
// killer_via only on an exit whose killer was passed on.
func TestReraiseJSON(t *testing.T) {
	for _, f := range reraiseFixtures() {
		var obj map[string]any
		if err := json.Unmarshal(AppendJSON(nil, &f.ev), &obj); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		s := schema{t, f.name}
		o := f.ev.Generate.ReraiseOf
		ro, has := obj["reraise_of"].(map[string]any)
		if has != (o != nil) {
			t.Errorf("%s: reraise_of present %v, want %v", f.name, has, o != nil)
		}
		if o != nil && has {
			sender := s.object(ro, "sender")
			if o.KernelSender {
				if !s.boolean(sender, "kernel") || s.str(sender, "reason") != o.KernelReason {
					s.errorf("reraise_of.sender %v, want the kernel: %s", sender, o.KernelReason)
				}
			} else {
				s.process(sender, &o.Sender)
			}
			if got := s.str(ro, "code"); got != signals.CodeName(f.ev.Sig, o.Code) {
				s.errorf("reraise_of.code %q", got)
			}
			if tm, err := time.Parse(time.RFC3339Nano, s.str(ro, "time")); err != nil || !tm.Equal(o.Time) {
				s.errorf("reraise_of.time %v (%v), want %v", ro["time"], err, o.Time)
			}
		}
		via, hasVia := obj["killer_via"]
		if want := f.ev.Exit.KillerVia == tracer.KillerReraise; hasVia != want || (want && via != "reraise") {
			s.errorf("killer_via %v (present %v), want reraise %v", via, hasVia, want)
		}
		if f.ev.Type == tracer.TypeExit && f.ev.Exit.KillerVia == tracer.KillerReraise {
			killer := s.object(obj, "killer")
			if f.ev.Exit.Killer.KernelSender {
				if !s.boolean(killer, "kernel") {
					s.errorf("killer is not the kernel")
				}
			} else {
				s.process(killer, &f.ev.Exit.Killer.Sender)
			}
			if s.str(obj, "disposition") != "handler" {
				s.errorf("disposition %v, want the handler the original met", obj["disposition"])
			}
		}
	}
}

// The table's rows say it in words.
func TestReraiseTable(t *testing.T) {
	rows := strings.Split(string(renderTable(false, reraiseFixtures())), "\n")[1:]
	for i, want := range []string{
		"handled",
		"handled, re-raise of SIGHUP from pkill[7120] ← sh ← logrotate ← cron, sent 180.0µs before",
		"FATAL re-raise of SIGHUP from pkill[7120] ← sh ← logrotate ← cron, sent 1.2ms before (kills the whole process)",
		"EXIT goapp[7123] killed by SIGHUP from pkill[7120] ← sh ← logrotate ← cron (re-raised by the process after its handler ran)",
		"FATAL re-raise of SIGALRM from the kernel: timer expired (alarm/setitimer), sent 20.1ms before",
		"EXIT legacyd[8800] killed by SIGALRM from the kernel (timer expired (alarm/setitimer)) (re-raised by the process after its handler ran)",
		"EXIT legacyd[8800] killed by SIGUSR2 from legacyd[8800] (no SIGUSR2 handler: default action terminate)",
	} {
		if !strings.Contains(rows[i], want) {
			t.Errorf("row %d lacks %q:\n%s", i, want, rows[i])
		}
	}
	if strings.Contains(rows[2], "unprepared") {
		t.Errorf("a re-raise at SIG_DFL called unprepared (its handler passed it on):\n%s", rows[2])
	}
}

// The caching renderer makes the same bytes, with the original's detail
// cached by its own DetailID, and nothing is allocated.
func TestReraiseRenderCachedNoAllocs(t *testing.T) {
	r := NewJSON()
	fs := reraiseFixtures()
	for round := range 3 {
		for _, f := range fs {
			if got, want := r.AppendRow(nil, &f.ev), AppendJSON(nil, &f.ev); !bytes.Equal(got, want) {
				t.Errorf("round %d, %s:\n got %s\nwant %s", round, f.name, got, want)
			}
		}
	}
	for _, rr := range []Renderer{r, JSON{}, &Table{}, &Table{Color: true}} {
		for _, f := range fs {
			buf := make([]byte, 0, 4096)
			if n := testing.AllocsPerRun(100, func() { buf = rr.AppendRow(buf[:0], &f.ev) }); n != 0 {
				t.Errorf("%T, %s: %v allocations", rr, f.name, n)
			}
		}
	}
}
