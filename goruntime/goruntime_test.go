package goruntime

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/elftest"
	"github.com/sigtrace/sigtrace/signals"
)

// childEnv makes the test binary a Go program that waits: "plain" never
// calls signal.Notify, "hup" asks for SIGHUP and SIGRTMIN+6 (40), "stop"
// asks for SIGHUP and then stops asking (signal.Stop).
const childEnv = "SIGTRACE_GORUNTIME_CHILD"

var (
	scratch     string // removed when the tests end
	symbolsOnce sync.Once
	symbolsExe  string
	symbolsErr  error
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "plain":
		for {
			time.Sleep(time.Hour)
		}
	case "hup", "stop":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGHUP, syscall.Signal(40))
		if os.Getenv(childEnv) == "stop" {
			signal.Stop(c)
		}
		os.Stdout.WriteString("ready\n")
		for {
			time.Sleep(time.Hour)
		}
	}
	var err error
	if scratch, err = os.MkdirTemp("", "goruntime-test"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(scratch)
	os.Exit(code)
}

// withSymbols is this test binary with its symbol table (see
// elftest.SelfWithSymbols).
func withSymbols(t *testing.T) string {
	t.Helper()
	symbolsOnce.Do(func() { symbolsExe, symbolsErr = elftest.SelfWithSymbols(scratch) })
	if symbolsErr != nil {
		t.Fatal(symbolsErr)
	}
	return symbolsExe
}

func TestUnnotified(t *testing.T) {
	tests := []struct {
		sig  syscall.Signal
		want Action
	}{
		{syscall.SIGHUP, Exit}, {syscall.SIGINT, Exit}, {syscall.SIGTERM, Exit},
		{syscall.SIGQUIT, Crash}, {syscall.SIGABRT, Crash}, {syscall.SIGILL, Crash}, {syscall.SIGTRAP, Crash},
		{syscall.SIGSYS, Crash}, {syscall.SIGSTKFLT, Crash},
		// A fault signal sent by kill is no fault: the runtime throws.
		{syscall.SIGSEGV, Crash}, {syscall.SIGBUS, Crash}, {syscall.SIGFPE, Crash},
		{syscall.SIGUSR1, Discard}, {syscall.SIGUSR2, Discard}, {syscall.SIGPIPE, Discard}, {syscall.SIGALRM, Discard},
		{syscall.SIGPROF, Discard}, {syscall.SIGIO, Discard}, {syscall.SIGPWR, Discard}, {syscall.SIGVTALRM, Discard},
		{syscall.SIGXCPU, Discard}, {syscall.SIGCHLD, Discard}, {syscall.SIGURG, Discard}, {syscall.SIGTSTP, Discard},
		{34 + 1, Discard}, {64, Discard}, {33, Discard},
		{syscall.SIGKILL, NoHandler}, {syscall.SIGSTOP, NoHandler}, {0, NoHandler}, {65, NoHandler},
	}
	for _, tt := range tests {
		if got := Unnotified(int(tt.sig)); got != tt.want {
			t.Errorf("Unnotified(%d %s) = %s, want %s", tt.sig, signals.Name(int(tt.sig)), got, tt.want)
		}
	}
	if !Exit.Kills() || !Crash.Kills() || Discard.Kills() || NoHandler.Kills() {
		t.Error("Kills() is wrong")
	}
}

func TestVersion(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := Version(self); !ok || !strings.HasPrefix(v, "go1.") {
		t.Errorf("Version(test binary) = %q, %v", v, ok)
	}
	// /bin/sh is dash, bash or busybox: C programs.
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(text, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{sh, text, "/nonexistent"} {
		if IsGo(p) {
			t.Errorf("IsGo(%s) = true", p)
		}
	}
}

// startChild runs exe (this test binary or a copy) as a child of the
// given kind and waits until its runtime has installed its handlers
// ("plain") or it said it asked for SIGHUP ("hup").
func startChild(t *testing.T, exe, kind string) int {
	t.Helper()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+kind)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	for range 20 { // a just-written executable can be ETXTBSY for a moment
		if err = cmd.Start(); !errors.Is(err, syscall.ETXTBSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
		cmd = exec.Command(exe)
		cmd.Env = append(os.Environ(), childEnv+"="+kind)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if out, err = cmd.StdoutPipe(); err != nil {
			t.Fatal(err)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid
	if kind != "plain" {
		buf := make([]byte, 6)
		if _, err := out.Read(buf); err != nil || string(buf) != "ready\n" {
			t.Fatalf("child: %q, %v", buf, err)
		}
		return pid
	}
	// The runtime installs its SIGHUP handler before main runs.
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "SigCgt:"); ok {
				if m, err := signals.ParseMask(strings.TrimSpace(v)); err == nil && m.Has(int(syscall.SIGHUP)) {
					exeLink, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
					if exeLink == exe {
						return pid
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d not ready: %s", pid, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWantedChild(t *testing.T) {
	exe := withSymbols(t)
	hup, rt6 := int(syscall.SIGHUP), 40
	w, err := Wanted("/proc", startChild(t, exe, "hup"))
	if err != nil {
		t.Fatal(err)
	}
	if !w.Has(hup) || !w.Has(rt6) || w.Has(int(syscall.SIGTERM)) {
		t.Errorf("child that asked for SIGHUP and 40: wanted %s", w)
	}
	// signal.Stop clears the wanted bits; the runtime's handler stays.
	if w, err := Wanted("/proc", startChild(t, exe, "stop")); err != nil || w.Has(hup) || w.Has(rt6) {
		t.Errorf("child that stopped asking: wanted %s, %v", w, err)
	}
	if w, err := Wanted("/proc", startChild(t, exe, "plain")); err != nil || w != 0 {
		t.Errorf("child that never called signal.Notify: wanted %s, %v", w, err)
	}
}

// TestWantedStripped runs a copy of this test binary whose symbol table
// is hidden: still a Go program, but its notify mask cannot be found.
func TestWantedStripped(t *testing.T) {
	stripped := filepath.Join(t.TempDir(), "stripped.test")
	if err := elftest.HideSymtab(withSymbols(t), stripped); err != nil {
		t.Fatal(err)
	}
	if !IsGo(stripped) {
		t.Fatal("the stripped copy is no longer a Go program")
	}
	pid := startChild(t, stripped, "plain")
	if _, err := Wanted("/proc", pid); !errors.Is(err, ErrNoSymbols) {
		t.Errorf("Wanted(stripped) = %v, want ErrNoSymbols", err)
	}
}
