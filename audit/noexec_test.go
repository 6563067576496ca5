package audit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestAuditExecutesNothing: SECURITY.md says the audit only reads and
// parses what it audits, never runs it (a crontab line is a user's). No
// file of the audit or of the packages it reads processes with imports
// os/exec or plugin, or calls a function that starts a program.
func TestAuditExecutesNothing(t *testing.T) {
	banned := map[string]bool{"os/exec": true, "plugin": true}
	calls := map[string]bool{
		"os.StartProcess": true, "syscall.Exec": true, "syscall.ForkExec": true, "syscall.StartProcess": true,
		"unix.Exec": true, "unix.ForkExec": true, "unix.Execve": true, "unix.Execveat": true,
	}
	if os.Getenv("SIGTRACE_GUEST") != "" {
		// A kernel-matrix guest has the test binary, not the sources
		// this test reads; the host's run of the same binary checks them.
		t.Skip("no source tree in a kernel-matrix guest (the host run checks the sources)")
	}
	var files []string
	for _, dir := range []string{".", "../goruntime", "../signals"} {
		m, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if !strings.HasSuffix(f, "_test.go") {
				files = append(files, f)
			}
		}
	}
	if len(files) < 10 {
		t.Fatalf("only %d files found: %q", len(files), files)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); banned[p] {
				t.Errorf("%s imports %s", fset.Position(imp.Pos()), p)
			}
		}
		ast.Inspect(af, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && calls[x.Name+"."+sel.Sel.Name] {
					t.Errorf("%s calls %s.%s", fset.Position(sel.Pos()), x.Name, sel.Sel.Name)
				}
			}
			return true
		})
	}
}
