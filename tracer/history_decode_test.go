package tracer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

// dispSample is a disposition record as the kernel writes it.
func dispSample(t testing.TB, r sigtraceDispRecord) []byte {
	t.Helper()
	r.Type = uint32(sigtraceEventTypeEV_DISPOSITION)
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.NativeEndian, &r); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != dispSize {
		t.Fatalf("struct disp_record packs to %d bytes but is %d in memory: it has holes", buf.Len(), dispSize)
	}
	return aligned(buf.Bytes())
}

func TestDecodeDisposition(t *testing.T) {
	var comm [16]int8
	for i, c := range "logdeviced" {
		comm[i] = int8(c)
	}
	var argv [argvLen]int8
	for i, c := range "/usr/sbin/logdeviced\x00-f\x00" {
		argv[i] = int8(c)
	}
	sigaction := sigtraceDispRecord{TsNs: 5e9, Sig: 1, Cause: uint32(sigtraceDispCauseDC_SIGACTION), FromHandler: 0x401000,
		FromFlags: 0x14000000, Pid: 812, Tid: 813, Uid: 998, Comm: comm, ThreadComm: comm,
		D: sigtraceSenderDetail{ArgvLen: 24, Argv: argv, AncestryLen: 1, Ancestry: [maxAncestry]sigtraceAncestor{{Pid: 1}}}}
	dec := NewDecoder()
	var ev Event
	if err := dec.Decode(dispSample(t, sigaction), &ev); err != nil {
		t.Fatal(err)
	}
	c := ev.Disposition
	if ev.Type != TypeDisposition || ev.Sig != 1 || c.Cause != CauseSigaction || c.From.Disposition != DispHandler ||
		c.From.Handler != 0x401000 || c.From.SAFlags != 0x14000000 || c.To.Disposition != DispDefault || !c.Fatal ||
		ev.Target.PID != 812 || ev.Target.TID != 813 || ev.Target.CommString() != "logdeviced" ||
		string(ev.Target.Argv) != "/usr/sbin/logdeviced\x00-f\x00" || len(ev.Target.Ancestry) != 1 {
		t.Errorf("sigaction record decoded to %+v", ev)
	}
	if ev.NextReset() != 0 {
		t.Error("a sigaction record has no further signals")
	}

	// An exec's record: one event per signal of its mask, lowest first.
	exec := sigactionWith(sigaction, func(r *sigtraceDispRecord) {
		r.Sig, r.Cause, r.FromHandler, r.ResetMask = 0, uint32(sigtraceDispCauseDC_EXEC), 0, 1<<0|1<<9|1<<63
	})
	if err := dec.Decode(dispSample(t, exec), &ev); err != nil {
		t.Fatal(err)
	}
	var sigs []int
	for sig := ev.Sig; sig != 0; sig = ev.NextReset() {
		if ev.Disposition.Cause != CauseExec || ev.Disposition.From.Disposition != DispHandler || !ev.Disposition.Fatal {
			t.Errorf("exec reset of %d: %+v", sig, ev.Disposition)
		}
		sigs = append(sigs, ev.Sig)
	}
	if len(sigs) != 3 || sigs[0] != 1 || sigs[1] != 10 || sigs[2] != 64 {
		t.Errorf("exec resets %v, want [1 10 64]", sigs)
	}

	// A change that leaves SIGCHLD at the default is not fatal.
	chld := sigactionWith(sigaction, func(r *sigtraceDispRecord) { r.Sig = 17 })
	if err := dec.Decode(dispSample(t, chld), &ev); err != nil || ev.Disposition.Fatal {
		t.Errorf("SIGCHLD to default: fatal=%v (%v)", ev.Disposition.Fatal, err)
	}

	for _, tc := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"short", dispSample(t, sigaction)[:dispSize-1], "short record"},
		{"no cause", dispSample(t, sigactionWith(sigaction, func(r *sigtraceDispRecord) { r.Cause = 0 })), "cause 0"},
		{"signal out of range", dispSample(t, sigactionWith(sigaction, func(r *sigtraceDispRecord) { r.Sig = 65 })), "out of range"},
		{"exec resetting nothing", dispSample(t, sigactionWith(exec, func(r *sigtraceDispRecord) { r.ResetMask = 0 })), "resets no signal"},
		{"argv past its bound", dispSample(t, sigactionWith(sigaction, func(r *sigtraceDispRecord) { r.D.ArgvLen = 60000; r.D.AncestryLen = 200 })), ""},
	} {
		err := dec.Decode(tc.raw, &ev)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == "" && (len(ev.Target.Argv) > argvLen || len(ev.Target.Ancestry) > maxAncestry):
			t.Errorf("%s: argv %d bytes, %d ancestors", tc.name, len(ev.Target.Argv), len(ev.Target.Ancestry))
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		case tc.name == "short" && !errors.Is(err, ErrShortRecord):
			t.Errorf("short: %v is no ErrShortRecord", err)
		}
	}
}

func sigactionWith(r sigtraceDispRecord, f func(*sigtraceDispRecord)) sigtraceDispRecord {
	f(&r)
	return r
}

// TestDecodeExitSince: an exit record's since fields give Exit.DefaultSince
// only where sigaction changes are seen (else a later one may have been
// missed), with the cause the kernel named.
func TestDecodeExitSince(t *testing.T) {
	exit := sigtraceEvent{Type: uint32(sigtraceEventTypeEV_EXIT), Sig: 1, ExitCode: 1, TargetPid: 812, TargetTid: 812}
	raw := aligned(rawSample(t, exit, nil, 0), exitTail(3e9, uint32(sigtraceDispCauseDC_EXEC)))
	for _, valid := range []bool{false, true} {
		dec := NewDecoder()
		dec.sinceValid = valid
		var ev Event
		if err := dec.Decode(raw, &ev); err != nil {
			t.Fatal(err)
		}
		s := ev.Exit.DefaultSince
		if s.Known != valid {
			t.Errorf("sinceValid %v: Known %v", valid, s.Known)
		}
		if valid && (s.Cause != CauseExec || !s.Time.Equal(dec.clock.at(3e9)) || s.Time.After(time.Now())) {
			t.Errorf("since %+v", s)
		}
	}
	dec := NewDecoder()
	dec.sinceValid = true
	var ev Event
	bad := aligned(rawSample(t, exit, nil, 0), exitTail(3e9, 9))
	if err := dec.Decode(bad, &ev); err == nil || !strings.Contains(err.Error(), "since cause") {
		t.Errorf("cause 9: %v", err)
	}
}
