// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * spawnpool: a spawn-style pool.  main allocates its own state (main_state), then starts 3
 * workers by fork + exec of this same binary ("spawnpool worker I"): each worker is a fresh
 * image that inherits no heap.  Worker i leaks (i + 1) * 32 KiB in 50 * (i + 1) blocks from
 * worker_leak (one stack in all workers: one merged row with pids = 3) and frees its scratch.
 * main reaps them and leaks its state.  Each process appends its truth line to $DRIP_TRUTH.
 */
#include "target.h"

#define NWORKERS 3

T_NOINLINE static void main_state(void)
{
	for (int i = 0; i < 10; i++) {
		void *p = malloc(4000);

		t_alloc(__func__, p, 4000);
	}
}

T_NOINLINE static void worker_leak(size_t size)
{
	void *p = malloc(size);

	t_alloc(__func__, p, size);
}

T_NOINLINE static void *worker_scratch(size_t size)
{
	void *p = malloc(size);

	t_alloc(__func__, p, size);
	return p;
}

static int run_worker(int i)
{
	size_t total = (size_t)(i + 1) * 32 * 1024;
	unsigned n = 50 * (i + 1);

	t_init("spawnpool-worker");
	for (unsigned k = 0; k < n; k++) {
		worker_leak(total / n + (k < total % n));
		t_free(worker_scratch(16 + k));
	}
	t_info("worker", i);
	t_info("leak_bytes", total);
	t_info("leak_blocks", n);
	t_done();
	return 0;
}

int main(int argc, char **argv)
{
	pid_t pids[NWORKERS];

	if (argc == 3 && !strcmp(argv[1], "worker"))
		return run_worker(atoi(argv[2]));
	t_init("spawnpool");
	main_state();
	for (int i = 0; i < NWORKERS; i++) {
		char idx[16];

		snprintf(idx, sizeof(idx), "%d", i);
		pids[i] = fork();
		if (pids[i] < 0)
			t_die("fork: %s", strerror(errno));
		if (!pids[i]) {
			execl("/proc/self/exe", "spawnpool", "worker", idx, (char *)NULL);
			_exit(127);
		}
		t_child(pids[i]);
	}
	for (int i = 0; i < NWORKERS; i++)
		t_reap(pids[i]);
	t_done();
	return 0;
}
