// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <inttypes.h>
#include <stdio.h>

#include "drip/units.h"

const char *units__bytes(char buf[16], uint64_t v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double d = v;
	size_t u = 0;

	if (v < 1024) {
		snprintf(buf, 16, "%" PRIu64 " B", v);
		return buf;
	}
	/* 1023.95 KiB would print as "1024.0 KiB": that is 1.0 MiB */
	while (d >= 1023.95 && u < sizeof(units) / sizeof(units[0]) - 1) {
		d /= 1024;
		u++;
	}
	snprintf(buf, 16, "%.1f %s", d, units[u]);
	return buf;
}
