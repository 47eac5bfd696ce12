/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Streaming JSON writer: owns commas and nesting, escapes every string so the
 * output is valid UTF-8 JSON whatever bytes the target gave us (control bytes
 * as \u00XX, invalid UTF-8 as \ufffd).
 */
#ifndef DRIP_JSON_WRITER_H
#define DRIP_JSON_WRITER_H

#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

struct json_writer;

/*
 * indent 0: compact. The writer buffers its output and holds f's lock until
 * json_writer__free(), which flushes: write to f yourself only after that.
 */
struct json_writer *json_writer__new(FILE *f, int indent);
/* returns 0, or -EIO when a write failed (sticky) */
int json_writer__free(struct json_writer *w);

void json__obj_start(struct json_writer *w);
void json__obj_end(struct json_writer *w);
void json__arr_start(struct json_writer *w);
void json__arr_end(struct json_writer *w);
/*
 * A container written on one line even when indenting, as `{"a": 1, "b": [2, 3]}`
 * (containers inside it too); closed by json__obj_end()/json__arr_end().
 */
void json__obj_start_inline(struct json_writer *w);
void json__arr_start_inline(struct json_writer *w);
void json__keyn(struct json_writer *w, const char *key, size_t len);
/* inline, so a literal key's length is known when compiling (no strlen per key) */
static inline void json__key(struct json_writer *w, const char *key)
{
	json__keyn(w, key, key ? strlen(key) : 0);
}
void json__strn(struct json_writer *w, const char *s, size_t len); /* arbitrary bytes */
static inline void json__str(struct json_writer *w, const char *s) /* NULL -> null */
{
	json__strn(w, s, s ? strlen(s) : 0);
}
void json__u64(struct json_writer *w, uint64_t v);
void json__i64(struct json_writer *w, int64_t v);
void json__double(struct json_writer *w, double v); /* non-finite -> null */
void json__bool(struct json_writer *w, int v);
void json__null(struct json_writer *w);

/* Write s (len bytes) as a JSON string body, without quotes. */
void json_escape(FILE *f, const char *s, size_t len);

#endif /* DRIP_JSON_WRITER_H */
