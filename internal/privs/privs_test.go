package privs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const helperEnv = "PRIVS_TEST_HELPER"

// TestMain lets the test binary be the process that drops (a drop cannot
// be undone, so not in the test process itself).
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(dropHelper())
	}
	os.Exit(m.Run())
}

// dropHelper starts busy goroutines on several threads (the drop must
// reach every one), drops to PRIVS_TEST_KEEP, then tries what the kept
// set should and should not allow, says "dropped" and waits for stdin to
// close.
func dropHelper() int {
	var wg sync.WaitGroup
	stopSpin := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // a thread of its own
			for {
				select {
				case <-stopSpin:
					return
				default:
					runtime.Gosched()
				}
			}
		}()
	}
	keep, _ := strconv.ParseUint(os.Getenv("PRIVS_TEST_KEEP"), 16, 64)
	kept, err := Drop(Set(keep), Options{NoFileWrites: os.Getenv("PRIVS_TEST_NOWRITE") == "1"})
	if err != nil {
		fmt.Println("drop:", err)
		return 1
	}
	close(stopSpin)
	wg.Wait()
	// Writing a file root owns: refused once files are opened as nobody.
	if dir := os.Getenv("PRIVS_TEST_ROOTDIR"); dir != "" {
		err := os.WriteFile(filepath.Join(dir, "written"), []byte("x"), 0o600)
		fmt.Println("write:", errors.Is(err, os.ErrPermission))
		_, err = os.ReadFile(filepath.Join(dir, "secret"))
		fmt.Println("read:", err == nil)
	}
	fmt.Println("dropped", kept)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		if err := Supported(); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%v; under CI=true privileged tests may not skip", err)
			}
			t.Skip(err)
		}
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("needs root; under CI=true privileged tests may not skip")
	}
	t.Skip("needs root")
}

type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines []string
}

func startHelper(t *testing.T, env ...string) *helper {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), helperEnv+"=1"), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	h := &helper{cmd: cmd, stdin: stdin}
	got := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.lines = append(h.lines, sc.Text())
			if strings.HasPrefix(sc.Text(), "dropped") {
				got <- nil
				return
			}
		}
		got <- fmt.Errorf("helper ended: %q", h.lines)
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("helper did not drop within 30s")
	}
	return h
}

// TestDrop: every thread of a process that dropped to a kept set shows
// that set as effective, permitted and bounding, nothing inheritable or
// ambient, and no_new_privs; it reads any file but writes none root owns.
func TestDrop(t *testing.T) {
	requireRoot(t)
	dir, err := os.MkdirTemp("", "privs-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		keep    Set
		nowrite bool
	}{
		{"nothing", 0, false},
		{"ptrace+dac_read_search, as nobody for files", SetOf(CapSysPtrace, CapDacReadSearch), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := startHelper(t, "PRIVS_TEST_KEEP="+strconv.FormatUint(uint64(c.keep), 16),
				"PRIVS_TEST_NOWRITE="+map[bool]string{true: "1", false: "0"}[c.nowrite], "PRIVS_TEST_ROOTDIR="+dir)
			pid := h.cmd.Process.Pid
			tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
			if err != nil {
				t.Fatal(err)
			}
			if len(tasks) < 3 {
				t.Errorf("helper has %d threads: the test wants several", len(tasks))
			}
			for _, task := range tasks {
				st, err := ReadStatus(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
				if errors.Is(err, os.ErrNotExist) {
					continue // a thread of the Go runtime's that ended since the listing
				}
				if err != nil {
					t.Fatal(err)
				}
				if st.Effective != c.keep || st.Permitted != c.keep || st.Bounding != c.keep || st.Inheritable != 0 || st.Ambient != 0 || !st.NoNewPrivs {
					t.Errorf("thread %s: eff %s prm %s bnd %s inh %s amb %s nnp %v; want %s and no_new_privs",
						task.Name(), st.Effective, st.Permitted, st.Bounding, st.Inheritable, st.Ambient, st.NoNewPrivs, c.keep)
				}
				if c.nowrite && (st.FSUID != Nobody || st.FSGID != Nobody) {
					t.Errorf("thread %s: fsuid %d fsgid %d, want %d", task.Name(), st.FSUID, st.FSGID, Nobody)
				}
			}
			want := []string{"write: true", "read: " + strconv.FormatBool(c.nowrite), "dropped " + c.keep.String()}
			if c.keep == 0 {
				// uid 0 with no capabilities still owns root's files.
				want = []string{"write: false", "read: true", "dropped none"}
			}
			if strings.Join(h.lines, "\n") != strings.Join(want, "\n") {
				t.Errorf("helper said %q, want %q", h.lines, want)
			}
		})
	}
}

// TestDropKeepsOnlyWhatItHas: a capability asked for that the process
// lacks (bit 63: no kernel has that many) is left out, not an error.
func TestDropKeepsOnlyWhatItHas(t *testing.T) {
	requireRoot(t)
	h := startHelper(t, "PRIVS_TEST_KEEP="+strconv.FormatUint(uint64(SetOf(CapSysPtrace)|1<<63), 16))
	if last := h.lines[len(h.lines)-1]; last != "dropped cap_sys_ptrace" {
		t.Errorf("helper said %q, want dropped cap_sys_ptrace", last)
	}
}

func TestReadStatus(t *testing.T) {
	const status = "Name:\tx\nUid:\t0\t0\t0\t65534\nGid:\t0\t0\t0\t65534\nNoNewPrivs:\t1\nCapInh:\t0000000000000000\nCapPrm:\t0000000000080004\nCapEff:\t0000000000080004\nCapBnd:\t0000000000080004\nCapAmb:\t0000000000000000\n"
	p := filepath.Join(t.TempDir(), "status")
	if err := os.WriteFile(p, []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Status{Effective: SetOf(CapDacReadSearch, CapSysPtrace), Permitted: SetOf(CapDacReadSearch, CapSysPtrace),
		Bounding: SetOf(CapDacReadSearch, CapSysPtrace), NoNewPrivs: true, FSUID: Nobody, FSGID: Nobody}
	if st != want {
		t.Errorf("ReadStatus = %+v, want %+v", st, want)
	}
	if s := st.Effective.String(); s != "cap_dac_read_search,cap_sys_ptrace" {
		t.Errorf("String() = %q", s)
	}
	if err := os.WriteFile(p, []byte("Name:\tx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadStatus(p); err == nil {
		t.Error("a status without capability lines parsed")
	}
}
