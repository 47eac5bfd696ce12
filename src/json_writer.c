// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Streaming JSON writer. It owns commas, nesting and indentation, and every
 * string it writes is valid UTF-8 JSON whatever bytes it was given: '"' and
 * '\' are escaped, control bytes (< 0x20, 0x7f) become \b \f \n \r \t or
 * \u00XX, and each byte that is not part of a valid UTF-8 sequence becomes
 * \ufffd. Runs of bytes that need no escaping go out in one fwrite.
 *
 * A report of 100k stacks is millions of small writes, so the writer takes
 * the stream lock in json_writer__new() and releases it in __free(), and
 * writes with the *_unlocked functions (locking per call cost 30%). Other
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
	int err;
	struct json_level stack[JSON_MAX_DEPTH];
};

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

int json_writer__free(struct json_writer *w)
{
	int err;

	if (!w)
		return 0;
	err = w->err;
	if (!err && (w->depth || w->skip || w->after_key))
		err = -EINVAL; /* unclosed container or dangling key */
	if (fflush_unlocked(w->f) || ferror_unlocked(w->f))
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

static void put_escape(FILE *f, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

	switch (c) {
	case '"':
		fputs_unlocked("\\\"", f);
		break;
	case '\\':
		fputs_unlocked("\\\\", f);
		break;
	case '\b':
		fputs_unlocked("\\b", f);
		break;
	case '\f':
		fputs_unlocked("\\f", f);
		break;
	case '\n':
		fputs_unlocked("\\n", f);
		break;
	case '\r':
		fputs_unlocked("\\r", f);
		break;
	case '\t':
		fputs_unlocked("\\t", f);
		break;
	default:
		if (c >= 0x80)
			fputs_unlocked("\\ufffd", f); /* invalid UTF-8: one per byte */
		else
			fwrite_unlocked(u, 1, sizeof(u), f);
	}
}

static void escape(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;
	size_t n;

	while (p < end) {
		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') {
			p++;
			continue;
		}
		if (*p >= 0x80 && (n = utf8_decode(p, end - p, NULL))) {
			p += n;
			continue;
		}
		if (p > run)
			fwrite_unlocked(run, 1, p - run, f);
		put_escape(f, *p);
		run = ++p;
	}
	if (p > run)
		fwrite_unlocked(run, 1, p - run, f);
}

void json_escape(FILE *f, const char *s, size_t len)
{
	flockfile(f);
	escape(f, s, len);
	funlockfile(f);
}

static void newline_indent(struct json_writer *w, int depth)
{
	static const char spaces[] = "                                ";
	const size_t chunk = sizeof(spaces) - 1;
	size_t n;

	if (!w->indent)
		return;
	fputc_unlocked('\n', w->f);
	for (n = (size_t)depth * w->indent; n > chunk; n -= chunk)
		fwrite_unlocked(spaces, 1, chunk, w->f);
	fwrite_unlocked(spaces, 1, n, w->f);
}

/* ',' after an earlier item, then a new line (or one space on an inline line) */
static void separate(struct json_writer *w, struct json_level *l)
{
	if (l->has_items)
		fputc_unlocked(',', w->f);
	if (!l->one_line)
		newline_indent(w, w->depth);
	else if (l->has_items && w->indent)
		fputc_unlocked(' ', w->f);
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
			fputc_unlocked('\n', w->f); /* a stream of top-level values: one per line */
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
	fputc_unlocked('"', w->f);
	escape(w->f, s, len);
	fputc_unlocked('"', w->f);
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
		fputs_unlocked("null", w->f);
		set_err(w, -E2BIG);
		w->skip = 1;
		return;
	}
	w->stack[w->depth].kind = kind;
	w->stack[w->depth].has_items = false;
	w->stack[w->depth].one_line = one_line || (w->depth && w->stack[w->depth - 1].one_line);
	w->depth++;
	fputc_unlocked(kind == CTX_OBJ ? '{' : '[', w->f);
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
		fputs_unlocked("null", w->f);
		w->after_key = false;
	}
	if (l->has_items && !l->one_line)
		newline_indent(w, w->depth);
	fputc_unlocked(l->kind == CTX_OBJ ? '}' : ']', w->f);
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

void json__key(struct json_writer *w, const char *key)
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
	put_string(w, key, strlen(key));
	fputs_unlocked(w->indent ? ": " : ":", w->f);
	w->after_key = true;
}

void json__strn(struct json_writer *w, const char *s, size_t len)
{
	if (!begin_value(w))
		return;
	if (s)
		put_string(w, s, len);
	else
		fputs_unlocked("null", w->f);
}

void json__str(struct json_writer *w, const char *s)
{
	json__strn(w, s, s ? strlen(s) : 0);
}

/* a scalar already in text form */
static void put_value(struct json_writer *w, const char *text, size_t len)
{
	if (begin_value(w))
		fwrite_unlocked(text, 1, len, w->f);
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
