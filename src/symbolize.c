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
 *
 * Source lines (symbolizer__source) come from DWARF, looked for once per
 * build-id when a frame of that module is first shown: the module's file is
 * reopened the way it was opened (through the process it was last seen in)
 * and must still have its build-id; its own DWARF is used, else a separate
 * debug file found by .gnu_debuglink or build-id (first inside the process's
 * root, then in ours), else one from debuginfod.  A separate file is used
 * only when its build-id matches (or, for a binary without one, the
 * debuglink CRC).  srcline.c parses what is found; it holds the file's bytes,
 * not a descriptor.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "drip/demangle.h"
#include "drip/elf.h"
#include "drip/hash.h"
#include "drip/log.h"
#include "drip/srcline.h"
#include "drip/symbolize.h"
#include "drip/u64map.h"

#define MAX_TRIES   3	       /* opens of a failing module (each with another pid) */
#define MAX_LOADED  (1u << 14) /* parsed ELF files kept; later modules stay unresolved */
#define MIN_BUCKETS 64
#define MAX_REOPENS 8 /* files with a build-id tried when reopening a module */
#define DEBUG_ROOT  "/usr/lib/debug"
#define DFD_ONE_NS  (10ull * 1000000000) /* one debuginfod lookup */
#define DFD_ALL_NS  (30ull * 1000000000) /* all of them, per symbolizer */

enum module_state { MOD_NEW, MOD_LOADED, MOD_FAILED, MOD_PSEUDO };
enum src_state { SRC_NEW, SRC_READY, SRC_NONE };

struct module {
	struct module *next;	 /* hash chain */
	struct module *next_bid; /* build-id chain */
	uint64_t hash;
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	bool deleted;
	enum module_state state;
	int failed_pid;
	unsigned int tries;
	struct elf_file *elf;
	int pid;	     /* the process it was last seen mapped in (0: none) */
	uint64_t start, end; /* ...and where, for /proc/PID/map_files/START-END */
	enum src_state src_state;
	struct srcline *src; /* its DWARF, wherever it was found */
	char path[];	     /* interned: what sym_info.module points to */
};

#define BID_BUCKETS 1024

/* libdebuginfod, loaded when first needed (the library is optional) */
struct dfd {
	bool tried;
	void *lib, *client;
	void (*end)(void *client);
	int (*find_debuginfo)(void *client, const unsigned char *id, int len, char **path);
	uint64_t spent_ns, deadline;
};

/* A demangled name, found by its mangled one */
struct dname {
	struct dname *next;
	char *out; /* NULL: not demangled, show raw */
	char raw[];
};

struct symbolizer {
	struct module **buckets;
	struct module *by_build_id[BID_BUCKETS]; /* loaded modules that have one */
	size_t nr_buckets;			 /* a power of two */
	size_t nr_modules;
	size_t nr_loaded;
	char *debug_root;
	struct u64map dnames; /* hash of a mangled name -> struct dname chain */
	struct dfd dfd;
	size_t source_calls;
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
	u64map__init(&s->dnames);
	if (symbolizer__set_debug_root(s, getenv("DRIP_DEBUG_ROOT"))) {
		symbolizer__free(s);
		return NULL;
	}
	return s;
}

int symbolizer__set_debug_root(struct symbolizer *s, const char *dir)
{
	char *d = strdup(dir && dir[0] == '/' ? dir : DEBUG_ROOT);

	if (!d)
		return -ENOMEM;
	free(s->debug_root);
	s->debug_root = d;
	return 0;
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
			srcline__close(m->src);
			free(m);
		}
	}
	for (size_t i = 0; i < s->dnames.cap; i++) {
		struct dname *n, *next;

		if (!s->dnames.keys[i])
			continue;
		for (n = (struct dname *)(uintptr_t)s->dnames.vals[i]; n; n = next) {
			next = n->next;
			free(n->out);
			free(n);
		}
	}
	u64map__release(&s->dnames);
	if (s->dfd.client)
		s->dfd.end(s->dfd.client);
	if (s->dfd.lib)
		dlclose(s->dfd.lib);
	free(s->debug_root);
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
	m->pid = pid > 0 ? pid : 0;
	m->start = v->start;
	m->end = v->end;
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

/* A live process maps m here now: the likeliest way to reopen it later. */
static void module_seen(struct module *m, int pid, const struct vma *v)
{
	if (pid > 0 && m->state == MOD_LOADED) {
		m->pid = pid;
		m->start = v->start;
		m->end = v->end;
	}
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
	else
		module_seen(m, pid, v);
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
		else if (m)
			module_seen(m, pid, v);
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

/* ---- names ---------------------------------------------------------------- */

const char *symbolizer__demangle(struct symbolizer *s, const char *name)
{
	struct dname *n, *head = NULL;
	uint64_t key, v;
	size_t len;

	if (!s || !name || name[0] != '_' || name[1] != 'Z')
		return name;
	len = strlen(name);
	key = hash_bytes(name, len) | 1; /* never 0 */
	if (u64map__get(&s->dnames, key, &v))
		head = (struct dname *)(uintptr_t)v;
	for (n = head; n; n = n->next)
		if (!strcmp(n->raw, name))
			return n->out ? n->out : name;
	n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return name;
	n->out = demangle__name(name);
	memcpy(n->raw, name, len + 1);
	n->next = head;
	if (u64map__set(&s->dnames, key, (uintptr_t)n)) {
		free(n->out);
		free(n);
		return name;
	}
	return n->out ? n->out : name;
}

/* ---- finding DWARF ---------------------------------------------------------- */

static bool same_id(const struct srcline *f, const uint8_t *id, size_t len)
{
	const uint8_t *fid;

	return srcline__build_id(f, &fid) == len && (!len || !memcmp(fid, id, len));
}

/* The regular file at path: inside pid's root (pid > 0), else in ours. fd or -errno. */
static int open_in(int pid, const char *path, struct stat *st)
{
	char proc[64];
	int root, fd;

	if (pid <= 0)
		return open_regular(AT_FDCWD, path, false, st);
	snprintf(proc, sizeof(proc), "/proc/%d/root", pid);
	root = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -errno;
	fd = open_regular(root, path, true, st);
	close(root);
	return fd;
}

/*
 * A separate debug file at path, if it is the one for this binary: its
 * build-id is the binary's (len > 0), or its CRC the debuglink's.  Looked
 * for inside the process's root first (the target's own files), then in ours.
 */
static struct srcline *try_debug(int pid, const char *path, const uint8_t *id, size_t len,
				 const uint32_t *crc)
{
	struct stat st, tried = { 0 };

	for (int i = pid > 0 ? 0 : 1; i < 2; i++) {
		struct srcline *f = NULL;
		int fd = open_in(i ? 0 : pid, path, &st);

		if (fd < 0)
			continue;
		if (i == 1 && st.st_ino == tried.st_ino && st.st_dev == tried.st_dev) {
			close(fd); /* the same file as inside the root, refused already */
			break;
		}
		tried = st;
		if (srcline__open_fd(fd, &f))
			f = NULL;
		close(fd);
		if (f && srcline__has_dwarf(f) &&
		    (len ? same_id(f, id, len) : crc && srcline__crc32(f) == *crc)) {
			pr_debug("symbolize: DWARF from '%s'", path);
			return f;
		}
		srcline__close(f);
	}
	return NULL;
}

static int dfd_progress(void *client, long a, long b);

static void dfd_load(struct dfd *d)
{
	void *(*begin)(void);
	void (*set_progressfn)(void *, int (*)(void *, long, long));
	void (*set_user_data)(void *, void *);

	d->tried = true;
	/* never unloaded: libcurl and its TLS library keep state from their constructors */
	d->lib = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!d->lib) {
		pr_debug("symbolize: DEBUGINFOD_URLS is set but libdebuginfod is not there: %s",
			 dlerror());
		return;
	}
	begin = (void *(*)(void))dlsym(d->lib, "debuginfod_begin");
	d->end = (void (*)(void *))dlsym(d->lib, "debuginfod_end");
	d->find_debuginfo = (int (*)(void *, const unsigned char *, int, char **))dlsym(
		d->lib, "debuginfod_find_debuginfo");
	set_progressfn = (void (*)(void *, int (*)(void *, long, long)))dlsym(
		d->lib, "debuginfod_set_progressfn");
	set_user_data = (void (*)(void *, void *))dlsym(d->lib, "debuginfod_set_user_data");
	/* without a progress callback there is no deadline: do without debuginfod */
	if (!begin || !d->end || !d->find_debuginfo || !set_progressfn || !set_user_data)
		return;
	d->client = begin();
	if (!d->client)
		return;
	set_user_data(d->client, d);
	set_progressfn(d->client, dfd_progress);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static struct dfd *dfd_current; /* the lookup in progress (one at a time) */

/* libdebuginfod calls this about once a second while it works: nonzero stops it */
static int dfd_progress(void *client, long a, long b)
{
	return dfd_current && mono_ns() > dfd_current->deadline;
}

/* A debug file by build-id from debuginfod (its cache, then its servers). fd or -errno. */
static int dfd_find(struct symbolizer *s, const uint8_t *id, size_t len)
{
	struct dfd *d = &s->dfd;
	const char *urls = getenv("DEBUGINFOD_URLS");
	uint64_t t0, left;
	char *path = NULL;
	int fd;

	if (!urls || !urls[0] || !len || len > 64)
		return -ENOENT;
	if (!d->tried)
		dfd_load(d);
	if (!d->client)
		return -ENOSYS;
	if (d->spent_ns >= DFD_ALL_NS)
		return -ETIMEDOUT;
	left = DFD_ALL_NS - d->spent_ns;
	t0 = mono_ns();
	d->deadline = t0 + (left < DFD_ONE_NS ? left : DFD_ONE_NS);
	dfd_current = d;
	fd = d->find_debuginfo(d->client, id, (int)len, &path);
	dfd_current = NULL;
	d->spent_ns += mono_ns() - t0;
	if (fd >= 0)
		pr_debug("symbolize: DWARF from debuginfod: '%s'", path ? path : "?");
	free(path);
	return fd;
}

static struct srcline *try_debuginfod(struct symbolizer *s, const uint8_t *id, size_t len)
{
	struct srcline *f = NULL;
	int fd = dfd_find(s, id, len);

	if (fd < 0)
		return NULL;
	if (srcline__open_fd(fd, &f))
		f = NULL;
	close(fd);
	if (f && (!srcline__has_dwarf(f) || !same_id(f, id, len))) {
		srcline__close(f);
		f = NULL;
	}
	return f;
}

static struct srcline *by_build_id(struct symbolizer *s, int pid, const uint8_t *id, size_t len)
{
	char path[PATH_MAX], hex[2 * 64 + 1];
	int n;

	if (len < 2 || len > 64)
		return NULL;
	for (size_t i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	n = snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", s->debug_root, hex, hex + 2);
	if (n <= 0 || (size_t)n >= sizeof(path))
		return NULL;
	return try_debug(pid, path, id, len, NULL);
}

/* A .gnu_debuglink name must name a file in a directory, nothing else. */
static bool link_name_ok(const char *name)
{
	size_t len = strnlen(name, NAME_MAX + 1);

	return len && len <= NAME_MAX && !memchr(name, '/', len) && strcmp(name, ".") &&
	       strcmp(name, "..");
}

static struct srcline *by_debuglink(struct symbolizer *s, const struct module *m,
				    const struct srcline *bin, const uint8_t *id, size_t len)
{
	char dir[PATH_MAX], path[PATH_MAX];
	const char *name, *slash;
	struct srcline *f = NULL;
	uint32_t crc;

	name = srcline__debuglink(bin, &crc);
	slash = strrchr(m->path, '/');
	if (!name || !link_name_ok(name) || m->path[0] != '/' || !slash ||
	    (size_t)(slash - m->path) >= sizeof(dir))
		return NULL;
	memcpy(dir, m->path, slash - m->path);
	dir[slash - m->path] = 0;
	for (int i = 0; i < 3 && !f; i++) {
		static const char *const fmt[] = { "%s%s/%s", "%s%s/.debug/%s", "%s%s/%s" };
		int n = snprintf(path, sizeof(path), fmt[i], i == 2 ? s->debug_root : "", dir,
				 name);

		if (n > 0 && (size_t)n < sizeof(path))
			f = try_debug(m->pid, path, id, len, &crc);
	}
	return f;
}

/* Reopen the file m was loaded from, the way it was opened; it must still be that file. */
static struct srcline *reopen(const struct module *m, const uint8_t *id, size_t len)
{
	struct vma v = { .start = m->start,
			 .end = m->end,
			 .inode = m->inode,
			 .dev_major = m->dev_major,
			 .dev_minor = m->dev_minor,
			 .exec = true,
			 .deleted = m->deleted,
			 .path = m->path };
	struct srcline *f = NULL;
	int fd = open_module(m->pid, &v);

	if (fd < 0)
		return NULL;
	if (srcline__open_fd(fd, &f))
		f = NULL;
	close(fd);
	if (f && !same_id(f, id, len)) {
		pr_debug("symbolize: '%s' is not the file that was mapped any more", m->path);
		srcline__close(f);
		f = NULL;
	}
	return f;
}

/* m's file, or, when it cannot be reopened, another with its build-id (a live process may map it) */
static struct srcline *open_binary(struct symbolizer *s, const struct module *m, const uint8_t *id,
				   size_t len)
{
	struct srcline *f = reopen(m, id, len);
	unsigned int tries = 0;

	for (size_t i = 0; !f && len && i < s->nr_buckets && tries < MAX_REOPENS; i++) {
		for (const struct module *o = s->buckets[i]; o && !f && tries < MAX_REOPENS;
		     o = o->next) {
			const uint8_t *oid;

			if (o == m || o->state != MOD_LOADED ||
			    elf_file__build_id(o->elf, &oid) != len || memcmp(oid, id, len))
				continue;
			tries++;
			f = reopen(o, id, len);
		}
	}
	return f;
}

/* dwz: the supplementary file a debug file names, found by its build-id. */
static void find_alt(struct symbolizer *s, const struct module *m, struct srcline *dbg)
{
	const uint8_t *id;
	struct srcline *alt;
	const char *name;
	size_t len;

	name = srcline__altlink(dbg, &id, &len);
	if (!name)
		return;
	alt = by_build_id(s, m->pid, id, len);
	if (!alt && name[0] == '/')
		alt = try_debug(m->pid, name, id, len, NULL);
	if (!alt)
		alt = try_debuginfod(s, id, len);
	if (!alt)
		pr_debug("symbolize: no supplementary file '%s' for '%s': some names unknown", name,
			 m->path);
	srcline__set_alt(dbg, alt);
}

static void load_debug(struct symbolizer *s, struct module *m)
{
	struct srcline *bin, *dbg = NULL;
	const uint8_t *id;
	size_t len = elf_file__build_id(m->elf, &id);

	m->src_state = SRC_NONE;
	bin = open_binary(s, m, id, len);
	if (bin && srcline__has_dwarf(bin)) {
		dbg = bin;
		bin = NULL;
	}
	if (!dbg && bin)
		dbg = by_debuglink(s, m, bin, id, len);
	if (!dbg && len)
		dbg = by_build_id(s, m->pid, id, len);
	if (!dbg && len)
		dbg = try_debuginfod(s, id, len);
	srcline__close(bin);
	if (!dbg) {
		pr_debug("symbolize: no DWARF for '%s'", m->path);
		return;
	}
	find_alt(s, m, dbg);
	m->src = dbg;
	m->src_state = SRC_READY;
}

/* A loaded module with this path (modules without a build-id are found so). */
static struct module *find_path(const struct symbolizer *s, const char *path)
{
	for (size_t i = 0; i < s->nr_buckets; i++)
		for (struct module *m = s->buckets[i]; m; m = m->next)
			if (m->state == MOD_LOADED && !strcmp(m->path, path))
				return m;
	return NULL;
}

int symbolizer__source(struct symbolizer *s, const char *module, const uint8_t *build_id,
		       size_t build_id_len, uint64_t file_offset, struct sym_line *out, size_t max)
{
	struct module *m = NULL;
	const uint8_t *id;
	uint64_t vaddr;
	size_t len;

	if (!s || !out || !max)
		return 0;
	s->source_calls++;
	if (build_id && build_id_len) {
		m = find_build_id(s, build_id, build_id_len);
		/* a file BPF or the unwinder named that we never opened: by path, if it is that file */
		if (!m && module && module[0] == '/' && !symbolizer__learn_file(s, module))
			m = find_build_id(s, build_id, build_id_len);
	} else if (module && module[0] == '/') {
		m = find_path(s, module);
		len = m ? elf_file__build_id(m->elf, &id) : 0;
		if (len)
			m = find_build_id(s, id, len); /* one DWARF per build-id */
	}
	if (!m || m->state != MOD_LOADED || elf_file__offset_to_vaddr(m->elf, file_offset, &vaddr))
		return 0;
	if (m->src_state == SRC_NEW)
		load_debug(s, m);
	return m->src ? (int)srcline__lookup(m->src, vaddr, out, max) : 0; /* <= 64 */
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	out->modules = s->nr_modules;
	out->source_calls = s->source_calls;
	for (size_t i = 0; i < s->nr_buckets; i++) {
		for (const struct module *m = s->buckets[i]; m; m = m->next) {
			if (m->src_state == SRC_NONE)
				out->debug_missing++;
			if (!m->src)
				continue;
			out->debug_files++;
			out->debug_bytes += srcline__image_bytes(m->src);
			out->addresses += srcline__nr_cached(m->src);
		}
	}
}
