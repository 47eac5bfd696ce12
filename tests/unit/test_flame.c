// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "drip/flame.h"

#define EXE  "/app/srv"
#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define NF(fn, mod)                                                 \
	{                                                           \
		.kind = FRAME_NATIVE, .function = fn, .module = mod \
	}

/* frames innermost first, as in the report */
static const struct report_frame f_leak_a[] = { NF("leak_a", EXE), NF("handle", EXE),
						NF("main", EXE) };
static const struct report_frame f_leak_b[] = { NF("leak_b", EXE), NF("handle", EXE),
						NF("main", EXE) };
static const struct report_frame f_glib[] = {
	NF("g_malloc", "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0"), NF("main", EXE)
};
static const struct report_frame f_freed[] = { NF("freed_all", EXE), NF("main", EXE) };
static const struct report_frame f_leak_c[] = { NF("leak_c", EXE), NF("main", EXE) };

static const struct report_process procs[] = {
	{ .pid = 10, .ppid = 1, .comm = "srv", .exe = EXE },
	{ .pid = 20, .ppid = 10, .comm = "srv-worker", .exe = EXE, .exited = true },
};

#define STACK(p, fr, b, a)                                                 \
	{                                                                  \
		.pid = p, .outstanding_bytes = b, .outstanding_allocs = a, \
		.nr_frames = sizeof(fr) / sizeof(fr[0]), .frames = fr      \
	}

static const struct report_stack stacks[] = {
	STACK(10, f_leak_a, 600, 6), STACK(10, f_leak_b, 300, 3), STACK(20, f_leak_a, 100, 1),
	STACK(20, f_glib, 50, 5),    STACK(10, f_freed, 0, 0),
};

static const struct report rep = {
	.totals = { .outstanding_bytes = 1050, .outstanding_allocs = 15 },
	.nr_processes = 2,
	.processes = procs,
	.nr_stacks = 5,
	.stacks = stacks,
};

/* the old report of a diff: leak_a smaller, leak_b the same, leak_c gone since */
static const struct report_stack old_stacks[] = {
	STACK(77, f_leak_a, 400, 4),
	STACK(77, f_leak_b, 300, 3),
	STACK(77, f_leak_c, 200, 2),
};

static const struct report old_rep = {
	.totals = { .outstanding_bytes = 900, .outstanding_allocs = 9 },
	.nr_stacks = 3,
	.stacks = old_stacks,
};

struct want {
	const char *label;
	uint32_t depth;
	uint64_t start;
	uint64_t bytes;
	uint64_t allocs;
};

static void check_tree(const struct flame *fl, const struct want *w, size_t n)
{
	char buf[256];

	for (size_t i = 0; i < n && i < fl->nr_nodes; i++) {
		const struct flame_node *node = &fl->nodes[i];

		assert_string_equal(flame__label(node, buf, sizeof(buf)), w[i].label);
		assert_int_equal(node->depth, w[i].depth);
		assert_int_equal(node->start, w[i].start);
		assert_int_equal(node->now.bytes, w[i].bytes);
		assert_int_equal(node->now.allocs, w[i].allocs);
		if (i)
			assert_int_equal(fl->nodes[node->parent].depth, node->depth - 1);
	}
	assert_int_equal(fl->nr_nodes, n);
}

static void test_tree_exact_weights(void **state)
{
	/* outermost at the root, children in name order, widths summed over stacks */
	static const struct want want[] = {
		{ "all", 0, 0, 1050, 15 },   { "main", 1, 0, 1050, 15 },
		{ "g_malloc", 2, 0, 50, 5 }, { "handle", 2, 50, 1000, 10 },
		{ "leak_a", 3, 50, 700, 7 }, { "leak_b", 3, 750, 300, 3 },
	};
	struct flame_opts o = { .weight = WEIGHT_BYTES };
	struct flame *fl;

	assert_int_equal(flame__new(&rep, NULL, &o, &fl), 0);
	check_tree(fl, want, sizeof(want) / sizeof(want[0]));
	assert_false(fl->diff);
	assert_int_equal(fl->max_depth, 3);
	assert_int_equal(fl->pruned_frames, 0);
	assert_int_equal(fl->nodes[2].cls, FLAME_CLASS_SYSTEM);
	assert_int_equal(fl->nodes[4].cls, FLAME_CLASS_MAIN);
	flame__free(fl);
}

static void test_weight_count_lays_out_by_allocs(void **state)
{
	struct flame_opts o = { .weight = WEIGHT_COUNT };
	struct flame *fl;

	assert_int_equal(flame__new(&rep, NULL, &o, &fl), 0);
	assert_int_equal(fl->nr_nodes, 6);
	assert_int_equal(flame__value(fl, &fl->nodes[0].now), 15);
	assert_int_equal(fl->nodes[3].start, 5); /* handle, after g_malloc's 5 allocs */
	assert_int_equal(fl->nodes[5].start, 5 + 7);
	assert_int_equal(fl->nodes[5].now.bytes, 300); /* bytes still carried for hover */
	flame__free(fl);
}

static void test_per_pid_roots(void **state)
{
	static const struct want want[] = {
		{ "all", 0, 0, 1050, 15 },
		{ "srv [10]", 1, 0, 900, 9 },
		{ "main", 2, 0, 900, 9 },
		{ "handle", 3, 0, 900, 9 },
		{ "leak_a", 4, 0, 600, 6 },
		{ "leak_b", 4, 600, 300, 3 },
		{ "srv-worker [20]", 1, 900, 150, 6 },
		{ "main", 2, 900, 150, 6 },
		{ "g_malloc", 3, 900, 50, 5 },
		{ "handle", 3, 950, 100, 1 },
		{ "leak_a", 4, 950, 100, 1 },
	};
	struct flame_opts o = { .per_pid = true };
	struct flame *fl;

	assert_int_equal(flame__new(&rep, NULL, &o, &fl), 0);
	check_tree(fl, want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(fl->nodes[1].type, FLAME_PROCESS);
	assert_int_equal(fl->nodes[1].pid, 10);
	assert_ptr_equal(fl->nodes[6].proc, &procs[1]);
	assert_int_equal(fl->nodes[6].parent, 0);
	flame__free(fl);
}

/* the process frame of a comm that is unknown or empty, or of a pid no report lists */
static void test_process_label_without_comm(void **state)
{
	struct report_process p = { .pid = 3661, .comm = NULL };
	struct flame_node n = { .type = FLAME_PROCESS, .pid = 3661, .proc = &p };
	char buf[64];

	assert_string_equal(flame__label(&n, buf, sizeof(buf)), "[3661]");
	p.comm = "";
	assert_string_equal(flame__label(&n, buf, sizeof(buf)), "[3661]");
	n.proc = NULL;
	assert_string_equal(flame__label(&n, buf, sizeof(buf)), "[3661]");
	p.comm = "srv";
	n.proc = &p;
	assert_string_equal(flame__label(&n, buf, sizeof(buf)), "srv [3661]");
}

static void test_prune_narrow_frames_keeps_their_share(void **state)
{
	struct flame_opts o = { .min_share = 0.3 }; /* under 315 B: g_malloc, leak_b */
	struct flame *fl;
	char buf[64];

	assert_int_equal(flame__new(&rep, NULL, &o, &fl), 0);
	assert_int_equal(fl->nr_nodes, 4); /* all, main, handle, leak_a */
	assert_string_equal(flame__label(&fl->nodes[2], buf, sizeof(buf)), "handle");
	assert_int_equal(fl->nodes[2].start, 50); /* pruned frames keep their place */
	assert_int_equal(fl->nodes[3].start, 50);
	assert_int_equal(fl->pruned_frames, 2);
	assert_int_equal(fl->pruned.bytes, 350);
	assert_int_equal(fl->pruned.allocs, 8);
	flame__free(fl);

	/* a frame exactly at the limit (700 B) stays */
	o.min_share = 700.0 / 1050;
	assert_int_equal(flame__new(&rep, NULL, &o, &fl), 0);
	assert_int_equal(fl->nr_nodes, 4);
	assert_int_equal(fl->pruned_frames, 2);
	flame__free(fl);
}

static void test_prune_cuts_whole_subtrees_once(void **state)
{
	struct flame_opts o = { .min_share = 0.99 };
	struct flame *fl;

	assert_int_equal(flame__new(&rep, NULL, &o, &fl), 0);
	assert_int_equal(fl->nr_nodes, 2);	/* all, main */
	assert_int_equal(fl->pruned_frames, 2); /* g_malloc, handle: not handle's children */
	assert_int_equal(fl->pruned.bytes, 1050);
	flame__free(fl);
}

static void test_diff_carries_old_and_new(void **state)
{
	struct flame_opts o = { 0 };
	struct flame *fl;
	char buf[64];

	assert_int_equal(flame__new(&rep, &old_rep, &o, &fl), 0);
	assert_true(fl->diff);
	/* all, main, g_malloc, handle, leak_a, leak_b; leak_c (now 0) is pruned */
	assert_int_equal(fl->nr_nodes, 6);
	assert_int_equal(fl->nodes[0].now.bytes, 1050);
	assert_int_equal(fl->nodes[0].old.bytes, 900);
	assert_int_equal(fl->nodes[1].old.bytes, 900);
	assert_int_equal(fl->nodes[2].old.bytes, 0); /* g_malloc: new */
	assert_string_equal(flame__label(&fl->nodes[4], buf, sizeof(buf)), "leak_a");
	assert_int_equal(fl->nodes[4].now.bytes, 700);
	assert_int_equal(fl->nodes[4].old.bytes, 400);
	assert_int_equal(fl->nodes[4].old.allocs, 4);
	assert_int_equal(fl->nodes[5].now.bytes, 300);
	assert_int_equal(fl->nodes[5].old.bytes, 300);
	assert_int_equal(fl->pruned_frames, 1);
	assert_int_equal(fl->pruned.bytes, 0);
	assert_int_equal(fl->pruned_old.bytes, 200);
	flame__free(fl);
}

static void test_merge_by_function_and_module(void **state)
{
	static const struct report_frame a[] = {
		{ .kind = FRAME_NATIVE, .address = 0x1000, .module = LIBC },
		NF("handle", EXE),
	};
	static const struct report_frame b[] = {
		{ .kind = FRAME_NATIVE,
		  .address = 0x2000,
		  .module = LIBC },		     /* same: unknown in libc */
		NF("handle", "/opt/x/libhandle.so"), /* differs: module */
	};
	static const struct report_frame c[] = {
		{ .kind = FRAME_NATIVE, .address = 0x7f00, .module = "[anon]" },
		{ .kind = FRAME_PYTHON, .function = "handle", .file = "app.py", .line = 3 },
	};
	static const struct report_stack s[] = { STACK(1, a, 10, 1), STACK(2, a, 5, 1),
						 STACK(1, b, 20, 1), STACK(1, c, 40, 1) };
	static const struct report r = { .nr_stacks = 4, .stacks = s };
	struct flame_opts o = { 0 };
	struct flame *fl;
	char buf[64];

	assert_int_equal(flame__new(&r, NULL, &o, &fl), 0);
	/* all; handle (/app/srv) > ?? (libc); handle (libhandle) > ?? (libc); handle (py) > [anon] */
	assert_int_equal(fl->nr_nodes, 7);
	assert_int_equal(fl->max_depth, 2);
	for (size_t i = 1; i < 7; i += 2) {
		const struct flame_node *h = &fl->nodes[i], *leaf = &fl->nodes[i + 1];

		assert_string_equal(flame__label(h, buf, sizeof(buf)), "handle");
		if (h->frame->kind == FRAME_PYTHON) {
			assert_int_equal(h->cls, FLAME_CLASS_PYTHON);
			assert_string_equal(flame__label(leaf, buf, sizeof(buf)), "[anon]");
			assert_int_equal(leaf->cls, FLAME_CLASS_UNKNOWN);
			assert_int_equal(leaf->now.bytes, 40);
		} else if (!strcmp(h->frame->module, EXE)) {
			assert_int_equal(h->cls,
					 FLAME_CLASS_MAIN); /* no exe known: not a library */
			assert_string_equal(flame__label(leaf, buf, sizeof(buf)), "?? (libc.so.6)");
			assert_int_equal(leaf->now.bytes,
					 15); /* two pids, two addresses, one frame */
		} else {
			assert_int_equal(h->cls, FLAME_CLASS_LIB);
			assert_int_equal(leaf->now.bytes, 20);
		}
	}
	flame__free(fl);
}

static void test_class_follows_the_process_executable(void **state)
{
	static const struct report_frame fr[] = {
		NF("helper_leak", "/usr/libexec/srv-helper"), /* the process's own executable */
		NF("g_malloc", "/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0"),
		NF("main", "/usr/libexec/srv-helper"),
	};
	static const struct report_process p[] = {
		{ .pid = 5, .comm = "srv-helper", .exe = "/usr/libexec/srv-helper" },
	};
	static const struct report_stack s[] = { STACK(5, fr, 64, 1) };
	static const struct report r = {
		.nr_processes = 1, .processes = p, .nr_stacks = 1, .stacks = s
	};
	struct flame_opts o = { 0 };
	struct flame *fl;

	assert_int_equal(flame__new(&r, NULL, &o, &fl), 0);
	assert_int_equal(fl->nr_nodes, 4);
	assert_int_equal(fl->nodes[1].cls, FLAME_CLASS_MAIN);	/* main */
	assert_int_equal(fl->nodes[2].cls, FLAME_CLASS_SYSTEM); /* g_malloc */
	assert_int_equal(fl->nodes[3].cls, FLAME_CLASS_MAIN);	/* helper_leak, under /usr */
	flame__free(fl);
}

static void test_truncated_and_frameless_stacks(void **state)
{
	static const struct report_stack s[] = {
		{ .pid = 1,
		  .truncated = true,
		  .outstanding_bytes = 8,
		  .outstanding_allocs = 1,
		  .nr_frames = 2,
		  .frames = f_leak_a },
		{ .pid = 1, .outstanding_bytes = 4, .outstanding_allocs = 1 },
		STACK(1, f_leak_a, 2, 1),
	};
	static const struct report r = { .nr_stacks = 3, .stacks = s };
	static const struct want want[] = {
		{ "all", 0, 0, 14, 3 },	  { "[truncated]", 1, 0, 8, 1 }, { "handle", 2, 0, 8, 1 },
		{ "leak_a", 3, 0, 8, 1 }, { "main", 1, 8, 2, 1 },	 { "handle", 2, 8, 2, 1 },
		{ "leak_a", 3, 8, 2, 1 }, { "[no stack]", 1, 10, 4, 1 },
	};
	struct flame_opts o = { 0 };
	struct flame *fl;

	assert_int_equal(flame__new(&r, NULL, &o, &fl), 0);
	check_tree(fl, want, sizeof(want) / sizeof(want[0]));
	flame__free(fl);
}

static void test_empty_report_is_a_bare_root(void **state)
{
	static const struct report r = { 0 };
	struct flame_opts o = { .min_share = FLAME_MIN_SHARE };
	struct flame *fl;

	assert_int_equal(flame__new(&r, NULL, &o, &fl), 0);
	assert_int_equal(fl->nr_nodes, 1);
	assert_int_equal(fl->nodes[0].now.bytes, 0);
	assert_int_equal(fl->max_depth, 0);
	flame__free(fl);
	flame__free(NULL);
}

static void test_deep_stack_is_cut_at_max_depth(void **state)
{
	size_t n = FLAME_MAX_DEPTH + 40;
	struct report_frame *fr = calloc(n, sizeof(*fr));
	struct report_stack s = { .pid = 1, .outstanding_bytes = 1, .outstanding_allocs = 1 };
	struct report r = { .nr_stacks = 1, .stacks = &s };
	struct flame_opts o = { 0 };
	struct flame *fl;
	char buf[64];

	assert_non_null(fr);
	for (size_t i = 0; i < n; i++)
		fr[i] = (struct report_frame){ .kind = FRAME_NATIVE, .function = i ? "f" : "leaf" };
	fr[n - 1].function = "main";
	s.frames = fr;
	s.nr_frames = n;
	assert_int_equal(flame__new(&r, NULL, &o, &fl), 0);
	assert_int_equal(fl->max_depth, FLAME_MAX_DEPTH);
	assert_int_equal(fl->nr_nodes, FLAME_MAX_DEPTH + 1);
	assert_string_equal(flame__label(&fl->nodes[1], buf, sizeof(buf)),
			    "main"); /* outermost kept */
	flame__free(fl);
	free(fr);
}

static char *xml_of(const char *s, size_t max)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	flame__put_xml(f, s, max);
	fclose(f);
	return buf;
}

static void test_put_xml_escapes_and_replaces(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "a<b>&\"'", "a&lt;b&gt;&amp;&quot;&#39;" },
		{ "tab\tnl\ncr\resc\x1b del\x7f", "tab\xef\xbf\xbdnl\xef\xbf\xbd"
						  "cr\xef\xbf\xbd"
						  "esc\xef\xbf\xbd del\xef\xbf\xbd" },
		{ "bad\xff\xc0\x80", "bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "nonchar\xef\xbf\xbe", "nonchar\xef\xbf\xbd" }, /* U+FFFE: not XML */
		{ "c1\xc2\x9b", "c1\xef\xbf\xbd" },		  /* CSI */
		{ "bidi\xe2\x80\xae", "bidi\xef\xbf\xbd" },	  /* RLO */
		{ "ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x90\x8d",
		  "ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x90\x8d" },
		{ "trunc\xe2\x82", "trunc\xef\xbf\xbd\xef\xbf\xbd" }, /* cut sequence at the NUL */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = xml_of(cases[i].in, SIZE_MAX);

		assert_string_equal(got, cases[i].out);
		free(got);
	}
}

static void test_put_xml_cuts_with_ellipsis(void **state)
{
	char *got;

	got = xml_of("abcdef", 4);
	assert_string_equal(got, "abc\xe2\x80\xa6");
	free(got);
	got = xml_of("abcd", 4);
	assert_string_equal(got, "abcd");
	free(got);
	got = xml_of("\xc3\xa9\xc3\xa9\xc3\xa9<", 3); /* counts characters, not bytes */
	assert_string_equal(got, "\xc3\xa9\xc3\xa9\xe2\x80\xa6");
	free(got);
	assert_int_equal(flame__xml_chars("\xc3\xa9\xff<"), 3);
}

static void test_subtitle_has_exact_totals(void **state)
{
	struct flame_opts o = { .min_share = 0.1 };
	struct report r = rep;
	struct flame *fl;
	char buf[512];

	r.incomplete = true;
	r.totals.events_lost = 3;
	r.duration_s = 2.0;
	assert_int_equal(flame__new(&r, NULL, &o, &fl), 0);
	flame__subtitle(fl, &r, NULL, buf, sizeof(buf));
	assert_non_null(strstr(buf, "1050 B (1.0 KiB) outstanding in 15 allocs"));
	assert_non_null(strstr(buf, "2 processes (1 exited)"));
	assert_non_null(strstr(buf, "2.0 s"));
	assert_non_null(strstr(buf, "INCOMPLETE: 3 events lost"));
	flame__subtitle(fl, &r, NULL, buf, 8); /* cut, terminated */
	assert_int_equal(strlen(buf), 7);
	flame__pruned_note(fl, buf, sizeof(buf)); /* g_malloc: 50 of 1050 */
	assert_string_equal(
		buf, "1 frame narrower than 10% hidden, in stacks holding 4.8% of the bytes");
	flame__free(fl);

	o.min_share = 0;
	assert_int_equal(flame__new(&r, NULL, &o, &fl), 0);
	flame__pruned_note(fl, buf, sizeof(buf));
	assert_string_equal(buf, "");
	flame__free(fl);

	assert_int_equal(flame__new(&rep, &old_rep, &o, &fl), 0);
	flame__subtitle(fl, &rep, &old_rep, buf, sizeof(buf));
	assert_non_null(strstr(buf, "new 1050 B (1.0 KiB) vs old 900 B: +150 B (+16.7%)"));
	assert_non_null(strstr(buf, "15 vs 9 allocs"));
	flame__free(fl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_exact_weights),
		cmocka_unit_test(test_weight_count_lays_out_by_allocs),
		cmocka_unit_test(test_per_pid_roots),
		cmocka_unit_test(test_process_label_without_comm),
		cmocka_unit_test(test_prune_narrow_frames_keeps_their_share),
		cmocka_unit_test(test_prune_cuts_whole_subtrees_once),
		cmocka_unit_test(test_diff_carries_old_and_new),
		cmocka_unit_test(test_merge_by_function_and_module),
		cmocka_unit_test(test_class_follows_the_process_executable),
		cmocka_unit_test(test_truncated_and_frameless_stacks),
		cmocka_unit_test(test_empty_report_is_a_bare_root),
		cmocka_unit_test(test_deep_stack_is_cut_at_max_depth),
		cmocka_unit_test(test_put_xml_escapes_and_replaces),
		cmocka_unit_test(test_put_xml_cuts_with_ellipsis),
		cmocka_unit_test(test_subtitle_has_exact_totals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
