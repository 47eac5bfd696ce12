// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * elf.c against ground truth it does not compute: a hand-built image whose
 * every symbol is known, this machine's libc as nm/readelf describe it, and
 * this test binary as the dynamic loader placed it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "drip/elf.h"
#include "drip/procmaps.h"

#include "elf_image.h"

static uint8_t img[IMG_SIZE];

static struct elf_file *open_img(const uint8_t *buf, size_t len)
{
	struct elf_file *e = NULL;

	assert_int_equal(elf_file__open_mem(buf, len, &e), 0);
	assert_non_null(e);
	return e;
}

static void test_image_func_offsets(void **state)
{
	struct elf_file *e = open_img(img, sizeof(img));
	static const struct {
		const char *name;
		int err;
		uint64_t off;
	} cases[] = {
		/* clang-format off */
		{ "malloc", 0, 0x200 },
		{ "__libc_malloc", 0, 0x200 },
		{ "free", 0, 0x240 },
		{ "memcpy", 0, 0x270 },		/* the default version, V2 */
		{ "memcpy@@V2", 0, 0x270 },
		{ "memcpy@V2", 0, 0x270 },
		{ "memcpy@V1", 0, 0x260 },	/* the compat one */
		{ "memcpy@@V1", -ENOENT, 0 },
		{ "memcpy@V3", -ENOENT, 0 },
		{ "calloc", 0, 0x280 },
		{ "local_fn", 0, 0x2a0 },
		{ "nosize", 0, 0x2c0 },
		{ "undef", -ENOENT, 0 },	/* undefined */
		{ "data_obj", -ENOENT, 0 },	/* not a function */
		{ "zero_val", -ENOENT, 0 },	/* st_value 0 */
		{ "notinload", -ERANGE, 0 },
		{ "mallo", -ENOENT, 0 },
		{ "mallocx", -ENOENT, 0 },
		{ "", -ENOENT, 0 },
		{ "@", -ENOENT, 0 },
		/* clang-format on */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t off = 0;

		assert_int_equal(elf_file__func_offset(e, cases[i].name, &off), cases[i].err);
		if (!cases[i].err)
			assert_int_equal(off, cases[i].off);
	}
	assert_int_equal(elf_file__nr_funcs(e), IMG_NR_FUNCS);
	assert_int_equal(elf_file__is_dyn(e), 1);
	elf_file__close(e);
}

static void test_image_func_at(void **state)
{
	struct elf_file *e = open_img(img, sizeof(img));
	static const struct {
		uint64_t off;
		const char *name; /* NULL: nothing there */
		uint64_t delta;
	} cases[] = {
		{ 0x200, "malloc", 0 }, /* malloc beats __libc_malloc */
		{ 0x205, "malloc", 5 },
		{ 0x23f, "malloc", 0x3f },
		{ 0x240, "free", 0 },
		{ 0x25f, "free", 0x1f },
		{ 0x260, "memcpy", 0 },
		{ 0x271, "memcpy", 1 },
		{ 0x285, "calloc", 5 },	   /* weak public name beats __libc_calloc */
		{ 0x2a0, "local_fn", 0 },  /* tie between locals: the shorter name */
		{ 0x2b5, NULL, 0 },	   /* past local_fn's size, before nosize */
		{ 0x2c0, "nosize", 0 }, /* unsized: its first byte, where it starts */
		{ 0x2d0, NULL, 0 },	/* ...and no further: stretching it would be a guess */
		{ 0x2df, NULL, 0 },
		{ 0x2e0, "after", 0 },
		{ 0x2f5, NULL, 0 },
		{ 0x300, "tail_nosize", 0 },
		{ 0x37f, NULL, 0 },
		{ 0x395, "inner", 5 },
		{ 0x3a0, "outer", 0x20 }, /* past inner: the enclosing symbol */
		{ 0x3bf, "outer", 0x3f },
		{ 0x3c0, NULL, 0 },
		{ 0x100, NULL, 0 }, /* in the R segment, below every symbol */
		{ 0x400, NULL, 0 }, /* in no PT_LOAD */
		{ 0x10000000, NULL, 0 },
		{ UINT64_MAX, NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t delta = 12345;
		const char *name = elf_file__func_at(e, cases[i].off, &delta);

		if (!cases[i].name) {
			if (name)
				fail_msg("offset %#" PRIx64 ": got %s", cases[i].off, name);
			continue;
		}
		if (!name || strcmp(name, cases[i].name))
			fail_msg("offset %#" PRIx64 ": got %s, want %s", cases[i].off,
				 name ? name : "NULL", cases[i].name);
		assert_int_equal(delta, cases[i].delta);
	}
	assert_string_equal(elf_file__func_at(e, 0x205, NULL), "malloc"); /* delta optional */
	elf_file__close(e);
}

static void test_image_build_id_and_read_at(void **state)
{
	struct elf_file *e = open_img(img, sizeof(img));
	const uint8_t *id;
	uint8_t buf[4];

	assert_int_equal(elf_file__build_id(e, &id), sizeof(img_build_id));
	assert_memory_equal(id, img_build_id, sizeof(img_build_id));
	assert_int_equal(elf_file__read_at(e, 0x200, buf, 4), 0);
	assert_memory_equal(buf, "\xc3\xc3\xc3\xc3", 4);
	assert_int_equal(elf_file__read_at(e, IMG_SIZE - 4, buf, 4), 0);
	assert_int_equal(elf_file__read_at(e, IMG_SIZE - 3, buf, 4), -ERANGE);
	assert_int_equal(elf_file__read_at(e, UINT64_MAX - 1, buf, 4), -ERANGE);
	elf_file__close(e);
}

static void test_image_offsets_and_interp(void **state)
{
	struct elf_file *e = open_img(img, sizeof(img));
	uint64_t va = 0;

	assert_int_equal(elf_file__offset_to_vaddr(e, 0x205, &va), 0);
	assert_int_equal(va, 0x20205);
	assert_int_equal(elf_file__offset_to_vaddr(e, 0x10, &va), 0);
	assert_int_equal(va, 0x10010);
	assert_int_equal(elf_file__offset_to_vaddr(e, 0x400, &va), -ERANGE);
	assert_int_equal(elf_file__has_interp(e), 0); /* no PT_INTERP */
	elf_file__close(e);
	assert_int_equal(elf_file__open("/proc/self/exe", &e), 0);
	assert_int_equal(elf_file__has_interp(e), 1); /* a dynamically linked test */
	elf_file__close(e);
	assert_int_equal(elf_file__has_interp(NULL), 0);
	assert_int_equal(elf_file__offset_to_vaddr(NULL, 0, &va), -ERANGE);
}

static void test_image_build_id_from_section_only(void **state)
{
	uint8_t copy[IMG_SIZE];
	struct elf_file *e;
	const uint8_t *id;
	Elf64_Phdr ph;

	memcpy(copy, img, sizeof(copy));
	memcpy(&ph, copy + sizeof(Elf64_Ehdr) + 2 * sizeof(ph), sizeof(ph));
	ph.p_type = PT_NULL; /* only the SHT_NOTE section is left */
	memcpy(copy + sizeof(Elf64_Ehdr) + 2 * sizeof(ph), &ph, sizeof(ph));
	e = open_img(copy, sizeof(copy));
	assert_int_equal(elf_file__build_id(e, &id), sizeof(img_build_id));
	assert_memory_equal(id, img_build_id, sizeof(img_build_id));
	elf_file__close(e);
}

static void test_no_section_headers(void **state)
{
	uint8_t copy[IMG_SIZE];
	struct elf_file *e;
	const uint8_t *id;
	Elf64_Ehdr eh;
	uint64_t off;

	/* like sstrip's output: segments only */
	memcpy(copy, img, sizeof(copy));
	memcpy(&eh, copy, sizeof(eh));
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	memcpy(copy, &eh, sizeof(eh));
	e = open_img(copy, IMG_SHOFF);
	assert_int_equal(elf_file__nr_funcs(e), 0);
	assert_int_equal(elf_file__func_offset(e, "malloc", &off), -ENOENT);
	assert_null(elf_file__func_at(e, 0x205, &off));
	assert_int_equal(elf_file__build_id(e, &id), sizeof(img_build_id));
	elf_file__close(e);
}

static void test_rejects_non_elf(void **state)
{
	uint8_t copy[IMG_SIZE];
	struct elf_file *e = (void *)1;

	assert_int_equal(elf_file__open_mem("", 0, &e), -ENOEXEC);
	assert_null(e);
	assert_int_equal(elf_file__open_mem("#!/bin/sh\n", 10, &e), -ENOEXEC);
	memcpy(copy, img, sizeof(copy));
	copy[EI_CLASS] = ELFCLASS32;
	assert_int_equal(elf_file__open_mem(copy, sizeof(copy), &e), -ENOEXEC);
	memcpy(copy, img, sizeof(copy));
	copy[EI_DATA] = ELFDATA2MSB;
	assert_int_equal(elf_file__open_mem(copy, sizeof(copy), &e), -ENOEXEC);
	memcpy(copy, img, sizeof(copy));
	copy[offsetof(Elf64_Ehdr, e_type)] = ET_REL;
	assert_int_equal(elf_file__open_mem(copy, sizeof(copy), &e), -ENOEXEC);
	assert_null(e);
	elf_file__close(NULL);
}

static void put_u64(uint8_t *buf, size_t off, uint64_t v)
{
	memcpy(buf + off, &v, sizeof(v));
}

static void put_u16(uint8_t *buf, size_t off, uint16_t v)
{
	memcpy(buf + off, &v, sizeof(v));
}

static size_t shdr_field(int i, size_t field)
{
	return IMG_SHOFF + i * sizeof(Elf64_Shdr) + field;
}

static void test_rejects_forged_tables(void **state)
{
	uint8_t copy[IMG_SIZE];
	struct elf_file *e = NULL;
	uint64_t off;
	int err;

	/* section header table beyond the end */
	memcpy(copy, img, sizeof(copy));
	put_u16(copy, offsetof(Elf64_Ehdr, e_shnum), 0xffff);
	assert_int_equal(elf_file__open_mem(copy, sizeof(copy), &e), -EBADMSG);
	/* program headers at an absurd offset */
	memcpy(copy, img, sizeof(copy));
	put_u64(copy, offsetof(Elf64_Ehdr, e_phoff), UINT64_MAX - 8);
	assert_int_equal(elf_file__open_mem(copy, sizeof(copy), &e), -EBADMSG);
	/* a symbol table larger than the file */
	memcpy(copy, img, sizeof(copy));
	put_u64(copy, shdr_field(7, offsetof(Elf64_Shdr, sh_size)), UINT64_MAX / 2);
	err = elf_file__open_mem(copy, sizeof(copy), &e);
	assert_true(err == -EBADMSG || err == -EFBIG);
	/* a string table link out of range */
	memcpy(copy, img, sizeof(copy));
	copy[shdr_field(7, offsetof(Elf64_Shdr, sh_link))] = 200;
	assert_int_equal(elf_file__open_mem(copy, sizeof(copy), &e), -EBADMSG);
	/* a segment whose end wraps around */
	memcpy(copy, img, sizeof(copy));
	put_u64(copy, sizeof(Elf64_Ehdr) + offsetof(Elf64_Phdr, p_vaddr), UINT64_MAX - 0x10);
	assert_int_equal(elf_file__open_mem(copy, sizeof(copy), &e), -EBADMSG);
	assert_null(e);

	/* a name offset past its string table: that symbol is dropped, not read */
	memcpy(copy, img, sizeof(copy));
	memset(copy + 0x680 + sizeof(Elf64_Sym), 0xff, 4); /* local_fn's st_name */
	e = open_img(copy, sizeof(copy));
	assert_int_equal(elf_file__nr_funcs(e), IMG_NR_FUNCS - 1);
	assert_int_equal(elf_file__func_offset(e, "static_dup", &off), 0);
	elf_file__close(e);

	/* a build-id note claiming 4 GiB */
	memcpy(copy, img, sizeof(copy));
	memset(copy + 0x404, 0xff, 4);
	e = open_img(copy, sizeof(copy));
	assert_int_equal(elf_file__build_id(e, &(const uint8_t *){ NULL }), 0);
	elf_file__close(e);

	/* a version definition chain that runs off its section, claiming 2^32 entries */
	memcpy(copy, img, sizeof(copy));
	memset(copy + shdr_field(6, offsetof(Elf64_Shdr, sh_info)), 0xff, 4);
	memcpy(copy + 0x620 + 28 + offsetof(Elf64_Verdef, vd_next), "\xe4\xff\xff\xff", 4);
	e = open_img(copy, sizeof(copy));
	assert_int_equal(elf_file__func_offset(e, "malloc", &off), 0);
	elf_file__close(e);
}

/* 200000 symbols all naming offset 0 of a 4 MiB string table with no NUL */
static void test_unterminated_names_do_not_hang(void **state)
{
	const size_t nsyms = 200000, strsz = 4u << 20;
	size_t symoff = IMG_SIZE, stroff = IMG_SIZE + nsyms * sizeof(Elf64_Sym);
	size_t len = stroff + strsz;
	uint8_t *big = malloc(len);
	struct elf_file *e = NULL;

	assert_non_null(big);
	memcpy(big, img, IMG_SIZE);
	for (size_t i = 0; i < nsyms; i++) {
		Elf64_Sym sym = {
			.st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
			.st_shndx = 1,
			.st_value = IMG_TEXT_VA + i % 0x200,
		};

		memcpy(big + symoff + i * sizeof(sym), &sym, sizeof(sym));
	}
	memset(big + stroff, 'A', strsz);
	put_u64(big, shdr_field(7, offsetof(Elf64_Shdr, sh_offset)), symoff);
	put_u64(big, shdr_field(7, offsetof(Elf64_Shdr, sh_size)), nsyms * sizeof(Elf64_Sym));
	put_u64(big, shdr_field(8, offsetof(Elf64_Shdr, sh_offset)), stroff);
	put_u64(big, shdr_field(8, offsetof(Elf64_Shdr, sh_size)), strsz);
	alarm(60); /* unbounded, this is 800 GB of scanning */
	assert_int_equal(elf_file__open_mem(big, len, &e), -EFBIG);
	alarm(0);
	assert_null(e);
	free(big);
}

/* 65535 note sections, each 1 MiB of notes that are not a build-id */
static void test_repeated_notes_do_not_hang(void **state)
{
	const size_t nsec = 0xffff, notes = 0x1000, notesz = 1u << 20;
	size_t shoff = notes + notesz, len = shoff + nsec * sizeof(Elf64_Shdr);
	uint8_t *big = calloc(1, len);
	struct elf_file *e = NULL;
	const uint8_t *id;
	Elf64_Ehdr eh;

	assert_non_null(big);
	memcpy(&eh, img, sizeof(eh));
	eh.e_phnum = 0;
	eh.e_shoff = shoff;
	eh.e_shnum = nsec;
	eh.e_shstrndx = 0;
	memcpy(big, &eh, sizeof(eh));
	for (size_t i = 1; i < nsec; i++) {
		Elf64_Shdr sh = {
			.sh_type = SHT_NOTE,
			.sh_offset = notes,
			.sh_size = notesz,
			.sh_addralign = 4,
		};

		memcpy(big + shoff + i * sizeof(sh), &sh, sizeof(sh));
	}
	alarm(60); /* unbounded, this is 64 GiB of copying */
	assert_int_equal(elf_file__open_mem(big, len, &e), 0);
	alarm(0);
	assert_int_equal(elf_file__build_id(e, &id), 0);
	elf_file__close(e);
	free(big);
}

static void test_every_prefix_fails(void **state)
{
	/* the section headers come last: every strict prefix is a truncated file */
	for (size_t len = 0; len < sizeof(img); len++) {
		struct elf_file *e = (void *)1;
		int err = elf_file__open_mem(img, len, &e);

		if (err != -ENOEXEC && err != -EBADMSG)
			fail_msg("prefix %zu: %d", len, err);
		assert_null(e);
	}
}

static void exercise(const struct elf_file *e)
{
	static const char *names[] = { "malloc", "free",  "memcpy", "memcpy@V1",
				       "calloc", "outer", "nosize", "x" };
	const uint8_t *id;
	uint64_t off, delta;
	uint8_t buf[16];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!elf_file__func_offset(e, names[i], &off))
			elf_file__read_at(e, off, buf, sizeof(buf));
	for (uint64_t o = 0; o < IMG_SIZE + 64; o += 3)
		elf_file__func_at(e, o, &delta);
	if (elf_file__build_id(e, &id))
		assert_non_null(id);
	elf_file__nr_funcs(e);
}

static void test_random_byte_flips(void **state)
{
	uint8_t copy[IMG_SIZE];
	unsigned int seed = 1;
	int ok = 0;

	for (int iter = 0; iter < 20000; iter++) {
		struct elf_file *e;
		int n = 1 + rand_r(&seed) % 4;

		memcpy(copy, img, sizeof(copy));
		for (int i = 0; i < n; i++) {
			size_t at = rand_r(&seed) % sizeof(copy);

			/* half the time hit the headers, where a flip matters most */
			if (rand_r(&seed) & 1)
				at = rand_r(&seed) % 0x100;
			copy[at] ^= 1u << (rand_r(&seed) % 8);
		}
		if (elf_file__open_mem(copy, sizeof(copy), &e))
			continue;
		ok++;
		exercise(e);
		elf_file__close(e);
	}
	assert_true(ok > 0);
}

/* ---- this machine's libc, against nm and readelf ---------------------- */

static char libc_path[4096];

static int find_libc(void)
{
	struct procmaps *m;

	if (libc_path[0])
		return 0;
	if (procmaps__read(getpid(), &m))
		return -1;
	for (size_t i = 0; i < m->nr; i++) {
		const char *base = strrchr(m->vmas[i].path, '/');

		if (base && !strncmp(base, "/libc.so", 8)) {
			snprintf(libc_path, sizeof(libc_path), "%s", m->vmas[i].path);
			break;
		}
	}
	procmaps__free(m);
	return libc_path[0] ? 0 : -1;
}

static FILE *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static FILE *run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return popen(cmd, "r");
}

/* "T"-type address of name@@... in `nm -D --defined-only`, or 0 */
static uint64_t nm_addr(const char *name)
{
	char line[512], sym[256], type;
	uint64_t addr, found = 0;
	FILE *f = run("nm -D --defined-only '%s' 2>/dev/null", libc_path);

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *at;

		if (sscanf(line, "%" SCNx64 " %c %255s", &addr, &type, sym) != 3)
			continue;
		at = strstr(sym, "@@");
		if (at && (size_t)(at - sym) == strlen(name) && !strncmp(sym, name, at - sym))
			found = addr;
	}
	pclose(f);
	return found;
}

/* file offset of vaddr per `readelf -lW` */
static uint64_t readelf_off(uint64_t vaddr)
{
	char line[512];
	uint64_t off, va, pa, filesz, found = UINT64_MAX;
	FILE *f = run("readelf -lW '%s' 2>/dev/null", libc_path);

	if (!f)
		return UINT64_MAX;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " LOAD 0x%" SCNx64 " 0x%" SCNx64 " 0x%" SCNx64 " 0x%" SCNx64, &off,
			   &va, &pa, &filesz) != 4)
			continue;
		if (vaddr >= va && vaddr < va + filesz)
			found = vaddr - va + off;
	}
	pclose(f);
	return found;
}

static void test_libc_offsets_match_nm(void **state)
{
	static const char *names[] = { "malloc", "free", "calloc", "realloc", "posix_memalign" };
	struct elf_file *e;

	if (find_libc() || !nm_addr("malloc"))
		skip(); /* no binutils, or no libc in our maps */
	assert_int_equal(elf_file__open(libc_path, &e), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t want = readelf_off(nm_addr(names[i])), off = 0, delta = 99;
		const char *at;

		assert_int_not_equal(want, UINT64_MAX);
		assert_int_equal(elf_file__func_offset(e, names[i], &off), 0);
		if (off != want)
			fail_msg("%s: %#" PRIx64 ", nm/readelf say %#" PRIx64, names[i], off, want);
		at = elf_file__func_at(e, off + 5, &delta);
		assert_non_null(at);
		assert_string_equal(at, names[i]);
		assert_int_equal(delta, 5);
	}
	elf_file__close(e);
}

static void test_libc_aliases_and_versions(void **state)
{
	uint64_t malloc_off, alias_off, v_off, d_off;
	struct elf_file *e;

	if (find_libc())
		skip();
	assert_int_equal(elf_file__open(libc_path, &e), 0);
	assert_int_equal(elf_file__func_offset(e, "malloc", &malloc_off), 0);
	assert_int_equal(elf_file__func_offset(e, "__libc_malloc", &alias_off), 0);
	assert_int_equal(malloc_off, alias_off);
	assert_string_equal(elf_file__func_at(e, alias_off, NULL), "malloc");
	/* glibc exports two memcpy: the 2.14 default and the 2.2.5 compat one */
	if (!elf_file__func_offset(e, "memcpy@GLIBC_2.2.5", &v_off)) {
		assert_int_equal(elf_file__func_offset(e, "memcpy", &d_off), 0);
		assert_int_not_equal(v_off, d_off);
		assert_int_equal(elf_file__func_offset(e, "memcpy@@GLIBC_2.14", &alias_off), 0);
		assert_int_equal(alias_off, d_off);
	}
	elf_file__close(e);
}

static void test_libc_build_id_matches_readelf(void **state)
{
	char line[512], hex[129] = "", got[129] = "";
	const uint8_t *id;
	struct elf_file *e;
	size_t n;
	FILE *f;

	if (find_libc())
		skip();
	f = run("readelf -n '%s' 2>/dev/null", libc_path);
	if (!f)
		skip();
	while (fgets(line, sizeof(line), f))
		sscanf(line, " Build ID: %128s", hex);
	pclose(f);
	if (!hex[0])
		skip();
	assert_int_equal(elf_file__open(libc_path, &e), 0);
	n = elf_file__build_id(e, &id);
	assert_true(n > 0 && n <= 64);
	for (size_t i = 0; i < n; i++)
		sprintf(got + 2 * i, "%02x", id[i]);
	assert_string_equal(got, hex);
	elf_file__close(e);
}

/* ---- this test binary, against where the loader put it ---------------- */

__attribute__((noinline)) int drip_test_elf_marker(int x)
{
	return x * 3 + 1;
}

static void test_self_matches_loader(void **state)
{
	uint64_t addr = (uint64_t)(uintptr_t)&drip_test_elf_marker, want, off, delta;
	struct procmaps *m;
	const struct vma *v;
	struct elf_file *e;
	uint8_t code[8];

	assert_int_equal(procmaps__read(getpid(), &m), 0);
	v = procmaps__find(m, addr);
	assert_non_null(v);
	want = addr - v->start + v->offset;
	assert_int_equal(elf_file__open("/proc/self/exe", &e), 0);
	assert_int_equal(elf_file__func_offset(e, "drip_test_elf_marker", &off), 0);
	assert_int_equal(off, want);
	assert_string_equal(elf_file__func_at(e, want + 2, &delta), "drip_test_elf_marker");
	assert_int_equal(delta, 2);
	/* the bytes in the file are the bytes the loader mapped */
	assert_int_equal(elf_file__read_at(e, off, code, sizeof(code)), 0);
	assert_memory_equal(code, (const void *)(uintptr_t)addr, sizeof(code));
	elf_file__close(e);
	procmaps__free(m);
}

static void test_open_fd_keeps_no_fd(void **state)
{
	struct elf_file *e;
	uint8_t b;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(elf_file__open_fd(fd, &e), 0);
	close(fd);
	assert_true(elf_file__nr_funcs(e) > 0);
	assert_int_equal(elf_file__read_at(e, 0, &b, 1), -EBADF);
	elf_file__close(e);
}

static void test_open_refuses_special_files(void **state)
{
	char dir[] = "/tmp/drip-test-elf-XXXXXX", fifo[64];
	struct elf_file *e = (void *)1;

	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(10); /* a blocking open would hang here */
	assert_int_equal(elf_file__open(fifo, &e), -ENOEXEC);
	alarm(0);
	assert_int_equal(elf_file__open("/dev/null", &e), -ENOEXEC);
	assert_int_equal(elf_file__open(dir, &e), -ENOEXEC);
	assert_int_equal(elf_file__open("/nonexistent/drip", &e), -ENOENT);
	assert_null(e);
	unlink(fifo);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image_func_offsets),
		cmocka_unit_test(test_image_func_at),
		cmocka_unit_test(test_image_build_id_and_read_at),
		cmocka_unit_test(test_image_offsets_and_interp),
		cmocka_unit_test(test_image_build_id_from_section_only),
		cmocka_unit_test(test_no_section_headers),
		cmocka_unit_test(test_rejects_non_elf),
		cmocka_unit_test(test_rejects_forged_tables),
		cmocka_unit_test(test_unterminated_names_do_not_hang),
		cmocka_unit_test(test_repeated_notes_do_not_hang),
		cmocka_unit_test(test_every_prefix_fails),
		cmocka_unit_test(test_random_byte_flips),
		cmocka_unit_test(test_libc_offsets_match_nm),
		cmocka_unit_test(test_libc_aliases_and_versions),
		cmocka_unit_test(test_libc_build_id_matches_readelf),
		cmocka_unit_test(test_self_matches_loader),
		cmocka_unit_test(test_open_fd_keeps_no_fd),
		cmocka_unit_test(test_open_refuses_special_files),
	};

	img_build(img);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
