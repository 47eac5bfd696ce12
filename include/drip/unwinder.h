/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The user-space half of DWARF unwinding: compiles each executable file's
 * CFI once (cached by device and inode, one copy for every process mapping
 * it), loads the rows into the BPF rows array, and keeps each traced
 * process's module list (mapping -> table, load bias) current in BPF.
 */
#ifndef DRIP_UNWINDER_H
#define DRIP_UNWINDER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "drip/procmaps.h"

struct unwinder;
struct session;

struct unwinder_stats {
	size_t tables;	    /* files with a table loaded */
	size_t failed;	    /* files without (no CFI, unreadable, too big) */
	size_t rows;	    /* rows loaded */
	size_t row_bytes;   /* BPF memory they use */
	double build_s;	    /* time spent compiling tables */
	size_t pushes;	    /* module lists pushed */
};

int unwinder__new(struct session *s, struct unwinder **out);
void unwinder__free(struct unwinder *u);

/*
 * Build the tables of pid's executable file mappings (through
 * /proc/pid/map_files, so deleted and other-namespace files work) and push
 * its module list to BPF.  0 or -errno.
 */
int unwinder__push(struct unwinder *u, pid_t pid, const struct procmaps *maps);
/* Build the table of a file ahead of need (libc, the command's libraries). */
int unwinder__preload(struct unwinder *u, const char *path);
const struct unwinder_stats *unwinder__stats(const struct unwinder *u);

#endif /* DRIP_UNWINDER_H */
