package tracer

import "testing"

// Hooks for the external test package (bench_test.go), which renders what
// Decode produces and so imports output, which imports this package.

// RawSample is one ring-buffer sample, laid out as the BPF side writes it.
type RawSample struct {
	Name string
	Raw  []byte
}

// RawSamples returns one sample of each kind a trace sees.
func RawSamples(tb testing.TB) []RawSample {
	pk, pkd := pkillEvent()
	segv := sigtraceEvent{
		TsNs: sampleTs, Type: uint32(sigtraceEventTypeEV_GENERATE), Sig: 11, Code: 1,
		SenderPid: 6000, SenderTid: 6001, SenderUid: 1000, SenderComm: sampleComm("crashy"),
		TargetPid: 6000, TargetTid: 6001, TargetUid: 1000, TargetComm: sampleComm("crashy"),
	}
	deliver := sigtraceEvent{
		TsNs: sampleTs, Type: uint32(sigtraceEventTypeEV_DELIVER), Sig: 10, Code: -6, SiPid: 5001,
		Handler: 0x401136, SaFlags: 0x14000004,
		TargetPid: 3003, TargetTid: 3010, TargetUid: 998, TargetComm: sampleComm("logdeviced"),
	}
	dying := deliver
	dying.Sig, dying.Code, dying.Handler, dying.SaFlags = 9, 0, 0, 0
	dying.Flags = fNoInfo | fGroupExit
	dying.ExitCode = 0x8b
	// rt_sigqueueinfo() lets a process pick any negative si_code but
	// SI_TKILL: one with no name.
	custom, customd := pkillEvent()
	custom.Sig, custom.Code = 40, -42
	return []RawSample{
		{"generate with detail", rawSample(tb, pk, &pkd, 0)},
		{"generate, kernel origin", rawSample(tb, segv, nil, 0)},
		{"deliver", rawSample(tb, deliver, nil, 0)},
		{"deliver, group exit", rawSample(tb, dying, nil, 0)},
		{"generate, unnamed si_code", rawSample(tb, custom, &customd, 0)},
	}
}
