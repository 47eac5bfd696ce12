/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* `drip trace`: attach, collect until the end condition, report. */
#ifndef DRIP_TRACE_H
#define DRIP_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct report_format;

/* INTERFACE.md exit codes */
enum drip_exit {
	EXIT_OK = 0,
	EXIT_USAGE = 1,
	EXIT_TARGET = 2,
	EXIT_PRIVILEGE = 3,
	EXIT_FAILURE_ = 4,
};

struct trace_opts {
	pid_t *pids; /* -p */
	size_t nr_pids;
	char **argv; /* -- COMMAND ARGS (NULL-terminated) */
	bool follow_children;
	const char *cgroup; /* --cgroup PATH: only processes in this cgroup v2 directory */
	double duration_s;  /* 0: until the end */
	double interval_s;  /* 0: none */
	double min_age_s;
	double grace_s;
	const char *output; /* NULL: stdout */
	const struct report_format *format;
	size_t top;
	int weight;   /* enum weight (formats.h): folded, svg, html */
	bool per_pid; /* folded, svg, html: a process frame at the root */
	size_t ringbuf_size;
	bool stacks;
	bool python; /* walk CPython processes' Python frames (with stacks) */
	bool empty_programs;
	bool fp_only; /* --unwind fp: frame pointers only */
	bool trace_mmap;
	bool verbose;
};

/* Returns an enum drip_exit code. */
int trace__run(const struct trace_opts *o);

#endif /* DRIP_TRACE_H */
