// Package smoke is the sanity check of the kernel-matrix guests
// (kernels/test-kernels.sh): it proves that a guest has what the integration
// tests rely on (kernel BTF with the tracepoints sigtrace attaches to, a
// working BPF syscall with ring buffers, the busybox tools, signals) before
// their results are trusted. It loads no sigtrace code and passes on the
// host as well.
package smoke

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// inGuest reports whether this runs inside a kernel-matrix guest.
func inGuest() bool { return os.Getenv("SIGTRACE_GUEST") == "1" }

// needRoot fails under CI (where the suite must run privileged) and skips
// otherwise: loading BPF needs root or CAP_BPF.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("needs root (CAP_BPF) and CI=true forbids skipping")
	}
	t.Skip("needs root (CAP_BPF): run as root")
}

func TestKernelBTF(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Fatalf("no kernel BTF (CONFIG_DEBUG_INFO_BTF): %v", err)
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatalf("load kernel BTF: %v", err)
	}
	// tp_btf programs attach through these typedefs; the fields are what
	// the tracer reads with CO-RE.
	for _, name := range []string{
		"btf_trace_signal_generate",
		"btf_trace_signal_deliver",
		"btf_trace_sched_process_exit",
	} {
		if _, err := spec.AnyTypeByName(name); err != nil {
			t.Errorf("kernel BTF lacks %s: %v", name, err)
		}
	}
	var task *btf.Struct
	if err := spec.TypeByName("task_struct", &task); err != nil {
		t.Fatalf("kernel BTF lacks struct task_struct: %v", err)
	}
	fields := map[string]bool{}
	for _, m := range task.Members {
		fields[m.Name] = true
	}
	for _, f := range []string{"pid", "tgid", "comm", "sighand", "signal", "blocked", "real_parent"} {
		if !fields[f] {
			t.Errorf("struct task_struct has no field %q", f)
		}
	}
}

// TestRingbuf loads a socket filter that writes one record into a BPF ring
// buffer, runs it with BPF_PROG_TEST_RUN and reads the record back: the
// verifier, the ring buffer (5.8+) and its reader all work.
func TestRingbuf(t *testing.T) {
	needRoot(t)
	rb, err := ebpf.NewMap(&ebpf.MapSpec{Name: "smoke_rb", Type: ebpf.RingBuf, MaxEntries: 4096})
	if err != nil {
		t.Fatalf("create ring buffer map: %v", err)
	}
	defer rb.Close()

	const magic = 0x5349475452414345 // "SIGTRACE"
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:    "smoke_rb",
		Type:    ebpf.SocketFilter,
		License: "GPL",
		Instructions: asm.Instructions{
			asm.LoadImm(asm.R6, magic, asm.DWord),
			asm.StoreMem(asm.RFP, -8, asm.R6, asm.DWord),
			asm.LoadMapPtr(asm.R1, rb.FD()),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -8),
			asm.Mov.Imm(asm.R3, 8),
			asm.Mov.Imm(asm.R4, 0),
			asm.FnRingbufOutput.Call(),
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		},
	})
	if err != nil {
		t.Fatalf("load program: %v", err)
	}
	defer prog.Close()

	rd, err := ringbuf.NewReader(rb)
	if err != nil {
		t.Fatalf("ring buffer reader: %v", err)
	}
	defer rd.Close()

	if _, err := prog.Run(&ebpf.RunOptions{Data: make([]byte, 64)}); err != nil {
		t.Fatalf("BPF_PROG_TEST_RUN: %v", err)
	}
	rd.SetDeadline(time.Now().Add(10 * time.Second))
	rec, err := rd.Read()
	if err != nil {
		t.Fatalf("read ring buffer: %v", err)
	}
	if len(rec.RawSample) != 8 || binary.NativeEndian.Uint64(rec.RawSample) != magic {
		t.Fatalf("ring buffer record = %x, want %x", rec.RawSample, uint64(magic))
	}
}

// TestTools runs the tools the integration tests may use as helpers.
func TestTools(t *testing.T) {
	for _, tool := range []string{"sh", "cat", "head", "yes", "sleep", "kill", "killall", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Errorf("%s not in PATH (%s): %v", tool, os.Getenv("PATH"), err)
		}
	}
	out, err := exec.Command("sh", "-c", "yes | head -n 3 | cat").Output()
	if err != nil || string(out) != "y\ny\ny\n" {
		t.Errorf("sh -c 'yes | head -n 3 | cat' = %q, %v", out, err)
	}
}

// TestSignal kills a child with SIGHUP (it has no handler) and checks that
// it died of it: the scenario sigtrace exists for.
func TestSignal(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("sleep after SIGHUP: %v, want death by signal", err)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGHUP {
		t.Fatalf("sleep after SIGHUP: %v, want killed by SIGHUP", ws)
	}
}

// TestGuestMounts checks the guest's /init set up what the tracer needs.
// On the host it only checks that /tmp is writable.
func TestGuestMounts(t *testing.T) {
	f, err := os.CreateTemp("", "smoke")
	if err != nil {
		t.Fatalf("temp dir not writable: %v", err)
	}
	f.Close()
	os.Remove(f.Name())
	if !inGuest() {
		t.Log("not in a kernel-matrix guest: mount checks are for guests")
		return
	}
	for path, magic := range map[string]int64{
		"/proc":       unix.PROC_SUPER_MAGIC,
		"/sys":        unix.SYSFS_MAGIC,
		"/sys/fs/bpf": unix.BPF_FS_MAGIC,
		"/tmp":        unix.TMPFS_MAGIC,
		"/dev":        unix.TMPFS_MAGIC, // devtmpfs reports tmpfs' magic
	} {
		var st unix.Statfs_t
		if err := unix.Statfs(path, &st); err != nil {
			t.Errorf("statfs %s: %v", path, err)
		} else if int64(st.Type) != magic {
			t.Errorf("%s: filesystem type %#x, want %#x", path, st.Type, magic)
		}
	}
	cmdline, _ := os.ReadFile("/proc/cmdline")
	if !bytes.Contains(cmdline, []byte("console=")) {
		t.Errorf("/proc/cmdline %q has no console=", strings.TrimSpace(string(cmdline)))
	}
}
