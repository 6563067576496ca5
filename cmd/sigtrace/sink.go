package main

import (
	"bytes"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/tracer"
)

const (
	// sinkBuffer is how much rendered output waits for one flush.
	sinkBuffer = 64 << 10
	// pipeBuf is PIPE_BUF: pipe(7) makes a write of at most this many
	// bytes atomic, and in blocking mode the writer waits until all of it
	// fits. Linux's is 4096 on every architecture.
	pipeBuf = 4096
)

// sink renders events into one reused buffer and writes it out in write(2)
// calls made of whole lines only, so that the stream never ends inside a
// line: not when a write fails, and not when the stop watchdog ends the
// process while a write is blocked (a reader that stopped reading).
//
// Into a pipe, a FIFO or a socket each write is at most PIPE_BUF bytes,
// which the kernel writes all at once or not at all; a write blocked on a
// full pipe has written nothing, so exiting during it loses whole lines,
// never part of one. Files and terminals take writes of the whole buffer:
// nobody is killed in the middle of those for want of a reader.
type sink struct {
	// mu lets a ticker (--interval's counts) write between events.
	mu    sync.Mutex
	w     io.Writer
	r     output.Renderer
	buf   []byte // whole lines not yet written
	lines int    // lines in buf
	chunk int    // the most bytes one write(2) may take
	err   error  // the first write error, returned from then on

	// What is not written yet, for the watchdog (another goroutine) to
	// report when it gives up.
	pendLines, pendBytes atomic.Int64

	sum *summary // --count-by, --hist: counts printed at intervals and at exit
}

// newSink writes what r renders to w (trace's renderers: newTraceSink).
func newSink(w io.Writer, r output.Renderer) *sink {
	chunk := sinkBuffer
	if isPipe(w) {
		chunk = pipeBuf
	}
	return newSinkChunked(w, r, chunk)
}

func newSinkChunked(w io.Writer, r output.Renderer, chunk int) *sink {
	// Room for one row past the flush threshold.
	return &sink{w: w, r: r, buf: make([]byte, 0, sinkBuffer+pipeBuf), chunk: chunk}
}

// isPipe: stdout is a pipe, a FIFO or a socket, where a write can block for
// as long as the reader does not read.
func isPipe(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO, unix.S_IFSOCK:
		return true
	}
	return false
}

func (s *sink) header() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	n := len(s.buf)
	s.buf = s.r.AppendHeader(s.buf)
	return s.added(n)
}

func (s *sink) write(ev *tracer.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	n := len(s.buf)
	s.buf = s.r.AppendRow(s.buf, ev)
	return s.added(n)
}

// added counts what was just rendered at buf[n:] (whole lines: every
// renderer ends a row with '\n') and writes the buffer out once it holds
// sinkBuffer bytes.
func (s *sink) added(n int) error {
	if len(s.buf) == n {
		return nil
	}
	if s.buf[len(s.buf)-1] != '\n' {
		// Never the case; a row without its end would otherwise be
		// joined to the next one, and cut at a chunk's end.
		s.buf = append(s.buf, '\n')
	}
	s.lines += bytes.Count(s.buf[n:], newline)
	s.pendLines.Store(int64(s.lines))
	s.pendBytes.Store(int64(len(s.buf)))
	if len(s.buf) >= sinkBuffer {
		return s.flushLocked()
	}
	return nil
}

var newline = []byte{'\n'}

// flush writes out every buffered line, in writes of whole lines.
func (s *sink) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *sink) flushLocked() error {
	if s.err != nil {
		return s.err
	}
	p := s.buf
	for len(p) > 0 {
		n := wholeLines(p, s.chunk)
		// os.File.Write writes all of p[:n] or fails; it retries a
		// short write itself.
		_, err := s.w.Write(p[:n])
		if err != nil {
			// Whatever part was written, the rest is lost: a later
			// write would start in the middle of a line.
			s.err = err
			return err
		}
		s.lines -= bytes.Count(p[:n], newline)
		p = p[n:]
		s.pendLines.Store(int64(s.lines))
		s.pendBytes.Store(int64(len(p)))
	}
	s.buf = s.buf[:0]
	return nil
}

// unwritten is what has not reached the output yet (safe from any
// goroutine): lines and bytes still buffered, counting those of a write
// blocked in the kernel.
func (s *sink) unwritten() (lines, bytes int64) {
	return s.pendLines.Load(), s.pendBytes.Load()
}

// wholeLines returns the length of the first write for p, which holds
// whole lines: the longest run of whole lines that is at most max bytes,
// or, when the first line alone is longer than max, that line. Such a line
// is rare (rows are about 600 bytes; an EXIT row with two senders' argv full
// of bytes JSON escapes, or a long cgroup path, can pass 4096) and is
// written alone, in one write of its own: beyond PIPE_BUF the kernel may
// write part of it and block for the rest, so an exit at that point can end
// the stream inside it; joined to other lines it would put them at that
// risk too, and cut into pieces it would be at the same risk, in more
// writes. Every other write holds whole lines within PIPE_BUF.
func wholeLines(p []byte, max int) int {
	if len(p) <= max {
		return len(p)
	}
	if i := bytes.LastIndexByte(p[:max], '\n'); i >= 0 {
		return i + 1
	}
	if i := bytes.IndexByte(p[max:], '\n'); i >= 0 {
		return max + i + 1
	}
	return len(p)
}

// useColor: ANSI colours only on a terminal, and never with NO_COLOR set
// (https://no-color.org).
func useColor(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
