// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * churn: malloc+free pairs of sizes 16..4096 bytes, nothing outstanding.
 *
 * usage: churn N            N pairs, then exit
 *        churn --time N     N pairs, then print "ns_per_pair X" on stdout
 *        churn --loop [MS]  pairs until SIGINT/SIGTERM, printing "ns_per_pair X" every MS ms
 *                           (default 100), then exit 0
 * Output is formatted on the stack and written with write(2): stdio would malloc a buffer.
 * Truth ($DRIP_TRUTH): churn_pair made as many allocs as frees.
 */
#include "target.h"

static volatile sig_atomic_t stop;
static uint64_t pair_bytes; /* bytes churn_pair allocated, for the truth */

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

T_NOINLINE static void churn_pair(size_t size)
{
	char *p = malloc(size);

	if (!p)
		t_die("out of memory");
	p[0] = 1;
	free(p);
	pair_bytes += size;
}

/* Sizes 16, 32, ..., 4096 in a scattered order */
static size_t pair_size(uint64_t i)
{
	return 16 + (i * 37 % 256) * 16;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void say_ns(double ns_per_pair)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "ns_per_pair %.1f\n", ns_per_pair);

	if (write(1, line, n) != n && !stop)
		t_die("cannot write to stdout");
}

static uint64_t run_pairs(uint64_t n, uint64_t first)
{
	for (uint64_t i = 0; i < n; i++)
		churn_pair(pair_size(first + i));
	return n;
}

static uint64_t loop(long ms)
{
	struct sigaction sa = { .sa_handler = on_stop };
	uint64_t done = 0, since = 0;
	double start = now_ns(), t;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop) {
		since += run_pairs(1000, done + since);
		t = now_ns();
		if (t - start >= ms * 1e6) {
			say_ns((t - start) / since);
			done += since;
			since = 0;
			start = t;
		}
	}
	return done + since;
}

static long arg_num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v <= 0) {
		t_say("churn: bad number '%s'\n", s);
		_exit(1);
	}
	return v;
}

int main(int argc, char **argv)
{
	uint64_t n;
	double t;

	t_init("churn");
	if (argc == 2 && argv[1][0] != '-') {
		n = run_pairs(arg_num(argv[1]), 0);
	} else if (argc == 3 && !strcmp(argv[1], "--time")) {
		t = now_ns();
		n = run_pairs(arg_num(argv[2]), 0);
		say_ns((now_ns() - t) / n);
	} else if ((argc == 2 || argc == 3) && !strcmp(argv[1], "--loop")) {
		n = loop(argc == 3 ? arg_num(argv[2]) : 100);
	} else {
		t_say("usage: churn N | churn --time N | churn --loop [MS]\n");
		return 1;
	}
	t_tally("churn_pair", n, n, pair_bytes);
	t_done();
	return 0;
}
