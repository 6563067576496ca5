package tracer

import (
	"io/fs"
	"path/filepath"
	"syscall"
)

// cgroupRoot is where the cgroup v2 hierarchy is mounted.
const cgroupRoot = "/sys/fs/cgroup"

// maxCgroupNames bounds the cache: one entry per cgroup named, and names
// are only looked up for OOM kills.
const maxCgroupNames = 1024

// cgroupNames turns cgroup v2 ids (kernfs node ids, which are the
// directories' inode numbers on 64-bit kernels) into paths relative to the
// hierarchy's root, by walking it once per unknown id.
type cgroupNames struct {
	root  string
	paths map[uint64]string
}

func (c *cgroupNames) path(id uint64) string {
	if p, ok := c.paths[id]; ok {
		return p
	}
	root := c.root
	if root == "" {
		root = cgroupRoot
	}
	found := ""
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Ino == id {
			rel, _ := filepath.Rel(root, p)
			found = "/" + filepath.ToSlash(rel)
			if rel == "." {
				found = "/"
			}
			return filepath.SkipAll
		}
		return nil
	})
	if c.paths == nil || len(c.paths) >= maxCgroupNames {
		c.paths = map[uint64]string{}
	}
	c.paths[id] = found // "" when gone: not walked again
	return found
}
