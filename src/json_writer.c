// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Streaming JSON writer. It owns commas, nesting and indentation, and every
 * string it writes is valid UTF-8 JSON whatever bytes it was given: '"' and
 * '\' are escaped, control bytes (< 0x20, 0x7f) become \b \f \n \r \t or
 * \u00XX, and each byte that is not part of a valid UTF-8 sequence becomes
 * \ufffd. Runs of bytes that need no escaping are copied whole.
 *
 * A report of 100k stacks is tens of millions of small writes, so the writer
 * gathers them in its own buffer and hands the stream 64 KiB at a time (a
 * call into stdio per piece was a third of the time): write to the stream
 * yourself only after json_writer__free(), which flushes. It also takes the
 * stream lock in json_writer__new() and releases it in __free(), so other
 * threads' writes to the same stream wait for the report instead of landing
 * in the middle of it; a writer belongs to the thread that created it.
 *
 * Misuse (a key outside an object, a value in an object without a key, an
 * unbalanced end) is dropped so the output stays well-formed, and reported
 * by json_writer__free() as -EINVAL. A container deeper than JSON_MAX_DEPTH
 * is written as null, its contents are dropped, and free reports -E2BIG.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "drip/json_writer.h"
#include "drip/utf8.h"

#define JSON_MAX_DEPTH 64
#define JSON_BUF_SIZE  (64 * 1024)

enum json_ctx {
	CTX_OBJ,
	CTX_ARR,
};

struct json_level {
	unsigned char kind; /* enum json_ctx */
	bool has_items;
	bool one_line; /* opened inline, or inside a container that was */
};

struct json_writer {
	FILE *f;
	int indent;
	int depth;	/* open containers in stack[] */
	int skip;	/* > 0: inside a container too deep to write */
	bool after_key; /* a key was written: its value comes next */
	bool top_items; /* a top-level value was written */
	bool io_err;	/* the stream refused a write */
	int err;
	size_t len; /* bytes in buf */
	struct json_level stack[JSON_MAX_DEPTH];
	char buf[JSON_BUF_SIZE];
};

/* bytes a string can hold as they are: printable ASCII but '"' and '\' (and not NUL) */
static const bool plain[256] = { [' ' ... '!'] = true, ['#' ... '['] = true, [']' ... '~'] = true };

struct json_writer *json_writer__new(FILE *f, int indent)
{
	struct json_writer *w;

	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->f = f;
	w->indent = indent > 0 ? indent : 0;
	flockfile(f);
	return w;
}

static void flush(struct json_writer *w)
{
	if (w->len && fwrite_unlocked(w->buf, 1, w->len, w->f) != w->len)
		w->io_err = true;
	w->len = 0;
}

static void out(struct json_writer *w, const void *s, size_t n)
{
	if (n > sizeof(w->buf) - w->len) {
		flush(w);
		if (n > sizeof(w->buf) / 2) {
			if (fwrite_unlocked(s, 1, n, w->f) != n)
				w->io_err = true;
			return;
		}
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void out_c(struct json_writer *w, char c)
{
	if (w->len == sizeof(w->buf))
		flush(w);
	w->buf[w->len++] = c;
}

int json_writer__free(struct json_writer *w)
{
	int err;

	if (!w)
		return 0;
	flush(w);
	err = w->err;
	if (!err && (w->depth || w->skip || w->after_key))
		err = -EINVAL; /* unclosed container or dangling key */
	if (w->io_err || fflush_unlocked(w->f) || ferror_unlocked(w->f))
		err = -EIO;
	funlockfile(w->f);
	free(w);
	return err;
}

static void set_err(struct json_writer *w, int err)
{
	if (!w->err)
		w->err = err;
}

static void put_escape(struct json_writer *w, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

	switch (c) {
	case '"':
		out(w, "\\\"", 2);
		break;
	case '\\':
		out(w, "\\\\", 2);
		break;
	case '\b':
		out(w, "\\b", 2);
		break;
	case '\f':
		out(w, "\\f", 2);
		break;
	case '\n':
		out(w, "\\n", 2);
		break;
	case '\r':
		out(w, "\\r", 2);
		break;
	case '\t':
		out(w, "\\t", 2);
		break;
	default:
		if (c >= 0x80)
			out(w, "\\ufffd", 6); /* invalid UTF-8: one per byte */
		else
			out(w, u, sizeof(u));
	}
}

/*
 * The high bit set in each byte of v that needs escaping (>= 0x80, < 0x20,
 * '"', '\\' or 0x7f), and maybe in bytes above the first such byte (a borrow
 * or carry goes up), never below it: the lowest bit set is exact.
 */
static uint64_t special_bytes(uint64_t v)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t quote = v ^ (ones * '"'), bslash = v ^ (ones * '\\');

	return (v | ((v - ones * 0x20) & ~v) | (v + ones) | ((quote - ones) & ~quote) |
		((bslash - ones) & ~bslash)) &
	       high;
}

/* The end of the run of bytes at p that need no escaping */
static const unsigned char *plain_run(const unsigned char *p, const unsigned char *end)
{
	uint64_t v, m;

	for (; end - p >= 8; p += 8) { /* eight bytes a step: names are long and mostly plain */
		memcpy(&v, p, 8);
		m = special_bytes(v);
		if (m)
			return p + (__builtin_ctzll(m) >> 3); /* little-endian: the first byte */
	}
	while (p < end && plain[*p])
		p++;
	return p;
}

static void escape(struct json_writer *w, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;
	size_t n;

	while ((p = plain_run(p, end)) < end) {
		if (*p >= 0x80 && (n = utf8_decode(p, end - p, NULL))) {
			p += n;
			continue;
		}
		if (p > run)
			out(w, run, p - run);
		put_escape(w, *p);
		run = ++p;
	}
	if (p > run)
		out(w, run, p - run);
}

void json_escape(FILE *f, const char *s, size_t len)
{
	struct json_writer *w = json_writer__new(f, 0);

	if (!w)
		return; /* out of memory: nothing written (the stream is unchanged) */
	escape(w, s, len);
	json_writer__free(w);
}

static void newline_indent(struct json_writer *w, int depth)
{
	static const char spaces[] = "                                ";
	const size_t chunk = sizeof(spaces) - 1;
	size_t n;

	if (!w->indent)
		return;
	out_c(w, '\n');
	for (n = (size_t)depth * w->indent; n > chunk; n -= chunk)
		out(w, spaces, chunk);
	out(w, spaces, n);
}

/* ',' after an earlier item, then a new line (or one space on an inline line) */
static void separate(struct json_writer *w, struct json_level *l)
{
	if (l->has_items)
		out_c(w, ',');
	if (!l->one_line)
		newline_indent(w, w->depth);
	else if (l->has_items && w->indent)
		out_c(w, ' ');
	l->has_items = true;
}

/* Separator and indentation before a value; false: drop the value. */
static bool begin_value(struct json_writer *w)
{
	struct json_level *l;

	if (w->skip)
		return false;
	if (w->after_key) {
		w->after_key = false;
		return true;
	}
	if (!w->depth) {
		if (w->top_items)
			out_c(w, '\n'); /* a stream of top-level values: one per line */
		w->top_items = true;
		return true;
	}
	l = &w->stack[w->depth - 1];
	if (l->kind == CTX_OBJ) {
		set_err(w, -EINVAL); /* value without a key */
		return false;
	}
	separate(w, l);
	return true;
}

static void put_string(struct json_writer *w, const char *s, size_t len)
{
	out_c(w, '"');
	escape(w, s, len);
	out_c(w, '"');
}

static void start(struct json_writer *w, enum json_ctx kind, bool one_line)
{
	if (w->skip) {
		w->skip++;
		return;
	}
	if (!begin_value(w))
		return;
	if (w->depth == JSON_MAX_DEPTH) {
		out(w, "null", 4);
		set_err(w, -E2BIG);
		w->skip = 1;
		return;
	}
	w->stack[w->depth].kind = kind;
	w->stack[w->depth].has_items = false;
	w->stack[w->depth].one_line = one_line || (w->depth && w->stack[w->depth - 1].one_line);
	w->depth++;
	out_c(w, kind == CTX_OBJ ? '{' : '[');
}

static void end(struct json_writer *w, enum json_ctx kind)
{
	struct json_level *l;

	if (w->skip) {
		w->skip--;
		return;
	}
	if (!w->depth) {
		set_err(w, -EINVAL);
		return;
	}
	l = &w->stack[--w->depth];
	if (l->kind != kind)
		set_err(w, -EINVAL); /* close what is open, so the output stays valid */
	if (w->after_key) {
		set_err(w, -EINVAL);
		out(w, "null", 4);
		w->after_key = false;
	}
	if (l->has_items && !l->one_line)
		newline_indent(w, w->depth);
	out_c(w, l->kind == CTX_OBJ ? '}' : ']');
}

void json__obj_start(struct json_writer *w)
{
	start(w, CTX_OBJ, false);
}

void json__obj_start_inline(struct json_writer *w)
{
	start(w, CTX_OBJ, true);
}

void json__obj_end(struct json_writer *w)
{
	end(w, CTX_OBJ);
}

void json__arr_start(struct json_writer *w)
{
	start(w, CTX_ARR, false);
}

void json__arr_start_inline(struct json_writer *w)
{
	start(w, CTX_ARR, true);
}

void json__arr_end(struct json_writer *w)
{
	end(w, CTX_ARR);
}

void json__keyn(struct json_writer *w, const char *key, size_t len)
{
	struct json_level *l;

	if (w->skip)
		return;
	l = w->depth ? &w->stack[w->depth - 1] : NULL;
	if (!l || l->kind != CTX_OBJ || w->after_key || !key) {
		set_err(w, -EINVAL);
		return;
	}
	separate(w, l);
	put_string(w, key, len);
	out(w, ": ", w->indent ? 2 : 1);
	w->after_key = true;
}

void json__strn(struct json_writer *w, const char *s, size_t len)
{
	if (!begin_value(w))
		return;
	if (s)
		put_string(w, s, len);
	else
		out(w, "null", 4);
}

/* a scalar already in text form */
static void put_value(struct json_writer *w, const char *text, size_t len)
{
	if (begin_value(w))
		out(w, text, len);
}

static void put_u64(struct json_writer *w, uint64_t v, bool neg)
{
	char buf[21], *p = buf + sizeof(buf);

	do {
		*--p = '0' + v % 10;
		v /= 10;
	} while (v);
	if (neg)
		*--p = '-';
	put_value(w, p, buf + sizeof(buf) - p);
}

void json__u64(struct json_writer *w, uint64_t v)
{
	put_u64(w, v, false);
}

void json__i64(struct json_writer *w, int64_t v)
{
	put_u64(w, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}

/*
 * The shortest of %.15g and %.17g that reads back as v, so 0.1 stays "0.1";
 * ".0" is added to integral values so readers keep them as floats.
 */
void json__double(struct json_writer *w, double v)
{
	char buf[40], *p;

	if (!isfinite(v)) {
		put_value(w, "null", 4);
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	for (p = buf; *p; p++)
		if (*p == ',')
			*p = '.'; /* LC_NUMERIC radix */
	if (!strpbrk(buf, ".e"))
		strcat(buf, ".0");
	put_value(w, buf, strlen(buf));
}

void json__bool(struct json_writer *w, int v)
{
	if (v)
		put_value(w, "true", 4);
	else
		put_value(w, "false", 5);
}

void json__null(struct json_writer *w)
{
	put_value(w, "null", 4);
}
