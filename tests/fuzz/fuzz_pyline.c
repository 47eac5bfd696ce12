// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer target: pyline__addr2line on a line table read from a target.
 * Input: 1 byte format, 4 bytes firstlineno, 4 bytes instruction offset, then the table.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drip/pyline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum pyline_format fmt;
	int32_t first, instr;
	uint8_t *tab;
	size_t len;
	int line;

	if (size < 9)
		return 0;
	fmt = data[0] & 1 ? PYLINE_311 : PYLINE_310;
	memcpy(&first, data + 1, 4);
	memcpy(&instr, data + 5, 4);
	len = size - 9;
	/* an exact-size copy: ASan sees any read past the table */
	tab = malloc(len ? len : 1);
	if (!tab)
		return 0;
	memcpy(tab, data + 9, len);
	line = pyline__addr2line(fmt, tab, len, first, instr);
	if (line < 0 && line != -EBADMSG)
		__builtin_trap();
	/* every instruction of the table, as a report would ask */
	for (int32_t i = 0; i < 2 * (int32_t)len + 4; i += 2)
		if (pyline__addr2line(fmt, tab, len, first, i) < -EBADMSG)
			__builtin_trap();
	free(tab);
	return 0;
}
