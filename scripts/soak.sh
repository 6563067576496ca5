#!/bin/sh
# scripts/soak.sh: the tracer under a long storm (issue 19, item 6). Not in
# make test: it takes SOAK_DURATION seconds (default 600) and needs root.
#
# While `bin/sigtrace trace -o json >/dev/null` runs, it keeps up
#   - a signal storm: bench/storm, its ign, pingpong and tgkill workloads
#     in turn (SIGUSR1 as fast as one CPU allows),
#   - ordinary signals: SIGHUP, SIGUSR1, SIGTERM, SIGINT to short-lived
#     processes that catch, ignore or die of them,
#   - process churn: short-lived processes started as fast as a shell can,
#     so pids are reused and the tracer's per-process caches turn over;
# and samples the tracer every SOAK_INTERVAL seconds (default 5) from
# /proc/PID: VmRSS, VmHWM (the kernel's peak RSS), Threads, open fds. The
# tracer runs with --debug, which at exit says how many goroutines it had
# then and at most at any poll deadline (Threads is sampled too). At the
# end it stops the tracer with SIGINT and reads the lost events and the
# goroutines from its stderr.
#
# It fails (exit 1) when the peak RSS passes SOAK_RSS_MAX_MIB (default
# 128: the 16 MiB ring the reader maps, Go's heap for the caches, and
# room; a leak under churn passes it within minutes), when the open fds
# grow by more than 16 over the run (each attached program holds its fds
# from the start: more later is a leak), or when the tracer does not exit
# 0 on SIGINT. Figures go to stdout, samples to $SOAK_DIR/samples.tsv.
set -eu
cd "$(dirname "$0")/.."

DURATION=${SOAK_DURATION:-600}
INTERVAL=${SOAK_INTERVAL:-5}
RSS_MAX_MIB=${SOAK_RSS_MAX_MIB:-128}
DIR=${SOAK_DIR:-$(mktemp -d /tmp/sigtrace-soak.XXXXXX)}
mkdir -p "$DIR"

if [ "$(id -u)" != 0 ]; then
	echo "soak: needs root (the tracer loads BPF programs)" >&2
	exit 2
fi

CGO_ENABLED=0 ${GO:-go} build -o bin/sigtrace ./cmd/sigtrace
${GO:-go} build -o "$DIR/storm" ./bench/storm

pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	[ -n "${tracer:-}" ] && kill -INT "$tracer" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

./bin/sigtrace trace -o json --debug >/dev/null 2>"$DIR/tracer.stderr" &
tracer=$!
# Ready when it says so on stderr (SPEC: "Tracing signals..."), not
# after a guess at how long attaching takes.
i=0
until grep -q '^Tracing signals' "$DIR/tracer.stderr"; do
	if ! kill -0 "$tracer" 2>/dev/null; then
		echo "soak: the tracer did not start:" >&2
		cat "$DIR/tracer.stderr" >&2
		exit 1
	fi
	i=$((i + 1))
	if [ $i -gt 600 ]; then
		echo "soak: the tracer did not attach in 60 s" >&2
		exit 1
	fi
	sleep 0.1
done

end=$(($(date +%s) + DURATION))

# The storm: each workload for 20 s at a time (less at the end), until
# the end.
(
	while :; do
		for w in ign pingpong tgkill; do
			left=$((end - $(date +%s)))
			[ "$left" -le 0 ] && exit 0
			[ "$left" -gt 20 ] && left=20
			"$DIR/storm" -d "${left}s" "$w" >>"$DIR/storm.out" 2>&1 || true
		done
	done
) &
pids="$pids $!"

# Ordinary signals: a process that handles, one that ignores, one that
# dies of each of them.
(
	while [ "$(date +%s)" -lt "$end" ]; do
		for s in HUP USR1 TERM INT; do
			sh -c "trap 'exit 0' $s; sleep 1 & wait" &
			h=$!
			sh -c "trap '' $s; sleep 0.2" &
			g=$!
			sleep 5 &
			d=$!
			sleep 0.05
			kill -s "$s" "$h" "$g" "$d" 2>/dev/null || true
			wait "$h" "$g" "$d" 2>/dev/null || true
		done
	done
) &
pids="$pids $!"

# Process churn: short-lived processes, some of them killed.
(
	while [ "$(date +%s)" -lt "$end" ]; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done
		sleep 10 &
		kill -KILL $! 2>/dev/null || true
	done
) &
pids="$pids $!"

status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$tracer/status"; }
fds() { ls "/proc/$tracer/fd" | wc -l; }

printf 'elapsed_s\trss_kib\thwm_kib\tthreads\tfds\n' >"$DIR/samples.tsv"
start=$(date +%s)
fd0=$(fds)
max_rss=0 max_threads=0 max_fds=0 rss_first=""
while [ "$(date +%s)" -lt "$end" ]; do
	if ! kill -0 "$tracer" 2>/dev/null; then
		echo "soak: FAIL: the tracer died during the soak:" >&2
		cat "$DIR/tracer.stderr" >&2
		exit 1
	fi
	rss=$(status VmRSS) hwm=$(status VmHWM) thr=$(status Threads) fd=$(fds)
	printf '%s\t%s\t%s\t%s\t%s\n' "$(($(date +%s) - start))" "$rss" "$hwm" "$thr" "$fd" >>"$DIR/samples.tsv"
	[ -z "$rss_first" ] && [ "$(($(date +%s) - start))" -ge 60 ] && rss_first=$rss
	[ "$rss" -gt "$max_rss" ] && max_rss=$rss
	[ "$thr" -gt "$max_threads" ] && max_threads=$thr
	[ "$fd" -gt "$max_fds" ] && max_fds=$fd
	sleep "$INTERVAL"
done
hwm=$(status VmHWM) rss_end=$(status VmRSS) fd_end=$(fds) thr_end=$(status Threads)

for p in $pids; do wait "$p" 2>/dev/null || true; done
pids=""
kill -INT "$tracer"
rc=0
wait "$tracer" || rc=$?
tracer=""

after1="(not reached)"
[ -n "$rss_first" ] && after1="$((rss_first / 1024)) MiB"
signals=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^signals=/) { sub("signals=", "", $i); n += $i } } END { print n + 0 }' "$DIR/storm.out")
lost=$(sed -n 's/^sigtrace: \([0-9]*\) events lost.*/\1/p' "$DIR/tracer.stderr")

echo "soak: ${DURATION} s; storm signals sent: $signals"
echo "soak: RSS peak (VmHWM) $((hwm / 1024)) MiB, sampled max $((max_rss / 1024)) MiB, after 1 min $after1, at the end $((rss_end / 1024)) MiB (bound ${RSS_MAX_MIB} MiB)"
echo "soak: threads max $max_threads, at the end $thr_end; open fds at start $fd0, max $max_fds, at the end $fd_end"
gor=$(sed -n 's/^sigtrace: goroutines: //p' "$DIR/tracer.stderr")
echo "soak: goroutines: ${gor:-(not reported)}"
echo "soak: lost events: ${lost:-0}; tracer exit status $rc"
echo "soak: samples in $DIR/samples.tsv, tracer stderr in $DIR/tracer.stderr"

fail=0
if [ "$hwm" -gt $((RSS_MAX_MIB * 1024)) ]; then
	echo "soak: FAIL: peak RSS $((hwm / 1024)) MiB is over the bound of $RSS_MAX_MIB MiB" >&2
	fail=1
fi
if [ "$fd_end" -gt $((fd0 + 16)) ]; then
	echo "soak: FAIL: open fds grew from $fd0 to $fd_end" >&2
	fail=1
fi
if [ "$rc" != 0 ]; then
	echo "soak: FAIL: the tracer exited $rc on SIGINT:" >&2
	cat "$DIR/tracer.stderr" >&2
	fail=1
fi
exit $fail
