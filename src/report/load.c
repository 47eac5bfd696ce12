// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * JSON report (format 1) -> struct report (see report_load.h). One pass over
 * the pull parser's tokens: each object is a table of known keys, read into
 * the model as they come (any order; a key twice is an error), unknown keys
 * skipped whole. Every error names where it is, as a JSON path and a line
 * and column: `line 12 col 9: stacks[3].frames[0].line: expected an unsigned
 * integer or null, found a string`.
 *
 * Memory: strings are interned (a report repeats each module path and
 * function name thousands of times) in an arena of their own, packed, as
 * they are compared again and again; frames go in another; the arrays are
 * grown with realloc. All of it belongs to struct loaded and goes with
 * report_load__free(). A regular file is mapped, not read (see
 * load_mapped()).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drip/hash.h"
#include "drip/json_parse.h"
#include "drip/report_load.h"
#include "drip/u64map.h"

#define MAX_FRAMES  65536      /* per stack */
#define MAX_STRING  (1u << 20) /* bytes in one string */
#define MAX_DEPTH   32	       /* format 1 nests 5 deep; unknown keys may nest a little more */
#define CHUNK_BYTES (1u << 20)

struct chunk {
	struct chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

struct intern_slot {
	const char *s; /* NULL: empty */
	uint32_t len;
	uint32_t hash; /* its low bits: compared before the bytes are */
};

struct intern {
	struct intern_slot *slots; /* open addressing */
	size_t cap, nr;		   /* cap: a power of two */
};

struct loaded {
	struct report r;	  /* first: report_load__free() is given &r */
	struct chunk *chunks;	  /* frames */
	struct chunk *str_chunks; /* interned strings, packed: they are read again and again */
	struct intern strings;
	struct report_process *procs;
	struct report_merged *merged;
	struct report_stack *stacks;
	const char **drop_names;
	uint64_t *drop_counts;
	size_t cap_procs, cap_merged, cap_stacks, cap_drop_names, cap_drop_counts;
};

struct loader {
	struct json_parser jp;
	struct json_token t;
	struct loaded *ld;
	/* where the current value is, for messages: arr[i].sub[j].key */
	const char *arr, *sub, *key;
	size_t i, j;
	struct report_frame *fr; /* the current stack's frames */
	size_t nr_fr, cap_fr;
	/* alloc_bytes is known when totals and every stack have it (older reports have none) */
	bool totals_alloc_bytes;
	size_t nr_alloc_bytes;
	struct report_module *mod; /* the current process's modules */
	size_t nr_mod, cap_mod;
	size_t nr_with_modules; /* processes with "modules" (not null): all, or it is unknown */
	size_t totals_pos, *proc_pos; /* where totals and each process are, for messages */
	size_t cap_proc_pos;
	const char *map; /* a mapped file: the pages read are let go as the parse moves on */
	size_t released; /* bytes of map let go */
};

#define RELEASE_STEP (64u << 20)

/*
 * The mapped pages behind the parse are not needed again (but for an error's
 * line and column, which maps them back): unmapping them as the parse moves
 * on keeps the file out of drip's RSS (they stay in the page cache).
 */
static void release_behind(struct loader *l)
{
	size_t upto = l->t.pos & ~(size_t)(RELEASE_STEP - 1);

	if (!l->map || upto <= l->released)
		return;
	madvise((void *)(l->map + l->released), upto - l->released, MADV_DONTNEED);
	l->released = upto;
}

#define NO_INDEX SIZE_MAX

/* --- memory ------------------------------------------------------------------------- */

/* n bytes from the chunks at *list, aligned to align (a power of two) */
static void *arena_alloc(struct chunk **list, size_t n, size_t align)
{
	struct chunk *c = *list;
	size_t need = (n + align - 1) & ~(align - 1), cap;

	if (need < n)
		return NULL;
	if (!c || c->cap - c->used < need) {
		cap = need > CHUNK_BYTES ? need : CHUNK_BYTES;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->cap = cap;
		c->used = 0;
		c->next = *list;
		*list = c;
	}
	c->used += need;
	return c->data + c->used - need;
}

static void arena_free(struct chunk *c)
{
	struct chunk *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
}

static int intern_grow(struct intern *in)
{
	size_t cap = in->cap ? in->cap * 2 : 1024, i, k;
	struct intern_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < in->cap; i++) {
		if (!in->slots[i].s)
			continue;
		k = hash_str(in->slots[i].s, in->slots[i].len) & (cap - 1);
		while (slots[k].s)
			k = (k + 1) & (cap - 1);
		slots[k] = in->slots[i];
	}
	free(in->slots);
	in->slots = slots;
	in->cap = cap;
	return 0;
}

/* a[0..n) == b[0..n), word by word: the strings compared are mostly long and equal */
static bool same_bytes(const char *a, const char *b, size_t n)
{
	size_t i;

	if (n < 8) {
		for (i = 0; i < n; i++)
			if (a[i] != b[i])
				return false;
		return true;
	}
	for (i = 0; i + 8 < n; i += 8)
		if (hash_rd8((const unsigned char *)a + i) !=
		    hash_rd8((const unsigned char *)b + i))
			return false;
	return hash_rd8((const unsigned char *)a + n - 8) ==
	       hash_rd8((const unsigned char *)b + n - 8);
}

/* The arena copy of s (len bytes, no NUL inside), shared by equal strings */
static const char *intern(struct loaded *ld, const char *s, size_t len)
{
	struct intern *in = &ld->strings;
	struct intern_slot *slot;
	uint64_t h;
	size_t k;
	char *copy;

	if ((in->nr + 1) * 2 > in->cap && intern_grow(in))
		return NULL;
	h = hash_str(s, len);
	for (k = h & (in->cap - 1); (slot = &in->slots[k])->s; k = (k + 1) & (in->cap - 1))
		if (slot->hash == (uint32_t)h && slot->len == len && same_bytes(slot->s, s, len))
			return slot->s;
	copy = arena_alloc(&ld->str_chunks, len + 1, 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	*slot = (struct intern_slot){ .s = copy, .len = len, .hash = h }; /* len <= MAX_STRING */
	in->nr++;
	return copy;
}

/* Room for one more of size bytes at *arr holding n of *cap */
static int grow(void *arr, size_t *cap, size_t n, size_t size)
{
	void **p = arr, *q;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	if (c > SIZE_MAX / size)
		return -ENOMEM;
	q = realloc(*p, c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

void report_load__free(struct report *r)
{
	struct loaded *ld = (struct loaded *)r;

	if (!r)
		return;
	arena_free(ld->chunks);
	arena_free(ld->str_chunks);
	free(ld->strings.slots);
	free(ld->procs);
	free(ld->merged);
	free(ld->stacks);
	free(ld->drop_names);
	free(ld->drop_counts);
	free(ld);
}

/* --- errors and values --------------------------------------------------------------- */

static const char *path(const struct loader *l, char *buf, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	if (l->arr)
		off += snprintf(buf + off, n - off, "%s", l->arr);
	if (l->arr && l->i != NO_INDEX && off < n)
		off += snprintf(buf + off, n - off, "[%zu]", l->i);
	if (l->sub && off < n)
		off += snprintf(buf + off, n - off, ".%s[%zu]", l->sub, l->j);
	if (l->key && off < n)
		snprintf(buf + off, n - off, "%s%s", off ? "." : "", l->key);
	return buf;
}

static int fail(struct loader *l, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "<path>: <message>" at pos */
static int fail(struct loader *l, size_t pos, const char *fmt, ...)
{
	char where[96], msg[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	path(l, where, sizeof(where));
	return json_parser__fail(&l->jp, pos, -EBADMSG, "%s%s%s", where, *where ? ": " : "", msg);
}

static const char *type_name(const struct json_token *t)
{
	switch (t->type) {
	case JSON_OBJ_START:
		return "an object";
	case JSON_ARR_START:
		return "an array";
	case JSON_STR:
		return "a string";
	case JSON_NUM:
		if (!t->integer)
			return "a number with a fraction or exponent";
		return t->is_u64 || t->num > 0 ? "a number" : "a negative number";
	case JSON_BOOL:
		return t->boolean ? "true" : "false";
	case JSON_NULL:
		return "null";
	default:
		return "something else";
	}
}

static int wrong_type(struct loader *l, const char *wanted)
{
	return fail(l, l->t.pos, "expected %s, found %s", wanted, type_name(&l->t));
}

static int next(struct loader *l)
{
	return json_parser__next(&l->jp, &l->t);
}

static int want_u64(struct loader *l, uint64_t *v)
{
	if (l->t.type != JSON_NUM || !l->t.integer || l->t.num < 0 ||
	    (l->t.num == 0 && !l->t.is_u64))
		return wrong_type(l, "an unsigned integer");
	if (!l->t.is_u64)
		return fail(l, l->t.pos, "integer out of range (at most %" PRIu64 ")", UINT64_MAX);
	*v = l->t.u64;
	return 0;
}

/* an optional count: *known tells whether it was a number (null: unknown) */
static int want_u64_or_null(struct loader *l, uint64_t *v, bool *known)
{
	*known = l->t.type != JSON_NULL;
	*v = 0;
	if (!*known)
		return 0;
	if (l->t.type != JSON_NUM)
		return wrong_type(l, "an unsigned integer or null");
	return want_u64(l, v);
}

/* null -> 0 when nullable (0 means unknown for lines and namespace pids) */
static int want_u32(struct loader *l, bool nullable, uint32_t *v)
{
	uint64_t u = 0;
	int err;

	if (nullable && l->t.type == JSON_NULL) {
		*v = 0;
		return 0;
	}
	if (l->t.type != JSON_NUM)
		return wrong_type(l,
				  nullable ? "an unsigned integer or null" : "an unsigned integer");
	err = want_u64(l, &u);
	if (err)
		return err;
	if (u > UINT32_MAX)
		return fail(l, l->t.pos, "integer out of range (at most %" PRIu32 ")", UINT32_MAX);
	*v = u;
	return 0;
}

static int want_bool(struct loader *l, bool *v)
{
	if (l->t.type != JSON_BOOL)
		return wrong_type(l, "true or false");
	*v = l->t.boolean;
	return 0;
}

/* a number or null (NAN: unknown, as the writer prints non-finite values) */
static int want_double(struct loader *l, double *v)
{
	if (l->t.type == JSON_NULL) {
		*v = NAN;
		return 0;
	}
	if (l->t.type != JSON_NUM)
		return wrong_type(l, "a number or null");
	if (!isfinite(l->t.num))
		return fail(l, l->t.pos, "number out of range");
	*v = l->t.num;
	return 0;
}

static int want_str(struct loader *l, bool nullable, const char **s)
{
	if (nullable && l->t.type == JSON_NULL) {
		*s = NULL;
		return 0;
	}
	if (l->t.type != JSON_STR)
		return wrong_type(l, nullable ? "a string or null" : "a string");
	if (l->t.nul)
		return fail(l, l->t.pos, "string contains \\u0000");
	*s = intern(l->ld, l->t.str, l->t.len);
	if (!*s)
		return json_parser__fail(&l->jp, l->t.pos, -ENOMEM, "out of memory");
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int want_stack_id(struct loader *l, char id[17])
{
	if (l->t.type != JSON_STR)
		return wrong_type(l, "a string");
	if (l->t.len != 16)
		return fail(l, l->t.pos, "expected 16 lowercase hex digits");
	for (size_t i = 0; i < 16; i++)
		if (hex_digit(l->t.str[i]) < 0)
			return fail(l, l->t.pos, "expected 16 lowercase hex digits");
	memcpy(id, l->t.str, 17);
	return 0;
}

/* "0x" and 1 to 16 hex digits */
static int want_address(struct loader *l, uint64_t *v)
{
	const char *s = l->t.str;
	uint64_t a = 0;
	int d;

	if (l->t.type != JSON_STR)
		return wrong_type(l, "a string");
	if (l->t.len < 3 || l->t.len > 18 || s[0] != '0' || s[1] != 'x')
		return fail(l, l->t.pos, "expected an address \"0x...\" of at most 16 hex digits");
	for (s += 2; *s; s++) {
		d = hex_digit(*s);
		if (d < 0)
			return fail(l, l->t.pos, "expected an address \"0x...\" of hex digits");
		a = a << 4 | d;
	}
	*v = a;
	return 0;
}

/* --- objects ------------------------------------------------------------------------ */

typedef int (*member_fn)(struct loader *l, int key, void *obj);

static bool is_key(const struct json_token *t, const char *key)
{
	size_t i;

	for (i = 0; i < t->len; i++)
		if (t->str[i] != key[i] || !key[i]) /* a \u0000 in the name matches no key */
			return false;
	return !key[i];
}

/* keys usually come in the table's order (drip writes them so): try *hint first */
static int key_index(const struct json_token *t, const char *const *keys, int n, int *hint)
{
	if (*hint < n && is_key(t, keys[*hint]))
		return (*hint)++;
	for (int k = 0; k < n; k++) {
		if (is_key(t, keys[k])) {
			*hint = k + 1;
			return k;
		}
	}
	return -1;
}

/*
 * The object whose '{' is l->t: each known key's value goes to fn, unknown
 * ones are skipped; a key in required and not seen is an error. *seen gets
 * the keys present (bit k: keys[k]).
 */
static int load_object(struct loader *l, const char *const *keys, int nkeys, uint32_t required,
		       member_fn fn, void *obj, uint32_t *seen)
{
	size_t start = l->t.pos;
	uint32_t got = 0;
	int k, err, hint = 0;

	l->key = NULL;
	if (l->t.type != JSON_OBJ_START)
		return wrong_type(l, "an object");
	for (;;) {
		err = next(l);
		if (err)
			return err;
		if (l->t.type == JSON_OBJ_END)
			break;
		k = key_index(&l->t, keys, nkeys, &hint);
		if (k >= 0 && got & 1u << k)
			return fail(l, l->t.pos, "duplicate key \"%s\"", keys[k]);
		err = next(l);
		if (err)
			return err;
		if (k < 0) {
			err = json_parser__skip(&l->jp, &l->t);
			if (err)
				return err;
			continue;
		}
		got |= 1u << k;
		l->key = keys[k];
		err = fn(l, k, obj);
		l->key = NULL;
		if (err)
			return err;
	}
	if (required & ~got)
		return fail(l, start, "missing \"%s\"", keys[__builtin_ctz(required & ~got)]);
	if (seen)
		*seen = got;
	return 0;
}

/* The array whose '[' is l->t: item() for each element (l->t its first token) */
static int load_array(struct loader *l, int (*item)(struct loader *l, size_t i))
{
	int err;

	if (l->t.type != JSON_ARR_START)
		return wrong_type(l, "an array");
	for (size_t i = 0;; i++) {
		err = next(l);
		if (err)
			return err;
		if (l->t.type == JSON_ARR_END)
			return 0;
		err = item(l, i);
		if (err)
			return err;
	}
}

/*
 * One element of a top-level array: room made in *items (holding *n of
 * *cap), zeroed, then loaded as an object. The element, or NULL with
 * l->jp.err set.
 */
static void *load_element(struct loader *l, const char *arr, size_t i, void *items, size_t *cap,
			  size_t *n, size_t size, const char *const *keys, int nkeys,
			  uint32_t required, member_fn fn)
{
	void *e;

	if (grow(items, cap, *n, size)) {
		json_parser__fail(&l->jp, l->t.pos, -ENOMEM, "out of memory");
		return NULL;
	}
	e = memset((char *)*(void **)items + *n * size, 0, size);
	l->arr = arr;
	l->i = i;
	if (load_object(l, keys, nkeys, required, fn, e, NULL))
		return NULL;
	(*n)++;
	return e;
}

/* totals */

static const char *const totals_keys[] = {
	"allocs",	 "frees",	"outstanding_bytes", "outstanding_allocs",
	"unknown_frees", "events_lost", "unwind_failures",   "inherited_frees", /* optional */
	"alloc_bytes" /* optional, nullable */
};
#define NR_TOTALS_KEYS (int)(sizeof(totals_keys) / sizeof(totals_keys[0]))

static int totals_member(struct loader *l, int k, void *obj)
{
	struct report_totals *t = obj;
	uint64_t *fields[] = {
		&t->allocs,	   &t->frees,	    &t->outstanding_bytes, &t->outstanding_allocs,
		&t->unknown_frees, &t->events_lost, &t->unwind_failures,   &t->inherited_frees,
		&t->alloc_bytes
	};

	if (fields[k] == &t->alloc_bytes)
		return want_u64_or_null(l, fields[k], &l->totals_alloc_bytes);
	return want_u64(l, fields[k]);
}

/* processes[] */

enum {
	P_PID,
	P_NSPID,
	P_PPID,
	P_START,
	P_COMM,
	P_EXE,
	P_BYTES,
	P_ALLOCS,
	P_EXITED,
	P_INH_BYTES, /* optional from here: reports before fork views have none */
	P_INH_ALLOCS,
	P_MODULES,
	P__N
};
static const char *const proc_keys[P__N] = { "pid",
					     "nspid",
					     "ppid",
					     "start_time",
					     "comm",
					     "exe",
					     "outstanding_bytes",
					     "outstanding_allocs",
					     "exited",
					     "inherited_bytes",
					     "inherited_allocs",
					     "modules" };

/* processes[].modules[] */

enum { MOD_PATH, MOD_BUILD_ID, MOD_BASE, MOD_START, MOD_END, MOD__N };
static const char *const module_keys[MOD__N] = { "path", "build_id", "base", "start", "end" };

#define MAX_BUILD_ID 64 /* bytes; GNU ld writes 20 (sha1), 16 (md5, uuid) */

/* null, or 2 to 2 * MAX_BUILD_ID lowercase hex digits, an even number of them */
static int want_build_id(struct loader *l, const char **s)
{
	if (l->t.type == JSON_STR && (l->t.len < 2 || l->t.len > 2 * MAX_BUILD_ID || l->t.len % 2 ||
				      strspn(l->t.str, "0123456789abcdef") != l->t.len))
		return fail(l, l->t.pos,
			    "expected a build-id: an even number of lowercase hex "
			    "digits, at most %d",
			    2 * MAX_BUILD_ID);
	return want_str(l, true, s);
}

static int module_member(struct loader *l, int k, void *obj)
{
	struct report_module *m = obj;

	switch (k) {
	case MOD_PATH:
		return want_str(l, false, &m->path);
	case MOD_BUILD_ID:
		return want_build_id(l, &m->build_id);
	case MOD_BASE:
		return want_address(l, &m->base);
	case MOD_START:
		return want_address(l, &m->start);
	default:
		return want_address(l, &m->end);
	}
}

static int load_module(struct loader *l, size_t j)
{
	struct report_module *m;
	size_t start = l->t.pos;

	if (l->nr_mod >= MAX_FRAMES)
		return json_parser__fail(&l->jp, start, -E2BIG, "more than %d modules in a process",
					 MAX_FRAMES);
	if (grow(&l->mod, &l->cap_mod, l->nr_mod, sizeof(*m)))
		return json_parser__fail(&l->jp, start, -ENOMEM, "out of memory");
	m = memset(&l->mod[l->nr_mod], 0, sizeof(*m));
	l->sub = "modules";
	l->j = j;
	if (load_object(l, module_keys, MOD__N, (1u << MOD__N) - 1, module_member, m, NULL))
		return l->jp.err;
	if (m->end < m->start)
		return fail(l, start, "end is below start");
	l->nr_mod++;
	return 0;
}

static int cmp_module_start(const void *a, const void *b)
{
	const struct report_module *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* "modules": null (unknown), or the array, sorted by start into the arena */
static int load_modules(struct loader *l, struct report_process *p)
{
	struct report_module *mods;
	int err;

	if (l->t.type == JSON_NULL)
		return 0;
	l->nr_mod = 0;
	err = load_array(l, load_module);
	l->sub = NULL;
	if (err)
		return err;
	mods = l->nr_mod ? arena_alloc(&l->ld->chunks, l->nr_mod * sizeof(*mods), 16) : NULL;
	if (l->nr_mod && !mods)
		return json_parser__fail(&l->jp, l->t.pos, -ENOMEM, "out of memory");
	if (l->nr_mod) {
		memcpy(mods, l->mod, l->nr_mod * sizeof(*mods));
		qsort(mods, l->nr_mod, sizeof(*mods), cmp_module_start);
	}
	p->modules = mods;
	p->nr_modules = l->nr_mod;
	l->nr_with_modules++;
	return 0;
}

static int proc_member(struct loader *l, int k, void *obj)
{
	struct report_process *p = obj;

	switch (k) {
	case P_PID:
		return want_u32(l, false, &p->pid);
	case P_NSPID:
		return want_u32(l, true, &p->nspid);
	case P_PPID:
		return want_u32(l, false, &p->ppid);
	case P_START:
		return want_u64(l, &p->start_time);
	case P_COMM:
		return want_str(l, true, &p->comm);
	case P_EXE:
		return want_str(l, true, &p->exe);
	case P_BYTES:
		return want_u64(l, &p->outstanding_bytes);
	case P_ALLOCS:
		return want_u64(l, &p->outstanding_allocs);
	case P_INH_BYTES:
		return want_u64(l, &p->inherited_bytes);
	case P_INH_ALLOCS:
		return want_u64(l, &p->inherited_allocs);
	case P_MODULES:
		return load_modules(l, p);
	default:
		return want_bool(l, &p->exited);
	}
}

static int load_process(struct loader *l, size_t i)
{
	struct loaded *ld = l->ld;
	size_t pos = l->t.pos;

	if (grow(&l->proc_pos, &l->cap_proc_pos, i, sizeof(*l->proc_pos)))
		return json_parser__fail(&l->jp, pos, -ENOMEM, "out of memory");
	l->proc_pos[i] = pos;
	return load_element(l, "processes", i, &ld->procs, &ld->cap_procs, &ld->r.nr_processes,
			    sizeof(*ld->procs), proc_keys, P__N, (1u << P_INH_BYTES) - 1,
			    proc_member) ?
		       0 :
		       l->jp.err;
}

/* merged[] */

enum { M_ID, M_PIDS, M_BYTES, M_ALLOCS, M_MIN, M_MAX, M__N };
static const char *const merged_keys[M__N] = { "stack_id",	    "pids",
					       "outstanding_bytes", "outstanding_allocs",
					       "min_pid_bytes",	    "max_pid_bytes" };

static int merged_member(struct loader *l, int k, void *obj)
{
	struct report_merged *m = obj;

	switch (k) {
	case M_ID:
		return want_stack_id(l, m->stack_id);
	case M_PIDS:
		return want_u32(l, false, &m->pids);
	case M_BYTES:
		return want_u64(l, &m->outstanding_bytes);
	case M_ALLOCS:
		return want_u64(l, &m->outstanding_allocs);
	case M_MIN:
		return want_u64(l, &m->min_pid_bytes);
	default:
		return want_u64(l, &m->max_pid_bytes);
	}
}

static int load_merged(struct loader *l, size_t i)
{
	struct loaded *ld = l->ld;
	struct report_merged *m;

	m = load_element(l, "merged", i, &ld->merged, &ld->cap_merged, &ld->r.nr_merged, sizeof(*m),
			 merged_keys, M__N, (1u << M__N) - 1, merged_member);
	if (!m)
		return l->jp.err;
	m->first_stack = l->t.pos; /* for messages until link_merged() sets it */
	return 0;
}

/* stacks[].frames[] */

enum { F_KIND, F_ADDRESS, F_MODULE, F_FUNCTION, F_FILE, F_LINE, F_INLINED, F__N };
static const char *const frame_keys[F__N] = { "kind", "address", "module", "function",
					      "file", "line",	 "inlined" };
#define F_PYTHON_KEYS (1u << F_KIND | 1u << F_FUNCTION | 1u << F_FILE | 1u << F_LINE)

static int frame_member(struct loader *l, int k, void *obj)
{
	struct report_frame *fr = obj;

	switch (k) {
	case F_KIND:
		if (l->t.type != JSON_STR)
			return wrong_type(l, "\"native\" or \"python\"");
		if (l->t.len == 6 && !memcmp(l->t.str, "python", 6))
			fr->kind = FRAME_PYTHON;
		else if (l->t.len == 6 && !memcmp(l->t.str, "native", 6))
			fr->kind = FRAME_NATIVE;
		else
			return fail(l, l->t.pos, "expected \"native\" or \"python\"");
		return 0;
	case F_ADDRESS:
		return want_address(l, &fr->address);
	case F_MODULE:
		return want_str(l, true, &fr->module);
	case F_FUNCTION:
		return want_str(l, true, &fr->function);
	case F_FILE:
		return want_str(l, true, &fr->file);
	case F_LINE:
		return want_u32(l, true, &fr->line);
	default:
		return want_bool(l, &fr->inlined);
	}
}

static int load_frame(struct loader *l, size_t j)
{
	struct report_frame *fr;
	size_t start = l->t.pos;
	uint32_t seen = 0, missing;

	if (l->nr_fr >= MAX_FRAMES)
		return json_parser__fail(&l->jp, start, -E2BIG, "more than %d frames in a stack",
					 MAX_FRAMES);
	if (grow(&l->fr, &l->cap_fr, l->nr_fr, sizeof(*fr)))
		return json_parser__fail(&l->jp, start, -ENOMEM, "out of memory");
	fr = memset(&l->fr[l->nr_fr], 0, sizeof(*fr));
	l->sub = "frames";
	l->j = j;
	if (load_object(l, frame_keys, F__N, 1u << F_KIND, frame_member, fr, &seen))
		return l->jp.err;
	missing = (fr->kind == FRAME_PYTHON ? F_PYTHON_KEYS : (1u << F__N) - 1) & ~seen;
	if (missing)
		return fail(l, start, "missing \"%s\" (in a %s frame)",
			    frame_keys[__builtin_ctz(missing)],
			    fr->kind == FRAME_PYTHON ? "python" : "native");
	if (fr->kind == FRAME_PYTHON) {
		fr->address = 0; /* not part of a python frame: dropped as the writer would */
		fr->module = NULL;
		fr->inlined = false;
	}
	l->nr_fr++;
	return 0;
}

/* stacks[] */

enum {
	S_PID,
	S_ID,
	S_EXITED,
	S_TRUNC,
	S_BYTES,
	S_ALLOCS_OUT,
	S_ALLOCS,
	S_FREES,
	S_AGE,
	S_FRAMES,
	S_INH_FREES, /* optional from here */
	S_ALLOC_BYTES,
	S__N
};
static const char *const stack_keys[S__N] = { "pid",
					      "stack_id",
					      "exited",
					      "truncated",
					      "outstanding_bytes",
					      "outstanding_allocs",
					      "allocs",
					      "frees",
					      "oldest_age_s",
					      "frames",
					      "inherited_frees",
					      "alloc_bytes" };

static int stack_member(struct loader *l, int k, void *obj)
{
	struct report_stack *s = obj;
	struct report_frame *frames;
	bool known;
	int err;

	switch (k) {
	case S_PID:
		return want_u32(l, false, &s->pid);
	case S_ID:
		return want_stack_id(l, s->stack_id);
	case S_EXITED:
		return want_bool(l, &s->exited);
	case S_TRUNC:
		return want_bool(l, &s->truncated);
	case S_BYTES:
		return want_u64(l, &s->outstanding_bytes);
	case S_ALLOCS_OUT:
		return want_u64(l, &s->outstanding_allocs);
	case S_ALLOCS:
		return want_u64(l, &s->allocs);
	case S_FREES:
		return want_u64(l, &s->frees);
	case S_AGE:
		return want_double(l, &s->oldest_age_s);
	case S_INH_FREES:
		return want_u64(l, &s->inherited_frees);
	case S_ALLOC_BYTES:
		err = want_u64_or_null(l, &s->alloc_bytes, &known);
		l->nr_alloc_bytes += !err && known;
		return err;
	default:
		l->nr_fr = 0;
		err = load_array(l, load_frame);
		l->sub = NULL;
		if (err)
			return err;
		frames = l->nr_fr ? arena_alloc(&l->ld->chunks, l->nr_fr * sizeof(*frames), 16) :
				    NULL;
		if (l->nr_fr && !frames)
			return json_parser__fail(&l->jp, l->t.pos, -ENOMEM, "out of memory");
		if (l->nr_fr)
			memcpy(frames, l->fr, l->nr_fr * sizeof(*frames));
		s->frames = frames;
		s->nr_frames = l->nr_fr;
		return 0;
	}
}

static int load_stack(struct loader *l, size_t i)
{
	struct loaded *ld = l->ld;

	release_behind(l);
	return load_element(l, "stacks", i, &ld->stacks, &ld->cap_stacks, &ld->r.nr_stacks,
			    sizeof(*ld->stacks), stack_keys, S__N, (1u << S_INH_FREES) - 1,
			    stack_member) ?
		       0 :
		       l->jp.err;
}

/* drops: {"name": count, ...} */
static int load_drops(struct loader *l)
{
	struct loaded *ld = l->ld;
	const char *name;
	size_t n;
	int err;

	if (l->t.type != JSON_OBJ_START)
		return wrong_type(l, "an object");
	for (;;) {
		err = next(l);
		if (err)
			return err;
		if (l->t.type == JSON_OBJ_END)
			return 0;
		if (l->t.nul)
			return fail(l, l->t.pos, "key contains \\u0000");
		name = intern(ld, l->t.str, l->t.len);
		n = ld->r.nr_drops;
		if (!name ||
		    grow(&ld->drop_names, &ld->cap_drop_names, n, sizeof(*ld->drop_names)) ||
		    grow(&ld->drop_counts, &ld->cap_drop_counts, n, sizeof(*ld->drop_counts)))
			return json_parser__fail(&l->jp, l->t.pos, -ENOMEM, "out of memory");
		l->arr = "drops"; /* by index: a name from the file is not printed raw */
		l->i = n;
		l->key = NULL;
		err = next(l);
		if (!err)
			err = want_u64(l, &ld->drop_counts[n]);
		if (err)
			return err;
		ld->drop_names[n] = name;
		ld->r.nr_drops++;
	}
}

/* the whole report */

enum {
	R_FORMAT,
	R_VERSION,
	R_DURATION,
	R_INCOMPLETE,
	R_TOTALS,
	R_PROCS,
	R_MERGED,
	R_STACKS,
	R_DROPS,
	R__N
};
static const char *const report_keys[R__N] = { "format",     "drip_version", "duration_s",
					       "incomplete", "totals",	     "processes",
					       "merged",     "stacks",	     "drops" };
#define R_REQUIRED ((1u << R__N) - 1 - (1u << R_VERSION) - (1u << R_DROPS))

static int report_member(struct loader *l, int k, void *obj)
{
	struct report *r = obj;
	const char *version;
	uint64_t format;
	int err;

	switch (k) {
	case R_FORMAT:
		if (l->t.type == JSON_NUM && l->t.is_u64 && l->t.u64 != DRIP_REPORT_FORMAT)
			return fail(l, l->t.pos,
				    "unsupported report format %" PRIu64
				    " (this drip reads format %d)",
				    l->t.u64, DRIP_REPORT_FORMAT);
		return want_u64(l, &format);
	case R_VERSION:
		return want_str(l, true, &version);
	case R_DURATION:
		return want_double(l, &r->duration_s);
	case R_INCOMPLETE:
		return want_bool(l, &r->incomplete);
	case R_TOTALS:
		l->totals_pos = l->t.pos;
		l->arr = "totals";
		l->i = NO_INDEX;
		err = load_object(l, totals_keys, NR_TOTALS_KEYS, (1u << 7) - 1, totals_member,
				  &r->totals, NULL);
		l->arr = NULL;
		return err;
	case R_PROCS:
		err = load_array(l, load_process);
		break;
	case R_MERGED:
		err = load_array(l, load_merged);
		break;
	case R_STACKS:
		err = load_array(l, load_stack);
		break;
	default:
		err = load_drops(l);
	}
	l->arr = NULL;
	l->key = NULL;
	return err;
}

/* --- order and links ------------------------------------------------------------------ */

static int cmp_pid(const void *a, const void *b)
{
	const struct report_process *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* stacks and merged rows both start their counts with outstanding_bytes */
static int cmp_stack_bytes(const void *a, const void *b)
{
	const struct report_stack *x = a, *y = b;

	return x->outstanding_bytes > y->outstanding_bytes ?
		       -1 :
		       x->outstanding_bytes < y->outstanding_bytes;
}

static int cmp_merged_bytes(const void *a, const void *b)
{
	const struct report_merged *x = a, *y = b;

	return x->outstanding_bytes > y->outstanding_bytes ?
		       -1 :
		       x->outstanding_bytes < y->outstanding_bytes;
}

/* qsort_r on pointers into the unsorted array: equal elements keep their input order */
static int cmp_ptrs(const void *a, const void *b, void *arg)
{
	int (*cmp)(const void *, const void *) = *(int (**)(const void *, const void *))arg;
	const void *x = *(const void *const *)a, *y = *(const void *const *)b;
	int c = cmp(x, y);

	return c ? c : (x < y ? -1 : x > y);
}

static int stable_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	unsigned char *b = base, *copy;
	const void **ptrs;
	size_t i;

	for (i = 1; i < n; i++)
		if (cmp(b + (i - 1) * size, b + i * size) > 0)
			break;
	if (i >= n)
		return 0; /* already in order: drip wrote it */
	ptrs = malloc(n * sizeof(*ptrs));
	copy = malloc(n * size);
	if (!ptrs || !copy) {
		free(ptrs);
		free(copy);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		ptrs[i] = b + i * size;
	qsort_r(ptrs, n, sizeof(*ptrs), cmp_ptrs, &cmp);
	for (i = 0; i < n; i++)
		memcpy(copy + i * size, ptrs[i], size);
	memcpy(b, copy, n * size);
	free(ptrs);
	free(copy);
	return 0;
}

static uint64_t id_value(const char id[17])
{
	uint64_t v = 0;

	for (int i = 0; i < 16; i++)
		v = v << 4 | hex_digit(id[i]);
	return v;
}

/* merged[].first_stack: the first (largest) stacks[] row with its stack_id */
static int link_merged(struct loader *l)
{
	struct loaded *ld = l->ld;
	size_t zero = SIZE_MAX; /* u64map reserves key 0 */
	struct u64map first;
	uint64_t id, v;
	size_t i, pos;
	int err = 0;

	u64map__init(&first);
	for (i = ld->r.nr_stacks; i-- > 0;) {
		id = id_value(ld->stacks[i].stack_id);
		if (!id)
			zero = i;
		else if ((err = u64map__set(&first, id, i)))
			goto out;
	}
	for (i = 0; i < ld->r.nr_merged; i++) {
		struct report_merged *m = &ld->merged[i];

		pos = m->first_stack;
		id = id_value(m->stack_id);
		if (id ? !u64map__get(&first, id, &v) : zero == SIZE_MAX) {
			l->arr = "merged";
			l->i = i;
			err = fail(l, pos, "stack_id %s is in no stacks[] row", m->stack_id);
			goto out;
		}
		m->first_stack = id ? v : zero;
	}
out:
	u64map__release(&first);
	return err == -ENOMEM ? json_parser__fail(&l->jp, 0, -ENOMEM, "out of memory") : err;
}

/* --- totals ----------------------------------------------------------------------------- */

/* *sum += v; true once it has overflowed (and from then on) */
static bool add(uint64_t *sum, uint64_t v, bool over)
{
	return __builtin_add_overflow(*sum, v, sum) || over;
}

/* "N", or "more than UINT64_MAX" for a sum that overflowed */
static const char *figure(uint64_t v, bool over, char buf[32])
{
	if (over)
		snprintf(buf, 32, "more than %" PRIu64, UINT64_MAX);
	else
		snprintf(buf, 32, "%" PRIu64, v);
	return buf;
}

struct pid_sums {
	uint64_t st[2], pr[2]; /* outstanding bytes and allocs: of its stacks, of its processes */
	bool st_over[2], pr_over[2];
	size_t first, nr_procs; /* its first processes[] entry; entries with this pid */
};

static int totals_mismatch(struct loader *l, int k, uint64_t want, uint64_t got, bool over)
{
	char a[32];

	l->arr = "totals";
	l->i = NO_INDEX;
	l->key = k ? "outstanding_allocs" : "outstanding_bytes";
	return fail(l, l->totals_pos, "%" PRIu64 ", but stacks[].%s add up to %s", want, l->key,
		    figure(got, over, a));
}

static int process_mismatch(struct loader *l, const struct pid_sums *s, int k, uint32_t pid)
{
	char a[32], b[32];

	l->arr = "processes";
	l->i = s->first;
	l->key = k ? "outstanding_allocs" : "outstanding_bytes";
	return fail(l, l->proc_pos[s->first],
		    "%s for pid %" PRIu32 "%s, but its stacks[] add up to %s",
		    figure(s->pr[k], s->pr_over[k], a), pid,
		    s->nr_procs > 1 ? " (over its processes[] entries)" : "",
		    figure(s->st[k], s->st_over[k], b));
}

/*
 * drip's own reports list every stack: totals.outstanding_* are the sums of
 * stacks[], and each process's the sum of its pid's stacks (a pid reused by
 * several processes: of them all). A report where they differ was edited or
 * damaged, and its exports would contradict themselves (a subtitle's total
 * against the frames drawn): refused, naming both figures.
 */
static int check_sums(struct loader *l)
{
	const struct loaded *ld = l->ld;
	uint64_t tot[2] = { 0, 0 }, v;
	bool over[2] = { false, false };
	struct pid_sums *sums, *ps;
	struct u64map idx;
	size_t i, n = 0;
	int err = 0;

	for (i = 0; i < ld->r.nr_stacks; i++) {
		over[0] = add(&tot[0], ld->stacks[i].outstanding_bytes, over[0]);
		over[1] = add(&tot[1], ld->stacks[i].outstanding_allocs, over[1]);
	}
	if (over[0] || tot[0] != ld->r.totals.outstanding_bytes)
		return totals_mismatch(l, 0, ld->r.totals.outstanding_bytes, tot[0], over[0]);
	if (over[1] || tot[1] != ld->r.totals.outstanding_allocs)
		return totals_mismatch(l, 1, ld->r.totals.outstanding_allocs, tot[1], over[1]);

	sums = calloc(ld->r.nr_processes ? ld->r.nr_processes : 1, sizeof(*sums));
	if (!sums)
		return json_parser__fail(&l->jp, 0, -ENOMEM, "out of memory");
	u64map__init(&idx);
	for (i = 0; i < ld->r.nr_processes; i++) {
		const struct report_process *p = &ld->procs[i];

		if (!u64map__get(&idx, (uint64_t)p->pid + 1, &v)) { /* key 0 is the map's */
			v = n++;
			sums[v].first = i;
			if ((err = u64map__set(&idx, (uint64_t)p->pid + 1, v)))
				goto out;
		}
		ps = &sums[v];
		ps->nr_procs++;
		ps->pr_over[0] = add(&ps->pr[0], p->outstanding_bytes, ps->pr_over[0]);
		ps->pr_over[1] = add(&ps->pr[1], p->outstanding_allocs, ps->pr_over[1]);
	}
	for (i = 0; i < ld->r.nr_stacks; i++) {
		const struct report_stack *st = &ld->stacks[i];

		if (!u64map__get(&idx, (uint64_t)st->pid + 1, &v))
			continue; /* a pid no process entry describes: in the totals only */
		ps = &sums[v];
		ps->st_over[0] = add(&ps->st[0], st->outstanding_bytes, ps->st_over[0]);
		ps->st_over[1] = add(&ps->st[1], st->outstanding_allocs, ps->st_over[1]);
	}
	for (i = 0; i < n && !err; i++) {
		ps = &sums[i];
		for (int k = 0; k < 2 && !err; k++)
			if (ps->st[k] != ps->pr[k] || ps->st_over[k] || ps->pr_over[k])
				err = process_mismatch(l, ps, k, ld->procs[ps->first].pid);
	}
out:
	u64map__release(&idx);
	free(sums);
	return err == -ENOMEM ? json_parser__fail(&l->jp, 0, -ENOMEM, "out of memory") : err;
}

static int load(struct loader *l)
{
	struct loaded *ld = l->ld;
	uint32_t seen = 0;
	int err;

	err = next(l);
	if (!err && l->t.type != JSON_OBJ_START)
		return fail(l, l->t.pos, "not a drip JSON report: expected an object, found %s",
			    type_name(&l->t));
	if (!err)
		err = load_object(l, report_keys, R__N, 0, report_member, &ld->r, &seen);
	if (!err && !(seen & 1u << R_FORMAT))
		return fail(l, 0, "not a drip JSON report: no \"format\"");
	if (!err && (R_REQUIRED & ~seen))
		return fail(l, l->t.pos, "missing \"%s\"",
			    report_keys[__builtin_ctz(R_REQUIRED & ~seen)]);
	if (!err)
		err = next(l); /* JSON_EOF, or trailing garbage */
	if (!err)
		err = check_sums(l);
	if (err)
		return err;
	if (stable_sort(ld->procs, ld->r.nr_processes, sizeof(*ld->procs), cmp_pid) ||
	    stable_sort(ld->stacks, ld->r.nr_stacks, sizeof(*ld->stacks), cmp_stack_bytes) ||
	    stable_sort(ld->merged, ld->r.nr_merged, sizeof(*ld->merged), cmp_merged_bytes))
		return json_parser__fail(&l->jp, 0, -ENOMEM, "out of memory");
	err = link_merged(l);
	ld->r.has_alloc_bytes = l->totals_alloc_bytes && l->nr_alloc_bytes == ld->r.nr_stacks;
	ld->r.has_modules = l->nr_with_modules == ld->r.nr_processes;
	for (size_t i = 0; !ld->r.has_modules && i < ld->r.nr_processes; i++) {
		ld->procs[i].modules = NULL; /* some unknown: all unknown, as alloc_bytes */
		ld->procs[i].nr_modules = 0;
	}
	ld->r.processes = ld->procs;
	ld->r.merged = ld->merged;
	ld->r.stacks = ld->stacks;
	ld->r.drop_names = ld->drop_names;
	ld->r.drop_counts = ld->drop_counts;
	return err;
}

/* Free what a load left in l (all of it, when it stopped half-way) */
static void loader_release(struct loader *l)
{
	json_parser__release(&l->jp);
	free(l->fr);
	l->fr = NULL;
	free(l->mod);
	l->mod = NULL;
	free(l->proc_pos);
	l->proc_pos = NULL;
	if (l->ld)
		report_load__free(&l->ld->r);
	l->ld = NULL;
}

/* report_load__buf() with the loader's memory in l, for a caller that may abandon it */
static int load_buf(struct loader *l, const char *buf, size_t len, struct report **out, char *why,
		    size_t why_len)
{
	struct json_limits lim = { .max_depth = MAX_DEPTH, .max_string = MAX_STRING };
	int err;

	*out = NULL;
	if (why_len)
		why[0] = '\0';
	l->ld = calloc(1, sizeof(*l->ld));
	if (!l->ld) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	json_parser__init(&l->jp, buf, len, &lim);
	if (!len)
		err = json_parser__fail(&l->jp, 0, -EBADMSG, "empty file, not a drip JSON report");
	else
		err = load(l);
	if (err) {
		snprintf(why, why_len, "%s", json_parser__error(&l->jp));
	} else {
		*out = &l->ld->r;
		l->ld = NULL; /* the caller's now */
	}
	loader_release(l);
	return err;
}

int report_load__buf(const char *buf, size_t len, struct report **out, char *why, size_t why_len)
{
	struct loader l = { 0 };

	return load_buf(&l, buf, len, out, why, why_len);
}

/* The whole file (any kind: pipe, /proc) into a malloc'd buffer, at most max bytes */
static int read_all(int fd, char **buf, size_t *len, size_t max)
{
	size_t cap = 1 << 16, n = 0;
	char *b = NULL, *nb;
	ssize_t got;

	for (;;) {
		if (n == cap || !b) {
			if (b)
				cap = cap > max / 2 ? max + 1 : cap * 2;
			nb = realloc(b, cap);
			if (!nb)
				goto out_nomem;
			b = nb;
		}
		got = read(fd, b + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(b);
			return -errno;
		}
		if (!got)
			break;
		n += got;
		if (n > max) {
			free(b);
			return -EFBIG;
		}
	}
	*buf = b;
	*len = n;
	return 0;
out_nomem:
	free(b);
	return -ENOMEM;
}

/*
 * A file mapped into memory can be cut short while it is read (truncated by
 * another process): then the pages past its new end raise SIGBUS. While
 * load_mapped() parses, SIGBUS at an address in the mapping returns to it,
 * which fails the load (the loader's memory is in a struct it keeps and
 * frees). Any other SIGBUS gets the handler that was there before. The bytes
 * may also change under the parser: it then reads nonsense, but only inside
 * the mapping, and whatever it copies out is checked on the copy, so the
 * result is as safe as from any other bad file.
 */
static sigjmp_buf *bus_jmp;
static const char *bus_lo, *bus_hi;
static struct sigaction bus_old;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	const char *a = si->si_addr;

	if (bus_jmp && a >= bus_lo && a < bus_hi)
		siglongjmp(*bus_jmp, 1);
	sigaction(SIGBUS, &bus_old, NULL); /* not ours: it faults again, as it would have */
}

static int load_mapped(const char *map, size_t len, struct report **out, char *why, size_t why_len)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };
	struct loader *l;
	sigjmp_buf jb;
	int err;

	*out = NULL;
	l = calloc(1,
		   sizeof(*l)); /* on the heap: its fields change between sigsetjmp and longjmp */
	if (!l) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	sigemptyset(&sa.sa_mask);
	if (sigsetjmp(jb, 1)) {
		loader_release(l);
		*out = NULL;
		snprintf(why, why_len, "the file was cut short while drip read it");
		err = -EIO;
		goto out;
	}
	bus_lo = map;
	bus_hi = map + len;
	bus_jmp = &jb;
	l->map = map;
	sigaction(SIGBUS, &sa, &bus_old);
	err = load_buf(l, map, len, out, why, why_len);
out:
	bus_jmp = NULL;
	sigaction(SIGBUS, &bus_old, NULL);
	free(l);
	return err;
}

/*
 * A regular file is mapped (read from the page cache in place: reading 700 MiB
 * into a buffer cost 0.5 s of the 2 s a load took, and as much memory as the
 * file), its pages let go as the parse moves on; anything else is read.
 */
int report_load__file(const char *path, struct report **out, char *why, size_t why_len)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	void *map;
	int fd, err;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out_err;
	}
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0) {
		if ((uint64_t)st.st_size > REPORT_LOAD_MAX_BYTES) {
			close(fd);
			err = -EFBIG;
			goto out_err;
		}
		map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map != MAP_FAILED) {
			close(fd);
			madvise(map, st.st_size, MADV_SEQUENTIAL); /* read ahead, once through */
			err = load_mapped(map, st.st_size, out, why, why_len);
			munmap(map, st.st_size);
			return err;
		}
	}
	err = read_all(fd, &buf, &len, REPORT_LOAD_MAX_BYTES);
	close(fd);
	if (err)
		goto out_err;
	err = report_load__buf(buf, len, out, why, why_len);
	free(buf);
	return err;
out_err:
	if (err == -EFBIG)
		snprintf(why, why_len, "larger than %llu MiB", REPORT_LOAD_MAX_BYTES >> 20);
	else
		snprintf(why, why_len, "%s", strerror(-err));
	return err;
}
