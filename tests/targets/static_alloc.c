// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * static_alloc: built statically, against musl (musl-gcc -static) and against glibc (-static):
 * the executable carries its own malloc.  realloc(p, 0) differs: glibc frees p and returns
 * NULL; musl returns a block (p resized to 0 bytes, or a new one), which must still be freed.
 * The truth records what the libc did.  Truth: $DRIP_TRUTH.
 */
#include "target.h"

T_NOINLINE static void st_leak_malloc(void)
{
	for (int i = 0; i < 10; i++) {
		void *p = malloc(1515);

		t_alloc(__func__, p, 1515);
	}
}

T_NOINLINE static void st_leak_calloc(void)
{
	for (int i = 0; i < 4; i++) {
		void *p = calloc(11, 93);

		t_alloc(__func__, p, 11 * 93);
	}
}

T_NOINLINE static void st_leak_realloc(void)
{
	for (int i = 0; i < 3; i++) {
		void *p = malloc(200);
		uintptr_t old = (uintptr_t)p;
		void *q;

		t_alloc(__func__, p, 200);
		q = realloc(p, 6000);
		t_realloc(__func__, old, q, 6000);
	}
}

/* realloc(p, 0): glibc frees (nothing left); musl keeps a 0-byte block, leaked here */
T_NOINLINE static void st_realloc_zero(void)
{
	int kept = 0;

	for (int i = 0; i < 3; i++) {
		void *p = malloc(444);
		uintptr_t old = (uintptr_t)p;
		void *q;

		t_alloc(__func__, p, 444);
		q = realloc(p, 0);
		t_realloc(__func__, old, q, 0);
		kept += q != NULL;
	}
	t_info("realloc0_blocks", kept);
}

T_NOINLINE static void st_churn(void)
{
	for (int i = 0; i < 300; i++) {
		void *p = malloc(32 + i);

		t_alloc(__func__, p, 32 + i);
		t_free(p);
	}
}

int main(void)
{
	t_init("static_alloc");
	t_complete_under("main");
	st_leak_malloc();
	st_leak_calloc();
	st_leak_realloc();
	st_realloc_zero();
	st_churn();
	t_done();
	return 0;
}
