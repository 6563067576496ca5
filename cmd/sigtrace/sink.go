package main

import (
	"bufio"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/tracer"
)

// sink renders events into one reused buffer and writes them through a
// buffered writer that the reader's poll deadline flushes.
type sink struct {
	w   *bufio.Writer
	r   output.Renderer
	buf []byte
}

func newSink(w io.Writer, format string) (*sink, error) {
	r, err := output.New(format, useColor(w))
	if err != nil {
		return nil, err
	}
	return &sink{w: bufio.NewWriterSize(w, 64<<10), r: r, buf: make([]byte, 0, 4096)}, nil
}

func (s *sink) header() error {
	s.buf = s.r.AppendHeader(s.buf[:0])
	_, err := s.w.Write(s.buf)
	return err
}

func (s *sink) write(ev *tracer.Event) error {
	s.buf = s.r.AppendRow(s.buf[:0], ev)
	_, err := s.w.Write(s.buf)
	return err
}

func (s *sink) flush() error { return s.w.Flush() }

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
