// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * demo_trainer: the `make demo` workload, a small multi-process "trainer".
 * The parent forks 3 workers. Each worker processes batches for SECONDS (default 2): per
 * batch, tokenize() allocates and frees its scratch (balanced) and parse_record() leaks a few
 * hundred bytes, a different amount per worker and per batch (like a leaking C-extension
 * parser). Meanwhile the parent's model cache grows in cache_model(). At the end the parent
 * prints one line per worker and one for itself.
 *
 * usage: demo_trainer [SECONDS]
 * Truth goes to $DRIP_TRUTH (one line per process).
 */
#include "target.h"

#define NWORKERS 3

struct worker_report {
	int worker;
	int pid;
	uint64_t batches;
	uint64_t leaked;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nap_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Balanced: an array of tokens, each a small string, all freed */
T_NOINLINE static size_t tokenize(uint64_t batch)
{
	unsigned n = 8 + batch % 9;
	char **tok = malloc(n * sizeof(*tok));
	size_t total = 0;

	t_alloc(__func__, tok, n * sizeof(*tok));
	if (!tok)
		t_die("out of memory");
	for (unsigned i = 0; i < n; i++) {
		size_t len = 5 + (batch + i) % 27;

		tok[i] = malloc(len);
		t_alloc(__func__, tok[i], len);
		if (!tok[i])
			t_die("out of memory");
		memset(tok[i], 'a' + i % 26, len - 1);
		tok[i][len - 1] = 0;
		total += strlen(tok[i]);
	}
	for (unsigned i = 0; i < n; i++)
		t_free(tok[i]);
	t_free(tok);
	return total;
}

/* The leak: the record is kept "for later" and never freed */
T_NOINLINE static size_t parse_record(int worker, uint64_t batch)
{
	size_t size = 64 * (worker + 1) + 8 * (batch % 5);
	char *rec = malloc(size);

	t_alloc(__func__, rec, size);
	if (rec)
		memset(rec, 0, size);
	return rec ? size : 0;
}

T_NOINLINE static void run_worker(int w, double seconds, int out)
{
	struct worker_report r = { .worker = w, .pid = getpid() };
	double end = now_s() + seconds;

	while (now_s() < end) {
		tokenize(r.batches);
		r.leaked += parse_record(w, r.batches);
		r.batches++;
		nap_ms(1);
	}
	if (write(out, &r, sizeof(r)) != sizeof(r))
		t_die("cannot report to the parent");
	t_info("worker", w);
	t_info("batches", r.batches);
	t_info("leaked", r.leaked);
	t_done();
	_exit(0);
}

/* The parent's model cache only ever grows */
T_NOINLINE static size_t cache_model(unsigned step)
{
	size_t size = 4096 + 512 * (step % 4);
	void *p = malloc(size);

	t_alloc(__func__, p, size);
	if (p)
		memset(p, 1, size);
	return p ? size : 0;
}

static int all_exited(pid_t *pids)
{
	int status, left = 0;

	for (int i = 0; i < NWORKERS; i++) {
		if (!pids[i])
			continue;
		if (waitpid(pids[i], &status, WNOHANG) == pids[i]) {
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				t_die("worker %d failed (status %#x)", i, status);
			pids[i] = 0;
		} else {
			left++;
		}
	}
	return !left;
}

int main(int argc, char **argv)
{
	struct worker_report r[NWORKERS];
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	pid_t pids[NWORKERS];
	size_t cached = 0;
	unsigned steps = 0;
	int fds[2];

	t_init("demo_trainer");
	if (seconds <= 0 || seconds > 3600 || pipe(fds))
		t_die("usage: demo_trainer [SECONDS]");
	for (int i = 0; i < NWORKERS; i++) {
		pids[i] = t_fork();
		if (!pids[i]) {
			close(fds[0]);
			run_worker(i, seconds, fds[1]);
		}
	}
	close(fds[1]);
	while (!all_exited(pids)) {
		cached += cache_model(steps++);
		nap_ms(20);
	}
	for (int i = 0; i < NWORKERS; i++) {
		struct worker_report one;

		if (read(fds[0], &one, sizeof(one)) != sizeof(one) || one.worker < 0 ||
		    one.worker >= NWORKERS)
			t_die("lost a worker's report");
		r[one.worker] = one;
	}
	for (int i = 0; i < NWORKERS; i++)
		printf("worker %d (pid %d): %" PRIu64 " batches, parse_record leaked %" PRIu64
		       " bytes\n",
		       r[i].worker, r[i].pid, r[i].batches, r[i].leaked);
	printf("trainer (pid %d): model cache holds %zu bytes in %u entries\n", (int)getpid(),
	       cached, steps);
	fflush(stdout);
	t_info("cached", cached);
	t_done();
	return 0;
}
