// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * nested: allocator calls that glibc 2.36 nests inside other allocator calls, each of which
 * must count once, as its outermost call:
 *   realloc(NULL, n) -> malloc;  realloc(p, 0) -> free;  reallocarray -> realloc -> malloc;
 *   memalign/aligned_alloc/posix_memalign with a small alignment -> malloc;
 *   big malloc/calloc/realloc -> mmap (sysmalloc), mremap; free of a big block -> munmap;
 *   a new thread's first malloc -> mmap of a new arena.
 * Plus an allocation in a signal handler raised from user code (not from inside malloc).
 * Writes nothing to stdout; truth goes to $DRIP_TRUTH.
 */
#include "target.h"

#include <malloc.h>

#define KiB 1024
#define MiB (1024 * 1024)

/* 64 KiB on the heap, then 4 MiB (past the mmap threshold: mmap inside realloc), then 8 MiB
 * (mremap of the mapped chunk) */
T_NOINLINE static void leak_realloc_big(void)
{
	void *p = malloc(64 * KiB);
	uintptr_t old = (uintptr_t)p;
	void *q;

	t_alloc(__func__, p, 64 * KiB);
	q = realloc(p, 4 * MiB);
	t_realloc(__func__, old, q, 4 * MiB);
	old = (uintptr_t)q;
	p = realloc(q, 8 * MiB);
	t_realloc(__func__, old, p, 8 * MiB);
}

/* malloc -> mmap and free -> munmap, three times: nothing outstanding */
T_NOINLINE static void big_malloc_free(void)
{
	for (int i = 0; i < 3; i++) {
		char *p = malloc(1 * MiB + 4321);

		t_alloc(__func__, p, 1 * MiB + 4321);
		if (p)
			p[0] = 1;
		t_free(p);
	}
}

T_NOINLINE static void leak_big_calloc(void)
{
	void *p = calloc(3, 1 * MiB);

	t_alloc(__func__, p, 3 * MiB);
}

/* reallocarray(NULL, ...) -> realloc(NULL, ...) -> malloc */
T_NOINLINE static void leak_reallocarray_nested(void)
{
	void *p = reallocarray(NULL, 10, 1000);

	t_realloc(__func__, 0, p, 10 * 1000);
}

/* realloc(NULL, n) -> malloc */
T_NOINLINE static void leak_realloc_null_nested(void)
{
	void *p = realloc(NULL, 7000);

	t_realloc(__func__, 0, p, 7000);
}

/* realloc(p, 0) -> free: one alloc, one free */
T_NOINLINE static void realloc_zero_nested(void)
{
	void *p = malloc(900);
	uintptr_t old = (uintptr_t)p;
	void *q;

	t_alloc(__func__, p, 900);
	q = realloc(p, 0);
	t_realloc(__func__, old, q, 0);
}

/* alignment <= MALLOC_ALIGNMENT: _mid_memalign calls malloc */
T_NOINLINE static void leak_memalign_small(void)
{
	void *p = memalign(16, 3000);

	t_alloc(__func__, p, 3000);
}

T_NOINLINE static void leak_aligned_alloc_small(void)
{
	void *p = aligned_alloc(16, 6000);

	t_alloc(__func__, p, 6000);
}

T_NOINLINE static void leak_posix_memalign_small(void)
{
	void *p = NULL;
	int err = posix_memalign(&p, sizeof(void *), 5000);

	t_alloc(__func__, err ? NULL : p, 5000);
}

/* Called in a SIGUSR2 handler; the main thread is in raise(), not in the allocator */
T_NOINLINE static void sig_leak(void)
{
	void *p = malloc(1357);

	t_alloc(__func__, p, 1357);
}

static void on_sigusr2(int sig)
{
	(void)sig;
	sig_leak();
}

T_NOINLINE static void raise_signal(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr2 };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL) || raise(SIGUSR2))
		t_die("cannot raise SIGUSR2");
}

/* The first malloc in a new thread mmaps a new arena inside malloc */
T_NOINLINE static void leak_in_new_thread(void)
{
	void *p = malloc(2500);

	t_alloc(__func__, p, 2500);
}

static void *arena_thread(void *arg)
{
	(void)arg;
	leak_in_new_thread();
	return NULL;
}

/* Everything the main thread allocates happens below run_nested */
T_NOINLINE static void run_nested(void)
{
	leak_realloc_big();
	big_malloc_free();
	leak_big_calloc();
	leak_reallocarray_nested();
	leak_realloc_null_nested();
	realloc_zero_nested();
	leak_memalign_small();
	leak_aligned_alloc_small();
	leak_posix_memalign_small();
	raise_signal();
}

int main(void)
{
	pthread_t th;

	t_init("nested");
	/* not main: pthread_create allocates the thread's TLS below main, on its own */
	t_complete_under("run_nested");
	t_complete_under("arena_thread");
	t_complete_under("sig_leak");
	run_nested();
	if (pthread_create(&th, NULL, arena_thread, NULL) || pthread_join(th, NULL))
		t_die("cannot run a thread");
	t_done();
	return 0;
}
