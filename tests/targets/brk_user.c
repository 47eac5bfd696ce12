// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * brk_user: memory the program takes without malloc and moves or gives back:
 * - grow_break: sbrk(40960) then sbrk(8192); main later gives the 8192 back
 *   with sbrk(-8192): 40960 bytes stay outstanding under grow_break;
 * - remap_grow: mmap 64 KiB, mremap it to 1 MiB (may move): the 64 KiB block
 *   is released and 1 MiB stays outstanding under remap_grow.
 * Truth (exact bytes per function) goes to $DRIP_TRUTH as one JSON object.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

void *grown[2];
char *remapped;

NOINLINE void grow_break(void)
{
	grown[0] = sbrk(40960);
	grown[1] = sbrk(8192);
}

NOINLINE void remap_grow(void)
{
	char *p = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		exit(1);
	remapped = mremap(p, 64 * 1024, 1024 * 1024, MREMAP_MAYMOVE);
	if (remapped == MAP_FAILED)
		exit(1);
	remapped[0] = 1;
}

int main(void)
{
	const char *truth = getenv("DRIP_TRUTH");

	grow_break();
	remap_grow();
	if (sbrk(-8192) == (void *)-1)
		return 1;
	if (truth) {
		FILE *f = fopen(truth, "w");

		if (!f)
			return 1;
		fprintf(f, "{\"pid\": %d, \"leaks\": {\"grow_break\": {\"bytes\": 40960, \"allocs\": 2, "
			   "\"frees\": 1}, \"remap_grow\": {\"bytes\": %d, \"allocs\": 2, \"frees\": 1}}}\n",
			getpid(), 1024 * 1024);
		fclose(f);
	}
	return 0;
}
