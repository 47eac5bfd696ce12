/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A small ET_DYN image built byte by byte, so tests know every symbol's
 * address without a toolchain.  Layout (file offset -> vaddr):
 *
 *	0x000 ehdr, phdrs		PT_LOAD R   0x000-0x200 -> 0x10000
 *	0x200 .text (0x200 bytes)	PT_LOAD R+X 0x200-0x400 -> 0x20200
 *	0x400 build-id note		PT_NOTE
 *	0x440 .dynsym  0x540 .dynstr  0x600 .gnu.version  0x620 .gnu.version_d
 *	0x680 .symtab  0x790 .strtab  0x800 .shstrtab     0x880 section headers
 *
 * So a text symbol at vaddr V sits at file offset V - 0x20000.
 */
#ifndef DRIP_TESTS_ELF_IMAGE_H
#define DRIP_TESTS_ELF_IMAGE_H

#include <elf.h>
#include <stdint.h>
#include <string.h>

#define IMG_SIZE     0xb00
#define IMG_TEXT_OFF 0x200
#define IMG_TEXT_VA  0x20200
#define IMG_SHOFF    0x880
#define IMG_NR_FUNCS 15 /* distinct (address, name) function symbols below */

static const uint8_t img_build_id[20] = { 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03,
					  0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
					  0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10 };

struct img_sym {
	const char *name;
	unsigned char type, bind;
	uint16_t shndx;
	uint64_t value, size;
	uint16_t versym; /* dynsym only */
};

/* .dynsym: versions V1 (index 2) and V2 (index 3); 0x8000 = hidden */
static const struct img_sym img_dynsyms[] = {
	{ "malloc", STT_FUNC, STB_GLOBAL, 1, 0x20200, 0x40, 2 },
	{ "__libc_malloc", STT_FUNC, STB_GLOBAL, 1, 0x20200, 0x40, 2 },
	{ "free", STT_FUNC, STB_GLOBAL, 1, 0x20240, 0x20, 2 },
	{ "memcpy", STT_FUNC, STB_GLOBAL, 1, 0x20260, 0x10, 0x8002 },
	{ "memcpy", STT_GNU_IFUNC, STB_GLOBAL, 1, 0x20270, 0x10, 3 },
	{ "calloc", STT_FUNC, STB_WEAK, 1, 0x20280, 0x20, 2 },
	{ "__libc_calloc", STT_FUNC, STB_GLOBAL, 1, 0x20280, 0x20, 2 },
	{ "undef", STT_FUNC, STB_GLOBAL, SHN_UNDEF, 0, 0, 0 },
	{ "data_obj", STT_OBJECT, STB_GLOBAL, 1, 0x10100, 8, 2 },
};

static const struct img_sym img_syms[] = {
	{ "local_fn", STT_FUNC, STB_LOCAL, 1, 0x202a0, 0x10, 0 },
	{ "nosize", STT_FUNC, STB_LOCAL, 1, 0x202c0, 0, 0 },
	{ "after", STT_FUNC, STB_GLOBAL, 1, 0x202e0, 0x10, 0 },
	{ "malloc", STT_FUNC, STB_GLOBAL, 1, 0x20200, 0x40, 0 }, /* also in .dynsym */
	{ "tail_nosize", STT_FUNC, STB_LOCAL, 1, 0x20300, 0, 0 },
	{ "outer", STT_FUNC, STB_GLOBAL, 1, 0x20380, 0x40, 0 },
	{ "inner", STT_FUNC, STB_LOCAL, 1, 0x20390, 0x8, 0 },
	{ "static_dup", STT_FUNC, STB_LOCAL, 1, 0x202a0, 0x10, 0 },
	{ "zero_val", STT_FUNC, STB_GLOBAL, 1, 0, 0x10, 0 },
	{ "notinload", STT_FUNC, STB_GLOBAL, 1, 0x90000, 4, 0 },
};

static void img_put(uint8_t *img, size_t off, const void *p, size_t n)
{
	memcpy(img + off, p, n);
}

/* Write names into a string table at off; return its size. */
static size_t img_syms_put(uint8_t *img, size_t sym_off, size_t str_off, const struct img_sym *s,
			   size_t n, size_t versym_off)
{
	size_t str = 1;
	Elf64_Sym sym = { 0 };
	uint16_t v = 0;

	img[str_off] = 0;
	img_put(img, sym_off, &sym, sizeof(sym));
	if (versym_off)
		img_put(img, versym_off, &v, 2);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(s[i].name) + 1;

		sym.st_name = str;
		sym.st_info = ELF64_ST_INFO(s[i].bind, s[i].type);
		sym.st_shndx = s[i].shndx;
		sym.st_value = s[i].value;
		sym.st_size = s[i].size;
		img_put(img, sym_off + (i + 1) * sizeof(sym), &sym, sizeof(sym));
		img_put(img, str_off + str, s[i].name, len);
		str += len;
		if (versym_off) {
			v = s[i].versym;
			img_put(img, versym_off + (i + 1) * 2, &v, 2);
		}
	}
	return str;
}

static void img_shdr(uint8_t *img, int i, uint32_t name, uint32_t type, uint64_t off, uint64_t size,
		     uint32_t link, uint32_t info, uint64_t entsize)
{
	Elf64_Shdr sh = {
		.sh_name = name,
		.sh_type = type,
		.sh_offset = off,
		.sh_size = size,
		.sh_link = link,
		.sh_info = info,
		.sh_addralign = type == SHT_NOTE ? 4 : 8,
		.sh_entsize = entsize,
	};

	img_put(img, IMG_SHOFF + i * sizeof(sh), &sh, sizeof(sh));
}

/* Fill img[IMG_SIZE]. */
static void img_build(uint8_t *img)
{
	static const char shstr[] = "\0.text\0.note\0.dynsym\0.dynstr\0.gnu.version\0"
				    ".gnu.version_d\0.symtab\0.strtab\0.shstrtab";
	const size_t nd = sizeof(img_dynsyms) / sizeof(img_dynsyms[0]);
	const size_t ns = sizeof(img_syms) / sizeof(img_syms[0]);
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[3] = { 0 };
	Elf64_Verdef vd = { 0 };
	Elf64_Verdaux va = { 0 };
	uint32_t nhdr[3] = { 4, sizeof(img_build_id), NT_GNU_BUILD_ID };
	size_t dynstr, strtab;
	static const char *vnames[] = { "libimg.so", "V1", "V2" };
	size_t vstr[3];

	memset(img, 0, IMG_SIZE);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_DYN;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_shoff = IMG_SHOFF;
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 3;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 10;
	eh.e_shstrndx = 9;
	img_put(img, 0, &eh, sizeof(eh));

	ph[0] = (Elf64_Phdr){ PT_LOAD, PF_R, 0, 0x10000, 0x10000, 0x200, 0x200, 0x1000 };
	ph[1] = (Elf64_Phdr){ PT_LOAD, PF_R | PF_X, 0x200, 0x20200, 0x20200, 0x200, 0x200, 0x1000 };
	ph[2] = (Elf64_Phdr){ PT_NOTE, PF_R, 0x400, 0x10400, 0x10400, 36, 36, 4 };
	img_put(img, sizeof(eh), ph, sizeof(ph));

	memset(img + IMG_TEXT_OFF, 0xc3, 0x200); /* ret */
	img_put(img, 0x400, nhdr, sizeof(nhdr));
	img_put(img, 0x40c, "GNU", 4);
	img_put(img, 0x410, img_build_id, sizeof(img_build_id));

	dynstr = img_syms_put(img, 0x440, 0x540, img_dynsyms, nd, 0x600);
	/* version names go after the symbol names in .dynstr */
	for (int i = 0; i < 3; i++) {
		vstr[i] = dynstr;
		img_put(img, 0x540 + dynstr, vnames[i], strlen(vnames[i]) + 1);
		dynstr += strlen(vnames[i]) + 1;
	}
	for (int i = 0; i < 3; i++) {
		vd.vd_version = VER_DEF_CURRENT;
		vd.vd_flags = i ? 0 : VER_FLG_BASE;
		vd.vd_ndx = i + 1;
		vd.vd_cnt = 1;
		vd.vd_aux = sizeof(vd);
		vd.vd_next = i < 2 ? sizeof(vd) + sizeof(va) : 0;
		va.vda_name = vstr[i];
		img_put(img, 0x620 + i * (sizeof(vd) + sizeof(va)), &vd, sizeof(vd));
		img_put(img, 0x620 + i * (sizeof(vd) + sizeof(va)) + sizeof(vd), &va, sizeof(va));
	}
	strtab = img_syms_put(img, 0x680, 0x790, img_syms, ns, 0);
	img_put(img, 0x800, shstr, sizeof(shstr));

	img_shdr(img, 1, 1, SHT_PROGBITS, 0x200, 0x200, 0, 0, 0);
	img_shdr(img, 2, 7, SHT_NOTE, 0x400, 36, 0, 0, 0);
	img_shdr(img, 3, 13, SHT_DYNSYM, 0x440, (nd + 1) * sizeof(Elf64_Sym), 4, 1,
		 sizeof(Elf64_Sym));
	img_shdr(img, 4, 21, SHT_STRTAB, 0x540, dynstr, 0, 0, 0);
	img_shdr(img, 5, 29, SHT_GNU_versym, 0x600, (nd + 1) * 2, 3, 0, 2);
	img_shdr(img, 6, 42, SHT_GNU_verdef, 0x620, 3 * (sizeof(vd) + sizeof(va)), 4, 3, 0);
	img_shdr(img, 7, 57, SHT_SYMTAB, 0x680, (ns + 1) * sizeof(Elf64_Sym), 8, 1,
		 sizeof(Elf64_Sym));
	img_shdr(img, 8, 65, SHT_STRTAB, 0x790, strtab, 0, 0, 0);
	img_shdr(img, 9, 73, SHT_STRTAB, 0x800, sizeof(shstr), 0, 0, 0);
}

#endif /* DRIP_TESTS_ELF_IMAGE_H */
