package record

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// errText is the error's errno text alone ("no space left on device"),
// without the path: the gap record is in the directory it would name.
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

// janitor compresses rotated files, one at a time, beside the recording:
// Write never waits for it. It runs until Close, then finishes the file
// it has begun and every one still plain.
func (w *Writer) janitor() {
	defer w.done.Done()
	for range w.kick {
		w.compressRotated()
	}
	if w.opts.Compress != None {
		w.compressRotated()
	}
}

// compressRotated compresses every plain file older than the live one.
func (w *Writer) compressRotated() {
	if w.opts.Compress == None {
		return
	}
	files, err := w.list()
	if err != nil {
		return
	}
	w.mu.Lock()
	live := w.seq
	w.mu.Unlock()
	for _, f := range files {
		// The live file stays plain, after Close too: it may be read with
		// tail -f, and the next Open compresses it.
		if f.compressed || f.tmp || f.seq >= live {
			continue
		}
		if err := w.compress(f.name); err != nil && !errors.Is(err, unix.ENOENT) {
			// ENOENT: pruned since the listing; nothing to say.
			w.mu.Lock()
			if !w.warned || w.clock.Now().Sub(w.lastWarn) >= warnInterval {
				w.warned, w.lastWarn = true, w.clock.Now()
				fmt.Fprintf(w.opts.Warn, "sigtrace: warning: %v (it stays plain)\n", err)
			}
			w.mu.Unlock()
		}
	}
}

// compress writes name.zst (or .gz) through a temporary file, synced, then
// renames it into place and removes name, so that a crash leaves one
// complete copy or the other.
func (w *Writer) compress(name string) (err error) {
	dfd := int(w.dir.Fd())
	sfd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("compress %q: %w", name, err)
	}
	src := os.NewFile(uintptr(sfd), name)
	defer src.Close()
	if fi, err := src.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("compress %q: not a regular file", name)
	}
	dst := name + w.opts.Compress.Ext()
	tmp := dst + ".tmp"
	// Made under the writer's lock, and only while name is still there:
	// prune (which holds it) may have removed name since it was opened,
	// and a copy begun after that would be one file beyond MaxFiles
	// until it is finished and thrown away (the 5.10 guest saw 4 of 3).
	w.mu.Lock()
	var pst unix.Stat_t
	if err := unix.Fstatat(dfd, name, &pst, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		w.mu.Unlock()
		return nil // pruned meanwhile
	}
	ofd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	w.mu.Unlock()
	if err != nil {
		return fmt.Errorf("compress %q: %w", name, err)
	}
	out := os.NewFile(uintptr(ofd), tmp)
	defer func() {
		if out != nil {
			out.Close()
		}
		if err != nil {
			_ = unix.Unlinkat(dfd, tmp, 0)
		}
	}()
	enc, err := newCompressor(w.opts.Compress, out)
	if err != nil {
		return fmt.Errorf("compress %q: %w", name, err)
	}
	if _, err := io.Copy(enc, src); err != nil {
		enc.Close()
		return fmt.Errorf("compress %q: %w", name, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("compress %q: %w", name, err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("compress %q: %w", name, err)
	}
	if err := out.Close(); err != nil {
		out = nil
		return fmt.Errorf("compress %q: %w", name, err)
	}
	out = nil
	// Under the writer's lock: prune may have removed name meanwhile (the
	// oldest file, at a fast rotation), and its copy must not come back.
	w.mu.Lock()
	defer w.mu.Unlock()
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		_ = unix.Unlinkat(dfd, tmp, 0) // pruned meanwhile
		return nil
	}
	if err := unix.Renameat(dfd, tmp, dfd, dst); err != nil {
		return fmt.Errorf("compress %q: %w", name, err)
	}
	_ = unix.Unlinkat(dfd, name, 0)
	_ = unix.Fsync(dfd)
	return nil
}
