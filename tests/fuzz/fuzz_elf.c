// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* libFuzzer target: elf_file__open_mem and every query on what it accepts. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "drip/elf.h"

static volatile uint8_t sink;

static const char *const names[] = { "malloc",	   "free", "calloc", "memcpy", "memcpy@V1",
				     "memcpy@@V2", "main", "_start", "@",      "" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t off, delta, step = size / 256 + 1;
	struct elf_file *e;
	const uint8_t *id;
	char name[33];
	uint8_t buf[32];
	size_t n;

	if (elf_file__open_mem(data, size, &e))
		return 0;
	n = elf_file__build_id(e, &id);
	if (n > 64 || (n && !id))
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		sink ^= id[i]; /* every byte must be readable */
	elf_file__is_dyn(e);
	elf_file__has_interp(e);
	elf_file__nr_funcs(e);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (elf_file__func_offset(e, names[i], &off))
			continue;
		elf_file__read_at(e, off, buf, sizeof(buf));
		elf_file__func_at(e, off, &delta);
	}
	/* a name made of the input's last bytes: odd lengths, '@' and non-ASCII */
	n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, data + size - n, n);
	name[n] = '\0';
	elf_file__func_offset(e, name, &off);
	for (uint64_t o = 0; o < size + 64; o += step) {
		const char *fn = elf_file__func_at(e, o, &delta);
		uint64_t va;

		/* a named offset lies in a segment */
		if (elf_file__offset_to_vaddr(e, o, &va) && fn)
			__builtin_trap();

		if (fn && strlen(fn) > size)
			__builtin_trap(); /* names come from the file */
	}
	elf_file__func_at(e, UINT64_MAX, &delta);
	elf_file__read_at(e, UINT64_MAX - 4, buf, 8);
	elf_file__close(e);
	return 0;
}
