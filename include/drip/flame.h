/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Flame tree: the report's stacks merged into one tree for the svg and html
 * writers. The root is "all"; under it (optionally) one frame per process,
 * then each stack's frames from the outermost down to frames[0], the
 * allocator's caller. Frames merge when their kind, function and module (file
 * for Python) are equal. A frame's weight is the sum of outstanding_bytes (or
 * outstanding_allocs) of the stacks through it.
 *
 * Frames narrower than min_share of the root are pruned, as flamegraph.pl
 * --minwidth does, and their weight is counted in `pruned`. For a diff
 * (base != NULL) every frame carries the base (old) weight too; widths are by
 * the new report, so a frame that the new report no longer has is pruned.
 *
 * The tree is plain data: nodes[] in pre-order (nodes[0] is the root,
 * siblings in name order), each node's `start` is its left edge in weight
 * units, so a node covers [start, start + value) and its children tile it
 * from the left. Strings point into the reports, which must outlive the tree.
 */
#ifndef DRIP_FLAME_H
#define DRIP_FLAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "drip/formats.h"
#include "drip/report.h"

#define FLAME_MIN_SHARE 0.001 /* the writers' default: 0.1%, ~1 px of a 1200 px image */
#define FLAME_MAX_DEPTH 512   /* deeper frames are cut (the outermost are kept) */

enum flame_type {
	FLAME_ROOT,
	FLAME_PROCESS,	 /* per_pid: one per process */
	FLAME_TRUNCATED, /* above the outermost frame of a truncated stack */
	FLAME_FRAME,
	FLAME_NO_STACK, /* a stack without frames (--no-stacks) */
};

/* What a frame is, for its colour */
enum flame_class {
	FLAME_CLASS_ROOT,    /* root and process frames */
	FLAME_CLASS_MAIN,    /* the process's own executable */
	FLAME_CLASS_LIB,     /* other shared objects */
	FLAME_CLASS_SYSTEM,  /* libraries under /lib, /usr/lib (libc, libstdc++, ...) */
	FLAME_CLASS_PYTHON,  /* Python frames */
	FLAME_CLASS_UNKNOWN, /* no function name, [anon] (JIT), synthetic frames */
	FLAME_CLASS__COUNT
};

struct flame_sum {
	uint64_t bytes;
	uint64_t allocs;
};

struct flame_node {
	enum flame_type type;
	enum flame_class cls;
	uint32_t depth;			   /* root: 0 */
	uint32_t parent;		   /* index into nodes; the root's is 0 */
	const struct report_frame *frame;  /* FLAME_FRAME: one of the frames merged here */
	uint32_t pid;			   /* FLAME_PROCESS */
	const struct report_process *proc; /* FLAME_PROCESS: NULL when no report lists it */
	uint64_t start;			   /* left edge in weight units */
	struct flame_sum now;		   /* everything under this frame */
	struct flame_sum old;		   /* diff: the same in the base report */
};

struct flame_opts {
	enum weight weight;
	bool per_pid;
	double min_share; /* prune frames narrower than this share of the root; 0: keep all */
};

struct flame {
	enum weight weight;
	bool diff;
	double min_share;
	size_t nr_nodes;
	struct flame_node *nodes;
	uint32_t max_depth;
	size_t pruned_frames;	 /* frames cut (counted where a cut starts, not below) */
	struct flame_sum pruned; /* their weight in the new report */
	struct flame_sum pruned_old;
};

/* 0 or -ENOMEM; base: the old report of a diff, or NULL */
int flame__new(const struct report *r, const struct report *base, const struct flame_opts *o,
	       struct flame **out);
void flame__free(struct flame *fl);

/* The width of a sum: bytes or allocs, as the tree was built */
static inline uint64_t flame__value(const struct flame *fl, const struct flame_sum *s)
{
	return fl->weight == WEIGHT_COUNT ? s->allocs : s->bytes;
}

/*
 * The node's name as raw bytes from the target (writers escape): the
 * function, "??" (with the module's file name when known), "[anon]",
 * "comm [pid]" ("[pid]" without a comm), "all", "[truncated]", "[no stack]".
 * buf (>= 64 bytes) holds names that are made up.
 */
const char *flame__label(const struct flame_node *n, char *buf, size_t len);

/*
 * Helpers shared by the svg and html writers.
 */
/* o->title, or a default for an outstanding-memory graph or a diff */
const char *flame__title(const struct format_opts *o);
/* "512 B", "6553600 B (6.2 MiB)": exact, and readable when large */
const char *flame__bytes(char buf[48], uint64_t v);
/* The totals line: bytes, allocs, processes, duration, incomplete */
void flame__subtitle(const struct flame *fl, const struct report *r, const struct report *base,
		     char *buf, size_t len);
/* What pruning hid, or "" */
void flame__pruned_note(const struct flame *fl, char *buf, size_t len);
/*
 * s as XML character data (also fine in attributes and HTML): & < > " '
 * escaped; control characters, invalid UTF-8 and characters XML forbids
 * replaced by U+FFFD, bidi overrides likewise. At most max_chars characters
 * are written; a longer s is cut and ends with "…" (the ellipsis counts).
 */
void flame__put_xml(FILE *f, const char *s, size_t max_chars);
/* Characters flame__put_xml() would write for s without a limit */
size_t flame__xml_chars(const char *s);

#endif /* DRIP_FLAME_H */
