package syscalls

import (
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func TestName(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("no table for", runtime.GOARCH)
	}
	for _, c := range []struct {
		nr   int
		want string
	}{
		{unix.SYS_READ, "read"},
		{unix.SYS_WRITE, "write"},
		{unix.SYS_RT_SIGTIMEDWAIT, "rt_sigtimedwait"},
		{unix.SYS_EPOLL_PWAIT, "epoll_pwait"},
		{unix.SYS_CLOSE_RANGE, "close_range"}, // among the highest numbers
		{-1, "syscall_-1"},
		{len(names), "syscall_" + strconv.Itoa(len(names))},
		{1 << 20, "syscall_1048576"},
	} {
		if got := Name(c.nr); got != c.want {
			t.Errorf("Name(%d) = %q, want %q", c.nr, got, c.want)
		}
	}
}

// A number inside the table that no system call has reads as a number,
// not as "" (the array's zero value).
func TestNameGap(t *testing.T) {
	for nr, n := range names {
		if n == "" {
			if got, want := Name(nr), "syscall_"+strconv.Itoa(nr); got != want {
				t.Errorf("Name(%d) = %q, want %q", nr, got, want)
			}
			return
		}
	}
	t.Skip("no gap in this architecture's table")
}
