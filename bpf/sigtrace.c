// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sigtrace: who sent which signal to whom, and what the receiver was set up
 * to do with it. CO-RE only: every kernel struct access is relocated against
 * the running kernel's BTF, so one object runs from 5.8 to today. */
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_core_read.h"
#include "bpf_tracing.h"
#include "sigtrace.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Anchors so the record types and enums are in the object's BTF, which is
 * where bpf2go -type generates the Go types from. */
const struct event_full *unused_event_full __attribute__((unused));
const struct exit_record *unused_exit_record __attribute__((unused));
const enum event_type unused_event_type __attribute__((unused));
const enum event_flags unused_event_flags __attribute__((unused));
const enum stat_index unused_stat_index __attribute__((unused));
const enum limits unused_limits __attribute__((unused));
const enum pid_bits unused_pid_bits __attribute__((unused));
const enum uid_bits unused_uid_bits __attribute__((unused));
const enum default_spares unused_default_spares __attribute__((unused));
const enum count_fields unused_count_fields __attribute__((unused));
const enum rate_limits unused_rate_limits __attribute__((unused));
const struct count_key *unused_count_key __attribute__((unused));
const struct disp_record *unused_disp_record __attribute__((unused));
const enum disp_cause unused_disp_cause __attribute__((unused));

/* Kernel-side filters, set by the loader before the program is verified so
 * the JIT drops the checks that are off. A filtered-out signal costs no
 * ring-buffer reservation and no copy. */
const volatile __u64 filter_sigmask = 0;     /* bit sig-1; 0 = every signal */
const volatile __u8 filter_sender_pids = 0;  /* sender tgid must be in pid_filter with PID_SENDER */
const volatile __u8 filter_target_pids = 0;  /* target tgid must be in pid_filter with PID_TARGET */
const volatile __u8 filter_any_pids = 0;     /* sender or target tgid in pid_filter with PID_ANY */
const volatile __u8 filter_comms = 0;        /* sender or target comm in comm_filter */
const volatile __u8 filter_sender_uids = 0;  /* sender uid must be in uid_filter with UID_SENDER */
const volatile __u8 filter_target_uids = 0;  /* target uid must be in uid_filter with UID_TARGET */
const volatile __u8 want_deliver = 1;        /* emit deliver events */
const volatile __u8 want_exit = 1;           /* emit exit events */
const volatile __u8 want_generate = 1;       /* emit generate events (off only with want_exit off: exits join their killer from them) */
/* sched_process_exit gained a group_dead argument in recent kernels; the
 * loader looks at the kernel's BTF (btf_trace_sched_process_exit) and says
 * whether ctx[1] holds it. Without it, signal->live has already dropped to
 * zero for the last thread by the time the tracepoint fires (do_exit()). */
const volatile __u8 exit_has_group_dead = 0;
/* The tracer's own process: signals it sends itself are dropped. Go's
 * runtime preempts a goroutine that runs for 10 ms with tgkill(SIGURG) to
 * its own thread, so a busy tracer would otherwise report its own
 * scheduling. Signals others send it are kept. 0: keep everything. */
const volatile __u32 self_tgid = 0;
/* Kernel text ranges [start, end) of the functions through which the OOM
 * killer sends its SIGKILL (mm/oom_kill.c: __oom_kill_process,
 * oom_kill_process), from /proc/kallsyms; zero when unknown. The kill is
 * sent before mark_oom_victim() and its tracepoint, so at signal_generate
 * the sending code itself, on current's kernel stack, is the evidence. */
const volatile __u64 oom_text[OOM_RANGES * 2] = {};
/* Counting instead of tracing: the count_fields to count generate events
 * by, in the counts map; no record goes to the ring. 0: trace. */
const volatile __u32 count_keys = 0;
/* Wake a busy reader once this much is unread (see wakeup_flags). */
const volatile __u64 wakeup_bytes = 1 << 20;
/* Room kept in the ring for the records that say a process dies: a
 * signal that kills now, its delivery, the exit (vital records). Any
 * other record is shed (STAT_SHED) once less than ring_reserve bytes would
 * be left free, so a storm of ignored or handled signals from any user,
 * behind a slow reader, cannot crowd out the kill the user is looking for.
 * Within the reserve each uid may use reserve_per_uid bytes per second
 * (STAT_SHED_VITAL beyond), so one user killing its own processes in a
 * loop cannot use it all either. ring_bytes is the ring's size; 0 for
 * ring_reserve: no reserve. */
const volatile __u64 ring_bytes = 8 << 20;
const volatile __u64 ring_reserve = 0;
const volatile __u64 reserve_per_uid = 0;

/* A sender's detail (ancestry and argv) is sent once, then referred to
 * (F_DETAIL_SAME) while the same process on the same CPU keeps signalling,
 * for at most this long: copying pkill's argv from user memory is the
 * dearest part of a generate event (~400 ns of ~1 us). 0: always send. */
const volatile __u64 detail_ttl_ns = 1000000000ULL;
/* Repeated traffic: per rate_key, a burst of rate_burst events, then one
 * per rate_interval_ns, are copied in full; the rest are only counted in
 * rate_keys (userspace writes the counts as count records). A generic
 * cell rate algorithm: one timestamp per key. 0: every event copied. Never
 * applied to a signal that may kill, nor to a vital delivery. */
const volatile __u64 rate_interval_ns = 0;
const volatile __u64 rate_burst = 0;
/* Disposition history: want_disp attaches the programs; disp_sigmask
 * (bit sig-1) is the watched set (by default the signals whose default
 * action kills, within the trace's signal filter). Unless disp_all, only
 * a change that leaves a watched signal fatal is reported (a handler or
 * SIG_IGN replaced by SIG_DFL), and not a vfork child's: Go's and glibc's
 * process spawning reset every handler in the child just before its exec
 * (runtime clearSignalHandlers, posix_spawn), which the exec would do
 * anyway. disp_all: every change of any watched signal. */
const volatile __u8 want_disp = 0;
const volatile __u8 disp_all = 0;
const volatile __u64 disp_sigmask = 0;


struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the loader */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} pid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_RATE_KEYS);
	__type(key, struct rate_key);
	__type(value, struct rate_val);
} rate_keys SEC(".maps");

/* Which pending signals were summarised when sent, per queue: the
 * target's thread (tid, group 0) or its process's shared queue (tgid,
 * group 1), and signal. The delivery of such a signal is summarised too,
 * and only then, so that a delivery in full always answers a generate in
 * full (the reader joins the two for latency_ns). A standard signal has
 * one instance per queue. Set by an update and taken by a delete, whose
 * result says who took it: no atomic read-modify-write, which 5.10's BPF
 * has only for add. An entry evicted loses nothing but that pairing. */
struct summ_key {
	__u32 id;
	__u16 group;
	__u16 sig;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_RATE_KEYS);
	__type(key, struct summ_key);
	__type(value, __u8);
} summ_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_UIDS);
	__type(key, __u32);
	__type(value, __u8);
} uid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_COMMS);
	__type(key, char[TASK_COMM_LEN]);
	__type(value, __u8);
} comm_filter SEC(".maps");

/* The generate record of the last signal that could kill a process, per
 * (target tgid, signal), for the exit event to name its killer. Stored for
 * SIGKILL and for SIG_DFL signals whose default kills, before the pid and
 * comm filters: the killer is known even when its generate event was
 * filtered out or lost. Bounded by LRU eviction; an exit removes its entry. */
struct killer_key {
	__u32 tgid;
	__s32 sig;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct killer_key);
	__type(value, struct event_full);
} killers SEC(".maps");

/* Records are built here, then copied to the ring and, for possible
 * killers, to the killers map. One slot per program: a program never
 * nests with itself on a CPU (the kernel's recursion check skips it). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct exit_record);
} scratch SEC(".maps");

/* Without group_dead, several exiting threads may all find signal->live at
 * zero (each decrements, then reaches the tracepoint later); the first to
 * claim the process here reports it. Keyed with the leader's start time so
 * a reused pid is a new process. */
struct exit_key {
	__u32 tgid;
	__u32 _pad;
	__u64 start;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct exit_key);
	__type(value, __u8);
} exits_seen SEC(".maps");

/* Per CPU and per sender slot (tgid % DETAIL_SLOTS): whose detail this CPU
 * put in the ring last, and when. Userspace keeps the detail of each such
 * slot's last F_DETAIL record (records of one CPU reach it in the order
 * they were reserved), so a record marked F_DETAIL_SAME needs no copy.
 * Several slots, because senders alternate: in a ping-pong two processes
 * signal each other from one CPU. Keyed by mm as well as tgid: an exec gives a
 * new argv; and by the parent, which changes when the parent dies. Deeper
 * ancestry changes and setproctitle() show within detail_ttl_ns. */
struct detail_sent {
	__u64 ts;
	__u64 mm;
	__u32 tgid;
	__u32 ppid;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DETAIL_SLOTS);
	__type(key, __u32);
	__type(value, struct detail_sent);
} detail_sent SEC(".maps");

/* Per CPU, so that a storm on several CPUs never contends for one
 * counter; userspace sums them. Not LRU: an evicted count would make the
 * counts wrong, so a full map is counted (STAT_COUNT_FULL) instead. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MAX_COUNT_KEYS);
	__type(key, struct count_key);
	__type(value, __u64);
} counts SEC(".maps");

#define SCRATCH_GENERATE 0
#define SCRATCH_EXIT 1

/* Values from the kernel's headers that BTF does not carry (macros). */
#define SEND_SIG_NOINFO 0UL /* include/linux/sched/signal.h: ((struct kernel_siginfo *) 0) */
#define SEND_SIG_PRIV 1UL   /* ((struct kernel_siginfo *) 1) */
#define SIGNAL_UNKILLABLE 0x00000040 /* include/linux/sched/signal.h, since 2.6.28 */
#define SIGNAL_GROUP_EXIT 0x00000004
#define PF_EXITING 0x00000004 /* include/linux/sched.h */
#define PF_KTHREAD 0x00200000
#define RLIMIT_CPU 0     /* include/uapi/asm-generic/resource.h */
#define RLIMIT_RTTIME 15
#define RLIM_INFINITY (~0UL)
#define TRACE_SIGNAL_DELIVERED 0 /* enum trace_signal_result, include/trace/events/signal.h */
#define TRACE_SIGNAL_IGNORED 1
#define TRACE_SIGNAL_LOSE_INFO 4
#define SI_USER 0
#define SI_KERNEL 0x80
#define SI_QUEUE -1
#define SI_TKILL -6
#define SIGKILL 9
#define SIGSTOP 19
#define SA_RESETHAND 0x80000000ULL /* SA_ONESHOT, include/uapi/asm-generic/signal.h (x86 and arm64 alike) */
/* include/linux/errno.h: a syscall interrupted by a signal returns one of
 * these to the signal code, which turns it into a restart or -EINTR. */
#define ERESTARTSYS 512
#define ERESTART_RESTARTBLOCK 516
#define SIGPIPE 13
#define SIGCHLD 17 /* the same on x86_64 and arm64 (asm-generic) */
#define SIGXFSZ 25
#define MAX_THREADS_WALKED 64

/* The raw value of tracepoint argument i, as a scalar. tp_btf pointer
 * arguments are typed (PTR_TO_BTF_ID) and most kernels' verifiers assume
 * them non-NULL, so a test like `info == SEND_SIG_NOINFO` (NULL) would be
 * pruned as dead code and the sentinel then treated as a real siginfo.
 * Copying the ctx slot through a helper gives the verifier a plain number. */
static __always_inline unsigned long arg_value(unsigned long long *ctx, int i)
{
	unsigned long v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), &ctx[i]);
	return v;
}

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		(*v)++;
}

/* Batched wake-ups. A wake-up is an irq_work, which in a VM is a self-IPI
 * and a VM exit, several microseconds. The reader is woken:
 * - when it said (reader_state, mmapped) that it is about to wait with no
 *   deadline, for the first record after that; the flag is cleared here so
 *   the records behind it do not wake it again;
 * - when the unread data crosses wakeup_bytes, so a burst cannot fill the
 *   ring while the reader sleeps out its poll deadline. Only records that
 *   land just past the mark wake it (a 4 KiB window, more than any one
 *   record): a reader that lags behind a storm is awake anyway, and
 *   waking it on every record cost ~350 ns per signal.
 * Otherwise BPF_RB_NO_WAKEUP: a busy reader finds the data at its next
 * poll deadline. */
#define WAKEUP_WINDOW 4096

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
} reader_state SEC(".maps");

/* avail: the unread bytes, this record included. */
/* rate_allows decides whether an event of key k is copied (true) or only
 * counted (false), and keeps the key's state. A key the map has no room
 * for is never summarised. The state is updated without atomics: two CPUs
 * racing may let one event more through; the count itself is atomic, so
 * every event is either copied or counted, exactly. */
static __always_inline bool rate_allows(struct rate_key *k, __u64 now, const char *scomm, const char *tcomm,
					__u32 suid, __u32 tuid)
{
	if (!rate_interval_ns)
		return true;
	struct rate_val *v = bpf_map_lookup_elem(&rate_keys, k);
	if (!v) {
		struct rate_val fresh = {.tat = now + rate_interval_ns, .sender_uid = suid, .target_uid = tuid};
		if (scomm)
			bpf_probe_read_kernel(fresh.sender_comm, TASK_COMM_LEN, scomm);
		bpf_probe_read_kernel(fresh.target_comm, TASK_COMM_LEN, tcomm);
		bpf_map_update_elem(&rate_keys, k, &fresh, BPF_NOEXIST);
		return true;
	}
	__u64 tat = v->tat > now ? v->tat : now;
	/* The key's first event made tat now + interval; each one copied
	 * moves it on by one. Copied while it is at most burst - 1 intervals
	 * ahead: burst events at once, then one per interval. */
	if (tat - now > (rate_burst - 1) * rate_interval_ns) {
		__sync_fetch_and_add(&v->summarised, 1);
		count(STAT_SUMMARISED);
		return false;
	}
	v->tat = tat + rate_interval_ns;
	return true;
}

/* mark_summarised notes that the signal just queued on (id, group) was
 * summarised: its delivery will be too. */
static __always_inline void mark_summarised(__u32 id, __u32 group, int sig)
{
	struct summ_key k = {.id = id, .group = group, .sig = sig};
	__u8 one = 1;
	bpf_map_update_elem(&summ_pending, &k, &one, BPF_ANY);
}

/* take_summarised reports whether the signal a thread is taking was
 * summarised when sent, and forgets it: the thread's own queue is
 * dequeued before the process's (kernel/signal.c dequeue_signal()). */
static __always_inline bool take_summarised(__u32 tid, __u32 tgid, int sig)
{
	struct summ_key k = {.id = tid, .group = 0, .sig = sig};
	if (bpf_map_delete_elem(&summ_pending, &k) == 0)
		return true;
	k.id = tgid;
	k.group = 1;
	return bpf_map_delete_elem(&summ_pending, &k) == 0;
}

/* count_summarised_delivery counts a delivery under its key (sender 0,
 * result RK_DELIVER): the count records say how many were taken. */
static __always_inline void count_summarised_delivery(__u32 tgid, int sig, __u64 handler, const char *tcomm, __u32 uid)
{
	struct rate_key k = {.target_pid = tgid, .sig = sig, .result = RK_DELIVER,
			     .disp = handler == 0 ? 0 : handler == 1 ? 1 : 2};
	struct rate_val *v = bpf_map_lookup_elem(&rate_keys, &k);
	if (!v) {
		struct rate_val fresh = {.target_uid = uid};
		bpf_probe_read_kernel(fresh.target_comm, TASK_COMM_LEN, tcomm);
		bpf_map_update_elem(&rate_keys, &k, &fresh, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&rate_keys, &k);
		if (!v)
			return;
	}
	__sync_fetch_and_add(&v->summarised, 1);
	count(STAT_SUMMARISED);
}

static __always_inline __u64 wakeup_flags(__u64 avail)
{
	__u32 zero = 0;
	__u32 *asleep = bpf_map_lookup_elem(&reader_state, &zero);
	if (asleep && *asleep) {
		*asleep = 0;
		return BPF_RB_FORCE_WAKEUP;
	}
	if (avail >= wakeup_bytes && avail - wakeup_bytes < WAKEUP_WINDOW)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* A record's footprint in the ring: an 8-byte header, rounded up to 8
 * (kernel/bpf/ringbuf.c: BPF_RINGBUF_HDR_SZ, round_up(len + hdr, 8)). */
#define RING_FOOTPRINT(size) ((((size) + 8) + 7) & ~7ULL)

/* Per uid: the reserve bytes used in the current one-second window. Only
 * looked at once the ring is into its reserve, which is rare. */
struct reserve_use {
	__u64 window;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct reserve_use);
} reserve_use SEC(".maps");

static __always_inline bool reserve_allows(__u32 uid, __u64 fp)
{
	if (!reserve_per_uid)
		return true;
	__u64 window = bpf_ktime_get_boot_ns() / 1000000000ULL;
	struct reserve_use *u = bpf_map_lookup_elem(&reserve_use, &uid);
	if (!u) {
		struct reserve_use fresh = {.window = window, .bytes = fp};
		bpf_map_update_elem(&reserve_use, &uid, &fresh, BPF_ANY);
		return fp <= reserve_per_uid;
	}
	if (u->window != window) {
		u->window = window;
		u->bytes = 0;
	}
	if (u->bytes + fp > reserve_per_uid)
		return false;
	__sync_fetch_and_add(&u->bytes, fp);
	return true;
}

/* Whether a record of this size may go into the ring now, and the unread
 * bytes once it is in (for wakeup_flags). vital_uid: the uid charged for
 * a vital record's use of the reserve, or NOT_VITAL. One ring query per
 * record, shared with the wake-up decision. */
#define NOT_VITAL 0xffffffffULL

static __always_inline bool admit(__u64 size, __u64 vital_uid, __u64 *avail)
{
	__u64 fp = RING_FOOTPRINT(size);
	*avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + fp;
	if (!ring_reserve || *avail + ring_reserve <= ring_bytes)
		return true;
	if (vital_uid == NOT_VITAL) {
		count(STAT_SHED);
		return false;
	}
	if (!reserve_allows((__u32)vital_uid, fp)) {
		count(STAT_SHED_VITAL);
		return false;
	}
	return true;
}

static __always_inline void submit(void *rec, __u64 avail)
{
	bpf_ringbuf_submit(rec, wakeup_flags(avail));
	count(STAT_SUBMITTED);
}

/* output copies a record built elsewhere (the per-CPU scratch) into the
 * ring. It reserves room first and decides the wake-up after, as submit
 * does: bpf_ringbuf_output would take flags read before the record is in
 * the ring, and a reader that announced its sleep in that instant would
 * find the ring empty and not be woken (it would wait out maxIdle,
 * tracer/reader.go). size is a constant at every call site, as
 * bpf_ringbuf_reserve needs. */
static __always_inline void output(void *rec, __u64 size, __u64 vital_uid)
{
	__u64 avail;
	if (!admit(size, vital_uid, &avail))
		return;
	void *r = bpf_ringbuf_reserve(&events, size, 0);
	if (!r) {
		count(STAT_LOST);
		return;
	}
	if (bpf_probe_read_kernel(r, size, rec)) {
		bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);
		count(STAT_LOST);
		return;
	}
	submit(r, avail);
}

/* Signals whose default action kills: all but DEFAULT_SPARES. */
static __always_inline bool kills_by_default(int sig)
{
	return !((__u64)DEFAULT_SPARES & (1ULL << (sig - 1)));
}

static __always_inline bool sig_wanted(int sig)
{
	if (sig < 1 || sig > 64)
		return false;
	return !filter_sigmask || (filter_sigmask & (1ULL << (sig - 1)));
}

static __always_inline __u8 pid_bits(__u32 tgid)
{
	__u8 *v = bpf_map_lookup_elem(&pid_filter, &tgid);
	return v ? *v : 0;
}

static __always_inline bool pids_wanted(__u32 sender, __u32 target)
{
	if (!filter_sender_pids && !filter_target_pids && !filter_any_pids)
		return true;
	__u8 s = pid_bits(sender), t = pid_bits(target);
	if (filter_sender_pids && !(s & PID_SENDER))
		return false;
	if (filter_target_pids && !(t & PID_TARGET))
		return false;
	if (filter_any_pids && !((s | t) & PID_ANY))
		return false;
	return true;
}

/* uids_wanted: the uid filters (sender.uid, target.uid in a FILTER).
 * For a delivery the sender's is the siginfo's si_uid, as its pid is
 * si_pid; an exit's killer's is its generate record's. */
static __always_inline bool uids_wanted(__u32 sender, __u32 target)
{
	if (filter_sender_uids) {
		__u8 *v = bpf_map_lookup_elem(&uid_filter, &sender);
		if (!v || !(*v & UID_SENDER))
			return false;
	}
	if (filter_target_uids) {
		__u8 *v = bpf_map_lookup_elem(&uid_filter, &target);
		if (!v || !(*v & UID_TARGET))
			return false;
	}
	return true;
}

/* A task's comm up to its NUL, into a zeroed buffer. Before 5.11,
 * __set_task_comm() used strlcpy(), which leaves the old name's bytes after
 * the NUL (exec of cat by tracer.test: "cat\0er.test"), so comparing all 16
 * bytes with a filter key would never match. */
static __always_inline void read_comm(char *dst, const char *comm)
{
	bpf_probe_read_kernel_str(dst, TASK_COMM_LEN, comm);
}

/* A comm filter matches a process by its name (the group leader's comm)
 * or by the name of the thread involved. */
static __always_inline bool comms_wanted(const char *proc_a, const char *thread_a, const char *proc_b, const char *thread_b)
{
	if (!filter_comms)
		return true;
	return bpf_map_lookup_elem(&comm_filter, proc_a) || bpf_map_lookup_elem(&comm_filter, thread_a) ||
	       bpf_map_lookup_elem(&comm_filter, proc_b) || bpf_map_lookup_elem(&comm_filter, thread_b);
}

/* si_code, si_pid and si_uid of a real siginfo (not a sentinel), with one
 * helper call. The info argument is typed differently across kernels:
 * 6.18's verifier takes it as a BTF pointer, Debian's 6.12 as a plain
 * scalar (it may hold the SEND_SIG_* sentinels), so it is never loaded
 * from directly. The layout from si_code on is the userspace ABI. */
struct siginfo_head {
	__s32 code;
	__s32 _pad;
	__s32 pid; /* _sifields._kill._pid */
	__u32 uid; /* _sifields._kill._uid */
};

static __always_inline void read_siginfo(unsigned long info, struct siginfo_head *h)
{
	bpf_probe_read_kernel(h, sizeof(*h), (void *)info + bpf_core_field_offset(struct kernel_siginfo, si_code));
}

/* What a signal tracepoint's info argument says: one of the sentinels,
 * which must never be dereferenced (SEND_SIG_NOINFO: SI_USER from current;
 * SEND_SIG_PRIV: SI_KERNEL), or a real siginfo. Returns the F_INFO_* flag;
 * leaves *code, *pid and *uid alone for SEND_SIG_NOINFO. */
static __always_inline __u32 read_info(unsigned long info_val, int *code, __s32 *pid, __u32 *uid)
{
	if (info_val == SEND_SIG_NOINFO)
		return F_INFO_NOINFO;
	if (info_val == SEND_SIG_PRIV) {
		*code = SI_KERNEL;
		return F_INFO_PRIV;
	}
	struct siginfo_head h = {};
	read_siginfo(info_val, &h);
	*code = h.code;
	*pid = h.pid;
	*uid = h.uid;
	return 0;
}

/* Whether bpf_get_current_task_btf() exists (5.11+). With it, current is a
 * BTF pointer and its fields are plain loads; without it (5.8-5.10) every
 * field costs a bpf_probe_read_kernel() call. Resolved at load time, so the
 * verifier only ever sees one of the two paths. */
static __always_inline bool have_task_btf(void)
{
	return bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf);
}

static __always_inline struct task_struct *current_task(bool trusted)
{
	if (trusted)
		return bpf_get_current_task_btf();
	return (struct task_struct *)bpf_get_current_task();
}

/* current's comm into the record: two loads from a BTF pointer, not a
 * helper call. Before 5.11 bytes of an older name may follow the NUL
 * (read_comm); the decoder stops at the NUL, and comm filters use the
 * helpers' padded copies instead. */
static __always_inline void current_comm(bool trusted, struct task_struct *cur, char *dst)
{
	if (trusted)
		__builtin_memcpy(dst, cur->comm, TASK_COMM_LEN);
	else
		bpf_get_current_comm(dst, TASK_COMM_LEN);
}

/* A task's comm into the record: plain loads from a BTF pointer, one
 * helper call otherwise. Called with a group leader, it is the process's
 * name: threads rename themselves (prctl(PR_SET_NAME)), and the last
 * thread to exit or the thread that forked a child is often not the one
 * that carries the program's name. */
static __always_inline void task_comm(bool trusted, struct task_struct *t, char *dst)
{
	if (trusted)
		__builtin_memcpy(dst, t->comm, TASK_COMM_LEN);
	else
		bpf_probe_read_kernel(dst, TASK_COMM_LEN, t->comm);
}

/* current's real uid in the init namespace, as bpf_get_current_uid_gid()
 * gives it (current_cred()->uid), read directly when current is a BTF
 * pointer. */
static __always_inline __u32 current_uid(bool trusted, struct task_struct *cur)
{
	if (trusted)
		return cur->cred->uid.val;
	return (__u32)bpf_get_current_uid_gid();
}

/* RD(trusted, p, a.b) reads p->a.b directly when p is a BTF pointer, and
 * through bpf_probe_read_kernel() otherwise. */
#define RD(trusted, p, ...) ((trusted) ? (p)->__VA_ARGS__ : BPF_CORE_READ(p, __VA_ARGS__))

/* A task's cgroup in the default hierarchy (cgroup v2, also on a hybrid
 * host where v1 has the controllers): task->cgroups->dfl_cgrp->kn->id,
 * the id bpf_get_current_cgroup_id() gives for current
 * (kernel/bpf/helpers.c), which userspace finds as an inode number. */
static __always_inline __u64 task_cgroup(bool trusted, struct task_struct *t)
{
	if (trusted)
		return t->cgroups->dfl_cgrp->kn->id;
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

/* The disposition the receiver has now: task->sighand->action[sig-1]. The
 * array is indexed with a runtime value, which direct BTF access does not
 * allow, so the pair is read with one helper call; the element size is
 * relocated too rather than taken from the build machine's headers. */
static __always_inline void read_action(struct sighand_struct *sh, int sig, __u64 *handler, __u64 *flags)
{
	if (!sh)
		return;
	void *base = (void *)sh + bpf_core_field_offset(struct sighand_struct, action);
	struct k_sigaction *ka = base + (sig - 1) * bpf_core_type_size(struct k_sigaction);
	__u32 hoff = bpf_core_field_offset(struct k_sigaction, sa.sa_handler);
	__u32 foff = bpf_core_field_offset(struct k_sigaction, sa.sa_flags);
	if (foff == hoff + 8) {
		__u64 pair[2] = {};
		bpf_probe_read_kernel(pair, sizeof(pair), (void *)ka + hoff);
		*handler = pair[0];
		*flags = pair[1];
		return;
	}
	*handler = (__u64)BPF_CORE_READ(ka, sa.sa_handler);
	*flags = BPF_CORE_READ(ka, sa.sa_flags);
}

/* A process-directed signal is blocked only when every thread blocks it:
 * complete_signal() hands it to any thread that does not (wants_signal()).
 * Only walked when the target thread blocks it, which is rare. */
static __always_inline bool group_blocks(struct task_struct *t, __u64 bit)
{
	struct signal_struct *sig = t->signal;
	struct list_head *head = (void *)sig + bpf_core_field_offset(struct signal_struct, thread_head);
	struct list_head *pos = BPF_CORE_READ(head, next);
	__u64 off = bpf_core_field_offset(struct task_struct, thread_node);

	for (int i = 0; i < MAX_THREADS_WALKED && pos && pos != head; i++) {
		struct task_struct *th = (void *)pos - off;
		if (!(BPF_CORE_READ(th, blocked.sig[0]) & bit))
			return false;
		pos = BPF_CORE_READ(pos, next);
	}
	return true;
}

static __always_inline void fill_sender_detail(bool trusted, struct task_struct *cur, struct sender_detail *d, __u32 *flags)
{
	struct task_struct *p = RD(trusted, cur, real_parent);
	__u8 n = 0;

	for (int i = 0; i < MAX_ANCESTRY; i++) {
		if (!p)
			break;
		__u32 pid = RD(trusted, p, tgid);
		if (!pid)
			break;
		d->ancestry[i].pid = pid;
		/* real_parent is the thread that forked: name its process. */
		task_comm(trusted, RD(trusted, p, group_leader), d->ancestry[i].comm);
		n++;
		if (pid == 1)
			break;
		p = RD(trusted, p, real_parent);
	}
	d->ancestry_len = n;

	/* argv of current, read from its own memory while it still exists. */
	struct mm_struct *mm = RD(trusted, cur, mm);
	if (!mm)
		return;
	unsigned long start = RD(trusted, mm, arg_start);
	unsigned long end = RD(trusted, mm, arg_end);
	unsigned long len = end - start;
	if (end <= start)
		return;
	if (len > ARGV_LEN) {
		len = ARGV_LEN;
		*flags |= F_ARGV_TRUNC;
	}
	if (bpf_probe_read_user(d->argv, len, (void *)start) == 0)
		d->argv_len = len;
}

/* Whether current is the process that sent the signal (so its ancestry and
 * argv mean something). Kernel-raised signals are classified in userspace
 * from the same fields; this only avoids copying detail for them. */
static __always_inline bool sent_by_current(int sig, int code, __u32 flags, __u32 cur_tgid, __u32 target_tgid)
{
	if (flags & (F_INFO_PRIV | F_SENDER_KTHREAD))
		return false;
	if (code == SI_USER) {
		/* SIGPIPE/SIGXFSZ from a write: send_sig(sig, current, 0). */
		if ((flags & F_INFO_NOINFO) && !(flags & F_GROUP) && cur_tgid == target_tgid &&
		    (sig == SIGPIPE || sig == SIGXFSZ))
			return false;
		return true;
	}
	return code == SI_QUEUE || code == SI_TKILL;
}

/* Kernel frames of current, for from_oom_killer(). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[KSTACK_DEPTH]);
} kstack SEC(".maps");

/* Whether current is inside the OOM killer's kill functions: it sends
 * SIGKILL there (mm/oom_kill.c __oom_kill_process(): do_send_sig_info(
 * SIGKILL, SEND_SIG_PRIV, victim, PIDTYPE_TGID)), also to other processes
 * that share the victim's memory, before any OOM tracepoint fires. */
static __always_inline bool from_oom_killer(void *ctx)
{
	__u32 zero = 0;
	__u64 *ips = bpf_map_lookup_elem(&kstack, &zero);
	if (!ips)
		return false;
	long n = bpf_get_stack(ctx, ips, KSTACK_DEPTH * sizeof(__u64), 0);
	if (n <= 0)
		return false;
	for (int i = 0; i < KSTACK_DEPTH; i++) {
		if (i * (long)sizeof(__u64) >= n)
			break;
		__u64 ip = ips[i];
		for (int r = 0; r < OOM_RANGES; r++) {
			if (ip >= oom_text[2 * r] && ip < oom_text[2 * r + 1])
				return true;
		}
	}
	return false;
}

/* Why the kernel sent a SIGKILL with SEND_SIG_PRIV, from its own evidence:
 * the OOM killer's code on the stack; the CPU-time hard limits, which
 * kernel/time/posix-cpu-timers.c check_rlimit() enforces by sending SIGKILL
 * to the process itself; or an exiting sender, which is a pid namespace's
 * init taking every process of its namespace with it
 * (kernel/pid_namespace.c zap_pid_ns_processes(), called from do_exit()). */
static __always_inline __u32 kernel_kill_reason(void *ctx, bool trusted, struct task_struct *cur, struct task_struct *task,
						__u32 cur_tgid, __u32 target_tgid, __u64 *cgroup_id)
{
	if (oom_text[1] && from_oom_killer(ctx)) {
		/* The victim's memory cgroup (v1 or v2): its kernfs id is the
		 * directory's inode number where that hierarchy is mounted. */
		int memcg = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		if (memcg >= 0 && memcg < CGROUP_SUBSYS_COUNT)
			*cgroup_id = BPF_CORE_READ(task, cgroups, subsys[memcg], cgroup, kn, id);
		return F_KK_OOM;
	}
	if (cur_tgid == target_tgid) {
		struct signal_struct *sigs = task->signal;
		if (sigs->rlim[RLIMIT_CPU].rlim_max != RLIM_INFINITY)
			return F_KK_RLIMIT_CPU;
		if (sigs->rlim[RLIMIT_RTTIME].rlim_max != RLIM_INFINITY)
			return F_KK_RLIMIT_RT;
	}
	if (RD(trusted, cur, flags) & PF_EXITING)
		return F_KK_EXITING;
	return 0;
}

/* The system call current is in while it sends a signal, and its first
 * argument (kill()'s pid: 0 is the sender's process group, -1 every
 * process it may signal, below that a process group), from the user
 * registers saved at syscall entry. Unlike at delivery, nothing has
 * rewound them yet, on arm64 too. With bpf_task_pt_regs() (5.15+) and a
 * BTF current; before that on x86_64 from the top of the task's stack
 * (arch/x86/include/asm/processor.h task_pt_regs(), THREAD_SIZE 16 KiB
 * without KASAN), trusted only if the saved cs is the user code segment. */
#define X86_THREAD_SIZE 16384
#define X86_USER_CS 0x33
static __always_inline void read_send_syscall(bool trusted, struct task_struct *cur, struct event *e, __u32 *flags)
{
	long nr = -1, arg = 0;
#if defined(__TARGET_ARCH_x86)
	if (trusted && bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs)) {
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(cur);
		if (!regs)
			return;
		nr = regs->orig_ax;
		arg = regs->di;
	} else {
		void *stack = BPF_CORE_READ(cur, stack);
		if (!stack)
			return;
		struct pt_regs *regs = stack + X86_THREAD_SIZE - bpf_core_type_size(struct pt_regs);
		if (BPF_CORE_READ(regs, cs) != X86_USER_CS)
			return;
		nr = BPF_CORE_READ(regs, orig_ax);
		arg = BPF_CORE_READ(regs, di);
	}
#elif defined(__TARGET_ARCH_arm64)
	if (!trusted || !bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		return;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(cur);
	if (!regs)
		return;
	nr = regs->syscallno;
	arg = regs->orig_x0;
#endif
	if (nr < 0)
		return; /* not in a system call (an interrupt, a fault) */
	e->send_nr = nr;
	e->send_arg = arg;
	if (trusted)
		e->pgid = cur->signal->pids[PIDTYPE_PGID]->numbers[0].nr;
	else
		e->pgid = BPF_CORE_READ(cur, signal, pids[PIDTYPE_PGID], numbers[0].nr);
	*flags |= F_SEND_SYSCALL;
}

/* count_key_add counts one event under k: a per-CPU hash, so no atomics;
 * a key the map has no room for is counted as lost (STAT_COUNT_FULL). */
static __always_inline void count_key_add(struct count_key *k)
{
	__u64 *n = bpf_map_lookup_elem(&counts, k);
	if (n) {
		(*n)++;
	} else {
		__u64 one = 1;
		if (bpf_map_update_elem(&counts, k, &one, BPF_NOEXIST)) {
			/* Full, or another CPU inserted it just now. */
			n = bpf_map_lookup_elem(&counts, k);
			if (!n) {
				count(STAT_COUNT_FULL);
				return;
			}
			(*n)++;
		}
	}
	count(STAT_COUNTED);
}

/* Counts one generate event under the key count_keys asks for. scomm and
 * tcomm are the NUL-padded comms when a comm filter read them, else
 * empty. */
static __always_inline void count_generate(bool trusted, struct task_struct *cur, struct task_struct *cur_leader,
					   struct task_struct *task, int sig, __u32 cur_tgid, __u32 target_tgid,
					   const char *scomm, const char *tcomm)
{
	struct count_key k = {.type = EV_GENERATE};
	if (count_keys & CK_SIG)
		k.sig = sig;
	if (count_keys & CK_SENDER_PID)
		k.sender_pid = cur_tgid;
	if (count_keys & CK_TARGET_PID)
		k.target_pid = target_tgid;
	if (count_keys & CK_SENDER_UID)
		k.sender_uid = current_uid(trusted, cur);
	if (count_keys & CK_TARGET_UID)
		k.target_uid = task->real_cred->uid.val;
	if (count_keys & CK_SENDER_COMM) {
		if (filter_comms)
			__builtin_memcpy(k.sender_comm, scomm, TASK_COMM_LEN);
		else
			read_comm(k.sender_comm, cur_leader->comm);
	}
	if (count_keys & CK_TARGET_COMM) {
		if (filter_comms)
			__builtin_memcpy(k.target_comm, tcomm, TASK_COMM_LEN);
		else
			read_comm(k.target_comm, task->group_leader->comm);
	}
	count_key_add(&k);
}

/* Counts one delivery (never a SIGKILL: trace tells the kernel's kills of
 * a dying group's threads apart in Go) under the key count_keys asks for:
 * the target's fields only, which Go checks. comm is the group leader's
 * NUL-padded comm when a comm filter read it, else empty. */
static __always_inline void count_delivery(bool trusted, struct task_struct *cur, struct task_struct *leader, int sig,
					   __u32 tgid, const char *comm)
{
	struct count_key k = {.type = EV_DELIVER};
	if (count_keys & CK_SIG)
		k.sig = sig;
	if (count_keys & CK_TARGET_PID)
		k.target_pid = tgid;
	if (count_keys & CK_TARGET_UID)
		k.target_uid = current_uid(trusted, cur);
	if (count_keys & CK_TARGET_COMM) {
		if (filter_comms)
			__builtin_memcpy(k.target_comm, comm, TASK_COMM_LEN);
		else
			read_comm(k.target_comm, leader->comm);
	}
	count_key_add(&k);
}

/* ---- Disposition history ------------------------------------------------ */

/* For an exit: when each process last made a watched signal fatal to
 * itself (by sigaction or SA_RESETHAND), and when it last exec'd (which
 * resets handlers, and is when a program that never had one began).
 * Keyed with the process's start time (its group leader's, which exec
 * keeps: de_thread() copies it), so a reused pid finds nothing of the
 * process before it. */
struct disp_key {
	__u32 tgid;
	__u32 sig;
	__u64 start;
};

struct disp_since {
	__u64 ts;
	__u32 cause;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_DISP_LAST);
	__type(key, struct disp_key);
	__type(value, struct disp_since);
} disp_last SEC(".maps");

/* exec_seen: the live processes' last exec, removed at their exit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_EXECS);
	__type(key, struct exit_key);
	__type(value, __u64);
} exec_seen SEC(".maps");

static __always_inline __u64 process_start(bool trusted, struct task_struct *t)
{
	struct task_struct *leader = RD(trusted, t, group_leader);
	return RD(trusted, leader, start_time);
}

/* note_fatal remembers that current's process just made sig fatal to
 * itself, whatever the trace's filters show. */
static __always_inline void note_fatal(bool trusted, struct task_struct *cur, int sig, __u32 cause, __u64 now)
{
	struct disp_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .sig = sig, .start = process_start(trusted, cur)};
	struct disp_since v = {.ts = now, .cause = cause};
	bpf_map_update_elem(&disp_last, &k, &v, BPF_ANY);
}

/* Whether a disposition change of process tgid passes the trace's
 * filters. It has no sender: a filter on the sender's pid or uid wants
 * none of them. The process is the target (and "either" side). */
static __always_inline bool disp_wanted(bool trusted, struct task_struct *cur, __u32 tgid, const char *comm, const char *tcomm)
{
	if (filter_sender_pids || filter_sender_uids || (self_tgid && tgid == self_tgid))
		return false;
	if (!pids_wanted(0, tgid))
		return false;
	if (filter_target_uids && !uids_wanted(0, current_uid(trusted, cur)))
		return false;
	return comms_wanted(comm, tcomm, comm, tcomm);
}

/* The one fill of a disp_record. new_comm: an exec's new program name
 * (current->comm is still the old one at task_rename). */
static __always_inline void emit_disposition(bool trusted, struct task_struct *cur, __u64 now, int sig, __u32 cause,
					     __u32 flags, __u64 from_h, __u64 from_f, __u64 to_h, __u64 to_f, __u64 mask,
					     const char *new_comm)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	char comm[TASK_COMM_LEN] = {}, tcomm[TASK_COMM_LEN] = {};
	if (new_comm) {
		bpf_probe_read_kernel_str(comm, TASK_COMM_LEN, new_comm);
		__builtin_memcpy(tcomm, comm, TASK_COMM_LEN);
	} else {
		struct task_struct *leader = RD(trusted, cur, group_leader);
		read_comm(comm, leader->comm);
		bpf_get_current_comm(tcomm, sizeof(tcomm));
	}
	if (!disp_wanted(trusted, cur, tgid, comm, tcomm)) {
		count(STAT_FILTERED);
		return;
	}
	/* Never summarised (issue 18), so it gets the ring's room for deaths:
	 * charged to the uid that made the change, whose share of the
	 * reserve bounds a flood of them. */
	__u32 uid = current_uid(trusted, cur);
	__u64 avail;
	if (!admit(sizeof(struct disp_record), uid, &avail))
		return;
	struct disp_record *r = bpf_ringbuf_reserve(&events, sizeof(struct disp_record), 0);
	if (!r) {
		count(STAT_LOST);
		return;
	}
	r->ts_ns = now;
	r->type = EV_DISPOSITION;
	r->sig = sig;
	r->cause = cause;
	r->from_handler = from_h;
	r->from_flags = from_f;
	r->to_handler = to_h;
	r->to_flags = to_f;
	r->reset_mask = mask;
	r->cgroup = task_cgroup(trusted, cur);
	r->pid = tgid;
	r->tid = (__u32)id;
	r->uid = uid;
	r->cpu = bpf_get_smp_processor_id();
	__builtin_memcpy(r->comm, comm, TASK_COMM_LEN);
	__builtin_memcpy(r->thread_comm, tcomm, TASK_COMM_LEN);
	r->d.argv_len = 0;
	r->d.ancestry_len = 0;
	r->d._pad = 0;
	fill_sender_detail(trusted, cur, &r->d, &flags);
	r->flags = flags;
	submit(r, avail);
}

/* do_sigaction(sig, act, oact) serves rt_sigaction, sigaction and
 * signal(); act NULL is a query. It refuses SIGKILL and SIGSTOP with
 * EINVAL before changing anything (kernel/signal.c), and otherwise copies
 * *act into current->sighand->action[sig-1], which still holds the old
 * action on entry: so entry alone knows both sides, and no exit program
 * is needed. */
static __always_inline void sigaction_change(int sig, struct k_sigaction *act)
{
	if (!act || sig < 1 || sig > 64 || sig == SIGKILL || sig == SIGSTOP)
		return;
	if (!(disp_sigmask & (1ULL << (sig - 1))))
		return;
	__u64 to_h = (__u64)BPF_CORE_READ(act, sa.sa_handler);
	if (!disp_all && (to_h != 0 || !kills_by_default(sig)))
		return;
	__u64 to_f = BPF_CORE_READ(act, sa.sa_flags);
	bool trusted = have_task_btf();
	struct task_struct *cur = current_task(trusted);
	__u32 flags = 0;
	if (RD(trusted, cur, vfork_done)) {
		if (!disp_all)
			return;
		flags |= F_VFORK;
	}
	__u64 from_h = 0, from_f = 0;
	read_action(RD(trusted, cur, sighand), sig, &from_h, &from_f);
	if (from_h == to_h && from_f == to_f)
		return;
	if (!disp_all && from_h == 0)
		return;
	__u64 now = bpf_ktime_get_boot_ns();
	if (to_h == 0 && from_h != 0 && kills_by_default(sig) && !(flags & F_VFORK))
		note_fatal(trusted, cur, sig, DC_SIGACTION, now);
	emit_disposition(trusted, cur, now, sig, DC_SIGACTION, flags, from_h, from_f, to_h, to_f, 0, 0);
}

SEC("fentry/do_sigaction")
int BPF_PROG(on_sigaction_fentry, int sig, struct k_sigaction *act, struct k_sigaction *oact)
{
	sigaction_change(sig, act);
	return 0;
}

/* The same where the kernel has kprobes but no trampolines (Debian's 6.1
 * arm64). */
SEC("kprobe/do_sigaction")
int BPF_KPROBE(on_sigaction_kprobe, int sig, struct k_sigaction *act)
{
	sigaction_change(sig, act);
	return 0;
}

/* An exec resets every handler to SIG_DFL and keeps SIG_IGN
 * (begin_new_exec() -> flush_signal_handlers(me, 0), fs/exec.c). Just
 * before, at the point of no return, it names the task after the new
 * program (__set_task_comm(me, kbasename(bprm->filename), true), whose
 * task_rename tracepoint needs no trampoline): the old handlers are still
 * in place there, and in_execve tells the rename from a prctl. */
SEC("tp_btf/task_rename")
int BPF_PROG(on_exec_rename, struct task_struct *task, const char *comm)
{
	if (!want_disp)
		return 0;
	bool trusted = have_task_btf();
	struct task_struct *cur = current_task(trusted);
	if ((void *)task != (void *)cur || !bpf_core_field_exists(cur->in_execve) ||
	    !BPF_CORE_READ_BITFIELD_PROBED(cur, in_execve))
		return 0;
	struct exit_key ek = {.tgid = bpf_get_current_pid_tgid() >> 32, .start = process_start(trusted, cur)};
	__u64 now = bpf_ktime_get_boot_ns();
	bpf_map_update_elem(&exec_seen, &ek, &now, BPF_ANY);
	struct sighand_struct *sh = RD(trusted, cur, sighand);
	void *base = (void *)sh + bpf_core_field_offset(struct sighand_struct, action);
	__u64 size = bpf_core_type_size(struct k_sigaction);
	__u32 hoff = bpf_core_field_offset(struct k_sigaction, sa.sa_handler);
	__u64 mask = 0;
	/* Branchless: a verifier walks every one of the 64 steps. */
	for (int i = 0; i < 64; i++) {
		__u64 h = 0;
		bpf_probe_read_kernel(&h, sizeof(h), base + i * size + hoff);
		__u64 x = h >> 1; /* not 0 exactly when h is a handler (neither SIG_DFL nor SIG_IGN) */
		__u64 top = x | -x; /* bit 63 set exactly when x is not 0 (x < 2^63) */
		/* Hidden from clang, which would turn the shift back into a
		 * compare and a branch: 2^64 paths for the verifier. */
		asm volatile("" : "+r"(top));
		mask |= (top >> 63) << i;
	}
	mask &= disp_sigmask;
	if (!disp_all)
		mask &= ~(__u64)DEFAULT_SPARES;
	if (!mask)
		return 0;
	emit_disposition(trusted, cur, now, 0, DC_EXEC, 0, 0, 0, 0, 0, mask, comm);
	return 0;
}

SEC("tp_btf/signal_generate")
int BPF_PROG(on_generate, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{
	if (!want_generate || !sig_wanted(sig))
		return 0;

	/* task is a tp_btf argument: its fields are direct loads (5.5+). */
	__u64 id = bpf_get_current_pid_tgid();
	__u32 cur_tgid = id >> 32;
	__u32 target_tgid = task->tgid;
	if (self_tgid && cur_tgid == self_tgid && target_tgid == self_tgid) {
		count(STAT_FILTERED);
		return 0;
	}
	__u64 handler = 0, sa_flags = 0;
	read_action(task->sighand, sig, &handler, &sa_flags);
	/* Could this signal kill? Then the exit event needs its sender. */
	bool may_kill = want_exit && (sig == SIGKILL || (handler == 0 && kills_by_default(sig)));

	bool trusted = have_task_btf();
	struct task_struct *cur = current_task(trusted);
	struct task_struct *cur_leader = RD(trusted, cur, group_leader);
	/* The helpers give NUL-padded comms, which a comm filter compares
	 * whole; without one, the record gets plain copies. */
	char scomm[TASK_COMM_LEN] = {}, tcomm[TASK_COMM_LEN] = {};
	char sthread[TASK_COMM_LEN] = {}, tthread[TASK_COMM_LEN] = {};
	bool wanted = pids_wanted(cur_tgid, target_tgid);
	if (filter_sender_uids || filter_target_uids)
		wanted = wanted && uids_wanted(current_uid(trusted, cur), task->real_cred->uid.val);
	if (filter_comms) {
		read_comm(scomm, cur_leader->comm);
		bpf_get_current_comm(sthread, sizeof(sthread));
		read_comm(tcomm, task->group_leader->comm);
		read_comm(tthread, task->comm);
		wanted = wanted && comms_wanted(scomm, sthread, tcomm, tthread);
	}
	if (!wanted && !may_kill) {
		count(STAT_FILTERED);
		return 0;
	}
	if (count_keys) {
		if (!wanted) {
			count(STAT_FILTERED);
			return 0;
		}
		count_generate(trusted, cur, cur_leader, task, sig, cur_tgid, target_tgid, scomm, tcomm);
		return 0;
	}
	if (rate_interval_ns && !may_kill) {
		__u64 bit = 1ULL << (sig - 1);
		struct rate_key rk = {
			/* A parent's SIGCHLDs come each from another child
			 * (do_notify_parent() runs in the exiting child): they
			 * repeat per parent, not per sender. */
			.sender_pid = sig == SIGCHLD ? 0 : cur_tgid,
			.target_pid = target_tgid,
			.sig = sig,
			.result = result,
			.disp = handler == 0 ? 0 : handler == 1 ? 1 : 2,
			.blocked = (task->blocked.sig[0] & bit) != 0,
		};
		if (!rate_allows(&rk, bpf_ktime_get_boot_ns(), cur_leader->comm, task->group_leader->comm,
				 current_uid(trusted, cur), task->real_cred->uid.val)) {
			/* Queued (not ignored, not merged): it will be
			 * delivered, and that delivery is summarised too. */
			if (want_deliver && (result == TRACE_SIGNAL_DELIVERED || result == TRACE_SIGNAL_LOSE_INFO))
				mark_summarised(group ? target_tgid : task->pid, group ? 1 : 0, sig);
			return 0;
		}
	}

	__u32 flags = group ? F_GROUP : 0;
	int code = SI_USER;
	__s32 si_pid = 0;
	__u32 si_uid = 0;
	flags |= read_info(arg_value(ctx, 1), &code, &si_pid, &si_uid);
	if (flags & F_INFO_NOINFO)
		si_pid = cur_tgid; /* SI_USER from current */
	if (RD(trusted, cur, flags) & PF_KTHREAD)
		flags |= F_SENDER_KTHREAD;
	bool by_current = sent_by_current(sig, code, flags, cur_tgid, target_tgid);
	bool detail = by_current;

	__u64 now = bpf_ktime_get_boot_ns();
	struct detail_sent *ds = 0;
	__u64 mm = 0;
	__u32 ppid = 0;
	if (detail && !may_kill && detail_ttl_ns) {
		__u32 slot = cur_tgid % DETAIL_SLOTS;
		ds = bpf_map_lookup_elem(&detail_sent, &slot);
		mm = (__u64)RD(trusted, cur, mm);
		struct task_struct *parent = RD(trusted, cur, real_parent);
		if (parent)
			ppid = RD(trusted, parent, tgid);
		if (ds && ds->tgid == cur_tgid && ds->mm == mm && ds->ppid == ppid && now - ds->ts < detail_ttl_ns) {
			detail = false;
			flags |= F_DETAIL_SAME;
		}
	}

	/* Most signals cannot kill (a handler, ignored, a default that spares):
	 * their record is built in place in the ring. One that may kill is
	 * built in the per-CPU scratch, copied to the killers map, and then to
	 * the ring, which costs one copy more. */
	struct event_full *rec;
	__u64 avail = 0;
	if (!may_kill) {
		__u64 size = detail ? sizeof(struct event_full) : sizeof(struct event);
		if (!admit(size, NOT_VITAL, &avail))
			return 0;
		if (detail)
			rec = bpf_ringbuf_reserve(&events, sizeof(struct event_full), 0);
		else
			rec = bpf_ringbuf_reserve(&events, sizeof(struct event), 0);
		if (!rec) {
			count(STAT_LOST);
			return 0;
		}
	} else {
		__u32 zero = SCRATCH_GENERATE;
		rec = bpf_map_lookup_elem(&scratch, &zero);
		if (!rec)
			return 0;
	}
	struct event *e = &rec->ev;

	e->ts_ns = now;
	e->type = EV_GENERATE;
	e->sig = sig;
	e->code = code;
	e->result = result;
	e->si_pid = si_pid;
	e->si_uid = si_uid;
	e->sender_pid = cur_tgid;
	e->sender_tid = (__u32)id;
	e->sender_uid = current_uid(trusted, cur);
	e->target_pid = target_tgid;
	e->target_tid = task->pid;
	e->target_uid = task->real_cred->uid.val;
	e->exit_code = 0;
	e->sc_nr = 0;
	e->sc_ret = 0;
	e->cpu = bpf_get_smp_processor_id();
	e->send_nr = 0;
	e->send_arg = 0;
	e->cgroup_id = 0;
	e->sender_cgroup = task_cgroup(trusted, cur);
	e->target_cgroup = task_cgroup(true, task);
	e->pgid = 0;
	e->_reserved = 0;
	if (filter_comms) {
		__builtin_memcpy(e->sender_comm, scomm, TASK_COMM_LEN);
		__builtin_memcpy(e->sender_thread_comm, sthread, TASK_COMM_LEN);
		__builtin_memcpy(e->target_comm, tcomm, TASK_COMM_LEN);
		__builtin_memcpy(e->target_thread_comm, tthread, TASK_COMM_LEN);
	} else {
		task_comm(trusted, cur_leader, e->sender_comm);
		current_comm(trusted, cur, e->sender_thread_comm);
		__builtin_memcpy(e->target_comm, task->group_leader->comm, TASK_COMM_LEN);
		__builtin_memcpy(e->target_thread_comm, task->comm, TASK_COMM_LEN);
	}
	if (by_current)
		read_send_syscall(trusted, cur, e, &flags);
	else if (sig == SIGKILL && code == SI_KERNEL)
		flags |= kernel_kill_reason(ctx, trusted, cur, task, cur_tgid, target_tgid, &e->cgroup_id);
	e->handler = handler;
	e->sa_flags = sa_flags;

	__u64 bit = 1ULL << (sig - 1);
	if ((task->blocked.sig[0] & bit) && (!group || group_blocks(task, bit)))
		flags |= F_BLOCKED;
	if (task->real_blocked.sig[0] & bit)
		flags |= F_SIGWAIT;
	if (task->signal->flags & SIGNAL_UNKILLABLE)
		flags |= F_UNKILLABLE;
	if (task->ptrace)
		flags |= F_TRACED;
	/* A group already exiting never takes the signal: prepare_signal()
	 * drops all but a core dump's SIGKILL since 5.17 (the tracepoint says
	 * "ignored"), and before that queued it to threads on their way out.
	 * The tracepoint fires after complete_signal(), which marks the group
	 * exiting with this very signal when it is fatal: that is no earlier
	 * exit. An exiting thread (PF_EXITING) likewise never dequeues a
	 * signal sent to it alone; one sent to its process goes to another. */
	struct signal_struct *tsig = task->signal;
	if (tsig->flags & SIGNAL_GROUP_EXIT) {
		if (result == TRACE_SIGNAL_IGNORED || (tsig->group_exit_code & 0x7f) != sig)
			flags |= F_TARGET_EXITING;
	} else if (!group && (task->flags & PF_EXITING)) {
		flags |= F_TARGET_EXITING;
	}

	if (detail) {
		struct sender_detail *d = &rec->d;
		d->argv_len = 0;
		d->ancestry_len = 0;
		d->_pad = 0;
		flags |= F_DETAIL;
		fill_sender_detail(trusted, cur, d, &flags);
		/* Only now that the record is in the ring can later ones refer
		 * to it. */
		if (ds) {
			ds->ts = now;
			ds->mm = mm;
			ds->tgid = cur_tgid;
			ds->ppid = ppid;
		}
	}
	e->flags = flags;

	if (!may_kill) {
		submit(rec, avail);
		return 0;
	}
	struct killer_key k = {.tgid = target_tgid, .sig = sig};
	bpf_map_update_elem(&killers, &k, rec, BPF_ANY);
	if (!wanted) {
		count(STAT_FILTERED);
		return 0;
	}
	/* Vital: it kills now. Not when blocked, waited for, traced (the
	 * tracer decides) or the group is already exiting: those can be
	 * repeated without anyone dying, so they get no reserve. The reserve
	 * is charged to the sender, or for a kernel-raised kill (the OOM
	 * killer runs in whichever task allocated) to the target. */
	__u64 vital = NOT_VITAL;
	if (result == 0 && !(flags & (F_BLOCKED | F_SIGWAIT | F_TRACED | F_TARGET_EXITING)))
		vital = (code == SI_KERNEL || (flags & F_SENDER_KTHREAD)) ? e->target_uid : e->sender_uid;
	if (detail)
		output(rec, sizeof(struct event_full), vital);
	else
		output(rec, sizeof(struct event), vital);
	return 0;
}

/* The system call the signal interrupted, from the task's saved user
 * registers. x86_64: signal_deliver fires inside get_signal(), before
 * handle_signal() rewrites ax, so orig_ax is the syscall and ax still holds
 * its -ERESTART* value (arch/x86/kernel/signal.c). arm64's do_signal()
 * rewinds the registers before calling get_signal() (regs[0] = orig_x0,
 * forget_syscall()), so nothing is left to read there. Needs
 * bpf_task_pt_regs() (5.15+). */
static __always_inline void read_interrupted_syscall(bool trusted, struct task_struct *cur, struct event *e, __u32 *flags)
{
#if defined(__TARGET_ARCH_x86)
	if (!trusted || !bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		return;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(cur);
	if (!regs)
		return;
	long nr = regs->orig_ax;
	long ret = regs->ax;
	if (nr < 0 || ret < -ERESTART_RESTARTBLOCK || ret > -ERESTARTSYS)
		return;
	e->sc_nr = nr;
	e->sc_ret = ret;
	*flags |= F_SYSCALL;
#endif
}

/* Old layouts, for CO-RE: before 5.16 (commit "coredump: Limit coredumps
 * to a single thread group") core_state hung off the mm, and before 5.17
 * de_thread() marked an exec with signal->group_exit_task, which the
 * coredump code set too. */
struct signal_struct___old {
	struct task_struct *group_exit_task;
} __attribute__((preserve_access_index));
struct mm_struct___old {
	struct core_state *core_state;
} __attribute__((preserve_access_index));

/* A SIGKILL delivered with SEND_SIG_NOINFO is one the kernel queued
 * itself to every other thread (kernel/signal.c get_signal(): "Has this
 * task already been marked for death?"): for a fatal signal
 * (complete_signal()), exit_group() (zap_other_threads()), a core dump
 * (fs/coredump.c zap_threads()) or an exec (fs/exec.c de_thread()). The
 * first two are told apart in userspace by group_exit_code; these flags
 * name the other two. Rare: only read for such a SIGKILL. */
static __always_inline __u32 internal_kill_cause(struct task_struct *cur, struct signal_struct *sigs)
{
	if (bpf_core_field_exists(struct signal_struct, core_state)) {
		if (BPF_CORE_READ(sigs, core_state))
			return F_KILL_COREDUMP;
	} else {
		struct mm_struct___old *mm = (void *)BPF_CORE_READ(cur, mm);
		if (mm && BPF_CORE_READ(mm, core_state))
			return F_KILL_COREDUMP;
	}
	if (bpf_core_field_exists(struct signal_struct, group_exec_task)) {
		if (BPF_CORE_READ(sigs, group_exec_task))
			return F_KILL_EXEC;
	} else if (BPF_CORE_READ((struct signal_struct___old *)sigs, group_exit_task)) {
		return F_KILL_EXEC;
	}
	return 0;
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(on_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	if (!want_deliver && !want_disp)
		return 0;
	bool trusted = have_task_btf();
	struct task_struct *cur = current_task(trusted);
	struct signal_struct *cursig = RD(trusted, cur, signal);
	/* A fatal default action arrives here as SIGKILL (complete_signal());
	 * it passes the signal filter when its cause, the group exit code,
	 * does, so `-s HUP` still shows the process dying of SIGHUP. */
	if (!sig_wanted(sig) && !(sig == SIGKILL && sig_wanted(RD(trusted, cursig, group_exit_code) & 0x7f)))
		return 0;

	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	__u32 flags = 0;
	int code = SI_USER;
	__s32 si_pid = 0;
	__u32 si_uid = 0;

	/* get_signal() passes SEND_SIG_NOINFO when the group is already dying
	 * (kernel/signal.c: "Has this task already been marked for death?"). */
	flags |= read_info(arg_value(ctx, 1), &code, &si_pid, &si_uid);

	if ((self_tgid && tgid == self_tgid && si_pid == self_tgid) || !pids_wanted(si_pid, tgid) ||
	    ((filter_sender_uids || filter_target_uids) && !uids_wanted(si_uid, current_uid(trusted, cur)))) {
		count(STAT_FILTERED);
		return 0;
	}
	struct task_struct *leader = RD(trusted, cur, group_leader);
	char comm[TASK_COMM_LEN] = {}, tcomm[TASK_COMM_LEN] = {};
	if (filter_comms) {
		read_comm(comm, leader->comm);
		bpf_get_current_comm(tcomm, sizeof(tcomm));
		if (!comms_wanted(comm, tcomm, comm, tcomm)) {
			count(STAT_FILTERED);
			return 0;
		}
	}

	/* ka too is read through a helper, whatever type this kernel's
	 * verifier gives it. */
	__u64 pair[2] = {};
	unsigned long ka_val = arg_value(ctx, 2);
	if (ka_val)
		bpf_probe_read_kernel(pair, sizeof(pair), (void *)ka_val + bpf_core_field_offset(struct k_sigaction, sa.sa_handler));
	/* SA_RESETHAND: get_signal() sets SIG_DFL right after this
	 * tracepoint, as it hands the signal to the handler. */
	if (want_disp && (pair[1] & SA_RESETHAND) && pair[0] > 1 && (disp_sigmask & (1ULL << (sig - 1))) &&
	    (disp_all || kills_by_default(sig))) {
		__u64 now = bpf_ktime_get_boot_ns();
		if (kills_by_default(sig))
			note_fatal(trusted, cur, sig, DC_RESETHAND, now);
		emit_disposition(trusted, cur, now, sig, DC_RESETHAND, 0, pair[0], pair[1], 0, pair[1], 0, 0);
	}
	if (!want_deliver)
		return 0;
	/* Counting in the kernel: deliveries too, but a SIGKILL, which trace
	 * must tell apart in Go (the kernel's kills of a dying group's other
	 * threads are not shown in a table). */
	if (count_keys && sig != SIGKILL) {
		count_delivery(trusted, cur, leader, sig, tgid, comm);
		return 0;
	}
	/* Vital: this delivery kills the process (charged to it). A fatal
	 * signal, SIGKILL included, reaches every thread as an internal
	 * (NOINFO) SIGKILL once complete_signal() has marked the group
	 * exiting (kernel/signal.c get_signal()): of those only the group
	 * leader's is vital, and only for a signal death (exit_group() and
	 * exec leave no signal in group_exit_code), so a process with
	 * thousands of threads costs the reserve one record. */
	__u64 vital = NOT_VITAL;
	if (sig != SIGKILL) {
		if (pair[0] == 0 && kills_by_default(sig))
			vital = current_uid(trusted, cur);
	} else if (!(flags & F_INFO_NOINFO) || ((__u32)id == tgid && (RD(trusted, cursig, group_exit_code) & 0x7f))) {
		vital = current_uid(trusted, cur);
	}
	if (rate_interval_ns && vital == NOT_VITAL && sig != SIGKILL && take_summarised((__u32)id, tgid, sig)) {
		count_summarised_delivery(tgid, sig, pair[0], leader->comm, current_uid(trusted, cur));
		return 0;
	}
	__u64 avail;
	if (!admit(sizeof(struct event), vital, &avail))
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(struct event), 0);
	if (!e) {
		count(STAT_LOST);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->type = EV_DELIVER;
	e->sig = sig;
	e->code = code;
	e->result = 0;
	e->si_pid = si_pid;
	e->si_uid = si_uid;
	e->sender_pid = 0;
	e->sender_tid = 0;
	e->sender_uid = 0;
	__builtin_memset(e->sender_comm, 0, TASK_COMM_LEN);
	__builtin_memset(e->sender_thread_comm, 0, TASK_COMM_LEN);
	e->target_pid = tgid;
	e->target_tid = (__u32)id;
	e->target_uid = current_uid(trusted, cur);
	if (filter_comms) {
		__builtin_memcpy(e->target_comm, comm, TASK_COMM_LEN);
		__builtin_memcpy(e->target_thread_comm, tcomm, TASK_COMM_LEN);
	} else {
		task_comm(trusted, leader, e->target_comm);
		current_comm(trusted, cur, e->target_thread_comm);
	}
	e->handler = pair[0];
	e->sa_flags = pair[1];
	e->exit_code = 0;
	e->sc_nr = 0;
	e->sc_ret = 0;
	e->cpu = bpf_get_smp_processor_id();
	e->send_nr = 0;
	e->send_arg = 0;
	e->cgroup_id = 0;
	e->sender_cgroup = 0;
	e->target_cgroup = task_cgroup(trusted, cur);
	e->pgid = 0;
	e->_reserved = 0;
	read_interrupted_syscall(trusted, cur, e, &flags);
	if (RD(trusted, cursig, flags) & SIGNAL_GROUP_EXIT) {
		flags |= F_GROUP_EXIT;
		e->exit_code = RD(trusted, cursig, group_exit_code);
	}
	if (sig == SIGKILL && (flags & F_INFO_NOINFO)) {
		__u32 cause = internal_kill_cause(cur, cursig);
		/* Before 5.16 a core dump marked the group SIGNAL_GROUP_COREDUMP,
		 * not SIGNAL_GROUP_EXIT (fs/coredump.c zap_process()), with the
		 * signal in group_exit_code all the same: the group is dying. */
		if ((cause & F_KILL_COREDUMP) && !(flags & F_GROUP_EXIT)) {
			flags |= F_GROUP_EXIT;
			e->exit_code = RD(trusted, cursig, group_exit_code);
		}
		flags |= cause;
	}
	e->flags = flags;
	submit(e, avail);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	if (!want_exit && !want_disp)
		return 0;
	struct signal_struct *sigs = p->signal;
	bool group_dead;
	if (exit_has_group_dead)
		group_dead = arg_value(ctx, 1) & 0xff;
	else
		group_dead = sigs->live.counter == 0;
	if (!group_dead)
		return 0;
	struct exit_key xk = {.tgid = p->tgid, .start = p->group_leader->start_time};
	__u64 exec_ts = 0;
	if (want_disp) {
		__u64 *ts = bpf_map_lookup_elem(&exec_seen, &xk);
		if (ts) {
			exec_ts = *ts;
			bpf_map_delete_elem(&exec_seen, &xk);
		}
	}
	if (!want_exit)
		return 0;

	/* A signal death sets SIGNAL_GROUP_EXIT with the signal (and 0x80 when
	 * a core was dumped) in group_exit_code; exit_group(n) leaves n << 8,
	 * whose low seven bits are zero. */
	int code = (sigs->flags & SIGNAL_GROUP_EXIT) ? sigs->group_exit_code : p->exit_code;
	int sig = code & 0x7f;
	if (sig == 0 || sig == 0x7f || !sig_wanted(sig))
		return 0;
	if (!exit_has_group_dead) {
		struct exit_key ek = {.tgid = p->tgid, .start = p->group_leader->start_time};
		__u8 one = 1;
		if (bpf_map_update_elem(&exits_seen, &ek, &one, BPF_NOEXIST))
			return 0;
	}

	__u32 zero = SCRATCH_EXIT;
	struct exit_record *rec = bpf_map_lookup_elem(&scratch, &zero);
	if (!rec)
		return 0;
	struct killer_key k = {.tgid = p->tgid, .sig = sig};
	struct event_full *killer = bpf_map_lookup_elem(&killers, &k);
	__u32 flags = 0;
	__u32 killer_pid = 0;
	char killer_comm[TASK_COMM_LEN] = {};
	if (killer) {
		__builtin_memcpy(&rec->killer, killer, sizeof(*killer));
		killer_pid = rec->killer.ev.sender_pid;
		__builtin_memcpy(killer_comm, rec->killer.ev.sender_comm, TASK_COMM_LEN);
		flags |= F_KILLER;
		bpf_map_delete_elem(&killers, &k);
	}

	struct event *e = &rec->ev;
	/* The process's name, not the last thread's: rsyslogd's last thread
	 * to exit is often "rs:main Q:Reg". */
	__builtin_memset(e->target_comm, 0, TASK_COMM_LEN);
	__builtin_memset(e->target_thread_comm, 0, TASK_COMM_LEN);
	read_comm(e->target_comm, p->group_leader->comm);
	read_comm(e->target_thread_comm, p->comm);
	if (!pids_wanted(killer_pid, p->tgid) ||
	    !comms_wanted(killer_comm, killer_comm, e->target_comm, e->target_thread_comm) ||
	    ((filter_sender_uids || filter_target_uids) &&
	     !uids_wanted(killer ? rec->killer.ev.sender_uid : 0, p->real_cred->uid.val))) {
		count(STAT_FILTERED);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->type = EV_EXIT;
	e->sig = sig;
	e->code = 0;
	e->result = 0;
	e->si_pid = 0;
	e->si_uid = 0;
	e->sender_pid = 0;
	e->sender_tid = 0;
	e->sender_uid = 0;
	__builtin_memset(e->sender_comm, 0, TASK_COMM_LEN);
	__builtin_memset(e->sender_thread_comm, 0, TASK_COMM_LEN);
	e->target_pid = p->tgid;
	e->target_tid = p->pid;
	e->target_uid = p->real_cred->uid.val;
	e->exit_code = code;
	e->sc_nr = 0;
	e->sc_ret = 0;
	e->cpu = bpf_get_smp_processor_id();
	e->send_nr = 0;
	e->send_arg = 0;
	e->cgroup_id = 0;
	e->sender_cgroup = 0;
	e->target_cgroup = task_cgroup(true, p);
	e->pgid = 0;
	e->_reserved = 0;
	e->handler = 0;
	e->sa_flags = 0;
	e->flags = flags;
	rec->since_ns = 0;
	rec->since_cause = 0;
	rec->_pad = 0;
	if (want_disp) {
		struct disp_key dk = {.tgid = p->tgid, .sig = sig, .start = xk.start};
		struct disp_since *ds = bpf_map_lookup_elem(&disp_last, &dk);
		if (ds && ds->ts > exec_ts) {
			rec->since_ns = ds->ts;
			rec->since_cause = ds->cause;
		} else if (exec_ts) {
			rec->since_ns = exec_ts;
			rec->since_cause = DC_EXEC;
		}
	}
	/* Vital, charged to the process that died. */
	if (killer)
		output(rec, sizeof(struct exit_record), e->target_uid);
	else
		output(rec, offsetof(struct exit_record, killer), e->target_uid);
	return 0;
}
