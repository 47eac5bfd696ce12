/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The report snapshot: plain data, independent of live BPF state, filled by
 * the collector and walked by one writer per format (src/report/<fmt>.c).
 * Strings are arbitrary bytes from the target (NUL-terminated); writers escape.
 * NULL strings and *_known == false mean "unknown" and print as null.
 */
#ifndef DRIP_REPORT_H
#define DRIP_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define DRIP_VERSION	   "0.1.0"
#define DRIP_REPORT_FORMAT 1

enum frame_kind {
	FRAME_NATIVE,
	FRAME_PYTHON,
};

struct report_frame {
	enum frame_kind kind;
	uint64_t address;     /* runtime address (native) */
	const char *module;   /* path of the mapped file, "[anon]", or NULL */
	const char *function; /* NULL: unknown */
	const char *file;     /* NULL: unknown */
	uint32_t line;	      /* 0: unknown */
	bool inlined;
};

struct report_stack {
	uint32_t pid;
	char stack_id[17]; /* 16 lowercase hex digits */
	bool exited;
	bool truncated;
	uint64_t outstanding_bytes;
	uint64_t outstanding_allocs;
	uint64_t allocs;
	uint64_t alloc_bytes; /* bytes allocated here while traced (report.has_alloc_bytes) */
	uint64_t frees;
	uint64_t inherited_frees; /* blocks the process inherited at fork from this stack, freed */
	double oldest_age_s;	  /* age of the oldest outstanding block, at report time */
	size_t nr_frames;
	const struct report_frame *frames; /* frames[0]: the allocator's caller */
	uint32_t origin; /* the producer's own handle on the row (collector); 0 in loaded reports */
};

/*
 * A module (mapped file) that frames of one process lie in.  A native frame
 * belongs to the module of its process with its path and start <= address <
 * end; its offset in the file is address - base.  One path may be several
 * modules: two files at that path (replaced on disk between two loads), or
 * two segments loaded at different distances from their file offsets.
 */
struct report_module {
	const char *path;     /* the frames' module: a file's path, "[anon]", ... */
	const char *build_id; /* lowercase hex (the GNU build-id note); NULL: unknown */
	uint64_t base;	      /* address - base = file offset, for every frame in it */
	uint64_t start, end;  /* the frames' addresses in it: the lowest, one past the highest */
};

struct report_process {
	uint32_t pid;
	uint32_t nspid; /* 0: same as pid (printed as null) */
	uint32_t ppid;
	uint64_t start_time; /* ns since boot */
	const char *comm;
	const char *exe; /* NULL: unknown */
	uint64_t outstanding_bytes;
	uint64_t outstanding_allocs;
	uint64_t inherited_bytes; /* parent's blocks held since fork (not in outstanding) */
	uint64_t inherited_allocs;
	bool exited;
	size_t nr_modules;
	const struct report_module *modules; /* sorted by start (report.has_modules) */
};

struct report_merged {
	char stack_id[17];
	uint32_t pids;
	uint64_t outstanding_bytes;
	uint64_t outstanding_allocs;
	uint64_t min_pid_bytes;
	uint64_t max_pid_bytes;
	size_t first_stack; /* index into report.stacks of its largest per-pid row */
};

struct report_totals {
	uint64_t allocs;
	uint64_t alloc_bytes; /* report.has_alloc_bytes */
	uint64_t frees;
	uint64_t outstanding_bytes;
	uint64_t outstanding_allocs;
	uint64_t unknown_frees;
	uint64_t inherited_frees; /* frees of blocks a child inherited at fork (not in frees) */
	uint64_t events_lost;
	uint64_t unwind_failures;
};

struct report {
	double duration_s;
	bool incomplete;
	bool has_alloc_bytes; /* false: alloc_bytes unknown (a report from before drip counted it) */
	bool has_modules;     /* false: processes[].modules unknown (a report from before) */
	struct report_totals totals;
	size_t nr_processes;
	const struct report_process *processes; /* sorted by pid */
	size_t nr_merged;
	const struct report_merged *merged; /* sorted by outstanding_bytes, largest first */
	size_t nr_stacks;
	const struct report_stack *stacks; /* sorted by outstanding_bytes, largest first */
	/* named drop counters for the text footer and -v; may be empty */
	size_t nr_drops;
	const char *const *drop_names;
	const uint64_t *drop_counts;
};

struct text_opts {
	size_t top; /* stacks to show */
	bool verbose;
};

int report__write_json(const struct report *r, FILE *f);
int report__write_text(const struct report *r, const struct text_opts *o, FILE *f);
/* Which stacks[] the text report prints frames of: shown[i] set for those. */
int report__text_shown(const struct report *r, const struct text_opts *o, bool *shown);

#endif /* DRIP_REPORT_H */
