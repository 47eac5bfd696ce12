/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Length-checked ELF reader for what drip needs from a binary: its build-id,
 * its PT_LOAD segments (file offset <-> virtual address), and its function
 * symbols from .symtab and .dynsym.  Files come from traced systems and are
 * untrusted: every offset, size and count is checked before use.
 */
#ifndef DRIP_ELF_H
#define DRIP_ELF_H

#include <stddef.h>
#include <stdint.h>

struct elf_file;

/*
 * Open by path.  0 or -errno (-ENOEXEC: not a 64-bit little-endian ELF
 * executable or shared object, or not a regular file; -EBADMSG: truncated or
 * inconsistent; -EFBIG: a table beyond drip's caps).  Non-regular files are
 * refused before they are opened (no FIFO blocks, no device is touched).
 * e keeps the file open for elf_file__read_at.
 */
int elf_file__open(const char *path, struct elf_file **out);
/*
 * Parse what fd (a regular file) holds now.  e keeps no reference to fd, so
 * elf_file__read_at on it fails with -EBADF; the caller closes fd.  For
 * caches that must not hold descriptors (symbolize.c).
 */
int elf_file__open_fd(int fd, struct elf_file **out);
/* Parse an in-memory image (copied).  For tests and fuzzing. */
int elf_file__open_mem(const void *buf, size_t len, struct elf_file **out);
void elf_file__close(struct elf_file *e);

/* Build-id bytes (NT_GNU_BUILD_ID), or 0 when absent. */
size_t elf_file__build_id(const struct elf_file *e, const uint8_t **id);
/* The PT_DYNAMIC segment's file range (within the file). 0 or -ENOENT. */
int elf_file__dynamic(const struct elf_file *e, uint64_t *off, uint64_t *size);
/* The file offset of a virtual address, through its PT_LOAD. 0 or -ERANGE. */
int elf_file__vaddr_to_offset(const struct elf_file *e, uint64_t vaddr, uint64_t *file_off);
/* File offset of the first executable PT_LOAD segment. 0 or -ENOENT. */
int elf_file__exec_offset(const struct elf_file *e, uint64_t *file_off);
/* The file range of the executable PT_LOAD holding file_off. 0 or -ENOENT. */
int elf_file__exec_range(const struct elf_file *e, uint64_t file_off, uint64_t *seg_off,
			 uint64_t *seg_size);
/* The virtual address of a file offset, through the PT_LOAD holding it. 0 or -ERANGE. */
int elf_file__offset_to_vaddr(const struct elf_file *e, uint64_t file_off, uint64_t *vaddr);
/* 1 when the file names a program interpreter (PT_INTERP): it is dynamically linked. */
int elf_file__has_interp(const struct elf_file *e);
/* 1 for ET_DYN (PIE / shared object), 0 for ET_EXEC. */
int elf_file__is_dyn(const struct elf_file *e);
/* Number of function symbols (symtab + dynsym, deduplicated by address+name). */
size_t elf_file__nr_funcs(const struct elf_file *e);
/* The name of function symbol i < elf_file__nr_funcs (owned by e), for scans. */
const char *elf_file__func_name(const struct elf_file *e, size_t i);

/*
 * Find a defined function symbol by exact name (dynsym versions like
 * "malloc@@GLIBC_2.2.5" match "malloc"; of several, the default-version
 * global one wins; "memcpy@GLIBC_2.2.5" asks for that version).  *file_off
 * receives the file offset of its first byte (what uprobe_events wants).
 * 0, -ENOENT, or -ERANGE when its address lies in no PT_LOAD segment.
 */
int elf_file__func_offset(const struct elf_file *e, const char *name, uint64_t *file_off);

/*
 * Symbolize a file offset: the function containing it (sized symbols; an
 * unsized one covers only its first byte: no guess past it).  Returns the name (owned by e)
 * or NULL; *delta gets the offset from the symbol's start.  Of several names
 * for one address the public one wins: "malloc" over "__libc_malloc".  A
 * .symtab name may carry its version ("memcpy@GLIBC_2.2.5").
 */
const char *elf_file__func_at(const struct elf_file *e, uint64_t file_off, uint64_t *delta);

/*
 * The virtual address of a defined symbol of any type (data too: CPython's
 * _PyRuntime) by exact name, from .dynsym, else .symtab.  It reads the tables
 * again: for files opened by path or from memory.  0, -ENOENT or -errno.
 */
int elf_file__symbol_vaddr(const struct elf_file *e, const char *name, uint64_t *vaddr);

/*
 * Read the instruction bytes at a file offset (for probe placement). 0 or
 * -errno (-ERANGE: past the end of the file).
 */
int elf_file__read_at(const struct elf_file *e, uint64_t file_off, void *buf, size_t len);

#endif /* DRIP_ELF_H */
