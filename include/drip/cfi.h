/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * CFI compiler: an ELF file's .eh_frame (and .debug_frame when present) ->
 * a sorted array of struct drip_unwind_row.  The file is untrusted: hostile
 * or truncated CFI must not crash, hang or read out of bounds; time and rows
 * per file are bounded.
 */
#ifndef DRIP_CFI_H
#define DRIP_CFI_H

#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>
#include "drip/unwind.h"

struct cfi_table {
	struct drip_unwind_row *rows; /* sorted by pc, adjacent equal rules merged */
	size_t nr;
	uint8_t build_id[20];
	size_t build_id_len;
	/* statistics for -v and benchmarks */
	size_t nr_fdes;
	size_t nr_expr; /* rows whose CFA is an unsupported expression */
};

#define CFI_MAX_ROWS (1u << 21)

/* Compile the table of the ELF file at path.  0 or -errno (-ENODATA: no CFI). */
int cfi_table__build(const char *path, struct cfi_table **out);
/* Same from memory (tests, fuzzing). */
int cfi_table__build_mem(const void *buf, size_t len, struct cfi_table **out);
void cfi_table__free(struct cfi_table *t);
/* The row covering pc (an ELF vaddr), or NULL. Binary search; for tests and user-space checks. */
const struct drip_unwind_row *cfi_table__find(const struct cfi_table *t, uint64_t pc);

#endif /* DRIP_CFI_H */
