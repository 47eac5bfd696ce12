// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * drip's kernel half: allocator uprobes pair entry with return in task
 * storage, capture the caller's stack, and emit events; sched tracepoints
 * keep the set of traced processes (children join in-kernel) and report
 * fork/exec/exit; syscall tracepoints catch anonymous mmap/munmap made by
 * the program itself.  BPF only filters, pairs, captures and emits.
 *
 * The uprobe programs are attached once, to a perf event of each uprobe
 * trace event opened on drip's holder task; they run for every perf event of
 * that trace event, i.e. for exactly the threads drip opened events on (and
 * their inheritors).  So they need no PID filter.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "drip/events.h"
#include "drip/unwind.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile struct drip_config cfg = {};

struct pending {
	__u64 a0, a1, a2;
	__u64 sp; /* user sp at entry: where the return address sits */
	__u64 t0; /* entry time, for the calls that release a block: realloc */
	__u32 fn;
	__u32 pad;
};

/* The mapping the walk is in: consecutive frames mostly share one, so it is cached. */
struct mapping {
	__u64 start, end;
	__u64 pgoff; /* file offset of start */
	struct drip_file_key key;
	__u32 file_backed;
	__u32 has_info; /* info holds the file's file_tables entry */
	struct drip_file_info info;
};

/*
 * Rows this thread used last, direct-mapped by (file, pc): a loop allocating
 * from the same stacks finds every frame's row here, cheaper than the shared
 * LRU map (hashing a 24-byte key and touching its LRU lists).
 */
#define ROW_MEMO_SIZE 64

/*
 * One read of the stack's bottom serves most frames' return addresses and
 * saved registers: each bpf_probe_read_user costs more than copying a few
 * hundred bytes.
 */
#define STACK_WINDOW 2048

struct row_memo {
	__u64 pc; /* the row_key's pc; 0: empty */
	__u64 ino;
	__u32 dev;
	__u32 pad;
	struct drip_unwind_row row;
	__u32 pad2;
};

/*
 * Walk state.  It lives in task storage, not on the BPF stack: the verifier
 * does not track map memory precisely, so the bpf_loop callbacks that use it
 * converge at once instead of being simulated iteration by iteration.
 */
struct unwind {
	__u64 ip, sp, bp;
	__u32 n;
	__u32 exact_ip; /* ip is where execution stopped (signal), not a return address */
	__u32 done;
	__u32 cut;	      /* stopped early (unknown file): the stack is marked truncated */
	struct mapping map;   /* the mapping of the frame being walked */
	struct mapping spare; /* the one before: a walk goes back and forth between two */
	/* the previous walk, kept to reuse its outer frames (see memo_reuse) */
	__u32 m_n;	/* its frames */
	__u32 m_valid;	/* it reached the outermost frame, and nothing was cut */
	__u32 memo_ok;	/* this walk can become the memo (no signal frame) */
	__u32 mj;	/* cursor: first memo frame whose sp is not below this frame's */
	__u32 vk, vend; /* verification: the memo frame checked next, and the last */
	__u32 src, dst; /* copying memo frames src.. to dst.. */
	__u32 vbad;
	__u32 whole;  /* this walk is the memo's, frame for frame */
	__u64 m_hash; /* the memo's stack hash */
};

struct search {
	__u64 key;
	__u32 lo, hi;
};

/*
 * Python frames are read PY_WINDOW bytes at a time: 3.11+ keeps a thread's
 * frames next to each other on its data stack, newest highest, so one read
 * serves a dozen frames (a read costs more than copying them).
 */
#define PY_WINDOW     2048
#define PY_TSTATE_MAX 256 /* PyThreadState bytes read at once: thread_id and frame */

/* The Python frame walk of one allocation (see py_walk()). */
struct py_walk {
	struct drip_py_proc cfg; /* this process's interpreter, copied for the loop callbacks */
	__u64 fsbase;		 /* pthread_self(): what PyThreadState.thread_id holds */
	__u64 tstate;		 /* this thread's PyThreadState, kept across calls (checked) */
	__u64 interp, cur;	 /* the thread-list walk */
	__u64 frame;		 /* the frame walk */
	__u64 win_lo, win_hi;	 /* win holds the process's [win_lo, win_hi) */
	__u64 floor;		 /* this thread's data stack: nothing readable below (kept) */
	__u64 hash;		 /* of the frames' (code, instr), as they are found */
	__u64 entries;		 /* bit n: frame n has DRIP_PY_ENTRY (hashed at the end) */
	__u32 truncated;
	__u32 fault;
	__u8 buf[DRIP_PY_FRAME_MAX + 8]; /* one frame's bytes, when not in win */
	__u8 win[PY_WINDOW + DRIP_PY_FRAME_MAX + 8];
};

/* Per-thread state.  Task storage, not per-CPU: uprobe programs can be preempted. */
struct thread_state {
	__u32 depth;
	__u32 mmap_pending;
	__u64 mmap_len;
	__u64 mmap_flags;
	__u32 mmap_exec_file; /* a file mapped executable: its table may be needed soon */
	__u32 sys_pending;    /* DRIP_FN_MREMAP or DRIP_FN_BRK between enter and exit */
	__u64 sys_a0, sys_a1; /* mremap: old address, new length; brk: the old break */
	/* the last release counted: a release nested in it (delete -> free) is the same one */
	__u64 free_addr, free_sp, free_ret, free_ip;
	struct pending p[DRIP_MAX_NEST];
	struct drip_ev_stack stk; /* scratch for bpf_get_stack */
	struct drip_ev_stack_ids ids;
	struct drip_ev_stack_files files;
	struct unwind uw;
	struct search srch;
	__u64 hash; /* hash_stack's accumulator */
	struct row_memo rows[ROW_MEMO_SIZE];
	/* the stack's first STACK_WINDOW bytes from the probe's sp, read at once */
	__u64 win_lo;
	__u32 win_ok;
	__u32 pad;
	__u8 win[STACK_WINDOW];
	/* per frame of the last walk: sp and bp on entry to the frame, and the stack
	 * address its caller's bp was read from (0: bp carried over unchanged) */
	__u64 m_sp[128];
	__u64 m_bp[128];
	__u64 m_slot[128];
	struct py_walk pyw;
	struct drip_ev_py_stack py; /* Python frames of the stack being captured */
};

/* What a bpf_loop callback gets: the thread's state, where all loop state lives. */
struct loop_ctx {
	struct thread_state *ts;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24); /* resized by user space */
} events SEC(".maps");

/*
 * Requests for unwind tables (DRIP_EV_NEED_FILE) jump the queue: user space
 * takes them before the next record of events, so a library just mapped has
 * its table before its first stacks, not after the backlog ahead of it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} requests SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} threads SEC(".maps");

/* tgid -> 1 for every traced process; children join at fork */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} targets SEC(".maps");

/* stack hashes already sent to user space */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u32);
} sent_stacks SEC(".maps");

/* frees that found the ring buffer full: user space drains them (value: ts) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct drip_free_key);
	__type(value, __u64);
} free_overflow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DRIP_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* ---- unwind tables, filled by user space (src/unwinder.c) ---- */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 20); /* resized by user space */
	__type(key, __u32);
	__type(value, struct drip_unwind_row);
} unwind_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DRIP_MAX_TABLES);
	__type(key, __u32);
	__type(value, struct drip_unwind_table);
} unwind_tables SEC(".maps");

/* the files user space has looked at, by (dev, inode) as the kernel sees them */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DRIP_MAX_FILES);
	__type(key, struct drip_file_key);
	__type(value, struct drip_file_info);
} file_tables SEC(".maps");

/*
 * Rows already found, by (file, pc): allocation sites repeat, so most frames
 * cost one hash lookup instead of a ~20-step binary search.
 */
struct row_key {
	struct drip_file_key file;
	__u64 pc;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct row_key);
	__type(value, struct drip_unwind_row);
} row_cache SEC(".maps");

/* files BPF asked user space about, so it asks once; user space clears them */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DRIP_MAX_FILES);
	__type(key, struct drip_file_key);
	__type(value, __u32);
} files_requested SEC(".maps");

/* tgid -> where its CPython interpreter keeps its frames (user space fills it) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct drip_py_proc);
} py_procs SEC(".maps");

/* Set by user space once a CPython process is known: until then no allocation looks it up. */
__u32 py_active = 0;

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* Batch wake-ups: the consumer also polls on a timer. */
static __always_inline __u64 wakeup_flag(void)
{
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= cfg.wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline struct thread_state *thread_state(void)
{
	struct thread_state *ts;

	ts = bpf_task_storage_get(&threads, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ts)
		stat_inc(DRIP_STAT_NO_TASK_STORAGE);
	return ts;
}

/*
 * Pending calls whose frame lies at or below sp have returned without our
 * return probe firing (longjmp, attach/detach mid-call): forget them, or the
 * thread would look "inside the allocator" forever.
 */
static __always_inline void drop_stale(struct thread_state *ts, __u64 sp)
{
	for (int i = 0; i < DRIP_MAX_NEST; i++) {
		__u32 d = ts->depth;

		if (!d || d > DRIP_MAX_NEST)
			break;
		if (ts->p[(d - 1) & (DRIP_MAX_NEST - 1)].sp > sp)
			break;
		ts->depth = d - 1;
		stat_inc(DRIP_STAT_STALE_PENDING);
	}
}

static __always_inline int on_entry(struct pt_regs *ctx, __u32 fn)
{
	struct thread_state *ts;

	if (cfg.empty_programs)
		return 0;
	ts = thread_state();
	__u64 sp = PT_REGS_SP(ctx);
	struct pending *p;
	__u32 d;

	if (!ts)
		return 0;
	drop_stale(ts, sp);
	d = ts->depth;
	if (d >= DRIP_MAX_NEST) {
		stat_inc(DRIP_STAT_NEST_FULL);
		return 0;
	}
	p = &ts->p[d & (DRIP_MAX_NEST - 1)];
	p->a0 = PT_REGS_PARM1(ctx);
	p->a1 = PT_REGS_PARM2(ctx);
	p->a2 = PT_REGS_PARM3(ctx);
	p->sp = sp;
	p->fn = fn;
	p->t0 = fn == DRIP_FN_REALLOC || fn == DRIP_FN_REALLOCARRAY || fn == DRIP_FN_REALLOC_KEEP ||
				fn == DRIP_FN_XALLOCX ?
			bpf_ktime_get_ns() :
			0;
	ts->free_addr = 0; /* a block handed out again may be released again */
	ts->depth = d + 1;
	return 0;
}

static long hash_step(__u32 i, void *data)
{
	struct thread_state *ts = ((struct loop_ctx *)data)->ts;
	__u64 h = ts->hash;

	if (i >= DRIP_MAX_FRAMES || i >= ts->stk.nr)
		return 1;
	/* mask the index: the compiler may check one register and index with another */
	barrier_var(i);
	h = (h ^ ts->stk.ips[i & 127]) * 0x100000001b3ULL;
	ts->hash = h ^ (h >> 31);
	return 0;
}

/* Eight frames a call: a bpf_loop callback is an indirect call, dearer than the hashing. */
static long hash_8(__u32 i, void *data)
{
	for (int t = 0; t < 8; t++)
		if (hash_step(i * 8 + t, data))
			return 1;
	return 0;
}

/* Hash ts->stk.ips[0..nr) (nr is in ts->stk.nr). Never 0: 0 means "no stack". */
static __always_inline __u64 hash_stack(struct thread_state *ts)
{
	struct loop_ctx lc = { .ts = ts };

	/*
	 * Seeded with the address space: the same addresses mean other code in
	 * another image (ASLR off, non-PIE), and each stack record's frames are
	 * named by the process that sent it first.
	 */
	ts->hash = (0xcbf29ce484222325ULL ^ ts->stk.nr) +
		   (__u64)BPF_CORE_READ((struct task_struct *)bpf_get_current_task_btf(), mm) *
			   0x9e3779b97f4a7c15ULL;
	bpf_loop(DRIP_MAX_FRAMES / 8 + 1, hash_8, &lc, 0);
	return ts->hash ? ts->hash : 1;
}

/* A frame in a file user space has no entry for: ask for its table, once. */
static __always_inline void request_file(const struct drip_file_key *k, __u64 start, __u64 end)
{
	struct drip_ev_need_file *ev;
	__u32 one = 1;

	if (bpf_map_update_elem(&files_requested, k, &one, BPF_NOEXIST))
		return; /* already asked */
	ev = bpf_ringbuf_reserve(&requests, sizeof(*ev), 0);
	if (!ev) {
		bpf_map_delete_elem(&files_requested, k); /* ask again next time */
		return;
	}
	ev->hdr.type = DRIP_EV_NEED_FILE;
	ev->hdr.tgid = bpf_get_current_pid_tgid() >> 32;
	ev->hdr.ts = bpf_ktime_get_ns();
	ev->dev = k->dev;
	ev->ino = k->ino;
	ev->start = start;
	ev->end = end;
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
}

static long vma_found(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct mapping *m = &((struct loop_ctx *)data)->ts->uw.map;
	struct file *file = vma->vm_file;

	m->start = vma->vm_start;
	m->end = vma->vm_end;
	m->pgoff = (__u64)vma->vm_pgoff << 12;
	m->file_backed = !!file;
	if (file) {
		struct inode *inode = file->f_inode;

		m->key.ino = inode->i_ino;
		m->key.dev = inode->i_sb->s_dev;
	}
	return 0;
}

static __always_inline void forget_mappings(struct unwind *u)
{
	u->map.start = u->map.end = 0;
	u->spare.start = u->spare.end = 0;
	u->m_valid = 0; /* its frames name files by the old mappings */
}

/* The mapping holding addr, from the cache or the task's VMA tree. 0, or -1: none. */
static __always_inline int find_mapping(struct thread_state *ts, __u64 addr)
{
	struct unwind *u = &ts->uw;
	struct loop_ctx lc = { .ts = ts };

	struct mapping tmp;

	if (addr >= u->map.start && addr < u->map.end)
		return 0;
	if (addr >= u->spare.start && addr < u->spare.end) {
		tmp = u->map;
		u->map = u->spare;
		u->spare = tmp;
		return 0;
	}
	u->spare = u->map;
	u->map.start = u->map.end = 0;
	u->map.key.dev = u->map.key.ino = 0;
	u->map.has_info = 0;
	if (bpf_find_vma(bpf_get_current_task_btf(), addr, vma_found, &lc, 0) ||
	    addr < u->map.start || addr >= u->map.end)
		return -1;
	return 0;
}

/* The mapped file's entry in file_tables, kept with the mapping once found. */
static __always_inline struct drip_file_info *mapping_info(struct mapping *m)
{
	struct drip_file_info *fi;

	if (m->has_info)
		return &m->info;
	fi = bpf_map_lookup_elem(&file_tables, &m->key);
	if (!fi)
		return NULL; /* not known yet: look again next time */
	m->info = *fi;
	m->has_info = 1;
	return &m->info;
}

/* A new executable file mapping at addr: ask user space for its file if unknown. */
static __always_inline void request_mapped_file(struct thread_state *ts, __u64 addr)
{
	struct unwind *u = &ts->uw;

	forget_mappings(u);
	if (find_mapping(ts, addr) || !u->map.file_backed)
		return;
	if (!bpf_map_lookup_elem(&file_tables, &u->map.key))
		request_file(&u->map.key, u->map.start, u->map.end);
}

static long row_search_step(__u32 i, void *data)
{
	struct search *s = &((struct loop_ctx *)data)->ts->srch;
	struct drip_unwind_row *row;
	__u32 mid;

	if (s->lo >= s->hi)
		return 1;
	mid = s->lo + (s->hi - s->lo) / 2;
	row = bpf_map_lookup_elem(&unwind_rows, &mid);
	if (!row)
		return 1;
	if (row->pc <= s->key)
		s->lo = mid + 1;
	else
		s->hi = mid;
	return 0;
}

/* The row covering pc in a table: the last row starting at or below it. */
static __always_inline struct drip_unwind_row *find_row(struct thread_state *ts, __u32 table,
							__u32 pc)
{
	struct drip_unwind_table *t = bpf_map_lookup_elem(&unwind_tables, &table);
	struct loop_ctx lc = { .ts = ts };
	struct search *s = &ts->srch;
	__u32 idx;

	if (!t || !t->nr)
		return NULL;
	s->key = pc;
	s->lo = t->first;
	s->hi = t->first + t->nr;
	bpf_loop(24, row_search_step, &lc, 0);
	if (s->lo <= t->first)
		return NULL;
	idx = s->lo - 1;
	return bpf_map_lookup_elem(&unwind_rows, &idx);
}

/* 8 bytes of the stack at addr: from the window when it covers them. */
static __always_inline int read_stack(struct thread_state *ts, __u64 addr, __u64 *val)
{
	__u64 off = addr - ts->win_lo;

	if (ts->win_ok && addr >= ts->win_lo && off <= STACK_WINDOW - 8) {
		off &= STACK_WINDOW - 1;
		if (off > STACK_WINDOW - 8)
			return -1; /* for the verifier: the check above already ensured it */
		*val = *(__u64 *)&ts->win[off];
		return 0;
	}
	return bpf_probe_read_user(val, sizeof(*val), (void *)addr);
}

/* One frame-pointer step: for modules without tables and JIT code. */
static __always_inline int fp_step(struct thread_state *ts)
{
	struct unwind *u = &ts->uw;
	__u64 frame[2];

	if (!u->bp || u->bp < u->sp || read_stack(ts, u->bp, &frame[0]) ||
	    read_stack(ts, u->bp + 8, &frame[1]))
		return 1;
	ts->m_slot[(u->n - 1) & 127] = u->bp;
	u->sp = u->bp + 16;
	u->bp = frame[0];
	u->ip = frame[1];
	return 0;
}

/*
 * Reusing the previous walk.  A frame is a pure function of its registers
 * (ip, sp, bp), the mappings and the stack words its step reads: when this
 * walk reaches the registers the last walk had at some frame j, and every
 * word the last walk read from j up (return addresses, saved bps) still holds
 * what it read, the frames from j up are the same.  Allocation loops call
 * from the same outer frames again and again: those cost one compare each,
 * mostly inside the stack window, instead of a row lookup.
 */
static long memo_verify_step(__u32 i, void *data)
{
	struct thread_state *ts = ((struct loop_ctx *)data)->ts;
	struct unwind *u = &ts->uw;
	__u32 k = u->vk;
	__u64 v;

	if (k >= u->vend || k >= 127)
		return 1;
	barrier_var(k);
	/* frame k+1's ip is the return address at its sp - 8 */
	if (read_stack(ts, ts->m_sp[(k + 1) & 127] - 8, &v) || v != ts->stk.ips[(k + 1) & 127]) {
		u->vbad = 1;
		return 1;
	}
	if (ts->m_slot[k & 127] &&
	    (read_stack(ts, ts->m_slot[k & 127], &v) || v != ts->m_bp[(k + 1) & 127])) {
		u->vbad = 1;
		return 1;
	}
	u->vk = k + 1;
	return 0;
}

/* Eight frames a call: a bpf_loop callback is an indirect call, dearer than a compare. */
static long memo_verify_8(__u32 i, void *data)
{
	for (int t = 0; t < 8; t++)
		if (memo_verify_step(t, data))
			return 1;
	return 0;
}

static long memo_copy_step(__u32 i, void *data)
{
	struct thread_state *ts = ((struct loop_ctx *)data)->ts;
	struct unwind *u = &ts->uw;
	__u32 s = u->src, d = u->dst;

	if (s >= u->m_n || s >= 127 || d >= 127)
		return 1;
	barrier_var(s);
	barrier_var(d);
	if (s != d) { /* d < s: copying upward-going frames down never overwrites a source */
		ts->stk.ips[d & 127] = ts->stk.ips[s & 127];
		ts->files.files[d & 127] = ts->files.files[s & 127];
		ts->m_sp[d & 127] = ts->m_sp[s & 127];
		ts->m_bp[d & 127] = ts->m_bp[s & 127];
		ts->m_slot[d & 127] = ts->m_slot[s & 127];
	}
	u->src = s + 1;
	u->dst = d + 1;
	return 0;
}

/* At frame n with registers (ip, sp, bp): 1 if the memo supplied the rest of the walk. */
static __always_inline int memo_reuse(struct thread_state *ts, __u32 n)
{
	struct unwind *u = &ts->uw;
	struct loop_ctx lc = { .ts = ts };
	__u32 j = u->mj;

	if (!u->m_valid)
		return 0;
	/* frames below n are this walk's already: only memo frames from n up are intact */
	if (j < n)
		j = n;
	for (int t = 0; t < 4; t++) {
		if (j >= u->m_n || j >= 127 || ts->m_sp[j & 127] >= u->sp)
			break;
		j++;
	}
	u->mj = j;
	if (j >= u->m_n || j >= 127)
		return 0;
	barrier_var(j);
	j &= 127;
	if (ts->m_sp[j] != u->sp || ts->stk.ips[j] != u->ip || ts->m_bp[j] != u->bp)
		return 0;
	u->vk = j;
	u->vend = u->m_n - 1;
	u->vbad = 0;
	bpf_loop(DRIP_MAX_FRAMES / 8 + 1, memo_verify_8, &lc, 0);
	if (u->vbad || u->vk != u->vend) {
		u->m_valid = 0; /* it differs from here: do not try again in this walk */
		return 0;
	}
	u->done = 1;
	if (j == n) { /* the frames are in place already */
		u->n = u->m_n;
		u->whole = !n; /* the very same stack: the same hash */
		return 1;
	}
	u->src = j;
	u->dst = n;
	bpf_loop(DRIP_MAX_FRAMES, memo_copy_step, &lc, 0);
	u->n = u->dst;
	return 1;
}

static long unwind_step(__u32 i, void *data)
{
	struct thread_state *ts = ((struct loop_ctx *)data)->ts;
	struct unwind *u = &ts->uw;
	struct drip_unwind_row *row = NULL;
	struct drip_frame_file *ff;
	struct drip_file_info *fi;
	struct row_memo *memo;
	struct row_key rk;
	__u64 cfa, ra, lookup, off, slot;
	__u32 n = u->n;

	if (!u->ip || n >= DRIP_MAX_FRAMES)
		return 1;
	barrier_var(n);
	if (memo_reuse(ts, n))
		return 1;
	ts->m_sp[n & 127] = u->sp;
	ts->m_bp[n & 127] = u->bp;
	ts->m_slot[n & 127] = 0;
	ts->stk.ips[n & 127] = u->ip;
	ff = &ts->files.files[n & 127];
	ff->key.dev = ff->key.ino = 0;
	ff->offset = u->ip;
	u->n = n + 1;
	lookup = u->exact_ip ? u->ip : u->ip - 1;
	u->exact_ip = 0;
	if (find_mapping(ts, lookup)) {
		/* the VMA tree was busy (another thread in mmap): stop rather than guess */
		stat_inc(DRIP_STAT_UNWIND_FAIL);
		u->cut = 1;
		return 1;
	}
	if (!u->map.file_backed)
		return fp_step(ts); /* JIT code: frame pointers, if it keeps them */
	off = u->ip - u->map.start + u->map.pgoff;
	ff->offset = off;
	ff->key = u->map.key;
	fi = mapping_info(&u->map);
	if (!fi) {
		/*
		 * A file user space has not seen (dlopen'ed since): ask for it, and
		 * stop here rather than guess with frame pointers through code that
		 * may have none.  The stack is marked truncated.
		 */
		request_file(&u->map.key, u->map.start, u->map.end);
		stat_inc(DRIP_STAT_TABLE_NOT_READY);
		u->cut = 1;
		return 1;
	}
	if (!fi->table)
		return fp_step(ts); /* a file without CFI */
	rk.file = u->map.key;
	rk.pc = lookup - u->map.start + u->map.pgoff + fi->vaddr_delta;
	slot = (rk.pc ^ (rk.pc >> 6) ^ rk.file.ino) & (ROW_MEMO_SIZE - 1);
	memo = &ts->rows[slot];
	if (memo->pc == rk.pc && memo->ino == rk.file.ino && memo->dev == rk.file.dev) {
		row = &memo->row;
	} else {
		row = bpf_map_lookup_elem(&row_cache, &rk);
		if (!row) {
			row = find_row(ts, fi->table, (__u32)rk.pc);
			if (!row)
				return fp_step(ts);
			bpf_map_update_elem(&row_cache, &rk, row, BPF_ANY);
		}
		memo->pc = rk.pc;
		memo->ino = rk.file.ino;
		memo->dev = rk.file.dev;
		memo->row = *row;
	}
	switch (row->cfa_type) {
	case DRIP_CFA_RSP:
		cfa = u->sp + row->cfa_off;
		break;
	case DRIP_CFA_RBP:
		cfa = u->bp + row->cfa_off;
		break;
	case DRIP_CFA_PLT:
		/* cfa_off holds the stub's (rip & 15) threshold: 11, or 10 with IBT */
		cfa = u->sp + 8 + ((u->ip & 15) >= (__u64)row->cfa_off ? 8 : 0);
		break;
	case DRIP_CFA_UNDEFINED:
		u->done = 1;
		return 1; /* the outermost frame */
	case DRIP_CFA_SIGNAL: {
		/* __restore_rt: sp points at the ucontext; take the interrupted registers */
		__u64 g[7]; /* uc_mcontext.gregs[10..16]: rbp rbx rdx rax rcx rsp rip */

		if (bpf_probe_read_user(g, sizeof(g), (void *)(u->sp + 40 + 10 * 8))) {
			stat_inc(DRIP_STAT_UNWIND_FAIL);
			return 1;
		}
		u->bp = g[0];
		u->sp = g[5];
		u->ip = g[6];
		u->exact_ip = 1;
		u->memo_ok = 0; /* registers from a ucontext: not a step the memo replays */
		return 0;
	}
	default:
		return fp_step(ts); /* no rule drip evaluates here */
	}
	if (read_stack(ts, cfa - 8, &ra)) {
		stat_inc(DRIP_STAT_UNWIND_FAIL);
		return 1;
	}
	if (row->rbp_type == DRIP_RBP_OFFSET)
		ts->m_slot[n & 127] = cfa + row->rbp_off;
	if (row->rbp_type == DRIP_RBP_OFFSET && read_stack(ts, cfa + row->rbp_off, &u->bp)) {
		stat_inc(DRIP_STAT_UNWIND_FAIL);
		return 1;
	}
	if (cfa <= u->sp && i) {
		stat_inc(DRIP_STAT_UNWIND_FAIL); /* the stack must move up: corrupt otherwise */
		return 1;
	}
	u->sp = cfa;
	u->ip = ra;
	return 0;
}

/*
 * Walk the user stack with the unwind tables, finding each frame's file
 * with bpf_find_vma: no per-process state, so a process that lives a few
 * microseconds or dlopens a library unwinds like any other.  Returns frames
 * written to ts->stk.ips (their files in ts->files).
 */
static __always_inline int dwarf_unwind(struct thread_state *ts, __u64 ip, __u64 sp, __u64 bp,
					bool *truncated)
{
	struct loop_ctx lc = { .ts = ts };
	struct unwind *u = &ts->uw;

	u->ip = ip;
	u->sp = sp;
	u->bp = bp;
	u->n = 0;
	/* all or nothing: near the top of the stack the read fails, then each frame reads */
	ts->win_lo = sp;
	ts->win_ok = !bpf_probe_read_user(ts->win, sizeof(ts->win), (void *)sp);
	u->exact_ip = 0;
	u->done = 0;
	u->cut = 0;
	u->memo_ok = 1;
	u->mj = 0;
	u->whole = 0;
	/*
	 * The mapping cache lives as long as the thread: it is cleared when the
	 * thread execs or unmaps something, so it never names a file that left.
	 * Fewer bpf_find_vma calls is fewer chances to find the VMA tree busy.
	 */
	bpf_loop(DRIP_MAX_FRAMES, unwind_step, &lc, 0);
	/* only a walk that reached the outermost frame is replayed */
	u->m_valid = u->done && !u->cut && u->memo_ok && u->n < DRIP_MAX_FRAMES;
	u->m_n = u->n;
	*truncated = u->cut || (!u->done && u->n >= DRIP_MAX_FRAMES);
	return u->n > DRIP_MAX_FRAMES ? DRIP_MAX_FRAMES : u->n;
}

/* ---- Python frames ---- */

static __always_inline __u64 py_u64(const __u8 *p, __u32 off)
{
	off &= DRIP_PY_FRAME_MAX - 1; /* offsets come from user space: keep them in the buffer */
	return *(const __u64 *)&p[off];
}

static __always_inline __u32 py_u32(const __u8 *p, __u32 off)
{
	off &= DRIP_PY_FRAME_MAX - 1;
	return *(const __u32 *)&p[off];
}

static __always_inline __u8 py_u8(const __u8 *p, __u32 off)
{
	off &= DRIP_PY_FRAME_MAX - 1;
	return p[off];
}

/* One PyThreadState of the list: is it this thread's?  Then the next interpreter's. */
static long py_thread_step(__u32 i, void *data)
{
	struct py_walk *w = &((struct loop_ctx *)data)->ts->pyw;
	__u64 id;

	if (!w->cur) {
		/* this interpreter's threads are done: the next interpreter's */
		if (!w->interp ||
		    bpf_probe_read_user(&w->interp, 8, (void *)(w->interp + w->cfg.interp_next)) ||
		    !w->interp ||
		    bpf_probe_read_user(&w->cur, 8, (void *)(w->interp + w->cfg.interp_tstate)))
			return 1;
		return 0;
	}
	if (bpf_probe_read_user(&id, 8, (void *)(w->cur + w->cfg.tstate_thread_id)))
		return 1;
	if (id == w->fsbase) {
		w->tstate = w->cur;
		return 1;
	}
	if (bpf_probe_read_user(&w->cur, 8, (void *)(w->cur + w->cfg.tstate_next)))
		return 1;
	return 0;
}

/* The bytes of the frame at w->frame: from the window, else read; NULL: unreadable. */
static __always_inline const __u8 *py_frame_bytes(struct py_walk *w, __u32 size)
{
	__u64 f = w->frame, hi = f + size, lo, len;

	if (f >= w->win_lo && hi <= w->win_hi)
		return &w->win[(f - w->win_lo) & (PY_WINDOW - 1)];
	if (w->cfg.frame_stack) {
		/* this frame and, below it, the ones it was called from */
		lo = hi - PY_WINDOW;
		if (f >= w->floor && lo < w->floor)
			lo = w->floor;
		len = hi - lo;
		if (len <= PY_WINDOW) {
			barrier_var(len); /* the register checked is the one passed */
			if (!bpf_probe_read_user(w->win, len, (void *)lo))
				goto window;
		}
		/*
		 * Nothing mapped below the data stack's chunk: a read that faults
		 * costs as much as a dozen frames, so remember where it starts.
		 */
		lo = f & ~4095ULL;
		len = hi - lo;
		if (len <= PY_WINDOW) {
			barrier_var(len);
			if (!bpf_probe_read_user(w->win, len, (void *)lo)) {
				w->floor = lo;
				goto window;
			}
		}
	}
	if (bpf_probe_read_user(w->buf, size, (void *)f))
		return NULL;
	return w->buf;
window:
	w->win_lo = lo;
	w->win_hi = hi;
	return &w->win[(f - lo) & (PY_WINDOW - 1)];
}

/*
 * One interpreter frame: its code object, instruction and whether an
 * eval-loop call began at it.  Nonzero: the walk is over.
 */
static __always_inline int py_frame_step(struct thread_state *ts)
{
	struct py_walk *w = &ts->pyw;
	struct drip_py_frame *f;
	__u32 n = ts->py.nr, size = w->cfg.frame_size, flags = 0;
	__u64 code, instr, h;
	const __u8 *p;

	if (!w->frame)
		return 1;
	if (n >= DRIP_PY_MAX_FRAMES) {
		w->truncated = 1;
		return 1;
	}
	if (size > DRIP_PY_FRAME_MAX)
		return 1;
	p = py_frame_bytes(w, size);
	if (!p) {
		w->fault = 1;
		return 1;
	}
	code = py_u64(p, w->cfg.frame_code);
	w->frame = py_u64(p, w->cfg.frame_previous);
	switch (w->cfg.entry_kind) {
	case DRIP_PY_ENTRY_EVERY:
		flags = DRIP_PY_ENTRY;
		break;
	case DRIP_PY_ENTRY_FLAG:
		flags = py_u8(p, w->cfg.frame_entry) ? DRIP_PY_ENTRY : 0;
		break;
	case DRIP_PY_ENTRY_SHIM:
		if (py_u8(p, w->cfg.frame_entry) == w->cfg.shim_owner) {
			/* an eval-loop call's shim: the frame before it was that call's first */
			if (n) {
				barrier_var(n);
				ts->py.frames[(n - 1) & (DRIP_PY_MAX_FRAMES - 1)].flags |=
					DRIP_PY_ENTRY;
				w->entries |= 1ULL << ((n - 1) & 63);
			}
			return 0;
		}
		break;
	}
	if (w->cfg.instr_kind == DRIP_PY_INSTR_INDEX)
		instr = (__u64)(__s64)(__s32)py_u32(p, w->cfg.frame_instr) * 2;
	else
		instr = py_u64(p, w->cfg.frame_instr) - (code + w->cfg.code_start);
	barrier_var(n);
	f = &ts->py.frames[n & (DRIP_PY_MAX_FRAMES - 1)];
	f->code = code;
	f->instr = (__s32)instr;
	f->flags = flags;
	if (flags)
		w->entries |= 1ULL << (n & 63);
	h = (w->hash ^ code) * 0x100000001b3ULL;
	h = (h ^ (__u32)instr) * 0x100000001b3ULL;
	w->hash = h ^ (h >> 31);
	ts->py.nr = n + 1;
	return 0;
}

/* Eight frames a call: a bpf_loop callback is an indirect call, dearer than a frame. */
static long py_frames_8(__u32 i, void *data)
{
	struct thread_state *ts = ((struct loop_ctx *)data)->ts;

	for (int t = 0; t < 8; t++)
		if (py_frame_step(ts))
			return 1;
	return 0;
}

/*
 * The current thread's Python frames into ts->py: its PyThreadState is the
 * one whose thread_id is pthread_self(), i.e. the fs base (true in any PID
 * namespace, unlike native_thread_id).  Only processes user space found to
 * be CPython get here.
 */
/*
 * A global function: the verifier checks it once, not once per allocator's
 * return program (it roughly tripled drip's start-up CPU inlined).
 */
__attribute__((noinline)) int py_walk(struct thread_state *ts, const struct drip_py_proc *cfg)
{
	if (!ts || !cfg)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct loop_ctx lc = { .ts = ts };
	struct py_walk *w = &ts->pyw;
	__u32 id_off, frame_off, len;
	__u64 p = 0;

	w->cfg = *cfg;
	w->fsbase = task->thread.fsbase;
	w->truncated = w->fault = 0;
	w->win_lo = w->win_hi = 0;
	w->hash = 0xcbf29ce484222325ULL;
	w->entries = 0;
	id_off = w->cfg.tstate_thread_id & (PY_TSTATE_MAX - 8);
	frame_off = w->cfg.tstate_frame & (PY_TSTATE_MAX - 8);
	len = (id_off > frame_off ? id_off : frame_off) + 8;
	/* the thread state found last time, if it is still this thread's: one read for both */
	if (w->tstate && !bpf_probe_read_user(w->win, len, (void *)w->tstate) &&
	    *(__u64 *)&w->win[id_off] == w->fsbase) {
		p = *(__u64 *)&w->win[frame_off];
	} else {
		w->tstate = 0;
		w->floor = 0;
		w->interp = w->cur = 0;
		if (!bpf_probe_read_user(&w->interp, 8,
					 (void *)(w->cfg.runtime + w->cfg.runtime_interp)) &&
		    w->interp)
			bpf_probe_read_user(&w->cur, 8, (void *)(w->interp + w->cfg.interp_tstate));
		bpf_loop(256, py_thread_step, &lc, 0);
		if (!w->tstate)
			return 0; /* a thread that runs no Python (yet): native frames only */
		if (bpf_probe_read_user(&p, 8, (void *)(w->tstate + w->cfg.tstate_frame)))
			goto fault;
	}
	if (w->cfg.cframe_frame != DRIP_PY_NONE && p &&
	    bpf_probe_read_user(&p, 8, (void *)(p + w->cfg.cframe_frame)))
		goto fault;
	w->frame = p;
	/* 3.12's shim frames are not counted: room for one per frame */
	bpf_loop(2 * DRIP_PY_MAX_FRAMES / 8 + 1, py_frames_8, &lc, 0);
	if (w->fault)
		goto fault;
	if (w->truncated || w->frame)
		ts->py.flags = DRIP_STACK_TRUNCATED;
	return 0;
fault:
	stat_inc(DRIP_STAT_PY_FAULT);
	ts->py.flags = DRIP_STACK_TRUNCATED;
	return 0;
}

/* The hash of a stack with Python frames: its native hash h, then the frames'. */
static __always_inline __u64 py_hash(struct thread_state *ts, __u64 h)
{
	h = (h ^ ts->pyw.hash) * 0x100000001b3ULL;
	h = (h ^ ts->pyw.entries) * 0x100000001b3ULL;
	h = (h ^ ts->py.nr) * 0x100000001b3ULL;
	h ^= h >> 31;
	return h ? h : 1;
}

/*
 * Capture the user stack into scratch, send it once, return its hash.
 * Called at the return probe: regs->ip is the return address, so frames[0]
 * is the allocator's caller, exactly once, whatever the probed instruction.
 */
static __always_inline __u64 capture_stack(void *ctx, struct thread_state *ts, __u32 tgid,
					   __u64 now, bool syscall_site)
{
	struct drip_ev_stack *stk = &ts->stk;
	__u32 nr, skip = syscall_site, flags = 0;
	bool truncated = false, dwarf = false;
	long n = -1;
	__u64 h;

	if (!cfg.capture_stacks)
		return 0;
	if (cfg.dwarf) {
		__u64 ip, sp, bp;

		if (syscall_site) {
			struct pt_regs *regs =
				(struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

			ip = BPF_CORE_READ(regs, ip);
			sp = BPF_CORE_READ(regs, sp);
			bp = BPF_CORE_READ(regs, bp);
		} else {
			ip = PT_REGS_IP((struct pt_regs *)ctx);
			sp = PT_REGS_SP((struct pt_regs *)ctx);
			bp = PT_REGS_FP((struct pt_regs *)ctx);
		}
		n = dwarf_unwind(ts, ip, sp, bp, &truncated);
		dwarf = n > 0;
		if (dwarf) {
			nr = n;
			flags = (truncated ? DRIP_STACK_TRUNCATED : 0) |
				(syscall_site ? DRIP_STACK_SITE_FIRST : 0);
		}
	}
	if (!dwarf) {
		ts->uw.m_valid = 0; /* the frames below overwrite the memo's */
		/*
		 * In a syscall the walk starts inside libc's wrapper, a leaf that
		 * pushed nothing: its caller sits at [sp], and the frame-pointer walk
		 * would skip it.  Slot 0 gets [sp]; user space keeps whichever of the
		 * two is right.
		 */
		n = bpf_get_stack(ctx, &stk->ips[skip], sizeof(stk->ips) - skip * sizeof(__u64),
				  BPF_F_USER_STACK);
		if (n <= 0) {
			stat_inc(DRIP_STAT_STACK_ERR);
			return 0;
		}
		nr = (__u32)n / 8 + skip;
		if (nr > DRIP_MAX_FRAMES)
			nr = DRIP_MAX_FRAMES;
		if (syscall_site) {
			struct pt_regs *regs =
				(struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

			stk->ips[0] = 0;
			bpf_probe_read_user(&stk->ips[0], sizeof(__u64),
					    (void *)BPF_CORE_READ(regs, sp));
		}
		flags = (nr == DRIP_MAX_FRAMES ? DRIP_STACK_TRUNCATED : 0) |
			(syscall_site ? DRIP_STACK_SYSCALL : 0);
	}
	stk->nr = nr;
	ts->py.nr = 0;
	ts->py.flags = 0;
	if (py_active) {
		struct drip_py_proc *py = bpf_map_lookup_elem(&py_procs, &tgid);

		if (py)
			py_walk(ts, py);
	}
	if (dwarf && ts->uw.whole && ts->uw.m_hash) {
		h = ts->uw.m_hash; /* the memo's native frames, all of them: their hash */
	} else {
		h = hash_stack(ts);
		ts->uw.m_hash = dwarf ? h : 0;
	}
	if (ts->py.nr)
		h = py_hash(ts, h);
	if (bpf_map_lookup_elem(&sent_stacks, &h))
		return h;
	stk->hdr.type = DRIP_EV_STACK;
	stk->hdr.tgid = tgid;
	stk->hdr.ts = now;
	stk->hash = h;
	stk->nr = nr;
	stk->flags = flags;
	/* wake the consumer now: it reads the maps for a new stack while the process lives */
	if (bpf_ringbuf_output(&events, stk,
			       offsetof(struct drip_ev_stack, ips) + (nr & 127) * sizeof(__u64),
			       BPF_RB_FORCE_WAKEUP)) {
		stat_inc(DRIP_STAT_RB_FULL_STACK);
		return 0;
	}
	if (dwarf) {
		/* each frame's (file, offset), found during the walk */
		ts->files.hdr.type = DRIP_EV_STACK_FILES;
		ts->files.hdr.tgid = tgid;
		ts->files.hdr.ts = now;
		ts->files.hash = h;
		ts->files.nr = nr;
		if (bpf_ringbuf_output(&events, &ts->files,
				       offsetof(struct drip_ev_stack_files, files) +
					       (nr & 127) * sizeof(struct drip_frame_file),
				       BPF_RB_FORCE_WAKEUP))
			stat_inc(DRIP_STAT_RB_FULL_STACK);
	}
	if (ts->py.nr) {
		__u32 pn = ts->py.nr;

		if (pn > DRIP_PY_MAX_FRAMES)
			pn = DRIP_PY_MAX_FRAMES;
		ts->py.hdr.type = DRIP_EV_PY_STACK;
		ts->py.hdr.tgid = tgid;
		ts->py.hdr.ts = now;
		ts->py.hash = h;
		if (bpf_ringbuf_output(&events, &ts->py,
				       offsetof(struct drip_ev_py_stack, frames) +
					       pn * sizeof(struct drip_py_frame),
				       BPF_RB_FORCE_WAKEUP))
			stat_inc(DRIP_STAT_RB_FULL_STACK);
	}
	/*
	 * A frame-pointer walk again, as (build-id, file offset): only for new
	 * stacks.  A DWARF stack has its files already.
	 */
	ts->ids.ids[0].status = DRIP_FRAME_ID_EMPTY; /* the [sp] slot of a syscall site */
	n = dwarf ? 0 :
		    bpf_get_stack(ctx, &ts->ids.ids[skip],
				  sizeof(ts->ids.ids) - skip * sizeof(struct drip_frame_id),
				  BPF_F_USER_STACK | BPF_F_USER_BUILD_ID);
	if (n > 0) {
		__u32 nid = (__u32)n / sizeof(struct drip_frame_id) + skip;

		if (nid > DRIP_MAX_FRAMES)
			nid = DRIP_MAX_FRAMES;
		ts->ids.hdr.type = DRIP_EV_STACK_IDS;
		ts->ids.hdr.tgid = tgid;
		ts->ids.hdr.ts = now;
		ts->ids.hash = h;
		ts->ids.nr = nid;
		if (bpf_ringbuf_output(&events, &ts->ids,
				       offsetof(struct drip_ev_stack_ids, ids) +
					       (nid & 127) * sizeof(struct drip_frame_id),
				       BPF_RB_FORCE_WAKEUP))
			stat_inc(DRIP_STAT_RB_FULL_STACK);
	}
	/* marked sent only once its record is in the ring */
	__u32 one = 1;
	bpf_map_update_elem(&sent_stacks, &h, &one, BPF_ANY);
	return h;
}

/*
 * A free must not be lost (it would invent a leak): overflow map when the ring
 * is full.  limit_ts: only a block allocated before it is the one released
 * (0: now).
 */
static __always_inline void emit_free_at(__u32 fn, __u64 addr, __u64 len_or_ts, __u64 limit_ts)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();
	struct drip_ev_free *ev;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		struct drip_free_key k = { .tgid = id >> 32, .addr = addr };
		__u64 limit = limit_ts ? limit_ts : now;

		stat_inc(DRIP_STAT_RB_FULL_FREE);
		if (bpf_map_update_elem(&free_overflow, &k, &limit, BPF_ANY))
			stat_inc(DRIP_STAT_FREE_LOST);
		return;
	}
	ev->hdr.type = DRIP_EV_FREE;
	ev->hdr.tgid = id >> 32;
	ev->hdr.ts = now;
	ev->addr = addr;
	ev->len = len_or_ts;
	ev->tid = (__u32)id;
	ev->fn = fn;
	bpf_ringbuf_submit(ev, wakeup_flag());
}

static __always_inline void emit_free(__u32 fn, __u64 addr, __u64 len)
{
	emit_free_at(fn, addr, len, 0);
}

static __always_inline void emit_alloc(void *ctx, struct thread_state *ts, __u32 fn, __u64 addr,
				       __u64 nmemb, __u64 size, __u64 old, __u64 call_ts,
				       bool syscall_site)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();
	struct drip_ev_alloc *ev;
	__u64 h;

	h = capture_stack(ctx, ts, id >> 32, now, syscall_site);
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		stat_inc(DRIP_STAT_RB_FULL_ALLOC);
		/* the new block is lost (counted); the old one must still go */
		if (old)
			emit_free_at(fn, old, call_ts, call_ts);
		return;
	}
	ev->hdr.type = DRIP_EV_ALLOC;
	ev->hdr.tgid = id >> 32;
	ev->hdr.ts = now;
	ev->addr = addr;
	ev->size = size;
	ev->nmemb = nmemb;
	ev->old_addr = old;
	ev->call_ts = call_ts;
	ev->stack_hash = h;
	ev->tid = (__u32)id;
	ev->fn = fn;
	bpf_ringbuf_submit(ev, wakeup_flag());
}

static __always_inline int on_return(struct pt_regs *ctx, __u32 fn)
{
	__u64 ret = PT_REGS_RC(ctx);
	/* after `ret`, sp is one word above where it was at entry */
	__u64 entry_sp = PT_REGS_SP(ctx) - 8;
	struct thread_state *ts;
	struct pending p;
	__u32 d;

	if (cfg.empty_programs)
		return 0;
	ts = thread_state();
	if (!ts)
		return 0;
	/* nested calls that missed their return sit deeper than ours: drop them */
	for (int i = 0; i < DRIP_MAX_NEST; i++) {
		d = ts->depth;
		if (!d || d > DRIP_MAX_NEST)
			return 0; /* entry not seen (attached mid-call) */
		if (ts->p[(d - 1) & (DRIP_MAX_NEST - 1)].sp >= entry_sp)
			break;
		ts->depth = d - 1;
		stat_inc(DRIP_STAT_STALE_PENDING);
	}
	d = ts->depth;
	if (!d || d > DRIP_MAX_NEST)
		return 0;
	p = ts->p[(d - 1) & (DRIP_MAX_NEST - 1)];
	if (p.sp != entry_sp || p.fn != fn)
		return 0; /* not our entry: leave the stack as it is */
	ts->depth = d - 1;
	if (d - 1)
		return 0; /* inside another allocator call: only the outermost counts */

	switch (fn) {
	case DRIP_FN_MALLOC:
	case DRIP_FN_VALLOC:
	case DRIP_FN_PVALLOC:
		if (ret)
			emit_alloc(ctx, ts, fn, ret, 1, p.a0, 0, 0, false);
		break;
	case DRIP_FN_CALLOC:
		if (ret)
			emit_alloc(ctx, ts, fn, ret, p.a0, p.a1, 0, 0, false);
		break;
	case DRIP_FN_ALIGNED_ALLOC:
	case DRIP_FN_MEMALIGN:
		if (ret)
			emit_alloc(ctx, ts, fn, ret, 1, p.a1, 0, 0, false);
		break;
	case DRIP_FN_REALLOC:
		if (ret)
			emit_alloc(ctx, ts, fn, ret, 1, p.a1, p.a0, p.t0, false);
		else if (!p.a1 && p.a0) /* realloc(p, 0) frees and returns NULL */
			emit_free_at(fn, p.a0, p.t0, p.t0);
		break;
	case DRIP_FN_REALLOC_KEEP: /* NULL: failed, the block lives on */
		if (ret)
			emit_alloc(ctx, ts, fn, ret, 1, p.a1, p.a0, p.t0, false);
		break;
	case DRIP_FN_XALLOCX: /* returns the real size: at least size when it resized */
		if (p.a0 && ret >= p.a1)
			emit_alloc(ctx, ts, fn, p.a0, 1, p.a1, p.a0, p.t0, false);
		break;
	case DRIP_FN_REALLOCARRAY:
		if (ret)
			emit_alloc(ctx, ts, fn, ret, p.a1, p.a2, p.a0, p.t0, false);
		else if ((!p.a1 || !p.a2) && p.a0)
			emit_free_at(fn, p.a0, p.t0, p.t0);
		break;
	case DRIP_FN_POSIX_MEMALIGN: {
		__u64 addr = 0;

		if (ret) /* an error number: nothing allocated */
			break;
		if (bpf_probe_read_user(&addr, sizeof(addr), (void *)p.a0)) {
			stat_inc(DRIP_STAT_MEMPTR_READ);
			break;
		}
		if (addr)
			emit_alloc(ctx, ts, fn, addr, 1, p.a2, 0, 0, false);
		break;
	}
	}
	return 0;
}

#define ALLOC_PROBES(name, FN)                 \
	SEC("uprobe")                          \
	int name##_entry(struct pt_regs *ctx)  \
	{                                      \
		return on_entry(ctx, FN);      \
	}                                      \
	SEC("uretprobe")                       \
	int name##_return(struct pt_regs *ctx) \
	{                                      \
		return on_return(ctx, FN);     \
	}

ALLOC_PROBES(malloc, DRIP_FN_MALLOC)
ALLOC_PROBES(calloc, DRIP_FN_CALLOC)
ALLOC_PROBES(realloc, DRIP_FN_REALLOC)
ALLOC_PROBES(reallocarray, DRIP_FN_REALLOCARRAY)
ALLOC_PROBES(posix_memalign, DRIP_FN_POSIX_MEMALIGN)
ALLOC_PROBES(aligned_alloc, DRIP_FN_ALIGNED_ALLOC)
ALLOC_PROBES(memalign, DRIP_FN_MEMALIGN)
ALLOC_PROBES(valloc, DRIP_FN_VALLOC)
ALLOC_PROBES(pvalloc, DRIP_FN_PVALLOC)
ALLOC_PROBES(realloc_keep, DRIP_FN_REALLOC_KEEP)
ALLOC_PROBES(xallocx, DRIP_FN_XALLOCX)

/*
 * Is this release the one counted last, still in progress?  operator delete
 * calling free (deeper sp), _ZdaPv or sdallocx jumping to free (same sp, at
 * another probe): the outer call's frame still holds its return address and
 * the address is the same.  The same probe at the same sp is a new call from
 * the same place (a consumer freeing blocks another thread handed it again);
 * the same thread handing an address out again clears free_addr.
 */
static __always_inline bool nested_release(struct thread_state *ts, __u64 addr, __u64 sp, __u64 ip)
{
	__u64 ret = 0;

	if (addr != ts->free_addr || sp > ts->free_sp || (sp == ts->free_sp && ip == ts->free_ip))
		return false;
	if (bpf_probe_read_user(&ret, sizeof(ret), (void *)ts->free_sp))
		return false;
	return ret == ts->free_ret;
}

SEC("uprobe")
int free_entry(struct pt_regs *ctx)
{
	__u64 addr = PT_REGS_PARM1(ctx);
	struct thread_state *ts;
	__u64 sp;

	if (cfg.empty_programs)
		return 0;
	ts = thread_state();
	if (!ts)
		return 0;
	sp = PT_REGS_SP(ctx);
	drop_stale(ts, sp);
	if (ts->depth || !addr)
		return 0; /* inside realloc & co: their return probe accounts */
	if (nested_release(ts, addr, sp, PT_REGS_IP(ctx)))
		return 0;
	/* the probe may sit past a flags-only test: sp is still the entry's */
	ts->free_addr = addr;
	ts->free_sp = sp;
	ts->free_ip = PT_REGS_IP(ctx);
	ts->free_ret = 0;
	bpf_probe_read_user(&ts->free_ret, sizeof(ts->free_ret), (void *)sp);
	emit_free(DRIP_FN_FREE, addr, 0);
	return 0;
}

/* ---- process lifecycle ---- */

static __always_inline __u32 task_nspid(struct task_struct *t)
{
	struct pid *pid = BPF_CORE_READ(t, group_leader, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};

	bpf_probe_read_kernel(&up, sizeof(up), &pid->numbers[level & 31]);
	return up.nr;
}

/* --cgroup's directory: tested for the task in whose context a process event fires */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

static __always_inline void emit_proc(__u32 type, struct task_struct *t, __u32 ppid,
				      struct linux_binprm *bprm, __u32 flags)
{
	struct drip_ev_proc *ev;

	/*
	 * At fork current is the parent, whose cgroup the child starts in; at
	 * exec and exit, the process itself.  Asked here, not later from
	 * /proc: a process may have left (or died) by the time user space reads.
	 */
	if (cfg.cgroup_filter)
		flags |= DRIP_PROC_CGROUP_CHECKED |
			 (bpf_current_task_under_cgroup(&cgroup_filter, 0) == 1 ?
				  DRIP_PROC_IN_CGROUP :
				  0);

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		stat_inc(DRIP_STAT_RB_FULL_PROC);
		return;
	}
	ev->hdr.type = type;
	ev->hdr.tgid = BPF_CORE_READ(t, tgid);
	ev->hdr.ts = bpf_ktime_get_ns();
	ev->ppid = ppid;
	ev->nspid = task_nspid(t);
	ev->start_time = BPF_CORE_READ(t, group_leader, start_time);
	ev->filename[0] = 0;
	ev->flags = flags;
	ev->pad = 0;
	/* for a process gone before user space reads /proc/PID/comm (exec sets it before this) */
	BPF_CORE_READ_STR_INTO(&ev->comm, t, comm);
	if (bprm)
		bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename),
					  BPF_CORE_READ(bprm, filename));
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid, one = 1, flags = 0;

	if (ctgid == ptgid || !cfg.follow_children)
		return 0; /* a new thread: the process is already known */
	if (!bpf_map_lookup_elem(&targets, &ptgid))
		return 0;
	if (bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY))
		stat_inc(DRIP_STAT_TARGETS_FULL);
	if (py_active) {
		/* a forked CPython worker is CPython from its first allocation */
		struct drip_py_proc *py = bpf_map_lookup_elem(&py_procs, &ptgid);

		if (py)
			bpf_map_update_elem(&py_procs, &ctgid, py, BPF_ANY);
	}
	/* the memory copied (or shared) is the forking task's: parent is current */
	if (child->mm == parent->mm)
		flags |= DRIP_PROC_SHARED_VM; /* CLONE_VM: same heap, not a copy of it */
	if (child->vfork_done)
		flags |= DRIP_PROC_VFORK;
	emit_proc(DRIP_EV_FORK, child, ptgid, NULL, flags);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid;
	struct thread_state *ts;

	if (!bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	/* task storage outlives execve: calls pending in the old image never return */
	ts = bpf_task_storage_get(&threads, p, 0, 0);
	if (ts) {
		ts->depth = 0;
		ts->mmap_pending = 0;
		ts->sys_pending = 0;
		forget_mappings(&ts->uw);
		ts->pyw.tstate = 0;
		ts->pyw.floor = 0;
	}
	bpf_map_delete_elem(&py_procs, &tgid); /* user space says whether the new image is */
	emit_proc(DRIP_EV_EXEC, p, 0, bprm, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p, bool group_dead)
{
	__u32 tgid = p->tgid;

	if (!group_dead || !bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	emit_proc(DRIP_EV_EXIT, p, 0, NULL, 0);
	bpf_map_delete_elem(&targets, &tgid);
	bpf_map_delete_elem(&py_procs, &tgid);
	return 0;
}

/* ---- anonymous memory the program maps itself ---- */

#define PROT_EXEC_     0x04
#define MAP_SHARED_    0x01
#define MAP_FIXED_     0x10
#define MAP_ANONYMOUS_ 0x20
#define MAP_STACK_     0x20000

struct mmap_enter_args {
	__u64 common;
	__s64 nr;
	__u64 addr, len, prot, flags, fd, off;
};

struct sys_exit_args {
	__u64 common;
	__s64 nr;
	__s64 ret;
};

static __always_inline struct thread_state *target_thread(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	return thread_state();
}

static __always_inline struct thread_state *traced_thread(void)
{
	if (!cfg.trace_mmap)
		return 0;
	return target_thread();
}

/*
 * Private anonymous mappings only (shared ones are IPC, not heap).  Thread
 * stacks (MAP_STACK) and fixed mappings (the loader placing .bss) are the
 * runtime's, not the program's; mappings made inside an allocator call
 * are the allocator's and already counted through it.
 */
SEC("tracepoint/syscalls/sys_enter_mmap")
int on_mmap_enter(struct mmap_enter_args *args)
{
	struct thread_state *ts;

	if (!(args->flags & MAP_ANONYMOUS_) && (args->prot & PROT_EXEC_)) {
		/* the loader maps a library's code: have its table built and, for an
		 * allocator (dlopen), its probes defined before it runs */
		ts = target_thread();
		if (ts)
			ts->mmap_exec_file = 1;
		return 0;
	}
	if (!(args->flags & MAP_ANONYMOUS_) ||
	    (args->flags & (MAP_SHARED_ | MAP_FIXED_ | MAP_STACK_)))
		return 0;
	ts = traced_thread();
	if (!ts || ts->depth)
		return 0;
	ts->mmap_pending = 1;
	ts->mmap_len = args->len;
	ts->mmap_flags = args->flags;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int on_mmap_exit(struct sys_exit_args *args)
{
	struct thread_state *ts = target_thread();

	if (ts && ts->mmap_exec_file) {
		ts->mmap_exec_file = 0;
		if (args->ret > 0 || args->ret < -4095)
			request_mapped_file(ts, (__u64)args->ret);
		return 0;
	}
	if (!ts || !ts->mmap_pending)
		return 0;
	ts->mmap_pending = 0;
	if (args->ret < 0 && args->ret > -4096)
		return 0;
	emit_alloc(args, ts, DRIP_FN_MMAP, (__u64)args->ret, 1, ts->mmap_len, 0, 0, true);
	return 0;
}

struct munmap_enter_args {
	__u64 common;
	__s64 nr;
	__u64 addr, len;
};

SEC("tracepoint/syscalls/sys_enter_munmap")
int on_munmap_enter(struct munmap_enter_args *args)
{
	struct thread_state *ts = traced_thread();

	if (!ts)
		return 0;
	forget_mappings(&ts->uw); /* what it unmaps may be code the walk cached */
	if (ts->depth)
		return 0;
	emit_free(DRIP_FN_MUNMAP, args->addr, args->len);
	return 0;
}

/* mremap of a mapping the program made: a realloc of that block */
struct mremap_enter_args {
	__u64 common;
	__s64 nr;
	__u64 addr, old_len, new_len, flags, new_addr;
};

SEC("tracepoint/syscalls/sys_enter_mremap")
int on_mremap_enter(struct mremap_enter_args *args)
{
	struct thread_state *ts = traced_thread();

	if (!ts || ts->depth)
		return 0;
	ts->sys_pending = DRIP_FN_MREMAP;
	ts->sys_a0 = args->addr;
	ts->sys_a1 = args->new_len;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mremap")
int on_mremap_exit(struct sys_exit_args *args)
{
	struct thread_state *ts = traced_thread();

	if (!ts || ts->sys_pending != DRIP_FN_MREMAP)
		return 0;
	ts->sys_pending = 0;
	if (args->ret < 0 && args->ret > -4096)
		return 0;
	emit_alloc(args, ts, DRIP_FN_MREMAP, (__u64)args->ret, 1, ts->sys_a1, ts->sys_a0, 0, true);
	return 0;
}

/* brk/sbrk called by the program itself (not from inside malloc) */
SEC("tracepoint/syscalls/sys_enter_brk")
int on_brk_enter(void *args)
{
	struct thread_state *ts = traced_thread();
	struct task_struct *task = bpf_get_current_task_btf();

	if (!ts || ts->depth)
		return 0;
	ts->sys_pending = DRIP_FN_BRK;
	ts->sys_a0 = BPF_CORE_READ(task, mm, brk);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_brk")
int on_brk_exit(struct sys_exit_args *args)
{
	struct thread_state *ts = traced_thread();
	__u64 old, now;

	if (!ts || ts->sys_pending != DRIP_FN_BRK)
		return 0;
	ts->sys_pending = 0;
	old = ts->sys_a0;
	now = (__u64)args->ret; /* the break after the call (unchanged on failure) */
	if (now > old)
		emit_alloc(args, ts, DRIP_FN_BRK, old, 1, now - old, 0, 0, true);
	else if (now < old)
		emit_free(DRIP_FN_BRK, now, old - now);
	return 0;
}
