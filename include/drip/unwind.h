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
	DRIP_CFA_NONE = 0,  /* no CFI here (gap between FDEs): try frame pointers */
	DRIP_CFA_RSP,	    /* CFA = rsp + cfa_off */
	DRIP_CFA_RBP,	    /* CFA = rbp + cfa_off */
	DRIP_CFA_UNDEFINED, /* return address undefined: outermost frame (_start, clone) */
	DRIP_CFA_SIGNAL,    /* signal trampoline (__restore_rt): registers in the ucontext at rsp */
	DRIP_CFA_PLT, /* PLT stub: CFA = rsp + 8, or rsp + 16 when (rip & 15) >= cfa_off (11) */
	DRIP_CFA_EXPRESSION, /* a DWARF expression drip does not evaluate: try frame pointers */
};

enum drip_rbp_type {
	DRIP_RBP_SAME = 0, /* rbp unchanged in this frame (or undefined: keep it) */
	DRIP_RBP_OFFSET,   /* caller's rbp saved at CFA + rbp_off */
};

struct drip_unwind_row {
	__u32 pc;      /* low 32 bits of the ELF vaddr; tables of files > 4 GiB are refused */
	__s32 cfa_off; /* 32 bits: python's and libc's largest frames exceed 32 KiB */
	__s16 rbp_off;
	__u8 cfa_type; /* enum drip_cfa_type */
	__u8 rbp_type; /* enum drip_rbp_type */
};

/* Where a table's rows sit in the global rows array. */
struct drip_unwind_table {
	__u32 first;
	__u32 nr;
};

#define DRIP_MAX_TABLES 4096
#define DRIP_MAX_FILES	16384

/*
 * A file as the kernel names it (its inode's device, in the kernel's
 * MKDEV encoding: major << 20 | minor; and inode number), the way
 * /proc/PID/maps prints it.  BPF finds a frame's file with bpf_find_vma.
 */
struct drip_file_key {
	__u64 dev;
	__u64 ino;
};

/* What user space knows about a file: its table and how to get an ELF vaddr. */
struct drip_file_info {
	__u32 table; /* index into the tables map; 0: no table (frame pointers) */
	__u32 pad;
	__s64 vaddr_delta; /* ELF vaddr = file offset + vaddr_delta (its executable segment) */
};

/*
 * One frame of a stack as (file, file offset): resolvable after the process
 * is gone, once user space has registered the file (possibly later).
 */
struct drip_frame_file {
	struct drip_file_key key; /* dev 0, ino 0: anonymous memory or unknown */
	__u64 offset;		  /* file offset of the address */
};

#endif /* DRIP_UNWIND_H */
