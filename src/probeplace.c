// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Just enough x86-64 decoding for probe placement (see probeplace.h): the
 * integer moves, arithmetic, compares and tests compilers put before a
 * function's first branch.  Anything else ends the walk, so an instruction
 * decoded wrongly can only keep a probe at the entry, never misplace it.
 */
#include <errno.h>
#include <string.h>

#include "drip/probeplace.h"

#define RSP  4
#define NONE (-1)

struct insn {
	size_t len;
	int dst; /* register written, NONE */
	bool emulated;
};

static int32_t rel32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return (int32_t)v;
}

/* 0 and *in, or -ENOENT for an instruction outside the known set */
static int decode(const uint8_t *c, size_t n, struct insn *in)
{
	size_t i = 0, imm = 0;
	unsigned rex = 0, m, mod, reg, rm, op;
	bool seg = false, modrm = true, to_rm = false, to_reg = false, need_reg_rm = false;

	while (i < n && (c[i] == 0x64 || c[i] == 0x65)) { /* %fs:, %gs: */
		seg = true;
		i++;
	}
	if (i < n && (c[i] & 0xf0) == 0x40)
		rex = c[i++];
	if (i >= n)
		return -ENOENT;
	op = c[i++];
	in->len = 0;
	in->dst = NONE;
	in->emulated = false;

	/* what the kernel emulates, as it decodes it: no prefix but push's REX.B */
	if (!seg && (!rex || (rex == 0x41 && op >= 0x50 && op <= 0x57))) {
		if ((op >= 0x70 && op <= 0x7f) || op == 0xeb)
			in->len = i + 1;
		else if (op == 0xe8 || op == 0xe9)
			in->len = i + 4;
		else if (op == 0x0f && i < n && c[i] >= 0x80 && c[i] <= 0x8f)
			in->len = i + 5;
		else if (op >= 0x50 && op <= 0x57)
			in->len = i;
		if (in->len && in->len <= n) {
			in->emulated = true;
			return 0;
		}
		in->len = 0;
	}

	switch (op) {
	case 0x01:
	case 0x09:
	case 0x21:
	case 0x29:
	case 0x31: /* add or and sub xor r/m, r */
	case 0x89: /* mov r/m, r */
		to_rm = need_reg_rm = true;
		break;
	case 0x03:
	case 0x0b:
	case 0x23:
	case 0x2b:
	case 0x33: /* ... r, r/m */
	case 0x8b:
	case 0x8d: /* mov, lea */
		to_reg = true;
		break;
	case 0x38:
	case 0x39:
	case 0x3a:
	case 0x3b:
	case 0x84:
	case 0x85: /* cmp, test */
		break;
	case 0x81:
	case 0x83:
	case 0xc1:
	case 0xf7: /* group 1 imm, shifts imm, test imm */
		imm = op == 0x81 || op == 0xf7 ? 4 : 1;
		break;
	case 0x3d:
	case 0xa9: /* cmp, test %eax, imm32 */
	case 0x05:
	case 0x0d:
	case 0x25:
	case 0x2d:
	case 0x35:
		modrm = false;
		imm = 4;
		in->dst = op == 0x3d || op == 0xa9 ? NONE : 0;
		break;
	case 0x0f: /* movzx, movsx */
		if (i >= n || (c[i] != 0xb6 && c[i] != 0xb7 && c[i] != 0xbe && c[i] != 0xbf))
			return -ENOENT;
		i++;
		to_reg = true;
		break;
	default:
		if (op < 0xb8 || op > 0xbf) /* mov imm, r */
			return -ENOENT;
		modrm = false;
		imm = rex & 8 ? 8 : 4;
		in->dst = (op & 7) | (rex & 1 ? 8 : 0);
		break;
	}

	if (modrm) {
		if (i >= n)
			return -ENOENT;
		m = c[i++];
		mod = m >> 6;
		reg = ((m >> 3) & 7) | (rex & 4 ? 8 : 0);
		rm = (m & 7) | (rex & 1 ? 8 : 0);
		if (mod != 3 && (m & 7) == 4) { /* SIB; base 5 without mod: disp32 */
			if (i >= n)
				return -ENOENT;
			if (mod == 0 && (c[i] & 7) == 5)
				i += 4;
			i++;
		}
		if (mod == 1)
			i += 1;
		else if (mod == 2 || (mod == 0 && (m & 7) == 5)) /* disp32, rip-relative */
			i += 4;
		if (op == 0x8d && mod == 3)
			return -ENOENT;
		if (op == 0xf7 && (reg & 7))
			return -ENOENT; /* not, neg, mul, div: write rdx or memory */
		if ((op == 0x81 || op == 0x83 || op == 0xc1) && !(op != 0xc1 && (reg & 7) == 7))
			to_rm = need_reg_rm = true; /* all but cmp write their r/m */
		if (need_reg_rm && mod != 3)
			return -ENOENT; /* a store: could be the return address */
		if (to_rm)
			in->dst = rm;
		else if (to_reg)
			in->dst = reg;
	}
	in->len = i + imm;
	return in->len <= n ? 0 : -ENOENT;
}

int probeplace__window(const uint8_t *code, size_t len, uint32_t keep, struct probe_window *w)
{
	struct insn in;
	size_t off = 0;

	memset(w, 0, sizeof(*w));
	for (size_t k = 0; k <= PP_MAX_INSNS; k++) {
		if (decode(code + off, len - off, &in))
			return -ENOENT;
		if (in.emulated) {
			if (!off)
				return -ENOENT; /* nothing to gain */
			w->site = off;
			w->site_len = in.len;
			return 0;
		}
		if (k == PP_MAX_INSNS ||
		    (in.dst != NONE && (in.dst == RSP || keep & PP_REG(in.dst))))
			return -ENOENT;
		off += in.len;
		w->ends[w->nr++] = off;
	}
	return -ENOENT;
}

static bool lands(const struct probe_window *w, size_t entry, int64_t t)
{
	for (size_t i = 0; i < w->nr; i++)
		if (t == (int64_t)(entry + w->ends[i]))
			return true;
	return false;
}

bool probeplace__branch_into(const uint8_t *text, size_t len, size_t entry,
			     const struct probe_window *w)
{
	int64_t t;

	for (size_t p = 0; p < len; p++) {
		/* the decoded stretch holds no branch; the site itself may be one */
		if (p >= entry && p < entry + w->site)
			continue;
		if (p > entry + w->site && p < entry + w->site + w->site_len)
			continue;
		if (((text[p] >= 0x70 && text[p] <= 0x7f) || text[p] == 0xeb) && p + 2 <= len)
			t = (int64_t)p + 2 + (int8_t)text[p + 1];
		else if ((text[p] == 0xe8 || text[p] == 0xe9) && p + 5 <= len)
			t = (int64_t)p + 5 + rel32(text + p + 1);
		else if (text[p] == 0x0f && p + 6 <= len && text[p + 1] >= 0x80 &&
			 text[p + 1] <= 0x8f)
			t = (int64_t)p + 6 + rel32(text + p + 2);
		else
			continue;
		if (lands(w, entry, t))
			return true;
	}
	return false;
}
