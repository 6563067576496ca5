// SPDX-License-Identifier: GPL-2.0
/* A second, independent observer of the kernel's own signal tracepoints:
 * per tgid, how many SIGALRMs signal_generate, signal_deliver and
 * itimer_expire (ITIMER_REAL) reported. Nothing of sigtrace's is shared
 * (own maps, no ring, atomic counts), so when sigtrace and this disagree
 * the fault is sigtrace's, and when they agree it is the kernel's. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

enum { K_GENERATE, K_DELIVER, K_ITIMER };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* tgid << 32 | kind */
	__type(value, __u64);
} cnt SEC(".maps");

static void inc(__u32 tgid, __u32 kind)
{
	__u64 key = ((__u64)tgid << 32) | kind, one = 1;
	__u64 *v = bpf_map_lookup_elem(&cnt, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&cnt, &key, &one, BPF_NOEXIST);
}

SEC("tp_btf/signal_generate")
int BPF_PROG(on_generate, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{
	if (sig == 14)
		inc(task->tgid, K_GENERATE);
	return 0;
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(on_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	if (sig == 14)
		inc(bpf_get_current_pid_tgid() >> 32, K_DELIVER);
	return 0;
}

SEC("tp_btf/itimer_expire")
int BPF_PROG(on_itimer, int which, struct pid *pid, unsigned long long now)
{
	if (which == 0) /* ITIMER_REAL */
		inc(BPF_CORE_READ(pid, numbers[0].nr), K_ITIMER);
	return 0;
}
