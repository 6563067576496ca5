package output

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/goruntime"
	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tracer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run 'go test ./output -update' to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w []byte
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if !bytes.Equal(g, w) {
				t.Errorf("%s line %d:\n got: %q\nwant: %q", path, i+1, g, w)
			}
		}
		t.Errorf("%s differs (if the change is intended, rerun with -update and review the diff)", path)
	}
}

func comm(s string) (c [16]byte) {
	copy(c[:], s)
	return c
}

func ancestor(pid uint32, name string) tracer.Ancestor {
	return tracer.Ancestor{PID: pid, Comm: comm(name)}
}

// amd64Syscalls names the system call numbers the fixtures use as amd64
// numbers them, so the golden files and expectations hold on every
// architecture (arm64 numbers them otherwise and has no vfork).
var amd64Syscalls = map[int]string{0: "read", 3: "close", 58: "vfork", 62: "kill", 234: "tgkill"}

func init() {
	syscallName = func(nr int) string {
		if n, ok := amd64Syscalls[nr]; ok {
			return n
		}
		return "syscall_" + strconv.Itoa(nr)
	}
}

// baseTime is a fixed instant, in UTC so the golden files do not depend
// on the machine's zone.
var baseTime = time.Date(2026, 3, 14, 0, 0, 1, 123456789, time.UTC)

type namedEvent struct {
	name string
	ev   tracer.Event
}

// fixtures are representative events of every kind, built field by field
// as Decode would fill them: the one list the JSON and table goldens, the
// schema test and the registry's agreement test read. Each kind has at
// least one: generate (from a process, from the kernel, re-raises),
// deliver (to a handler, the default, SIG_IGN, an interrupted system
// call, the kernel's own SIGKILLs), exit (with a killer, from the kernel,
// through a re-raise, and with none seen), pending (every reason) and
// lost.
func fixtures() []namedEvent {
	at := func(ms int) time.Time { return baseTime.Add(time.Duration(ms) * time.Millisecond) }
	daemon := tracer.Process{PID: 3003, TID: 3003, UID: 998, HasUID: true, Comm: comm("logdeviced")}
	pkill := tracer.Process{
		PID: 5001, TID: 5001, UID: 0, HasUID: true, Comm: comm("pkill"),
		Argv:     []byte("pkill\x00-HUP\x00-x\x00logdeviced\x00"),
		Ancestry: []tracer.Ancestor{ancestor(5000, "sh"), ancestor(4990, "nightlyjob"), ancestor(800, "cron"), ancestor(1, "systemd")},
	}
	bash := tracer.Process{
		PID: 2100, TID: 2100, UID: 1000, HasUID: true, Comm: comm("bash"),
		Argv:     []byte("-bash\x00"),
		Ancestry: []tracer.Ancestor{ancestor(2099, "sshd"), ancestor(900, "sshd"), ancestor(1, "systemd")},
	}
	kill := tracer.Process{
		PID: 2200, TID: 2200, UID: 1000, HasUID: true, Comm: comm("kill"),
		Argv:     []byte("kill\x00-USR1\x003003\x00"),
		Ancestry: []tracer.Ancestor{ancestor(2100, "bash"), ancestor(2099, "sshd")},
	}
	deep := tracer.Process{
		PID: 6100, TID: 6100, UID: 0, HasUID: true, Comm: comm("svc-restart"),
		Argv: []byte("svc-restart\x00--all\x00--reason\x00" + string(bytes.Repeat([]byte("x"), 200))),
		Ancestry: []tracer.Ancestor{ancestor(6099, "bash"), ancestor(6098, "make"), ancestor(6097, "ansible"),
			ancestor(6096, "python3"), ancestor(6095, "sshd"), ancestor(6094, "sshd"), ancestor(900, "sshd"), ancestor(1, "systemd")},
	}
	crashy := tracer.Process{PID: 6000, TID: 6001, UID: 1000, HasUID: true, Comm: comm("crashy")}
	thread := daemon
	thread.TID = 3010
	fatalUnprepared := tracer.Verdict{Kind: tracer.VerdictFatal, Fatal: true, Unprepared: true}

	gen := func(ms, sig int, code int32, sender tracer.Process, target tracer.Process) tracer.Event {
		return tracer.Event{
			Time:     at(ms),
			Type:     tracer.TypeGenerate,
			Sig:      sig,
			Code:     code,
			Target:   target,
			Scope:    tracer.ScopeProcess,
			Generate: tracer.Generate{From: tracer.From{Sender: sender}, Setup: tracer.Setup{DefaultAction: signals.DefaultAction(sig)}},
		}
	}

	var out []namedEvent
	add := func(name string, ev tracer.Event) { out = append(out, namedEvent{name, ev}) }

	ev := gen(0, 1, 0, pkill, daemon)
	ev.Generate.Verdict = fatalUnprepared
	add("pkill from a cron job kills an unprepared daemon", ev)

	ev = gen(1, 11, 1, tracer.Process{}, crashy)
	ev.Generate.KernelSender, ev.Generate.KernelReason = true, "invalid memory access: address not mapped"
	ev.Scope = tracer.ScopeThread
	ev.Generate.Verdict = fatalUnprepared
	add("kernel SIGSEGV SEGV_MAPERR", ev)

	ev = gen(2, 9, 0, bash, daemon)
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictFatal, Fatal: true}
	add("SIGKILL: fatal, not unprepared", ev)

	ev = gen(3, 10, 0, kill, daemon)
	ev.Generate.Disposition, ev.Generate.Handler, ev.Generate.SAFlags = tracer.DispHandler, 0x55d0c0de1234, 0x14000004
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictHandled}
	add("handled by a handler", ev)

	ev = gen(4, 15, 0, bash, daemon)
	ev.Generate.Blocked = true
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictBlocked, FatalWhenUnblocked: true, WhenUnblocked: tracer.UnblockedTerminate}
	add("blocked, fatal when unblocked", ev)

	ev = gen(5, 15, 0, bash, daemon)
	ev.Generate.Blocked, ev.Generate.Result = true, tracer.ResultAlreadyPending
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictMerged}
	add("merged with a pending one", ev)

	ev = gen(6, 37, -1, kill, daemon)
	ev.Generate.Result = tracer.ResultOverflow
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictDropped}
	add("dropped: RT queue overflow", ev)

	ev = gen(7, 12, -6, kill, thread)
	ev.Scope = tracer.ScopeThread
	ev.Generate.Verdict = fatalUnprepared
	add("thread-directed, kills the whole process", ev)

	ev = gen(8, 15, 0, deep, daemon)
	ev.Generate.ArgvTruncated = true
	ev.Generate.Disposition, ev.Generate.Handler = tracer.DispHandler, 0x401136
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictHandled}
	add("deep ancestry, argv truncated", ev)

	ev = gen(9, 15, 0, bash, tracer.Process{PID: 4000, TID: 4000, UID: 0, HasUID: true, Comm: comm("init")})
	ev.Generate.Result, ev.Generate.Unkillable = tracer.ResultIgnored, true
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictIgnored}
	add("pid namespace init: ignored", ev)

	ev = gen(10, 18, 0, bash, daemon)
	ev.Generate.Result = tracer.ResultIgnored
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictContinue}
	add("SIGCONT continues", ev)

	ev = gen(11, 14, 0x80, tracer.Process{}, daemon)
	ev.Generate.KernelSender, ev.Generate.KernelReason = true, "timer expired (alarm/setitimer)"
	ev.Generate.Disposition, ev.Generate.Handler = tracer.DispIgnore, 1
	ev.Generate.Traced = true
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictIgnored}
	add("SIGALRM from the kernel, SIG_IGN, traced", ev)

	ev = gen(12, 10, -1, kill, daemon)
	ev.Generate.SigWait = true
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictHandled}
	add("sigwait", ev)

	add("deliver to a handler with SA_RESTART|SA_SIGINFO", tracer.Event{
		Time:   at(13),
		Type:   tracer.TypeDeliver,
		Sig:    10,
		Code:   0,
		Target: thread,
		Scope:  tracer.ScopeThread,
		Deliver: tracer.Deliver{Setup: tracer.Setup{
			Disposition:   tracer.DispHandler,
			Handler:       0x55d0c0de1234,
			SAFlags:       0x14000004,
			DefaultAction: signals.Terminate,
		}},
	})
	add("deliver to the default action", tracer.Event{
		Time:    at(14),
		Type:    tracer.TypeDeliver,
		Sig:     15,
		Code:    0,
		Target:  daemon,
		Scope:   tracer.ScopeThread,
		Deliver: tracer.Deliver{Setup: tracer.Setup{DefaultAction: signals.Terminate}},
	})
	add("deliver, group dying of SIGHUP", tracer.Event{
		Time:   at(15),
		Type:   tracer.TypeDeliver,
		Sig:    9,
		Code:   0,
		Target: thread,
		Scope:  tracer.ScopeThread,
		Deliver: tracer.Deliver{
			Setup:      tracer.Setup{DefaultAction: signals.Terminate},
			GroupExit:  true,
			ExitSignal: 1,
		},
	})
	add("deliver, group dying of SIGSEGV, core dumped", tracer.Event{
		Time:   at(16),
		Type:   tracer.TypeDeliver,
		Sig:    9,
		Code:   0,
		Target: crashy,
		Scope:  tracer.ScopeThread,
		Deliver: tracer.Deliver{
			Setup:      tracer.Setup{DefaultAction: signals.Terminate},
			GroupExit:  true,
			ExitSignal: 11,
			CoreDumped: true,
		},
	})
	add("lost", tracer.Event{Time: at(17), Type: tracer.TypeLost, Lost: tracer.Lost{Count: 42}})
	add("lost, mostly shed to keep room for deaths", tracer.Event{Time: at(17), Type: tracer.TypeLost, Lost: tracer.Lost{Count: 42, Shed: 40}})
	add("lost, some skipped by the kernel (its program already running on that CPU)", tracer.Event{Time: at(17), Type: tracer.TypeLost, Lost: tracer.Lost{Count: 5, Shed: 1, Missed: 3}})
	add("lost, all skipped by the kernel", tracer.Event{Time: at(17), Type: tracer.TypeLost, Lost: tracer.Lost{Count: 2, Missed: 2}})

	ev = gen(18, 20, 0, bash, daemon)
	ev.Generate.Blocked = true
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictBlocked, WhenUnblocked: tracer.UnblockedStop}
	add("blocked SIGTSTP, stops when unblocked", ev)

	ev = gen(19, 10, 0, kill, daemon)
	ev.Generate.Blocked = true
	ev.Generate.Disposition, ev.Generate.Handler, ev.Generate.SAFlags = tracer.DispHandler, 0x55d0c0de1234, 0x14000004
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictBlocked, WhenUnblocked: tracer.UnblockedHandler}
	add("blocked SIGUSR1, handled when unblocked", ev)

	ev = gen(20, 11, 0, kill, daemon)
	ev.Generate.Blocked = true
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictBlocked, FatalWhenUnblocked: true, WhenUnblocked: tracer.UnblockedCore}
	add("blocked SIGSEGV, fatal with a core when unblocked", ev)

	ev = gen(21, 18, 0, bash, daemon)
	ev.Generate.Blocked = true
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictBlocked, WhenUnblocked: tracer.UnblockedIgnore}
	add("blocked SIGCONT, resumed when sent", ev)

	add("pending at a vfork parent in D state", tracer.Event{
		Time:   at(22),
		Type:   tracer.TypePending,
		Sig:    10,
		Target: thread,
		Scope:  tracer.ScopeThread,
		Pending: tracer.Pending{
			Ns:     1500_000_000,
			Reason: tracer.PendingUninterruptible,
			Wait: &tracer.WaitSite{
				Stack:     []string{"kernel_clone", "__do_sys_vfork", "do_syscall_64", "entry_SYSCALL_64_after_hwframe"},
				InSyscall: true, SyscallNr: 58,
			},
		},
	})
	add("pending in D state, no stack file", tracer.Event{
		Time:   at(23),
		Type:   tracer.TypePending,
		Sig:    15,
		Target: daemon,
		Scope:  tracer.ScopeProcess,
		Pending: tracer.Pending{
			Ns:     2_000_000_000,
			Reason: tracer.PendingUninterruptible,
			Wait:   &tracer.WaitSite{StackErr: tracer.StackNoProcFile, InSyscall: true, SyscallNr: 3},
		},
	})
	add("pending blocked", tracer.Event{
		Time:    at(24),
		Type:    tracer.TypePending,
		Sig:     15,
		Target:  daemon,
		Scope:   tracer.ScopeProcess,
		Pending: tracer.Pending{Ns: 600_000_000, Reason: tracer.PendingBlocked, WhenUnblocked: tracer.UnblockedTerminate},
	})
	named := thread
	named.ThreadComm = comm("rs:main Q:Reg")
	add("deliver to a thread with a name of its own", tracer.Event{
		Time:   at(18),
		Type:   tracer.TypeDeliver,
		Sig:    1,
		Code:   0,
		Target: named,
		Scope:  tracer.ScopeThread,
		Deliver: tracer.Deliver{Setup: tracer.Setup{
			Disposition:   tracer.DispHandler,
			Handler:       0x55d0c0de1234,
			DefaultAction: signals.Terminate,
		}},
	})
	add("deliver, internal SIGKILL: exit_group", tracer.Event{
		Time:    at(19),
		Type:    tracer.TypeDeliver,
		Sig:     9,
		Target:  named,
		Scope:   tracer.ScopeThread,
		Deliver: tracer.Deliver{Setup: tracer.Setup{DefaultAction: signals.Terminate}, KillCause: tracer.KillExitGroup},
	})
	add("deliver, internal SIGKILL: exec", tracer.Event{
		Time:    at(20),
		Type:    tracer.TypeDeliver,
		Sig:     9,
		Target:  named,
		Scope:   tracer.ScopeThread,
		Deliver: tracer.Deliver{Setup: tracer.Setup{DefaultAction: signals.Terminate}, KillCause: tracer.KillExec},
	})
	add("deliver, internal SIGKILL: core dump of SIGSEGV", tracer.Event{
		Time:   at(21),
		Type:   tracer.TypeDeliver,
		Sig:    9,
		Target: crashy,
		Scope:  tracer.ScopeThread,
		Deliver: tracer.Deliver{
			Setup:      tracer.Setup{DefaultAction: signals.Terminate},
			GroupExit:  true,
			ExitSignal: 11,
			KillCause:  tracer.KillCoredump,
		},
	})

	hog := tracer.Process{PID: 7100, TID: 7100, UID: 0, HasUID: true, Comm: comm("memhog"),
		CgroupID: 4242, Cgroup: tracer.ParseCgroupPath("/system.slice/batch.service")}
	ev = gen(22, 9, 0x80, tracer.Process{}, hog)
	ev.Generate.KernelSender, ev.Generate.KernelReason = true, "OOM killer"
	ev.Generate.MemCgroup = "/system.slice"
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictFatal, Fatal: true}
	add("OOM kill in a memory cgroup", ev)
	add("exit of the OOM victim", tracer.Event{
		Time:   at(23),
		Type:   tracer.TypeExit,
		Sig:    9,
		Code:   0x80,
		Target: hog,
		Scope:  tracer.ScopeProcess,
		Exit: tracer.Exit{
			Setup:       tracer.Setup{DefaultAction: signals.Terminate},
			KillerKnown: true,
			Killer: tracer.From{
				KernelSender: true,
				KernelReason: "OOM killer",
				MemCgroup:    "/system.slice",
			},
		},
	})
	containerd := tracer.Process{PID: 7300, TID: 7300, UID: 0, HasUID: true, Comm: comm("runc:[2:INIT]"), CgroupID: 5151,
		Cgroup: tracer.ParseCgroupPath("/system.slice/docker-c819e38022b26c6e7656eb648a7019731095693aa0906a9289eab5a3d219df58.scope")}
	web := tracer.Process{PID: 7400, TID: 7400, UID: 33, HasUID: true, Comm: comm("nginx"), CgroupID: 6161,
		Cgroup: tracer.ParseCgroupPath("/system.slice/nginx.service")}
	ev = gen(23, 15, 0, containerd, web)
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictFatal, Fatal: true, Unprepared: true}
	add("SIGTERM from a container to a systemd unit", ev)

	ev = gen(24, 9, 0x80, tracer.Process{}, crashy)
	ev.Generate.KernelSender, ev.Generate.KernelReason = true, "CPU time hard limit reached (RLIMIT_CPU)"
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictFatal, Fatal: true}
	add("hard RLIMIT_CPU", ev)

	ev = gen(25, 15, 0, bash, daemon)
	ev.Generate.Result, ev.Generate.TargetExiting = tracer.ResultIgnored, true
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictIgnored}
	add("to a process already exiting", ev)

	ev = gen(26, 1, 0, kill, daemon)
	ev.Generate.HasSendSyscall, ev.Generate.SendSyscallNr, ev.Generate.GroupSend, ev.Generate.GroupID = true, 62, tracer.GroupSendPgrp, 3000
	ev.Generate.Verdict = fatalUnprepared
	add("kill -HUP -3000: a process group", ev)

	ev = gen(27, 15, 0, kill, daemon)
	ev.Generate.HasSendSyscall, ev.Generate.SendSyscallNr, ev.Generate.GroupSend = true, 62, tracer.GroupSendBroadcast
	ev.Generate.Disposition, ev.Generate.Handler = tracer.DispHandler, 0x401136
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictHandled}
	add("kill -TERM -1: every process", ev)

	worker := bash
	worker.ThreadComm = comm("worker-3")
	ev = gen(28, 10, -6, worker, thread)
	ev.Scope = tracer.ScopeThread
	ev.Generate.HasSendSyscall, ev.Generate.SendSyscallNr = true, 234
	ev.Generate.Disposition, ev.Generate.Handler = tracer.DispHandler, 0x401136
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictHandled}
	add("tgkill from a named thread", ev)

	goapp := tracer.Process{PID: 8100, TID: 8100, UID: 0, HasUID: true, Comm: comm("goapp")}
	ev = gen(30, 1, 0, pkill, goapp)
	ev.Generate.Disposition, ev.Generate.Handler, ev.Generate.SAFlags = tracer.DispHandler, 0x46e1a0, 0x1c000004
	ev.Generate.Go = tracer.GoRuntime{Met: true, Action: goruntime.Exit, MaskKnown: true}
	ev.Generate.Verdict = fatalUnprepared
	add("SIGHUP to a Go program without signal.Notify", ev)
	ev = gen(31, 10, 0, pkill, goapp)
	ev.Generate.Disposition, ev.Generate.Handler, ev.Generate.SAFlags = tracer.DispHandler, 0x46e1a0, 0x1c000004
	ev.Generate.Go = tracer.GoRuntime{Met: true, Action: goruntime.Discard}
	ev.Generate.Verdict = tracer.Verdict{Kind: tracer.VerdictHandled}
	add("SIGUSR1 to a Go program, mask unreadable", ev)

	add("exit: the process's name, the last thread's own", tracer.Event{
		Time:   at(29),
		Type:   tracer.TypeExit,
		Sig:    15,
		Target: named,
		Scope:  tracer.ScopeProcess,
		Exit: tracer.Exit{
			Setup:       tracer.Setup{DefaultAction: signals.Terminate},
			KillerKnown: true,
			Killer:      tracer.From{Sender: kill},
		},
	})

	add("deliver to a handler, read() interrupted: EINTR", tracer.Event{
		Time:   at(32),
		Type:   tracer.TypeDeliver,
		Sig:    10,
		Code:   0,
		Target: daemon,
		Scope:  tracer.ScopeThread,
		Deliver: tracer.Deliver{
			Setup: tracer.Setup{
				Disposition:   tracer.DispHandler,
				Handler:       0x55d0c0de1234,
				SAFlags:       0x04000004,
				DefaultAction: signals.Terminate,
			},
			HasSyscall:     true,
			SyscallNr:      0,
			SyscallOutcome: tracer.OutcomeEINTR,
			HasLatency:     true,
			LatencyNs:      41_250,
		},
	})
	add("deliver to SA_RESTART handler, read() restarts", tracer.Event{
		Time:   at(33),
		Type:   tracer.TypeDeliver,
		Sig:    10,
		Code:   -1,
		Target: daemon,
		Scope:  tracer.ScopeThread,
		Deliver: tracer.Deliver{
			Setup: tracer.Setup{
				Disposition:   tracer.DispHandler,
				Handler:       0x55d0c0de1234,
				SAFlags:       0x14000004,
				DefaultAction: signals.Terminate,
			},
			HasSyscall:     true,
			SyscallNr:      0,
			SyscallOutcome: tracer.OutcomeRestart,
			HasLatency:     true,
			LatencyNs:      2_500_000,
		},
	})
	add("deliver to SIG_IGN", tracer.Event{
		Time:   at(34),
		Type:   tracer.TypeDeliver,
		Sig:    13,
		Code:   0,
		Target: daemon,
		Scope:  tracer.ScopeThread,
		Deliver: tracer.Deliver{Setup: tracer.Setup{
			Disposition:   tracer.DispIgnore,
			Handler:       1,
			DefaultAction: signals.Terminate,
		}},
	})
	add("exit, killer not seen, core dumped", tracer.Event{
		Time:   at(35),
		Type:   tracer.TypeExit,
		Sig:    11,
		Target: crashy,
		Scope:  tracer.ScopeProcess,
		Exit:   tracer.Exit{CoreDumped: true},
	})
	add("pending at a stopped process", tracer.Event{
		Time:    at(36),
		Type:    tracer.TypePending,
		Sig:     10,
		Target:  daemon,
		Scope:   tracer.ScopeProcess,
		Pending: tracer.Pending{Ns: 3_000_000_000, Reason: tracer.PendingStopped},
	})
	add("pending at a traced thread", tracer.Event{
		Time:    at(37),
		Type:    tracer.TypePending,
		Sig:     15,
		Target:  thread,
		Scope:   tracer.ScopeThread,
		Pending: tracer.Pending{Ns: 750_000_000, Reason: tracer.PendingTraced},
	})
	add("pending, reason unknown", tracer.Event{
		Time:    at(38),
		Type:    tracer.TypePending,
		Sig:     1,
		Target:  daemon,
		Scope:   tracer.ScopeProcess,
		Pending: tracer.Pending{Ns: 1_000_000_000, Reason: tracer.PendingUnknown},
	})
	add("sigqueue with an unnamed code", tracer.Event{
		Time:   at(39),
		Type:   tracer.TypeGenerate,
		Sig:    10,
		Code:   -42,
		Target: daemon,
		Scope:  tracer.ScopeProcess,
		Generate: tracer.Generate{
			From: tracer.From{Sender: kill},
			Setup: tracer.Setup{
				Disposition:   tracer.DispHandler,
				Handler:       0x55d0c0de1234,
				DefaultAction: signals.Terminate,
			},
			Verdict: tracer.Verdict{Kind: tracer.VerdictHandled},
		},
	})

	cutNamed := deep
	cutNamed.TID, cutNamed.ThreadComm = 6102, comm("worker-1")
	cutNamed.CgroupID, cutNamed.Cgroup = 7171, tracer.ParseCgroupPath("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1f2e3d4c_5b6a_7980_a1b2_c3d4e5f60718.slice/cri-containerd-3dd15efbff4406c10bdd4d3a5bdf9a0ef3e28e8598cad6250d8fbb589c059af5.scope")
	goapp.CgroupID, goapp.Cgroup = 8181, tracer.ParseCgroupPath("/kubepods/besteffort/pod1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718/8f9081d15c116dc2d920110b65698e971053f5d26db951b5d2005587d055f4d9")
	add("exit, killed by a named thread whose argv was cut", tracer.Event{
		Time:   at(40),
		Type:   tracer.TypeExit,
		Sig:    15,
		Code:   -6,
		Target: daemon,
		Scope:  tracer.ScopeThread,
		Exit: tracer.Exit{
			Setup:       tracer.Setup{DefaultAction: signals.Terminate},
			KillerKnown: true,
			Killer:      tracer.From{Sender: cutNamed, ArgvTruncated: true},
		},
	})
	add("re-raise of a signal from a named thread whose argv was cut", tracer.Event{
		Time:   at(41),
		Type:   tracer.TypeGenerate,
		Sig:    2,
		Code:   signals.SITKill,
		Target: goapp,
		Scope:  tracer.ScopeThread,
		Generate: tracer.Generate{
			From:      tracer.From{Sender: goapp},
			Setup:     tracer.Setup{DefaultAction: signals.Terminate},
			Verdict:   tracer.Verdict{Kind: tracer.VerdictFatal, Fatal: true, Unprepared: true},
			ReraiseOf: &tracer.Original{Time: at(40), Code: signals.SIUser, From: tracer.From{Sender: cutNamed, ArgvTruncated: true}, Disposition: tracer.DispHandler, Handler: 0x46e1a0},
		},
	})

	add("count of a storm, summarised", tracer.Event{
		Time: at(42),
		Type: tracer.TypeCount,
		Count: tracer.Count{
			Keys: []tracer.CountValue{
				{Field: "sender.comm", Value: []byte(`"storm"`)},
				{Field: "target.pid", Value: []byte("3003")},
				{Field: "signal.name", Value: []byte(`"SIGUSR1"`)},
				{Field: "verdict", Value: []byte(`"ignored"`)},
			},
			N:           184467,
			IntervalEnd: at(42),
		},
	})
	add("count with a field the events did not carry", tracer.Event{
		Time: at(43),
		Type: tracer.TypeCount,
		Count: tracer.Count{
			Keys: []tracer.CountValue{{Field: "sender.comm"}, {Field: "fatal", Value: []byte("true")}},
			N:    2,
		},
	})
	add("gap in a recording", tracer.Event{
		Time: at(44),
		Type: tracer.TypeGap,
		Gap:  tracer.Gap{Count: 5120, From: at(30), To: at(44), Error: "no space left on device"},
	})

	change := func(ms, sig int, proc tracer.Process, cause tracer.Cause, from, to tracer.Setup) tracer.Event {
		from.DefaultAction, to.DefaultAction = signals.DefaultAction(sig), signals.DefaultAction(sig)
		return tracer.Event{
			Time: at(ms), Type: tracer.TypeDisposition, Sig: sig, Target: proc, Scope: tracer.ScopeProcess,
			Disposition: tracer.Change{Cause: cause, From: from, To: to,
				Fatal: to.Disposition == tracer.DispDefault && signals.DefaultAction(sig).Kills()},
		}
	}
	withArgv := daemon
	withArgv.Argv = []byte("/usr/sbin/logdeviced\x00--foreground\x00")
	withArgv.Ancestry = []tracer.Ancestor{ancestor(1, "systemd")}
	add("a daemon removes its SIGHUP handler", change(45, 1, withArgv, tracer.CauseSigaction,
		tracer.Setup{Disposition: tracer.DispHandler, Handler: 0x55d0c0de1234, SAFlags: 0x14000000}, tracer.Setup{}))
	add("an exec resets a shell's trap", change(46, 10, tracer.Process{PID: 4100, TID: 4100, UID: 0, HasUID: true, Comm: comm("true"),
		Ancestry: []tracer.Ancestor{ancestor(4000, "bash")}}, tracer.CauseExec, tracer.Setup{Disposition: tracer.DispHandler}, tracer.Setup{}))
	add("SA_RESETHAND resets a handler as it runs", change(47, 15, crashy, tracer.CauseResethand,
		tracer.Setup{Disposition: tracer.DispHandler, Handler: 0x401000, SAFlags: 0x80000000}, tracer.Setup{SAFlags: 0x80000000}))
	vf := change(48, 2, bash, tracer.CauseSigaction, tracer.Setup{Disposition: tracer.DispDefault}, tracer.Setup{Disposition: tracer.DispIgnore, Handler: 1})
	vf.Disposition.Vfork = true
	add("a vfork child ignores SIGINT (all dispositions)", vf)
	gain := change(49, 12, deep, tracer.CauseSigaction, tracer.Setup{}, tracer.Setup{Disposition: tracer.DispHandler, Handler: 0x4a5b60, SAFlags: 0x1c000004})
	gain.Disposition.ArgvTruncated = true
	add("a process installs a handler (all dispositions)", gain)

	add("exit of a process unprepared since it removed its handler", tracer.Event{
		Time: at(50), Type: tracer.TypeExit, Sig: 1, Code: signals.SIUser, Target: daemon, Scope: tracer.ScopeProcess,
		Exit: tracer.Exit{
			Setup: tracer.Setup{DefaultAction: signals.Terminate}, KillerKnown: true, Killer: tracer.From{Sender: pkill},
			DefaultSince: tracer.Since{Known: true, Time: at(45), Cause: tracer.CauseSigaction},
		},
	})
	add("exit, sender not seen, of a program that never had a handler", tracer.Event{
		Time: at(51), Type: tracer.TypeExit, Sig: 15, Target: crashy, Scope: tracer.ScopeProcess,
		Exit: tracer.Exit{
			Setup:        tracer.Setup{DefaultAction: signals.Terminate},
			DefaultSince: tracer.Since{Known: true, Time: at(-86400000), Cause: tracer.CauseExec},
		},
	})

	// The re-raises (reraise_test.go), after the rest.
	return append(out, reraiseFixtures()...)
}
