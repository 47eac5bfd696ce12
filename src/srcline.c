// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Source lines and inline chains from DWARF with libdw, for files we do not
 * trust.
 *
 * libdw checks offsets against section ends, but it trusts the shape of the
 * DIE tree, and it opens files on its own:
 *  - dwarf_siblingof() follows DW_AT_sibling, and walks a DIE's subtree when
 *    it has none.  A sibling pointing back loops forever in older libdw (0.188
 *    refuses it); one pointing forward but not at the end of its DIE's
 *    subtree makes libdw read from the middle of a DIE, or skip DIEs.  So
 *    before libdw walks a unit, check_unit() parses its DIE stream with a
 *    cursor of ours, with libdw's own reading of every form, and proves that
 *    each DW_AT_sibling names exactly where its DIE's subtree ends: every walk
 *    then moves forward, ends, and stays on DIE boundaries, whatever the libdw
 *    version.  A unit that fails is never walked.
 *  - a .gnu_debugaltlink names a file libdw would open by path (a FIFO there
 *    blocks it): such a file gets its supplementary file from the caller, or
 *    a stand-in with nothing in it, before any name is read; skeleton and
 *    split units (whose .dwo libdw would open) are never touched, and DWARF
 *    references are followed by hand, 16 deep at most, only into units we
 *    indexed.
 * Compressed sections are sized before libdw inflates them; a string is used
 * only if it ends inside its section; range lists are read 4096 entries deep
 * at most.  Work is counted per file in DIEs and nanoseconds: past the bound,
 * lookups find nothing (and say so once with -vv).
 *
 * Address -> unit: the units' ranges, sorted, built at open.  Unit ->
 * function: its DW_TAG_subprogram ranges (namespaces included), sorted, built
 * when an address first falls in the unit.  Then the function's children are
 * walked down to the innermost DW_TAG_inlined_subroutine holding the address.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>

#include "drip/demangle.h"
#include "drip/log.h"
#include "drip/srcline.h"
#include "drip/u64map.h"

#define MAX_IMAGE	 (1ull << 30) /* bytes of a file read whole */
#define MAX_INFLATED	 (1ull << 30) /* bytes all compressed debug sections may inflate to */
#define INFLATE_RATIO	 32	      /* ...and no more than this times the file, */
#define INFLATE_FREE	 (64u << 20)  /* ...plus this */
#define MAX_SECTIONS	 (1u << 16)
#define MAX_UNITS	 (1u << 18)
#define MAX_UNIT_RANGES	 (1u << 16)	     /* ranges kept per unit */
#define MAX_RANGES	 (1u << 21)	     /* ranges kept per file */
#define MAX_DIE_RANGES	 4096		     /* range-list entries read per DIE */
#define MAX_FNS		 (1u << 21)	     /* function ranges kept per unit */
#define MAX_ABBREVS	 (1u << 16)	     /* per abbreviation table */
#define MAX_ABBREV_ATTRS 512		     /* per abbreviation */
#define MAX_DEPTH	 1024		     /* DIE nesting check_unit accepts */
#define MAX_NS_DEPTH	 64		     /* namespaces searched for functions */
#define MAX_CHAIN	 64		     /* nested inlined calls at one address */
#define MAX_REF_CHAIN	 16		     /* DW_AT_abstract_origin/specification hops */
#define FILE_DIES	 (1ull << 27)	     /* DIEs visited per file, all work together */
#define FILE_NS		 (5ull * 1000000000) /* time spent per file */
#define QUERY_DIES	 (1u << 18)	     /* DIEs visited by one lookup's walk */
#define BACK_SCAN	 16		     /* overlapping ranges looked through */
#define MAX_SYMS	 (1u << 22)	     /* .symtab entries read */
#define NO_SIB		 UINT64_MAX

enum unit_state { UNIT_NEW, UNIT_READY, UNIT_BAD };

struct fn {
	uint64_t lo, hi;
	Dwarf_Off die;
};

struct unit {
	uint64_t off, end; /* [header, next unit) in .debug_info */
	uint64_t die;	   /* the unit DIE, right after the header */
	uint64_t abbrev;   /* its abbreviation table in .debug_abbrev */
	uint8_t version, addr_size, offset_size, state;
	struct fn *fns;
	size_t nr_fns;
};

struct arange {
	uint64_t lo, hi;
	uint32_t unit;
};

struct sec {
	const uint8_t *p;
	size_t len;
};

struct sym {
	uint64_t lo, hi;
	const char *name; /* in the image */
	uint8_t rank;	  /* which of several names at lo to show: lower is better */
};

struct srcline {
	uint8_t *image; /* the file, plus a NUL of ours */
	size_t len;
	Elf *elf;
	Dwarf *dw;
	struct srcline *alt; /* supplementary file (dwz), given by the caller */
	uint8_t *stand_in_img;
	Elf *stand_in_elf;
	Dwarf *stand_in;
	const uint8_t *build_id;
	size_t build_id_len;
	const char *link; /* .gnu_debuglink */
	uint32_t link_crc;
	const char *alt_name; /* .gnu_debugaltlink */
	const uint8_t *alt_id;
	size_t alt_id_len;
	struct sec info, abbrev;
	struct sec strs[3]; /* where a string may lie: .debug_info, .debug_str, .debug_line_str */
	struct unit *units; /* in .debug_info order */
	size_t nr_units;
	struct arange *ranges; /* sorted by lo */
	size_t nr_ranges;
	struct u64map hits; /* addr + 1 -> first << 8 | count, in lines[] */
	struct sym_line *lines;
	size_t nr_lines, cap_lines;
	struct u64map names; /* linkage name -> its demangled form (0: none) */
	char **owned;
	size_t nr_owned, cap_owned;
	uint64_t dies;	/* DIEs visited */
	uint64_t ns;	/* time spent before this call */
	uint64_t t0;	/* this call's start */
	uint64_t query; /* DIEs this lookup may still visit */
	bool spent;
	struct sym *syms; /* sized .symtab functions, sorted by lo; read when first asked */
	size_t nr_syms;
	bool syms_read;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Count n DIEs of work; false once this file's budget is gone. */
static bool spend(struct srcline *d, uint64_t n)
{
	if (d->spent)
		return false;
	d->dies += n;
	if (d->dies > FILE_DIES || ((d->dies & 255) < n && d->ns + (now_ns() - d->t0) > FILE_NS)) {
		d->spent = true;
		pr_debug("symbolize: DWARF work bound reached after %llu DIEs: no more lines",
			 (unsigned long long)d->dies);
	}
	return !d->spent;
}

static void begin_work(struct srcline *d)
{
	d->t0 = now_ns();
}

static void end_work(struct srcline *d)
{
	d->ns += now_ns() - d->t0;
	if (d->ns > FILE_NS && !d->spent) {
		d->spent = true;
		pr_debug("symbolize: DWARF time bound reached: no more lines");
	}
}

/* ---- a cursor that cannot pass its end -------------------------------- */

struct rd {
	const uint8_t *p, *end;
};

static bool rd_skip(struct rd *r, uint64_t n)
{
	if ((uint64_t)(r->end - r->p) < n)
		return false;
	r->p += n;
	return true;
}

static bool rd_un(struct rd *r, unsigned int n, uint64_t *v)
{
	uint64_t x = 0;

	if ((size_t)(r->end - r->p) < n)
		return false;
	memcpy(&x, r->p, n); /* little-endian host, little-endian DWARF */
	r->p += n;
	*v = x;
	return true;
}

/*
 * LEB128 of at most 10 bytes, the most a 64-bit value takes (a constant
 * like 0x8000000000000001 needs all 10): libdw reads at most 10 too, so
 * our reading and its never disagree on a length. Longer ones are refused.
 */
static bool rd_uleb(struct rd *r, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned int i = 0; i < 10; i++) {
		uint8_t b;

		if (r->p >= r->end)
			return false;
		b = *r->p++;
		x |= (uint64_t)(b & 0x7f) << (7 * i); /* the 10th byte: only bit 63 fits */
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* ---- opening ------------------------------------------------------------ */

static int read_whole(int fd, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t n = 0;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOEXEC;
	if ((uint64_t)st.st_size > MAX_IMAGE)
		return -EFBIG;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (n < (size_t)st.st_size) {
		ssize_t k = pread(fd, buf + n, (size_t)st.st_size - n, (off_t)n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			free(buf);
			return k < 0 ? -errno : -EBADMSG; /* it shrank under us */
		}
		n += k;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

/* Does [p, p + n) lie in the image? */
static bool in_image(const struct srcline *d, const void *p, size_t n)
{
	const uint8_t *b = p;

	return b >= d->image && b <= d->image + d->len && n <= (size_t)(d->image + d->len - b);
}

static const char *scn_name(Elf *elf, size_t shstrndx, const GElf_Shdr *sh)
{
	const char *name = elf_strptr(elf, shstrndx, sh->sh_name);

	return name ? name : "";
}

static bool is_debug(const char *name)
{
	return !strncmp(name, ".debug_", 7) || !strncmp(name, ".zdebug_", 8);
}

/*
 * Size what libdw would inflate, and find .debug_info.  false: no DWARF to
 * open (none, or compressed sections claiming more than we allow).
 */
static bool check_sections(struct srcline *d)
{
	uint64_t inflated = 0, cap = INFLATE_FREE + (uint64_t)INFLATE_RATIO * d->len;
	bool info = false;
	Elf_Scn *scn = NULL;
	size_t shstrndx, n = 0;

	if (cap > MAX_INFLATED)
		cap = MAX_INFLATED;
	if (elf_getshdrstrndx(d->elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(d->elf, scn)) && n++ < MAX_SECTIONS) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = scn_name(d->elf, shstrndx, &sh);
		if (!is_debug(name))
			continue;
		if (sh.sh_flags & SHF_COMPRESSED) {
			GElf_Chdr ch;

			if (!gelf_getchdr(scn, &ch))
				return false;
			inflated += ch.ch_size;
		} else if (!strncmp(name, ".z", 2)) {
			ssize_t sz = dwelf_scn_gnu_compressed_size(scn);

			if (sz < 0)
				return false;
			inflated += (uint64_t)sz;
		}
		if (inflated > cap) {
			pr_debug("symbolize: compressed DWARF claims %llu bytes: not read",
				 (unsigned long long)inflated);
			return false;
		}
		if (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info"))
			info = sh.sh_size > 0;
	}
	return info && n <= MAX_SECTIONS;
}

/* The data libdw reads for a section (inflated by dwarf_begin_elf), by name. */
static struct sec section(const struct srcline *d, const char *want)
{
	struct sec s = { 0 };
	Elf_Scn *scn = NULL;
	size_t shstrndx, n = 0;

	if (elf_getshdrstrndx(d->elf, &shstrndx))
		return s;
	while ((scn = elf_nextscn(d->elf, scn)) && n++ < MAX_SECTIONS) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = scn_name(d->elf, shstrndx, &sh);
		/* ".zdebug_info" is ".debug_info" (GNU compression) */
		if (strcmp(name, want) && (strncmp(name, ".z", 2) || strcmp(name + 2, want + 1)))
			continue;
		data = elf_getdata(scn, NULL);
		if (data && data->d_buf) {
			s.p = data->d_buf;
			s.len = data->d_size;
		}
		return s;
	}
	return s;
}

/*
 * A file with one empty unit, given to libdw as the supplementary file of a
 * file whose own we do not have: libdw then never looks for one by path.
 */
static int make_stand_in(struct srcline *d)
{
	static const uint8_t abbrev[] = { 1, DW_TAG_compile_unit, DW_CHILDREN_no, 0, 0, 0 };
	static const uint8_t info[] = { 8, 0, 0, 0, 4, 0, 0, 0, 0, 0, 8, 1 };
	static const char names[] = "\0.debug_info\0.debug_abbrev\0.shstrtab";
	size_t off_info = sizeof(Elf64_Ehdr), off_abbrev = off_info + sizeof(info);
	size_t off_names = off_abbrev + sizeof(abbrev);
	size_t shoff = (off_names + sizeof(names) + 7) & ~(size_t)7;
	size_t len = shoff + 4 * sizeof(Elf64_Shdr);
	Elf64_Ehdr *eh;
	Elf64_Shdr *sh;

	d->stand_in_img = calloc(1, len);
	if (!d->stand_in_img)
		return -ENOMEM;
	eh = (Elf64_Ehdr *)d->stand_in_img;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_shoff = shoff;
	eh->e_ehsize = sizeof(*eh);
	eh->e_shentsize = sizeof(*sh);
	eh->e_shnum = 4;
	eh->e_shstrndx = 3;
	memcpy(d->stand_in_img + off_info, info, sizeof(info));
	memcpy(d->stand_in_img + off_abbrev, abbrev, sizeof(abbrev));
	memcpy(d->stand_in_img + off_names, names, sizeof(names));
	sh = (Elf64_Shdr *)(d->stand_in_img + shoff);
	sh[1] = (Elf64_Shdr){ .sh_name = 1,
			      .sh_type = SHT_PROGBITS,
			      .sh_offset = off_info,
			      .sh_size = sizeof(info),
			      .sh_addralign = 1 };
	sh[2] = (Elf64_Shdr){ .sh_name = 13,
			      .sh_type = SHT_PROGBITS,
			      .sh_offset = off_abbrev,
			      .sh_size = sizeof(abbrev),
			      .sh_addralign = 1 };
	sh[3] = (Elf64_Shdr){ .sh_name = 27,
			      .sh_type = SHT_STRTAB,
			      .sh_offset = off_names,
			      .sh_size = sizeof(names),
			      .sh_addralign = 1 };
	d->stand_in_elf = elf_memory((char *)d->stand_in_img, len);
	d->stand_in = d->stand_in_elf ? dwarf_begin_elf(d->stand_in_elf, DWARF_C_READ, NULL) : NULL;
	return d->stand_in ? 0 : -ENOMEM;
}

/*
 * The unit header at off, read by us: it must agree with libdw on where the
 * unit DIE starts.  false: not a unit we use.
 */
static bool read_header(const struct srcline *d, struct unit *u)
{
	struct rd r = { d->info.p + u->off, d->info.p + d->info.len };
	uint64_t len, version, type = DW_UT_compile, abbrev, asz, skip = 0;
	unsigned int osz = 4;

	if (u->off >= d->info.len || !rd_un(&r, 4, &len))
		return false;
	if (len == 0xffffffff) {
		osz = 8;
		if (!rd_un(&r, 8, &len))
			return false;
	} else if (len >= 0xfffffff0) {
		return false;
	}
	if ((uint64_t)(r.end - r.p) < len)
		return false;
	u->end = (uint64_t)(r.p - d->info.p) + len;
	r.end = r.p + len;
	if (!rd_un(&r, 2, &version) || version < 2 || version > 5)
		return false;
	if (version == 5) {
		if (!rd_un(&r, 1, &type) || !rd_un(&r, 1, &asz) || !rd_un(&r, osz, &abbrev))
			return false;
		if (type == DW_UT_skeleton || type == DW_UT_split_compile)
			skip = 8;
		else if (type == DW_UT_type || type == DW_UT_split_type)
			skip = 8 + osz;
	} else if (!rd_un(&r, osz, &abbrev) || !rd_un(&r, 1, &asz)) {
		return false;
	}
	if (!rd_skip(&r, skip) || (asz != 4 && asz != 8))
		return false;
	if ((uint64_t)(r.p - d->info.p) != u->die)
		return false;
	u->version = version;
	u->addr_size = asz;
	u->offset_size = osz;
	u->abbrev = abbrev;
	return type == DW_UT_compile || type == DW_UT_partial;
}

static int cmp_range(const void *a, const void *b)
{
	const struct arange *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Units (compile and partial, nothing split or skeleton) and their address ranges. */
static void index_units(struct srcline *d)
{
	Dwarf_CU *cu = NULL, *next;
	size_t cap = 0, cap_r = 0;

	while (d->nr_units < MAX_UNITS && spend(d, 1)) {
		Dwarf_Half version;
		uint8_t type;
		Dwarf_Die cudie;
		struct unit u = { 0 };
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;

		if (dwarf_get_units(d->dw, cu, &next, &version, &type, &cudie, NULL))
			break; /* the end, or a unit libdw cannot read: what follows is lost */
		cu = next;
		if (type != DW_UT_compile && type != DW_UT_partial)
			continue;
		u.die = dwarf_dieoffset(&cudie);
		if (u.die == (Dwarf_Off)-1 || u.die < dwarf_cuoffset(&cudie))
			continue;
		u.off = u.die - dwarf_cuoffset(&cudie);
		if (!read_header(d, &u))
			continue;
		if (d->nr_units == cap) {
			struct unit *n = realloc(d->units, (cap ? 2 * cap : 64) * sizeof(*n));

			if (!n)
				break;
			d->units = n;
			cap = cap ? 2 * cap : 64;
		}
		d->units[d->nr_units] = u;
		for (unsigned int k = 0; k < MAX_UNIT_RANGES && d->nr_ranges < MAX_RANGES; k++) {
			off = dwarf_ranges(&cudie, off, &base, &lo, &hi);
			if (off <= 0)
				break;
			if (lo >= hi)
				continue;
			if (d->nr_ranges == cap_r) {
				struct arange *n =
					realloc(d->ranges, (cap_r ? 2 * cap_r : 64) * sizeof(*n));

				if (!n)
					break;
				d->ranges = n;
				cap_r = cap_r ? 2 * cap_r : 64;
			}
			d->ranges[d->nr_ranges++] =
				(struct arange){ .lo = lo, .hi = hi, .unit = d->nr_units };
		}
		d->nr_units++;
	}
	if (d->nr_ranges)
		qsort(d->ranges, d->nr_ranges, sizeof(*d->ranges), cmp_range);
}

static void open_dwarf(struct srcline *d)
{
	const char *name;
	const void *id;
	ssize_t n;

	if (!check_sections(d))
		return;
	d->dw = dwarf_begin_elf(d->elf, DWARF_C_READ, NULL);
	if (!d->dw)
		return;
	/* (libdw itself finds no altlink when this finds none, and then opens nothing) */
	n = dwelf_dwarf_gnu_debugaltlink(d->dw, &name, &id);
	if (n > 0) {
		/* before anything could make libdw look for it by name */
		if (make_stand_in(d)) {
			dwarf_end(d->dw);
			d->dw = NULL;
			return;
		}
		dwarf_setalt(d->dw, d->stand_in);
		if (in_image(d, name, 1) && in_image(d, id, n) && n <= 64) {
			d->alt_name = name; /* ended by the image's NUL at the latest */
			d->alt_id = id;
			d->alt_id_len = n;
		}
	}
	d->info = section(d, ".debug_info");
	d->abbrev = section(d, ".debug_abbrev");
	d->strs[0] = d->info;
	d->strs[1] = section(d, ".debug_str");
	d->strs[2] = section(d, ".debug_line_str");
	if (!d->info.p)
		return;
	begin_work(d);
	index_units(d);
	end_work(d);
}

/*
 * .gnu_debuglink: a file name, NUL, padding to 4 bytes, CRC-32; read here
 * (dwelf_elf_gnu_debuglink reads its CRC before a section shorter than 4).
 */
static void read_debuglink(struct srcline *d)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx, n = 0;

	if (elf_getshdrstrndx(d->elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(d->elf, scn)) && n++ < MAX_SECTIONS) {
		GElf_Shdr sh;
		Elf_Data *data;
		const char *p, *nul;
		size_t at;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    strcmp(scn_name(d->elf, shstrndx, &sh), ".gnu_debuglink"))
			continue;
		data = elf_rawdata(scn, NULL);
		if (!data || !data->d_buf || !in_image(d, data->d_buf, data->d_size))
			return;
		p = data->d_buf;
		nul = memchr(p, 0, data->d_size);
		if (!nul || nul == p)
			return;
		at = ((size_t)(nul - p) + 4) & ~(size_t)3;
		if (at > data->d_size || data->d_size - at < 4)
			return;
		memcpy(&d->link_crc, p + at, 4);
		d->link = p;
		return;
	}
}

static int open_image(uint8_t *image, size_t len, struct srcline **out)
{
	struct srcline *d;
	const void *id;
	GElf_Ehdr eh;
	ssize_t n;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d) {
		free(image);
		return -ENOMEM;
	}
	d->image = image;
	d->len = len;
	u64map__init(&d->hits);
	u64map__init(&d->names);
	if (elf_version(EV_CURRENT) == EV_NONE) {
		srcline__close(d);
		return -ENOSYS;
	}
	d->elf = elf_memory((char *)image, len);
	if (!d->elf || elf_kind(d->elf) != ELF_K_ELF || !gelf_getehdr(d->elf, &eh)) {
		srcline__close(d);
		return -ENOEXEC;
	}
	n = dwelf_elf_gnu_build_id(d->elf, &id);
	if (n > 0 && n <= 64) {
		d->build_id = id;
		d->build_id_len = n;
	}
	read_debuglink(d);
	open_dwarf(d);
	*out = d;
	return 0;
}

int srcline__open_fd(int fd, struct srcline **out)
{
	uint8_t *image = NULL;
	size_t len = 0;
	int err;

	*out = NULL;
	err = read_whole(fd, &image, &len);
	return err ? err : open_image(image, len, out);
}

int srcline__open_mem(const void *buf, size_t len, struct srcline **out)
{
	uint8_t *image;

	*out = NULL;
	if (len > MAX_IMAGE)
		return -EFBIG;
	image = malloc(len + 1);
	if (!image)
		return -ENOMEM;
	memcpy(image, buf, len);
	image[len] = 0;
	return open_image(image, len, out);
}

void srcline__close(struct srcline *d)
{
	if (!d)
		return;
	dwarf_end(d->dw);
	srcline__close(d->alt);
	dwarf_end(d->stand_in);
	elf_end(d->stand_in_elf);
	free(d->stand_in_img);
	elf_end(d->elf);
	free(d->image);
	for (size_t i = 0; i < d->nr_units; i++)
		free(d->units[i].fns);
	free(d->units);
	free(d->ranges);
	free(d->lines);
	for (size_t i = 0; i < d->nr_owned; i++)
		free(d->owned[i]);
	free(d->owned);
	u64map__release(&d->hits);
	u64map__release(&d->names);
	free(d->syms);
	free(d);
}

bool srcline__has_dwarf(const struct srcline *d)
{
	return d && d->dw && d->nr_units;
}

size_t srcline__build_id(const struct srcline *d, const uint8_t **id)
{
	*id = d ? d->build_id : NULL;
	return d ? d->build_id_len : 0;
}

const char *srcline__debuglink(const struct srcline *d, uint32_t *crc)
{
	*crc = d ? d->link_crc : 0;
	return d ? d->link : NULL;
}

uint32_t srcline__crc32(const struct srcline *d)
{
	uLong crc = crc32(0, Z_NULL, 0);

	for (size_t off = 0; d && off < d->len;) {
		size_t n = d->len - off > (1u << 30) ? (1u << 30) : d->len - off;

		crc = crc32(crc, d->image + off, (uInt)n);
		off += n;
	}
	return (uint32_t)crc;
}

const char *srcline__altlink(const struct srcline *d, const uint8_t **id, size_t *len)
{
	*id = d ? d->alt_id : NULL;
	*len = d ? d->alt_id_len : 0;
	return d && !d->alt ? d->alt_name : NULL;
}

void srcline__set_alt(struct srcline *d, struct srcline *alt)
{
	if (!d || !d->dw || !d->stand_in || d->alt || !alt || !alt->dw) {
		srcline__close(alt);
		return;
	}
	d->alt = alt;
	dwarf_setalt(d->dw, alt->dw);
}

size_t srcline__image_bytes(const struct srcline *d)
{
	return d ? d->len + (d->alt ? d->alt->len : 0) : 0;
}

size_t srcline__nr_cached(const struct srcline *d)
{
	return d ? d->hits.nr : 0;
}

size_t srcline__unit_addrs(const struct srcline *d, uint64_t *addrs, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; d && i < d->nr_ranges && n < max; i++)
		addrs[n++] = d->ranges[i].lo;
	return n;
}

/* ---- check_unit: a DIE stream libdw can walk without looping ----------- */

struct abbrev {
	uint64_t code;
	uint32_t first; /* index of its first attribute in abbrevs.attrs */
	uint32_t nr;
	bool children;
};

struct attr_spec {
	uint32_t at, form;
};

struct abbrevs {
	struct abbrev *a;
	size_t nr;
	struct attr_spec *attrs;
	size_t nr_attrs;
};

static int cmp_abbrev(const void *a, const void *b)
{
	const struct abbrev *x = a, *y = b;

	return x->code < y->code ? -1 : x->code > y->code;
}

static int add_attr(struct abbrevs *t, size_t *cap, uint64_t at, uint64_t form)
{
	if (t->nr_attrs == *cap) {
		size_t c = *cap ? 2 * *cap : 64;
		struct attr_spec *n = realloc(t->attrs, c * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->attrs = n;
		*cap = c;
	}
	t->attrs[t->nr_attrs++] = (struct attr_spec){ .at = at, .form = form };
	return 0;
}

/* The table at off, as libdw reads it (names and forms as 32-bit values). */
static int read_abbrevs(const struct srcline *d, uint64_t off, struct abbrevs *t)
{
	struct rd r = { d->abbrev.p, d->abbrev.p + d->abbrev.len };
	size_t cap = 0, cap_attrs = 0;

	if (!d->abbrev.p || !rd_skip(&r, off))
		return -EBADMSG;
	while (r.p < r.end) {
		uint64_t code, tag, children, at, form, v;
		struct abbrev *a;

		if (!rd_uleb(&r, &code) || code > UINT32_MAX)
			return -EBADMSG;
		if (!code)
			break;
		if (t->nr == MAX_ABBREVS)
			return -EFBIG;
		if (t->nr == cap) {
			struct abbrev *n = realloc(t->a, (cap ? 2 * cap : 64) * sizeof(*n));

			if (!n)
				return -ENOMEM;
			t->a = n;
			cap = cap ? 2 * cap : 64;
		}
		if (!rd_uleb(&r, &tag) || !rd_un(&r, 1, &children))
			return -EBADMSG;
		a = &t->a[t->nr++];
		*a = (struct abbrev){ .code = code,
				      .first = t->nr_attrs,
				      .children = children == DW_CHILDREN_yes };
		for (;;) {
			if (!rd_uleb(&r, &at) || !rd_uleb(&r, &form) || at > UINT32_MAX ||
			    form > UINT32_MAX)
				return -EBADMSG;
			if (!at && !form)
				break;
			/* its value, a SLEB128: the same length rule as ULEB128 */
			if (form == DW_FORM_implicit_const && !rd_uleb(&r, &v))
				return -EBADMSG;
			if (a->nr == MAX_ABBREV_ATTRS || add_attr(t, &cap_attrs, at, form))
				return -EFBIG;
			a->nr++;
		}
	}
	qsort(t->a, t->nr, sizeof(*t->a), cmp_abbrev);
	for (size_t i = 1; i < t->nr; i++)
		if (t->a[i].code == t->a[i - 1].code)
			return -EBADMSG; /* which one libdw would use is its business */
	return 0;
}

static const struct abbrev *find_abbrev(const struct abbrevs *t, uint64_t code)
{
	size_t lo = 0, hi = t->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->a[mid].code == code)
			return &t->a[mid];
		if (t->a[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Skip one attribute value, or read it into *v for the forms that are references. */
static bool skip_form(const struct unit *u, struct rd *r, uint64_t form, uint64_t *v)
{
	uint64_t n;

	*v = NO_SIB;
	switch (form) {
	case DW_FORM_flag_present:
	case DW_FORM_implicit_const:
		return true;
	case DW_FORM_ref1:
	case DW_FORM_ref2:
	case DW_FORM_ref4:
	case DW_FORM_ref8:
		n = form == DW_FORM_ref1 ? 1 :
		    form == DW_FORM_ref2 ? 2 :
		    form == DW_FORM_ref4 ? 4 :
					   8;
		return rd_un(r, n, v);
	case DW_FORM_ref_udata:
		return rd_uleb(r, v);
	case DW_FORM_data1:
	case DW_FORM_flag:
	case DW_FORM_strx1:
	case DW_FORM_addrx1:
		return rd_skip(r, 1);
	case DW_FORM_data2:
	case DW_FORM_strx2:
	case DW_FORM_addrx2:
		return rd_skip(r, 2);
	case DW_FORM_strx3:
	case DW_FORM_addrx3:
		return rd_skip(r, 3);
	case DW_FORM_data4:
	case DW_FORM_ref_sup4:
	case DW_FORM_strx4:
	case DW_FORM_addrx4:
		return rd_skip(r, 4);
	case DW_FORM_data8:
	case DW_FORM_ref_sig8:
	case DW_FORM_ref_sup8:
		return rd_skip(r, 8);
	case DW_FORM_data16:
		return rd_skip(r, 16);
	case DW_FORM_addr:
		return rd_skip(r, u->addr_size);
	case DW_FORM_ref_addr:
		return rd_skip(r, u->version == 2 ? u->addr_size : u->offset_size);
	case DW_FORM_strp:
	case DW_FORM_line_strp:
	case DW_FORM_strp_sup:
	case DW_FORM_GNU_strp_alt:
	case DW_FORM_GNU_ref_alt:
	case DW_FORM_sec_offset:
		return rd_skip(r, u->offset_size);
	case DW_FORM_block1:
		return rd_un(r, 1, &n) && rd_skip(r, n);
	case DW_FORM_block2:
		return rd_un(r, 2, &n) && rd_skip(r, n);
	case DW_FORM_block4:
		return rd_un(r, 4, &n) && rd_skip(r, n);
	case DW_FORM_block:
	case DW_FORM_exprloc:
		return rd_uleb(r, &n) && rd_skip(r, n);
	case DW_FORM_string: {
		const uint8_t *nul = memchr(r->p, 0, r->end - r->p);

		return nul && rd_skip(r, nul - r->p + 1);
	}
	case DW_FORM_sdata:
	case DW_FORM_udata:
	case DW_FORM_addrx:
	case DW_FORM_loclistx:
	case DW_FORM_rnglistx:
	case DW_FORM_strx:
	case DW_FORM_GNU_addr_index:
	case DW_FORM_GNU_str_index:
		return rd_uleb(r, &n);
	default:
		return false; /* a form libdw does not know either */
	}
}

static bool is_ref_form(uint64_t form)
{
	return form == DW_FORM_ref1 || form == DW_FORM_ref2 || form == DW_FORM_ref4 ||
	       form == DW_FORM_ref8 || form == DW_FORM_ref_udata;
}

/* One DIE's attributes; *sib gets its first DW_AT_sibling (unit-relative) or NO_SIB. */
static bool skip_attrs(const struct unit *u, const struct abbrevs *t, const struct abbrev *a,
		       struct rd *r, uint64_t *sib)
{
	*sib = NO_SIB;
	for (uint32_t i = 0; i < a->nr; i++) {
		uint64_t form = t->attrs[a->first + i].form, v;
		bool first_sib = t->attrs[a->first + i].at == DW_AT_sibling && *sib == NO_SIB;

		if (form == DW_FORM_indirect) {
			if (!rd_uleb(r, &form) || form == DW_FORM_indirect ||
			    form == DW_FORM_implicit_const)
				return false;
		}
		if (first_sib && !is_ref_form(form))
			return false; /* libdw would fail there: refuse the unit here */
		if (!skip_form(u, r, form, &v))
			return false;
		if (first_sib) {
			if (v == NO_SIB)
				return false;
			*sib = v;
		}
	}
	return true;
}

/*
 * Walk the unit's DIE stream as libdw does and prove that every DW_AT_sibling
 * names the end of its DIE's subtree (so it points forward, at a DIE
 * boundary, a null entry or the unit's end).  0 or -EBADMSG (or the budget).
 */
static int check_unit(struct srcline *d, struct unit *u)
{
	struct abbrevs t = { 0 };
	struct rd r = { d->info.p + u->die, d->info.p + u->end };
	const uint8_t *base = d->info.p + u->off;
	uint64_t *sibs = NULL;
	size_t depth = 0;
	int err = read_abbrevs(d, u->abbrev, &t);

	if (err)
		goto out;
	sibs = malloc(MAX_DEPTH * sizeof(*sibs));
	err = sibs ? 0 : -ENOMEM;
	while (!err && r.p < r.end) {
		const struct abbrev *a;
		uint64_t code, sib, at = r.p - base;

		if (!spend(d, 1)) {
			err = -ETIME;
			break;
		}
		if (!*r.p) { /* a null entry ends the innermost open list */
			r.p++;
			if (depth && sibs[--depth] != NO_SIB &&
			    sibs[depth] != (uint64_t)(r.p - base))
				err = -EBADMSG;
			continue;
		}
		if (!rd_uleb(&r, &code) || !code || code > UINT32_MAX ||
		    !(a = find_abbrev(&t, code)) || !skip_attrs(u, &t, a, &r, &sib) ||
		    (sib != NO_SIB && sib <= at)) {
			err = -EBADMSG;
			break;
		}
		if (a->children) {
			if (depth == MAX_DEPTH)
				err = -EBADMSG;
			else
				sibs[depth++] = sib;
		} else if (sib != NO_SIB && sib != (uint64_t)(r.p - base)) {
			err = -EBADMSG;
		}
	}
	/* lists the unit leaves open end with it (libdw stops at the unit's end) */
	while (!err && depth)
		if (sibs[--depth] != NO_SIB && sibs[depth] != u->end - u->off)
			err = -EBADMSG;
out:
	free(sibs);
	free(t.a);
	free(t.attrs);
	return err;
}

/* ---- functions of a unit ------------------------------------------------ */

static int cmp_fn(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int add_fn(struct unit *u, size_t *cap, uint64_t lo, uint64_t hi, Dwarf_Off die)
{
	if (u->nr_fns == MAX_FNS)
		return -EFBIG;
	if (u->nr_fns == *cap) {
		size_t c = *cap ? 2 * *cap : 64;
		struct fn *n = realloc(u->fns, c * sizeof(*n));

		if (!n)
			return -ENOMEM;
		u->fns = n;
		*cap = c;
	}
	u->fns[u->nr_fns++] = (struct fn){ .lo = lo, .hi = hi, .die = die };
	return 0;
}

static int add_fn_ranges(struct unit *u, size_t *cap, Dwarf_Die *die)
{
	Dwarf_Addr base, lo, hi;
	Dwarf_Off off = dwarf_dieoffset(die);
	ptrdiff_t o = 0;
	int err = 0;

	for (unsigned int k = 0; !err && k < MAX_DIE_RANGES; k++) {
		o = dwarf_ranges(die, o, &base, &lo, &hi);
		if (o <= 0)
			break;
		if (lo < hi)
			err = add_fn(u, cap, lo, hi, off);
	}
	return err;
}

/* The unit's DW_TAG_subprogram ranges, in it and in its namespaces (a checked unit only). */
static int index_fns(struct srcline *d, struct unit *u)
{
	Dwarf_Die stack[MAX_NS_DEPTH], cu, die;
	size_t sp = 0, cap = 0;
	int r, err = 0;

	if (!dwarf_offdie(d->dw, u->die, &cu))
		return -EBADMSG;
	r = dwarf_child(&cu, &die);
	while (r == 0 && !err) {
		int tag = dwarf_tag(&die);
		Dwarf_Die child;

		if (!spend(d, 1))
			return -ETIME;
		if (tag == DW_TAG_subprogram) {
			err = add_fn_ranges(u, &cap, &die);
		} else if ((tag == DW_TAG_namespace || tag == DW_TAG_module) && sp < MAX_NS_DEPTH &&
			   dwarf_child(&die, &child) == 0) {
			stack[sp++] = die;
			die = child;
			continue;
		}
		r = dwarf_siblingof(&die, &die);
		while (r == 1 && sp)
			r = dwarf_siblingof(&stack[--sp], &die);
	}
	if (err)
		return err;
	if (u->nr_fns)
		qsort(u->fns, u->nr_fns, sizeof(*u->fns), cmp_fn);
	return r < 0 ? -EBADMSG : 0;
}

static bool unit_ready(struct srcline *d, struct unit *u)
{
	int err;

	if (u->state == UNIT_NEW) {
		err = check_unit(d, u);
		if (!err)
			err = index_fns(d, u);
		u->state = err ? UNIT_BAD : UNIT_READY;
		if (err && err != -ETIME)
			pr_debug("symbolize: DWARF unit at 0x%llx refused: %s",
				 (unsigned long long)u->off, strerror(-err));
	}
	return u->state == UNIT_READY;
}

/* ---- lookups -------------------------------------------------------------- */

static const struct unit *unit_at_offset(const struct srcline *d, Dwarf_Off off)
{
	size_t lo = 0, hi = d->nr_units;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (off < d->units[mid].off)
			hi = mid;
		else if (off >= d->units[mid].end)
			lo = mid + 1;
		else
			return &d->units[mid];
	}
	return NULL;
}

/* Does die's range list (4096 entries at most) hold pc? */
static bool die_has_pc(Dwarf_Die *die, uint64_t pc)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t o = 0;

	for (unsigned int k = 0; k < MAX_DIE_RANGES; k++) {
		o = dwarf_ranges(die, o, &base, &lo, &hi);
		if (o <= 0)
			return false;
		if (lo <= pc && pc < hi)
			return true;
	}
	return false;
}

/* Follow a DW_AT_abstract_origin or DW_AT_specification, only into units we indexed. */
static bool follow(const struct srcline *d, Dwarf_Attribute *ref, Dwarf_Die *out)
{
	const struct srcline *owner = d;
	unsigned int form = dwarf_whatform(ref);

	if (form == DW_FORM_GNU_ref_alt || form == DW_FORM_ref_sup4 || form == DW_FORM_ref_sup8) {
		if (!d->alt)
			return false;
		owner = d->alt;
	} else if (!is_ref_form(form) && form != DW_FORM_ref_addr) {
		return false; /* type units (ref_sig8) are not indexed */
	}
	if (!dwarf_formref_die(ref, out))
		return false;
	return unit_at_offset(owner, dwarf_dieoffset(out)) != NULL;
}

static bool integrate(const struct srcline *d, Dwarf_Die *die, unsigned int name,
		      Dwarf_Attribute *attr)
{
	Dwarf_Die cur = *die;

	for (int i = 0; i < MAX_REF_CHAIN; i++) {
		Dwarf_Attribute ref;

		if (dwarf_attr(&cur, name, attr))
			return true;
		if (!dwarf_attr(&cur, DW_AT_abstract_origin, &ref) &&
		    !dwarf_attr(&cur, DW_AT_specification, &ref))
			return false;
		if (!follow(d, &ref, &cur))
			return false;
	}
	return false;
}

static bool in_sec(const struct sec *s, const char *p)
{
	return s->p && (const uint8_t *)p >= s->p && (const uint8_t *)p < s->p + s->len &&
	       memchr(p, 0, s->p + s->len - (const uint8_t *)p);
}

/* A string attribute's value, if it ends inside the section it lies in. */
static const char *string_of(const struct srcline *d, Dwarf_Attribute *attr)
{
	const char *s = dwarf_formstring(attr);

	if (!s)
		return NULL;
	for (const struct srcline *o = d; o; o = o == d ? d->alt : NULL)
		for (size_t i = 0; i < sizeof(o->strs) / sizeof(o->strs[0]); i++)
			if (in_sec(&o->strs[i], s))
				return s;
	return NULL;
}

static int own(struct srcline *d, char *s)
{
	if (d->nr_owned == d->cap_owned) {
		size_t c = d->cap_owned ? 2 * d->cap_owned : 64;
		char **n = realloc(d->owned, c * sizeof(*n));

		if (!n)
			return -ENOMEM;
		d->owned = n;
		d->cap_owned = c;
	}
	d->owned[d->nr_owned++] = s;
	return 0;
}

/* The demangled form of a linkage name, made once per name. */
static const char *demangled(struct srcline *d, const char *raw)
{
	uint64_t v;
	char *s;

	if (u64map__get(&d->names, (uintptr_t)raw, &v))
		return (const char *)(uintptr_t)v;
	s = demangle__name(raw);
	if (s && own(d, s)) {
		free(s);
		return NULL;
	}
	u64map__set(&d->names, (uintptr_t)raw, (uintptr_t)s); /* else: made again next time */
	return s;
}

/* A function's name: its demangled linkage name, else its DW_AT_name. */
static const char *name_of(struct srcline *d, Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *s;

	if (integrate(d, die, DW_AT_linkage_name, &a) ||
	    integrate(d, die, DW_AT_MIPS_linkage_name, &a)) {
		s = string_of(d, &a);
		s = s ? demangled(d, s) : NULL;
		if (s)
			return s;
	}
	return integrate(d, die, DW_AT_name, &a) ? string_of(d, &a) : NULL;
}

static const char *file_name(const char *s)
{
	return s && s[0] && strcmp(s, "???") ? s : NULL; /* libdw's name for "no file" */
}

/* Where an inlined call was made: DW_AT_call_file and DW_AT_call_line. */
static void call_site(Dwarf_Die *cu, const struct unit *u, Dwarf_Die *inl, struct sym_line *out)
{
	Dwarf_Attribute a;
	Dwarf_Files *files;
	Dwarf_Word idx, line;
	size_t nr;

	if (dwarf_attr(inl, DW_AT_call_line, &a) && !dwarf_formudata(&a, &line) &&
	    line <= UINT32_MAX)
		out->line = line;
	if (!dwarf_attr(inl, DW_AT_call_file, &a) || dwarf_formudata(&a, &idx) ||
	    (!idx && u->version < 5) || dwarf_getsrcfiles(cu, &files, &nr) || idx >= nr)
		return;
	out->file = file_name(dwarf_filesrc(files, idx, NULL, NULL));
}

/*
 * Of n entries sorted by lo (each `size` bytes, starting with lo and hi), the
 * indexes of those holding pc: the last one starting at or below pc first,
 * then back through BACK_SCAN entries (nested or overlapping ranges).
 */
static size_t holding(const void *base, size_t n, size_t size, uint64_t pc, size_t *idx)
{
	const uint8_t *b = base;
	size_t lo = 0, hi = n, k = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t start;

		memcpy(&start, b + mid * size, sizeof(start));
		if (start <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, seen = 0; i-- > 0 && seen < BACK_SCAN; seen++) {
		uint64_t end;

		memcpy(&end, b + i * size + sizeof(uint64_t), sizeof(end));
		if (pc < end)
			idx[k++] = i;
	}
	return k;
}

/*
 * The chain of scopes at pc, outermost (the DW_TAG_subprogram) first, keeping
 * only it and the inlined calls.  Returns the count, 0: no function holds pc,
 * -1: the chain is deeper than we keep or the walk ran out of budget.
 */
static int chain_at(struct srcline *d, const struct unit *u, uint64_t pc, Dwarf_Die *chain)
{
	size_t idx[BACK_SCAN], k, nr = holding(u->fns, u->nr_fns, sizeof(*u->fns), pc, idx);
	int n = 0;

	for (k = 0; k < nr; k++)
		if (dwarf_offdie(d->dw, u->fns[idx[k]].die, &chain[0]) && die_has_pc(&chain[0], pc))
			break;
	if (k == nr)
		return 0;
	n = 1;
	for (Dwarf_Die cur = chain[0], child;;) {
		bool found = false;
		int r = dwarf_child(&cur, &child);

		while (r == 0) {
			int tag = dwarf_tag(&child);

			if (!d->query-- || !spend(d, 1))
				return -1;
			if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
			     tag == DW_TAG_try_block || tag == DW_TAG_catch_block) &&
			    die_has_pc(&child, pc)) {
				found = true;
				break;
			}
			r = dwarf_siblingof(&child, &child);
		}
		if (!found)
			return n;
		if (dwarf_tag(&child) == DW_TAG_inlined_subroutine) {
			if (n == MAX_CHAIN)
				return -1;
			chain[n++] = child;
		}
		cur = child;
	}
}

/* Resolve pc into out[MAX_CHAIN], innermost first.  Returns the count. */
static size_t resolve(struct srcline *d, uint64_t pc, struct sym_line *out)
{
	size_t idx[BACK_SCAN], k,
		nr = holding(d->ranges, d->nr_ranges, sizeof(*d->ranges), pc, idx);
	Dwarf_Die chain[MAX_CHAIN], cu;
	struct unit *u = NULL;
	Dwarf_Line *line;
	int n;

	for (k = 0; k < nr; k++) {
		u = &d->units[d->ranges[idx[k]].unit];
		if (unit_ready(d, u))
			break;
	}
	if (k == nr || !dwarf_offdie(d->dw, u->die, &cu))
		return 0;
	d->query = QUERY_DIES;
	n = chain_at(d, u, pc, chain);
	if (n < 0)
		return 0;
	memset(out, 0, MAX_CHAIN * sizeof(*out));
	line = dwarf_getsrc_die(&cu, pc);
	if (line) {
		int no = 0;

		out[0].file = file_name(dwarf_linesrc(line, NULL, NULL));
		if (!dwarf_lineno(line, &no) && no > 0)
			out[0].line = no;
	}
	if (!n)
		return out[0].file || out[0].line ? 1 : 0;
	for (int i = n - 1, e = 0; i >= 0; i--, e++) {
		out[e].function = name_of(d, &chain[i]);
		out[e].inlined = i > 0;
		if (i > 0)
			call_site(&cu, u, &chain[i], &out[e + 1]);
	}
	return n;
}

static int remember(struct srcline *d, uint64_t pc, const struct sym_line *l, size_t n)
{
	if (pc == UINT64_MAX)
		return 0;
	if (d->nr_lines + n > d->cap_lines) {
		size_t c = d->cap_lines ? 2 * d->cap_lines : 256;
		struct sym_line *p;

		while (c < d->nr_lines + n)
			c *= 2;
		p = realloc(d->lines, c * sizeof(*p));
		if (!p)
			return -ENOMEM;
		d->lines = p;
		d->cap_lines = c;
	}
	if (u64map__set(&d->hits, pc + 1, (uint64_t)d->nr_lines << 8 | n))
		return -ENOMEM;
	if (n)
		memcpy(d->lines + d->nr_lines, l, n * sizeof(*l));
	d->nr_lines += n;
	return 0;
}

static size_t copy_out(const struct sym_line *l, size_t n, struct sym_line *out, size_t max)
{
	if (n <= max) {
		memcpy(out, l, n * sizeof(*l));
		return n;
	}
	memcpy(out, l, (max - 1) * sizeof(*l)); /* innermost max - 1, then the function */
	out[max - 1] = l[n - 1];
	return max;
}

size_t srcline__lookup(struct srcline *d, uint64_t addr, struct sym_line *out, size_t max)
{
	struct sym_line tmp[MAX_CHAIN];
	uint64_t v;
	size_t n;

	if (!d || !d->dw || !out || !max)
		return 0;
	if (addr != UINT64_MAX && u64map__get(&d->hits, addr + 1, &v))
		return v & 0xff ? copy_out(d->lines + (v >> 8), v & 0xff, out, max) : 0;
	if (d->spent)
		return 0;
	begin_work(d);
	n = resolve(d, addr, tmp);
	end_work(d);
	if (remember(d, addr, tmp, n))
		return 0;
	return copy_out(tmp, n, out, max);
}

/* ---- .symtab ------------------------------------------------------------ */

/* Global names before weak, weak before local, then fewer leading underscores */
static uint8_t sym_rank(const GElf_Sym *sym, const char *name)
{
	uint8_t bind = GELF_ST_BIND(sym->st_info), u = 0;

	while (name[u] == '_' && u < 15)
		u++;
	return (uint8_t)((bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2) << 4 | u);
}

static int cmp_sym(const void *pa, const void *pb)
{
	const struct sym *a = pa, *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank > b->rank ? -1 : 1; /* the best last: a walk back meets it first */
	return strcmp(b->name, a->name);
}

/* The sized functions of the first SHT_SYMTAB, names checked to lie in the image. */
static void read_syms(struct srcline *d)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf_Data *data;
	size_t n = 0, count, size = gelf_fsize(d->elf, ELF_T_SYM, 1, EV_CURRENT);

	d->syms_read = true;
	while ((scn = elf_nextscn(d->elf, scn)) && n++ < MAX_SECTIONS)
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			break;
	if (!scn || n > MAX_SECTIONS || !size)
		return;
	data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf)
		return;
	count = data->d_size / size; /* the section lies in the image: bounded by its size */
	if (count > MAX_SYMS)
		count = MAX_SYMS;
	d->syms = calloc(count ? count : 1, sizeof(*d->syms));
	if (!d->syms)
		return;
	for (size_t i = 0; i < count; i++) {
		const char *name;
		GElf_Sym sym;
		uint64_t hi;
		uint8_t type;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
		    !sym.st_size || __builtin_add_overflow(sym.st_value, sym.st_size, &hi))
			continue; /* unsized symbols cover nothing: their extent is a guess */
		name = elf_strptr(d->elf, sh.sh_link, sym.st_name);
		if (!name || !name[0] || !in_image(d, name, 1))
			continue;
		d->syms[d->nr_syms++] = (struct sym){
			.lo = sym.st_value, .hi = hi, .name = name, .rank = sym_rank(&sym, name)
		};
	}
	qsort(d->syms, d->nr_syms, sizeof(*d->syms), cmp_sym);
}

const char *srcline__symbol(struct srcline *d, uint64_t addr, uint64_t *delta)
{
	size_t lo = 0, hi;

	if (!d)
		return NULL;
	if (!d->syms_read)
		read_syms(d);
	hi = d->nr_syms;
	while (lo < hi) { /* the first symbol starting above addr */
		size_t mid = lo + (hi - lo) / 2;

		if (d->syms[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* the nearest start below that covers addr: the innermost of nested symbols */
	for (size_t i = lo, n = 0; i > 0 && n < BACK_SCAN; i--, n++) {
		const struct sym *s = &d->syms[i - 1];

		if (addr < s->hi) {
			if (delta)
				*delta = addr - s->lo;
			return s->name;
		}
	}
	return NULL;
}
