/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * One ELF file's DWARF: the function, source file and line of an address,
 * with the chain of inlined calls at it.  The file is read whole into memory
 * (no descriptor or mapping is kept, so nothing changes under us) and parsed
 * lazily: a table of compile units by address at open, then per compile unit,
 * when an address first falls in it, a check of its DIE tree and a table of
 * its functions.  DWARF comes from traced systems and is untrusted: the
 * check proves that libdw's walks over a unit end, and the work per file is
 * bounded (DIEs visited and time spent); past the bound lookups find nothing.
 * Lookups are cached per address.  Not thread-safe.
 */
#ifndef DRIP_SRCLINE_H
#define DRIP_SRCLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drip/symbolize.h" /* struct sym_line */

struct srcline;

/*
 * Read the regular file fd (at most 1 GiB) and parse its ELF headers and, when
 * it has any, its DWARF.  The caller closes fd.  0 or -errno (-ENOEXEC: not
 * ELF; -EFBIG: too large, or compressed sections that claim too much).
 */
int srcline__open_fd(int fd, struct srcline **out);
/* The same for an in-memory image (copied).  For tests and fuzzing. */
int srcline__open_mem(const void *buf, size_t len, struct srcline **out);
void srcline__close(struct srcline *d);

/* Does the file have DWARF (a .debug_info libdw could open)? */
bool srcline__has_dwarf(const struct srcline *d);
/* Its NT_GNU_BUILD_ID bytes, or 0. */
size_t srcline__build_id(const struct srcline *d, const uint8_t **id);
/* Its .gnu_debuglink file name and CRC, or NULL. */
const char *srcline__debuglink(const struct srcline *d, uint32_t *crc);
/* CRC-32 of the whole file, as .gnu_debuglink records it. */
uint32_t srcline__crc32(const struct srcline *d);
/*
 * A dwz-compressed file names a supplementary file (.gnu_debugaltlink): its
 * path and build-id, or NULL.  Until srcline__set_alt gives it, names kept
 * there are unknown (libdw is never left to open the file itself).
 */
const char *srcline__altlink(const struct srcline *d, const uint8_t **id, size_t *len);
/* Use alt (owned from now on) as d's supplementary file. */
void srcline__set_alt(struct srcline *d, struct srcline *alt);

/*
 * What is known at DWARF address addr (for ET_DYN and ET_EXEC files alike,
 * the ELF virtual address): up to max entries, innermost first; the last is
 * the function the code belongs to (inlined == false), each one before it an
 * inlined call, with the line of the call in the next.  A longer chain keeps
 * its innermost max - 1 entries and the outermost.  Returns the count, 0 when
 * nothing is known.  An entry's function is NULL when DWARF names none, file
 * NULL and line 0 when the line table does not say.  Strings live until
 * srcline__close.
 */
size_t srcline__lookup(struct srcline *d, uint64_t addr, struct sym_line *out, size_t max);

/*
 * The .symtab function whose extent covers addr (a DWARF address, as above),
 * for code DWARF does not describe (a stripped binary's _start in its debug
 * file): its name, not demangled, with *delta from its start; NULL when none
 * does.  Only symbols with a size count: an unsized one covers nothing.  The
 * table is read when first asked.  The name lives until srcline__close.
 */
const char *srcline__symbol(struct srcline *d, uint64_t addr, uint64_t *delta);

/* Distinct addresses looked up so far (each once: the rest hit the cache). */
size_t srcline__nr_cached(const struct srcline *d);
/* Up to max addresses where compile units start (sorted).  For tests and fuzzing. */
size_t srcline__unit_addrs(const struct srcline *d, uint64_t *addrs, size_t max);
/* Bytes held: the image, decompressed sections are not counted. */
size_t srcline__image_bytes(const struct srcline *d);

#endif /* DRIP_SRCLINE_H */
