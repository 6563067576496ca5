package tracer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/signals"
)

// Raw samples are laid out with encoding/binary (packed, native byte
// order), not by casting the Go structs: the C records have no holes, so
// the packed form is exactly what the BPF side writes, and the test checks
// the decoder's unsafe view against it rather than against itself.

// sampleComm is a NUL-padded TASK_COMM_LEN comm as the kernel keeps it.
func sampleComm(s string) (c [16]int8) {
	for i := 0; i < len(s) && i < 15; i++ {
		c[i] = int8(s[i])
	}
	return c
}

func sampleArgv(s string) (a [256]int8, n uint16) {
	for i := 0; i < len(s) && i < 256; i++ {
		a[i] = int8(s[i])
	}
	return a, uint16(min(len(s), 256))
}

// fullPadding pads struct event_full (event + sender_detail) to 8 bytes.
var fullPadding = (8 - (eventSize+detailSize)%8) % 8

// rawSample encodes a record as the ring buffer hands it over, in storage
// that is 8-byte aligned like a ring-buffer sample. trim shortens it.
func rawSample(t testing.TB, ev sigtraceEvent, d *sigtraceSenderDetail, trim int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.NativeEndian, &ev); err != nil {
		t.Fatal(err)
	}
	// Packed size == in-memory size: the record has no holes, so the
	// decoder's cast reads what the kernel wrote.
	if buf.Len() != eventSize {
		t.Fatalf("struct event packs to %d bytes but is %d in memory: it has holes", buf.Len(), eventSize)
	}
	if d != nil {
		if err := binary.Write(&buf, binary.NativeEndian, d); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != eventSize+detailSize {
			t.Fatalf("struct sender_detail packs to %d bytes but is %d in memory: it has holes", buf.Len()-eventSize, detailSize)
		}
		// struct event_full is padded to its 8-byte alignment.
		buf.Write(make([]byte, fullPadding))
	}
	n := buf.Len() - trim
	words := make([]uint64, (n+7)/8+1)
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)[:n]
	copy(raw, buf.Bytes())
	return raw
}

const (
	fGroup      = uint32(sigtraceEventFlagsF_GROUP)
	fBlocked    = uint32(sigtraceEventFlagsF_BLOCKED)
	fNoInfo     = uint32(sigtraceEventFlagsF_INFO_NOINFO)
	fPriv       = uint32(sigtraceEventFlagsF_INFO_PRIV)
	fUnkillable = uint32(sigtraceEventFlagsF_UNKILLABLE)
	fTraced     = uint32(sigtraceEventFlagsF_TRACED)
	fSigWait    = uint32(sigtraceEventFlagsF_SIGWAIT)
	fKThread    = uint32(sigtraceEventFlagsF_SENDER_KTHREAD)
	fDetail     = uint32(sigtraceEventFlagsF_DETAIL)
	fArgvTrunc  = uint32(sigtraceEventFlagsF_ARGV_TRUNC)
	fGroupExit  = uint32(sigtraceEventFlagsF_GROUP_EXIT)
)

// The flag values are part of the record format: a renumbering in
// sigtrace.h must show up here.
func TestRecordFlagValues(t *testing.T) {
	for name, c := range map[string]struct{ got, want uint32 }{
		"F_GROUP": {fGroup, 1}, "F_BLOCKED": {fBlocked, 2}, "F_INFO_NOINFO": {fNoInfo, 4}, "F_INFO_PRIV": {fPriv, 8},
		"F_UNKILLABLE": {fUnkillable, 16}, "F_TRACED": {fTraced, 32}, "F_SIGWAIT": {fSigWait, 64},
		"F_SENDER_KTHREAD": {fKThread, 128}, "F_DETAIL": {fDetail, 256}, "F_ARGV_TRUNC": {fArgvTrunc, 512},
		"F_GROUP_EXIT": {fGroupExit, 1024}, "F_DETAIL_SAME": {uint32(sigtraceEventFlagsF_DETAIL_SAME), 8192},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", name, c.got, c.want)
		}
	}
	if sigtraceEventTypeEV_GENERATE != 1 || sigtraceEventTypeEV_DELIVER != 2 {
		t.Errorf("event types renumbered")
	}
}

const sampleTs = 12_345_678_901 // ns since boot

// pkillEvent is the canonical incident: logrotate's postrotate pkill -HUP
// kills a daemon that has no SIGHUP handler.
func pkillEvent() (sigtraceEvent, sigtraceSenderDetail) {
	ev := sigtraceEvent{
		TsNs: sampleTs, Type: uint32(sigtraceEventTypeEV_GENERATE),
		Sig: 1, Code: 0, Result: 0, Flags: fGroup | fDetail,
		SiPid: 5001, SiUid: 0,
		SenderPid: 5001, SenderTid: 5001, SenderUid: 0,
		TargetPid: 3003, TargetTid: 3003, TargetUid: 998,
		SenderComm: sampleComm("pkill"), TargetComm: sampleComm("logdeviced"),
	}
	var d sigtraceSenderDetail
	for i, a := range []struct {
		pid  uint32
		comm string
	}{{5000, "sh"}, {4990, "nightlyjob"}, {800, "cron"}, {1, "systemd"}} {
		d.Ancestry[i] = sigtraceAncestor{Pid: a.pid, Comm: sampleComm(a.comm)}
		d.AncestryLen++
	}
	d.Argv, d.ArgvLen = sampleArgv("pkill\x00-HUP\x00-x\x00logdeviced\x00")
	return ev, d
}

func anc(pid uint32, comm string) Ancestor {
	a := Ancestor{PID: pid}
	copy(a.Comm[:], comm)
	return a
}

func comm16(s string) (c [16]byte) {
	copy(c[:], s)
	return c
}

// comparable strips what Decode is free to lay out as it likes (its
// backing arrays, the time's location) so two Events compare by value.
func comparable(ev Event) Event {
	ev.Time = time.Time{}
	ev.Generate.DetailID = 0 // TestDecodeDetailSame
	if len(ev.Generate.Sender.Ancestry) == 0 {
		ev.Generate.Sender.Ancestry = nil
	}
	if len(ev.Generate.Sender.Argv) == 0 {
		ev.Generate.Sender.Argv = nil
	}
	if len(ev.Target.Ancestry) == 0 {
		ev.Target.Ancestry = nil
	}
	if len(ev.Target.Argv) == 0 {
		ev.Target.Argv = nil
	}
	return ev
}

// eventDiff lists the fields in which two Events differ.
func eventDiff(got, want Event) []string {
	var out []string
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := 0; i < g.NumField(); i++ {
		f := g.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			out = append(out, fmt.Sprintf("%s = %+v, want %+v", f.Name, g.Field(i).Interface(), w.Field(i).Interface()))
		}
	}
	return out
}

func TestDecode(t *testing.T) {
	dec := NewDecoder()
	wantTime := dec.BootTime().Add(sampleTs)

	pk, pkd := pkillEvent()

	truncArgv := strings.Repeat("x", 250) + "\x00yyyyyyyy" // 259 bytes: cut at 256
	tr, trd := pkillEvent()
	tr.Flags |= fArgvTrunc
	trd.Argv, trd.ArgvLen = sampleArgv(truncArgv)

	corrupt, corruptd := pkillEvent()
	corruptd.AncestryLen = 200 // more than the array holds
	corruptd.ArgvLen = 1000

	segv := sigtraceEvent{
		TsNs: sampleTs, Type: uint32(sigtraceEventTypeEV_GENERATE),
		Sig: 11, Code: 1, Flags: 0,
		SenderPid: 6000, SenderTid: 6001, SenderUid: 1000, SenderComm: sampleComm("crashy"),
		TargetPid: 6000, TargetTid: 6001, TargetUid: 1000, TargetComm: sampleComm("crashy"),
	}
	// A kernel signal whose record carries detail anyway: it is not
	// attributed to current.
	segvDetail, segvDetaild := segv, pkd
	segvDetail.Flags |= fDetail

	handled := pk
	handled.Flags = fGroup
	handled.Handler = 0x55d0c0de1234
	handled.SaFlags = 0x14000004 // SA_RESTORER|SA_RESTART|SA_SIGINFO

	blocked := pk
	blocked.Sig = 15
	blocked.Flags = fGroup | fBlocked | fTraced

	sigwait := pk
	sigwait.Sig = 10
	sigwait.Code = -1 // SI_QUEUE
	sigwait.Flags = fGroup | fSigWait

	nsInit := pk
	nsInit.Sig = 15
	nsInit.Result = 1
	nsInit.Flags = fGroup | fUnkillable

	pending := pk
	pending.Result = 2
	pending.Flags = fGroup

	overflow := pk
	overflow.Sig = 40
	overflow.Code = -1
	overflow.Result = 3
	overflow.Flags = fGroup

	pipe := sigtraceEvent{
		TsNs: sampleTs, Type: uint32(sigtraceEventTypeEV_GENERATE),
		Sig: 13, Code: 0, Flags: fNoInfo, SiPid: 7000,
		SenderPid: 7000, SenderTid: 7000, SenderComm: sampleComm("yes"),
		TargetPid: 7000, TargetTid: 7000, TargetComm: sampleComm("yes"),
	}
	priv := pk
	priv.Sig = 9
	priv.Code = 0x80
	priv.Flags = fGroup | fPriv
	kthread := pk
	kthread.Sig = 9
	kthread.Flags = fGroup | fNoInfo | fKThread
	kthread.SenderComm = sampleComm("kworker/0:1")

	thread := pk
	thread.Sig = 10
	thread.Code = -6 // SI_TKILL
	thread.Flags = fDetail
	thread.TargetTid = 3010

	deliver := sigtraceEvent{
		TsNs: sampleTs, Type: uint32(sigtraceEventTypeEV_DELIVER),
		Sig: 10, Code: -6, SiPid: 5001,
		Handler: 0x401136, SaFlags: 0x10000004,
		TargetPid: 3003, TargetTid: 3010, TargetUid: 998, TargetComm: sampleComm("logdeviced"),
	}
	deliverExit := func(code int32) sigtraceEvent {
		e := deliver
		e.Sig, e.Code, e.Handler, e.SaFlags = 9, 0, 0, 0
		e.Flags = fNoInfo | fGroupExit
		e.ExitCode = code
		return e
	}
	execKill := deliverExit(0)
	execKill.Flags = fNoInfo | uint32(sigtraceEventFlagsF_KILL_EXEC)
	coreKill := deliverExit(11)
	coreKill.Flags |= uint32(sigtraceEventFlagsF_KILL_COREDUMP)
	sentKill := deliverExit(9)
	sentKill.Flags = fGroupExit
	namedThread := deliver
	namedThread.TargetThreadComm = sampleComm("rs:main Q:Reg")
	oom := priv
	oom.Flags |= uint32(sigtraceEventFlagsF_KK_OOM)
	rlimitCPU := priv
	rlimitCPU.Flags |= uint32(sigtraceEventFlagsF_KK_RLIMIT_CPU)
	pidns := priv
	pidns.Flags |= uint32(sigtraceEventFlagsF_KK_EXITING)
	exiting := pk
	exiting.Sig = 15
	exiting.Result = 1
	exiting.Flags = fGroup | uint32(sigtraceEventFlagsF_TARGET_EXITING)
	sendSyscall := func(nr int, arg int64) sigtraceEvent {
		e := pk
		e.Flags = fGroup | uint32(sigtraceEventFlagsF_SEND_SYSCALL)
		e.SendNr, e.SendArg, e.Pgid = int32(nr), arg, 777
		return e
	}
	killPgrp := sendSyscall(unix.SYS_KILL, -4242)
	killOwn := sendSyscall(unix.SYS_KILL, 0)
	killAll := sendSyscall(unix.SYS_KILL, -1)
	tgkillNeg := sendSyscall(unix.SYS_TGKILL, -5)

	pkSender := Process{PID: 5001, TID: 5001, UID: 0, HasUID: true, Comm: comm16("pkill"),
		Argv:     []byte("pkill\x00-HUP\x00-x\x00logdeviced\x00"),
		Ancestry: []Ancestor{anc(5000, "sh"), anc(4990, "nightlyjob"), anc(800, "cron"), anc(1, "systemd")}}
	daemon := Process{PID: 3003, TID: 3003, UID: 998, HasUID: true, Comm: comm16("logdeviced")}
	fatalUnprepared := Verdict{Kind: VerdictFatal, Fatal: true, Unprepared: true}

	with := func(p Process, f func(*Process)) Process { f(&p); return p }

	for _, tc := range []struct {
		name string
		raw  []byte
		want Event
	}{
		{"generate with detail: pkill -HUP", rawSample(t, pk, &pkd, 0), Event{
			Type:   TypeGenerate,
			Sig:    1,
			Code:   0,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:    From{Sender: pkSender},
				Result:  ResultDelivered,
				Setup:   Setup{Disposition: DispDefault, DefaultAction: signals.Terminate},
				Verdict: fatalUnprepared,
			},
		}},
		{"argv truncated", rawSample(t, tr, &trd, 0), Event{
			Type:   TypeGenerate,
			Sig:    1,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:    From{Sender: with(pkSender, func(p *Process) { p.Argv = []byte(truncArgv[:256]) }), ArgvTruncated: true},
				Setup:   Setup{DefaultAction: signals.Terminate},
				Verdict: fatalUnprepared,
			},
		}},
		{"lengths past the arrays are clamped", rawSample(t, corrupt, &corruptd, 0), Event{
			Type:   TypeGenerate,
			Sig:    1,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From: From{Sender: with(pkSender, func(p *Process) {
					p.Argv = make([]byte, 256)
					copy(p.Argv, "pkill\x00-HUP\x00-x\x00logdeviced\x00")
					p.Ancestry = make([]Ancestor, 8)
					copy(p.Ancestry, pkSender.Ancestry)
				})},
				Setup:   Setup{DefaultAction: signals.Terminate},
				Verdict: fatalUnprepared,
			},
		}},
		{"kernel origin: SIGSEGV SEGV_MAPERR", rawSample(t, segv, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    11,
			Code:   1,
			Target: Process{PID: 6000, TID: 6001, UID: 1000, HasUID: true, Comm: comm16("crashy")},
			Scope:  ScopeThread,
			Generate: Generate{
				From:    From{KernelSender: true, KernelReason: "invalid memory access: address not mapped"},
				Setup:   Setup{DefaultAction: signals.Core},
				Verdict: fatalUnprepared,
			},
		}},
		{"kernel origin ignores detail", rawSample(t, segvDetail, &segvDetaild, 0), Event{
			Type:   TypeGenerate,
			Sig:    11,
			Code:   1,
			Target: Process{PID: 6000, TID: 6001, UID: 1000, HasUID: true, Comm: comm16("crashy")},
			Scope:  ScopeThread,
			Generate: Generate{
				From:    From{KernelSender: true, KernelReason: "invalid memory access: address not mapped"},
				Setup:   Setup{DefaultAction: signals.Core},
				Verdict: fatalUnprepared,
			},
		}},
		{"handler", rawSample(t, handled, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    1,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From: From{Sender: with(pkSender, func(p *Process) { p.Argv, p.Ancestry = nil, nil })},
				Setup: Setup{
					Disposition:   DispHandler,
					Handler:       0x55d0c0de1234,
					SAFlags:       0x14000004,
					DefaultAction: signals.Terminate,
				},
				Verdict: Verdict{Kind: VerdictHandled},
			},
		}},
		{"blocked and traced", rawSample(t, blocked, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    15,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:    From{Sender: with(pkSender, func(p *Process) { p.Argv, p.Ancestry = nil, nil })},
				Blocked: true,
				Traced:  true,
				Setup:   Setup{DefaultAction: signals.Terminate},
				Verdict: Verdict{Kind: VerdictBlocked, FatalWhenUnblocked: true, WhenUnblocked: UnblockedTerminate},
			},
		}},
		{"sigwait, SI_QUEUE", rawSample(t, sigwait, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    10,
			Code:   -1,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:    From{Sender: with(pkSender, func(p *Process) { p.Argv, p.Ancestry = nil, nil })},
				SigWait: true,
				Setup:   Setup{DefaultAction: signals.Terminate},
				Verdict: Verdict{Kind: VerdictHandled},
			},
		}},
		{"pid namespace init: result ignored", rawSample(t, nsInit, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    15,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:       From{Sender: with(pkSender, func(p *Process) { p.Argv, p.Ancestry = nil, nil })},
				Result:     ResultIgnored,
				Unkillable: true,
				Setup:      Setup{DefaultAction: signals.Terminate},
				Verdict:    Verdict{Kind: VerdictIgnored},
			},
		}},
		{"already pending: merged", rawSample(t, pending, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    1,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:    From{Sender: with(pkSender, func(p *Process) { p.Argv, p.Ancestry = nil, nil })},
				Result:  ResultAlreadyPending,
				Setup:   Setup{DefaultAction: signals.Terminate},
				Verdict: Verdict{Kind: VerdictMerged},
			},
		}},
		{"overflow: dropped", rawSample(t, overflow, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    40,
			Code:   -1,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:    From{Sender: with(pkSender, func(p *Process) { p.Argv, p.Ancestry = nil, nil })},
				Result:  ResultOverflow,
				Setup:   Setup{DefaultAction: signals.Terminate},
				Verdict: Verdict{Kind: VerdictDropped},
			},
		}},
		{"SIGPIPE from a write: NOINFO, thread, self", rawSample(t, pipe, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    13,
			Target: Process{PID: 7000, TID: 7000, HasUID: true, Comm: comm16("yes")},
			Scope:  ScopeThread,
			Generate: Generate{
				From:    From{KernelSender: true, KernelReason: "broken pipe: write with no reader"},
				Setup:   Setup{DefaultAction: signals.Terminate},
				Verdict: fatalUnprepared,
			},
		}},
		{"SEND_SIG_PRIV", rawSample(t, priv, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    9,
			Code:   0x80,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:    From{KernelSender: true, KernelReason: "killed by the kernel (reason unknown)"},
				Setup:   Setup{DefaultAction: signals.Terminate},
				Verdict: Verdict{Kind: VerdictFatal, Fatal: true},
			},
		}},
		{"kernel thread sender", rawSample(t, kthread, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    9,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:    From{KernelSender: true, KernelReason: "kernel thread"},
				Setup:   Setup{DefaultAction: signals.Terminate},
				Verdict: Verdict{Kind: VerdictFatal, Fatal: true},
			},
		}},
		{"thread-directed tgkill", rawSample(t, thread, &pkd, 0), Event{
			Type:   TypeGenerate,
			Sig:    10,
			Code:   -6,
			Target: with(daemon, func(p *Process) { p.TID = 3010 }),
			Scope:  ScopeThread,
			Generate: Generate{
				From:    From{Sender: pkSender},
				Setup:   Setup{DefaultAction: signals.Terminate},
				Verdict: fatalUnprepared,
			},
		}},
		{"deliver to a handler", rawSample(t, deliver, nil, 0), Event{
			Type:   TypeDeliver,
			Sig:    10,
			Code:   -6,
			Target: with(daemon, func(p *Process) { p.TID = 3010 }),
			Scope:  ScopeThread,
			Deliver: Deliver{Setup: Setup{
				Disposition:   DispHandler,
				Handler:       0x401136,
				SAFlags:       0x10000004,
				DefaultAction: signals.Terminate,
			}},
		}},
		{"deliver, group dying of SIGHUP", rawSample(t, deliverExit(1), nil, 0), Event{
			Type:   TypeDeliver,
			Sig:    9,
			Target: with(daemon, func(p *Process) { p.TID = 3010 }),
			Scope:  ScopeThread,
			Deliver: Deliver{
				Setup:      Setup{DefaultAction: signals.Terminate},
				GroupExit:  true,
				ExitSignal: 1,
				KillCause:  KillFatalSignal,
			},
		}},
		{"deliver, group dying of SIGSEGV with a core dump", rawSample(t, deliverExit(0x8b), nil, 0), Event{
			Type:   TypeDeliver,
			Sig:    9,
			Target: with(daemon, func(p *Process) { p.TID = 3010 }),
			Scope:  ScopeThread,
			Deliver: Deliver{
				Setup:      Setup{DefaultAction: signals.Terminate},
				GroupExit:  true,
				ExitSignal: 11,
				CoreDumped: true,
				KillCause:  KillFatalSignal,
			},
		}},
		// group_exit_code is a wait status: bit 7 is "core dumped",
		// whatever the signal.
		{"deliver, exit code 0x81", rawSample(t, deliverExit(0x81), nil, 0), Event{
			Type:   TypeDeliver,
			Sig:    9,
			Target: with(daemon, func(p *Process) { p.TID = 3010 }),
			Scope:  ScopeThread,
			Deliver: Deliver{
				Setup:      Setup{DefaultAction: signals.Terminate},
				GroupExit:  true,
				ExitSignal: 1,
				CoreDumped: true,
				KillCause:  KillFatalSignal,
			},
		}},
		// exit_group(3) in another thread: group_exit_code is 3<<8 and
		// the other threads take an internal SIGKILL. Nobody dies of a
		// signal.
		{"deliver, group calling exit(3)", rawSample(t, deliverExit(3<<8), nil, 0), Event{
			Type:    TypeDeliver,
			Sig:     9,
			Target:  with(daemon, func(p *Process) { p.TID = 3010 }),
			Scope:   ScopeThread,
			Deliver: Deliver{Setup: Setup{DefaultAction: signals.Terminate}, KillCause: KillExitGroup},
		}},
		{"deliver, group calling exit(0)", rawSample(t, deliverExit(0), nil, 0), Event{
			Type:    TypeDeliver,
			Sig:     9,
			Target:  with(daemon, func(p *Process) { p.TID = 3010 }),
			Scope:   ScopeThread,
			Deliver: Deliver{Setup: Setup{DefaultAction: signals.Terminate}, KillCause: KillExitGroup},
		}},
		{"deliver, another thread execs", rawSample(t, execKill, nil, 0), Event{
			Type:    TypeDeliver,
			Sig:     9,
			Target:  with(daemon, func(p *Process) { p.TID = 3010 }),
			Scope:   ScopeThread,
			Deliver: Deliver{Setup: Setup{DefaultAction: signals.Terminate}, KillCause: KillExec},
		}},
		{"deliver, group dumps core of SIGSEGV", rawSample(t, coreKill, nil, 0), Event{
			Type:   TypeDeliver,
			Sig:    9,
			Target: with(daemon, func(p *Process) { p.TID = 3010 }),
			Scope:  ScopeThread,
			Deliver: Deliver{
				Setup:      Setup{DefaultAction: signals.Terminate},
				GroupExit:  true,
				ExitSignal: 11,
				KillCause:  KillCoredump,
			},
		}},
		// A SIGKILL that someone sent (it has a siginfo) has no cause of
		// the kernel's own, even while the group exits.
		{"deliver, a sent SIGKILL", rawSample(t, sentKill, nil, 0), Event{
			Type:   TypeDeliver,
			Sig:    9,
			Target: with(daemon, func(p *Process) { p.TID = 3010 }),
			Scope:  ScopeThread,
			Deliver: Deliver{
				Setup:      Setup{DefaultAction: signals.Terminate},
				GroupExit:  true,
				ExitSignal: 9,
			},
		}},
		{"deliver to a named thread", rawSample(t, namedThread, nil, 0), Event{
			Type:   TypeDeliver,
			Sig:    10,
			Code:   -6,
			Scope:  ScopeThread,
			Target: with(daemon, func(p *Process) { p.TID = 3010; p.ThreadComm = comm16("rs:main Q:Reg") }),
			Deliver: Deliver{Setup: Setup{
				Disposition:   DispHandler,
				Handler:       0x401136,
				SAFlags:       0x10000004,
				DefaultAction: signals.Terminate,
			}},
		}},
		{"SI_KERNEL SIGKILL from the OOM killer", rawSample(t, oom, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    9,
			Code:   0x80,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:    From{KernelSender: true, KernelReason: "OOM killer"},
				Setup:   Setup{DefaultAction: signals.Terminate},
				Verdict: Verdict{Kind: VerdictFatal, Fatal: true},
			},
		}},
		{"SI_KERNEL SIGKILL at the hard RLIMIT_CPU", rawSample(t, rlimitCPU, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    9,
			Code:   0x80,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:    From{KernelSender: true, KernelReason: "CPU time hard limit reached (RLIMIT_CPU)"},
				Setup:   Setup{DefaultAction: signals.Terminate},
				Verdict: Verdict{Kind: VerdictFatal, Fatal: true},
			},
		}},
		{"SI_KERNEL SIGKILL from an exiting pid namespace init", rawSample(t, pidns, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    9,
			Code:   0x80,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:    From{KernelSender: true, KernelReason: "its pid namespace's init exited"},
				Setup:   Setup{DefaultAction: signals.Terminate},
				Verdict: Verdict{Kind: VerdictFatal, Fatal: true},
			},
		}},
		{"target already exiting", rawSample(t, exiting, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    15,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:          From{Sender: with(pkSender, func(p *Process) { p.Argv, p.Ancestry = nil, nil })},
				Result:        ResultIgnored,
				TargetExiting: true,
				Setup:         Setup{DefaultAction: signals.Terminate},
				Verdict:       Verdict{Kind: VerdictIgnored},
			},
		}},
		{"kill(-pgid)", rawSample(t, killPgrp, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    1,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:           From{Sender: with(pkSender, func(p *Process) { p.Argv, p.Ancestry = nil, nil })},
				Setup:          Setup{DefaultAction: signals.Terminate},
				Verdict:        fatalUnprepared,
				HasSendSyscall: true,
				SendSyscallNr:  unix.SYS_KILL,
				GroupSend:      GroupSendPgrp,
				GroupID:        4242,
			},
		}},
		{"kill(0): the sender's own group", rawSample(t, killOwn, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    1,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:           From{Sender: with(pkSender, func(p *Process) { p.Argv, p.Ancestry = nil, nil })},
				Setup:          Setup{DefaultAction: signals.Terminate},
				Verdict:        fatalUnprepared,
				HasSendSyscall: true,
				SendSyscallNr:  unix.SYS_KILL,
				GroupSend:      GroupSendPgrp,
				GroupID:        777,
			},
		}},
		{"kill(-1)", rawSample(t, killAll, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    1,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:           From{Sender: with(pkSender, func(p *Process) { p.Argv, p.Ancestry = nil, nil })},
				Setup:          Setup{DefaultAction: signals.Terminate},
				Verdict:        fatalUnprepared,
				HasSendSyscall: true,
				SendSyscallNr:  unix.SYS_KILL,
				GroupSend:      GroupSendBroadcast,
			},
		}},
		// tgkill's first argument is a tgid: never a group.
		{"tgkill(-5...) is no group send", rawSample(t, tgkillNeg, nil, 0), Event{
			Type:   TypeGenerate,
			Sig:    1,
			Target: daemon,
			Scope:  ScopeProcess,
			Generate: Generate{
				From:           From{Sender: with(pkSender, func(p *Process) { p.Argv, p.Ancestry = nil, nil })},
				Setup:          Setup{DefaultAction: signals.Terminate},
				Verdict:        fatalUnprepared,
				HasSendSyscall: true,
				SendSyscallNr:  unix.SYS_TGKILL,
			},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got Event
			if err := dec.Decode(tc.raw, &got); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !got.Time.Equal(wantTime) {
				t.Errorf("Time = %v, want %v (boot + %d ns)", got.Time, wantTime, sampleTs)
			}
			for _, d := range eventDiff(comparable(got), comparable(tc.want)) {
				t.Error(d)
			}
		})
	}
}

func TestDecodeArgvStrings(t *testing.T) {
	pk, pkd := pkillEvent()
	var ev Event
	if err := NewDecoder().Decode(rawSample(t, pk, &pkd, 0), &ev); err != nil {
		t.Fatal(err)
	}
	if got, want := ev.Generate.Sender.ArgvStrings(), []string{"pkill", "-HUP", "-x", "logdeviced"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ArgvStrings = %q, want %q", got, want)
	}
	if got := ev.Generate.Sender.CommString(); got != "pkill" {
		t.Errorf("CommString = %q", got)
	}
	if got := ev.Target.CommString(); got != "logdeviced" {
		t.Errorf("target CommString = %q", got)
	}
	// A full 15-byte comm has no NUL inside the first 15 bytes.
	full := comm16("abcdefghijklmnop")
	if got := string(CommBytes(full[:])); got != "abcdefghijklmnop" {
		t.Errorf("CommBytes of a 16-byte comm = %q", got)
	}
}

// Decode reuses the Event: nothing of a previous record may leak into the
// next one.
func TestDecodeReusesEvent(t *testing.T) {
	dec := NewDecoder()
	pk, pkd := pkillEvent()
	pk.Flags |= fBlocked | fArgvTrunc
	pk.Handler = 0x1234
	var ev Event
	if err := dec.Decode(rawSample(t, pk, &pkd, 0), &ev); err != nil {
		t.Fatal(err)
	}
	segv := sigtraceEvent{TsNs: 1, Type: uint32(sigtraceEventTypeEV_GENERATE), Sig: 11, Code: 1,
		TargetPid: 9, TargetTid: 9, TargetComm: sampleComm("x")}
	if err := dec.Decode(rawSample(t, segv, nil, 0), &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Generate.Sender.Argv) != 0 || len(ev.Generate.Sender.Ancestry) != 0 || ev.Generate.ArgvTruncated || ev.Generate.Blocked || ev.Generate.Handler != 0 || ev.Generate.Sender.PID != 0 {
		t.Errorf("state of the previous record leaked: %+v", comparable(ev))
	}
}

func TestDecodeShortAndUnknown(t *testing.T) {
	dec := NewDecoder()
	pk, pkd := pkillEvent()
	plain := pk
	plain.Flags = fGroup
	for _, tc := range []struct {
		name  string
		raw   []byte
		short bool
		msg   string
	}{
		{"empty", []byte{}, true, "0 bytes"},
		{"nil", nil, true, "0 bytes"},
		{"header short by one", rawSample(t, plain, nil, 1), true, fmt.Sprintf("%d bytes", eventSize-1)},
		{"detail announced, not there", rawSample(t, pk, nil, 0), true, "sender detail"},
		// Short by one byte of the detail itself (past its padding).
		{"detail short by one", rawSample(t, pk, &pkd, fullPadding+1), true, "sender detail"},
		{"unknown type 99", rawSample(t, sigtraceEvent{Type: 99, Sig: 1}, nil, 0), false, "unknown record type 99"},
		{"exit without room for its killer", aligned(rawSample(t, sigtraceEvent{Type: uint32(sigtraceEventTypeEV_EXIT), Sig: 1, ExitCode: 1, Flags: uint32(sigtraceEventFlagsF_KILLER)}, nil, 0), exitTail(0, 0)), true, "no room for its killer"},
		{"exit without its history fields", rawSample(t, sigtraceEvent{Type: uint32(sigtraceEventTypeEV_EXIT), Sig: 1, ExitCode: 1}, nil, 0), true, "short record"},
		{"unknown type 0", rawSample(t, sigtraceEvent{Type: 0, Sig: 1}, nil, 0), false, "unknown record type 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ev Event
			err := dec.Decode(tc.raw, &ev)
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", comparable(ev))
			}
			if errors.Is(err, ErrShortRecord) != tc.short {
				t.Errorf("errors.Is(%v, ErrShortRecord) = %v, want %v", err, !tc.short, tc.short)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
	// Exactly header + detail (no trailing padding) is enough.
	var ev Event
	if err := dec.Decode(rawSample(t, pk, &pkd, fullPadding), &ev); err != nil {
		t.Errorf("header + detail without padding: %v", err)
	}
}

func TestEventEnumStrings(t *testing.T) {
	for ty, want := range map[EventType]string{TypeGenerate: "generate", TypeDeliver: "deliver", TypeLost: "lost", EventType(0): "", EventType(9): "unknown"} {
		if got := ty.String(); got != want {
			t.Errorf("EventType(%d) = %q, want %q", ty, got, want)
		}
	}
	if ScopeProcess.String() != "process" || ScopeThread.String() != "thread" {
		t.Errorf("scope names: %q %q", ScopeProcess, ScopeThread)
	}
	for d, want := range map[Disposition]string{DispDefault: "default", DispIgnore: "ignore", DispHandler: "handler"} {
		if got := d.String(); got != want {
			t.Errorf("Disposition(%d) = %q, want %q", d, got, want)
		}
	}
}

// aligned joins raw parts into one 8-byte aligned sample, as the ring
// buffer hands them over.
// exitTail is an exit record's disposition history fields (since_ns,
// since_cause), between its event and its killer.
func exitTail(since uint64, cause uint32) []byte {
	b := binary.NativeEndian.AppendUint64(nil, since)
	b = binary.NativeEndian.AppendUint32(b, cause)
	return binary.NativeEndian.AppendUint32(b, 0)
}

func aligned(parts ...[]byte) []byte {
	var n int
	for _, p := range parts {
		n += len(p)
	}
	words := make([]uint64, (n+7)/8+1)
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)[:0]
	for _, p := range parts {
		raw = append(raw, p...)
	}
	return raw
}

// A sender's detail is sent once per CPU and then referred to with
// F_DETAIL_SAME (bpf/sigtrace.c, detail_sent): the decoder must give each
// such record the detail of the last full record from the same CPU, and
// never another CPU's or another sender's.
func TestDecodeDetailSame(t *testing.T) {
	fSame := uint32(sigtraceEventFlagsF_DETAIL_SAME)
	full := func(cpu, pid uint32, argv string) []byte {
		ev, d := pkillEvent()
		ev.Cpu, ev.SenderPid, ev.SenderTid = cpu, pid, pid
		d.Argv, d.ArgvLen = sampleArgv(argv)
		return rawSample(t, ev, &d, 0)
	}
	same := func(cpu, pid uint32) []byte {
		ev, _ := pkillEvent()
		ev.Cpu, ev.SenderPid, ev.SenderTid = cpu, pid, pid
		ev.Flags = ev.Flags&^fDetail | fSame
		return rawSample(t, ev, nil, 0)
	}
	// An exit whose killer record (a copy the kernel kept, from CPU 0)
	// carries its own detail: it must not replace CPU 0's.
	killer := func(argv string) []byte {
		ev, d := pkillEvent()
		ev.SenderPid = 7000
		d.Argv, d.ArgvLen = sampleArgv(argv)
		exit := sigtraceEvent{Type: uint32(sigtraceEventTypeEV_EXIT), Sig: 1, ExitCode: 1, Flags: uint32(sigtraceEventFlagsF_KILLER),
			TargetPid: 3003, TargetTid: 3003}
		return aligned(rawSample(t, exit, nil, 0), exitTail(0, 0), rawSample(t, ev, &d, 0))
	}

	dec := NewDecoder()
	ids := map[string]uint64{}
	for _, step := range []struct {
		name     string
		raw      []byte
		wantArgv string // "" : no detail
		sameID   string // must carry the DetailID recorded under this name
		newID    string // must carry a DetailID not seen before, recorded under this name
	}{
		{"full on cpu 0", full(0, 5001, "pkill\x00-HUP\x00a\x00"), "pkill\x00-HUP\x00a\x00", "", "A"},
		{"same on cpu 0", same(0, 5001), "pkill\x00-HUP\x00a\x00", "A", ""},
		{"same on cpu 1, which sent none", same(1, 5001), "", "", ""},
		{"full on cpu 1, another sender", full(1, 5002, "kill\x00-9\x00b\x00"), "kill\x00-9\x00b\x00", "", "B"},
		{"same on cpu 0 again", same(0, 5001), "pkill\x00-HUP\x00a\x00", "A", ""},
		{"same on cpu 0 from another sender", same(0, 5002), "", "", ""},
		{"exit with its killer's detail", killer("pkill\x00-KILL\x00c\x00"), "pkill\x00-KILL\x00c\x00", "", ""},
		{"same on cpu 0 after the exit", same(0, 5001), "pkill\x00-HUP\x00a\x00", "A", ""},
		{"new full on cpu 0", full(0, 5001, "pkill\x00-TERM\x00d\x00"), "pkill\x00-TERM\x00d\x00", "", "C"},
		{"same on cpu 0 follows it", same(0, 5001), "pkill\x00-TERM\x00d\x00", "C", ""},
		// Senders alternating on one CPU (a ping-pong) keep a slot each
		// (tgid % DETAIL_SLOTS): 5002 is in slot 2, 5001 in slot 1.
		{"full on cpu 0 from 5002", full(0, 5002, "pong\x00"), "pong\x00", "", "E"},
		{"same on cpu 0 from 5001", same(0, 5001), "pkill\x00-TERM\x00d\x00", "C", ""},
		{"same on cpu 0 from 5002", same(0, 5002), "pong\x00", "E", ""},
		// 5009 shares 5001's slot and takes it over.
		{"full on cpu 0 from 5009", full(0, 5009, "other\x00"), "other\x00", "", "F"},
		{"same on cpu 0 from 5001, slot taken", same(0, 5001), "", "", ""},
		{"a cpu beyond the table", full(4095, 5003, "x\x00"), "x\x00", "", "D"},
		{"same on it", same(4095, 5003), "x\x00", "D", ""},
	} {
		var ev Event
		if err := dec.Decode(step.raw, &ev); err != nil {
			t.Fatalf("%s: Decode: %v", step.name, err)
		}
		f := ev.From() // a generate's sender, an exit's killer
		if got := string(f.Sender.Argv); got != step.wantArgv {
			t.Errorf("%s: argv %q, want %q", step.name, got, step.wantArgv)
		}
		if step.wantArgv != "" && len(f.Sender.Ancestry) != 4 {
			t.Errorf("%s: %d ancestors, want 4", step.name, len(f.Sender.Ancestry))
		}
		switch {
		case step.sameID != "":
			if f.DetailID != ids[step.sameID] {
				t.Errorf("%s: DetailID %d, want %s's %d", step.name, f.DetailID, step.sameID, ids[step.sameID])
			}
		case step.newID != "":
			for name, id := range ids {
				if f.DetailID == id || f.DetailID == 0 {
					t.Errorf("%s: DetailID %d is not new (%s has it)", step.name, f.DetailID, name)
				}
			}
			ids[step.newID] = f.DetailID
		default:
			if f.DetailID != 0 {
				t.Errorf("%s: DetailID %d, want 0 (detail that may not be cached)", step.name, f.DetailID)
			}
		}
	}
}

// Events point into the decoder's per-CPU detail: a Clone must keep its
// own copy when the slot is overwritten.
func TestCloneOwnsDetail(t *testing.T) {
	dec := NewDecoder()
	ev1, d1 := pkillEvent()
	var ev Event
	if err := dec.Decode(rawSample(t, ev1, &d1, 0), &ev); err != nil {
		t.Fatal(err)
	}
	kept := ev.Clone()
	ev2, d2 := pkillEvent()
	d2.Argv, d2.ArgvLen = sampleArgv("other\x00")
	d2.Ancestry[0] = sigtraceAncestor{Pid: 42, Comm: sampleComm("other")}
	if err := dec.Decode(rawSample(t, ev2, &d2, 0), &ev); err != nil {
		t.Fatal(err)
	}
	if got := string(kept.Generate.Sender.Argv); got != "pkill\x00-HUP\x00-x\x00logdeviced\x00" {
		t.Errorf("clone's argv changed to %q", got)
	}
	if got := kept.Generate.Sender.Ancestry[0].PID; got != 5000 {
		t.Errorf("clone's first ancestor changed to %d", got)
	}
}

// Before 5.11, __set_task_comm() used strlcpy(), which leaves the old
// name's bytes after the NUL; the record copies comms as they are, so the
// decoder must cut them.
func TestDecodeCommStaleBytes(t *testing.T) {
	ev, d := pkillEvent()
	ev.TargetComm = sampleComm("cat\x00er.test")
	var got Event
	if err := NewDecoder().Decode(rawSample(t, ev, &d, 0), &got); err != nil {
		t.Fatal(err)
	}
	if want := [16]byte{'c', 'a', 't'}; got.Target.Comm != want {
		t.Errorf("target comm %q, want %q", got.Target.Comm, want)
	}
}

func TestCopyComm(t *testing.T) {
	for _, in := range []string{
		"", "a", "cat", "logdeviced", "exactly15bytes!", "sixteen-bytes-xx",
		"cat\x00er.test", "\x00stale", "1234567\x00abc", "12345678\x00abc", "123456789\x00ab",
		"\xff\xfe\x80\x01", "a\x01\x00\x01",
	} {
		var src [16]int8
		for i := 0; i < len(in) && i < 16; i++ {
			src[i] = int8(in[i])
		}
		// At most 15 bytes and a NUL, as the kernel keeps a comm.
		var want [16]byte
		for i := 0; i < len(in) && i < 15 && in[i] != 0; i++ {
			want[i] = in[i]
		}
		got := [16]byte{0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa}
		copyComm(&got, &src)
		if got != want {
			t.Errorf("copyComm(%q) = %q, want %q", in, got, want)
		}
	}
}
