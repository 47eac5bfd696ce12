/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The libraries a program will load at start: its DT_NEEDED closure,
 * resolved as the dynamic loader would (DT_RPATH/DT_RUNPATH with $ORIGIN,
 * LD_LIBRARY_PATH, the system directories).  Used to build unwind tables
 * before a `--` command runs.  Files are untrusted: counts and lengths are
 * bounded; an unresolvable name is skipped (the loader will fail or find it
 * elsewhere, and drip then builds its table on first sight).
 */
#ifndef DRIP_NEEDED_H
#define DRIP_NEEDED_H

#include <stddef.h>

/* Call fn(path, ctx) for path and each library of its closure (at most max files). */
int needed__closure(const char *path, size_t max, void (*fn)(const char *path, void *ctx),
		    void *ctx);

/* Find a library by name as the loader would for LD_PRELOAD (out: PATH_MAX). 0 or -ENOENT. */
int needed__resolve(const char *name, char *out);

#endif /* DRIP_NEEDED_H */
