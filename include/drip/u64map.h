/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* A small open-addressing map from u64 keys to u64 values (key 0 is reserved). */
#ifndef DRIP_U64MAP_H
#define DRIP_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys;
	uint64_t *vals;
	size_t cap; /* power of two */
	size_t nr;
};

void u64map__init(struct u64map *m);
void u64map__release(struct u64map *m);
/* 0, or -ENOMEM. Overwrites an existing key. key must not be 0. */
int u64map__set(struct u64map *m, uint64_t key, uint64_t val);
/* true and *val when present */
bool u64map__get(const struct u64map *m, uint64_t key, uint64_t *val);
void u64map__del(struct u64map *m, uint64_t key);

#endif /* DRIP_U64MAP_H */
