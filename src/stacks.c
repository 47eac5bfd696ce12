// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Frames of every stack sit back to back in one growable u64 arena; each
 * stack is (hash, offset, nr, flags) in a dense array, found by its hash
 * through an open-addressing index of (array index + 1).  Adding a stack
 * allocates nothing but the occasional doubling.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drip/stacks.h"

#define MIN_SLOTS  64
#define MIN_FRAMES 1024

struct stack {
	uint64_t hash;
	size_t off; /* first frame in arena */
	uint32_t nr;
	uint32_t flags;
};

struct stacks {
	uint64_t *arena;
	size_t nr_frames, frames_cap;
	struct stack *v;
	size_t nr, cap;
	uint32_t *slots; /* index into v + 1; 0: free */
	size_t mask;
};

/* splitmix64's finalizer: BPF's hash is already good, but cheap insurance */
static inline size_t home(uint64_t hash, size_t mask)
{
	hash ^= hash >> 30;
	hash *= 0xbf58476d1ce4e5b9ULL;
	hash ^= hash >> 27;
	hash *= 0x94d049bb133111ebULL;
	hash ^= hash >> 31;
	return hash & mask;
}

struct stacks *stacks__new(void)
{
	struct stacks *s = calloc(1, sizeof(*s));

	if (!s)
		goto err;
	s->arena = malloc(MIN_FRAMES * sizeof(*s->arena));
	s->v = malloc(MIN_SLOTS * sizeof(*s->v));
	s->slots = calloc(MIN_SLOTS, sizeof(*s->slots));
	if (!s->arena || !s->v || !s->slots)
		goto err;
	s->frames_cap = MIN_FRAMES;
	s->cap = MIN_SLOTS;
	s->mask = MIN_SLOTS - 1;
	return s;
err:
	stacks__free(s);
	errno = ENOMEM;
	return NULL;
}

void stacks__free(struct stacks *s)
{
	if (!s)
		return;
	free(s->arena);
	free(s->v);
	free(s->slots);
	free(s);
}

/* Slot of hash: holds its index + 1, or 0 where it would go. */
static size_t slot_of(const struct stacks *s, uint64_t hash)
{
	size_t i;

	for (i = home(hash, s->mask); s->slots[i]; i = (i + 1) & s->mask)
		if (s->v[s->slots[i] - 1].hash == hash)
			break;
	return i;
}

static int grow_slots(struct stacks *s)
{
	size_t n = (s->mask + 1) * 2, mask = n - 1;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t k = 0; k < s->nr; k++) {
		size_t i;

		for (i = home(s->v[k].hash, mask); slots[i]; i = (i + 1) & mask)
			;
		slots[i] = k + 1;
	}
	free(s->slots);
	s->slots = slots;
	s->mask = mask;
	return 0;
}

/* Make room for one more stack of nr frames; on failure nothing visible changed. */
static int reserve(struct stacks *s, uint32_t nr)
{
	if (s->nr >= UINT32_MAX - 1)
		return -ENOMEM; /* index + 1 must fit a slot */
	if (s->nr_frames + nr > s->frames_cap) {
		size_t cap = s->frames_cap;
		uint64_t *a;

		while (cap < s->nr_frames + nr)
			cap *= 2;
		a = reallocarray(s->arena, cap, sizeof(*a));
		if (!a)
			return -ENOMEM;
		s->arena = a;
		s->frames_cap = cap;
	}
	if (s->nr == s->cap) {
		struct stack *v = reallocarray(s->v, s->cap * 2, sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap *= 2;
	}
	if ((s->nr + 1) * 4 > (s->mask + 1) * 3)
		return grow_slots(s);
	return 0;
}

int64_t stacks__add(struct stacks *s, uint64_t hash, const uint64_t *ips, uint32_t nr,
		    uint32_t flags)
{
	size_t i = slot_of(s, hash);
	int err;

	if (s->slots[i])
		return s->slots[i] - 1;
	if (nr && !ips)
		return -EINVAL;
	err = reserve(s, nr);
	if (err)
		return err;
	i = slot_of(s, hash); /* the index may have grown */
	if (nr)
		memcpy(s->arena + s->nr_frames, ips, nr * sizeof(*ips));
	s->v[s->nr] = (struct stack){ .hash = hash, .off = s->nr_frames, .nr = nr, .flags = flags };
	s->nr_frames += nr;
	s->slots[i] = ++s->nr;
	return s->nr - 1;
}

int64_t stacks__find(const struct stacks *s, uint64_t hash)
{
	uint32_t v = s->slots[slot_of(s, hash)];

	return v ? (int64_t)v - 1 : -ENOENT;
}

size_t stacks__count(const struct stacks *s)
{
	return s->nr;
}

const uint64_t *stacks__ips(const struct stacks *s, uint32_t idx, uint32_t *nr, uint32_t *flags)
{
	const struct stack *st;

	if (idx >= s->nr) {
		if (nr)
			*nr = 0;
		if (flags)
			*flags = 0;
		return NULL;
	}
	st = &s->v[idx];
	if (nr)
		*nr = st->nr;
	if (flags)
		*flags = st->flags;
	return s->arena + st->off;
}
