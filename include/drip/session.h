/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Skeleton lifecycle: open, size maps, set rodata, load, attach the
 * tracepoint programs, own the ring buffer.  Uprobes are attach.c's.
 */
#ifndef DRIP_SESSION_H
#define DRIP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>
#include "drip/events.h"

struct session;
struct drip_bpf;

struct session_opts {
	size_t ringbuf_size; /* bytes, power of two */
	bool follow_children;
	bool trace_mmap;
	bool stacks;
	bool empty_programs;  /* benchmark the per-hit floor */
	bool dwarf;	      /* unwind with CFI tables */
	uint32_t unwind_rows; /* capacity of the BPF rows array */
	int cgroup_fd;	      /* --cgroup: its directory, open; -1: none */
	/* every ring-buffer record; return non-zero to stop consuming */
	int (*on_event)(void *ctx, const void *data, size_t size);
	/* a free drained from the overflow map (ring was full when it happened) */
	void (*on_late_free)(void *ctx, uint32_t tgid, uint64_t addr, uint64_t ts);
	void *ctx;
};

int session__open(const struct session_opts *o, struct session **out);
void session__free(struct session *s);
struct drip_bpf *session__skel(struct session *s);

/* Add a process to the in-kernel target set (its children follow). */
int session__add_target(struct session *s, pid_t tgid);
/* Walk tgid's Python frames at its allocations, as py says (NULL: no longer). */
int session__set_python(struct session *s, pid_t tgid, const struct drip_py_proc *py);
/* Current target set; *pids is malloc'ed. */
int session__targets(struct session *s, pid_t **pids, size_t *n);

/* Wait up to timeout_ms for data, then consume everything. Events consumed or -errno. */
int session__poll(struct session *s, int timeout_ms);
/* Consume the ring and drain the free overflow map. */
int session__drain(struct session *s);
/* Sum of the per-CPU drop counters. */
int session__stats(struct session *s, uint64_t counts[DRIP_STAT__COUNT]);

extern const char *const drip_stat_names[DRIP_STAT__COUNT];

#endif /* DRIP_SESSION_H */
