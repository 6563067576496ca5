package record

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const diskFullChild = "SIGTRACE_RECORD_DISKFULL_CHILD"

// TestWriterDiskFull fills a real file system: a 64 KiB tmpfs, mounted in
// a private mount namespace so nothing outside sees it. The test binary
// runs itself again in that namespace (unshare(CLONE_NEWNS) before exec;
// Go makes the mounts private first), so it needs no tool but itself and
// runs the same in a busybox guest.
func TestWriterDiskFull(t *testing.T) {
	if os.Getenv(diskFullChild) == "1" {
		diskFull(t)
		return
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root (a mount namespace and a tmpfs); under CI=true privileged tests may not skip")
		}
		t.Skip("needs root: a mount namespace and a tmpfs")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^TestWriterDiskFull$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), diskFullChild+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	t.Logf("in the mount namespace:\n%s", out)
	if err != nil {
		t.Fatalf("the disk-full run failed: %v", err)
	}
	if !bytes.Contains(out, []byte("disk-full scenario done")) {
		t.Fatal("the disk-full run did not get to its end")
	}
}

func diskFull(t *testing.T) {
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		t.Fatalf("mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(mnt, syscall.MNT_DETACH) })
	var st syscall.Statfs_t
	must(t, syscall.Statfs(mnt, &st))
	if total := st.Blocks * uint64(st.Bsize); total > 64<<10 {
		t.Fatalf("the tmpfs has %d bytes, not 64 KiB", total)
	}

	clk := newFakeClock()
	var warn bytes.Buffer
	resets := 0
	w, err := Open(mnt+"/rec", Options{Clock: clk, Warn: &warn, bufSize: 4096, Header: testHeader(), OnReset: func() { resets++ }})
	if err != nil {
		t.Fatal(err)
	}
	lines := genLines(400, 11)
	next := 0
	write := func(n int) {
		for range n {
			must(t, w.Write(lines[next]))
			next++
			clk.Advance(50 * time.Millisecond)
		}
	}
	write(20)
	clk.Advance(FlushInterval)
	if s := w.Stats(); s.Lines != 20 || s.Dropped != 0 {
		t.Fatalf("before the disk is full: %+v", s)
	}

	fill(t, mnt+"/filler")

	write(100) // 5 s of lines, many buffers' worth: every flush fails
	s := w.Stats()
	if s.Dropped < 50 {
		t.Fatalf("disk full: %+v", s)
	}
	// The disk fills and empties by pages, so writing may resume for a
	// moment: one warning of the loss a minute, one of the recovery after
	// each of those at most.
	warnings := func() (failed, resumed int) {
		return strings.Count(warn.String(), "no space left on device"), strings.Count(warn.String(), "again;")
	}
	if f, r := warnings(); f != 1 || r > 1 || strings.Count(warn.String(), "\n") != f+r {
		t.Fatalf("warnings within the first minute: %q", warn.String())
	}
	clk.Advance(warnInterval)
	write(10)
	if f, r := warnings(); f != 2 || r > 2 {
		t.Fatalf("warnings after a minute more: %q", warn.String())
	}

	// Space comes back: the next Write after the retry interval writes the
	// gap record, and lines go on after it.
	must(t, os.Remove(mnt+"/filler"))
	clk.Advance(FlushInterval)
	resumedAt := next
	write(30)
	if !strings.HasSuffix(warn.String(), "(a gap record counts them)\n") {
		t.Fatalf("no word of the recovery: %q", warn.String())
	}
	must(t, w.Close())
	s = w.Stats()
	if s.Lines+s.Dropped != uint64(next) {
		t.Fatalf("%d lines written, %d dropped, of %d: some unaccounted for", s.Lines, s.Dropped, next)
	}

	r, err := NewReader([]string{mnt + "/rec"}, ReaderOptions{Warn: &warn})
	if err != nil {
		t.Fatal(err)
	}
	// Lines go on while the disk fills and empties by pages (a short
	// write cut back frees a page, where a gap record may fit), so there
	// may be several gaps. Every line is in the file, in order, or
	// counted in a gap: the 20 from before first, the ones after the
	// Write that resumed last (that one had been rendered before the
	// reset, and went into the gap).
	var got []string
	var gaps, counted uint64
	var first, last time.Time
	for {
		l, err := r.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		if bytes.Contains(l, []byte(`"type":"gap"`)) {
			var gap struct {
				Time, From, To time.Time
				Count          uint64
				Error          string
			}
			must(t, json.Unmarshal(l, &gap))
			if gap.Count == 0 || gap.Error != "no space left on device" || gap.To.Before(gap.From) || !gap.Time.Equal(gap.From) ||
				!last.IsZero() && gap.From.Before(last) {
				t.Fatalf("gap record %s", l)
			}
			if first.IsZero() {
				first = gap.From
			}
			last = gap.To
			gaps++
			counted += gap.Count
			continue
		}
		got = append(got, string(l)+"\n")
	}
	if rs := r.Stats(); rs.Corrupt != 0 || rs.Torn != 0 {
		t.Fatalf("the file is not whole lines: %+v", rs)
	}
	if resets != int(gaps) {
		t.Fatalf("%d gaps but OnReset came %d times: the renderer would refer to detail lost in a gap", gaps, resets)
	}
	if gaps == 0 || counted != s.Dropped || uint64(len(got))+counted != uint64(next) {
		t.Fatalf("%d lines read, %d gaps counting %d, %d dropped, %d written", len(got), gaps, counted, s.Dropped, next)
	}
	j := 0
	for _, l := range lines[:next] {
		if j < len(got) && got[j] == string(l) {
			j++
		}
	}
	if j != len(got) {
		t.Fatalf("the lines read are not the lines written, in order (%d of %d matched)", j, len(got))
	}
	for i, l := range lines[:20] {
		if got[i] != string(l) {
			t.Fatalf("line %d from before the disk was full: %q", i, got[i])
		}
	}
	after := lines[resumedAt+1 : next]
	for i, l := range after {
		if got[len(got)-len(after)+i] != string(l) {
			t.Fatalf("line %d after the space came back is missing", i)
		}
	}
	// Full again at the end, with files so small that every line starts a
	// new one: no page is left for a header, so Close cannot write the gap
	// record either, and says how many lines it lost.
	w, err = Open(mnt+"/rec", Options{Clock: clk, Warn: io.Discard, Header: testHeader(), MaxSize: 1})
	must(t, err)
	fill(t, mnt+"/filler")
	for _, l := range lines[:50] {
		must(t, w.Write(l))
	}
	err = w.Close()
	if s := w.Stats(); s.Dropped == 0 || err == nil || !errors.Is(err, syscall.ENOSPC) ||
		!strings.Contains(err.Error(), fmt.Sprintf("record: %d lines could not be written to", s.Dropped)) {
		t.Fatalf("Close on a full disk: %v (stats %+v)", err, s)
	}
	t.Logf("disk-full scenario done: %d lines, %d dropped in %d gaps from %v to %v", next, s.Dropped, gaps, first, last)
}

// fill writes path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	filler, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer filler.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := filler.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling: %v", err)
			}
			return
		}
	}
}
