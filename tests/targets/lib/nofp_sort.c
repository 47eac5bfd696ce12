// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* A no-frame-pointer library whose comparator allocates: the walk must cross libc's qsort. */
#include <stdlib.h>

#define NOIPA __attribute__((noipa))

void *nofp_kept[64];
static int kept;
volatile int nofp_sink;

NOIPA int cmp_leak(const void *a, const void *b)
{
	if (kept < 5)
		nofp_kept[kept++] = malloc(2222);
	return *(const int *)a - *(const int *)b;
}

NOIPA void sort_with_leaks(int *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_leak);
	nofp_sink++;
}
