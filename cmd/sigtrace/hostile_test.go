package main

// Files an attacker controls under the audited root: a crontab naming
// /etc/shadow as a pidfile, FIFOs and devices where files are expected, a
// pidfile of a megabyte (issue 21, items 2 and 4). The audit must finish,
// read no more than it needs, and repeat nothing of what is not a PID.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// auditBounded runs `sigtrace args...` like auditRun, but fails the test
// if it does not end within timeout(): a crafted root must not stall it.
func auditBounded(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout())
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "SIGTRACE_AS_MAIN=1")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sigtrace %s did not finish within %v", strings.Join(args, " "), timeout())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return out.String(), errb.String()
}

// TestAuditHostileShell: crontab lines built to make the shell front end
// work exponentially (nested ${a:-...} doubled the time per level) or
// cubically (nested $(...)) are reported as too complex, and the audit of
// the rest goes on (issue 21, item 3).
func TestAuditHostileShell(t *testing.T) {
	param := "1"
	for i := 0; i < 30; i++ {
		param = "${a:-" + param + "}"
	}
	subst := strings.Repeat("$(", 1000) + "true" + strings.Repeat(")", 1000)
	root := auditRoot(t, map[string]string{
		"etc/crontab": "* * * * * root kill -HUP " + param + "\n" +
			"* * * * * root echo " + subst + "\n" +
			"* * * * * root kill -USR1 $(cat /run/ok.pid)\n",
	})
	out, errb := auditBounded(t, "audit", "--root", root, "-o", "json")
	crontab := filepath.Join(root, "etc/crontab")
	for _, want := range []string{crontab + ":1: ", crontab + ":2: ", "too complex to follow"} {
		if !strings.Contains(errb, want) {
			t.Errorf("warnings lack %q:\n%s", want, errb)
		}
	}
	// The sane line after them is still audited.
	if !strings.Contains(out, "/run/ok.pid") {
		t.Errorf("the line after the crafted ones was not audited:\n%s", out)
	}
}

// TestAuditConfinedToRoot: a chain of symlinks longer than any resolver
// follows, ending at an absolute path, must not lead the audit out of
// --root to the host's file (issue 21, item 1): the kernel resolves every
// path with the root as "/".
func TestAuditConfinedToRoot(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "host-secret")
	if err := os.WriteFile(outside, []byte("* * * * * root pkill -HUP SECRETNAME\nSECRETWORD\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := auditRoot(t, map[string]string{
		"etc/cron.d/job": "* * * * * root kill -HUP $(cat /run/chain.pid)\n",
	})
	chain := func(name string) {
		// name -> name.1 -> ... -> name.45 (relative links) -> the
		// host's file (absolute): past its 40 hops the old resolver left
		// the rest to the OS, which followed the last link on the host.
		prev := filepath.Join(root, name)
		for i := 1; i <= 45; i++ {
			next := name + "." + strconv.Itoa(i)
			if err := os.Symlink(filepath.Base(next), prev); err != nil {
				t.Fatal(err)
			}
			prev = filepath.Join(root, next)
		}
		if err := os.Symlink(outside, prev); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	chain("etc/crontab")
	chain("run/chain.pid")
	code, stdout, stderr := auditRun(t, "audit", "--root", root, "-o", "json")
	if strings.Contains(stdout+stderr, "SECRET") {
		t.Errorf("the audit read a file outside --root (exit %d):\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "chain.pid") {
		t.Errorf("the cron.d job was not audited:\n%s", stdout)
	}
}

func TestAuditHostileFiles(t *testing.T) {
	const secret = "root:$6$s3cr3tHASHnobodymaysee:19000:0:99999:7:::"
	root := auditRoot(t, map[string]string{
		"etc/shadow": secret + "\n",
		"etc/crontab": "* * * * * root kill -HUP $(cat /etc/shadow)\n" +
			"* * * * * root kill -HUP $(cat /run/fifo.pid)\n" +
			"* * * * * root kill -HUP $(cat /run/zero.pid)\n" +
			"* * * * * root kill -HUP $(cat /run/big.pid)\n",
		"run/big.pid": strings.Repeat("1", 1<<20),
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(syscall.Mkfifo(filepath.Join(root, "run/fifo.pid"), 0o644))
	// A FIFO where the main configuration file is expected: opening it
	// for reading would wait for a writer forever.
	must(os.MkdirAll(filepath.Join(root, "etc/logrotate.d"), 0o755))
	must(syscall.Mkfifo(filepath.Join(root, "etc/logrotate.conf"), 0o644))
	// /dev/zero's device numbers (1, 5): read whole, it never ends.
	must(syscall.Mknod(filepath.Join(root, "run/zero.pid"), syscall.S_IFCHR|0o644, 1<<8|5))

	out, errb := auditBounded(t, "audit", "--root", root, "-o", "json")
	all := out + errb
	if strings.Contains(all, "s3cr3t") || strings.Contains(all, "root:$6$") {
		t.Errorf("the audit repeated the content of /etc/shadow:\n%s", all)
	}
	for _, want := range []string{
		"pidfile " + filepath.Join(root, "etc/shadow") + " does not hold a PID",
		"pidfile " + filepath.Join(root, "run/fifo.pid") + " is not read: not a regular file",
		"pidfile " + filepath.Join(root, "run/zero.pid") + " is not read: not a regular file",
		"pidfile " + filepath.Join(root, "run/big.pid") + " is not read: larger than 128 bytes",
		filepath.Join(root, "etc/logrotate.conf") + ": cannot read: not a regular file",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("output lacks %q:\n%s", want, all)
		}
	}
}

// TestAuditWarningsSanitised: file names and lines reach stderr under the
// same policy as the tables: no escape sequence, and a newline in a file
// name cannot forge a warning line (issue 21, item 5).
func TestAuditWarningsSanitised(t *testing.T) {
	root := auditRoot(t, map[string]string{
		"etc/logrotate.d/evil\nsigtrace: warning: FORGED:1: all is well": "\x1b]0;pwned\x07\x1b[2J {\n",
		"etc/systemd/system/x.service":                                   "[Service\x1b[31m]\nExecReload=/bin/kill -HUP \x1b[2J$MAINPID\n",
	})
	_, _, stderr := auditRun(t, "audit", "--root", root)
	if strings.ContainsAny(stderr, "\x1b\x07") {
		t.Errorf("an escape sequence reached stderr: %q", stderr)
	}
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "sigtrace: warning: FORGED") {
			t.Errorf("a file name forged a warning line: %q", stderr)
		}
	}
	if !strings.Contains(stderr, `evil\x0asigtrace: warning: FORGED`) {
		t.Errorf("the file's warning does not name it escaped: %q", stderr)
	}
}

// TestAuditSaysWhatItSkips: processes whose (fake) /proc entries make no
// sense are left out with a warning each, not silently (issue 21, item 6).
func TestAuditSaysWhatItSkips(t *testing.T) {
	status := func(masks string) string {
		return "Name:\tdaemon\nState:\tS (sleeping)\nPPid:\t1\nUid:\t0\t0\t0\t0\n" + masks
	}
	good := "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n"
	proc := auditRoot(t, map[string]string{
		"100/status":   status(good),
		"101/status":   status("SigBlk:\t0\nSigIgn:\t0\nSigCgt:\t" + strings.Repeat("9", 200) + "\n"),
		"102/status":   status("SigIgn:\t0\nSigCgt:\t0\n"),
		"103/status":   status("Junk:\t" + strings.Repeat("x", 2<<20) + "\n" + good),
		"104/status/x": "",
	})
	root := auditRoot(t, map[string]string{"etc/crontab": "\n"})
	_, stdout, stderr := auditRun(t, "audit", "--root", root, "--proc", proc, "--all")
	for pid, why := range map[string]string{
		"101": "SigCgt is not a signal mask",
		"102": "SigBlk is missing",
		"103": "larger than",
		"104": "not a regular file",
	} {
		want := filepath.Join(proc, pid) + ": process left out: "
		if !strings.Contains(stderr, want) || !strings.Contains(stderr, why) {
			t.Errorf("no warning %q ... %q:\n%s", want, why, stderr)
		}
	}
	if !strings.Contains(stdout, "1 process examined") {
		t.Errorf("want exactly the good process examined:\n%s", stdout)
	}
}
