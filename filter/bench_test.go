package filter

import "testing"

// BenchmarkMatch: typical filters on a generate event, 0 allocs/op.
func BenchmarkMatch(b *testing.B) {
	for _, bc := range []struct{ name, expr string }{
		{"sig", `sig == SIGHUP`},
		{"sig_and_comm", `sig == SIGHUP && target.comm == "logdeviced"`},
		{"type", `type == "exit"`},
		{"uid_and_set", `sender.uid != 0 && sig in [SIGTERM, SIGKILL, SIGHUP]`},
		{"matches", `target.comm matches "^nginx"`},
		{"verdict_unprepared", `verdict == "fatal" && unprepared`},
		{"or_of_four", `sig == SIGTERM || target.pid == 7 || sender.comm == "kill" || verdict == "stop"`},
		{"in_argv", `"x" in sender.argv`},
		{"in_ancestry", `"systemd" in sender.ancestry.comm`},
	} {
		f, err := Compile(bc.expr)
		if err != nil {
			b.Fatal(err)
		}
		ev := hupFatal
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f.Match(&ev)
			}
		})
	}
}

// TestMatchDoesNotAllocate holds the benchmark's filters to no allocation
// per event on every fixture.
func TestMatchDoesNotAllocate(t *testing.T) {
	for _, expr := range []string{
		`sig == SIGHUP && target.comm == "logdeviced"`,
		`type == "exit"`,
		`sender.uid != 0 && sig in [SIGTERM, SIGKILL]`,
		`target.comm matches "^nginx"`,
		`verdict == "fatal" && unprepared`,
		`"sh" in sender.ancestry.comm || "x" in sender.argv || target.comm in ["a", "b", "c", "d", "e", "f", "g", "h", "i"]`,
	} {
		f, err := Compile(expr)
		if err != nil {
			t.Fatal(err)
		}
		for name, ev := range fixtures {
			if n := testing.AllocsPerRun(50, func() { f.Match(ev) }); n != 0 {
				t.Errorf("%s on %s: %v allocations", expr, name, n)
			}
		}
	}
}
