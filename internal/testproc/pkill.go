// Package testproc holds what the integration tests need on a machine that
// has only busybox beside the test binary: Debian's busybox has no pkill
// (checked: bookworm 1.35, trixie 1.37), so the test binary stands in for
// it, run through a symlink named pkill the way busybox runs its applets.
package testproc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sigtrace/sigtrace/signals"
)

// IsPkill reports whether this process was started as the pkill stand-in.
func IsPkill() bool { return filepath.Base(os.Args[0]) == "pkill" }

// Pkill is enough of procps pkill for the tests: `pkill [-SIG] [-x] NAME`
// signals every process whose comm equals (-x) or contains NAME; status 1
// when nothing matched.
func Pkill(args []string) int {
	sig := syscall.SIGTERM
	exact := false
	var pattern string
	for _, a := range args {
		switch {
		case a == "-x":
			exact = true
		case strings.HasPrefix(a, "-"):
			n, err := signals.Parse(a[1:])
			if err != nil {
				fmt.Fprintln(os.Stderr, "pkill:", err)
				return 2
			}
			sig = syscall.Signal(n)
		default:
			pattern = a
		}
	}
	self := os.Getpid()
	dirs, _ := os.ReadDir("/proc")
	matched := 0
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/comm")
		if err != nil {
			continue
		}
		comm := strings.TrimSuffix(string(b), "\n")
		if (exact && comm == pattern) || (!exact && strings.Contains(comm, pattern)) {
			if syscall.Kill(pid, sig) == nil {
				matched++
			}
		}
	}
	if matched == 0 {
		return 1
	}
	return 0
}

// PathWithPkill returns a PATH under which `pkill` runs: the system's when
// it has one, else one with the stand-in (a symlink to this test binary)
// in front.
func PathWithPkill(t testing.TB) string {
	t.Helper()
	path := os.Getenv("PATH")
	if _, err := exec.LookPath("pkill"); err == nil {
		return path
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(dir, "pkill")); err != nil {
		t.Fatal(err)
	}
	return dir + string(os.PathListSeparator) + path
}
