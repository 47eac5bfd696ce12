// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "drip/cfi.h"
#include "drip/elf.h"
#include "drip/log.h"
#include "drip/session.h"
#include "drip/unwinder.h"
#include "drip.skel.h"

/* One ELF file's table, shared by every process that maps it. */
struct table_entry {
	dev_t dev;
	ino_t ino;
	uint32_t id; /* 0: no table (build failed): frame pointers for this file */
	struct elf_file *elf; /* for offset -> vaddr */
};

struct unwinder {
	struct session *s;
	int rows_fd, tables_fd, modules_fd, requested_fd;
	uint32_t rows_cap, rows_used;
	uint32_t next_id; /* table ids start at 1 */
	struct table_entry *tables;
	size_t nr_tables, cap_tables;
	struct unwinder_stats st;
};

int unwinder__new(struct session *s, struct unwinder **out)
{
	struct drip_bpf *skel = session__skel(s);
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	u->s = s;
	u->rows_fd = bpf_map__fd(skel->maps.unwind_rows);
	u->tables_fd = bpf_map__fd(skel->maps.unwind_tables);
	u->modules_fd = bpf_map__fd(skel->maps.proc_modules);
	u->requested_fd = bpf_map__fd(skel->maps.maps_requested);
	u->rows_cap = bpf_map__max_entries(skel->maps.unwind_rows);
	u->next_id = 1;
	*out = u;
	return 0;
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nr_tables; i++)
		elf_file__close(u->tables[i].elf);
	free(u->tables);
	free(u);
}

const struct unwinder_stats *unwinder__stats(const struct unwinder *u)
{
	return &u->st;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Copy rows into the BPF array, in batches: one syscall per row would cost ~20 ms for libc. */
static int load_rows(struct unwinder *u, const struct cfi_table *t, uint32_t *first)
{
	uint32_t n = (uint32_t)t->nr, batch = 4096;
	__u32 *keys;
	int err = 0;

	if (t->nr > UINT32_MAX || u->rows_used + n > u->rows_cap || u->next_id >= DRIP_MAX_TABLES)
		return -ENOSPC;
	keys = malloc(batch * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (uint32_t done = 0; done < n && !err; done += batch) {
		__u32 count = n - done < batch ? n - done : batch;

		for (uint32_t i = 0; i < count; i++)
			keys[i] = u->rows_used + done + i;
		if (bpf_map_update_batch(u->rows_fd, keys, &t->rows[done], &count, NULL))
			err = -errno;
	}
	free(keys);
	if (err)
		return err;
	*first = u->rows_used;
	u->rows_used += n;
	return 0;
}

static struct table_entry *table_find(struct unwinder *u, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < u->nr_tables; i++)
		if (u->tables[i].dev == dev && u->tables[i].ino == ino)
			return &u->tables[i];
	return NULL;
}

/* The table of the file at path (opened now), built on first sight. */
static struct table_entry *table_get(struct unwinder *u, const char *path, const char *name)
{
	struct cfi_table *t = NULL;
	struct drip_unwind_table bt;
	struct table_entry *e;
	struct stat st;
	double t0;
	int err;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return NULL;
	e = table_find(u, st.st_dev, st.st_ino);
	if (e)
		return e;
	if (u->nr_tables == u->cap_tables) {
		size_t cap = u->cap_tables ? 2 * u->cap_tables : 32;
		struct table_entry *n = realloc(u->tables, cap * sizeof(*n));

		if (!n)
			return NULL;
		u->tables = n;
		u->cap_tables = cap;
	}
	e = &u->tables[u->nr_tables++];
	*e = (struct table_entry){ .dev = st.st_dev, .ino = st.st_ino };
	if (elf_file__open(path, &e->elf)) {
		e->elf = NULL;
		u->st.failed++;
		return e;
	}
	t0 = now_s();
	err = cfi_table__build(path, &t);
	u->st.build_s += now_s() - t0;
	if (!err)
		err = load_rows(u, t, &bt.first);
	if (!err) {
		bt.nr = (uint32_t)t->nr;
		e->id = u->next_id;
		if (bpf_map_update_elem(u->tables_fd, &e->id, &bt, BPF_ANY)) {
			err = -errno;
			e->id = 0;
		} else {
			u->next_id++;
			u->st.tables++;
			u->st.rows += t->nr;
			u->st.row_bytes += t->nr * 16; /* array elements round up to 8 bytes */
			pr_debug("unwind table for %s: %zu rows", name, t->nr);
		}
	}
	if (err) {
		u->st.failed++;
		pr_debug("no unwind table for %s: %s", name, strerror(-err));
		if (err == -ENOSPC)
			pr_warn("unwind tables full (%u rows): frame pointers for %s", u->rows_cap,
				name);
	}
	cfi_table__free(t);
	return e;
}

int unwinder__preload(struct unwinder *u, const char *path)
{
	struct table_entry *e = table_get(u, path, path);

	return e && e->id ? 0 : -ENOENT;
}

int unwinder__push(struct unwinder *u, pid_t pid, const struct procmaps *maps)
{
	struct drip_proc_modules *pm;
	__u32 key = pid;
	int err = 0;

	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	for (size_t i = 0; i < maps->nr && pm->nr < DRIP_MAX_MODULES; i++) {
		const struct vma *v = &maps->vmas[i];
		struct drip_module *m = &pm->m[pm->nr];
		struct table_entry *e;
		uint64_t vaddr;
		char path[96];

		if (!v->exec)
			continue;
		m->start = v->start;
		m->end = v->end;
		if (v->path[0] != '/') {
			/* JIT code, [vdso]: frame pointers, and nothing to count */
			m->flags = DRIP_MODULE_ANON;
			pm->nr++;
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid,
			 v->start, v->end);
		e = table_get(u, path, v->path);
		if (e && e->id && e->elf && !elf_file__offset_to_vaddr(e->elf, v->offset, &vaddr)) {
			m->table = e->id;
			m->bias = v->start - vaddr;
		}
		pm->nr++;
	}
	if (bpf_map_update_elem(u->modules_fd, &key, pm, BPF_ANY))
		err = -errno;
	else
		u->st.pushes++;
	/* BPF may ask again now */
	bpf_map_delete_elem(u->requested_fd, &key);
	free(pm);
	return err;
}

/* Until src/cfi.c lands: no tables, frame pointers everywhere (counted). */
__attribute__((weak)) int cfi_table__build(const char *path, struct cfi_table **out)
{
	return -ENOSYS;
}

__attribute__((weak)) void cfi_table__free(struct cfi_table *t)
{
}
