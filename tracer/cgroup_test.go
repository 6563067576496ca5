package tracer

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestMemcgMount(t *testing.T) {
	const v1 = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
`
	const v2 = `26 23 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
40 23 0:23 /sub /mnt/sub rw - cgroup2 cgroup2 rw
`
	yes := func(string) bool { return true }
	no := func(string) bool { return false }
	for _, tc := range []struct {
		name, in string
		has      func(string) bool
		want     string
	}{
		{"v1 memory mount", v1, yes, "/sys/fs/cgroup/memory"},
		{"cgroup2 with memory", v2, yes, "/sys/fs/cgroup"},
		{"cgroup2 without memory", v2, no, ""},
		{"v1 wins over cgroup2", v2 + v1, yes, "/sys/fs/cgroup/memory"},
		{"nothing", "1 0 8:1 / / rw - ext4 /dev/vda rw\n", yes, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := memcgMount(strings.NewReader(tc.in), tc.has); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFindInode(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "system.slice", "foo.service")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	if got := findInode(root, st.Ino); got != "/system.slice/foo.service" {
		t.Errorf("findInode = %q", got)
	}
	if got := findInode(root, 1<<62); got != "" {
		t.Errorf("unknown inode: %q", got)
	}
}
