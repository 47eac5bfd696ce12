/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* `drip report`: re-export or diff JSON reports; and the text diff writer it uses. */
#ifndef DRIP_REPORT_CMD_H
#define DRIP_REPORT_CMD_H

#include <stdio.h>

#include "drip/formats.h"

/* Returns an enum drip_exit code (trace.h). */
int cmd_report(int argc, char **argv);

/* "bytes" or "count"; -EINVAL (after a message) otherwise */
int report_cmd__parse_weight(const char *s, enum weight *w);

/* What grew and shrank from o->base (OLD) to r (NEW); -EINVAL without a base */
int format_diff_text(const struct report *r, const struct format_opts *o, FILE *f);

#endif /* DRIP_REPORT_CMD_H */
