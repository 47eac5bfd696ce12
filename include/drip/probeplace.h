/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Where to plant an allocator's probes.  x86 uprobes emulate jmp, jcc, call
 * and push; any other first instruction is single-stepped out of line, ~20x
 * the cost (jemalloc's malloc starts with `cmp $0x1000,%rdi`, its free with
 * `mov %rdi,%rax`).  Both probes of a function may move to the first emulated
 * instruction when everything before it leaves the argument registers, rsp
 * and memory alone (the entry program reads the arguments and sp, the return
 * probe rewrites the word at [sp]) and nothing branches into that stretch.
 */
#ifndef DRIP_PROBEPLACE_H
#define DRIP_PROBEPLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_MAX_INSNS 16

/* x86-64 register numbers, for keep masks */
#define PP_REG(n) (1u << (n))
#define PP_RCX	  PP_REG(1)
#define PP_RDX	  PP_REG(2)
#define PP_RSI	  PP_REG(6)
#define PP_RDI	  PP_REG(7)
#define PP_R8	  PP_REG(8)

struct probe_window {
	uint32_t site;	   /* offset of the emulated instruction from the entry */
	uint32_t site_len; /* its length */
	size_t nr;	   /* instructions stepped over */
	uint32_t ends
		[PP_MAX_INSNS]; /* end of each (ends[nr - 1] == site): a branch may not land there */
};

/*
 * Decode from a function's entry (code, len bytes) over instructions that
 * write no register in keep, nor rsp, nor memory, to the first emulated one.
 * 0 and *w filled, or -ENOENT: the entry is already emulated, or an
 * instruction is unknown or writes what must be kept (stay at the entry).
 */
int probeplace__window(const uint8_t *code, size_t len, uint32_t keep, struct probe_window *w);

/*
 * Could a direct jmp, jcc or call anywhere in text (an executable segment,
 * entry the function's offset in it) land on one of w's ends?  Every byte
 * outside the decoded stretch is read as a possible branch opcode, so a false
 * alarm is possible, a miss is not.  Indirect branches are not seen: jump
 * tables land on case blocks, not on an entry block before its first branch.
 */
bool probeplace__branch_into(const uint8_t *text, size_t len, size_t entry,
			     const struct probe_window *w);

#endif /* DRIP_PROBEPLACE_H */
