/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Outstanding blocks keyed by (proc, addr), and per-(proc, stack) totals kept
 * up to date on every event, so a report never rescans history.  `proc` is
 * the collector's index of one process image (a reused PID or an exec gets a
 * new index), `stack` an index into the stack store.  A forked child sees its
 * parent's blocks copy-on-write (table__fork).  Budget: <= 100 bytes of
 * RSS per outstanding block.  Every event is O(1) and allocates nothing but
 * the occasional doubling of a hash.
 */
#ifndef DRIP_TABLE_H
#define DRIP_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct table;

struct site_stats {
	uint64_t allocs;      /* allocations seen from this (proc, stack) */
	uint64_t alloc_bytes; /* their sizes, summed: bytes allocated here while traced */
	uint64_t frees;	      /* of those, released */
	uint64_t outstanding_bytes;
	uint64_t outstanding_allocs;
	uint64_t
		inherited_frees; /* blocks proc inherited at fork (allocated here by an ancestor) and freed */
};

/* What a release took out. */
struct table_freed {
	uint64_t size;
	uint32_t stack; /* the stack that allocated it */
	bool inherited; /* a block the process inherited at fork */
};

struct table *table__new(size_t expect); /* NULL with errno = ENOMEM */
void table__free(struct table *t);

/*
 * Record a block.  If (proc, addr) is already outstanding, a release was lost
 * (e.g. a dropped event): the old block is released first (counted as a free
 * of its own site) and 1 is returned; otherwise 0.  -ENOMEM on allocation
 * failure, -EINVAL for addr 0 (nothing changed).
 */
int table__on_alloc(struct table *t, uint32_t proc, uint64_t addr, uint64_t size, uint32_t stack,
		    uint64_t ts);
/*
 * Release a block.  -ENOENT when (proc, addr) is not outstanding (allocated
 * before attach: an unknown free).  With ts_limit != 0 only a block allocated
 * before ts_limit is released (late frees drained from the overflow map, a
 * realloc's old block); -EEXIST when the block there is newer.
 */
int table__on_free(struct table *t, uint32_t proc, uint64_t addr, uint64_t ts_limit);
/*
 * table__on_free() at time ts (the free's): returns 1 when the block was one
 * proc inherited at fork (counted as an inherited free of proc's site with the
 * allocating stack; proc's outstanding does not change), 0 for its own.  out
 * (may be NULL) says what was released.
 */
int table__free_at(struct table *t, uint32_t proc, uint64_t addr, uint64_t ts_limit, uint64_t ts,
		   struct table_freed *out);
/*
 * child was forked by parent at ts: it sees parent's blocks allocated before
 * ts and not freed by then (a copy-on-write view, nothing is copied), and can
 * free them.  Blocks parent allocates or frees after ts do not change it.
 * -EEXIST when child was already forked or has blocks, -ENOMEM.
 */
int table__fork(struct table *t, uint32_t parent, uint32_t child, uint64_t ts);
/* proc exited or exec'd: what only its children's views kept may go. */
void table__end(struct table *t, uint32_t proc);
/* Inherited blocks proc still holds (not in its outstanding totals). */
void table__inherited(const struct table *t, uint32_t proc, uint64_t *bytes, uint64_t *allocs);
/* Whiteouts plus ghosts: the memory the fork views cost (for benchmarks). */
size_t table__nr_shared(const struct table *t);
/*
 * Drop every block of proc (its image was replaced by exec): its sites keep
 * their allocs and frees, outstanding goes to zero.  Returns blocks dropped.
 */
size_t table__drop_proc(struct table *t, uint32_t proc);

size_t table__nr_blocks(const struct table *t);
size_t table__nr_sites(const struct table *t);

/* Stats of one (proc, stack), or NULL when never seen.  Valid until the next on_alloc. */
const struct site_stats *table__site(const struct table *t, uint32_t proc, uint32_t stack);

/*
 * Visit every (proc, stack) site, in order of first allocation; stop early
 * when cb returns non-zero (returned).  Callbacks must not change the table.
 */
typedef int (*table_site_cb)(uint32_t proc, uint32_t stack, const struct site_stats *st, void *ctx);
int table__for_each_site(const struct table *t, table_site_cb cb, void *ctx);

/* Visit every outstanding block (for ages), in no set order; same rules. */
typedef int (*table_block_cb)(uint32_t proc, uint64_t addr, uint64_t size, uint32_t stack,
			      uint64_t ts, void *ctx);
int table__for_each_block(const struct table *t, table_block_cb cb, void *ctx);

#endif /* DRIP_TABLE_H */
