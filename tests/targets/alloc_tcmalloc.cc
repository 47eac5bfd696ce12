// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * alloc_tcmalloc: a program linked with tcmalloc (-ltcmalloc_minimal first, so its malloc and
 * operator new bind), leaking through malloc & co, new/new[] and the tc_* API, each from a
 * function of its own with distinctive sizes.  Truth: $DRIP_TRUTH (target.h).
 *
 * usage: alloc_tcmalloc [--baseline]   (--baseline: allocate nothing)
 */
#include "target.h"

#include <gperftools/tcmalloc.h>
#include <new>

struct Item {
	long v[9]; /* 72 bytes */
};

T_NOINLINE static void tc_leak_malloc(void)
{
	for (int i = 0; i < 10; i++) {
		void *p = malloc(1234);

		t_alloc(__func__, p, 1234);
	}
}

T_NOINLINE static void tc_leak_calloc_realloc(void)
{
	for (int i = 0; i < 3; i++) {
		void *p = calloc(7, 99);
		uintptr_t old = (uintptr_t)p;
		void *q;

		t_alloc(__func__, p, 7 * 99);
		q = realloc(p, 5000);
		t_realloc(__func__, old, q, 5000);
	}
}

/* tcmalloc's realloc(p, 0) frees p and returns NULL (truth follows the result) */
T_NOINLINE static void tc_realloc_zero(void)
{
	for (int i = 0; i < 2; i++) {
		void *p = malloc(321);
		uintptr_t old = (uintptr_t)p;
		void *q;

		t_alloc(__func__, p, 321);
		q = realloc(p, 0);
		t_realloc(__func__, old, q, 0);
		if (q)
			t_free(q);
	}
}

T_NOINLINE static void tc_leak_new(void)
{
	for (int i = 0; i < 9; i++) {
		Item *it = new Item();

		t_alloc(__func__, it, sizeof(Item));
	}
	for (int i = 0; i < 2; i++) {
		char *a = new char[3210];

		t_alloc(__func__, a, 3210);
	}
	for (int i = 0; i < 2; i++) {
		Item *it = new (std::nothrow) Item();

		t_alloc(__func__, it, sizeof(Item));
	}
}

T_NOINLINE static void tc_leak_tc_api(void)
{
	void *p;

	for (int i = 0; i < 4; i++) {
		p = tc_malloc(2500);
		t_alloc(__func__, p, 2500);
	}
	p = tc_calloc(3, 1000);
	t_alloc(__func__, p, 3000);
	p = tc_memalign(256, 1800);
	t_alloc(__func__, p, 1800);
	if (tc_posix_memalign(&p, 128, 900))
		p = NULL;
	t_alloc(__func__, p, 900);
	p = tc_new(640);
	t_alloc(__func__, p, 640);
	p = tc_newarray(6400);
	t_alloc(__func__, p, 6400);
}

/* Balanced: every release API, each block counted once however it goes */
T_NOINLINE static void tc_churn(void)
{
	for (int i = 0; i < 50; i++) {
		void *a = tc_malloc(100), *b = tc_new(200), *c = malloc(300);
		Item *d = new Item();
		char *e = new char[77];

		t_alloc(__func__, a, 100);
		t_alloc(__func__, b, 200);
		t_alloc(__func__, c, 300);
		t_alloc(__func__, d, sizeof(Item));
		t_alloc(__func__, e, 77);
		t_note_free((uintptr_t)a);
		tc_free(a);
		t_note_free((uintptr_t)b);
		tc_delete(b);
		t_note_free((uintptr_t)c);
		tc_free_sized(c, 300);
		t_note_free((uintptr_t)d);
		delete d;
		t_note_free((uintptr_t)e);
		delete[] e;
	}
}

int main(int argc, char **argv)
{
	t_init("alloc_tcmalloc");
	if (argc > 1 && !strcmp(argv[1], "--baseline")) {
		t_done();
		return 0;
	}
	t_complete_under("main");
	tc_leak_malloc();
	tc_leak_calloc_realloc();
	tc_realloc_zero();
	tc_leak_new();
	tc_leak_tc_api();
	tc_churn();
	t_done();
	return 0;
}
