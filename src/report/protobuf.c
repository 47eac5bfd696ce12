// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Protocol-buffers wire format: see protobuf.h and protobuf.dev/programming-guides/encoding */
#include <stdlib.h>
#include <string.h>

#include "drip/protobuf.h"

enum wire_type { WIRE_VARINT = 0, WIRE_LEN = 2 };

void pb__release(struct pb *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

static bool reserve(struct pb *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->oom)
		return false;
	if (b->cap - b->len >= n)
		return true;
	for (cap = b->cap ? b->cap : 4096; cap - b->len < n; cap *= 2) {
		if (cap > SIZE_MAX / 2) {
			b->oom = true;
			return false;
		}
	}
	p = realloc(b->buf, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->buf = p;
	b->cap = cap;
	return true;
}

void pb__raw(struct pb *b, const void *p, size_t n)
{
	if (!n || !reserve(b, n))
		return;
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static size_t varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)v | 0x80;
		v >>= 7;
	}
	*p = (uint8_t)v;
}

void pb__varint(struct pb *b, uint64_t v)
{
	size_t n = varint_size(v);

	if (!reserve(b, n))
		return;
	put_varint(b->buf + b->len, v);
	b->len += n;
}

static void tag(struct pb *b, uint32_t field, enum wire_type wt)
{
	pb__varint(b, (uint64_t)field << 3 | wt);
}

void pb__uint(struct pb *b, uint32_t field, uint64_t v)
{
	tag(b, field, WIRE_VARINT);
	pb__varint(b, v);
}

void pb__int(struct pb *b, uint32_t field, int64_t v)
{
	pb__uint(b, field, (uint64_t)v);
}

void pb__bytes(struct pb *b, uint32_t field, const void *p, size_t n)
{
	tag(b, field, WIRE_LEN);
	pb__varint(b, n);
	pb__raw(b, p, n);
}

void pb__packed(struct pb *b, uint32_t field, const uint64_t *v, size_t n)
{
	size_t len = 0, i;

	if (!n)
		return;
	for (i = 0; i < n; i++)
		len += varint_size(v[i]);
	tag(b, field, WIRE_LEN);
	pb__varint(b, len);
	if (!reserve(b, len))
		return;
	for (i = 0; i < n; i++)
		pb__varint(b, v[i]);
}

size_t pb__begin(struct pb *b, uint32_t field)
{
	tag(b, field, WIRE_LEN);
	pb__varint(b, 0); /* the length's first byte; pb__end() makes room for more */
	return b->len;
}

void pb__end(struct pb *b, size_t mark)
{
	size_t len, n;

	if (b->oom || mark > b->len)
		return;
	len = b->len - mark;
	n = varint_size(len);
	if (n > 1) {
		if (!reserve(b, n - 1))
			return;
		memmove(b->buf + mark + n - 1, b->buf + mark, len);
		b->len += n - 1;
	}
	put_varint(b->buf + mark - 1, len);
}
