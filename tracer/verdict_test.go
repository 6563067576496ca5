package tracer

import (
	"fmt"
	"testing"
)

// The reference for Judge: the kernel's rules (kernel/signal.c and
// include/linux/signal.h, 6.x), restated here from the source and from
// signal(7) without calling anything in this package or in signals/. Signal
// numbers are Linux's generic ones (x86 and arm64).

// kernelMask builds a mask the way include/linux/signal.h does: bit sig-1.
func kernelMask(sigs ...int) uint64 {
	var m uint64
	for _, s := range sigs {
		m |= 1 << (s - 1)
	}
	return m
}

var (
	// SIG_KERNEL_ONLY_MASK: cannot be caught, ignored or blocked.
	vtKernelOnly = kernelMask(9, 19) // SIGKILL, SIGSTOP
	// SIG_KERNEL_IGNORE_MASK: SIG_DFL means "do nothing". SIGCONT is in
	// it: its effect (resuming a stopped group) happens in
	// prepare_signal(), at generation, not at delivery.
	vtKernelIgnore = kernelMask(18, 17, 28, 23) // SIGCONT, SIGCHLD, SIGWINCH, SIGURG
	// SIG_KERNEL_STOP_MASK.
	vtKernelStop = kernelMask(19, 20, 21, 22) // SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU
	// SIG_KERNEL_COREDUMP_MASK.
	vtKernelCore = kernelMask(3, 4, 5, 6, 8, 11, 7, 31, 24, 25)
)

// siginmask(): only the classic signals (below SIGRTMIN, 32 in the
// kernel) are ever in these masks; real-time signals are in none.
func vtIn(sig int, mask uint64) bool { return sig < 32 && mask&(1<<(sig-1)) != 0 }

type vtCase struct {
	sig        int
	disp       Disposition
	blocked    bool
	result     Result
	unkillable bool
	sigwait    bool
}

func (c vtCase) String() string {
	return fmt.Sprintf("sig=%d disp=%s blocked=%v result=%s unkillable=%v sigwait=%v",
		c.sig, c.disp, c.blocked, c.result, c.unkillable, c.sigwait)
}

func (c vtCase) input() VerdictInput {
	return VerdictInput{Sig: c.sig, Result: c.result, Disposition: c.disp, Blocked: c.blocked, SigWait: c.sigwait, Unkillable: c.unkillable}
}

// vtAtDelivery is get_signal()'s decision for a signal it dequeues, in its
// order: SIG_IGN; a handler; then the default action: SIG_KERNEL_IGNORE
// signals do nothing (SIGCONT's work was done at generation); a
// SIGNAL_UNKILLABLE task (a pid namespace's init) skips every default but
// SIGKILL's and SIGSTOP's; stop signals stop; everything else is fatal
// (do_group_exit, after do_coredump for the core set).
func vtAtDelivery(sig int, disp Disposition, unkillable bool) VerdictKind {
	switch disp {
	case DispIgnore:
		return VerdictIgnored
	case DispHandler:
		return VerdictHandled
	}
	if vtIn(sig, vtKernelIgnore) {
		if sig == 18 {
			return VerdictContinue
		}
		return VerdictIgnored
	}
	if unkillable && !vtIn(sig, vtKernelOnly) {
		return VerdictIgnored
	}
	if vtIn(sig, vtKernelStop) {
		return VerdictStop
	}
	return VerdictFatal
}

// vtWhenUnblocked is get_signal()'s decision, in the same order, for a
// blocked signal once it is unblocked, told apart the way the SPEC's
// when_unblocked is: SIGCONT's SIG_DFL is in SIG_KERNEL_IGNORE_MASK, so
// at delivery it does nothing (prepare_signal() resumed the group when it
// was sent, blocked or not).
func vtWhenUnblocked(sig int, disp Disposition, unkillable bool) Unblocked {
	switch {
	case disp == DispIgnore:
		return UnblockedIgnore
	case disp == DispHandler:
		return UnblockedHandler
	case vtIn(sig, vtKernelIgnore):
		return UnblockedIgnore
	case unkillable && !vtIn(sig, vtKernelOnly):
		return UnblockedIgnore
	case vtIn(sig, vtKernelStop):
		return UnblockedStop
	case vtIn(sig, vtKernelCore):
		return UnblockedCore
	}
	return UnblockedTerminate
}

// vtKernel predicts the whole outcome from what the generate tracepoint
// saw.
func vtKernel(c vtCase) Verdict {
	// The tracepoint's result is the kernel's decision on queueing:
	// TRACE_SIGNAL_IGNORED from prepare_signal()/sig_ignored(),
	// ALREADY_PENDING from legacy_queue() (a classic signal is pending
	// already, so this instance is merged into it), OVERFLOW_FAIL when a
	// real-time signal could not be queued.
	switch c.result {
	case ResultOverflow:
		return Verdict{Kind: VerdictDropped}
	case ResultAlreadyPending:
		return Verdict{Kind: VerdictMerged}
	case ResultIgnored:
		// prepare_signal() resumes a stopped group on SIGCONT before it
		// asks sig_ignored(), which then says "ignored" for SIG_DFL
		// (SIGCONT is in SIG_KERNEL_IGNORE_MASK) or SIG_IGN: it still
		// continued. sig_ignored() never ignores a blocked or waited-for
		// signal, nor one with a handler, so for those "ignored" means
		// the group is already exiting: prepare_signal() returned before
		// doing anything.
		if c.sig == 18 && c.disp != DispHandler && !c.blocked && !c.sigwait {
			return Verdict{Kind: VerdictContinue}
		}
		return Verdict{Kind: VerdictIgnored}
	}
	// DELIVERED or LOSE_INFO (queued, only without its siginfo).
	disp, blocked, sigwait := c.disp, c.blocked, c.sigwait
	if vtIn(c.sig, vtKernelOnly) {
		// do_sigaction() refuses handlers and SIG_IGN for them;
		// sigprocmask() and sigtimedwait() strip them from masks.
		disp, blocked, sigwait = DispDefault, false, false
	}
	if blocked {
		// complete_signal() finds no thread that wants it: it stays
		// pending, and get_signal() decides once it is unblocked.
		return Verdict{Kind: VerdictBlocked, FatalWhenUnblocked: vtAtDelivery(c.sig, disp, c.unkillable) == VerdictFatal,
			WhenUnblocked: vtWhenUnblocked(c.sig, disp, c.unkillable)}
	}
	if sigwait {
		// In real_blocked: complete_signal() starts no group exit and
		// sigtimedwait() dequeues it.
		return Verdict{Kind: VerdictHandled}
	}
	kind := vtAtDelivery(c.sig, disp, c.unkillable)
	if kind != VerdictFatal {
		return Verdict{Kind: kind}
	}
	// Unprepared: it could have been caught (not SIGKILL) and was not.
	return Verdict{Kind: VerdictFatal, Fatal: true, Unprepared: !vtIn(c.sig, vtKernelOnly)}
}

var (
	vtDisps   = []Disposition{DispDefault, DispIgnore, DispHandler}
	vtResults = []Result{ResultDelivered, ResultIgnored, ResultAlreadyPending, ResultOverflow, ResultLoseInfo}
)

// TestJudgeExhaustive checks every signal × disposition × blocked × result
// × unkillable × sigwait against the restatement above.
func TestJudgeExhaustive(t *testing.T) {
	n, fatal, fwu := 0, 0, 0
	for sig := 1; sig <= 64; sig++ {
		for _, disp := range vtDisps {
			for _, blocked := range []bool{false, true} {
				for _, res := range vtResults {
					for _, unk := range []bool{false, true} {
						for _, sw := range []bool{false, true} {
							c := vtCase{sig, disp, blocked, res, unk, sw}
							want := vtKernel(c)
							got := Judge(c.input())
							n++
							if want.Fatal {
								fatal++
							}
							if want.FatalWhenUnblocked {
								fwu++
							}
							if got != want {
								t.Errorf("%v: Judge = %+v, kernel rules say %+v", c, got, want)
							}
						}
					}
				}
			}
		}
	}
	if n != 64*3*2*5*2*2 {
		t.Fatalf("checked %d cases", n)
	}
	// Guard against a reference that degenerated into "never fatal".
	if fatal == 0 || fwu == 0 {
		t.Fatalf("reference predicts %d fatal and %d fatal-when-unblocked cases: broken", fatal, fwu)
	}
}

// TestJudgeInvariants: properties the SPEC states outright, independent of
// the reference.
func TestJudgeInvariants(t *testing.T) {
	for sig := 1; sig <= 64; sig++ {
		for _, disp := range vtDisps {
			for _, blocked := range []bool{false, true} {
				for _, res := range vtResults {
					for _, unk := range []bool{false, true} {
						for _, sw := range []bool{false, true} {
							c := vtCase{sig, disp, blocked, res, unk, sw}
							v := Judge(c.input())
							if v.Fatal != (v.Kind == VerdictFatal) {
								t.Errorf("%v: Fatal=%v with verdict %s", c, v.Fatal, v.Kind)
							}
							if v.Unprepared && !v.Fatal {
								t.Errorf("%v: unprepared but not fatal", c)
							}
							if v.Unprepared && (sig == 9 || sig == 19) {
								t.Errorf("%v: SIGKILL/SIGSTOP can't be prepared for, unprepared must be false", c)
							}
							if v.FatalWhenUnblocked && v.Kind != VerdictBlocked {
								t.Errorf("%v: fatal_when_unblocked with verdict %s", c, v.Kind)
							}
							if (v.WhenUnblocked != UnblockedNone) != (v.Kind == VerdictBlocked) {
								t.Errorf("%v: when_unblocked %q with verdict %s", c, v.WhenUnblocked, v.Kind)
							}
							if v.FatalWhenUnblocked != v.WhenUnblocked.Kills() {
								t.Errorf("%v: fatal_when_unblocked %v but when_unblocked %q", c, v.FatalWhenUnblocked, v.WhenUnblocked)
							}
							if v.Fatal && disp == DispHandler && sig != 9 {
								t.Errorf("%v: fatal although the receiver handles it", c)
							}
							if res == ResultOverflow && v.Kind != VerdictDropped {
								t.Errorf("%v: overflow gives %s, want dropped", c, v.Kind)
							}
							if res == ResultAlreadyPending && v.Kind != VerdictMerged {
								t.Errorf("%v: already_pending gives %s, want merged", c, v.Kind)
							}
							if v.Kind.String() == "unknown" {
								t.Errorf("%v: verdict %d has no name", c, v.Kind)
							}
						}
					}
				}
			}
		}
	}
}

func TestJudgeNamed(t *testing.T) {
	type vin = VerdictInput
	fatalUnprepared := Verdict{Kind: VerdictFatal, Fatal: true, Unprepared: true}
	for _, tc := range []struct {
		name string
		in   VerdictInput
		want Verdict
	}{
		{"SIGKILL is fatal and never unprepared", vin{Sig: 9}, Verdict{Kind: VerdictFatal, Fatal: true}},
		{"SIGKILL cannot be caught", vin{Sig: 9, Disposition: DispHandler}, Verdict{Kind: VerdictFatal, Fatal: true}},
		{"SIGKILL cannot be ignored", vin{Sig: 9, Disposition: DispIgnore}, Verdict{Kind: VerdictFatal, Fatal: true}},
		{"SIGKILL cannot be blocked", vin{Sig: 9, Blocked: true}, Verdict{Kind: VerdictFatal, Fatal: true}},
		{"SIGKILL cannot be waited for", vin{Sig: 9, SigWait: true}, Verdict{Kind: VerdictFatal, Fatal: true}},
		{"SIGKILL from the parent namespace kills its init", vin{Sig: 9, Unkillable: true}, Verdict{Kind: VerdictFatal, Fatal: true}},
		{"SIGKILL to init from inside its namespace", vin{Sig: 9, Unkillable: true, Result: ResultIgnored}, Verdict{Kind: VerdictIgnored}},
		{"SIGSTOP stops", vin{Sig: 19}, Verdict{Kind: VerdictStop}},
		{"SIGSTOP cannot be caught", vin{Sig: 19, Disposition: DispHandler}, Verdict{Kind: VerdictStop}},
		{"SIGSTOP cannot be blocked", vin{Sig: 19, Blocked: true}, Verdict{Kind: VerdictStop}},
		{"SIGHUP default is fatal, unprepared", vin{Sig: 1}, fatalUnprepared},
		{"SIGHUP default, thread-directed: still the whole group", vin{Sig: 1, Result: ResultLoseInfo}, fatalUnprepared},
		{"SIGHUP handled", vin{Sig: 1, Disposition: DispHandler}, Verdict{Kind: VerdictHandled}},
		{"SIGHUP ignored by SIG_IGN, seen under ptrace", vin{Sig: 1, Disposition: DispIgnore}, Verdict{Kind: VerdictIgnored}},
		{"SIGHUP SIG_IGN: kernel result ignored", vin{Sig: 1, Disposition: DispIgnore, Result: ResultIgnored}, Verdict{Kind: VerdictIgnored}},
		{"SIGUSR1 default is fatal", vin{Sig: 10}, fatalUnprepared},
		{"SIGPIPE default is fatal", vin{Sig: 13}, fatalUnprepared},
		{"SIGTERM default is fatal", vin{Sig: 15}, fatalUnprepared},
		{"SIGCHLD default is ignored", vin{Sig: 17, Result: ResultIgnored}, Verdict{Kind: VerdictIgnored}},
		{"SIGCHLD default, queued (traced)", vin{Sig: 17}, Verdict{Kind: VerdictIgnored}},
		{"SIGURG default is ignored", vin{Sig: 23, Result: ResultIgnored}, Verdict{Kind: VerdictIgnored}},
		{"SIGWINCH default is ignored", vin{Sig: 28}, Verdict{Kind: VerdictIgnored}},
		{"SIGCONT default continues", vin{Sig: 18}, Verdict{Kind: VerdictContinue}},
		{"SIGCONT default, kernel says ignored: it still continued", vin{Sig: 18, Result: ResultIgnored}, Verdict{Kind: VerdictContinue}},
		{"SIGCONT handled", vin{Sig: 18, Disposition: DispHandler}, Verdict{Kind: VerdictHandled}},
		{"SIGCONT SIG_IGN, kernel says ignored: it still continued", vin{Sig: 18, Disposition: DispIgnore, Result: ResultIgnored}, Verdict{Kind: VerdictContinue}},
		{"SIGCONT with handler ignored: the group is exiting", vin{Sig: 18, Disposition: DispHandler, Result: ResultIgnored}, Verdict{Kind: VerdictIgnored}},
		{"SIGTSTP default stops", vin{Sig: 20}, Verdict{Kind: VerdictStop}},
		{"SIGTTIN default stops", vin{Sig: 21}, Verdict{Kind: VerdictStop}},
		{"SIGTSTP to a namespace init that still got it is ignored", vin{Sig: 20, Unkillable: true}, Verdict{Kind: VerdictIgnored}},
		{"SIGSEGV default is fatal (core)", vin{Sig: 11}, fatalUnprepared},
		{"SIGQUIT default is fatal (core)", vin{Sig: 3}, fatalUnprepared},
		{"SIGSYS default is fatal (core)", vin{Sig: 31}, fatalUnprepared},
		{"SIGRTMIN default is fatal", vin{Sig: 34}, fatalUnprepared},
		{"SIGRTMIN+3 default is fatal", vin{Sig: 37}, fatalUnprepared},
		{"SIGRTMAX default is fatal", vin{Sig: 64}, fatalUnprepared},
		{"signal 32 default is fatal", vin{Sig: 32}, fatalUnprepared},
		{"blocked SIGTERM default: blocked, fatal when unblocked", vin{Sig: 15, Blocked: true}, Verdict{Kind: VerdictBlocked, FatalWhenUnblocked: true, WhenUnblocked: UnblockedTerminate}},
		{"blocked SIGSEGV default: fatal when unblocked, with a core", vin{Sig: 11, Blocked: true}, Verdict{Kind: VerdictBlocked, FatalWhenUnblocked: true, WhenUnblocked: UnblockedCore}},
		{"blocked SIGTERM with handler: handled when unblocked", vin{Sig: 15, Blocked: true, Disposition: DispHandler}, Verdict{Kind: VerdictBlocked, WhenUnblocked: UnblockedHandler}},
		{"blocked SIGTERM SIG_IGN: ignored when unblocked", vin{Sig: 15, Blocked: true, Disposition: DispIgnore}, Verdict{Kind: VerdictBlocked, WhenUnblocked: UnblockedIgnore}},
		{"blocked SIGCHLD default: ignored when unblocked", vin{Sig: 17, Blocked: true}, Verdict{Kind: VerdictBlocked, WhenUnblocked: UnblockedIgnore}},
		{"blocked SIGTSTP default: stops when unblocked", vin{Sig: 20, Blocked: true}, Verdict{Kind: VerdictBlocked, WhenUnblocked: UnblockedStop}},
		{"blocked SIGTTIN default: stops when unblocked", vin{Sig: 21, Blocked: true}, Verdict{Kind: VerdictBlocked, WhenUnblocked: UnblockedStop}},
		{"blocked SIGTTOU default: stops when unblocked", vin{Sig: 22, Blocked: true}, Verdict{Kind: VerdictBlocked, WhenUnblocked: UnblockedStop}},
		{"blocked SIGTSTP with a handler", vin{Sig: 20, Blocked: true, Disposition: DispHandler}, Verdict{Kind: VerdictBlocked, WhenUnblocked: UnblockedHandler}},
		{"blocked SIGTSTP to a namespace init: ignored when unblocked", vin{Sig: 20, Blocked: true, Unkillable: true}, Verdict{Kind: VerdictBlocked, WhenUnblocked: UnblockedIgnore}},
		{"blocked SIGCONT default: it resumed when sent, nothing when unblocked", vin{Sig: 18, Blocked: true}, Verdict{Kind: VerdictBlocked, WhenUnblocked: UnblockedIgnore}},
		{"blocked SIGCONT with a handler", vin{Sig: 18, Blocked: true, Disposition: DispHandler}, Verdict{Kind: VerdictBlocked, WhenUnblocked: UnblockedHandler}},
		{"blocked SIGTERM to a namespace init", vin{Sig: 15, Blocked: true, Unkillable: true}, Verdict{Kind: VerdictBlocked, WhenUnblocked: UnblockedIgnore}},
		{"blocked SIGRTMIN+1 default", vin{Sig: 35, Blocked: true}, Verdict{Kind: VerdictBlocked, FatalWhenUnblocked: true, WhenUnblocked: UnblockedTerminate}},
		{"SIGTERM while one is pending: merged", vin{Sig: 15, Result: ResultAlreadyPending}, Verdict{Kind: VerdictMerged}},
		{"blocked SIGTERM, second one: merged", vin{Sig: 15, Blocked: true, Result: ResultAlreadyPending}, Verdict{Kind: VerdictMerged}},
		{"SIGKILL while one is pending: merged", vin{Sig: 9, Result: ResultAlreadyPending}, Verdict{Kind: VerdictMerged}},
		{"RT signal queue full: dropped", vin{Sig: 40, Result: ResultOverflow}, Verdict{Kind: VerdictDropped}},
		{"lose_info still queues: fatal", vin{Sig: 40, Result: ResultLoseInfo}, fatalUnprepared},
		{"pid-ns init, no handler, from the parent: result ignored", vin{Sig: 15, Unkillable: true, Result: ResultIgnored}, Verdict{Kind: VerdictIgnored}},
		{"pid-ns init, default, queued anyway: never fatal", vin{Sig: 15, Unkillable: true}, Verdict{Kind: VerdictIgnored}},
		{"pid-ns init with a handler", vin{Sig: 15, Unkillable: true, Disposition: DispHandler}, Verdict{Kind: VerdictHandled}},
		{"sigwait for SIGTERM: consumed, not fatal", vin{Sig: 15, SigWait: true}, Verdict{Kind: VerdictHandled}},
		{"sigwait for SIGUSR1 with SIG_IGN: still consumed", vin{Sig: 10, SigWait: true, Disposition: DispIgnore}, Verdict{Kind: VerdictHandled}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Judge(tc.in); got != tc.want {
				t.Errorf("Judge(%+v) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestEnumStrings(t *testing.T) {
	for k, want := range map[VerdictKind]string{
		VerdictFatal: "fatal", VerdictHandled: "handled", VerdictIgnored: "ignored", VerdictBlocked: "blocked",
		VerdictStop: "stop", VerdictContinue: "continue", VerdictMerged: "merged", VerdictDropped: "dropped",
		VerdictKind(200): "unknown",
	} {
		if got := k.String(); got != want {
			t.Errorf("VerdictKind(%d).String() = %q, want %q", k, got, want)
		}
	}
	for u, want := range map[Unblocked]string{
		UnblockedNone: "", UnblockedTerminate: "terminate", UnblockedCore: "core", UnblockedStop: "stop",
		UnblockedIgnore: "ignore", UnblockedHandler: "handler", Unblocked(99): "unknown",
	} {
		if got := u.String(); got != want {
			t.Errorf("Unblocked(%d).String() = %q, want %q", u, got, want)
		}
	}
	for r, want := range map[Result]string{
		ResultDelivered: "delivered", ResultIgnored: "ignored", ResultAlreadyPending: "already_pending",
		ResultOverflow: "overflow", ResultLoseInfo: "lose_info", Result(9): "unknown",
	} {
		if got := r.String(); got != want {
			t.Errorf("Result(%d).String() = %q, want %q", r, got, want)
		}
	}
	for h, want := range map[uint64]Disposition{0: DispDefault, 1: DispIgnore, 2: DispHandler, 0x401136: DispHandler} {
		if got := DispositionOf(h); got != want {
			t.Errorf("DispositionOf(%#x) = %s, want %s", h, got, want)
		}
	}
}

// TestJudgeTargetExiting: a group already on its way out takes no more
// signals, whatever it had set up; only SIGKILL still counts (it ends a
// core dump).
func TestJudgeTargetExiting(t *testing.T) {
	for _, tc := range []struct {
		in   VerdictInput
		want VerdictKind
	}{
		{VerdictInput{Sig: 15, Result: ResultIgnored, TargetExiting: true}, VerdictIgnored},
		{VerdictInput{Sig: 15, Result: ResultDelivered, TargetExiting: true}, VerdictIgnored}, // before 5.17: queued, never taken
		{VerdictInput{Sig: 1, Result: ResultDelivered, Disposition: DispHandler, TargetExiting: true}, VerdictIgnored},
		{VerdictInput{Sig: 20, Result: ResultDelivered, Blocked: true, TargetExiting: true}, VerdictIgnored},
		{VerdictInput{Sig: 9, Result: ResultDelivered, TargetExiting: true}, VerdictFatal},
		{VerdictInput{Sig: 15, Result: ResultDelivered}, VerdictFatal},
	} {
		if got := Judge(tc.in).Kind; got != tc.want {
			t.Errorf("Judge(%+v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
