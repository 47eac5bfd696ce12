/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * CPython processes: which processes run an interpreter drip knows (3.10,
 * 3.11, 3.12: a built-in table of structure offsets by version), where its
 * frames are (struct drip_py_proc, for BPF), and the names and lines of the
 * code objects BPF found in their frames, read from the process's memory
 * while it lives and cached.  Everything read from a target is untrusted.
 */
#ifndef DRIP_PYTHON_H
#define DRIP_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>
#include "drip/events.h"

struct python;
struct procmaps;

/* Read len bytes at addr of process pid: 0 or -errno.  For tests; NULL: process_vm_readv. */
typedef int (*python_read_fn)(void *ctx, pid_t pid, uint64_t addr, void *buf, size_t len);

struct python *python__new(python_read_fn read, void *ctx); /* NULL with errno = ENOMEM */
void python__free(struct python *py);

/*
 * Does pid run CPython (its executable or a libpython it maps: a file named
 * python3.N or libpython3.N*, with a _PyRuntime symbol)?  1 and *out filled,
 * 0: no (or a version drip has no offsets for), -errno.  The answer is
 * remembered for python__frame.
 */
int python__detect(struct python *py, pid_t pid, const struct procmaps *m,
		   struct drip_py_proc *out);

/* pid is a fork of ppid: it runs the same interpreter at the same addresses. */
void python__inherit(struct python *py, pid_t pid, pid_t ppid);

struct python_frame {
	const char *function; /* qualified name; NULL: unknown (strings owned by py) */
	const char *file;
	uint32_t line; /* 0: unknown */
};

/*
 * Name the frame running instruction byte offset instr of the code object at
 * code in pid (a fork of ppid, or 0).  Read while pid lives, checked against
 * the cached answer each time (a freed code object's address is reused);
 * once it is gone, the cache of pid, then of ppid, answers.  0 or -errno
 * (then *out is all unknown).
 */
int python__frame(struct python *py, pid_t pid, pid_t ppid, uint64_t code, int32_t instr,
		  struct python_frame *out);

/* The built-in layouts, for tests: the number, and whether version (0x030b) has one. */
bool python__knows_version(uint32_t version);

#endif /* DRIP_PYTHON_H */
