// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Micro-benchmark of the outstanding-block table (not a test: timing never
 * decides pass or fail).  For 1M and 10M blocks: allocate them all (growing
 * from an empty table), churn (free one, allocate one) at that size, then free
 * them all in random order.  Prints ns per operation and RSS per block after
 * the allocations (peak: the high-water mark, including growth).  Then a fork
 * pool: a parent with n blocks forks 4 workers, each frees a different quarter
 * of what it inherited, and the parent frees half of its blocks: RSS per
 * parent block, and the time of an inherited free.
 *
 *   gcc -O2 -g -std=gnu11 -D_GNU_SOURCE -Iinclude -o build/table_bench \
 *	bench/table_bench.c src/table.c src/u64map.c && build/table_bench [blocks...]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drip/table.h"

#define NR_PROCS  4
#define NR_STACKS 1000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A "Vm...:" field of /proc/self/status in bytes, or 0. */
static uint64_t vm_bytes(const char *field)
{
	size_t len = strlen(field);
	char line[256];
	uint64_t kb = 0;
	FILE *f;

	f = fopen("/proc/self/status", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, len) && line[len] == ':') {
			kb = strtoull(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb * 1024;
}

/* Start a new VmHWM from the current RSS (Linux >= 4.0); best effort. */
static void reset_hwm(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "we");

	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

/* xorshift64*: cheap and deterministic */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* Block i: heap-like addresses (48-byte strides, 16-byte aligned), a few processes. */
static uint64_t addr_of(uint64_t i)
{
	return 0x55550000000ULL + i * 48;
}

static int run(uint64_t n)
{
	uint64_t *order, seed = 0x9e3779b97f4a7c15ULL, t0, rss0, rss1, hwm;
	uint64_t churn = n < 1000000 ? n : 1000000;
	double t_alloc, t_churn, t_free;
	struct table *t;
	int err = -1;

	order = malloc(n * sizeof(*order));
	if (!order)
		return -1;
	for (uint64_t i = 0; i < n; i++)
		order[i] = i;
	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j = rnd(&seed) % (i + 1), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	reset_hwm();
	rss0 = vm_bytes("VmRSS");

	t = table__new(0);
	if (!t)
		goto out;
	t0 = now_ns();
	for (uint64_t i = 0; i < n; i++)
		if (table__on_alloc(t, i % NR_PROCS, addr_of(i), 64, i % NR_STACKS, i + 1))
			goto out;
	t_alloc = (double)(now_ns() - t0) / n;
	rss1 = vm_bytes("VmRSS");
	hwm = vm_bytes("VmHWM");

	/* steady state: free a random live block, allocate a new one */
	t0 = now_ns();
	for (uint64_t k = 0; k < churn; k++) {
		uint64_t i = order[k];

		if (table__on_free(t, i % NR_PROCS, addr_of(i), 0) ||
		    table__on_alloc(t, i % NR_PROCS, addr_of(n + i), 64, i % NR_STACKS, n + k))
			goto out;
	}
	t_churn = (double)(now_ns() - t0) / (2 * churn);

	t0 = now_ns();
	for (uint64_t k = 0; k < n; k++) {
		uint64_t i = order[k], a = k < churn ? addr_of(n + i) : addr_of(i);

		if (table__on_free(t, i % NR_PROCS, a, 0))
			goto out;
	}
	t_free = (double)(now_ns() - t0) / n;
	if (table__nr_blocks(t))
		goto out;

	printf("%9" PRIu64
	       " blocks: alloc %5.1f ns/op, churn %5.1f ns/op, random free %5.1f ns/op, "
	       "RSS %5.1f B/block (peak %5.1f)\n",
	       n, t_alloc, t_churn, t_free, (double)(rss1 - rss0) / n, (double)(hwm - rss0) / n);
	err = 0;
out:
	if (err)
		fprintf(stderr, "table_bench: %" PRIu64 " blocks: unexpected table result\n", n);
	table__free(t);
	free(order);
	return err;
}

static int run_pool(uint64_t n)
{
	uint64_t t0, rss0, rss1, rss2, frees = 0;
	double t_inh;
	struct table *t;
	int err = -1;

	reset_hwm();
	rss0 = vm_bytes("VmRSS");
	t = table__new(0);
	if (!t)
		goto out;
	for (uint64_t i = 0; i < n; i++)
		if (table__on_alloc(t, 0, addr_of(i), 64, i % NR_STACKS, i + 1))
			goto out;
	rss1 = vm_bytes("VmRSS");
	for (uint32_t w = 1; w <= 4; w++)
		if (table__fork(t, 0, w, n + w))
			goto out;
	t0 = now_ns();
	for (uint32_t w = 1; w <= 4; w++)
		for (uint64_t i = (w - 1) * (n / 4); i < w * (n / 4); i++, frees++)
			if (table__free_at(t, w, addr_of(i), 0, 2 * n + i, NULL) != 1)
				goto out;
	t_inh = (double)(now_ns() - t0) / (frees ? frees : 1);
	for (uint64_t i = 0; i < n; i += 2)
		if (table__free_at(t, 0, addr_of(i), 0, 3 * n + i, NULL))
			goto out;
	rss2 = vm_bytes("VmRSS");
	printf("%9" PRIu64 " blocks, 4 forked workers: parent RSS %5.1f B/block; after each worker "
	       "freed a quarter and the parent half: %5.1f B/block (%zu whiteouts + ghosts); "
	       "inherited free %5.1f ns\n",
	       n, (double)(rss1 - rss0) / n, (double)(rss2 - rss0) / n, table__nr_shared(t), t_inh);
	err = 0;
out:
	if (err)
		fprintf(stderr,
			"table_bench: pool of %" PRIu64 " blocks: unexpected table result\n", n);
	table__free(t);
	return err;
}

int main(int argc, char **argv)
{
	/* 786433 and 6291457 blocks: the table has just doubled, the worst RSS per block */
	static const uint64_t sizes[] = { 1000000, 10000000, 786433, 6291457 };
	int err = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			err |= run(strtoull(argv[i], NULL, 0));
		for (int i = 1; i < argc; i++)
			err |= run_pool(strtoull(argv[i], NULL, 0));
		return err ? 1 : 0;
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		err |= run(sizes[i]);
	err |= run_pool(1000000);
	return err ? 1 : 0;
}
