package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/record"
	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tracer"
)

// TestReportSince: report --why says since when the dead process had no
// handler: from the exit's default_since, with the recorded change's old
// handler; from the recorded change alone; or that it is not known.
func TestReportSince(t *testing.T) {
	base := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	var comm [16]byte
	copy(comm[:], "logdeviced")
	proc := tracer.Process{PID: 812, TID: 812, Comm: comm, UID: 0, HasUID: true}
	change := tracer.Event{Time: base, Type: tracer.TypeDisposition, Sig: 1, Target: proc,
		Disposition: tracer.Change{Cause: tracer.CauseSigaction, From: tracer.Setup{Disposition: tracer.DispHandler, Handler: 0x401000}, Fatal: true}}
	exit := func(since bool) tracer.Event {
		ev := tracer.Event{Time: base.Add(48 * time.Hour), Type: tracer.TypeExit, Sig: 1, Target: proc,
			Exit: tracer.Exit{Setup: tracer.Setup{DefaultAction: signals.Terminate}}}
		if since {
			ev.Exit.DefaultSince = tracer.Since{Known: true, Time: base, Cause: tracer.CauseSigaction}
		}
		return ev
	}
	for _, tc := range []struct {
		name string
		evs  []tracer.Event
		want string
	}{
		{"since, from the exit", []tracer.Event{change, exit(true)}, "It had no SIGHUP handler since 2026-03-14T10:00:00Z, when it set SIG_DFL with sigaction (its handler was 0x401000)."},
		{"since, from the exit alone", []tracer.Event{exit(true)}, "It had no SIGHUP handler since 2026-03-14T10:00:00Z, when it set SIG_DFL with sigaction.\n"},
		{"from the recorded change", []tracer.Event{change, exit(false)}, "It had no SIGHUP handler since 2026-03-14T10:00:00Z, when it set SIG_DFL with sigaction (handler → default)."},
		{"not known", []tracer.Event{exit(false)}, "Since when it had no SIGHUP handler is not known"},
	} {
		h, err := record.NewHeader("test", "")
		if err != nil {
			t.Fatal(err)
		}
		h.Seq, h.Start = 1, base
		rec := h.Marshal()
		for i := range tc.evs {
			rec = output.AppendJSON(rec, &tc.evs[i])
		}
		path := filepath.Join(t.TempDir(), "rec.jsonl")
		if err := os.WriteFile(path, rec, 0o600); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := reportWhy(&out, "812", []string{path}, false); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("%s: story lacks %q:\n%s", tc.name, tc.want, out.String())
		}
	}
}
