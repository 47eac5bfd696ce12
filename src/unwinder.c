// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

/* One file, shared by every process that maps it. */
struct file_entry {
	struct drip_file_key key;
	struct drip_file_info info;
	char *path;	      /* as first seen */
	struct elf_file *elf; /* NULL: not an ELF file we could read */
};

struct unwinder {
	struct session *s;
	int rows_fd, tables_fd, files_fd, requested_fd;
	uint32_t rows_cap, rows_used;
	uint32_t next_table;	  /* table ids start at 1 */
	struct file_entry *files; /* file id i + 1 is files[i] */
	size_t nr_files, cap_files;
	struct unwinder_stats st;
};

/* The kernel's MKDEV, which bpf_find_vma sees and /proc/PID/maps prints. */
static uint64_t kernel_dev(unsigned int maj, unsigned int min)
{
	return (uint64_t)maj << 20 | min;
}

int unwinder__new(struct session *s, struct unwinder **out)
{
	struct drip_bpf *skel = session__skel(s);
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	u->s = s;
	u->rows_fd = bpf_map__fd(skel->maps.unwind_rows);
	u->tables_fd = bpf_map__fd(skel->maps.unwind_tables);
	u->files_fd = bpf_map__fd(skel->maps.file_tables);
	u->requested_fd = bpf_map__fd(skel->maps.files_requested);
	u->rows_cap = bpf_map__max_entries(skel->maps.unwind_rows);
	u->next_table = 1;
	*out = u;
	return 0;
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nr_files; i++) {
		elf_file__close(u->files[i].elf);
		free(u->files[i].path);
	}
	free(u->files);
	free(u);
}

const struct unwinder_stats *unwinder__stats(const struct unwinder *u)
{
	return &u->st;
}

static struct file_entry *file_find(const struct unwinder *u, const struct drip_file_key *k);

const char *unwinder__file(const struct unwinder *u, uint64_t dev, uint64_t ino,
			   const struct elf_file **elf)
{
	struct drip_file_key k = { .dev = dev, .ino = ino };
	const struct file_entry *e = u ? file_find(u, &k) : NULL;

	if (!e)
		return NULL;
	if (elf)
		*elf = e->elf;
	return e->path;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Copy rows into the BPF array in batches: one syscall per row would cost ~20 ms for libc. */
static int load_rows(struct unwinder *u, const struct cfi_table *t, uint32_t *first)
{
	uint32_t n = (uint32_t)t->nr, batch = 4096;
	__u32 *keys;
	int err = 0;

	if (t->nr > UINT32_MAX || u->rows_used + (uint64_t)n > u->rows_cap ||
	    u->next_table >= DRIP_MAX_TABLES)
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

/* Compile and load path's table; 0 (no table: frame pointers) on failure. */
static uint32_t build_table(struct unwinder *u, const char *path, const char *name)
{
	struct drip_unwind_table bt;
	struct cfi_table *t = NULL;
	uint32_t id = 0;
	double t0 = now_s();
	int err;

	err = cfi_table__build(path, &t);
	u->st.build_s += now_s() - t0;
	if (!err)
		err = load_rows(u, t, &bt.first);
	if (!err) {
		bt.nr = (uint32_t)t->nr;
		if (bpf_map_update_elem(u->tables_fd, &u->next_table, &bt, BPF_ANY)) {
			err = -errno;
		} else {
			id = u->next_table++;
			u->st.tables++;
			u->st.rows += t->nr;
			u->st.row_bytes += t->nr * 16; /* array elements round up to 8 bytes */
			pr_debug("unwind table for %s: %zu rows", name, t->nr);
		}
	}
	if (err == -ENOSPC)
		pr_warn("unwind tables full (%u rows): frame pointers for %s", u->rows_cap, name);
	else if (err)
		pr_debug("no unwind table for %s: %s", name, strerror(-err));
	cfi_table__free(t);
	return id;
}

static struct file_entry *file_find(const struct unwinder *u, const struct drip_file_key *k)
{
	for (size_t i = 0; i < u->nr_files; i++)
		if (u->files[i].key.dev == k->dev && u->files[i].key.ino == k->ino)
			return &u->files[i];
	return NULL;
}

/*
 * Register the file opened at path (a /proc/PID/map_files link, or a plain
 * path) under key, named name.  Files without CFI or ELF still get an id:
 * frames in them are then named by user space and walked by frame pointers.
 */
static int file_add(struct unwinder *u, const struct drip_file_key *k, const char *path,
		    const char *name)
{
	struct file_entry *e;
	uint64_t vaddr;

	if (file_find(u, k))
		return 0;
	if (u->nr_files >= DRIP_MAX_FILES)
		return -ENOSPC;
	if (u->nr_files == u->cap_files) {
		size_t cap = u->cap_files ? 2 * u->cap_files : 64;
		struct file_entry *n = realloc(u->files, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		u->files = n;
		u->cap_files = cap;
	}
	e = &u->files[u->nr_files];
	*e = (struct file_entry){ .key = *k };
	e->path = strdup(name);
	if (!e->path)
		return -ENOMEM;
	u->nr_files++;
	if (!elf_file__open(path, &e->elf)) {
		/* the executable segment's vaddr - offset: ELF vaddr of any file offset in it */
		uint64_t text_off = 0;

		if (!elf_file__exec_offset(e->elf, &text_off) &&
		    !elf_file__offset_to_vaddr(e->elf, text_off, &vaddr)) {
			e->info.vaddr_delta = (int64_t)(vaddr - text_off);
			e->info.table = build_table(u, path, name);
		}
	}
	u->st.files++;
	if (bpf_map_update_elem(u->files_fd, &e->key, &e->info, BPF_ANY))
		return -errno;
	return 0;
}

int unwinder__preload(struct unwinder *u, const char *path)
{
	struct drip_file_key k;
	struct stat st;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return -ENOENT;
	k.dev = kernel_dev(major(st.st_dev), minor(st.st_dev));
	k.ino = st.st_ino;
	return file_add(u, &k, path, path);
}

void unwinder__learn_maps(struct unwinder *u, pid_t pid, const struct procmaps *maps)
{
	for (size_t i = 0; i < maps->nr; i++) {
		const struct vma *v = &maps->vmas[i];
		struct drip_file_key k;
		char path[96];

		if (!v->exec || v->path[0] != '/')
			continue;
		k.dev = kernel_dev(v->dev_major, v->dev_minor);
		k.ino = v->inode;
		if (file_find(u, &k))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid,
			 v->start, v->end);
		file_add(u, &k, path, v->path);
	}
}

int unwinder__need_file(struct unwinder *u, pid_t pid, uint64_t dev, uint64_t ino, uint64_t start,
			uint64_t end)
{
	struct drip_file_key k = { .dev = dev, .ino = ino };
	struct procmaps *maps = NULL;
	const struct vma *v;
	char path[96];
	int err;

	u->st.requests++;
	if (file_find(u, &k))
		return 0;
	/*
	 * The maps line names the file and map_files opens the very file mapped.
	 * Match the mapping by its range, not by (dev, inode): on overlayfs the
	 * kernel's VMA holds the backing inode while maps prints the overlay's.
	 * The file is registered under BPF's key.
	 */
	err = procmaps__read(pid, &maps);
	v = err ? NULL : procmaps__find(maps, start);
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, start, end);
	if (!v || v->start != start || v->end != end || v->path[0] != '/')
		err = -ESRCH;
	else
		err = file_add(u, &k, path, v->path);
	procmaps__free(maps);
	if (err)
		bpf_map_delete_elem(u->requested_fd, &k); /* another process may bring it */
	return err;
}
