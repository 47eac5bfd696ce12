/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Output formats: one writer per format in src/report/<fmt>.c, found by name
 * (-f) or by the output file's extension (-o).  `drip trace` and
 * `drip report` both write through this table.
 */
#ifndef DRIP_FORMATS_H
#define DRIP_FORMATS_H

#include <stdbool.h>
#include <stdio.h>

#include "drip/report.h"

enum weight { WEIGHT_BYTES, WEIGHT_COUNT };

struct format_opts {
	size_t top; /* text: stacks shown */
	bool verbose;
	enum weight weight; /* folded, svg, html: what a frame's width means */
	bool per_pid;	    /* folded, svg, html: a process frame at the root */
	const char *title;  /* svg, html: page title (NULL: a default) */
	/* --diff: the OLD report; r is NEW.  Writers that cannot diff return -ENOTSUP. */
	const struct report *base;
};

struct report_format {
	const char *name;
	const char *const *extensions; /* NULL-terminated, with the dot: ".json" */
	bool binary;		       /* not for a terminal */
	int (*write)(const struct report *r, const struct format_opts *o, FILE *f);
	/* the stacks whose frames write() prints, into shown[]; NULL: all of them */
	int (*shown)(const struct report *r, const struct format_opts *o, bool *shown);
};

/* The format called name, or NULL. */
const struct report_format *format__find(const char *name);
/* The format whose extension ends path, or NULL. */
const struct report_format *format__for_path(const char *path);
/* "text, json, ..." for messages. */
const char *format__names(void);

/* Writers (0 or -errno) */
int format_text(const struct report *r, const struct format_opts *o, FILE *f);
int format_text_shown(const struct report *r, const struct format_opts *o, bool *shown);
int format_json(const struct report *r, const struct format_opts *o, FILE *f);
int format_folded(const struct report *r, const struct format_opts *o, FILE *f);
int format_pprof(const struct report *r, const struct format_opts *o, FILE *f);
int format_svg(const struct report *r, const struct format_opts *o, FILE *f);
int format_html(const struct report *r, const struct format_opts *o, FILE *f);

#endif /* DRIP_FORMATS_H */
