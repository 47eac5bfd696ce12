// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Outstanding blocks: one open-addressing hash with linear probing, 32-byte
 * slots stored inline, at most 3/4 full.  Deletion shifts the rest of the
 * cluster back instead of leaving tombstones, so alloc/free churn never slows
 * probing down.  Sites live in a dense array (indexes are stable) with a small
 * index hash keyed by (proc, stack); a block remembers its site's index, so a
 * free updates the right site without a second lookup.
 *
 * Fork: a child sees its parent's heap as of the fork, without a copy.  Its
 * view is its own blocks, then (unless it freed the address since: a
 * "whiteout") its parent's view at fork time, and so on up the tree.  The
 * parent's view at a past time is its live blocks allocated before then, plus
 * "ghosts": blocks it freed since that a child forked earlier still holds.
 * Only what a fork shares and one side then frees costs memory (32 B per
 * whiteout, 48 B per ghost); a fork itself is O(1).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "drip/table.h"
#include "drip/u64map.h"

#define MIN_SLOTS	16
#define HUGE_PAGE_BYTES (2UL << 20)
#define NO_LAYER	UINT32_MAX
#define MAX_DEPTH	64   /* fork generations a lookup climbs */
#define GC_MIN		1024 /* whiteouts + ghosts before the first collection */

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

/* Open-addressing blocks keyed (proc, addr): outstanding blocks, and whiteouts. */
struct bhash {
	struct block *blocks;
	size_t mask; /* slots - 1; slots is a power of two */
	size_t nr;
};

/* A block its heap freed while a child forked after its allocation still holds it. */
struct ghost {
	uint64_t addr, size;
	uint64_t ts, freed; /* in the heap's view over [ts, freed) */
	uint32_t proc, site;
	uint32_t next; /* index + 1 of an older ghost at the same addr; 0: none */
};

/* What a process inherited at fork, and what its children inherit from it. */
struct layer {
	uint64_t fork_ts;		/* it sees its parent's view as of this time */
	uint64_t newest_child;		/* fork time of its newest child still looking through it */
	uint64_t own_bytes, own_allocs; /* its outstanding blocks */
	uint64_t inh_bytes, inh_allocs; /* inherited blocks it has not freed */
	uint32_t parent;		/* NO_LAYER: it inherited nothing */
	uint32_t children;		/* children still looking through it */
	bool ended;			/* exited or exec'd: its own view no longer matters */
	bool released; /* ended, and no child looks through it: its parent was told */
};

struct table {
	struct bhash own;   /* outstanding blocks */
	struct bhash white; /* inherited blocks a child freed: (child, addr), ts = when */
	struct ghost *ghosts;
	size_t nr_ghosts, cap_ghosts;
	struct u64map ghost_at; /* addr -> index + 1 of the newest ghost there */
	size_t gc_mark;		/* collect whiteouts and ghosts beyond this many */
	struct layer *layers;
	size_t nr_layers;
	uint64_t clock; /* latest event time seen */

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

static int bhash_init(struct bhash *h, size_t expect)
{
	size_t slots = slots_for(expect);

	h->blocks = slots ? blocks_alloc(slots) : NULL;
	h->mask = slots - 1;
	h->nr = 0;
	return h->blocks ? 0 : -ENOMEM;
}

struct table *table__new(size_t expect)
{
	struct table *t;

	t = calloc(1, sizeof(*t));
	if (!t)
		goto err;
	bhash_init(&t->own, expect);
	bhash_init(&t->white, 0);
	t->site_slots = calloc(MIN_SLOTS, sizeof(*t->site_slots));
	if (!t->own.blocks || !t->white.blocks || !t->site_slots)
		goto err;
	t->site_mask = MIN_SLOTS - 1;
	t->gc_mark = GC_MIN;
	u64map__init(&t->ghost_at);
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
	blocks_free(t->own.blocks, t->own.mask + 1);
	blocks_free(t->white.blocks, t->white.mask + 1);
	free(t->ghosts);
	u64map__release(&t->ghost_at);
	free(t->layers);
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
static int grow_blocks(struct bhash *h)
{
	size_t slots = (h->mask + 1) * 2, mask = slots - 1,
	       chunk = HUGE_PAGE_BYTES / sizeof(struct block);
	bool mapped = (h->mask + 1) * sizeof(struct block) >= HUGE_PAGE_BYTES;
	struct block *nb;

	nb = blocks_alloc(slots);
	if (!nb)
		return -ENOMEM;
	for (size_t i = 0; i <= h->mask; i++) {
		const struct block *b = &h->blocks[i];
		size_t j;

		if (mapped && i && i % chunk == 0)
			madvise(&h->blocks[i - chunk], HUGE_PAGE_BYTES, MADV_DONTNEED);
		if (!b->addr)
			continue;
		/* keys are unique: take the first free slot */
		for (j = block_home(b->proc, b->addr, mask); nb[j].addr; j = (j + 1) & mask)
			;
		nb[j] = *b;
	}
	blocks_free(h->blocks, h->mask + 1);
	h->blocks = nb;
	h->mask = mask;
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
static size_t block_slot(const struct bhash *h, uint32_t proc, uint64_t addr)
{
	size_t mask = h->mask, i;

	for (i = block_home(proc, addr, mask); h->blocks[i].addr; i = (i + 1) & mask) {
		if (h->blocks[i].addr == addr && h->blocks[i].proc == proc)
			break;
	}
	return i;
}

static const struct block *block_find(const struct bhash *h, uint32_t proc, uint64_t addr)
{
	const struct block *b = &h->blocks[block_slot(h, proc, addr)];

	return b->addr ? b : NULL;
}

/* Empty slot i, moving later blocks of the cluster back so no probe path breaks. */
static void block_remove(struct bhash *h, size_t i)
{
	size_t mask = h->mask, j;

	for (j = (i + 1) & mask; h->blocks[j].addr; j = (j + 1) & mask) {
		const struct block *b = &h->blocks[j];
		size_t home = block_home(b->proc, b->addr, mask);

		/* movable when its home is not inside (i, j] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			h->blocks[i] = *b;
			i = j;
		}
	}
	h->blocks[i].addr = 0;
	h->nr--;
}

/* Layers exist for every proc up to proc; -ENOMEM leaves t unchanged. */
static int layer_reserve(struct table *t, uint32_t proc)
{
	size_t n = t->nr_layers, want;
	struct layer *nl;

	if (proc < n)
		return 0;
	want = n ? n : 16;
	while (want <= proc)
		want *= 2;
	nl = reallocarray(t->layers, want, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	for (size_t i = n; i < want; i++)
		nl[i] = (struct layer){ .parent = NO_LAYER };
	t->layers = nl;
	t->nr_layers = want;
	return 0;
}

static void tick(struct table *t, uint64_t ts)
{
	if (ts > t->clock)
		t->clock = ts;
}

/* Is layer l still looked through: alive, or an ancestor of a live process? */
static bool holds(const struct layer *l)
{
	return !l->ended || l->children;
}

/*
 * Keep a block its heap releases now when a child forked after it was
 * allocated may still hold it.  Best effort: without memory the child's free
 * of it becomes an unknown free.
 */
static void ghost_keep(struct table *t, const struct block *b, uint64_t freed)
{
	uint64_t head = 0;
	struct ghost *g;

	if (b->proc >= t->nr_layers || t->layers[b->proc].newest_child <= b->ts)
		return;
	if (t->nr_ghosts == t->cap_ghosts) {
		size_t cap = t->cap_ghosts ? t->cap_ghosts * 2 : 64;
		struct ghost *ng = reallocarray(t->ghosts, cap, sizeof(*ng));

		if (!ng)
			return;
		t->ghosts = ng;
		t->cap_ghosts = cap;
	}
	u64map__get(&t->ghost_at, b->addr, &head);
	if (u64map__set(&t->ghost_at, b->addr, t->nr_ghosts + 1))
		return;
	g = &t->ghosts[t->nr_ghosts++];
	*g = (struct ghost){ .addr = b->addr,
			     .size = b->size,
			     .ts = b->ts,
			     .freed = freed,
			     .proc = b->proc,
			     .site = b->site,
			     .next = (uint32_t)head };
}

/* Take the block out of its site's and its process's outstanding totals; freed: count a free. */
static void site_release(struct table *t, const struct block *b, bool freed)
{
	struct site_stats *st = &t->sites[b->site].st;
	struct layer *l = &t->layers[b->proc]; /* on_alloc reserved it */

	st->outstanding_bytes -= b->size;
	st->outstanding_allocs--;
	st->frees += freed;
	l->own_bytes -= b->size;
	l->own_allocs--;
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
	if (over_load(t->own.nr + 1, t->own.mask) && grow_blocks(&t->own))
		return -ENOMEM;
	if (layer_reserve(t, proc))
		return -ENOMEM;
	site = site_get(t, proc, stack);
	if (site < 0)
		return site;
	tick(t, ts);

	b = &t->own.blocks[block_slot(&t->own, proc, addr)];
	if (b->addr) {
		/* its release was lost: count it as freed where it came from */
		ghost_keep(t, b, ts);
		site_release(t, b, true);
		ret = 1;
	} else {
		t->own.nr++;
	}
	*b = (struct block){ .addr = addr, .size = size, .ts = ts, .proc = proc, .site = site };

	st = &t->sites[site].st;
	st->allocs++;
	st->alloc_bytes += size;
	st->outstanding_bytes += size;
	st->outstanding_allocs++;
	t->layers[proc].own_bytes += size;
	t->layers[proc].own_allocs++;
	return ret;
}

/* The ghost of proc's block at addr that its view at time `at` holds, or NULL. */
static const struct ghost *ghost_find(const struct table *t, uint32_t proc, uint64_t addr,
				      uint64_t at)
{
	uint64_t v = 0;

	u64map__get(&t->ghost_at, addr, &v);
	for (uint32_t k = 0; v && k < t->nr_ghosts; k++) { /* k: a bound, chains end */
		const struct ghost *g = &t->ghosts[v - 1];

		if (g->proc == proc && g->ts < at && at < g->freed)
			return g;
		v = g->next;
	}
	return NULL;
}

/*
 * The block at addr that proc inherited and still holds: found in its
 * parent's view as of the fork, and so on up.  Fills size and site.
 */
static bool inherited_find(const struct table *t, uint32_t proc, uint64_t addr, uint64_t *size,
			   uint32_t *site)
{
	uint64_t at = UINT64_MAX; /* proc's own view: now */
	uint32_t p = proc;

	for (int depth = 0; depth < MAX_DEPTH; depth++) {
		const struct block *b;
		const struct ghost *g;

		if (depth) {
			b = block_find(&t->own, p, addr);
			if (b && b->ts < at) {
				*size = b->size;
				*site = b->site;
				return true;
			}
			g = ghost_find(t, p, addr, at);
			if (g) {
				*size = g->size;
				*site = g->site;
				return true;
			}
		}
		b = block_find(&t->white, p, addr);
		if (b && b->ts < at)
			return false; /* p had freed it by then */
		if (p >= t->nr_layers || t->layers[p].parent == NO_LAYER)
			return false;
		at = t->layers[p].fork_ts;
		p = t->layers[p].parent;
	}
	return false;
}

/* proc frees a block it inherited: remember it did (a whiteout) and count the free. */
static int inherited_free(struct table *t, uint32_t proc, uint64_t addr, uint64_t ts,
			  uint64_t ts_limit, struct table_freed *out)
{
	struct layer *l;
	uint64_t size;
	uint32_t site;
	int64_t mine;
	size_t i;

	if (proc >= t->nr_layers || t->layers[proc].parent == NO_LAYER ||
	    !inherited_find(t, proc, addr, &size, &site))
		return -ENOENT;
	if (ts_limit && t->layers[proc].fork_ts >= ts_limit)
		return -EEXIST; /* (cannot be: the fork came before its calls) */
	if (over_load(t->white.nr + 1, t->white.mask) && grow_blocks(&t->white))
		return -ENOMEM;
	mine = site_get(t, proc, t->sites[site].stack);
	if (mine < 0)
		return mine;
	i = block_slot(&t->white, proc, addr);
	t->white.blocks[i] = (struct block){ .addr = addr, .ts = ts, .proc = proc };
	t->white.nr++;
	t->sites[mine].st.inherited_frees++;
	l = &t->layers[proc];
	l->inh_bytes -= l->inh_bytes >= size ? size : l->inh_bytes;
	l->inh_allocs -= l->inh_allocs > 0;
	if (out)
		*out = (struct table_freed){ .size = size,
					     .stack = t->sites[mine].stack,
					     .inherited = true };
	return 1;
}

int table__free_at(struct table *t, uint32_t proc, uint64_t addr, uint64_t ts_limit, uint64_t ts,
		   struct table_freed *out)
{
	struct block *b;
	size_t i;

	if (!addr)
		return -ENOENT;
	tick(t, ts);
	i = block_slot(&t->own, proc, addr);
	b = &t->own.blocks[i];
	if (!b->addr)
		return inherited_free(t, proc, addr, ts, ts_limit, out);
	if (ts_limit && b->ts >= ts_limit)
		return -EEXIST; /* allocated after the release: another block */
	if (out)
		*out = (struct table_freed){ .size = b->size, .stack = t->sites[b->site].stack };
	ghost_keep(t, b, ts);
	site_release(t, b, true);
	block_remove(&t->own, i);
	return 0;
}

int table__on_free(struct table *t, uint32_t proc, uint64_t addr, uint64_t ts_limit)
{
	return table__free_at(t, proc, addr, ts_limit, t->clock, NULL);
}

size_t table__drop_proc(struct table *t, uint32_t proc)
{
	size_t want = 0, dropped = 0, i = 0;

	/* the process's totals say how many blocks it holds: often none, so skip the scan */
	if (proc < t->nr_layers)
		want = t->layers[proc].own_allocs;

	/*
	 * block_remove() only moves blocks into the hole at i or later holes of
	 * the same cluster, so staying at i after a removal still visits every
	 * block once; blocks that wrap from the front are already checked.
	 */
	while (dropped < want && i <= t->own.mask) {
		struct block *b = &t->own.blocks[i];

		if (b->addr && b->proc == proc) {
			ghost_keep(t, b, t->clock); /* its children's copies outlive the image */
			site_release(t, b, false);  /* not a free: the image is gone */
			block_remove(&t->own, i);
			dropped++;
		} else {
			i++;
		}
	}
	return dropped;
}

int table__fork(struct table *t, uint32_t parent, uint32_t child, uint64_t ts)
{
	struct layer *p, *c;

	if (parent == child || layer_reserve(t, parent > child ? parent : child))
		return parent == child ? -EINVAL : -ENOMEM;
	p = &t->layers[parent];
	c = &t->layers[child];
	if (c->parent != NO_LAYER || c->own_allocs)
		return -EEXIST; /* a process is forked once, before it allocates */
	tick(t, ts);
	c->parent = parent;
	c->fork_ts = ts;
	c->inh_bytes = p->own_bytes + p->inh_bytes;
	c->inh_allocs = p->own_allocs + p->inh_allocs;
	p->children++;
	if (ts > p->newest_child)
		p->newest_child = ts;
	return 0;
}

struct fork_key {
	uint64_t parent, ts;
};

static int cmp_fork(const void *a, const void *b)
{
	const struct fork_key *x = a, *y = b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/*
 * Forget whiteouts of processes nobody looks through any more, and ghosts no
 * such process can see: a ghost of p over [ts, freed) lives while a child of
 * p forked inside it still holds.  Keys of (parent, fork time) sorted, so
 * each ghost is one binary search.
 */
static void collect(struct table *t)
{
	struct fork_key *forks;
	size_t nf = 0, kept = 0;

	forks = calloc(t->nr_layers ? t->nr_layers : 1, sizeof(*forks));
	if (!forks)
		return;
	for (size_t i = 0; i < t->nr_layers; i++)
		if (t->layers[i].parent != NO_LAYER && holds(&t->layers[i])) {
			forks[nf].parent = t->layers[i].parent;
			forks[nf++].ts = t->layers[i].fork_ts;
		}
	qsort(forks, nf, sizeof(*forks), cmp_fork);
	for (size_t i = 0; i <= t->white.mask;) {
		const struct block *w = &t->white.blocks[i];

		if (w->addr && !holds(&t->layers[w->proc]))
			block_remove(&t->white, i);
		else
			i++;
	}
	u64map__release(&t->ghost_at);
	u64map__init(&t->ghost_at);
	for (size_t i = 0; i < t->nr_ghosts; i++) {
		struct ghost g = t->ghosts[i];
		size_t lo = 0, hi = nf;
		uint64_t head = 0;

		/* first fork of g.proc at or after g.ts */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (forks[mid].parent < g.proc ||
			    (forks[mid].parent == g.proc && forks[mid].ts <= g.ts))
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == nf || forks[lo].parent != g.proc || forks[lo].ts >= g.freed)
			continue;
		u64map__get(&t->ghost_at, g.addr, &head);
		if (u64map__set(&t->ghost_at, g.addr, kept + 1))
			continue; /* without memory it is lost: its holders' frees go unknown */
		g.next = (uint32_t)head;
		t->ghosts[kept++] = g;
	}
	t->nr_ghosts = kept;
	t->gc_mark = 2 * (kept + t->white.nr) + GC_MIN;
	free(forks);
}

/* A view that nobody looks through any more lets its parent's view go too. */
static void unhold(struct table *t, uint32_t proc)
{
	for (int depth = 0; depth < MAX_DEPTH && proc != NO_LAYER; depth++) {
		struct layer *l = &t->layers[proc];
		uint32_t parent = l->parent;
		struct layer *p;

		if (holds(l) || parent == NO_LAYER || l->released)
			break;
		l->released = true;
		p = &t->layers[parent];
		p->children--;
		p->newest_child = 0;
		for (size_t i = 0; i < t->nr_layers; i++)
			if (t->layers[i].parent == parent && holds(&t->layers[i]) &&
			    t->layers[i].fork_ts > p->newest_child)
				p->newest_child = t->layers[i].fork_ts;
		proc = parent;
	}
}

void table__end(struct table *t, uint32_t proc)
{
	if (proc >= t->nr_layers || t->layers[proc].ended)
		return;
	t->layers[proc].ended = true;
	unhold(t, proc);
	if (t->white.nr + t->nr_ghosts > t->gc_mark)
		collect(t);
}

void table__inherited(const struct table *t, uint32_t proc, uint64_t *bytes, uint64_t *allocs)
{
	const struct layer *l = proc < t->nr_layers ? &t->layers[proc] : NULL;

	*bytes = l && l->parent != NO_LAYER ? l->inh_bytes : 0;
	*allocs = l && l->parent != NO_LAYER ? l->inh_allocs : 0;
}

size_t table__nr_blocks(const struct table *t)
{
	return t->own.nr;
}

size_t table__nr_shared(const struct table *t)
{
	return t->white.nr + t->nr_ghosts;
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
	for (size_t i = 0; i <= t->own.mask; i++) {
		const struct block *b = &t->own.blocks[i];
		int ret;

		if (!b->addr)
			continue;
		ret = cb(b->proc, b->addr, b->size, t->sites[b->site].stack, b->ts, ctx);
		if (ret)
			return ret;
	}
	return 0;
}
