// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Outstanding blocks: one open-addressing hash with linear probing, 32-byte
 * slots stored inline, at most 3/4 full.  Deletion shifts the rest of the
 * cluster back instead of leaving tombstones, so alloc/free churn never slows
 * probing down.  Sites live in a dense array (indexes are stable) with a small
 * index hash keyed by (proc, stack); a block remembers its site's index, so a
 * free updates the right site without a second lookup.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "drip/table.h"

#define MIN_SLOTS	16
#define HUGE_PAGE_BYTES (2UL << 20)

struct block {
	uint64_t addr; /* 0: free slot (no allocator returns 0) */
	uint64_t size;
	uint64_t ts;
	uint32_t proc;
	uint32_t site; /* index into table.sites */
};

struct site {
	uint32_t proc;
	uint32_t stack;
	struct site_stats st;
};

struct table {
	struct block *blocks;
	size_t mask; /* slots - 1; slots is a power of two */
	size_t nr;

	struct site *sites; /* dense, never removed */
	size_t nr_sites, sites_cap;
	uint32_t *site_slots; /* site index + 1; 0: free */
	size_t site_mask;
};

/* splitmix64's finalizer: every input bit reaches every output bit */
static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static inline size_t block_home(uint32_t proc, uint64_t addr, size_t mask)
{
	/* addresses are 16-byte aligned and clustered: the mixer spreads them */
	return mix64(addr ^ (uint64_t)proc * 0x9e3779b97f4a7c15ULL) & mask;
}

static inline size_t site_home(uint32_t proc, uint32_t stack, size_t mask)
{
	return mix64((uint64_t)proc << 32 | stack) & mask;
}

/* Smallest power of two >= n * 4 / 3, so n entries fit at load 3/4. */
static size_t slots_for(size_t n)
{
	size_t slots = MIN_SLOTS;

	while (slots / 4 * 3 < n) {
		if (slots > SIZE_MAX / 2)
			return 0;
		slots *= 2;
	}
	return slots;
}

static bool over_load(size_t nr, size_t mask)
{
	return nr > (mask + 1) / 4 * 3;
}

/*
 * Zeroed slots.  Arrays of 2 MiB or more come from mmap with huge pages asked
 * for: the hash spreads blocks over every page anyway, so nothing is wasted,
 * and a random probe then rarely misses the TLB (measured: presized inserts
 * 151 -> 92 ns at 10M blocks) while growth takes 512x fewer page faults.
 */
static struct block *blocks_alloc(size_t slots)
{
	size_t len = slots * sizeof(struct block);
	void *p;

	if (slots > SIZE_MAX / sizeof(struct block))
		return NULL;
	if (len < HUGE_PAGE_BYTES)
		return calloc(slots, sizeof(struct block));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_HUGEPAGE); /* a hint: fine if THP is off */
	return p;
}

static void blocks_free(struct block *b, size_t slots)
{
	size_t len = slots * sizeof(struct block);

	if (len < HUGE_PAGE_BYTES)
		free(b);
	else if (b)
		munmap(b, len);
}

struct table *table__new(size_t expect)
{
	size_t slots = slots_for(expect);
	struct table *t;

	t = calloc(1, sizeof(*t));
	if (!t)
		goto err;
	t->blocks = slots ? blocks_alloc(slots) : NULL;
	t->site_slots = calloc(MIN_SLOTS, sizeof(*t->site_slots));
	t->mask = slots - 1;
	if (!t->blocks || !t->site_slots)
		goto err;
	t->site_mask = MIN_SLOTS - 1;
	return t;
err:
	table__free(t);
	errno = ENOMEM;
	return NULL;
}

void table__free(struct table *t)
{
	if (!t)
		return;
	blocks_free(t->blocks, t->mask + 1);
	free(t->sites);
	free(t->site_slots);
	free(t);
}

/*
 * Double the slots.  The old array is read front to back and, when it came
 * from mmap, every 2 MiB read is given back at once while the new array fills
 * about as fast: growing holds little more than the new array (<= 85 B per
 * block at the moment of doubling) instead of old + new (128 B).
 */
static int grow_blocks(struct table *t)
{
	size_t slots = (t->mask + 1) * 2, mask = slots - 1,
	       chunk = HUGE_PAGE_BYTES / sizeof(struct block);
	bool mapped = (t->mask + 1) * sizeof(struct block) >= HUGE_PAGE_BYTES;
	struct block *nb;

	nb = blocks_alloc(slots);
	if (!nb)
		return -ENOMEM;
	for (size_t i = 0; i <= t->mask; i++) {
		const struct block *b = &t->blocks[i];
		size_t j;

		if (mapped && i && i % chunk == 0)
			madvise(&t->blocks[i - chunk], HUGE_PAGE_BYTES, MADV_DONTNEED);
		if (!b->addr)
			continue;
		/* keys are unique: take the first free slot */
		for (j = block_home(b->proc, b->addr, mask); nb[j].addr; j = (j + 1) & mask)
			;
		nb[j] = *b;
	}
	blocks_free(t->blocks, t->mask + 1);
	t->blocks = nb;
	t->mask = mask;
	return 0;
}

static int grow_site_slots(struct table *t)
{
	size_t slots = (t->site_mask + 1) * 2, mask = slots - 1;
	uint32_t *ns;

	ns = calloc(slots, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < t->nr_sites; i++) {
		const struct site *s = &t->sites[i];
		size_t j;

		for (j = site_home(s->proc, s->stack, mask); ns[j]; j = (j + 1) & mask)
			;
		ns[j] = i + 1;
	}
	free(t->site_slots);
	t->site_slots = ns;
	t->site_mask = mask;
	return 0;
}

/* Slot of (proc, stack) in site_slots: holds its index + 1, or 0 when absent. */
static size_t site_slot(const struct table *t, uint32_t proc, uint32_t stack)
{
	size_t mask = t->site_mask, i;
	uint32_t v;

	for (i = site_home(proc, stack, mask); (v = t->site_slots[i]); i = (i + 1) & mask) {
		const struct site *s = &t->sites[v - 1];

		if (s->proc == proc && s->stack == stack)
			break;
	}
	return i;
}

/* Index of site (proc, stack), added when new; -ENOMEM leaves t unchanged. */
static int64_t site_get(struct table *t, uint32_t proc, uint32_t stack)
{
	size_t i = site_slot(t, proc, stack);

	if (t->site_slots[i])
		return t->site_slots[i] - 1;
	if (t->nr_sites >= UINT32_MAX - 1)
		return -ENOMEM; /* index + 1 must fit a u32 */
	if (t->nr_sites == t->sites_cap) {
		size_t cap = t->sites_cap ? t->sites_cap * 2 : MIN_SLOTS;
		struct site *ns = reallocarray(t->sites, cap, sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		t->sites = ns;
		t->sites_cap = cap;
	}
	if (over_load(t->nr_sites + 1, t->site_mask)) {
		if (grow_site_slots(t))
			return -ENOMEM;
		i = site_slot(t, proc, stack);
	}
	t->sites[t->nr_sites] = (struct site){ .proc = proc, .stack = stack };
	t->site_slots[i] = ++t->nr_sites;
	return t->nr_sites - 1;
}

/* Slot of (proc, addr): the block, or the free slot that ends its cluster. */
static size_t block_slot(const struct table *t, uint32_t proc, uint64_t addr)
{
	size_t mask = t->mask, i;

	for (i = block_home(proc, addr, mask); t->blocks[i].addr; i = (i + 1) & mask) {
		if (t->blocks[i].addr == addr && t->blocks[i].proc == proc)
			break;
	}
	return i;
}

/* Take the block out of its site's outstanding totals; freed: count it as a free. */
static void site_release(struct table *t, const struct block *b, bool freed)
{
	struct site_stats *st = &t->sites[b->site].st;

	st->outstanding_bytes -= b->size;
	st->outstanding_allocs--;
	st->frees += freed;
}

/* Empty slot i, moving later blocks of the cluster back so no probe path breaks. */
static void block_remove(struct table *t, size_t i)
{
	size_t mask = t->mask, j;

	for (j = (i + 1) & mask; t->blocks[j].addr; j = (j + 1) & mask) {
		const struct block *b = &t->blocks[j];
		size_t home = block_home(b->proc, b->addr, mask);

		/* movable when its home is not inside (i, j] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->blocks[i] = *b;
			i = j;
		}
	}
	t->blocks[i].addr = 0;
	t->nr--;
}

int table__on_alloc(struct table *t, uint32_t proc, uint64_t addr, uint64_t size, uint32_t stack,
		    uint64_t ts)
{
	struct site_stats *st;
	struct block *b;
	int64_t site;
	int ret = 0;

	if (!addr)
		return -EINVAL;
	/* make room first, so a failure changes nothing */
	if (over_load(t->nr + 1, t->mask) && grow_blocks(t))
		return -ENOMEM;
	site = site_get(t, proc, stack);
	if (site < 0)
		return site;

	b = &t->blocks[block_slot(t, proc, addr)];
	if (b->addr) {
		/* its release was lost: count it as freed where it came from */
		site_release(t, b, true);
		ret = 1;
	} else {
		t->nr++;
	}
	*b = (struct block){ .addr = addr, .size = size, .ts = ts, .proc = proc, .site = site };

	st = &t->sites[site].st;
	st->allocs++;
	st->outstanding_bytes += size;
	st->outstanding_allocs++;
	return ret;
}

int table__on_free(struct table *t, uint32_t proc, uint64_t addr, uint64_t ts_limit)
{
	size_t i;
	struct block *b;

	if (!addr)
		return -ENOENT;
	i = block_slot(t, proc, addr);
	b = &t->blocks[i];
	if (!b->addr)
		return -ENOENT;
	if (ts_limit && b->ts >= ts_limit)
		return -EEXIST; /* allocated after the release: another block */
	site_release(t, b, true);
	block_remove(t, i);
	return 0;
}

size_t table__drop_proc(struct table *t, uint32_t proc)
{
	size_t want = 0, dropped = 0, i = 0;

	/* the sites know how many blocks proc holds: often none, so skip the scan */
	for (size_t s = 0; s < t->nr_sites; s++)
		if (t->sites[s].proc == proc)
			want += t->sites[s].st.outstanding_allocs;

	/*
	 * block_remove() only moves blocks into the hole at i or later holes of
	 * the same cluster, so staying at i after a removal still visits every
	 * block once; blocks that wrap from the front are already checked.
	 */
	while (dropped < want && i <= t->mask) {
		struct block *b = &t->blocks[i];

		if (b->addr && b->proc == proc) {
			site_release(t, b, false); /* not a free: the image is gone */
			block_remove(t, i);
			dropped++;
		} else {
			i++;
		}
	}
	return dropped;
}

size_t table__nr_blocks(const struct table *t)
{
	return t->nr;
}

size_t table__nr_sites(const struct table *t)
{
	return t->nr_sites;
}

const struct site_stats *table__site(const struct table *t, uint32_t proc, uint32_t stack)
{
	uint32_t v = t->site_slots[site_slot(t, proc, stack)];

	return v ? &t->sites[v - 1].st : NULL;
}

int table__for_each_site(const struct table *t, table_site_cb cb, void *ctx)
{
	for (size_t i = 0; i < t->nr_sites; i++) {
		const struct site *s = &t->sites[i];
		int ret = cb(s->proc, s->stack, &s->st, ctx);

		if (ret)
			return ret;
	}
	return 0;
}

int table__for_each_block(const struct table *t, table_block_cb cb, void *ctx)
{
	for (size_t i = 0; i <= t->mask; i++) {
		const struct block *b = &t->blocks[i];
		int ret;

		if (!b->addr)
			continue;
		ret = cb(b->proc, b->addr, b->size, t->sites[b->site].stack, b->ts, ctx);
		if (ret)
			return ret;
	}
	return 0;
}
