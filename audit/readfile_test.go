package audit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
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
		{"big", "", func(err error) bool { var e errTooLarge; return errors.As(err, &e) && e.limit == 128 }},
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
