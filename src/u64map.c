// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>

#include "drip/u64map.h"

static inline uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

void u64map__init(struct u64map *m)
{
	*m = (struct u64map){ 0 };
}

void u64map__release(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	u64map__init(m);
}

static int grow(struct u64map *m)
{
	size_t cap = m->cap ? 2 * m->cap : 64;
	struct u64map n = { calloc(cap, 8), calloc(cap, 8), cap, 0 };

	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i])
			u64map__set(&n, m->keys[i], m->vals[i]);
	u64map__release(m);
	*m = n;
	return 0;
}

int u64map__set(struct u64map *m, uint64_t key, uint64_t val)
{
	size_t i;

	if ((m->nr + 1) * 4 > m->cap * 3 && grow(m))
		return -ENOMEM;
	for (i = mix(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return 0;
		}
	}
	m->keys[i] = key;
	m->vals[i] = val;
	m->nr++;
	return 0;
}

bool u64map__get(const struct u64map *m, uint64_t key, uint64_t *val)
{
	if (!m->cap)
		return false;
	for (size_t i = mix(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			*val = m->vals[i];
			return true;
		}
	}
	return false;
}

void u64map__del(struct u64map *m, uint64_t key)
{
	size_t mask = m->cap - 1, i, j;

	if (!m->cap)
		return;
	for (i = mix(key) & mask; m->keys[i] != key; i = (i + 1) & mask)
		if (!m->keys[i])
			return;
	/* backward-shift deletion: no tombstones */
	for (j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		size_t home = mix(m->keys[j]) & mask;

		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = 0;
	m->nr--;
}
