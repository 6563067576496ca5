/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The records sigtrace's BPF programs hand to userspace. bpf2go generates
 * the Go types from these (-type event -type sender_detail), so Go never
 * keeps a hand copy. Fields are ordered by size so neither side has holes. */
#ifndef SIGTRACE_H
#define SIGTRACE_H

#define TASK_COMM_LEN 16

/* Sizes userspace mirrors (bpf2go generates Go constants from enums). */
enum limits {
	MAX_ANCESTRY = 8, /* sender_detail.ancestry: parents walked */
	ARGV_LEN = 256,   /* sender_detail.argv: bytes of the command line */
	DETAIL_SLOTS = 8, /* sender-detail slots per CPU: tgid % DETAIL_SLOTS */
	OOM_RANGES = 3,   /* kernel text ranges of the OOM killer's kill functions */
	KSTACK_DEPTH = 12, /* kernel frames looked at for them */
	MAX_PIDS = 1024,  /* entries of the pid filter map */
	MAX_COMMS = 64,   /* entries of the comm filter map */
	MAX_UIDS = 256,   /* entries of the uid filter map */
	MAX_DISP_LAST = 16384, /* entries of disp_last: (process, signal) made fatal */
	MAX_EXECS = 32768,     /* entries of exec_seen: live processes' last exec */
};

/* Signals whose default action spares the process, bit sig-1: SIGCHLD
 * 17, SIGCONT 18, SIGSTOP 19, SIGTSTP 20, SIGTTIN 21, SIGTTOU 22, SIGURG
 * 23, SIGWINCH 28 (the kernel's SIG_KERNEL_IGNORE_MASK and
 * SIG_KERNEL_STOP_MASK, include/linux/signal.h). Every other signal's
 * default kills; the Go side's signals.DefaultAction is tested against
 * this. */
enum default_spares {
	DEFAULT_SPARES = (1 << 16) | (1 << 17) | (1 << 18) | (1 << 19) | (1 << 20) | (1 << 21) | (1 << 22) | (1 << 27),
};

/* pid_filter values: which side of a signal the pid must be on. */
enum pid_bits {
	PID_SENDER = 1,
	PID_TARGET = 2,
	PID_ANY = 4,
};

/* uid_filter value bits: which side's uid the filter names. */
enum uid_bits {
	UID_SENDER = 1,
	UID_TARGET = 2,
};

enum event_type {
	EV_GENERATE = 1,
	EV_DELIVER = 2,
	EV_EXIT = 3,
	EV_DISPOSITION = 4,
};

/* event.flags */
enum event_flags {
	F_GROUP = 1 << 0,          /* process-directed (group) signal */
	F_BLOCKED = 1 << 1,        /* every eligible thread blocks it */
	F_INFO_NOINFO = 1 << 2,    /* info was SEND_SIG_NOINFO (SI_USER from current) */
	F_INFO_PRIV = 1 << 3,      /* info was SEND_SIG_PRIV (SI_KERNEL) */
	F_UNKILLABLE = 1 << 4,     /* target's signal->flags has SIGNAL_UNKILLABLE */
	F_TRACED = 1 << 5,         /* target is ptraced */
	F_SIGWAIT = 1 << 6,        /* target waits for it in sigtimedwait (real_blocked) */
	F_SENDER_KTHREAD = 1 << 7, /* current is a kernel thread */
	F_DETAIL = 1 << 8,         /* a struct sender_detail follows the event */
	F_ARGV_TRUNC = 1 << 9,     /* argv was longer than ARGV_LEN */
	F_GROUP_EXIT = 1 << 10,    /* deliver: the group is already dying */
	F_KILLER = 1 << 11,        /* exit: a killer record follows */
	F_SYSCALL = 1 << 12,       /* deliver: it interrupted syscall sc_nr, which returned sc_ret */
	F_DETAIL_SAME = 1 << 13,   /* generate: same sender detail as the last F_DETAIL record of this CPU and slot */
	F_SEND_SYSCALL = 1 << 14,  /* generate: current was in system call send_nr with first argument send_arg */
	F_KK_OOM = 1 << 15,        /* generate: SI_KERNEL SIGKILL from the OOM killer (cgroup_id: the victim's memory cgroup) */
	F_KK_RLIMIT_CPU = 1 << 16, /* generate: SI_KERNEL SIGKILL to itself with a finite hard RLIMIT_CPU */
	F_KK_RLIMIT_RT = 1 << 17,  /* generate: the same with a finite hard RLIMIT_RTTIME */
	F_KK_EXITING = 1 << 18,    /* generate: SI_KERNEL SIGKILL sent by an exiting task (its pid namespace's init) */
	F_TARGET_EXITING = 1 << 19, /* generate: the target's group is already exiting (prepare_signal drops it) */
	F_KILL_EXEC = 1 << 20,     /* deliver: internal SIGKILL because another thread execs (de_thread) */
	F_KILL_COREDUMP = 1 << 21, /* deliver: internal SIGKILL because the group dumps core */
	F_VFORK = 1 << 22,         /* disposition: by a vfork child, whose handlers last until its exec */
};

/* disp_record.cause: what changed the disposition. */
enum disp_cause {
	DC_SIGACTION = 1, /* rt_sigaction, sigaction, signal (kernel/signal.c do_sigaction()) */
	DC_EXEC = 2,      /* execve reset the handlers to default (flush_signal_handlers()) */
	DC_RESETHAND = 3, /* SA_RESETHAND: get_signal() reset it as the handler ran */
};

struct event {
	__u64 ts_ns;   /* bpf_ktime_get_boot_ns() */
	__u64 handler; /* sa_handler: 0 SIG_DFL, 1 SIG_IGN, else an address */
	__u64 sa_flags;
	__u32 type; /* enum event_type */
	__s32 sig;
	__s32 code;   /* si_code */
	__s32 result; /* generate: TRACE_SIGNAL_*; deliver: 0 */
	__u32 flags;  /* enum event_flags */
	__s32 si_pid; /* from siginfo, in the receiver's pid namespace */
	__u32 si_uid;
	__u32 sender_pid; /* current: tgid, pid and real uid in the init namespace */
	__u32 sender_tid;
	__u32 sender_uid;
	__u32 target_pid;
	__u32 target_tid;
	__u32 target_uid;
	__s32 exit_code; /* deliver with F_GROUP_EXIT, exit: signal->group_exit_code */
	__s32 sc_nr;     /* deliver with F_SYSCALL: the interrupted system call */
	__s32 sc_ret;    /* and its -ERESTART* return value */
	__u32 cpu;       /* the CPU that wrote the record, for F_DETAIL_SAME */
	__s32 send_nr;   /* generate with F_SEND_SYSCALL: the sender's system call */
	__s64 send_arg;  /* and its first argument (kill: pid, 0 or -pgid or -1) */
	__u64 cgroup_id; /* generate with F_KK_OOM: the victim's memory cgroup id */
	/* Sender's and target's cgroup in the default (v2) hierarchy: its
	 * kernfs id, which is the directory's inode number; 0 when unknown
	 * (deliver and exit have no sender). */
	__u64 sender_cgroup;
	__u64 target_cgroup;
	__u32 pgid;      /* generate with F_SEND_SYSCALL: the sender's process group */
	__u32 _reserved;
	/* Process names (the group leader's comm) and the thread's own: a
	 * daemon's threads often carry other names (rsyslogd's "rs:main Q:Reg"). */
	char sender_comm[TASK_COMM_LEN];
	char target_comm[TASK_COMM_LEN];
	char sender_thread_comm[TASK_COMM_LEN];
	char target_thread_comm[TASK_COMM_LEN];
};

struct ancestor {
	__u32 pid;
	char comm[TASK_COMM_LEN];
};

/* Only for signals a process sent: the sender's parent chain and argv, read
 * in the kernel because senders such as pkill are gone before userspace
 * could look at /proc. */
struct sender_detail {
	__u16 argv_len;
	__u8 ancestry_len;
	__u8 _pad;
	struct ancestor ancestry[MAX_ANCESTRY];
	char argv[ARGV_LEN];
};

struct event_full {
	struct event ev;
	struct sender_detail d;
};

/* A process died of a signal: the event (type EV_EXIT, sig = the cause, not
 * the internal SIGKILL) and, with F_KILLER, the generate record of the
 * signal that killed it, joined in the kernel. */
struct exit_record {
	struct event ev;
	/* Disposition history: since when the signal's disposition has been
	 * the default (boot ns; 0: not seen), and what made it so (enum
	 * disp_cause: a sigaction or SA_RESETHAND, or DC_EXEC for the
	 * process's last exec, whichever came last). */
	__u64 since_ns;
	__u32 since_cause;
	__u32 _pad;
	struct event_full killer;
};

/* A process changed what it does with a signal (EV_DISPOSITION). The
 * head (ts_ns to sig) has struct event's layout, so the type field tells
 * the records apart. The process is current; its ancestry and argv follow
 * (argv is empty for an exec, whose new argv is not set up yet). */
struct disp_record {
	__u64 ts_ns;
	__u64 to_handler; /* the new sa_handler: 0 SIG_DFL, 1 SIG_IGN, else an address */
	__u64 to_flags;
	__u32 type;       /* EV_DISPOSITION */
	__s32 sig;        /* 0 for an exec: see reset_mask */
	__u64 from_handler; /* the old one (0 for an exec: a handler, address not kept) */
	__u64 from_flags;
	__u64 reset_mask; /* exec: bit sig-1 of each signal whose handler the exec resets */
	__u64 cgroup;     /* the process's cgroup (v2), as event.target_cgroup */
	__u32 cause;      /* enum disp_cause */
	__u32 flags;      /* F_ARGV_TRUNC, F_VFORK */
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 cpu;
	char comm[TASK_COMM_LEN]; /* the process's name (for an exec: the new program's) */
	char thread_comm[TASK_COMM_LEN];
	struct sender_detail d;
};

/* Counting in the kernel (trace --count-by with keys and a filter the
 * kernel can decide, generate events only): which fields of count_key are
 * set, the rest left zero. */
enum count_fields {
	CK_SIG = 1 << 0,
	CK_SENDER_PID = 1 << 1,
	CK_TARGET_PID = 1 << 2,
	CK_SENDER_UID = 1 << 3,
	CK_TARGET_UID = 1 << 4,
	CK_SENDER_COMM = 1 << 5,
	CK_TARGET_COMM = 1 << 6,
	MAX_COUNT_KEYS = 65536, /* entries of the counts map */
};

struct count_key {
	__s32 sig;
	__u32 sender_pid;
	__u32 target_pid;
	__u32 sender_uid;
	__u32 target_uid;
	__u32 type; /* EV_GENERATE or EV_DELIVER */
	char sender_comm[TASK_COMM_LEN]; /* the process's name (group leader) */
	char target_comm[TASK_COMM_LEN];
};

/* Indexes of the per-CPU stats array. */
enum stat_index {
	STAT_SUBMITTED = 0, /* records handed to the ring buffer */
	STAT_LOST = 1,      /* ring buffer full: reserve failed */
	STAT_FILTERED = 2,  /* dropped by a kernel-side filter, never copied */
	STAT_SHED = 3,      /* dropped to keep the ring's reserve for vital records */
	STAT_SHED_VITAL = 4, /* vital, dropped: its uid used its share of the reserve */
	STAT_COUNT_FULL = 5, /* counting: a new key found the counts map full */
	STAT_COUNTED = 6,    /* counting: generate events counted in the map */
	STAT_SUMMARISED = 7, /* beyond a key's rate: counted in rate_keys, not copied */
	STAT_MAX = 8,
};

/* Repeated traffic summarised beyond a per-key rate (record, trace): the
 * key of a kind of event, whose first ones are kept in full and the rest
 * counted. For a delivery, sender_pid is 0 and result RK_DELIVER. */
enum rate_limits {
	MAX_RATE_KEYS = 16384, /* entries of the rate_keys map */
	RK_DELIVER = 0xff,
};

struct rate_key {
	__u32 sender_pid;
	__u32 target_pid;
	__u8 sig;
	__u8 result; /* the kernel's queueing verdict, or RK_DELIVER */
	__u8 disp;   /* 0 default, 1 ignore, 2 handler */
	__u8 blocked;
};

struct rate_val {
	__u64 tat;        /* GCRA theoretical arrival time, boot ns */
	__u64 summarised; /* events of the key counted, not copied: only grows */
	__u32 sender_uid;
	__u32 target_uid;
	char sender_comm[TASK_COMM_LEN]; /* the processes' names when first seen */
	char target_comm[TASK_COMM_LEN];
};

#endif
