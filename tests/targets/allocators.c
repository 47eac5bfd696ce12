// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * allocators: every allocator entry point drip probes, each called directly from its own
 * function with distinctive sizes, so each function's row in drip's report is unambiguous.
 * Writes nothing to stdout (stdio would malloc a buffer): truth goes to $DRIP_TRUTH.
 *
 * usage: allocators [--baseline]
 *   --baseline  allocate nothing: drip's totals for such a run are the dynamic loader's and
 *               libc's own start-up allocations, to subtract from a full run's totals
 */
#include "target.h"

#include <malloc.h>

/* Sizes the compiler cannot see, so it does not warn about (or fold) calls meant to fail */
static volatile size_t huge = SIZE_MAX;
static volatile size_t bad_align = 3;

T_NOINLINE static void leak_malloc(void)
{
	for (int i = 0; i < 10; i++) {
		void *p = malloc(1111);

		t_alloc(__func__, p, 1111);
	}
}

T_NOINLINE static void leak_calloc(void)
{
	for (int i = 0; i < 5; i++) {
		void *p = calloc(13, 77);

		t_alloc(__func__, p, 13 * 77);
	}
}

/* The block leak_realloc_grow reallocates: allocated here, freed by that realloc */
T_NOINLINE static void *grow_seed(void)
{
	void *p = malloc(100);

	t_alloc(__func__, p, 100);
	return p;
}

T_NOINLINE static void leak_realloc_grow(void)
{
	for (int i = 0; i < 4; i++) {
		void *p = grow_seed();
		uintptr_t old = (uintptr_t)p;
		void *q = realloc(p, 3333);

		t_realloc(__func__, old, q, 3333);
	}
}

T_NOINLINE static void *shrink_seed(void)
{
	void *p = malloc(4000);

	t_alloc(__func__, p, 4000);
	return p;
}

/* Shrinking happens in place, and still counts one free and one alloc */
T_NOINLINE static void leak_realloc_shrink(void)
{
	for (int i = 0; i < 3; i++) {
		void *p = shrink_seed();
		uintptr_t old = (uintptr_t)p;
		void *q = realloc(p, 1234);

		t_realloc(__func__, old, q, 1234);
	}
}

T_NOINLINE static void leak_realloc_null(void)
{
	for (int i = 0; i < 3; i++) {
		void *q = realloc(NULL, 2222);

		t_realloc(__func__, 0, q, 2222);
	}
}

/* realloc(p, 0) frees p: nothing outstanding here */
T_NOINLINE static void realloc_zero_frees(void)
{
	for (int i = 0; i < 2; i++) {
		void *p = malloc(555);
		uintptr_t old = (uintptr_t)p;
		void *q;

		t_alloc(__func__, p, 555);
		q = realloc(p, 0);
		t_realloc(__func__, old, q, 0);
	}
}

/* reallocarray(NULL, ...) allocates, then growing it frees that block and allocates another */
T_NOINLINE static void leak_reallocarray(void)
{
	for (int i = 0; i < 2; i++) {
		void *p = reallocarray(NULL, 9, 111);
		uintptr_t old = (uintptr_t)p;
		void *q;

		t_realloc(__func__, 0, p, 9 * 111);
		q = reallocarray(p, 3, 700);
		t_realloc(__func__, old, q, 3 * 700);
	}
}

T_NOINLINE static void leak_posix_memalign(void)
{
	for (int i = 0; i < 3; i++) {
		void *p = NULL;
		int err = posix_memalign(&p, 64, 3000);

		t_alloc(__func__, err ? NULL : p, 3000);
	}
}

T_NOINLINE static void leak_aligned_alloc(void)
{
	for (int i = 0; i < 2; i++) {
		void *p = aligned_alloc(256, 2560);

		t_alloc(__func__, p, 2560);
	}
}

T_NOINLINE static void leak_memalign(void)
{
	for (int i = 0; i < 4; i++) {
		void *p = memalign(128, 1500);

		t_alloc(__func__, p, 1500);
	}
}

T_NOINLINE static void leak_valloc(void)
{
	for (int i = 0; i < 2; i++) {
		void *p = valloc(5000);

		t_alloc(__func__, p, 5000);
	}
}

/* pvalloc rounds the size up to a page: ask for whole pages so "requested" is unambiguous */
T_NOINLINE static void leak_pvalloc(void)
{
	for (int i = 0; i < 2; i++) {
		void *p = pvalloc(8192);

		t_alloc(__func__, p, 8192);
	}
}

/* 0-byte blocks are allocations: five of them, 0 bytes outstanding */
T_NOINLINE static void leak_zero(void)
{
	void *p;

	for (int i = 0; i < 3; i++) {
		p = malloc(0);
		t_alloc(__func__, p, 0);
	}
	p = realloc(NULL, 0); /* = malloc(0) */
	t_realloc(__func__, 0, p, 0);
	p = calloc(0, 7);
	t_alloc(__func__, p, 0);
}

T_NOINLINE static void *fail_seed(void)
{
	void *p = malloc(777);

	t_alloc(__func__, p, 777);
	return p;
}

#define must_fail(call)                                                           \
	do {                                                                      \
		if (call)                                                         \
			t_die("'%s' succeeded: the truth would be wrong", #call); \
	} while (0)

/* Failed allocations count nothing, and a failed realloc leaves its block alone */
T_NOINLINE static void fail_calls(void)
{
	void *seed = fail_seed();
	void *p = NULL;

	t_absent(__func__);
	must_fail(malloc(huge));
	must_fail(calloc(huge / 2, 4));
	must_fail(calloc(huge, huge));
	must_fail(posix_memalign(&p, bad_align, 100) != EINVAL);
	must_fail(p);
	must_fail(posix_memalign(&p, 64, huge) != ENOMEM);
	must_fail(aligned_alloc(64, huge));
	must_fail(memalign(64, huge));
	must_fail(valloc(huge));
	must_fail(pvalloc(huge));
	must_fail(realloc(seed, huge));
	must_fail(reallocarray(seed, huge, 2));
	must_fail(reallocarray(NULL, huge, 2));
	t_free(seed); /* still valid after the failed reallocs: freed once, charged to fail_seed */
}

/* free(NULL) counts nothing */
T_NOINLINE static void free_null(void)
{
	for (int i = 0; i < 5; i++)
		free(NULL);
}

/* frames must read leak_deep, middle_layer, main */
T_NOINLINE static void leak_deep(void)
{
	void *p = malloc(4321);

	t_alloc(__func__, p, 4321);
}

T_NOINLINE static void middle_layer(void)
{
	leak_deep();
}

/* Balanced: 1000 malloc+free pairs, nothing outstanding */
T_NOINLINE static void churn_pairs(void)
{
	for (int i = 0; i < 1000; i++) {
		size_t size = 64 + (i % 32) * 8;
		char *p = malloc(size);

		t_alloc(__func__, p, size);
		if (p)
			p[0] = 1;
		t_free(p);
	}
}

int main(int argc, char **argv)
{
	t_init("allocators");
	if (argc > 1 && !strcmp(argv[1], "--baseline")) {
		t_done();
		return 0;
	}
	t_complete_under("main");
	leak_malloc();
	leak_calloc();
	leak_realloc_grow();
	leak_realloc_shrink();
	leak_realloc_null();
	realloc_zero_frees();
	leak_reallocarray();
	leak_posix_memalign();
	leak_aligned_alloc();
	leak_memalign();
	leak_valloc();
	leak_pvalloc();
	leak_zero();
	fail_calls();
	free_null();
	middle_layer();
	churn_pairs();
	t_done();
	return 0;
}
