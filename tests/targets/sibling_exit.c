// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * sibling_exit: a long-lived worker keeps allocating while short-lived siblings come and go on
 * the same CPU.  Perf swaps the inherited contexts of sibling tasks on a context switch; a
 * sibling that exits holding the long-lived worker's context must not take the worker's
 * probes with it (the worker would go on running untraced).
 *
 * Everything runs on one CPU so that the siblings and the worker switch directly into each
 * other, and each of them sleeps now and then so that idle comes between them.  The worker
 * churns balanced pairs until the last sibling has been reaped, then leaks 1000 blocks from
 * survivor_leak: drip must see all of them.
 */
#define _GNU_SOURCE
#include <sched.h>

#include "target.h"

#define NSIBLINGS 24

T_NOINLINE static void *worker_churn(size_t size)
{
	void *p = malloc(size);

	t_alloc(__func__, p, size);
	return p;
}

T_NOINLINE static void survivor_leak(size_t size)
{
	void *p = malloc(size);

	t_alloc(__func__, p, size);
}

T_NOINLINE static void *sibling_churn(size_t size)
{
	void *p = malloc(size);

	t_alloc(__func__, p, size);
	return p;
}

static void run_worker(int done_fd)
{
	char c;

	/* until the parent closes the pipe: every sibling has been reaped */
	for (unsigned k = 0; read(done_fd, &c, 1) != 0; k++) {
		if (k > 1000000)
			t_die("the parent never closed the pipe");
		for (int i = 0; i < 50; i++)
			t_free(worker_churn(16 + (k + i) % 512));
		usleep(50);
	}
	for (int i = 0; i < 1000; i++)
		survivor_leak(100);
	t_done();
	_exit(0);
}

static void run_sibling(void)
{
	for (int round = 0; round < 20; round++) {
		t_free(sibling_churn(64));
		if (round % 2)
			sched_yield();
		else
			usleep(100);
	}
	t_done();
	_exit(0);
}

int main(void)
{
	cpu_set_t one;
	int pipefd[2];
	pid_t worker;

	t_init("sibling_exit");
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		t_die("sched_setaffinity: %s", strerror(errno));
	if (pipe(pipefd))
		t_die("pipe: %s", strerror(errno));
	/* the worker polls the pipe: non-blocking read end, EOF once the parent closes it */
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	worker = t_fork();
	if (!worker) {
		close(pipefd[1]);
		run_worker(pipefd[0]);
	}
	close(pipefd[0]);
	for (int i = 0; i < NSIBLINGS; i++) {
		pid_t sib = t_fork();

		if (!sib)
			run_sibling();
		t_reap(sib);
	}
	close(pipefd[1]);
	t_reap(worker);
	t_done();
	return 0;
}
