// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include "drip/utf8.h"

size_t utf8_decode(const unsigned char *p, size_t avail, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	uint32_t c;
	size_t n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
		if (p[0] == 0xe0)
			lo = 0xa0; /* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f; /* surrogates U+D800..U+DFFF */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
		if (p[0] == 0xf0)
			lo = 0x90; /* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0; /* continuation byte, 0xc0, 0xc1 or 0xf5..0xff */
	}
	if (avail < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (cp)
		*cp = c;
	return n;
}

bool utf8_unsafe_code_point(uint32_t cp)
{
	return (cp >= 0x80 && cp < 0xa0) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}
