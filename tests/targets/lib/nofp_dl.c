// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* A no-frame-pointer library that arrives by dlopen, after drip attached. */
#include <stdlib.h>

void *dl_kept[8];
volatile int dl_sink;

__attribute__((noipa)) void dl_leak(void)
{
	for (int i = 0; i < 4; i++)
		dl_kept[i] = malloc(4444);
	dl_sink++;
}
