package audit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "pid"), []byte("1234\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "big"), []byte(strings.Repeat("x", 129)), 0o644))
	must(syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	must(os.Symlink("pid", filepath.Join(dir, "link")))
	for _, tc := range []struct {
		name string
		want string
		err  func(error) bool
	}{
		{"pid", "1234\n", nil},
		{"link", "1234\n", nil},
		{"big", "", func(err error) bool { var e errTooLarge; return errors.As(err, &e) && e.Limit == 128 }},
		{"fifo", "", func(err error) bool { return errors.Is(err, ErrNotRegular) }},
		{".", "", func(err error) bool { return errors.Is(err, ErrNotRegular) }},
		{"missing", "", func(err error) bool { return errors.Is(err, fs.ErrNotExist) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := readRegular(filepath.Join(dir, tc.name), 128)
			if tc.err == nil {
				if err != nil || string(b) != tc.want {
					t.Errorf("got %q, %v; want %q", b, err, tc.want)
				}
				return
			}
			if !tc.err(err) || b != nil {
				t.Errorf("got %q, %v", b, err)
			}
		})
	}
}

// TestRootResolveRefusesLongChains: the resolver used without openat2
// refuses a chain it cannot finish rather than let the OS follow the
// rest on the host.
func TestRootResolveRefusesLongChains(t *testing.T) {
	root := t.TempDir()
	chain := func(name string, n int) {
		for i := 0; i < n; i++ {
			from := filepath.Join(root, name+"."+strconv.Itoa(i))
			if err := os.Symlink(name+"."+strconv.Itoa(i+1), from); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(root, name+"."+strconv.Itoa(n)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chain("short", 3)
	chain("long", 45)
	r := &rootFS{root: root}
	if p, ok := r.resolve("/short.0"); !ok || p != filepath.Join(root, "short.3") {
		t.Errorf("short chain: %q, %v", p, ok)
	}
	if p, ok := r.resolve("/long.0"); ok {
		t.Errorf("long chain resolved to %q", p)
	}
	if _, err := r.readFile("/long.0", 10); err == nil {
		t.Error("read a file at the end of a 45-link chain")
	}
	if b, err := r.readFile("/short.0", 10); err != nil || string(b) != "x" {
		t.Errorf("short chain: %q, %v", b, err)
	}
}
