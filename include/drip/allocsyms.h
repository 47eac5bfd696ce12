/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Which allocator functions a file defines and how each one counts: the C
 * API (glibc, musl, jemalloc, tcmalloc, a program's own malloc), jemalloc's
 * *allocx API under any prefix (Rust's `_rjem_`), tcmalloc's tc_* API and
 * replaced C++ operators new/delete.  And which copy a process binds: the
 * first in link-map order.  Plain C over symbol names: tests feed it lists.
 */
#ifndef DRIP_ALLOCSYMS_H
#define DRIP_ALLOCSYMS_H

#include <stdbool.h>
#include <stddef.h>

/* How a function counts; each kind has its BPF programs (attach.c) */
enum alloc_kind {
	ALLOC_MALLOC,	      /* size in the first argument (also new, mallocx, tc_new) */
	ALLOC_CALLOC,	      /* nmemb, size */
	ALLOC_REALLOC,	      /* p, size; a NULL result for size 0 freed p (glibc, jemalloc) */
	ALLOC_REALLOC_KEEP,   /* p, size; a NULL result freed nothing (musl, rallocx) */
	ALLOC_REALLOCARRAY,   /* p, nmemb, size */
	ALLOC_MEMALIGN,	      /* align, size */
	ALLOC_ALIGNED_ALLOC,  /* align, size */
	ALLOC_POSIX_MEMALIGN, /* memptr, align, size */
	ALLOC_VALLOC,
	ALLOC_PVALLOC,
	ALLOC_XALLOCX, /* p, size, extra, flags: in place or not at all */
	ALLOC_FREE,    /* p first: free, delete, dallocx, sdallocx, tc_free_sized, ... */
	ALLOC__COUNT
};

enum allocsyms_flags {
	ALLOCSYMS_C = 1 << 0,		/* defines malloc and free (under some prefix) */
	ALLOCSYMS_JEMALLOC = 1 << 1,	/* the *allocx API */
	ALLOCSYMS_TCMALLOC = 1 << 2,	/* the tc_* API */
	ALLOCSYMS_CXX = 1 << 3,		/* its own operator new/delete (probed) */
	ALLOCSYMS_MUSL = 1 << 4,	/* musl's libc: realloc(p, 0) does not free */
	ALLOCSYMS_CXX_RUNTIME = 1 << 5, /* libstdc++/libc++: its new/delete call malloc/free */
};

#define ALLOCSYMS_NAME_MAX 64
#define ALLOCSYMS_MAX	   128 /* functions probed in one file, at most */
#define ALLOCSYMS_PREFIXES 4   /* *allocx prefixes looked at per file */

struct alloc_sym {
	char name[ALLOCSYMS_NAME_MAX];
	enum alloc_kind kind;
};

/* A file's function names: nth(i) for i < n (NULL: skip), has(name) exactly */
struct allocsyms_src {
	size_t n;
	const char *(*nth)(void *ctx, size_t i);
	bool (*has)(void *ctx, const char *name);
	void *ctx;
};

/*
 * Prefixes P of jemalloc builds in the file: P+"mallocx", P+"malloc" and
 * P+"free" all defined ("" for a plain build, "_rjem_" for Rust's, "je_").
 * Returns how many were written to out (each ALLOCSYMS_NAME_MAX bytes).
 */
size_t allocsyms__prefixes(const struct allocsyms_src *s, char (*out)[ALLOCSYMS_NAME_MAX],
			   size_t max);

/*
 * The functions to probe in the file, each with how it counts, in table
 * order (aliases at one address are the caller's to fold).  *flags gets
 * enum allocsyms_flags.  Returns the number written (0: not an allocator).
 */
size_t allocsyms__plan(const struct allocsyms_src *s, struct alloc_sym *out, size_t max,
		       unsigned *flags);

/*
 * LD_PRELOAD's entries in order, from a process's environment (NUL-separated
 * "KEY=value" strings, as /proc/PID/environ holds them): the value split at
 * spaces and colons, as the loader does.  Calls fn for each; returns how many.
 */
size_t allocsyms__preload(const char *environ, size_t len, void (*fn)(const char *path, void *ctx),
			  void *ctx);

/*
 * Symbol interposition: the first of the files, in link-map order (the
 * executable, LD_PRELOAD, then the DT_NEEDED closure breadth first), that
 * defines a function binds every call to it.  flags[i]: file i's enum
 * allocsyms_flags; want: ALLOCSYMS_C (malloc) or ALLOCSYMS_CXX |
 * ALLOCSYMS_CXX_RUNTIME (operator new).  Returns the index, or -1.
 */
int allocsyms__binder(const unsigned *flags, size_t n, unsigned want);

#endif /* DRIP_ALLOCSYMS_H */
