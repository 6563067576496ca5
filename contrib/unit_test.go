// Package contrib holds files that install sigtrace on a host: the
// systemd unit of always-on recording. Its tests check them.
package contrib

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const unit = "sigtrace-record.service"

// TestUnitVerifies runs systemd-analyze verify on the unit, with its
// ExecStart pointed at an executable that exists here (verify checks
// that), and takes any warning as a failure: verify exits 0 on an unknown
// key or a value it cannot parse, and only says so.
func TestUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is not installed; .ci/run installs the systemd package, under CI=true this may not skip")
		}
		t.Skip("systemd-analyze is not installed (apt-get install systemd): the unit is not verified")
	}
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("ExecStart=/usr/local/bin/sigtrace ")) {
		t.Fatal("ExecStart does not run /usr/local/bin/sigtrace")
	}
	path := filepath.Join(t.TempDir(), unit)
	if err := os.WriteFile(path, bytes.ReplaceAll(b, []byte("/usr/local/bin/sigtrace"), []byte(self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// settings reads the unit's Key=Value lines (no continuation lines are
// used in it) and its comments.
func settings(t *testing.T) (map[string][]string, string) {
	t.Helper()
	f, err := os.Open(unit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kv := map[string][]string{}
	var comments strings.Builder
	s := bufio.NewScanner(f)
	for s.Scan() {
		l := strings.TrimSpace(s.Text())
		if strings.HasPrefix(l, "#") {
			comments.WriteString(l + "\n")
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok {
			kv[k] = append(kv[k], v)
		}
	}
	return kv, comments.String()
}

// TestUnitHardening: the settings the recording's safety rests on are
// there, and each capability kept is explained.
func TestUnitHardening(t *testing.T) {
	kv, comments := settings(t)
	for k, want := range map[string]string{
		"ExecStart":          "/usr/local/bin/sigtrace record -w /var/lib/sigtrace",
		"ProtectSystem":      "strict",
		"ReadWritePaths":     "/var/lib/sigtrace",
		"StateDirectory":     "sigtrace",
		"StateDirectoryMode": "0700",
		"UMask":              "0077",
		"NoNewPrivileges":    "yes",
		"ProtectHome":        "yes",
		"PrivateTmp":         "yes",
		"Restart":            "on-failure",
		"WantedBy":           "multi-user.target",
	} {
		if got := kv[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
	caps := strings.Fields(strings.Join(kv["CapabilityBoundingSet"], " "))
	want := []string{"CAP_BPF", "CAP_PERFMON", "CAP_SYS_RESOURCE", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH", "CAP_SYSLOG"}
	if !slices.Equal(caps, want) {
		t.Errorf("CapabilityBoundingSet %q, want %q", caps, want)
	}
	for _, c := range caps {
		if !strings.Contains(comments, "#   "+c+" ") {
			t.Errorf("no comment says why %s is kept", c)
		}
	}
	if len(kv["AmbientCapabilities"]) != 0 || len(kv["User"]) != 0 {
		t.Errorf("the unit runs as root with a bounded set; User or AmbientCapabilities would change what it may do")
	}
}

// TestMakeInstall installs into a scratch DESTDIR: the binary, and the
// unit with its ExecStart pointing at where the binary went.
func TestMakeInstall(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("make is not installed")
		}
		t.Skip("make is not installed")
	}
	dest := t.TempDir()
	cmd := exec.Command("make", "-C", "..", "install", "DESTDIR="+dest, "PREFIX=/opt/st")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	bin, err := os.Stat(dest + "/opt/st/bin/sigtrace")
	if err != nil || bin.Mode() != 0o755 {
		t.Fatalf("installed binary: %v, %v", bin, err)
	}
	u, err := os.Stat(dest + "/opt/st/lib/systemd/system/" + unit)
	if err != nil || u.Mode() != 0o644 {
		t.Fatalf("installed unit: %v, %v", u, err)
	}
	got, _ := os.ReadFile(dest + "/opt/st/lib/systemd/system/" + unit)
	src, _ := os.ReadFile(unit)
	if want := bytes.ReplaceAll(src, []byte("/usr/local/bin/sigtrace"), []byte("/opt/st/bin/sigtrace")); !bytes.Equal(got, want) {
		t.Fatalf("installed unit differs from contrib/%s with ExecStart at /opt/st/bin:\n%s", unit, got)
	}
	out, err := exec.Command(dest+"/opt/st/bin/sigtrace", "version").CombinedOutput()
	if err != nil {
		t.Fatalf("the installed binary: %v\n%s", err, out)
	}
}
