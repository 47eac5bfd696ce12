// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Flame tree from a report (and the base report of a diff).
 *
 * Each stack row becomes a path of symbols from the root down: [process],
 * [truncated], frames from the outermost to frames[0] (or [no stack]).
 * Distinct frames are interned once, ranked by name, and the paths are
 * sorted; the stacks under any node are then one contiguous run, so a
 * node's weight is known before its children are made and pruned frames
 * are never built. A 100k-stack report costs one pass to intern, one sort,
 * and one pass over the kept part of the tree.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "drip/flame.h"
#include "drip/units.h"
#include "drip/utf8.h"

#define SYM_TRUNCATED (UINT32_MAX - 1) /* provisional ids until the symbols are ranked */
#define SYM_NO_STACK  UINT32_MAX

/* A distinct frame: (kind, function, module) or, for Python, (kind, function, file) */
struct sym {
	const struct report_frame *fr;
	uint64_t hash;
	enum flame_class cls;
};

/*
 * Frames of one symbol usually share their strings, so a direct-mapped cache
 * keyed by the pointers answers most lookups without reading a name.
 */
#define PTR_CACHE_SIZE 65536

struct ptr_slot {
	const char *function;
	const char *scope;
	uint32_t kind;
	uint32_t id; /* sym index + 1; 0 empty */
};

struct ent {
	const struct report_stack *s;
	const struct report_process *proc; /* NULL: its report lists no such pid */
	uint32_t *path;
	uint32_t len;
	bool old; /* from the base report */
};

struct builder {
	struct flame *fl;
	struct ent *ents;
	size_t nr_ents;
	uint32_t *paths;
	struct sym *syms;
	size_t nr_syms, cap_syms;
	uint32_t *table; /* open addressing: sym index + 1, 0 empty */
	size_t table_mask;
	struct ptr_slot *cache;
	uint32_t *rank; /* provisional sym id -> rank by name */
	uint32_t *by_rank;
	uint32_t *pids; /* per_pid: distinct pids, ascending */
	size_t nr_pids;
	const struct report_process **pid_procs;
	uint32_t sym_base; /* first frame symbol: nr_pids + 1 */
	double min_value;
	size_t cap_nodes;
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

static const char *scope_of(const struct report_frame *fr)
{
	return fr->kind == FRAME_PYTHON ? fr->file : fr->module;
}

/* Word at a time: frame names are long ("ns::Class<T>::method(args)") and there are millions */
static uint64_t hash_str(uint64_t h, const char *s)
{
	size_t len, i;
	uint64_t w;

	if (!s)
		return (h ^ 0xff) * 0x9e3779b97f4a7c15ULL; /* NULL differs from "" */
	len = strlen(s);
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s + i, len - i);
	h = (h ^ w ^ (uint64_t)len << 56) * 0x9e3779b97f4a7c15ULL;
	return h ^ h >> 29;
}

static uint64_t hash_frame(const struct report_frame *fr)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)fr->kind;

	h = hash_str(h, fr->function);
	return hash_str(h, scope_of(fr));
}

static int cmp_str(const char *a, const char *b)
{
	if (a == b)
		return 0; /* the collector shares one copy of each name */
	if (!a || !b)
		return !!a - !!b; /* unknown first */
	return strcmp(a, b);
}

static int cmp_frame(const struct report_frame *a, const struct report_frame *b)
{
	int c = cmp_str(a->function, b->function);

	if (!c)
		c = cmp_str(scope_of(a), scope_of(b));
	if (!c)
		c = (int)a->kind - (int)b->kind;
	return c;
}

static bool system_path(const char *path)
{
	static const char *const dirs[] = { "/lib/",	    "/lib32/",	   "/lib64/",
					    "/usr/lib/",    "/usr/lib32/", "/usr/lib64/",
					    "/usr/libexec/" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!strncmp(path, dirs[i], strlen(dirs[i])))
			return true;
	return false;
}

static enum flame_class classify(const struct report_frame *fr, const struct report_process *p)
{
	if (fr->kind == FRAME_PYTHON)
		return FLAME_CLASS_PYTHON;
	if (!fr->function || !fr->module || fr->module[0] == '[')
		return FLAME_CLASS_UNKNOWN;
	if (p && p->exe && !strcmp(p->exe, fr->module))
		return FLAME_CLASS_MAIN;
	if (system_path(fr->module))
		return FLAME_CLASS_SYSTEM;
	if (strstr(base_name(fr->module), ".so"))
		return FLAME_CLASS_LIB;
	return FLAME_CLASS_MAIN;
}

static const struct report_process *find_proc(const struct report *r, uint32_t pid)
{
	size_t lo = 0, hi = r->nr_processes;

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

static int table_grow(struct builder *b)
{
	size_t n = (b->table_mask + 1) * 2, i, k;
	uint32_t *t = calloc(n, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (i = 0; i < b->nr_syms; i++) {
		for (k = b->syms[i].hash & (n - 1); t[k]; k = (k + 1) & (n - 1))
			;
		t[k] = i + 1;
	}
	free(b->table);
	b->table = t;
	b->table_mask = n - 1;
	return 0;
}

/* The provisional id of fr's symbol, added if new; -ENOMEM */
static int64_t intern(struct builder *b, const struct report_frame *fr,
		      const struct report_process *p)
{
	uint64_t h = (uintptr_t)fr->function ^ (uintptr_t)scope_of(fr) * 0x9e3779b97f4a7c15ULL;
	struct ptr_slot *ps;
	struct sym *s;
	size_t k;
	int err;

	h *= 0xbf58476d1ce4e5b9ULL; /* pointers are aligned: mix, then take the top bits */
	ps = &b->cache[(h ^ h >> 31) >> 48 & (PTR_CACHE_SIZE - 1)];
	if (ps->id && ps->function == fr->function && ps->scope == scope_of(fr) &&
	    ps->kind == fr->kind)
		return ps->id - 1;
	*ps = (struct ptr_slot){ fr->function, scope_of(fr), fr->kind, 0 };
	h = hash_frame(fr);
	for (k = h & b->table_mask; b->table[k]; k = (k + 1) & b->table_mask) {
		s = &b->syms[b->table[k] - 1];
		if (s->hash == h && !cmp_frame(s->fr, fr)) {
			ps->id = b->table[k];
			return b->table[k] - 1;
		}
	}
	if (b->nr_syms == b->cap_syms) {
		size_t cap = b->cap_syms ? b->cap_syms * 2 : 256;

		s = realloc(b->syms, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		b->syms = s;
		b->cap_syms = cap;
	}
	b->table[k] = b->nr_syms + 1;
	b->syms[b->nr_syms] = (struct sym){ .fr = fr, .hash = h, .cls = classify(fr, p) };
	ps->id = ++b->nr_syms;
	if (b->nr_syms * 2 > b->table_mask + 1) {
		err = table_grow(b);
		if (err)
			return err;
	}
	return b->nr_syms - 1;
}

static bool has_weight(const struct report_stack *s)
{
	return s->outstanding_bytes || s->outstanding_allocs;
}

static uint32_t path_len(const struct report_stack *s, bool per_pid)
{
	size_t n = s->nr_frames ? s->nr_frames + s->truncated : 1;

	n += per_pid;
	return n > FLAME_MAX_DEPTH ? FLAME_MAX_DEPTH : n;
}

/* Count, then fill ents[] with provisional paths (per_pid: slot 0 left for the pid). */
static int collect(struct builder *b, const struct report *r, const struct report *base,
		   bool per_pid)
{
	const struct report *reps[2] = { r, base };
	size_t nr = 0, words = 0, i, k, side;
	uint32_t *p;
	int64_t id;

	for (side = 0; side < 2 && reps[side]; side++) {
		for (i = 0; i < reps[side]->nr_stacks; i++) {
			if (has_weight(&reps[side]->stacks[i])) {
				nr++;
				words += path_len(&reps[side]->stacks[i], per_pid);
			}
		}
	}
	b->ents = calloc(nr + 1, sizeof(*b->ents));
	b->paths = calloc(words + 1, sizeof(*b->paths));
	b->table = calloc(1024, sizeof(*b->table));
	b->table_mask = 1023;
	b->cache = calloc(PTR_CACHE_SIZE, sizeof(*b->cache));
	if (!b->ents || !b->paths || !b->table || !b->cache)
		return -ENOMEM;

	p = b->paths;
	for (side = 0; side < 2 && reps[side]; side++) {
		for (i = 0; i < reps[side]->nr_stacks; i++) {
			const struct report_stack *s = &reps[side]->stacks[i];
			struct ent *e = &b->ents[b->nr_ents];
			uint32_t *q;

			if (!has_weight(s))
				continue;
			e->s = s;
			e->proc = find_proc(reps[side], s->pid);
			e->old = side;
			e->path = p;
			e->len = path_len(s, per_pid);
			q = p + per_pid;
			if (!s->nr_frames)
				*q++ = SYM_NO_STACK;
			else if (s->truncated)
				*q++ = SYM_TRUNCATED;
			/* outermost first; a path cut at FLAME_MAX_DEPTH keeps the outermost */
			for (k = s->nr_frames; k-- && q < p + e->len;) {
				id = intern(b, &s->frames[k], e->proc);
				if (id < 0)
					return (int)id;
				*q++ = (uint32_t)id;
			}
			p += e->len;
			b->nr_ents++;
		}
	}
	return 0;
}

static int cmp_sym_rank(const void *a, const void *b, void *ctx)
{
	const struct sym *syms = ctx;
	const struct sym *x = &syms[*(const uint32_t *)a];
	const struct sym *y = &syms[*(const uint32_t *)b];

	return cmp_frame(x->fr, y->fr);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_ent(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	uint32_t n = x->len < y->len ? x->len : y->len;

	for (uint32_t i = 0; i < n; i++)
		if (x->path[i] != y->path[i])
			return x->path[i] < y->path[i] ? -1 : 1;
	return x->len < y->len ? -1 : x->len > y->len;
}

/*
 * Symbols become one ordered space: [0, nr_pids) processes by pid, then
 * [truncated], then frames by name, then [no stack]; sorting the paths
 * orders every node's children by name.
 */
static int rank_and_sort(struct builder *b, bool per_pid)
{
	size_t i, k, n;
	uint32_t v;

	b->rank = calloc(b->nr_syms + 1, sizeof(*b->rank));
	b->by_rank = calloc(b->nr_syms + 1, sizeof(*b->by_rank));
	b->pids = calloc(b->nr_ents + 1, sizeof(*b->pids));
	if (!b->rank || !b->by_rank || !b->pids)
		return -ENOMEM;
	for (i = 0; i < b->nr_syms; i++)
		b->by_rank[i] = i;
	qsort_r(b->by_rank, b->nr_syms, sizeof(*b->by_rank), cmp_sym_rank, b->syms);
	for (i = 0; i < b->nr_syms; i++)
		b->rank[b->by_rank[i]] = i;

	if (per_pid) {
		for (i = 0; i < b->nr_ents; i++)
			b->pids[i] = b->ents[i].s->pid;
		qsort(b->pids, b->nr_ents, sizeof(*b->pids), cmp_u32);
		for (i = n = 0; i < b->nr_ents; i++)
			if (!n || b->pids[n - 1] != b->pids[i])
				b->pids[n++] = b->pids[i];
		b->nr_pids = n;
		b->pid_procs = calloc(n + 1, sizeof(*b->pid_procs));
		if (!b->pid_procs)
			return -ENOMEM;
	}
	b->sym_base = b->nr_pids + 1;

	for (i = 0; i < b->nr_ents; i++) {
		struct ent *e = &b->ents[i];

		k = 0;
		if (per_pid) {
			uint32_t *hit =
				bsearch(&e->s->pid, b->pids, b->nr_pids, sizeof(*b->pids), cmp_u32);

			k = hit - b->pids;
			if (e->proc && (!b->pid_procs[k] || !e->old))
				b->pid_procs[k] = e->proc; /* the new report's, when both list it */
			e->path[0] = k;
			k = 1;
		}
		for (; k < e->len; k++) {
			v = e->path[k];
			if (v == SYM_TRUNCATED)
				e->path[k] = b->nr_pids;
			else if (v == SYM_NO_STACK)
				e->path[k] = b->sym_base + b->nr_syms;
			else
				e->path[k] = b->sym_base + b->rank[v];
		}
	}
	qsort(b->ents, b->nr_ents, sizeof(*b->ents), cmp_ent);
	return 0;
}

static int add_node(struct builder *b, const struct flame_node *n)
{
	struct flame *fl = b->fl;

	if (fl->nr_nodes == b->cap_nodes) {
		size_t cap = b->cap_nodes ? b->cap_nodes * 2 : 256;
		struct flame_node *nodes = realloc(fl->nodes, cap * sizeof(*nodes));

		if (!nodes)
			return -ENOMEM;
		fl->nodes = nodes;
		b->cap_nodes = cap;
	}
	fl->nodes[fl->nr_nodes++] = *n;
	if (n->depth > fl->max_depth)
		fl->max_depth = n->depth;
	return 0;
}

static void node_from_sym(struct builder *b, struct flame_node *n, uint32_t v)
{
	if (v < b->nr_pids) {
		n->type = FLAME_PROCESS;
		n->cls = FLAME_CLASS_ROOT;
		n->pid = b->pids[v];
		n->proc = b->pid_procs[v];
	} else if (v == b->nr_pids) {
		n->type = FLAME_TRUNCATED;
		n->cls = FLAME_CLASS_UNKNOWN;
	} else if (v - b->sym_base < b->nr_syms) {
		const struct sym *s = &b->syms[b->by_rank[v - b->sym_base]];

		n->type = FLAME_FRAME;
		n->frame = s->fr;
		n->cls = s->cls;
	} else {
		n->type = FLAME_NO_STACK;
		n->cls = FLAME_CLASS_UNKNOWN;
	}
}

static void add_sum(struct flame_sum *sum, const struct report_stack *s)
{
	sum->bytes += s->outstanding_bytes;
	sum->allocs += s->outstanding_allocs;
}

/* Children of node `parent` (at `depth`) from ents[lo, hi), which share depth path symbols */
static int build(struct builder *b, size_t lo, size_t hi, uint32_t depth, uint32_t parent,
		 uint64_t start)
{
	struct flame *fl = b->fl;
	size_t i = lo, j;
	int err;

	while (i < hi && b->ents[i].len == depth)
		i++; /* stacks that end at the parent */
	for (; i < hi; i = j) {
		struct flame_node n = { .depth = depth + 1, .parent = parent, .start = start };
		uint32_t v = b->ents[i].path[depth];
		uint64_t w;

		for (j = i; j < hi && b->ents[j].path[depth] == v; j++)
			add_sum(b->ents[j].old ? &n.old : &n.now, b->ents[j].s);
		w = flame__value(fl, &n.now);
		if (!w || (double)w < b->min_value) {
			/* keep its place (as flamegraph.pl does): the rest do not move */
			fl->pruned_frames++;
			fl->pruned.bytes += n.now.bytes;
			fl->pruned.allocs += n.now.allocs;
			fl->pruned_old.bytes += n.old.bytes;
			fl->pruned_old.allocs += n.old.allocs;
			start += w;
			continue;
		}
		node_from_sym(b, &n, v);
		err = add_node(b, &n);
		if (err)
			return err;
		err = build(b, i, j, depth + 1, fl->nr_nodes - 1, start);
		if (err)
			return err;
		start += w;
	}
	return 0;
}

static void builder__release(struct builder *b)
{
	free(b->ents);
	free(b->paths);
	free(b->syms);
	free(b->table);
	free(b->cache);
	free(b->rank);
	free(b->by_rank);
	free(b->pids);
	free(b->pid_procs);
}

int flame__new(const struct report *r, const struct report *base, const struct flame_opts *o,
	       struct flame **out)
{
	struct flame_node root = { .type = FLAME_ROOT, .cls = FLAME_CLASS_ROOT };
	struct builder b = { 0 };
	struct flame *fl;
	int err;

	*out = NULL;
	fl = calloc(1, sizeof(*fl));
	if (!fl)
		return -ENOMEM;
	fl->weight = o ? o->weight : WEIGHT_BYTES;
	fl->diff = base != NULL;
	fl->min_share = o && o->min_share > 0 ? o->min_share : 0;
	b.fl = fl;

	err = collect(&b, r, base, o && o->per_pid);
	if (err)
		goto out;
	err = rank_and_sort(&b, o && o->per_pid);
	if (err)
		goto out;
	for (size_t i = 0; i < b.nr_ents; i++)
		add_sum(b.ents[i].old ? &root.old : &root.now, b.ents[i].s);
	b.min_value = fl->min_share * (double)flame__value(fl, &root.now);
	err = add_node(&b, &root);
	if (!err)
		err = build(&b, 0, b.nr_ents, 0, 0, 0);
out:
	builder__release(&b);
	if (err) {
		flame__free(fl);
		return err;
	}
	*out = fl;
	return 0;
}

void flame__free(struct flame *fl)
{
	if (!fl)
		return;
	free(fl->nodes);
	free(fl);
}

const char *flame__label(const struct flame_node *n, char *buf, size_t len)
{
	const struct report_frame *fr = n->frame;

	switch (n->type) {
	case FLAME_ROOT:
		return "all";
	case FLAME_PROCESS: /* "comm [pid]", or "[pid]" when the comm is unknown */
		if (n->proc && n->proc->comm && n->proc->comm[0])
			snprintf(buf, len, "%s [%" PRIu32 "]", n->proc->comm, n->pid);
		else
			snprintf(buf, len, "[%" PRIu32 "]", n->pid);
		return buf;
	case FLAME_TRUNCATED:
		return "[truncated]";
	case FLAME_NO_STACK:
		return "[no stack]";
	case FLAME_FRAME:
		break;
	}
	if (fr->function)
		return fr->function;
	if (fr->kind == FRAME_NATIVE && fr->module && !strcmp(fr->module, "[anon]"))
		return "[anon]";
	if (fr->kind == FRAME_NATIVE && fr->module) {
		snprintf(buf, len, "?? (%s)", base_name(fr->module));
		return buf;
	}
	return "??";
}

const char *flame__title(const struct format_opts *o)
{
	if (o && o->title)
		return o->title;
	return o && o->base ? "drip: memory growth (new vs old)" : "drip: outstanding memory";
}

const char *flame__bytes(char buf[48], uint64_t v)
{
	char hb[16];

	if (v < 1024)
		snprintf(buf, 48, "%" PRIu64 " B", v);
	else
		snprintf(buf, 48, "%" PRIu64 " B (%s)", v, units__bytes(hb, v));
	return buf;
}

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

struct sbuf {
	char *p;
	size_t left;
};

static void sb_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->left <= 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->p, sb->left, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sb->left)
		n = sb->left - 1;
	sb->p += n;
	sb->left -= n;
}

static void sb_bytes(struct sbuf *sb, uint64_t v)
{
	char buf[48];

	sb_printf(sb, "%s", flame__bytes(buf, v));
}

static void sb_share(struct sbuf *sb, uint64_t part, uint64_t whole)
{
	double pct = whole ? 100.0 * part / whole : 0;

	if (part && pct < 0.05)
		sb_printf(sb, "<0.1%%");
	else
		sb_printf(sb, "%.1f%%", pct);
}

void flame__subtitle(const struct flame *fl, const struct report *r, const struct report *base,
		     char *buf, size_t len)
{
	const struct report_totals *t = &r->totals;
	struct sbuf sb = { buf, len };
	size_t i, exited = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (i = 0; i < r->nr_processes; i++)
		exited += r->processes[i].exited;
	if (base) {
		const struct report_totals *bt = &base->totals;
		int64_t d = (int64_t)(t->outstanding_bytes - bt->outstanding_bytes);

		sb_printf(&sb, "new ");
		sb_bytes(&sb, t->outstanding_bytes);
		sb_printf(&sb, " vs old ");
		sb_bytes(&sb, bt->outstanding_bytes);
		sb_printf(&sb, ": %+" PRId64 " B", d);
		if (bt->outstanding_bytes)
			sb_printf(&sb, " (%+.1f%%)", 100.0 * d / bt->outstanding_bytes);
		sb_printf(&sb, " \xc2\xb7 %" PRIu64 " vs %" PRIu64 " allocs", t->outstanding_allocs,
			  bt->outstanding_allocs);
	} else {
		sb_bytes(&sb, t->outstanding_bytes);
		sb_printf(&sb, " outstanding in %" PRIu64 " alloc%s", t->outstanding_allocs,
			  plural(t->outstanding_allocs));
	}
	sb_printf(&sb, " \xc2\xb7 %zu process%s", r->nr_processes,
		  r->nr_processes == 1 ? "" : "es");
	if (exited)
		sb_printf(&sb, " (%zu exited)", exited);
	if (isfinite(r->duration_s))
		sb_printf(&sb, " \xc2\xb7 %.1f s", r->duration_s);
	if (fl->weight == WEIGHT_COUNT)
		sb_printf(&sb, " \xc2\xb7 width: allocs");
	if (r->incomplete || (base && base->incomplete))
		sb_printf(&sb, " \xc2\xb7 INCOMPLETE: %" PRIu64 " events lost",
			  t->events_lost + (base ? base->totals.events_lost : 0));
}

void flame__pruned_note(const struct flame *fl, char *buf, size_t len)
{
	struct sbuf sb = { buf, len };

	if (!len)
		return;
	buf[0] = '\0';
	if (!fl->pruned_frames)
		return;
	/* their weight is still in the frames below them: say how much lost detail */
	sb_printf(&sb, "%zu frame%s narrower than %g%% hidden, in stacks holding ",
		  fl->pruned_frames, plural(fl->pruned_frames), fl->min_share * 100);
	sb_share(&sb, flame__value(fl, &fl->pruned), flame__value(fl, &fl->nodes[0].now));
	sb_printf(&sb, " of the %s", fl->weight == WEIGHT_COUNT ? "allocs" : "bytes");
}

/*
 * The next character of s: its length in bytes, and whether it may be
 * written as is (else it becomes U+FFFD). XML 1.0 forbids controls other
 * than tab and newlines, U+FFFE and U+FFFF; we also drop tab and newlines
 * (they break labels), C1 controls and bidi overrides (they spoof text).
 */
static size_t next_char(const unsigned char *p, bool *ok)
{
	uint32_t cp;
	size_t n;

	if (*p < 0x80) {
		*ok = *p >= 0x20 && *p != 0x7f;
		return 1;
	}
	n = utf8_decode(p, SIZE_MAX, &cp);
	if (!n) {
		*ok = false;
		return 1;
	}
	*ok = !utf8_unsafe_code_point(cp) && cp != 0xfffe && cp != 0xffff;
	return n;
}

size_t flame__xml_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	bool ok;

	while (*p) {
		p += next_char(p, &ok);
		n++;
	}
	return n;
}

static const char *xml_entity(unsigned char c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;";
	default:
		return NULL;
	}
}

void flame__put_xml(FILE *f, const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	const char *esc;
	size_t n, limit = max_chars;
	bool cut = false, ok;

	if (!max_chars)
		return;
	if (max_chars != SIZE_MAX && flame__xml_chars(s) > max_chars) {
		limit = max_chars - 1;
		cut = true;
	}
	for (; *p && limit; limit--) {
		n = next_char(p, &ok);
		esc = ok ? xml_entity(*p) : "\xef\xbf\xbd"; /* U+FFFD */
		if (esc) {
			fwrite(run, 1, p - run, f);
			fputs(esc, f);
			run = p + n;
		}
		p += n;
	}
	fwrite(run, 1, p - run, f);
	if (cut)
		fputs("\xe2\x80\xa6", f); /* U+2026 */
}
