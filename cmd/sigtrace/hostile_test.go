package main

// Files an attacker controls under the audited root: a crontab naming
// /etc/shadow as a pidfile, FIFOs and devices where files are expected, a
// pidfile of a megabyte (issue 21, items 2 and 4). The audit must finish,
// read no more than it needs, and repeat nothing of what is not a PID.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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

// TestAuditAmplification: one input line cannot make the report large
// (issue 21, item 6): a 1 MB kill argument was echoed whole, twice, and
// 20,000 continuation lines of one kill gave 20,000 findings. A line over
// the bounds is reported once and skipped, what is echoed is clipped, and
// one line lists at most 16 findings; the lines after the crafted ones
// are still audited.
func TestAuditAmplification(t *testing.T) {
	// PIDs above the kernel's PID_MAX_LIMIT (4194304): never running, on
	// any host, so each is one unresolved finding.
	pids := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString("      " + strconv.Itoa(4194305+i) + " \\\n")
		}
		return b.String()
	}
	var killEach strings.Builder
	for i := 0; i < 20000; i++ {
		killEach.WriteString("    ; kill -HUP " + strconv.Itoa(4194305+i) + " \\\n")
	}
	word := strings.Repeat("W", 40000)
	root := auditRoot(t, map[string]string{
		"etc/crontab": "* * * * * root kill -HUP " + strings.Repeat("A", 1<<20) + "\n" +
			"* * * * * root kill -HUP " + word + "\n" +
			"* * * * * root kill -USR1 $(cat /run/after-cron.pid)\n",
		// 20,000 continuation lines of PIDs after one kill, then 20,000
		// continued lines with a kill each, then 1,000 lines of PIDs:
		// under the line bound, over the findings bound.
		"etc/logrotate.d/pids": "/var/log/a.log {\n  postrotate\n    kill -HUP \\\n" + pids(20000) + "      1\n" +
			"    kill -USR1 $(cat /run/after-pids.pid)\n  endscript\n}\n",
		"etc/logrotate.d/kills": "/var/log/b.log {\n  postrotate\n    true \\\n" + killEach.String() + "    ; true\n" +
			"    kill -USR1 $(cat /run/after-kills.pid)\n  endscript\n}\n",
		"etc/logrotate.d/many": "/var/log/c.log {\n  postrotate\n    kill -HUP \\\n" + pids(1000) + "      4194305\n  endscript\n}\n",
		"etc/systemd/system/x.service": "[Service]\nExecStart=/bin/sleep 1\nExecReload=/bin/kill -HUP $MAINPID \\\n" +
			strings.Repeat("  1 \\\n", 20000) + "  1\nExecStop=/bin/kill -TERM $MAINPID\n",
	})
	crontab := filepath.Join(root, "etc/crontab")
	wantWarn := []string{
		crontab + ":1: cron line too long: 1048601 bytes (at most 65536): not audited; the audit goes on with the next line",
		filepath.Join(root, "etc/logrotate.d/kills") + ":3: logrotate postrotate line too long: 20002 lines joined by backslashes, " +
			strconv.Itoa(len("    true \\\n")+len(killEach.String())+len("    ; true")) +
			" bytes (at most 1024 lines, 65536 bytes): not audited; the audit goes on with the next line",
		filepath.Join(root, "etc/logrotate.d/many") + ":3: ... and 985 more findings from this line, not listed: at most 16 are listed per line (985 unresolved)",
		filepath.Join(root, "etc/logrotate.d/pids") + ":3: logrotate postrotate line too long: 20002 lines joined by backslashes, " +
			strconv.Itoa(len("    kill -HUP \\\n")+len(pids(20000))+len("      1")) +
			" bytes (at most 1024 lines, 65536 bytes): not audited; the audit goes on with the next line",
		filepath.Join(root, "etc/systemd/system/x.service") + ":3: unit file line too long: 20002 lines joined by backslashes, " +
			strconv.Itoa(len("ExecReload=/bin/kill -HUP $MAINPID \\")+20000*len("\n  1 \\")+len("\n  1")) +
			" bytes (at most 1024 lines, 65536 bytes): not audited; the audit goes on with the next line",
	}
	checkWarnings := func(stderr string) {
		t.Helper()
		var got []string
		for _, l := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
			got = append(got, strings.TrimPrefix(l, "sigtrace: warning: "))
		}
		if strings.Join(got, "\n") != strings.Join(wantWarn, "\n") {
			t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantWarn, "\n"))
		}
	}

	start := time.Now()
	out, errb := auditBounded(t, "audit", "--root", root, "-o", "json")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the audit took %v", d)
	}
	checkWarnings(errb)
	perLine := map[string]int{}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, l := range lines {
		var f struct {
			Source struct {
				File string `json:"file"`
				Line int    `json:"line"`
			} `json:"source"`
		}
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("%v: %.200q", err, l)
		}
		perLine[strings.TrimPrefix(f.Source.File, root)+":"+strconv.Itoa(f.Source.Line)]++
	}
	want := map[string]int{
		"/etc/crontab:2": 1, "/etc/crontab:3": 1, // the word, and the line after them
		"/etc/logrotate.d/pids:20005":  1, // the line after the 20,002
		"/etc/logrotate.d/kills:20005": 1,
		"/etc/logrotate.d/many:3":      16,
	}
	if fmt.Sprint(perLine) != fmt.Sprint(want) {
		t.Errorf("findings per line: got %v\nwant %v", perLine, want)
	}
	// 20 findings, each echoing at most a few clipped words.
	if len(out) > 20*1000 {
		t.Errorf("%d bytes of JSON for %d findings", len(out), len(lines))
	}
	clipped := `"text":"* * * * * root kill -HUP ` + strings.Repeat("W", 200-len("* * * * * root kill -HUP ")) +
		`…[` + strconv.Itoa(len("* * * * * root kill -HUP ")+40000-200) + ` more bytes]"`
	if !strings.Contains(out, clipped) {
		t.Errorf("the 40,000-byte word is not clipped in the line's text: %.400q", out)
	}
	if !strings.Contains(out, `"reason":"\"`+strings.Repeat("W", 200)+`…[39800 more bytes]\" is not a PID"`) {
		t.Errorf("the 40,000-byte word is not clipped in the reason")
	}
	if strings.Contains(out, strings.Repeat("W", 201)) || strings.Contains(out+errb, strings.Repeat("A", 201)) {
		t.Errorf("more than 200 bytes of a word repeated")
	}

	out, errb = auditBounded(t, "audit", "--root", root)
	checkWarnings(errb)
	if len(out) > 20*1000 {
		t.Errorf("a table of %d bytes:\n%.2000s", len(out), out)
	}
	if !strings.Contains(out, "0 fatal, 1005 unresolved, 0 ok: 5 signal senders") ||
		!strings.Contains(out, "985 findings not listed, past 16 from one line (see the warnings)") {
		t.Errorf("summary:\n%s", out[max(0, len(out)-400):])
	}
	if strings.Count(out, "\n") > 2*20+4 {
		t.Errorf("%d lines in the table", strings.Count(out, "\n"))
	}
}

// auditMeasured is auditBounded that also gives the exit status, and logs
// the run's time and peak memory (not asserted: the work is bounded by
// counts, which the audit package's tests check).
func auditMeasured(t *testing.T, args ...string) (code int, stdout, stderr string) {
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
	start := time.Now()
	err = cmd.Run()
	d := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("sigtrace %s did not finish within %v", strings.Join(args, " "), timeout())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	rss := int64(0)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss // KiB on Linux
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	t.Logf("sigtrace %s: %v (%v of CPU), max RSS %d KiB, %d bytes out, %d bytes of warnings",
		strings.Join(args, " "), d.Round(time.Millisecond), cpu.Round(time.Millisecond), rss, out.Len(), errb.Len())
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// TestAuditFollowAmplification: following cannot multiply the work
// (issue 21, item 3). 500 crontab lines running one script of 2000 echoes
// scanned it 500 times (16 s); of 2000 kills, 30 s and 1.2 GB; four levels
// of scripts that run the next one 64 times, 250 s. A followed script is
// scanned once per way it runs, and the whole audit has a budget: the
// million senders of the kills stop it at the line that passes 65,536,
// with one warning, INCOMPLETE in the summary and exit status 1.
func TestAuditFollowAmplification(t *testing.T) {
	lines := func(n int, line func(i int) string) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(line(i) + "\n")
		}
		return b.String()
	}
	script := func(verb string) string {
		return "#!/bin/sh\n" + lines(2000, func(i int) string { return verb + " -HUP " + strconv.Itoa(4194305+i) })
	}
	cron := lines(500, func(int) string { return "* * * * * root /usr/local/bin/x" })
	after := "* * * * * root kill -USR1 $(cat /run/after.pid)\n"

	t.Run("echo", func(t *testing.T) {
		root := auditRoot(t, map[string]string{"usr/local/bin/x": script("echo"), "etc/crontab": cron + after})
		chmodX(t, root, "usr/local/bin/x")
		code, out, errb := auditMeasured(t, "audit", "--root", root)
		if code != 0 || errb != "" {
			t.Errorf("exit %d, warnings:\n%s", code, errb)
		}
		if !strings.Contains(out, "/run/after.pid") || !strings.Contains(out, "0 fatal, 1 unresolved, 0 ok: 1 signal sender (2 configuration files read") {
			t.Errorf("the line after the 500 was not audited, or the count is off:\n%s", out)
		}
	})

	t.Run("wide", func(t *testing.T) {
		files := map[string]string{"etc/crontab": "* * * * * root /usr/local/bin/w0\n" + after}
		for l := 0; l < 3; l++ {
			files["usr/local/bin/w"+strconv.Itoa(l)] = "#!/bin/sh\n" + lines(64, func(int) string { return "/usr/local/bin/w" + strconv.Itoa(l+1) })
		}
		files["usr/local/bin/w3"] = "#!/bin/sh\n" + lines(64, func(int) string { return "echo done" })
		root := auditRoot(t, files)
		for l := 0; l < 4; l++ {
			chmodX(t, root, "usr/local/bin/w"+strconv.Itoa(l))
		}
		code, out, errb := auditMeasured(t, "audit", "--root", root)
		if code != 0 || errb != "" || !strings.Contains(out, "/run/after.pid") {
			t.Errorf("exit %d, warnings:\n%s\n%s", code, errb, out)
		}
	})

	t.Run("kill", func(t *testing.T) {
		root := auditRoot(t, map[string]string{"usr/local/bin/x": script("kill"), "etc/crontab": cron + after})
		chmodX(t, root, "usr/local/bin/x")
		crontab := filepath.Join(root, "etc/crontab")
		stop := crontab + ":33: audit incomplete: more than 65536 signal senders found in the whole audit (a bound against crafted input): " +
			"the audit stops here, scans and follows nothing more, and lists what it found before"
		for _, o := range []string{"table", "json"} {
			code, out, errb := auditMeasured(t, "audit", "--root", root, "-o", o)
			if code != 1 {
				t.Errorf("-o %s: exit %d, want 1 (incomplete)", o, code)
			}
			if n := strings.Count(errb, "audit incomplete"); n != 1 || !strings.Contains(errb, "sigtrace: warning: "+stop+"\n") {
				t.Errorf("-o %s: %d warnings of the stop, want 1: %s", o, n, stop)
			}
			// 32 lines and a part of line 33 listed (16 findings each),
			// the rest of each counted, and nothing after.
			if n := strings.Count(errb, "more findings from this line"); n != 33 {
				t.Errorf("-o %s: %d lines with findings left out, want 33", o, n)
			}
			if strings.Contains(out, "after.pid") || strings.Contains(out, "crontab:34") {
				t.Errorf("-o %s: lines past the stop are listed", o)
			}
			if o == "json" {
				if n := strings.Count(out, "\n"); n != 33*16 {
					t.Errorf("%d findings, want %d", n, 33*16)
				}
				continue
			}
			if !strings.Contains(out, "0 fatal, 65536 unresolved, 0 ok: 65536 signal senders (2 configuration files read") ||
				!strings.Contains(out, "). INCOMPLETE: the audit stopped at "+crontab+":33, at a bound on its work (see the warnings); what it did not reach is not listed.\n") {
				t.Errorf("summary:\n%s", out[max(0, len(out)-600):])
			}
		}
	})
}

func chmodX(t *testing.T, root, p string) {
	t.Helper()
	if err := os.Chmod(filepath.Join(root, p), 0o755); err != nil {
		t.Fatal(err)
	}
}
