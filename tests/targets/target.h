/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * target.h: ground truth for drip's end-to-end test targets.
 *
 * A target calls the allocator itself, from a __attribute__((noinline)) function whose name
 * is the one drip must report as frames[0], and then tells this file what happened:
 *
 *	p = malloc(1111);
 *	t_alloc(__func__, p, 1111);	// counts only if p != NULL
 *	old = (uintptr_t)p;
 *	q = realloc(p, 2222);
 *	t_realloc(__func__, old, q, 2222);
 *	...
 *	t_free(q);			// bookkeeping, then free(q)
 *
 * The bookkeeping follows drip's counting rules (docs/INTERFACE.md, valgrind's rules): a failed
 * call counts nothing, free(NULL) counts nothing, realloc(p, n > 0) is one free plus one alloc,
 * realloc(NULL, n) one alloc, realloc(p, 0) one free, a 0-byte block is an alloc. A free is
 * charged to the function that allocated the block, whoever frees it.
 *
 * At the end each process calls t_done(), which appends ONE line of JSON to the file named by
 * $DRIP_TRUTH (if set) with a single write(2), so forked workers and exec'ed children can share
 * the file:
 *
 *	{"prog": "pool", "pid": 12, "ppid": 11, "comm": "pool",
 *	 "allocs": 2003, "frees": 1001, "unknown_frees": 0,
 *	 "outstanding_bytes": 102400, "outstanding_allocs": 1000, "alloc_bytes": 204900,
 *	 "funcs": {"worker_leak": {"kind": "heap", "allocs": 1000, "frees": 0,
 *				   "outstanding_bytes": 102400, "outstanding_allocs": 1000,
 *				   "alloc_bytes": 102400}, ...},
 *	 "unseen": {...same shape: blocks allocated before drip attached...},
 *	 "absent": ["fail_calls"],	// made allocator calls that must count nothing
 *	 "complete_under": ["main"],	// every allocation below these frames is in "funcs"
 *	 "children": [13, 14], "info": {"worker": 0}}
 *
 * "kind" is "heap" or "mmap" (anonymous mmap made by the program itself). alloc_bytes sums
 * the sizes of the allocs (a realloc's: its new size), freed or not. Top-level counts
 * cover only what drip can see (not "unseen"); unknown_frees counts frees of unseen blocks.
 *
 * Attach tests: with $DRIP_WAIT set, target_wait_go() blocks SIGUSR1, says
 * "drip-target: ready pid N" on stderr and waits (at most T_WAIT_TIMEOUT s) for SIGUSR1;
 * blocks allocated before that are "unseen" (drip was not attached yet). The harness waits for
 * the ready line, attaches drip, waits for drip's "attached" line, then sends SIGUSR1.
 *
 * Nothing here calls malloc: the block table is static and the truth line is formatted on the
 * stack, so the bookkeeping never shows up in drip's report.
 */
#ifndef DRIP_TARGET_H
#define DRIP_TARGET_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T_NOINLINE     __attribute__((noinline))
#define T_UNUSED       __attribute__((unused))
#define T_FORMAT(a, b) __attribute__((format(printf, a, b)))

#define T_MAX_FUNCS    64
#define T_MAX_NAMES    16
#define T_MAX_CHILDREN 64
#define T_MAX_INFO     16
#define T_TABLE_BITS   18 /* 262144 live blocks; the table is bss, touched only where used */
#define T_WAIT_TIMEOUT 60 /* seconds target_wait_go() waits for SIGUSR1 */
#define T_LINE_MAX     (64 * 1024)

enum t_kind { T_HEAP, T_MMAP };

struct t_stat {
	uint64_t allocs;
	uint64_t alloc_bytes; /* the sizes of allocs, summed */
	uint64_t frees;
	uint64_t bytes;	 /* outstanding */
	uint64_t blocks; /* outstanding */
};

struct t_func {
	const char *name;
	int kind;
	struct t_stat seen;   /* allocated while drip could see it */
	struct t_stat unseen; /* allocated before target_wait_go() returned */
};

struct t_block {
	uintptr_t addr; /* 0: empty slot */
	size_t size;
	uint16_t func;
	uint8_t unseen;
};

struct t_info_kv {
	const char *key;
	long long val;
};

static struct {
	pthread_mutex_t lock;
	const char *prog;
	int before_go; /* $DRIP_WAIT set and target_wait_go() not returned yet */
	struct t_func funcs[T_MAX_FUNCS];
	unsigned nfuncs;
	const char *absent[T_MAX_NAMES];
	unsigned nabsent;
	const char *complete[T_MAX_NAMES];
	unsigned ncomplete;
	pid_t children[T_MAX_CHILDREN];
	unsigned nchildren;
	struct t_info_kv info[T_MAX_INFO];
	unsigned ninfo;
	uint64_t unknown_frees;
	size_t nblocks;
} t_state = { .lock = PTHREAD_MUTEX_INITIALIZER, .prog = "target" };

static struct t_block t_table[1u << T_TABLE_BITS];

/* Print one line to stderr without stdio (stdio would malloc a buffer) */
static T_UNUSED T_FORMAT(1, 2) void t_say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (write(2, buf, n) < 0)
		return;
}

/* A target that cannot keep its truth exact must not exit 0 */
#define t_die(fmt, ...)                                              \
	do {                                                         \
		t_say("%s: " fmt "\n", t_state.prog, ##__VA_ARGS__); \
		_exit(99);                                           \
	} while (0)

static T_UNUSED void t_init(const char *prog)
{
	const char *w = getenv("DRIP_WAIT");

	t_state.prog = prog;
	t_state.before_go = w && *w;
}

static size_t t_slot(uintptr_t addr)
{
	uint64_t h = (uint64_t)addr * 0x9e3779b97f4a7c15ull;

	return h >> (64 - T_TABLE_BITS);
}

static unsigned t_func_index(const char *name, int kind)
{
	unsigned i;

	for (i = 0; i < t_state.nfuncs; i++) {
		if (!strcmp(t_state.funcs[i].name, name)) {
			if (t_state.funcs[i].kind != kind)
				t_die("'%s' allocates both heap and mmap blocks", name);
			return i;
		}
	}
	if (t_state.nfuncs == T_MAX_FUNCS)
		t_die("more than %d allocating functions", T_MAX_FUNCS);
	/* a fresh entry: after t_fork() the slot may still hold the parent's counts */
	memset(&t_state.funcs[i], 0, sizeof(t_state.funcs[i]));
	t_state.funcs[i].name = name;
	t_state.funcs[i].kind = kind;
	t_state.nfuncs++;
	return i;
}

/* Linear probing; the caller holds the lock */
static void t_insert(uintptr_t addr, size_t size, unsigned func, int unseen)
{
	const size_t mask = (1u << T_TABLE_BITS) - 1;
	size_t i = t_slot(addr);

	if (t_state.nblocks >= mask / 2)
		t_die("more than %zu live blocks", mask / 2);
	for (; t_table[i].addr; i = (i + 1) & mask) {
		if (t_table[i].addr == addr)
			t_die("block %#lx allocated twice", (unsigned long)addr);
	}
	t_table[i] = (struct t_block){ .addr = addr, .size = size, .func = func, .unseen = unseen };
	t_state.nblocks++;
}

/* Remove addr with backward-shift deletion (no tombstones); the caller holds the lock */
static int t_remove(uintptr_t addr, struct t_block *out)
{
	const size_t mask = (1u << T_TABLE_BITS) - 1;
	size_t i = t_slot(addr), j, home;

	for (; t_table[i].addr != addr; i = (i + 1) & mask) {
		if (!t_table[i].addr)
			return -1;
	}
	*out = t_table[i];
	for (j = (i + 1) & mask; t_table[j].addr; j = (j + 1) & mask) {
		home = t_slot(t_table[j].addr);
		/* move j into the hole at i unless its home lies cyclically in (i, j] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t_table[i] = t_table[j];
			i = j;
		}
	}
	t_table[i].addr = 0;
	t_state.nblocks--;
	return 0;
}

static void t_note_alloc(const char *fn, int kind, void *p, size_t size)
{
	struct t_func *f;
	struct t_stat *s;
	unsigned i;

	pthread_mutex_lock(&t_state.lock);
	i = t_func_index(fn, kind);
	f = &t_state.funcs[i];
	s = t_state.before_go ? &f->unseen : &f->seen;
	s->allocs++;
	s->alloc_bytes += size;
	s->bytes += size;
	s->blocks++;
	t_insert((uintptr_t)p, size, i, t_state.before_go);
	pthread_mutex_unlock(&t_state.lock);
}

/* Bookkeeping for a block that is being freed (call it BEFORE the block is released) */
static void t_note_free(uintptr_t addr)
{
	struct t_block b;
	struct t_stat *s;

	if (!addr)
		return; /* free(NULL) counts nothing */
	pthread_mutex_lock(&t_state.lock);
	if (t_remove(addr, &b))
		t_die("free of %#lx, which this program did not record", (unsigned long)addr);
	s = b.unseen ? &t_state.funcs[b.func].unseen : &t_state.funcs[b.func].seen;
	s->frees++;
	s->bytes -= b.size;
	s->blocks--;
	if (b.unseen && !t_state.before_go)
		t_state.unknown_frees++; /* drip sees the free, never saw the alloc */
	pthread_mutex_unlock(&t_state.lock);
}

/* fn called malloc/calloc/memalign/... and got p (NULL: failed, counts nothing) */
static T_UNUSED void t_alloc(const char *fn, void *p, size_t size)
{
	if (p)
		t_note_alloc(fn, T_HEAP, p, size);
}

/* Record and free a heap block */
static T_UNUSED void t_free(void *p)
{
	t_note_free((uintptr_t)p);
	free(p);
}

/*
 * fn called q = realloc(p, size) (or reallocarray: size is then the product, which must not
 * have overflowed), with old = (uintptr_t)p taken before the call (p is dead after it).
 * Not safe when another thread may be handed p's old address meanwhile.
 */
static T_UNUSED void t_realloc(const char *fn, uintptr_t old, void *q, size_t size)
{
	if (!old) {
		t_alloc(fn, q, size); /* realloc(NULL, n): malloc(n) */
		return;
	}
	if (!q && size)
		return; /* failed: p untouched, nothing counted */
	/* p is gone (glibc may hand the same address back as q): drop its record first */
	t_note_free(old);
	t_alloc(fn, q, size); /* realloc(p, 0) returns NULL on glibc: a free only */
}

/* fn called p = mmap(NULL, len, ..., MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) */
static T_UNUSED void t_mmap(const char *fn, void *p, size_t len)
{
	if (p != MAP_FAILED)
		t_note_alloc(fn, T_MMAP, p, len);
}

/* Record and unmap a whole block recorded by t_mmap */
static T_UNUSED void t_munmap(void *p, size_t len)
{
	t_note_free((uintptr_t)p);
	if (munmap(p, len))
		t_die("munmap(%p, %zu): %s", p, len, strerror(errno));
}

/* fn made n allocations of alloc_bytes in all and n frees of them, not recorded one by one
 * (timed loops) */
static T_UNUSED void t_tally(const char *fn, uint64_t allocs, uint64_t frees, uint64_t alloc_bytes)
{
	struct t_func *f;

	pthread_mutex_lock(&t_state.lock);
	f = &t_state.funcs[t_func_index(fn, T_HEAP)];
	(t_state.before_go ? &f->unseen : &f->seen)->allocs += allocs;
	(t_state.before_go ? &f->unseen : &f->seen)->frees += frees;
	(t_state.before_go ? &f->unseen : &f->seen)->alloc_bytes += alloc_bytes;
	pthread_mutex_unlock(&t_state.lock);
}

static void t_add_name(const char **v, unsigned *n, const char *name)
{
	unsigned i;

	for (i = 0; i < *n; i++) {
		if (!strcmp(v[i], name))
			return;
	}
	if (*n == T_MAX_NAMES)
		t_die("more than %d names", T_MAX_NAMES);
	v[(*n)++] = name;
}

/* fn called allocators in ways that count nothing: no stack may start with fn */
static T_UNUSED void t_absent(const char *fn)
{
	pthread_mutex_lock(&t_state.lock);
	t_add_name(t_state.absent, &t_state.nabsent, fn);
	pthread_mutex_unlock(&t_state.lock);
}

/* Every allocation whose stack passes through fn was recorded here */
static T_UNUSED void t_complete_under(const char *fn)
{
	pthread_mutex_lock(&t_state.lock);
	t_add_name(t_state.complete, &t_state.ncomplete, fn);
	pthread_mutex_unlock(&t_state.lock);
}

static T_UNUSED void t_info(const char *key, long long val)
{
	pthread_mutex_lock(&t_state.lock);
	if (t_state.ninfo == T_MAX_INFO)
		t_die("more than %d info keys", T_MAX_INFO);
	t_state.info[t_state.ninfo++] = (struct t_info_kv){ key, val };
	pthread_mutex_unlock(&t_state.lock);
}

static T_UNUSED void t_child(pid_t pid)
{
	pthread_mutex_lock(&t_state.lock);
	if (t_state.nchildren == T_MAX_CHILDREN)
		t_die("more than %d children", T_MAX_CHILDREN);
	t_state.children[t_state.nchildren++] = pid;
	pthread_mutex_unlock(&t_state.lock);
}

/*
 * fork() with fresh truth in the child: what the parent allocated is not the child's doing.
 * Call it while no other thread runs.
 */
static T_UNUSED pid_t t_fork(void)
{
	pid_t pid = fork();

	if (pid < 0)
		t_die("fork: %s", strerror(errno));
	if (pid > 0) {
		t_child(pid);
		return pid;
	}
	pthread_mutex_init(&t_state.lock, NULL);
	if (t_state.nblocks)
		memset(t_table, 0, sizeof(t_table));
	t_state.nblocks = 0;
	t_state.nfuncs = t_state.nabsent = t_state.ncomplete = 0;
	t_state.nchildren = t_state.ninfo = 0;
	t_state.unknown_frees = 0;
	return 0;
}

/* Wait for pid and insist that it exited 0 */
static T_UNUSED void t_reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			t_die("waitpid(%d): %s", (int)pid, strerror(errno));
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		t_die("child %d failed (status %#x)", (int)pid, status);
}

/* Block until the harness sends SIGUSR1, when $DRIP_WAIT is set (see the top of this file) */
static T_UNUSED void target_wait_go(void)
{
	struct timespec timeout = { .tv_sec = T_WAIT_TIMEOUT };
	sigset_t set;
	int sig;

	if (!t_state.before_go)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		t_die("cannot block SIGUSR1");
	t_say("drip-target: ready pid %d\n", (int)getpid());
	do
		sig = sigtimedwait(&set, NULL, &timeout);
	while (sig < 0 && errno == EINTR);
	if (sig < 0)
		t_die("no SIGUSR1 within %d s", T_WAIT_TIMEOUT);
	pthread_mutex_lock(&t_state.lock);
	t_state.before_go = 0;
	pthread_mutex_unlock(&t_state.lock);
}

struct t_buf {
	char *p;
	size_t len, cap;
};

static T_FORMAT(2, 3) void t_put(struct t_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		t_die("truth line longer than %zu bytes", b->cap);
	b->len += n;
}

static void t_put_funcs(struct t_buf *b, const char *key, int unseen)
{
	const char *sep = "";
	unsigned i;

	t_put(b, ", \"%s\": {", key);
	for (i = 0; i < t_state.nfuncs; i++) {
		const struct t_func *f = &t_state.funcs[i];
		const struct t_stat *s = unseen ? &f->unseen : &f->seen;

		if (!s->allocs)
			continue;
		t_put(b,
		      "%s\"%s\": {\"kind\": \"%s\", \"allocs\": %" PRIu64 ", \"frees\": %" PRIu64
		      ", \"outstanding_bytes\": %" PRIu64 ", \"outstanding_allocs\": %" PRIu64
		      ", \"alloc_bytes\": %" PRIu64 "}",
		      sep, f->name, f->kind == T_MMAP ? "mmap" : "heap", s->allocs, s->frees,
		      s->bytes, s->blocks, s->alloc_bytes);
		sep = ", ";
	}
	t_put(b, "}");
}

static void t_put_names(struct t_buf *b, const char *key, const char **v, unsigned n)
{
	unsigned i;

	t_put(b, ", \"%s\": [", key);
	for (i = 0; i < n; i++)
		t_put(b, "%s\"%s\"", i ? ", " : "", v[i]);
	t_put(b, "]");
}

/* "comm": what the kernel calls this process (PR_GET_NAME), bytes JSON cannot hold as '?' */
static void t_put_comm(struct t_buf *b)
{
	char comm[17] = "";

	if (prctl(PR_GET_NAME, comm))
		return;
	for (char *c = comm; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == '"' || *c == '\\' || (unsigned char)*c >= 0x7f)
			*c = '?';
	t_put(b, ", \"comm\": \"%s\"", comm);
}

/* Append this process's truth line to $DRIP_TRUTH (one write, O_APPEND) */
static T_UNUSED void t_done(void)
{
	static char line[T_LINE_MAX];
	struct t_buf b = { line, 0, sizeof(line) };
	const char *path = getenv("DRIP_TRUTH");
	struct t_stat tot = { 0 };
	unsigned i;
	ssize_t n;
	int fd;

	if (!path || !*path)
		return;
	pthread_mutex_lock(&t_state.lock);
	for (i = 0; i < t_state.nfuncs; i++) {
		tot.allocs += t_state.funcs[i].seen.allocs;
		tot.alloc_bytes += t_state.funcs[i].seen.alloc_bytes;
		tot.frees += t_state.funcs[i].seen.frees;
		tot.bytes += t_state.funcs[i].seen.bytes;
		tot.blocks += t_state.funcs[i].seen.blocks;
	}
	t_put(&b, "{\"prog\": \"%s\", \"pid\": %d, \"ppid\": %d", t_state.prog, (int)getpid(),
	      (int)getppid());
	t_put_comm(&b);
	t_put(&b,
	      ", \"allocs\": %" PRIu64 ", \"frees\": %" PRIu64 ", \"unknown_frees\": %" PRIu64
	      ", \"outstanding_bytes\": %" PRIu64 ", \"outstanding_allocs\": %" PRIu64
	      ", \"alloc_bytes\": %" PRIu64,
	      tot.allocs, tot.frees, t_state.unknown_frees, tot.bytes, tot.blocks, tot.alloc_bytes);
	t_put_funcs(&b, "funcs", 0);
	t_put_funcs(&b, "unseen", 1);
	t_put_names(&b, "absent", t_state.absent, t_state.nabsent);
	t_put_names(&b, "complete_under", t_state.complete, t_state.ncomplete);
	t_put(&b, ", \"children\": [");
	for (i = 0; i < t_state.nchildren; i++)
		t_put(&b, "%s%d", i ? ", " : "", (int)t_state.children[i]);
	t_put(&b, "], \"info\": {");
	for (i = 0; i < t_state.ninfo; i++)
		t_put(&b, "%s\"%s\": %lld", i ? ", " : "", t_state.info[i].key,
		      t_state.info[i].val);
	t_put(&b, "}}\n");
	pthread_mutex_unlock(&t_state.lock);

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		t_die("cannot open '%s': %s", path, strerror(errno));
	n = write(fd, line, b.len);
	if (n != (ssize_t)b.len)
		t_die("cannot write '%s': %s", path, n < 0 ? strerror(errno) : "short write");
	close(fd);
}

#endif /* DRIP_TARGET_H */
