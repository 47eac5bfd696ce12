// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "drip/report.h"
#include "drip/report_load.h"
#include "export_fixture.h"

static char *to_json(const struct report *r, size_t *len)
{
	struct mem m;

	assert_int_equal(report__write_json(r, mem_open(&m)), 0);
	mem_close(&m);
	if (len)
		*len = m.len;
	return m.buf;
}

static struct report *load_ok(const char *json)
{
	struct report *r = NULL;
	char why[256];
	int err = report_load__buf(json, strlen(json), &r, why, sizeof(why));

	if (err)
		fail_msg("load failed (%d): %s", err, why);
	return r;
}

/* loading json fails with err and exactly this message */
static void load_fails(const char *json, int err, const char *msg)
{
	struct report *r = (struct report *)1;
	char why[256];

	assert_int_equal(report_load__buf(json, strlen(json), &r, why, sizeof(why)), err);
	assert_null(r);
	assert_string_equal(why, msg);
}

/* write, load, write: the two JSON texts are byte for byte equal */
static void round_trip(const struct report *r)
{
	size_t len1, len2;
	char *j1 = to_json(r, &len1), *j2, why[256];
	struct report *back = NULL;

	assert_int_equal(report_load__buf(j1, len1, &back, why, sizeof(why)), 0);
	j2 = to_json(back, &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(j1, j2, len1);
	report_load__free(back);
	free(j1);
	free(j2);
}

static void test_round_trip_is_exact(void **state)
{
	round_trip(&fixture);
}

static void test_round_trip_hostile_names(void **state)
{
	size_t len;
	char *json = (hostile_init(), to_json(&hostile, &len)), why[256];
	struct report *r = NULL;

	/* invalid UTF-8 was written as \ufffd and reads back as U+FFFD: from then on, exact */
	assert_int_equal(report_load__buf(json, len, &r, why, sizeof(why)), 0);
	assert_int_equal(r->stacks[0].nr_frames, 8);
	assert_string_equal(r->stacks[0].frames[0].function, H_SEMI);
	assert_string_equal(r->stacks[0].frames[2].function, H_CTRL);
	assert_string_equal(r->stacks[0].frames[4].function,
			    "bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			    "\xef\xbf\xbd!");
	assert_int_equal(strlen(r->stacks[0].frames[6].function), H_LONG_LEN);
	round_trip(r);
	report_load__free(r);
	free(json);
}

static void test_loaded_model(void **state)
{
	char *json = to_json(&fixture, NULL);
	struct report *r = load_ok(json);
	const struct report_frame *fr;

	assert_true(r->duration_s == 12.5 && r->incomplete);
	assert_true(r->totals.outstanding_bytes == 6558770 && r->totals.unknown_frees == 2);
	assert_int_equal(r->nr_processes, 2);
	assert_int_equal(r->processes[1].nspid, 7);
	assert_int_equal(r->processes[0].nspid, 0); /* null */
	assert_string_equal(r->processes[0].comm, "server");
	assert_int_equal(r->nr_stacks, 6);
	assert_int_equal(r->stacks[0].nr_frames, 5);
	fr = r->stacks[0].frames;
	assert_true(fr[0].inlined && fr[0].address == 0x1000 && fr[0].line == 3);
	assert_null(fr[2].function);
	assert_null(fr[2].file);
	assert_int_equal(fr[2].line, 0);
	assert_int_equal(fr[3].kind, FRAME_PYTHON);
	assert_string_equal(fr[3].function, "load_model");
	/* strings are interned: the same text is one copy */
	assert_ptr_equal(r->stacks[0].frames[1].module, r->stacks[0].frames[4].module);
	assert_ptr_equal(r->stacks[0].frames[1].module, r->processes[0].exe);
	assert_null(r->stacks[3].frames);
	assert_int_equal(r->stacks[3].nr_frames, 0);
	for (size_t i = 0; i < r->nr_merged; i++)
		assert_int_equal(r->merged[i].first_stack, fixture.merged[i].first_stack);
	assert_int_equal(r->nr_drops, 2);
	assert_string_equal(r->drop_names[1], "implied_frees");
	assert_true(r->drop_counts[0] == 3);
	report_load__free(r);
	free(json);
}

static void test_order_restored_and_first_stack_linked(void **state)
{
	/* hand-made: processes out of pid order, stacks and merged out of size order */
	struct report *r = load_ok(
		"{\"format\":1,\"duration_s\":null,\"incomplete\":false,\"totals\":{\"allocs\":3,"
		"\"frees\":0,\"outstanding_bytes\":30,\"outstanding_allocs\":3,\"unknown_frees\":0,"
		"\"events_lost\":0,\"unwind_failures\":0},"
		"\"processes\":[{\"pid\":9,\"nspid\":null,\"ppid\":1,\"start_time\":0,\"comm\":null,"
		"\"exe\":null,\"outstanding_bytes\":10,\"outstanding_allocs\":1,\"exited\":false},"
		"{\"pid\":3,\"nspid\":null,\"ppid\":1,\"start_time\":0,\"comm\":\"b\",\"exe\":null,"
		"\"outstanding_bytes\":20,\"outstanding_allocs\":2,\"exited\":false}],"
		"\"merged\":[{\"stack_id\":\"0000000000000000\",\"pids\":1,\"outstanding_bytes\":10,"
		"\"outstanding_allocs\":1,\"min_pid_bytes\":10,\"max_pid_bytes\":10},"
		"{\"stack_id\":\"ffffffffffffffff\",\"pids\":1,\"outstanding_bytes\":20,"
		"\"outstanding_allocs\":2,\"min_pid_bytes\":20,\"max_pid_bytes\":20}],"
		"\"stacks\":[{\"pid\":9,\"stack_id\":\"0000000000000000\",\"exited\":false,"
		"\"truncated\":false,\"outstanding_bytes\":10,\"outstanding_allocs\":1,\"allocs\":1,"
		"\"frees\":0,\"oldest_age_s\":null,\"frames\":[]},"
		"{\"pid\":3,\"stack_id\":\"ffffffffffffffff\",\"exited\":false,\"truncated\":false,"
		"\"outstanding_bytes\":20,\"outstanding_allocs\":2,\"allocs\":2,\"frees\":0,"
		"\"oldest_age_s\":1,\"frames\":[]}]}");

	assert_true(isnan(r->duration_s));
	assert_true(isnan(r->stacks[1].oldest_age_s));
	assert_int_equal(r->processes[0].pid, 3);
	assert_int_equal(r->processes[1].pid, 9);
	assert_null(r->processes[1].comm);
	assert_true(r->stacks[0].outstanding_bytes == 20 && r->stacks[1].outstanding_bytes == 10);
	assert_string_equal(r->merged[0].stack_id, "ffffffffffffffff");
	assert_int_equal(r->merged[0].first_stack, 0);
	assert_string_equal(r->merged[1].stack_id, "0000000000000000"); /* id 0 works too */
	assert_int_equal(r->merged[1].first_stack, 1);
	assert_int_equal(r->nr_drops, 0); /* "drops" is optional */
	report_load__free(r);
}

static char *strrchr_before(char *s, char *end, char c)
{
	while (end > s && *--end != c)
		;
	assert_true(*end == c);
	return end;
}

/* alloc_bytes: a number everywhere, or the report does not have it (drip before 0.1 had none) */
static void test_alloc_bytes_known_only_when_everywhere(void **state)
{
	char *json = to_json(&fixture, NULL), *old, *out;
	struct report *r = load_ok(json);

	assert_true(r->has_alloc_bytes);
	assert_true(r->totals.alloc_bytes == fixture.totals.alloc_bytes);
	for (size_t i = 0; i < r->nr_stacks; i++)
		assert_true(r->stacks[i].alloc_bytes == fixture.stacks[i].alloc_bytes);
	report_load__free(r);

	/* a report without the key: loads; written again, alloc_bytes is null */
	old = strdup(json);
	for (char *p = old; (p = strstr(p, "\"alloc_bytes\": ")) != NULL;) {
		char *comma = strrchr_before(old, p, ','); /* the last key: a comma before it */

		memset(comma, ' ', p + strcspn(p, "\n}") - comma);
	}
	r = load_ok(old);
	assert_false(r->has_alloc_bytes);
	assert_int_equal(r->nr_stacks, 6);
	out = to_json(r, NULL);
	assert_non_null(strstr(out, "\"alloc_bytes\": null"));
	assert_null(strstr(out, "\"alloc_bytes\": 9835810"));
	report_load__free(r);
	free(out);
	free(old);

	/* null in one stack: unknown in all */
	old = strdup(json);
	{
		char *p = strstr(old, "\"alloc_bytes\": 1024"); /* stacks[2] */

		assert_non_null(p);
		memcpy(p + strlen("\"alloc_bytes\": "), "null", 4);
	}
	r = load_ok(old);
	assert_false(r->has_alloc_bytes);
	report_load__free(r);
	free(old);
	free(json);
}

#define TOTALS_OLD                                                                               \
	"\"totals\":{\"allocs\":0,\"frees\":0,\"outstanding_bytes\":0,\"outstanding_allocs\":0," \
	"\"unknown_frees\":0,\"events_lost\":0,\"unwind_failures\":0}"

static void test_modules(void **state)
{
	char *json = to_json(&fixture, NULL);
	struct report *r = load_ok(json);
	const struct report_module *m;

	assert_true(r->has_modules);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(r->processes[i].nr_modules, fixture.processes[i].nr_modules);
		for (size_t k = 0; k < r->processes[i].nr_modules; k++) {
			const struct report_module *a = &r->processes[i].modules[k],
						   *b = &fixture.processes[i].modules[k];

			assert_string_equal(a->path, b->path);
			if (b->build_id)
				assert_string_equal(a->build_id, b->build_id);
			else
				assert_null(a->build_id);
			assert_true(a->base == b->base && a->start == b->start && a->end == b->end);
		}
	}
	m = &r->processes[0].modules[0];
	assert_ptr_equal(m->path, r->processes[0].exe); /* interned with the rest */
	report_load__free(r);
	free(json);

	/* sorted by start; null: unknown, and then so are all processes' */
	r = load_ok("{\"format\":1,\"duration_s\":1.0,\"incomplete\":false," TOTALS_OLD
		    ",\"processes\":[{\"pid\":9,\"nspid\":null,\"ppid\":1,\"start_time\":0,"
		    "\"comm\":null,\"exe\":null,\"outstanding_bytes\":0,\"outstanding_allocs\":0,"
		    "\"exited\":false,\"modules\":["
		    "{\"path\":\"/b\",\"build_id\":null,\"base\":\"0x7000\",\"start\":\"0x7010\","
		    "\"end\":\"0x7020\"},"
		    "{\"path\":\"/a\",\"build_id\":\"00ff\",\"base\":\"0x0\",\"start\":\"0x10\","
		    "\"end\":\"0x10\"}]}],\"merged\":[],\"stacks\":[]}");
	assert_true(r->has_modules);
	assert_int_equal(r->processes[0].nr_modules, 2);
	assert_string_equal(r->processes[0].modules[0].path, "/a");
	assert_string_equal(r->processes[0].modules[0].build_id, "00ff");
	assert_null(r->processes[0].modules[1].build_id);
	assert_true(r->processes[0].modules[1].base == 0x7000);
	report_load__free(r);
	r = load_ok("{\"format\":1,\"duration_s\":1.0,\"incomplete\":false," TOTALS_OLD
		    ",\"processes\":[{\"pid\":9,\"nspid\":null,\"ppid\":1,\"start_time\":0,"
		    "\"comm\":null,\"exe\":null,\"outstanding_bytes\":0,\"outstanding_allocs\":0,"
		    "\"exited\":false,\"modules\":[{\"path\":\"/a\",\"build_id\":null,\"base\":"
		    "\"0x0\",\"start\":\"0x10\",\"end\":\"0x11\"}]},"
		    "{\"pid\":8,\"nspid\":null,\"ppid\":1,\"start_time\":0,"
		    "\"comm\":null,\"exe\":null,\"outstanding_bytes\":0,\"outstanding_allocs\":0,"
		    "\"exited\":false,\"modules\":null}],\"merged\":[],\"stacks\":[]}");
	assert_false(r->has_modules);
	assert_int_equal(r->processes[0].nr_modules + r->processes[1].nr_modules, 0);
	report_load__free(r);
}

static void test_unknown_keys_are_skipped(void **state)
{
	char *json = to_json(&fixture, NULL), *more;
	struct report *r;
	const char *at;

	/* a future top-level key before everything, and a future stack field */
	more = malloc(strlen(json) + 200);
	at = strstr(json, "\"pid\": 100,\n      \"stack_id\"");
	assert_non_null(at);
	sprintf(more,
		"{\"future\": [1, {\"x\": [null]}], %.*s\"class\": \"growing\", "
		"\"growth_bytes_per_s\": 1.5e3, %s",
		(int)(at - json - 1), json + 1, at);
	r = load_ok(more);
	assert_int_equal(r->nr_stacks, 6);
	assert_true(r->stacks[0].outstanding_bytes == 6553600);
	report_load__free(r);
	free(more);
	free(json);
}

#define TOTALS                                                                                   \
	"\"totals\":{\"allocs\":0,\"frees\":0,\"outstanding_bytes\":0,\"outstanding_allocs\":0," \
	"\"unknown_frees\":0,\"events_lost\":0,\"unwind_failures\":0}"
#define HEAD                                                            \
	"{\"format\":1,\"duration_s\":1.0,\"incomplete\":false," TOTALS \
	",\"processes\":[],\"merged\":[],"
#define HEAD_P                                                                                 \
	"{\"format\":1,\"duration_s\":1.0,\"incomplete\":false," TOTALS                        \
	",\"processes\":[{\"pid\":9,\"nspid\":null,\"ppid\":1,\"start_time\":0,\"comm\":null," \
	"\"exe\":null,\"outstanding_bytes\":0,\"outstanding_allocs\":0,\"exited\":false,"      \
	"\"modules\":["
#define MODULE(rest) "{\"path\":\"/x\"," rest "}"
#define STACK_HEAD                                                                           \
	"{\"pid\":1,\"stack_id\":\"00000000000000aa\",\"exited\":false,\"truncated\":false," \
	"\"outstanding_bytes\":1,\"outstanding_allocs\":1,\"allocs\":1,\"frees\":0,"         \
	"\"oldest_age_s\":0.0,"

static void test_errors_name_the_place(void **state)
{
	load_fails("{\"format\":2,\"stacks\":[]}", -EBADMSG,
		   "line 1 col 11: format: unsupported report format 2 (this drip reads format 1)");
	load_fails("{\"stacks\":[]}", -EBADMSG,
		   "line 1 col 1: not a drip JSON report: no \"format\"");
	load_fails("[1]", -EBADMSG,
		   "line 1 col 1: not a drip JSON report: expected an object, found an array");
	load_fails("{\"format\":\"1\"}", -EBADMSG,
		   "line 1 col 11: format: expected an unsigned integer, found a string");
	load_fails("{\"format\":1}", -EBADMSG, "line 1 col 12: missing \"duration_s\"");
	load_fails(HEAD "\"stacks\":[" STACK_HEAD "\"frames\":[{\"kind\":\"native\"}]}]}", -EBADMSG,
		   "line 1 col 384: stacks[0].frames[0]: missing \"address\" (in a native frame)");
	load_fails(
		HEAD "\"stacks\":[" STACK_HEAD "\"frames\":[{\"kind\":\"python\",\"function\":null,"
		     "\"file\":null,\"line\":\"7\"}]}]}",
		-EBADMSG,
		"line 1 col 436: stacks[0].frames[0].line: expected an unsigned integer or null, "
		"found a string");
	load_fails(HEAD "\"stacks\":[" STACK_HEAD "\"frames\":[{\"kind\":\"jit\"}]}]}", -EBADMSG,
		   "line 1 col 392: stacks[0].frames[0].kind: expected \"native\" or \"python\"");
	load_fails(HEAD "\"stacks\":[{\"pid\":1,\"pid\":2}]}", -EBADMSG,
		   "line 1 col 226: stacks[0]: duplicate key \"pid\"");
	load_fails(HEAD "\"stacks\":[{\"pid\":4294967296}]}", -EBADMSG,
		   "line 1 col 224: stacks[0].pid: integer out of range (at most 4294967295)");
	load_fails(
		HEAD "\"stacks\":[{\"pid\":-1}]}", -EBADMSG,
		"line 1 col 224: stacks[0].pid: expected an unsigned integer, found a negative number");
	load_fails(
		HEAD "\"stacks\":[{\"pid\":1.5}]}", -EBADMSG,
		"line 1 col 224: stacks[0].pid: expected an unsigned integer, found a number with a "
		"fraction or exponent");
	load_fails(
		HEAD "\"stacks\":[{\"allocs\":18446744073709551616}]}", -EBADMSG,
		"line 1 col 227: stacks[0].allocs: integer out of range (at most 18446744073709551615)");
	load_fails(HEAD "\"stacks\":[{\"stack_id\":\"00000000000000AA\"}]}", -EBADMSG,
		   "line 1 col 229: stacks[0].stack_id: expected 16 lowercase hex digits");
	load_fails(
		HEAD "\"stacks\":[" STACK_HEAD
		     "\"frames\":[{\"kind\":\"native\",\"address\":\"7f\"}]}]}",
		-EBADMSG,
		"line 1 col 411: stacks[0].frames[0].address: expected an address \"0x...\" of at "
		"most 16 hex digits");
	load_fails(HEAD "\"stacks\":[" STACK_HEAD
			"\"frames\":[{\"kind\":\"python\",\"function\":\"a\\u0000b\"}]}]}",
		   -EBADMSG,
		   "line 1 col 412: stacks[0].frames[0].function: string contains \\u0000");
	load_fails(HEAD "\"stacks\":[],\"drops\":{\"x\":true}}", -EBADMSG,
		   "line 1 col 232: drops[0]: expected an unsigned integer, found true");
	load_fails("{\"format\":1,\"duration_s\":1.0,\"incomplete\":false," TOTALS
		   ",\"processes\":[],\"merged\":[{\"stack_id\":\"00000000000000aa\",\"pids\":1,"
		   "\"outstanding_bytes\":1,\"outstanding_allocs\":1,\"min_pid_bytes\":1,"
		   "\"max_pid_bytes\":1}],\"stacks\":[]}",
		   -EBADMSG,
		   "line 1 col 325: merged[0]: stack_id 00000000000000aa is in no stacks[] row");
	load_fails(HEAD "\"stacks\":[" STACK_HEAD "\"future\":[]}]}", -EBADMSG,
		   "line 1 col 217: stacks[0]: missing \"frames\"");
	load_fails("{\"format\":1,\"totals\":{\"allocs\":1}}", -EBADMSG,
		   "line 1 col 22: totals: missing \"frees\"");
	load_fails("{\"format\":1,\"duration_s\":1.0,\"incomplete\":false," TOTALS
		   ",\"processes\":[],\"merged\":[{\"stack_id\":\"0000000000000000\",\"pids\":1,"
		   "\"outstanding_bytes\":1,\"outstanding_allocs\":1,\"min_pid_bytes\":1,"
		   "\"max_pid_bytes\":1}],\"stacks\":[]}",
		   -EBADMSG,
		   "line 1 col 325: merged[0]: stack_id 0000000000000000 is in no stacks[] row");
	load_fails(HEAD_P MODULE("\"build_id\":\"ABCD\",\"base\":\"0x0\",\"start\":\"0x1\","
				 "\"end\":\"0x2\"") "]}],\"merged\":[],\"stacks\":[]}",
		   -EBADMSG,
		   "line 1 col 357: processes[0].modules[0].build_id: expected a build-id: an even "
		   "number of lowercase hex digits, at most 128");
	load_fails(HEAD_P MODULE("\"build_id\":\"abc\",\"base\":\"0x0\",\"start\":\"0x1\","
				 "\"end\":\"0x2\"") "]}],\"merged\":[],\"stacks\":[]}",
		   -EBADMSG,
		   "line 1 col 357: processes[0].modules[0].build_id: expected a build-id: an even "
		   "number of lowercase hex digits, at most 128");
	load_fails(HEAD_P MODULE("\"build_id\":null,\"base\":\"0x0\",\"start\":\"0x3\","
				 "\"end\":\"0x2\"") "]}],\"merged\":[],\"stacks\":[]}",
		   -EBADMSG, "line 1 col 333: processes[0].modules[0]: end is below start");
	load_fails(
		HEAD_P MODULE(
			"\"build_id\":null,\"start\":\"0x1\",\"end\":\"0x2\"") "]}],"
									       "\"merged\":[],\"stacks\":[]}",
		-EBADMSG, "line 1 col 333: processes[0].modules[0]: missing \"base\"");
	load_fails(HEAD "\"stacks\":[]} {}", -EBADMSG,
		   "line 1 col 220: expected nothing after the JSON value, found '{'");
	load_fails("{\"format\":1,\"totals\":{\"allocs\":1", -EBADMSG,
		   "line 1 col 33: expected ',' or '}', found end of input (truncated?)");
}

/* a report of these totals, processes and stacks (JSON fragments) */
static char *sums_doc(uint64_t bytes, uint64_t allocs, const char *procs, const char *stacks)
{
	char *s;

	assert_true(asprintf(&s,
			     "{\"format\":1,\"duration_s\":1.0,\"incomplete\":false,\"totals\":{"
			     "\"allocs\":0,\"frees\":0,\"outstanding_bytes\":%" PRIu64
			     ",\"outstanding_allocs\":%" PRIu64 ",\"unknown_frees\":0,"
			     "\"events_lost\":0,\"unwind_failures\":0},\"processes\":[%s],"
			     "\"merged\":[],\"stacks\":[%s]}",
			     bytes, allocs, procs, stacks) > 0);
	return s;
}

#define PROC(pid, b, a)                                                                            \
	"{\"pid\":" #pid ",\"nspid\":null,\"ppid\":1,\"start_time\":0,\"comm\":null,\"exe\":null," \
	"\"outstanding_bytes\":" #b ",\"outstanding_allocs\":" #a ",\"exited\":false}"
#define STACK(pid, b, a)                                                                  \
	"{\"pid\":" #pid ",\"stack_id\":\"00000000000000aa\",\"exited\":false,"           \
	"\"truncated\":false,\"outstanding_bytes\":" #b ",\"outstanding_allocs\":" #a "," \
	"\"allocs\":9,\"frees\":0,\"oldest_age_s\":0.0,\"frames\":[]}"

/* loads, or fails with why containing msg at the '{' of the first needle's value */
static void check_sums(char *json, const char *msg, const char *needle)
{
	struct report *r = NULL;
	char why[256], want[256];
	int err = report_load__buf(json, strlen(json), &r, why, sizeof(why));

	if (!msg) {
		if (err)
			fail_msg("expected it to load: %s", why);
		report_load__free(r);
		free(json);
		return;
	}
	assert_int_equal(err, -EBADMSG);
	assert_null(r);
	snprintf(want, sizeof(want), "line 1 col %zu: %s",
		 (size_t)(strstr(json, needle) - json) + strlen(needle) + 1, msg);
	assert_string_equal(why, want);
	free(json);
}

/* totals and processes are the sums of stacks[]: a report where they are not is refused */
static void test_totals_must_be_the_sums_of_stacks(void **state)
{
	/* consistent: a pid reused by two processes sums over both; a stack of a pid with no
	 * process entry counts in the totals only */
	check_sums(sums_doc(700, 7, PROC(1, 100, 1) "," PROC(1, 200, 2) "," PROC(2, 0, 0),
			    STACK(1, 250, 2) "," STACK(1, 50, 1) "," STACK(3, 400, 4)),
		   NULL, NULL);
	check_sums(sums_doc(0, 0, "", ""), NULL, NULL);
	check_sums(sums_doc(1, 1, "", STACK(1, 300, 1)),
		   "totals.outstanding_bytes: 1, but stacks[].outstanding_bytes add up to 300",
		   "\"totals\":");
	check_sums(sums_doc(300, 2, "", STACK(1, 100, 1) "," STACK(2, 200, 3)),
		   "totals.outstanding_allocs: 2, but stacks[].outstanding_allocs add up to 4",
		   "\"totals\":");
	check_sums(sums_doc(300, 2, PROC(7, 1, 1) "," PROC(1, 300, 2), STACK(1, 300, 2)),
		   "processes[0].outstanding_bytes: 1 for pid 7, but its stacks[] add up to 0",
		   "\"processes\":[");
	check_sums(sums_doc(300, 2, PROC(1, 100, 1) "," PROC(1, 200, 2), STACK(1, 300, 2)),
		   "processes[0].outstanding_allocs: 3 for pid 1 (over its processes[] entries), "
		   "but its stacks[] add up to 2",
		   "\"processes\":[");
	check_sums(
		sums_doc(5, 2, "", STACK(1, 18446744073709551615, 1) "," STACK(2, 6, 1)),
		"totals.outstanding_bytes: 5, but stacks[].outstanding_bytes add up to more than "
		"18446744073709551615",
		"\"totals\":");
	check_sums(sums_doc(0, 2, PROC(1, 18446744073709551615, 1) "," PROC(1, 1, 1),
			    STACK(1, 0, 1) "," STACK(1, 0, 1)),
		   "processes[0].outstanding_bytes: more than 18446744073709551615 for pid 1 (over "
		   "its processes[] entries), but its stacks[] add up to 0",
		   "\"processes\":[");
}

static void test_every_truncation_fails_cleanly(void **state)
{
	size_t len, cut;
	char *json = to_json(&fixture, &len), why[256];
	struct report *r;

	for (cut = 0; cut < len - 1; cut++) { /* len - 1: the final newline is whitespace */
		char *copy = malloc(cut + 1); /* exactly cut bytes: ASan sees any overread */

		memcpy(copy, json, cut);
		r = (struct report *)1;
		if (report_load__buf(copy, cut, &r, why, sizeof(why)) != -EBADMSG)
			fail_msg("cut at %zu loaded", cut);
		assert_null(r);
		assert_non_null(strstr(why, "line "));
		free(copy);
	}
	free(json);
}

static void test_files(void **state)
{
	char path[] = "/tmp/drip-test-load-XXXXXX", why[256];
	struct report *r;
	char *json;
	size_t len;
	int fd;

	assert_int_equal(report_load__file("/nonexistent/report.json", &r, why, sizeof(why)),
			 -ENOENT);
	assert_string_equal(why, "No such file or directory");
	assert_int_equal(report_load__file("/tmp", &r, why, sizeof(why)), -EISDIR);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	json = to_json(&fixture, &len);
	assert_int_equal(write(fd, json, len), (ssize_t)len);
	assert_int_equal(report_load__file(path, &r, why, sizeof(why)), 0);
	assert_int_equal(r->nr_stacks, 6);
	report_load__free(r);
	/* a sparse file over the cap is refused without reading it */
	assert_int_equal(ftruncate(fd, REPORT_LOAD_MAX_BYTES + 1), 0);
	assert_int_equal(report_load__file(path, &r, why, sizeof(why)), -EFBIG);
	assert_string_equal(why, "larger than 2048 MiB");
	/* empty */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(report_load__file(path, &r, why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "line 1 col 1: empty file, not a drip JSON report");
	close(fd);
	unlink(path);
	free(json);
	report_load__free(NULL);
}

/* a regular file is mapped, a pipe is read: the same report either way, nothing read past the end */
static void test_mapped_and_piped_files_load_alike(void **state)
{
	char path[] = "/tmp/drip-test-load-XXXXXX", why[256], proc[64];
	struct report *mapped, *piped;
	size_t len, size;
	char *json, *j1, *j2;
	int fd, p[2];

	json = to_json(&fixture, &len);
	size = (len + 4095) / 4096 * 4096; /* whole pages: a read past the end would fault */
	json = realloc(json, size);
	assert_non_null(json);
	memset(json + len, ' ', size - len);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, size), (ssize_t)size);
	close(fd);
	assert_int_equal(report_load__file(path, &mapped, why, sizeof(why)), 0);
	unlink(path);

	assert_true(size < 65536); /* fits the pipe: written before it is read */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], json, size), (ssize_t)size);
	close(p[1]);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", p[0]);
	assert_int_equal(report_load__file(proc, &piped, why, sizeof(why)), 0);
	close(p[0]);

	j1 = to_json(mapped, &len);
	j2 = to_json(piped, &size);
	assert_int_equal(len, size);
	assert_memory_equal(j1, j2, len);
	assert_int_equal(mapped->nr_stacks, 6);
	report_load__free(mapped);
	report_load__free(piped);
	free(j1);
	free(j2);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_is_exact),
		cmocka_unit_test(test_round_trip_hostile_names),
		cmocka_unit_test(test_loaded_model),
		cmocka_unit_test(test_order_restored_and_first_stack_linked),
		cmocka_unit_test(test_alloc_bytes_known_only_when_everywhere),
		cmocka_unit_test(test_modules),
		cmocka_unit_test(test_unknown_keys_are_skipped),
		cmocka_unit_test(test_errors_name_the_place),
		cmocka_unit_test(test_totals_must_be_the_sums_of_stacks),
		cmocka_unit_test(test_every_truncation_fails_cleanly),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_mapped_and_piped_files_load_alike),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
