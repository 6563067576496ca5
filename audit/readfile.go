package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Bounds on what the audit reads from files that other users may control.
const (
	maxConfigBytes  = 4 << 20 // a configuration file, unit or script
	maxPidfileBytes = 128     // "PID\n", with room for whitespace
	maxProcBytes    = 1 << 20 // a /proc file (status, cmdline, ...)
)

// ErrNotRegular says a path is a FIFO, a device, a socket or a directory:
// opening a FIFO would wait for a writer, a device can be read forever.
var ErrNotRegular = errors.New("not a regular file")

// openRegular opens path for reading without blocking and returns it
// only when it is a regular file (ErrNotRegular otherwise).
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	return f, nil
}

// errTooLarge says a file is larger than the audit reads of its kind.
type errTooLarge struct{ limit int64 }

func (e errTooLarge) Error() string { return fmt.Sprintf("larger than %d bytes", e.limit) }

// readRegular reads at most limit bytes of the regular file at path. It
// opens without blocking (O_NONBLOCK: a FIFO opens at once, with no
// writer) and looks at what it opened before reading, so a FIFO, a device
// or a directory is refused, never read. Procfs files are regular with a
// size of 0, so the bound is applied to what is read, not to the size.
func readRegular(path string, limit int64) ([]byte, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &os.PathError{Op: "read", Path: path, Err: errTooLarge{limit}}
	}
	return b, nil
}

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
	f := os.NewFile(uintptr(fd), r.display(p))
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: r.display(p), Err: ErrNotRegular}
	}
	return f, nil
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
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &os.PathError{Op: "read", Path: r.display(p), Err: errTooLarge{limit}}
	}
	return b, nil
}
