// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * pprof writer: the output is gunzipped and decoded here with a reader of
 * the protobuf wire format written from the spec (not with the encoder under
 * test), then checked against profile.proto's rules and the report.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "drip/formats.h"
#include "drip/protobuf.h"
#include "export_fixture.h"

/* --- a protobuf reader ----------------------------------------------------------- */

struct rd {
	const uint8_t *p, *end;
};

static uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		assert_true(r->p < r->end);
		v |= (uint64_t)(*r->p & 0x7f) << shift;
		if (!(*r->p++ & 0x80))
			return v;
	}
	fail_msg("varint longer than 10 bytes");
	return 0;
}

struct field {
	uint32_t num;
	int wt;
	uint64_t v;    /* varint */
	struct rd sub; /* length-delimited */
};

static bool rd_field(struct rd *r, struct field *f)
{
	uint64_t key, len;

	if (r->p == r->end)
		return false;
	key = rd_varint(r);
	f->num = key >> 3;
	f->wt = key & 7;
	if (f->wt == 0) {
		f->v = rd_varint(r);
	} else if (f->wt == 2) {
		len = rd_varint(r);
		assert_true(len <= (uint64_t)(r->end - r->p));
		f->sub.p = r->p;
		f->sub.end = r->p + len;
		r->p += len;
	} else {
		fail_msg("unexpected wire type %d", f->wt);
	}
	return true;
}

/* repeated varints, packed or not */
static void rd_repeated(const struct field *f, uint64_t *out, size_t *n, size_t max)
{
	struct rd r = f->sub;

	if (f->wt == 0) {
		assert_true(*n < max);
		out[(*n)++] = f->v;
		return;
	}
	while (r.p < r.end) {
		assert_true(*n < max);
		out[(*n)++] = rd_varint(&r);
	}
}

/* --- the decoded profile ------------------------------------------------------------- */

struct pline {
	uint64_t function, line;
};

struct plocation {
	uint64_t id, mapping, address;
	struct pline lines[16];
	size_t nr_lines;
};

struct pfunction {
	uint64_t id, name, system_name, filename;
};

struct pmapping {
	uint64_t id, start, limit, offset, filename, build_id, flags[4];
};

struct plabel {
	uint64_t key, str, num;
};

struct psample {
	uint64_t locs[64], values[8];
	size_t nr_locs, nr_values;
	struct plabel labels[4];
	size_t nr_labels;
};

struct profile {
	uint64_t types[8][2];
	size_t nr_types;
	struct psample samples[16];
	size_t nr_samples;
	struct pmapping mappings[16];
	size_t nr_mappings;
	struct plocation locations[32];
	size_t nr_locations;
	struct pfunction functions[32];
	size_t nr_functions;
	char *strings[128];
	size_t nr_strings;
	uint64_t comments[8];
	size_t nr_comments;
	uint64_t default_type, duration, period, period_type[2];
	uint8_t *raw;
};

static void decode_value_type(struct rd r, uint64_t vt[2])
{
	struct field f;

	while (rd_field(&r, &f))
		vt[f.num - 1] = f.v;
}

static void decode_sample(struct rd r, struct psample *s)
{
	struct field f, g;

	while (rd_field(&r, &f)) {
		if (f.num == 1) {
			rd_repeated(&f, s->locs, &s->nr_locs, 64);
		} else if (f.num == 2) {
			rd_repeated(&f, s->values, &s->nr_values, 8);
		} else if (f.num == 3) {
			struct plabel *l = &s->labels[s->nr_labels++];
			struct rd sub = f.sub;

			assert_true(s->nr_labels <= 4);
			while (rd_field(&sub, &g)) {
				if (g.num == 1)
					l->key = g.v;
				else if (g.num == 2)
					l->str = g.v;
				else if (g.num == 3)
					l->num = g.v;
			}
		}
	}
}

static void decode_location(struct rd r, struct plocation *l)
{
	struct field f, g;

	while (rd_field(&r, &f)) {
		if (f.num == 1) {
			l->id = f.v;
		} else if (f.num == 2) {
			l->mapping = f.v;
		} else if (f.num == 3) {
			l->address = f.v;
		} else if (f.num == 4) {
			struct pline *ln = &l->lines[l->nr_lines++];
			struct rd sub = f.sub;

			assert_true(l->nr_lines <= 16);
			while (rd_field(&sub, &g)) {
				if (g.num == 1)
					ln->function = g.v;
				else if (g.num == 2)
					ln->line = g.v;
			}
		}
	}
}

static void decode_function(struct rd r, struct pfunction *fn)
{
	struct field f;
	uint64_t *fields[] = { &fn->id, &fn->name, &fn->system_name, &fn->filename };

	while (rd_field(&r, &f))
		if (f.num >= 1 && f.num <= 4)
			*fields[f.num - 1] = f.v;
}

static void decode_mapping(struct rd r, struct pmapping *m)
{
	struct field f;

	while (rd_field(&r, &f)) {
		if (f.num == 1)
			m->id = f.v;
		else if (f.num == 2)
			m->start = f.v;
		else if (f.num == 3)
			m->limit = f.v;
		else if (f.num == 4)
			m->offset = f.v;
		else if (f.num == 5)
			m->filename = f.v;
		else if (f.num == 6)
			m->build_id = f.v;
		else if (f.num >= 7 && f.num <= 10)
			m->flags[f.num - 7] = f.v;
	}
}

static uint8_t *gunzip(const uint8_t *in, size_t len, size_t *out_len)
{
	size_t cap = 1 << 20;
	uint8_t *out = malloc(cap);
	z_stream zs = { 0 };

	assert_non_null(out);
	assert_true(len >= 2 && in[0] == 0x1f && in[1] == 0x8b); /* gzip magic */
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (uint8_t *)in;
	zs.avail_in = len;
	zs.next_out = out;
	zs.avail_out = cap;
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	*out_len = zs.total_out;
	inflateEnd(&zs);
	return out;
}

static void decode(struct profile *p, const struct report *r, const struct format_opts *o)
{
	struct mem m;
	struct field f;
	struct rd rd;
	size_t len;

	memset(p, 0, sizeof(*p));
	assert_int_equal(format_pprof(r, o, mem_open(&m)), 0);
	mem_close(&m);
	p->raw = gunzip((uint8_t *)m.buf, m.len, &len);
	free(m.buf);
	rd = (struct rd){ p->raw, p->raw + len };
	while (rd_field(&rd, &f)) {
		switch (f.num) {
		case 1:
			assert_true(p->nr_types < 8);
			decode_value_type(f.sub, p->types[p->nr_types++]);
			break;
		case 2:
			assert_true(p->nr_samples < 16);
			decode_sample(f.sub, &p->samples[p->nr_samples++]);
			break;
		case 3:
			assert_true(p->nr_mappings < 16);
			decode_mapping(f.sub, &p->mappings[p->nr_mappings++]);
			break;
		case 4:
			assert_true(p->nr_locations < 32);
			decode_location(f.sub, &p->locations[p->nr_locations++]);
			break;
		case 5:
			assert_true(p->nr_functions < 32);
			decode_function(f.sub, &p->functions[p->nr_functions++]);
			break;
		case 6:
			assert_true(p->nr_strings < 128);
			p->strings[p->nr_strings] =
				strndup((const char *)f.sub.p, f.sub.end - f.sub.p);
			p->nr_strings++;
			break;
		case 10:
			p->duration = f.v;
			break;
		case 11:
			decode_value_type(f.sub, p->period_type);
			break;
		case 12:
			p->period = f.v;
			break;
		case 13:
			p->comments[p->nr_comments++] = f.v;
			break;
		case 14:
			p->default_type = f.v;
			break;
		default:
			fail_msg("unexpected profile field %u", f.num);
		}
	}
}

static void release(struct profile *p)
{
	for (size_t i = 0; i < p->nr_strings; i++)
		free(p->strings[i]);
	free(p->raw);
}

static const char *str(const struct profile *p, uint64_t i)
{
	assert_true(i < p->nr_strings);
	return p->strings[i];
}

static const struct plocation *location(const struct profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->nr_locations; i++)
		if (p->locations[i].id == id)
			return &p->locations[i];
	fail_msg("no location %" PRIu64, id);
	return NULL;
}

static const struct pfunction *function(const struct profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->nr_functions; i++)
		if (p->functions[i].id == id)
			return &p->functions[i];
	fail_msg("no function %" PRIu64, id);
	return NULL;
}

static const struct pmapping *mapping(const struct profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->nr_mappings; i++)
		if (p->mappings[i].id == id)
			return &p->mappings[i];
	fail_msg("no mapping %" PRIu64, id);
	return NULL;
}

/* "name@file:line" of a location's i-th line */
static const char *line_name(const struct profile *p, const struct plocation *l, size_t i)
{
	static char buf[512];
	const struct pfunction *fn = function(p, l->lines[i].function);

	snprintf(buf, sizeof(buf), "%s@%s:%" PRIu64, str(p, fn->name), str(p, fn->filename),
		 l->lines[i].line);
	return buf;
}

/* --- tests ------------------------------------------------------------------------ */

static void test_header(void **state)
{
	struct profile p;

	decode(&p, &fixture, NULL);
	assert_string_equal(str(&p, 0), "");
	assert_int_equal(p.nr_types, 4);
	assert_string_equal(str(&p, p.types[0][0]), "inuse_space");
	assert_string_equal(str(&p, p.types[0][1]), "bytes");
	assert_string_equal(str(&p, p.types[1][0]), "inuse_objects");
	assert_string_equal(str(&p, p.types[1][1]), "count");
	assert_string_equal(str(&p, p.types[2][0]), "alloc_space");
	assert_string_equal(str(&p, p.types[2][1]), "bytes");
	assert_string_equal(str(&p, p.types[3][0]), "alloc_objects");
	assert_string_equal(str(&p, p.types[3][1]), "count");
	assert_string_equal(str(&p, p.default_type), "inuse_space");
	assert_true(p.duration == 12500000000ull);
	assert_string_equal(str(&p, p.period_type[0]), "space");
	assert_true(p.period == 1);
	assert_int_equal(p.nr_comments, 2); /* what it is, incomplete */
	assert_non_null(strstr(str(&p, p.comments[1]), "incomplete"));
	/* every string once */
	for (size_t i = 0; i < p.nr_strings; i++)
		for (size_t j = i + 1; j < p.nr_strings; j++)
			assert_string_not_equal(p.strings[i], p.strings[j]);
	release(&p);
}

static void test_samples_match_the_report(void **state)
{
	uint64_t sum[4] = { 0 };
	struct profile p;

	decode(&p, &fixture, NULL);
	/* one per stack row: cc (all freed) too, as its alloc_objects is 5 */
	assert_int_equal(p.nr_samples, fixture.nr_stacks);
	for (size_t i = 0; i < p.nr_samples; i++) {
		const struct psample *s = &p.samples[i];
		const struct report_stack *rs = &fixture.stacks[i];
		const struct report_process *proc = rs->pid == 100 ? &fx_procs[0] : &fx_procs[1];

		assert_int_equal(s->nr_values, 4);
		assert_true(s->values[0] == rs->outstanding_bytes);
		assert_true(s->values[1] == rs->outstanding_allocs);
		assert_true(s->values[2] == rs->alloc_bytes);
		assert_true(s->values[3] == rs->allocs);
		for (int k = 0; k < 4; k++)
			sum[k] += s->values[k];
		assert_int_equal(s->nr_labels, 2);
		assert_string_equal(str(&p, s->labels[0].key), "pid");
		assert_true(s->labels[0].num == rs->pid);
		assert_string_equal(str(&p, s->labels[1].key), "comm");
		assert_string_equal(str(&p, s->labels[1].str), proc->comm);
	}
	assert_true(sum[0] == fixture.totals.outstanding_bytes);
	assert_true(sum[1] == fixture.totals.outstanding_allocs);
	assert_true(sum[2] == fixture.totals.alloc_bytes);
	assert_true(sum[3] == fixture.totals.allocs);
	release(&p);
}

/* a report without alloc_bytes (an older drip's JSON): no alloc_space, rather than zeros */
static void test_no_alloc_space_without_alloc_bytes(void **state)
{
	struct report r = fixture;
	struct profile p;

	r.has_alloc_bytes = false;
	decode(&p, &r, NULL);
	assert_int_equal(p.nr_types, 3);
	assert_string_equal(str(&p, p.types[0][0]), "inuse_space");
	assert_string_equal(str(&p, p.types[1][0]), "inuse_objects");
	assert_string_equal(str(&p, p.types[2][0]), "alloc_objects");
	for (size_t i = 0; i < p.nr_types; i++)
		assert_string_not_equal(str(&p, p.types[i][0]), "alloc_space");
	for (size_t i = 0; i < p.nr_samples; i++) {
		assert_int_equal(p.samples[i].nr_values, 3);
		assert_true(p.samples[i].values[2] == fixture.stacks[i].allocs);
	}
	assert_int_equal(p.nr_comments, 3);
	assert_non_null(strstr(str(&p, p.comments[1]), "alloc_space is not included"));
	release(&p);
}

static void test_locations(void **state)
{
	const struct plocation *l;
	const struct psample *s;
	struct profile p;

	decode(&p, &fixture, NULL);
	s = &p.samples[0]; /* aa: 5 frames, the first two one location */
	assert_int_equal(s->nr_locs, 4);
	l = location(&p, s->locs[0]);
	assert_true(l->address == 0x1000);
	assert_string_equal(str(&p, mapping(&p, l->mapping)->filename), SERVER);
	assert_int_equal(l->nr_lines, 2); /* innermost first */
	assert_string_equal(line_name(&p, l, 0), "inl_helper@helper.h:3");
	assert_string_equal(line_name(&p, l, 1), "leak_medium@/src/leaky.c:42");
	l = location(&p, s->locs[1]); /* no name: an address in libc */
	assert_true(l->address == 0x7f0000001234);
	assert_int_equal(l->nr_lines, 0);
	assert_string_equal(str(&p, mapping(&p, l->mapping)->filename), LIBC);
	l = location(&p, s->locs[2]); /* python: no mapping, no address */
	assert_true(l->mapping == 0 && l->address == 0);
	assert_int_equal(l->nr_lines, 1);
	assert_string_equal(line_name(&p, l, 0), "load_model@train.py:17");
	l = location(&p, s->locs[3]);
	assert_string_equal(line_name(&p, l, 0), "main@main.c:5");
	/* the same stack in pid 200 uses the same locations */
	assert_int_equal(p.samples[2].nr_locs, 4);
	assert_memory_equal(p.samples[2].locs, s->locs, 4 * sizeof(s->locs[0]));
	/* main is one location in every stack */
	assert_true(p.samples[4].locs[1] == s->locs[3]);
	assert_true(p.samples[5].locs[1] == s->locs[3]);
	/* no frames: no locations */
	assert_int_equal(p.samples[3].nr_locs, 0);
	/* JIT: [anon] mapping, no lines */
	l = location(&p, p.samples[4].locs[0]);
	assert_string_equal(str(&p, mapping(&p, l->mapping)->filename), "[anon]");
	assert_int_equal(l->nr_lines, 0);
	/* 7 distinct locations, 4 mappings, 6 functions, each id once */
	assert_int_equal(p.nr_locations, 7);
	assert_int_equal(p.nr_mappings, 4); /* server, libc, worker, [anon] */
	assert_int_equal(p.nr_functions, 6);
	for (size_t i = 0; i < p.nr_locations; i++)
		assert_true(p.locations[i].id == i + 1);
	for (size_t i = 0; i < p.nr_mappings; i++) {
		const struct pmapping *m = &p.mappings[i];

		assert_true(m->id == i + 1);
		for (int k = 0; k < 4; k++)
			assert_true(m->flags[k] == 1); /* symbolized: pprof must not re-symbolize */
	}
	/* no system_name (string 0): pprof leaves the names as they are */
	for (size_t i = 0; i < p.nr_functions; i++)
		assert_true(p.functions[i].name != 0 && p.functions[i].system_name == 0);
	release(&p);
}

/* The mapping named path, which must be the only one */
static const struct pmapping *mapping_named(const struct profile *p, const char *path)
{
	const struct pmapping *found = NULL;

	for (size_t i = 0; i < p->nr_mappings; i++) {
		if (strcmp(str(p, p->mappings[i].filename), path))
			continue;
		assert_null(found);
		found = &p->mappings[i];
	}
	assert_non_null(found);
	return found;
}

static void assert_mapping(const struct profile *p, const char *path, const char *build_id,
			   uint64_t start, uint64_t limit, uint64_t offset)
{
	const struct pmapping *m = mapping_named(p, path);

	if (build_id)
		assert_string_equal(str(p, m->build_id), build_id);
	else
		assert_true(m->build_id == 0);
	assert_true(m->start == start && m->limit == limit && m->offset == offset);
}

/* every location's file offset (address - start + offset) is address - its module's base */
static void assert_offsets_exact(const struct profile *p, const struct report *r)
{
	for (size_t i = 0; i < p->nr_samples; i++) {
		const struct report_stack *rs = &r->stacks[i];
		const struct report_process *proc = NULL;

		for (size_t k = 0; k < r->nr_processes; k++)
			if (r->processes[k].pid == rs->pid)
				proc = &r->processes[k];
		assert_non_null(proc);
		for (size_t f = 0, n = 0; f < rs->nr_frames; f++) {
			const struct report_frame *fr = &rs->frames[f];
			const struct plocation *l;
			const struct pmapping *m;
			const struct report_module *rm = NULL;

			if (fr->inlined && f + 1 < rs->nr_frames && fr[1].address == fr->address)
				continue; /* part of the next frame's location */
			l = location(p, p->samples[i].locs[n++]);
			if (fr->kind == FRAME_PYTHON) {
				assert_true(l->mapping == 0);
				continue;
			}
			for (size_t k = 0; k < proc->nr_modules; k++)
				if (!strcmp(proc->modules[k].path, fr->module) &&
				    fr->address >= proc->modules[k].start &&
				    fr->address < proc->modules[k].end)
					rm = &proc->modules[k];
			assert_non_null(rm);
			m = mapping(p, l->mapping);
			assert_true(l->address == fr->address);
			assert_true(m->start <= l->address && l->address < m->limit);
			assert_true(l->address - m->start + m->offset == fr->address - rm->base);
			if (rm->build_id)
				assert_string_equal(str(p, m->build_id), rm->build_id);
			else
				assert_true(m->build_id == 0);
		}
	}
}

/* mappings: one per (path, build-id, base), ranges over every process's frames in them */
static void test_mappings_carry_build_ids_and_ranges(void **state)
{
	struct profile p;

	decode(&p, &fixture, NULL);
	assert_int_equal(p.nr_mappings, 4); /* 200 shares 100's server and libc */
	/* server: 100's frames 0x1000..0x3000, 200's 0x1000..0x2000; base 0 */
	assert_mapping(&p, SERVER, SERVER_BID, 0x1000, 0x3001, 0x1000);
	assert_mapping(&p, LIBC, LIBC_BID, 0x7f0000001234, 0x7f0000001235, 0x1234);
	assert_mapping(&p, "/opt/app/bin/worker", WORKER_BID, 0x401000, 0x401001, 0x1000);
	assert_mapping(&p, "[anon]", NULL, 0x7e0000000010, 0x7e0000000011, 0x10);
	/* the executable first: pprof names the profile after mapping 1 */
	assert_string_equal(str(&p, p.mappings[0].filename), SERVER);
	assert_offsets_exact(&p, &fixture);
	release(&p);
}

/*
 * One path, two files: the binary was replaced on disk between two processes'
 * starts. The same address is two locations, in two mappings, each with its
 * file's build-id. A third process (ASLR) loaded the first file elsewhere.
 */
static void test_one_path_two_build_ids(void **state)
{
	static const struct report_frame frames[] = {
		{ .kind = FRAME_NATIVE, .address = 0x5000, .module = SERVER, .function = "f" },
	};
	static const struct report_frame frames_aslr[] = {
		{ .kind = FRAME_NATIVE, .address = 0x9000, .module = SERVER, .function = "f" },
	};
	static const struct report_module mods[3][1] = {
		{ { .path = SERVER,
		    .build_id = "aa01",
		    .base = 0x4000,
		    .start = 0x5000,
		    .end = 0x5001 } },
		{ { .path = SERVER,
		    .build_id = "bb02",
		    .base = 0x4000,
		    .start = 0x5000,
		    .end = 0x5001 } },
		{ { .path = SERVER,
		    .build_id = "aa01",
		    .base = 0x8000,
		    .start = 0x9000,
		    .end = 0x9001 } },
	};
	static const struct report_process procs[] = {
		{ .pid = 1, .comm = "old", .exe = SERVER, .nr_modules = 1, .modules = mods[0] },
		{ .pid = 2, .comm = "new", .exe = SERVER, .nr_modules = 1, .modules = mods[1] },
		{ .pid = 3, .comm = "aslr", .exe = SERVER, .nr_modules = 1, .modules = mods[2] },
	};
	static const struct report_stack stacks[] = {
		{ .pid = 1, .outstanding_bytes = 3, .allocs = 1, .nr_frames = 1, .frames = frames },
		{ .pid = 2, .outstanding_bytes = 2, .allocs = 1, .nr_frames = 1, .frames = frames },
		{ .pid = 3,
		  .outstanding_bytes = 1,
		  .allocs = 1,
		  .nr_frames = 1,
		  .frames = frames_aslr },
	};
	/* then a process not listed (pid 0 sorts before 1): its frame has no module entry */
	const struct report_stack unlisted[] = {
		stacks[0],
		{ .pid = 0, .outstanding_bytes = 1, .allocs = 1, .nr_frames = 1, .frames = frames },
	};
	struct report r = { .has_modules = true,
			    .nr_processes = 3,
			    .processes = procs,
			    .nr_stacks = 3,
			    .stacks = stacks };
	const struct pmapping *m[3];
	struct profile p;

	decode(&p, &r, NULL);
	assert_int_equal(p.nr_mappings, 3);
	assert_int_equal(p.nr_locations, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(p.samples[i].nr_locs, 1);
		m[i] = mapping(&p, location(&p, p.samples[i].locs[0])->mapping);
		assert_string_equal(str(&p, m[i]->build_id), mods[i][0].build_id);
		assert_true(m[i]->offset == 0x1000);
	}
	assert_true(m[0] != m[1] && m[0] != m[2] && m[1] != m[2]);
	assert_true(p.samples[0].locs[0] != p.samples[1].locs[0]);
	assert_offsets_exact(&p, &r);
	release(&p);

	r.nr_stacks = 2;
	r.stacks = unlisted;
	decode(&p, &r, NULL);
	assert_int_equal(p.nr_mappings, 4); /* 3 from the processes' executables, and pid 0's */
	assert_true(p.samples[0].locs[0] != p.samples[1].locs[0]);
	m[0] = mapping(&p, location(&p, p.samples[1].locs[0])->mapping);
	assert_true(m[0]->start == 0 && m[0]->limit == 0 && m[0]->build_id == 0);
	assert_string_equal(str(&p, m[0]->filename), SERVER);
	release(&p);
}

/* a report from before modules were listed: one mapping per path, no range, no build-id */
static void test_mappings_without_modules(void **state)
{
	struct report_process procs[2] = { fx_procs[0], fx_procs[1] };
	struct report r = fixture;
	struct profile p;

	for (int i = 0; i < 2; i++) {
		procs[i].nr_modules = 0;
		procs[i].modules = NULL;
	}
	r.processes = procs;
	r.has_modules = false;
	decode(&p, &r, NULL);
	assert_int_equal(p.nr_mappings, 4);
	assert_int_equal(p.nr_locations, 7);
	for (size_t i = 0; i < p.nr_mappings; i++) {
		const struct pmapping *m = &p.mappings[i];

		assert_true(m->start == 0 && m->limit == 0 && m->offset == 0 && m->build_id == 0);
		for (int k = 0; k < 4; k++)
			assert_true(m->flags[k] == 1);
	}
	release(&p);
}

static bool valid_utf8_no_controls(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = *p < 0x80	       ? 1 :
			   (*p & 0xe0) == 0xc0 ? 2 :
			   (*p & 0xf0) == 0xe0 ? 3 :
			   (*p & 0xf8) == 0xf0 ? 4 :
						 0;

		if (!n || *p < 0x20 || *p == 0x7f || *p == 0xc0 || *p == 0xc1 || *p > 0xf4)
			return false;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			return false; /* C1 control */
		p += n;
	}
	return true;
}

static void test_hostile_names(void **state)
{
	struct profile p;
	bool long_name = false, xml = false, semi = false, utf8 = false;

	hostile_init();
	decode(&p, &hostile, NULL);
	for (size_t i = 0; i < p.nr_strings; i++) {
		const char *s = p.strings[i];

		if (!valid_utf8_no_controls(s))
			fail_msg("string %zu is unsafe: '%s'", i, s);
		assert_null(strstr(s, "\xe2\x80\xae")); /* bidi override */
		long_name |= strlen(s) == H_LONG_LEN && strspn(s, "A") == H_LONG_LEN;
		xml |= !strcmp(s, H_XML);   /* kept as it is */
		semi |= !strcmp(s, H_SEMI); /* no ';' rule in pprof */
		utf8 |= !strcmp(s, H_UTF8);
	}
	assert_true(long_name && xml && semi && utf8);
	assert_int_equal(p.nr_samples, 1);
	assert_int_equal(p.samples[0].nr_locs, 8);
	assert_string_equal(str(&p, p.samples[0].labels[1].str), "ev;l?<p>?");
	assert_string_equal(line_name(&p, location(&p, p.samples[0].locs[2]), 0),
			    "line1?line2???[31mred?@:0");
	assert_string_equal(line_name(&p, location(&p, p.samples[0].locs[4]), 0), "bad?"
										  "???"
										  "!@:0");
	release(&p);
}

/* recursion: one function calling itself from one place gives equal frames, not inlined ones */
static void test_recursion_is_not_inlining(void **state)
{
	static const struct report_frame frames[] = {
		{ .kind = FRAME_NATIVE, .address = 0x10, .module = SERVER, .function = "walk" },
		{ .kind = FRAME_NATIVE, .address = 0x10, .module = SERVER, .function = "walk" },
		{ .kind = FRAME_NATIVE,
		  .function = "inl",
		  .inlined = true }, /* address 0, as Python */
		{ .kind = FRAME_PYTHON,
		  .function = "py" }, /* an inlined frame cannot join a Python one */
	};
	static const struct report_stack st = { .pid = 1,
						.stack_id = "0000000000000001",
						.outstanding_bytes = 8,
						.outstanding_allocs = 1,
						.allocs = 1,
						.nr_frames = 4,
						.frames = frames };
	struct report r = { .nr_stacks = 1, .stacks = &st };
	struct profile p;

	decode(&p, &r, NULL);
	assert_int_equal(p.samples[0].nr_locs, 4);
	assert_true(p.samples[0].locs[0] == p.samples[0].locs[1]); /* the same location twice */
	assert_int_equal(location(&p, p.samples[0].locs[0])->nr_lines, 1);
	assert_int_equal(location(&p, p.samples[0].locs[2])->nr_lines, 1);
	assert_int_equal(p.nr_locations, 3);
	assert_int_equal(p.samples[0].nr_labels, 1); /* pid; no process known, so no comm */
	release(&p);
}

static void test_diff_refused_and_write_errors(void **state)
{
	struct format_opts o = { .base = &fixture };
	FILE *f = fopen("/dev/full", "w");

	assert_non_null(f);
	assert_int_equal(format_pprof(&fixture, &o, f), -ENOTSUP);
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(format_pprof(&fixture, NULL, f), -EIO);
	fclose(f);
}

static void test_encoder(void **state)
{
	struct pb b = { 0 };
	uint64_t v[] = { 1, 300 };
	size_t outer, inner;
	char big[200];

	pb__uint(&b, 1, 150); /* the protobuf docs' example: 08 96 01 */
	pb__int(&b, 2, -1);   /* ten bytes */
	pb__bytes(&b, 3, "hi", 2);
	pb__packed(&b, 4, v, 2);
	outer = pb__begin(&b, 5);
	inner = pb__begin(&b, 1);
	memset(big, 'x', sizeof(big));
	pb__bytes(&b, 2, big, sizeof(big)); /* 203 bytes: both lengths need 2 bytes */
	pb__end(&b, inner);
	pb__end(&b, outer);
	assert_false(b.oom);
	{
		static const uint8_t head[] = { 0x08, 0x96, 0x01, 0x10, 0xff, 0xff, 0xff,
						0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
						0x1a, 0x02, 'h',  'i',	0x22, 0x03, 0x01,
						0xac, 0x02, 0x2a, 0xce, 0x01, 0x0a, 0xcb,
						0x01, 0x12, 0xc8, 0x01, 'x' };

		assert_int_equal(b.len, sizeof(head) - 1 + sizeof(big));
		assert_memory_equal(b.buf, head, sizeof(head));
	}
	pb__release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_samples_match_the_report),
		cmocka_unit_test(test_no_alloc_space_without_alloc_bytes),
		cmocka_unit_test(test_locations),
		cmocka_unit_test(test_mappings_carry_build_ids_and_ranges),
		cmocka_unit_test(test_one_path_two_build_ids),
		cmocka_unit_test(test_mappings_without_modules),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_recursion_is_not_inlining),
		cmocka_unit_test(test_diff_refused_and_write_errors),
		cmocka_unit_test(test_encoder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
