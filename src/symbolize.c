// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Native symbolization with a cache of parsed ELF files.
 *
 * A module is keyed by what the maps line says about the file: (dev, inode,
 * path, deleted).  The same library mapped by a hundred processes is parsed
 * once; the path in the key keeps inode-less names ("[vdso]") apart and
 * makes a reused inode number under another name a new module.
 *
 * A module's file is opened, in order, through
 *  1. /proc/PID/map_files/START-END: the very file mapped, even when deleted,
 *     replaced, or in another mount namespace;
 *  2. /proc/PID/root + path, resolved inside that root (openat2
 *     RESOLVE_IN_ROOT), so a container's symlinks cannot lead outside it;
 *  3. the path itself; with a live pid only when its inode still matches.
 * Paths of deleted files are never opened by name: they name another file.
 * Every open looks first (O_PATH + fstat) and opens only regular files, so a
 * FIFO planted at a mapped path cannot block us and no device is opened.
 * A failed module is remembered; it is retried only for another pid, and
 * only a few times.  The cache holds no file descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "drip/elf.h"
#include "drip/log.h"
#include "drip/symbolize.h"

#define MAX_TRIES   3	       /* opens of a failing module (each with another pid) */
#define MAX_LOADED  (1u << 14) /* parsed ELF files kept; later modules stay unresolved */
#define MIN_BUCKETS 64

enum module_state { MOD_NEW, MOD_LOADED, MOD_FAILED, MOD_PSEUDO };

struct module {
	struct module *next; /* hash chain */
	struct module *next_bid; /* build-id chain */
	uint64_t hash;
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	bool deleted;
	enum module_state state;
	int failed_pid;
	unsigned int tries;
	struct elf_file *elf;
	char path[]; /* interned: what sym_info.module points to */
};

#define BID_BUCKETS 1024

struct symbolizer {
	struct module **buckets;
	struct module *by_build_id[BID_BUCKETS]; /* loaded modules that have one */
	size_t nr_buckets; /* a power of two */
	size_t nr_modules;
	size_t nr_loaded;
};

struct symbolizer *symbolizer__new(void)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->buckets = calloc(MIN_BUCKETS, sizeof(*s->buckets));
	if (!s->buckets) {
		free(s);
		return NULL;
	}
	s->nr_buckets = MIN_BUCKETS;
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nr_buckets; i++) {
		struct module *m = s->buckets[i], *next;

		for (; m; m = next) {
			next = m->next;
			elf_file__close(m->elf);
			free(m);
		}
	}
	free(s->buckets);
	free(s);
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t vma_hash(const struct vma *v, size_t path_len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = fnv1a(h, &v->inode, sizeof(v->inode));
	h = fnv1a(h, &v->dev_major, sizeof(v->dev_major));
	h = fnv1a(h, &v->dev_minor, sizeof(v->dev_minor));
	h = fnv1a(h, &v->deleted, sizeof(v->deleted));
	return fnv1a(h, v->path, path_len);
}

static bool module_is(const struct module *m, uint64_t hash, const struct vma *v)
{
	return m->hash == hash && m->inode == v->inode && m->dev_major == v->dev_major &&
	       m->dev_minor == v->dev_minor && m->deleted == v->deleted &&
	       !strcmp(m->path, v->path);
}

static void grow(struct symbolizer *s)
{
	size_t n = s->nr_buckets * 2;
	struct module **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < s->nr_buckets; i++) {
		struct module *m = s->buckets[i], *next;

		for (; m; m = next) {
			next = m->next;
			m->next = b[m->hash & (n - 1)];
			b[m->hash & (n - 1)] = m;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nr_buckets = n;
}

static struct module *module_get(struct symbolizer *s, const struct vma *v)
{
	size_t len = strlen(v->path);
	uint64_t hash = vma_hash(v, len);
	struct module *m, **head;

	for (m = s->buckets[hash & (s->nr_buckets - 1)]; m; m = m->next)
		if (module_is(m, hash, v))
			return m;
	m = calloc(1, sizeof(*m) + len + 1);
	if (!m)
		return NULL;
	m->hash = hash;
	m->inode = v->inode;
	m->dev_major = v->dev_major;
	m->dev_minor = v->dev_minor;
	m->deleted = v->deleted;
	memcpy(m->path, v->path, len + 1);
	/* "[vdso]", "[heap]", "[anon:name]": nothing to open by name */
	m->state = v->path[0] == '[' ? MOD_PSEUDO : MOD_NEW;
	if (s->nr_modules >= s->nr_buckets)
		grow(s);
	head = &s->buckets[hash & (s->nr_buckets - 1)];
	m->next = *head;
	*head = m;
	s->nr_modules++;
	return m;
}

/*
 * Open a regular file for reading without opening anything else: look with
 * O_PATH, check, then reopen that very inode through /proc/self/fd.
 */
static int open_regular(int dirfd, const char *path, bool in_root, struct stat *st)
{
	char self[32];
	int pfd, fd, err;

	if (in_root) {
		static bool no_openat2; /* seccomp or valgrind: ENOSYS once is enough */
		struct open_how how = {
			.flags = O_PATH | O_CLOEXEC,
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
		};

		if (no_openat2)
			return -ENOSYS;
		pfd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (pfd < 0 && errno == ENOSYS)
			no_openat2 = true;
	} else {
		pfd = openat(dirfd, path, O_PATH | O_CLOEXEC);
	}
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, st)) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(st->st_mode)) {
		err = -ENOEXEC;
		goto out_close;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	err = fd < 0 ? -errno : fd;
out_close:
	close(pfd);
	return err;
}

static int open_module(int pid, const struct vma *v)
{
	struct stat st = { 0 }; /* filled whenever an open succeeds */
	char path[64];
	int fd = -ENOENT, root;

	if (pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid,
			 v->start, v->end);
		fd = open_regular(AT_FDCWD, path, false, &st);
		if (fd >= 0)
			return fd;
	}
	if (v->path[0] != '/' || v->deleted)
		return fd;
	if (pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/root", pid);
		root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root >= 0) {
			fd = open_regular(root, v->path, true, &st);
			close(root);
			if (fd >= 0)
				return fd;
		}
	}
	fd = open_regular(AT_FDCWD, v->path, false, &st);
	if (fd >= 0 && pid > 0 && st.st_ino != v->inode) {
		/* our namespace's file of that name is not the one mapped */
		close(fd);
		return -ESTALE;
	}
	return fd;
}

static size_t bid_bucket(const uint8_t *id, size_t len)
{
	return fnv1a(0xcbf29ce484222325ull, id, len) & (BID_BUCKETS - 1);
}

static struct module *find_build_id(const struct symbolizer *s, const uint8_t *id, size_t len)
{
	for (struct module *m = s->by_build_id[bid_bucket(id, len)]; m; m = m->next_bid) {
		const uint8_t *mid;

		if (elf_file__build_id(m->elf, &mid) == len && !memcmp(mid, id, len))
			return m;
	}
	return NULL;
}

/* The first file seen with a build-id names it (a copy elsewhere has the same code). */
static void index_build_id(struct symbolizer *s, struct module *m)
{
	const uint8_t *id;
	size_t len = elf_file__build_id(m->elf, &id);

	if (!len || find_build_id(s, id, len))
		return;
	m->next_bid = s->by_build_id[bid_bucket(id, len)];
	s->by_build_id[bid_bucket(id, len)] = m;
}

static void module_load(struct symbolizer *s, struct module *m, int pid, const struct vma *v)
{
	int fd, err;

	if (s->nr_loaded >= MAX_LOADED) {
		err = -EMFILE;
		goto out_fail;
	}
	fd = open_module(pid, v);
	if (fd < 0) {
		err = fd;
		goto out_fail;
	}
	err = elf_file__open_fd(fd, &m->elf);
	close(fd);
	if (err)
		goto out_fail;
	m->state = MOD_LOADED;
	s->nr_loaded++;
	index_build_id(s, m);
	return;
out_fail:
	if (!m->tries)
		pr_debug("symbolize: cannot load '%s': %s", m->path, strerror(-err));
	m->state = MOD_FAILED;
	m->failed_pid = pid;
	m->tries++;
}

static bool should_load(const struct module *m, int pid)
{
	if (m->state == MOD_NEW)
		return true;
	/* map_files of another process may reach what this one could not */
	return m->state == MOD_FAILED && pid > 0 && pid != m->failed_pid && m->tries < MAX_TRIES;
}

int symbolizer__resolve(struct symbolizer *s, int pid, const struct procmaps *maps, uint64_t addr,
			struct sym_info *out)
{
	const struct vma *v;
	struct module *m;
	uint64_t off;
	bool forged;

	memset(out, 0, sizeof(*out));
	v = procmaps__find(maps, addr);
	if (!s || !v)
		return 0;
	forged = __builtin_add_overflow(addr - v->start, v->offset, &off);
	if (forged)
		off = 0; /* no file position, no function */
	if (!v->path[0]) {
		if (v->exec) {
			out->module = "[anon]"; /* JIT code and the like */
			out->file_offset = off;
		}
		return 0;
	}
	m = module_get(s, v);
	if (!m)
		return -ENOMEM;
	out->module = m->path;
	out->file_offset = off;
	if (should_load(m, pid))
		module_load(s, m, pid, v);
	if (m->state != MOD_LOADED || forged)
		return 0;
	out->build_id_len = elf_file__build_id(m->elf, &out->build_id);
	out->function = elf_file__func_at(m->elf, off, &out->function_delta);
	if (!out->function)
		out->function_delta = 0;
	return 0;
}

void symbolizer__learn_maps(struct symbolizer *s, int pid, const struct procmaps *maps)
{
	for (size_t i = 0; s && maps && i < maps->nr; i++) {
		const struct vma *v = &maps->vmas[i];
		struct module *m;

		if (!v->exec || v->path[0] != '/')
			continue;
		m = module_get(s, v);
		if (m && should_load(m, pid))
			module_load(s, m, pid, v);
	}
}

int symbolizer__learn_file(struct symbolizer *s, const char *path)
{
	struct vma v = { 0 };
	struct module *m;
	struct stat st;
	char *real;

	real = realpath(path, NULL);
	if (!real)
		return -errno;
	if (stat(real, &st) || !S_ISREG(st.st_mode)) {
		free(real);
		return -ENOENT;
	}
	v.path = real;
	v.inode = st.st_ino;
	v.dev_major = major(st.st_dev);
	v.dev_minor = minor(st.st_dev);
	v.exec = true;
	m = module_get(s, &v);
	if (m && should_load(m, 0))
		module_load(s, m, 0, &v);
	free(real);
	return m && m->state == MOD_LOADED ? 0 : -ENOENT;
}

int symbolizer__resolve_build_id(struct symbolizer *s, const uint8_t *id, size_t len,
				 uint64_t file_offset, struct sym_info *out)
{
	struct module *m;

	memset(out, 0, sizeof(*out));
	m = s && len ? find_build_id(s, id, len) : NULL;
	if (!m)
		return -ENOENT;
	out->module = m->path;
	out->file_offset = file_offset;
	out->build_id_len = elf_file__build_id(m->elf, &out->build_id);
	out->function = elf_file__func_at(m->elf, file_offset, &out->function_delta);
	if (!out->function)
		out->function_delta = 0;
	return 0;
}
