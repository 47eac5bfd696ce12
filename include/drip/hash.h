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

/*
 * The same job in fewer steps (after wyhash): 16 bytes per 64x64->128-bit
 * multiply, and the last bytes read as whole words that may overlap, never
 * byte by byte. About twice as fast as hash_bytes() on names of 60 bytes, for
 * the tables that see one lookup per string of a large input.
 */
static inline uint64_t hash_mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t hash_rd8(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t hash_rd4(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t hash_str(const void *p, size_t n)
{
	const uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull;
	const unsigned char *s = p;
	uint64_t seed = k0 ^ n, a, b;
	size_t i = n;

	if (n <= 16) {
		if (n >= 4) {
			a = hash_rd4(s) << 32 | hash_rd4(s + (n >> 3 << 2));
			b = hash_rd4(s + n - 4) << 32 | hash_rd4(s + n - 4 - (n >> 3 << 2));
		} else if (n) {
			a = (uint64_t)s[0] << 16 | (uint64_t)s[n >> 1] << 8 | s[n - 1];
			b = 0;
		} else {
			a = b = 0;
		}
	} else {
		for (; i > 16; s += 16, i -= 16)
			seed = hash_mum(hash_rd8(s) ^ k1, hash_rd8(s + 8) ^ seed);
		a = hash_rd8(s + i - 16);
		b = hash_rd8(s + i - 8);
	}
	return hash_mum(k1 ^ n, hash_mum(a ^ k1, b ^ seed));
}

#endif /* DRIP_HASH_H */
