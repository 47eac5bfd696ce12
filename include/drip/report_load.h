/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Read a JSON report (docs/INTERFACE.md, format 1) back into a struct report
 * that owns its memory, for `drip report` to re-export or diff. The input is
 * untrusted: parsed by json_parse.c with its caps, every field type-checked.
 * Keys format 1 documents are required (drip always writes them; "drops" and
 * "drip_version" excepted); keys it does not know are skipped, so later
 * additions still load. The result keeps the model's invariants, so every
 * writer may rely on them: processes sorted by pid, stacks and merged by
 * outstanding_bytes (largest first, stable), merged[].first_stack indexes the
 * largest stacks[] row of its stack_id (a merged row without one is an error),
 * strings NUL-terminated (a \u0000 inside one is an error), and totals and
 * processes[] agree with stacks[] (outstanding bytes and blocks: see
 * check_sums() in load.c; a report where they do not is an error).
 */
#ifndef DRIP_REPORT_LOAD_H
#define DRIP_REPORT_LOAD_H

#include <stddef.h>

#include "drip/report.h"

#define REPORT_LOAD_MAX_BYTES (2ull << 30) /* bigger files are refused (-EFBIG) */

/*
 * Parse len bytes at buf. 0 and *out, or -EBADMSG (malformed or not format 1),
 * -E2BIG (a size cap), -ENOMEM; why gets "line L col C: what is wrong".
 */
int report_load__buf(const char *buf, size_t len, struct report **out, char *why, size_t why_len);

/*
 * Read and parse path (a regular file is mapped, anything else read); also
 * -errno from open/read (why: strerror), -EFBIG, and -EIO when the file was
 * cut short while it was being read. While it maps a file it holds SIGBUS's
 * handler (process-wide): not for two threads at once.
 */
int report_load__file(const char *path, struct report **out, char *why, size_t why_len);

/* Free a report from report_load__*(); NULL does nothing. */
void report_load__free(struct report *r);

#endif /* DRIP_REPORT_LOAD_H */
