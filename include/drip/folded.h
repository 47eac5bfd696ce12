/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Frame names as the folded writer (and the text diff) print them, and the
 * growable byte buffer they are built in. The names are safe to print on a
 * terminal and, with `fold`, inside a folded line: see src/report/folded.c
 * for the mapping.
 */
#ifndef DRIP_FOLDED_H
#define DRIP_FOLDED_H

#include <stdbool.h>
#include <stddef.h>

#include "drip/report.h"

struct sbuf {
	char *buf;
	size_t len, cap;
	bool oom; /* an append failed: the content is short */
};

void sbuf__release(struct sbuf *b);
void sbuf__add(struct sbuf *b, const void *p, size_t n);

/* s made safe: controls, bidi overrides and invalid UTF-8 as '?'; fold: ';' as ':' too */
void folded__add_safe(struct sbuf *b, const char *s, bool fold);
/* A frame's name: "function", "function (file:line)" for Python, "?? (module)", "??" */
void folded__add_frame(struct sbuf *b, const struct report_frame *fr, bool fold);
/* "comm [pid]" for the process frame of --per-pid; "[pid]" when the comm is unknown */
void folded__add_process(struct sbuf *b, const struct report *r, uint32_t pid, bool fold);

#endif /* DRIP_FOLDED_H */
