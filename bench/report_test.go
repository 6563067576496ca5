package bench

import (
	"errors"
	"testing"
)

func TestLostStr(t *testing.T) {
	for _, c := range []struct {
		lost        int64
		lossy, runs int
		want        string
	}{
		{0, 0, 5, "0"},
		{19092, 1, 5, "19092 (1 of 5 runs)"},
		{7, 5, 5, "7 (5 of 5 runs)"},
	} {
		if got := lostStr(c.lost, c.lossy, c.runs); got != c.want {
			t.Errorf("lostStr(%d, %d, %d) = %q, want %q", c.lost, c.lossy, c.runs, got, c.want)
		}
	}
}

// A row's lost count says in how many of its runs events were lost, and
// failed pairs count in neither.
func TestRowStatsLossyRuns(t *testing.T) {
	run := func(lost int64) Pair {
		return Pair{
			Alone:  stormResult{signals: 1000, elapsedNs: 1e6},
			Traced: stormResult{signals: 1000, elapsedNs: 2e6},
			Tracer: tracerExit{lost: lost},
			Events: 1000,
		}
	}
	failed := run(99)
	failed.Err = errTest
	r := Row{Pairs: []Pair{run(0), run(10), run(0), run(5), failed}}
	st := r.Stats()
	if st.Lost != 15 || st.LossyRuns != 2 || st.OK != 4 || st.Failed != 1 {
		t.Errorf("Lost %d, LossyRuns %d, OK %d, Failed %d; want 15, 2, 4, 1", st.Lost, st.LossyRuns, st.OK, st.Failed)
	}
}

var errTest = errors.New("storm failed")
