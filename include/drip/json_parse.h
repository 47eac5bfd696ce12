/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A strict, bounded pull parser for one JSON value (RFC 8259) held in memory.
 * Input is untrusted: every byte is read through the parser's cursor, which
 * never passes the end; nesting and string sizes are capped; numbers keep
 * exact 64-bit integers; strings are checked and decoded to UTF-8 (\u escapes
 * and surrogate pairs included; invalid UTF-8, lone surrogates, raw control
 * bytes are rejected). Nothing but whitespace may follow the value.
 *
 * Each json_parser__next() returns the next token; an error is sticky and
 * described by json_parser__error() as "line L col C: why" (lines and
 * columns count from 1; a column counts characters, not bytes).
 */
#ifndef DRIP_JSON_PARSE_H
#define DRIP_JSON_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_PARSE_MAX_DEPTH 256 /* hard cap on json_limits.max_depth */

enum json_type {
	JSON_EOF,	/* the value ended and only whitespace followed it */
	JSON_OBJ_START, /* { */
	JSON_OBJ_END,	/* } */
	JSON_ARR_START, /* [ */
	JSON_ARR_END,	/* ] */
	JSON_KEY,	/* an object member's name: str, len */
	JSON_STR,	/* str, len */
	JSON_NUM,	/* num; u64 when is_u64 */
	JSON_BOOL,	/* boolean */
	JSON_NULL,
};

struct json_limits {
	size_t max_depth;  /* open arrays + objects (0: 64; at most JSON_PARSE_MAX_DEPTH) */
	size_t max_string; /* decoded bytes in one string or key (0: 1 MiB) */
};

struct json_token {
	enum json_type type;
	size_t pos;	 /* offset of the token's first byte in the input */
	const char *str; /* KEY, STR: decoded, NUL-terminated (may hold \u0000 too);
			    valid until the next call */
	size_t len;
	bool nul; /* KEY, STR: str holds a NUL (from \u0000) before its end */
	bool boolean;
	bool integer; /* NUM: no fraction and no exponent */
	bool is_u64;  /* NUM: an integer in [0, UINT64_MAX]: u64 holds it exactly */
	uint64_t u64;
	double num; /* NUM: the value as a double (may be +-HUGE_VAL) */
};

/* Private to json_parse.c; on the caller's stack so nothing needs allocating up front. */
struct json_parser {
	const unsigned char *p, *start, *end;
	struct json_limits lim;
	size_t depth;
	int state;
	int err; /* sticky: 0 or -errno */
	size_t err_pos;
	char *sbuf; /* decoded string */
	size_t sbuf_cap;
	bool nul; /* the string being decoded holds a \u0000 */
	char why[160];
	char msg[200];
	unsigned char stack[JSON_PARSE_MAX_DEPTH]; /* 1: object, 0: array */
};

/* lim may be NULL (defaults). Never fails; release with json_parser__release(). */
void json_parser__init(struct json_parser *jp, const char *buf, size_t len,
		       const struct json_limits *lim);
void json_parser__release(struct json_parser *jp);

/* 0 and the next token, or -EBADMSG (malformed), -E2BIG (a limit), -ENOMEM; sticky */
int json_parser__next(struct json_parser *jp, struct json_token *t);

/*
 * Skip the rest of the value whose first token is t (a scalar: nothing to do;
 * an array or object: up to its end). 0 or -errno.
 */
int json_parser__skip(struct json_parser *jp, const struct json_token *t);

/*
 * Fail the parse at input offset pos with a message (for callers checking
 * what they read, so their errors carry a position too). Returns err; the
 * first error wins.
 */
int json_parser__fail(struct json_parser *jp, size_t pos, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "line L col C: why" for the first error, or "" when none */
const char *json_parser__error(struct json_parser *jp);

/* 1-based line and column (in characters) of input offset pos */
void json_parser__where(const struct json_parser *jp, size_t pos, size_t *line, size_t *col);

#endif /* DRIP_JSON_PARSE_H */
