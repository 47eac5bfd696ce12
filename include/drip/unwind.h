/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Unwind tables: what BPF needs to step one x86-64 frame without frame
 * pointers, compiled in user space from .eh_frame / .debug_frame.  Shared
 * by BPF and user space (types are __u32/__s16/__u8 only).
 *
 * A table covers one ELF file; rows are sorted by pc (an ELF virtual address
 * of that file, i.e. before load bias) and each row holds from its pc up to
 * the next row's pc.  BPF finds the row for a return address ra by looking up
 * ra - 1 (the call instruction), or ra itself for the interrupted frame of a
 * signal.
 */
#ifndef DRIP_UNWIND_H
#define DRIP_UNWIND_H

enum drip_cfa_type {
	DRIP_CFA_NONE = 0,   /* no CFI here (gap between FDEs): try frame pointers */
	DRIP_CFA_RSP,	     /* CFA = rsp + cfa_off */
	DRIP_CFA_RBP,	     /* CFA = rbp + cfa_off */
	DRIP_CFA_UNDEFINED,  /* return address undefined: outermost frame (_start, clone) */
	DRIP_CFA_SIGNAL,     /* signal trampoline (__restore_rt): registers in the ucontext at rsp */
	DRIP_CFA_PLT,	     /* PLT stub: CFA = rsp + 8, or rsp + 16 when (rip & 15) >= cfa_off (11) */
	DRIP_CFA_EXPRESSION, /* a DWARF expression drip does not evaluate: try frame pointers */
};

enum drip_rbp_type {
	DRIP_RBP_SAME = 0, /* rbp unchanged in this frame (or undefined: keep it) */
	DRIP_RBP_OFFSET,   /* caller's rbp saved at CFA + rbp_off */
};

struct drip_unwind_row {
	__u32 pc;      /* low 32 bits of the ELF vaddr; tables of files > 4 GiB are refused */
	__s16 cfa_off;
	__s16 rbp_off;
	__u8 cfa_type; /* enum drip_cfa_type */
	__u8 rbp_type; /* enum drip_rbp_type */
	__u16 pad;
};

/* Where a table's rows sit in the global rows array. */
struct drip_unwind_table {
	__u32 first;
	__u32 nr;
};

#define DRIP_MAX_TABLES	 4096
#define DRIP_MAX_MODULES 256 /* executable mappings of one process */

enum drip_module_flags {
	DRIP_MODULE_ANON = 1 << 0, /* anonymous executable memory (JIT): [anon] */
};

/* One executable mapping: runtime [start, end), ELF vaddr = ip - bias. */
struct drip_module {
	__u64 start;
	__u64 end;
	__u64 bias;
	__u32 table;	/* index into the tables map; 0: no table (frame pointers) */
	__u32 flags;	/* enum drip_module_flags */
};

/* A process's executable mappings, sorted by start, as user space last read them. */
struct drip_proc_modules {
	__u32 nr;
	__u32 pad;
	struct drip_module m[DRIP_MAX_MODULES];
};

#endif /* DRIP_UNWIND_H */
