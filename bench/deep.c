// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * deep: malloc+free pairs made DEPTH frames below main, in code built without
 * frame pointers (-O2 -fomit-frame-pointer), to price stack walks by depth.
 * usage: deep DEPTH PAIRS   prints "ns_per_pair X"
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile int sink;
void *volatile escape; /* the pointer escapes: gcc may not elide the malloc+free pair */

__attribute__((noipa)) static void leaf(long pairs)
{
	for (long i = 0; i < pairs; i++) {
		char *p = malloc(16 + (i * 37 % 256) * 16);

		p[0] = 1;
		escape = p;
		free(escape);
	}
}

__attribute__((noipa)) static void descend(int depth, long pairs)
{
	if (depth <= 1)
		leaf(pairs);
	else
		descend(depth - 1, pairs);
	sink++; /* not a tail call: each level keeps its frame */
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 16;
	long pairs = argc > 2 ? atol(argv[2]) : 100000;
	struct timespec a, b;

	/* main and libc's start frames add 3: descend fills the rest */
	clock_gettime(CLOCK_MONOTONIC, &a);
	descend(depth > 3 ? depth - 3 : 1, pairs);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("ns_per_pair %.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / pairs);
	return 0;
}
