// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <stdio.h>
#include <string.h>

#include "drip/allocsyms.h"

struct entry {
	const char *name;
	enum alloc_kind kind;
};

/* The C API, under a jemalloc prefix too.  realloc's kind is the libc's (musl keeps). */
static const struct entry c_api[] = {
	{ "malloc", ALLOC_MALLOC },
	{ "calloc", ALLOC_CALLOC },
	{ "realloc", ALLOC_REALLOC },
	{ "reallocarray", ALLOC_REALLOCARRAY },
	{ "free", ALLOC_FREE },
	{ "cfree", ALLOC_FREE },
	{ "posix_memalign", ALLOC_POSIX_MEMALIGN },
	{ "memalign", ALLOC_MEMALIGN },
	{ "aligned_alloc", ALLOC_ALIGNED_ALLOC },
	{ "valloc", ALLOC_VALLOC },
	{ "pvalloc", ALLOC_PVALLOC },
};

/* jemalloc's non-standard API: rallocx never frees on failure, size 0 is not allowed */
static const struct entry je_api[] = {
	{ "mallocx", ALLOC_MALLOC },  { "rallocx", ALLOC_REALLOC_KEEP },
	{ "xallocx", ALLOC_XALLOCX }, { "sdallocx", ALLOC_FREE },
	{ "dallocx", ALLOC_FREE },
};

/* gperftools' tc_* API (most are aliases of the C and C++ entry points) */
static const struct entry tc_api[] = {
	{ "tc_malloc", ALLOC_MALLOC },
	{ "tc_malloc_skip_new_handler", ALLOC_MALLOC },
	{ "tc_calloc", ALLOC_CALLOC },
	{ "tc_realloc", ALLOC_REALLOC },
	{ "tc_free", ALLOC_FREE },
	{ "tc_cfree", ALLOC_FREE },
	{ "tc_free_sized", ALLOC_FREE },
	{ "tc_memalign", ALLOC_MEMALIGN },
	{ "tc_posix_memalign", ALLOC_POSIX_MEMALIGN },
	{ "tc_valloc", ALLOC_VALLOC },
	{ "tc_pvalloc", ALLOC_PVALLOC },
	{ "tc_new", ALLOC_MALLOC },
	{ "tc_newarray", ALLOC_MALLOC },
	{ "tc_new_nothrow", ALLOC_MALLOC },
	{ "tc_newarray_nothrow", ALLOC_MALLOC },
	{ "tc_new_aligned", ALLOC_MALLOC }, /* (size, align) */
	{ "tc_newarray_aligned", ALLOC_MALLOC },
	{ "tc_new_aligned_nothrow", ALLOC_MALLOC },
	{ "tc_newarray_aligned_nothrow", ALLOC_MALLOC },
	{ "tc_delete", ALLOC_FREE },
	{ "tc_deletearray", ALLOC_FREE },
	{ "tc_delete_nothrow", ALLOC_FREE },
	{ "tc_deletearray_nothrow", ALLOC_FREE },
	{ "tc_delete_sized", ALLOC_FREE },
	{ "tc_deletearray_sized", ALLOC_FREE },
	{ "tc_delete_aligned", ALLOC_FREE },
	{ "tc_deletearray_aligned", ALLOC_FREE },
	{ "tc_delete_sized_aligned", ALLOC_FREE },
	{ "tc_deletearray_sized_aligned", ALLOC_FREE },
	{ "tc_delete_aligned_nothrow", ALLOC_FREE },
	{ "tc_deletearray_aligned_nothrow", ALLOC_FREE },
};

/* operator new and delete (x86-64 mangling): every variant takes size or pointer first */
static const struct entry cxx_api[] = {
	{ "_Znwm", ALLOC_MALLOC },
	{ "_Znam", ALLOC_MALLOC },
	{ "_ZnwmRKSt9nothrow_t", ALLOC_MALLOC },
	{ "_ZnamRKSt9nothrow_t", ALLOC_MALLOC },
	{ "_ZnwmSt11align_val_t", ALLOC_MALLOC },
	{ "_ZnamSt11align_val_t", ALLOC_MALLOC },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", ALLOC_MALLOC },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", ALLOC_MALLOC },
	{ "_ZdlPv", ALLOC_FREE },
	{ "_ZdaPv", ALLOC_FREE },
	{ "_ZdlPvm", ALLOC_FREE },
	{ "_ZdaPvm", ALLOC_FREE },
	{ "_ZdlPvRKSt9nothrow_t", ALLOC_FREE },
	{ "_ZdaPvRKSt9nothrow_t", ALLOC_FREE },
	{ "_ZdlPvSt11align_val_t", ALLOC_FREE },
	{ "_ZdaPvSt11align_val_t", ALLOC_FREE },
	{ "_ZdlPvmSt11align_val_t", ALLOC_FREE },
	{ "_ZdaPvmSt11align_val_t", ALLOC_FREE },
	{ "_ZdlPvSt11align_val_tRKSt9nothrow_t", ALLOC_FREE },
	{ "_ZdaPvSt11align_val_tRKSt9nothrow_t", ALLOC_FREE },
};

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static bool has_prefixed(const struct allocsyms_src *s, const char *prefix, const char *name)
{
	char buf[ALLOCSYMS_NAME_MAX];

	if ((size_t)snprintf(buf, sizeof(buf), "%s%s", prefix, name) >= sizeof(buf))
		return false;
	return s->has(s->ctx, buf);
}

size_t allocsyms__prefixes(const struct allocsyms_src *s, char (*out)[ALLOCSYMS_NAME_MAX],
			   size_t max)
{
	static const char suffix[] = "mallocx";
	const size_t sl = sizeof(suffix) - 1;
	size_t n = 0;

	for (size_t i = 0; i < s->n && n < max; i++) {
		const char *name = s->nth(s->ctx, i);
		size_t len = name ? strlen(name) : 0;
		bool dup = false;

		if (len < sl || len - sl >= ALLOCSYMS_NAME_MAX || strcmp(name + len - sl, suffix))
			continue;
		/* "nallocx" does not end in "mallocx"; a name such as "xmallocx" needs free too */
		memcpy(out[n], name, len - sl);
		out[n][len - sl] = 0;
		for (size_t j = 0; j < n; j++)
			dup |= !strcmp(out[j], out[n]);
		if (!dup && has_prefixed(s, out[n], "malloc") && has_prefixed(s, out[n], "free"))
			n++;
	}
	return n;
}

/* Append the table's defined entries under prefix; false when out is full. */
static bool add(const struct allocsyms_src *s, const char *prefix, const struct entry *t, size_t nt,
		bool musl, struct alloc_sym *out, size_t max, size_t *n)
{
	for (size_t i = 0; i < nt; i++) {
		struct alloc_sym *a = &out[*n];

		if ((size_t)snprintf(a->name, sizeof(a->name), "%s%s", prefix, t[i].name) >=
			    sizeof(a->name) ||
		    !s->has(s->ctx, a->name))
			continue;
		for (size_t j = 0; j < *n; j++)
			if (!strcmp(out[j].name, a->name))
				goto next; /* "" and a prefix found twice */
		if (*n == max)
			return false;
		a->kind = musl && t[i].kind == ALLOC_REALLOC ? ALLOC_REALLOC_KEEP : t[i].kind;
		(*n)++;
next:;
	}
	return true;
}

size_t allocsyms__plan(const struct allocsyms_src *s, struct alloc_sym *out, size_t max,
		       unsigned *flags)
{
	char prefixes[ALLOCSYMS_PREFIXES][ALLOCSYMS_NAME_MAX];
	size_t np, n = 0;
	bool musl;

	*flags = 0;
	/* musl's start-up code: its realloc(p, 0) returns a block, NULL only on failure */
	musl = s->has(s->ctx, "__init_libc") && s->has(s->ctx, "__libc_malloc_impl");
	if (musl)
		*flags |= ALLOCSYMS_MUSL;
	if (s->has(s->ctx, "malloc") && s->has(s->ctx, "free")) {
		*flags |= ALLOCSYMS_C;
		add(s, "", c_api, LEN(c_api), musl, out, max, &n);
	}
	np = allocsyms__prefixes(s, prefixes, ALLOCSYMS_PREFIXES);
	for (size_t i = 0; i < np; i++) {
		*flags |= ALLOCSYMS_C | ALLOCSYMS_JEMALLOC;
		add(s, prefixes[i], c_api, LEN(c_api), false, out, max, &n);
		add(s, prefixes[i], je_api, LEN(je_api), false, out, max, &n);
	}
	if (s->has(s->ctx, "tc_malloc") && s->has(s->ctx, "tc_free")) {
		*flags |= ALLOCSYMS_TCMALLOC;
		add(s, "", tc_api, LEN(tc_api), false, out, max, &n);
	}
	if (s->has(s->ctx, "_Znwm") || s->has(s->ctx, "_ZdlPv")) {
		/*
		 * The C++ runtime's operators only call malloc and free, which are
		 * probed wherever they bind: probing them too would cost every new
		 * a second probe.  Its frame is dropped from stacks (collector.c).
		 * An allocator or a program with its own operators gets them probed.
		 */
		if (!(*flags & ALLOCSYMS_C) && s->has(s->ctx, "_ZSt15get_new_handlerv")) {
			*flags |= ALLOCSYMS_CXX_RUNTIME;
		} else {
			*flags |= ALLOCSYMS_CXX;
			add(s, "", cxx_api, LEN(cxx_api), false, out, max, &n);
		}
	}
	return n;
}

size_t allocsyms__preload(const char *env, size_t len, void (*fn)(const char *path, void *ctx),
			  void *ctx)
{
	static const char key[] = "LD_PRELOAD=";
	const char *p = env, *end = env + len, *v = NULL, *ve = NULL;
	size_t n = 0;

	/* the loader keeps the last LD_PRELOAD it meets */
	while (p < end) {
		const char *e = memchr(p, 0, end - p);

		if (!e)
			e = end;
		if ((size_t)(e - p) >= sizeof(key) - 1 && !memcmp(p, key, sizeof(key) - 1)) {
			v = p + sizeof(key) - 1;
			ve = e;
		}
		p = e + 1;
	}
	while (v && v < ve) {
		char path[4096];
		size_t l = 0;

		while (v + l < ve && v[l] != ' ' && v[l] != ':')
			l++;
		if (l && l < sizeof(path)) {
			memcpy(path, v, l);
			path[l] = 0;
			fn(path, ctx);
			n++;
		}
		v += l + 1;
	}
	return n;
}

int allocsyms__binder(const unsigned *flags, size_t n, unsigned want)
{
	for (size_t i = 0; i < n; i++)
		if (flags[i] & want)
			return (int)i;
	return -1;
}
