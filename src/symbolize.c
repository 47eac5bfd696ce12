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
 * only a few times.
 *
 * Source lines (symbolizer__source) come from DWARF, looked for once per
 * build-id when a frame of that module is first shown, which is at report
 * time, often after the process has exited (`drip trace -- CMD`): by then
 * map_files and /proc/PID/root lead nowhere.  So what will be needed is held
 * open from when the module is loaded through the live process until its
 * DWARF is read:
 *  - the module's file itself, the descriptor it was loaded from (a file
 *    deleted, replaced or in another mount namespace stays readable);
 *  - when the process's mount namespace or root is not ours, and the file
 *    has no DWARF of its own, the separate debug files it sees where we would
 *    look (.gnu_debuglink's places, <debug root>/.build-id/), and the dwz
 *    files those name, unless the same path in our view is the same file:
 *    found (section headers and three small sections read) but not parsed.
 *    In our own view the same paths will lead to them.
 * At most MAX_HELD descriptors (and a quarter of RLIMIT_NOFILE) are held;
 * past that, modules are opened again at report time as below, which needs
 * their process alive (the first refusal is said with -v; stats count them).
 * Held descriptors are read with pread only (their offsets never matter),
 * and closed, for every copy of the build-id, once its DWARF is read.
 *
 * To read a module's DWARF, its file is taken from what is held, else reopened
 * the way it was opened (through the process it was last seen in), and must
 * still have its build-id; its own DWARF is used, else a separate debug file:
 * one held, else found by .gnu_debuglink or build-id (first inside the
 * process's root, then in ours), else one from debuginfod.  A separate file is
 * used only when its build-id matches (or, for a binary without one, the
 * debuglink CRC).  srcline.c parses what is found; it keeps the file's bytes,
 * not a descriptor.  Code DWARF does not describe, in a binary with no
 * .symtab, is named from its debug file's .symtab (sized symbols only).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
#define MAX_COPIES  8 /* files with one build-id whose own and held files are tried */
#define DEBUG_ROOT  "/usr/lib/debug"
#define DFD_ONE_NS  (10ull * 1000000000) /* one debuginfod lookup */
#define DFD_ALL_NS  (30ull * 1000000000) /* all of them, per symbolizer */
#define MAX_HELD    4096 /* descriptors all modules hold (at most a quarter of RLIMIT_NOFILE) */
#define MAX_PINS    8	 /* debug files one module holds */
#define PEEK_SECTS  (1u << 16) /* sections of a file peek() looks through */
#define PEEK_STRTAB (1u << 20) /* ...and the most section-name bytes it reads */

enum module_state { MOD_NEW, MOD_LOADED, MOD_FAILED, MOD_PSEUDO };
enum src_state { SRC_NEW, SRC_READY, SRC_NONE };

/* A debug file held open for a module until its DWARF is read */
struct pin {
	int fd;
	bool alt; /* a dwz supplementary file, not the debug file itself */
	dev_t dev;
	ino_t ino;
};

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
	int fd;		     /* the file loaded, held until its DWARF is read (-1: not held) */
	struct pin pins[MAX_PINS]; /* debug files found in the root of a process not in ours */
	uint8_t nr_pins;
	bool looked; /* for pins, once */
	char path[]; /* interned: what sym_info.module points to */
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
	size_t nr_held;	     /* descriptors modules hold */
	size_t held_refused; /* files not held: past the cap */
	bool view_known;     /* our mount namespace and root, to tell another's apart: */
	struct stat my_ns, my_root;
};

static void hold_debug(struct symbolizer *s, struct module *m, int pid, int *other);

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
			if (m->fd >= 0)
				close(m->fd);
			for (size_t k = 0; k < m->nr_pins; k++)
				close(m->pins[k].fd);
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
	m->fd = -1;
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

/* Has the DWARF of m's build-id (one per build-id) been looked for already? */
static bool dwarf_read(const struct symbolizer *s, const struct module *m)
{
	const uint8_t *id;
	size_t len = elf_file__build_id(m->elf, &id);
	const struct module *first = len ? find_build_id(s, id, len) : NULL;

	return (first ? first : m)->src_state != SRC_NEW;
}

/* At most MAX_HELD descriptors, and a quarter of what RLIMIT_NOFILE allows */
static bool may_hold(struct symbolizer *s)
{
	size_t cap = MAX_HELD;
	struct rlimit r;

	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur != RLIM_INFINITY && r.rlim_cur / 4 < cap)
		cap = r.rlim_cur / 4;
	if (s->nr_held < cap)
		return true;
	if (!s->held_refused++)
		pr_info("symbolize: %zu files held open for source lines, no more: other modules get theirs only while their process lives",
			s->nr_held);
	return false;
}

static void module_load(struct symbolizer *s, struct module *m, int pid, const struct vma *v,
			int *other)
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
	if (err) {
		close(fd);
		goto out_fail;
	}
	m->state = MOD_LOADED;
	m->pid = pid > 0 ? pid : 0;
	m->start = v->start;
	m->end = v->end;
	s->nr_loaded++;
	index_build_id(s, m);
	/* the very file mapped, for its DWARF at report time, when the process may be gone */
	if (!dwarf_read(s, m) && may_hold(s)) {
		m->fd = fd;
		s->nr_held++;
	} else {
		close(fd);
	}
	if (pid > 0)
		hold_debug(s, m, pid, other);
	return;
out_fail:
	if (!m->tries)
		pr_debug("symbolize: cannot load '%s': %s", m->path, strerror(-err));
	m->state = MOD_FAILED;
	m->failed_pid = pid;
	m->tries++;
}

/*
 * A live process maps m here now: the likeliest way to reopen it later.
 * other: NULL, or this pid's view as hold_debug() caches it.
 */
static void module_seen(struct symbolizer *s, struct module *m, int pid, const struct vma *v,
			int *other)
{
	if (pid > 0 && m->state == MOD_LOADED) {
		m->pid = pid;
		m->start = v->start;
		m->end = v->end;
		if (other)
			hold_debug(s, m, pid, other);
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
		module_load(s, m, pid, v, &(int){ -1 });
	else
		module_seen(s, m, pid, v, NULL); /* per frame: debug files are held by learn_maps */
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
	int other = -1; /* pid's mount namespace or root is not ours: found out when needed */

	for (size_t i = 0; s && maps && i < maps->nr; i++) {
		const struct vma *v = &maps->vmas[i];
		struct module *m;

		if (!v->exec || v->path[0] != '/')
			continue;
		m = module_get(s, v);
		if (m && should_load(m, pid))
			module_load(s, m, pid, v, &other);
		else if (m)
			module_seen(s, m, pid, v, &other);
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
		module_load(s, m, 0, &v, NULL);
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
 * Is f the separate debug file of this binary: its build-id the binary's
 * (len > 0), or its CRC the debuglink's?
 */
static bool debug_ok(const struct srcline *f, const uint8_t *id, size_t len, const uint32_t *crc)
{
	return f && srcline__has_dwarf(f) &&
	       (len ? same_id(f, id, len) : crc && srcline__crc32(f) == *crc);
}

/* Parse fd (read with pread: its offset does not matter); NULL when it fails */
static struct srcline *parse_fd(int fd)
{
	struct srcline *f = NULL;

	if (fd < 0 || srcline__open_fd(fd, &f))
		return NULL;
	return f;
}

/*
 * A separate debug file at path, if it is the one for this binary (debug_ok).
 * Looked for inside the process's root first (the target's own files), then
 * in ours.
 */
static struct srcline *try_debug(int pid, const char *path, const uint8_t *id, size_t len,
				 const uint32_t *crc)
{
	struct stat st, tried = { 0 };

	for (int i = pid > 0 ? 0 : 1; i < 2; i++) {
		struct srcline *f;
		int fd = open_in(i ? 0 : pid, path, &st);

		if (fd < 0)
			continue;
		if (i == 1 && st.st_ino == tried.st_ino && st.st_dev == tried.st_dev) {
			close(fd); /* the same file as inside the root, refused already */
			break;
		}
		tried = st;
		f = parse_fd(fd);
		close(fd);
		if (debug_ok(f, id, len, crc)) {
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

/* <debug root>/.build-id/xx/rest.debug; false when it does not fit */
static bool build_id_path(const struct symbolizer *s, const uint8_t *id, size_t len,
			  char path[PATH_MAX])
{
	char hex[2 * 64 + 1];
	int n;

	if (len < 2 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	n = snprintf(path, PATH_MAX, "%s/.build-id/%.2s/%s.debug", s->debug_root, hex, hex + 2);
	return n > 0 && n < PATH_MAX;
}

static struct srcline *by_build_id(struct symbolizer *s, int pid, const uint8_t *id, size_t len)
{
	char path[PATH_MAX];

	return build_id_path(s, id, len, path) ? try_debug(pid, path, id, len, NULL) : NULL;
}

/* A .gnu_debuglink name must name a file in a directory, nothing else. */
static bool link_name_ok(const char *name)
{
	size_t len = strnlen(name, NAME_MAX + 1);

	return len && len <= NAME_MAX && !memchr(name, '/', len) && strcmp(name, ".") &&
	       strcmp(name, "..");
}

#define LINK_PLACES 3

/*
 * Where .gnu_debuglink's name may be for the binary at module, place i <
 * LINK_PLACES: its directory, its .debug/, the debug root + its directory.
 */
static bool link_path(const struct symbolizer *s, const char *module, const char *name, int i,
		      char path[PATH_MAX])
{
	static const char *const fmt[] = { "%s%.*s/%s", "%s%.*s/.debug/%s", "%s%.*s/%s" };
	const char *slash = strrchr(module, '/');
	int n;

	if (!link_name_ok(name) || module[0] != '/' || !slash || slash - module >= PATH_MAX)
		return false;
	n = snprintf(path, PATH_MAX, fmt[i], i == 2 ? s->debug_root : "", (int)(slash - module),
		     module, name);
	return n > 0 && n < PATH_MAX;
}

static struct srcline *by_debuglink(struct symbolizer *s, const struct module *m,
				    const struct srcline *bin, const uint8_t *id, size_t len)
{
	char path[PATH_MAX];
	const char *name;
	struct srcline *f = NULL;
	uint32_t crc;

	name = srcline__debuglink(bin, &crc);
	for (int i = 0; name && i < LINK_PLACES && !f; i++)
		if (link_path(s, m->path, name, i, path))
			f = try_debug(m->pid, path, id, len, &crc);
	return f;
}

/* ---- files held while their process lives ---------------------------------- */

/*
 * A process whose mount namespace or root is not ours sees other files at
 * the paths where debug files are looked for: those it sees must be held
 * while it lives.  In our view, the paths will still lead to them.
 */
static bool other_view(struct symbolizer *s, int pid)
{
	struct stat ns, root;
	char path[64];

	if (!s->view_known) {
		s->view_known = true;
		if (stat("/proc/self/ns/mnt", &s->my_ns) || stat("/", &s->my_root))
			memset(&s->my_ns, 0, sizeof(s->my_ns)); /* matches nothing */
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
	if (stat(path, &ns))
		return true; /* cannot tell: hold (opening fails if it is gone) */
	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	if (stat(path, &root))
		return true;
	return ns.st_ino != s->my_ns.st_ino || ns.st_dev != s->my_ns.st_dev ||
	       root.st_ino != s->my_root.st_ino || root.st_dev != s->my_root.st_dev;
}

/* What a binary's section headers say about its debug information */
struct peek {
	bool dwarf;
	char link[NAME_MAX + 1]; /* .gnu_debuglink file name, "" when none */
	char alt[PATH_MAX];	 /* .gnu_debugaltlink path, "" when none */
	uint8_t alt_id[64];
	size_t alt_id_len;
};

/* The section's bytes, when it holds at most max; NULL otherwise */
static const char *small_section(Elf_Scn *scn, const GElf_Shdr *sh, size_t max, size_t *len)
{
	Elf_Data *d;

	if (sh->sh_size > max)
		return NULL;
	d = elf_rawdata(scn, NULL);
	if (!d || !d->d_buf || d->d_size != sh->sh_size)
		return NULL;
	*len = d->d_size;
	return d->d_buf;
}

static void peek_section(struct peek *pk, Elf_Scn *scn, const GElf_Shdr *sh, const char *name)
{
	const char *p, *nul;
	size_t len, id_len;

	if (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")) {
		pk->dwarf = true;
	} else if (!strcmp(name, ".gnu_debuglink")) {
		/* name, NUL, padding, CRC: the CRC is checked on the file found, later */
		p = small_section(scn, sh, sizeof(pk->link) + 8, &len);
		nul = p ? memchr(p, 0, len) : NULL;
		if (nul && (size_t)(nul - p) < sizeof(pk->link) && link_name_ok(p))
			memcpy(pk->link, p, nul - p + 1);
	} else if (!strcmp(name, ".gnu_debugaltlink")) {
		/* path, NUL, build-id */
		p = small_section(scn, sh, sizeof(pk->alt) + sizeof(pk->alt_id), &len);
		nul = p ? memchr(p, 0, len) : NULL;
		id_len = nul ? len - (size_t)(nul + 1 - p) : 0;
		if (!nul || (size_t)(nul - p) >= sizeof(pk->alt) || !id_len ||
		    id_len > sizeof(pk->alt_id))
			return;
		memcpy(pk->alt, p, nul - p + 1);
		memcpy(pk->alt_id, nul + 1, id_len);
		pk->alt_id_len = id_len;
	}
}

/*
 * A 64-bit ELF file with at most PEEK_SECTS sections?  libelf sets up every
 * section the header claims when it begins, so forged counts stop here.
 */
static bool few_sections(int fd)
{
	Elf64_Ehdr eh;
	Elf64_Shdr sh0;
	uint64_t n;

	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64)
		return false;
	n = eh.e_shnum;
	if (!n && eh.e_shoff) { /* extended numbering: the count is section 0's size */
		if (pread(fd, &sh0, sizeof(sh0), (off_t)eh.e_shoff) != sizeof(sh0))
			return false;
		n = sh0.sh_size;
	}
	return n <= PEEK_SECTS;
}

/*
 * Read the section headers of the ELF file fd, and three small sections at
 * most, with pread (libelf's ELF_C_READ): nothing of the file's size is read.
 */
static int peek(int fd, struct peek *pk)
{
	Elf_Scn *scn;
	GElf_Shdr sh;
	size_t shstrndx, n = 0;
	Elf *e;

	memset(pk, 0, sizeof(*pk));
	if (!few_sections(fd))
		return -ENOEXEC;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e)
		return -ENOEXEC;
	if (elf_kind(e) != ELF_K_ELF || elf_getshdrstrndx(e, &shstrndx) ||
	    !(scn = elf_getscn(e, shstrndx)) || !gelf_getshdr(scn, &sh) ||
	    sh.sh_size > PEEK_STRTAB) {
		elf_end(e);
		return -ENOEXEC;
	}
	for (scn = NULL; (scn = elf_nextscn(e, scn)) && n++ < PEEK_SECTS;) {
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || !sh.sh_size)
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (name)
			peek_section(pk, scn, &sh, name);
	}
	elf_end(e);
	return 0;
}

/* Hold the regular file at path inside pid's root for m; 0 or -errno. */
static int hold_file(struct symbolizer *s, struct module *m, int pid, const char *path, bool alt,
		     struct peek *pk)
{
	struct stat st, ours;
	int fd;

	if (m->nr_pins >= MAX_PINS)
		return -ENOSPC;
	fd = open_in(pid, path, &st);
	if (fd < 0)
		return fd;
	if (!stat(path, &ours) && ours.st_dev == st.st_dev && ours.st_ino == st.st_ino) {
		close(fd); /* our path leads to it too (a mount namespace copied from ours) */
		return -EEXIST;
	}
	for (size_t i = 0; i < m->nr_pins; i++) {
		if (m->pins[i].dev == st.st_dev && m->pins[i].ino == st.st_ino) {
			close(fd); /* the same file by another name (.build-id links) */
			return -EEXIST;
		}
	}
	if ((pk && peek(fd, pk)) || !may_hold(s)) {
		close(fd);
		return -ENOEXEC;
	}
	m->pins[m->nr_pins++] =
		(struct pin){ .fd = fd, .alt = alt, .dev = st.st_dev, .ino = st.st_ino };
	s->nr_held++;
	pr_debug("symbolize: holding '%s' of pid %d for '%s'", path, pid, m->path);
	return 0;
}

/* The dwz supplementary file a debug file names, by build-id and by its path */
static void hold_alt(struct symbolizer *s, struct module *m, int pid, const struct peek *pk)
{
	char path[PATH_MAX];

	if (!pk->alt_id_len)
		return;
	if (build_id_path(s, pk->alt_id, pk->alt_id_len, path))
		hold_file(s, m, pid, path, true, NULL);
	if (pk->alt[0] == '/')
		hold_file(s, m, pid, pk->alt, true, NULL);
}

/*
 * m was loaded, or is seen, in live process pid: if pid's files are not
 * ours, hold the debug files it sees for m (the process may be gone when
 * its DWARF is wanted): when m's file has no DWARF, those its
 * .gnu_debuglink and build-id name (and their dwz files), else its dwz file.
 * Only opened here; they are parsed and checked as any other, by
 * load_debug.  *other caches other_view(pid) (-1: not asked yet).
 */
static void hold_debug(struct symbolizer *s, struct module *m, int pid, int *other)
{
	char path[PATH_MAX];
	const uint8_t *id;
	struct peek bin, dbg;
	size_t len;

	if (m->looked || m->fd < 0 || !other || dwarf_read(s, m))
		return;
	if (*other < 0)
		*other = other_view(s, pid);
	if (!*other)
		return; /* our paths lead to what it sees */
	m->looked = true;
	if (peek(m->fd, &bin))
		return;
	if (bin.dwarf) {
		hold_alt(s, m, pid, &bin);
		return;
	}
	for (int i = 0; bin.link[0] && i < LINK_PLACES; i++)
		if (link_path(s, m->path, bin.link, i, path) &&
		    !hold_file(s, m, pid, path, false, &dbg))
			hold_alt(s, m, pid, &dbg);
	len = elf_file__build_id(m->elf, &id);
	if (build_id_path(s, id, len, path) && !hold_file(s, m, pid, path, false, &dbg))
		hold_alt(s, m, pid, &dbg);
}

/*
 * The first file the copies hold that is their debug file (alt: the dwz file
 * with this build-id)
 */
static struct srcline *from_held(struct module *const *copies, size_t nr, bool alt,
				 const uint8_t *id, size_t len, const uint32_t *crc)
{
	for (size_t k = 0; k < nr; k++) {
		for (size_t i = 0; i < copies[k]->nr_pins; i++) {
			struct srcline *f;

			if (copies[k]->pins[i].alt != alt)
				continue;
			f = parse_fd(copies[k]->pins[i].fd);
			if (debug_ok(f, id, len, crc)) {
				pr_debug("symbolize: %s from a file held for '%s'",
					 alt ? "dwz file" : "DWARF", copies[k]->path);
				return f;
			}
			srcline__close(f);
		}
	}
	return NULL;
}

/* f if it has the build-id, else NULL (f closed) */
static struct srcline *if_same(struct srcline *f, const uint8_t *id, size_t len)
{
	if (f && same_id(f, id, len))
		return f;
	srcline__close(f);
	return NULL;
}

/*
 * The file m was loaded from: the one it holds, else reopened the way it was
 * opened; it must still be that file.
 */
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
	struct srcline *f = if_same(parse_fd(m->fd), id, len);
	int fd;

	if (f)
		return f;
	fd = open_module(m->pid, &v);
	if (fd < 0)
		return NULL;
	f = parse_fd(fd);
	close(fd);
	if (f && !same_id(f, id, len))
		pr_debug("symbolize: '%s' is not the file that was mapped any more", m->path);
	return if_same(f, id, len);
}

static bool has_id(const struct module *m, const uint8_t *id, size_t len)
{
	const uint8_t *mid;

	return m->state == MOD_LOADED && elf_file__build_id(m->elf, &mid) == len &&
	       !memcmp(mid, id, len);
}

/*
 * m, then up to MAX_COPIES - 1 other files with its build-id (copies of it,
 * which a live process may map, or whose process held their debug files)
 */
static size_t copies_of(const struct symbolizer *s, struct module *m, const uint8_t *id, size_t len,
			struct module **out)
{
	size_t n = 0;

	out[n++] = m;
	for (size_t i = 0; len && i < s->nr_buckets && n < MAX_COPIES; i++)
		for (struct module *o = s->buckets[i]; o && n < MAX_COPIES; o = o->next)
			if (o != m && has_id(o, id, len))
				out[n++] = o;
	return n;
}

/* The first of the copies that can be reopened */
static struct srcline *open_binary(struct module *const *copies, size_t nr, const uint8_t *id,
				   size_t len)
{
	struct srcline *f = NULL;

	for (size_t k = 0; k < nr && !f; k++)
		f = reopen(copies[k], id, len);
	return f;
}

/* dwz: the supplementary file a debug file names, found by its build-id. */
static void find_alt(struct symbolizer *s, struct module *const *copies, size_t nr,
		     struct srcline *dbg)
{
	const struct module *m = copies[0];
	const uint8_t *id;
	struct srcline *alt;
	const char *name;
	size_t len;

	name = srcline__altlink(dbg, &id, &len);
	if (!name)
		return;
	alt = from_held(copies, nr, true, id, len, NULL);
	if (!alt)
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

/* What m holds is of no more use once its DWARF is read (or known to be nowhere) */
static void release_one(struct symbolizer *s, struct module *m)
{
	if (m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
		s->nr_held--;
	}
	for (size_t i = 0; i < m->nr_pins; i++)
		close(m->pins[i].fd);
	s->nr_held -= m->nr_pins;
	m->nr_pins = 0;
	m->looked = true;
}

/* ...nor what every copy of it holds (the DWARF is one per build-id) */
static void release_held(struct symbolizer *s, struct module *m, const uint8_t *id, size_t len)
{
	release_one(s, m);
	for (size_t i = 0; len && s->nr_held && i < s->nr_buckets; i++)
		for (struct module *o = s->buckets[i]; o; o = o->next)
			if (o != m && (o->fd >= 0 || o->nr_pins) && has_id(o, id, len))
				release_one(s, o);
}

static void load_debug(struct symbolizer *s, struct module *m)
{
	struct module *copies[MAX_COPIES];
	struct srcline *bin, *dbg = NULL;
	const uint8_t *id;
	const char *link = NULL;
	size_t len = elf_file__build_id(m->elf, &id), nr;
	uint32_t crc = 0;

	m->src_state = SRC_NONE;
	nr = copies_of(s, m, id, len, copies);
	bin = open_binary(copies, nr, id, len);
	if (bin && srcline__has_dwarf(bin)) {
		dbg = bin;
		bin = NULL;
	}
	if (bin)
		link = srcline__debuglink(bin, &crc);
	if (!dbg)
		dbg = from_held(copies, nr, false, id, len, link ? &crc : NULL);
	if (!dbg && bin)
		dbg = by_debuglink(s, m, bin, id, len);
	if (!dbg && len)
		dbg = by_build_id(s, m->pid, id, len);
	if (!dbg && len)
		dbg = try_debuginfod(s, id, len);
	srcline__close(bin);
	if (dbg) {
		find_alt(s, copies, nr, dbg);
		m->src = dbg;
		m->src_state = SRC_READY;
	} else {
		pr_debug("symbolize: no DWARF for '%s'", m->path);
	}
	release_held(s, m, id, len);
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
	const char *name;
	uint64_t vaddr, delta;
	size_t len, n;

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
	if (!m->src)
		return 0;
	n = srcline__lookup(m->src, vaddr, out, max); /* <= 64 */
	if (n || elf_file__func_at(m->elf, file_offset, &delta))
		return (int)n;
	/* code DWARF does not describe, in a binary stripped of its .symtab: the debug file's */
	name = srcline__symbol(m->src, vaddr, &delta);
	if (!name)
		return 0;
	out[0] = (struct sym_line){ .function = symbolizer__demangle(s, name) };
	return 1;
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	out->modules = s->nr_modules;
	out->source_calls = s->source_calls;
	out->files_held = s->nr_held;
	out->files_not_held = s->held_refused;
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
