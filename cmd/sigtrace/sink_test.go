package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/output"
	"github.com/sigtrace/sigtrace/signals"
	"github.com/sigtrace/sigtrace/tracer"
)

// lineOf is one line of n bytes, '\n' included.
func lineOf(n int, c byte) string {
	return strings.Repeat(string(c), n-1) + "\n"
}

func TestWholeLines(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []int // line lengths, '\n' included
		want  []int // the writes the buffer is cut into
	}{
		{"one short line", []int{100}, []int{100}},
		{"short lines that fit", []int{1000, 1000, 1000}, []int{3000}},
		{"exactly PIPE_BUF in one line", []int{4096}, []int{4096}},
		{"exactly PIPE_BUF in lines", []int{1000, 3096}, []int{4096}},
		{"one byte past PIPE_BUF", []int{1000, 3097}, []int{1000, 3097}},
		{"PIPE_BUF then one more line", []int{4096, 10}, []int{4096, 10}},
		{"a line longer than PIPE_BUF alone", []int{4097}, []int{4097}},
		{"a long line between short ones", []int{100, 9000, 100}, []int{100, 9000, 100}},
		{"long lines in a row", []int{5000, 6000}, []int{5000, 6000}},
		{"many small lines", []int{1024, 1024, 1024, 1024, 1024, 1}, []int{4096, 1025}},
		{"the newline at byte 4096", []int{4095, 2}, []int{4095, 2}},
		{"one-byte lines", []int{1, 1, 1}, []int{3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			for i, n := range tc.lines {
				b.WriteString(lineOf(n, byte('a'+i)))
			}
			p := []byte(b.String())
			var got []int
			for len(p) > 0 {
				n := wholeLines(p, pipeBuf)
				if n <= 0 || n > len(p) {
					t.Fatalf("wholeLines = %d of %d bytes", n, len(p))
				}
				if p[n-1] != '\n' {
					t.Errorf("a write of %d bytes ends inside a line", n)
				}
				got = append(got, n)
				p = p[n:]
			}
			if !equalInts(got, tc.want) {
				t.Errorf("writes %v, want %v", got, tc.want)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// recorder keeps each Write as it came.
type recorder struct {
	writes [][]byte
	fail   error // returned from the next Write, after taking half of it
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.fail != nil {
		r.writes = append(r.writes, append([]byte(nil), p[:len(p)/2]...))
		return len(p) / 2, r.fail
	}
	r.writes = append(r.writes, append([]byte(nil), p...))
	return len(p), nil
}

// linesRenderer renders event i as the line of size sizes[i] (ev.Sig is i).
type linesRenderer struct {
	header string
	sizes  []int
}

func (r *linesRenderer) AppendHeader(b []byte) []byte { return append(b, r.header...) }

func (r *linesRenderer) AppendRow(b []byte, ev *tracer.Event) []byte {
	return append(b, lineOf(r.sizes[ev.Sig], byte('a'+ev.Sig%26))...)
}

// TestSinkWritesWholeLines: whatever the sizes of the rows, every write(2)
// the sink makes is whole lines, at most the chunk size unless it is one
// line alone, and together they are the stream.
func TestSinkWritesWholeLines(t *testing.T) {
	sizes := []int{300, 4096, 1, 4097, 700, 20000, 2, 4095, 3, 4096}
	for i := 0; i < 400; i++ { // past the 64 KiB buffer
		sizes = append(sizes, 100+i*37%3000)
	}
	for _, chunk := range []int{pipeBuf, sinkBuffer} {
		rec := &recorder{}
		r := &linesRenderer{header: "HEADER\n", sizes: sizes}
		s := newSinkChunked(rec, r, chunk)
		var want strings.Builder
		want.WriteString(r.header)
		if err := s.header(); err != nil {
			t.Fatal(err)
		}
		for i := range sizes {
			want.WriteString(lineOf(sizes[i], byte('a'+i%26)))
			if err := s.write(&tracer.Event{Sig: i}); err != nil {
				t.Fatal(err)
			}
			if i%97 == 0 { // a poll deadline's flush
				if err := s.flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.flush(); err != nil {
			t.Fatal(err)
		}
		if lines, n := s.unwritten(); lines != 0 || n != 0 {
			t.Errorf("chunk %d: %d lines (%d bytes) unwritten after a flush", chunk, lines, n)
		}
		var got bytes.Buffer
		for _, w := range rec.writes {
			got.Write(w)
			if len(w) == 0 || w[len(w)-1] != '\n' {
				t.Fatalf("chunk %d: a write of %d bytes ends inside a line", chunk, len(w))
			}
			if len(w) > chunk && bytes.Count(w, newline) != 1 {
				t.Errorf("chunk %d: a write of %d bytes holds %d lines", chunk, len(w), bytes.Count(w, newline))
			}
		}
		if got.String() != want.String() {
			t.Errorf("chunk %d: the writes are not the stream (%d bytes, want %d)", chunk, got.Len(), want.Len())
		}
	}
}

// TestSinkUnwritten: what the watchdog reports is what is buffered.
func TestSinkUnwritten(t *testing.T) {
	rec := &recorder{}
	s := newSinkChunked(rec, &linesRenderer{sizes: []int{10, 20, 30}}, pipeBuf)
	if err := s.header(); err != nil { // empty, as JSON's
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := s.write(&tracer.Event{Sig: i}); err != nil {
			t.Fatal(err)
		}
	}
	if lines, n := s.unwritten(); lines != 3 || n != 60 {
		t.Errorf("unwritten = %d lines, %d bytes; want 3, 60", lines, n)
	}
	if len(rec.writes) != 0 {
		t.Errorf("%d writes before a flush", len(rec.writes))
	}
}

// TestSinkWriteError: after a failed write nothing more is written (it
// would start inside a line), and the error stays.
func TestSinkWriteError(t *testing.T) {
	rec := &recorder{fail: syscall.ENOSPC}
	s := newSinkChunked(rec, &linesRenderer{sizes: []int{10, 20}}, pipeBuf)
	_ = s.write(&tracer.Event{Sig: 0})
	if err := s.flush(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("flush = %v, want ENOSPC", err)
	}
	rec.fail = nil
	if err := s.write(&tracer.Event{Sig: 1}); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("write after the error = %v, want ENOSPC", err)
	}
	if err := s.flush(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("flush after the error = %v, want ENOSPC", err)
	}
	if len(rec.writes) != 1 {
		t.Errorf("%d writes, want the one that failed", len(rec.writes))
	}
}

// TestIsPipe: PIPE_BUF chunks for pipes, FIFOs and sockets only.
func TestIsPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ff, err := os.OpenFile(fifo, os.O_RDWR, 0) // O_RDWR: no wait for a reader
	if err != nil {
		t.Fatal(err)
	}
	defer ff.Close()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	sock := os.NewFile(uintptr(fds[0]), "sock")
	defer sock.Close()
	defer syscall.Close(fds[1])
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	var conn net.Conn // not an *os.File
	for _, tc := range []struct {
		name string
		w    io.Writer
		want bool
	}{
		{"pipe", w, true},
		{"fifo", ff, true},
		{"socket", sock, true},
		{"file", file, false},
		{"/dev/null", null, false},
		{"not a file", conn, false},
		{"buffer", &bytes.Buffer{}, false},
	} {
		if got := isPipe(tc.w); got != tc.want {
			t.Errorf("isPipe(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// benchEvent is a generate event with a sender's argv and ancestry, the
// shape of most rows.
func benchEvent() tracer.Event {
	var comm = func(s string) (c [16]byte) { copy(c[:], s); return }
	anc := func(pid uint32, name string) tracer.Ancestor {
		return tracer.Ancestor{PID: pid, Comm: comm(name)}
	}
	return tracer.Event{
		Time:   time.Date(2026, 12, 1, 22, 42, 36, 706403000, time.UTC),
		Type:   tracer.TypeGenerate,
		Sig:    1,
		Target: tracer.Process{PID: 3003, TID: 3003, UID: 998, HasUID: true, Comm: comm("logdeviced")},
		Scope:  tracer.ScopeProcess,
		Generate: tracer.Generate{From: tracer.From{Sender: tracer.Process{
			PID: 5001, TID: 5001, HasUID: true, Comm: comm("pkill"),
			Argv:     []byte("pkill\x00-HUP\x00-x\x00logdeviced\x00"),
			Ancestry: []tracer.Ancestor{anc(5000, "sh"), anc(4990, "nightlyjob"), anc(800, "cron"), anc(1, "systemd")},
		}, DetailID: 1}, Setup: tracer.Setup{DefaultAction: signals.DefaultAction(1)}},
	}
}

// BenchmarkSink: one event rendered and written, with the writes into a
// pipe cut at PIPE_BUF and into a file at 64 KiB; 0 allocs/op.
func BenchmarkSink(b *testing.B) {
	for _, tc := range []struct {
		name   string
		format string
		chunk  int
	}{
		{"json/pipe", "json", pipeBuf},
		{"json/file", "json", sinkBuffer},
		{"table/pipe", "table", pipeBuf},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ev := benchEvent()
			r, err := output.New(tc.format, false)
			if err != nil {
				b.Fatal(err)
			}
			// /dev/null: the write(2) calls are real, the bytes go nowhere.
			null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer null.Close()
			s := newSinkChunked(null, r, tc.chunk)
			b.ReportAllocs()
			for b.Loop() {
				if err := s.write(&ev); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.flush(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
