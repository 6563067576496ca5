package main

import (
	"os"
	"testing"

	"github.com/sigtrace/sigtrace/internal/privs"
	"github.com/sigtrace/sigtrace/internal/testproc"
)

// TestMain lets the test binary act as sigtrace itself (SIGTRACE_AS_MAIN=1),
// so integration tests run the real command line in a busybox-only guest
// without a separately built binary or the Go toolchain.
func TestMain(m *testing.M) {
	if testproc.IsKill() {
		os.Exit(testproc.Kill(os.Args[1:]))
	}
	if testproc.IsPkill() {
		os.Exit(testproc.Pkill(os.Args[1:]))
	}
	if os.Getenv("SIGTRACE_CAPBOUND") != "" {
		os.Exit(boundAndExec())
	}
	if os.Getenv("SIGTRACE_AS_MAIN") == "1" {
		// A cgo test binary cannot drop privileges (privs.ErrCgo);
		// `make test` builds without cgo, where trace drops as the
		// real binary does.
		cgoDropOptional = privs.Supported() != nil
		os.Exit(run(os.Args[1:]))
	}
	if os.Getenv("SIGTRACE_HUPHELPER") == "1" {
		os.Exit(hupHelper())
	}
	if os.Getenv("SIGTRACE_VICTIM") == "1" {
		os.Exit(victim())
	}
	if os.Getenv("SIGTRACE_COOK") == "1" {
		os.Exit(cookHelper())
	}
	if os.Getenv("SIGTRACE_COUNTSTORM") != "" {
		os.Exit(countStorm())
	}
	if os.Getenv("SIGTRACE_SELFSTORM") == "1" {
		os.Exit(selfStorm())
	}
	os.Exit(m.Run())
}
