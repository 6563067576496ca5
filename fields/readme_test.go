package fields

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/tracer"
)

var update = flag.Bool("update", false, "rewrite the README's field table from the registry")

const (
	readmePath  = "../README.md"
	readmeBegin = "<!-- fields:begin: generated from package fields by 'go test ./fields -update'; do not edit -->\n"
	readmeEnd   = "<!-- fields:end -->\n"
)

// TestREADMEFields: the README's "Event fields" table is the registry's,
// as Markdown makes it. `go test ./fields -update` rewrites it.
func TestREADMEFields(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	begin := bytes.Index(readme, []byte(readmeBegin))
	end := bytes.Index(readme, []byte(readmeEnd))
	if begin < 0 || end < begin {
		t.Fatalf("%s has no %q ... %q section", readmePath, strings.TrimSpace(readmeBegin), strings.TrimSpace(readmeEnd))
	}
	begin += len(readmeBegin)
	want := Markdown()
	if bytes.Equal(readme[begin:end], want) {
		return
	}
	if *update {
		out := append(append(append([]byte(nil), readme[:begin]...), want...), readme[end:]...)
		if err := os.WriteFile(readmePath, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the README's field table is stale: run 'go test ./fields -update' and review the diff")
}

// TestEventKindsComplete: every event type the tracer names is listed.
func TestEventKindsComplete(t *testing.T) {
	for typ := tracer.EventType(1); typ.String() != "unknown"; typ++ {
		if !KindsOf(EventKinds...).Has(typ) {
			t.Errorf("event type %s is not in EventKinds", typ)
		}
	}
}

func TestParseKinds(t *testing.T) {
	for in, want := range map[string]Kinds{
		"":               AllKinds,
		"all":            AllKinds,
		"exit":           KindsOf(tracer.TypeExit),
		"generate, lost": KindsOf(tracer.TypeGenerate, tracer.TypeLost),
	} {
		if got, err := ParseKinds(in); err != nil || got != want {
			t.Errorf("ParseKinds(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseKinds("death"); err == nil || !strings.Contains(err.Error(), "generate, deliver, exit, pending, lost") {
		t.Errorf("ParseKinds(death): %v", err)
	}
}

func TestListings(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, Select(KindsOf(tracer.TypeLost))); err != nil {
		t.Fatal(err)
	}
	// lost carries time, type, count, shed and missed.
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "FIELD") || !strings.HasPrefix(lines[1], "time ") ||
		!strings.HasPrefix(lines[2], "type ") || !strings.HasPrefix(lines[3], "count ") || !strings.HasPrefix(lines[4], "shed ") ||
		!strings.HasPrefix(lines[5], "missed ") {
		t.Errorf("lost fields:\n%s", b.String())
	}
	b.Reset()
	if err := WriteJSON(&b, []*Field{Lookup("verdict")}); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.HasPrefix(got, `{"name":"verdict","type":"string","events":["generate"],"kernel":false,"doc":`) || !strings.Contains(got, `"values":["fatal",`) {
		t.Errorf("WriteJSON: %s", got)
	}
}
