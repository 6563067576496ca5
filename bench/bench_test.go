package bench

import (
	"context"
	"os"
	"testing"
)

// TestSmoke runs one pair of a 20k-signal storm per workload with
// `sigtrace trace -o json`, a second of idle and the in-kernel counters,
// so `make test` keeps the bench from rotting. The full bench is
// `make bench`.
func TestSmoke(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true: the bench smoke test needs root and may not skip")
		}
		t.Skip("needs root (loads BPF programs)")
	}
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short")
	}
	cfg := SmokeConfig()
	cfg.Log = testWriter{t}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + res.Markdown())
	if err := CheckSmoke(res); err != nil {
		t.Fatal(err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
