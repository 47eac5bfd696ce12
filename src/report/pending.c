// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Formats whose writers arrive with the export work: refused, not faked. */
#include <errno.h>

#include "drip/formats.h"
#include "drip/log.h"

int format_pprof(const struct report *r, const struct format_opts *o, FILE *f)
{
	return -ENOSYS;
}
