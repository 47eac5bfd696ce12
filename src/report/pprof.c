// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * pprof: a gzip-compressed profile.proto (github.com/google/pprof,
 * proto/profile.proto), written with our own encoder (protobuf.c), so
 * `go tool pprof` and the pprof web UI read drip's reports.
 *
 * Sample types, in order: inuse_space/bytes (default), inuse_objects/count,
 * alloc_space/bytes, alloc_objects/count, as Go's heap profiles. Each
 * stacks[] row with a nonzero value is one sample: [outstanding_bytes,
 * outstanding_allocs, alloc_bytes, allocs], labelled pid (num) and comm
 * (str). A report from a drip that did not count alloc_bytes yet (loaded
 * from its JSON) has no alloc_space: the type is left out rather than
 * written as zeros that would look like data, and a comment says why.
 *
 * Mappings: one per (file path, build-id, base) of the processes' modules
 * (report_module: base = address - file offset), so forked workers that
 * share a load address share a mapping and its locations, and a path that
 * is two files (replaced on disk while processes ran) is two mappings, each
 * with its own build-id. A mapping's range covers the addresses of its
 * frames in every process it serves, its file_offset is where that range
 * starts in the file (memory_start - base), so a location's file offset is
 * address - memory_start + file_offset, exact. A frame without a module
 * entry (a report from before drip listed them) gets a mapping per path
 * with no range and no build-id. All mappings claim to be symbolized
 * (functions, files, lines, inline frames), so pprof never re-resolves
 * drip's runtime addresses against whatever is on disk now.
 *
 * Locations: a native frame is (mapping, runtime address); inlined frames
 * (inlined == true) join the frame they were inlined into, at the same
 * address and module, as one location with several lines, innermost first.
 * A native frame without a function name is a location with no lines (pprof
 * shows its address). A Python frame is a location without mapping or
 * address and one line. Locations, functions (name, file), mappings and
 * strings are each written once.
 *
 * Strings are made valid UTF-8 and safe to print: controls, bidi overrides
 * and invalid bytes become '?' (folded__add_safe without the ';' rule).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "drip/folded.h"
#include "drip/formats.h"
#include "drip/hash.h"
#include "drip/protobuf.h"
#include "drip/u64map.h"

/* profile.proto field numbers */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,
	PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	VALUE_TYPE_TYPE = 1,
	VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1,
	SAMPLE_VALUE = 2,
	SAMPLE_LABEL = 3,
	LABEL_KEY = 1,
	LABEL_STR = 2,
	LABEL_NUM = 3,
	MAPPING_ID = 1,
	MAPPING_MEMORY_START = 2,
	MAPPING_MEMORY_LIMIT = 3,
	MAPPING_FILE_OFFSET = 4,
	MAPPING_FILENAME = 5,
	MAPPING_BUILD_ID = 6,
	MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9,
	MAPPING_HAS_INLINE_FRAMES = 10,
	LOCATION_ID = 1,
	LOCATION_MAPPING_ID = 2,
	LOCATION_ADDRESS = 3,
	LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1,
	LINE_LINE = 2,
	FUNCTION_ID = 1,
	FUNCTION_NAME = 2,
	FUNCTION_FILENAME = 4,
};

#define MAX_VALUES 4
#define GZIP_LEVEL 1 /* as Go's runtime/pprof: the profile is rewritten, not archived */

/* Byte strings -> dense ids 0, 1, ... in insertion order */
struct keymap {
	struct sbuf keys; /* back to back */
	struct kitem {
		size_t off;
		size_t len;
		uint64_t hash;
	} * items;
	size_t nr, cap_items;
	uint32_t *slots; /* item index + 1; 0: empty */
	size_t nr_slots;
};

/*
 * The location of a frame that is a location by itself (most are),
 * remembered by the frame's fields, strings by address: a report shares its
 * strings between frames, so most frames are found here without building
 * and hashing a key of their text.
 */
struct memo {
	const char *module, *function, *file;
	uint64_t address, mapping;
	uint32_t line;
	int kind; /* -1: an empty slot */
	uint64_t id;
};

/* A mapping, written once the samples have widened its range */
struct pmapping {
	const char *path, *build_id;
	uint64_t base, start, end;
	bool ranged; /* from a module entry: base, start and end are known */
};

struct pprof {
	const struct report *r;
	struct memo *memo; /* open addressing */
	size_t nr_memo, cap_memo;
	struct keymap strings, functions, locations, mappings;
	struct pmapping *maps; /* by mapping id - 1 */
	size_t cap_maps;
	struct u64map module_maps; /* struct report_module * -> mapping id */
	struct u64map path_maps;   /* a module path's string (frames without an entry) -> id */
	uint32_t pid;		   /* the current sample's */
	size_t proc_lo, proc_hi;   /* its processes[] rows */
	struct mcache {		   /* the module entry a frame's path last found (by address) */
		const char *path;
		uint32_t pid;
		const struct report_module *m;
		uint64_t mapping;
	} mcache[64];
	struct pb location_msgs, function_msgs;
	struct sbuf key, name; /* scratch */
	uint64_t *loc_ids;     /* one sample's locations */
	uint64_t pid_key, comm_key;
	size_t cap_loc_ids;
	int err;
};

static void keymap_release(struct keymap *m)
{
	sbuf__release(&m->keys);
	free(m->items);
	free(m->slots);
}

static int keymap_grow(struct keymap *m)
{
	size_t n = m->nr_slots ? m->nr_slots * 2 : 1024, k;
	uint32_t *slots;

	if (n > UINT32_MAX)
		return -E2BIG;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->nr; i++) {
		for (k = m->items[i].hash & (n - 1); slots[k]; k = (k + 1) & (n - 1))
			;
		slots[k] = i + 1;
	}
	free(m->slots);
	m->slots = slots;
	m->nr_slots = n;
	return 0;
}

/* The id of key; *created when it is new. 0 or -ENOMEM/-E2BIG. */
static int keymap_get(struct keymap *m, const void *key, size_t len, uint32_t *id, bool *created)
{
	uint64_t h = hash_bytes(key, len);
	struct kitem *it;
	size_t k;
	int err;

	*created = false;
	if ((m->nr + 1) * 2 > m->nr_slots && (err = keymap_grow(m)))
		return err;
	for (k = h & (m->nr_slots - 1); m->slots[k]; k = (k + 1) & (m->nr_slots - 1)) {
		it = &m->items[m->slots[k] - 1];
		if (it->hash == h && it->len == len &&
		    (!len || !memcmp(m->keys.buf + it->off, key, len))) {
			*id = m->slots[k] - 1;
			return 0;
		}
	}
	if (m->nr == m->cap_items) {
		size_t cap = m->cap_items ? m->cap_items * 2 : 256;
		struct kitem *n = realloc(m->items, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		m->items = n;
		m->cap_items = cap;
	}
	it = &m->items[m->nr];
	*it = (struct kitem){ .off = m->keys.len, .len = len, .hash = h };
	sbuf__add(&m->keys, key, len);
	if (m->keys.oom)
		return -ENOMEM;
	m->slots[k] = ++m->nr;
	*id = m->nr - 1;
	*created = true;
	return 0;
}

/* --- strings, mappings, functions ----------------------------------------------------- */

/* Index of s (safe-mapped) in the string table; NULL: 0, the empty string */
static uint64_t str_id(struct pprof *pp, const char *s)
{
	uint32_t id = 0;
	bool created;
	int err;

	if (!s || pp->err)
		return 0;
	pp->name.len = 0;
	folded__add_safe(&pp->name, s, false);
	if (pp->name.oom)
		err = -ENOMEM;
	else
		err = keymap_get(&pp->strings, pp->name.buf, pp->name.len, &id, &created);
	if (err)
		pp->err = err;
	return id;
}

static void key_str(struct sbuf *k, const char *s)
{
	if (s)
		sbuf__add(k, s, strlen(s) + 1); /* with its NUL: "a" + "bc" != "ab" + "c" */
	else
		sbuf__add(k, "\xff", 1); /* NULL: not a valid UTF-8 byte, unlike any string */
}

static void key_u64(struct sbuf *k, uint64_t v)
{
	sbuf__add(k, &v, sizeof(v));
}

/*
 * The mapping id (1, 2, ...) of path with build_id at base (ranged), or of
 * path alone; a module entry's range widens its mapping's.
 */
static uint64_t mapping_id(struct pprof *pp, const char *path, const struct report_module *m)
{
	struct sbuf *k = &pp->key;
	uint32_t id = 0;
	bool created;
	int err;

	if (!path || pp->err)
		return 0;
	k->len = 0;
	key_str(k, path);
	key_str(k, m ? m->build_id : NULL);
	sbuf__add(k, m ? "B" : "-", 1);
	key_u64(k, m ? m->base : 0);
	err = k->oom ? -ENOMEM : keymap_get(&pp->mappings, k->buf, k->len, &id, &created);
	if (!err && created && id >= pp->cap_maps) {
		size_t cap = pp->cap_maps ? 2 * pp->cap_maps : 64;
		struct pmapping *n = realloc(pp->maps, cap * sizeof(*n));

		if (n) {
			pp->maps = n;
			pp->cap_maps = cap;
		} else {
			err = -ENOMEM;
		}
	}
	if (err) {
		pp->err = err;
		return 0;
	}
	if (created)
		pp->maps[id] = (struct pmapping){ .path = path,
						  .build_id = m ? m->build_id : NULL,
						  .base = m ? m->base : 0,
						  .start = m ? m->start : 0,
						  .end = m ? m->end : 0,
						  .ranged = m };
	else if (m && m->start < pp->maps[id].start)
		pp->maps[id].start = m->start;
	if (!created && m && m->end > pp->maps[id].end)
		pp->maps[id].end = m->end;
	return id + 1;
}

/* The same, remembered by the entry's (or the path string's) address */
static uint64_t mapping_of(struct pprof *pp, const char *path, const struct report_module *m)
{
	struct u64map *memo = m ? &pp->module_maps : &pp->path_maps;
	uint64_t key = m ? (uintptr_t)m : (uintptr_t)path, id;

	if (!path)
		return 0;
	if (u64map__get(memo, key, &id))
		return id;
	id = mapping_id(pp, path, m);
	if (id && u64map__set(memo, key, id))
		pp->err = -ENOMEM;
	return id;
}

static void put_mappings(struct pprof *pp, struct pb *b)
{
	for (size_t i = 0; i < pp->mappings.nr; i++) {
		const struct pmapping *m = &pp->maps[i];
		size_t mark = pb__begin(b, PROFILE_MAPPING);

		pb__uint(b, MAPPING_ID, i + 1);
		if (m->ranged) {
			pb__uint(b, MAPPING_MEMORY_START, m->start);
			pb__uint(b, MAPPING_MEMORY_LIMIT, m->end);
			pb__uint(b, MAPPING_FILE_OFFSET, m->start - m->base);
		}
		pb__int(b, MAPPING_FILENAME, str_id(pp, m->path));
		if (m->build_id)
			pb__int(b, MAPPING_BUILD_ID, str_id(pp, m->build_id));
		/* symbolized already: pprof must not resolve runtime addresses in today's files */
		pb__uint(b, MAPPING_HAS_FUNCTIONS, 1);
		pb__uint(b, MAPPING_HAS_FILENAMES, 1);
		pb__uint(b, MAPPING_HAS_LINE_NUMBERS, 1);
		pb__uint(b, MAPPING_HAS_INLINE_FRAMES, 1);
		pb__end(b, mark);
	}
}

static bool same_module(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool in_module(const struct report_module *m, const struct report_frame *fr)
{
	return fr->address >= m->start && fr->address < m->end && same_module(m->path, fr->module);
}

/* The module entry of a native frame of the sample's processes, or NULL */
static const struct report_module *find_module(const struct pprof *pp,
					       const struct report_frame *fr)
{
	for (size_t p = pp->proc_lo; p < pp->proc_hi; p++) {
		const struct report_process *proc = &pp->r->processes[p];
		const struct report_module *mods = proc->modules;
		size_t lo = 0, hi = proc->nr_modules;

		while (lo < hi) { /* the last one that starts at or below the address */
			size_t mid = lo + (hi - lo) / 2;

			if (mods[mid].start <= fr->address)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo && in_module(&mods[lo - 1], fr))
			return &mods[lo - 1];
		/* ranges may overlap (a path mapped again after its file was replaced) */
		for (size_t i = 0; i < proc->nr_modules; i++)
			if (in_module(&mods[i], fr))
				return &mods[i];
	}
	return NULL;
}

/* The mapping id of a native frame (0: none) */
static uint64_t frame_mapping(struct pprof *pp, const struct report_frame *fr)
{
	struct mcache *c = &pp->mcache[hash_mix((uintptr_t)fr->module) & 63];
	const struct report_module *m;
	uint64_t id;

	if (fr->kind != FRAME_NATIVE || !fr->module)
		return 0;
	/* a stack's frames come from a few modules: most are where the last one was */
	if (c->path == fr->module && c->pid == pp->pid && fr->address >= c->m->start &&
	    fr->address < c->m->end)
		return c->mapping;
	m = find_module(pp, fr);
	id = mapping_of(pp, fr->module, m);
	if (m)
		*c = (struct mcache){ .path = fr->module, .pid = pp->pid, .m = m, .mapping = id };
	return id;
}

/* The function id (1, 2, ...) of (name, file); name NULL: "??" */
static uint64_t function_id(struct pprof *pp, const char *name, const char *file)
{
	struct sbuf *k = &pp->key;
	uint64_t name_id;
	uint32_t id = 0;
	bool created;
	size_t mark;
	int err;

	if (!name || !name[0])
		name = "??";
	k->len = 0;
	key_str(k, name);
	key_str(k, file);
	err = k->oom ? -ENOMEM : keymap_get(&pp->functions, k->buf, k->len, &id, &created);
	if (err) {
		pp->err = err;
		return 0;
	}
	if (created) {
		struct pb *b = &pp->function_msgs;

		name_id = str_id(pp, name);
		mark = pb__begin(b, PROFILE_FUNCTION);
		pb__uint(b, FUNCTION_ID, id + 1);
		pb__int(b, FUNCTION_NAME, name_id);
		/* no system_name: drip's names are final (demangled, or Python's own). pprof
		 * "demangles" a function whose system_name equals its name, and its C++
		 * heuristics cut <...> out: `<module>` would become empty, `f<T>` f */
		if (file)
			pb__int(b, FUNCTION_FILENAME, str_id(pp, file));
		pb__end(b, mark);
	}
	return id + 1;
}

/* --- locations ---------------------------------------------------------------------- */

/* How many frames from fr[0] make one location: inlined frames and the one they are in */
static size_t group_len(const struct report_frame *fr, size_t n)
{
	size_t k = 0;

	if (fr[0].kind != FRAME_NATIVE)
		return 1;
	while (k + 1 < n && fr[k].inlined && fr[k + 1].kind == FRAME_NATIVE &&
	       fr[k + 1].address == fr[0].address && same_module(fr[k + 1].module, fr[0].module))
		k++;
	return k + 1;
}

static void put_line(struct pprof *pp, struct pb *b, const struct report_frame *fr)
{
	size_t mark = pb__begin(b, LOCATION_LINE);

	pb__uint(b, LINE_FUNCTION_ID, function_id(pp, fr->function, fr->file));
	if (fr->line)
		pb__int(b, LINE_LINE, fr->line);
	pb__end(b, mark);
}

/* The location id (1, 2, ...) of frames fr[0..n) (one group_len() group) in mapping m */
static uint64_t location_id(struct pprof *pp, const struct report_frame *fr, size_t n, uint64_t m)
{
	struct sbuf *k = &pp->key;
	struct pb *b = &pp->location_msgs;
	bool python = fr[0].kind == FRAME_PYTHON, created;
	bool named =
		python || fr[0].function || n > 1; /* else: no lines, pprof shows the address */
	uint32_t id = 0;
	size_t i, mark;
	int err;

	/* the key is everything the location says, so equal keys mean equal locations */
	k->len = 0;
	sbuf__add(k, python ? "P" : "N", 1);
	if (!python) {
		key_u64(k, fr[0].address);
		key_u64(k, m); /* a mapping is one path: with it, the path goes too */
		if (!m)
			key_str(k, fr[0].module);
	}
	for (i = 0; named && i < n; i++) {
		key_str(k, fr[i].function);
		key_str(k, fr[i].file);
		key_u64(k, fr[i].line);
	}
	err = k->oom ? -ENOMEM : keymap_get(&pp->locations, k->buf, k->len, &id, &created);
	if (err) {
		pp->err = err;
		return 0;
	}
	if (!created)
		return id + 1;
	mark = pb__begin(b, PROFILE_LOCATION);
	pb__uint(b, LOCATION_ID, id + 1);
	if (!python) {
		if (m)
			pb__uint(b, LOCATION_MAPPING_ID, m);
		if (fr[0].address)
			pb__uint(b, LOCATION_ADDRESS, fr[0].address);
	}
	for (i = 0; named && i < n; i++)
		put_line(pp, b, &fr[i]);
	pb__end(b, mark);
	return id + 1;
}

static uint64_t memo_hash(const struct report_frame *fr, uint64_t mapping)
{
	return hash_mix((uintptr_t)fr->function * 0x9e3779b97f4a7c15ull ^
			(uintptr_t)fr->file * 0xc2b2ae3d27d4eb4full ^
			(uintptr_t)fr->module * 0x165667b19e3779f9ull ^ fr->address ^
			mapping * 0x27d4eb2f165667c5ull ^ ((uint64_t)fr->line << 32 | fr->kind));
}

static bool memo_grow(struct pprof *pp)
{
	size_t cap = pp->cap_memo ? pp->cap_memo * 2 : 1024, k;
	struct memo *m = malloc(cap * sizeof(*m));

	if (!m)
		return false;
	for (k = 0; k < cap; k++)
		m[k].kind = -1;
	for (size_t i = 0; i < pp->cap_memo; i++) {
		const struct memo *o = &pp->memo[i];
		struct report_frame fr = { .kind = o->kind,
					   .address = o->address,
					   .module = o->module,
					   .function = o->function,
					   .file = o->file,
					   .line = o->line };

		if (o->kind < 0)
			continue;
		for (k = memo_hash(&fr, o->mapping) & (cap - 1); m[k].kind >= 0;
		     k = (k + 1) & (cap - 1))
			;
		m[k] = *o;
	}
	free(pp->memo);
	pp->memo = m;
	pp->cap_memo = cap;
	return true;
}

/* location_id(pp, fr, 1, mapping), remembered */
static uint64_t single_location_id(struct pprof *pp, const struct report_frame *fr,
				   uint64_t mapping)
{
	struct memo *m;
	size_t k;

	if ((pp->nr_memo + 1) * 2 > pp->cap_memo && !memo_grow(pp)) {
		pp->err = -ENOMEM;
		return 0;
	}
	for (k = memo_hash(fr, mapping) & (pp->cap_memo - 1);; k = (k + 1) & (pp->cap_memo - 1)) {
		m = &pp->memo[k];
		if (m->kind < 0)
			break;
		if (m->kind == (int)fr->kind && m->address == fr->address &&
		    m->mapping == mapping && m->module == fr->module &&
		    m->function == fr->function && m->file == fr->file && m->line == fr->line)
			return m->id;
	}
	*m = (struct memo){ .kind = fr->kind,
			    .address = fr->address,
			    .mapping = mapping,
			    .module = fr->module,
			    .function = fr->function,
			    .file = fr->file,
			    .line = fr->line,
			    .id = location_id(pp, fr, 1, mapping) };
	pp->nr_memo++;
	return m->id;
}

/* --- samples ------------------------------------------------------------------------ */

/* The rows of pid's processes [*first, *end): a reused pid has several */
static void find_processes(const struct report *r, uint32_t pid, size_t *first, size_t *end)
{
	size_t lo = 0, hi = r->nr_processes; /* sorted by pid */

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->processes[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo < r->nr_processes && r->processes[lo].pid == pid)
		lo++;
	*end = lo;
}

static uint64_t clamp_i64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : v;
}

static void put_sample(struct pprof *pp, struct pb *b, const struct report_stack *s,
		       const uint64_t *ids)
{
	const struct report_process *p;
	uint64_t values[MAX_VALUES], m;
	size_t n = 0, i, g, mark, lmark, nv = 0;

	pp->pid = s->pid;
	find_processes(pp->r, s->pid, &pp->proc_lo, &pp->proc_hi);
	p = pp->proc_lo < pp->proc_hi ? &pp->r->processes[pp->proc_lo] : NULL;

	values[nv++] = clamp_i64(s->outstanding_bytes);
	values[nv++] = clamp_i64(s->outstanding_allocs);
	if (pp->r->has_alloc_bytes)
		values[nv++] = clamp_i64(s->alloc_bytes);
	values[nv++] = clamp_i64(s->allocs);

	for (i = 0; i < s->nr_frames; i += g) {
		g = group_len(&s->frames[i], s->nr_frames - i);
		m = frame_mapping(pp, &s->frames[i]);
		pp->loc_ids[n++] = g == 1 ? single_location_id(pp, &s->frames[i], m) :
					    location_id(pp, &s->frames[i], g, m);
	}
	mark = pb__begin(b, PROFILE_SAMPLE);
	pb__packed(b, SAMPLE_LOCATION_ID, pp->loc_ids, n);
	pb__packed(b, SAMPLE_VALUE, values, nv);
	lmark = pb__begin(b, SAMPLE_LABEL);
	pb__int(b, LABEL_KEY, pp->pid_key);
	pb__int(b, LABEL_NUM, s->pid);
	pb__end(b, lmark);
	if (p && p->comm) {
		lmark = pb__begin(b, SAMPLE_LABEL);
		pb__int(b, LABEL_KEY, pp->comm_key);
		pb__int(b, LABEL_STR, str_id(pp, p->comm));
		pb__end(b, lmark);
	}
	pb__end(b, mark);
}

static void put_value_type(struct pprof *pp, struct pb *b, uint32_t field, const char *type,
			   const char *unit)
{
	uint64_t t = str_id(pp, type), u = str_id(pp, unit);
	size_t mark = pb__begin(b, field);

	pb__int(b, VALUE_TYPE_TYPE, t);
	pb__int(b, VALUE_TYPE_UNIT, u);
	pb__end(b, mark);
}

static int build(struct pprof *pp, struct pb *out)
{
	const struct report *r = pp->r;
	size_t i, max_frames = 1;

	str_id(pp, ""); /* index 0 */
	put_value_type(pp, out, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
	put_value_type(pp, out, PROFILE_SAMPLE_TYPE, "inuse_objects", "count");
	if (r->has_alloc_bytes)
		put_value_type(pp, out, PROFILE_SAMPLE_TYPE, "alloc_space", "bytes");
	put_value_type(pp, out, PROFILE_SAMPLE_TYPE, "alloc_objects", "count");
	pp->pid_key = str_id(pp, "pid");
	pp->comm_key = str_id(pp, "comm");

	for (i = 0; i < r->nr_stacks; i++)
		if (r->stacks[i].nr_frames > max_frames)
			max_frames = r->stacks[i].nr_frames;
	/* executables' mappings first: pprof takes the first mapping for the profile's "File" */
	for (i = 0; i < r->nr_processes; i++) {
		const struct report_process *p = &r->processes[i];
		bool found = false;

		for (size_t k = 0; p->exe && k < p->nr_modules; k++) {
			if (same_module(p->modules[k].path, p->exe)) {
				mapping_of(pp, p->exe, &p->modules[k]);
				found = true;
			}
		}
		if (p->exe && !found)
			mapping_of(pp, p->exe, NULL);
	}
	pp->loc_ids = calloc(max_frames, sizeof(*pp->loc_ids));
	if (!pp->loc_ids)
		return -ENOMEM;
	for (i = 0; i < r->nr_stacks && !pp->err; i++) {
		const struct report_stack *s = &r->stacks[i];

		if (s->outstanding_bytes || s->outstanding_allocs || s->allocs)
			put_sample(pp, out, s, pp->loc_ids);
	}
	put_mappings(pp, out);
	pb__raw(out, pp->location_msgs.buf, pp->location_msgs.len);
	pb__raw(out, pp->function_msgs.buf, pp->function_msgs.len);
	if (pp->location_msgs.oom || pp->function_msgs.oom)
		return -ENOMEM;

	if (isfinite(r->duration_s) && r->duration_s > 0 && r->duration_s < 9e9)
		pb__int(out, PROFILE_DURATION_NANOS, (int64_t)(r->duration_s * 1e9));
	put_value_type(pp, out, PROFILE_PERIOD_TYPE, "space", "bytes");
	pb__int(out, PROFILE_PERIOD, 1); /* every allocation is counted: no sampling */
	pb__int(out, PROFILE_COMMENT,
		str_id(pp, "drip " DRIP_VERSION " memory report: "
			   "memory allocated while drip watched and not freed"));
	if (!r->has_alloc_bytes)
		pb__int(out, PROFILE_COMMENT,
			str_id(pp, "alloc_space is not included: the report has no "
				   "alloc_bytes (written by a drip that did not count them)"));
	if (r->incomplete)
		pb__int(out, PROFILE_COMMENT,
			str_id(pp, "incomplete: data was lost, figures are "
				   "approximate"));
	pb__int(out, PROFILE_DEFAULT_SAMPLE_TYPE, str_id(pp, "inuse_space"));
	if (pp->err)
		return pp->err;
	for (i = 0; i < pp->strings.nr; i++)
		pb__bytes(out, PROFILE_STRING_TABLE,
			  pp->strings.keys.buf + pp->strings.items[i].off,
			  pp->strings.items[i].len);
	return out->oom ? -ENOMEM : 0;
}

static int write_gzip(const uint8_t *buf, size_t len, FILE *f)
{
	unsigned char out[1 << 16];
	z_stream zs = { 0 };
	int zerr, err = 0;

	if (deflateInit2(&zs, GZIP_LEVEL, Z_DEFLATED, 15 + 16 /* gzip header */, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	do {
		/* avail_in is 32-bit: feed at most 1 GiB at a time */
		size_t chunk = len > (1u << 30) ? 1u << 30 : len;

		zs.next_in = (unsigned char *)buf;
		zs.avail_in = chunk;
		buf += chunk;
		len -= chunk;
		do {
			zs.next_out = out;
			zs.avail_out = sizeof(out);
			zerr = deflate(&zs, len ? Z_NO_FLUSH : Z_FINISH);
			if (zerr == Z_STREAM_ERROR) {
				err = -EIO;
				goto out;
			}
			if (fwrite(out, 1, sizeof(out) - zs.avail_out, f) !=
			    sizeof(out) - zs.avail_out) {
				err = -EIO;
				goto out;
			}
		} while (zs.avail_out == 0);
	} while (len);
	if (zerr != Z_STREAM_END)
		err = -EIO;
out:
	deflateEnd(&zs);
	return err;
}

int format_pprof(const struct report *r, const struct format_opts *o, FILE *f)
{
	struct pprof pp = { .r = r };
	struct pb out = { 0 };
	int err;

	u64map__init(&pp.module_maps);
	u64map__init(&pp.path_maps);
	if (o && o->base)
		return -ENOTSUP; /* a profile has no "before": use pprof -diff_base */
	err = build(&pp, &out);
	if (!err)
		err = write_gzip(out.buf, out.len, f);
	if (!err && (fflush(f) || ferror(f)))
		err = -EIO;
	keymap_release(&pp.strings);
	keymap_release(&pp.functions);
	keymap_release(&pp.locations);
	keymap_release(&pp.mappings);
	free(pp.maps);
	u64map__release(&pp.module_maps);
	u64map__release(&pp.path_maps);
	pb__release(&pp.location_msgs);
	pb__release(&pp.function_msgs);
	sbuf__release(&pp.key);
	sbuf__release(&pp.name);
	free(pp.loc_ids);
	free(pp.memo);
	pb__release(&out);
	return err;
}
