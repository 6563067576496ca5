package output

import (
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/tracer"
)

// TestLostShed: a lost record says how many of its records were shed to
// keep the ring's reserve for deaths, in JSON and in the table, and says
// nothing of it when none were.
func TestLostShed(t *testing.T) {
	for _, tc := range []struct {
		lost, shed      uint64
		json, tableHint string
	}{
		{12, 0, `"count":12}`, "events: the ring buffer was full (try"},
		{12, 10, `"count":12,"shed":10}`, "(10 of them shed to keep room for deaths)"},
	} {
		ev := &tracer.Event{Type: tracer.TypeLost, Time: time.Unix(0, 0), Lost: tc.lost, Shed: tc.shed}
		for _, format := range []string{"json", "table"} {
			r, err := New(format, false)
			if err != nil {
				t.Fatal(err)
			}
			got := string(r.AppendRow(nil, ev))
			want := tc.json
			if format == "table" {
				want = tc.tableHint
			}
			if !strings.Contains(got, want) {
				t.Errorf("%s of lost %d shed %d: %q, want it to contain %q", format, tc.lost, tc.shed, got, want)
			}
			if tc.shed == 0 && strings.Contains(got, "shed") {
				t.Errorf("%s: %q names shed records when there were none", format, got)
			}
		}
	}
}
