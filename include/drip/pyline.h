/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * CPython line tables: the source line of an instruction, from a code
 * object's co_linetable as read from a traced process (untrusted bytes).
 */
#ifndef DRIP_PYLINE_H
#define DRIP_PYLINE_H

#include <stddef.h>
#include <stdint.h>

enum pyline_format {
	PYLINE_310, /* 3.10: (byte delta, signed line delta) pairs */
	PYLINE_311, /* 3.11, 3.12: the location table (PEP 657) */
};

/*
 * The line of the instruction at byte offset instr (a negative offset: the
 * frame has not started, CPython answers co_firstlineno).  Returns the line
 * (> 0), 0 when the table gives it none, or -EBADMSG for a malformed table.
 * Reads only tab[0, len); work is linear in len.
 */
int pyline__addr2line(enum pyline_format fmt, const uint8_t *tab, size_t len, int firstlineno,
		      int instr);

#endif /* DRIP_PYLINE_H */
