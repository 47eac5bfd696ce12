// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Folded stacks ("collapsed" stacks), as flamegraph.pl, inferno and
 * speedscope read them: one line per distinct stack,
 *
 *	root;caller;...;leaf WEIGHT
 *
 * root is the outermost frame and leaf frames[0], the allocator's caller.
 * WEIGHT is outstanding_bytes (default) or outstanding_allocs (--weight
 * count), summed over the report rows that fold to the same line (the same
 * stack in several processes, or two stacks whose names are equal); rows of
 * weight 0 are left out. --per-pid puts "comm [pid]" ("[pid]" when the comm
 * is unknown) at the root; a stack
 * cut short gets "[truncated]" above its outermost frame, and one without
 * frames (--no-stacks) is "[no stack]". Lines come largest first.
 *
 * For a diff (o->base), lines are flamegraph.pl's difffolded input,
 * "stack OLD NEW", for every line with weight in either report.
 *
 * Names: the function; for Python "function (file:line)"; a native frame
 * without a name "?? (libfoo.so)" (the module's file name; runtime addresses
 * differ per process and per run, so they are left out and such frames of a
 * module merge, as perf's [unknown] do), "[anon]" for JIT code, or "??".
 * Inlined frames are frames of their own. The same names as the svg/html
 * flame graphs.
 *
 * The format has no escaping, so the mapping is lossy, and documented:
 * ';' (the frame separator) becomes ':'; control bytes (newline, tab, ...),
 * DEL, C1 controls, bidi embeddings/overrides/isolates and each byte that is
 * not valid UTF-8 become '?'. Everything else, spaces and <>&"' included,
 * is kept: the weight is the text after the last space, so names may hold
 * spaces.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "drip/folded.h"
#include "drip/formats.h"
#include "drip/hash.h"
#include "drip/utf8.h"

/* --- buffer ----------------------------------------------------------------------- */

void sbuf__release(struct sbuf *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

static bool sbuf_reserve(struct sbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->cap - b->len >= n)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	p = realloc(b->buf, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->buf = p;
	b->cap = cap;
	return true;
}

void sbuf__add(struct sbuf *b, const void *p, size_t n)
{
	if (!n || !sbuf_reserve(b, n))
		return;
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void sbuf_str(struct sbuf *b, const char *s)
{
	sbuf__add(b, s, strlen(s));
}

static void sbuf_u64(struct sbuf *b, uint64_t v)
{
	char buf[20], *p = buf + sizeof(buf);

	do {
		*--p = '0' + v % 10;
		v /= 10;
	} while (v);
	sbuf__add(b, p, buf + sizeof(buf) - p);
}

/* --- names ------------------------------------------------------------------------- */

void folded__add_safe(struct sbuf *b, const char *s, bool fold)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	uint32_t cp;
	size_t n;

	while (*p) {
		if (*p >= 0x20 && *p < 0x7f && !(fold && *p == ';')) {
			p++;
			continue;
		}
		n = *p >= 0x80 ? utf8_decode(p, SIZE_MAX, &cp) : 0;
		if (n && !utf8_unsafe_code_point(cp)) {
			p += n;
			continue;
		}
		sbuf__add(b, run, p - run);
		sbuf__add(b, *p == ';' ? ":" : "?", 1); /* one per byte, or per unsafe character */
		p += n ? n : 1;
		run = p;
	}
	sbuf__add(b, run, p - run);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

void folded__add_frame(struct sbuf *b, const struct report_frame *fr, bool fold)
{
	bool named = fr->function && fr->function[0];

	if (fr->kind == FRAME_PYTHON) {
		folded__add_safe(b, named ? fr->function : "??", fold);
		if (fr->file && fr->file[0]) {
			sbuf_str(b, " (");
			folded__add_safe(b, fr->file, fold);
			if (fr->line) {
				sbuf_str(b, ":");
				sbuf_u64(b, fr->line);
			}
			sbuf_str(b, ")");
		}
		return;
	}
	if (named) {
		folded__add_safe(b, fr->function, fold);
	} else if (fr->module && !strcmp(fr->module, "[anon]")) {
		sbuf_str(b, "[anon]");
	} else if (fr->module && fr->module[0]) {
		sbuf_str(b, "?? (");
		folded__add_safe(b, base_name(fr->module), fold);
		sbuf_str(b, ")");
	} else {
		sbuf_str(b, "??");
	}
}

static const struct report_process *find_process(const struct report *r, uint32_t pid)
{
	size_t lo = 0, hi = r->nr_processes; /* sorted by pid */

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->processes[mid].pid == pid)
			return &r->processes[mid];
		if (r->processes[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void folded__add_process(struct sbuf *b, const struct report *r, uint32_t pid, bool fold)
{
	const struct report_process *p = find_process(r, pid);

	if (p && p->comm && p->comm[0]) { /* else "[pid]": the comm is unknown */
		folded__add_safe(b, p->comm, fold);
		sbuf_str(b, " ");
	}
	sbuf_str(b, "[");
	sbuf_u64(b, pid);
	sbuf_str(b, "]");
}

/* --- lines ------------------------------------------------------------------------- */

struct line {
	size_t off, len; /* in table.text */
	uint64_t hash;
	uint64_t w[2]; /* [0]: base (old) report, [1]: the report */
};

/*
 * A frame's name, remembered by what it is made of (the strings' addresses:
 * a report shares them between its frames, and they do not change while it
 * is written), so each distinct frame is made safe once, not once per stack.
 */
struct name {
	const char *function, *file, *module;
	uint32_t line;
	int kind; /* enum frame_kind; -1: an empty slot */
	size_t off;
	size_t len;
};

struct table {
	struct sbuf text; /* every distinct line's stack, back to back */
	struct line *lines;
	size_t nr, cap_lines;
	uint32_t *slots; /* open addressing: line index + 1; 0 empty */
	size_t nr_slots; /* a power of two */
	struct sbuf name_text;
	struct name *names; /* open addressing */
	size_t nr_names, cap_names;
};

static void table_release(struct table *t)
{
	sbuf__release(&t->text);
	free(t->lines);
	free(t->slots);
	sbuf__release(&t->name_text);
	free(t->names);
}

/* Only what the name is made of: see folded__add_frame() */
static struct name name_key(const struct report_frame *fr)
{
	struct name k = { .kind = fr->kind, .function = fr->function };

	if (fr->kind == FRAME_PYTHON) {
		k.file = fr->file;
		k.line = fr->line;
	} else if (!fr->function || !fr->function[0]) {
		k.module = fr->module;
	}
	return k;
}

static uint64_t name_hash(const struct name *k)
{
	return hash_mix((uintptr_t)k->function * 0x9e3779b97f4a7c15ull ^
			(uintptr_t)k->file * 0xc2b2ae3d27d4eb4full ^ (uintptr_t)k->module ^
			((uint64_t)k->line << 32 | (uint32_t)k->kind));
}

static int names_grow(struct table *t)
{
	size_t cap = t->cap_names ? t->cap_names * 2 : 1024, k;
	struct name *n = malloc(cap * sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (k = 0; k < cap; k++)
		n[k].kind = -1;
	for (size_t i = 0; i < t->cap_names; i++) {
		if (t->names[i].kind < 0)
			continue;
		for (k = name_hash(&t->names[i]) & (cap - 1); n[k].kind >= 0;
		     k = (k + 1) & (cap - 1))
			;
		n[k] = t->names[i];
	}
	free(t->names);
	t->names = n;
	t->cap_names = cap;
	return 0;
}

/* folded__add_frame(&t->text, fr, true), made once per distinct frame */
static int add_frame(struct table *t, const struct report_frame *fr)
{
	struct name k = name_key(fr), *n;
	size_t i;

	if ((t->nr_names + 1) * 2 > t->cap_names && names_grow(t))
		return -ENOMEM;
	for (i = name_hash(&k) & (t->cap_names - 1);; i = (i + 1) & (t->cap_names - 1)) {
		n = &t->names[i];
		if (n->kind < 0)
			break;
		if (n->kind == k.kind && n->function == k.function && n->file == k.file &&
		    n->module == k.module && n->line == k.line) {
			sbuf__add(&t->text, t->name_text.buf + n->off, n->len);
			return 0;
		}
	}
	k.off = t->name_text.len;
	folded__add_frame(&t->name_text, fr, true);
	if (t->name_text.oom)
		return -ENOMEM;
	k.len = t->name_text.len - k.off;
	*n = k;
	t->nr_names++;
	sbuf__add(&t->text, t->name_text.buf + k.off, k.len);
	return 0;
}

static int table_grow(struct table *t)
{
	size_t n = t->nr_slots ? t->nr_slots * 2 : 1024, k;
	uint32_t *slots;

	if (n > UINT32_MAX)
		return -E2BIG;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->nr; i++) {
		for (k = t->lines[i].hash & (n - 1); slots[k]; k = (k + 1) & (n - 1))
			;
		slots[k] = i + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->nr_slots = n;
	return 0;
}

/* The stack just appended to t->text at off: add w to its line (one line per distinct text) */
static int table_add(struct table *t, size_t off, int which, uint64_t w)
{
	size_t len = t->text.len - off, k;
	uint64_t h;
	struct line *l;
	int err;

	if (t->text.oom)
		return -ENOMEM;
	if ((t->nr + 1) * 2 > t->nr_slots && (err = table_grow(t)))
		return err;
	h = hash_bytes(t->text.buf + off, len);
	for (k = h & (t->nr_slots - 1); t->slots[k]; k = (k + 1) & (t->nr_slots - 1)) {
		l = &t->lines[t->slots[k] - 1];
		if (l->hash == h && l->len == len &&
		    !memcmp(t->text.buf + l->off, t->text.buf + off, len)) {
			l->w[which] += w;
			t->text.len = off; /* a copy: forget it */
			return 0;
		}
	}
	if (t->nr == t->cap_lines) {
		size_t cap = t->cap_lines ? t->cap_lines * 2 : 256;
		struct line *n = realloc(t->lines, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->lines = n;
		t->cap_lines = cap;
	}
	l = &t->lines[t->nr++];
	*l = (struct line){ .off = off, .len = len, .hash = h };
	l->w[which] = w;
	t->slots[k] = t->nr;
	return 0;
}

static uint64_t weight_of(const struct report_stack *s, enum weight w)
{
	return w == WEIGHT_COUNT ? s->outstanding_allocs : s->outstanding_bytes;
}

/* Every row of r with weight, as stack text, into column `which` */
static int add_report(struct table *t, const struct report *r, const struct format_opts *o,
		      int which)
{
	enum weight wt = o ? o->weight : WEIGHT_BYTES;
	bool per_pid = o && o->per_pid;
	size_t i, j, off;
	int err;

	for (i = 0; i < r->nr_stacks; i++) {
		const struct report_stack *s = &r->stacks[i];
		uint64_t w = weight_of(s, wt);

		if (!w)
			continue;
		off = t->text.len;
		if (per_pid) {
			folded__add_process(&t->text, r, s->pid, true);
			sbuf__add(&t->text, ";", 1);
		}
		if (s->truncated && s->nr_frames)
			sbuf_str(&t->text, "[truncated];");
		for (j = s->nr_frames; j-- > 0;) {
			err = add_frame(t, &s->frames[j]);
			if (err)
				return err;
			if (j)
				sbuf__add(&t->text, ";", 1);
		}
		if (!s->nr_frames)
			sbuf_str(&t->text, "[no stack]");
		err = table_add(t, off, which, w);
		if (err)
			return err;
	}
	return 0;
}

/* heaviest first (by the report, then the base), then by text: the output is deterministic */
static int cmp_lines(const void *a, const void *b, void *ctx)
{
	const struct line *x = a, *y = b;
	const char *text = ((const struct table *)ctx)->text.buf;
	int c;

	if (x->w[1] != y->w[1])
		return x->w[1] > y->w[1] ? -1 : 1;
	if (x->w[0] != y->w[0])
		return x->w[0] > y->w[0] ? -1 : 1;
	c = memcmp(text + x->off, text + y->off, x->len < y->len ? x->len : y->len);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

int format_folded(const struct report *r, const struct format_opts *o, FILE *f)
{
	const struct report *base = o ? o->base : NULL;
	struct table t = { 0 };
	struct sbuf num = { 0 };
	int err;

	err = add_report(&t, r, o, 1);
	if (!err && base)
		err = add_report(&t, base, o, 0);
	if (err)
		goto out;
	if (t.nr)
		qsort_r(t.lines, t.nr, sizeof(*t.lines), cmp_lines, &t);
	for (size_t i = 0; i < t.nr; i++) {
		const struct line *l = &t.lines[i];

		num.len = 0;
		if (base) {
			sbuf__add(&num, " ", 1);
			sbuf_u64(&num, l->w[0]);
		}
		sbuf__add(&num, " ", 1);
		sbuf_u64(&num, l->w[1]);
		sbuf__add(&num, "\n", 1);
		if (num.oom) {
			err = -ENOMEM;
			goto out;
		}
		fwrite(t.text.buf + l->off, 1, l->len, f);
		fwrite(num.buf, 1, num.len, f);
	}
	if (fflush(f) || ferror(f))
		err = -EIO;
out:
	table_release(&t);
	sbuf__release(&num);
	return err;
}
