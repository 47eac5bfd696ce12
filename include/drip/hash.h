/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A fast non-cryptographic hash for the exporters' hash tables: eight bytes
 * per step (names and folded lines are long, and there are millions). Not
 * seeded: like the rest of drip's tables, it is not meant to resist inputs
 * built to collide.
 */
#ifndef DRIP_HASH_H
#define DRIP_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static inline uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8); /* no unaligned loads */
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
		h ^= h >> 29;
	}
	w = 0;
	if (n)
		memcpy(&w, s, n); /* s may be NULL when n is 0 */
	return hash_mix(h ^ w);
}

#endif /* DRIP_HASH_H */
