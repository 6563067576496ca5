package main

// The README's Cookbook, run: each entry's sigtrace line is read from
// README.md (the fenced block after its <!-- cookbook:ID --> marker) and
// run for real, as the test binary acting as sigtrace, against a scenario
// that asks the entry's question, with decoys it must not show. So the
// recipes cannot drift from what sigtrace does.
//
// The machine is shared with other tests that send signals, so the
// assertions are exact about the scenario's own processes (unique names,
// pids) and ignore everyone else's rows.

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mvdan.cc/sh/v3/shell"

	"github.com/sigtrace/sigtrace/internal/testproc"
	"github.com/sigtrace/sigtrace/signals"
)

// cookHelper is the scenarios' process (SIGTRACE_COOK=1): it sets the
// kernel dispositions SIGTRACE_COOK_DFL and SIGTRACE_COOK_IGN name,
// catches SIGTRACE_COOK_NOTIFY's with signal.Notify, then does
// SIGTRACE_COOK_DO: "pipe" writes to its stdout (a pipe nobody reads)
// with write(2), "gopipe" with os.Stdout (the Go runtime re-raises the
// SIGPIPE of a write to fd 1 and dies of it),
// "segv" reads through a nil pointer; else it says ready and lives until
// stdin closes.
func cookHelper() int {
	sigs := func(env string) []syscall.Signal {
		var out []syscall.Signal
		for _, s := range strings.FieldsFunc(os.Getenv(env), func(r rune) bool { return r == ',' }) {
			n, err := signals.Parse(s)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(111)
			}
			out = append(out, syscall.Signal(n))
		}
		return out
	}
	for _, s := range sigs("SIGTRACE_COOK_DFL") {
		if err := testproc.SetDisposition(s, testproc.SigDfl); err != nil {
			return 111
		}
	}
	for _, s := range sigs("SIGTRACE_COOK_IGN") {
		if err := testproc.SetDisposition(s, testproc.SigIgn); err != nil {
			return 111
		}
	}
	if n := sigs("SIGTRACE_COOK_NOTIFY"); len(n) > 0 {
		ch := make(chan os.Signal, 16)
		for _, s := range n {
			signal.Notify(ch, s)
		}
		go func() {
			for range ch {
			}
		}()
	}
	switch os.Getenv("SIGTRACE_COOK_DO") {
	case "pipe":
		for {
			if _, err := syscall.Write(1, []byte("x\n")); err != nil {
				return 3 // EPIPE: SIGPIPE is ignored
			}
		}
	case "gopipe": // through the os package, as a Go program writes
		for {
			if _, err := os.Stdout.Write([]byte("x\n")); err != nil {
				return 3
			}
		}
	case "segv":
		_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
		var p *int
		return *p
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// cookEnviron makes the test binary the helper. The Go runtime preempts
// a busy goroutine with a SIGURG to its own thread, which every recipe
// about signals to the helper would rightly show: the helper does
// without (asyncpreemptoff), so the rows are the scenario's.
var cookEnviron = []string{"SIGTRACE_COOK=1", "GODEBUG=asyncpreemptoff=1"}

// cookbookEntry is one README recipe: its id and its sigtrace line.
type cookbookEntry struct {
	id, command string
}

var cookbookMarker = regexp.MustCompile(`<!-- cookbook:([a-z0-9]+) -->`)

// readCookbook returns the README's Cookbook entries, in order: for each
// marker, the one line starting "sudo sigtrace " in the fenced block
// that follows it.
func readCookbook(t *testing.T) []cookbookEntry {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n## Cookbook\n")
	if start < 0 {
		t.Fatal("README.md has no ## Cookbook section")
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var entries []cookbookEntry
	marks := cookbookMarker.FindAllStringSubmatchIndex(section, -1)
	for i, m := range marks {
		id := section[m[2]:m[3]]
		body := section[m[1]:]
		if i+1 < len(marks) {
			body = section[m[1]:marks[i+1][0]]
		}
		open := strings.Index(body, "\n```\n")
		if open < 0 {
			t.Fatalf("cookbook:%s: no fenced block after the marker", id)
		}
		block := body[open+5:]
		end := strings.Index(block, "\n```")
		if end < 0 {
			t.Fatalf("cookbook:%s: fenced block not closed", id)
		}
		var cmds []string
		for _, line := range strings.Split(block[:end], "\n") {
			if strings.HasPrefix(line, "sudo sigtrace ") {
				cmds = append(cmds, line)
			} else if !strings.HasPrefix(line, "sudo bpftrace -e '") {
				t.Errorf("cookbook:%s: a line that is neither sigtrace nor bpftrace: %q", id, line)
			}
		}
		if len(cmds) != 1 {
			t.Fatalf("cookbook:%s: %d sigtrace lines, want 1", id, len(cmds))
		}
		entries = append(entries, cookbookEntry{id, cmds[0]})
	}
	return entries
}

// cookArgs turns a README line into sigtrace's arguments: the
// replacements (placeholder, value pairs) made, split as the shell does,
// "sudo sigtrace" taken off.
func cookArgs(t *testing.T, command string, repl ...string) []string {
	t.Helper()
	for i := 0; i+1 < len(repl); i += 2 {
		if !strings.Contains(command, repl[i]) {
			t.Fatalf("%q has no %q to replace", command, repl[i])
		}
		command = strings.ReplaceAll(command, repl[i], repl[i+1])
	}
	words, err := shell.Fields(command, func(string) string { return "" })
	if err != nil {
		t.Fatalf("%q: %v", command, err)
	}
	if len(words) < 2 || words[0] != "sudo" || words[1] != "sigtrace" {
		t.Fatalf("%q does not start with sudo sigtrace", command)
	}
	return words[2:]
}

// cookProc is a scenario's process, started from the test binary (or a
// copy of it) under a name of its own.
type cookProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	pid   int
	name  string
}

type cookOpt func(*exec.Cmd)

func cookEnv(kv ...string) cookOpt {
	return func(c *exec.Cmd) { c.Env = append(c.Env, kv...) }
}

func cookAttr(a *syscall.SysProcAttr) cookOpt {
	return func(c *exec.Cmd) { c.SysProcAttr = a }
}

// cookName is a unique command name (at most 15 bytes) starting prefix.
func cookName(prefix string) string {
	return fmt.Sprintf("%s%06d", prefix, mrand.Intn(1000000))
}

// startCook starts the helper as name (a symlink to exe, the test binary
// when ""), waits for its ready line, and kills it at cleanup.
func startCook(t *testing.T, exe, name string, opts ...cookOpt) *cookProc {
	t.Helper()
	if exe == "" {
		exe = self(t)
	}
	dir := openDir(t)
	link := filepath.Join(dir, name)
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link)
	cmd.Env = append(os.Environ(), cookEnviron...)
	for _, o := range opts {
		o(cmd)
	}
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
	line := make(chan string, 1)
	go func() { s, _ := bufio.NewReader(out).ReadString('\n'); line <- s }()
	select {
	case s := <-line:
		if strings.TrimSpace(s) != "ready" {
			t.Fatalf("%s said %q", name, s)
		}
	case <-time.After(timeout()):
		t.Fatalf("%s not ready within %v", name, timeout())
	}
	return &cookProc{cmd: cmd, stdin: stdin, pid: cmd.Process.Pid, name: name}
}

// tag is how the table and the templates write the process: name[pid].
func (c *cookProc) tag() string { return fmt.Sprintf("%s[%d]", c.name, c.pid) }

func (c *cookProc) kill(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(c.pid, sig); err != nil {
		t.Fatalf("kill %s: %v", c.tag(), err)
	}
}

// delivered waits until c has no sig pending (it was delivered), bounded,
// so that the next one is not merged with it.
func (c *cookProc) delivered(t *testing.T, sig syscall.Signal) {
	t.Helper()
	bit := uint64(1) << (sig - 1)
	deadline := time.Now().Add(timeout())
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.pid))
		if err != nil {
			t.Fatal(err)
		}
		pending := uint64(0)
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && (k == "SigPnd" || k == "ShdPnd") {
				n, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
				pending |= n
			}
		}
		if pending&bit == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%s still has signal %d pending after %v", c.tag(), sig, timeout())
}

// died waits for c to die of sig, bounded.
func (c *cookProc) died(t *testing.T, sig syscall.Signal) {
	t.Helper()
	cookWait(t, c.cmd, c.name, sig)
}

// cookWait reaps cmd, bounded, and checks it died of sig (0: exited).
func cookWait(t *testing.T, cmd *exec.Cmd, name string, sig syscall.Signal) {
	t.Helper()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout()):
		t.Fatalf("%s did not end within %v", name, timeout())
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if sig == 0 && ws.Signaled() || sig != 0 && (!ws.Signaled() || ws.Signal() != sig) {
		t.Fatalf("%s ended with %v, want signal %d", name, cmd.ProcessState, sig)
	}
}

// runScript runs a shell script under name with args, bounded.
func runScript(t *testing.T, name, body string, args ...string) {
	t.Helper()
	script := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, args...)
	cmd.Env = append(os.Environ(), "PATH="+testproc.PathWithPkill(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", name, err, out)
	}
}

// rowsOf returns the lines of out that contain s.
func rowsOf(out, s string) []string {
	var rows []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			rows = append(rows, l)
		}
	}
	return rows
}

// wantRows checks that the rows of out about s are exactly want's count,
// each containing the corresponding substrings, in order.
func wantRows(t *testing.T, out, s string, want ...[]string) {
	t.Helper()
	rows := rowsOf(out, s)
	ok := len(rows) == len(want)
	for i := 0; ok && i < len(rows); i++ {
		for _, w := range want[i] {
			if !strings.Contains(rows[i], w) {
				ok = false
			}
		}
	}
	if !ok {
		t.Errorf("rows about %s:\n%s\nwant %d rows with %q; the whole output:\n%s", s, strings.Join(rows, "\n"), len(want), want, out)
	}
}

// cgroupDir makes a cgroup v2 directory named name (removed at cleanup,
// after the processes in it are reaped) and returns an fd for
// SysProcAttr.CgroupFD.
func cgroupDir(t *testing.T, name string) int {
	t.Helper()
	root := ""
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			pre, post, ok := strings.Cut(sc.Text(), " - ")
			f := strings.Fields(pre)
			if ok && len(f) >= 5 && f[3] == "/" && strings.HasPrefix(post, "cgroup2 ") {
				root = f[4]
				break
			}
		}
		f.Close()
	}
	if root == "" {
		dir, err := os.MkdirTemp("", "sigtrace-cgroup2")
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("none", dir, "cgroup2", 0, ""); err != nil {
			t.Fatalf("no cgroup2 mount, and mounting one failed: %v", err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(dir, 0); _ = os.Remove(dir) })
		root = dir
	}
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(dir) })
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	return fd
}

// openDir is a temporary directory anyone may read (t.TempDir's parent
// is not), for what uid 65534 runs.
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sigtrace-cook")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// nobodyExe copies the test binary into a directory uid 65534 can read.
func nobodyExe(t *testing.T) string {
	t.Helper()
	dir := openDir(t)
	data, err := os.ReadFile(self(t))
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "exe")
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

var asNobody = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}

// cookbookScenarios: for each README entry, a scenario that asks its
// question, run with the entry's command line, asserting on its output.
var cookbookScenarios = map[string]func(t *testing.T, command string){
	"sigkill": func(t *testing.T, command string) {
		p := startSigtrace(t, cookArgs(t, command)...)
		a, b, c := startCook(t, "", cookName("kilA")), startCook(t, "", cookName("kilB")), startCook(t, "", cookName("kilC"))
		runKill(t, "KILL", a.pid)
		b.kill(t, syscall.SIGKILL)
		runKill(t, "TERM", c.pid) // a Go program: its runtime re-raises SIGTERM
		a.died(t, syscall.SIGKILL)
		b.died(t, syscall.SIGKILL)
		c.died(t, syscall.SIGTERM)
		out := p.stop(t)
		wantRows(t, out, a.name, []string{"@[kill, " + a.name + "]: 1"})
		wantRows(t, out, b.name, []string{"@[" + selfComm(t) + ", " + b.name + "]: 1"})
		wantRows(t, out, c.name)
	},
	"sigpipe": func(t *testing.T, command string) {
		p := startSigtrace(t, cookArgs(t, command)...)
		pipeWriter := func(name, do string, env ...string) *exec.Cmd {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			r.Close()
			dir := t.TempDir()
			if err := os.Symlink(self(t), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(filepath.Join(dir, name))
			cmd.Env = slices.Concat(os.Environ(), cookEnviron, []string{"SIGTRACE_COOK_DO=" + do}, env)
			cmd.Stdout = w
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			w.Close()
			return cmd
		}
		dies, goDies, lives := cookName("pipD"), cookName("pipG"), cookName("pipL")
		d := pipeWriter(dies, "pipe", "SIGTRACE_COOK_DFL=PIPE")
		g := pipeWriter(goDies, "gopipe")
		l := pipeWriter(lives, "pipe", "SIGTRACE_COOK_IGN=PIPE")
		cookWait(t, d, dies, syscall.SIGPIPE)
		cookWait(t, g, goDies, syscall.SIGPIPE)
		cookWait(t, l, lives, 0)
		k := startCook(t, "", cookName("pipK"))
		runKill(t, "KILL", k.pid)
		k.died(t, syscall.SIGKILL)
		out := p.stop(t)
		wantRows(t, out, dies, []string{fmt.Sprintf("EXIT %s[%d] killed by SIGPIPE from the kernel (broken pipe: write with no reader)", dies, d.Process.Pid)})
		wantRows(t, out, goDies, []string{fmt.Sprintf("EXIT %s[%d] killed by SIGPIPE from the kernel (broken pipe: write with no reader) (re-raised by the process after its handler ran)", goDies, g.Process.Pid)})
		wantRows(t, out, lives)
		wantRows(t, out, k.name)
	},
	"termtop": func(t *testing.T, command string) {
		p := startSigtrace(t, cookArgs(t, command)...)
		v := startCook(t, "", cookName("term"), cookEnv("SIGTRACE_COOK_NOTIFY=TERM,USR1"))
		pid := strconv.Itoa(v.pid)
		a, b, c := cookName("ta"), cookName("tb"), cookName("tc")
		runScript(t, a, "for i in 1 2 3 4 5 6 7 8; do kill -TERM $1; done\n", pid)
		runScript(t, b, "for i in 1 2 3 4; do kill -TERM $1; done\n", pid)
		runScript(t, c, "kill -USR1 $1\n", pid)
		out := p.stop(t)
		if !strings.Contains(out, "count by sender.comm\n") {
			t.Errorf("no count header:\n%s", out)
		}
		wantRows(t, out, a, []string{"@[" + a + "]: 8"})
		wantRows(t, out, b, []string{"@[" + b + "]: 4"})
		wantRows(t, out, c)
	},
	"pid1": func(t *testing.T, command string) {
		// Signalling the real init is no test: the scenario's process
		// stands in for PID 1.
		v := startCook(t, "", cookName("init"))
		p := startSigtrace(t, cookArgs(t, command, "--target-pid 1", "--target-pid "+strconv.Itoa(v.pid))...)
		o := startCook(t, "", cookName("othr"))
		runKill(t, "USR1", v.pid)
		v.delivered(t, syscall.SIGUSR1)
		runKill(t, "USR1", o.pid)
		o.delivered(t, syscall.SIGUSR1)
		out := p.stop(t)
		wantRows(t, out, v.name,
			[]string{"SIGUSR1", "SI_USER", "kill[", v.tag(), "handled"},
			[]string{"SIGUSR1", "↳ delivered", v.tag()})
		wantRows(t, out, o.name)
	},
	"fatal": func(t *testing.T, command string) {
		p := startSigtrace(t, cookArgs(t, command)...)
		v := startCook(t, "", cookName("fatl"), cookEnv("SIGTRACE_COOK_DFL=HUP"))
		runKill(t, "USR2", v.pid) // the Go runtime takes it and drops it
		v.delivered(t, syscall.SIGUSR2)
		runKill(t, "HUP", v.pid)
		v.died(t, syscall.SIGHUP)
		out := p.stop(t)
		rows := withoutChange(t, rowsOf(out, v.name), v.tag(), "SIGHUP")
		if len(rows) < 3 || !strings.Contains(rows[0], "SIGHUP") || !strings.Contains(rows[0], "FATAL unprepared") ||
			!strings.Contains(rows[len(rows)-1], "EXIT "+v.tag()+" killed by SIGHUP from kill[") {
			t.Fatalf("want the SIGHUP, its deliveries and the EXIT:\n%s", strings.Join(rows, "\n"))
		}
		for _, r := range rows[1 : len(rows)-1] {
			if !strings.Contains(r, "SIGKILL") || !strings.Contains(r, "dying of SIGHUP") {
				t.Errorf("a row that is not the SIGHUP's SIGKILL: %q", r)
			}
		}
		if s := rowsOf(out, "SIGUSR2"); slices.ContainsFunc(s, func(r string) bool { return strings.Contains(r, v.name) }) {
			t.Errorf("the handled SIGUSR2 is shown: %q", s)
		}
	},
	"usr1hist": func(t *testing.T, command string) {
		p := startSigtrace(t, cookArgs(t, command)...)
		v, o := startCook(t, "", cookName("hist")), startCook(t, "", cookName("hisO"))
		for range 3 {
			v.kill(t, syscall.SIGUSR1)
			v.delivered(t, syscall.SIGUSR1)
		}
		o.kill(t, syscall.SIGUSR2)
		o.delivered(t, syscall.SIGUSR2)
		out := p.stop(t)
		_, after, ok := strings.Cut(out, "@latency_ns["+v.name+"]:\n")
		if !ok {
			t.Fatalf("no histogram for %s:\n%s", v.name, out)
		}
		sum := 0
		for _, l := range strings.Split(after, "\n") {
			if !strings.HasPrefix(l, "[") {
				break
			}
			_, rest, _ := strings.Cut(l, ")")
			f := strings.Fields(rest)
			if len(f) < 2 {
				t.Fatalf("bucket %q", l)
			}
			n, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatalf("bucket %q: %v", l, err)
			}
			sum += n
		}
		if sum != 3 {
			t.Errorf("%s's histogram holds %d deliveries, want 3:\n%s", v.name, sum, out)
		}
		wantRows(t, out, o.name)
	},
	"rootnonroot": func(t *testing.T, command string) {
		p := startSigtrace(t, cookArgs(t, command)...)
		exe := nobodyExe(t)
		n := startCook(t, exe, cookName("nbdy"), cookAttr(asNobody))
		r := startCook(t, "", cookName("root"))
		n.kill(t, syscall.SIGUSR1) // root to nobody: shown
		n.delivered(t, syscall.SIGUSR1)
		r.kill(t, syscall.SIGUSR1) // root to root: not
		r.delivered(t, syscall.SIGUSR1)
		// nobody to nobody: not.
		dir := openDir(t)
		if err := os.Symlink(exe, filepath.Join(dir, "kill")); err != nil {
			t.Fatal(err)
		}
		k := exec.Command(filepath.Join(dir, "kill"), "-USR2", strconv.Itoa(n.pid))
		k.SysProcAttr = asNobody
		if out, err := k.CombinedOutput(); err != nil {
			t.Fatalf("kill as nobody: %v: %s", err, out)
		}
		n.delivered(t, syscall.SIGUSR2)
		out := p.stop(t)
		wantRows(t, out, n.name, []string{"SIGUSR1", selfComm(t) + "[", n.tag(), "handled"})
		wantRows(t, out, r.name)
	},
	"unit": func(t *testing.T, command string) {
		unit := fmt.Sprintf("sigtrace-cook-%d-%d.service", os.Getpid(), mrand.Intn(1000000))
		fd := cgroupDir(t, unit)
		p := startSigtrace(t, cookArgs(t, command, "nginx.service", unit)...)
		v := startCook(t, "", cookName("unit"), cookAttr(&syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}))
		o := startCook(t, "", cookName("nout"))
		runKill(t, "USR1", v.pid)
		v.delivered(t, syscall.SIGUSR1)
		o.kill(t, syscall.SIGUSR1)
		o.delivered(t, syscall.SIGUSR1)
		runKill(t, "TERM", v.pid) // the Go runtime re-raises it: two signals, the death
		v.died(t, syscall.SIGTERM)
		out := p.stop(t)
		rows := rowsOf(out, v.name)
		if len(rows) < 5 || !strings.Contains(rows[0], "SIGUSR1") || !strings.Contains(rows[1], "↳ delivered") ||
			!strings.Contains(rows[2], "SIGTERM") || !strings.Contains(rows[len(rows)-1], "EXIT "+v.tag()+" killed by SIGTERM from kill[") {
			t.Errorf("rows about %s:\n%s", v.name, strings.Join(rows, "\n"))
		}
		wantRows(t, out, o.name)
	},
	"containers": func(t *testing.T, command string) {
		id := make([]byte, 32)
		_, _ = rand.Read(id)
		ctr := hex.EncodeToString(id)
		fd := cgroupDir(t, "docker-"+ctr+".scope")
		p := startSigtrace(t, cookArgs(t, command)...)
		v := startCook(t, "", cookName("ctr"), cookAttr(&syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}))
		o := startCook(t, "", cookName("host"))
		runScript(t, "deploy", "kill -KILL $1\n", strconv.Itoa(v.pid))
		v.died(t, syscall.SIGKILL)
		runKill(t, "KILL", o.pid)
		o.died(t, syscall.SIGKILL)
		out := p.stop(t)
		wantRows(t, out, v.name, []string{ctr + " " + v.tag() + " SIGKILL from deploy["})
		wantRows(t, out, o.name)
	},
	"cronjob": func(t *testing.T, command string) {
		job := cookName("bk") + ".sh"
		p := startSigtrace(t, cookArgs(t, command, "backup.sh", job)...)
		v := startCook(t, "", cookName("cron"))
		pid := strconv.Itoa(v.pid)
		// pkill, its child, then its own kill (a builtin), last so that
		// the shell does not exec it.
		runScript(t, job, "pkill -USR2 -x "+v.name+"\nkill -USR1 $1\n", pid)
		other := cookName("ot") + ".sh"
		runScript(t, other, "pkill -USR2 -x "+v.name+"\nkill -USR1 $1\n", pid)
		out := p.stop(t)
		wantRows(t, out, v.name,
			[]string{"SIGUSR2", "pkill[", "← " + job, v.tag()},
			[]string{"SIGUSR1", job + "[", v.tag()})
		if strings.Contains(out, other) {
			t.Errorf("another job's signals:\n%s", out)
		}
	},
	"whatkilled": func(t *testing.T, command string) {
		v := startCook(t, "", cookName("myap"), cookEnv("SIGTRACE_COOK_DFL=HUP"))
		p := startSigtrace(t, cookArgs(t, command, "myapp", v.name)...)
		runKill(t, "USR2", v.pid)
		v.delivered(t, syscall.SIGUSR2)
		runNightlyjob(t, v.name)
		v.died(t, syscall.SIGHUP)
		out := p.stop(t)
		wantRows(t, out, v.name, []string{"EXIT " + v.tag() + " killed by SIGHUP from pkill[", "← nightlyjob", "(no SIGHUP handler: default action terminate)"})
	},
	"nginx": func(t *testing.T, command string) {
		v := startCook(t, "", cookName("ngx"))
		p := startSigtrace(t, cookArgs(t, command, `"nginx"`, `"`+v.name+`"`)...)
		runKill(t, "USR1", v.pid)
		v.delivered(t, syscall.SIGUSR1)
		runKill(t, "USR1", v.pid)
		v.delivered(t, syscall.SIGUSR1)
		v.kill(t, syscall.SIGUSR2)
		v.delivered(t, syscall.SIGUSR2)
		out := p.stop(t)
		want := fmt.Sprintf("count by sender.comm, signal.name\n@[kill, SIGUSR1]: 2\n@[%s, SIGUSR2]: 1\n", selfComm(t))
		if out != want {
			t.Errorf("got\n%s\nwant\n%s", out, want)
		}
	},
	"unprepared": func(t *testing.T, command string) {
		p := startSigtrace(t, cookArgs(t, command)...)
		v := startCook(t, "", cookName("unpr"), cookEnv("SIGTRACE_COOK_DFL=HUP"))
		h := startCook(t, "", cookName("hndl"), cookEnv("SIGTRACE_COOK_NOTIFY=HUP"))
		h.kill(t, syscall.SIGHUP)
		h.delivered(t, syscall.SIGHUP)
		runKill(t, "HUP", v.pid)
		v.died(t, syscall.SIGHUP)
		out := p.stop(t)
		wantRows(t, out, v.name, []string{"SIGHUP", "kill[", v.tag(), "FATAL unprepared: no SIGHUP handler"})
		wantRows(t, out, h.name)
	},
	"crash": func(t *testing.T, command string) {
		p := startSigtrace(t, cookArgs(t, command)...)
		name := cookName("segv")
		dir := t.TempDir()
		if err := os.Symlink(self(t), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		c := exec.Command(filepath.Join(dir, name))
		c.Env = slices.Concat(os.Environ(), cookEnviron, []string{"SIGTRACE_COOK_DO=segv", "SIGTRACE_COOK_DFL=SEGV"})
		c.Dir = dir // should a core be written after all
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cookWait(t, c, name, syscall.SIGSEGV)
		k := startCook(t, "", cookName("kild"))
		runKill(t, "KILL", k.pid)
		k.died(t, syscall.SIGKILL)
		out := p.stop(t)
		wantRows(t, out, name, []string{fmt.Sprintf("EXIT %s[%d] killed by SIGSEGV", name, c.Process.Pid)})
		wantRows(t, out, k.name)
	},
	"failed": func(t *testing.T, command string) {
		p := startSigtrace(t, cookArgs(t, command)...)
		v := startCook(t, "", cookName("fail"), cookEnv("SIGTRACE_COOK_IGN=USR1"))
		runKill(t, "USR1", v.pid) // ignored: the kernel drops it
		runKill(t, "USR2", v.pid) // the Go runtime's handler takes it
		v.delivered(t, syscall.SIGUSR2)
		out := p.stop(t)
		wantRows(t, out, v.name, []string{"SIGUSR1", "kill[", v.tag(), "ignored"})
	},
}

// TestCookbook runs every README Cookbook line with its scenario.
func TestCookbook(t *testing.T) {
	entries := readCookbook(t)
	if len(entries) < 12 {
		t.Errorf("the Cookbook has %d entries, want at least 12", len(entries))
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.id] {
			t.Errorf("cookbook:%s twice", e.id)
		}
		seen[e.id] = true
		if cookbookScenarios[e.id] == nil {
			t.Errorf("cookbook:%s (%s) has no scenario", e.id, e.command)
		}
	}
	for id := range cookbookScenarios {
		if !seen[id] {
			t.Errorf("scenario %s has no entry in the README", id)
		}
	}
	requireRoot(t)
	for _, e := range entries {
		if run := cookbookScenarios[e.id]; run != nil {
			t.Run(e.id, func(t *testing.T) { run(t, e.command) })
		}
	}
}
