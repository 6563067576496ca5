// Package safeio opens and reads files that other users may control
// (configuration under an audited root, a process's /proc entries and
// executable) without letting them hang or flood the reader.
package safeio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrNotRegular says a path is a FIFO, a device, a socket or a directory:
// opening a FIFO would wait for a writer, a device can be read forever.
var ErrNotRegular = errors.New("not a regular file")

// TooLarge says a file is larger than its reader takes.
type TooLarge struct{ Limit int64 }

func (e TooLarge) Error() string { return fmt.Sprintf("larger than %d bytes", e.Limit) }

// Open opens path for reading without blocking (O_NONBLOCK: a FIFO opens
// at once, with no writer) and returns it only when it is a regular file.
func Open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	return Regular(f)
}

// Regular returns f when it is a regular file, and closes it otherwise.
func Regular(f *os.File) (*os.File, error) {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: f.Name(), Err: ErrNotRegular}
	}
	return f, nil
}

// ReadAll reads at most limit bytes of f, and fails with TooLarge when it
// holds more. Procfs files are regular with a size of 0, so the bound is
// applied to what is read, not to the size.
func ReadAll(f *os.File, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &os.PathError{Op: "read", Path: f.Name(), Err: TooLarge{limit}}
	}
	return b, nil
}

// ReadFile is Open and ReadAll.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, limit)
}
