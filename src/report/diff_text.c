// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Text diff of two reports (`drip report --diff OLD NEW`): what grew and
 * what shrank. Stacks are matched by stack_id (the same call stack in both
 * runs, whatever the PIDs and load addresses); each side sums
 * outstanding_bytes and outstanding_allocs over its rows of that stack_id,
 * live and exited, in every process. Stacks are listed by the absolute
 * change of the weight (bytes, or blocks with --weight count), largest
 * first; "new" held nothing in OLD, "gone" holds nothing in NEW. Figures are
 * exact, with a human-readable size beside them. Names from the target are
 * printed safely for a terminal (controls, bidi overrides and invalid UTF-8
 * as '?'). With o->color, changes are coloured by direction: growth (and
 * "grew", "new") red, shrink ("shrank", "gone") green.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "drip/folded.h"
#include "drip/formats.h"
#include "drip/report_cmd.h"
#include "drip/units.h"

#define DEFAULT_TOP 20
#define SGR_GROW    "\033[31m" /* red */
#define SGR_SHRINK  "\033[32m" /* green */
#define SGR_RESET   "\033[0m"

struct side {
	const struct report_stack *top; /* the largest row: its frames are shown */
	uint64_t bytes, allocs;
};

struct change {
	const char *id;
	struct side old, now;
};

/* Sums per stack_id: rows sorted by id, then one entry per id */
struct sums {
	const struct report_stack **rows;
	struct side *sides;
	size_t nr;
};

static int cmp_row_id(const void *a, const void *b)
{
	const struct report_stack *x = *(const struct report_stack *const *)a;
	const struct report_stack *y = *(const struct report_stack *const *)b;
	int c = strncmp(x->stack_id, y->stack_id, sizeof(x->stack_id));

	if (!c && x->outstanding_bytes != y->outstanding_bytes)
		c = x->outstanding_bytes > y->outstanding_bytes ? -1 : 1;
	return c ? c : (x < y ? -1 : x > y);
}

static int sums_init(struct sums *s, const struct report *r)
{
	size_t i, n = r->nr_stacks;

	s->nr = 0;
	s->rows = calloc(n + 1, sizeof(*s->rows));
	s->sides = calloc(n + 1, sizeof(*s->sides));
	if (!s->rows || !s->sides)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		s->rows[i] = &r->stacks[i];
	qsort(s->rows, n, sizeof(*s->rows), cmp_row_id);
	for (i = 0; i < n; i++) {
		struct side *d = &s->sides[s->nr];

		if (i && !strncmp(s->rows[i]->stack_id, s->rows[i - 1]->stack_id, 17))
			d = &s->sides[s->nr - 1];
		else
			s->rows[s->nr++] =
				s->rows[i]; /* rows[k]: the first (largest) row of id k */
		if (!d->top)
			d->top = s->rows[i];
		d->bytes += s->rows[i]->outstanding_bytes;
		d->allocs += s->rows[i]->outstanding_allocs;
	}
	return 0;
}

static void sums_release(struct sums *s)
{
	free(s->rows);
	free(s->sides);
}

static uint64_t weight(const struct side *s, enum weight w)
{
	return w == WEIGHT_COUNT ? s->allocs : s->bytes;
}

static uint64_t abs_delta(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

static int cmp_change(const void *a, const void *b, void *ctx)
{
	const struct change *x = a, *y = b;
	enum weight w = *(const enum weight *)ctx,
		    o = w == WEIGHT_COUNT ? WEIGHT_BYTES : WEIGHT_COUNT;
	uint64_t dx = abs_delta(weight(&x->old, w), weight(&x->now, w));
	uint64_t dy = abs_delta(weight(&y->old, w), weight(&y->now, w));

	if (dx == dy) {
		dx = abs_delta(weight(&x->old, o), weight(&x->now, o));
		dy = abs_delta(weight(&y->old, o), weight(&y->now, o));
	}
	if (dx != dy)
		return dx > dy ? -1 : 1;
	return strncmp(x->id, y->id, 17);
}

/* the colour of a change from old to now (none when equal, or without colour) */
static const char *sgr(bool color, uint64_t old, uint64_t now)
{
	if (!color || old == now)
		return "";
	return now > old ? SGR_GROW : SGR_SHRINK;
}

static const char *sgr_end(const char *start)
{
	return *start ? SGR_RESET : "";
}

/* "+409600 B (+400.0 KiB)", "-12 B", "0 B" */
static void put_delta_bytes(FILE *f, uint64_t old, uint64_t now, bool color)
{
	uint64_t d = abs_delta(old, now);
	const char *sign = now > old ? "+" : now < old ? "-" : "", *c = sgr(color, old, now);
	char hb[16];

	fprintf(f, "%s%s%" PRIu64 " B", c, sign, d);
	if (d >= 1024)
		fprintf(f, " (%s%s)", sign, units__bytes(hb, d));
	fputs(sgr_end(c), f);
}

static void put_delta_count(FILE *f, uint64_t old, uint64_t now, bool color)
{
	const char *c = sgr(color, old, now);

	fprintf(f, "%s%s%" PRIu64 "%s", c,
		now > old ? "+" :
		now < old ? "-" :
			    "",
		abs_delta(old, now), sgr_end(c));
}

static void put_safe(FILE *f, struct sbuf *b, const char *s)
{
	b->len = 0;
	folded__add_safe(b, s, false);
	fwrite(b->buf, 1, b->len, f);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

static void print_frame(FILE *f, struct sbuf *b, size_t i, const struct report_frame *fr)
{
	fprintf(f, "    #%zu ", i);
	if (fr->function)
		put_safe(f, b, fr->function);
	else
		fprintf(f, "?? 0x%" PRIx64, fr->address);
	if (fr->kind == FRAME_PYTHON) {
		fputs(" [python]", f);
	} else if (fr->module) {
		fputs(" (", f);
		put_safe(f, b, base_name(fr->module));
		fputc(')', f);
	}
	if (fr->file) {
		fputc(' ', f);
		put_safe(f, b, base_name(fr->file));
		if (fr->line)
			fprintf(f, ":%" PRIu32, fr->line);
	}
	if (fr->inlined)
		fputs(" [inlined]", f);
	fputc('\n', f);
}

static void print_change(FILE *f, struct sbuf *b, size_t rank, const struct change *c, bool color)
{
	const struct report_stack *s = c->now.top ? c->now.top : c->old.top;
	bool held_old = c->old.allocs || c->old.bytes, held_now = c->now.allocs || c->now.bytes;
	bool up = !held_old || (held_now && c->now.bytes >= c->old.bytes);
	const char *st = color ? (up ? SGR_GROW : SGR_SHRINK) : "";
	char ho[16], hn[16];
	char id[17];

	fprintf(f, "\n[%zu] ", rank);
	put_delta_bytes(f, c->old.bytes, c->now.bytes, color);
	fprintf(f, ", %s%s%s: %s -> %s, blocks %" PRIu64 " -> %" PRIu64 " (", st,
		!held_old ? "new" :
		!held_now ? "gone" :
		up	  ? "grew" :
			    "shrank",
		sgr_end(st), units__bytes(ho, c->old.bytes), units__bytes(hn, c->now.bytes),
		c->old.allocs, c->now.allocs);
	put_delta_count(f, c->old.allocs, c->now.allocs, color);
	memcpy(id, c->id, 16);
	id[16] = '\0';
	fputs("), stack ", f);
	put_safe(f, b, id);
	fputc('\n', f);
	if (!s->nr_frames)
		fputs("    (no frames)\n", f);
	for (size_t i = 0; i < s->nr_frames; i++)
		print_frame(f, b, i, &s->frames[i]);
	if (s->truncated)
		fputs("    ... (stack truncated)\n", f);
}

static void print_header(FILE *f, const struct report *old, const struct report *now,
			 size_t counts[4], size_t unchanged, bool color)
{
	const struct report_totals *a = &old->totals, *b = &now->totals;
	char ho[16], hn[16];

	fputs("drip " DRIP_VERSION " diff: outstanding ", f);
	fprintf(f, "%s -> %s: ", units__bytes(ho, a->outstanding_bytes),
		units__bytes(hn, b->outstanding_bytes));
	put_delta_bytes(f, a->outstanding_bytes, b->outstanding_bytes, color);
	fprintf(f, " (%" PRIu64 " -> %" PRIu64 " B)\n", a->outstanding_bytes, b->outstanding_bytes);
	fprintf(f, "blocks %" PRIu64 " -> %" PRIu64 " (", a->outstanding_allocs,
		b->outstanding_allocs);
	put_delta_count(f, a->outstanding_allocs, b->outstanding_allocs, color);
	fprintf(f, "), allocs %" PRIu64 " -> %" PRIu64 ", frees %" PRIu64 " -> %" PRIu64 "\n",
		a->allocs, b->allocs, a->frees, b->frees);
	fprintf(f, "stacks: %zu grew, %zu shrank, %zu new, %zu gone, %zu unchanged\n", counts[0],
		counts[1], counts[2], counts[3], unchanged);
	if (old->incomplete || now->incomplete)
		fprintf(f, "INCOMPLETE: the %s report lost data, figures are approximate\n",
			old->incomplete && now->incomplete ? "OLD and NEW" :
			old->incomplete			   ? "OLD" :
							     "NEW");
}

int format_diff_text(const struct report *r, const struct format_opts *o, FILE *f)
{
	const struct report *old = o ? o->base : NULL;
	size_t top = o && o->top ? o->top : DEFAULT_TOP;
	bool color = o && o->color;
	struct sums a = { 0 }, b = { 0 };
	struct change *ch = NULL;
	size_t i = 0, j = 0, n = 0, counts[4] = { 0 }, unchanged = 0;
	uint64_t rest_up = 0, rest_down = 0;
	struct sbuf name = { 0 };
	int err, c;

	if (!old)
		return -EINVAL;
	err = sums_init(&a, old);
	if (!err)
		err = sums_init(&b, r);
	if (!err && !(ch = calloc(a.nr + b.nr + 1, sizeof(*ch))))
		err = -ENOMEM;
	if (err)
		goto out;
	/* merge the two id-sorted lists */
	while (i < a.nr || j < b.nr) {
		struct change *x = &ch[n];

		c = i == a.nr ? 1 :
		    j == b.nr ? -1 :
				strncmp(a.rows[i]->stack_id, b.rows[j]->stack_id, 17);
		if (c <= 0) {
			x->id = a.rows[i]->stack_id;
			x->old = a.sides[i++];
		}
		if (c >= 0) {
			x->id = b.rows[j]->stack_id;
			x->now = b.sides[j++];
		}
		if (x->old.bytes == x->now.bytes && x->old.allocs == x->now.allocs) {
			unchanged += x->old.allocs || x->old.bytes;
			memset(x, 0, sizeof(*x));
			continue;
		}
		counts[!(x->old.allocs || x->old.bytes) ? 2 :
		       !(x->now.allocs || x->now.bytes) ? 3 :
		       x->now.bytes >= x->old.bytes	? 0 :
							  1]++;
		n++;
	}
	qsort_r(ch, n, sizeof(*ch), cmp_change, (void *)&o->weight);
	print_header(f, old, r, counts, unchanged, color);
	for (i = 0; i < n && i < top; i++)
		print_change(f, &name, i + 1, &ch[i], color);
	for (; i < n; i++) {
		if (ch[i].now.bytes > ch[i].old.bytes)
			rest_up += ch[i].now.bytes - ch[i].old.bytes;
		else
			rest_down += ch[i].old.bytes - ch[i].now.bytes;
	}
	if (n > top)
		fprintf(f,
			"\n... and %zu more changed stacks: %s+%" PRIu64 " B%s, %s-%" PRIu64
			" B%s\n",
			n - top, color ? SGR_GROW : "", rest_up, color ? SGR_RESET : "",
			color ? SGR_SHRINK : "", rest_down, color ? SGR_RESET : "");
	if (!n)
		fputs("\nno stack changed\n", f);
	if (fflush(f) || ferror(f))
		err = -EIO;
out:
	sums_release(&a);
	sums_release(&b);
	free(ch);
	sbuf__release(&name);
	return err;
}
