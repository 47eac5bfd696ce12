// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drip/table.h"

#define A1 0x7f0000001000ULL
#define A2 0x7f0000001010ULL
#define A3 0x7f0000001020ULL

static void assert_site(const struct table *t, uint32_t proc, uint32_t stack, uint64_t allocs,
			uint64_t frees, uint64_t bytes, uint64_t count)
{
	const struct site_stats *st = table__site(t, proc, stack);

	assert_non_null(st);
	assert_int_equal(st->allocs, allocs);
	assert_int_equal(st->frees, frees);
	assert_int_equal(st->outstanding_bytes, bytes);
	assert_int_equal(st->outstanding_allocs, count);
}

static void test_alloc_then_free(void **state)
{
	struct table *t = table__new(16);

	assert_non_null(t);
	assert_int_equal(table__on_alloc(t, 1, A1, 100, 7, 10), 0);
	assert_int_equal(table__nr_blocks(t), 1);
	assert_site(t, 1, 7, 1, 0, 100, 1);
	assert_int_equal(table__on_free(t, 1, A1, 0), 0);
	assert_int_equal(table__nr_blocks(t), 0);
	assert_site(t, 1, 7, 1, 1, 0, 0);
	assert_int_equal(table__nr_sites(t), 1);
	table__free(t);
}

static void test_unknown_free_is_enoent(void **state)
{
	struct table *t = table__new(16);

	assert_int_equal(table__on_free(t, 42, A1, 0), -ENOENT);
	assert_int_equal(table__on_alloc(t, 1, A1, 8, 0, 1), 0);
	/* same address, other process: not the same block */
	assert_int_equal(table__on_free(t, 2, A1, 0), -ENOENT);
	assert_int_equal(table__on_free(t, 1, A2, 0), -ENOENT);
	assert_int_equal(table__on_free(t, 1, 0, 0), -ENOENT);
	assert_int_equal(table__on_free(t, 1, A1, 0), 0);
	assert_int_equal(table__on_free(t, 1, A1, 0), -ENOENT); /* double free */
	assert_site(t, 1, 0, 1, 1, 0, 0);
	table__free(t);
}

static void test_alloc_at_zero_is_rejected(void **state)
{
	struct table *t = table__new(0);

	assert_int_equal(table__on_alloc(t, 1, 0, 8, 0, 1), -EINVAL);
	assert_int_equal(table__nr_blocks(t), 0);
	assert_int_equal(table__nr_sites(t), 0);
	assert_null(table__site(t, 1, 0));
	table__free(t);
}

static void test_double_alloc_releases_old_block(void **state)
{
	struct table *t = table__new(16);

	assert_int_equal(table__on_alloc(t, 1, A1, 100, 3, 10), 0);
	assert_int_equal(table__on_alloc(t, 1, A1, 40, 4, 20), 1);
	assert_int_equal(table__nr_blocks(t), 1);
	assert_site(t, 1, 3, 1, 1, 0, 0);
	assert_site(t, 1, 4, 1, 0, 40, 1);
	/* same site twice */
	assert_int_equal(table__on_alloc(t, 1, A1, 24, 4, 30), 1);
	assert_site(t, 1, 4, 2, 1, 24, 1);
	assert_int_equal(table__on_free(t, 1, A1, 0), 0);
	assert_site(t, 1, 4, 2, 2, 0, 0);
	assert_int_equal(table__nr_blocks(t), 0);
	table__free(t);
}

static void test_drop_proc_keeps_other_procs(void **state)
{
	struct table *t = table__new(0);

	for (uint64_t i = 0; i < 1000; i++) {
		assert_int_equal(table__on_alloc(t, 1, A1 + i * 16, 10, i % 3, i + 1), 0);
		assert_int_equal(table__on_alloc(t, 2, A1 + i * 16, 20, i % 3, i + 1), 0);
	}
	for (uint64_t i = 0; i < 100; i++)
		assert_int_equal(table__on_free(t, 1, A1 + i * 16, 0), 0);
	assert_int_equal(table__drop_proc(t, 1), 900);
	assert_int_equal(table__nr_blocks(t), 1000);
	assert_int_equal(table__drop_proc(t, 1), 0);
	assert_int_equal(table__drop_proc(t, 3), 0);
	/* the drop is not a free: frees stay what they were */
	assert_site(t, 1, 0, 334, 34, 0, 0);
	assert_site(t, 1, 1, 333, 33, 0, 0);
	assert_site(t, 1, 2, 333, 33, 0, 0);
	assert_site(t, 2, 0, 334, 0, 3340 * 2, 334);
	for (uint64_t i = 0; i < 1000; i++) {
		assert_int_equal(table__on_free(t, 1, A1 + i * 16, 0), -ENOENT);
		assert_int_equal(table__on_free(t, 2, A1 + i * 16, 0), 0);
	}
	assert_int_equal(table__nr_blocks(t), 0);
	table__free(t);
}

static void test_free_respects_ts_limit(void **state)
{
	struct table *t = table__new(16);

	assert_int_equal(table__on_alloc(t, 1, A1, 8, 0, 100), 0);
	assert_int_equal(table__on_free(t, 1, A1, 100), -EEXIST); /* allocated at the limit */
	assert_int_equal(table__on_free(t, 1, A1, 50), -EEXIST);
	assert_int_equal(table__nr_blocks(t), 1);
	assert_site(t, 1, 0, 1, 0, 8, 1);
	assert_int_equal(table__on_free(t, 1, A1, 101), 0);
	assert_site(t, 1, 0, 1, 1, 0, 0);
	table__free(t);
}

static void test_site_stats_are_exact(void **state)
{
	struct table *t = table__new(4);

	assert_null(table__site(t, 1, 1));
	assert_int_equal(table__on_alloc(t, 1, A1, 100, 1, 1), 0);
	assert_int_equal(table__on_alloc(t, 1, A2, 200, 1, 2), 0);
	assert_int_equal(table__on_alloc(t, 1, A3, 300, 2, 3), 0);
	assert_int_equal(table__on_alloc(t, 2, A1, 400, 1, 4), 0);
	assert_int_equal(table__on_free(t, 1, A2, 0), 0);
	assert_site(t, 1, 1, 2, 1, 100, 1);
	assert_site(t, 1, 2, 1, 0, 300, 1);
	assert_site(t, 2, 1, 1, 0, 400, 1);
	assert_null(table__site(t, 2, 2));
	assert_null(table__site(t, 3, 1));
	assert_int_equal(table__nr_sites(t), 3);
	table__free(t);
}

static void test_many_sites(void **state)
{
	struct table *t = table__new(0);
	uint64_t addr = A1;

	/* each site is found right after it is added (the index may just have grown) and later */
	for (uint32_t i = 0; i < 20000; i++) {
		uint32_t proc = i & 1, stack = i / 2 % 5000, n = i / 10000 + 1;

		assert_int_equal(table__on_alloc(t, proc, addr += 16, stack + 1, stack, 1), 0);
		assert_site(t, proc, stack, n, 0, n * (stack + 1), n);
	}
	assert_int_equal(table__nr_sites(t), 10000);
	for (uint32_t stack = 0; stack < 5000; stack++)
		for (uint32_t proc = 0; proc < 2; proc++)
			assert_site(t, proc, stack, 2, 0, 2 * (stack + 1), 2);
	assert_null(table__site(t, 2, 0));
	assert_null(table__site(t, 0, 5000));
	table__free(t);
}

struct visit {
	uint64_t bytes, ts_sum, stack_sum;
	size_t n, stop_at;
};

static int count_block(uint32_t proc, uint64_t addr, uint64_t size, uint32_t stack, uint64_t ts,
		       void *ctx)
{
	struct visit *v = ctx;

	v->bytes += size;
	v->ts_sum += ts;
	v->stack_sum += stack;
	return ++v->n == v->stop_at ? 7 : 0;
}

static int count_site(uint32_t proc, uint32_t stack, const struct site_stats *st, void *ctx)
{
	struct visit *v = ctx;

	v->bytes += st->outstanding_bytes;
	v->stack_sum += stack;
	return ++v->n == v->stop_at ? -3 : 0;
}

static void test_for_each_visits_all_and_stops_early(void **state)
{
	struct table *t = table__new(0);
	struct visit v = { 0 };

	for (uint64_t i = 1; i <= 100; i++)
		assert_int_equal(table__on_alloc(t, i % 2, A1 + i * 16, i, i % 5, i), 0);
	assert_int_equal(table__on_free(t, 1, A1 + 16, 0), 0);

	assert_int_equal(table__for_each_block(t, count_block, &v), 0);
	assert_int_equal(v.n, 99);
	assert_int_equal(v.bytes, 5050 - 1);
	assert_int_equal(v.ts_sum, 5050 - 1);
	assert_int_equal(v.stack_sum, 200 - 1);

	v = (struct visit){ .stop_at = 10 };
	assert_int_equal(table__for_each_block(t, count_block, &v), 7);
	assert_int_equal(v.n, 10);

	v = (struct visit){ 0 };
	assert_int_equal(table__for_each_site(t, count_site, &v), 0);
	assert_int_equal(v.n, 10);
	assert_int_equal(v.bytes, 5050 - 1);
	assert_int_equal(v.stack_sum, 2 * (0 + 1 + 2 + 3 + 4));

	v = (struct visit){ .stop_at = 3 };
	assert_int_equal(table__for_each_site(t, count_site, &v), -3);
	assert_int_equal(v.n, 3);
	table__free(t);
}

/* Reference model: every (proc, addr slot) directly indexed. */
#define M_PROCS	 4
#define M_ADDRS	 8192
#define M_STACKS 8
#define M_OPS	 200000

struct m_block {
	uint64_t size, ts; /* ts 0: not outstanding */
	uint32_t stack;
};

struct model {
	struct m_block b[M_PROCS][M_ADDRS];
	struct site_stats s[M_PROCS][M_STACKS];
	size_t nr;
};

static uint64_t m_addr(size_t slot)
{
	return 0x7f1200000000ULL + slot * 16; /* dense like a heap: worst case for a weak hash */
}

static int m_alloc(struct model *m, uint32_t p, size_t a, uint64_t size, uint32_t stack,
		   uint64_t ts)
{
	struct m_block *b = &m->b[p][a];
	int ret = 0;

	if (b->ts) {
		m->s[p][b->stack].frees++;
		m->s[p][b->stack].outstanding_bytes -= b->size;
		m->s[p][b->stack].outstanding_allocs--;
		m->nr--;
		ret = 1;
	}
	*b = (struct m_block){ .size = size, .ts = ts, .stack = stack };
	m->s[p][stack].allocs++;
	m->s[p][stack].alloc_bytes += size;
	m->s[p][stack].outstanding_bytes += size;
	m->s[p][stack].outstanding_allocs++;
	m->nr++;
	return ret;
}

static int m_free(struct model *m, uint32_t p, size_t a, uint64_t ts_limit)
{
	struct m_block *b = &m->b[p][a];

	if (!b->ts)
		return -ENOENT;
	if (ts_limit && b->ts >= ts_limit)
		return -EEXIST;
	m->s[p][b->stack].frees++;
	m->s[p][b->stack].outstanding_bytes -= b->size;
	m->s[p][b->stack].outstanding_allocs--;
	b->ts = 0;
	m->nr--;
	return 0;
}

static size_t m_drop(struct model *m, uint32_t p)
{
	size_t n = 0;

	for (size_t a = 0; a < M_ADDRS; a++) {
		if (m->b[p][a].ts) {
			m->b[p][a].ts = 0;
			n++;
		}
	}
	for (size_t s = 0; s < M_STACKS; s++) {
		m->s[p][s].outstanding_bytes = 0;
		m->s[p][s].outstanding_allocs = 0;
	}
	m->nr -= n;
	return n;
}

static int check_block(uint32_t proc, uint64_t addr, uint64_t size, uint32_t stack, uint64_t ts,
		       void *ctx)
{
	struct model *m = ctx;
	size_t a = (addr - m_addr(0)) / 16;
	struct m_block *b;

	assert_true(proc < M_PROCS);
	assert_true(a < M_ADDRS);
	b = &m->b[proc][a];
	assert_int_not_equal(b->ts, 0);
	assert_int_equal(b->ts, ts);
	assert_int_equal(b->size, size);
	assert_int_equal(b->stack, stack);
	b->ts |= 1ULL << 63; /* seen: each block is visited once */
	return 0;
}

static void m_check(struct model *m, const struct table *t)
{
	size_t sites = 0;

	assert_int_equal(table__nr_blocks(t), m->nr);
	assert_int_equal(table__for_each_block(t, check_block, m), 0);
	for (size_t p = 0; p < M_PROCS; p++) {
		for (size_t a = 0; a < M_ADDRS; a++) {
			struct m_block *b = &m->b[p][a];

			if (b->ts)
				assert_true(b->ts & 1ULL << 63);
			b->ts &= ~(1ULL << 63);
		}
		for (size_t s = 0; s < M_STACKS; s++) {
			if (!m->s[p][s].allocs) {
				assert_null(table__site(t, p, s));
				continue;
			}
			sites++;
			assert_site(t, p, s, m->s[p][s].allocs, m->s[p][s].frees,
				    m->s[p][s].outstanding_bytes, m->s[p][s].outstanding_allocs);
			assert_int_equal(table__site(t, p, s)->alloc_bytes, m->s[p][s].alloc_bytes);
		}
	}
	assert_int_equal(table__nr_sites(t), sites);
}

static void test_random_ops_match_model(void **state)
{
	struct model *m = calloc(1, sizeof(*m));
	struct table *t = table__new(0); /* start small: many resizes */
	unsigned int seed = 12345;

	assert_non_null(m);
	assert_non_null(t);
	srand(seed);
	for (uint64_t op = 1; op <= M_OPS; op++) {
		/* swing between filling up and draining, so the load moves widely */
		int alloc_pct = (op / 20000) % 2 ? 30 : 75;
		uint32_t p = rand() % M_PROCS;
		size_t a = rand() % M_ADDRS;
		int r = rand() % 1000;

		if (r < alloc_pct * 10) {
			uint64_t size = 1 + rand() % 4096;
			uint32_t stack = rand() % M_STACKS;

			assert_int_equal(table__on_alloc(t, p, m_addr(a), size, stack, op),
					 m_alloc(m, p, a, size, stack, op));
		} else if (r < 995) {
			uint64_t lim = r % 4 ? 0 : op - rand() % 1000;

			assert_int_equal(table__on_free(t, p, m_addr(a), lim),
					 m_free(m, p, a, lim));
		} else if (r == 999 && rand() % 8 == 0) {
			assert_int_equal(table__drop_proc(t, p), m_drop(m, p));
		}
		if (op % 10000 == 0)
			m_check(m, t);
	}
	m_check(m, t);
	table__free(t);
	free(m);
}

/* Grow through many doublings, drop everything, and do it again: churn must not degrade. */
static void test_growth_and_churn(void **state)
{
	struct table *t = table__new(1);
	const uint64_t n = 300000;

	for (int round = 0; round < 3; round++) {
		for (uint64_t i = 0; i < n; i++)
			assert_int_equal(table__on_alloc(t, i & 1, 0x10000 + i * 16, 1, 0, i + 1),
					 0);
		assert_int_equal(table__nr_blocks(t), n);
		for (uint64_t i = 0; i < n; i += 2)
			assert_int_equal(table__on_free(t, 0, 0x10000 + i * 16, 0), 0);
		assert_int_equal(table__drop_proc(t, 1), n / 2);
		assert_int_equal(table__nr_blocks(t), 0);
		assert_site(t, 0, 0, n / 2 * (round + 1), n / 2 * (round + 1), 0, 0);
		assert_site(t, 1, 0, n / 2 * (round + 1), 0, 0, 0);
	}
	table__free(t);
}

/* ---- fork: copy-on-write views ---- */

static void assert_inherited(const struct table *t, uint32_t proc, uint64_t bytes, uint64_t allocs)
{
	uint64_t b, a;

	table__inherited(t, proc, &b, &a);
	assert_int_equal(b, bytes);
	assert_int_equal(a, allocs);
}

static void test_child_frees_inherited_block(void **state)
{
	struct table *t = table__new(16);
	struct table_freed f;

	assert_int_equal(table__on_alloc(t, 1, A1, 100, 7, 10), 0);
	assert_int_equal(table__on_alloc(t, 1, A2, 50, 8, 11), 0);
	assert_int_equal(table__fork(t, 1, 2, 20), 0);
	assert_inherited(t, 2, 150, 2);
	/* the child's free balances: attributed to the allocating stack, in the child */
	assert_int_equal(table__free_at(t, 2, A1, 0, 30, &f), 1);
	assert_true(f.inherited);
	assert_int_equal(f.size, 100);
	assert_int_equal(f.stack, 7);
	assert_inherited(t, 2, 50, 1);
	assert_int_equal(table__site(t, 2, 7)->inherited_frees, 1);
	assert_int_equal(table__site(t, 2, 7)->allocs, 0);
	assert_int_equal(table__site(t, 2, 7)->outstanding_allocs, 0);
	/* the parent still holds its copy; a second free in the child is unknown */
	assert_site(t, 1, 7, 1, 0, 100, 1);
	assert_int_equal(table__free_at(t, 2, A1, 0, 31, NULL), -ENOENT);
	assert_int_equal(table__free_at(t, 1, A1, 0, 32, NULL), 0);
	assert_int_equal(table__nr_blocks(t), 1);
	table__free(t);
}

static void test_parent_changes_after_fork_do_not_reach_child(void **state)
{
	struct table *t = table__new(16);

	assert_int_equal(table__on_alloc(t, 1, A1, 100, 7, 10), 0);
	assert_int_equal(table__fork(t, 1, 2, 20), 0);
	/* freed and reused by the parent after the fork: the child keeps the old block */
	assert_int_equal(table__free_at(t, 1, A1, 0, 21, NULL), 0);
	assert_int_equal(table__on_alloc(t, 1, A1, 300, 9, 22), 0);
	assert_int_equal(table__on_alloc(t, 1, A2, 40, 9, 23), 0);
	assert_int_equal(table__free_at(t, 2, A2, 0, 24, NULL), -ENOENT);
	struct table_freed f;
	assert_int_equal(table__free_at(t, 2, A1, 0, 25, &f), 1);
	assert_int_equal(f.size, 100);
	assert_int_equal(f.stack, 7);
	assert_inherited(t, 2, 0, 0);
	/* a child forked after the reuse gets the new block */
	assert_int_equal(table__fork(t, 1, 3, 26), 0);
	assert_inherited(t, 3, 340, 2);
	assert_int_equal(table__free_at(t, 3, A1, 0, 27, &f), 1);
	assert_int_equal(f.size, 300);
	table__free(t);
}

static void test_grandchild_sees_through_two_forks(void **state)
{
	struct table *t = table__new(16);
	struct table_freed f;

	assert_int_equal(table__on_alloc(t, 1, A1, 100, 7, 10), 0);
	assert_int_equal(table__fork(t, 1, 2, 20), 0);
	assert_int_equal(table__on_alloc(t, 2, A2, 60, 8, 21), 0);
	assert_int_equal(table__fork(t, 2, 3, 30), 0);
	assert_inherited(t, 3, 160, 2);
	/* the middle process frees both after the grandchild's fork: the grandchild keeps them */
	assert_int_equal(table__free_at(t, 2, A1, 0, 31, NULL), 1);
	assert_int_equal(table__free_at(t, 2, A2, 0, 32, NULL), 0);
	assert_int_equal(table__free_at(t, 1, A1, 0, 33, NULL), 0);
	assert_int_equal(table__free_at(t, 3, A1, 0, 34, &f), 1);
	assert_int_equal(f.size, 100);
	assert_int_equal(table__free_at(t, 3, A2, 0, 35, &f), 1);
	assert_int_equal(f.size, 60);
	assert_int_equal(f.stack, 8);
	assert_inherited(t, 3, 0, 0);
	table__free(t);
}

static void test_fork_copies_nothing(void **state)
{
	struct table *t = table__new(16);

	for (uint64_t i = 0; i < 1000; i++)
		assert_int_equal(table__on_alloc(t, 1, 0x10000 + i * 16, 8, 0, i + 1), 0);
	for (uint32_t c = 2; c < 6; c++)
		assert_int_equal(table__fork(t, 1, c, 2000 + c), 0);
	assert_int_equal(table__nr_blocks(t), 1000);
	assert_int_equal(table__nr_shared(t), 0);
	/* the parent frees half: those stay as ghosts, once, whatever the number of children */
	for (uint64_t i = 0; i < 500; i++)
		assert_int_equal(table__free_at(t, 1, 0x10000 + i * 16, 0, 3000 + i, NULL), 0);
	assert_int_equal(table__nr_shared(t), 500);
	for (uint32_t c = 2; c < 6; c++) {
		assert_inherited(t, c, 8000, 1000);
		table__end(t, c);
	}
	/* nobody holds them any more: collected once enough pile up */
	for (uint64_t i = 500; i < 1000; i++)
		assert_int_equal(table__free_at(t, 1, 0x10000 + i * 16, 0, 4000 + i, NULL), 0);
	assert_int_equal(table__nr_shared(t), 500);
	assert_int_equal(table__fork(t, 1, 6, 5000), 0);
	table__end(t, 6);
	assert_int_equal(table__nr_shared(t), 500); /* under the collection mark */
	table__free(t);
}

static void test_fork_refuses_twice(void **state)
{
	struct table *t = table__new(16);

	assert_int_equal(table__fork(t, 1, 2, 10), 0);
	assert_int_equal(table__fork(t, 3, 2, 11), -EEXIST);
	assert_int_equal(table__fork(t, 1, 1, 12), -EINVAL);
	table__free(t);
}

/*
 * Model: every process holds an explicit copy of its view; a fork copies
 * the parent's (marked inherited).  The table must agree on every free,
 * every site and every process's inherited totals.
 */
#define F_PROCS	 256
#define F_ADDRS	 512
#define F_STACKS 4
#define F_OPS	 200000

struct f_block {
	uint64_t size;
	uint32_t stack;
	uint8_t state; /* 0 none, 1 own, 2 inherited */
};

struct f_model {
	struct f_block v[F_PROCS][F_ADDRS];
	struct site_stats s[F_PROCS][F_STACKS];
	bool used[F_PROCS], live[F_PROCS];
	uint64_t inh_bytes[F_PROCS], inh_allocs[F_PROCS];
	size_t own;
};

static void f_check(const struct f_model *m, const struct table *t)
{
	assert_int_equal(table__nr_blocks(t), m->own);
	for (uint32_t p = 0; p < F_PROCS; p++) {
		if (!m->used[p])
			continue;
		assert_inherited(t, p, m->inh_bytes[p], m->inh_allocs[p]);
		for (uint32_t s = 0; s < F_STACKS; s++) {
			const struct site_stats *st = table__site(t, p, s), *w = &m->s[p][s];

			if (!w->allocs && !w->inherited_frees) {
				assert_true(!st || (!st->allocs && !st->inherited_frees));
				continue;
			}
			assert_non_null(st);
			assert_int_equal(st->allocs, w->allocs);
			assert_int_equal(st->alloc_bytes, w->alloc_bytes);
			assert_int_equal(st->frees, w->frees);
			assert_int_equal(st->outstanding_bytes, w->outstanding_bytes);
			assert_int_equal(st->outstanding_allocs, w->outstanding_allocs);
			assert_int_equal(st->inherited_frees, w->inherited_frees);
		}
	}
}

static void test_random_forks_match_model(void **state)
{
	struct f_model *m = calloc(1, sizeof(*m));
	struct table *t = table__new(0);
	uint32_t next = 1;

	assert_non_null(m);
	srand(777);
	m->used[0] = m->live[0] = true;
	for (uint64_t op = 1; op <= F_OPS; op++) {
		uint32_t p = rand() % next;
		size_t a = rand() % F_ADDRS;
		struct f_block *b;
		int r = rand() % 1000;

		for (int k = 0; k < 64 && !m->live[p]; k++)
			p = rand() % next;
		if (!m->live[p])
			continue;
		b = &m->v[p][a];
		if (r < 450) {
			uint64_t size = 1 + rand() % 999;
			uint32_t stack = rand() % F_STACKS;
			int want = b->state == 1;

			if (b->state == 2)
				continue; /* an allocator never hands out a block the process holds */
			if (want) {
				m->s[p][b->stack].frees++;
				m->s[p][b->stack].outstanding_bytes -= b->size;
				m->s[p][b->stack].outstanding_allocs--;
				m->own--;
			}
			assert_int_equal(
				table__on_alloc(t, p, 0x7f0000000000ULL + a * 16, size, stack, op),
				want);
			*b = (struct f_block){ .size = size, .stack = stack, .state = 1 };
			m->s[p][stack].allocs++;
			m->s[p][stack].alloc_bytes += size;
			m->s[p][stack].outstanding_bytes += size;
			m->s[p][stack].outstanding_allocs++;
			m->own++;
		} else if (r < 990) {
			struct table_freed f;
			int want = b->state == 1 ? 0 : b->state == 2 ? 1 : -ENOENT;

			assert_int_equal(
				table__free_at(t, p, 0x7f0000000000ULL + a * 16, 0, op, &f), want);
			if (want == 0) {
				m->s[p][b->stack].frees++;
				m->s[p][b->stack].outstanding_bytes -= b->size;
				m->s[p][b->stack].outstanding_allocs--;
				m->own--;
			} else if (want == 1) {
				m->s[p][b->stack].inherited_frees++;
				m->inh_bytes[p] -= b->size;
				m->inh_allocs[p]--;
			}
			if (want >= 0) {
				assert_int_equal(f.size, b->size);
				assert_int_equal(f.stack, b->stack);
			}
			b->state = 0;
		} else if (r < 993 && next < F_PROCS) {
			uint32_t c = next++;

			assert_int_equal(table__fork(t, p, c, op), 0);
			m->used[c] = m->live[c] = true;
			for (size_t k = 0; k < F_ADDRS; k++) {
				m->v[c][k] = m->v[p][k];
				if (m->v[c][k].state) {
					m->v[c][k].state = 2;
					m->inh_bytes[c] += m->v[c][k].size;
					m->inh_allocs[c]++;
				}
			}
		} else if (p) {
			/* exit (keeps its blocks) or exec (drops them) */
			if (r % 2) {
				size_t n = 0;

				for (size_t k = 0; k < F_ADDRS; k++) {
					struct f_block *x = &m->v[p][k];

					if (x->state != 1)
						continue;
					m->s[p][x->stack].outstanding_bytes -= x->size;
					m->s[p][x->stack].outstanding_allocs--;
					n++;
				}
				assert_int_equal(table__drop_proc(t, p), n);
				m->own -= n;
			}
			table__end(t, p);
			m->live[p] = false;
		}
		if (op % 5000 == 0)
			f_check(m, t);
	}
	f_check(m, t);
	table__free(t);
	free(m);
}

static void test_free_null_is_noop(void **state)
{
	table__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_then_free),
		cmocka_unit_test(test_unknown_free_is_enoent),
		cmocka_unit_test(test_alloc_at_zero_is_rejected),
		cmocka_unit_test(test_double_alloc_releases_old_block),
		cmocka_unit_test(test_drop_proc_keeps_other_procs),
		cmocka_unit_test(test_free_respects_ts_limit),
		cmocka_unit_test(test_site_stats_are_exact),
		cmocka_unit_test(test_many_sites),
		cmocka_unit_test(test_for_each_visits_all_and_stops_early),
		cmocka_unit_test(test_random_ops_match_model),
		cmocka_unit_test(test_growth_and_churn),
		cmocka_unit_test(test_child_frees_inherited_block),
		cmocka_unit_test(test_parent_changes_after_fork_do_not_reach_child),
		cmocka_unit_test(test_grandchild_sees_through_two_forks),
		cmocka_unit_test(test_fork_copies_nothing),
		cmocka_unit_test(test_fork_refuses_twice),
		cmocka_unit_test(test_random_forks_match_model),
		cmocka_unit_test(test_free_null_is_noop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
