package record

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// BenchmarkCompress compares the codecs a rotated file could use, on
// 100,000 lines of generated background (genLines), or on a real
// recording named by SIGTRACE_RECORD_SAMPLE (a `trace -o json` capture):
// MB/s of plain input (CPU: one goroutine), the compression ratio and
// compressed bytes per line. `go test -bench Compress -run '^$' ./record/`.
func BenchmarkCompress(b *testing.B) {
	var plain bytes.Buffer
	if p := os.Getenv("SIGTRACE_RECORD_SAMPLE"); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		plain.Write(data)
	} else {
		for _, l := range genLines(100_000, 1) {
			plain.Write(l)
		}
	}
	nl := bytes.Count(plain.Bytes(), []byte("\n"))
	b.Logf("%d lines, %d bytes, %.0f bytes/line", nl, plain.Len(), float64(plain.Len())/float64(nl))
	codecs := []struct {
		name string
		new  func(io.Writer) io.WriteCloser
	}{
		{"gzip-1", func(w io.Writer) io.WriteCloser { z, _ := gzip.NewWriterLevel(w, 1); return z }},
		{"gzip-6", func(w io.Writer) io.WriteCloser { z, _ := gzip.NewWriterLevel(w, 6); return z }},
		{"gzip-9", func(w io.Writer) io.WriteCloser { z, _ := gzip.NewWriterLevel(w, 9); return z }},
		{"zstd-fastest", zstdLevel(zstd.SpeedFastest)},
		{"zstd-default", zstdLevel(zstd.SpeedDefault)},
		{"zstd-better", zstdLevel(zstd.SpeedBetterCompression)},
		{"zstd-best", zstdLevel(zstd.SpeedBestCompression)},
	}
	for _, c := range codecs {
		var out bytes.Buffer
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(plain.Len()))
			for b.Loop() {
				out.Reset()
				z := c.new(&out)
				if _, err := z.Write(plain.Bytes()); err != nil {
					b.Fatal(err)
				}
				if err := z.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(plain.Len())/float64(out.Len()), "ratio")
			b.ReportMetric(float64(out.Len())/float64(nl), "B/line")
		})
		comp := append([]byte(nil), out.Bytes()...)
		b.Run(c.name+"-decode", func(b *testing.B) {
			b.SetBytes(int64(plain.Len()))
			for b.Loop() {
				r, err := openDecompressor(bytes.NewReader(comp))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
}

func zstdLevel(l zstd.EncoderLevel) func(io.Writer) io.WriteCloser {
	return func(w io.Writer) io.WriteCloser {
		z, _ := zstd.NewWriter(w, zstd.WithEncoderLevel(l), zstd.WithEncoderConcurrency(1))
		return z
	}
}
