package filter

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/tracer"
)

// kernelView is what the BPF programs see of an event beyond what the
// decoded event says.
type kernelView struct {
	// senderPID is the pid the pid filters take as the sender: a
	// generate's current task (also when the decoder names the kernel as
	// sender), a deliver's si_pid, an exit's joined killer (0: none).
	senderPID uint32
	// comms are the four names the comm filter looks up: the sender's
	// process and thread names, then the target's (a deliver: the
	// receiver's twice; an exit: the killer's process name twice, then
	// the dead process's and its last thread's).
	comms [4]string
	// groupExitSig: a deliver's group is dying of this signal (0: not).
	groupExitSig int
	// senderUID is the uid the uid filter takes as the sender's: a
	// generate's current task's, a deliver's si_uid, an exit's joined
	// killer's (0: none). The target's is the event's target.uid.
	senderUID uint32
}

// kernelPasses reports whether the BPF programs, loaded with o, hand ev
// to userspace: bpf/sigtrace.c's filters, in Go.
//
//   - Signals (filter_sigmask, sig_wanted): the event's signal is in the
//     set, or the set is empty. An exit's signal is its cause; a deliver
//     of SIGKILL also passes when the group's exit signal is in the set
//     (on_deliver: "-s HUP still shows the process dying of SIGHUP").
//   - PIDs (pid_filter bits, pids_wanted): with SenderPIDs the sender
//     (kv.senderPID) must be in them, with TargetPIDs the target's tgid,
//     with AnyPIDs either.
//   - Comms (comm_filter, comms_wanted): one of the four kv.comms is in
//     the set.
//   - UIDs (uid_filter bits, uids_wanted): with SenderUIDs kv.senderUID
//     must be in them, with TargetUIDs the target's uid.
//   - NoDeliver (want_deliver) drops every deliver event, NoExit
//     (want_exit) every exit, HistoryOff (want_disp) every disposition
//     change. Generate events are never dropped by type.
//   - A disposition event has no sender: a sender pid or uid filter
//     drops it (disp_wanted); its process is the target.
//   - Pending events are made in userspace from a generate event the
//     kernel passed and the deliveries it sees: one passes when its
//     generate (same signal, pids and comms) did and deliveries are
//     traced.
//
// Lost events are not filtered.
func kernelPasses(o *tracer.Options, ev *tracer.Event, kv kernelView) bool {
	wanted := func(sig int) bool { return len(o.Signals) == 0 || slices.Contains(o.Signals, sig) }
	switch ev.Type {
	case tracer.TypeLost:
		return true
	case tracer.TypeDeliver:
		if o.NoDeliver {
			return false
		}
		if !wanted(ev.Sig) && (ev.Sig != 9 || kv.groupExitSig == 0 || !wanted(kv.groupExitSig)) {
			return false
		}
	case tracer.TypeExit:
		if o.NoExit || !wanted(ev.Sig) {
			return false
		}
	case tracer.TypePending:
		if o.NoDeliver || !wanted(ev.Sig) {
			return false
		}
	case tracer.TypeDisposition:
		// disp_wanted: no sender, so a sender filter wants none.
		if o.History == tracer.HistoryOff || !wanted(ev.Sig) || len(o.SenderPIDs) > 0 || len(o.SenderUIDs) > 0 {
			return false
		}
	default:
		if !wanted(ev.Sig) {
			return false
		}
	}
	s, t := kv.senderPID, ev.Target.PID
	if len(o.SenderPIDs) > 0 && !slices.Contains(o.SenderPIDs, s) {
		return false
	}
	if len(o.TargetPIDs) > 0 && !slices.Contains(o.TargetPIDs, t) {
		return false
	}
	if len(o.AnyPIDs) > 0 && !slices.Contains(o.AnyPIDs, s) && !slices.Contains(o.AnyPIDs, t) {
		return false
	}
	if len(o.Comms) > 0 && !slices.ContainsFunc(kv.comms[:], func(c string) bool { return slices.Contains(o.Comms, c) }) {
		return false
	}
	if len(o.SenderUIDs) > 0 && !slices.Contains(o.SenderUIDs, kv.senderUID) {
		return false
	}
	if len(o.TargetUIDs) > 0 && !slices.Contains(o.TargetUIDs, ev.Target.UID) {
		return false
	}
	return true
}

var (
	sigPool  = []int{1, 9, 13, 15, 37}
	pidPool  = []uint32{1, 10, 20, 30}
	uidPool  = []uint32{0, 1000}
	commPool = []string{"a", "b", "c"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func subset[T any](r *rand.Rand, xs []T) []T {
	var out []T
	for _, x := range xs {
		if r.IntN(3) == 0 {
			out = append(out, x)
		}
	}
	return out
}

// randomEvent makes an event and the kernel's view of it.
func randomEvent(r *rand.Rand, pending bool) (tracer.Event, kernelView) {
	kinds := []tracer.EventType{tracer.TypeGenerate, tracer.TypeDeliver, tracer.TypeExit, tracer.TypeDisposition}
	if pending {
		kinds = append(kinds, tracer.TypePending)
	}
	ev := tracer.Event{Time: time.Unix(1, 0), Type: pick(r, kinds), Sig: pick(r, sigPool)}
	tc, ttc := pick(r, commPool), pick(r, commPool)
	ev.Target = tracer.Process{PID: pick(r, pidPool), TID: pick(r, pidPool), UID: uint32(r.IntN(2) * 1000), HasUID: true, Comm: comm(tc), ThreadComm: comm(ttc)}
	var kv kernelView
	switch ev.Type {
	case tracer.TypeGenerate, tracer.TypePending:
		sc, stc := pick(r, commPool), pick(r, commPool)
		kv = kernelView{senderPID: pick(r, pidPool), comms: [4]string{sc, stc, tc, ttc}, senderUID: pick(r, uidPool)}
		if ev.Type == tracer.TypeGenerate {
			ev.Generate.KernelSender = r.IntN(4) == 0
			if !ev.Generate.KernelSender {
				ev.Generate.Sender = tracer.Process{PID: kv.senderPID, TID: kv.senderPID, UID: kv.senderUID, HasUID: true, Comm: comm(sc), ThreadComm: comm(stc)}
			}
			ev.Generate.Verdict = pick(r, []tracer.Verdict{{Kind: tracer.VerdictFatal, Fatal: true, Unprepared: true}, {Kind: tracer.VerdictFatal, Fatal: true}, {Kind: tracer.VerdictHandled}})
		}
	case tracer.TypeDeliver:
		kv = kernelView{senderPID: pick(r, pidPool), comms: [4]string{tc, ttc, tc, ttc}, senderUID: pick(r, uidPool)}
		if ev.Sig == 9 && r.IntN(2) == 0 {
			ev.Deliver.GroupExit, ev.Deliver.ExitSignal = true, pick(r, sigPool)
			kv.groupExitSig = ev.Deliver.ExitSignal
		}
	case tracer.TypeDisposition:
		kv = kernelView{comms: [4]string{tc, ttc, tc, ttc}}
		ev.Disposition = tracer.Change{Cause: tracer.CauseSigaction, From: tracer.Setup{Disposition: tracer.DispHandler, Handler: 0x4000}, Fatal: true}
	case tracer.TypeExit:
		if r.IntN(3) > 0 {
			ev.Exit.KillerKnown = true
			kc := pick(r, commPool)
			ev.Exit.Killer.Sender = tracer.Process{PID: pick(r, pidPool), Comm: comm(kc), UID: pick(r, uidPool), HasUID: true}
			kv = kernelView{senderPID: ev.Exit.Killer.Sender.PID, comms: [4]string{kc, kc, tc, ttc}, senderUID: ev.Exit.Killer.Sender.UID}
			if r.IntN(4) == 0 {
				// A re-raise: the kernel joined the process itself as
				// its killer; userspace names the original sender.
				kv = kernelView{senderPID: ev.Target.PID, comms: [4]string{tc, tc, tc, ttc}, senderUID: ev.Target.UID}
			}
		} else {
			kv = kernelView{comms: [4]string{"", "", tc, ttc}}
		}
	}
	return ev, kv
}

// randomExpr makes an expression over the fields the kernel can decide
// and some it cannot.
func randomExpr(r *rand.Rand, depth int) string {
	if depth > 0 && r.IntN(3) > 0 {
		switch r.IntN(4) {
		case 0, 1:
			return "(" + randomExpr(r, depth-1) + " && " + randomExpr(r, depth-1) + ")"
		case 2:
			return "(" + randomExpr(r, depth-1) + " || " + randomExpr(r, depth-1) + ")"
		default:
			return "!(" + randomExpr(r, depth-1) + ")"
		}
	}
	sigName := func() string {
		return map[int]string{1: "SIGHUP", 9: "SIGKILL", 13: "SIGPIPE", 15: "SIGTERM", 37: "SIGRTMIN+3"}[pick(r, sigPool)]
	}
	list := func(one func() string) string {
		n := 1 + r.IntN(3)
		var xs []string
		for range n {
			xs = append(xs, one())
		}
		return "[" + strings.Join(xs, ", ") + "]"
	}
	pid := func() string { return fmt.Sprint(pick(r, pidPool)) }
	uid := func() string { return fmt.Sprint(pick(r, uidPool)) }
	cm := func() string { return fmt.Sprintf("%q", pick(r, commPool)) }
	kind := func() string {
		return fmt.Sprintf("%q", pick(r, []string{"generate", "deliver", "exit", "pending", "disposition"}))
	}
	atoms := []func() string{
		func() string { return "sig == " + sigName() },
		func() string { return "sig != " + sigName() },
		func() string { return "sig in " + list(sigName) },
		func() string { return `signal.name == "` + sigName() + `"` },
		func() string { return "target.pid == " + pid() },
		func() string { return "target.pid in " + list(pid) },
		func() string { return "sender.pid == " + pid() },
		func() string { return "sender.pid in " + list(pid) },
		func() string { return "target.comm == " + cm() },
		func() string { return "sender.comm == " + cm() },
		func() string { return "target.comm in " + list(cm) },
		func() string { return "sender.comm in " + list(cm) },
		func() string { return "target.thread_comm == " + cm() },
		func() string { return "sender.thread_comm == " + cm() },
		func() string { return "type == " + kind() },
		func() string { return "type != " + kind() },
		func() string { return "type in " + list(kind) },
		func() string { return "sender.uid != 0" },
		func() string { return "sender.uid == " + uid() },
		func() string { return "sender.uid in " + list(uid) },
		func() string { return "target.uid == " + uid() },
		func() string { return "target.uid in " + list(uid) },
		func() string { return "killer.uid == " + uid() },
		func() string { return "unprepared" },
		func() string { return `verdict == "fatal"` },
		func() string { return "killer.pid == " + pid() },
		func() string { return "sender.pid == nil" },
		func() string { return "group_exit.signal.num == " + sigName() },
	}
	return pick(r, atoms)()
}

// randomFlags are the kernel filters -s, -p, --target-pid, --sender-pid,
// --comm, --no-deliver and --pending-after would give.
func randomFlags(r *rand.Rand) tracer.Options {
	o := tracer.Options{}
	if r.IntN(3) == 0 {
		o.Signals = subset(r, sigPool)
	}
	if r.IntN(4) == 0 {
		o.AnyPIDs = subset(r, pidPool)
	}
	if r.IntN(4) == 0 {
		o.TargetPIDs = subset(r, pidPool)
	}
	if r.IntN(4) == 0 {
		o.SenderPIDs = subset(r, pidPool)
	}
	if r.IntN(4) == 0 {
		o.Comms = subset(r, commPool)
	}
	if r.IntN(2) == 0 {
		o.History = tracer.HistoryFatal
	}
	if r.IntN(4) == 0 {
		o.PendingAfter = time.Second
	} else if r.IntN(5) == 0 {
		o.NoDeliver = true
	}
	return o
}

// TestPushdownChangesNothing: over random filters, flags and events,
// what the kernel drops with the filter's part pushed down is what the
// filter (or the flags alone) would have dropped anyway, and pushing down
// never lets through an event the flags dropped.
func TestPushdownChangesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 2))
	exprs, narrowed, dropped := 0, 0, 0
	for range 3000 {
		src := randomExpr(r, 3)
		f, err := Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		exprs++
		flags := randomFlags(r)
		pushed := flags
		f.Narrow(&pushed)
		if pushed.NoDeliver && pushed.PendingAfter > 0 {
			t.Fatalf("%s: NoDeliver with PendingAfter", src)
		}
		if fmt.Sprint(pushed) != fmt.Sprint(flags) {
			narrowed++
		}
		for range 200 {
			ev, kv := randomEvent(r, flags.PendingAfter > 0)
			before := kernelPasses(&flags, &ev, kv)
			after := kernelPasses(&pushed, &ev, kv)
			if after && !before {
				t.Fatalf("%s with %+v: pushdown %+v lets through %+v (%+v)", src, flags, pushed, ev, kv)
			}
			match := f.Match(&ev)
			if before && match && !after {
				t.Fatalf("%s with flags %+v: pushdown %+v drops a match %+v (kernel view %+v)", src, flags, pushed, ev, kv)
			}
			if before && !after {
				dropped++
			}
		}
	}
	t.Logf("%d filters, %d narrowed the kernel's filters, %d events dropped in the kernel that only the Go filter dropped before", exprs, narrowed, dropped)
	if narrowed < exprs/4 || dropped == 0 {
		t.Errorf("the test hardly exercises pushdown: %d of %d filters narrowed, %d events dropped", narrowed, exprs, dropped)
	}
}

func TestPushdown(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want string
	}{
		{`sig == SIGHUP && target.comm == "logdeviced"`, "signals [1] target [] sender [] comms [logdeviced] kinds generate,deliver,exit,pending,disposition"},
		{`type == "generate"`, "signals [] target [] sender [] comms [] kinds generate"},
		{`type == "exit"`, "signals [] target [] sender [] comms [] kinds exit"},
		{`sender.uid != 0 && sig in [SIGTERM, SIGKILL]`, "signals [9 15] target [] sender [] comms [] kinds generate"},
		{`verdict == "fatal" && unprepared`, "signals [] target [] sender [] comms [] kinds generate"},
		{`signal.name in ["SIGHUP", "SIGRTMIN+3", "SIGIOT"]`, "signals [1 37] target [] sender [] comms [] kinds generate,deliver,exit,pending,disposition"},
		{`sig == SIGHUP || sig == SIGTERM && target.pid == 7`, "signals [1 15] target [] sender [] comms [] kinds generate,deliver,exit,pending,disposition"},
		{`sig == SIGHUP || target.pid == 7`, "signals [] target [] sender [] comms [] kinds generate,deliver,exit,pending,disposition"},
		{`!(sig == SIGHUP)`, "signals [] target [] sender [] comms [] kinds all"},
		{`sig == SIGHUP && sig == SIGTERM`, "signals [] target [] sender [] comms [] kinds generate,deliver,exit,pending,disposition"},
		{`target.pid in [3, 1, 2] && sender.pid == 9`, "signals [] target [1 2 3] sender [9] comms [] kinds generate"},
		{`target.comm == "a" && sender.comm in ["b", "c"]`, "signals [] target [] sender [] comms [a] kinds generate"},
		{`target.comm == "a" || sender.comm == "b"`, "signals [] target [] sender [] comms [a b] kinds generate,deliver,exit,pending,disposition"},
		{`target.thread_comm == "a"`, "signals [] target [] sender [] comms [] kinds generate,deliver,exit,pending,disposition"},
		{`target.comm in ["", "a"]`, "signals [] target [] sender [] comms [] kinds generate,deliver,exit,pending,disposition"},
		{`type != "deliver" && type != "pending"`, "signals [] target [] sender [] comms [] kinds generate,exit,lost,count,gap,disposition"},
	} {
		f, err := Compile(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		p := f.Pushdown()
		got := fmt.Sprintf("signals %v target %v sender %v comms %v kinds %v", p.Signals, p.TargetPIDs, p.SenderPIDs, p.Comms, p.Kinds)
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.expr, got, tc.want)
		}
	}
}

func TestNarrow(t *testing.T) {
	for _, tc := range []struct {
		expr  string
		flags tracer.Options
		want  string
	}{
		{`sig == SIGHUP && target.comm == "x"`, tracer.Options{}, "sig [1] sender [] target [] any [] comms [x] nodeliver false noexit false"},
		{`sig in [SIGHUP, SIGTERM]`, tracer.Options{Signals: []int{15, 2}}, "sig [15] sender [] target [] any [] comms [] nodeliver false noexit false"},
		{`sig == SIGINT`, tracer.Options{Signals: []int{15}}, "sig [15] sender [] target [] any [] comms [] nodeliver false noexit false"},
		// -s HUP also passes the SIGKILLs of a group dying of SIGHUP.
		{`sig in [SIGKILL, SIGTERM]`, tracer.Options{Signals: []int{1, 15}}, "sig [1 15] sender [] target [] any [] comms [] nodeliver false noexit false"},
		{`sender.pid == 5`, tracer.Options{}, "sig [] sender [] target [] any [5] comms [] nodeliver true noexit true"},
		{`sender.pid == 5`, tracer.Options{SenderPIDs: []uint32{5, 6}}, "sig [] sender [5] target [] any [] comms [] nodeliver true noexit true"},
		{`sender.pid == 5`, tracer.Options{AnyPIDs: []uint32{6}}, "sig [] sender [] target [] any [6] comms [] nodeliver true noexit true"},
		{`target.pid == 5`, tracer.Options{TargetPIDs: []uint32{6}}, "sig [] sender [] target [6] any [] comms [] nodeliver false noexit false"},
		{`target.comm == "x"`, tracer.Options{Comms: []string{"y"}}, "sig [] sender [] target [] any [] comms [y] nodeliver false noexit false"},
		{`type == "generate"`, tracer.Options{}, "sig [] sender [] target [] any [] comms [] nodeliver true noexit true"},
		{`type == "generate"`, tracer.Options{PendingAfter: time.Second}, "sig [] sender [] target [] any [] comms [] nodeliver false noexit true"},
		// Exits end what is pending for the process that died.
		{`type == "pending"`, tracer.Options{PendingAfter: time.Second}, "sig [] sender [] target [] any [] comms [] nodeliver false noexit false"},
		{`type == "exit"`, tracer.Options{}, "sig [] sender [] target [] any [] comms [] nodeliver true noexit false"},
		{`type == "deliver"`, tracer.Options{}, "sig [] sender [] target [] any [] comms [] nodeliver false noexit true"},
	} {
		f, err := Compile(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		o := tc.flags
		f.Narrow(&o)
		got := fmt.Sprintf("sig %v sender %v target %v any %v comms %v nodeliver %v noexit %v", o.Signals, o.SenderPIDs, o.TargetPIDs, o.AnyPIDs, o.Comms, o.NoDeliver, o.NoExit)
		if got != tc.want {
			t.Errorf("%s with %+v:\n got %s\nwant %s", tc.expr, tc.flags, got, tc.want)
		}
	}
}

func TestKernelExact(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{`type == "generate"`, true},
		{`type == "generate" && sig == SIGHUP`, true},
		{`sig in [SIGTERM, SIGKILL] && target.pid == 42 && type == "generate"`, true},
		{`signal.name == "SIGUSR1"`, true},
		{`sig == SIGHUP || sig == SIGTERM`, false}, // an or: not decided whole
		{`sig != SIGHUP`, false},
		{`target.comm == "nginx"`, false}, // the kernel's comm filter is sender OR target
		{`sender.pid == 1`, false},        // pushed as either pid
		{`type == "generate" && verdict == "fatal"`, false},
		{`not (sig == SIGHUP)`, false},
	} {
		f, err := Compile(tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if got := f.KernelExact(); got != tc.want {
			t.Errorf("%s: KernelExact %v, want %v", tc.src, got, tc.want)
		}
	}
}

func TestCovers(t *testing.T) {
	f, err := Compile(`sig == SIGHUP && target.pid == 7 && type == "generate"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    tracer.Options
		want bool
	}{
		{"no flags", tracer.Options{}, true},
		{"-s TERM: nothing in common, left as it was", tracer.Options{Signals: []int{15}}, false},
		{"--target-pid 8: left as it was", tracer.Options{TargetPIDs: []uint32{8}}, false},
		{"-s HUP,TERM", tracer.Options{Signals: []int{1, 15}}, true},
	} {
		o := tc.o
		f.Narrow(&o)
		if got := f.Covers(&o); got != tc.want {
			t.Errorf("%s: Covers %v after Narrow (%+v), want %v", tc.name, got, o, tc.want)
		}
	}
}
