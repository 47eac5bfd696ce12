// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * CPython's line tables, decoded as Objects/codeobject.c does (advance(),
 * PyCode_Addr2Line), but from untrusted bytes: every read is checked against
 * the end, numbers are capped, and the walk is linear in the table.
 */
#include <errno.h>
#include <stdbool.h>

#include "drip/pyline.h"

#define MAX_VARINT_CHUNKS 5 /* 30 bits: more is no line number CPython writes */

struct rd {
	const uint8_t *p, *end;
};

/* 6-bit chunks, low first, 0x40 set on all but the last. */
static int rd_varint(struct rd *r, uint32_t *v)
{
	uint32_t val = 0;

	for (int shift = 0, i = 0; i < MAX_VARINT_CHUNKS; i++, shift += 6) {
		uint8_t b;

		if (r->p >= r->end)
			return -EBADMSG;
		b = *r->p++;
		val |= (uint32_t)(b & 63) << shift;
		if (!(b & 64)) {
			*v = val;
			return 0;
		}
	}
	return -EBADMSG;
}

static int rd_svarint(struct rd *r, int64_t *v)
{
	uint32_t u;
	int err = rd_varint(r, &u);

	if (err)
		return err;
	*v = u & 1 ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
	return 0;
}

static int line_or_unknown(int64_t line)
{
	return line > 0 && line <= INT32_MAX ? (int)line : 0;
}

/* 3.11 location table: entries start with a byte with bit 7 set: 1 cccc lll. */
static int addr2line_311(const uint8_t *tab, size_t len, int64_t line, int instr)
{
	struct rd r = { tab, tab + len };
	int64_t addr = 0;

	while (r.p < r.end) {
		uint8_t head = *r.p++;
		unsigned int code = (head >> 3) & 15;
		int64_t delta = 0, here;
		struct rd arg = r;

		if (!(head & 0x80))
			return -EBADMSG; /* not an entry's first byte */
		switch (code) {
		case 15: /* no location */
			break;
		case 14: /* long form */
		case 13: /* no columns */
			if (rd_svarint(&arg, &delta))
				return -EBADMSG;
			break;
		case 10:
		case 11:
		case 12: /* one line form: the delta is in the code */
			delta = code - 10;
			break;
		default: /* short form: same line */
			break;
		}
		line += delta;
		if (line < INT32_MIN || line > INT32_MAX)
			return -EBADMSG;
		here = code == 15 ? 0 : line;
		addr += ((head & 7) + 1) * 2;
		if (instr < addr)
			return line_or_unknown(here);
		/* the entry's other bytes: up to the next first byte */
		while (r.p < r.end && !(*r.p & 0x80))
			r.p++;
	}
	return 0; /* past the table */
}

/* 3.10: pairs (unsigned byte delta, signed line delta); -128 is "no line". */
static int addr2line_310(const uint8_t *tab, size_t len, int64_t line, int instr)
{
	int64_t end = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		int64_t start = end;
		int8_t ldelta = (int8_t)tab[i + 1];
		int64_t here = 0;

		end += tab[i];
		if (ldelta != -128) {
			line += ldelta;
			here = line;
		}
		if (end > instr && end > start)
			return line_or_unknown(here);
	}
	return len & 1 ? -EBADMSG : 0;
}

int pyline__addr2line(enum pyline_format fmt, const uint8_t *tab, size_t len, int firstlineno,
		      int instr)
{
	if (instr < 0)
		return line_or_unknown(firstlineno);
	if (!tab)
		return 0;
	switch (fmt) {
	case PYLINE_310:
		return addr2line_310(tab, len, firstlineno, instr);
	case PYLINE_311:
		return addr2line_311(tab, len, firstlineno, instr);
	}
	return -EINVAL;
}
