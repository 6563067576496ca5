package tracer

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/sigtrace/sigtrace/signals"
)

// History chooses which disposition changes a tracer reports
// (Options.History): what a process set up to do with a signal, changed.
type History uint8

const (
	// HistoryOff: none; the programs are not attached.
	HistoryOff History = iota
	// HistoryFatal: a change that leaves a signal whose default action
	// kills fatal to the process (a handler or SIG_IGN replaced by
	// SIG_DFL, by sigaction, an exec or SA_RESETHAND), except a vfork
	// child's between its spawn and its exec.
	HistoryFatal
	// HistoryAll: every change of any signal (installing a handler,
	// ignoring, flags), vfork children's too.
	HistoryAll
)

// coreProgs are the programs every kernel with BTF loads. The sigaction
// program needs a trampoline (fentry) or a kprobe, which some kernels do
// not allow: it is loaded apart, so that its absence costs only the
// sigaction part of disposition history.
type coreProgs struct {
	OnGenerate   *ebpf.Program `ebpf:"on_generate"`
	OnDeliver    *ebpf.Program `ebpf:"on_deliver"`
	OnExit       *ebpf.Program `ebpf:"on_exit"`
	OnExecRename *ebpf.Program `ebpf:"on_exec_rename"`
}

// loadObjects loads the maps and the core programs into objs, and, when
// history is wanted, one of the sigaction programs: fentry where the
// kernel allows trampolines, else a kprobe. It returns why neither could
// be had ("" when one loaded), and how to load the kprobe one later: a
// kernel may load an fentry program and refuse to attach it (Debian's
// 6.1 arm64 has no trampolines: "create raw tracepoint: not supported").
func loadObjects(spec *ebpf.CollectionSpec, objs *sigtraceObjects, history History, debug bool) (string, func() (*ebpf.Program, error), error) {
	var core struct {
		sigtraceMaps
		sigtraceVariables
		coreProgs
	}
	if err := spec.LoadAndAssign(&core, nil); err != nil {
		return "", nil, explainLoad(err, debug)
	}
	objs.sigtraceMaps = core.sigtraceMaps
	objs.sigtraceVariables = core.sigtraceVariables
	objs.OnGenerate, objs.OnDeliver, objs.OnExit, objs.OnExecRename = core.OnGenerate, core.OnDeliver, core.OnExit, core.OnExecRename
	if history == HistoryOff {
		return "", nil, nil
	}
	// The sigaction program writes into the same ring and reads the same
	// filter maps: hand it the loaded ones.
	repl := mapsByName(&objs.sigtraceMaps)
	load := func(name string) (*ebpf.Program, error) {
		sub := spec.Copy()
		ps := sub.Programs[name]
		if ps == nil {
			return nil, fmt.Errorf("BPF object has no program %s", name)
		}
		sub.Programs = map[string]*ebpf.ProgramSpec{name: ps}
		coll, err := ebpf.NewCollectionWithOptions(sub, ebpf.CollectionOptions{MapReplacements: repl})
		if err != nil {
			return nil, err
		}
		p := coll.DetachProgram(name)
		coll.Close()
		return p, nil
	}
	loadKprobe := func() (*ebpf.Program, error) {
		if !HaveKprobes() {
			return nil, errNoKprobes
		}
		return load(sigtraceProgOnSigactionKprobe)
	}
	p, ferr := load(sigtraceProgOnSigactionFentry)
	if ferr == nil {
		objs.OnSigactionFentry = p
		return "", loadKprobe, nil
	}
	p, kerr := loadKprobe()
	if kerr != nil {
		return sigactionUnavailable(ferr, kerr), nil, nil
	}
	objs.OnSigactionKprobe = p
	return "", nil, nil
}

var errNoKprobes = errors.New("this kernel has no kprobes")

// sigactionUnavailable says in one line why sigaction changes cannot be
// seen.
func sigactionUnavailable(fentry, kprobe error) string {
	return fmt.Sprintf("this kernel refuses trampoline programs (fentry on do_sigaction: %s) and %s",
		firstLine(fentry), kprobeReason(kprobe))
}

func kprobeReason(err error) string {
	if errors.Is(err, errNoKprobes) {
		return "has no kprobes"
	}
	return "a kprobe on do_sigaction failed: " + firstLine(err)
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	// cilium/ebpf adds this hint to every EPERM; here the memlock limit
	// is already lifted, and the kernel refuses the program type.
	s, _, _ = strings.Cut(s, " (MEMLOCK may be too low")
	return s
}

// HaveKprobes reports whether the kernel can attach kprobes without
// tracefs: its perf event source for them (kernel/trace/trace_kprobe.c,
// CONFIG_KPROBE_EVENTS), which cilium/ebpf uses first.
func HaveKprobes() bool {
	_, err := os.Stat("/sys/bus/event_source/devices/kprobe/type")
	return err == nil
}

// mapsByName indexes the loaded maps by their names in the object.
func mapsByName(m *sigtraceMaps) map[string]*ebpf.Map {
	out := map[string]*ebpf.Map{}
	v := reflect.ValueOf(m).Elem()
	for i := 0; i < v.NumField(); i++ {
		if name := v.Type().Field(i).Tag.Get("ebpf"); name != "" {
			if mp, ok := v.Field(i).Interface().(*ebpf.Map); ok && mp != nil {
				out[name] = mp
			}
		}
	}
	return out
}

// attachHistory attaches the disposition programs that loaded.
func (t *Tracer) attachHistory() error {
	l, err := link.AttachTracing(link.TracingOptions{Program: t.objs.OnExecRename})
	if err != nil {
		return explainAttach("task_rename", err)
	}
	t.links = append(t.links, l)
	if t.objs.OnSigactionFentry != nil {
		l, err := link.AttachTracing(link.TracingOptions{Program: t.objs.OnSigactionFentry})
		if err == nil {
			t.links = append(t.links, l)
			return nil
		}
		// Loaded, not attachable: a kernel without trampolines. The
		// kprobe then, if it has kprobes.
		_ = t.objs.OnSigactionFentry.Close()
		t.objs.OnSigactionFentry = nil
		ferr := fmt.Errorf("attaching: %w", err)
		if t.loadKprobe == nil {
			t.historyGap = sigactionUnavailable(ferr, errNoKprobes)
			return nil
		}
		p, kerr := t.loadKprobe()
		if kerr != nil {
			t.historyGap = sigactionUnavailable(ferr, kerr)
			return nil
		}
		t.objs.OnSigactionKprobe = p
		if l, err := link.Kprobe("do_sigaction", p, nil); err != nil {
			t.historyGap = sigactionUnavailable(ferr, err)
		} else {
			t.links = append(t.links, l)
		}
		return nil
	}
	if t.objs.OnSigactionKprobe == nil {
		return nil
	}
	l, err = link.Kprobe("do_sigaction", t.objs.OnSigactionKprobe, nil)
	if err != nil {
		// Loaded but not attachable: tracing goes on without it.
		t.historyGap = "a kprobe on do_sigaction failed: " + firstLine(err)
		return nil
	}
	t.links = append(t.links, l)
	return nil
}

// HistoryGap says why disposition changes made by sigaction are not seen
// ("" when they are, or when history is off). Exec and SA_RESETHAND
// resets are seen on every kernel.
func (t *Tracer) HistoryGap() string { return t.historyGap }

// historyMask is the watched set (bit sig-1): the signals whose default
// action kills, or all of them with HistoryAll, within the trace's signal
// filter (0: every signal).
func historyMask(h History, filter uint64) uint64 {
	var m uint64
	for sig := 1; sig <= 64; sig++ {
		if h == HistoryAll || signals.DefaultAction(sig).Kills() {
			m |= 1 << (sig - 1)
		}
	}
	if filter != 0 {
		m &= filter
	}
	return m
}
