package testproc

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/sigtrace/sigtrace/signals"
)

// IsKill reports whether this process was started as the kill stand-in
// (a symlink named kill to the test binary), so the sender's comm is
// "kill" as /bin/kill's would be, on a machine with only busybox too.
func IsKill() bool { return filepath.Base(os.Args[0]) == "kill" }

// Kill is enough of kill(1) for the tests: `kill -SIG PID...`.
func Kill(args []string) int {
	if len(args) < 2 || len(args[0]) < 2 || args[0][0] != '-' {
		fmt.Fprintln(os.Stderr, "usage: kill -SIG PID...")
		return 2
	}
	n, err := signals.Parse(args[0][1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "kill:", err)
		return 2
	}
	status := 0
	for _, a := range args[1:] {
		pid, err := strconv.Atoi(a)
		if err == nil {
			err = syscall.Kill(pid, syscall.Signal(n))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kill:", a, err)
			status = 1
		}
	}
	return status
}
