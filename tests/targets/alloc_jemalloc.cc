// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * alloc_jemalloc: a program linked with jemalloc (-ljemalloc first, so jemalloc's malloc and
 * operator new bind), leaking through the C API, the *allocx API and new/new[], each from a
 * function of its own with distinctive sizes.  Truth: $DRIP_TRUTH (target.h).
 *
 * usage: alloc_jemalloc [--baseline]   (--baseline: allocate nothing)
 */
#include "target.h"

#include <jemalloc/jemalloc.h>
#include <new>

struct Rec {
	long v[13]; /* 104 bytes */
};

T_NOINLINE static void je_leak_malloc(void)
{
	for (int i = 0; i < 10; i++) {
		void *p = malloc(1111);

		t_alloc(__func__, p, 1111);
	}
}

T_NOINLINE static void je_leak_calloc(void)
{
	for (int i = 0; i < 5; i++) {
		void *p = calloc(13, 77);

		t_alloc(__func__, p, 13 * 77);
	}
}

T_NOINLINE static void je_leak_realloc(void)
{
	for (int i = 0; i < 4; i++) {
		void *p = malloc(100);
		uintptr_t old = (uintptr_t)p;
		void *q;

		t_alloc(__func__, p, 100);
		q = realloc(p, 3333);
		t_realloc(__func__, old, q, 3333);
	}
}

/* jemalloc's default zero_realloc is "free" on Linux: NULL, p freed (truth follows the result) */
T_NOINLINE static void je_realloc_zero(void)
{
	for (int i = 0; i < 2; i++) {
		void *p = malloc(555);
		uintptr_t old = (uintptr_t)p;
		void *q;

		t_alloc(__func__, p, 555);
		q = realloc(p, 0);
		t_realloc(__func__, old, q, 0);
		if (q)
			t_free(q);
	}
}

T_NOINLINE static void je_leak_mallocx(void)
{
	for (int i = 0; i < 6; i++) {
		void *p = mallocx(2048, 0);

		t_alloc(__func__, p, 2048);
	}
	for (int i = 0; i < 3; i++) {
		void *p = mallocx(500, MALLOCX_ZERO | MALLOCX_ALIGN(64));

		t_alloc(__func__, p, 500);
	}
}

/* rallocx moves or resizes: one free and one alloc, as realloc */
T_NOINLINE static void je_leak_rallocx(void)
{
	for (int i = 0; i < 3; i++) {
		void *p = mallocx(300, 0);
		uintptr_t old = (uintptr_t)p;
		void *q;

		t_alloc(__func__, p, 300);
		q = rallocx(p, 7000, 0);
		t_realloc(__func__, old, q, 7000);
	}
}

/*
 * xallocx resizes in place or not at all and returns the real size: 128 -> 100 fits (a resize:
 * one free, one alloc of 100), 100 -> 1 MiB does not (nothing happens)
 */
T_NOINLINE static void je_leak_xallocx(void)
{
	for (int i = 0; i < 2; i++) {
		void *p = mallocx(128, 0);
		size_t got;

		t_alloc(__func__, p, 128);
		got = xallocx(p, 100, 0, 0);
		if (got >= 100)
			t_realloc(__func__, (uintptr_t)p, p, 100);
		got = xallocx(p, 1 << 20, 0, 0);
		if (got >= 1 << 20)
			t_die("xallocx grew a 100-byte block to 1 MiB in place");
	}
}

/* Balanced: every release API of jemalloc */
T_NOINLINE static void je_churn(void)
{
	for (int i = 0; i < 100; i++) {
		void *a = mallocx(64 + i, 0), *b = malloc(200), *c = mallocx(96, 0);

		t_alloc(__func__, a, 64 + i);
		t_alloc(__func__, b, 200);
		t_alloc(__func__, c, 96);
		t_note_free((uintptr_t)a);
		dallocx(a, 0);
		t_note_free((uintptr_t)b);
		sdallocx(b, 200, 0);
		t_free(c);
	}
}

T_NOINLINE static void je_leak_new(void)
{
	for (int i = 0; i < 8; i++) {
		Rec *r = new Rec();

		t_alloc(__func__, r, sizeof(Rec));
	}
	for (int i = 0; i < 2; i++) {
		char *a = new char[4444];

		t_alloc(__func__, a, 4444);
	}
}

/* Balanced: delete (sized) and delete[] release what new made, each counted once */
T_NOINLINE static void je_churn_new(void)
{
	for (int i = 0; i < 50; i++) {
		Rec *r = new Rec();
		char *a = new char[700];

		t_alloc(__func__, r, sizeof(Rec));
		t_alloc(__func__, a, 700);
		t_note_free((uintptr_t)r);
		delete r;
		t_note_free((uintptr_t)a);
		delete[] a;
	}
}

int main(int argc, char **argv)
{
	t_init("alloc_jemalloc");
	if (argc > 1 && !strcmp(argv[1], "--baseline")) {
		t_done();
		return 0;
	}
	t_complete_under("main");
	je_leak_malloc();
	je_leak_calloc();
	je_leak_realloc();
	je_realloc_zero();
	je_leak_mallocx();
	je_leak_rallocx();
	je_leak_xallocx();
	je_churn();
	je_leak_new();
	je_churn_new();
	t_done();
	return 0;
}
