// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * pool: a parent forks 4 workers (fork, no exec). Worker i leaks exactly (i + 1) * 100 KiB in
 * 1000 + i blocks from worker_leak (one call site, so one stack shared by all workers: one
 * merged row with pids = 4), frees everything else it allocates, and exits. The parent waits
 * for all of them, then leaks 100000 bytes from parent_leak.
 * Writes nothing to stdout; each process appends its truth line to $DRIP_TRUTH.
 */
#include "target.h"

#define NWORKERS 4

T_NOINLINE static void worker_leak(size_t size)
{
	void *p = malloc(size);

	t_alloc(__func__, p, size);
}

/* Balanced: allocated and freed by the worker */
T_NOINLINE static void *worker_scratch(size_t size)
{
	void *p = malloc(size);

	t_alloc(__func__, p, size);
	return p;
}

T_NOINLINE static void run_worker(int i)
{
	size_t total = (size_t)(i + 1) * 100 * 1024;
	unsigned n = 1000 + i;

	for (unsigned k = 0; k < n; k++) {
		/* block sizes differ by at most 1 and add up to total exactly */
		worker_leak(total / n + (k < total % n));
		t_free(worker_scratch(32 + k % 200));
	}
	t_info("worker", i);
	t_info("leak_bytes", total);
	t_info("leak_blocks", n);
	t_done();
	_exit(0);
}

T_NOINLINE static void parent_leak(void)
{
	for (int i = 0; i < 2; i++) {
		void *p = malloc(50000);

		t_alloc(__func__, p, 50000);
	}
}

int main(void)
{
	pid_t pids[NWORKERS];

	t_init("pool");
	for (int i = 0; i < NWORKERS; i++) {
		pids[i] = t_fork();
		if (!pids[i])
			run_worker(i);
	}
	for (int i = 0; i < NWORKERS; i++)
		t_reap(pids[i]);
	parent_leak();
	t_done();
	return 0;
}
