package record

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// readAll reads a whole recording: its lines, the files as OnFile saw
// them, and the warnings.
func readAll(t *testing.T, opts ReaderOptions, paths ...string) (lines []string, files []FileInfo, warn string, r *Reader) {
	t.Helper()
	var w bytes.Buffer
	opts.Warn = &w
	opts.OnFile = func(p string, h Header) error {
		files = append(files, FileInfo{p, h})
		return nil
	}
	r, err := NewReader(paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	for {
		l, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(l))
	}
	must(t, r.Close())
	return lines, files, w.String(), r
}

func writeRecording(t *testing.T, dir string, c Compression, lines [][]byte) Stats {
	t.Helper()
	clk := newFakeClock()
	w, err := Open(dir, Options{Clock: clk, MaxSize: 8 << 10, MaxFiles: 1000, Compress: c, Header: testHeader()})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		must(t, w.Write(l))
		clk.Advance(time.Millisecond)
	}
	must(t, w.Close())
	return w.Stats()
}

// A recording reads the same, line for line, whether its rotated files
// are compressed with zstd, gzip or not at all, and equals what was
// written.
func TestReaderCompressedEqualsPlain(t *testing.T) {
	lines := genLines(1000, 12)
	var want []string
	for _, l := range lines {
		want = append(want, strings.TrimSuffix(string(l), "\n"))
	}
	for _, c := range []Compression{None, Zstd, Gzip} {
		t.Run(c.String(), func(t *testing.T) {
			dir := t.TempDir() + "/r"
			st := writeRecording(t, dir, c, lines)
			got, files, warn, _ := readAll(t, ReaderOptions{}, dir)
			if !slices.Equal(got, want) {
				t.Fatalf("read %d lines, wrote %d (or in another order)", len(got), len(want))
			}
			if warn != "" || len(files) != int(st.Rotations)+1 || st.Rotations < 5 {
				t.Fatalf("%d files, %d rotations, warnings %q", len(files), st.Rotations, warn)
			}
			compressed := 0
			for _, n := range dirNames(t, dir) {
				if f, _ := parseName(n); f.compressed {
					compressed++
				}
			}
			if c != None && compressed != len(files)-1 {
				t.Fatalf("%d of %d files compressed", compressed, len(files))
			}
		})
	}
}

// fileWith writes a recording file by hand.
func fileWith(t *testing.T, path string, h Header, body string) {
	t.Helper()
	must(t, os.WriteFile(path, append(h.Marshal(), body...), 0o600))
}

func hdr(seq uint64, start time.Time, boot string) Header {
	h := testHeader()
	h.Seq, h.Start, h.BootID = seq, start, boot
	return h
}

// Files are read in the order of their headers (start, then sequence),
// not of their names or mtimes; OnFile sees each header, so a replay can
// tell a new boot.
func TestReaderOrder(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	// Names that sort the other way round, and mtimes the other way too.
	fileWith(t, dir+"/c.jsonl", hdr(1, t0, "boot-a"), `{"n":1}`+"\n"+`{"n":2}`+"\n")
	fileWith(t, dir+"/b.jsonl", hdr(2, t0.Add(time.Hour), "boot-a"), `{"n":3}`+"\n")
	fileWith(t, dir+"/a.jsonl", hdr(1, t0.Add(2*time.Hour), "boot-b"), `{"n":4}`+"\n")
	fileWith(t, dir+"/d.jsonl", hdr(3, t0.Add(time.Hour), "boot-a"), `{"n":3.5}`+"\n")
	for i, n := range []string{"a", "b", "c", "d"} {
		mt := t0.Add(time.Duration(10-i) * time.Hour)
		must(t, os.Chtimes(dir+"/"+n+".jsonl", mt, mt))
	}
	got, files, warn, _ := readAll(t, ReaderOptions{}, dir+"/a.jsonl", dir+"/b.jsonl", dir+"/c.jsonl", dir+"/d.jsonl")
	if want := []string{`{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":3.5}`, `{"n":4}`}; !slices.Equal(got, want) || warn != "" {
		t.Fatalf("lines %q, warnings %q", got, warn)
	}
	var order, boots []string
	for _, f := range files {
		order = append(order, filepath.Base(f.Path))
		boots = append(boots, f.Header.BootID)
	}
	if !slices.Equal(order, []string{"c.jsonl", "b.jsonl", "d.jsonl", "a.jsonl"}) || !slices.Equal(boots, []string{"boot-a", "boot-a", "boot-a", "boot-b"}) {
		t.Fatalf("files in order %q, boots %q", order, boots)
	}
}

// A crash mid-write leaves the last line of a file cut: one warning, the
// line is skipped, the rest reads. That holds for any file, since a
// restarted recording goes on in a new one. Lines cut or corrupt in the
// middle are counted, with one warning at the end naming the first.
func TestReaderTornAndCorrupt(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	good := `{"type":"generate","n":1}` + "\n"
	for _, tc := range []struct {
		name    string
		body    string // of the first of two files
		lines   int    // read from both (the second holds 1)
		torn    int
		corrupt uint64
		first   string // FirstCorrupt's suffix
		warns   []string
	}{
		{"whole", good + good, 3, 0, 0, "", nil},
		{"cut, no newline", good + `{"type":"gen`, 2, 1, 0, "", []string{"its last line is cut (12 bytes"}},
		{"cut, zeros after a crash", good + "\x00\x00\x00\x00", 2, 1, 0, "", []string{"its last line is cut (4 bytes"}},
		{"invalid last line with its newline", good + "{\"type\":\n", 2, 1, 0, "", []string{"its last line is cut"}},
		{"whole object without its newline", good + `{"n":2}`, 3, 0, 0, "", nil},
		{"corrupt middle", good + "garbage\n" + good + "[1]\n" + good, 4, 0, 2, "f1.jsonl:3: not a JSON object",
			[]string{"2 corrupt lines skipped (the first at /"}},
		{"empty line in the middle", good + "\n" + good, 3, 0, 1, "f1.jsonl:3: not a JSON object", []string{"1 corrupt lines skipped"}},
		{"over-long line", good + `{"a":"` + strings.Repeat("x", 300) + "\"}\n" + good, 3, 0, 1, "f1.jsonl:3: longer than 256 bytes",
			[]string{"1 corrupt lines skipped"}},
		{"over-long line without newline at the end", good + strings.Repeat("x", 300), 2, 0, 1, "f1.jsonl:3: longer than 256 bytes", []string{"1 corrupt lines"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fileWith(t, dir+"/f1.jsonl", hdr(1, t0, "b"), tc.body)
			fileWith(t, dir+"/f2.jsonl", hdr(2, t0.Add(time.Second), "b"), good)
			lines, _, warn, r := readAll(t, ReaderOptions{maxLine: 256}, dir+"/f1.jsonl", dir+"/f2.jsonl")
			st := r.Stats()
			if len(lines) != tc.lines || st.Torn != tc.torn || st.Corrupt != tc.corrupt || !strings.HasSuffix(st.FirstCorrupt, tc.first) {
				t.Fatalf("%d lines %q, stats %+v", len(lines), lines, st)
			}
			if strings.Count(warn, "\n") != len(tc.warns) {
				t.Fatalf("warnings %q, want %d", warn, len(tc.warns))
			}
			for _, w := range tc.warns {
				if !strings.Contains(warn, w) {
					t.Fatalf("warnings %q do not say %q", warn, w)
				}
			}
		})
	}
}

func TestReaderErrors(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		make  func(t *testing.T, dir string) []string
		is    error
		say   string
		empty int // for the success case: files skipped as empty
	}{
		{"missing file", func(t *testing.T, dir string) []string { return []string{dir + "/nope.jsonl"} }, os.ErrNotExist, "no such file", 0},
		{"not a recording", func(t *testing.T, dir string) []string {
			must(t, os.WriteFile(dir+"/x.jsonl", []byte(`{"type":"generate"}`+"\n"), 0o600))
			return []string{dir + "/x.jsonl"}
		}, ErrNotHeader, "not a sigtrace recording header", 0},
		{"newer schema", func(t *testing.T, dir string) []string {
			fileWith(t, dir+"/a.jsonl", hdr(1, t0, "b"), "")
			must(t, os.WriteFile(dir+"/b.jsonl", []byte(`{"type":"header","schema":2,"seq":2}`+"\n"), 0o600))
			return []string{dir + "/a.jsonl", dir + "/b.jsonl"}
		}, ErrSchema, "unsupported recording schema 2", 0},
		{"a FIFO", func(t *testing.T, dir string) []string {
			must(t, syscall.Mkfifo(dir+"/fifo", 0o600))
			return []string{dir + "/fifo"}
		}, nil, "not a regular file", 0},
		{"unreadable", func(t *testing.T, dir string) []string {
			fileWith(t, dir+"/a.jsonl", hdr(1, t0, "b"), "")
			must(t, os.Chmod(dir+"/a.jsonl", 0))
			return []string{dir + "/a.jsonl"}
		}, os.ErrPermission, "permission denied", 0},
		{"directory without recording files", func(t *testing.T, dir string) []string {
			must(t, os.WriteFile(dir+"/notes.txt", nil, 0o600))
			return []string{dir}
		}, nil, "no recording files (sigtrace-*.jsonl) in", 0},
		{"symlink in a recording directory", func(t *testing.T, dir string) []string {
			must(t, os.Mkdir(dir+"/r", 0o700))
			fileWith(t, dir+"/real.jsonl", hdr(1, t0, "b"), "")
			must(t, os.Symlink(dir+"/real.jsonl", dir+"/r/"+fileName(t0, 1)))
			return []string{dir + "/r"}
		}, nil, "is a symlink", 0},
		{"only empty files", func(t *testing.T, dir string) []string {
			must(t, os.WriteFile(dir+"/a.jsonl", nil, 0o600))
			return []string{dir + "/a.jsonl"}
		}, nil, "every file was empty", 0},
		{"an empty file and a good one", func(t *testing.T, dir string) []string {
			must(t, os.WriteFile(dir+"/a.jsonl", []byte(`{"type":"hea`), 0o600))
			fileWith(t, dir+"/b.jsonl", hdr(1, t0, "b"), "")
			return []string{dir + "/a.jsonl", dir + "/b.jsonl"}
		}, nil, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.is == os.ErrPermission && os.Geteuid() == 0 {
				// Root reads a 0000 file; drop to nobody for this one.
				t.Skip("root reads any file: covered by the FIFO and missing cases")
			}
			dir := t.TempDir()
			paths := tc.make(t, dir)
			var warn bytes.Buffer
			r, err := NewReader(paths, ReaderOptions{Warn: &warn})
			if tc.say == "" {
				if err != nil || r.Stats().Empty != tc.empty || !strings.Contains(warn.String(), "no whole header line") {
					t.Fatalf("NewReader = %v, stats %+v, warnings %q", err, r.Stats(), warn.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.say) || tc.is != nil && !errors.Is(err, tc.is) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("NewReader = %v, want one line saying %q (is %v)", err, tc.say, tc.is)
			}
		})
	}
}

// A crash between the rename of a compressed copy and the removal of its
// plain file leaves both: the directory reads each line once.
func TestReaderPlainAndCompressedCopy(t *testing.T) {
	dir := t.TempDir() + "/r"
	lines := genLines(300, 13)
	writeRecording(t, dir, None, lines)
	names := dirNames(t, dir)
	for _, n := range names[:2] {
		src, err := os.ReadFile(filepath.Join(dir, n))
		must(t, err)
		var b bytes.Buffer
		z, _ := zstd.NewWriter(&b)
		z.Write(src)
		z.Close()
		must(t, os.WriteFile(filepath.Join(dir, n+".zst"), b.Bytes(), 0o600))
	}
	// A hand-gzipped file of another name reads too: the content decides.
	src, err := os.ReadFile(filepath.Join(dir, names[2]))
	must(t, err)
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Write(src)
	z.Close()
	must(t, os.WriteFile(filepath.Join(dir, names[2]), b.Bytes(), 0o600))
	got, _, warn, _ := readAll(t, ReaderOptions{}, dir)
	if len(got) != len(lines) || warn != "" {
		t.Fatalf("read %d lines of %d, warnings %q", len(got), len(lines), warn)
	}
	// A compressed file of the same sequence number but another start
	// (another recording's, in the same directory) is not a copy: both
	// are read.
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	other := fmt.Sprintf("sigtrace-%s-%06d.jsonl", t0.Format("20060102T150405.000Z"), 1)
	fileWith(t, filepath.Join(dir, other), hdr(1, t0, "boot-z"), `{"n":1}`+"\n")
	got, _, warn, _ = readAll(t, ReaderOptions{}, dir)
	if len(got) != len(lines)+1 || warn != "" {
		t.Fatalf("with another recording's file of the same sequence number: read %d lines of %d, warnings %q", len(got), len(lines)+1, warn)
	}
}

// FuzzReader: whatever a file holds, plain or compressed, the reader
// returns JSON objects of at most maxLine bytes, or an error, never
// panics, and keeps its memory bounded by maxLine and the decoder's
// window.
func FuzzReader(f *testing.F) {
	h := hdr(1, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), "b").Marshal()
	for _, body := range []string{
		`{"type":"generate"}` + "\n",
		`{"type":"generate"}` + "\n" + `{"type":"gen`,
		"x\n{}\n\n" + strings.Repeat("y", 300) + "\n{\"a\":1}",
		`{"type":"gap","count":3,"from":"2026-12-02T00:00:00Z","to":"2026-12-02T00:00:01Z"}` + "\n",
	} {
		f.Add(append(slices.Clip(h), body...))
	}
	var z bytes.Buffer
	zw, _ := zstd.NewWriter(&z)
	zw.Write(append(slices.Clip(h), `{"a":1}`+"\n"...))
	zw.Close()
	f.Add(z.Bytes())
	var g bytes.Buffer
	gw := gzip.NewWriter(&g)
	gw.Write(append(slices.Clip(h), `{"a":1}`+"\n"...))
	gw.Close()
	f.Add(g.Bytes())
	f.Add([]byte(`{"type":"header","schema":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "f.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader([]string{path}, ReaderOptions{Warn: io.Discard, maxLine: 256, maxBytes: 1 << 20})
		if err != nil {
			return
		}
		defer r.Close()
		for range 1 << 16 {
			l, err := r.Next()
			if err != nil {
				return
			}
			if len(l) > 256 || !validLine(l) {
				t.Fatalf("returned %q", l)
			}
		}
		t.Fatal("more lines than the input could hold")
	})
}
