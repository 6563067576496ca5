package record

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Compression is what rotated files are compressed with. The live file is
// always plain, so that `tail -f | jq` works on it.
type Compression int

const (
	// Zstd is the default: on real captures (see BenchmarkCompress) it
	// compressed as well as gzip -6 (40-50 times) for 2 to 7 times less
	// CPU.
	Zstd Compression = iota
	// Gzip, for hosts whose tools know only gzip (zcat, less).
	Gzip
	// None leaves rotated files plain.
	None
)

// Ext is the file name suffix the compression adds after ".jsonl".
func (c Compression) Ext() string {
	switch c {
	case Zstd:
		return ".zst"
	case Gzip:
		return ".gz"
	}
	return ""
}

func (c Compression) String() string {
	switch c {
	case Zstd:
		return "zstd"
	case Gzip:
		return "gzip"
	case None:
		return "none"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// ParseCompression reads a --compress value: zstd, gzip or none.
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "zstd":
		return Zstd, nil
	case "gzip":
		return Gzip, nil
	case "none":
		return None, nil
	}
	return 0, fmt.Errorf("unknown compression %q (want zstd, gzip or none)", s)
}

// zstdWindow bounds the encoder's window, and so the memory a reader needs
// to decode: repeated sender detail is found within far less than this.
const zstdWindow = 8 << 20

// newCompressor returns a writer compressing to w. One goroutine: the
// compression of a rotated file runs beside the recording and must not
// take every CPU from the workload it records.
func newCompressor(c Compression, w io.Writer) (io.WriteCloser, error) {
	switch c {
	case Zstd:
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(zstdWindow))
	case Gzip:
		return gzip.NewWriterLevel(w, gzip.DefaultCompression)
	}
	return nil, fmt.Errorf("no compressor for %v", c)
}

var (
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	gzipMagic = []byte{0x1f, 0x8b}
)

// decodeMaxWindow is the largest zstd window a reader accepts: a frame
// asking for more was not written by sigtrace, and would make the reader
// allocate what the file says.
const decodeMaxWindow = 64 << 20

// openDecompressor returns the plain content of r, decompressing it when
// it starts with a zstd or gzip magic number: the name of a file does not
// decide, so a renamed or hand-compressed recording still reads.
func openDecompressor(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, zstdMagic):
		d, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(decodeMaxWindow))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zstdCloser{d}, nil
	case bytes.HasPrefix(magic, gzipMagic):
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return z, nil
	}
	return io.NopCloser(br), nil
}

// zstdCloser adapts the decoder's Close, which returns nothing.
type zstdCloser struct{ *zstd.Decoder }

func (z zstdCloser) Close() error { z.Decoder.Close(); return nil }
