package main

// End-to-end tests of `sigtrace audit`: the test binary runs as sigtrace
// (SIGTRACE_AS_MAIN=1, see main_test.go) against configuration roots
// written here and a real process without handlers. No root needed.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/testproc"
)

// auditRun runs `sigtrace args...` and returns its exit status and output.
func auditRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "SIGTRACE_AS_MAIN=1")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// auditSleeper starts a copy of sleep named name (comm comes from the
// file name; busybox is told by argv[0] to be sleep) and waits, by polling
// /proc, until it runs under that name.
func auditSleeper(t *testing.T, name string) int {
	t.Helper()
	src, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatalf("no sleep in PATH: %v", err)
	}
	real, err := filepath.EvalSymlinks(src)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	for range 20 { // a just-written executable can be ETXTBSY for a moment
		cmd = exec.Command(exe, "3600")
		if filepath.Base(real) == "busybox" {
			cmd.Args[0] = "sleep"
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err = cmd.Start(); !errors.Is(err, syscall.ETXTBSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	commFile := fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid)
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(commFile)
		if strings.TrimSpace(string(b)) == name {
			return cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start: comm %q", name, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// auditRoot writes files (path -> content) under a new root directory.
func auditRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const auditLogrotate = `/var/log/auditcmdX.log {
	weekly
	postrotate
		kill -HUP $(cat /run/auditcmdX.pid)
	endscript
}
`

func TestAuditFatalExitsOne(t *testing.T) {
	pid := auditSleeper(t, "auditcmdX")
	root := auditRoot(t, map[string]string{
		"etc/logrotate.d/auditcmd": auditLogrotate,
		"run/auditcmdX.pid":        fmt.Sprintf("%d\n", pid),
	})

	code, out, errOut := auditRun(t, "audit", "--root", root, "-o", "json")
	if code != 1 || errOut != "" {
		t.Fatalf("exit %d, stderr %q; want 1 and nothing", code, errOut)
	}
	var f struct {
		Kind   string
		Source struct {
			File string
			Line int
			Text string
		}
		Signal struct {
			Num  int
			Name string
		}
		Target struct {
			PID     int
			Comm    string
			Cmdline string
		}
		Disposition, Risk string
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one finding line, got %q", out)
	}
	if err := json.Unmarshal([]byte(lines[0]), &f); err != nil {
		t.Fatalf("%q: %v", lines[0], err)
	}
	if f.Risk != "fatal" || f.Disposition != "default" || f.Signal.Num != 1 || f.Signal.Name != "SIGHUP" ||
		f.Target.PID != pid || f.Target.Comm != "auditcmdX" ||
		f.Source.File != filepath.Join(root, "etc/logrotate.d/auditcmd") || f.Source.Line != 4 ||
		f.Source.Text != "kill -HUP $(cat /run/auditcmdX.pid)" {
		t.Errorf("finding = %+v", f)
	}

	code, out, _ = auditRun(t, "audit", "--root", root)
	if code != 1 || !strings.HasPrefix(out, "RISK") ||
		!strings.Contains(out, fmt.Sprintf("FATAL  SIGHUP  %d auditcmdX", pid)) ||
		!strings.Contains(out, "etc/logrotate.d/auditcmd:4") ||
		!strings.Contains(out, "1 fatal, 0 unresolved, 0 ok") {
		t.Errorf("table (exit %d):\n%s", code, out)
	}
}

func TestAuditNoRiskExitsZero(t *testing.T) {
	code, out, errOut := auditRun(t, "audit", "--root", t.TempDir())
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "No configured signal senders found") {
		t.Errorf("empty root: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// A sender whose target is not running is unresolved, not fatal; the
	// malformed file next to it is reported with file:line, and the
	// audit goes on.
	root := auditRoot(t, map[string]string{
		"etc/logrotate.d/nobody": "/var/log/n.log {\n\tpostrotate\n\t\tpkill -HUP -x auditcmdNobody\n\tendscript\n}\n",
		"etc/logrotate.d/broken": "/var/log/b.log {\n\tpostrotate\n\t\tkill -HUP 1\n}\n",
		"etc/crontab":            "*/5 * * * * root\n",
	})
	code, out, errOut = auditRun(t, "audit", "--root", root, "-o", "json")
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	if !strings.Contains(out, `"risk":"unresolved"`) || !strings.Contains(out, "auditcmdNobody") {
		t.Errorf("stdout %q", out)
	}
	for _, w := range []string{
		"sigtrace: warning: " + root + "/etc/logrotate.d/broken:2: postrotate without endscript",
		"sigtrace: warning: " + root + "/etc/crontab:1: malformed cron line",
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr %q lacks %q", errOut, w)
		}
	}
}

func TestAuditErrorsExitTwo(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"audit", "--root", "/nonexistent/root"}, "sigtrace: cannot read --root /nonexistent/root: no such file or directory"},
		{[]string{"audit", "--root", "/etc/passwd"}, "sigtrace: --root /etc/passwd is not a directory"},
		{[]string{"audit", "--proc", "/nonexistent/proc"}, "sigtrace: cannot read /nonexistent/proc"},
		{[]string{"audit", "-o", "xml"}, `sigtrace: unknown output format "xml": use -o table or -o json`},
		{[]string{"audit", "--bogus"}, "sigtrace: unknown flag: --bogus"},
		{[]string{"audit", "extra"}, "sigtrace: unknown command \"extra\" for \"sigtrace audit\""},
	}
	for _, tt := range tests {
		code, out, errOut := auditRun(t, tt.args...)
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		if code != 2 || out != "" || len(lines) != 1 || !strings.HasPrefix(lines[0], tt.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line %q", tt.args, code, out, errOut, tt.want)
		}
	}
}

// TestAuditFollowsDebianStanzas runs the audit on Debian 12's own
// logrotate stanzas for nginx and rsyslog, with a live process named
// nginx (no handler at all) in /run/nginx.pid. The nginx stanza's
// `invoke-rc.d nginx rotate` runs /etc/init.d/nginx's rotate) branch,
// whose rotate_logs sends USR1 with start-stop-daemon; the rsyslog stanza
// runs /usr/lib/rsyslog/rsyslog-rotate, which sends HUP with systemctl
// kill. Both used to yield nothing or a reason that was not true.
func TestAuditFollowsDebianStanzas(t *testing.T) {
	pid := auditSleeper(t, "nginx")
	root := t.TempDir()
	testproc.CopyTree(t, "testdata/bookworm", root)
	if err := os.MkdirAll(filepath.Join(root, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "run/nginx.pid"), fmt.Appendf(nil, "%d\n", pid), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := auditRun(t, "audit", "--root", root, "-o", "json")
	if code != 1 || errOut != "" {
		t.Fatalf("exit %d, stderr %q; want 1 and nothing\n%s", code, errOut, out)
	}
	type hop struct {
		File, Text, Context string
		Line                int
	}
	type finding struct {
		Risk   string
		Reason string
		Signal *struct{ Name string }
		Target *struct{ PID int }
		Source struct {
			File string
			Line int
			Via  []hop
		}
	}
	var got []string
	byFile := map[string]finding{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var f finding
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		sig, target := "-", "-"
		if f.Signal != nil {
			sig = f.Signal.Name
		}
		if f.Target != nil {
			target = fmt.Sprint(f.Target.PID)
			if f.Target.PID == pid {
				target = "nginx"
			}
		}
		chain := fmt.Sprintf("%s:%d", strings.TrimPrefix(f.Source.File, root), f.Source.Line)
		for _, h := range f.Source.Via {
			chain += fmt.Sprintf(" → %s:%d", strings.TrimPrefix(h.File, root), h.Line)
		}
		got = append(got, f.Risk+" "+chain+" "+sig+" "+target)
		byFile[strings.TrimPrefix(f.Source.File, root)] = f
	}
	want := []string{
		"fatal /etc/logrotate.d/nginx:16 → /etc/init.d/nginx:189 → /etc/init.d/nginx:82 SIGUSR1 nginx",
		"unresolved /etc/logrotate.d/rsyslog:16 → /usr/lib/rsyslog/rsyslog-rotate:4 SIGHUP -",
		"ok /lib/systemd/system/nginx.service:25 SIGQUIT nginx", // ExecStop: a stop
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	via := byFile["/etc/logrotate.d/nginx"].Source.Via
	if via[0].Text != "rotate_logs" || via[0].Context != "init script rotate" ||
		via[1].Text != "start-stop-daemon --stop --signal USR1 --quiet --pidfile $PID --name $NAME" ||
		via[1].Context != "init script rotate, function rotate_logs" {
		t.Errorf("nginx chain = %+v", via)
	}
	// No process runs in rsyslog.service's cgroup here: the reason says
	// what systemctl kill would signal.
	if r := byFile["/etc/logrotate.d/rsyslog"].Reason; r != "no live process in the cgroup of rsyslog.service (would signal every process of the unit)" {
		t.Errorf("rsyslog reason = %q", r)
	}

	code, out, _ = auditRun(t, "audit", "--root", root)
	row := strings.Fields(strings.Split(out, "\n")[1])
	if code != 1 || len(row) < 12 || strings.Join(row[:5], " ") != fmt.Sprintf("FATAL SIGUSR1 %d nginx default", pid) ||
		strings.Join(row[5:11], " ") != root+"/etc/logrotate.d/nginx:16 → "+root+"/etc/init.d/nginx:189 → :82 start-stop-daemon" {
		t.Errorf("table (exit %d):\n%s", code, out)
	}
}
