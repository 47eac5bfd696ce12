/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef DRIP_DOCTOR_H
#define DRIP_DOCTOR_H

#include <stdio.h>

#define DRIP_MIN_KERNEL "5.17" /* bpf_loop; ring buffer, task storage come earlier */

/*
 * Probe every kernel feature and permission drip uses and print one line per
 * check to out ("ok", or what is missing and how to fix it).
 * Returns 0 when all required checks pass, 3 otherwise (INTERFACE.md exit code).
 */
int doctor__run(FILE *out);

#endif /* DRIP_DOCTOR_H */
