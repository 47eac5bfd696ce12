// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * churn_mt: T threads, each doing N malloc+free pairs of 16..4096 bytes, nothing outstanding.
 *
 * usage: churn_mt THREADS PAIRS_PER_THREAD
 * Prints "ns_per_pair X threads T pairs P" on stdout, where X is the wall time from the first
 * thread starting its pairs to the last one finishing, divided by all pairs made: an aggregate
 * figure, so with 2 threads on 2 free cores it is about half the per-thread cost. Threads start
 * together (a barrier), so thread creation is not in it, and each takes its own timestamps: a
 * main thread timing around the barrier can be descheduled while the workers run.
 * Built with -fno-builtin-malloc -fno-builtin-free so the compiler keeps every call.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

struct worker {
	pthread_t tid;
	unsigned idx;
	double start_ns, end_ns;
};

static pthread_barrier_t start_line;
static long pairs_per_thread;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Same size pattern as tests/targets/churn.c: 16, 32, ..., 4096 in a scattered order */
static size_t pair_size(uint64_t i)
{
	return 16 + (i * 37 % 256) * 16;
}

__attribute__((noinline)) static void churn_pair(size_t size)
{
	char *p = malloc(size);

	if (!p)
		abort();
	p[0] = 1;
	free(p);
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t first = w->idx * 7919;

	pthread_barrier_wait(&start_line);
	w->start_ns = now_ns();
	for (long i = 0; i < pairs_per_thread; i++)
		churn_pair(pair_size(first + i));
	w->end_ns = now_ns();
	return NULL;
}

static long arg_num(const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v <= 0 || v > max) {
		fprintf(stderr, "churn_mt: bad number '%s'\n", s);
		exit(1);
	}
	return v;
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	double first = 0, last = 0;
	char line[128];
	long nthreads;
	int n;

	if (argc != 3) {
		fprintf(stderr, "usage: churn_mt THREADS PAIRS_PER_THREAD\n");
		return 1;
	}
	nthreads = arg_num(argv[1], MAX_THREADS);
	pairs_per_thread = arg_num(argv[2], 1L << 40);
	pthread_barrier_init(&start_line, NULL, nthreads);
	for (long i = 0; i < nthreads; i++) {
		int err;

		workers[i].idx = i;
		err = pthread_create(&workers[i].tid, NULL, run_worker, &workers[i]);
		if (err) {
			fprintf(stderr, "churn_mt: cannot create thread: %s\n", strerror(err));
			return 1;
		}
	}
	for (long i = 0; i < nthreads; i++) {
		pthread_join(workers[i].tid, NULL);
		if (!i || workers[i].start_ns < first)
			first = workers[i].start_ns;
		if (workers[i].end_ns > last)
			last = workers[i].end_ns;
	}
	/* Formatted on the stack and written with write(2): stdio would malloc */
	n = snprintf(line, sizeof(line), "ns_per_pair %.1f threads %ld pairs %ld\n",
		     (last - first) / (nthreads * pairs_per_thread), nthreads,
		     nthreads * pairs_per_thread);
	return write(1, line, n) == n ? 0 : 1;
}
