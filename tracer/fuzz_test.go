package tracer

import (
	"errors"
	"testing"
)

// FuzzDecode holds the ring-record decoder to what it must do with any
// bytes (issue 19, item 4): never panic, refuse a record too short for
// what it announces or longer than its kind, refuse a type or signal out
// of range, and give an event whose fields are within their ranges. The
// kernel side writes these records, but a decoder that trusts lengths is
// one bug away from reading another record's bytes as a sender's argv.
func FuzzDecode(f *testing.F) {
	gen, det := pkillEvent()
	full := rawSample(f, gen, &det, 0)
	f.Add(full)
	gen.Flags = fGroup
	f.Add(rawSample(f, gen, nil, 0))
	gen.Flags = fGroup | fDetail
	f.Add(rawSample(f, gen, &det, 40)) // cut inside the detail
	deliver := sigtraceEvent{Type: uint32(sigtraceEventTypeEV_DELIVER), Sig: 9, ExitCode: 0x8b,
		Flags: uint32(sigtraceEventFlagsF_GROUP_EXIT | sigtraceEventFlagsF_INFO_NOINFO), TargetPid: 7, TargetTid: 8}
	f.Add(rawSample(f, deliver, nil, 0))
	exit := sigtraceEvent{Type: uint32(sigtraceEventTypeEV_EXIT), Sig: 1, ExitCode: 1, Flags: uint32(sigtraceEventFlagsF_KILLER), TargetPid: 3003}
	gen.Flags = fGroup | fDetail
	f.Add(aligned(rawSample(f, exit, nil, 0), exitTail(0, 0), full))
	exit.Flags = 0
	f.Add(aligned(rawSample(f, exit, nil, 0), exitTail(1e9, 1)))
	f.Add(dispSample(f, sigtraceDispRecord{Sig: 1, Cause: uint32(sigtraceDispCauseDC_SIGACTION), FromHandler: 0x401000}))
	f.Add(dispSample(f, sigtraceDispRecord{Cause: uint32(sigtraceDispCauseDC_EXEC), ResetMask: 1<<9 | 1<<1}))
	f.Add([]byte{})
	f.Add(make([]byte, eventSize-1))

	dec := NewDecoder()
	f.Fuzz(func(t *testing.T, in []byte) {
		// The ring hands over 8-byte aligned samples.
		raw := aligned(in)
		var ev Event
		err := dec.Decode(raw, &ev)
		if len(in) < eventSize {
			if !errors.Is(err, ErrShortRecord) {
				t.Fatalf("%d bytes: %v, want ErrShortRecord", len(in), err)
			}
			return
		}
		if err != nil {
			return
		}
		// A record is never longer than its struct: 8 bytes more are
		// refused, before anything of it is kept.
		if err := dec.Decode(aligned(in, make([]byte, 8)), &Event{}); !errors.Is(err, ErrLongRecord) {
			t.Fatalf("%d bytes decoded, and 8 more: %v, want ErrLongRecord", len(in), err)
		}
		switch ev.Type {
		case TypeGenerate, TypeDeliver, TypeExit, TypeDisposition:
		default:
			t.Fatalf("decoded to type %v", ev.Type)
		}
		if ev.Sig < 1 || ev.Sig > 64 {
			t.Fatalf("signal %d", ev.Sig)
		}
		if len(ev.Target.Argv) > argvLen || len(ev.Target.Ancestry) > maxAncestry {
			t.Fatalf("target argv of %d bytes, %d ancestors: past the record", len(ev.Target.Argv), len(ev.Target.Ancestry))
		}
		if f := ev.From(); f != nil && (len(f.Sender.Argv) > argvLen || len(f.Sender.Ancestry) > maxAncestry) {
			t.Fatalf("argv of %d bytes, %d ancestors: past the record", len(f.Sender.Argv), len(f.Sender.Ancestry))
		}
		for _, c := range [][16]byte{ev.Target.Comm, ev.Target.ThreadComm, ev.Generate.Sender.Comm} {
			if c[15] != 0 {
				t.Fatalf("comm %q has no NUL", c)
			}
		}
		// Whatever was decoded renders: the enum names are all in
		// range.
		_ = ev.Type.String() + ev.Scope.String() + ev.Generate.Result.String() + ev.Generate.Kind.String() +
			ev.Deliver.KillCause.String() + ev.Deliver.SyscallOutcome.String() + ev.Generate.GroupSend.String() +
			ev.Generate.Disposition.String() + ev.Deliver.Disposition.String() + ev.Exit.Disposition.String()
	})
}
