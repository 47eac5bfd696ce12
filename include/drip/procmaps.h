/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * /proc/PID/maps snapshots.  The file is untrusted input (paths are
 * arbitrary bytes, lines may be truncated or absurd): the parser never
 * reads past its buffer and rejects what it cannot prove well-formed.
 */
#ifndef DRIP_PROCMAPS_H
#define DRIP_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vma {
	uint64_t start, end; /* [start, end) */
	uint64_t offset;     /* file offset of start */
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	bool exec;	  /* 'x' permission */
	bool deleted;	  /* path ended in " (deleted)" (suffix stripped) */
	const char *path; /* "" for anonymous; "[heap]", "[stack]", "[vdso]"... kept */
};

struct procmaps {
	size_t nr;
	struct vma *vmas; /* sorted by start, non-overlapping */
	char *strings;	  /* owns the paths */
};

/*
 * Parse a maps text of len bytes (need not be NUL-terminated). 0 or -errno.
 * A malformed line (or one overlapping an earlier vma) is skipped, so one odd
 * line costs only its own addresses; -EBADMSG when lines exist but none
 * parses; -E2BIG past 1M lines.  An empty text is 0 vmas (kernel threads).
 */
int procmaps__parse(const char *buf, size_t len, struct procmaps **out);
/*
 * Read /proc/<pid>/maps whole. -ENOENT/-ESRCH when the process is gone,
 * -EFBIG past 64 MiB, -EINVAL for pid <= 0.
 */
int procmaps__read(int pid, struct procmaps **out);
void procmaps__free(struct procmaps *m);
/* A deep copy of m (a forked child's maps are its parent's). 0 or -errno. */
int procmaps__copy(const struct procmaps *m, struct procmaps **out);
/* The vma containing addr, or NULL. O(log n). */
const struct vma *procmaps__find(const struct procmaps *m, uint64_t addr);

#endif /* DRIP_PROCMAPS_H */
