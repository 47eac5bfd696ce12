/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * UTF-8 as targets give it to us: arbitrary bytes.  One strict decoder
 * (Unicode table 3-7: no overlongs, surrogates or code points above
 * U+10FFFF) for every writer that must escape or replace what is invalid.
 */
#ifndef DRIP_UTF8_H
#define DRIP_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Length of the valid UTF-8 sequence at p (p[0] >= 0x80), at most avail
 * bytes, and its code point in *cp (may be NULL); 0 when invalid.  Bytes are
 * checked in order, so for a NUL-terminated string (avail SIZE_MAX) a NUL
 * stops the check before anything past it is read.
 */
size_t utf8_decode(const unsigned char *p, size_t avail, uint32_t *cp);

/* C1 controls (a terminal may take U+009B as CSI) and bidi embeddings, overrides, isolates */
bool utf8_unsafe_code_point(uint32_t cp);

#endif /* DRIP_UTF8_H */
