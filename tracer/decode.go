package tracer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/signals"
)

var (
	eventSize  = int(unsafe.Sizeof(sigtraceEvent{}))
	detailSize = int(unsafe.Sizeof(sigtraceSenderDetail{}))
)

// ErrShortRecord is returned for a ring-buffer sample too small for the
// record its header announces.
var ErrShortRecord = errors.New("short record")

// ErrLongRecord is returned for a ring-buffer sample longer than any
// record of its kind: the kernel side writes each at its struct's size,
// so the bytes past it are not the record's.
var ErrLongRecord = errors.New("record longer than its kind")

// Decoder turns raw ring-buffer samples into Events. It converts the
// kernel's boot-time clock to wall time with an offset the reader measures
// again every clockResync (clock.go).
type Decoder struct {
	clock   wallClock
	cgroups cgroupNames // memory cgroups, for OOM kills
	cg      cgroupTable // default-hierarchy cgroups of senders and targets
	killer  Event       // scratch for an exit record's embedded killer

	// The sender detail of the last F_DETAIL record of each CPU and
	// sender slot (tgid % DETAIL_SLOTS), which later F_DETAIL_SAME
	// records refer to (bpf/sigtrace.c, detail_sent). Events point into
	// these, not into copies.
	slots  []detailSlot
	lastID uint64
	// The detail of an exit record's killer (never referred to later).
	killerDetail detailSlot
	// The detail of the last disposition record's process.
	dispDetail detailSlot
	// sinceValid: disposition history sees sigaction changes, so an
	// exit record's since_ns means what it says (Tracer: HistoryGap is
	// empty). Without them a later sigaction could have been missed.
	sinceValid bool
}

type detailSlot struct {
	id      uint64 // Event.DetailID; 0: empty
	pid     uint32 // the sender it belongs to
	n       int
	argvLen int
	trunc   bool
	anc     [maxAncestry]Ancestor
	argv    [argvLen]byte
}

const (
	detailSlots = int(sigtraceLimitsDETAIL_SLOTS)
	maxAncestry = int(sigtraceLimitsMAX_ANCESTRY)
	argvLen     = int(sigtraceLimitsARGV_LEN)
)

// maxCPUs bounds the CPU numbers records may name: CONFIG_NR_CPUS of the
// kernels sigtrace runs on is at most 8192.
const maxCPUs = 8192

func slotIndex(cpu, tgid uint32) int { return int(cpu)*detailSlots + int(tgid%uint32(detailSlots)) }

// slot returns the detail slot of a CPU and sender, growing the table for
// a CPU number beyond the possible CPUs counted at start (CPU hotplug).
func (d *Decoder) slot(cpu, tgid uint32) *detailSlot {
	i := slotIndex(cpu, tgid)
	if i >= len(d.slots) {
		grown := make([]detailSlot, (int(cpu)+1)*detailSlots)
		copy(grown, d.slots)
		d.slots = grown
	}
	return &d.slots[i]
}

// NewDecoder measures the offset between CLOCK_BOOTTIME (what
// bpf_ktime_get_boot_ns() reads) and the wall clock.
func NewDecoder() *Decoder {
	cpus, err := ebpf.PossibleCPU()
	if err != nil || cpus < 1 {
		cpus = 1
	}
	return &Decoder{clock: newWallClock(), slots: make([]detailSlot, cpus*detailSlots)}
}

// BootTime returns the wall-clock time of boot, as the decoder sees it.
func (d *Decoder) BootTime() time.Time { return d.clock.bootTime() }

// Decode fills ev from one sample without allocating. raw must be a whole
// sample as the ring buffer delivered it (its storage is 8-byte aligned).
func (d *Decoder) Decode(raw []byte, ev *Event) error {
	return d.decode(raw, ev, true)
}

// decode: fromRing is false for the killer record inside an exit record,
// a copy the kernel kept, which must not change the per-CPU detail slots.
func (d *Decoder) decode(raw []byte, ev *Event, fromRing bool) error {
	// Every record starts with struct event's head: ts_ns, two u64s, type.
	if len(raw) >= 28 && binary.NativeEndian.Uint32(raw[24:]) == uint32(sigtraceEventTypeEV_DISPOSITION) && fromRing {
		if len(raw) > dispSize {
			return fmt.Errorf("%w: disposition record of %d bytes, want %d", ErrLongRecord, len(raw), dispSize)
		}
		return d.decodeDisposition(raw, ev)
	}
	if len(raw) < eventSize {
		return fmt.Errorf("%w: %d bytes, want at least %d", ErrShortRecord, len(raw), eventSize)
	}
	r := (*sigtraceEvent)(unsafe.Pointer(&raw[0]))
	flags := sigtraceEventFlags(r.Flags)
	if n := maxRecordLen(r.Type, flags); fromRing && len(raw) > n {
		return fmt.Errorf("%w: %d bytes, at most %d for type %d", ErrLongRecord, len(raw), n, r.Type)
	}
	// The detail slots grow with the CPU a record names: never to a CPU
	// no kernel can have (Debian builds with NR_CPUS=8192).
	if r.Cpu >= maxCPUs {
		return fmt.Errorf("record of CPU %d, beyond any kernel's %d", r.Cpu, maxCPUs)
	}
	// The kernel side never writes a signal out of range; a record that
	// says one is not taken for an event (an exit's comes from its exit
	// code, below).
	if r.Type != uint32(sigtraceEventTypeEV_EXIT) && (r.Sig < 1 || r.Sig > 64) {
		return fmt.Errorf("record of signal %d, out of range 1..64", r.Sig)
	}

	*ev = Event{}
	ev.Time = d.clock.at(r.TsNs)
	ev.bootNs = int64(r.TsNs)
	ev.Sig = int(r.Sig)
	ev.Code = r.Code
	setup := Setup{Handler: r.Handler, SAFlags: r.SaFlags, Disposition: DispositionOf(r.Handler),
		DefaultAction: signals.DefaultAction(ev.Sig)}
	ev.Target = Process{PID: r.TargetPid, TID: r.TargetTid, UID: r.TargetUid, HasUID: true}
	copyComm(&ev.Target.Comm, &r.TargetComm)
	copyComm(&ev.Target.ThreadComm, &r.TargetThreadComm)
	ev.Target.CgroupID = r.TargetCgroup
	ev.Target.Cgroup = d.cg.lookup(r.TargetCgroup)

	switch sigtraceEventType(r.Type) {
	case sigtraceEventTypeEV_GENERATE:
		ev.Type = TypeGenerate
		ev.Generate.Setup = setup
	case sigtraceEventTypeEV_DELIVER:
		ev.Type = TypeDeliver
		ev.Scope = ScopeThread
		ev.Deliver.Setup = setup
		if flags&sigtraceEventFlagsF_SYSCALL != 0 {
			ev.Deliver.HasSyscall = true
			ev.Deliver.SyscallNr = int(r.ScNr)
			ev.Deliver.SyscallOutcome = RestartOutcome(r.ScRet, ev.Deliver.Disposition, ev.Deliver.SAFlags)
		}
		// group_exit_code is a wait status. A signal that kills the
		// group leaves its number in the low 7 bits (0x80: core
		// dumped); exit_group() leaves status<<8 there, and its other
		// threads take the same internal SIGKILL. That is no death by
		// a signal: only a signal number makes it a group exit.
		if sig := int(r.ExitCode & 0x7f); flags&sigtraceEventFlagsF_GROUP_EXIT != 0 && sig != 0 {
			ev.Deliver.GroupExit = true
			ev.Deliver.ExitSignal = sig
			ev.Deliver.CoreDumped = r.ExitCode&0x80 != 0
		}
		ev.Deliver.KillCause = internalKillCause(ev, flags)
		return nil
	case sigtraceEventTypeEV_EXIT:
		return d.decodeExit(raw, r, flags, ev)
	default:
		return fmt.Errorf("unknown record type %d", r.Type)
	}

	if flags&sigtraceEventFlagsF_GROUP == 0 {
		ev.Scope = ScopeThread
	}
	ev.Generate.Result = Result(r.Result)
	ev.Generate.Blocked = flags&sigtraceEventFlagsF_BLOCKED != 0
	ev.Generate.Traced = flags&sigtraceEventFlagsF_TRACED != 0
	ev.Generate.SigWait = flags&sigtraceEventFlagsF_SIGWAIT != 0
	ev.Generate.Unkillable = flags&sigtraceEventFlagsF_UNKILLABLE != 0
	ev.Generate.TargetExiting = flags&sigtraceEventFlagsF_TARGET_EXITING != 0
	if flags&sigtraceEventFlagsF_SEND_SYSCALL != 0 {
		ev.Generate.HasSendSyscall = true
		ev.Generate.SendSyscallNr = int(r.SendNr)
		ev.Generate.GroupSend, ev.Generate.GroupID = groupSend(ev.Generate.SendSyscallNr, r.SendArg, r.Pgid)
	}
	kk := kernelKillOf(flags)
	if kk == KernelKillOOM && r.CgroupId != 0 {
		ev.Generate.MemCgroup = d.cgroups.path(r.CgroupId)
	}

	ev.Generate.KernelSender, ev.Generate.KernelReason = Origin(OriginInput{
		Sig:        ev.Sig,
		Code:       r.Code,
		NoInfo:     flags&sigtraceEventFlagsF_INFO_NOINFO != 0,
		Priv:       flags&sigtraceEventFlagsF_INFO_PRIV != 0,
		Group:      flags&sigtraceEventFlagsF_GROUP != 0,
		KThread:    flags&sigtraceEventFlagsF_SENDER_KTHREAD != 0,
		CurrentPID: r.SenderPid,
		TargetPID:  r.TargetPid,
		KernelKill: kk,
	})
	if !ev.Generate.KernelSender {
		ev.Generate.Sender = Process{PID: r.SenderPid, TID: r.SenderTid, UID: r.SenderUid, HasUID: true,
			CgroupID: r.SenderCgroup, Cgroup: d.cg.lookup(r.SenderCgroup)}
		copyComm(&ev.Generate.Sender.Comm, &r.SenderComm)
		copyComm(&ev.Generate.Sender.ThreadComm, &r.SenderThreadComm)
		switch {
		case flags&sigtraceEventFlagsF_DETAIL != 0:
			if len(raw) < eventSize+detailSize {
				return fmt.Errorf("%w: %d bytes, want %d with sender detail", ErrShortRecord, len(raw), eventSize+detailSize)
			}
			det := (*sigtraceSenderDetail)(unsafe.Pointer(&raw[eventSize]))
			trunc := flags&sigtraceEventFlagsF_ARGV_TRUNC != 0
			s := &d.killerDetail
			if fromRing {
				s = d.slot(r.Cpu, r.SenderPid)
				d.lastID++
				s.id = d.lastID
			}
			s.n = fillDetail(&s.anc, &s.argv, det)
			s.argvLen = min(int(det.ArgvLen), len(det.Argv))
			s.trunc = trunc
			s.pid = r.SenderPid
			ev.useDetail(s)
		case flags&sigtraceEventFlagsF_DETAIL_SAME != 0 && fromRing:
			// The kernel only marks a record so after a full one
			// from the same CPU and sender; a slot that disagrees
			// (which would be a bug) gives no detail, never another
			// process's.
			if i := slotIndex(r.Cpu, r.SenderPid); i < len(d.slots) {
				if s := &d.slots[i]; s.id != 0 && s.pid == r.SenderPid {
					ev.useDetail(s)
				}
			}
		}
	}

	ev.Generate.Verdict = Judge(VerdictInput{
		Sig:           ev.Sig,
		Result:        ev.Generate.Result,
		Disposition:   ev.Generate.Disposition,
		Blocked:       ev.Generate.Blocked,
		SigWait:       ev.Generate.SigWait,
		Unkillable:    ev.Generate.Unkillable,
		TargetExiting: ev.Generate.TargetExiting,
	})
	return nil
}

// internalKillCause names why the kernel queued a SIGKILL delivered with
// no siginfo (bpf/sigtrace.c internal_kill_cause()): exec and core dumps
// are flagged by the kernel side; of the rest, a group exit code with a
// signal number is a fatal signal, one without is exit_group(n) (n << 8).
func internalKillCause(ev *Event, flags sigtraceEventFlags) KillCause {
	if ev.Sig != sigKill || flags&sigtraceEventFlagsF_INFO_NOINFO == 0 {
		return KillNone
	}
	switch {
	case flags&sigtraceEventFlagsF_KILL_COREDUMP != 0:
		return KillCoredump
	case flags&sigtraceEventFlagsF_KILL_EXEC != 0:
		return KillExec
	case ev.Deliver.GroupExit:
		return KillFatalSignal
	case flags&sigtraceEventFlagsF_GROUP_EXIT != 0:
		return KillExitGroup
	}
	return KillNone
}

// groupSend tells a kill() at a process group or at everyone from its pid
// argument (kernel/signal.c kill_something_info(): 0 is the caller's own
// group, -1 every process it may signal, below that -pgid).
func groupSend(nr int, arg int64, senderPgid uint32) (GroupSend, uint32) {
	if nr != unix.SYS_KILL {
		return GroupSendNone, 0
	}
	pid := int32(arg) // kill()'s pid_t
	switch {
	case pid == 0:
		return GroupSendPgrp, senderPgid
	case pid == -1:
		return GroupSendBroadcast, 0
	case pid < 0:
		return GroupSendPgrp, uint32(-pid)
	}
	return GroupSendNone, 0
}

// kernelKillOf is the kernel side's evidence for an SI_KERNEL SIGKILL.
func kernelKillOf(flags sigtraceEventFlags) KernelKill {
	switch {
	case flags&sigtraceEventFlagsF_KK_OOM != 0:
		return KernelKillOOM
	case flags&sigtraceEventFlagsF_KK_RLIMIT_CPU != 0:
		return KernelKillRlimitCPU
	case flags&sigtraceEventFlagsF_KK_RLIMIT_RT != 0:
		return KernelKillRlimitRT
	case flags&sigtraceEventFlagsF_KK_EXITING != 0:
		return KernelKillPidNS
	}
	return KernelKillUnknown
}

// fillDetail copies a sender_detail's ancestry and argv, and returns the
// ancestry's length.
func fillDetail(anc *[maxAncestry]Ancestor, argv *[argvLen]byte, det *sigtraceSenderDetail) int {
	n := min(int(det.AncestryLen), len(det.Ancestry))
	for i := 0; i < n; i++ {
		anc[i].PID = det.Ancestry[i].Pid
		copyComm(&anc[i].Comm, &det.Ancestry[i].Comm)
	}
	al := min(int(det.ArgvLen), len(det.Argv))
	for i := 0; i < al; i++ {
		argv[i] = byte(det.Argv[i])
	}
	return n
}

func (ev *Event) useDetail(s *detailSlot) {
	ev.Generate.Sender.Ancestry = s.anc[:s.n]
	ev.Generate.Sender.Argv = s.argv[:s.argvLen]
	ev.Generate.ArgvTruncated = s.trunc
	ev.Generate.DetailID = s.id
}

// copyComm copies a comm up to its NUL and zeroes the rest: before 5.11
// the kernel could leave an older name's bytes after the NUL. Two words
// and a zero-byte test: this runs twice per event.
func copyComm(dst *[16]byte, src *[16]int8) {
	b := (*[16]byte)(unsafe.Pointer(src))
	lo := binary.LittleEndian.Uint64(b[:8])
	// A comm is at most TASK_COMM_LEN-1 bytes and a NUL: a record that
	// says otherwise (FuzzDecode) still gives one.
	hi := binary.LittleEndian.Uint64(b[8:]) &^ (0xff << 56)
	if z := zeroBytes(lo); z != 0 {
		lo &= bytesBelow(z)
		hi = 0
	} else if z := zeroBytes(hi); z != 0 {
		hi &= bytesBelow(z)
	}
	binary.LittleEndian.PutUint64(dst[:8], lo)
	binary.LittleEndian.PutUint64(dst[8:], hi)
}

// zeroBytes has the top bit of its lowest set byte at v's first zero byte
// (bits above it may be false positives, from the borrow).
func zeroBytes(v uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	return (v - ones) &^ v & highs
}

// bytesBelow masks the bytes below the first zero byte that z marks.
func bytesBelow(z uint64) uint64 { return (z&-z)>>7 - 1 }

// decodeExit fills an exit event: the cause from group_exit_code, and the
// killer from the generate record the kernel kept for it.
func (d *Decoder) decodeExit(raw []byte, r *sigtraceEvent, flags sigtraceEventFlags, ev *Event) error {
	ev.Type = TypeExit
	ev.Scope = ScopeProcess
	ev.Sig = int(r.ExitCode & 0x7f)
	if ev.Sig < 1 || ev.Sig > 64 {
		// The kernel side reports only deaths by a signal.
		return fmt.Errorf("exit record with exit code %#x: no death by a signal", r.ExitCode)
	}
	ev.Exit.CoreDumped = r.ExitCode&0x80 != 0
	ev.Exit.DefaultAction = signals.DefaultAction(ev.Sig)
	ev.Exit.Disposition = DispDefault
	ev.Exit.Handler = 0
	if len(raw) < exitHeadSize {
		return fmt.Errorf("%w: exit record of %d bytes, want %d", ErrShortRecord, len(raw), exitHeadSize)
	}
	x := (*sigtraceExitRecord)(unsafe.Pointer(&raw[0]))
	if x.SinceNs != 0 && d.sinceValid {
		cause := Cause(x.SinceCause)
		if cause < CauseSigaction || cause > CauseResethand {
			return fmt.Errorf("exit record with since cause %d", x.SinceCause)
		}
		ev.Exit.DefaultSince = Since{Known: true, Time: d.clock.at(x.SinceNs), Cause: cause}
	}
	if flags&sigtraceEventFlagsF_KILLER == 0 {
		return nil
	}
	killer := raw[exitHeadSize:]
	if len(killer) < eventSize {
		return fmt.Errorf("%w: exit record of %d bytes has no room for its killer", ErrShortRecord, len(raw))
	}
	k := &d.killer
	if err := d.decode(killer, k, false); err != nil {
		return fmt.Errorf("exit record's killer: %w", err)
	}
	ev.Exit.KillerKnown = true
	ev.Code = k.Code
	// The killer's ancestry and argv are in d.killerDetail, which no
	// later record refers to: no DetailID.
	ev.Exit.Killer = k.Generate.From
	ev.Exit.Killer.DetailID = 0
	ev.Exit.Disposition = k.Generate.Disposition
	ev.Exit.Handler = k.Generate.Handler
	ev.Scope = k.Scope
	return nil
}

// maxRecordLen is the most a ring record of this type and flags holds:
// its struct's size, tail padding included (bpf/sigtrace.c output()).
func maxRecordLen(typ uint32, flags sigtraceEventFlags) int {
	switch {
	case typ == uint32(sigtraceEventTypeEV_GENERATE) && flags&sigtraceEventFlagsF_DETAIL != 0:
		return eventFullSize
	case typ == uint32(sigtraceEventTypeEV_EXIT) && flags&sigtraceEventFlagsF_KILLER != 0:
		return exitRecordSize
	case typ == uint32(sigtraceEventTypeEV_EXIT):
		return exitHeadSize
	}
	return eventSize
}

var (
	eventFullSize  = int(unsafe.Sizeof(sigtraceEventFull{}))
	exitRecordSize = int(unsafe.Sizeof(sigtraceExitRecord{}))
	dispSize       = int(unsafe.Sizeof(sigtraceDispRecord{}))
	// exitHeadSize: an exit record without its killer.
	exitHeadSize = int(unsafe.Offsetof(sigtraceExitRecord{}.Killer))
)

// decodeDisposition fills a disposition event. An exec's record names
// every signal whose handler it reset (reset_mask): ev is the lowest, and
// NextReset gives the others.
func (d *Decoder) decodeDisposition(raw []byte, ev *Event) error {
	if len(raw) < dispSize {
		return fmt.Errorf("%w: disposition record of %d bytes, want %d", ErrShortRecord, len(raw), dispSize)
	}
	r := (*sigtraceDispRecord)(unsafe.Pointer(&raw[0]))
	cause := Cause(r.Cause)
	if cause < CauseSigaction || cause > CauseResethand {
		return fmt.Errorf("disposition record with cause %d", r.Cause)
	}
	*ev = Event{}
	ev.Type = TypeDisposition
	ev.Time = d.clock.at(r.TsNs)
	ev.bootNs = int64(r.TsNs)
	ev.Scope = ScopeProcess
	ev.Target = Process{PID: r.Pid, TID: r.Tid, UID: r.Uid, HasUID: true, CgroupID: r.Cgroup, Cgroup: d.cg.lookup(r.Cgroup)}
	copyComm(&ev.Target.Comm, &r.Comm)
	copyComm(&ev.Target.ThreadComm, &r.ThreadComm)
	flags := sigtraceEventFlags(r.Flags)
	s := &d.dispDetail
	s.n = fillDetail(&s.anc, &s.argv, &r.D)
	s.argvLen = min(int(r.D.ArgvLen), len(r.D.Argv))
	ev.Target.Ancestry = s.anc[:s.n]
	ev.Target.Argv = s.argv[:s.argvLen]
	c := &ev.Disposition
	c.Cause = cause
	c.ArgvTruncated = flags&sigtraceEventFlagsF_ARGV_TRUNC != 0
	c.Vfork = flags&sigtraceEventFlagsF_VFORK != 0
	c.From = Setup{Handler: r.FromHandler, SAFlags: r.FromFlags, Disposition: DispositionOf(r.FromHandler)}
	c.To = Setup{Handler: r.ToHandler, SAFlags: r.ToFlags, Disposition: DispositionOf(r.ToHandler)}
	sig := int(r.Sig)
	if cause == CauseExec {
		// Only handlers are reset, to SIG_DFL with no flags; the old
		// handler's address is not kept.
		c.resets = r.ResetMask
		c.From = Setup{Disposition: DispHandler}
		c.To = Setup{}
		sig = ev.NextReset()
		if sig == 0 {
			return fmt.Errorf("exec disposition record resets no signal")
		}
		return nil
	}
	if sig < 1 || sig > 64 {
		return fmt.Errorf("disposition record of signal %d, out of range 1..64", sig)
	}
	ev.setChangeSig(sig)
	return nil
}

// NextReset moves an exec's disposition event on to the next signal the
// exec reset, and returns it (0 when there is none left, or for any other
// event).
func (ev *Event) NextReset() int {
	c := &ev.Disposition
	if ev.Type != TypeDisposition || c.resets == 0 {
		return 0
	}
	sig := bits.TrailingZeros64(c.resets) + 1
	c.resets &= c.resets - 1
	ev.setChangeSig(sig)
	return sig
}

func (ev *Event) setChangeSig(sig int) {
	ev.Sig = sig
	act := signals.DefaultAction(sig)
	ev.Disposition.From.DefaultAction = act
	ev.Disposition.To.DefaultAction = act
	ev.Disposition.Fatal = ev.Disposition.To.Disposition == DispDefault && act.Kills()
}
