/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Stack store: user stacks as BPF sent them (runtime addresses), deduplicated
 * by BPF's 64-bit hash of the addresses.  Addresses mean code only together
 * with a process image; that pairing lives in the table, not here.
 * Indexes are dense from 0 and stable for the store's lifetime.
 */
#ifndef DRIP_STACKS_H
#define DRIP_STACKS_H

#include <stddef.h>
#include <stdint.h>

struct stacks;

struct stacks *stacks__new(void);
void stacks__free(struct stacks *s);

/*
 * Add (or find) the stack with BPF hash `hash`. Returns its index (>= 0),
 * -ENOMEM, or -EINVAL (nr > 0 without ips).  A second add of the same hash
 * returns the first index and keeps the first frames.  Frames are copied into
 * one arena: no allocation per stack.
 */
int64_t stacks__add(struct stacks *s, uint64_t hash, const uint64_t *ips, uint32_t nr,
		    uint32_t flags);
/* Index of hash, or -ENOENT. */
int64_t stacks__find(const struct stacks *s, uint64_t hash);
size_t stacks__count(const struct stacks *s);
/*
 * Frames of stack idx; nr and flags may be NULL.  NULL (and *nr = 0) when
 * idx >= count.  The pointer is valid until the next stacks__add.
 */
const uint64_t *stacks__ips(const struct stacks *s, uint32_t idx, uint32_t *nr, uint32_t *flags);

#endif /* DRIP_STACKS_H */
