// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer target: cfi_table__build_mem, then the table's invariants and
 * cfi_table__find around every row.
 *
 * An input is an ELF file, or, when its first byte is 0xcf (0xdf), raw
 * .eh_frame (.debug_frame) bytes that we wrap in an ELF whose text spans the
 * low 4 GiB: mutations then land in CIE/FDE programs rather than in ELF
 * headers.
 *
 * seed-cfi/: a small -nostdlib shared object with .eh_frame (eh.so), the
 * same without section headers (eh-noshdr.so: found through
 * PT_GNU_EH_FRAME) and cut short before them (eh-truncated.so), one whose
 * CFI is only in .debug_frame (df.so), one whose FDE names register
 * 0x7fffff (regbomb.so: -EBADMSG, libdw never runs it), and the raw CFI of
 * eh.so and df.so (eh.cfi, df.cfi).
 */
#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drip/cfi.h"

#define CFI_VADDR 0x4b8 /* where eh.so's .eh_frame is: eh.cfi's pcrel pointers stay in place */

static void check_find(const struct cfi_table *t, uint64_t pc)
{
	const struct drip_unwind_row *r = cfi_table__find(t, pc);

	if (!r) {
		if (pc < (1ull << 32) && pc >= t->rows[0].pc)
			__builtin_trap();
		return;
	}
	if (r < t->rows || r >= t->rows + t->nr || r->pc > pc)
		__builtin_trap();
	if (r + 1 < t->rows + t->nr && r[1].pc <= pc)
		__builtin_trap(); /* not the last row at or below pc */
}

/* An ELF image: one R+X PT_LOAD over [0, 4 GiB), and the CFI bytes as the named section. */
static uint8_t *wrap(const uint8_t *cfi, size_t n, int debug, size_t *len)
{
	static const char strtab[] = "\0.eh_frame\0.debug_frame\0.shstrtab";
	size_t off = (sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + sizeof(strtab) + 7) & ~7ul;
	size_t shoff = (off + n + 7) & ~7ul;
	uint8_t *img;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	Elf64_Shdr *sh;

	*len = shoff + 3 * sizeof(*sh);
	img = calloc(1, *len);
	if (!img)
		return NULL;
	eh = (Elf64_Ehdr *)img;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_ehsize = sizeof(*eh);
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	eh->e_shoff = shoff;
	eh->e_shentsize = sizeof(*sh);
	eh->e_shnum = 3;
	eh->e_shstrndx = 2;
	ph = (Elf64_Phdr *)(img + sizeof(*eh));
	*ph = (Elf64_Phdr){ .p_type = PT_LOAD,
			    .p_flags = PF_R | PF_X,
			    .p_filesz = *len,
			    .p_memsz = 0xffffffff,
			    .p_align = 0x1000 };
	memcpy(img + sizeof(*eh) + sizeof(*ph), strtab, sizeof(strtab));
	memcpy(img + off, cfi, n);
	sh = (Elf64_Shdr *)(img + shoff);
	sh[1] = (Elf64_Shdr){ .sh_name = debug ? 11 : 1,
			      .sh_type = SHT_PROGBITS,
			      .sh_flags = debug ? 0 : SHF_ALLOC,
			      .sh_addr = debug ? 0 : CFI_VADDR,
			      .sh_offset = off,
			      .sh_size = n,
			      .sh_addralign = 8 };
	sh[2] = (Elf64_Shdr){ .sh_name = 24,
			      .sh_type = SHT_STRTAB,
			      .sh_offset = sizeof(*eh) + sizeof(*ph),
			      .sh_size = sizeof(strtab),
			      .sh_addralign = 1 };
	return img;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfi_table *t = (void *)1;
	uint8_t *img = NULL;
	size_t len = size;
	int err;

	if (size && (data[0] == 0xcf || data[0] == 0xdf)) {
		img = wrap(data + 1, size - 1, data[0] == 0xdf, &len);
		if (!img)
			return 0;
	}
	err = cfi_table__build_mem(img ? img : data, len, &t);
	free(img);
	if (err) {
		if (err > 0 || t)
			__builtin_trap();
		return 0;
	}
	if (!t || !t->nr || t->nr > CFI_MAX_ROWS || t->build_id_len > sizeof(t->build_id) ||
	    t->nr_expr > t->nr)
		__builtin_trap();
	for (size_t i = 0; i < t->nr; i++) {
		const struct drip_unwind_row *r = &t->rows[i];

		if (r->cfa_type > DRIP_CFA_EXPRESSION || r->rbp_type > DRIP_RBP_OFFSET)
			__builtin_trap();
		if (i && t->rows[i - 1].pc >= r->pc)
			__builtin_trap(); /* sorted, one row per pc */
		if (i < 4096) {
			check_find(t, r->pc);
			check_find(t, r->pc - 1ull);
		}
	}
	check_find(t, 0);
	check_find(t, 0xffffffffull);
	check_find(t, 1ull << 32);
	cfi_table__free(t);
	return 0;
}
