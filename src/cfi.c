// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * CFI compiler: DWARF call-frame information -> struct drip_unwind_row[].
 *
 * Approach.  libdw interprets the CFA programs (remember/restore_state, CIE
 * initial state, the x86-64 ABI defaults); this file decides where to ask it
 * and what it may see.
 *
 * 1. Find .eh_frame (its section, or through PT_GNU_EH_FRAME when there are
 *    no section headers) and .debug_frame (inflated if compressed, within a
 *    size bound).
 * 2. Walk every CIE and FDE with dwarf_next_cfi.  Decode each FDE's
 *    initial_location/address_range ourselves from its CIE's 'R' encoding,
 *    through a bounds-checked cursor, and check each CFA program: libdw grows
 *    its register array to the largest register number a program names and
 *    copies it at every DW_CFA_remember_state, so one hostile byte sequence
 *    would make it allocate gigabytes.  A program naming a register above
 *    CFI_MAX_REG or nesting remember_state deeper than CFI_MAX_DEPTH makes
 *    the whole file -EBADMSG.
 * 3. Hand libdw a small ELF image of our own that holds just the bytes we
 *    checked (no .eh_frame_hdr: its table could send libdw to unchecked
 *    offsets; libdw then finds FDEs by the same linear walk as step 2).
 * 4. Drop FDEs outside executable PT_LOADs, sort the rest by start, clip
 *    overlaps, and walk each row by row: dwarf_cfi_addrframe(pc) gives the
 *    rule and the row's [start, end); translate the rule, continue at end.
 *    Each FDE's end gets a DRIP_CFA_NONE row, so an address between functions
 *    never inherits the previous function's rule; equal neighbours merge as
 *    they are emitted.
 *
 * Bounds: CFI_MAX_ROWS rows and FDEs (temporary memory stays under ~60 MB
 * whatever the input) and CFI_TIME_BUDGET_NS per file (-ETIME): each libdw
 * lookup replays the FDE's program up to pc, so a hostile FDE is quadratic.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>

#include "drip/cfi.h"

#define CFI_TIME_BUDGET_NS (2ull * 1000 * 1000 * 1000)
#define CFI_MAX_TEXT	   16		 /* executable ranges considered */
#define CFI_MAX_DEBUG_SIZE (64ull << 20) /* .debug_frame we inflate */
#define CFI_MAX_CIES	   (1u << 16)	 /* cached; more are parsed on each use */
#define CFI_MAX_REG	   255		 /* x86-64 DWARF numbers end at 145 (APX r31) */
#define CFI_MAX_DEPTH	   16		 /* DW_CFA_remember_state nesting; gcc uses 1 */
#define REG_RBP		   6
#define REG_RSP		   7
#define REG_RA		   16

enum { SRC_EH, SRC_DEBUG, SRC__COUNT };

struct rd { /* cursor that cannot pass its end */
	const uint8_t *p, *end;
};

struct range {
	uint64_t start, end;
};

struct fde {
	uint64_t start, end;
	uint32_t src; /* SRC_* */
};

struct cie {
	uint64_t off; /* section offset */
	uint8_t enc;  /* FDE pointer encoding ('R') */
	bool sized;   /* 'z': FDEs carry a sized augmentation block */
	bool ok;      /* understood, and its initial program checked */
};

struct rule {
	uint8_t cfa_type, rbp_type;
	int32_t cfa_off;
	int16_t rbp_off;
};

struct build {
	Elf *elf;
	const unsigned char *ident;
	struct range text[CFI_MAX_TEXT];
	size_t nr_text;
	Elf_Data sec[SRC__COUNT]; /* the CFI bytes, as libdw sees them */
	uint64_t vaddr[SRC__COUNT];
	char *image; /* the ELF image libdw reads them from */
	Elf *img_elf;
	Dwarf *dw;
	Dwarf_CFI *cfi[SRC__COUNT];
	struct fde *fdes;
	size_t nr_fdes, cap_fdes;
	struct cie *cies; /* the current section's CIEs, by offset */
	size_t nr_cies, cap_cies;
	struct drip_unwind_row *rows;
	size_t nr_rows, cap_rows;
	struct timespec t0;
	unsigned int ticks;
};

static int grow(void **arr, size_t *cap, size_t need, size_t elem, size_t max)
{
	size_t n = *cap ? *cap : 256;
	void *p;

	if (need <= *cap)
		return 0;
	if (need > max)
		return -E2BIG;
	while (n < need)
		n *= 2;
	if (n > max)
		n = max;
	p = reallocarray(*arr, n, elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

/* -ETIME once the budget is spent; reads the clock every 64th call only */
static int tick(struct build *b)
{
	struct timespec now;
	uint64_t ns;

	if (++b->ticks & 63)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (uint64_t)(now.tv_sec - b->t0.tv_sec) * 1000000000ull + now.tv_nsec - b->t0.tv_nsec;
	return ns > CFI_TIME_BUDGET_NS ? -ETIME : 0;
}

static int rd_bytes(struct rd *r, void *v, size_t n)
{
	if ((size_t)(r->end - r->p) < n)
		return -EBADMSG;
	memcpy(v, r->p, n);
	r->p += n;
	return 0;
}

static int rd_skip(struct rd *r, uint64_t n)
{
	if ((uint64_t)(r->end - r->p) < n)
		return -EBADMSG;
	r->p += n;
	return 0;
}

static int rd_leb(struct rd *r, bool is_signed, uint64_t *v)
{
	unsigned int shift = 0;
	uint64_t x = 0;
	uint8_t c;

	do {
		if (r->p >= r->end)
			return -EBADMSG;
		c = *r->p++;
		if (shift < 64)
			x |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	if (is_signed && shift < 64 && (c & 0x40))
		x |= ~0ull << shift;
	*v = x;
	return 0;
}

/*
 * A DW_EH_PE-encoded pointer.  field_vaddr is the address of the field itself
 * (for pcrel); datarel/textrel/funcrel/aligned and indirect pointers do not
 * occur in x86-64 FDE headers and are refused.
 */
static int rd_encoded(struct rd *r, uint8_t enc, uint64_t field_vaddr, uint64_t *v)
{
	uint16_t u16;
	uint32_t u32;
	uint64_t x;
	int err;

	switch (enc & 0x0f) {
	case DW_EH_PE_absptr:
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		err = rd_bytes(r, &x, 8);
		break;
	case DW_EH_PE_uleb128:
		err = rd_leb(r, false, &x);
		break;
	case DW_EH_PE_sleb128:
		err = rd_leb(r, true, &x);
		break;
	case DW_EH_PE_udata2:
		err = rd_bytes(r, &u16, 2);
		x = u16;
		break;
	case DW_EH_PE_sdata2:
		err = rd_bytes(r, &u16, 2);
		x = (uint64_t)(int64_t)(int16_t)u16;
		break;
	case DW_EH_PE_udata4:
		err = rd_bytes(r, &u32, 4);
		x = u32;
		break;
	case DW_EH_PE_sdata4:
		err = rd_bytes(r, &u32, 4);
		x = (uint64_t)(int64_t)(int32_t)u32;
		break;
	default:
		return -EBADMSG;
	}
	if (err)
		return err;
	switch (enc & 0xf0) {
	case DW_EH_PE_absptr:
		break;
	case DW_EH_PE_pcrel:
		x += field_vaddr;
		break;
	default:
		return -EOPNOTSUPP;
	}
	*v = x;
	return 0;
}

static int rd_reg(struct rd *r, uint64_t *reg)
{
	if (rd_leb(r, false, reg))
		return 1; /* truncated: libdw stops here too */
	return *reg > CFI_MAX_REG ? -EBADMSG : 0;
}

/*
 * Check a CFA program before libdw runs it: -EBADMSG if it names a register
 * above CFI_MAX_REG or nests remember_state deeper than CFI_MAX_DEPTH.  What
 * libdw would reject (unknown opcodes, truncation) ends the check: libdw stops
 * there too.
 */
static int check_program(const uint8_t *p, const uint8_t *end, uint8_t enc)
{
	struct rd r = { p, end };
	unsigned int depth = 0;
	uint64_t reg, v;
	int err;

	while (r.p < r.end) {
		uint8_t op = *r.p++;

		err = 0;
		switch (op & 0xc0) {
		case DW_CFA_advance_loc:
		case DW_CFA_restore: /* register in the low 6 bits */
			continue;
		case DW_CFA_offset:
			if (rd_leb(&r, false, &v))
				return 0;
			continue;
		}
		switch (op) {
		case DW_CFA_nop:
		case DW_CFA_GNU_window_save: /* registers 8..31 */
			break;
		case DW_CFA_remember_state:
			if (++depth > CFI_MAX_DEPTH)
				return -EBADMSG;
			break;
		case DW_CFA_restore_state:
			if (!depth)
				return 0; /* libdw fails the program here */
			depth--;
			break;
		case DW_CFA_set_loc:
			err = rd_encoded(&r, enc & 0x0f, 0, &v) ? 1 : 0;
			break;
		case DW_CFA_advance_loc1:
			err = rd_skip(&r, 1) ? 1 : 0;
			break;
		case DW_CFA_advance_loc2:
			err = rd_skip(&r, 2) ? 1 : 0;
			break;
		case DW_CFA_advance_loc4:
			err = rd_skip(&r, 4) ? 1 : 0;
			break;
		case DW_CFA_MIPS_advance_loc8:
			err = rd_skip(&r, 8) ? 1 : 0;
			break;
		case DW_CFA_def_cfa_offset:
		case DW_CFA_GNU_args_size:
			err = rd_leb(&r, false, &v) ? 1 : 0;
			break;
		case DW_CFA_def_cfa_offset_sf:
			err = rd_leb(&r, true, &v) ? 1 : 0;
			break;
		case DW_CFA_def_cfa_expression:
			err = rd_leb(&r, false, &v) || rd_skip(&r, v) ? 1 : 0;
			break;
		case DW_CFA_restore_extended:
		case DW_CFA_undefined:
		case DW_CFA_same_value:
		case DW_CFA_def_cfa_register:
			err = rd_reg(&r, &reg);
			break;
		case DW_CFA_offset_extended:
		case DW_CFA_val_offset:
		case DW_CFA_def_cfa:
		case DW_CFA_GNU_negative_offset_extended:
			err = rd_reg(&r, &reg) ?: rd_leb(&r, false, &v) ? 1 : 0;
			break;
		case DW_CFA_register:
			err = rd_reg(&r, &reg) ?: rd_reg(&r, &reg);
			break;
		case DW_CFA_offset_extended_sf:
		case DW_CFA_val_offset_sf:
		case DW_CFA_def_cfa_sf:
			err = rd_reg(&r, &reg) ?: rd_leb(&r, true, &v) ? 1 : 0;
			break;
		case DW_CFA_expression:
		case DW_CFA_val_expression:
			err = rd_reg(&r, &reg) ?: rd_leb(&r, false, &v) || rd_skip(&r, v) ? 1 : 0;
			break;
		default:
			return 0;
		}
		if (err)
			return err < 0 ? err : 0;
	}
	return 0;
}

/* An encoding whose size libdw and rd_encoded agree on (not aligned, known format) */
static bool sized_enc(uint8_t enc)
{
	switch (enc & 0x0f) {
	case DW_EH_PE_absptr:
	case DW_EH_PE_uleb128:
	case DW_EH_PE_udata2:
	case DW_EH_PE_udata4:
	case DW_EH_PE_udata8:
	case DW_EH_PE_sleb128:
	case DW_EH_PE_sdata2:
	case DW_EH_PE_sdata4:
	case DW_EH_PE_sdata8:
		return (enc & 0x70) != DW_EH_PE_aligned;
	default:
		return false;
	}
}

/*
 * A CIE's FDE pointer encoding, from its augmentation ("zR", "zPLR", "zRS"...),
 * and a check of its initial program.  Only augmentations libdw reads the same
 * way are accepted: "" (.debug_frame, old .eh_frame) and 'z' followed by
 * letters we both know, so that we both find each FDE's program at the same
 * place.
 */
static int cie_parse(const Dwarf_CIE *c, struct cie *out)
{
	const char *a = c->augmentation;
	struct rd r;
	uint8_t pe;
	uint64_t v;

	out->enc = DW_EH_PE_absptr; /* without 'R', and always in .debug_frame */
	out->sized = false;
	if (a && a[0]) {
		if (a[0] != 'z' || !c->augmentation_data)
			return -EBADMSG; /* "eh" and other pre-'z' forms */
		out->sized = true;
		r = (struct rd){ c->augmentation_data,
				 c->augmentation_data + c->augmentation_data_size };
		for (a++; *a; a++) {
			if (*a == 'R' && rd_bytes(&r, &out->enc, 1))
				return -EBADMSG;
			else if (*a == 'L' && rd_bytes(&r, &pe, 1))
				return -EBADMSG;
			else if (*a == 'P' && (rd_bytes(&r, &pe, 1) || !sized_enc(pe) ||
					       rd_encoded(&r, pe & 0x0f, 0, &v)))
				return -EBADMSG; /* personality: its encoding, then a pointer */
			else if (!strchr("RLPSB", *a))
				return -EBADMSG;
		}
	}
	if (!sized_enc(out->enc) || (out->enc & DW_EH_PE_indirect))
		return -EBADMSG;
	return check_program(c->initial_instructions, c->initial_instructions_end, out->enc);
}

/* The CIE at off: cached if seen in order, else parsed (.debug_frame may point forward). */
static int cie_lookup(struct build *b, uint32_t src, uint64_t off, struct cie *tmp,
		      const struct cie **out)
{
	size_t lo = 0, hi = b->nr_cies;
	Dwarf_CFI_Entry e;
	Dwarf_Off next;
	int err;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->cies[mid].off == off) {
			*out = &b->cies[mid];
			return 0;
		}
		if (b->cies[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	*out = NULL;
	if (dwarf_next_cfi(b->ident, &b->sec[src], src == SRC_EH, off, &next, &e) ||
	    !dwarf_cfi_cie_p(&e))
		return 0; /* libdw cannot use FDEs that point here either */
	tmp->off = off;
	err = cie_parse(&e.cie, tmp);
	if (err)
		return err;
	*out = tmp;
	return 0;
}

static const struct range *text_of(const struct build *b, uint64_t pc)
{
	for (size_t i = 0; i < b->nr_text; i++)
		if (pc >= b->text[i].start && pc < b->text[i].end)
			return &b->text[i];
	return NULL;
}

/* Check an FDE's program; keep its range if it is code of this file. */
static int add_fde(struct build *b, uint32_t src, const Dwarf_FDE *f, const struct cie *c)
{
	const uint8_t *base = b->sec[src].d_buf;
	struct rd r = { f->start, f->end }, h = r;
	const struct range *t;
	uint64_t start, len, aug;
	int err;

	/* where libdw finds the program: after two pointers and the augmentation block */
	if (rd_encoded(&r, c->enc & 0x0f, 0, &start) || rd_encoded(&r, c->enc & 0x0f, 0, &len) ||
	    (c->sized && (rd_leb(&r, false, &aug) || rd_skip(&r, aug))))
		return 0; /* libdw cannot use it either */
	err = check_program(r.p, r.end, c->enc);
	if (err)
		return err;
	if (rd_encoded(&h, c->enc, b->vaddr[src] + (uint64_t)(f->start - base), &start))
		return 0; /* datarel, textrel...: not produced for x86-64 code */
	if (!len || start + len < start || !(t = text_of(b, start)))
		return 0; /* describes no code of this file */
	err = grow((void **)&b->fdes, &b->cap_fdes, b->nr_fdes + 1, sizeof(*b->fdes), CFI_MAX_ROWS);
	if (err)
		return err;
	b->fdes[b->nr_fdes++] = (struct fde){
		.start = start,
		.end = start + len < t->end ? start + len : t->end,
		.src = src,
	};
	return 0;
}

static int add_cie(struct build *b, uint32_t src, uint64_t off, const Dwarf_CIE *c)
{
	struct cie n = { .off = off };
	int err = cie_parse(c, &n);

	if (err)
		return err;
	if (b->nr_cies && b->cies[b->nr_cies - 1].off >= off)
		return 0;
	if (grow((void **)&b->cies, &b->cap_cies, b->nr_cies + 1, sizeof(*b->cies), CFI_MAX_CIES))
		return 0; /* not cached: cie_lookup parses it again when used */
	b->cies[b->nr_cies++] = n;
	return 0;
}

/*
 * Every CIE and FDE of one section, in the order libdw's own linear search
 * visits them (same function, same bytes, same skipping of broken entries).
 */
static int collect_fdes(struct build *b, uint32_t src)
{
	Elf_Data *data = &b->sec[src];
	Dwarf_Off off = 0, next;
	int err;

	b->nr_cies = 0;
	if (!data->d_buf)
		return 0;
	for (;;) {
		Dwarf_CFI_Entry e;
		const struct cie *c;
		struct cie tmp;
		int ret;

		err = tick(b);
		if (err)
			return err;
		next = off;
		ret = dwarf_next_cfi(b->ident, data, src == SRC_EH, off, &next, &e);
		if (ret > 0 || (ret < 0 && next <= off))
			break; /* the end, or an entry nobody can skip */
		if (ret < 0) {
			off = next;
			continue;
		}
		if (dwarf_cfi_cie_p(&e)) {
			err = add_cie(b, src, off, &e.cie);
		} else {
			err = cie_lookup(b, src, e.fde.CIE_pointer, &tmp, &c);
			if (!err && c)
				err = add_fde(b, src, &e.fde, c);
		}
		if (err)
			return err;
		if (next <= off)
			break;
		off = next;
	}
	return 0;
}

static bool same_rule(const struct drip_unwind_row *r, const struct rule *u)
{
	return r->cfa_type == u->cfa_type && r->cfa_off == u->cfa_off &&
	       r->rbp_type == u->rbp_type && r->rbp_off == u->rbp_off;
}

/* Append the row starting at pc; rows arrive with non-decreasing pc. */
static int emit(struct build *b, uint64_t pc, const struct rule *u)
{
	struct drip_unwind_row *r;
	int err;

	if (b->nr_rows && b->rows[b->nr_rows - 1].pc == (uint32_t)pc)
		b->nr_rows--; /* a gap row at the end of the previous FDE, this one starts here */
	if (b->nr_rows && same_rule(&b->rows[b->nr_rows - 1], u))
		return 0;
	err = grow((void **)&b->rows, &b->cap_rows, b->nr_rows + 1, sizeof(*b->rows), CFI_MAX_ROWS);
	if (err)
		return err;
	r = &b->rows[b->nr_rows++];
	*r = (struct drip_unwind_row){
		.pc = (uint32_t)pc,
		.cfa_off = u->cfa_off,
		.rbp_off = u->rbp_off,
		.cfa_type = u->cfa_type,
		.rbp_type = u->rbp_type,
	};
	return 0;
}

static bool fits_s16(int64_t v)
{
	return v >= INT16_MIN && v <= INT16_MAX;
}

/* DW_OP_call_frame_cfa [DW_OP_plus_uconst N]: "saved at CFA + N" (libdw's offset(N)) */
static bool cfa_offset_rule(const Dwarf_Op *ops, size_t nops, int64_t *off)
{
	if (nops < 1 || nops > 2 || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (nops == 1) {
		*off = 0;
		return true;
	}
	if (ops[1].atom != DW_OP_plus_uconst)
		return false;
	*off = (int64_t)ops[1].number;
	return true;
}

/*
 * binutils' PLT CFA: rsp + 8, plus 8 once the stub's push has run:
 * DW_OP_breg7 8; DW_OP_breg16 0; DW_OP_lit15; DW_OP_and; DW_OP_litN; DW_OP_ge;
 * DW_OP_lit3; DW_OP_shl; DW_OP_plus, N = 11 (lazy PLT) or 10 (IBT PLT).
 */
static bool is_plt_expr(const Dwarf_Op *ops, size_t nops)
{
	static const uint8_t atoms[] = { DW_OP_breg7, DW_OP_breg16, DW_OP_lit15, DW_OP_and, 0,
					 DW_OP_ge,    DW_OP_lit3,   DW_OP_shl,	 DW_OP_plus };

	if (nops != sizeof(atoms))
		return false;
	for (size_t i = 0; i < nops; i++)
		if (atoms[i] && ops[i].atom != atoms[i])
			return false;
	return ops[0].number == 8 && ops[1].number == 0 &&
	       (ops[4].atom == DW_OP_lit11 || ops[4].atom == DW_OP_lit10);
}

static void cfa_rule(Dwarf_Frame *fr, struct rule *u)
{
	Dwarf_Op *ops;
	size_t nops;
	uint64_t reg;
	int64_t off;

	u->cfa_type = DRIP_CFA_EXPRESSION;
	if (dwarf_frame_cfa(fr, &ops, &nops) || !ops || nops < 1)
		return;
	if (is_plt_expr(ops, nops)) {
		u->cfa_type = DRIP_CFA_PLT;
		u->cfa_off = ops[4].atom - DW_OP_lit0; /* the (rip & 15) threshold */
		return;
	}
	if (nops != 1)
		return;
	if (ops[0].atom == DW_OP_bregx) {
		reg = ops[0].number;
		off = (int64_t)ops[0].number2;
	} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		reg = ops[0].atom - DW_OP_breg0;
		off = (int64_t)ops[0].number;
	} else {
		return;
	}
	if ((reg != REG_RSP && reg != REG_RBP) || off < INT32_MIN || off > INT32_MAX)
		return;
	u->cfa_type = reg == REG_RSP ? DRIP_CFA_RSP : DRIP_CFA_RBP;
	u->cfa_off = (int32_t)off;
}

/* The rule of the frame fr describes; see enum drip_cfa_type. */
static void frame_rule(Dwarf_Frame *fr, int ra_reg, bool signal, struct rule *u)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;
	int64_t off;

	*u = (struct rule){ .cfa_type = DRIP_CFA_EXPRESSION };
	if (signal) {
		u->cfa_type = DRIP_CFA_SIGNAL;
		return;
	}
	if (ra_reg != REG_RA || dwarf_frame_register(fr, ra_reg, mem, &ops, &nops))
		return;
	if (!nops && ops == mem) { /* libdw: undefined (NULL ops would be same_value) */
		u->cfa_type = DRIP_CFA_UNDEFINED;
		return;
	}
	if (!cfa_offset_rule(ops, nops, &off) || off != -8)
		return; /* BPF reads the return address at CFA - 8, nowhere else */
	if (dwarf_frame_register(fr, REG_RBP, mem, &ops, &nops))
		return;
	if (nops) {
		if (!cfa_offset_rule(ops, nops, &off) || !fits_s16(off))
			return; /* rbp in a register or an expression: can't restore it */
		u->rbp_type = DRIP_RBP_OFFSET;
		u->rbp_off = (int16_t)off;
	}
	cfa_rule(fr, u);
	if (u->cfa_type == DRIP_CFA_EXPRESSION)
		u->rbp_type = DRIP_RBP_SAME, u->rbp_off = 0;
}

/* Rows for [f->start, f->end), then a NONE row at f->end. */
static int walk_fde(struct build *b, const struct fde *f)
{
	static const struct rule none = { .cfa_type = DRIP_CFA_NONE };
	Dwarf_CFI *cfi = b->cfi[f->src];
	uint64_t pc = f->start;
	int err = 0;

	while (pc < f->end) {
		Dwarf_Frame *fr = NULL;
		Dwarf_Addr start, end;
		struct rule u;
		bool signal = false;
		int ra;

		err = tick(b);
		if (err)
			return err;
		if (!cfi || dwarf_cfi_addrframe(cfi, pc, &fr) || !fr) {
			err = emit(b, pc, &none); /* libdw rejects this FDE's program */
			break;
		}
		ra = dwarf_frame_info(fr, &start, &end, &signal);
		if (ra < 0 || start > pc || end <= pc) {
			free(fr);
			err = emit(b, pc, &none);
			break;
		}
		frame_rule(fr, ra, signal, &u);
		free(fr);
		err = emit(b, pc, &u);
		if (err)
			return err;
		pc = end;
	}
	if (err)
		return err;
	return emit(b, f->end, &none);
}

static int cmp_fde(const void *a, const void *b)
{
	const struct fde *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1; /* .eh_frame first: it is what runs */
	return x->end > y->end ? -1 : x->end < y->end;
}

static int walk_fdes(struct build *b)
{
	uint64_t covered = 0;
	int err;

	if (!b->nr_fdes)
		return 0;
	qsort(b->fdes, b->nr_fdes, sizeof(*b->fdes), cmp_fde);
	for (size_t i = 0; i < b->nr_fdes; i++) {
		struct fde f = b->fdes[i];

		if (f.end <= covered)
			continue; /* inside an earlier FDE */
		if (f.start < covered)
			f.start = covered;
		err = walk_fde(b, &f);
		if (err)
			return err;
		covered = f.end;
	}
	return 0;
}

/* Executable ranges: PF_X PT_LOADs, or SHF_EXECINSTR sections without phdrs. */
static int find_text(struct build *b)
{
	Elf_Scn *scn = NULL;
	size_t n = 0;
	GElf_Phdr ph;
	GElf_Shdr sh;

	if (elf_getphdrnum(b->elf, &n))
		n = 0;
	for (size_t i = 0; i < n && b->nr_text < CFI_MAX_TEXT; i++) {
		if (!gelf_getphdr(b->elf, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (!ph.p_memsz || ph.p_vaddr + ph.p_memsz < ph.p_vaddr)
			continue;
		b->text[b->nr_text++] = (struct range){ ph.p_vaddr, ph.p_vaddr + ph.p_memsz };
	}
	n = b->nr_text; /* without executable PT_LOADs (relocatable files), use sections */
	while (!n && (scn = elf_nextscn(b->elf, scn)) && b->nr_text < CFI_MAX_TEXT) {
		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) != (SHF_ALLOC | SHF_EXECINSTR))
			continue;
		if (!sh.sh_size || sh.sh_addr + sh.sh_size < sh.sh_addr)
			continue;
		b->text[b->nr_text++] = (struct range){ sh.sh_addr, sh.sh_addr + sh.sh_size };
	}
	if (!b->nr_text)
		return -ENODATA;
	for (size_t i = 0; i < b->nr_text; i++)
		if (b->text[i].end > (1ull << 32))
			return -EFBIG; /* rows hold 32-bit pcs */
	return 0;
}

static bool note_build_id(Elf_Data *d, struct cfi_table *t)
{
	GElf_Nhdr nh;
	size_t off = 0, next, name_off, desc_off;

	while (d && (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp((const char *)d->d_buf + name_off, "GNU", 4) && nh.n_descsz &&
		    nh.n_descsz <= sizeof(t->build_id)) {
			memcpy(t->build_id, (const char *)d->d_buf + desc_off, nh.n_descsz);
			t->build_id_len = nh.n_descsz;
			return true;
		}
		if (next <= off)
			break;
		off = next;
	}
	return false;
}

static void find_build_id(Elf *elf, struct cfi_table *t)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Phdr ph;
	size_t n;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_NOTE &&
		    note_build_id(elf_getdata(scn, NULL), t))
			return;
	if (elf_getphdrnum(elf, &n))
		return;
	for (size_t i = 0; i < n; i++)
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_NOTE &&
		    note_build_id(elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz,
						       ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR),
				  t))
			return;
}

/* Up to the zero terminator: what follows .eh_frame in its segment is not CFI. */
static size_t eh_frame_size(const uint8_t *p, size_t size)
{
	size_t off = 0;

	while (size - off >= 4) {
		uint32_t len32;
		uint64_t len;

		memcpy(&len32, p + off, 4);
		if (!len32)
			break;
		len = len32;
		off += 4;
		if (len32 == 0xffffffff) { /* 64-bit DWARF */
			if (size - off < 8)
				break;
			memcpy(&len, p + off, 8);
			off += 8;
		}
		if (len > size - off)
			return size;
		off += len;
	}
	return off;
}

/* .eh_frame: its section, or where PT_GNU_EH_FRAME points, up to the end of that PT_LOAD. */
static int find_eh_frame(struct build *b, Elf_Scn *scn)
{
	GElf_Phdr hp = { 0 }, ph;
	uint8_t hdr[4];
	Elf_Data *d;
	GElf_Shdr sh;
	struct rd r;
	uint64_t eh;
	size_t n;

	if (scn) {
		d = elf_rawdata(scn, NULL);
		if (!d || !gelf_getshdr(scn, &sh))
			return -EBADMSG;
		b->sec[SRC_EH] = *d;
		b->vaddr[SRC_EH] = sh.sh_addr;
		return 0;
	}
	if (elf_getphdrnum(b->elf, &n))
		return 0;
	for (size_t i = 0; i < n && hp.p_type != PT_GNU_EH_FRAME; i++)
		if (!gelf_getphdr(b->elf, i, &hp))
			hp.p_type = PT_NULL;
	if (hp.p_type != PT_GNU_EH_FRAME)
		return 0;
	d = elf_getdata_rawchunk(b->elf, hp.p_offset, hp.p_filesz, ELF_T_BYTE);
	if (!d || !d->d_buf)
		return 0;
	r = (struct rd){ d->d_buf, (const uint8_t *)d->d_buf + d->d_size };
	/* version, eh_frame_ptr encoding, fde_count encoding, table encoding */
	if (rd_bytes(&r, hdr, 4) || hdr[0] != 1 || rd_encoded(&r, hdr[1], hp.p_vaddr + 4, &eh))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(b->elf, i, &ph) || ph.p_type != PT_LOAD || eh < ph.p_vaddr ||
		    eh - ph.p_vaddr >= ph.p_filesz)
			continue;
		d = elf_getdata_rawchunk(b->elf, ph.p_offset + (eh - ph.p_vaddr),
					 ph.p_filesz - (eh - ph.p_vaddr), ELF_T_BYTE);
		if (!d || !d->d_buf)
			return 0;
		b->sec[SRC_EH] = *d;
		b->sec[SRC_EH].d_size = eh_frame_size(d->d_buf, d->d_size);
		b->vaddr[SRC_EH] = eh;
		return 0;
	}
	return 0;
}

/* .debug_frame, inflated when compressed and no larger than CFI_MAX_DEBUG_SIZE */
static int find_debug_frame(struct build *b, Elf_Scn *scn, bool gnu_compressed)
{
	Elf_Data *d;
	GElf_Shdr sh;
	GElf_Chdr ch;
	uint8_t hdr[12];
	uint64_t size = 0;

	if (!scn || !gelf_getshdr(scn, &sh))
		return 0;
	if (sh.sh_flags & SHF_COMPRESSED) {
		if (!gelf_getchdr(scn, &ch) || ch.ch_size > CFI_MAX_DEBUG_SIZE ||
		    elf_compress(scn, 0, 0) < 0)
			return 0;
	} else if (gnu_compressed) {
		d = elf_rawdata(scn, NULL);
		if (!d || d->d_size < sizeof(hdr))
			return 0;
		memcpy(hdr, d->d_buf, sizeof(hdr));
		for (int i = 4; i < 12; i++) /* "ZLIB", then the big-endian inflated size */
			size = size << 8 | hdr[i];
		if (memcmp(hdr, "ZLIB", 4) || size > CFI_MAX_DEBUG_SIZE ||
		    elf_compress_gnu(scn, 0, 0) < 0)
			return 0;
	}
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || d->d_size > CFI_MAX_DEBUG_SIZE)
		return 0;
	b->sec[SRC_DEBUG] = *d;
	return 0;
}

/* Locate the CFI sections of the file. */
static int find_cfi(struct build *b)
{
	Elf_Scn *scn = NULL, *eh = NULL, *dbg = NULL;
	bool zdebug = false;
	size_t shstrndx;
	GElf_Shdr sh;
	int err;

	if (elf_getshdrstrndx(b->elf, &shstrndx))
		shstrndx = SHN_UNDEF;
	while (shstrndx != SHN_UNDEF && (scn = elf_nextscn(b->elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    !(name = elf_strptr(b->elf, shstrndx, sh.sh_name)))
			continue;
		if (!strcmp(name, ".eh_frame") && !eh) {
			eh = scn;
		} else if ((!strcmp(name, ".debug_frame") || !strcmp(name, ".zdebug_frame")) &&
			   !dbg) {
			dbg = scn;
			zdebug = name[1] == 'z';
		}
	}
	err = find_eh_frame(b, eh);
	if (!err)
		err = find_debug_frame(b, dbg, zdebug);
	if (err)
		return err;
	return b->sec[SRC_EH].d_buf || b->sec[SRC_DEBUG].d_buf ? 0 : -ENODATA;
}

/*
 * The ELF image libdw reads: a header, the CFI sections we checked and
 * .shstrtab; .eh_frame keeps its load address (pcrel pointers need it).
 */
static int open_libdw(struct build *b)
{
	static const char strtab[] = "\0.eh_frame\0.debug_frame\0.shstrtab";
	static const uint32_t names[] = { 1, 11, 24 };
	size_t off[SRC__COUNT], at = sizeof(Elf64_Ehdr) + sizeof(strtab), shoff;
	Elf64_Shdr *sh;
	Elf64_Ehdr *eh;

	for (int src = 0; src < SRC__COUNT; src++) {
		at = (at + 7) & ~(size_t)7;
		off[src] = at;
		at += b->sec[src].d_buf ? b->sec[src].d_size : 0;
	}
	shoff = (at + 7) & ~(size_t)7;
	b->image = calloc(1, shoff + 4 * sizeof(*sh));
	if (!b->image)
		return -ENOMEM;
	eh = (Elf64_Ehdr *)b->image;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_ehsize = sizeof(*eh);
	eh->e_shentsize = sizeof(*sh);
	eh->e_shoff = shoff;
	eh->e_shnum = 4;
	eh->e_shstrndx = 3;
	memcpy(b->image + sizeof(*eh), strtab, sizeof(strtab));
	sh = (Elf64_Shdr *)(b->image + shoff);
	for (int src = 0; src < SRC__COUNT; src++) {
		sh[1 + src] = (Elf64_Shdr){
			.sh_name = names[src],
			.sh_type = b->sec[src].d_buf ? SHT_PROGBITS : SHT_NOBITS,
			.sh_flags = src == SRC_EH ? SHF_ALLOC : 0,
			.sh_addr = b->vaddr[src],
			.sh_offset = off[src],
			.sh_size = b->sec[src].d_buf ? b->sec[src].d_size : 0,
			.sh_addralign = 8,
		};
		if (b->sec[src].d_buf)
			memcpy(b->image + off[src], b->sec[src].d_buf, b->sec[src].d_size);
		b->sec[src].d_buf = b->sec[src].d_buf ? b->image + off[src] : NULL;
	}
	sh[3] = (Elf64_Shdr){ .sh_name = names[2],
			      .sh_type = SHT_STRTAB,
			      .sh_offset = sizeof(*eh),
			      .sh_size = sizeof(strtab),
			      .sh_addralign = 1 };
	b->img_elf = elf_memory(b->image, shoff + 4 * sizeof(*sh));
	if (!b->img_elf)
		return -ENOMEM;
	if (b->sec[SRC_EH].d_buf)
		b->cfi[SRC_EH] = dwarf_getcfi_elf(b->img_elf);
	if (b->sec[SRC_DEBUG].d_buf) {
		b->dw = dwarf_begin_elf(b->img_elf, DWARF_C_READ, NULL);
		if (b->dw)
			b->cfi[SRC_DEBUG] = dwarf_getcfi(b->dw);
	}
	return 0;
}

static int build_elf(Elf *elf, struct cfi_table **out)
{
	struct build b = { .elf = elf };
	struct cfi_table *t = NULL;
	GElf_Ehdr eh;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &b.t0);
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return -ENOEXEC;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64)
		return -ENOTSUP; /* the rows speak x86-64 registers */
	b.ident = (const unsigned char *)elf_getident(elf, NULL);
	if (!b.ident)
		return -ENOEXEC;
	err = find_text(&b);
	if (!err)
		err = find_cfi(&b);
	if (!err)
		err = open_libdw(&b);
	for (int src = 0; src < SRC__COUNT && !err; src++)
		err = collect_fdes(&b, src);
	if (!err)
		err = walk_fdes(&b);
	if (!err && !b.nr_rows)
		err = -ENODATA;
	if (!err && !(t = calloc(1, sizeof(*t))))
		err = -ENOMEM;
	if (err)
		goto out;
	t->rows = realloc(b.rows, b.nr_rows * sizeof(*b.rows)) ?: b.rows;
	b.rows = NULL;
	t->nr = b.nr_rows;
	t->nr_fdes = b.nr_fdes;
	for (size_t i = 0; i < t->nr; i++)
		t->nr_expr += t->rows[i].cfa_type == DRIP_CFA_EXPRESSION;
	find_build_id(elf, t);
	*out = t;
out:
	free(b.rows);
	free(b.fdes);
	free(b.cies);
	if (b.cfi[SRC_EH])
		dwarf_cfi_end(b.cfi[SRC_EH]);
	dwarf_end(b.dw); /* owns cfi[SRC_DEBUG] */
	elf_end(b.img_elf);
	free(b.image);
	return err;
}

int cfi_table__build_mem(const void *buf, size_t len, struct cfi_table **out)
{
	char *copy;
	Elf *elf;
	int err;

	*out = NULL;
	if (!buf || !len)
		return -ENOEXEC;
	elf_version(EV_CURRENT);
	copy = malloc(len); /* libelf may convert or inflate sections in place */
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	elf = elf_memory(copy, len);
	err = elf ? build_elf(elf, out) : -ENOEXEC;
	elf_end(elf);
	free(copy);
	return err;
}

int cfi_table__build(const char *path, struct cfi_table **out)
{
	struct stat st;
	Elf *elf;
	int fd, err;

	*out = NULL;
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out_close;
	}
	/* ELF_C_READ: what we need is pread on demand, so a file truncated under us is an
	 * error, not SIGBUS */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	err = elf ? build_elf(elf, out) : -ENOEXEC;
	elf_end(elf);
out_close:
	close(fd);
	return err;
}

void cfi_table__free(struct cfi_table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t);
}

const struct drip_unwind_row *cfi_table__find(const struct cfi_table *t, uint64_t pc)
{
	size_t lo = 0, hi;

	if (!t || !t->nr || pc >= (1ull << 32) || pc < t->rows[0].pc)
		return NULL;
	hi = t->nr;
	while (hi - lo > 1) { /* rows[lo].pc <= pc < rows[hi].pc */
		size_t mid = lo + (hi - lo) / 2;

		if (t->rows[mid].pc <= pc)
			lo = mid;
		else
			hi = mid;
	}
	return &t->rows[lo];
}
