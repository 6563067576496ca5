package record

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/tracer"
)

// Defaults for --max-size and --max-files: a week of a normal server's
// signals (TestDefaultsHoldAWeek checks the arithmetic).
//
//   - Assumed: after storms are summarised, a normal server records about
//     500,000 lines a day: every exiting child's SIGCHLD (sent and
//     delivered), Go services preempting their threads with SIGURG, a
//     profiler's SIGPROF, cron jobs, the odd kill.
//   - Measured: `trace -o json` lines of this project's build hosts
//     average 580 bytes; zstd at its default level compresses them 42-52
//     times, generated background 22 times (BenchmarkCompress).
//
// A week is then 3.5 million lines, about 2 GiB plain: 40 files of 64
// MiB hold 2.5 GiB, on at most 64 MiB (the live file) + 39 × 1.3-3 MiB,
// about 180 MiB of disk. A busier server keeps less time, never more
// disk: both bounds hold whatever arrives.
const (
	DefaultMaxSize  int64 = 64 << 20
	DefaultMaxFiles       = 40
)

// FlushInterval is the longest a written line waits in memory: a crash
// loses at most about this much of the recording.
const FlushInterval = time.Second

// warnInterval is the least time between two warnings about the disk: a
// full disk must not also fill the journal.
const warnInterval = time.Minute

// MaxLine is the longest line the writer takes and the reader reads; a
// longer one is refused (Write) or counted as corrupt (Reader). The
// renderer clips what other users control far below this.
const MaxLine = 1 << 20

var (
	// ErrUnsafeDir says the recording directory is a symlink, is not
	// owned by the user sigtrace runs as, or others may write in it.
	ErrUnsafeDir = errors.New("unsafe recording directory")
	// ErrClosed says the writer was closed.
	ErrClosed = errors.New("recording closed")
	// ErrBadLine says a line given to Write is not one line ending in
	// "\n", or is longer than MaxLine.
	ErrBadLine = errors.New("not one line ending in a newline, of at most 1 MiB")
)

// Clock is the time source of a writer; tests inject a fake.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is what Clock.AfterFunc returns (*time.Timer is one).
type Timer interface {
	Stop() bool
	Reset(d time.Duration) bool
}

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Options of a Writer. The zero value of each field means its default.
type Options struct {
	MaxSize  int64       // bytes of a file (plain) before rotation; DefaultMaxSize
	MaxFiles int         // files kept, the live one included; DefaultMaxFiles
	Compress Compression // of rotated files; Zstd
	// Header is copied to the start of every file, with Seq and Start set
	// by the writer (NewHeader fills in the rest).
	Header Header
	Clock  Clock     // time.Now and time.AfterFunc
	Warn   io.Writer // where disk trouble is reported; os.Stderr
	// OnReset is called, on the goroutine that called Write and before
	// Write returns, when what comes next cannot rely on earlier lines:
	// a new file was started (after this line), or lines were lost and
	// writing resumed (after a gap record). A renderer that refers to
	// detail written once per file (a sender's argv and ancestry) must
	// write it in full again. It must not call the writer.
	OnReset func()
	// bufSize is the write buffer's size (tests make it small).
	bufSize int
}

// Stats counts what a writer did.
type Stats struct {
	Lines     uint64 // lines written and synced to disk (headers and gap records not counted)
	Bytes     uint64 // bytes written to files, headers and gap records included
	Dropped   uint64 // lines that could not be written (disk full, read-only, I/O error)
	Rotations uint64 // files finished and a new one started
	Seq       uint64 // sequence number of the live file
	File      string // name of the live file in the directory ("" while none could be created)
}

// Writer writes a recording: lines to the live file of dir, rotated by
// size, at most MaxFiles files, rotated files compressed in the
// background. It is safe for use by several goroutines, but OnReset only
// means something to a single writing goroutine.
type Writer struct {
	dir     *os.File // every name is opened relative to it: the path is looked up once
	dirName string
	opts    Options
	clock   Clock

	mu        sync.Mutex
	f         *os.File // live file; nil while none could be created
	name      string
	seq       uint64 // of f, or of the last file made
	size      int64  // bytes in f that were written
	fileLines int    // lines in f after its header
	buf       []byte
	bufLines  int
	bufFirst  time.Time // when the first line in buf was given
	unsynced  int       // lines written to f since the last fsync
	lastSync  time.Time
	timer     Timer
	armed     bool
	closed    bool

	failing   bool
	lastErr   error
	gapCount  uint64
	gapFrom   time.Time
	gapTo     time.Time
	nextRetry time.Time
	lastWarn  time.Time
	warned    bool
	// toldFailing: a warning said lines are lost, and none since said
	// that writing resumed.
	toldFailing bool
	reset       bool // OnReset is due when Write returns

	stats Stats

	kick chan struct{}
	done sync.WaitGroup
}

// Open starts a recording in dir, creating it (0700) if needed. A
// directory that is a symlink, belongs to another user or is writable by
// group or others is refused (ErrUnsafeDir). Files left by an earlier
// recording are kept (and counted against MaxFiles); the new live file
// goes on from their highest sequence number, a plain one of them is
// compressed.
func Open(dir string, opts Options) (*Writer, error) {
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.Warn == nil {
		opts.Warn = os.Stderr
	}
	if opts.bufSize <= 0 {
		opts.bufSize = 256 << 10
	}
	if opts.Compress < Zstd || opts.Compress > None {
		return nil, fmt.Errorf("record: %v", opts.Compress)
	}
	d, err := openDir(dir)
	if err != nil {
		return nil, err
	}
	w := &Writer{dir: d, dirName: dir, opts: opts, clock: opts.Clock,
		buf: make([]byte, 0, opts.bufSize), kick: make(chan struct{}, 1)}
	files, err := w.list()
	if err != nil {
		d.Close()
		return nil, err
	}
	for _, f := range files {
		w.seq = max(w.seq, f.seq)
		if f.tmp { // a compression that a crash interrupted
			_ = unix.Unlinkat(int(d.Fd()), f.name, 0)
		}
	}
	now := w.clock.Now()
	if err := w.openFile(now); err != nil {
		d.Close()
		return nil, fmt.Errorf("record: %w", err)
	}
	w.lastSync = now
	w.timer = w.clock.AfterFunc(time.Hour, w.tick)
	w.timer.Stop()
	w.prune()
	w.done.Add(1)
	go w.janitor()
	w.kick <- struct{}{} // files of an earlier recording left plain
	return w, nil
}

// openDir opens dir without following a symlink and checks that only its
// owner, the user sigtrace runs as, can write in it. The checks are made
// on the open directory, so the path cannot be swapped after them.
func openDir(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		if err := unix.Mkdir(dir, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("record: create directory %q: %w", dir, err)
		}
		fd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		var st unix.Stat_t
		if unix.Lstat(dir, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return nil, fmt.Errorf("record: %q: %w: it is a symlink (give the directory it points to)", dir, ErrUnsafeDir)
		}
		return nil, fmt.Errorf("record: %q is not a directory", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("record: open directory %q: %w", dir, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("record: stat %q: %w", dir, err)
	}
	if uid := os.Geteuid(); int(st.Uid) != uid {
		unix.Close(fd)
		return nil, fmt.Errorf("record: %q: %w: owned by uid %d, not by uid %d that records (argv in it may hold secrets)", dir, ErrUnsafeDir, st.Uid, uid)
	}
	if st.Mode&0o022 != 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("record: %q: %w: mode %04o lets others write in it (chmod 700 it)", dir, ErrUnsafeDir, st.Mode&0o7777)
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// fileName names a file so that names sort as the files were started:
// sigtrace-20261202T053000.123Z-000001.jsonl.
func fileName(start time.Time, seq uint64) string {
	return fmt.Sprintf("sigtrace-%s-%06d.jsonl", start.UTC().Format("20060102T150405.000Z"), seq)
}

type dirFile struct {
	name       string
	seq        uint64
	compressed bool // .zst or .gz
	tmp        bool // a compression under way or interrupted
}

// parseName reads a name fileName made, with a compression's suffix and
// ".tmp" allowed after it.
func parseName(name string) (dirFile, bool) {
	f := dirFile{name: name}
	const stamp = len("20060102T150405.000Z")
	rest, ok := strings.CutPrefix(name, "sigtrace-")
	if !ok || len(rest) < stamp+2 || rest[stamp] != '-' {
		return f, false
	}
	if _, err := time.Parse("20060102T150405.000Z", rest[:stamp]); err != nil {
		return f, false
	}
	rest = rest[stamp+1:]
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		f.seq = f.seq*10 + uint64(rest[i]-'0')
		i++
		if i > 18 {
			return f, false
		}
	}
	if i == 0 {
		return f, false
	}
	switch rest[i:] {
	case ".jsonl":
	case ".jsonl.zst", ".jsonl.gz":
		f.compressed = true
	case ".jsonl.zst.tmp", ".jsonl.gz.tmp":
		f.tmp = true
	default:
		return f, false
	}
	return f, true
}

// list returns the recording's files in dir; a fresh descriptor each
// time, since the janitor lists while the writer may.
func (w *Writer) list() ([]dirFile, error) {
	fd, err := unix.Openat(int(w.dir.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("record: list %q: %w", w.dirName, err)
	}
	d := os.NewFile(uintptr(fd), w.dirName)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("record: list %q: %w", w.dirName, err)
	}
	var files []dirFile
	for _, n := range names {
		if f, ok := parseName(n); ok {
			files = append(files, f)
		}
	}
	return files, nil
}

// openFile starts the next file and writes its header. The header is
// written at once, not buffered, so that a file is never left without one
// by anything but a crash in between.
func (w *Writer) openFile(now time.Time) error {
	seq := w.seq + 1
	name := fileName(now, seq)
	// O_EXCL: an existing file or symlink of that name is never written
	// through (O_NOFOLLOW says so again, for the reader of this line).
	fd, err := unix.Openat(int(w.dir.Fd()), name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create %q in %q: %w (refusing to write through an existing file or symlink)", name, w.dirName, err)
		}
		return fmt.Errorf("create %q in %q: %w", name, w.dirName, err)
	}
	f := os.NewFile(uintptr(fd), name)
	h := w.opts.Header
	h.Seq, h.Start = seq, now
	hdr := h.Marshal()
	if _, err := f.Write(hdr); err != nil {
		f.Close()
		_ = unix.Unlinkat(int(w.dir.Fd()), name, 0)
		return fmt.Errorf("write header of %q in %q: %w", name, w.dirName, err)
	}
	// The new name must survive a crash as well as the lines in it.
	_ = unix.Fsync(int(w.dir.Fd()))
	w.f, w.name, w.seq = f, name, seq
	w.size, w.fileLines, w.unsynced = int64(len(hdr)), 0, 0
	w.stats.Bytes += uint64(len(hdr))
	w.stats.Seq, w.stats.File = seq, name
	return nil
}

// Write takes one line ("\n"-terminated JSON) for the recording. It
// buffers; the buffer goes to disk when full and at most FlushInterval
// after its first line, with an fsync. A line that cannot be written (the
// disk is full, read-only or failing) is counted, not returned as an
// error: the recording goes on and a gap record says what was lost once
// writing works again. Errors are ErrBadLine and ErrClosed only.
func (w *Writer) Write(line []byte) error {
	n := len(line)
	if n == 0 || n > MaxLine || line[n-1] != '\n' || bytes.IndexByte(line[:n-1], '\n') >= 0 {
		return ErrBadLine
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	now := w.clock.Now()
	if w.failing {
		// This line was rendered before the reset that resuming brings:
		// it goes into the gap with the others.
		w.drop(1, now, now)
		if !now.Before(w.nextRetry) {
			w.resume(now)
		}
	} else {
		w.add(line, now)
	}
	reset := w.reset
	w.reset = false
	w.mu.Unlock()
	if reset && w.opts.OnReset != nil {
		w.opts.OnReset()
	}
	return nil
}

// add buffers line, flushing when the buffer is full or a sync is due,
// and rotates after it when the file has reached MaxSize: after, because
// the line was rendered for this file.
func (w *Writer) add(line []byte, now time.Time) {
	if len(w.buf)+len(line) > cap(w.buf) && !w.flush(now) {
		w.drop(1, now, now)
		return
	}
	if len(w.buf) == 0 {
		w.bufFirst = now
	}
	w.buf = append(w.buf, line...)
	w.bufLines++
	w.fileLines++
	if w.size+int64(len(w.buf)) >= w.opts.MaxSize {
		w.rotate(now)
		return
	}
	if !w.armed {
		w.armed = true
		w.timer.Reset(FlushInterval)
	} else if now.Sub(w.lastSync) >= FlushInterval {
		// The timer is late (or the clock is a test's): do not wait for it.
		w.sync(now)
	}
}

// tick is the flush timer: whatever was buffered goes to disk, synced.
func (w *Writer) tick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	if w.closed || w.failing {
		return
	}
	w.sync(w.clock.Now())
}

// flush writes the buffer to the file (write(2), no fsync). On failure
// the file is cut back to its last whole line and the buffered lines are
// counted as dropped.
func (w *Writer) flush(now time.Time) bool {
	if len(w.buf) == 0 {
		return true
	}
	if err := w.writeAt(w.buf); err != nil {
		w.fail(err, w.bufLines, w.bufFirst, now)
		return false
	}
	w.unsynced += w.bufLines
	w.buf, w.bufLines = w.buf[:0], 0
	return true
}

// writeAt appends b to the live file at its known size. A short write
// (the disk filled up in the middle) is undone with ftruncate, which
// needs no space, so the file holds whole lines only.
func (w *Writer) writeAt(b []byte) error {
	n, err := w.f.WriteAt(b, w.size)
	if err != nil {
		if n > 0 {
			if terr := w.f.Truncate(w.size); terr != nil {
				// The partial line stays; the reader skips it as corrupt.
				w.size += int64(n)
			}
		}
		return err
	}
	w.size += int64(n)
	w.stats.Bytes += uint64(n)
	return nil
}

// sync flushes and fsyncs. Lines whose fsync failed are counted as
// dropped: after a failed fsync the kernel may have thrown them away
// (they may also be in the file, so a gap's count is at most what is
// missing).
func (w *Writer) sync(now time.Time) bool {
	if !w.flush(now) {
		return false
	}
	w.lastSync = now
	if w.unsynced == 0 {
		return true
	}
	if err := unix.Fdatasync(int(w.f.Fd())); err != nil {
		w.fail(err, w.unsynced, now, now)
		w.unsynced = 0
		return false
	}
	w.stats.Lines += uint64(w.unsynced)
	w.unsynced = 0
	return true
}

// rotate finishes the live file and starts the next one. It runs on the
// writing goroutine only (from Write), so OnReset comes between lines.
func (w *Writer) rotate(now time.Time) {
	if !w.sync(now) {
		return // the lines are counted; resume rotates when it can write again
	}
	w.closeFile()
	w.stats.Rotations++
	if err := w.openFile(now); err != nil {
		w.fail(err, 0, now, now)
		return
	}
	w.reset = true
	w.prune()
	select {
	case w.kick <- struct{}{}:
	default: // the janitor will see this file too
	}
}

func (w *Writer) closeFile() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// drop counts lines lost in a failure from..to.
func (w *Writer) drop(lines int, from, to time.Time) {
	if lines == 0 {
		return
	}
	if w.gapCount == 0 || from.Before(w.gapFrom) {
		w.gapFrom = from
	}
	if to.After(w.gapTo) {
		w.gapTo = to
	}
	w.gapCount += uint64(lines)
	w.stats.Dropped += uint64(lines)
}

// fail enters (or stays in) the failing state: lines are lost, and
// writing is tried again FlushInterval later.
func (w *Writer) fail(err error, lines int, from, now time.Time) {
	if lines > 0 {
		w.buf, w.bufLines = w.buf[:0], 0
	}
	w.drop(lines, from, now)
	w.failing = true
	w.lastErr = err
	w.nextRetry = now.Add(FlushInterval)
	w.warn(now, false)
}

// warn says on Warn that lines are being lost, at most once a minute,
// and that writing resumed once after each time it said so: a disk that
// fills and empties by pages writes at most two lines a minute.
func (w *Writer) warn(now time.Time, resumed bool) {
	if resumed {
		if !w.toldFailing {
			return
		}
		w.toldFailing = false
		fmt.Fprintf(w.opts.Warn, "sigtrace: warning: recording to %q again; %d lines could not be written (a gap record counts them)\n", w.dirName, w.gapCount)
		return
	}
	if w.warned && now.Sub(w.lastWarn) < warnInterval {
		return
	}
	w.warned, w.lastWarn, w.toldFailing = true, now, true
	fmt.Fprintf(w.opts.Warn, "sigtrace: warning: cannot write to %q: %v%s; recording goes on, counting what it cannot write (%d lines so far; said at most once a minute)\n",
		w.dirName, w.lastErr, hint(w.lastErr), w.gapCount)
}

// hint says what to do about the usual causes.
func hint(err error) string {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return " (free some space, or lower --max-files or --max-size)"
	case errors.Is(err, syscall.EROFS):
		return " (remount it read-write, or record elsewhere)"
	case errors.Is(err, syscall.EIO):
		return " (the disk may be failing: see dmesg)"
	}
	return ""
}

// resume tries to write the gap record; when it can, lines are written
// again after it.
func (w *Writer) resume(now time.Time) {
	w.nextRetry = now.Add(FlushInterval)
	if w.f != nil && w.fileLines > 0 && w.size >= w.opts.MaxSize {
		w.closeFile() // full: the gap record goes into the next one
		w.stats.Rotations++
	}
	if w.f == nil {
		if err := w.openFile(now); err != nil {
			w.lastErr = err
			w.warn(now, false)
			return
		}
		w.prune()
	}
	rec := w.gapRecord()
	if err := w.writeAt(rec); err != nil {
		w.lastErr = err
		w.warn(now, false)
		return
	}
	if err := unix.Fdatasync(int(w.f.Fd())); err != nil {
		w.lastErr = err
		w.warn(now, false)
		return
	}
	w.unsynced = 0
	w.lastSync = now
	w.fileLines++
	w.failing = false
	w.reset = true
	w.warn(now, true)
	w.gapCount = 0
}

// gapRecord is SPEC's gap record, written by the one JSON writer:
// {"time":...,"type":"gap","count":N,"from":...,"to":...,"error":...};
// time is where the gap starts, as in every event.
func (w *Writer) gapRecord() []byte {
	ev := tracer.Event{Type: tracer.TypeGap, Time: w.gapFrom.UTC(),
		Gap: tracer.Gap{Count: w.gapCount, From: w.gapFrom.UTC(), To: w.gapTo.UTC()}}
	if w.lastErr != nil {
		ev.Gap.Error = errText(w.lastErr)
	}
	return output.AppendJSON(nil, &ev)
}

// prune removes the oldest files beyond MaxFiles, the live one counted.
// A file and its compressed copy under way are one file.
func (w *Writer) prune() {
	files, err := w.list()
	if err != nil {
		return
	}
	bySeq := map[uint64][]string{}
	var seqs []uint64
	for _, f := range files {
		if f.seq > w.seq {
			continue // not ours (a clock or a hand ahead of us): leave it
		}
		if _, ok := bySeq[f.seq]; !ok {
			seqs = append(seqs, f.seq)
		}
		bySeq[f.seq] = append(bySeq[f.seq], f.name)
	}
	if len(seqs) <= w.opts.MaxFiles {
		return
	}
	slices.Sort(seqs)
	for _, s := range seqs[:len(seqs)-w.opts.MaxFiles] {
		if s == w.seq {
			continue
		}
		for _, n := range bySeq[s] {
			_ = unix.Unlinkat(int(w.dir.Fd()), n, 0)
		}
	}
	_ = unix.Fsync(int(w.dir.Fd()))
}

// Stats returns what the writer did so far.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Close writes what is buffered, syncs, and waits for the compression of
// rotated files. The live file stays plain (the next Open compresses it).
// It returns an error when lines were lost that no gap record counts.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	now := w.clock.Now()
	if !w.failing {
		w.sync(now)
	}
	if w.failing {
		w.resume(now) // one last try, for the gap record
	}
	w.closed = true
	w.timer.Stop()
	w.closeFile()
	var err error
	if w.failing {
		err = fmt.Errorf("record: %d lines could not be written to %q%s: %w", w.gapCount, w.dirName, hint(w.lastErr), w.lastErr)
	}
	w.mu.Unlock()
	close(w.kick)
	w.done.Wait()
	w.dir.Close()
	return err
}
