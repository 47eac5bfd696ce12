/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A minimal protocol-buffers encoder (wire format only, no schema): varint
 * and length-delimited fields into a growable buffer. Nested messages are
 * written in place: pb__begin() reserves one byte for the length and
 * pb__end() widens it when the message is longer than 127 bytes. A failed
 * allocation is sticky (oom) and the rest of the writes are dropped.
 */
#ifndef DRIP_PROTOBUF_H
#define DRIP_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pb {
	uint8_t *buf;
	size_t len, cap;
	bool oom;
};

void pb__release(struct pb *b);
void pb__raw(struct pb *b, const void *p, size_t n);
void pb__varint(struct pb *b, uint64_t v); /* a bare varint (for packed fields) */

/* Fields (written even when 0: callers leave out proto3 defaults themselves) */
void pb__uint(struct pb *b, uint32_t field, uint64_t v); /* uint64, uint32, bool */
void pb__int(struct pb *b, uint32_t field,
	     int64_t v); /* int64: two's complement, 10 bytes if < 0 */
void pb__bytes(struct pb *b, uint32_t field, const void *p, size_t n);	    /* string, bytes */
void pb__packed(struct pb *b, uint32_t field, const uint64_t *v, size_t n); /* repeated varints */

/* A nested message: fields written between begin and end belong to it */
size_t pb__begin(struct pb *b, uint32_t field);
void pb__end(struct pb *b, size_t mark);

#endif /* DRIP_PROTOBUF_H */
