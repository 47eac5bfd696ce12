// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drip/elf.h"
#include "drip/needed.h"

#define MAX_DYN	   4096 /* dynamic entries read */
#define MAX_NEEDED 256	/* DT_NEEDED per file */
#define MAX_STR	   1024 /* a library name or search path */

/* Debian multiarch first, then the classic directories */
static const char *const system_dirs[] = {
	"/lib/x86_64-linux-gnu",
	"/usr/lib/x86_64-linux-gnu",
	"/lib64",
	"/usr/lib64",
	"/lib",
	"/usr/lib",
	"/usr/local/lib",
};

struct dyn_info {
	uint64_t strtab; /* vaddr */
	uint64_t needed[MAX_NEEDED];
	size_t nr_needed;
	uint64_t runpath, rpath; /* string offsets, or UINT64_MAX */
};

static int read_dynamic(const struct elf_file *e, struct dyn_info *d)
{
	uint64_t off, size;

	d->nr_needed = 0;
	d->strtab = 0;
	d->runpath = d->rpath = UINT64_MAX;
	if (elf_file__dynamic(e, &off, &size))
		return -ENOENT;
	for (uint64_t i = 0; i < size / sizeof(Elf64_Dyn) && i < MAX_DYN; i++) {
		Elf64_Dyn dyn;

		if (elf_file__read_at(e, off + i * sizeof(dyn), &dyn, sizeof(dyn)))
			return -EBADMSG;
		if (dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag == DT_STRTAB)
			d->strtab = dyn.d_un.d_ptr;
		else if (dyn.d_tag == DT_NEEDED && d->nr_needed < MAX_NEEDED)
			d->needed[d->nr_needed++] = dyn.d_un.d_val;
		else if (dyn.d_tag == DT_RUNPATH)
			d->runpath = dyn.d_un.d_val;
		else if (dyn.d_tag == DT_RPATH)
			d->rpath = dyn.d_un.d_val;
	}
	return d->strtab ? 0 : -ENOENT;
}

/* A NUL-terminated string of the dynamic string table, bounded. */
static int read_str(const struct elf_file *e, const struct dyn_info *d, uint64_t idx, char *buf)
{
	uint64_t off;
	size_t i;

	if (elf_file__vaddr_to_offset(e, d->strtab, &off) || off + idx < off)
		return -EBADMSG;
	for (i = 0; i < MAX_STR - 1; i++) {
		if (elf_file__read_at(e, off + idx + i, &buf[i], 1))
			return -EBADMSG;
		if (!buf[i])
			return 0;
	}
	return -E2BIG;
}

/* Look for name in a ':'-separated list of directories; $ORIGIN is origin. */
static int search(const char *dirs, const char *origin, const char *name, char *out)
{
	while (dirs && *dirs) {
		size_t len = strcspn(dirs, ":");
		char dir[PATH_MAX];

		if (len >= 7 && !strncmp(dirs, "$ORIGIN", 7))
			snprintf(dir, sizeof(dir), "%s%.*s", origin, (int)(len - 7), dirs + 7);
		else
			snprintf(dir, sizeof(dir), "%.*s", (int)len, dirs);
		if ((size_t)snprintf(out, PATH_MAX, "%s/%s", len ? dir : ".", name) < PATH_MAX &&
		    !access(out, R_OK))
			return 0;
		dirs += len + (dirs[len] == ':');
	}
	return -ENOENT;
}

static int resolve(const char *name, const char *origin, const char *rpath, const char *runpath,
		   char *out)
{
	if (strchr(name, '/')) {
		snprintf(out, PATH_MAX, "%s", name);
		return access(out, R_OK) ? -ENOENT : 0;
	}
	/* the loader's order: DT_RPATH (only without DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH */
	if (!runpath && rpath && !search(rpath, origin, name, out))
		return 0;
	if (!search(getenv("LD_LIBRARY_PATH"), origin, name, out))
		return 0;
	if (runpath && !search(runpath, origin, name, out))
		return 0;
	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++)
		if (!search(system_dirs[i], origin, name, out))
			return 0;
	return -ENOENT;
}

int needed__resolve(const char *name, char *out)
{
	return resolve(name, ".", NULL, NULL, out);
}

int needed__closure(const char *path, size_t max, void (*fn)(const char *path, void *ctx),
		    void *ctx)
{
	char(*queue)[PATH_MAX];
	size_t head = 0, tail = 0;

	queue = calloc(max ? max : 1, sizeof(*queue));
	if (!queue)
		return -ENOMEM;
	if (!realpath(path, queue[tail]))
		snprintf(queue[tail], PATH_MAX, "%s", path);
	tail++;
	while (head < tail) {
		char origin[PATH_MAX], name[MAX_STR], rpath[MAX_STR], runpath[MAX_STR];
		struct elf_file *e = NULL;
		struct dyn_info *d;
		const char *cur = queue[head++];
		char *slash;

		fn(cur, ctx);
		if (elf_file__open(cur, &e))
			continue;
		d = malloc(sizeof(*d));
		if (!d || read_dynamic(e, d)) {
			free(d);
			elf_file__close(e);
			continue;
		}
		snprintf(origin, sizeof(origin), "%s", cur);
		slash = strrchr(origin, '/');
		if (slash)
			*slash = 0;
		if (d->rpath == UINT64_MAX || read_str(e, d, d->rpath, rpath))
			rpath[0] = 0;
		if (d->runpath == UINT64_MAX || read_str(e, d, d->runpath, runpath))
			runpath[0] = 0;
		for (size_t i = 0; i < d->nr_needed && tail < max; i++) {
			char found[PATH_MAX], real[PATH_MAX];
			bool seen = false;

			if (read_str(e, d, d->needed[i], name) ||
			    resolve(name, origin, rpath[0] ? rpath : NULL,
				    runpath[0] ? runpath : NULL, found) ||
			    !realpath(found, real))
				continue;
			for (size_t k = 0; k < tail && !seen; k++)
				seen = !strcmp(queue[k], real);
			if (!seen)
				snprintf(queue[tail++], PATH_MAX, "%s", real);
		}
		free(d);
		elf_file__close(e);
	}
	free(queue);
	return 0;
}
