// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer target: srcline (DWARF via libdw, hardened), fed the way the
 * symbolizer feeds it: the input is written to a memfd and read from there by
 * srcline__open_fd.  Then lookups at the start of every unit's range, a byte
 * and an input-chosen distance into it, and a few fixed addresses, each
 * twice (the second from the cache) and once with room for one entry; and the
 * demangler on the input's last bytes.  At each address, the .symtab
 * function covering it (srcline__symbol).
 *
 * Invariants: at most `max` entries; every string readable; the last entry is
 * not inlined; a cached answer equals the first one; a symbol starts at or
 * below the address it covers.
 *
 * seed-dwarf/: small -nostdlib shared objects built with -g -O2 from a C
 * file (inlined helpers, a lexical block) and a C++ file (a template member
 * in a namespace, nested always-inline helpers, a lambda): gcc DWARF 5
 * (cpp-O2.so) and 4 (c-dwarf4.so, cpp-dwarf4.so: DW_AT_sibling everywhere),
 * clang (clang-O2.so: no DW_AT_sibling), compressed sections (c-gz.so); and
 * tests/unit/test_source.c's hand-made unit with a right (sib68.elf) and a
 * backward (sib47.elf) DW_AT_sibling.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drip/demangle.h"
#include "drip/srcline.h"

#define MAX 8

static volatile size_t sink;

static void touch(const char *s)
{
	if (s)
		sink += strlen(s); /* must be readable to its NUL */
}

static void query(struct srcline *d, uint64_t addr)
{
	struct sym_line a[MAX], b[MAX], one;
	size_t n = srcline__lookup(d, addr, a, MAX), m;
	uint64_t delta = UINT64_MAX;
	const char *sym = srcline__symbol(d, addr, &delta);

	if (sym && delta > addr)
		__builtin_trap(); /* the symbol starts at or below addr */
	touch(sym);

	if (n > MAX)
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		touch(a[i].function);
		touch(a[i].file);
		if (a[i].inlined != (i + 1 < n))
			__builtin_trap(); /* inlined calls first, the function last */
	}
	m = srcline__lookup(d, addr, b, MAX);
	if (m != n || (n && memcmp(a, b, n * sizeof(a[0]))))
		__builtin_trap();
	if (srcline__lookup(d, addr, &one, 1) != (n ? 1 : 0) ||
	    (n && memcmp(&one, &a[n - 1], sizeof(one))))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t fixed[] = { 0, 0x1000, 0x1008, 0x401000, UINT64_MAX };
	uint64_t addrs[64], delta = 0;
	struct srcline *d = NULL;
	const uint8_t *id;
	char tail[65];
	size_t n, len;
	uint32_t crc;
	int fd;

	n = size < sizeof(tail) - 1 ? size : sizeof(tail) - 1;
	memcpy(tail, data + size - n, n);
	tail[n] = 0;
	free(demangle__name(tail));
	memcpy(&delta, data + size - (size < 8 ? size : 8), size < 8 ? size : 8);

	fd = memfd_create("fuzz_dwarf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size || srcline__open_fd(fd, &d)) {
		close(fd);
		return 0;
	}
	close(fd);
	len = srcline__build_id(d, &id);
	for (size_t i = 0; i < len; i++)
		sink += id[i];
	touch(srcline__debuglink(d, &crc));
	touch(srcline__altlink(d, &id, &len));
	for (size_t i = 0; i < len; i++)
		sink += id[i];
	sink += srcline__crc32(d) + srcline__has_dwarf(d);
	n = srcline__unit_addrs(d, addrs, sizeof(addrs) / sizeof(addrs[0]));
	for (size_t i = 0; i < n; i++) {
		query(d, addrs[i]);
		query(d, addrs[i] + 1);
		query(d, addrs[i] + (delta & 0xfff));
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		query(d, fixed[i]);
	srcline__close(d);
	return 0;
}
