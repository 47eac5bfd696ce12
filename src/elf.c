// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * A small, length-checked ELF64 little-endian reader.  ELF files come from
 * traced systems, so nothing in them is trusted: every table is located with
 * overflow-checked arithmetic against the file size, every string offset is
 * checked against its string table (which gets a terminating NUL of our own),
 * and every loop has a cap.  libelf is not used: it trusts more than we may,
 * and we need only a few tables.
 *
 * Only what drip needs is kept: the build-id, the PT_LOAD segments, and the
 * function symbols of .symtab and .dynsym with their dynsym versions.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drip/elf.h"
#include "drip/log.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "elf.c reads little-endian ELF files with host loads"
#endif

#define MAX_SHNUM	(1u << 16)   /* sections we look at; more is absurd for a binary */
#define MAX_PHNUM	(1u << 16)   /* program headers, likewise */
#define MAX_LOADS	64	     /* PT_LOAD segments kept (real files have < 10) */
#define MAX_NOTES	1024	     /* notes per note segment/section */
#define MAX_NOTE_BYTES	(1u << 20)   /* bytes of one note segment/section read */
#define MAX_NOTE_TOTAL	(4u << 20)   /* bytes of notes read in all */
#define MAX_TABLE_BYTES (1ull << 30) /* one symbol or string table */
#define MAX_SYMS	(1u << 24)   /* function symbols kept (indices fit in u32) */
#define MAX_VERDEFS	1024	     /* version definitions walked */
#define MAX_BUILD_ID	64
#define WALK_BACK	8  /* enclosing sized symbols looked for by func_at */
#define DEDUP_SCAN	64 /* kept symbols compared with each new one */

struct src {
	const uint8_t *mem; /* in-memory image, or NULL: read from fd */
	int fd;
	uint64_t size;
};

struct seg {
	uint64_t vaddr, memsz, offset, filesz;
	bool exec;
};

struct func {
	uint64_t addr, size;
	const char *name;    /* NUL-terminated, in e->strtab[] */
	const char *version; /* dynsym version or "name@VER" suffix; NULL when none */
	uint32_t base_len;   /* length of name before any '@' */
	uint16_t arank;	     /* which name to show for an address: lower is better */
	uint8_t nrank;	     /* which symbol a name means: lower is better */
};

struct addr_ent {
	uint64_t addr, end; /* the best symbol at addr covers [addr, end) */
	uint32_t func;
};

struct elf_file {
	int fd;	      /* kept by elf_file__open for read_at, else -1 */
	uint8_t *mem; /* copy kept by elf_file__open_mem */
	uint64_t size;
	bool dyn;
	bool interp;		    /* has PT_INTERP: the dynamic loader maps libraries */
	uint64_t dyn_off, dyn_size; /* PT_DYNAMIC, checked to lie in the file; 0 when none */
	uint8_t build_id[MAX_BUILD_ID];
	size_t build_id_len;
	struct seg segs[MAX_LOADS];
	size_t nr_segs;
	struct func *funcs;
	size_t nr_funcs;
	struct addr_ent *by_addr;
	size_t nr_addrs;
	uint32_t *by_name; /* indices into funcs */
	char *strtab[2];   /* .strtab and .dynstr, each NUL-terminated by us */
};

/* Parsing state beyond the result */
struct ctx {
	struct elf_file *e;
	const struct src *s;
	uint8_t *shdrs; /* the section header table, read once */
	uint64_t shnum;
	uint64_t note_budget; /* note bytes still to be read: forged files repeat notes */
};

/* A cursor that cannot pass its end */
struct rd {
	const uint8_t *p, *end;
};

static int rd_u32(struct rd *r, uint32_t *v)
{
	if (r->end - r->p < 4)
		return -EBADMSG;
	memcpy(v, r->p, 4);
	r->p += 4;
	return 0;
}

static int rd_skip(struct rd *r, uint64_t n)
{
	if ((uint64_t)(r->end - r->p) < n)
		return -EBADMSG;
	r->p += n;
	return 0;
}

/* Is [off, off + len) inside a file of size bytes? */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	uint64_t end;

	return !__builtin_add_overflow(off, len, &end) && end <= size;
}

static int src_read(const struct src *s, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	if (!in_file(off, len, s->size))
		return -EBADMSG;
	if (s->mem) {
		memcpy(buf, s->mem + off, len);
		return 0;
	}
	while (len) {
		ssize_t n = pread(s->fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EBADMSG; /* the file shrank under us */
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Read a table into a new buffer with `extra` zero bytes after it. */
static int src_dup(const struct src *s, uint64_t off, uint64_t len, size_t extra, uint8_t **out)
{
	uint8_t *buf;
	int err;

	*out = NULL;
	if (len > MAX_TABLE_BYTES)
		return -EFBIG;
	if (!in_file(off, len, s->size))
		return -EBADMSG;
	buf = malloc(len + extra ? len + extra : 1);
	if (!buf)
		return -ENOMEM;
	err = src_read(s, off, buf, len);
	if (err) {
		free(buf);
		return err;
	}
	memset(buf + len, 0, extra);
	*out = buf;
	return 0;
}

/* ---- notes ------------------------------------------------------------ */

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1); /* v < 2^32, a <= 8: no overflow */
}

static void scan_notes(struct elf_file *e, const uint8_t *buf, size_t len, uint64_t align)
{
	struct rd r = { buf, buf + len };

	align = align == 8 ? 8 : 4;
	for (int i = 0; i < MAX_NOTES; i++) {
		uint32_t namesz, descsz, type;
		const uint8_t *name, *desc;

		if (rd_u32(&r, &namesz) || rd_u32(&r, &descsz) || rd_u32(&r, &type))
			return;
		name = r.p;
		if (rd_skip(&r, align_up(namesz, align)))
			return;
		desc = r.p;
		if (rd_skip(&r, descsz))
			return;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && !memcmp(name, "GNU", 4) && descsz &&
		    descsz <= MAX_BUILD_ID) {
			memcpy(e->build_id, desc, descsz);
			e->build_id_len = descsz;
			return;
		}
		if (rd_skip(&r, align_up(descsz, align) - descsz))
			return;
	}
}

static int read_notes(struct ctx *c, uint64_t off, uint64_t len, uint64_t align)
{
	uint8_t *buf;
	int err;

	if (c->e->build_id_len || !len || !c->note_budget)
		return 0;
	if (len > MAX_NOTE_BYTES)
		len = MAX_NOTE_BYTES;
	if (len > c->note_budget)
		len = c->note_budget;
	c->note_budget -= len;
	err = src_dup(c->s, off, len, 0, &buf);
	if (err)
		return err;
	scan_notes(c->e, buf, len, align);
	free(buf);
	return 0;
}

/* ---- segments --------------------------------------------------------- */

static int read_segments(struct ctx *c, uint64_t phoff, uint64_t phnum)
{
	struct elf_file *e = c->e;
	uint8_t *phdrs;
	int err;

	err = src_dup(c->s, phoff, phnum * sizeof(Elf64_Phdr), 0, &phdrs);
	if (err)
		return err;
	for (uint64_t i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		struct seg *g;
		uint64_t end;

		memcpy(&ph, phdrs + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE) {
			/* a note segment outside the file is skipped, not fatal */
			if (in_file(ph.p_offset, ph.p_filesz, c->s->size)) {
				err = read_notes(c, ph.p_offset, ph.p_filesz, ph.p_align);
				if (err)
					goto out;
			}
			continue;
		}
		if (ph.p_type == PT_INTERP)
			e->interp = true;
		if (ph.p_type == PT_DYNAMIC && in_file(ph.p_offset, ph.p_filesz, c->s->size)) {
			e->dyn_off = ph.p_offset;
			e->dyn_size = ph.p_filesz;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (__builtin_add_overflow(ph.p_offset, ph.p_filesz, &end) ||
		    __builtin_add_overflow(ph.p_vaddr, ph.p_memsz, &end) ||
		    ph.p_filesz > ph.p_memsz) {
			err = -EBADMSG;
			goto out;
		}
		if (e->nr_segs == MAX_LOADS) {
			pr_debug("elf: more than %d PT_LOAD segments: ignoring the rest",
				 MAX_LOADS);
			continue;
		}
		g = &e->segs[e->nr_segs++];
		g->vaddr = ph.p_vaddr;
		g->memsz = ph.p_memsz;
		g->offset = ph.p_offset;
		g->filesz = ph.p_filesz;
		g->exec = ph.p_flags & PF_X;
	}
	err = 0;
out:
	free(phdrs);
	return err;
}

/* file offset -> vaddr through the PT_LOAD holding it (executable ones first) */
static int off_to_vaddr(const struct elf_file *e, uint64_t off, uint64_t *vaddr)
{
	const struct seg *hit = NULL;

	for (size_t i = 0; i < e->nr_segs; i++) {
		const struct seg *g = &e->segs[i];

		if (off < g->offset || off - g->offset >= g->filesz)
			continue;
		if (!hit || (g->exec && !hit->exec))
			hit = g;
	}
	if (!hit)
		return -ERANGE;
	*vaddr = off - hit->offset + hit->vaddr; /* < vaddr + memsz: no overflow */
	return 0;
}

static int vaddr_to_off(const struct elf_file *e, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < e->nr_segs; i++) {
		const struct seg *g = &e->segs[i];

		if (vaddr < g->vaddr || vaddr - g->vaddr >= g->filesz)
			continue;
		*off = vaddr - g->vaddr + g->offset;
		return 0;
	}
	return -ERANGE;
}

/* ---- symbols ---------------------------------------------------------- */

struct symtab {
	uint8_t *syms; /* raw Elf64_Sym array */
	uint64_t nr;
	char *str;	  /* string table plus our NUL */
	uint64_t str_len; /* without our NUL */
	uint16_t *versym; /* dynsym only, may be NULL; nr entries */
	const char **vernames;
	uint32_t nr_vernames; /* indexed by version index & 0x7fff */
	uint64_t budget;      /* name bytes still to be scanned */
	bool over_budget;     /* names overlap absurdly: a forged table */
	bool dynamic;
};

static void symtab_release(struct symtab *t)
{
	free(t->syms);
	free(t->str);
	free(t->versym);
	free(t->vernames);
	memset(t, 0, sizeof(*t));
}

static int get_shdr(const struct ctx *c, uint64_t i, Elf64_Shdr *sh)
{
	if (i >= c->shnum)
		return -EBADMSG;
	memcpy(sh, c->shdrs + i * sizeof(*sh), sizeof(*sh));
	return 0;
}

static const char *str_at(const struct symtab *t, uint64_t off)
{
	return off < t->str_len ? t->str + off : NULL;
}

/* Walk .gnu.version_d: version index -> name in the dynamic string table */
static int read_verdefs(struct symtab *t, const struct src *s, const Elf64_Shdr *sh)
{
	const char *names[MAX_VERDEFS]; /* 8 KiB */
	uint16_t ndx[MAX_VERDEFS];
	uint32_t n = 0, max = 0;
	uint8_t *buf;
	uint64_t off = 0;
	int err;

	if (sh->sh_size > MAX_NOTE_BYTES)
		return 0;
	err = src_dup(s, sh->sh_offset, sh->sh_size, 0, &buf);
	if (err)
		return err;
	for (uint32_t i = 0; i < MAX_VERDEFS && i < sh->sh_info; i++) {
		Elf64_Verdef vd;
		Elf64_Verdaux va;
		uint64_t aux;
		const char *name;

		if (!in_file(off, sizeof(vd), sh->sh_size))
			break;
		memcpy(&vd, buf + off, sizeof(vd));
		if (!__builtin_add_overflow(off, vd.vd_aux, &aux) && vd.vd_cnt &&
		    in_file(aux, sizeof(va), sh->sh_size) && !(vd.vd_flags & VER_FLG_BASE)) {
			memcpy(&va, buf + aux, sizeof(va));
			name = str_at(t, va.vda_name);
			if (name) {
				ndx[n] = vd.vd_ndx & 0x7fff;
				names[n++] = name;
				if (ndx[n - 1] > max)
					max = ndx[n - 1];
			}
		}
		if (!vd.vd_next || __builtin_add_overflow(off, vd.vd_next, &off))
			break;
	}
	free(buf);
	if (!n)
		return 0;
	t->vernames = calloc(max + 1, sizeof(*t->vernames));
	if (!t->vernames)
		return -ENOMEM;
	t->nr_vernames = max + 1;
	for (uint32_t i = 0; i < n; i++)
		t->vernames[ndx[i]] = names[i];
	return 0;
}

/* Load the symbol table in section idx, its strings and (dynsym) versions. */
static int read_symtab(struct symtab *t, const struct ctx *c, uint64_t idx)
{
	const struct src *s = c->s;
	Elf64_Shdr sh, strsh, vsh;
	int err;

	err = get_shdr(c, idx, &sh);
	if (err)
		return err;
	if (sh.sh_entsize != sizeof(Elf64_Sym))
		return -EBADMSG;
	err = get_shdr(c, sh.sh_link, &strsh);
	if (err)
		return err;
	if (strsh.sh_type != SHT_STRTAB)
		return -EBADMSG;
	t->nr = sh.sh_size / sizeof(Elf64_Sym);
	err = src_dup(s, sh.sh_offset, t->nr * sizeof(Elf64_Sym), 0, &t->syms);
	if (err)
		return err;
	err = src_dup(s, strsh.sh_offset, strsh.sh_size, 1, (uint8_t **)&t->str);
	if (err)
		return err;
	t->str_len = strsh.sh_size;
	if (!t->dynamic)
		return 0;
	/* versions are a refinement: a broken version section is ignored */
	for (uint64_t i = 0; i < c->shnum; i++) {
		err = get_shdr(c, i, &vsh);
		if (err)
			return err;
		if (vsh.sh_type == SHT_GNU_verdef && vsh.sh_link == sh.sh_link && !t->vernames) {
			err = read_verdefs(t, s, &vsh);
			if (err)
				return err;
		} else if (vsh.sh_type == SHT_GNU_versym && vsh.sh_link == idx && !t->versym &&
			   vsh.sh_size / 2 >= t->nr) {
			err = src_dup(s, vsh.sh_offset, t->nr * 2, 0, (uint8_t **)&t->versym);
			if (err)
				return err;
		}
	}
	return 0;
}

static unsigned int leading_underscores(const char *name)
{
	unsigned int n = 0;

	while (name[n] == '_' && n < 3)
		n++;
	return n;
}

/* Fill f from sym; false when sym is not a defined function. */
static bool make_func(struct symtab *t, uint64_t i, struct func *f)
{
	unsigned int type, bind;
	bool hidden = false, local, weak;
	const char *at;
	Elf64_Sym sym;
	uint64_t room;
	size_t len;

	memcpy(&sym, t->syms + i * sizeof(sym), sizeof(sym));
	type = ELF64_ST_TYPE(sym.st_info);
	bind = ELF64_ST_BIND(sym.st_info);
	if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
	    !sym.st_value)
		return false;
	f->name = str_at(t, sym.st_name);
	if (!f->name || !f->name[0])
		return false;
	/*
	 * Symbols may all point into one long unterminated string: scanning
	 * stays linear in the table sizes, and a table that would take more is
	 * refused.  str[str_len] is our NUL, so name[len] can be read.
	 */
	room = t->str_len - sym.st_name;
	len = strnlen(f->name, room < t->budget ? room : t->budget);
	t->budget -= len;
	if (f->name[len]) {
		t->over_budget = true;
		return false;
	}
	f->addr = sym.st_value;
	f->size = sym.st_size;
	f->version = NULL;
	at = memchr(f->name, '@', len);
	f->base_len = at ? (uint32_t)(at - f->name) : (uint32_t)len;
	if (!f->base_len || len > UINT32_MAX)
		return false;
	if (at) { /* .symtab spells versions out: "memcpy@GLIBC_2.2.5", "malloc@@GLIBC_2.2.5" */
		hidden = at[1] != '@';
		f->version = at + (hidden ? 1 : 2);
	} else if (t->versym) {
		uint16_t v = t->versym[i];

		hidden = v & 0x8000;
		v &= 0x7fff;
		if (v < t->nr_vernames)
			f->version = t->vernames[v];
	}
	local = bind == STB_LOCAL;
	weak = bind == STB_WEAK;
	/*
	 * Several names for one address: a public default-version alias beats a
	 * compat one, global beats local, "malloc" beats "__libc_malloc", and a
	 * global one beats a weak one only after that ("calloc" is weak in libc).
	 */
	f->arank = hidden << 12 | local << 11 | leading_underscores(f->name) << 8 | weak << 7 |
		   !t->dynamic << 6;
	/* Several symbols for one name: default version, global, exported. */
	f->nrank = hidden << 4 | (local ? 2 : weak ? 1 : 0) << 2 | !f->version << 1 | !t->dynamic;
	return true;
}

static int add_funcs(struct elf_file *e, struct symtab *t)
{
	uint64_t n = 0;
	struct func f, *tmp;

	/* two passes; generous for real tables (each name read a few times) */
	t->budget = 16 * t->str_len + 512 * t->nr + (1u << 20);
	for (uint64_t i = 1; i < t->nr && !t->over_budget; i++)
		n += make_func(t, i, &f);
	if (t->over_budget)
		return -EFBIG;
	if (!n)
		return 0;
	if (n + e->nr_funcs > MAX_SYMS)
		return -EFBIG;
	tmp = realloc(e->funcs, (n + e->nr_funcs) * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	e->funcs = tmp;
	for (uint64_t i = 1; i < t->nr && e->nr_funcs < MAX_SYMS; i++)
		if (make_func(t, i, &f))
			e->funcs[e->nr_funcs++] = f;
	return t->over_budget ? -EFBIG : 0;
}

static int cmp_base(const struct func *a, const struct func *b)
{
	uint32_t n = a->base_len < b->base_len ? a->base_len : b->base_len;
	int c = memcmp(a->name, b->name, n);

	if (c)
		return c;
	return (a->base_len > b->base_len) - (a->base_len < b->base_len);
}

static int cmp_by_addr(const void *pa, const void *pb)
{
	const struct func *a = pa, *b = pb;
	int c;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->arank != b->arank)
		return a->arank < b->arank ? -1 : 1;
	if (a->base_len != b->base_len)
		return a->base_len < b->base_len ? -1 : 1;
	c = strcmp(a->name, b->name);
	if (c)
		return c;
	if (!a->version != !b->version)
		return a->version ? -1 : 1;
	return a->version ? strcmp(a->version, b->version) : 0;
}

static int cmp_by_name(const void *pa, const void *pb, void *funcs)
{
	const struct func *a = (const struct func *)funcs + *(const uint32_t *)pa;
	const struct func *b = (const struct func *)funcs + *(const uint32_t *)pb;
	int c = cmp_base(a, b);

	if (c)
		return c;
	if (a->nrank != b->nrank)
		return a->nrank < b->nrank ? -1 : 1;
	return *(const uint32_t *)pa < *(const uint32_t *)pb ? -1 : 1;
}

static bool same_version(const struct func *a, const struct func *b)
{
	return !b->version || (a->version && !strcmp(a->version, b->version));
}

/* Sort by address, drop repeats (.symtab and .dynsym both list most), build indexes. */
static int index_funcs(struct elf_file *e)
{
	size_t n = 0, k = 0;

	if (!e->nr_funcs)
		return 0;
	qsort(e->funcs, e->nr_funcs, sizeof(*e->funcs), cmp_by_addr);
	for (size_t i = 0; i < e->nr_funcs; i++) {
		const struct func *f = &e->funcs[i];
		bool dup = false;

		/* an unversioned or same-version twin of a kept symbol at the same address */
		for (size_t j = n; j > 0 && n - j < DEDUP_SCAN && e->funcs[j - 1].addr == f->addr;
		     j--) {
			if (!cmp_base(&e->funcs[j - 1], f) && same_version(&e->funcs[j - 1], f)) {
				dup = true;
				break;
			}
		}
		if (dup)
			continue;
		e->funcs[n++] = *f;
	}
	e->nr_funcs = n;

	e->by_addr = malloc(n * sizeof(*e->by_addr));
	e->by_name = malloc(n * sizeof(*e->by_name));
	if (!e->by_addr || !e->by_name)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct addr_ent *a;

		e->by_name[i] = i;
		if (k && e->by_addr[k - 1].addr == e->funcs[i].addr) {
			a = &e->by_addr[k - 1];
			if (e->funcs[i].size > a->end)
				a->end = e->funcs[i].size; /* end holds the size until below */
			continue;
		}
		a = &e->by_addr[k++];
		a->addr = e->funcs[i].addr;
		a->end = e->funcs[i].size;
		a->func = i;
	}
	e->nr_addrs = k;
	for (size_t i = 0; i < k; i++) {
		struct addr_ent *a = &e->by_addr[i];

		/*
		 * Unsized (crt stubs, asm without .size): only its first byte,
		 * so "a function starts here" still holds. Stretching it to the
		 * next symbol would name what may be a stripped static function.
		 */
		if (!a->end)
			a->end = 1;
		if (__builtin_add_overflow(a->addr, a->end, &a->end))
			a->end = UINT64_MAX;
	}
	qsort_r(e->by_name, n, sizeof(*e->by_name), cmp_by_name, e->funcs);
	return 0;
}

static int find_sections(struct ctx *c, uint64_t *symtab, uint64_t *dynsym)
{
	*symtab = *dynsym = 0;
	for (uint64_t i = 1; i < c->shnum; i++) {
		Elf64_Shdr sh;
		int err;

		err = get_shdr(c, i, &sh);
		if (err)
			return err;
		/* a section past the end means a truncated or forged file */
		if (sh.sh_type != SHT_NOBITS && !in_file(sh.sh_offset, sh.sh_size, c->s->size))
			return -EBADMSG;
		if (sh.sh_type == SHT_SYMTAB && !*symtab)
			*symtab = i;
		else if (sh.sh_type == SHT_DYNSYM && !*dynsym)
			*dynsym = i;
		else if (sh.sh_type == SHT_NOTE) {
			err = read_notes(c, sh.sh_offset, sh.sh_size, sh.sh_addralign);
			if (err)
				return err;
		}
	}
	return 0;
}

static int load_symbols(const struct ctx *c, uint64_t idx, bool dynamic)
{
	struct elf_file *e = c->e;
	struct symtab t = { .dynamic = dynamic };
	int err;

	if (!idx)
		return 0;
	err = read_symtab(&t, c, idx);
	if (!err)
		err = add_funcs(e, &t);
	if (!err && e->nr_funcs) {
		e->strtab[dynamic] = t.str; /* names point into it */
		t.str = NULL;
	}
	symtab_release(&t);
	return err;
}

static int parse(struct elf_file *e, const struct src *s)
{
	struct ctx c = { .e = e, .s = s, .note_budget = MAX_NOTE_TOTAL };
	uint64_t phnum, symtab, dynsym;
	Elf64_Shdr sh0;
	Elf64_Ehdr eh;
	int err;

	if (s->size < EI_NIDENT)
		return -ENOEXEC;
	err = src_read(s, 0, eh.e_ident, EI_NIDENT);
	if (err)
		return err;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC;
	err = src_read(s, 0, &eh, sizeof(eh));
	if (err)
		return err;
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return -ENOEXEC;
	e->dyn = eh.e_type == ET_DYN;

	phnum = eh.e_phnum;
	if (eh.e_shoff) {
		if (eh.e_shentsize != sizeof(Elf64_Shdr))
			return -EBADMSG;
		err = src_read(s, eh.e_shoff, &sh0, sizeof(sh0));
		if (err)
			return err;
		c.shnum = eh.e_shnum ? eh.e_shnum : sh0.sh_size; /* extended numbering */
		if (phnum == PN_XNUM)
			phnum = sh0.sh_info;
		if (c.shnum > MAX_SHNUM)
			return -EFBIG;
		err = src_dup(s, eh.e_shoff, c.shnum * sizeof(Elf64_Shdr), 0, &c.shdrs);
		if (err)
			return err;
	}
	if (phnum > MAX_PHNUM) {
		err = -EFBIG;
		goto out;
	}
	if (phnum) {
		err = -EBADMSG;
		if (eh.e_phentsize != sizeof(Elf64_Phdr))
			goto out;
		err = read_segments(&c, eh.e_phoff, phnum);
		if (err)
			goto out;
	}
	err = find_sections(&c, &symtab, &dynsym);
	if (!err)
		err = load_symbols(&c, symtab, false);
	if (!err)
		err = load_symbols(&c, dynsym, true);
	if (!err)
		err = index_funcs(e);
out:
	free(c.shdrs);
	return err;
}

/* ---- public API ------------------------------------------------------- */

static struct elf_file *elf_file_new(void)
{
	struct elf_file *e = calloc(1, sizeof(*e));

	if (e)
		e->fd = -1;
	return e;
}

void elf_file__close(struct elf_file *e)
{
	if (!e)
		return;
	if (e->fd >= 0)
		close(e->fd);
	free(e->mem);
	free(e->funcs);
	free(e->by_addr);
	free(e->by_name);
	free(e->strtab[0]);
	free(e->strtab[1]);
	free(e);
}

static int open_from_fd(int fd, bool keep, struct elf_file **out)
{
	struct elf_file *e;
	struct src s = { .fd = fd };
	struct stat st;
	int err;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOEXEC;
	s.size = st.st_size;
	e = elf_file_new();
	if (!e)
		return -ENOMEM;
	e->size = s.size;
	err = parse(e, &s);
	if (err) {
		elf_file__close(e);
		return err;
	}
	if (keep)
		e->fd = fd;
	*out = e;
	return 0;
}

int elf_file__open_fd(int fd, struct elf_file **out)
{
	*out = NULL;
	return open_from_fd(fd, false, out);
}

int elf_file__open(const char *path, struct elf_file **out)
{
	char self[32];
	struct stat st;
	int pfd, fd, err;

	*out = NULL;
	/*
	 * Look before opening: a FIFO would block, and opening some devices has
	 * effects (a watchdog starts counting).  O_PATH opens nothing; the real
	 * open goes through the checked descriptor, so the file cannot change.
	 */
	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &st)) {
		err = -errno;
		close(pfd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(pfd);
		return -ENOEXEC;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	err = -errno;
	close(pfd);
	if (fd < 0)
		return err;
	err = open_from_fd(fd, true, out);
	if (err)
		close(fd);
	return err;
}

int elf_file__open_mem(const void *buf, size_t len, struct elf_file **out)
{
	struct elf_file *e;
	struct src s;
	int err;

	*out = NULL;
	if (!buf && len)
		return -EINVAL;
	e = elf_file_new();
	if (!e)
		return -ENOMEM;
	e->mem = malloc(len ? len : 1);
	if (!e->mem) {
		free(e);
		return -ENOMEM;
	}
	if (len)
		memcpy(e->mem, buf, len);
	e->size = len;
	s = (struct src){ .mem = e->mem, .fd = -1, .size = len };
	err = parse(e, &s);
	if (err) {
		elf_file__close(e);
		return err;
	}
	*out = e;
	return 0;
}

size_t elf_file__build_id(const struct elf_file *e, const uint8_t **id)
{
	*id = e && e->build_id_len ? e->build_id : NULL;
	return e ? e->build_id_len : 0;
}

int elf_file__dynamic(const struct elf_file *e, uint64_t *off, uint64_t *size)
{
	if (!e || !e->dyn_size)
		return -ENOENT;
	*off = e->dyn_off;
	*size = e->dyn_size;
	return 0;
}

int elf_file__vaddr_to_offset(const struct elf_file *e, uint64_t vaddr, uint64_t *file_off)
{
	return e ? vaddr_to_off(e, vaddr, file_off) : -ERANGE;
}

int elf_file__exec_offset(const struct elf_file *e, uint64_t *file_off)
{
	for (size_t i = 0; e && i < e->nr_segs; i++) {
		if (e->segs[i].exec) {
			*file_off = e->segs[i].offset;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file__exec_range(const struct elf_file *e, uint64_t file_off, uint64_t *seg_off,
			 uint64_t *seg_size)
{
	for (size_t i = 0; e && i < e->nr_segs; i++) {
		const struct seg *g = &e->segs[i];

		if (g->exec && file_off >= g->offset && file_off - g->offset < g->filesz &&
		    g->offset + g->filesz <= e->size) {
			*seg_off = g->offset;
			*seg_size = g->filesz;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file__offset_to_vaddr(const struct elf_file *e, uint64_t file_off, uint64_t *vaddr)
{
	return e ? off_to_vaddr(e, file_off, vaddr) : -ERANGE;
}

int elf_file__has_interp(const struct elf_file *e)
{
	return e && e->interp;
}

int elf_file__is_dyn(const struct elf_file *e)
{
	return e && e->dyn;
}

size_t elf_file__nr_funcs(const struct elf_file *e)
{
	return e ? e->nr_funcs : 0;
}

const char *elf_file__func_name(const struct elf_file *e, size_t i)
{
	return e && i < e->nr_funcs ? e->funcs[i].name : NULL;
}

int elf_file__func_offset(const struct elf_file *e, const char *name, uint64_t *file_off)
{
	const char *at, *ver = NULL;
	struct func key = { .name = name };
	bool want_default = false;
	size_t lo = 0, hi;

	if (!e || !name)
		return -ENOENT;
	at = strchr(name, '@');
	key.base_len = at ? (uint32_t)(at - name) : (uint32_t)strlen(name);
	if (at) {
		want_default = at[1] == '@';
		ver = at + (want_default ? 2 : 1);
	}
	hi = e->nr_funcs;
	while (lo < hi) { /* first symbol whose base name is >= name */
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_base(&e->funcs[e->by_name[mid]], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* in preference order; a versioned query checks the version too */
	for (; lo < e->nr_funcs; lo++) {
		const struct func *f = &e->funcs[e->by_name[lo]];

		if (cmp_base(f, &key))
			break;
		if (ver &&
		    (!f->version || strcmp(f->version, ver) || (want_default && f->nrank >> 4)))
			continue;
		return vaddr_to_off(e, f->addr, file_off);
	}
	return -ENOENT;
}

const char *elf_file__func_at(const struct elf_file *e, uint64_t file_off, uint64_t *delta)
{
	size_t lo = 0, hi;
	uint64_t vaddr;

	if (!e || off_to_vaddr(e, file_off, &vaddr))
		return NULL;
	hi = e->nr_addrs;
	while (lo < hi) { /* first entry above vaddr */
		size_t mid = lo + (hi - lo) / 2;

		if (e->by_addr[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* the nearest symbol below, or a sized one enclosing it */
	for (size_t i = lo, n = 0; i > 0 && n < WALK_BACK; i--, n++) {
		const struct addr_ent *a = &e->by_addr[i - 1];

		if (vaddr < a->end) {
			if (delta)
				*delta = vaddr - a->addr;
			return e->funcs[a->func].name;
		}
	}
	return NULL;
}

int elf_file__read_at(const struct elf_file *e, uint64_t file_off, void *buf, size_t len)
{
	struct src s;

	if (!e)
		return -EINVAL;
	if (!e->mem && e->fd < 0)
		return -EBADF;
	if (!in_file(file_off, len, e->size))
		return -ERANGE;
	s = (struct src){ .mem = e->mem, .fd = e->fd, .size = e->size };
	return src_read(&s, file_off, buf, len);
}

/* The named defined symbol in the table at section idx, any type. */
static int find_symbol(const struct ctx *c, uint64_t idx, bool dynamic, const char *name,
		       uint64_t *vaddr)
{
	struct symtab t = { .dynamic = dynamic };
	size_t want = strlen(name);
	int err;

	if (!idx)
		return -ENOENT;
	err = read_symtab(&t, c, idx);
	for (uint64_t i = 1; !err && i < t.nr; i++) {
		Elf64_Sym sym;
		const char *n;

		memcpy(&sym, t.syms + i * sizeof(sym), sizeof(sym));
		if (sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		n = str_at(&t, sym.st_name);
		/* str[str_len] is our NUL: comparing want + 1 bytes stays inside */
		if (n && t.str_len - sym.st_name >= want && !memcmp(n, name, want + 1)) {
			*vaddr = sym.st_value;
			symtab_release(&t);
			return 0;
		}
	}
	symtab_release(&t);
	return err ? err : -ENOENT;
}

int elf_file__symbol_vaddr(const struct elf_file *e, const char *name, uint64_t *vaddr)
{
	struct src s = { .mem = e->mem, .fd = e->fd, .size = e->size };
	struct ctx c = { .e = (struct elf_file *)e, .s = &s };
	uint64_t symtab, dynsym;
	Elf64_Shdr sh0;
	Elf64_Ehdr eh;
	int err;

	if (!e->mem && e->fd < 0)
		return -EBADF;
	err = src_read(&s, 0, &eh, sizeof(eh));
	if (err)
		return err;
	if (!eh.e_shoff)
		return -ENOENT;
	if (eh.e_shentsize != sizeof(Elf64_Shdr))
		return -EBADMSG;
	err = src_read(&s, eh.e_shoff, &sh0, sizeof(sh0));
	if (err)
		return err;
	c.shnum = eh.e_shnum ? eh.e_shnum : sh0.sh_size;
	if (c.shnum > MAX_SHNUM)
		return -EFBIG;
	err = src_dup(&s, eh.e_shoff, c.shnum * sizeof(Elf64_Shdr), 0, &c.shdrs);
	if (err)
		return err;
	/* only the symbol tables: notes were read when the file was opened */
	symtab = dynsym = 0;
	for (uint64_t i = 1; i < c.shnum; i++) {
		Elf64_Shdr sh;

		get_shdr(&c, i, &sh);
		if (sh.sh_type == SHT_SYMTAB && !symtab)
			symtab = i;
		else if (sh.sh_type == SHT_DYNSYM && !dynsym)
			dynsym = i;
	}
	err = find_symbol(&c, dynsym, true, name, vaddr);
	if (err == -ENOENT)
		err = find_symbol(&c, symtab, false, name, vaddr);
	free(c.shdrs);
	return err;
}
