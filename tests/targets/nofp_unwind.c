// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * nofp_unwind: stacks without frame pointers (built -O2 -fomit-frame-pointer,
 * like Debian's libc and python).  Each leaking function names the call chain
 * that leads to it; the truth file lists those chains, innermost first, as
 * the program itself knows them.
 *   deep8 <- deep7 <- ... <- deep1 <- main        depth-8 chain in this file
 *   cmp_leak <- (libc qsort) <- sort_with_leaks <- main   through Debian's libc
 *   sig_leak <- (signal frame) <- sig_raiser <- main      a signal handler
 *   dl_leak <- call_dl <- main                    a library dlopen'ed at run time
 *   thread_leaf <- thread_main                     threads (then libc's start)
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))

void sort_with_leaks(int *v, size_t n);

void *kept[64]; /* global: stores to it are not dead, so -O2 keeps the mallocs */
static int nkept;
volatile int sink;

#define DEEP(n, next)             \
	NOIPA void deep##n(void)  \
	{                         \
		next();           \
		sink++;           \
	}

NOIPA void deep8(void)
{
	for (int i = 0; i < 3; i++)
		kept[nkept++] = malloc(1111);
	sink++;
}
DEEP(7, deep8)
DEEP(6, deep7)
DEEP(5, deep6)
DEEP(4, deep5)
DEEP(3, deep4)
DEEP(2, deep3)
DEEP(1, deep2)

/*
 * Twin paths: twin_a and twin_b have the same code and frame size, so when
 * twin_leaf allocates, every register is the same on both paths; only the
 * return address in the stack differs.  A walk that reused the previous
 * walk's outer frames without checking it would give one path the other's.
 */
void *twins[64];
static int ntwins;

NOIPA void twin_leaf(int size)
{
	twins[ntwins++] = malloc(size);
	sink++;
}

NOIPA void twin_a(void)
{
	twin_leaf(100);
	sink++;
}

NOIPA void twin_b(void)
{
	twin_leaf(200);
	sink++;
}

NOIPA void sig_leak(int sig)
{
	(void)sig;
	kept[nkept++] = malloc(3333);
	sink++;
}

NOIPA void sig_raiser(void)
{
	raise(SIGUSR1);
	sink++;
}

NOIPA void call_dl(const char *dir)
{
	char path[4096];
	void (*fn)(void);
	void *h;

	snprintf(path, sizeof(path), "%s/libnofp_dl.so", dir);
	h = dlopen(path, RTLD_NOW);
	if (!h) {
		fprintf(stderr, "nofp_unwind: %s\n", dlerror());
		exit(1);
	}
	fn = (void (*)(void))dlsym(h, "dl_leak");
	/*
	 * A library loaded after attach gets its unwind table built when it is
	 * mapped; the few stacks through it before that are cut short (and
	 * flagged).  A real program runs on after loading: so does this one.
	 */
	usleep(300 * 1000);
	fn();
	sink++;
}

NOIPA void thread_leaf(void)
{
	kept[nkept + 40] = malloc(5555); /* a slot of its own: threads run one at a time */
	sink++;
}

NOIPA void *thread_main(void *arg)
{
	thread_leaf();
	sink++;
	return arg;
}

static void write_truth(void)
{
	const char *path = getenv("DRIP_TRUTH");
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "w");
	if (!f)
		return;
	/* "prefix": frames[0..] exactly; "then": later frames in this order (others may sit between) */
	fprintf(f, "{\"pid\": %d, \"leaks\": {\n"
		   " \"deep8\": {\"bytes\": %d, \"allocs\": 3, \"prefix\": [\"deep8\", \"deep7\", \"deep6\", \"deep5\", \"deep4\", \"deep3\", \"deep2\", \"deep1\", \"main\"]},\n"
		   " \"cmp_leak\": {\"bytes\": %d, \"allocs\": 5, \"prefix\": [\"cmp_leak\"], \"then\": [\"sort_with_leaks\", \"main\"], \"via_module\": \"libc.so\"},\n"
		   " \"sig_leak\": {\"bytes\": %d, \"allocs\": 1, \"prefix\": [\"sig_leak\"], \"then\": [\"sig_raiser\", \"main\"]},\n"
		   " \"dl_leak\": {\"bytes\": %d, \"allocs\": 4, \"prefix\": [\"dl_leak\", \"call_dl\", \"main\"]},\n"
		   " \"thread_leaf\": {\"bytes\": %d, \"allocs\": 2, \"prefix\": [\"thread_leaf\", \"thread_main\"]}\n"
		   "}, \"twins\": {\"twin_a\": {\"bytes\": %d, \"allocs\": 10}, \"twin_b\": {\"bytes\": %d, \"allocs\": 10}}}\n",
		getpid(), 3 * 1111, 5 * 2222, 3333, 4 * 4444, 2 * 5555, 10 * 100, 10 * 200);
	fclose(f);
}

int main(int argc, char **argv)
{
	int v[64];
	pthread_t t;
	char dir[4096];

	strncpy(dir, argv[0], sizeof(dir) - 1);
	dir[sizeof(dir) - 1] = 0;
	*(strrchr(dir, '/') ? strrchr(dir, '/') : dir) = 0;
	signal(SIGUSR1, sig_leak);
	for (int i = 0; i < 64; i++)
		v[i] = (i * 37) % 64;
	deep1();
	for (int i = 0; i < 10; i++) {
		twin_a();
		twin_b();
	}
	sort_with_leaks(v, 64);
	sig_raiser();
	call_dl(argc > 1 ? argv[1] : dir);
	for (int i = 0; i < 2; i++) {
		pthread_create(&t, NULL, thread_main, NULL);
		pthread_join(t, NULL);
		nkept++;
	}
	write_truth();
	return 0;
}
