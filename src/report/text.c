// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Human-readable report. Rows of r->stacks are grouped by stack_id twice,
 * over live rows and over exited rows, so memory still held by running
 * processes and memory in use at exit are shown apart (a stack_id often has
 * both). Strings from the target go through put_safe(): control bytes, C1
 * controls, bidi overrides and invalid UTF-8 print as '?', so a comm or a
 * path cannot drive the terminal.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "drip/report.h"
#include "drip/units.h"
#include "drip/utf8.h"

#define TEXT_DEFAULT_TOP 20
#define TEXT_MAX_PIDS	 8  /* pids listed per stack */
#define TEXT_MAX_PROCS	 50 /* process table rows, unless verbose */
#define TEXT_COMM_COLS	 16

struct group {
	const struct report_stack **rows; /* every row with this stack_id, largest first */
	size_t nr_rows;
	const struct report_stack *top; /* largest row in this group's state */
	uint32_t pids;
	uint64_t bytes;
	uint64_t allocs;
	uint64_t min_bytes;
	uint64_t max_bytes;
};

struct groups {
	const struct report_stack **by_id; /* rows sorted by stack_id, then size */
	struct group *live;
	struct group *exited;
	size_t nr_live;
	size_t nr_exited;
};

/* Print s for a terminal; returns the characters printed (for padding). */
static size_t put_safe(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	size_t cols = 0, n;
	uint32_t cp;

	while (*p) {
		cols++;
		if (*p >= 0x20 && *p < 0x7f) {
			p++;
			continue;
		}
		n = *p >= 0x80 ? utf8_decode(p, SIZE_MAX, &cp) : 0;
		if (n && !utf8_unsafe_code_point(cp)) {
			p += n;
			continue;
		}
		if (p > run)
			fwrite(run, 1, p - run, f);
		fputc('?', f); /* one per invalid byte, or per unsafe character */
		p += n ? n : 1;
		run = p;
	}
	if (p > run)
		fwrite(run, 1, p - run, f);
	return cols;
}

static void put_safe_padded(FILE *f, const char *s, size_t cols)
{
	size_t n = s ? put_safe(f, s) : 0;

	if (!s) {
		fputc('?', f);
		n = 1;
	}
	for (; n < cols; n++)
		fputc(' ', f);
}

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/* "6.2 MiB (6553600 B)", or "512 B" when that is already exact */
static void put_size(FILE *f, uint64_t v)
{
	char hb[16];

	if (v < 1024)
		fputs(units__bytes(hb, v), f);
	else
		fprintf(f, "%s (%" PRIu64 " B)", units__bytes(hb, v), v);
}

static void put_stack_id(FILE *f, const char stack_id[17])
{
	char id[17];

	memcpy(id, stack_id, sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	put_safe(f, id);
}

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
	return a > b ? -1 : a < b;
}

static int cmp_row_by_id(const void *a, const void *b)
{
	const struct report_stack *x = *(const struct report_stack *const *)a;
	const struct report_stack *y = *(const struct report_stack *const *)b;
	int c = strncmp(x->stack_id, y->stack_id, sizeof(x->stack_id));

	if (!c)
		c = cmp_u64_desc(x->outstanding_bytes, y->outstanding_bytes);
	if (!c)
		c = x->pid < y->pid ? -1 : x->pid > y->pid;
	if (!c)
		c = x < y ? -1 : x > y;
	return c;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c = cmp_u64_desc(x->bytes, y->bytes);

	if (!c)
		c = cmp_u64_desc(x->allocs, y->allocs);
	if (!c)
		c = strncmp(x->top->stack_id, y->top->stack_id, sizeof(x->top->stack_id));
	return c;
}

static void group__add(struct group *g, const struct report_stack *s)
{
	if (!g->pids || s->outstanding_bytes < g->min_bytes)
		g->min_bytes = s->outstanding_bytes;
	if (!g->pids || s->outstanding_bytes > g->max_bytes)
		g->max_bytes = s->outstanding_bytes;
	if (!g->pids)
		g->top = s; /* rows come largest first */
	g->pids++;
	g->bytes += s->outstanding_bytes;
	g->allocs += s->outstanding_allocs;
}

static void groups__release(struct groups *gs)
{
	free(gs->by_id);
	free(gs->live);
	free(gs->exited);
}

static int groups__init(struct groups *gs, const struct report *r)
{
	size_t i, j, n = r->nr_stacks;
	struct group *live, *dead;

	gs->by_id = calloc(n + 1, sizeof(*gs->by_id));
	gs->live = calloc(n + 1, sizeof(*gs->live));
	gs->exited = calloc(n + 1, sizeof(*gs->exited));
	if (!gs->by_id || !gs->live || !gs->exited)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		gs->by_id[i] = &r->stacks[i];
	qsort(gs->by_id, n, sizeof(*gs->by_id), cmp_row_by_id);

	for (i = 0; i < n; i = j) {
		live = &gs->live[gs->nr_live];
		dead = &gs->exited[gs->nr_exited];
		for (j = i; j < n; j++) {
			if (strncmp(gs->by_id[i]->stack_id, gs->by_id[j]->stack_id,
				    sizeof(r->stacks->stack_id)))
				break;
			/* the text report is about what is held: fully freed sites stay in JSON */
			if (gs->by_id[j]->outstanding_allocs)
				group__add(gs->by_id[j]->exited ? dead : live, gs->by_id[j]);
		}
		live->rows = dead->rows = &gs->by_id[i];
		live->nr_rows = dead->nr_rows = j - i;
		gs->nr_live += !!live->pids;
		gs->nr_exited += !!dead->pids;
	}
	qsort(gs->live, gs->nr_live, sizeof(*gs->live), cmp_group);
	qsort(gs->exited, gs->nr_exited, sizeof(*gs->exited), cmp_group);
	return 0;
}

static void print_frame(FILE *f, size_t i, const struct report_frame *fr, bool verbose)
{
	fprintf(f, "    #%zu ", i);
	if (fr->function)
		put_safe(f, fr->function);
	else
		fputs("??", f);
	if (fr->kind != FRAME_PYTHON && (!fr->function || verbose))
		fprintf(f, " 0x%" PRIx64, fr->address);
	if (fr->kind == FRAME_PYTHON) {
		fputs(" [python]", f);
	} else if (fr->module) {
		fputs(" (", f);
		put_safe(f, base_name(fr->module));
		fputc(')', f);
	}
	if (fr->file) {
		fputc(' ', f);
		put_safe(f, verbose ? fr->file : base_name(fr->file));
		if (fr->line)
			fprintf(f, ":%" PRIu32, fr->line);
	}
	if (fr->inlined)
		fputs(" [inlined]", f);
	fputc('\n', f);
}

/* every pid holding this stack, live or exited */
static void print_pids(FILE *f, const struct group *g)
{
	const struct report_stack *s;
	char hb[16];
	size_t i;

	fputs("    pids:", f);
	for (i = 0; i < g->nr_rows && i < TEXT_MAX_PIDS; i++) {
		s = g->rows[i];
		fprintf(f, "%s %" PRIu32 "%s: %s", i ? "," : "", s->pid,
			s->exited ? " (exited)" : "", units__bytes(hb, s->outstanding_bytes));
		/* a forked child releasing its copy of these blocks: why the row holds less */
		if (s->inherited_frees)
			fprintf(f, " (freed %" PRIu64 " inherited)", s->inherited_frees);
	}
	if (g->nr_rows > TEXT_MAX_PIDS)
		fprintf(f, ", ... and %zu more", g->nr_rows - TEXT_MAX_PIDS);
	fputc('\n', f);
}

static void print_group(FILE *f, size_t rank, const struct group *g, bool verbose)
{
	const struct report_stack *s = g->top;
	char lo[16], hi[16];
	size_t i;

	fprintf(f, "[%zu] ", rank);
	put_size(f, g->bytes);
	fprintf(f, " in %" PRIu64 " alloc%s, %" PRIu32 " process%s", g->allocs, plural(g->allocs),
		g->pids, g->pids == 1 ? "" : "es");
	if (g->pids > 1)
		fprintf(f, " (%s .. %s each)", units__bytes(lo, g->min_bytes),
			units__bytes(hi, g->max_bytes));
	fputs(", stack ", f);
	put_stack_id(f, s->stack_id);
	fputc('\n', f);
	if (!s->nr_frames)
		fputs("    (no frames)\n", f);
	for (i = 0; i < s->nr_frames; i++)
		print_frame(f, i, &s->frames[i], verbose);
	if (s->truncated)
		fputs("    ... (stack truncated)\n", f);
	print_pids(f, g);
}

static void print_groups(FILE *f, const struct group *g, size_t nr, size_t top, bool verbose)
{
	uint64_t rest = 0;
	size_t i;

	for (i = 0; i < nr && i < top; i++) {
		fputc('\n', f);
		print_group(f, i + 1, &g[i], verbose);
	}
	if (nr <= top)
		return;
	for (i = top; i < nr; i++)
		rest += g[i].bytes;
	fprintf(f, "\n... and %zu more stack%s holding ", nr - top, plural(nr - top));
	put_size(f, rest);
	fputc('\n', f);
}

static void print_header(FILE *f, const struct report *r)
{
	size_t i, exited = 0;

	for (i = 0; i < r->nr_processes; i++)
		exited += r->processes[i].exited;
	fputs("drip " DRIP_VERSION ": ", f);
	if (isfinite(r->duration_s))
		fprintf(f, "%.1f s", r->duration_s);
	else
		fputs("? s", f);
	fprintf(f, ", %zu process%s (%zu exited): ", r->nr_processes,
		r->nr_processes == 1 ? "" : "es", exited);
	put_size(f, r->totals.outstanding_bytes);
	fprintf(f, " outstanding in %" PRIu64 " alloc%s (%" PRIu64 " allocs, %" PRIu64 " frees)\n",
		r->totals.outstanding_allocs, plural(r->totals.outstanding_allocs),
		r->totals.allocs, r->totals.frees);
}

/* nonzero drop counters (all of them when verbose) as " name N" */
static size_t put_drops(FILE *f, const struct report *r, bool all)
{
	size_t i, n = 0;

	for (i = 0; i < r->nr_drops; i++) {
		if (!r->drop_names[i] || (!all && !r->drop_counts[i]))
			continue;
		fputs(n++ ? ", " : " ", f);
		put_safe(f, r->drop_names[i]);
		fprintf(f, " %" PRIu64, r->drop_counts[i]);
	}
	return n;
}

static uint64_t drop_count(const struct report *r, const char *name)
{
	for (size_t i = 0; i < r->nr_drops; i++)
		if (r->drop_names[i] && !strcmp(r->drop_names[i], name))
			return r->drop_counts[i];
	return 0;
}

static void print_incomplete(FILE *f, const struct report *r)
{
	uint64_t gaps = drop_count(r, "attach_gaps");

	fputs("INCOMPLETE: data was lost, figures are approximate:", f);
	if (r->totals.events_lost)
		fprintf(f, " events_lost %" PRIu64 ",", r->totals.events_lost);
	if (r->totals.unwind_failures)
		fprintf(f, " unwind_failures %" PRIu64 ",", r->totals.unwind_failures);
	if (!put_drops(f, r, false))
		fputs(" no drop counter is set", f);
	fputc('\n', f);
	/* not a transport loss: say what is missing, since no counter below grows with it */
	if (gaps)
		fprintf(f,
			"  attach_gaps %" PRIu64
			": allocator file%s probed only after a process mapped "
			"it (dlopen); its allocations before that are missing (trace -v names them)\n",
			gaps, plural(gaps));
}

static int cmp_proc_bytes(const void *a, const void *b)
{
	const struct report_process *x = *(const struct report_process *const *)a;
	const struct report_process *y = *(const struct report_process *const *)b;
	int c = cmp_u64_desc(x->outstanding_bytes, y->outstanding_bytes);

	return c ? c : x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int cmp_proc_pid(const void *a, const void *b)
{
	const struct report_process *x = *(const struct report_process *const *)a;
	const struct report_process *y = *(const struct report_process *const *)b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static void print_process(FILE *f, const struct report_process *p, bool inherited)
{
	char hb[16], ib[40];

	fprintf(f, "%8" PRIu32 " %8" PRIu32 "  ", p->pid, p->ppid);
	put_safe_padded(f, p->comm, TEXT_COMM_COLS);
	fprintf(f, " %11s %14" PRIu64 " %10" PRIu64 "  ", units__bytes(hb, p->outstanding_bytes),
		p->outstanding_bytes, p->outstanding_allocs);
	if (inherited) {
		snprintf(ib, sizeof(ib), "%s/%" PRIu64, units__bytes(hb, p->inherited_bytes),
			 p->inherited_allocs);
		fprintf(f, "%18s  ", p->inherited_allocs ? ib : "-");
	}
	fprintf(f, "%-6s  ", p->exited ? "exited" : "live");
	if (p->exe)
		put_safe(f, p->exe);
	else
		fputc('?', f);
	fputc('\n', f);
}

/* all processes by pid; without -v only the TEXT_MAX_PROCS largest */
static int print_processes(FILE *f, const struct report *r, bool verbose)
{
	const struct report_process **sel;
	size_t i, n = r->nr_processes, shown = n;
	bool inherited = false;
	uint64_t rest = 0;

	sel = calloc(n + 1, sizeof(*sel));
	if (!sel)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		sel[i] = &r->processes[i];
	if (!verbose && n > TEXT_MAX_PROCS) {
		qsort(sel, n, sizeof(*sel), cmp_proc_bytes);
		shown = TEXT_MAX_PROCS;
		for (i = shown; i < n; i++)
			rest += sel[i]->outstanding_bytes;
	}
	qsort(sel, shown, sizeof(*sel), cmp_proc_pid);
	/* a column only for process trees: most reports have no forked child */
	for (i = 0; i < shown; i++)
		inherited |= sel[i]->inherited_allocs != 0;

	fprintf(f, "\nProcesses:\n%8s %8s  %-*s %11s %14s %10s  ", "PID", "PPID", TEXT_COMM_COLS,
		"COMM", "OUTSTANDING", "BYTES", "ALLOCS");
	if (inherited)
		fprintf(f, "%18s  ", "INHERITED/ALLOCS");
	fprintf(f, "%-6s  %s\n", "STATE", "EXE");
	for (i = 0; i < shown; i++)
		print_process(f, sel[i], inherited);
	if (shown < n) {
		fprintf(f, "... and %zu more processes holding ", n - shown);
		put_size(f, rest);
		fputs(" (-v shows all)\n", f);
	}
	if (inherited)
		fputs("INHERITED: the parent's blocks a forked child still holds, counted in the "
		      "parent's rows\n",
		      f);
	free(sel);
	return 0;
}

static void print_totals(FILE *f, const struct report *r, bool verbose)
{
	const struct report_totals *t = &r->totals;

	fprintf(f, "\nTotals: %" PRIu64 " allocs, %" PRIu64 " frees, ", t->allocs, t->frees);
	put_size(f, t->outstanding_bytes);
	fprintf(f, " outstanding in %" PRIu64 " alloc%s", t->outstanding_allocs,
		plural(t->outstanding_allocs));
	fprintf(f, "; unknown_frees %" PRIu64, t->unknown_frees);
	if (t->inherited_frees || verbose)
		fprintf(f, ", inherited_frees %" PRIu64, t->inherited_frees);
	fprintf(f, ", events_lost %" PRIu64, t->events_lost);
	fprintf(f, ", unwind_failures %" PRIu64 "\n", t->unwind_failures);
	fputs("Drops:", f);
	if (!put_drops(f, r, verbose))
		fputs(" none", f);
	fputc('\n', f);
}

int report__text_shown(const struct report *r, const struct text_opts *o, bool *shown)
{
	size_t top = o ? o->top : TEXT_DEFAULT_TOP;
	struct groups gs = { 0 };
	int err;

	err = groups__init(&gs, r);
	for (size_t i = 0; !err && i < gs.nr_live && i < top; i++)
		shown[gs.live[i].top - r->stacks] = true;
	for (size_t i = 0; !err && i < gs.nr_exited && i < top; i++)
		shown[gs.exited[i].top - r->stacks] = true;
	groups__release(&gs);
	return err;
}

int report__write_text(const struct report *r, const struct text_opts *o, FILE *f)
{
	size_t top = o ? o->top : TEXT_DEFAULT_TOP;
	bool verbose = o && o->verbose;
	struct groups gs = { 0 };
	uint64_t bytes = 0, allocs = 0;
	size_t i, n;
	int err;

	err = groups__init(&gs, r);
	if (err)
		goto out;
	print_header(f, r);
	if (r->incomplete)
		print_incomplete(f, r);

	n = gs.nr_live < top ? gs.nr_live : top;
	if (gs.nr_live) {
		fprintf(f, "\nTop %zu stack%s by outstanding memory (merged across processes):\n",
			n, plural(n));
		print_groups(f, gs.live, gs.nr_live, top, verbose);
	} else {
		fputs("\nLive processes: no outstanding memory\n", f);
	}

	if (gs.nr_exited) {
		for (i = 0; i < gs.nr_exited; i++) {
			bytes += gs.exited[i].bytes;
			allocs += gs.exited[i].allocs;
		}
		fputs("\nIn use at exit (exited processes): ", f);
		put_size(f, bytes);
		fprintf(f, " in %" PRIu64 " alloc%s, %zu stack%s\n", allocs, plural(allocs),
			gs.nr_exited, plural(gs.nr_exited));
		print_groups(f, gs.exited, gs.nr_exited, top, verbose);
	}

	err = print_processes(f, r, verbose);
	if (err)
		goto out;
	print_totals(f, r, verbose);
	if (fflush(f) || ferror(f))
		err = -EIO;
out:
	groups__release(&gs);
	return err;
}
