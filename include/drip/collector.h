/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The collector turns ring-buffer events into state: processes (one entry per
 * process image: a reused PID or an exec starts a new one), stacks, the
 * outstanding-block table, and frames resolved while the process lives.  It
 * builds report snapshots.  Plain C: tests feed it synthetic events.
 */
#ifndef DRIP_COLLECTOR_H
#define DRIP_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>
#include "drip/events.h"
#include "drip/report.h"
#include "drip/symbolize.h"

struct collector;

struct collector_counts {
	uint64_t allocs, frees, unknown_frees;
	uint64_t alloc_bytes;	 /* the sizes of allocs, summed */
	uint64_t implied_frees;	 /* alloc at an outstanding address: a release was lost */
	uint64_t unknown_stacks; /* alloc whose stack never arrived */
	uint64_t bad_records;	 /* malformed ring-buffer records */
	uint64_t exec_released;	 /* blocks released because their image was replaced */
	uint64_t late_frees;	 /* frees drained from the overflow map */
	uint64_t
		allocator_mmaps; /* mmaps an allocator made inside free (stack says so): not counted */
	uint64_t inherited_frees; /* frees of blocks a child inherited at fork: not in frees */
	uint64_t attach_gaps;	  /* allocator files a process mapped before drip probed them */
};

struct collector *collector__new(void);
void collector__free(struct collector *c);

/* --cgroup: only processes in this cgroup v2 path (or below) count; NULL: all. 0 or -ENOMEM. */
int collector__set_cgroup(struct collector *c, const char *rel);

struct procmaps;
/* Called with every new maps snapshot of a live process (the unwinder's module list). */
typedef void (*collector_maps_hook)(void *ctx, pid_t pid, const struct procmaps *maps);
void collector__set_maps_hook(struct collector *c, collector_maps_hook fn, void *ctx);

struct python;
/* Name the Python frames of CPython processes' stacks with py (owned by the caller). */
void collector__set_python(struct collector *c, struct python *py);

struct elf_file;
/* The file (dev, ino) DWARF frames carry: its path and parsed ELF (or NULL), or NULL. */
typedef const char *(*collector_file_fn)(void *ctx, uint64_t dev, uint64_t ino,
					 const struct elf_file **elf);
void collector__set_file_resolver(struct collector *c, collector_file_fn fn, void *ctx);

/* One ring-buffer record. Returns its type (> 0), or -EBADMSG. */
int collector__on_event(struct collector *c, const void *data, size_t size);
void collector__on_late_free(struct collector *c, uint32_t tgid, uint64_t addr, uint64_t ts);
/* A process found at attach time (not through a fork event). 0 or -errno. */
int collector__add_process(struct collector *c, pid_t pid);
/* Is pid a live traced process? */
bool collector__live(const struct collector *c, pid_t pid);
size_t collector__nr_live(const struct collector *c);
/* Mark live processes that are gone (an exit event was lost) as exited. Returns how many. */
size_t collector__reap_dead(struct collector *c);
/*
 * A shared library that is an allocator (jemalloc, tcmalloc; not libc, whose
 * mmap wrapper every program calls): anonymous mmaps its own code makes are
 * its heap, not the program's (start-up, or an attach gap).
 */
void collector__add_allocator_lib(struct collector *c, const uint8_t *build_id, size_t len);
/* tgid mapped an allocator file before drip probed it: its calls meanwhile were missed. */
void collector__on_attach_gap(struct collector *c, uint32_t tgid);
const struct collector_counts *collector__counts(const struct collector *c);

struct snapshot_opts {
	uint64_t now_ns;     /* CLOCK_MONOTONIC, same clock as events */
	uint64_t min_age_ns; /* only blocks at least this old */
	double duration_s;
	const uint64_t *bpf_drops; /* DRIP_STAT__COUNT counters, may be NULL */
	bool names_only;	   /* frames named by symbols; source lines come later */
};

/* Build a report; free it with collector__report_free. */
int collector__report(struct collector *c, const struct snapshot_opts *o, struct report **out);
void collector__report_free(struct report *r);
/*
 * Source lines (DWARF: files, lines, inlined calls) for the stacks of a
 * names_only report with shown[i] set, and only those: a text report prints
 * the top few of thousands. Once per report.
 */
int collector__report_sources(struct collector *c, struct report *r, const bool *shown);
/* What symbolizing has cost so far (for -v) */
void collector__symbol_stats(const struct collector *c, struct symbolizer_stats *out);

#endif /* DRIP_COLLECTOR_H */
