package audit

import (
	"errors"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/internal/safeio"
)

// Bounds on what the audit reads from files that other users may control.
const (
	maxConfigBytes  = 4 << 20 // a configuration file, unit or script
	maxPidfileBytes = 128     // "PID\n", with room for whitespace
	maxProcBytes    = 1 << 20 // a /proc file (status, cmdline, ...)
)

// ErrNotRegular says a path is a FIFO, a device, a socket or a directory.
var ErrNotRegular = safeio.ErrNotRegular

// errTooLarge says a file is larger than the audit reads of its kind.
type errTooLarge = safeio.TooLarge

func openRegular(path string) (*os.File, error) { return safeio.Open(path) }

// readRegular reads at most limit bytes of the regular file at path: a
// FIFO, a device or a directory is refused, never read (package safeio).
func readRegular(path string, limit int64) ([]byte, error) { return safeio.ReadFile(path, limit) }

// open opens a file of the audited system, a regular file only (see
// openRegular). Under --root the kernel resolves the path with the root
// as "/" (openat2 RESOLVE_IN_ROOT, Linux 5.6+): absolute symlinks, "..",
// and chains of any length stay inside it, so no link can reach the
// host's /etc/shadow. Without openat2 the audit's own resolver is used,
// which refuses a chain longer than it follows.
func (r *rootFS) open(p string) (*os.File, error) {
	if r.root == "/" || r.root == "" {
		return openRegular(p)
	}
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rel == "" {
		rel = "."
	}
	dir, err := unix.Open(r.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: r.root, Err: err}
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, rel, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOSYS) {
		real, ok := r.resolve(p)
		if !ok {
			return nil, &os.PathError{Op: "open", Path: r.display(p), Err: errLinkChain}
		}
		return openRegular(real)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: r.display(p), Err: err}
	}
	return safeio.Regular(os.NewFile(uintptr(fd), r.display(p)))
}

// errLinkChain says a path's symlinks go on past what the resolver follows.
var errLinkChain = errors.New("too many levels of symbolic links inside the root")

// readFile reads at most limit bytes of a regular file of the audited
// system.
func (r *rootFS) readFile(p string, limit int64) ([]byte, error) {
	f, err := r.open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return safeio.ReadAll(f, limit)
}
