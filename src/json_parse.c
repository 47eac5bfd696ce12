// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Strict, bounded JSON pull parser (see json_parse.h). The cursor p only
 * moves forward and is compared with end before every read. The grammar is
 * RFC 8259's, with no extensions: no comments, no trailing commas, no NaN,
 * no leading zeros or '+', no single quotes, one value per input. Strings
 * must be valid UTF-8 (Unicode table 3-7, as json_writer.c writes them);
 * \u escapes must pair surrogates. A number is kept exactly as a u64 when it
 * is a non-negative integer that fits, and as a double always (strtod: drip
 * never calls setlocale, so the radix is '.').
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drip/json_parse.h"
#include "drip/utf8.h"

#define DEFAULT_DEPTH  64
#define DEFAULT_STRING (1u << 20)
#define MAX_NUMBER     128 /* characters in one number */

enum state {
	ST_VALUE,	/* any value */
	ST_FIRST_VALUE, /* after '[': a value or ']' */
	ST_FIRST_KEY,	/* after '{': a key or '}' */
	ST_KEY,		/* after ',' in an object */
	ST_AFTER,	/* after a value: ',', the container's end, or the end of input */
	ST_DONE,	/* JSON_EOF returned */
};

void json_parser__init(struct json_parser *jp, const char *buf, size_t len,
		       const struct json_limits *lim)
{
	memset(jp, 0, offsetof(struct json_parser, stack));
	jp->start = jp->p = (const unsigned char *)buf;
	jp->end = jp->start + len;
	jp->lim.max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_DEPTH;
	if (jp->lim.max_depth > JSON_PARSE_MAX_DEPTH)
		jp->lim.max_depth = JSON_PARSE_MAX_DEPTH;
	jp->lim.max_string = lim && lim->max_string ? lim->max_string : DEFAULT_STRING;
	jp->state = ST_VALUE;
}

void json_parser__release(struct json_parser *jp)
{
	free(jp->sbuf);
	jp->sbuf = NULL;
	jp->sbuf_cap = 0;
}

int json_parser__fail(struct json_parser *jp, size_t pos, int err, const char *fmt, ...)
{
	va_list ap;

	if (jp->err)
		return jp->err;
	jp->err = err;
	jp->err_pos = pos;
	va_start(ap, fmt);
	vsnprintf(jp->why, sizeof(jp->why), fmt, ap);
	va_end(ap);
	return err;
}

void json_parser__where(const struct json_parser *jp, size_t pos, size_t *line, size_t *col)
{
	const unsigned char *p, *end = jp->start + pos;

	if (end > jp->end)
		end = jp->end;
	*line = 1;
	*col = 1;
	for (p = jp->start; p < end; p++) {
		if (*p == '\n') {
			++*line;
			*col = 1;
		} else if ((*p & 0xc0) != 0x80) {
			++*col; /* a character starts here (continuation bytes do not count) */
		}
	}
}

const char *json_parser__error(struct json_parser *jp)
{
	size_t line, col;

	if (!jp->err)
		return "";
	json_parser__where(jp, jp->err_pos, &line, &col);
	snprintf(jp->msg, sizeof(jp->msg), "line %zu col %zu: %s", line, col, jp->why);
	return jp->msg;
}

static size_t offset(const struct json_parser *jp, const unsigned char *p)
{
	return p - jp->start;
}

/* "'x'" or "byte 0xNN" or "end of input", for messages */
static const char *describe(const struct json_parser *jp, const unsigned char *p, char buf[16])
{
	if (p >= jp->end)
		return "end of input (truncated?)";
	if (*p > 0x20 && *p < 0x7f)
		snprintf(buf, 16, "'%c'", *p);
	else
		snprintf(buf, 16, "byte 0x%02x", *p);
	return buf;
}

static int unexpected(struct json_parser *jp, const unsigned char *p, const char *wanted)
{
	char b[16];

	return json_parser__fail(jp, offset(jp, p), -EBADMSG, "expected %s, found %s", wanted,
				 describe(jp, p, b));
}

static void skip_ws(struct json_parser *jp)
{
	const unsigned char *p = jp->p;

	while (p < jp->end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
		p++;
	jp->p = p;
}

static int sbuf_grow(struct json_parser *jp, size_t len, size_t add, size_t pos);

/* Room for add more bytes (and a NUL) after len; -E2BIG past max_string. */
static inline int sbuf_reserve(struct json_parser *jp, size_t len, size_t add, size_t pos)
{
	if (len + add < jp->sbuf_cap && len + add <= jp->lim.max_string)
		return 0;
	return sbuf_grow(jp, len, add, pos);
}

static int sbuf_grow(struct json_parser *jp, size_t len, size_t add, size_t pos)
{
	size_t need = len + add + 1, cap;
	char *n;

	if (len + add > jp->lim.max_string)
		return json_parser__fail(jp, pos, -E2BIG, "string longer than %zu bytes",
					 jp->lim.max_string);
	if (need <= jp->sbuf_cap)
		return 0;
	cap = jp->sbuf_cap ? jp->sbuf_cap : 64;
	while (cap < need)
		cap *= 2;
	n = realloc(jp->sbuf, cap);
	if (!n)
		return json_parser__fail(jp, pos, -ENOMEM, "out of memory");
	jp->sbuf = n;
	jp->sbuf_cap = cap;
	return 0;
}

static int hex4(const unsigned char *p, unsigned *v)
{
	unsigned r = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];

		r <<= 4;
		if (c >= '0' && c <= '9')
			r |= c - '0';
		else if (c >= 'a' && c <= 'f')
			r |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			r |= c - 'A' + 10;
		else
			return -1;
	}
	*v = r;
	return 0;
}

static size_t utf8_put(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = 0xc0 | cp >> 6;
		out[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = 0xe0 | cp >> 12;
		out[1] = 0x80 | (cp >> 6 & 0x3f);
		out[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	out[0] = 0xf0 | cp >> 18;
	out[1] = 0x80 | (cp >> 12 & 0x3f);
	out[2] = 0x80 | (cp >> 6 & 0x3f);
	out[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/* \uXXXX at p (p[0] == 'u'), maybe a surrogate pair; *p moves past it */
static int unicode_escape(struct json_parser *jp, const unsigned char **pp, unsigned *cp)
{
	const unsigned char *p = *pp, *esc = p - 1;
	unsigned lo;

	if (jp->end - p < 5 || hex4(p + 1, cp))
		return json_parser__fail(jp, offset(jp, esc), -EBADMSG,
					 "expected 4 hex digits after '\\u'");
	p += 5;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return json_parser__fail(jp, offset(jp, esc), -EBADMSG,
					 "lone low surrogate \\u%04x", *cp);
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		if (jp->end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) ||
		    lo < 0xdc00 || lo > 0xdfff)
			return json_parser__fail(jp, offset(jp, esc), -EBADMSG,
						 "high surrogate \\u%04x without a low one", *cp);
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
		p += 6;
	}
	*pp = p;
	return 0;
}

static int backslash(struct json_parser *jp, const unsigned char **pp, char *out, size_t *n)
{
	const unsigned char *p = *pp; /* at '\' */
	unsigned cp;
	int err;

	if (jp->end - p < 2)
		return unexpected(jp, jp->end, "an escape");
	p++;
	switch (*p) {
	case '"':
	case '\\':
	case '/':
		*out = *p;
		break;
	case 'b':
		*out = '\b';
		break;
	case 'f':
		*out = '\f';
		break;
	case 'n':
		*out = '\n';
		break;
	case 'r':
		*out = '\r';
		break;
	case 't':
		*out = '\t';
		break;
	case 'u':
		err = unicode_escape(jp, &p, &cp);
		if (err)
			return err;
		jp->nul |= !cp;
		*n = utf8_put(out, cp);
		*pp = p;
		return 0;
	default:
		return unexpected(jp, p,
				  "an escape ('\"', '\\', '/', 'b', 'f', 'n', 'r', 't', 'u')");
	}
	*n = 1;
	*pp = p + 1;
	return 0;
}

/*
 * The high bit set in each byte of v that ends a run of plain string bytes
 * (>= 0x80, < 0x20, '"' or '\\'), and maybe in bytes above the first such
 * byte (a borrow carries up), never below it: the lowest bit set is exact.
 */
static uint64_t special_bytes(uint64_t v)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t quote = v ^ (ones * '"'), bslash = v ^ (ones * '\\');

	return (v | ((v - ones * 0x20) & ~v) | ((quote - ones) & ~quote) |
		((bslash - ones) & ~bslash)) &
	       high;
}

/* The end of the run of plain bytes (ASCII, no control byte, '"' or '\\') at p */
static const unsigned char *plain_run(const unsigned char *p, const unsigned char *end)
{
	uint64_t v, m;

	for (; end - p >= 8; p += 8) { /* eight bytes a step: strings are mostly plain */
		memcpy(&v, p, 8);
		m = special_bytes(v);
		if (m)
			return p + (__builtin_ctzll(m) >> 3); /* little-endian: the first byte */
	}
	while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
		p++;
	return p;
}

/* The string starting at jp->p ('"'), decoded into sbuf */
static int parse_string(struct json_parser *jp, struct json_token *t)
{
	const unsigned char *p = jp->p + 1, *end = jp->end, *run;
	size_t len = 0, pos = offset(jp, jp->p), n = 0;
	char esc[4];
	int err;

	jp->nul = false;
	err = sbuf_reserve(jp, 0, 0, pos);
	for (;;) {
		if (err)
			return err;
		run = p;
		p = plain_run(p, end);
		if (p > run) {
			err = sbuf_reserve(jp, len, p - run, pos);
			if (err)
				return err;
			memcpy(jp->sbuf + len, run, p - run);
			len += p - run;
		}
		if (p == end)
			return json_parser__fail(jp, pos, -EBADMSG, "unterminated string");
		if (*p == '"')
			break;
		if (*p == '\\') {
			err = backslash(jp, &p, esc, &n);
			if (!err)
				err = sbuf_reserve(jp, len, n, pos);
			if (!err) {
				memcpy(jp->sbuf + len, esc, n);
				len += n;
			}
			continue;
		}
		if (*p < 0x20)
			return json_parser__fail(
				jp, offset(jp, p), -EBADMSG,
				"control byte 0x%02x in a string (it must be escaped)", *p);
		n = utf8_decode(p, end - p, NULL);
		if (!n)
			return json_parser__fail(jp, offset(jp, p), -EBADMSG,
						 "invalid UTF-8 byte 0x%02x in a string", *p);
		err = sbuf_reserve(jp, len, n, pos);
		if (!err) {
			memcpy(jp->sbuf + len, p, n);
			len += n;
			p += n;
		}
	}
	jp->sbuf[len] = '\0';
	jp->p = p + 1;
	t->str = jp->sbuf;
	t->len = len;
	t->nul = jp->nul;
	return 0;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static const unsigned char *digits(const unsigned char *p, const unsigned char *end)
{
	while (p < end && is_digit(*p))
		p++;
	return p;
}

/* q..p as a double (strtod, so it rounds as C does); not inline: its buffer is big */
static __attribute__((noinline)) double number_value(const unsigned char *q, const unsigned char *p)
{
	char buf[MAX_NUMBER + 1];

	memcpy(buf, q, p - q);
	buf[p - q] = '\0';
	return strtod(buf, NULL);
}

static int parse_number(struct json_parser *jp, struct json_token *t)
{
	const unsigned char *q = jp->p, *p = q, *end = jp->end, *d;
	bool neg = false;
	uint64_t v = 0;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (p == end || !is_digit(*p))
		return unexpected(jp, p, "a digit");
	d = p;
	p = *p == '0' ? p + 1 : digits(p, end);
	t->integer = true;
	if (p < end && *p == '.') {
		t->integer = false;
		if (++p == end || !is_digit(*p))
			return unexpected(jp, p, "a digit after '.'");
		p = digits(p, end);
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		t->integer = false;
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || !is_digit(*p))
			return unexpected(jp, p, "a digit in the exponent");
		p = digits(p, end);
	}
	if (p < end && (is_digit(*p) || *p == '.' || *p == '+' || *p == '-' ||
			((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
		return json_parser__fail(jp, offset(jp, q), -EBADMSG, "invalid number");
	if (p - q > MAX_NUMBER)
		return json_parser__fail(jp, offset(jp, q), -E2BIG,
					 "number longer than %d characters", MAX_NUMBER);
	t->is_u64 = t->integer && !neg;
	for (; t->is_u64 && d < p; d++) {
		if (v > (UINT64_MAX - (*d - '0')) / 10)
			t->is_u64 = false; /* too large: only the double is left */
		v = v * 10 + (*d - '0');
	}
	t->u64 = t->is_u64 ? v : 0;
	/* an exact integer converts rounded to nearest, as strtod would round it */
	t->num = t->is_u64 ? (double)v : number_value(q, p);
	t->type = JSON_NUM;
	jp->p = p;
	return 0;
}

static int parse_literal(struct json_parser *jp, struct json_token *t)
{
	static const struct {
		const char *text;
		enum json_type type;
		bool value;
	} lits[] = { { "true", JSON_BOOL, true },
		     { "false", JSON_BOOL, false },
		     { "null", JSON_NULL, false } };
	const unsigned char *p = jp->p;

	for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		size_t n = strlen(lits[i].text);

		if ((size_t)(jp->end - p) < n) {
			if (!memcmp(p, lits[i].text, jp->end - p))
				return unexpected(jp, jp->end, lits[i].text); /* truncated */
			continue;
		}
		if (memcmp(p, lits[i].text, n))
			continue;
		if ((size_t)(jp->end - p) > n &&
		    (((p[n] | 0x20) >= 'a' && (p[n] | 0x20) <= 'z') || is_digit(p[n])))
			break;
		t->type = lits[i].type;
		t->boolean = lits[i].value;
		jp->p = p + n;
		return 0;
	}
	return unexpected(jp, p, "a value");
}

static int open_container(struct json_parser *jp, struct json_token *t, bool object)
{
	if (jp->depth >= jp->lim.max_depth)
		return json_parser__fail(jp, t->pos, -E2BIG, "nested deeper than %zu levels",
					 jp->lim.max_depth);
	jp->stack[jp->depth++] = object;
	jp->p++;
	jp->state = object ? ST_FIRST_KEY : ST_FIRST_VALUE;
	t->type = object ? JSON_OBJ_START : JSON_ARR_START;
	return 0;
}

static int close_container(struct json_parser *jp, struct json_token *t)
{
	bool object = jp->stack[--jp->depth];

	jp->p++;
	jp->state = ST_AFTER;
	t->type = object ? JSON_OBJ_END : JSON_ARR_END;
	return 0;
}

static int parse_value(struct json_parser *jp, struct json_token *t)
{
	int err;

	if (jp->p == jp->end)
		return unexpected(jp, jp->p, "a value");
	switch (*jp->p) {
	case '{':
		return open_container(jp, t, true);
	case '[':
		return open_container(jp, t, false);
	case '"':
		err = parse_string(jp, t);
		t->type = JSON_STR;
		break;
	case 't':
	case 'f':
	case 'n':
		err = parse_literal(jp, t);
		break;
	default:
		if (*jp->p != '-' && !is_digit(*jp->p))
			return unexpected(jp, jp->p, "a value");
		err = parse_number(jp, t);
	}
	if (!err)
		jp->state = ST_AFTER;
	return err;
}

static int parse_key(struct json_parser *jp, struct json_token *t)
{
	int err;

	if (jp->p == jp->end || *jp->p != '"')
		return unexpected(jp, jp->p,
				  jp->state == ST_KEY ? "a key after ','" : "a key or '}'");
	err = parse_string(jp, t);
	if (err)
		return err;
	t->type = JSON_KEY;
	skip_ws(jp);
	if (jp->p == jp->end || *jp->p != ':')
		return unexpected(jp, jp->p, "':' after a key");
	jp->p++;
	jp->state = ST_VALUE;
	return 0;
}

/* After a value: ',' (then go on) or the end of the container or of the input */
static int after_value(struct json_parser *jp, struct json_token *t, bool *again)
{
	bool object;

	if (!jp->depth) {
		if (jp->p != jp->end)
			return unexpected(jp, jp->p, "nothing after the JSON value");
		jp->state = ST_DONE;
		t->type = JSON_EOF;
		return 0;
	}
	object = jp->stack[jp->depth - 1];
	if (jp->p < jp->end && *jp->p == ',') {
		jp->p++;
		jp->state = object ? ST_KEY : ST_VALUE;
		*again = true;
		return 0;
	}
	if (jp->p < jp->end && *jp->p == (object ? '}' : ']'))
		return close_container(jp, t);
	return unexpected(jp, jp->p, object ? "',' or '}'" : "',' or ']'");
}

int json_parser__next(struct json_parser *jp, struct json_token *t)
{
	bool again;
	int err;

	memset(t, 0, sizeof(*t));
	if (jp->err)
		return jp->err;
	do {
		again = false;
		skip_ws(jp);
		t->pos = offset(jp, jp->p);
		switch (jp->state) {
		case ST_DONE:
			t->type = JSON_EOF;
			return 0;
		case ST_AFTER:
			err = after_value(jp, t, &again);
			break;
		case ST_FIRST_KEY:
			if (jp->p < jp->end && *jp->p == '}')
				return close_container(jp, t);
			/* fall through */
		case ST_KEY:
			err = parse_key(jp, t);
			break;
		case ST_FIRST_VALUE:
			if (jp->p < jp->end && *jp->p == ']')
				return close_container(jp, t);
			/* fall through */
		default:
			err = parse_value(jp, t);
		}
	} while (!err && again);
	return err;
}

int json_parser__skip(struct json_parser *jp, const struct json_token *t)
{
	size_t depth = jp->depth;
	struct json_token tok;
	int err;

	if (t->type != JSON_OBJ_START && t->type != JSON_ARR_START)
		return 0;
	do {
		err = json_parser__next(jp, &tok);
		if (err)
			return err;
	} while (jp->depth >= depth);
	return 0;
}
