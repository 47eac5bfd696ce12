/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Native symbolization: runtime address in a process -> module, file offset,
 * build-id, function.  ELF files are cached per (dev, inode, path); binaries
 * are opened through /proc/PID/map_files while the process lives so deleted
 * or replaced files still resolve, and held open (bounded) until their DWARF
 * is read, so they still do after the process is gone.  Failure leaves
 * fields NULL, never a guess.
 */
#ifndef DRIP_SYMBOLIZE_H
#define DRIP_SYMBOLIZE_H

#include <stdbool.h>
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

/* One frame of source: a function, or a call inlined into the next frame. */
struct sym_line {
	const char *function; /* demangled; NULL: unknown */
	const char *file;     /* as DWARF names it (often absolute); NULL: unknown */
	uint32_t line;	      /* 0: unknown */
	bool inlined;	      /* this frame's code was inlined into the next one */
};

/*
 * Source for a file offset in a module: the module is found by build-id (any
 * file learned or resolved with it), else by path among those loaded.  Its
 * DWARF is looked for, once per build-id, in the binary itself (the file held
 * since it was loaded, else reopened as it was: /proc/PID/map_files,
 * /proc/PID/root, the path; its build-id must match), then in the debug
 * files held for it (found inside the root of a process not in our mount
 * namespace while it lived), then through .gnu_debuglink (the binary's
 * directory, its .debug/, the debug root + that directory), then under
 * <debug root>/.build-id/xx/rest.debug, then from debuginfod when
 * DEBUGINFOD_URLS is set and libdebuginfod.so.1 loads (bounded in time; its
 * own cache).  A separate file counts only if its build-id (or, without one,
 * the debuglink CRC) matches.  Fills up to max entries innermost first; the
 * last is the function itself (inlined == false).  Code DWARF does not
 * describe, which the module's own symbols do not name either (a stripped
 * binary's _start), gets one entry named from the debug file's .symtab
 * (sized symbols only), file NULL and line 0.  Returns the count; 0 when
 * nothing is known (callers keep the ELF-symbol name).  Callers asking for a
 * return address pass file_offset - 1 (the call).  Strings live until
 * symbolizer__free.  Results are cached per (build-id, address).
 */
int symbolizer__source(struct symbolizer *s, const char *module, const uint8_t *build_id,
		       size_t build_id_len, uint64_t file_offset, struct sym_line *out, size_t max);
/*
 * The name to show for a function name from an ELF symbol: demangled (see
 * demangle.h), made once per name, living until symbolizer__free; name
 * itself when it is not mangled (or memory ran out).  NULL for NULL.
 */
const char *symbolizer__demangle(struct symbolizer *s, const char *name);
/*
 * Where separate debug files are installed: "/usr/lib/debug" unless
 * $DRIP_DEBUG_ROOT says otherwise when the symbolizer is made.  0 or -ENOMEM.
 */
int symbolizer__set_debug_root(struct symbolizer *s, const char *dir);

struct symbolizer_stats {
	size_t modules;	       /* files known (loaded or not) */
	size_t debug_files;    /* modules whose DWARF was found and is held */
	size_t debug_missing;  /* modules looked for DWARF in vain */
	size_t debug_bytes;    /* bytes of those files held in memory */
	size_t source_calls;   /* symbolizer__source calls */
	size_t addresses;      /* addresses resolved from DWARF (repeats hit the cache) */
	size_t files_held;     /* descriptors held now: files whose DWARF is not read yet */
	size_t files_not_held; /* files not held, past the cap (their process must live) */
};
void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out);

#endif /* DRIP_SYMBOLIZE_H */
