package tracer

import (
	"errors"
	"fmt"
)

// CountKeys says which fields generate events (and deliveries, but for
// SIGKILL's) are counted by in the kernel (Options.CountKeys): a signal
// storm then costs a per-CPU map update per signal and no ring-buffer
// copy. Only fields the kernel has
// as it sends: the signal, the sender's and target's process ids, uids
// and names. The sender is current, the task in whose context the signal
// was generated, even when the kernel raised it (a fault, a timer): a
// caller that shows kernel senders apart must count in Go.
type CountKeys uint32

const (
	CountSig        = CountKeys(sigtraceCountFieldsCK_SIG)
	CountSenderPID  = CountKeys(sigtraceCountFieldsCK_SENDER_PID)
	CountTargetPID  = CountKeys(sigtraceCountFieldsCK_TARGET_PID)
	CountSenderUID  = CountKeys(sigtraceCountFieldsCK_SENDER_UID)
	CountTargetUID  = CountKeys(sigtraceCountFieldsCK_TARGET_UID)
	CountSenderComm = CountKeys(sigtraceCountFieldsCK_SENDER_COMM)
	CountTargetComm = CountKeys(sigtraceCountFieldsCK_TARGET_COMM)
	countAll        = CountSig | CountSenderPID | CountTargetPID | CountSenderUID | CountTargetUID | CountSenderComm | CountTargetComm
	// MaxCountKeys is how many distinct keys the kernel can count; a key
	// beyond is counted as lost (Stats.CountFull).
	MaxCountKeys = int(sigtraceCountFieldsMAX_COUNT_KEYS)
)

// CountKey is one key of the kernel's counts; the fields not asked for
// are zero. Type is TypeGenerate or TypeDeliver.
type CountKey struct {
	Type                   EventType
	Sig                    int
	SenderPID, TargetPID   uint32
	SenderUID, TargetUID   uint32
	SenderComm, TargetComm [16]byte
}

// ErrNotCounting is returned by Counts when the tracer does not count in
// the kernel.
var ErrNotCounting = errors.New("not counting in the kernel")

// Counts calls fn with every key counted so far and its total since the
// tracer started (the map is never reset: take differences for
// intervals). Safe to call while Run reads.
func (t *Tracer) Counts(fn func(k *CountKey, n uint64)) error {
	if !t.counting {
		return ErrNotCounting
	}
	var (
		key  sigtraceCountKey
		per  []uint64
		ck   CountKey
		iter = t.objs.Counts.Iterate()
	)
	for iter.Next(&key, &per) {
		var n uint64
		for _, v := range per {
			n += v
		}
		ck = CountKey{Type: TypeGenerate, Sig: int(key.Sig), SenderPID: key.SenderPid, TargetPID: key.TargetPid,
			SenderUID: key.SenderUid, TargetUID: key.TargetUid}
		if sigtraceEventType(key.Type) == sigtraceEventTypeEV_DELIVER {
			ck.Type = TypeDeliver
		}
		copyComm(&ck.SenderComm, &key.SenderComm)
		copyComm(&ck.TargetComm, &key.TargetComm)
		fn(&ck, n)
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("reading the kernel's counts: %w", err)
	}
	return nil
}
