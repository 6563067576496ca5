package record

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func testHeader() Header {
	return Header{Host: "testhost", Kernel: "6.18.0", BootID: "b00710d0-0000-4000-8000-000000000001",
		BootTime: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Version: "test", ClockOffsetNs: 1}
}

// readFileLines returns the plain lines of one file (decompressed).
func readFileLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := openDecompressor(f)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	b, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(b), "\n")[:strings.Count(string(b), "\n")]
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	names, err := readDirNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func TestWriterFileAndHeader(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	clk := newFakeClock()
	w, err := Open(dir, Options{Clock: clk, Header: testHeader()})
	if err != nil {
		t.Fatal(err)
	}
	lines := genLines(3, 1)
	for _, l := range lines {
		if err := w.Write(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	names := dirNames(t, dir)
	if want := []string{"sigtrace-20261202T053000.123Z-000001.jsonl"}; !slices.Equal(names, want) {
		t.Fatalf("files %q, want %q", names, want)
	}
	got := readFileLines(t, filepath.Join(dir, names[0]))
	h, err := ParseHeader([]byte(got[0]))
	if err != nil {
		t.Fatal(err)
	}
	if h.Seq != 1 || !h.Start.Equal(clk.Now()) || h.Host != "testhost" || h.Schema != Schema {
		t.Fatalf("header %+v", h)
	}
	for i, l := range lines {
		if got[i+1] != string(l) {
			t.Fatalf("line %d: %q, want %q", i+1, got[i+1], l)
		}
	}
	st := w.Stats()
	if st.Lines != 3 || st.Dropped != 0 || st.Rotations != 0 || st.Seq != 1 {
		t.Fatalf("stats %+v", st)
	}
	if err := w.Write(lines[0]); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

func TestWriteBadLine(t *testing.T) {
	w, err := Open(t.TempDir()+"/r", Options{Clock: newFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, tc := range []struct{ name, line string }{
		{"empty", ""},
		{"no newline", `{"a":1}`},
		{"two lines", "{\"a\":1}\n{\"b\":2}\n"},
		{"over MaxLine", `{"a":"` + strings.Repeat("x", MaxLine) + "\"}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := w.Write([]byte(tc.line)); !errors.Is(err, ErrBadLine) {
				t.Fatalf("Write = %v, want ErrBadLine", err)
			}
		})
	}
}

// A line reaches the disk at most FlushInterval after it was written,
// with no Write or Close to push it.
func TestWriterFlushesWithinASecond(t *testing.T) {
	dir := t.TempDir() + "/r"
	clk := newFakeClock()
	w, err := Open(dir, Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	path := filepath.Join(dir, w.Stats().File)
	line := genLines(1, 2)[0]
	if err := w.Write(line); err != nil {
		t.Fatal(err)
	}
	if n := len(readFileLines(t, path)); n != 1 {
		t.Fatalf("%d lines on disk before any flush, want the header alone", n)
	}
	clk.Advance(FlushInterval - time.Millisecond)
	if n := len(readFileLines(t, path)); n != 1 {
		t.Fatalf("%d lines on disk before the second is over", n)
	}
	clk.Advance(time.Millisecond)
	if got := readFileLines(t, path); len(got) != 2 || got[1] != string(line) {
		t.Fatalf("after a second: %q", got)
	}
	if st := w.Stats(); st.Lines != 1 {
		t.Fatalf("stats after the flush: %+v", st)
	}
}

// The same with the real clock: the timer is armed by the first buffered
// line (nothing polls), and fires.
func TestWriterFlushesWithRealClock(t *testing.T) {
	dir := t.TempDir() + "/r"
	w, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Write(genLines(1, 3)[0]); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for w.Stats().Lines != 1 {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the line was not synced within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(start); d > 3*FlushInterval {
		t.Fatalf("synced after %v", d)
	}
}

// Writing far past the bounds: the number of files never exceeds
// MaxFiles, no file exceeds MaxSize by more than its last line (rotation
// comes after the line that reaches the bound, because the renderer
// wrote that line for this file), the files kept are the newest, whole,
// rotated ones compressed, and OnReset came once per new file.
func TestWriterRotationBounds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxSize  int64
		maxFiles int
		compress Compression
	}{
		{"zstd", 8 << 10, 4, Zstd},
		{"gzip", 8 << 10, 3, Gzip},
		{"plain", 16 << 10, 2, None},
		{"one file", 4 << 10, 1, Zstd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir() + "/r"
			clk := newFakeClock()
			resets := 0
			w, err := Open(dir, Options{Clock: clk, MaxSize: tc.maxSize, MaxFiles: tc.maxFiles,
				Compress: tc.compress, Header: testHeader(), OnReset: func() { resets++ }})
			if err != nil {
				t.Fatal(err)
			}
			lines := genLines(2000, 4)
			longest := 0
			for i, l := range lines {
				longest = max(longest, len(l))
				if err := w.Write(l); err != nil {
					t.Fatal(err)
				}
				clk.Advance(time.Millisecond)
				if i%100 == 0 {
					if n := countSeqs(t, dir); n > tc.maxFiles {
						t.Fatalf("after %d lines: %d files, MaxFiles %d", i+1, n, tc.maxFiles)
					}
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			st := w.Stats()
			if st.Rotations < 10 || uint64(resets) != st.Rotations || st.Dropped != 0 || st.Lines != uint64(len(lines)) {
				t.Fatalf("stats %+v, %d resets", st, resets)
			}
			names := dirNames(t, dir)
			if len(names) != tc.maxFiles {
				t.Fatalf("%d files %q, want %d", len(names), names, tc.maxFiles)
			}
			var kept []string
			for i, n := range names {
				f, _ := parseName(n)
				if f.tmp || f.seq != st.Seq-uint64(len(names)-1-i) {
					t.Fatalf("files %q: not the newest %d", names, tc.maxFiles)
				}
				live := i == len(names)-1
				if want := !live && tc.compress != None; f.compressed != want {
					t.Fatalf("%s: compressed %v, want %v", n, f.compressed, want)
				}
				got := readFileLines(t, filepath.Join(dir, n))
				size := 0
				for _, l := range got {
					size += len(l)
				}
				if int64(size) > tc.maxSize+int64(longest) || !live && int64(size) < tc.maxSize {
					t.Fatalf("%s: %d bytes plain, bound %d + one line of at most %d", n, size, tc.maxSize, longest)
				}
				if h, err := ParseHeader([]byte(got[0])); err != nil || h.Seq != f.seq {
					t.Fatalf("%s: header %+v, %v", n, h, err)
				}
				kept = append(kept, got[1:]...)
			}
			// What is kept is the end of what was written, in order.
			tail := lines[len(lines)-len(kept):]
			for i := range kept {
				if kept[i] != string(tail[i]) {
					t.Fatalf("kept line %d is %q, want %q", i, kept[i], tail[i])
				}
			}
		})
	}
}

// countSeqs counts the recording's files, a file and its compressed copy
// under way as one.
func countSeqs(t *testing.T, dir string) int {
	seqs := map[uint64]bool{}
	for _, n := range dirNames(t, dir) {
		if f, ok := parseName(n); ok {
			seqs[f.seq] = true
		}
	}
	return len(seqs)
}

// A restart goes on from the highest sequence number, compresses the
// file the last run left plain, and counts the old files against
// MaxFiles.
func TestWriterRestart(t *testing.T) {
	dir := t.TempDir() + "/r"
	clk := newFakeClock()
	lines := genLines(30, 5)
	for run := range 3 {
		w, err := Open(dir, Options{Clock: clk, MaxFiles: 2, Header: testHeader()})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines[run*10 : run*10+10] {
			if err := w.Write(l); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if st := w.Stats(); st.Seq != uint64(run+1) {
			t.Fatalf("run %d: seq %d", run, st.Seq)
		}
		clk.Advance(time.Minute)
	}
	names := dirNames(t, dir)
	if len(names) != 2 || !strings.HasSuffix(names[0], "-000002.jsonl.zst") || !strings.HasSuffix(names[1], "-000003.jsonl") {
		t.Fatalf("files %q", names)
	}
	r, err := NewReader([]string{dir}, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for {
		l, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, append(slices.Clip(l), '\n'))
	}
	if !slices.EqualFunc(got, lines[10:], bytes.Equal) {
		t.Fatalf("read %d lines, want the last 20", len(got))
	}
}

func TestWriterPermissions(t *testing.T) {
	old := syscall.Umask(0) // the modes must not depend on the umask
	defer syscall.Umask(old)
	dir := t.TempDir() + "/r"
	clk := newFakeClock()
	w, err := Open(dir, Options{Clock: clk, MaxSize: 2048, MaxFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range genLines(50, 6) {
		if err := w.Write(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != os.ModeDir|0o700 {
		t.Fatalf("directory mode %v, want drwx------", fi.Mode())
	}
	names := dirNames(t, dir)
	if len(names) != 3 {
		t.Fatalf("files %q", names)
	}
	for _, n := range names {
		fi, err := os.Lstat(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != 0o600 {
			t.Fatalf("%s: mode %v, want -rw-------", n, fi.Mode())
		}
	}
}

func TestWriterRefusesUnsafeDirectory(t *testing.T) {
	for _, tc := range []struct {
		name    string
		make    func(t *testing.T, dir string)
		root    bool // needs root (chown)
		unsafe  bool // ErrUnsafeDir
		message string
	}{
		{"symlink", func(t *testing.T, dir string) {
			must(t, os.Mkdir(dir+".real", 0o700))
			must(t, os.Symlink(dir+".real", dir))
		}, false, true, "symlink"},
		{"world-writable", func(t *testing.T, dir string) {
			must(t, os.Mkdir(dir, 0o700))
			must(t, os.Chmod(dir, 0o777))
		}, false, true, "chmod 700"},
		{"group-writable", func(t *testing.T, dir string) {
			must(t, os.Mkdir(dir, 0o700))
			must(t, os.Chmod(dir, 0o770))
		}, false, true, "chmod 700"},
		{"another owner", func(t *testing.T, dir string) {
			must(t, os.Mkdir(dir, 0o700))
			must(t, os.Chown(dir, 65534, 65534))
		}, true, true, "owned by uid 65534"},
		{"a file", func(t *testing.T, dir string) {
			must(t, os.WriteFile(dir, nil, 0o600))
		}, false, false, "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Geteuid() != 0 {
				t.Skip("needs root to chown")
			}
			dir := t.TempDir() + "/r"
			tc.make(t, dir)
			_, err := Open(dir, Options{Clock: newFakeClock()})
			if err == nil || errors.Is(err, ErrUnsafeDir) != tc.unsafe || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("Open = %v, want an error saying %q (ErrUnsafeDir %v)", err, tc.message, tc.unsafe)
			}
			if strings.Count(err.Error(), "\n") != 0 {
				t.Fatalf("not one line: %q", err)
			}
		})
	}
	// A 0755 directory of ours is fine: only its owner can write in it,
	// and the files are 0600.
	dir := t.TempDir() + "/r"
	must(t, os.Mkdir(dir, 0o755))
	w, err := Open(dir, Options{Clock: newFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
}

// A symlink among the recording's files, or where the next file is to be
// created, is never written through: at Open it is skipped (the new file
// takes the next number; the compression of old files does not follow
// it), at a rotation the lines are counted as lost until a file can be
// made under another name.
func TestWriterRefusesSymlinkedFile(t *testing.T) {
	dir := t.TempDir() + "/r"
	must(t, os.Mkdir(dir, 0o700))
	victim := t.TempDir() + "/victim"
	must(t, os.WriteFile(victim, []byte("precious\n"), 0o644))
	clk := newFakeClock()
	planted := filepath.Join(dir, fileName(clk.Now(), 1))
	must(t, os.Symlink(victim, planted))
	var warn bytes.Buffer
	w, err := Open(dir, Options{Clock: clk, Warn: &warn})
	if err != nil {
		t.Fatal(err)
	}
	must(t, w.Write(genLines(1, 7)[0]))
	must(t, w.Close())
	if st := w.Stats(); st.Seq != 2 {
		t.Fatalf("stats %+v: the new file should come after the planted one", st)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Fatalf("written through the symlink: %q", b)
	}
	if fi, err := os.Lstat(planted); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the planted symlink was replaced: %v %v", fi, err)
	}
	if !strings.Contains(warn.String(), "too many levels of symbolic links (it stays plain)") {
		t.Fatalf("no warning about the symlink: %q", warn.String())
	}

	dir = t.TempDir() + "/r2"
	warn.Reset()
	w, err = Open(dir, Options{Clock: clk, MaxSize: 1024, Warn: &warn, Compress: None})
	if err != nil {
		t.Fatal(err)
	}
	lines := genLines(40, 7)
	// The rotation comes at the line that reaches 1024 bytes; plant the
	// symlink at the name of file 2 before it.
	must(t, os.Symlink(victim, filepath.Join(dir, fileName(clk.Now(), 2))))
	for _, l := range lines {
		must(t, w.Write(l))
	}
	st := w.Stats()
	if st.Dropped == 0 || st.Seq != 1 {
		t.Fatalf("stats %+v: the rotation onto the symlink should have failed", st)
	}
	if !strings.Contains(warn.String(), "refusing to write through") {
		t.Fatalf("warning %q", warn.String())
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Fatalf("written through the symlink: %q", b)
	}
	// A second later, at another name, it can make the file, and says
	// what was lost first.
	clk.Advance(2 * time.Second)
	must(t, w.Write(lines[0]))
	must(t, w.Write(lines[1]))
	must(t, w.Close())
	st = w.Stats()
	if st.Seq != 2 {
		t.Fatalf("stats %+v: no new file after the retry", st)
	}
	got := readFileLines(t, filepath.Join(dir, st.File))
	if len(got) != 3 || !strings.Contains(got[1], `"type":"gap"`) || got[2] != string(lines[1]) {
		t.Fatalf("the new file: %q", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Write allocates nothing per line in steady state: the buffer is reused
// and flushes write it in place.
func TestWriteZeroAllocs(t *testing.T) {
	w, err := Open(t.TempDir()+"/r", Options{Clock: newFakeClock(), bufSize: 4096, Compress: None})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	line := genLines(1, 8)[0]
	allocs := testing.AllocsPerRun(2000, func() {
		if err := w.Write(line); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Write", allocs)
	}
}

func BenchmarkWrite(b *testing.B) {
	w, err := Open(b.TempDir()+"/r", Options{MaxSize: 1 << 40, Compress: None})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	lines := genLines(1000, 9)
	b.ReportAllocs()
	b.SetBytes(int64(len(lines[0])))
	i := 0
	for b.Loop() {
		if err := w.Write(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestDefaultsHoldAWeek checks the arithmetic of the defaults' comment
// with the compression measured here, through the writer, on generated
// background (the least compressible of the samples measured).
func TestDefaultsHoldAWeek(t *testing.T) {
	const (
		linesPerDay  = 500_000
		bytesPerLine = 580 // the real captures' average
		diskBudget   = 256 << 20
	)
	dir := t.TempDir() + "/r"
	w, err := Open(dir, Options{Clock: newFakeClock(), MaxSize: 2 << 20, Header: testHeader()})
	must(t, err)
	for _, l := range genLines(12000, 14) {
		must(t, w.Write(l))
	}
	must(t, w.Close())
	var plain, comp int64
	for _, n := range dirNames(t, dir) {
		if f, _ := parseName(n); f.compressed {
			fi, err := os.Stat(filepath.Join(dir, n))
			must(t, err)
			comp += fi.Size()
			for _, l := range readFileLines(t, filepath.Join(dir, n)) {
				plain += int64(len(l))
			}
		}
	}
	// 2 MiB files compress a little worse than 64 MiB ones: a bound.
	ratio := float64(plain) / float64(comp)
	week := int64(7 * linesPerDay * bytesPerLine)
	if capacity := DefaultMaxSize * DefaultMaxFiles; capacity < week {
		t.Errorf("defaults keep %d MiB of lines, a week is %d MiB", capacity>>20, week>>20)
	}
	disk := float64(DefaultMaxSize) + float64(DefaultMaxFiles-1)*float64(DefaultMaxSize)/ratio
	if disk > diskBudget {
		t.Errorf("defaults take up to %.0f MiB of disk at a ratio of %.1f, more than %d MiB", disk/(1<<20), ratio, diskBudget>>20)
	}
	t.Logf("compression %.1fx; a week %d MiB plain, the defaults keep %d MiB on at most %.0f MiB", ratio, week>>20, (DefaultMaxSize*DefaultMaxFiles)>>20, disk/(1<<20))
}
