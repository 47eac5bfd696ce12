// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * forkserver: a fork-server pool.  main loads a "model" (MODEL_BLOCKS blocks from main_model),
 * then forks a server that preloads its own blocks (server_preload) and forks 3 workers.
 * Worker i frees (i + 1) * 4 of the model's blocks and (i + 1) * 2 of the server's, blocks it
 * inherited through one or two forks (raw free: they are not the worker's truth), leaks
 * (i + 1) * 64 KiB in 100 * (i + 1) blocks from worker_leak (one stack shared by all workers),
 * and exits.  The server reaps its workers and exits; main frees its model and exits.
 * The truth of inherited frees goes to "info": inherited_frees_model/_server (counts) and
 * inherited_kept_bytes (what the worker still holds of main's and the server's blocks).
 */
#include "target.h"

#define NWORKERS      3
#define MODEL_BLOCKS  64
#define MODEL_SIZE    1000
#define SERVER_BLOCKS 16
#define SERVER_SIZE   3000

static void *model[MODEL_BLOCKS];
static void *preload[SERVER_BLOCKS];

T_NOINLINE static void main_model(void)
{
	for (int i = 0; i < MODEL_BLOCKS; i++) {
		model[i] = malloc(MODEL_SIZE);
		t_alloc(__func__, model[i], MODEL_SIZE);
	}
}

T_NOINLINE static void server_preload(void)
{
	for (int i = 0; i < SERVER_BLOCKS; i++) {
		preload[i] = malloc(SERVER_SIZE);
		t_alloc(__func__, preload[i], SERVER_SIZE);
	}
}

T_NOINLINE static void worker_leak(size_t size)
{
	void *p = malloc(size);

	t_alloc(__func__, p, size);
}

T_NOINLINE static void run_worker(int i)
{
	size_t total = (size_t)(i + 1) * 64 * 1024;
	unsigned n = 100 * (i + 1), fm = (i + 1) * 4, fs = (i + 1) * 2;

	/* inherited: the truth of this process starts empty (t_fork), so free them raw */
	for (unsigned k = 0; k < fm; k++)
		free(model[k]);
	for (unsigned k = 0; k < fs; k++)
		free(preload[k]);
	for (unsigned k = 0; k < n; k++)
		worker_leak(total / n + (k < total % n));
	t_info("worker", i);
	t_info("leak_bytes", total);
	t_info("leak_blocks", n);
	t_info("inherited_frees_model", fm);
	t_info("inherited_frees_server", fs);
	t_info("inherited_kept_bytes", (long long)(MODEL_BLOCKS - fm) * MODEL_SIZE +
					       (long long)(SERVER_BLOCKS - fs) * SERVER_SIZE);
	t_done();
	_exit(0);
}

T_NOINLINE static void run_server(void)
{
	pid_t pids[NWORKERS];

	server_preload();
	for (int i = 0; i < NWORKERS; i++) {
		pids[i] = t_fork();
		if (!pids[i])
			run_worker(i);
	}
	for (int i = 0; i < NWORKERS; i++)
		t_reap(pids[i]);
	t_info("server", 1);
	t_done();
	_exit(0);
}

int main(void)
{
	pid_t server;

	t_init("forkserver");
	main_model();
	server = t_fork();
	if (!server)
		run_server();
	t_reap(server);
	for (int i = 0; i < MODEL_BLOCKS; i++)
		t_free(model[i]);
	t_done();
	return 0;
}
