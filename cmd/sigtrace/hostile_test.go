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
	"strings"
	"syscall"
	"testing"
)

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

	exe, err := os.Executable()
	must(err)
	ctx, cancel := context.WithTimeout(context.Background(), timeout())
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "audit", "--root", root, "-o", "json")
	cmd.Env = append(os.Environ(), "SIGTRACE_AS_MAIN=1")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("audit of the crafted root did not finish within %v (a FIFO or device was read?)", timeout())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	all := out.String() + errb.String()
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
