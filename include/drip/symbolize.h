/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Native symbolization: runtime address in a process -> module, file offset,
 * build-id, function.  ELF files are cached per (dev, inode, path); binaries
 * are opened through /proc/PID/map_files while the process lives so deleted
 * or replaced files still resolve.  Failure leaves fields NULL, never a guess.
 */
#ifndef DRIP_SYMBOLIZE_H
#define DRIP_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

#include "procmaps.h"

struct symbolizer;

struct sym_info {
	const char *module;	 /* vma path, "[anon]" for anonymous exec memory, NULL unmapped */
	uint64_t file_offset;	 /* address - vma.start + vma.offset (0 when no module) */
	const uint8_t *build_id; /* NULL when unknown */
	size_t build_id_len;
	const char *function; /* NULL when unknown */
	uint64_t function_delta;
};

struct symbolizer *symbolizer__new(void);
void symbolizer__free(struct symbolizer *s);

/*
 * Resolve addr using maps (a snapshot of pid's maps).  pid > 0 lets the
 * symbolizer open the module via /proc/pid/map_files/<start>-<end> when
 * the path no longer matches; pid 0 opens by path only (the caller vouches
 * that the file at that path is the one mapped).  Strings in *out stay valid
 * until symbolizer__free, whatever becomes of maps.  Returns 0 (possibly with
 * NULL fields), or -ENOMEM.  A file that fails to open or parse is not
 * retried for the same pid.  Not thread-safe: one symbolizer per thread.
 */
int symbolizer__resolve(struct symbolizer *s, int pid, const struct procmaps *maps, uint64_t addr,
			struct sym_info *out);

/*
 * Open every file-backed executable mapping of pid now, while it lives, and
 * index it by build-id: frames the kernel named by (build-id, offset) resolve
 * later even when the process is gone.
 */
void symbolizer__learn_maps(struct symbolizer *s, int pid, const struct procmaps *maps);
/* Open and index the ELF file at path (e.g. the file an execve named). 0 or -errno. */
int symbolizer__learn_file(struct symbolizer *s, const char *path);
/*
 * Resolve a file offset in the learned file with this build-id.  -ENOENT when
 * no learned file has it (fields then NULL); strings live until symbolizer__free.
 */
int symbolizer__resolve_build_id(struct symbolizer *s, const uint8_t *id, size_t len,
				 uint64_t file_offset, struct sym_info *out);

#endif /* DRIP_SYMBOLIZE_H */
