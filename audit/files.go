package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/sigtrace/sigtrace/output"
)

// Warning is a problem with one file or line that does not stop the
// audit: a malformed configuration line, an unreadable file.
type Warning struct {
	File string
	Line int // 0 when about the whole file
	Msg  string
}

// String is the warning as it is shown: its file and message clipped to
// maxMessage, should a message quote more of the input than its words
// (each clipped where it is quoted).
func (w Warning) String() string {
	file, msg := output.Clip(w.File, maxMessage), output.Clip(w.Msg, maxMessage)
	if w.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", file, w.Line, msg)
	}
	return fmt.Sprintf("%s: %s", file, msg)
}

// collector gathers warnings and counts while the configuration is read.
type collector struct {
	warnings []Warning
	files    int
	work     work // what scanning and following have spent of the audit's budget
}

func (c *collector) warn(w ...Warning) { c.warnings = append(c.warnings, w...) }

// rootFS reads the configuration of a system whose root is mounted at
// root ("/" for the running system). Absolute symbolic links are followed
// inside root, as the system itself would see them.
type rootFS struct {
	root string
}

// real is where a path of the audited system is on this machine's disk,
// for naming and listing; files are opened with open, which the kernel
// confines to the root. A chain of links longer than the resolver
// follows names a path that does not exist rather than fall through to
// the host.
func (r *rootFS) real(p string) string {
	if real, ok := r.resolve(p); ok {
		return real
	}
	return filepath.Join(r.root, "/.sigtrace: too many symbolic links")
}

// resolve is real, and false when the links go on past 40 hops (what
// the kernel's own limit is, include/linux/namei.h MAXSYMLINKS).
func (r *rootFS) resolve(p string) (string, bool) {
	if r.root == "/" || r.root == "" {
		return p, true
	}
	cur := "/"
	rest := strings.Split(strings.Trim(path.Clean(p), "/"), "/")
	for hops := 0; len(rest) > 0 && hops < 40; {
		comp := rest[0]
		rest = rest[1:]
		if comp == "" || comp == "." {
			continue
		}
		next := path.Join(cur, comp)
		target, err := os.Readlink(filepath.Join(r.root, next))
		if err != nil {
			cur = next // not a link (or not there: the open will say)
			continue
		}
		hops++
		if path.IsAbs(target) {
			cur = "/"
		}
		rest = append(strings.Split(strings.Trim(target, "/"), "/"), rest...)
	}
	for _, comp := range rest {
		if comp != "" && comp != "." {
			return "", false // hops used up: the OS would follow the rest on the host
		}
	}
	return filepath.Join(r.root, cur), true
}

// display is how a file is named in findings and warnings: the path to
// open it from here.
func (r *rootFS) display(p string) string {
	if r.root == "/" || r.root == "" {
		return p
	}
	return filepath.Join(r.root, p)
}

// read returns a file's content; a missing file is silently absent, any
// other error is a warning.
func (r *rootFS) read(p string, c *collector) ([]byte, bool) {
	b, err := r.readFile(p, maxConfigBytes)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.warn(Warning{File: r.display(p), Msg: "cannot read: " + errText(err)})
		}
		return nil, false
	}
	c.files++
	return b, true
}

// dirEnt is one file in a configuration directory.
type dirEnt struct {
	name string
	path string // as the audited system names it
	link string // the symlink's target, when it is one
	mode fs.FileMode
}

// listDir lists a configuration directory in name order, regular files
// (or links to them) only, without the backup and package-manager leftovers
// that logrotate, cron and systemd skip. A missing directory is empty.
func (r *rootFS) listDir(dir string, c *collector) []dirEnt {
	real := r.real(dir)
	ents, err := os.ReadDir(real)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			c.warn(Warning{File: r.display(dir), Msg: "cannot list: " + errText(err)})
		}
		return nil
	}
	var out []dirEnt
	for _, e := range ents {
		name := e.Name()
		if skipConfigName(name) {
			continue
		}
		d := dirEnt{name: name, path: path.Join(dir, name)}
		if e.Type()&fs.ModeSymlink != 0 {
			d.link, _ = os.Readlink(filepath.Join(real, name))
			if d.link == "/dev/null" {
				d.mode = fs.ModeDevice
				out = append(out, d)
				continue
			}
		}
		fi, err := os.Stat(r.real(d.path))
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		d.mode = fi.Mode()
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// tabooSuffixes are logrotate's default tabooext list, which cron and
// run-parts skip as well: editor backups and package-manager leftovers.
var tabooSuffixes = []string{
	",v", ".cfsaved", ".disabled", ".dpkg-bak", ".dpkg-del", ".dpkg-dist", ".dpkg-new",
	".dpkg-old", ".dpkg-tmp", ".rhn-cfg-tmp-", ".rpmnew", ".rpmorig", ".rpmsave",
	".swp", ".ucf-dist", ".ucf-new", ".ucf-old", "~", ".bak", ".orig",
}

func skipConfigName(name string) bool {
	if strings.HasPrefix(name, ".") {
		return true
	}
	for _, s := range tabooSuffixes {
		if strings.HasSuffix(name, s) || (strings.HasSuffix(s, "-") && strings.Contains(name, s)) {
			return true
		}
	}
	return false
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func itoa(n int) string { return strconv.Itoa(n) }

// readPasswd maps user names to UIDs from the audited system's
// /etc/passwd, for pkill -u NAME and friends.
func readPasswd(r *rootFS) map[string]int {
	users := map[string]int{}
	b, err := r.readFile("/etc/passwd", maxConfigBytes)
	if err != nil {
		return users
	}
	for _, line := range splitLines(b) {
		f := strings.Split(line, ":")
		if len(f) < 3 {
			continue
		}
		if uid, err := strconv.Atoi(f[2]); err == nil {
			users[f[0]] = uid
		}
	}
	return users
}
