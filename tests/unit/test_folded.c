// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Folded stacks (and their diff), and the text diff. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "drip/formats.h"
#include "drip/report_cmd.h"
#include "export_fixture.h"

#define CHAIN "main;load_model (train.py:17);?? (libc.so.6);leak_medium;inl_helper"

static char *write_with(int (*fn)(const struct report *, const struct format_opts *, FILE *),
			const struct report *r, const struct format_opts *o)
{
	struct mem m;

	assert_int_equal(fn(r, o, mem_open(&m)), 0);
	return mem_close(&m);
}

static char *folded(const struct report *r, const struct format_opts *o)
{
	return write_with(format_folded, r, o);
}

static void check(char *out, const char *want)
{
	assert_string_equal(out, want);
	free(out);
}

static void test_folded_bytes(void **state)
{
	struct format_opts o = { .weight = WEIGHT_BYTES };

	/* rows of aa in both pids fold to one line; the all-freed row (cc) is left out */
	check(folded(&fixture, &o), CHAIN " 6554624\n"
					  "[truncated];leak_small 4096\n"
					  "[no stack] 30\n"
					  "main;[anon] 20\n");
	check(folded(&fixture, NULL), CHAIN " 6554624\n"
					    "[truncated];leak_small 4096\n"
					    "[no stack] 30\n"
					    "main;[anon] 20\n");
}

static void test_folded_count(void **state)
{
	struct format_opts o = { .weight = WEIGHT_COUNT };

	check(folded(&fixture, &o), CHAIN " 101\n"
					  "[truncated];leak_small 10\n"
					  "main;[anon] 2\n"
					  "[no stack] 1\n");
}

static void test_folded_per_pid(void **state)
{
	struct format_opts o = { .per_pid = true };

	check(folded(&fixture, &o), "server [100];" CHAIN " 6553600\n"
				    "worker [200];[truncated];leak_small 4096\n"
				    "worker [200];" CHAIN " 1024\n"
				    "server [100];[no stack] 30\n"
				    "server [100];main;[anon] 20\n");
}

/* a process whose comm is unknown (null) or empty: "[pid]", with no stray space */
static void test_folded_per_pid_unknown_comm(void **state)
{
	struct format_opts o = { .per_pid = true };
	struct report_process procs[2];
	struct report r = fixture;

	memcpy(procs, fx_procs, sizeof(procs));
	procs[0].comm = NULL;
	procs[1].comm = "";
	r.processes = procs;
	check(folded(&r, &o), "[100];" CHAIN " 6553600\n"
			      "[200];[truncated];leak_small 4096\n"
			      "[200];" CHAIN " 1024\n"
			      "[100];[no stack] 30\n"
			      "[100];main;[anon] 20\n");
}

static void test_folded_sum_is_the_total(void **state)
{
	char *out = folded(&fixture, NULL), *line, *save = NULL, *sp;
	uint64_t sum = 0;

	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		sp = strrchr(line, ' ');
		assert_non_null(sp);
		sum += strtoull(sp + 1, NULL, 10);
	}
	assert_true(sum == fixture.totals.outstanding_bytes);
	free(out);
}

static void test_folded_empty_report(void **state)
{
	struct report r = { 0 };

	check(folded(&r, NULL), "");
}

static void test_folded_hostile_names(void **state)
{
	struct format_opts o = { .per_pid = true };
	char *out, *want;
	size_t semis = 0;

	hostile_init();
	out = folded(&hostile, &o);
	want = malloc(H_LONG_LEN + 1000);
	sprintf(want,
		"ev:l?<p>? [42];"
		"?? (line1?line2???[31mred?);"
		"%s;"
		"c1?31m (/tmp/bidi?evil.py:9);"
		"bad?"
		"???"
		"!;"
		"caf\xc3\xa9 \xe2\x82\xac;"
		"line1?line2???[31mred?;"
		"<tag attr=\"v\">&'x'</tag>;"
		"a:b c 777\n",
		h_long);
	assert_string_equal(out, want);
	/* one line, nine frames */
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	for (char *p = out; *p; p++)
		semis += *p == ';';
	assert_int_equal(semis, 8);
	free(want);
	free(out);
}

static void test_frame_names(void **state)
{
	static const struct report_frame frames[] = {
		{ .kind = FRAME_NATIVE, .address = 1, .module = "/usr/lib/libz.so.1" },
		{ .kind = FRAME_NATIVE, .address = 2 },
		{ .kind = FRAME_NATIVE, .address = 3, .module = "", .function = "" },
		{ .kind = FRAME_PYTHON },
		{ .kind = FRAME_PYTHON, .function = "f", .file = "a.py" },
		{ .kind = FRAME_PYTHON, .file = "b.py", .line = 3 },
		{ .kind = FRAME_NATIVE,
		  .address = 4,
		  .module = "/x",
		  .function = "fn",
		  .file = "f.c",
		  .line = 9,
		  .inlined = true },
	};
	static const struct report_stack s = { .pid = 1,
					       .stack_id = "0000000000000001",
					       .outstanding_bytes = 5,
					       .nr_frames = 7,
					       .frames = frames };
	struct report r = { .nr_stacks = 1, .stacks = &s };

	/* an inlined frame is a frame of its own; Python gives its file; native frames do not */
	check(folded(&r, NULL), "fn;?? (b.py:3);f (a.py);??;??;??;?? (libz.so.1) 5\n");
}

static struct report_stack diff_stacks[5];
static struct report diff_new;

static const struct report_frame new_frames[] = {
	{ .kind = FRAME_NATIVE, .address = 0x5000, .module = SERVER, .function = "leak_new" },
	{ .kind = FRAME_NATIVE, .address = 0x2000, .module = SERVER, .function = "main" },
};

/*
 * NEW = fixture, but: aa in pid 100 grew by 446400 B and 50 blocks; bb is
 * gone; ff (leak_new) is new with 500 B in 5 blocks; the rest is the same.
 */
static void diff_init(void)
{
	diff_stacks[0] = fixture.stacks[0];
	diff_stacks[0].outstanding_bytes = 7000000;
	diff_stacks[0].outstanding_allocs = 150;
	diff_stacks[1] = fixture.stacks[2];
	diff_stacks[2] = (struct report_stack){ .pid = 100,
						.stack_id = "00000000000000ff",
						.outstanding_bytes = 500,
						.outstanding_allocs = 5,
						.allocs = 5,
						.nr_frames = 2,
						.frames = new_frames };
	diff_stacks[3] = fixture.stacks[3];
	diff_stacks[4] = fixture.stacks[4];
	diff_new = fixture;
	diff_new.incomplete = false;
	diff_new.stacks = diff_stacks;
	diff_new.nr_stacks = 5;
	diff_new.totals.outstanding_bytes = 7000000 + 1024 + 500 + 30 + 20;
	diff_new.totals.outstanding_allocs = 150 + 1 + 5 + 1 + 2;
}

static void test_folded_diff(void **state)
{
	struct format_opts o = { .base = &fixture };

	diff_init();
	check(folded(&diff_new, &o), CHAIN " 6554624 7001024\n"
					   "main;leak_new 0 500\n"
					   "[no stack] 30 30\n"
					   "main;[anon] 20 20\n"
					   "[truncated];leak_small 4096 0\n");
	o.weight = WEIGHT_COUNT;
	check(folded(&diff_new, &o), CHAIN " 101 151\n"
					   "main;leak_new 0 5\n"
					   "main;[anon] 2 2\n"
					   "[no stack] 1 1\n"
					   "[truncated];leak_small 10 0\n");
}

static void test_text_diff(void **state)
{
	struct format_opts o = { .base = &fixture, .top = 20 };

	diff_init();
	check(write_with(format_diff_text, &diff_new, &o),
	      "drip 0.1.0 diff: outstanding 6.3 MiB -> 6.7 MiB: +442804 B (+432.4 KiB) "
	      "(6558770 -> 7001574 B)\n"
	      "blocks 114 -> 159 (+45), allocs 169 -> 169, frees 55 -> 55\n"
	      "stacks: 1 grew, 0 shrank, 1 new, 1 gone, 2 unchanged\n"
	      "INCOMPLETE: the OLD report lost data, figures are approximate\n"
	      "\n"
	      "[1] +446400 B (+435.9 KiB), grew: 6.3 MiB -> 6.7 MiB, blocks 101 -> 151 (+50), "
	      "stack 00000000000000aa\n"
	      "    #0 inl_helper (server) helper.h:3 [inlined]\n"
	      "    #1 leak_medium (server) leaky.c:42\n"
	      "    #2 ?? 0x7f0000001234 (libc.so.6)\n"
	      "    #3 load_model [python] train.py:17\n"
	      "    #4 main (server) main.c:5\n"
	      "\n"
	      "[2] -4096 B (-4.0 KiB), gone: 4.0 KiB -> 0 B, blocks 10 -> 0 (-10), "
	      "stack 00000000000000bb\n"
	      "    #0 leak_small (worker)\n"
	      "    ... (stack truncated)\n"
	      "\n"
	      "[3] +500 B, new: 0 B -> 500 B, blocks 0 -> 5 (+5), stack 00000000000000ff\n"
	      "    #0 leak_new (server)\n"
	      "    #1 main (server)\n");
	/* --top 1: the rest summed */
	o.top = 1;
	{
		char *out = write_with(format_diff_text, &diff_new, &o);

		assert_non_null(strstr(out, "\n... and 2 more changed stacks: +500 B, -4096 B\n"));
		assert_null(strstr(out, "[2]"));
		free(out);
	}
	/* the same report twice: nothing changed */
	o.base = &diff_new;
	check(write_with(format_diff_text, &diff_new, &o),
	      "drip 0.1.0 diff: outstanding 6.7 MiB -> 6.7 MiB: 0 B (7001574 -> 7001574 B)\n"
	      "blocks 159 -> 159 (0), allocs 169 -> 169, frees 55 -> 55\n"
	      "stacks: 0 grew, 0 shrank, 0 new, 0 gone, 4 unchanged\n"
	      "\n"
	      "no stack changed\n");
}

static void test_text_diff_by_count(void **state)
{
	struct format_opts o = { .base = &fixture, .top = 20, .weight = WEIGHT_COUNT };
	char *out, *a, *b, *c;

	diff_init();
	out = write_with(format_diff_text, &diff_new, &o);
	/* by blocks: aa (+50), bb (-10), ff (+5): the same order here, so check the ranks */
	a = strstr(out, "[1] +446400 B");
	b = strstr(out, "[2] -4096 B");
	c = strstr(out, "[3] +500 B");
	assert_true(a && b && c && a < b && b < c);
	free(out);
}

static void test_text_diff_hostile_names_are_safe(void **state)
{
	struct report empty = { 0 };
	struct format_opts o = { .base = &empty, .top = 20 };
	char *out;

	hostile_init();
	out = write_with(format_diff_text, &hostile, &o);
	for (const unsigned char *p = (const unsigned char *)out; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f || *p == 0xff || *p == 0xfe ||
		    *p == 0xc0)
			fail_msg("unsafe byte 0x%02x at %zu", *p,
				 (size_t)(p - (const unsigned char *)out));
	assert_null(strstr(out, "\xe2\x80\xae"));
	assert_null(strstr(out, "\xc2\x9b"));
	assert_non_null(strstr(out, "    #2 line1?line2???[31mred? (x.so)\n"));
	assert_non_null(strstr(out, "    #0 a;b c (a;b c.so) tag>:1\n")); /* file base name */
	free(out);
}

static void test_write_errors(void **state)
{
	FILE *f = fopen("/dev/full", "w");
	struct format_opts o = { .base = &fixture };

	assert_non_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(format_folded(&fixture, NULL, f), -EIO);
	clearerr(f);
	assert_int_equal(format_folded(&fixture, &o, f), -EIO);
	clearerr(f);
	assert_int_equal(format_diff_text(&fixture, &o, f), -EIO);
	assert_int_equal(format_diff_text(&fixture, NULL, f), -EINVAL);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded_bytes),
		cmocka_unit_test(test_folded_count),
		cmocka_unit_test(test_folded_per_pid),
		cmocka_unit_test(test_folded_per_pid_unknown_comm),
		cmocka_unit_test(test_folded_sum_is_the_total),
		cmocka_unit_test(test_folded_empty_report),
		cmocka_unit_test(test_folded_hostile_names),
		cmocka_unit_test(test_frame_names),
		cmocka_unit_test(test_folded_diff),
		cmocka_unit_test(test_text_diff),
		cmocka_unit_test(test_text_diff_by_count),
		cmocka_unit_test(test_text_diff_hostile_names_are_safe),
		cmocka_unit_test(test_write_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
