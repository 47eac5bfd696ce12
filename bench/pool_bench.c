// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * pool_bench: a parent forks W workers (fork, no exec; default 4), each doing M malloc+free
 * pairs of 16..4096 bytes, and waits for them all.
 *
 * usage: pool_bench PAIRS_PER_WORKER [WORKERS]
 * Prints "ns_per_pair X workers W pairs P" on stdout: the parent's wall time from just before
 * the first fork to the last reap, divided by all pairs made. It includes fork and exit, as a
 * real worker pool would, and the workers share the machine's cores.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static size_t pair_size(uint64_t i)
{
	return 16 + (i * 37 % 256) * 16;
}

__attribute__((noinline)) static void worker_pair(size_t size)
{
	char *p = malloc(size);

	if (!p)
		abort();
	p[0] = 1;
	free(p);
}

__attribute__((noinline)) static void run_worker(int w, long pairs)
{
	for (long i = 0; i < pairs; i++)
		worker_pair(pair_size(w * 7919 + i));
	_exit(0); /* not exit(): the parent's stdio buffers are not ours to flush */
}

static long arg_num(const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v <= 0 || v > max) {
		fprintf(stderr, "pool_bench: bad number '%s'\n", s);
		exit(1);
	}
	return v;
}

int main(int argc, char **argv)
{
	long pairs, workers = 4, failed = 0;
	char line[128];
	double t0;
	int n, status;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: pool_bench PAIRS_PER_WORKER [WORKERS]\n");
		return 1;
	}
	pairs = arg_num(argv[1], 1L << 40);
	if (argc == 3)
		workers = arg_num(argv[2], 1024);
	t0 = now_ns();
	for (long w = 0; w < workers; w++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("pool_bench: fork");
			return 1;
		}
		if (!pid)
			run_worker(w, pairs);
	}
	while (wait(&status) > 0)
		failed += !WIFEXITED(status) || WEXITSTATUS(status);
	n = snprintf(line, sizeof(line), "ns_per_pair %.1f workers %ld pairs %ld\n",
		     (now_ns() - t0) / (workers * pairs), workers, workers * pairs);
	if (write(1, line, n) != n || failed) {
		fprintf(stderr, "pool_bench: %ld workers failed\n", failed);
		return 1;
	}
	return 0;
}
