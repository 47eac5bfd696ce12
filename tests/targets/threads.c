// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * threads: cross-thread frees and per-thread leaks in one process.
 * - The producer thread allocates NBLOCKS blocks in produce_block and hands them through a
 *   bounded queue to the consumer thread, which frees them: produce_block's stack ends with
 *   allocs = frees = NBLOCKS and nothing outstanding.
 * - Three leaker threads each leak a different amount from thread_leak (one stack).
 * Writes nothing to stdout; truth goes to $DRIP_TRUTH.
 */
#include "target.h"

#define NBLOCKS	 5000
#define QSIZE	 64
#define NLEAKERS 3

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	void *slot[QSIZE];
	unsigned head, count;
} q = { .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER };

static void q_push(void *p)
{
	pthread_mutex_lock(&q.lock);
	while (q.count == QSIZE)
		pthread_cond_wait(&q.changed, &q.lock);
	q.slot[(q.head + q.count++) % QSIZE] = p;
	pthread_cond_broadcast(&q.changed);
	pthread_mutex_unlock(&q.lock);
}

static void *q_pop(void)
{
	void *p;

	pthread_mutex_lock(&q.lock);
	while (!q.count)
		pthread_cond_wait(&q.changed, &q.lock);
	p = q.slot[q.head];
	q.head = (q.head + 1) % QSIZE;
	q.count--;
	pthread_cond_broadcast(&q.changed);
	pthread_mutex_unlock(&q.lock);
	return p;
}

T_NOINLINE static void *produce_block(size_t size)
{
	void *p = malloc(size);

	t_alloc(__func__, p, size);
	if (!p)
		t_die("out of memory");
	return p;
}

static void *producer(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < NBLOCKS; i++)
		q_push(produce_block(24 + (i % 50) * 16));
	q_push(NULL);
	return NULL;
}

static void *consumer(void *arg)
{
	void *p;

	(void)arg;
	while ((p = q_pop()))
		t_free(p); /* freed by another thread than the one that allocated it */
	return NULL;
}

/* Thread k leaks (k + 1) * 10 blocks of 1000 * (k + 1) bytes: 10000, 40000, 90000 bytes */
T_NOINLINE static void thread_leak(unsigned k)
{
	for (unsigned i = 0; i < (k + 1) * 10; i++) {
		void *p = malloc(1000 * (k + 1));

		t_alloc(__func__, p, 1000 * (k + 1));
	}
}

static void *leaker(void *arg)
{
	thread_leak((unsigned)(uintptr_t)arg);
	return NULL;
}

int main(void)
{
	pthread_t prod, cons, leakers[NLEAKERS];

	t_init("threads");
	if (pthread_create(&cons, NULL, consumer, NULL) ||
	    pthread_create(&prod, NULL, producer, NULL))
		t_die("cannot start threads");
	for (uintptr_t k = 0; k < NLEAKERS; k++) {
		if (pthread_create(&leakers[k], NULL, leaker, (void *)k))
			t_die("cannot start threads");
	}
	for (int k = 0; k < NLEAKERS; k++)
		pthread_join(leakers[k], NULL);
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	t_info("cross_thread_blocks", NBLOCKS);
	t_done();
	return 0;
}
