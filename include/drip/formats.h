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
	bool color;	    /* text diff: growth in red, shrink in green (ANSI) */
	/* --diff: the OLD report; r is NEW.  Writers that cannot diff return -ENOTSUP. */
	const struct report *base;
};

/* Options that only some formats use: given with another, they are a usage error */
enum format_opt {
	FORMAT_OPT_TOP = 1 << 0,     /* --top */
	FORMAT_OPT_WEIGHT = 1 << 1,  /* --weight */
	FORMAT_OPT_PER_PID = 1 << 2, /* --per-pid */
	FORMAT_OPT_COLOR = 1 << 3,   /* --color=always */
};

struct report_format {
	const char *name;
	const char *const *extensions; /* NULL-terminated, with the dot: ".json" */
	bool binary;		       /* not for a terminal */
	int (*write)(const struct report *r, const struct format_opts *o, FILE *f);
	/* the stacks whose frames write() prints, into shown[]; NULL: all of them */
	int (*shown)(const struct report *r, const struct format_opts *o, bool *shown);
	unsigned opts;	    /* enum format_opt: what it uses for a report */
	unsigned diff_opts; /* and for a diff (--diff) */
};

/* The format called name, or NULL. */
const struct report_format *format__find(const char *name);
/* The format whose extension ends path, or NULL. */
const struct report_format *format__for_path(const char *path);
/* "text, json, ..." for messages. */
const char *format__names(void);
/*
 * 0 when f uses every option in given (enum format_opt), for a report or a
 * diff; else -EINVAL after an error naming the first one it does not use.
 */
int format__check_opts(const struct report_format *f, unsigned given, bool diff);

/* Writers (0 or -errno) */
int format_text(const struct report *r, const struct format_opts *o, FILE *f);
int format_text_shown(const struct report *r, const struct format_opts *o, bool *shown);
int format_json(const struct report *r, const struct format_opts *o, FILE *f);
int format_folded(const struct report *r, const struct format_opts *o, FILE *f);
int format_pprof(const struct report *r, const struct format_opts *o, FILE *f);
int format_svg(const struct report *r, const struct format_opts *o, FILE *f);
int format_html(const struct report *r, const struct format_opts *o, FILE *f);

#endif /* DRIP_FORMATS_H */
