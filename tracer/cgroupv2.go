package tracer

import (
	"bufio"
	"encoding/binary"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// CgroupInfo is what a process's cgroup says about it: its path in the
// default (v2) hierarchy, the systemd unit and the container it belongs to
// ("" when none). Shared by every event of that cgroup: never changed.
type CgroupInfo struct {
	Path      string
	Unit      string
	Container string
}

const (
	// maxCgroups bounds one walk of the hierarchy and so the table.
	maxCgroups = 1 << 16
	// cgroupRewalk: an unknown id makes the table walk the hierarchy
	// again at most this often, so a user creating cgroups cannot keep
	// the reader walking.
	cgroupRewalk = time.Second
)

// cgroupTable maps default-hierarchy cgroup ids (kernfs ids, which are
// the directories' inode numbers on 64-bit: fs/kernfs kernfs_ino()) to
// their CgroupInfo. An unknown id is opened by handle on the cgroup2
// mount (kernfs file handles carry the id: FILEID_KERNFS, 5.5+) and its
// path read back from /proc/self/fd: three system calls, once per
// cgroup. Where that fails, one walk of the mount maps every directory,
// at most once per cgroupRewalk.
type cgroupTable struct {
	root     string // the cgroup2 mount; "" when there is none
	looked   bool
	noHandle bool                   // open_by_handle_at failed: walk instead
	byID     map[uint64]*CgroupInfo // nil values: looked up, not found
	lastWalk time.Time
	// last: the last id looked up, which the next event most often has too.
	lastID   uint64
	lastInfo *CgroupInfo
}

// fileIDKernfs is FILEID_KERNFS (include/linux/exportfs.h).
const fileIDKernfs = 0xfe

func (c *cgroupTable) lookup(id uint64) *CgroupInfo {
	if id == 0 {
		return nil
	}
	if id == c.lastID {
		return c.lastInfo
	}
	info, ok := c.byID[id]
	if !ok {
		info = c.resolve(id)
	}
	c.lastID, c.lastInfo = id, info
	return info
}

func (c *cgroupTable) resolve(id uint64) *CgroupInfo {
	if !c.looked {
		c.looked = true
		if f, err := os.Open("/proc/self/mountinfo"); err == nil {
			c.root = cgroup2Mount(f)
			f.Close()
		}
	}
	if c.root == "" {
		return nil
	}
	if c.byID == nil || len(c.byID) >= maxCgroups {
		c.byID = make(map[uint64]*CgroupInfo)
	}
	if path, ok := c.byHandle(id); ok {
		info := ParseCgroupPath(path)
		c.byID[id] = info
		return info
	}
	if now := time.Now(); now.Sub(c.lastWalk) >= cgroupRewalk {
		c.lastWalk = now
		c.byID = walkCgroups(c.root, c.byID)
	}
	info := c.byID[id]
	if info == nil {
		c.byID[id] = nil // gone, or not under the mount: not looked up again
	}
	return info
}

// byHandle opens the cgroup directory with id by its kernfs file handle
// and reads its path. ok is false when it cannot. Nothing stays open: a
// Tracer's Close need not wait for its reader.
func (c *cgroupTable) byHandle(id uint64) (path string, ok bool) {
	if c.noHandle {
		return "", false
	}
	// Not O_PATH: open_by_handle_at() takes its mount_fd with fdget(),
	// which refuses O_PATH descriptors (EBADF).
	mount, err := unix.Open(c.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", false
	}
	defer unix.Close(mount)
	var h [8]byte
	binary.NativeEndian.PutUint64(h[:], id)
	fd, err := unix.OpenByHandleAt(mount, unix.NewFileHandle(fileIDKernfs, h[:]), unix.O_PATH|unix.O_CLOEXEC)
	if err != nil {
		// ESTALE: no such cgroup (any more). Anything else: this
		// kernel or mount cannot, so walk from now on.
		if err != unix.ESTALE {
			c.noHandle = true
		}
		return "", false
	}
	defer unix.Close(fd)
	target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(c.root, target)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", false
	}
	if rel == "." {
		return "/", true
	}
	return "/" + filepath.ToSlash(rel), true
}

// CgroupNaming says where the cgroup2 hierarchy is mounted ("" when it
// is not) and how cgroup ids are turned into paths there: by file handle,
// or by walking the hierarchy where the kernel cannot open one.
func CgroupNaming() (root, how string) {
	var c cgroupTable
	c.lookup(1) // the root cgroup's id is 1
	if c.root == "" {
		return "", ""
	}
	if c.noHandle {
		return c.root, "by walking the hierarchy: open_by_handle_at() refused"
	}
	return c.root, "by file handle"
}

// cgroup2Mount finds, in a mountinfo, where the root of the cgroup2
// hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a
// hybrid host).
func cgroup2Mount(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		left, right, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		lf, rf := strings.Fields(left), strings.Fields(right)
		if len(lf) >= 5 && len(rf) >= 1 && rf[0] == "cgroup2" && lf[3] == "/" {
			return lf[4]
		}
	}
	return ""
}

// walkCgroups maps every directory under root by inode number, keeping
// the CgroupInfo of those already known (events may hold them).
func walkCgroups(root string, old map[uint64]*CgroupInfo) map[uint64]*CgroupInfo {
	m := make(map[uint64]*CgroupInfo, len(old))
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if len(m) >= maxCgroups {
			return filepath.SkipAll
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		path := "/" + filepath.ToSlash(rel)
		if rel == "." {
			path = "/"
		}
		if ci := old[st.Ino]; ci != nil && ci.Path == path {
			m[st.Ino] = ci
			return nil
		}
		m[st.Ino] = ParseCgroupPath(path)
		return nil
	})
	return m
}

// unitSuffixes are the systemd unit types that hold processes
// (systemd.unit(5)); a slice only groups them.
var unitSuffixes = []string{".service", ".scope", ".socket", ".mount", ".swap"}

// ParseCgroupPath names the unit and the container of a cgroup path.
// The unit is the innermost path component with a process-holding unit
// suffix: /system.slice/nginx.service is nginx.service, and a user's
// /user.slice/user-1000.slice/user@1000.service/app.slice/foo.service is
// foo.service. The container id is the innermost one in a container
// engine's scope name (docker-ID.scope, cri-containerd-ID.scope,
// crio-ID.scope, libpod-ID.scope; not their conmon scopes) or, with the
// cgroupfs driver, a 64-hex component under a kubepods or docker
// directory.
func ParseCgroupPath(path string) *CgroupInfo {
	ci := &CgroupInfo{Path: path}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	engineDir := false
	for _, part := range parts {
		for _, s := range unitSuffixes {
			if strings.HasSuffix(part, s) && len(part) > len(s) {
				ci.Unit = part
			}
		}
		if id := scopeContainer(part); id != "" {
			ci.Container = id
		} else if engineDir && isContainerID(part) {
			ci.Container = part
		}
		if part == "docker" || strings.HasPrefix(part, "kubepods") {
			engineDir = true
		}
	}
	return ci
}

var enginePrefixes = []string{"docker-", "cri-containerd-", "crio-", "libpod-"}

func scopeContainer(part string) string {
	name, ok := strings.CutSuffix(part, ".scope")
	if !ok {
		return ""
	}
	for _, p := range enginePrefixes {
		if id, ok := strings.CutPrefix(name, p); ok && isContainerID(id) {
			return id
		}
	}
	return ""
}

// isContainerID: the 64 lower-case hex digits docker, containerd, CRI-O
// and podman name containers by.
func isContainerID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
