package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/internal/safeio"
)

// ReaderOptions of a Reader.
type ReaderOptions struct {
	// Warn receives the warnings: a torn last line, corrupt lines, files
	// skipped as empty. os.Stderr when nil.
	Warn io.Writer
	// OnFile is called before the first line of each file (and for a
	// file with no lines), with its header: a replay resets what it
	// keeps per file, and notices a new boot id. An error stops Next.
	OnFile func(path string, h Header) error
	// maxLine is MaxLine unless a test makes it smaller.
	maxLine int
	// maxBytes, when set, bounds what one file may decompress to (the
	// fuzz target's zstd bombs would take seconds each to read through).
	maxBytes int64
}

// FileInfo is one file of a recording, in the order it is read.
type FileInfo struct {
	Path   string
	Header Header
}

// ReadStats counts what a Reader read and skipped.
type ReadStats struct {
	Files   int    // files read (with a header)
	Lines   uint64 // lines returned
	Corrupt uint64 // lines skipped in the middle of a file: not JSON, over-long, or rejected
	Torn    int    // files whose last line was cut (a crash while writing) and skipped
	Empty   int    // files without a whole header (a crash right after creating them), skipped
	// FirstCorrupt is where the first corrupt line is, as path:line, and why.
	FirstCorrupt string
}

// Reader reads the lines of a recording in the order they were written:
// files sorted by their headers' start time and sequence number (not by
// name or mtime), compressed or plain alike.
type Reader struct {
	opts  ReaderOptions
	files []FileInfo
	idx   int // next file to open
	cur   *lineReader
	info  FileInfo
	stats ReadStats
	done  bool // corrupt-line warning given
}

// NewReader opens the recording at paths: directories (every recording
// file in them) and files. It reads every header first, so that a missing
// or unreadable file, a file that is not a recording, or one written in
// an unknown schema (ErrSchema) is one error before any line is read.
func NewReader(paths []string, opts ReaderOptions) (*Reader, error) {
	if opts.Warn == nil {
		opts.Warn = os.Stderr
	}
	if opts.maxLine <= 0 {
		opts.maxLine = MaxLine
	}
	if len(paths) == 0 {
		return nil, errors.New("no recording given")
	}
	r := &Reader{opts: opts}
	var all []string
	for _, p := range paths {
		names, err := expand(p)
		if err != nil {
			return nil, err
		}
		all = append(all, names...)
	}
	seen := map[string]bool{}
	for _, p := range all {
		if seen[p] {
			continue
		}
		seen[p] = true
		h, err := r.readHeader(p)
		if errors.Is(err, errNoHeader) {
			r.stats.Empty++
			r.warnf("%s has no whole header line (a crash right after it was created?); skipped", quote(p))
			continue
		}
		if err != nil {
			return nil, err
		}
		r.files = append(r.files, FileInfo{Path: p, Header: h})
	}
	if len(r.files) == 0 {
		return nil, fmt.Errorf("no recording in %s: every file was empty", strings.Join(paths, ", "))
	}
	slices.SortStableFunc(r.files, func(a, b FileInfo) int {
		if c := a.Header.Start.Compare(b.Header.Start); c != 0 {
			return c
		}
		switch {
		case a.Header.Seq < b.Header.Seq:
			return -1
		case a.Header.Seq > b.Header.Seq:
			return 1
		}
		return 0
	})
	return r, nil
}

// expand lists the recording files of a directory, or returns a file.
// Names found in a directory are opened without following a symlink;
// a file named on the command line may be one.
func expand(p string) ([]string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("recording %w", err)
	}
	if !fi.IsDir() {
		return []string{p}, nil
	}
	names, err := readDirNames(p)
	if err != nil {
		return nil, fmt.Errorf("recording %w", err)
	}
	// A plain file and its compressed copy both exist when a crash came
	// between the copy's rename and the removal of the plain file: both
	// are whole, read the copy. The copy is the same name with a
	// compression's suffix (a sequence number alone is not unique once
	// files of two recordings share a directory).
	compressed := map[string]bool{}
	var files []dirFile
	for _, n := range names {
		if f, ok := parseName(n); ok && !f.tmp {
			files = append(files, f)
			if f.compressed {
				compressed[n[:strings.LastIndexByte(n, '.')]] = true
			}
		}
	}
	var out []string
	for _, f := range files {
		if !f.compressed && compressed[f.name] {
			continue
		}
		out = append(out, filepath.Join(p, f.name))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no recording files (sigtrace-*.jsonl) in %s", quote(p))
	}
	slices.Sort(out)
	return out, nil
}

func readDirNames(p string) ([]string, error) {
	d, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// errNoHeader: the file ends before its header line does.
var errNoHeader = errors.New("no header")

func (r *Reader) readHeader(p string) (Header, error) {
	lr, err := r.open(p)
	if err != nil {
		return Header{}, err
	}
	defer lr.close()
	line, complete, _, err := lr.next()
	if err == io.EOF || err == nil && !complete {
		return Header{}, errNoHeader
	}
	if err != nil {
		return Header{}, fmt.Errorf("read recording %s: %w", quote(p), err)
	}
	h, err := ParseHeader(line)
	if err != nil {
		return h, fmt.Errorf("recording %s: %w", quote(p), err)
	}
	return h, nil
}

// open opens a file of the recording for reading lines. Files found in a
// directory are opened with O_NOFOLLOW (the name parsed as ours); every
// file must be regular, so a FIFO cannot hang the replay.
func (r *Reader) open(p string) (*lineReader, error) {
	flags := os.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
	if _, ok := parseName(filepath.Base(p)); ok {
		flags |= unix.O_NOFOLLOW
	}
	f, err := os.OpenFile(p, flags, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("recording %s is a symlink; give the file it points to", quote(p))
		}
		return nil, fmt.Errorf("recording %w", err)
	}
	if f, err = safeio.Regular(f); err != nil {
		return nil, fmt.Errorf("recording %w", err)
	}
	lr, err := newLineReader(f, r.opts.maxLine, r.opts.maxBytes)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("recording %s: %w", quote(p), err)
	}
	return lr, nil
}

// Files returns the files in the order they are read, with their headers.
func (r *Reader) Files() []FileInfo { return r.files }

// File returns the file and header of the line Next returned last.
func (r *Reader) File() FileInfo { return r.info }

// Stats returns what was read and skipped so far.
func (r *Reader) Stats() ReadStats { return r.stats }

// Next returns the next line (without its "\n"), valid until the next
// call, or io.EOF after the last. Lines that are not JSON objects are
// skipped: the last line of a file, when cut by a crash, with one
// warning; any other, counted, with one warning at the end that says how
// many and where the first was.
func (r *Reader) Next() ([]byte, error) {
	for {
		if r.cur == nil {
			if r.idx >= len(r.files) {
				r.finish()
				return nil, io.EOF
			}
			r.info = r.files[r.idx]
			r.idx++
			lr, err := r.open(r.info.Path)
			if err != nil {
				return nil, err
			}
			r.cur = lr
			if _, _, _, err := lr.next(); err != nil { // the header, read before
				return nil, fmt.Errorf("read recording %s: %w", quote(r.info.Path), err)
			}
			r.stats.Files++
			if r.opts.OnFile != nil {
				if err := r.opts.OnFile(r.info.Path, r.info.Header); err != nil {
					return nil, err
				}
			}
		}
		line, complete, long, err := r.cur.next()
		if err == io.EOF {
			r.cur.close()
			r.cur = nil
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read recording %s: %w", quote(r.info.Path), err)
		}
		if long {
			r.corrupt(fmt.Sprintf("longer than %d bytes", r.opts.maxLine))
			continue
		}
		if validLine(line) {
			r.stats.Lines++
			return line, nil
		}
		// A valid object without its "\n" is whole (its closing brace
		// came); an invalid line at the very end of a file is the cut.
		if !complete || r.cur.atEOF() {
			r.stats.Torn++
			r.warnf("%s: its last line is cut (%d bytes, a crash while writing?); skipped", quote(r.info.Path), len(line))
			continue
		}
		r.corrupt("not a JSON object")
	}
}

// Reject counts the line Next returned last as corrupt: it is JSON, but
// not a record the caller can use.
func (r *Reader) Reject(why string) {
	r.stats.Lines--
	r.corrupt(why)
}

func (r *Reader) corrupt(why string) {
	r.stats.Corrupt++
	if r.stats.FirstCorrupt == "" {
		r.stats.FirstCorrupt = fmt.Sprintf("%s:%d: %s", quote(r.info.Path), r.cur.lineNo, why)
	}
}

// finish says how many corrupt lines were skipped, once.
func (r *Reader) finish() {
	if r.done {
		return
	}
	r.done = true
	if r.stats.Corrupt > 0 {
		r.warnf("%d corrupt lines skipped (the first at %s)", r.stats.Corrupt, r.stats.FirstCorrupt)
	}
}

// Close ends the reading, with the corrupt-line warning if it is due.
func (r *Reader) Close() error {
	if r.cur != nil {
		r.cur.close()
		r.cur = nil
	}
	r.finish()
	return nil
}

func (r *Reader) warnf(format string, args ...any) {
	fmt.Fprintf(r.opts.Warn, "sigtrace: warning: "+format+"\n", args...)
}

// quote shows a path as Go would quote it only when it holds what a
// terminal would act on, so plain paths stay readable.
func quote(p string) string {
	for _, c := range []byte(p) {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == ' ' {
			return fmt.Sprintf("%q", p)
		}
	}
	return p
}

// validLine: a record is one JSON object.
func validLine(b []byte) bool {
	return len(b) > 1 && b[0] == '{' && json.Valid(b)
}

// lineReader splits one file, decompressed, into lines of at most max
// bytes, in bounded memory whatever the file holds.
type lineReader struct {
	f      *os.File
	dec    io.ReadCloser
	br     *bufio.Reader
	max    int
	buf    []byte // a line longer than br's buffer is put together here
	lineNo int
}

func newLineReader(f *os.File, max int, maxBytes int64) (*lineReader, error) {
	dec, err := openDecompressor(f)
	if err != nil {
		return nil, err
	}
	var src io.Reader = dec
	if maxBytes > 0 {
		src = &capReader{r: dec, left: maxBytes}
	}
	return &lineReader{f: f, dec: dec, br: bufio.NewReaderSize(src, 64<<10), max: max}, nil
}

// capReader fails once more than left bytes were read.
type capReader struct {
	r    io.Reader
	left int64
}

var errTooMuch = errors.New("decompresses to more than the reader takes")

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errTooMuch
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// next returns the next line without its "\n"; complete is false for a
// last line without one. long says the line was over max bytes (and is
// not returned). io.EOF comes after the last line.
func (lr *lineReader) next() (line []byte, complete, long bool, err error) {
	lr.buf = lr.buf[:0]
	n := 0
	for {
		chunk, err := lr.br.ReadSlice('\n')
		n += len(chunk)
		if err == bufio.ErrBufferFull {
			if !long && len(lr.buf)+len(chunk) <= lr.max {
				lr.buf = append(lr.buf, chunk...)
			} else {
				long, lr.buf = true, lr.buf[:0]
			}
			continue
		}
		if err != nil && err != io.EOF {
			return nil, false, false, err
		}
		if n == 0 && err == io.EOF {
			return nil, false, false, io.EOF
		}
		lr.lineNo++
		complete = err == nil
		if long || n-boolInt(complete) > lr.max {
			return nil, complete, true, nil
		}
		if len(lr.buf) > 0 {
			lr.buf = append(lr.buf, chunk...)
			chunk = lr.buf
		}
		return bytes.TrimSuffix(chunk, []byte("\n")), complete, false, nil
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// atEOF reports whether nothing follows the line just read. It may move
// the buffer: only for a line that is not returned.
func (lr *lineReader) atEOF() bool {
	_, err := lr.br.Peek(1)
	return err != nil
}

func (lr *lineReader) close() {
	lr.dec.Close()
	lr.f.Close()
}
