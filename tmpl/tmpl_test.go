package tmpl

import (
	"strings"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/tracer"
)

func comm(s string) (c [16]byte) {
	copy(c[:], s)
	return c
}

// generate is kill[10] ← sh ← systemd sending SIGUSR2 to app[20].
func generate() tracer.Event {
	return tracer.Event{
		Time:   time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC),
		Type:   tracer.TypeGenerate,
		Sig:    12,
		Code:   0,
		Target: tracer.Process{PID: 20, TID: 20, Comm: comm("app")},
		Generate: tracer.Generate{From: tracer.From{Sender: tracer.Process{PID: 10, TID: 10, Comm: comm("kill"), Argv: []byte("kill\x00-USR2\x0020\x00"),
			Ancestry: []tracer.Ancestor{{PID: 9, Comm: comm("sh")}, {PID: 1, Comm: comm("systemd")}}}}, Verdict: tracer.Verdict{Kind: tracer.VerdictFatal, Fatal: true, Unprepared: true}},
	}
}

func deliver() tracer.Event {
	return tracer.Event{
		Time:    time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		Type:    tracer.TypeDeliver,
		Sig:     12,
		Target:  tracer.Process{PID: 20, TID: 21, Comm: comm("app")},
		Deliver: tracer.Deliver{HasLatency: true, LatencyNs: 12345},
	}
}

func TestRender(t *testing.T) {
	gen, del := generate(), deliver()
	evil := generate()
	evil.Generate.Sender.Comm = comm("a\x1b[31mb\\")
	kernel := generate()
	kernel.Generate.KernelSender, kernel.Generate.KernelReason = true, "timer"
	for _, tc := range []struct {
		name, tmpl string
		ev         *tracer.Event
		want       string
		compiled   bool
	}{
		{"issue", "{{.sender.comm}}>{{.target.comm}}:{{.signal.name}}", &gen, "kill>app:SIGUSR2", true},
		{"numbers", "{{.sig}} {{.signal.num}} {{.sender.pid}} {{.fatal}}", &gen, "12 12 10 true", true},
		{"absent", "[{{.latency_ns}}]", &gen, "[]", true},
		{"deliver", "{{.type}} {{.latency_ns}} {{dur .latency_ns}} {{.latency_ns | dur}}", &del, "deliver 12345 12.3µs 12.3µs", true},
		{"time", `{{time .time}} {{time "2006-01-02" .time}} {{.time | time "15:04"}} {{time "unix" .time}}`, &gen, "07:08:09.123456 2024-05-06 07:08 1714979289.123456789", true},
		{"time raw", "{{.time}}", &gen, "2024-05-06T07:08:09.123456789Z", true},
		{"list", "{{.sender.argv}}|{{.sender.ancestry.comm}}|{{.sender.ancestry.pid}}", &gen, "kill,-USR2,20|sh,systemd|9,1", true},
		{"join", `{{join " " .sender.argv}}|{{.sender.ancestry.comm | join " <- "}}|{{join "/" .sender.ancestry}}`, &gen, "kill -USR2 20|sh <- systemd|sh[9]/systemd[1]", true},
		{"chain", `{{chain .sender}}|{{chain " < " .sender}}|{{.sender.ancestry}}`, &gen, "kill[10] ← sh[9] ← systemd[1]|kill[10] < sh[9] < systemd[1]|sh[9] ← systemd[1]", true},
		{"chain kernel", `{{chain .sender}}`, &kernel, "kernel (timer)", true},
		{"json", `{"s":{{json .sender.comm}},"n":{{json .sig}},"a":{{json .sender.argv}},"l":{{json .latency_ns}},"t":{{json .time}}}`, &gen,
			`{"s":"kill","n":12,"a":["kill","-USR2","20"],"l":null,"t":"2024-05-06T07:08:09.123456789Z"}`, true},
		{"if", "{{if .fatal}}FATAL{{else}}ok{{end}} {{if .latency_ns}}late{{else}}-{{end}}", &gen, "FATAL -", true},
		{"if deliver", "{{if .fatal}}FATAL{{else}}ok{{end}} {{if .latency_ns}}late{{end}}", &del, "ok late", true},
		{"comment", "a{{/* c */}}b", &gen, "ab", true},
		{"sanitised", "{{.sender.comm}}", &evil, `a\x1b[31mb\\`, true},
		{"json sanitised", "{{json .sender.comm}}", &evil, `"a\u001b[31mb\\"`, true},
		{"chain sanitised", "{{chain .sender}}", &evil, `a\x1b[31mb\\[10] ← sh[9] ← systemd[1]`, true},
		// The rest of text/template runs in text/template itself.
		{"printf", `{{printf "%-6s|" .sender.comm}}`, &gen, "kill  |", false},
		{"eq", `{{if eq .signal.name "SIGUSR2"}}usr2{{end}}`, &gen, "usr2", false},
		{"range", `{{range .sender.ancestry}}{{.comm}}:{{.pid}} {{end}}`, &gen, "sh:9 systemd:1 ", false},
		{"with", `{{with .sender}}{{.comm}}[{{.pid}}]{{end}}`, &gen, "kill[10]", false},
		{"variable", `{{$s := .sender.comm}}{{$s}}`, &gen, "kill", false},
		{"fallback sanitised", `{{printf "%s" .sender.comm}} {{.sender.comm}} {{json .sender.comm}}`, &evil, `a\x1b[31mb\\ a\x1b[31mb\\ "a\u001b[31mb\\"`, false},
		{"fallback helpers", `{{printf "%s" (chain .sender)}} {{join "," .sender.argv}} {{time .time}} {{dur .latency_ns}}`, &gen, "kill[10] ← sh[9] ← systemd[1] kill,-USR2,20 07:08:09.123456 ", false},
		{"fallback lists", `{{print .sender.argv}} {{.latency_ns}}|{{.sig}}|{{.time}}`, &gen, "kill,-USR2,20 |12|2024-05-06T07:08:09.123456789Z", false},
		{"define", `{{define "p"}}{{.comm}}[{{.pid}}]{{end}}{{template "p" .sender}} -> {{template "p" .target}}`, &gen, "kill[10] -> app[20]", false},
		{"block", `{{block "p" .}}{{.sig}}{{end}}`, &gen, "12", false},
		{"fallback absent", `{{print .latency_ns}}|{{if .latency_ns}}x{{end}}`, &gen, "|", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt, err := Compile(tc.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			tt.OnError = func(err error) { t.Errorf("exec: %v", err) }
			if got, why := tt.Compiled(); got != tc.compiled {
				t.Errorf("compiled = %v (%s), want %v", got, why, tc.compiled)
			}
			if got := string(tt.AppendEvent(nil, tc.ev)); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			if got := string(tt.AppendRow(nil, tc.ev)); got != tc.want+"\n" {
				t.Errorf("row %q", got)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct{ tmpl, want string }{
		{"{{.sender.com}}", "unknown field .sender.com; did you mean .sender.comm"},
		{"{{.target.cmom}}", "did you mean .target.comm"},
		{"{{.nosuch}}", "unknown field .nosuch"},
		{"{{.comm}}", "did you mean .killer.comm, .sender.comm, .target.comm"},
		{"{{.sender.comm.x}}", "sender.comm is a string, it has no field x"},
		{"{{.sender}}", ".sender is an object: name one of its fields (kernel, reason, memory_cgroup, pid"},
		{"{{json .sender}}", "json .sender: name one of its fields"},
		{"{{nosuch .sig}}", `function "nosuch" not defined`},
		{"{{.sig", "unclosed action"},
		{"{{if eq .sender.cmm \"x\"}}{{end}}", "unknown field .sender.cmm"},
		{"{{$.sender.cmm}}", "unknown field .sender.cmm"},
		{"{{dur .sender.comm}}", "dur takes one duration"},
		{"{{time .sig}}", "time takes an optional layout and a time"},
		{"{{join .sender.argv}}", "join takes a separator and a list"},
		{"{{chain .sender.comm}}", "chain takes a process"},
		{"", "empty template"},
		{`{{define "p"}}{{.comm}}{{end}}{{template "p" .sender.cmm}}`, "unknown field .sender.cmm"},
	} {
		t.Run(tc.tmpl, func(t *testing.T) {
			_, err := Compile(tc.tmpl)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "--format: ") {
				t.Errorf("error %q, want one line with %q", msg, tc.want)
			}
		})
	}
}

// TestCompiledDoesNotAllocate: once warm, a compiled template renders an
// event without allocating.
func TestCompiledDoesNotAllocate(t *testing.T) {
	gen := generate()
	for _, text := range []string{
		benchTemplate,
		`{{json .sender.argv}} {{chain .sender}} {{if .fatal}}F{{end}} {{time "unix" .time}} {{join "," .sender.ancestry.pid}}`,
	} {
		tt, err := Compile(text)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 0, 4096)
		buf = tt.AppendRow(buf[:0], &gen)
		if a := testing.AllocsPerRun(100, func() { buf = tt.AppendRow(buf[:0], &gen) }); a != 0 {
			t.Errorf("%s: %v allocs per event", text, a)
		}
	}
}

const benchTemplate = `{{time .time}} {{.sender.comm}}[{{.sender.pid}}] > {{.target.comm}}[{{.target.pid}}]: {{.signal.name}} {{.verdict}} {{json .sender.argv}} {{chain .sender}}`

func BenchmarkCompiled(b *testing.B) {
	gen := generate()
	tt, err := Compile(benchTemplate)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = tt.AppendRow(buf[:0], &gen)
	}
}

// BenchmarkIssueTemplate is the issue's {{.sender.comm}}>{{.target.comm}}:{{.signal.name}}.
func BenchmarkIssueTemplate(b *testing.B) {
	gen := generate()
	tt, err := Compile("{{.sender.comm}}>{{.target.comm}}:{{.signal.name}}")
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = tt.AppendRow(buf[:0], &gen)
	}
}

// BenchmarkFallback is the same line through text/template: what a
// template outside the compiled subset costs.
func BenchmarkFallback(b *testing.B) {
	gen := generate()
	tt, err := Compile(`{{printf "%s" (time .time)}} {{.sender.comm}}[{{.sender.pid}}] > {{.target.comm}}[{{.target.pid}}]: {{.signal.name}} {{.verdict}} {{json .sender.argv}} {{chain .sender}}`)
	if err != nil {
		b.Fatal(err)
	}
	if ok, _ := tt.Compiled(); ok {
		b.Fatal("compiled")
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = tt.AppendRow(buf[:0], &gen)
	}
}
