// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * alloc_pool: a program that replaces operator new/delete with its own pool (a static arena
 * with per-size free lists; it never calls malloc), so only probes on its own operators can
 * see its allocations.  frames[0] must be the caller of new.  Truth: $DRIP_TRUTH.
 */
#include "target.h"

#include <new>

#define POOL_BYTES (4u << 20)
#define POOL_CLASSES 64 /* 16-byte classes up to 1 KiB */

static unsigned char pool[POOL_BYTES] __attribute__((aligned(16)));
static size_t pool_used;
static void *free_list[POOL_CLASSES + 1];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

/* Each block carries its class in the 16 bytes before it */
static void *pool_get(size_t n)
{
	size_t cls = (n + 15) / 16, bytes = cls * 16 + 16;
	void *p = NULL;

	if (cls > POOL_CLASSES)
		throw std::bad_alloc();
	pthread_mutex_lock(&pool_lock);
	if (free_list[cls]) {
		p = free_list[cls];
		free_list[cls] = *(void **)p;
	} else if (pool_used + bytes <= POOL_BYTES) {
		*(size_t *)(pool + pool_used) = cls;
		p = pool + pool_used + 16;
		pool_used += bytes;
	}
	pthread_mutex_unlock(&pool_lock);
	if (!p)
		throw std::bad_alloc();
	return p;
}

static void pool_put(void *p)
{
	size_t cls;

	if (!p)
		return;
	cls = *(size_t *)((unsigned char *)p - 16);
	pthread_mutex_lock(&pool_lock);
	*(void **)p = free_list[cls];
	free_list[cls] = p;
	pthread_mutex_unlock(&pool_lock);
}

void *operator new(size_t n)
{
	return pool_get(n);
}

void *operator new[](size_t n)
{
	return pool_get(n);
}

void operator delete(void *p) noexcept
{
	pool_put(p);
}

void operator delete[](void *p) noexcept
{
	pool_put(p);
}

void operator delete(void *p, size_t) noexcept
{
	pool_put(p);
}

void operator delete[](void *p, size_t) noexcept
{
	pool_put(p);
}

struct Node {
	Node *next;
	long payload[5]; /* 48 bytes */
};

T_NOINLINE static Node *pool_leak_nodes(void)
{
	Node *head = nullptr;

	for (int i = 0; i < 12; i++) {
		Node *n = new Node();

		t_alloc(__func__, n, sizeof(Node));
		n->next = head;
		head = n;
	}
	return head;
}

T_NOINLINE static void pool_leak_array(void)
{
	for (int i = 0; i < 3; i++) {
		char *a = new char[900];

		t_alloc(__func__, a, 900);
	}
}

/* Balanced: blocks go back to the pool and come out again at the same addresses */
T_NOINLINE static void pool_churn(void)
{
	for (int i = 0; i < 200; i++) {
		Node *n = new Node();
		char *a = new char[40 + i % 100];

		t_alloc(__func__, n, sizeof(Node));
		t_alloc(__func__, a, 40 + i % 100);
		t_note_free((uintptr_t)n);
		delete n;
		t_note_free((uintptr_t)a);
		delete[] a;
	}
}

int main()
{
	static Node *keep;

	t_init("alloc_pool");
	t_complete_under("main");
	keep = pool_leak_nodes();
	pool_leak_array();
	pool_churn();
	t_done();
	return keep ? 0 : 1;
}
