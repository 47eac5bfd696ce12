// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The collector fed synthetic ring-buffer records, checked through the report
 * it builds.  No root, no BPF.  Synthetic processes use the highest PIDs
 * the kernel can hand out (PID_MAX_LIMIT is 4194304 on 64-bit; the collector
 * rejects anything above as forged), and main checks that none exists, so
 * every /proc lookup for them fails: they have no comm, exe or maps, and
 * their frames stay unresolved (module and function NULL).
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "drip/collector.h"

#define PID_MAX_LIMIT 4194304u
#define P1	      4194300u /* no such process: main checks */
#define P2	      4194301u
#define P3	      4194302u
#define P4	      4194303u
#define PPID	      4194299u /* parent of the synthetic processes: not traced */

#define H1	      0x1111111111111111ULL /* BPF stack hashes */
#define H2	      0x2222222222222222ULL

#define A1	      0x7f0000001000ULL /* heap addresses */
#define A2	      0x7f0000002000ULL
#define A3	      0x7f0000003000ULL
#define A4	      0x7f0000004000ULL

#define SEC_NS	      1000000000ULL

static const uint64_t ips1[] = { 0x401000, 0x401100, 0x401200 };
static const uint64_t ips2[] = { 0x402000, 0x402100 };

/* ---- record builders: each record is handed over in a buffer of exactly its size ---- */

static int feed(struct collector *c, const void *rec, size_t size)
{
	void *buf = malloc(size ? size : 1);
	int ret;

	assert_non_null(buf);
	memcpy(buf, rec, size);
	ret = collector__on_event(c, buf, size);
	free(buf);
	return ret;
}

static void send_stack_flags(struct collector *c, uint32_t tgid, uint64_t hash, const uint64_t *ips,
			     uint32_t nr, uint32_t flags)
{
	struct drip_ev_stack ev = { .hdr = { .type = DRIP_EV_STACK, .tgid = tgid, .ts = 1 },
				    .hash = hash,
				    .nr = nr,
				    .flags = flags };

	memcpy(ev.ips, ips, nr * sizeof(ev.ips[0]));
	assert_int_equal(feed(c, &ev, offsetof(struct drip_ev_stack, ips) + nr * sizeof(ev.ips[0])),
			 DRIP_EV_STACK);
}

static void send_stack(struct collector *c, uint32_t tgid, uint64_t hash, const uint64_t *ips,
		       uint32_t nr)
{
	send_stack_flags(c, tgid, hash, ips, nr, 0);
}

static void send_alloc_full(struct collector *c, uint32_t tgid, uint64_t ts, uint64_t addr,
			    uint64_t size, uint64_t nmemb, uint64_t old_addr, uint64_t hash,
			    uint32_t fn)
{
	struct drip_ev_alloc ev = { .hdr = { .type = DRIP_EV_ALLOC, .tgid = tgid, .ts = ts },
				    .addr = addr,
				    .size = size,
				    .nmemb = nmemb,
				    .old_addr = old_addr,
				    .stack_hash = hash,
				    .tid = tgid,
				    .fn = fn };

	assert_int_equal(feed(c, &ev, sizeof(ev)), DRIP_EV_ALLOC);
}

static void send_malloc(struct collector *c, uint32_t tgid, uint64_t ts, uint64_t addr,
			uint64_t size, uint64_t hash)
{
	send_alloc_full(c, tgid, ts, addr, size, 1, 0, hash, DRIP_FN_MALLOC);
}

static void send_free_fn(struct collector *c, uint32_t tgid, uint64_t ts, uint64_t addr,
			 uint32_t fn)
{
	struct drip_ev_free ev = { .hdr = { .type = DRIP_EV_FREE, .tgid = tgid, .ts = ts },
				   .addr = addr,
				   .len = fn == DRIP_FN_MUNMAP ? 4096 : 0,
				   .tid = tgid,
				   .fn = fn };

	assert_int_equal(feed(c, &ev, sizeof(ev)), DRIP_EV_FREE);
}

static void send_free(struct collector *c, uint32_t tgid, uint64_t ts, uint64_t addr)
{
	send_free_fn(c, tgid, ts, addr, DRIP_FN_FREE);
}

static void send_proc(struct collector *c, uint32_t type, uint32_t tgid, uint32_t ppid,
		      uint64_t start, const char *filename)
{
	struct drip_ev_proc ev = { .hdr = { .type = type, .tgid = tgid, .ts = start },
				   .ppid = ppid,
				   .nspid = tgid,
				   .start_time = start };

	if (filename)
		snprintf((char *)ev.filename, sizeof(ev.filename), "%s", filename);
	assert_int_equal(feed(c, &ev, sizeof(ev)), (int)type);
}

/* send_proc with the comm the kernel put in the event */
static void send_proc_comm(struct collector *c, uint32_t type, uint32_t tgid, uint64_t start,
			   const char *filename, const char *comm)
{
	struct drip_ev_proc ev = { .hdr = { .type = type, .tgid = tgid, .ts = start },
				   .ppid = PPID,
				   .nspid = tgid,
				   .start_time = start };

	if (filename)
		snprintf((char *)ev.filename, sizeof(ev.filename), "%s", filename);
	memcpy(ev.comm, comm, strnlen(comm, sizeof(ev.comm)));
	assert_int_equal(feed(c, &ev, sizeof(ev)), (int)type);
}

static void send_fork(struct collector *c, uint32_t tgid, uint64_t start)
{
	send_proc(c, DRIP_EV_FORK, tgid, PPID, start, NULL);
}

/* ---- report helpers ---- */

static struct report *snap_drops(struct collector *c, uint64_t now, uint64_t min_age,
				 const uint64_t *drops)
{
	struct snapshot_opts o = {
		.now_ns = now, .min_age_ns = min_age, .duration_s = 1.5, .bpf_drops = drops
	};
	struct report *r = NULL;

	assert_int_equal(collector__report(c, &o, &r), 0);
	assert_non_null(r);
	assert_true(r->duration_s == 1.5);
	return r;
}

static struct report *snap(struct collector *c)
{
	return snap_drops(c, 100 * SEC_NS, 0, NULL);
}

static void assert_totals(const struct report *r, uint64_t allocs, uint64_t frees, uint64_t bytes,
			  uint64_t count, uint64_t unknown_frees, uint64_t events_lost)
{
	assert_int_equal(r->totals.allocs, allocs);
	assert_int_equal(r->totals.frees, frees);
	assert_int_equal(r->totals.outstanding_bytes, bytes);
	assert_int_equal(r->totals.outstanding_allocs, count);
	assert_int_equal(r->totals.unknown_frees, unknown_frees);
	assert_int_equal(r->totals.events_lost, events_lost);
}

static void assert_row(const struct report_stack *s, uint32_t pid, uint64_t bytes, uint64_t count,
		       uint64_t allocs, uint64_t frees)
{
	assert_int_equal(s->pid, pid);
	assert_int_equal(s->outstanding_bytes, bytes);
	assert_int_equal(s->outstanding_allocs, count);
	assert_int_equal(s->allocs, allocs);
	assert_int_equal(s->frees, frees);
}

static void assert_frames(const struct report_stack *s, const uint64_t *ips, size_t nr)
{
	assert_int_equal(s->nr_frames, nr);
	for (size_t i = 0; i < nr; i++) {
		assert_int_equal(s->frames[i].kind, FRAME_NATIVE);
		assert_int_equal(s->frames[i].address, ips[i]);
		assert_null(s->frames[i].module); /* no maps: nothing to name them with */
		assert_null(s->frames[i].function);
	}
}

/* Count of the named drop, or UINT64_MAX when not listed. */
static uint64_t drop(const struct report *r, const char *name)
{
	for (size_t i = 0; i < r->nr_drops; i++)
		if (!strcmp(r->drop_names[i], name))
			return r->drop_counts[i];
	return UINT64_MAX;
}

static bool is_hex16(const char *id)
{
	if (strlen(id) != 16)
		return false;
	for (int i = 0; i < 16; i++)
		if (!strchr("0123456789abcdef", id[i]))
			return false;
	return true;
}

/* ---- tests ---- */

static void test_alloc_then_free(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	assert_non_null(c);
	send_fork(c, P1, 5 * SEC_NS);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 10, A1, 100, H1);
	send_free(c, P1, 20, A1);

	r = snap(c);
	assert_totals(r, 1, 1, 0, 0, 0, 0);
	assert_false(r->incomplete);
	assert_int_equal(r->nr_drops, 0);
	/* the site keeps its row: allocated once, freed once */
	assert_int_equal(r->nr_stacks, 1);
	assert_row(&r->stacks[0], P1, 0, 0, 1, 1);
	assert_false(r->stacks[0].exited);
	assert_false(r->stacks[0].truncated);
	assert_true(is_hex16(r->stacks[0].stack_id));
	assert_string_not_equal(r->stacks[0].stack_id, "0000000000000000");
	assert_frames(&r->stacks[0], ips1, 3);
	assert_int_equal(r->nr_merged, 1);
	assert_string_equal(r->merged[0].stack_id, r->stacks[0].stack_id);
	assert_int_equal(r->merged[0].pids, 1);
	assert_int_equal(r->merged[0].outstanding_bytes, 0);
	assert_int_equal(r->nr_processes, 1);
	assert_int_equal(r->processes[0].pid, P1);
	assert_int_equal(r->processes[0].ppid, PPID);
	assert_int_equal(r->processes[0].start_time, 5 * SEC_NS);
	assert_int_equal(r->processes[0].nspid, 0); /* same as pid */
	assert_null(r->processes[0].comm);	    /* unknown: null, not "" */
	assert_null(r->processes[0].exe);
	assert_int_equal(r->processes[0].outstanding_bytes, 0);
	assert_int_equal(r->processes[0].outstanding_allocs, 0);
	assert_false(r->processes[0].exited);
	collector__report_free(r);
	collector__free(c);
}

static void test_first_alloc_creates_the_process(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 10, A1, 100, H1); /* no fork seen: a process found at its first event */
	assert_true(collector__live(c, P1));
	assert_int_equal(collector__nr_live(c), 1);

	r = snap(c);
	assert_totals(r, 1, 0, 100, 1, 0, 0);
	assert_int_equal(r->nr_processes, 1);
	assert_int_equal(r->processes[0].pid, P1);
	assert_int_equal(r->processes[0].outstanding_bytes, 100);
	assert_int_equal(r->nr_stacks, 1);
	assert_row(&r->stacks[0], P1, 100, 1, 1, 0);
	collector__report_free(r);
	collector__free(c);
}

static void test_free_of_unknown_address_is_unknown_free(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 10, A1, 100, H1);
	send_free(c, P1, 20, A2); /* allocated before attach */
	send_free(c, P2, 30, A1); /* a process never seen: same address, not its block */
	send_free(c, P1, 40, A1); /* the real one */
	send_free(c, P1, 50, A1); /* double free */
	assert_int_equal(collector__counts(c)->unknown_frees, 3);

	r = snap(c);
	assert_totals(r, 1, 1, 0, 0, 3, 0);
	assert_false(r->incomplete); /* allocated before attach is not a loss */
	assert_int_equal(r->nr_stacks, 1);
	assert_row(&r->stacks[0], P1, 0, 0, 1, 1);
	collector__report_free(r);
	collector__free(c);
}

static void test_munmap_of_unknown_address_is_not_unknown_free(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_free_fn(c, P1, 10, A1, DRIP_FN_MUNMAP); /* the program did not map it: not a free */
	send_free_fn(c, P2, 10, A1, DRIP_FN_MUNMAP); /* nor in a process never seen */
	send_alloc_full(c, P1, 20, A2, 8192, 1, 0, H1, DRIP_FN_MMAP);
	send_free_fn(c, P1, 30, A2, DRIP_FN_MUNMAP); /* its own mapping: a free */

	r = snap(c);
	assert_totals(r, 1, 1, 0, 0, 0, 0);
	assert_int_equal(r->nr_stacks, 1);
	assert_row(&r->stacks[0], P1, 0, 0, 1, 1);
	collector__report_free(r);
	collector__free(c);
}

static void test_realloc_releases_old_block(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_stack(c, P1, H2, ips2, 2);
	send_malloc(c, P1, 10, A1, 100, H1);
	send_alloc_full(c, P1, 20, A2, 200, 1, A1, H2, DRIP_FN_REALLOC); /* moved */
	send_free(c, P1, 30, A1); /* already released by the realloc */

	r = snap(c);
	assert_totals(r, 2, 1, 200, 1, 1, 0);
	assert_int_equal(r->nr_stacks, 2);
	assert_row(&r->stacks[0], P1, 200, 1, 1, 0); /* the new block: the realloc's stack */
	assert_frames(&r->stacks[0], ips2, 2);
	assert_row(&r->stacks[1], P1, 0, 0, 1, 1); /* the old one: freed by the realloc */
	assert_frames(&r->stacks[1], ips1, 3);
	assert_int_equal(r->processes[0].outstanding_bytes, 200);
	collector__report_free(r);
	collector__free(c);
}

/*
 * Thread 1 reallocs A1 (entry at 15): glibc releases A1 inside the call, thread
 * 2's malloc is handed A1 and reports it (20) before thread 1's realloc
 * returns (30).  Thread 2's block must survive; the first A1 was released.
 */
static void test_realloc_race_keeps_the_new_owner(void **state)
{
	struct collector *c = collector__new();
	struct drip_ev_alloc ev = { .hdr = { .type = DRIP_EV_ALLOC, .tgid = P1, .ts = 30 },
				    .addr = A2,
				    .size = 200,
				    .nmemb = 1,
				    .old_addr = A1,
				    .stack_hash = H2,
				    .call_ts = 15,
				    .tid = P1,
				    .fn = DRIP_FN_REALLOC };
	struct drip_ev_free ev0 = { .hdr = { .type = DRIP_EV_FREE, .tgid = P1, .ts = 50 },
				    .addr = A2,
				    .call_ts = 35,
				    .tid = P1,
				    .fn = DRIP_FN_REALLOC };
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_stack(c, P1, H2, ips2, 2);
	send_malloc(c, P1, 10, A1, 100, H1);
	send_malloc(c, P1, 20, A1, 50, H1); /* thread 2 */
	assert_int_equal(feed(c, &ev, sizeof(ev)), DRIP_EV_ALLOC);
	/* realloc(A2, 0) entered at 35, thread 2 got A2 at 40 */
	send_malloc(c, P1, 40, A2, 70, H1);
	assert_int_equal(feed(c, &ev0, sizeof(ev0)), DRIP_EV_FREE);

	r = snap(c);
	/* allocs: A1, A1 (thread 2), A2, A2 (thread 2); frees: both realloc releases */
	assert_totals(r, 4, 2, 120, 2, 0, 0);
	assert_false(r->incomplete);
	assert_int_equal(drop(r, "implied_frees"), UINT64_MAX); /* none: not listed */
	collector__report_free(r);
	collector__free(c);
}

static void test_realloc_in_place_resizes(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_stack(c, P1, H2, ips2, 2);
	send_malloc(c, P1, 10, A1, 100, H1);
	send_alloc_full(c, P1, 20, A1, 300, 1, A1, H2, DRIP_FN_REALLOC); /* grown where it was */

	r = snap(c);
	assert_totals(r, 2, 1, 300, 1, 0, 0);
	assert_int_equal(collector__counts(c)->implied_frees, 0);
	assert_false(r->incomplete);
	assert_row(&r->stacks[0], P1, 300, 1, 1, 0);
	assert_row(&r->stacks[1], P1, 0, 0, 1, 1);
	collector__report_free(r);
	collector__free(c);
}

/*
 * alloc_bytes: the sizes of the allocations counted in allocs, by valgrind's
 * rules: a realloc is a free plus an alloc of the new size, moved or in place.
 */
static void test_alloc_bytes_sum_each_allocation(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_stack(c, P1, H2, ips2, 2);
	send_malloc(c, P1, 10, A1, 100, H1);
	send_alloc_full(c, P1, 20, A2, 300, 1, A1, H2, DRIP_FN_REALLOC); /* moved */
	send_alloc_full(c, P1, 30, A2, 50, 1, A2, H2, DRIP_FN_REALLOC);	 /* shrunk in place */
	send_alloc_full(c, P1, 40, A3, 24, 10, 0, H1, DRIP_FN_CALLOC);
	send_free(c, P1, 50, A2);
	send_alloc_full(c, P1, 60, A4, 1ULL << 32, 1ULL << 32, 0, H1, DRIP_FN_CALLOC); /* failed */

	r = snap(c);
	assert_true(r->has_alloc_bytes);
	assert_totals(r, 4, 3, 240, 1, 0, 0);
	assert_int_equal(r->totals.alloc_bytes, 100 + 300 + 50 + 240);
	assert_int_equal(r->nr_stacks, 2);
	assert_row(&r->stacks[0], P1, 240, 1, 2, 1); /* H1: malloc 100 (freed), calloc 240 */
	assert_int_equal(r->stacks[0].alloc_bytes, 100 + 240);
	assert_row(&r->stacks[1], P1, 0, 0, 2, 2); /* H2: both reallocs' blocks freed */
	assert_int_equal(r->stacks[1].alloc_bytes, 300 + 50);
	collector__report_free(r);
	collector__free(c);
}

static void test_realloc_of_unknown_address_is_unknown_free(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_alloc_full(c, P1, 10, A2, 64, 1, A1, H1, DRIP_FN_REALLOC);

	r = snap(c);
	assert_totals(r, 1, 0, 64, 1, 1, 0);
	assert_int_equal(r->nr_stacks, 1);
	assert_row(&r->stacks[0], P1, 64, 1, 1, 0);
	collector__report_free(r);
	collector__free(c);
}

static void test_calloc_size_is_nmemb_times_size(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_alloc_full(c, P1, 10, A1, 24, 10, 0, H1, DRIP_FN_CALLOC);
	send_alloc_full(c, P1, 11, A2, 3, 7, 0, H1, DRIP_FN_REALLOCARRAY);

	r = snap(c);
	assert_totals(r, 2, 0, 240 + 21, 2, 0, 0);
	assert_row(&r->stacks[0], P1, 261, 2, 2, 0);
	assert_int_equal(r->processes[0].outstanding_bytes, 261);
	collector__report_free(r);
	collector__free(c);
}

static void test_calloc_overflow_is_ignored(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_alloc_full(c, P1, 10, A1, 1ULL << 32, 1ULL << 32, 0, H1, DRIP_FN_CALLOC);
	send_alloc_full(c, P1, 11, A2, UINT64_MAX, 2, 0, H1, DRIP_FN_CALLOC);
	send_free(c, P1, 20, A1); /* so nothing was recorded there */

	r = snap(c);
	assert_totals(r, 0, 0, 0, 0, 1, 0);
	assert_int_equal(r->nr_stacks, 0);
	assert_int_equal(r->nr_merged, 0);
	assert_int_equal(r->processes[0].outstanding_allocs, 0);
	collector__report_free(r);
	collector__free(c);
}

static void test_alloc_at_outstanding_address_implies_free(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_stack(c, P1, H2, ips2, 2);
	send_malloc(c, P1, 10, A1, 100, H1);
	send_malloc(c, P1, 20, A1, 50, H2); /* the free of the first was lost */
	assert_int_equal(collector__counts(c)->implied_frees, 1);

	r = snap(c);
	assert_totals(r, 2, 1, 50, 1, 0, 1);
	assert_true(r->incomplete);
	assert_int_equal(drop(r, "implied_frees"), 1);
	assert_int_equal(r->nr_stacks, 2);
	assert_row(&r->stacks[0], P1, 50, 1, 1, 0);
	assert_frames(&r->stacks[0], ips2, 2);
	assert_row(&r->stacks[1], P1, 0, 0, 1, 1); /* released where it came from */
	collector__report_free(r);
	collector__free(c);
}

static void test_alloc_with_unknown_stack(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_malloc(c, P1, 10, A1, 100, H1); /* its stack record never arrived: lost */
	send_malloc(c, P1, 11, A2, 30, 0);   /* no stack taken (--no-stacks, or counted in BPF) */
	assert_int_equal(collector__counts(c)->unknown_stacks, 1);

	r = snap(c);
	assert_totals(r, 2, 0, 130, 2, 0, 0); /* counted all the same */
	assert_true(r->incomplete);
	assert_int_equal(drop(r, "unknown_stacks"), 1);
	assert_int_equal(r->nr_stacks, 1);
	assert_row(&r->stacks[0], P1, 130, 2, 2, 0);
	assert_string_equal(r->stacks[0].stack_id, "0000000000000000");
	assert_int_equal(r->stacks[0].nr_frames, 0);
	assert_int_equal(r->nr_merged, 1);
	assert_string_equal(r->merged[0].stack_id, "0000000000000000");
	collector__report_free(r);
	collector__free(c);
}

/* --no-stacks: no stack is expected, so none is missing */
static void test_no_stacks_is_complete(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_malloc(c, P1, 10, A1, 100, 0);
	r = snap(c);
	assert_false(r->incomplete);
	assert_int_equal(collector__counts(c)->unknown_stacks, 0);
	collector__report_free(r);
	collector__free(c);
}

static void test_truncated_stack_is_flagged(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack_flags(c, P1, H1, ips1, 3, DRIP_STACK_TRUNCATED);
	send_stack(c, P1, H2, ips2, 2);
	send_malloc(c, P1, 10, A1, 100, H1);
	send_malloc(c, P1, 10, A2, 10, H2);

	r = snap(c);
	assert_int_equal(r->nr_stacks, 2);
	assert_row(&r->stacks[0], P1, 100, 1, 1, 0);
	assert_true(r->stacks[0].truncated);
	assert_row(&r->stacks[1], P1, 10, 1, 1, 0);
	assert_false(r->stacks[1].truncated);
	collector__report_free(r);
	collector__free(c);
}

/*
 * H1 in four processes: P1 100, P2 100+200+400-400 = 300, P3 50, P4 1000
 * (total 1450); H2 only in P1: 1200.  By row: H2 1200 is largest, by merged
 * total H1 1450 is.
 */
static void test_same_stack_in_four_processes_merges(void **state)
{
	const uint32_t pids[] = { P1, P2, P3, P4 };
	struct collector *c = collector__new();
	const struct report_merged *m;
	struct report *r;

	for (int i = 0; i < 4; i++)
		send_fork(c, pids[i], (uint64_t)(i + 1) * SEC_NS);
	send_stack(c, P1, H1, ips1, 3); /* sent once: BPF's hash is global */
	send_stack(c, P1, H2, ips2, 2);
	send_malloc(c, P1, 10, A1, 100, H1);
	send_malloc(c, P2, 11, A1, 100, H1); /* same address, other process */
	send_malloc(c, P2, 12, A2, 200, H1);
	send_malloc(c, P2, 13, A3, 400, H1);
	send_free(c, P2, 14, A3);
	send_malloc(c, P3, 15, A1, 50, H1);
	send_malloc(c, P4, 16, A4, 1000, H1);
	send_malloc(c, P1, 17, A2, 1200, H2);
	assert_int_equal(collector__nr_live(c), 4);

	r = snap(c);
	assert_totals(r, 7, 1, 2650, 6, 0, 0);
	assert_false(r->incomplete);

	assert_int_equal(r->nr_stacks, 5);
	assert_row(&r->stacks[0], P1, 1200, 1, 1, 0);
	assert_row(&r->stacks[1], P4, 1000, 1, 1, 0);
	assert_row(&r->stacks[2], P2, 300, 2, 3, 1);
	assert_row(&r->stacks[3], P1, 100, 1, 1, 0);
	assert_row(&r->stacks[4], P3, 50, 1, 1, 0);
	for (size_t i = 1; i < r->nr_stacks; i++) {
		assert_true(r->stacks[i - 1].outstanding_bytes >= r->stacks[i].outstanding_bytes);
		assert_frames(&r->stacks[i], ips1, 3);
	}
	/* one id for one code path, whatever the process */
	for (size_t i = 2; i < r->nr_stacks; i++)
		assert_string_equal(r->stacks[i].stack_id, r->stacks[1].stack_id);
	assert_string_not_equal(r->stacks[0].stack_id, r->stacks[1].stack_id);

	assert_int_equal(r->nr_merged, 2);
	m = &r->merged[0];
	assert_string_equal(m->stack_id, r->stacks[1].stack_id);
	assert_int_equal(m->pids, 4);
	assert_int_equal(m->outstanding_bytes, 1450);
	assert_int_equal(m->outstanding_allocs, 5);
	assert_int_equal(m->min_pid_bytes, 50);
	assert_int_equal(m->max_pid_bytes, 1000);
	assert_int_equal(m->first_stack, 1); /* P4's row: its largest */
	m = &r->merged[1];
	assert_string_equal(m->stack_id, r->stacks[0].stack_id);
	assert_int_equal(m->pids, 1);
	assert_int_equal(m->outstanding_bytes, 1200);
	assert_int_equal(m->outstanding_allocs, 1);
	assert_int_equal(m->min_pid_bytes, 1200);
	assert_int_equal(m->max_pid_bytes, 1200);
	assert_int_equal(m->first_stack, 0);

	assert_int_equal(r->nr_processes, 4);
	for (int i = 0; i < 4; i++) {
		const uint64_t bytes[] = { 1300, 300, 50, 1000 }, count[] = { 2, 2, 1, 1 };

		assert_int_equal(r->processes[i].pid, pids[i]); /* sorted by pid */
		assert_int_equal(r->processes[i].ppid, PPID);
		assert_int_equal(r->processes[i].start_time, (uint64_t)(i + 1) * SEC_NS);
		assert_int_equal(r->processes[i].outstanding_bytes, bytes[i]);
		assert_int_equal(r->processes[i].outstanding_allocs, count[i]);
		assert_false(r->processes[i].exited);
	}
	collector__report_free(r);
	collector__free(c);
}

static void test_exit_marks_exited_and_keeps_outstanding(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 10, A1, 64, H1);
	send_malloc(c, P1, 11, A2, 36, H1);
	send_free(c, P1, 12, A2);
	send_proc(c, DRIP_EV_EXIT, P1, PPID, 1, NULL);
	assert_false(collector__live(c, P1));
	assert_int_equal(collector__nr_live(c), 0);

	r = snap(c);
	assert_totals(r, 2, 1, 64, 1, 0, 0);
	assert_int_equal(r->nr_processes, 1);
	assert_true(r->processes[0].exited);
	assert_int_equal(r->processes[0].outstanding_bytes, 64);
	assert_int_equal(r->processes[0].outstanding_allocs, 1);
	assert_int_equal(r->nr_stacks, 1);
	assert_row(&r->stacks[0], P1, 64, 1, 2, 1);
	assert_true(r->stacks[0].exited);
	assert_frames(&r->stacks[0], ips1, 3); /* resolved (as far as can be) while it lived */
	collector__report_free(r);
	collector__free(c);
}

static void test_exec_releases_old_image(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 7 * SEC_NS);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 10, A1, 100, H1);
	send_malloc(c, P1, 11, A2, 200, H1);
	send_proc(c, DRIP_EV_EXEC, P1, 0, 7 * SEC_NS, "/nonexistent/drip-test-image");
	assert_true(collector__live(c, P1));
	assert_int_equal(collector__counts(c)->exec_released, 2);
	send_malloc(c, P1, 20, A3, 300, H1);
	send_free(c, P1, 21, A1); /* the old image's heap is gone: unknown */

	r = snap(c);
	assert_totals(r, 3, 0, 300, 1, 1, 0); /* a released image is not a free, nor a loss */
	assert_false(r->incomplete);
	assert_int_equal(drop(r, "exec_released"), 2);
	assert_int_equal(r->nr_processes, 1); /* the new image only */
	assert_int_equal(r->processes[0].pid, P1);
	assert_int_equal(r->processes[0].ppid, PPID); /* kept across exec */
	assert_int_equal(r->processes[0].start_time, 7 * SEC_NS);
	assert_string_equal(r->processes[0].exe, "/nonexistent/drip-test-image");
	assert_false(r->processes[0].exited);
	assert_int_equal(r->processes[0].outstanding_bytes, 300);
	assert_int_equal(r->processes[0].outstanding_allocs, 1);
	assert_int_equal(r->nr_stacks, 1); /* the old image's site is not listed */
	assert_row(&r->stacks[0], P1, 300, 1, 1, 0);
	assert_false(r->stacks[0].exited);
	collector__report_free(r);
	collector__free(c);
}

/*
 * Gone before drip read /proc (as every synthetic process is): the comm comes
 * from the kernel's events, an empty one stays unknown; exec of /proc/self/exe
 * runs the old image's file, and names no file when that is unknown.
 */
static void test_identity_of_a_vanished_process(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_proc_comm(c, DRIP_EV_FORK, P1, 1 * SEC_NS, NULL, "");
	send_proc_comm(c, DRIP_EV_FORK, P2, 2 * SEC_NS, NULL, "pool");
	send_proc_comm(c, DRIP_EV_FORK, P3, 3 * SEC_NS, NULL, "pool");
	send_proc_comm(c, DRIP_EV_EXEC, P2, 2 * SEC_NS, "/nonexistent/drip-pool", "drip-pool");
	send_proc_comm(c, DRIP_EV_EXEC, P2, 2 * SEC_NS, "/proc/self/exe", "exe");
	send_proc_comm(c, DRIP_EV_EXEC, P3, 3 * SEC_NS, "/proc/self/exe", "exe");
	r = snap(c);
	assert_int_equal(r->nr_processes, 3);
	assert_null(r->processes[0].comm);
	assert_string_equal(r->processes[1].comm, "exe");
	assert_string_equal(r->processes[1].exe, "/nonexistent/drip-pool");
	assert_string_equal(r->processes[2].comm, "exe");
	assert_null(r->processes[2].exe); /* not "/proc/self/exe" */
	collector__report_free(r);
	send_proc_comm(c, DRIP_EV_EXIT, P1, 1 * SEC_NS, NULL, "renamed");
	r = snap(c);
	assert_string_equal(r->processes[0].comm, "renamed"); /* learned at exit */
	assert_true(r->processes[0].exited);
	collector__report_free(r);
	collector__free(c);
}

static void test_pid_reuse_keeps_images_apart(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1 * SEC_NS);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 10, A1, 100, H1);
	send_proc(c, DRIP_EV_EXIT, P1, PPID, 1 * SEC_NS, NULL);
	send_fork(c, P1, 2 * SEC_NS); /* the PID came back: another process */
	send_free(c, P1, 20, A1);     /* not its block */
	send_malloc(c, P1, 21, A2, 50, H1);

	r = snap(c);
	assert_totals(r, 2, 0, 150, 2, 1, 0);
	assert_int_equal(r->nr_processes, 2);
	assert_int_equal(r->processes[0].pid, P1);
	assert_int_equal(r->processes[0].start_time, 1 * SEC_NS);
	assert_true(r->processes[0].exited);
	assert_int_equal(r->processes[0].outstanding_bytes, 100);
	assert_int_equal(r->processes[1].pid, P1);
	assert_int_equal(r->processes[1].start_time, 2 * SEC_NS);
	assert_false(r->processes[1].exited);
	assert_int_equal(r->processes[1].outstanding_bytes, 50);
	assert_int_equal(r->nr_stacks, 2);
	assert_row(&r->stacks[0], P1, 100, 1, 1, 0);
	assert_true(r->stacks[0].exited);
	assert_row(&r->stacks[1], P1, 50, 1, 1, 0);
	assert_false(r->stacks[1].exited);
	assert_string_equal(r->stacks[0].stack_id, r->stacks[1].stack_id);
	assert_int_equal(r->nr_merged, 1);
	assert_int_equal(r->merged[0].pids, 2);
	assert_int_equal(r->merged[0].outstanding_bytes, 150);
	collector__report_free(r);
	collector__free(c);
}

static void test_fork_of_live_pid_retires_stale_entry(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1 * SEC_NS);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 10, A1, 100, H1);
	send_fork(c, P1, 2 * SEC_NS); /* its exit event was lost */
	send_free(c, P1, 20, A1);

	r = snap(c);
	assert_totals(r, 1, 0, 100, 1, 1, 0);
	assert_int_equal(collector__nr_live(c), 1);
	assert_int_equal(r->nr_processes, 2);
	assert_true(r->processes[0].exited);
	assert_int_equal(r->processes[0].outstanding_bytes, 100);
	assert_false(r->processes[1].exited);
	assert_int_equal(r->processes[1].outstanding_bytes, 0);
	collector__report_free(r);
	collector__free(c);
}

/* ---- fork: a child's view of its parent's heap ---- */

static void send_fork_of(struct collector *c, uint32_t tgid, uint32_t ppid, uint64_t ts,
			 uint32_t flags)
{
	struct drip_ev_proc ev = { .hdr = { .type = DRIP_EV_FORK, .tgid = tgid, .ts = ts },
				   .ppid = ppid,
				   .nspid = tgid,
				   .start_time = ts,
				   .flags = flags };

	assert_int_equal(feed(c, &ev, sizeof(ev)), DRIP_EV_FORK);
}

static const struct report_process *proc_row(const struct report *r, uint32_t pid)
{
	for (size_t i = 0; i < r->nr_processes; i++)
		if (r->processes[i].pid == pid && !r->processes[i].exited)
			return &r->processes[i];
	fail_msg("no live process %u in the report", pid);
	return NULL;
}

static const struct report_stack *stack_row(const struct report *r, uint32_t pid)
{
	for (size_t i = 0; i < r->nr_stacks; i++)
		if (r->stacks[i].pid == pid)
			return &r->stacks[i];
	fail_msg("no stack of %u in the report", pid);
	return NULL;
}

static void test_worker_frees_inherited_block(void **state)
{
	struct collector *c = collector__new();
	const struct report_stack *ps, *ws;
	struct report *r;

	send_fork(c, P1, 1 * SEC_NS);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 2 * SEC_NS, A1, 100, H1);
	send_malloc(c, P1, 2 * SEC_NS + 1, A2, 50, H1);
	send_fork_of(c, P2, P1, 3 * SEC_NS, 0);
	send_free(c, P2, 4 * SEC_NS, A1);

	r = snap(c);
	/* balanced: not an unknown free, and the parent's heap is counted once */
	assert_totals(r, 2, 0, 150, 2, 0, 0);
	assert_int_equal(r->totals.inherited_frees, 1);
	assert_int_equal(proc_row(r, P1)->outstanding_bytes, 150);
	assert_int_equal(proc_row(r, P2)->outstanding_bytes, 0);
	assert_int_equal(proc_row(r, P2)->inherited_bytes, 50);
	assert_int_equal(proc_row(r, P2)->inherited_allocs, 1);
	assert_int_equal(proc_row(r, P1)->inherited_bytes, 0);
	ps = stack_row(r, P1);
	ws = stack_row(r, P2);
	assert_row(ws, P2, 0, 0, 0, 0);
	assert_int_equal(ws->inherited_frees, 1);
	assert_string_equal(ws->stack_id, ps->stack_id); /* the parent's stack, in the child */
	assert_frames(ws, ips1, 3);
	assert_int_equal(r->nr_merged, 1);
	assert_int_equal(r->merged[0].outstanding_bytes, 150);
	collector__report_free(r);

	/* the parent's own copy is still its own to free */
	send_free(c, P1, 5 * SEC_NS, A1);
	send_free(c, P2, 6 * SEC_NS, A1); /* twice in the child: unknown */
	r = snap(c);
	assert_totals(r, 2, 1, 50, 1, 1, 0);
	collector__report_free(r);
	collector__free(c);
}

static void test_parent_reuse_after_fork_stays_apart(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1 * SEC_NS);
	send_stack(c, P1, H1, ips1, 3);
	send_stack(c, P1, H2, ips2, 2);
	send_malloc(c, P1, 2 * SEC_NS, A1, 100, H1);
	send_fork_of(c, P2, P1, 3 * SEC_NS, 0);
	/* after the fork: the parent frees and gets the same address again */
	send_free(c, P1, 4 * SEC_NS, A1);
	send_malloc(c, P1, 5 * SEC_NS, A1, 7, H2);
	send_free(c, P2, 6 * SEC_NS, A1); /* the child's copy: 100 bytes from H1 */
	send_free(c, P2, 7 * SEC_NS, A1); /* the parent's new block is not the child's */

	r = snap(c);
	assert_totals(r, 2, 1, 7, 1, 1, 0);
	assert_int_equal(r->totals.inherited_frees, 1);
	assert_int_equal(proc_row(r, P2)->inherited_bytes, 0);
	assert_int_equal(proc_row(r, P1)->outstanding_bytes, 7);
	collector__report_free(r);
	collector__free(c);
}

static void test_vfork_child_shares_the_heap(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1 * SEC_NS);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 2 * SEC_NS, A1, 100, H1);
	send_malloc(c, P1, 2 * SEC_NS + 1, A2, 60, H1);
	send_fork_of(c, P2, P1, 3 * SEC_NS, DRIP_PROC_SHARED_VM | DRIP_PROC_VFORK);
	send_free(c, P2, 4 * SEC_NS, A1);	    /* frees the parent's block itself */
	send_malloc(c, P2, 5 * SEC_NS, A3, 10, H1); /* allocates in the parent's heap */
	send_proc(c, DRIP_EV_EXEC, P2, 0, 3 * SEC_NS, "/nonexistent/drip-test-image");

	r = snap(c);
	assert_totals(r, 3, 1, 70, 2, 0, 0);
	assert_int_equal(r->totals.inherited_frees, 0);
	assert_int_equal(drop(r, "exec_released"),
			 UINT64_MAX); /* the exec left the parent's heap alone */
	assert_int_equal(proc_row(r, P1)->outstanding_bytes, 70);
	send_free(c, P1, 6 * SEC_NS, A3);
	collector__report_free(r);
	r = snap(c);
	assert_totals(r, 3, 2, 60, 1, 0, 0);
	collector__report_free(r);
	collector__free(c);
}

static void test_exec_after_fork_drops_only_the_child(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1 * SEC_NS);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 2 * SEC_NS, A1, 100, H1);
	send_fork_of(c, P2, P1, 3 * SEC_NS, 0);
	send_malloc(c, P2, 4 * SEC_NS, A2, 30, H1);
	send_proc(c, DRIP_EV_EXEC, P2, 0, 3 * SEC_NS, "/nonexistent/drip-test-image");
	send_free(c, P2, 5 * SEC_NS, A1); /* a new image inherits nothing */

	r = snap(c);
	assert_totals(r, 2, 0, 100, 1, 1, 0);
	assert_int_equal(drop(r, "exec_released"), 1);
	assert_int_equal(proc_row(r, P2)->inherited_bytes, 0);
	collector__report_free(r);
	collector__free(c);
}

static void test_grandchild_frees_what_the_forkserver_inherited(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1 * SEC_NS);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 2 * SEC_NS, A1, 100, H1);
	send_fork_of(c, P2, P1, 3 * SEC_NS, 0); /* the fork server */
	send_fork_of(c, P3, P2, 4 * SEC_NS, 0); /* its workers */
	send_fork_of(c, P4, P2, 5 * SEC_NS, 0);
	send_free(c, P1, 6 * SEC_NS, A1);
	send_proc(c, DRIP_EV_EXIT, P2, 0, 3 * SEC_NS, NULL);
	send_free(c, P3, 7 * SEC_NS, A1);
	send_free(c, P4, 8 * SEC_NS, A1);

	r = snap(c);
	assert_totals(r, 1, 1, 0, 0, 0, 0);
	assert_int_equal(r->totals.inherited_frees, 2);
	collector__report_free(r);
	collector__free(c);
}

/* -p: a child found in /proc before its fork event was read is one process, not two */
static void test_fork_event_of_scanned_child_is_one_process(void **state)
{
	struct collector *c = collector__new();
	uint64_t start;
	struct report *r;

	assert_int_equal(collector__add_process(c, getpid()), 0);
	r = snap(c);
	assert_int_equal(r->nr_processes, 1);
	start = r->processes[0].start_time;
	collector__report_free(r);
	send_proc(c, DRIP_EV_FORK, getpid(), PPID, start + 3000000, NULL);
	r = snap(c);
	assert_int_equal(r->nr_processes, 1);
	assert_false(r->processes[0].exited);
	assert_int_equal(r->processes[0].ppid, PPID);
	collector__report_free(r);
	collector__free(c);
}

static void test_late_free_before_alloc_keeps_block(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 1000, A1, 100, H1);
	/* freed at 500 (an earlier block at A1): the ring buffer was full */
	collector__on_late_free(c, P1, A1, 500);
	collector__on_late_free(c, P1, A1, 1000); /* not before either */

	r = snap(c);
	assert_totals(r, 1, 0, 100, 1, 2, 0);
	assert_int_equal(drop(r, "late_frees"), 2);
	assert_row(&r->stacks[0], P1, 100, 1, 1, 0);
	collector__report_free(r);
	collector__free(c);
}

/* The pid was reused before the overflow map was drained: the free is the old image's. */
static void test_late_free_after_pid_reuse_hits_old_image(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 10, A1, 100, H1);
	send_proc(c, DRIP_EV_EXIT, P1, 0, 300, NULL);
	send_fork(c, P1, 400);
	collector__on_late_free(c, P1, A1, 200);

	r = snap(c);
	assert_totals(r, 1, 1, 0, 0, 0, 0);
	collector__report_free(r);
	collector__free(c);
}

/* Records no kernel can send: tgid 0, or above PID_MAX_LIMIT. */
static void test_forged_tgids_are_bad_records(void **state)
{
	struct collector *c = collector__new();
	struct drip_ev_alloc ev = {
		.hdr = { .type = DRIP_EV_ALLOC, .ts = 1 }, .addr = A1, .size = 8, .nmemb = 1
	};
	struct report *r;

	ev.hdr.tgid = 0;
	assert_int_equal(feed(c, &ev, sizeof(ev)), -EBADMSG);
	ev.hdr.tgid = PID_MAX_LIMIT + 1;
	assert_int_equal(feed(c, &ev, sizeof(ev)), -EBADMSG);
	ev.hdr.tgid = 0x80000000u;
	assert_int_equal(feed(c, &ev, sizeof(ev)), -EBADMSG);
	assert_int_equal(collector__nr_live(c), 0);
	r = snap(c);
	assert_int_equal(r->nr_processes, 0);
	assert_int_equal(collector__counts(c)->bad_records, 3);
	collector__report_free(r);
	collector__free(c);
}

/* nmemb * size overflows: the call failed, so realloc's old block lives on. */
static void test_overflowing_reallocarray_keeps_old_block(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 10, A1, 100, H1);
	send_alloc_full(c, P1, 20, A2, 1ULL << 32, 1ULL << 32, A1, H1, DRIP_FN_REALLOCARRAY);

	r = snap(c);
	assert_totals(r, 1, 0, 100, 1, 0, 0);
	collector__report_free(r);
	collector__free(c);
}

static void test_late_free_after_alloc_releases(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 1000, A1, 100, H1);
	collector__on_late_free(c, P1, A1, 2000);

	r = snap(c);
	assert_totals(r, 1, 1, 0, 0, 0, 0);
	assert_int_equal(drop(r, "late_frees"), 1);
	assert_false(r->incomplete); /* recovered, not lost */
	assert_row(&r->stacks[0], P1, 0, 0, 1, 1);
	collector__report_free(r);
	collector__free(c);
}

static void test_late_free_of_exited_process(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_malloc(c, P1, 1000, A1, 100, H1);
	send_malloc(c, P1, 1001, A2, 10, H1);
	send_proc(c, DRIP_EV_EXIT, P1, PPID, 1, NULL);
	collector__on_late_free(c, P1, A1, 2000); /* drained after it exited */
	collector__on_late_free(c, P2, A1, 2000); /* never seen */

	r = snap(c);
	assert_totals(r, 2, 1, 10, 1, 1, 0);
	assert_int_equal(r->processes[0].outstanding_bytes, 10);
	collector__report_free(r);
	collector__free(c);
}

static void test_min_age_excludes_young_blocks(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	send_stack(c, P1, H2, ips2, 2);
	send_malloc(c, P1, 1 * SEC_NS, A1, 100, H1);	   /* 9 s old */
	send_malloc(c, P1, 8 * SEC_NS, A2, 200, H1);	   /* 2 s: just old enough */
	send_malloc(c, P1, 8 * SEC_NS + 1, A3, 400, H1);   /* 1.99 s */
	send_malloc(c, P1, 11 * SEC_NS, A4, 800, H1);	   /* after now */
	send_malloc(c, P1, 9 * SEC_NS, A4 + 16, 1600, H2); /* 1 s */

	r = snap_drops(c, 10 * SEC_NS, 2 * SEC_NS, NULL);
	assert_totals(r, 5, 0, 300, 2, 0, 0);
	assert_int_equal(r->nr_stacks, 2); /* a site with only young blocks keeps its row */
	assert_row(&r->stacks[0], P1, 300, 2, 4, 0);
	assert_true(r->stacks[0].oldest_age_s == 9.0);
	assert_row(&r->stacks[1], P1, 0, 0, 1, 0);
	assert_int_equal(r->processes[0].outstanding_bytes, 300);
	assert_int_equal(r->processes[0].outstanding_allocs, 2);
	collector__report_free(r);

	r = snap_drops(c, 10 * SEC_NS, 0, NULL); /* no minimum: everything */
	assert_totals(r, 5, 0, 3100, 5, 0, 0);
	assert_row(&r->stacks[0], P1, 1600, 1, 1, 0);
	assert_true(r->stacks[0].oldest_age_s == 1.0);
	assert_row(&r->stacks[1], P1, 1500, 4, 4, 0);
	assert_true(r->stacks[1].oldest_age_s == 9.0);
	collector__report_free(r);
	collector__free(c);
}

static void test_oldest_age_is_the_oldest_block(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack(c, P1, H1, ips1, 3);
	/* 32 blocks, the oldest (2 s) in the middle: whichever the table visits first */
	for (uint64_t i = 0; i < 32; i++)
		send_malloc(c, P1, (i == 17 ? 2 : 10 + i) * SEC_NS, A1 + 16 * i, 1, H1);

	r = snap_drops(c, 50 * SEC_NS, 0, NULL);
	assert_row(&r->stacks[0], P1, 32, 32, 32, 0);
	assert_true(r->stacks[0].oldest_age_s == 48.0);
	collector__report_free(r);
	collector__free(c);
}

static void expect_bad(struct collector *c, const void *rec, size_t size, uint64_t *nbad)
{
	assert_int_equal(feed(c, rec, size), -EBADMSG);
	assert_int_equal(collector__counts(c)->bad_records, ++*nbad);
}

static void test_malformed_records_are_counted(void **state)
{
	struct collector *c = collector__new();
	struct drip_ev_alloc al = { .hdr = { .type = DRIP_EV_ALLOC, .tgid = P1, .ts = 1 },
				    .addr = A1,
				    .size = 8,
				    .nmemb = 1 };
	struct drip_ev_free fr = { .hdr = { .type = DRIP_EV_FREE, .tgid = P1, .ts = 1 },
				   .addr = A1 };
	struct drip_ev_stack st = { .hdr = { .type = DRIP_EV_STACK, .tgid = P1 },
				    .hash = H1,
				    .nr = 3 };
	struct drip_ev_stack_ids si = { .hdr = { .type = DRIP_EV_STACK_IDS, .tgid = P1 },
					.hash = H1,
					.nr = 3 };
	struct drip_ev_proc pr = { .hdr = { .type = DRIP_EV_FORK, .tgid = P1 }, .start_time = 1 };
	const uint32_t proc_types[] = { DRIP_EV_FORK, DRIP_EV_EXEC, DRIP_EV_EXIT };
	const uint32_t bad_types[] = { 0, 100, INT32_MAX, UINT32_MAX };
	size_t st_need = offsetof(struct drip_ev_stack, ips) + 3 * sizeof(st.ips[0]);
	size_t si_need = offsetof(struct drip_ev_stack_ids, ids) + 3 * sizeof(si.ids[0]);
	static uint8_t big[sizeof(struct drip_ev_stack_ids) + 64]; /* room for one frame more */
	uint64_t nbad = 0;
	struct report *r;

	memcpy(st.ips, ips1, sizeof(ips1));
	expect_bad(c, &al, 0, &nbad);
	expect_bad(c, &al, sizeof(struct drip_ev_hdr) - 1, &nbad);
	expect_bad(c, &al, sizeof(al) - 1, &nbad);
	expect_bad(c, &fr, sizeof(fr) - 1, &nbad);
	expect_bad(c, &st, offsetof(struct drip_ev_stack, ips) - 1, &nbad);
	expect_bad(c, &st, st_need - 1, &nbad); /* nr says 3, 2.9 sent */
	expect_bad(c, &si, offsetof(struct drip_ev_stack_ids, ids) - 1, &nbad);
	expect_bad(c, &si, si_need - 1, &nbad);
	for (int i = 0; i < 3; i++) {
		pr.hdr.type = proc_types[i];
		expect_bad(c, &pr, sizeof(pr) - 1, &nbad);
	}
	/* too many frames, even with the bytes for them there */
	st.nr = DRIP_MAX_FRAMES + 1;
	memcpy(big, &st, sizeof(st));
	expect_bad(c, big, offsetof(struct drip_ev_stack, ips) + st.nr * sizeof(st.ips[0]), &nbad);
	st.nr = UINT32_MAX; /* nr * 8 must not wrap into a small size */
	expect_bad(c, &st, sizeof(st), &nbad);
	si.nr = DRIP_MAX_FRAMES + 1;
	memcpy(big, &si, sizeof(si));
	expect_bad(c, big, offsetof(struct drip_ev_stack_ids, ids) + si.nr * sizeof(si.ids[0]),
		   &nbad);
	si.nr = UINT32_MAX;
	expect_bad(c, &si, sizeof(si), &nbad);
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		pr.hdr.type = bad_types[i];
		expect_bad(c, &pr, sizeof(pr), &nbad);
	}
	/* nothing of them was taken in */
	assert_false(collector__live(c, P1));
	assert_int_equal(nbad, 19);

	r = snap(c);
	assert_totals(r, 0, 0, 0, 0, 0, 19);
	assert_true(r->incomplete);
	assert_int_equal(drop(r, "bad_records"), 19);
	assert_int_equal(r->nr_processes, 0);
	assert_int_equal(r->nr_stacks, 0);
	collector__report_free(r);

	/* exact sizes pass */
	st.nr = 3;
	assert_int_equal(feed(c, &st, st_need), DRIP_EV_STACK);
	si.nr = 3;
	assert_int_equal(feed(c, &si, si_need), DRIP_EV_STACK_IDS);
	assert_int_equal(collector__counts(c)->bad_records, 19);
	collector__free(c);
}

static uint64_t rnd(uint64_t *s) /* xorshift64*: the same garbage on every run */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static void test_garbage_records_never_crash(void **state)
{
	static const size_t sizes[] = {
		0,
		sizeof(struct drip_ev_hdr),
		sizeof(struct drip_ev_alloc),
		sizeof(struct drip_ev_free),
		offsetof(struct drip_ev_stack, ips),
		sizeof(struct drip_ev_stack),
		offsetof(struct drip_ev_stack_ids, ids),
		sizeof(struct drip_ev_stack_ids),
		sizeof(struct drip_ev_proc),
	};
	const size_t max = sizeof(struct drip_ev_stack_ids) + 64;
	struct collector *c = collector__new();
	uint64_t seed = 0x9e3779b97f4a7c15ULL, nbad = 0, ok = 0;
	struct report *r;

	for (int n = 0; n < 4000; n++) {
		uint64_t k = rnd(&seed);
		size_t size = k & 1 ? rnd(&seed) % max : sizes[rnd(&seed) % 9] + rnd(&seed) % 3 - 1;
		uint32_t type = 0;
		uint8_t *buf;
		int ret;

		if (size > max)
			size = 0; /* 0 - 1 wrapped */
		buf = malloc(size ? size : 1);
		assert_non_null(buf);
		for (size_t i = 0; i < size; i++)
			buf[i] = (uint8_t)rnd(&seed);
		if (size >= sizeof(struct drip_ev_hdr)) {
			struct drip_ev_hdr h;

			memcpy(&h, buf, sizeof(h));
			h.type = type = rnd(&seed) % 10; /* mostly known types */
			h.tgid = P1 + rnd(&seed) % 4;	 /* never a real process */
			memcpy(buf, &h, sizeof(h));
			if (size >= offsetof(struct drip_ev_stack, ips) && k & 2) {
				uint32_t nr = rnd(&seed) % (DRIP_MAX_FRAMES + 2);

				memcpy(buf + offsetof(struct drip_ev_stack, nr), &nr, 4);
			}
		}
		ret = collector__on_event(c, buf, size);
		free(buf);
		if (ret == -EBADMSG)
			nbad++;
		else
			ok++;
		assert_true(ret == -EBADMSG || ret == (int)type); /* the type, or rejected */
	}
	assert_int_equal(collector__counts(c)->bad_records, nbad);
	assert_true(nbad > 100 && ok > 100); /* both paths were taken */
	r = snap(c);
	assert_int_equal(r->totals.events_lost, nbad + collector__counts(c)->implied_frees);
	collector__report_free(r);
	collector__free(c);
}

/* The counters this test knows; a newer one, left at zero, changes nothing here. */
static const char *const stat_names[] = {
	[DRIP_STAT_RB_FULL_ALLOC] = "ringbuf_full_alloc",
	[DRIP_STAT_RB_FULL_STACK] = "ringbuf_full_stack",
	[DRIP_STAT_RB_FULL_FREE] = "ringbuf_full_free",
	[DRIP_STAT_FREE_LOST] = "free_lost",
	[DRIP_STAT_RB_FULL_PROC] = "ringbuf_full_proc",
	[DRIP_STAT_NEST_FULL] = "nest_full",
	[DRIP_STAT_STACK_ERR] = "stack_error",
	[DRIP_STAT_NO_TASK_STORAGE] = "no_task_storage",
	[DRIP_STAT_STALE_PENDING] = "stale_pending",
	[DRIP_STAT_MEMPTR_READ] = "memptr_unreadable",
	[DRIP_STAT_TARGETS_FULL] = "targets_full",
	[DRIP_STAT_TABLE_NOT_READY] = "table_not_ready",
	[DRIP_STAT_UNWIND_FAIL] = "unwind_failures",
	[DRIP_STAT_PY_FAULT] = "python_frame_unreadable",
};
#define NR_KNOWN_STATS (sizeof(stat_names) / sizeof(stat_names[0]))

/* Recovered (stale entries, late frees), degraded (frame pointers) or unwind failures. */
static bool stat_is_not_lost(size_t i)
{
	return i == DRIP_STAT_STALE_PENDING || i == DRIP_STAT_RB_FULL_FREE ||
	       i == DRIP_STAT_TABLE_NOT_READY || i == DRIP_STAT_UNWIND_FAIL ||
	       i == DRIP_STAT_STACK_ERR || i == DRIP_STAT_PY_FAULT;
}

static void test_bpf_drops_are_named_and_lost(void **state)
{
	uint64_t drops[DRIP_STAT__COUNT] = { 0 }, lost = 0;
	struct collector *c = collector__new();
	struct report *r;

	_Static_assert(DRIP_STAT__COUNT >= NR_KNOWN_STATS, "a counter was removed");
	for (size_t i = 0; i < NR_KNOWN_STATS; i++) {
		drops[i] = 1ULL << i; /* every sum of them is unique */
		if (!stat_is_not_lost(i))
			lost += drops[i];
	}
	assert_int_equal(lost, 8191 - 4 - 64 - 256 - 2048 - 4096);
	send_fork(c, P1, 1);
	send_malloc(c, P1, 10, A1, 8, 0);
	send_malloc(c, P1, 11, A1, 8, 0); /* one implied free */

	r = snap_drops(c, 100 * SEC_NS, 0, drops);
	assert_int_equal(r->totals.events_lost, lost + 1);
	assert_int_equal(r->totals.unwind_failures, 64 + 4096); /* stack_error + unwind_failures */
	assert_true(r->incomplete);
	assert_int_equal(r->nr_drops, NR_KNOWN_STATS + 1); /* hash 0: no stack taken, none lost */
	for (size_t i = 0; i < NR_KNOWN_STATS; i++) {
		assert_string_equal(r->drop_names[i], stat_names[i]);
		assert_int_equal(r->drop_counts[i], drops[i]);
	}
	assert_string_equal(r->drop_names[NR_KNOWN_STATS], "implied_frees");
	assert_int_equal(r->drop_counts[NR_KNOWN_STATS], 1);
	collector__report_free(r);
	collector__free(c);
}

static void test_recovered_drops_are_not_lost(void **state)
{
	uint64_t drops[DRIP_STAT__COUNT] = { [DRIP_STAT_STALE_PENDING] = 5,
					     [DRIP_STAT_RB_FULL_FREE] = 7,
					     [DRIP_STAT_TABLE_NOT_READY] = 11 };
	struct collector *c = collector__new();
	struct report *r;

	r = snap_drops(c, 100 * SEC_NS, 0, drops);
	assert_int_equal(r->totals.events_lost, 0);
	assert_int_equal(r->totals.unwind_failures, 0);
	assert_false(r->incomplete);
	assert_int_equal(r->nr_drops, 3);
	assert_int_equal(drop(r, "ringbuf_full_free"), 7);
	assert_int_equal(drop(r, "stale_pending"), 5);
	assert_int_equal(drop(r, "table_not_ready"), 11);
	collector__report_free(r);

	r = snap_drops(c, 100 * SEC_NS, 0, NULL); /* no counters: nothing to name */
	assert_int_equal(r->nr_drops, 0);
	assert_int_equal(r->totals.events_lost, 0);
	collector__report_free(r);
	collector__free(c);
}

static void test_unwind_failures_make_report_incomplete(void **state)
{
	uint64_t drops[DRIP_STAT__COUNT] = {
		[DRIP_STAT_STACK_ERR] = 3, [DRIP_STAT_UNWIND_FAIL] = 4
	};
	struct collector *c = collector__new();
	struct report *r;

	r = snap_drops(c, 100 * SEC_NS, 0, drops);
	assert_int_equal(r->totals.events_lost, 0); /* the events arrived, their stacks short */
	assert_int_equal(r->totals.unwind_failures, 7);
	assert_true(r->incomplete);
	assert_int_equal(drop(r, "stack_error"), 3);
	assert_int_equal(drop(r, "unwind_failures"), 4);
	collector__report_free(r);
	collector__free(c);
}

/* Two frames of this binary; distinct bodies so no pass folds them into one. */
__attribute__((noinline)) int drip_test_leaf(volatile int *x)
{
	return *x * 3 + 1;
}

__attribute__((noinline)) int drip_test_outer(volatile int *x)
{
	return drip_test_leaf(x) * 7 - *x;
}

/* This executable's GNU build-id in hex, read from its loaded notes (not with drip's reader) */
static int own_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
	char *hex = data;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr), *end;

		if (ph->p_type != PT_NOTE)
			continue;
		for (end = p + ph->p_memsz; p + sizeof(ElfW(Nhdr)) <= end;) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
			const uint8_t *desc = p + sizeof(*n) + ((n->n_namesz + 3) & ~3u);

			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
			    !memcmp(p + sizeof(*n), "GNU", 4)) {
				for (uint32_t k = 0; k < n->n_descsz; k++)
					sprintf(hex + 2 * k, "%02x", desc[k]);
				return 1;
			}
			p = desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	return 1; /* the first object is the executable */
}

/* start - offset of the /proc/self/maps line holding addr: where file offset 0 would be */
static uint64_t own_base(uint64_t addr)
{
	unsigned long lo, hi, off;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	uint64_t base = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &off) == 3 && lo <= addr && addr < hi)
			base = lo - off;
	fclose(f);
	assert_true(base != 0);
	return base;
}

static void test_frames_name_functions_of_live_process(void **state)
{
	const uint64_t ips[] = { (uintptr_t)drip_test_leaf + 1, (uintptr_t)drip_test_outer + 1 };
	char exe[PATH_MAX], comm[64];
	struct collector *c = collector__new();
	uint32_t self = (uint32_t)getpid();
	struct report *r;
	ssize_t n;
	FILE *f;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	f = fopen("/proc/self/comm", "r");
	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = 0;

	assert_int_equal(collector__add_process(c, getpid()), 0);
	assert_true(collector__live(c, getpid()));
	send_stack(c, self, H1, ips, 2);
	send_malloc(c, self, 10, A1, 42, H1);

	r = snap(c);
	assert_int_equal(r->nr_processes, 1);
	assert_int_equal(r->processes[0].pid, self);
	assert_int_equal(r->processes[0].ppid, getppid());
	assert_string_equal(r->processes[0].comm, comm);
	assert_string_equal(r->processes[0].exe, exe);
	assert_int_equal(r->nr_stacks, 1);
	assert_row(&r->stacks[0], self, 42, 1, 1, 0);
	assert_int_equal(r->stacks[0].nr_frames, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(r->stacks[0].frames[i].kind, FRAME_NATIVE);
		assert_int_equal(r->stacks[0].frames[i].address, ips[i]);
		assert_non_null(r->stacks[0].frames[i].module);
		assert_string_equal(r->stacks[0].frames[i].module, exe);
	}
	assert_non_null(r->stacks[0].frames[0].function);
	assert_string_equal(r->stacks[0].frames[0].function, "drip_test_leaf");
	assert_non_null(r->stacks[0].frames[1].function);
	assert_string_equal(r->stacks[0].frames[1].function, "drip_test_outer");
	/* the frames' module: this executable, its build-id, its load base */
	{
		char bid[2 * 64 + 1] = "";
		const struct report_module *m = r->processes[0].modules;

		dl_iterate_phdr(own_build_id, bid);
		assert_true(r->has_modules);
		assert_int_equal(r->processes[0].nr_modules, 1);
		assert_string_equal(m->path, exe);
		if (bid[0])
			assert_string_equal(m->build_id, bid);
		else
			assert_null(m->build_id);
		assert_true(m->base == own_base(ips[0]));
		assert_true(m->start == (ips[0] < ips[1] ? ips[0] : ips[1]));
		assert_true(m->end == (ips[0] < ips[1] ? ips[1] : ips[0]) + 1);
	}
	collector__report_free(r);
	collector__free(c);
}

static void test_reap_dead_marks_missing_processes_exited(void **state)
{
	struct collector *c = collector__new();
	struct report *r;

	assert_int_equal(collector__add_process(c, getpid()), 0);
	send_fork(c, P1, 1); /* its exit event was lost: no such process */
	send_malloc(c, P1, 10, A1, 100, 0);
	assert_int_equal(collector__nr_live(c), 2);
	assert_int_equal(collector__reap_dead(c), 1);
	assert_int_equal(collector__reap_dead(c), 0);
	assert_false(collector__live(c, (pid_t)P1));
	assert_true(collector__live(c, getpid()));
	assert_int_equal(collector__nr_live(c), 1);

	r = snap(c);
	assert_int_equal(r->nr_processes, 2);
	assert_false(r->processes[0].exited); /* ours: the lower pid */
	assert_true(r->processes[1].exited);
	assert_int_equal(r->processes[1].outstanding_bytes, 100);
	collector__report_free(r);
	collector__free(c);
}

static void test_syscall_stack_drops_sp_slot(void **state)
{
	const uint64_t ips[] = { 0x7ffc00001230, 0x401000, 0x401100 }; /* [sp], site, caller */
	struct collector *c = collector__new();
	struct report *r;

	send_fork(c, P1, 1);
	send_stack_flags(c, P1, H1, ips, 3, DRIP_STACK_SYSCALL);
	send_alloc_full(c, P1, 10, A1, 4096, 1, 0, H1, DRIP_FN_MMAP);

	r = snap(c);
	assert_int_equal(r->nr_stacks, 1);
	assert_frames(&r->stacks[0], ips + 1, 2); /* not in a known wrapper: [sp] is data */
	collector__report_free(r);
	collector__free(c);
}

static void test_syscall_stack_in_wrapper_keeps_caller(void **state)
{
	void *wrapper = dlsym(RTLD_DEFAULT, "mmap");
	const uint64_t ips[] = { (uintptr_t)drip_test_leaf + 1, (uintptr_t)wrapper + 1,
				 (uintptr_t)drip_test_outer + 1 };
	struct collector *c = collector__new();
	uint32_t self = (uint32_t)getpid();
	struct report *r;

	assert_non_null(wrapper);
	assert_int_equal(collector__add_process(c, getpid()), 0);
	send_stack_flags(c, self, H1, ips, 3, DRIP_STACK_SYSCALL);
	send_alloc_full(c, self, 10, A1, 4096, 1, 0, H1, DRIP_FN_MMAP);

	r = snap(c);
	assert_int_equal(r->nr_stacks, 1);
	assert_int_equal(r->stacks[0].nr_frames, 2); /* [sp] was the wrapper's caller */
	assert_int_equal(r->stacks[0].frames[0].address, ips[0]);
	assert_string_equal(r->stacks[0].frames[0].function, "drip_test_leaf");
	assert_int_equal(r->stacks[0].frames[1].address, ips[2]);
	assert_string_equal(r->stacks[0].frames[1].function, "drip_test_outer");
	collector__report_free(r);
	collector__free(c);
}

static void test_dwarf_syscall_stack_drops_wrapper(void **state)
{
	void *wrapper = dlsym(RTLD_DEFAULT, "mmap");
	const uint64_t ips[] = { (uintptr_t)wrapper + 1, (uintptr_t)drip_test_leaf + 1,
				 (uintptr_t)drip_test_outer + 1 }; /* site first, then callers */
	struct collector *c = collector__new();
	uint32_t self = (uint32_t)getpid();
	struct report *r;

	assert_non_null(wrapper);
	assert_int_equal(collector__add_process(c, getpid()), 0);
	send_stack_flags(c, self, H1, ips, 3, DRIP_STACK_SITE_FIRST);
	send_stack_flags(c, self, H2, ips + 1, 2, DRIP_STACK_SITE_FIRST); /* site not a wrapper */
	send_alloc_full(c, self, 10, A1, 8192, 1, 0, H1, DRIP_FN_MMAP);
	send_alloc_full(c, self, 11, A2, 4096, 1, 0, H2, DRIP_FN_MMAP);

	r = snap(c);
	/* both name the same frames: one call stack, one row (one per pid and stack_id) */
	assert_int_equal(r->nr_stacks, 1);
	assert_int_equal(r->stacks[0].nr_frames, 2);
	assert_int_equal(r->stacks[0].frames[0].address, ips[1]);
	assert_string_equal(r->stacks[0].frames[0].function, "drip_test_leaf");
	assert_int_equal(r->stacks[0].frames[1].address, ips[2]);
	assert_string_equal(r->stacks[0].frames[1].function, "drip_test_outer");
	assert_int_equal(r->stacks[0].outstanding_bytes, 8192 + 4096);
	assert_int_equal(r->stacks[0].outstanding_allocs, 2);
	assert_int_equal(r->stacks[0].allocs, 2);
	assert_int_equal(r->nr_merged, 1);
	assert_int_equal(r->merged[0].pids, 1);
	collector__report_free(r);
	collector__free(c);
}

static void test_add_process_of_missing_pid_fails(void **state)
{
	struct collector *c = collector__new();

	assert_int_equal(collector__add_process(c, (pid_t)P1), -ESRCH);
	assert_false(collector__live(c, (pid_t)P1));
	assert_int_equal(collector__nr_live(c), 0);
	collector__free(c);
}

static void test_free_null_is_noop(void **state)
{
	collector__free(NULL);
	collector__report_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_then_free),
		cmocka_unit_test(test_first_alloc_creates_the_process),
		cmocka_unit_test(test_free_of_unknown_address_is_unknown_free),
		cmocka_unit_test(test_munmap_of_unknown_address_is_not_unknown_free),
		cmocka_unit_test(test_realloc_releases_old_block),
		cmocka_unit_test(test_realloc_race_keeps_the_new_owner),
		cmocka_unit_test(test_realloc_in_place_resizes),
		cmocka_unit_test(test_realloc_of_unknown_address_is_unknown_free),
		cmocka_unit_test(test_alloc_bytes_sum_each_allocation),
		cmocka_unit_test(test_calloc_size_is_nmemb_times_size),
		cmocka_unit_test(test_calloc_overflow_is_ignored),
		cmocka_unit_test(test_alloc_at_outstanding_address_implies_free),
		cmocka_unit_test(test_alloc_with_unknown_stack),
		cmocka_unit_test(test_truncated_stack_is_flagged),
		cmocka_unit_test(test_same_stack_in_four_processes_merges),
		cmocka_unit_test(test_exit_marks_exited_and_keeps_outstanding),
		cmocka_unit_test(test_exec_releases_old_image),
		cmocka_unit_test(test_identity_of_a_vanished_process),
		cmocka_unit_test(test_pid_reuse_keeps_images_apart),
		cmocka_unit_test(test_fork_of_live_pid_retires_stale_entry),
		cmocka_unit_test(test_worker_frees_inherited_block),
		cmocka_unit_test(test_parent_reuse_after_fork_stays_apart),
		cmocka_unit_test(test_vfork_child_shares_the_heap),
		cmocka_unit_test(test_exec_after_fork_drops_only_the_child),
		cmocka_unit_test(test_grandchild_frees_what_the_forkserver_inherited),
		cmocka_unit_test(test_fork_event_of_scanned_child_is_one_process),
		cmocka_unit_test(test_late_free_before_alloc_keeps_block),
		cmocka_unit_test(test_late_free_after_alloc_releases),
		cmocka_unit_test(test_late_free_of_exited_process),
		cmocka_unit_test(test_min_age_excludes_young_blocks),
		cmocka_unit_test(test_oldest_age_is_the_oldest_block),
		cmocka_unit_test(test_malformed_records_are_counted),
		cmocka_unit_test(test_garbage_records_never_crash),
		cmocka_unit_test(test_bpf_drops_are_named_and_lost),
		cmocka_unit_test(test_recovered_drops_are_not_lost),
		cmocka_unit_test(test_unwind_failures_make_report_incomplete),
		cmocka_unit_test(test_frames_name_functions_of_live_process),
		cmocka_unit_test(test_reap_dead_marks_missing_processes_exited),
		cmocka_unit_test(test_syscall_stack_drops_sp_slot),
		cmocka_unit_test(test_syscall_stack_in_wrapper_keeps_caller),
		cmocka_unit_test(test_dwarf_syscall_stack_drops_wrapper),
		cmocka_unit_test(test_add_process_of_missing_pid_fails),
		cmocka_unit_test(test_free_null_is_noop),
		cmocka_unit_test(test_late_free_after_pid_reuse_hits_old_image),
		cmocka_unit_test(test_no_stacks_is_complete),
		cmocka_unit_test(test_forged_tgids_are_bad_records),
		cmocka_unit_test(test_overflowing_reallocarray_keeps_old_block),
	};

	/* synthetic PIDs must not exist, or /proc would answer for them */
	for (uint32_t pid = PPID; pid <= P4; pid++) {
		char path[32];

		snprintf(path, sizeof(path), "/proc/%u", pid);
		if (!access(path, F_OK) || pid > PID_MAX_LIMIT) {
			fprintf(stderr, "test_collector: PID %u exists: cannot run\n", pid);
			return 1;
		}
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
