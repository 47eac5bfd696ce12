/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The whole BPF <-> user-space contract: event records on the ring buffer,
 * drop counters, map value layouts.  Fields are __u32/__u64 only, padded to
 * multiples of 8 bytes, so both compilers lay them out identically.
 */
#ifndef DRIP_EVENTS_H
#define DRIP_EVENTS_H

#include "drip/unwind.h"

#define DRIP_MAX_FRAMES 127 /* user frames captured per stack */
#define DRIP_MAX_NEST	8   /* allocator calls pending on one thread */

/* Allocator entry points.  aligned_alloc shares memalign's code in glibc. */
enum drip_fn {
	DRIP_FN_MALLOC,
	DRIP_FN_CALLOC,
	DRIP_FN_REALLOC,
	DRIP_FN_REALLOCARRAY,
	DRIP_FN_FREE,
	DRIP_FN_POSIX_MEMALIGN,
	DRIP_FN_ALIGNED_ALLOC,
	DRIP_FN_MEMALIGN,
	DRIP_FN_VALLOC,
	DRIP_FN_PVALLOC,
	DRIP_FN_MMAP, /* anonymous mmap made outside the allocator */
	DRIP_FN_MUNMAP,
	DRIP_FN_MREMAP, /* alloc: old_addr moved/resized to addr (only if old_addr is tracked) */
	DRIP_FN_BRK,	/* alloc: the break grew by size at addr; free: it shrank to addr by len */
	DRIP_FN_REALLOC_KEEP, /* realloc whose NULL result never frees (musl; jemalloc rallocx) */
	DRIP_FN_XALLOCX, /* jemalloc xallocx(p, size, extra, flags): resizes in place or not at all */
	DRIP_FN__COUNT
};

enum drip_ev_type {
	DRIP_EV_ALLOC = 1,   /* struct drip_ev_alloc */
	DRIP_EV_FREE,	     /* struct drip_ev_free */
	DRIP_EV_STACK,	     /* struct drip_ev_stack, precedes the first alloc using it */
	DRIP_EV_FORK,	     /* struct drip_ev_proc: new process (not thread) */
	DRIP_EV_EXEC,	     /* struct drip_ev_proc: image replaced */
	DRIP_EV_EXIT,	     /* struct drip_ev_proc: last thread gone */
	DRIP_EV_STACK_IDS,   /* struct drip_ev_stack_ids, right after its DRIP_EV_STACK */
	DRIP_EV_STACK_FILES, /* struct drip_ev_stack_files, right after its DRIP_EV_STACK */
	DRIP_EV_NEED_FILE, /* struct drip_ev_need_file: a frame in a file user space has no entry for */
	DRIP_EV_PY_STACK, /* struct drip_ev_py_stack, right after its DRIP_EV_STACK */
};

struct drip_ev_hdr {
	__u32 type;
	__u32 tgid;
	__u64 ts; /* bpf_ktime_get_ns() */
};

/*
 * One successful allocation.  For calloc and reallocarray the size is
 * nmemb * size, computed in user space (BPF cannot check the overflow).
 * old_addr != 0: a realloc that succeeded released old_addr first, at some
 * moment after call_ts (its entry).  Another thread may have been handed that
 * address and reported it before this record: a block at old_addr allocated
 * after call_ts is that thread's, not the one this realloc released.
 */
struct drip_ev_alloc {
	struct drip_ev_hdr hdr;
	__u64 addr;
	__u64 size;
	__u64 nmemb; /* 1 unless calloc/reallocarray */
	__u64 old_addr;
	__u64 stack_hash; /* 0: no stack (capture failed, counted) */
	__u64 call_ts;	  /* realloc, reallocarray: entry time; else 0 */
	__u32 tid;
	__u32 fn; /* enum drip_fn */
};

/* One release: free(p), realloc(p, 0), munmap(addr, len). */
struct drip_ev_free {
	struct drip_ev_hdr hdr;
	__u64 addr;
	union {
		__u64 len;     /* munmap, brk: length; 0 for free */
		__u64 call_ts; /* realloc(p, 0): entry time, as in drip_ev_alloc */
	};
	__u32 tid;
	__u32 fn;
};

/* A user stack, sent once per hash (BPF remembers which it sent). */
struct drip_ev_stack {
	struct drip_ev_hdr hdr;
	__u64 hash;
	__u32 nr;		    /* frames in ips[]; frames[0] is the allocator's caller */
	__u32 flags;		    /* enum drip_stack_flags */
	__u64 ips[DRIP_MAX_FRAMES]; /* only nr are sent */
};

/*
 * (build-id, file offset) of each frame, taken by the kernel while the
 * process runs, so a process that is gone before user space reads its maps
 * still symbolizes.  Layout of the kernel's struct bpf_stack_build_id.
 */
struct drip_frame_id {
	__s32 status; /* 1: build_id and offset valid; 2: only the ip; 0: none */
	__u8 build_id[20];
	__u64 offset;
};

enum drip_frame_id_status {
	DRIP_FRAME_ID_EMPTY = 0,
	DRIP_FRAME_ID_VALID = 1,
	DRIP_FRAME_ID_IP = 2,
};

struct drip_ev_stack_ids {
	struct drip_ev_hdr hdr;
	__u64 hash;
	__u32 nr;
	__u32 pad;
	struct drip_frame_id ids[DRIP_MAX_FRAMES]; /* only nr are sent */
};

/* The (file, offset) of each frame of a DWARF-walked stack. */
struct drip_ev_stack_files {
	struct drip_ev_hdr hdr;
	__u64 hash;
	__u32 nr;
	__u32 pad;
	struct drip_frame_file files[DRIP_MAX_FRAMES]; /* only nr are sent */
};

/* Build this file's table: it is mapped at [start, end) in hdr.tgid. */
struct drip_ev_need_file {
	struct drip_ev_hdr hdr;
	__u64 dev; /* kernel encoding, as in struct drip_file_key */
	__u64 ino;
	__u64 start;
	__u64 end;
};

enum drip_stack_flags {
	DRIP_STACK_TRUNCATED = 1 << 0,	/* walk hit DRIP_MAX_FRAMES */
	DRIP_STACK_SYSCALL = 1 << 1,	/* ips[0] is [sp] at a syscall, ips[1] the syscall site */
	DRIP_STACK_SITE_FIRST = 1 << 2, /* ips[0] is the syscall site, ips[1] its caller (DWARF) */
};

struct drip_ev_proc {
	struct drip_ev_hdr hdr;
	__u32 ppid;	    /* parent tgid (FORK) */
	__u32 nspid;	    /* tgid in its own PID namespace */
	__u64 start_time;   /* task start, ns since boot: (tgid, start_time) names a process */
	__u8 filename[256]; /* EXEC: the path given to execve, NUL-terminated */
	__u32 flags;	    /* FORK: enum drip_proc_flags */
	__u32 pad;
	__u8 comm[16]; /* the task's comm as the event fires (FORK: the child's first) */
};

/* How a FORK child relates to its parent's memory (the tracepoint has no clone flags). */
enum drip_proc_flags {
	DRIP_PROC_SHARED_VM = 1 << 0, /* CLONE_VM: the child runs in its parent's address space */
	DRIP_PROC_VFORK = 1 << 1,     /* CLONE_VFORK: the parent waits for its exec or exit */
	/* --cgroup, decided in the kernel as the event happens (user space may look too late) */
	DRIP_PROC_CGROUP_CHECKED = 1 << 2, /* the next bit is meaningful */
	DRIP_PROC_IN_CGROUP = 1 << 3,	   /* in the cgroup, or below it */
};

/*
 * Python frames (CPython 3.10-3.12), collected by BPF from the interpreter's
 * own frame list at each allocation of a process user space identified as
 * CPython.  Innermost first, like native frames.
 */
#define DRIP_PY_MAX_FRAMES 64

enum drip_py_frame_flags {
	DRIP_PY_ENTRY = 1 << 0, /* the first frame an eval-loop call ran: the C caller is next */
};

struct drip_py_frame {
	__u64 code;  /* PyCodeObject address, resolved by user space while the process lives */
	__s32 instr; /* byte offset of the instruction executing in the code (-2: not started) */
	__u32 flags; /* enum drip_py_frame_flags */
};

struct drip_ev_py_stack {
	struct drip_ev_hdr hdr;
	__u64 hash;
	__u32 nr;
	__u32 flags; /* DRIP_STACK_TRUNCATED: more Python frames than DRIP_PY_MAX_FRAMES */
	struct drip_py_frame frames[DRIP_PY_MAX_FRAMES]; /* only nr are sent */
};

/* How an interpreter marks where one eval-loop call's frames end. */
enum drip_py_entry {
	DRIP_PY_ENTRY_EVERY = 0, /* 3.10: every frame is its own eval-loop call */
	DRIP_PY_ENTRY_FLAG,	 /* 3.11: a byte (is_entry) in the frame */
	DRIP_PY_ENTRY_SHIM,	 /* 3.12: a shim frame owned by the C stack (owner == shim) */
};

enum drip_py_instr {
	DRIP_PY_INSTR_PTR = 0, /* a pointer to the last instruction (prev_instr) */
	DRIP_PY_INSTR_INDEX,   /* an int: index of the last instruction (3.10 f_lasti) */
};

#define DRIP_PY_NONE	  0xffffffffu /* an offset an interpreter does not have */
#define DRIP_PY_FRAME_MAX 128	      /* frame bytes BPF reads at once: offsets + 8 stay below */

/*
 * Where a CPython process keeps its frames: map value of py_procs, keyed by
 * tgid.  Offsets are byte offsets into the interpreter's structures, from
 * src/python.c's table for the interpreter's version.
 */
struct drip_py_proc {
	__u64 runtime;		/* address of _PyRuntime in the process */
	__u32 runtime_interp;	/* _PyRuntime.interpreters.head */
	__u32 interp_tstate;	/* PyInterpreterState.threads.head */
	__u32 tstate_next;	/* PyThreadState.next */
	__u32 tstate_thread_id; /* PyThreadState.thread_id: pthread_self(), the fs base */
	__u32 tstate_frame;	/* PyThreadState.cframe (3.11, 3.12) or .frame (3.10) */
	__u32 cframe_frame;   /* _PyCFrame.current_frame; DRIP_PY_NONE: tstate_frame is the frame */
	__u32 frame_code;     /* f_code */
	__u32 frame_previous; /* previous (3.11+) or f_back (3.10) */
	__u32 frame_instr;    /* prev_instr or f_lasti */
	__u32 frame_entry;    /* is_entry (ENTRY_FLAG) or owner (ENTRY_SHIM) */
	__u32 frame_size;     /* bytes to read per frame (<= DRIP_PY_FRAME_MAX) */
	__u32 code_start;     /* offset of the first instruction in the code object */
	__u32 instr_kind;     /* enum drip_py_instr */
	__u32 entry_kind;     /* enum drip_py_entry */
	__u32 shim_owner;     /* ENTRY_SHIM: the owner value of shim frames */
	__u32 interp_next;    /* PyInterpreterState.next: threads of subinterpreters too */
	__u32 frame_stack;    /* frames lie on a data stack, each below the one it called (3.11+) */
	__u32 pad;
};

/* Key of the free-overflow map: frees that found the ring buffer full. */
struct drip_free_key {
	__u32 tgid;
	__u32 pad;
	__u64 addr;
};

/* Every way BPF can lose or degrade data has a counter (PERCPU_ARRAY). */
enum drip_stat {
	DRIP_STAT_RB_FULL_ALLOC,   /* alloc reserve failed: event lost */
	DRIP_STAT_RB_FULL_STACK,   /* stack reserve failed: alloc has unknown stack */
	DRIP_STAT_RB_FULL_FREE,	   /* free reserve failed: went to overflow map */
	DRIP_STAT_FREE_LOST,	   /* overflow map full too: free lost */
	DRIP_STAT_RB_FULL_PROC,	   /* fork/exec/exit event lost */
	DRIP_STAT_NEST_FULL,	   /* more than DRIP_MAX_NEST pending calls */
	DRIP_STAT_STACK_ERR,	   /* bpf_get_stack() < 0 */
	DRIP_STAT_NO_TASK_STORAGE, /* task storage unavailable: call lost */
	DRIP_STAT_STALE_PENDING,   /* entry without return (longjmp, attach race) */
	DRIP_STAT_MEMPTR_READ,	   /* posix_memalign *memptr unreadable */
	DRIP_STAT_TARGETS_FULL,	   /* a new child could not join the targets map */
	DRIP_STAT_TABLE_NOT_READY, /* a frame's module had no unwind table yet: frame pointers used */
	DRIP_STAT_UNWIND_FAIL,	   /* a DWARF step could not read the stack: stack cut short */
	DRIP_STAT_PY_FAULT,	   /* a Python frame could not be read: Python frames cut short */
	DRIP_STAT__COUNT
};

/* Read-only knobs set before load. */
struct drip_config {
	__u32 follow_children;
	__u32 trace_mmap;
	__u32 capture_stacks;
	__u32 wakeup_bytes;   /* force a wake-up when this much data waits */
	__u32 empty_programs; /* benchmark: probes fire, programs return at once */
	__u32 dwarf;	      /* unwind with the tables (else frame pointers only) */
	__u32 cgroup_filter;  /* --cgroup: the cgroup_filter map holds its directory */
};

#endif /* DRIP_EVENTS_H */
