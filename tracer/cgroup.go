package tracer

import (
	"bufio"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxCgroupNames bounds the cache: names are only looked up for OOM kills.
const maxCgroupNames = 1024

// cgroupNames turns memory-cgroup ids into paths. A cgroup's kernfs id is
// its directory's inode number (fs/kernfs: kernfs_ino() on 64-bit), so the
// path is found by walking the hierarchy that holds the memory controller:
// the v1 "memory" mount, or cgroup2 when memory is among its controllers.
// Each unknown id costs one walk; OOM kills are rare.
type cgroupNames struct {
	root   string // where that hierarchy is mounted; "" until looked up
	looked bool
	paths  map[uint64]string
}

func (c *cgroupNames) path(id uint64) string {
	if p, ok := c.paths[id]; ok {
		return p
	}
	if !c.looked {
		c.looked = true
		if f, err := os.Open("/proc/self/mountinfo"); err == nil {
			c.root = memcgMount(f, func(dir string) bool {
				b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
				return err == nil && hasWord(string(b), "memory")
			})
			f.Close()
		}
	}
	found := ""
	if c.root != "" {
		found = findInode(c.root, id)
	}
	if c.paths == nil || len(c.paths) >= maxCgroupNames {
		c.paths = map[uint64]string{}
	}
	c.paths[id] = found // "" when gone: not walked again
	return found
}

// memcgMount finds, in a mountinfo, the mount point of the cgroup
// hierarchy with the memory controller: a v1 mount with the "memory"
// option wins; otherwise the first cgroup2 mount whose root lists memory
// (hasMemory). Only mounts of a hierarchy's root count, since ids are
// resolved from there.
func memcgMount(r io.Reader, hasMemory func(dir string) bool) string {
	v2 := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// 35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
		left, right, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		lf, rf := strings.Fields(left), strings.Fields(right)
		if len(lf) < 5 || len(rf) < 3 || lf[3] != "/" {
			continue
		}
		switch rf[0] {
		case "cgroup":
			if hasWord(strings.ReplaceAll(rf[2], ",", " "), "memory") {
				return lf[4]
			}
		case "cgroup2":
			if v2 == "" && hasMemory(lf[4]) {
				v2 = lf[4]
			}
		}
	}
	return v2
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// findInode returns the path, relative to root and starting with "/", of
// the directory under root whose inode number is ino, or "".
func findInode(root string, ino uint64) string {
	found := ""
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Ino == ino {
			rel, _ := filepath.Rel(root, p)
			found = "/" + filepath.ToSlash(rel)
			if rel == "." {
				found = "/"
			}
			return filepath.SkipAll
		}
		return nil
	})
	return found
}
