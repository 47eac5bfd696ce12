/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The user-space half of DWARF unwinding.  BPF finds each frame's file with
 * bpf_find_vma and looks it up by (device, inode) in the file_tables map;
 * this module fills that map: it compiles each executable file's CFI once
 * (one copy for every process mapping it), loads the rows into the BPF rows
 * array, and gives every file an id that frames carry, so user space can
 * name a frame's file after its process is gone.
 */
#ifndef DRIP_UNWINDER_H
#define DRIP_UNWINDER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "drip/procmaps.h"

struct unwinder;
struct session;
struct elf_file;

struct unwinder_stats {
	size_t files;	  /* files registered */
	size_t tables;	  /* of those, with a table loaded */
	size_t rows;	  /* rows loaded */
	size_t row_bytes; /* BPF memory they use */
	double build_s;	  /* time spent compiling tables */
	size_t requests;  /* files BPF asked about */
};

int unwinder__new(struct session *s, struct unwinder **out);
void unwinder__free(struct unwinder *u);

/* Register every executable file a maps snapshot of pid shows (opened via map_files). */
void unwinder__learn_maps(struct unwinder *u, pid_t pid, const struct procmaps *maps);
/* Register the file at path ahead of need (libc, the command). 0 or -errno. */
int unwinder__preload(struct unwinder *u, const char *path);
/*
 * BPF met a frame in file (dev, ino), mapped at [start, end) in pid.
 * 0, or -errno (the process is gone: BPF will ask again for another one).
 */
int unwinder__need_file(struct unwinder *u, pid_t pid, uint64_t dev, uint64_t ino, uint64_t start,
			uint64_t end);

/* The file (dev, ino) as frames carry it, or NULL: its path and parsed ELF (may be NULL). */
const char *unwinder__file(const struct unwinder *u, uint64_t dev, uint64_t ino,
			   const struct elf_file **elf);
const struct unwinder_stats *unwinder__stats(const struct unwinder *u);

#endif /* DRIP_UNWINDER_H */
