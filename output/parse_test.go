package output

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/tracer"
)

// TestParseRoundTrip: what AppendJSON writes of every fixture, Parse reads
// back to an event that AppendJSON writes the same, and the table renders
// the same row of.
func TestParseRoundTrip(t *testing.T) {
	p := NewParser()
	for _, f := range fixtures() {
		line := AppendJSON(nil, &f.ev)
		var ev tracer.Event
		if err := p.Parse(line, &ev); err != nil {
			t.Errorf("%s: %v\n%s", f.name, err, line)
			continue
		}
		if again := AppendJSON(nil, &ev); string(again) != string(line) {
			t.Errorf("%s: read back and written again:\n got %s\nwant %s", f.name, again, line)
		}
		tb := &Table{}
		if got, want := tb.AppendRow(nil, &ev), tb.AppendRow(nil, &f.ev); string(got) != string(want) {
			t.Errorf("%s: the table row of what was read back:\n got %q\nwant %q", f.name, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	p := NewParser()
	gen := `{"time":"2026-03-14T00:00:01.123456789Z","type":"generate","signal":{"num":1,"name":"SIGHUP"},"code":"SI_USER","sender":{"pid":1,"tid":1,"comm":"a"},"target":{"pid":2,"tid":2,"comm":"b"},"scope":"process","result":"delivered","disposition":"default","default_action":"terminate","blocked":false,"verdict":"fatal","fatal":true,"unprepared":true}`
	for _, tc := range []struct {
		name, line, want string
		notEvent         bool
	}{
		{"header", `{"type":"header","schema":1}`, "not an event", true},
		{"unknown type", `{"type":"thunderstorm","time":"2026-03-14T00:00:01Z"}`, "not an event", true},
		{"not JSON", `{"type":`, "invalid JSON", false},
		{"bad time", strings.Replace(gen, "2026-03-14T00:00:01.123456789Z", "yesterday", 1), "time", false},
		{"bad signal", strings.Replace(gen, `"num":1`, `"num":99`, 1), "signal", false},
		{"bad verdict", strings.Replace(gen, `"verdict":"fatal"`, `"verdict":"doomed"`, 1), `verdict: unknown value "doomed"`, false},
		{"code of another signal", strings.Replace(gen, `"SI_USER"`, `"SEGV_MAPERR"`, 1), "no si_code of SIGHUP", false},
		{"no sender", strings.Replace(gen, `"sender":{"pid":1,"tid":1,"comm":"a"},`, "", 1), "no sender", false},
	} {
		var ev tracer.Event
		err := p.Parse([]byte(tc.line), &ev)
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrNotEvent) != tc.notEvent {
			t.Errorf("%s: %v, want an error with %q (not an event: %v)", tc.name, err, tc.want, tc.notEvent)
		}
	}
	var ev tracer.Event
	if err := p.Parse([]byte(gen), &ev); err != nil || ev.Generate.Sender.PID != 1 || !ev.Generate.Fatal {
		t.Errorf("the good line: %v %+v", err, ev.Generate)
	}
}

func BenchmarkParse(b *testing.B) {
	line := AppendJSON(nil, &fixtures()[0].ev)
	p := NewParser()
	var ev tracer.Event
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Parse(line, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRedactArgv: what --redact-argv matches is masked in every argv the
// JSON writes (the sender's, through the detail cache too, and a
// re-raise's original's), and nothing else changes.
func TestRedactArgv(t *testing.T) {
	re := regexp.MustCompile(`(--password=|token:)\S+`)
	ev := tracer.Event{Type: tracer.TypeGenerate, Sig: 1, Time: time.Unix(1, 0)}
	ev.Generate.Sender = tracer.Process{PID: 1, TID: 1, Argv: []byte("mysql\x00--password=hunter2\x00-e\x00token:abc select\x00")}
	ev.Generate.DetailID = 7
	ev.Generate.ReraiseOf = &tracer.Original{Time: time.Unix(0, 0), From: tracer.From{Sender: ev.Generate.Sender}}
	r := NewJSONRedacting(re)
	for i := range 2 { // the second from the detail cache
		line := string(r.AppendRow(nil, &ev))
		if strings.Contains(line, "hunter2") || strings.Contains(line, "abc") {
			t.Errorf("round %d: a secret is in %s", i, line)
		}
		if strings.Count(line, `["mysql","***","-e","*** select"]`) != 2 {
			t.Errorf("round %d: argv not masked as asked in %s", i, line)
		}
	}
	if line := string(AppendJSON(nil, &ev)); !strings.Contains(line, "hunter2") {
		t.Errorf("an unredacting writer masked: %s", line)
	}
}
