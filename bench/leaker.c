// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * leaker: allocates N blocks of 32 bytes and frees none, says "leaked N" on stdout, then
 * sleeps SECONDS (default 2) so the tracer's memory can be sampled while it holds N
 * outstanding blocks, and exits.
 *
 * usage: leaker N [SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *volatile sink; /* the compiler must not drop the calls */

int main(int argc, char **argv)
{
	long n, secs = 2;
	char line[64];
	int len;

	if (argc < 2 || argc > 3 || (n = strtol(argv[1], NULL, 10)) < 0) {
		fprintf(stderr, "usage: leaker N [SECONDS]\n");
		return 1;
	}
	if (argc == 3)
		secs = strtol(argv[2], NULL, 10);
	for (long i = 0; i < n; i++) {
		sink = malloc(32);
		if (!sink)
			abort();
	}
	len = snprintf(line, sizeof(line), "leaked %ld\n", n);
	if (write(1, line, len) != len)
		return 1;
	sleep(secs);
	return 0;
}
