/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef DRIP_UNITS_H
#define DRIP_UNITS_H

#include <stdint.h>

/* "512 B", "6.2 MiB": one decimal, never "1024.0 KiB".  Returns buf. */
const char *units__bytes(char buf[16], uint64_t v);

#endif
