package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/fields"
)

// TestFieldsCommand: `sigtrace fields` lists the registry, every field on
// its own line, and refuses what it does not know with one line.
func TestFieldsCommand(t *testing.T) {
	code, out, errOut := auditRun(t, "fields")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(fields.All())+1 || !strings.HasPrefix(lines[0], "FIELD ") {
		t.Fatalf("%d lines for %d fields:\n%s", len(lines), len(fields.All()), out)
	}
	for i, f := range fields.All() {
		if cols := strings.Fields(lines[i+1]); len(cols) < 4 || cols[0] != f.Name {
			t.Errorf("line %d: %q, want field %s", i+1, lines[i+1], f.Name)
		}
	}

	code, out, _ = auditRun(t, "fields", "--events", "exit", "-o", "json")
	if code != 0 {
		t.Fatalf("-o json: exit %d", code)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var f struct {
			Name   string   `json:"name"`
			Events []string `json:"events"`
		}
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		names[f.Name] = true
	}
	if !names["killer.comm"] || !names["core_dumped"] || names["verdict"] {
		t.Errorf("--events exit: %v", names)
	}

	for _, args := range [][]string{{"fields", "--events", "death"}, {"fields", "-o", "xml"}, {"fields", "extra"}} {
		code, out, errOut := auditRun(t, args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "sigtrace: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want one error line and exit 2", args, code, out, errOut)
		}
	}
}
