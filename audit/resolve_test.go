package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sigtrace/sigtrace/signals"
)

// fakeProcess is one process of a fake /proc tree: the files the audit
// reads, in the kernel's formats.
type fakeProcess struct {
	pid, ppid  int
	comm       string
	argv       []string
	uid        int
	state      byte
	caught     []int
	ignored    []int
	threadsBlk [][]int // SigBlk of each thread; nil: one thread blocking nothing
	unit       string  // systemd unit: the cgroup is /system.slice/<unit>
	nsInit     bool
	kthread    bool
	start      uint64
	statusGone bool // the process exited between readdir and read
}

func maskOf(sigs []int) signals.Set {
	var s signals.Set
	for _, n := range sigs {
		s = s.With(n)
	}
	return s
}

func writeFakeProc(t testing.TB, procs []fakeProcess) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range procs {
		pd := filepath.Join(dir, fmt.Sprint(p.pid))
		must(t, os.MkdirAll(filepath.Join(pd, "task"), 0o755))
		if p.statusGone {
			continue
		}
		state := p.state
		if state == 0 {
			state = 'S'
		}
		threads := p.threadsBlk
		if threads == nil {
			threads = [][]int{nil}
		}
		nspid := fmt.Sprint(p.pid)
		if p.nsInit {
			nspid += "\t1"
		}
		status := func(blk []int) string {
			return fmt.Sprintf("Name:\t%s\nUmask:\t0022\nState:\t%c (sleeping)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n"+
				"Uid:\t%d\t%d\t%d\t%d\nGid:\t0\t0\t0\t0\nNSpid:\t%s\nThreads:\t%d\nSigQ:\t0/63448\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n"+
				"SigBlk:\t%s\nSigIgn:\t%s\nSigCgt:\t%s\nCapInh:\t0000000000000000\n",
				p.comm, state, p.pid, p.pid, p.ppid, p.uid, p.uid, p.uid, p.uid, nspid, len(threads),
				maskOf(blk), maskOf(p.ignored), maskOf(p.caught))
		}
		must(t, os.WriteFile(filepath.Join(pd, "status"), []byte(status(threads[0])), 0o644))
		for i, blk := range threads {
			td := filepath.Join(pd, "task", fmt.Sprint(p.pid+i))
			must(t, os.MkdirAll(td, 0o755))
			must(t, os.WriteFile(filepath.Join(td, "status"), []byte(status(blk)), 0o644))
		}
		must(t, os.WriteFile(filepath.Join(pd, "comm"), []byte(p.comm+"\n"), 0o644))
		var cmdline []byte
		for _, a := range p.argv {
			cmdline = append(append(cmdline, a...), 0)
		}
		must(t, os.WriteFile(filepath.Join(pd, "cmdline"), cmdline, 0o644))
		flags := 0x400100
		if p.kthread {
			flags |= pfKthread
		}
		stat := fmt.Sprintf("%d (%s) %c %d %d %d 0 -1 %d 100 0 0 0 1 1 0 0 20 0 1 0 %d 1000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
			p.pid, p.comm, state, p.ppid, p.pid, p.pid, flags, p.start)
		must(t, os.WriteFile(filepath.Join(pd, "stat"), []byte(stat), 0o644))
		cg := "/user.slice"
		if p.unit != "" {
			cg = "/system.slice/" + p.unit
		}
		must(t, os.WriteFile(filepath.Join(pd, "cgroup"), []byte("0::"+cg+"\n"), 0o644))
	}
	return dir
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const (
	sigHUP  = 1
	sigINT  = 2
	sigQUIT = 3
	sigUSR1 = 10
	sigUSR2 = 12
	sigPIPE = 13
	sigTERM = 15
)

// debianHost is a host running the daemons the debian fixture configures,
// each set up in a telling way. run/mydaemon.pid in the fixture says 4242;
// run/nginx.pid says 999999 (stale).
var debianHost = []fakeProcess{
	{pid: 1, comm: "systemd", argv: []string{"/sbin/init"}, caught: []int{sigHUP, sigUSR1, sigUSR2, sigTERM}, nsInit: true, start: 1},
	{pid: 2, comm: "dnsmasq", kthread: true, start: 1}, // a kernel thread never matches
	// No handler for anything: every sender to it is fatal.
	{pid: 4242, ppid: 1, comm: "mydaemon", argv: []string{"/usr/sbin/mydaemon", "--daemonize"}, unit: "mydaemon.service", start: 100},
	// A container's init named mydaemon: the kernel drops what it does not handle.
	{pid: 4300, ppid: 1, comm: "mydaemon", argv: []string{"mydaemon"}, nsInit: true, start: 150},
	// nginx runs, but its pidfile is stale.
	{pid: 500, ppid: 1, comm: "nginx", argv: []string{"nginx: master process /usr/sbin/nginx"}, unit: "nginx.service", caught: []int{sigHUP, sigUSR1, sigQUIT, sigTERM}, start: 110},
	{pid: 501, ppid: 500, comm: "nginx", argv: []string{"nginx: worker process"}, unit: "nginx.service", caught: []int{sigHUP, sigUSR1, sigQUIT, sigTERM}, start: 111},
	// dnsmasq blocks SIGHUP in both its threads (signalfd).
	{pid: 600, ppid: 1, comm: "dnsmasq", argv: []string{"/usr/sbin/dnsmasq", "-k"}, threadsBlk: [][]int{{sigHUP}, {sigHUP, sigUSR1}}, start: 120},
	// unbound blocks SIGHUP in one thread only: the other takes it and dies.
	{pid: 700, ppid: 1, comm: "unbound", argv: []string{"/usr/sbin/unbound", "-d"}, unit: "unbound.service", threadsBlk: [][]int{{sigHUP}, nil}, start: 130},
	{pid: 701, ppid: 700, comm: "unbound-helper", argv: []string{"unbound-helper"}, unit: "unbound.service", caught: []int{sigHUP}, start: 131},
	{pid: 800, ppid: 1, comm: "xinetd", argv: []string{"/usr/sbin/xinetd", "-dontfork"}, ignored: []int{sigUSR1}, start: 140},
	{pid: 900, ppid: 1, comm: "python3", argv: []string{"/usr/bin/python3", "/opt/app/worker.py"}, caught: []int{sigUSR1}, start: 160},
	{pid: 1000, ppid: 1, comm: "workerd", argv: []string{"/usr/local/bin/workerd"}, start: 170},
	{pid: 1001, ppid: 1, comm: "workerd", state: 'Z', start: 171}, // a zombie is nobody
	{pid: 1100, ppid: 1, comm: "notifyd", argv: []string{"/usr/bin/notifyd"}, unit: "notifyd.service", caught: []int{sigHUP}, start: 180},
	{pid: 1200, ppid: 1, comm: "otherd", argv: []string{"/usr/bin/otherd"}, unit: "otherd.service", caught: []int{sigHUP}, start: 190},
	{pid: 1300, ppid: 1, comm: "rsyslogd", argv: []string{"/usr/sbin/rsyslogd", "-n", "-iNONE"}, unit: "rsyslog.service", caught: []int{sigHUP}, start: 200},
	{pid: 1600, ppid: 1, comm: "badunit", argv: []string{"/usr/bin/badunit"}, unit: "badunit.service", start: 210},
	{pid: 1700, statusGone: true}, // exited mid-scan: skipped silently
}

func findingKey(f Finding) string {
	src := "-"
	if f.Source != nil {
		src = fmt.Sprintf("%s:%d", strings.TrimPrefix(f.Source.File, debianRoot), f.Source.Line)
	}
	sig, pid := "-", "-"
	if f.Signal != nil {
		sig = f.Signal.Name
	}
	if f.Target != nil {
		pid = fmt.Sprint(f.Target.PID)
	}
	return fmt.Sprintf("%s %s %s %s %s", f.Risk, src, sig, pid, f.Disposition)
}

func TestRunDebianFixture(t *testing.T) {
	proc := writeFakeProc(t, debianHost)
	rep, err := Run(Options{Root: debianRoot, Proc: proc})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	reasons := map[string]string{}
	for _, f := range rep.Findings {
		k := findingKey(f)
		got = append(got, k)
		reasons[k] = f.Reason
	}
	want := []string{
		// fatal first, by file and line
		"fatal /etc/cron.d/mydaemon:3 SIGUSR2 4242 default",
		"fatal /etc/cron.d/mydaemon:4 SIGHUP 4242 default", // start-stop-daemon --pidfile --name
		"fatal /etc/cron.daily/mydaemon-stats:7 SIGUSR2 4242 default",
		"fatal /etc/logrotate.d/mydaemon:7 SIGHUP 4242 default",
		"fatal /etc/logrotate.d/unbound:7 SIGHUP 700 default", // one thread does not block it
		"fatal /etc/systemd/system/otherd.service.d/override.conf:3 SIGUSR2 1200 default",
		"fatal /lib/systemd/system/mydaemon.service:9 SIGHUP 4242 default", // $MAINPID from PIDFile=
		"fatal /var/spool/cron/crontabs/root:5 SIGHUP 4242 default",        // killall -HUP mydaemon
		"fatal /var/spool/cron/crontabs/root:7 SIGTERM 1000 default",       // pgrep | xargs kill
		// unresolved
		"unresolved /etc/logrotate.d/nginx:16 SIGUSR1 - ",
		"unresolved /etc/logrotate.d/rsyslog:23 - - ",
		"unresolved /etc/logrotate.d/zz-after-broken:6 SIGUSR1 - ",
		"unresolved /etc/logrotate.d/zz-after-broken:8 - - ",
		"unresolved /etc/logrotate.d/zz-after-broken:9 - - ",
		"unresolved /lib/systemd/system/badunit.service:8 SIGUSR1 - ",
		"unresolved /lib/systemd/system/nginx.service:25 SIGQUIT - ",
		"unresolved /var/spool/cron/crontabs/root:6 - - ",
		// ok
		`ok /etc/crontab:23 SIGUSR1 900 handler`,
		"ok /etc/logrotate.d/dnsmasq:8 SIGHUP 600 blocked",
		"ok /etc/logrotate.d/unbound:7 SIGHUP 701 handler",
		"ok /etc/logrotate.d/xinetd:6 SIGUSR1 800 ignore",
		"ok /lib/systemd/system/mydaemon.service:10 SIGINT 4242 default", // KillSignal: a stop
		"ok /lib/systemd/system/notifyd.service:5 SIGHUP 1100 handler",
		"ok /var/spool/cron/crontabs/root:5 SIGHUP 4300 default", // namespace init
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	for k, frag := range map[string]string{
		"unresolved /etc/logrotate.d/nginx:16 SIGUSR1 - ":                "names PID 999999, which is not running (stale pidfile)",
		"unresolved /etc/logrotate.d/rsyslog:23 - - ":                    "invoke-rc.d rsyslog rotate: rotate is not a systemctl verb, so it runs " + debianRoot + "/etc/init.d/rsyslog rotate, which does not exist",
		"unresolved /var/spool/cron/crontabs/root:6 - - ":                "nginx.service's ExecReload= runs the program /usr/sbin/nginx",
		"unresolved /etc/logrotate.d/zz-after-broken:8 - - ":             "neither apache2.service nor " + debianRoot + "/etc/init.d/apache2 exists",
		"unresolved /etc/logrotate.d/zz-after-broken:6 SIGUSR1 - ":       "pidfile " + debianRoot + "/run/app.pid does not exist",
		"ok /lib/systemd/system/mydaemon.service:10 SIGINT 4242 default": "a stop signal",
		"ok /etc/logrotate.d/dnsmasq:8 SIGHUP 600 blocked":               "blocked in every thread",
		"ok /var/spool/cron/crontabs/root:5 SIGHUP 4300 default":         "init of its PID namespace",
	} {
		if !strings.Contains(reasons[k], frag) {
			t.Errorf("%s: reason %q does not say %q", k, reasons[k], frag)
		}
	}
	if !rep.Fatal() {
		t.Error("Fatal() = false with fatal findings")
	}
	if rep.Inactive != 0 {
		t.Errorf("Inactive = %d, want 0: every unit of the fixture runs", rep.Inactive)
	}
	// Not examined: the kernel thread, the zombie, the vanished process.
	if rep.Procs != len(debianHost)-3 {
		t.Errorf("Procs = %d, want %d", rep.Procs, len(debianHost)-3)
	}
}

func TestJudge(t *testing.T) {
	const (
		sigKILL = 9
		sigSTOP = 19
		sigCHLD = 17
	)
	plain := &Proc{PID: 10, Comm: "d"}
	handles := &Proc{PID: 11, Comm: "d", Caught: maskOf([]int{sigHUP})}
	ignores := &Proc{PID: 12, Comm: "d", Ignored: maskOf([]int{sigHUP})}
	blocks := &Proc{PID: 13, Comm: "d", Blocked: maskOf([]int{sigHUP})}
	initNS := &Proc{PID: 14, Comm: "d", NSInit: true}
	tests := []struct {
		name   string
		sig    int
		intent Intent
		p      *Proc
		disp   string
		risk   string
		reason string
	}{
		{"no handler", sigHUP, IntentNotify, plain, "default", RiskFatal, "no handler: the default action of SIGHUP is terminate"},
		{"handler", sigHUP, IntentNotify, handles, "handler", RiskOK, ""},
		{"ignored", sigHUP, IntentNotify, ignores, "ignore", RiskOK, ""},
		{"blocked everywhere", sigHUP, IntentNotify, blocks, "blocked", RiskOK, "blocked in every thread"},
		{"SIGKILL", sigKILL, IntentNotify, handles, "default", RiskFatal, "SIGKILL cannot be caught"},
		{"SIGSTOP", sigSTOP, IntentNotify, plain, "default", RiskOK, "SIGSTOP stops the process"},
		{"default ignore", sigCHLD, IntentNotify, plain, "default", RiskOK, "the default action of SIGCHLD is ignore"},
		{"stop intent", sigTERM, IntentStop, plain, "default", RiskOK, "a stop signal"},
		{"namespace init", sigHUP, IntentNotify, initNS, "default", RiskOK, "init of its PID namespace"},
		{"SIGQUIT dumps core", sigQUIT, IntentNotify, plain, "default", RiskFatal, "is core"},
	}
	for _, tt := range tests {
		f := judge(tt.sig, tt.intent, tt.p)
		if f.Disposition != tt.disp || f.Risk != tt.risk || !strings.Contains(f.Reason, tt.reason) || (tt.reason == "" && f.Reason != "") {
			t.Errorf("%s: disposition %q risk %q reason %q; want %q %q %q", tt.name, f.Disposition, f.Risk, f.Reason, tt.disp, tt.risk, tt.reason)
		}
	}
}

// TestJudgeGo: a Go program's handler is the runtime's; the verdict
// follows the notify mask when it is known, and is never ok for a signal
// the runtime kills on when it is not.
func TestJudgeGo(t *testing.T) {
	goProc := func(wanted []int, err error) *Proc {
		return &Proc{PID: 20, Comm: "goapp", Caught: maskOf([]int{sigHUP, sigINT, sigQUIT, sigUSR1, sigTERM}),
			goRead: true, goProg: &goProgram{version: "go1.22.1", wanted: maskOf(wanted), err: err}}
	}
	stripped := errors.New("its executable has no symbol table (built with -ldflags=-s or stripped)")
	tests := []struct {
		name       string
		sig        int
		intent     Intent
		p          *Proc
		risk       string
		notify     string
		unnotified string
		reason     string
	}{
		{"asked for SIGHUP", sigHUP, IntentNotify, goProc([]int{sigHUP}, nil), RiskOK, "true", "exit", "asked for SIGHUP with signal.Notify"},
		{"SIGHUP without Notify", sigHUP, IntentNotify, goProc([]int{sigUSR1}, nil), RiskFatal, "false", "exit", "dieFromSignal"},
		{"SIGTERM without Notify", sigTERM, IntentNotify, goProc(nil, nil), RiskFatal, "false", "exit", "raises it again"},
		{"SIGQUIT without Notify", sigQUIT, IntentNotify, goProc(nil, nil), RiskFatal, "false", "crash", "exits with status 2"},
		{"SIGUSR1 without Notify", sigUSR1, IntentNotify, goProc(nil, nil), RiskOK, "false", "discard", "discards it"},
		{"stripped: SIGHUP", sigHUP, IntentNotify, goProc(nil, stripped), RiskUnresolved, "-", "exit", "fatal unless it calls signal.Notify(SIGHUP)"},
		{"stripped: SIGUSR1 survives either way", sigUSR1, IntentNotify, goProc(nil, stripped), RiskOK, "-", "discard", "survives either way"},
		{"stripped: a stop signal", sigTERM, IntentStop, goProc(nil, stripped), RiskOK, "-", "exit", "a stop signal"},
	}
	for _, tt := range tests {
		f := judge(tt.sig, tt.intent, tt.p)
		notify := "-"
		if f.Go != nil && f.Go.Notify != nil {
			notify = fmt.Sprint(*f.Go.Notify)
		}
		if f.Go == nil || f.Risk != tt.risk || notify != tt.notify || f.Go.Unnotified != tt.unnotified ||
			f.Go.Version != "go1.22.1" || !strings.Contains(f.Reason, tt.reason) {
			t.Errorf("%s: risk %q go %+v notify %s reason %q; want %q %s %s %q", tt.name, f.Risk, f.Go, notify, f.Reason, tt.risk, tt.notify, tt.unnotified, tt.reason)
		}
	}
	// Not a Go program: no go object.
	if f := judge(sigHUP, IntentNotify, &Proc{PID: 21, Caught: maskOf([]int{sigHUP}), goRead: true}); f.Go != nil || f.Risk != RiskOK {
		t.Errorf("C program with a handler: %+v", f)
	}
}
