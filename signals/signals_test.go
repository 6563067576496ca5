package signals

import (
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNameClassicMatchesXSys(t *testing.T) {
	for sig := 1; sig <= 31; sig++ {
		want := unix.SignalName(syscall.Signal(sig))
		if want == "" {
			t.Fatalf("x/sys/unix has no name for %d: the test's reference is broken", sig)
		}
		if got := Name(sig); got != want {
			t.Errorf("Name(%d) = %q, want %q", sig, got, want)
		}
	}
}

func TestNameRealTime(t *testing.T) {
	for _, tc := range []struct {
		sig  int
		want string
	}{
		{32, "SIG32"},
		{33, "SIG33"},
		{34, "SIGRTMIN"},
		{35, "SIGRTMIN+1"},
		{37, "SIGRTMIN+3"},
		{49, "SIGRTMIN+15"},
		{50, "SIGRTMAX-14"},
		{62, "SIGRTMAX-2"},
		{63, "SIGRTMAX-1"},
		{64, "SIGRTMAX"},
		// Not signals: still a readable name, never "" or a panic.
		{0, "SIG0"},
		{65, "SIG65"},
		{-1, "SIG-1"},
	} {
		if got := Name(tc.sig); got != tc.want {
			t.Errorf("Name(%d) = %q, want %q", tc.sig, got, tc.want)
		}
	}
}

// kill -l's naming: every number 1..64 has exactly one name and they are
// all different.
func TestNameUniqueAndRoundTrip(t *testing.T) {
	seen := map[string]int{}
	for sig := 1; sig <= Max; sig++ {
		name := Name(sig)
		if !strings.HasPrefix(name, "SIG") || len(name) < 4 {
			t.Errorf("Name(%d) = %q: want SIG<something>", sig, name)
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("Name(%d) = Name(%d) = %q", sig, prev, name)
		}
		seen[name] = sig
		got, err := Parse(name)
		if err != nil || got != sig {
			t.Errorf("Parse(Name(%d) = %q) = %d, %v; want %d", sig, name, got, err, sig)
		}
		// Without the SIG prefix and in lower case, as people type it.
		short := strings.ToLower(strings.TrimPrefix(name, "SIG"))
		if got, err := Parse(short); err != nil || got != sig {
			t.Errorf("Parse(%q) = %d, %v; want %d", short, got, err, sig)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"HUP", 1},
		{"hup", 1},
		{"sighup", 1},
		{"SIGHUP", 1},
		{"SigHup", 1},
		{"1", 1},
		{" 9 ", 9},
		{"\tKILL\n", 9},
		{"64", 64},
		{"RTMIN", 34},
		{"RTMIN+3", 37},
		{"sigrtmin+3", 37},
		{"SIGRTMIN+30", 64},
		{"SIGRTMAX-2", 62},
		{"RTMAX", 64},
		{"RTMAX-30", 34},
		{"IOT", 6},
		{"SIGIOT", 6},
		{"POLL", 29},
		{"SIGPOLL", 29},
		{"CLD", 17},
		{"SIG40", 40},
		{"SIG32", 32},
		{"STKFLT", 16},
		{"PWR", 30},
		{"SYS", 31},
	} {
		got, err := Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		in      string
		mention string // the message must name the problem
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"0", "out of range"},
		{"65", "out of range"},
		{"-1", "out of range"},
		{"FOO", `"FOO"`},
		{"SIGFOO", `"SIGFOO"`},
		{"RTMIN+40", `"RTMIN+40"`},
		{"RTMIN+31", `"RTMIN+31"`},
		{"RTMAX+1", `"RTMAX+1"`},
		{"RTMIN-1", `"RTMIN-1"`},
		{"RTMIN3", `"RTMIN3"`},
		{"RTMIN+", `"RTMIN+"`},
		{"SIG0", `"SIG0"`},
		{"SIG65", `"SIG65"`},
		{"HUP,INT", `"HUP,INT"`},
	} {
		got, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) = %d, want an error", tc.in, got)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("Parse(%q) error has several lines: %q", tc.in, msg)
		}
		if !strings.Contains(msg, tc.mention) {
			t.Errorf("Parse(%q) error %q does not mention %s", tc.in, msg, tc.mention)
		}
	}
}

func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"HUP,USR1", []int{1, 10}},
		{"HUP", []int{1}},
		{"1, 2 ,RTMIN+3", []int{1, 2, 37}},
		{"HUP,,USR1,", []int{1, 10}},
		{"TERM,TERM", []int{15, 15}},
	} {
		got, err := ParseList(tc.in)
		if err != nil {
			t.Errorf("ParseList(%q): %v", tc.in, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("ParseList(%q) = %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("ParseList(%q) = %v, want %v", tc.in, got, tc.want)
				break
			}
		}
	}
	for _, tc := range []struct{ in, mention string }{
		{"", "empty"},
		{",", "empty"},
		{"HUP,FOO", `"FOO"`},
		{"FOO,HUP", `"FOO"`},
		{"HUP,0", "out of range"},
	} {
		got, err := ParseList(tc.in)
		if err == nil {
			t.Errorf("ParseList(%q) = %v, want an error", tc.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("ParseList(%q) error %q does not mention %s", tc.in, err, tc.mention)
		}
	}
}

// signal7 is the "Standard signals" table of signal(7) (Linux numbering on
// x86 and arm64), typed in by hand: it is the reference DefaultAction is
// checked against, so it must not be computed from the code under test.
var signal7 = map[int]Action{
	1:  Terminate, // SIGHUP
	2:  Terminate, // SIGINT
	3:  Core,      // SIGQUIT
	4:  Core,      // SIGILL
	5:  Core,      // SIGTRAP
	6:  Core,      // SIGABRT
	7:  Core,      // SIGBUS
	8:  Core,      // SIGFPE
	9:  Terminate, // SIGKILL
	10: Terminate, // SIGUSR1
	11: Core,      // SIGSEGV
	12: Terminate, // SIGUSR2
	13: Terminate, // SIGPIPE
	14: Terminate, // SIGALRM
	15: Terminate, // SIGTERM
	16: Terminate, // SIGSTKFLT
	17: Ignore,    // SIGCHLD
	18: Continue,  // SIGCONT
	19: Stop,      // SIGSTOP
	20: Stop,      // SIGTSTP
	21: Stop,      // SIGTTIN
	22: Stop,      // SIGTTOU
	23: Ignore,    // SIGURG
	24: Core,      // SIGXCPU
	25: Core,      // SIGXFSZ
	26: Terminate, // SIGVTALRM
	27: Terminate, // SIGPROF
	28: Ignore,    // SIGWINCH
	29: Terminate, // SIGIO / SIGPOLL
	30: Terminate, // SIGPWR
	31: Core,      // SIGSYS
	// "The default action for an unhandled real-time signal is to
	// terminate the receiving process." The kernel treats 32 and 33
	// (reserved by glibc) the same way.
}

func TestDefaultAction(t *testing.T) {
	for sig := 1; sig <= Max; sig++ {
		want, ok := signal7[sig]
		if !ok {
			want = Terminate
		}
		if got := DefaultAction(sig); got != want {
			t.Errorf("DefaultAction(%d %s) = %s, want %s", sig, Name(sig), got, want)
		}
		if got, wantKills := DefaultAction(sig).Kills(), want == Terminate || want == Core; got != wantKills {
			t.Errorf("DefaultAction(%d %s).Kills() = %v, want %v", sig, Name(sig), got, wantKills)
		}
	}
	// The incident list of the SPEC: signals people forget are fatal.
	for _, sig := range []int{1, 10, 12, 13, 14, 29, 27, 26, 30, 16, 34, 50, 64} {
		if DefaultAction(sig) != Terminate {
			t.Errorf("%s: default is %s, the SPEC lists it as terminating", Name(sig), DefaultAction(sig))
		}
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{
		Terminate: "terminate", Core: "core", Ignore: "ignore", Stop: "stop", Continue: "continue", Action(99): "unknown",
	} {
		if got := a.String(); got != want {
			t.Errorf("Action(%d).String() = %q, want %q", a, got, want)
		}
	}
}

func TestCatchable(t *testing.T) {
	for sig := 1; sig <= Max; sig++ {
		want := sig != 9 && sig != 19
		if got := Catchable(sig); got != want {
			t.Errorf("Catchable(%d %s) = %v, want %v", sig, Name(sig), got, want)
		}
	}
}

func TestCodeName(t *testing.T) {
	for _, tc := range []struct {
		sig  int
		code int32
		want string
	}{
		{1, 0, "SI_USER"},
		{15, 0, "SI_USER"},
		{14, 0x80, "SI_KERNEL"},
		{11, 0x80, "SI_KERNEL"}, // generic codes win over per-signal ones
		{10, -1, "SI_QUEUE"},
		{14, -2, "SI_TIMER"},
		{29, -3, "SI_MESGQ"},
		{29, -4, "SI_ASYNCIO"},
		{29, -5, "SI_SIGIO"},
		{10, -6, "SI_TKILL"},
		{9, -7, "SI_DETHREAD"},
		{10, -60, "SI_ASYNCNL"},
		{11, 1, "SEGV_MAPERR"},
		{11, 2, "SEGV_ACCERR"},
		{11, 10, "SEGV_CPERR"},
		{17, 1, "CLD_EXITED"},
		{17, 2, "CLD_KILLED"},
		{17, 6, "CLD_CONTINUED"},
		{7, 1, "BUS_ADRALN"},
		{7, 5, "BUS_MCEERR_AO"},
		{8, 1, "FPE_INTDIV"},
		{4, 1, "ILL_ILLOPC"},
		{5, 1, "TRAP_BRKPT"},
		{29, 1, "POLL_IN"},
		{31, 1, "SYS_SECCOMP"},
		// No name: the number, as a string.
		{1, 1, "1"},    // SIGHUP has no per-signal codes
		{34, 3, "3"},   // nor do real-time signals
		{11, 11, "11"}, // past the end of SIGSEGV's list
		{17, 7, "7"},   // past the end of CLD_*
		{1, -100, "-100"},
		{1, -8, "-8"},
		{1, 0x7f, "127"},
	} {
		if got := CodeName(tc.sig, tc.code); got != tc.want {
			t.Errorf("CodeName(%s, %d) = %q, want %q", Name(tc.sig), tc.code, got, tc.want)
		}
	}
}

func TestNamesDoNotAllocate(t *testing.T) {
	var sink string
	allocs := testing.AllocsPerRun(100, func() {
		for sig := 1; sig <= Max; sig++ {
			sink = Name(sig)
		}
		sink = CodeName(11, 1)
		sink = CodeName(1, 0)
		sink = CodeName(10, -6)
	})
	_ = sink
	if allocs != 0 {
		t.Errorf("Name/CodeName of known values: %v allocations per run, want 0", allocs)
	}
}

func TestLookupCode(t *testing.T) {
	for _, tc := range []struct {
		sig  int
		code int32
		name string
		ok   bool
	}{
		{1, 0, "SI_USER", true},
		{11, 1, "SEGV_MAPERR", true},
		{17, 6, "CLD_CONTINUED", true},
		{1, 1, "", false},
		{40, -42, "", false},
		{11, 11, "", false},
	} {
		name, ok := LookupCode(tc.sig, tc.code)
		if name != tc.name || ok != tc.ok {
			t.Errorf("LookupCode(%d, %d) = %q, %v; want %q, %v", tc.sig, tc.code, name, ok, tc.name, tc.ok)
		}
		// CodeName agrees, with the number for unnamed codes.
		if want := tc.name; ok && CodeName(tc.sig, tc.code) != want {
			t.Errorf("CodeName(%d, %d) = %q, want %q", tc.sig, tc.code, CodeName(tc.sig, tc.code), want)
		}
	}
	var sink string
	if allocs := testing.AllocsPerRun(100, func() { sink, _ = LookupCode(40, -42) }); allocs != 0 {
		t.Errorf("LookupCode of an unnamed code: %v allocations", allocs)
	}
	_ = sink
}

// LongestCodeName bounds every name LookupCode returns, and is reached.
func TestLongestCodeName(t *testing.T) {
	longest := ""
	for sig := 1; sig <= Max; sig++ {
		for code := int32(-200); code <= 200; code++ {
			name, ok := LookupCode(sig, code)
			if !ok {
				continue
			}
			if len(name) > LongestCodeName {
				t.Errorf("LookupCode(%d, %d) = %q, longer than LongestCodeName %d", sig, code, name, LongestCodeName)
			}
			if len(name) > len(longest) {
				longest = name
			}
		}
	}
	if len(longest) != LongestCodeName {
		t.Errorf("LongestCodeName = %d, but the longest name is %q (%d)", LongestCodeName, longest, len(longest))
	}
	if LongestCodeName < len("CLD_CONTINUED") {
		t.Errorf("LongestCodeName = %d, shorter than CLD_CONTINUED", LongestCodeName)
	}
}
