package tracer

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

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

// Decoder turns raw ring-buffer samples into Events. It converts the
// kernel's boot-time clock to wall time once, at creation.
type Decoder struct {
	bootWall int64 // wall-clock ns at boot
	killer   Event // scratch for an exit record's embedded killer
}

// NewDecoder measures the offset between CLOCK_BOOTTIME (what
// bpf_ktime_get_boot_ns() reads) and the wall clock.
func NewDecoder() *Decoder {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return &Decoder{bootWall: time.Now().UnixNano() - ts.Nano()}
}

// BootTime returns the wall-clock time of boot, as the decoder sees it.
func (d *Decoder) BootTime() time.Time { return time.Unix(0, d.bootWall) }

// Decode fills ev from one sample without allocating. raw must be a whole
// sample as the ring buffer delivered it (its storage is 8-byte aligned).
func (d *Decoder) Decode(raw []byte, ev *Event) error {
	if len(raw) < eventSize {
		return fmt.Errorf("%w: %d bytes, want at least %d", ErrShortRecord, len(raw), eventSize)
	}
	r := (*sigtraceEvent)(unsafe.Pointer(&raw[0]))
	flags := sigtraceEventFlags(r.Flags)

	*ev = Event{}
	ev.Time = time.Unix(0, d.bootWall+int64(r.TsNs))
	ev.Sig = int(r.Sig)
	ev.Code = r.Code
	ev.Handler = r.Handler
	ev.SAFlags = r.SaFlags
	ev.Disposition = DispositionOf(r.Handler)
	ev.DefaultAction = signals.DefaultAction(ev.Sig)
	ev.Target = Process{PID: r.TargetPid, TID: r.TargetTid, UID: r.TargetUid, HasUID: true}
	copyComm(&ev.Target.Comm, &r.TargetComm)

	switch sigtraceEventType(r.Type) {
	case sigtraceEventTypeEV_GENERATE:
		ev.Type = TypeGenerate
	case sigtraceEventTypeEV_DELIVER:
		ev.Type = TypeDeliver
		ev.Scope = ScopeThread
		if flags&sigtraceEventFlagsF_SYSCALL != 0 {
			ev.HasSyscall = true
			ev.SyscallNr = int(r.ScNr)
			ev.SyscallOutcome = RestartOutcome(r.ScRet, ev.Disposition, ev.SAFlags)
		}
		// group_exit_code is a wait status. A signal that kills the
		// group leaves its number in the low 7 bits (0x80: core
		// dumped); exit_group() leaves status<<8 there, and its other
		// threads take the same internal SIGKILL. That is no death by
		// a signal: only a signal number makes it a group exit.
		if sig := int(r.ExitCode & 0x7f); flags&sigtraceEventFlagsF_GROUP_EXIT != 0 && sig != 0 {
			ev.GroupExit = true
			ev.ExitSignal = sig
			ev.CoreDumped = r.ExitCode&0x80 != 0
		}
		return nil
	case sigtraceEventTypeEV_EXIT:
		return d.decodeExit(raw, r, flags, ev)
	default:
		return fmt.Errorf("unknown record type %d", r.Type)
	}

	if flags&sigtraceEventFlagsF_GROUP == 0 {
		ev.Scope = ScopeThread
	}
	ev.Result = Result(r.Result)
	ev.Blocked = flags&sigtraceEventFlagsF_BLOCKED != 0
	ev.Traced = flags&sigtraceEventFlagsF_TRACED != 0
	ev.SigWait = flags&sigtraceEventFlagsF_SIGWAIT != 0
	ev.Unkillable = flags&sigtraceEventFlagsF_UNKILLABLE != 0

	ev.KernelSender, ev.KernelReason = Origin(OriginInput{
		Sig:        ev.Sig,
		Code:       r.Code,
		NoInfo:     flags&sigtraceEventFlagsF_INFO_NOINFO != 0,
		Priv:       flags&sigtraceEventFlagsF_INFO_PRIV != 0,
		Group:      flags&sigtraceEventFlagsF_GROUP != 0,
		KThread:    flags&sigtraceEventFlagsF_SENDER_KTHREAD != 0,
		CurrentPID: r.SenderPid,
		TargetPID:  r.TargetPid,
	})
	if !ev.KernelSender {
		ev.Sender = Process{PID: r.SenderPid, TID: r.SenderTid, UID: r.SenderUid, HasUID: true}
		copyComm(&ev.Sender.Comm, &r.SenderComm)
		if flags&sigtraceEventFlagsF_DETAIL != 0 {
			if len(raw) < eventSize+detailSize {
				return fmt.Errorf("%w: %d bytes, want %d with sender detail", ErrShortRecord, len(raw), eventSize+detailSize)
			}
			d := (*sigtraceSenderDetail)(unsafe.Pointer(&raw[eventSize]))
			n := min(int(d.AncestryLen), len(d.Ancestry))
			for i := 0; i < n; i++ {
				ev.anc[i].PID = d.Ancestry[i].Pid
				copyComm(&ev.anc[i].Comm, &d.Ancestry[i].Comm)
			}
			ev.Sender.Ancestry = ev.anc[:n]
			al := min(int(d.ArgvLen), len(d.Argv))
			for i := 0; i < al; i++ {
				ev.argvBuf[i] = byte(d.Argv[i])
			}
			ev.Sender.Argv = ev.argvBuf[:al]
			ev.ArgvTruncated = flags&sigtraceEventFlagsF_ARGV_TRUNC != 0
		}
	}

	ev.Verdict = Judge(VerdictInput{
		Sig:         ev.Sig,
		Result:      ev.Result,
		Disposition: ev.Disposition,
		Blocked:     ev.Blocked,
		SigWait:     ev.SigWait,
		Unkillable:  ev.Unkillable,
	})
	return nil
}

func copyComm(dst *[16]byte, src *[16]int8) {
	for i, c := range src {
		dst[i] = byte(c)
	}
}

// decodeExit fills an exit event: the cause from group_exit_code, and the
// killer from the generate record the kernel kept for it.
func (d *Decoder) decodeExit(raw []byte, r *sigtraceEvent, flags sigtraceEventFlags, ev *Event) error {
	ev.Type = TypeExit
	ev.Scope = ScopeProcess
	ev.ExitSignal = int(r.ExitCode & 0x7f)
	ev.Sig = ev.ExitSignal
	ev.CoreDumped = r.ExitCode&0x80 != 0
	ev.DefaultAction = signals.DefaultAction(ev.Sig)
	ev.Disposition = DispDefault
	ev.Handler = 0
	if flags&sigtraceEventFlagsF_KILLER == 0 {
		return nil
	}
	killer := raw[eventSize:]
	if len(killer) < eventSize {
		return fmt.Errorf("%w: exit record of %d bytes has no room for its killer", ErrShortRecord, len(raw))
	}
	k := &d.killer
	if err := d.Decode(killer, k); err != nil {
		return fmt.Errorf("exit record's killer: %w", err)
	}
	ev.KillerKnown = true
	ev.Code = k.Code
	ev.KernelSender, ev.KernelReason = k.KernelSender, k.KernelReason
	ev.Sender = k.Sender
	ev.anc = k.anc
	ev.Sender.Ancestry = ev.anc[:len(k.Sender.Ancestry)]
	ev.argvBuf = k.argvBuf
	if k.Sender.Argv != nil {
		ev.Sender.Argv = ev.argvBuf[:len(k.Sender.Argv)]
	}
	ev.ArgvTruncated = k.ArgvTruncated
	ev.Disposition = k.Disposition
	ev.Handler = k.Handler
	ev.Scope = k.Scope
	return nil
}
