package tracer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const testContainerID = "3dd15efbff4406c10bdd4d3a5bdf9a0ef3e28e8598cad6250d8fbb589c059af5"

func TestParseCgroupPath(t *testing.T) {
	id := testContainerID
	for _, tc := range []struct {
		path, unit, container string
	}{
		{"/", "", ""},
		{"/system.slice/nginx.service", "nginx.service", ""},
		{"/system.slice", "", ""},
		{"/user.slice/user-1000.slice/session-2.scope", "session-2.scope", ""},
		{"/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", "foo.service", ""},
		{"/system.slice/docker-" + id + ".scope", "docker-" + id + ".scope", id},
		{"/system.slice/crio-conmon-" + id + ".scope", "crio-conmon-" + id + ".scope", ""},
		{"/machine.slice/libpod-" + id + ".scope/container", "libpod-" + id + ".scope", id},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1f2e.slice/cri-containerd-" + id + ".scope", "cri-containerd-" + id + ".scope", id},
		{"/kubepods/besteffort/pod1f2e3d4c-5b6a/" + id, "", id},
		{"/docker/" + id, "", id},
		{"/other/" + id, "", ""}, // a 64-hex name elsewhere is no container
		{"/system.slice/docker-" + id[:63] + ".scope", "docker-" + id[:63] + ".scope", ""}, // not an id
		{"/system.slice/.service", "", ""},
	} {
		got := ParseCgroupPath(tc.path)
		if got.Path != tc.path || got.Unit != tc.unit || got.Container != tc.container {
			t.Errorf("%s: unit %q container %q, want %q %q", tc.path, got.Unit, got.Container, tc.unit, tc.container)
		}
	}
}

func TestCgroup2Mount(t *testing.T) {
	const hybrid = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	const sub = "40 23 0:23 /sub /mnt/sub rw - cgroup2 cgroup2 rw\n"
	for _, tc := range []struct{ in, want string }{
		{hybrid, "/sys/fs/cgroup/unified"},
		{"26 23 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n", "/sys/fs/cgroup"},
		{sub, ""}, // not the hierarchy's root
		{"35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", ""},
	} {
		if got := cgroup2Mount(strings.NewReader(tc.in)); got != tc.want {
			t.Errorf("cgroup2Mount(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// cgroup2Root returns where the cgroup2 hierarchy is mounted, mounting it
// when nothing has (a busybox guest).
func cgroup2Root(t *testing.T) string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	must(t, err)
	root := cgroup2Mount(f)
	f.Close()
	if root != "" {
		return root
	}
	dir, err := os.MkdirTemp("", "sigtrace-cgroup2")
	must(t, err)
	if err := syscall.Mount("none", dir, "cgroup2", 0, ""); err != nil {
		t.Fatalf("no cgroup2 mount, and mounting one failed: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Unmount(dir, 0)
		_ = os.Remove(dir)
	})
	return dir
}

// TestCgroupUnitContainer: a sender started in a cgroup named like a
// docker scope signals a target in one named like a systemd service; the
// event names both cgroups, the unit and the container. Both cgroups are
// made after the tracer started, so they are resolved as they appear.
func TestCgroupUnitContainer(t *testing.T) {
	requirePrivileged(t)
	tr, col := startTracer(t, Options{Signals: []int{int(syscall.SIGWINCH)}})
	_ = tr
	root := cgroup2Root(t)
	unit := "sigtrace-test-" + strconv.Itoa(os.Getpid()) + ".service"
	scope := "docker-" + testContainerID + ".scope"
	mk := func(name string) int {
		dir := filepath.Join(root, name)
		must(t, os.Mkdir(dir, 0o755))
		t.Cleanup(func() { _ = os.Remove(dir) }) // after the helpers are reaped (LIFO)
		fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		must(t, err)
		t.Cleanup(func() { syscall.Close(fd) })
		return fd
	}
	unitFD, scopeFD := mk(unit), mk(scope)

	target := spawn(t, "exec", withSysProcAttr(&syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: unitFD}))
	sender := spawn(t, "kill", withEnv("SIGTRACE_KILL_TARGET="+strconv.Itoa(target.pid())),
		withSysProcAttr(&syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: scopeFD}))
	ev, _ := col.waitFor(t, 0, "SIGWINCH from the container", func(e *Event) bool {
		return genTo(target.pid(), syscall.SIGWINCH)(e) && e.Generate.Sender.PID == uint32(sender.pid())
	})
	if cg := ev.Generate.Sender.Cg(); cg.Path != "/"+scope || cg.Container != testContainerID || cg.Unit != scope {
		t.Errorf("sender cgroup %+v (id %d), want %s with container %s", *cg, ev.Generate.Sender.CgroupID, "/"+scope, testContainerID)
	}
	if cg := ev.Target.Cg(); cg.Path != "/"+unit || cg.Unit != unit || cg.Container != "" {
		t.Errorf("target cgroup %+v (id %d), want %s, unit %s", *cg, ev.Target.CgroupID, "/"+unit, unit)
	}
	sender.wait(t)
	target.wait(t)

	// By handle, with no walk of the hierarchy.
	var st syscall.Stat_t
	must(t, syscall.Stat(filepath.Join(root, unit), &st))
	var c cgroupTable
	if info := c.lookup(st.Ino); info == nil || info.Path != "/"+unit {
		t.Errorf("lookup(%d) = %+v, want %s", st.Ino, info, "/"+unit)
	}
	if !c.lastWalk.IsZero() || c.noHandle {
		t.Errorf("resolved by walking the hierarchy, not by handle (no handle: %v)", c.noHandle)
	}
}
