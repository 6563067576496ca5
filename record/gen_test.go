package record

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// genLines makes n lines of a server's steady background as `trace -o
// json` renders it (the shapes of output/testdata/events.json.golden and
// of the README's examples): a Go service preempting its own threads with
// SIGURG, SIGCHLD from the kernel to shells, cron and sshd as their
// children exit, a profiler's SIGPROF, the occasional kill, SIGPIPE, an
// exit. Times advance by a few ms; pids and tids vary as they would.
// The same seed gives the same lines, so sizes can be compared.
func genLines(n int, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 1))
	t := time.Date(2026, 12, 2, 5, 30, 0, 0, time.UTC)
	child := 20000
	lines := make([][]byte, 0, n)
	ts := func() string {
		t = t.Add(time.Duration(r.IntN(5_000_000)) + 1000)
		return t.Format(time.RFC3339Nano)
	}
	goapps := []struct {
		pid  int
		comm string
		argv string
	}{
		{1201, "api-server", `["/usr/local/bin/api-server","--config","/etc/api/config.yaml"]`},
		{1377, "prometheus", `["/usr/bin/prometheus","--config.file=/etc/prometheus/prometheus.yml","--storage.tsdb.path=/var/lib/prometheus"]`},
		{988, "containerd", `["/usr/bin/containerd"]`},
	}
	parents := []struct {
		pid  int
		comm string
	}{{812, "cron"}, {1502, "bash"}, {900, "sshd"}, {1, "systemd"}, {1640, "node_exporter"}}
	for len(lines) < n {
		k := r.IntN(100)
		switch {
		case k < 50: // Go preemption: self-sent SIGURG, handled, then delivered
			g := goapps[r.IntN(len(goapps))]
			tid := g.pid + 1 + r.IntN(40)
			lines = append(lines, fmt.Appendf(nil, `{"time":"%s","type":"generate","signal":{"num":23,"name":"SIGURG"},"code":"SI_TKILL","sender":{"pid":%d,"tid":%d,"comm":"%s","uid":0,"argv":%s,"ancestry":[{"pid":1,"comm":"systemd"}]},"target":{"pid":%d,"tid":%d,"comm":"%s","uid":0},"scope":"thread","result":"delivered","disposition":"handler","handler":"0x47dd00","default_action":"ignore","blocked":false,"send_syscall":{"nr":234,"name":"tgkill"},"verdict":"handled","fatal":false,"unprepared":false}`+"\n",
				ts(), g.pid, g.pid+1+r.IntN(40), g.comm, g.argv, g.pid, tid, g.comm))
			lines = append(lines, fmt.Appendf(nil, `{"time":"%s","type":"deliver","signal":{"num":23,"name":"SIGURG"},"code":"SI_TKILL","target":{"pid":%d,"tid":%d,"comm":"%s","uid":0},"disposition":"handler","handler":"0x47dd00","flags":["SA_SIGINFO","SA_ONSTACK","SA_RESTART"],"latency_ns":%d}`+"\n",
				ts(), g.pid, tid, g.comm, 2000+r.IntN(50000)))
		case k < 80: // a child exits: SIGCHLD from the kernel to its parent
			p := parents[r.IntN(len(parents))]
			child += 1 + r.IntN(7)
			lines = append(lines, fmt.Appendf(nil, `{"time":"%s","type":"generate","signal":{"num":17,"name":"SIGCHLD"},"code":"CLD_EXITED","sender":{"kernel":true,"reason":"child exited"},"target":{"pid":%d,"tid":%d,"comm":"%s","uid":0},"scope":"process","result":"delivered","disposition":"handler","handler":"0x55e3a1b2c3d0","default_action":"ignore","blocked":false,"verdict":"handled","fatal":false,"unprepared":false,"child":{"pid":%d}}`+"\n",
				ts(), p.pid, p.pid, p.comm, child))
		case k < 92: // a profiler's timer
			lines = append(lines, fmt.Appendf(nil, `{"time":"%s","type":"generate","signal":{"num":27,"name":"SIGPROF"},"code":"SI_KERNEL","sender":{"kernel":true,"reason":"profiling timer expired (ITIMER_PROF)"},"target":{"pid":1377,"tid":%d,"comm":"prometheus","uid":65534},"scope":"process","result":"delivered","disposition":"handler","handler":"0x47dd00","default_action":"terminate","blocked":false,"verdict":"handled","fatal":false,"unprepared":false}`+"\n",
				ts(), 1378+r.IntN(30)))
		case k < 97: // an operator's or a script's kill
			child += 1 + r.IntN(7)
			lines = append(lines, fmt.Appendf(nil, `{"time":"%s","type":"generate","signal":{"num":15,"name":"SIGTERM"},"code":"SI_USER","sender":{"pid":%d,"tid":%d,"comm":"kill","uid":1000,"argv":["kill","-TERM","%d"],"ancestry":[{"pid":1502,"comm":"bash"},{"pid":1501,"comm":"sshd"},{"pid":900,"comm":"sshd"},{"pid":1,"comm":"systemd"}]},"target":{"pid":%d,"tid":%d,"comm":"worker","uid":1000},"scope":"process","result":"delivered","disposition":"default","default_action":"terminate","blocked":false,"send_syscall":{"nr":62,"name":"kill"},"verdict":"fatal","fatal":true,"unprepared":true}`+"\n",
				ts(), child, child, child-3, child-3, child-3))
		case k < 99: // SIGPIPE from a write to a closed pipe
			child += 1 + r.IntN(7)
			lines = append(lines, fmt.Appendf(nil, `{"time":"%s","type":"generate","signal":{"num":13,"name":"SIGPIPE"},"code":"SI_USER","sender":{"kernel":true,"reason":"write to a pipe with no reader"},"target":{"pid":%d,"tid":%d,"comm":"grep","uid":0},"scope":"thread","result":"delivered","disposition":"default","default_action":"terminate","blocked":false,"verdict":"fatal","fatal":true,"unprepared":true}`+"\n",
				ts(), child, child))
		default: // a death with its killer
			child += 1 + r.IntN(7)
			lines = append(lines, fmt.Appendf(nil, `{"time":"%s","type":"exit","signal":{"num":15,"name":"SIGTERM"},"target":{"pid":%d,"tid":%d,"comm":"worker","uid":1000},"core_dumped":false,"code":"SI_USER","killer":{"pid":%d,"tid":%d,"comm":"kill","uid":1000,"argv":["kill","-TERM","%d"],"ancestry":[{"pid":1502,"comm":"bash"},{"pid":1501,"comm":"sshd"},{"pid":900,"comm":"sshd"},{"pid":1,"comm":"systemd"}]},"disposition":"default","default_action":"terminate"}`+"\n",
				ts(), child, child, child+2, child+2, child))
		}
	}
	return lines[:n]
}
