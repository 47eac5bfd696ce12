// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "drip/report.h"

/*
 * Two processes (200 exited), three stacks: "aa" in both, "bb" only in the
 * exited one. Frames have every kind of unknown field.
 */
static const struct report_frame frames_a[] = {
	{ .kind = FRAME_NATIVE,
	  .address = 0x55d0c0de1234,
	  .module = "/opt/app/bin/server",
	  .function = "leak_medium",
	  .file = "/src/app/leaky.c",
	  .line = 42 },
	{ .kind = FRAME_NATIVE, .address = 0x7f0000001234 },
	{ .kind = FRAME_NATIVE,
	  .address = 0x7f00000a0000,
	  .module = "/usr/lib/x86_64-linux-gnu/libfoo.so",
	  .function = "helper",
	  .file = "foo.h",
	  .line = 7,
	  .inlined = true },
	{ .kind = FRAME_PYTHON, .function = "load_model", .file = "train.py", .line = 17 },
	{ .kind = FRAME_PYTHON },
};

static const struct report_frame frames_b[] = {
	{ .kind = FRAME_NATIVE,
	  .address = 0x401000,
	  .module = "/opt/app/bin/worker",
	  .function = "leak_small",
	  .file = "worker.c",
	  .line = 9 },
};

static const struct report_module modules_100[] = {
	{ .path = "/opt/app/bin/server",
	  .build_id = "0123456789abcdef0123456789abcdef01234567",
	  .base = 0x55d0c0de0000,
	  .start = 0x55d0c0de1234,
	  .end = 0x55d0c0de1235 },
	{ .path = "/usr/lib/x86_64-linux-gnu/libfoo.so",
	  .base = 0x7f0000090000,
	  .start = 0x7f00000a0000,
	  .end = 0x7f00000a0001 },
};

static const struct report_process procs[] = {
	{ .pid = 100,
	  .ppid = 1,
	  .start_time = 123456789,
	  .comm = "server",
	  .exe = "/opt/app/bin/server",
	  .outstanding_bytes = 6553600,
	  .outstanding_allocs = 100,
	  .nr_modules = 2,
	  .modules = modules_100 },
	{ .pid = 200,
	  .nspid = 7,
	  .ppid = 100,
	  .start_time = 223456789,
	  .comm = "evil\x1b[31m\xff",
	  .outstanding_bytes = 5120,
	  .outstanding_allocs = 11,
	  .exited = true },
};

static const struct report_stack stacks[] = {
	{ .pid = 100,
	  .stack_id = "00000000000000aa",
	  .outstanding_bytes = 6553600,
	  .outstanding_allocs = 100,
	  .allocs = 150,
	  .alloc_bytes = 9830400,
	  .frees = 50,
	  .oldest_age_s = 2.5,
	  .nr_frames = 5,
	  .frames = frames_a },
	{ .pid = 200,
	  .stack_id = "00000000000000bb",
	  .exited = true,
	  .truncated = true,
	  .outstanding_bytes = 4096,
	  .outstanding_allocs = 10,
	  .allocs = 10,
	  .alloc_bytes = 4096,
	  .oldest_age_s = 1.0,
	  .nr_frames = 1,
	  .frames = frames_b },
	{ .pid = 200,
	  .stack_id = "00000000000000aa",
	  .exited = true,
	  .outstanding_bytes = 1024,
	  .outstanding_allocs = 1,
	  .allocs = 1,
	  .alloc_bytes = 1024,
	  .nr_frames = 5,
	  .frames = frames_a },
};

static const struct report_merged merged[] = {
	{ .stack_id = "00000000000000aa",
	  .pids = 2,
	  .outstanding_bytes = 6554624,
	  .outstanding_allocs = 101,
	  .min_pid_bytes = 1024,
	  .max_pid_bytes = 6553600,
	  .first_stack = 0 },
	{ .stack_id = "00000000000000bb",
	  .pids = 1,
	  .outstanding_bytes = 4096,
	  .outstanding_allocs = 10,
	  .min_pid_bytes = 4096,
	  .max_pid_bytes = 4096,
	  .first_stack = 1 },
};

static const char *const drop_names[] = { "rb_full", "pending_full" };
static const uint64_t drop_counts[] = { 3, 0 };

static const struct report sample = {
	.duration_s = 12.5,
	.incomplete = true,
	.has_alloc_bytes = true,
	.has_modules = true,
	.totals = { .allocs = 161,
		    .alloc_bytes = 9835520,
		    .frees = 50,
		    .outstanding_bytes = 6558720,
		    .outstanding_allocs = 111,
		    .unknown_frees = 2,
		    .events_lost = 3 },
	.nr_processes = 2,
	.processes = procs,
	.nr_merged = 2,
	.merged = merged,
	.nr_stacks = 3,
	.stacks = stacks,
	.nr_drops = 2,
	.drop_names = drop_names,
	.drop_counts = drop_counts,
};

static const char sample_check[] =
	"import json, sys\n"
	"d = json.loads(sys.stdin.buffer.read().decode('utf-8'))\n"
	"assert list(d) == ['format', 'drip_version', 'duration_s', 'incomplete', 'totals',\n"
	"                   'processes', 'merged', 'stacks', 'drops'], list(d)\n"
	"assert d['format'] == 1 and d['drip_version'] == '0.1.0'\n"
	"assert d['duration_s'] == 12.5 and d['incomplete'] is True\n"
	"assert d['totals'] == {'allocs': 161, 'frees': 50, 'outstanding_bytes': 6558720,\n"
	"    'outstanding_allocs': 111, 'unknown_frees': 2, 'events_lost': 3, 'unwind_failures': 0,\n"
	"    'inherited_frees': 0, 'alloc_bytes': 9835520}\n"
	"assert list(d['totals'])[-5:] == ['unknown_frees', 'events_lost', 'unwind_failures',\n"
	"    'inherited_frees', 'alloc_bytes']\n"
	"p = d['processes']\n"
	"assert [list(x) for x in p] == [['pid', 'nspid', 'ppid', 'start_time', 'comm', 'exe',\n"
	"    'outstanding_bytes', 'outstanding_allocs', 'exited', 'inherited_bytes',\n"
	"    'inherited_allocs', 'modules']] * 2\n"
	"assert p[0] == {'pid': 100, 'nspid': None, 'ppid': 1, 'start_time': 123456789,\n"
	"    'comm': 'server', 'exe': '/opt/app/bin/server', 'outstanding_bytes': 6553600,\n"
	"    'outstanding_allocs': 100, 'exited': False, 'inherited_bytes': 0,\n"
	"    'inherited_allocs': 0, 'modules': [{'path': '/opt/app/bin/server',\n"
	"    'build_id': '0123456789abcdef0123456789abcdef01234567', 'base': '0x55d0c0de0000',\n"
	"    'start': '0x55d0c0de1234', 'end': '0x55d0c0de1235'},\n"
	"    {'path': '/usr/lib/x86_64-linux-gnu/libfoo.so', 'build_id': None,\n"
	"    'base': '0x7f0000090000', 'start': '0x7f00000a0000', 'end': '0x7f00000a0001'}]}, p[0]\n"
	"assert p[1]['modules'] == []\n"
	"assert p[1]['nspid'] == 7 and p[1]['exe'] is None and p[1]['exited'] is True\n"
	"assert p[1]['comm'] == 'evil\\x1b[31m\\ufffd', p[1]['comm']\n"
	"m = d['merged']\n"
	"assert m[0] == {'stack_id': '00000000000000aa', 'pids': 2, 'outstanding_bytes': 6554624,\n"
	"    'outstanding_allocs': 101, 'min_pid_bytes': 1024, 'max_pid_bytes': 6553600}, m[0]\n"
	"assert list(m[0]) == ['stack_id', 'pids', 'outstanding_bytes', 'outstanding_allocs',\n"
	"    'min_pid_bytes', 'max_pid_bytes']\n"
	"assert m[1]['stack_id'] == '00000000000000bb' and m[1]['pids'] == 1\n"
	"s = d['stacks']\n"
	"assert [(x['pid'], x['stack_id']) for x in s] == [(100, '00000000000000aa'),\n"
	"    (200, '00000000000000bb'), (200, '00000000000000aa')]\n"
	"assert list(s[0]) == ['pid', 'stack_id', 'exited', 'truncated', 'outstanding_bytes',\n"
	"    'outstanding_allocs', 'allocs', 'frees', 'oldest_age_s', 'frames', 'inherited_frees',\n"
	"    'alloc_bytes']\n"
	"assert s[0]['allocs'] == 150 and s[0]['frees'] == 50 and s[0]['oldest_age_s'] == 2.5\n"
	"assert [x['alloc_bytes'] for x in s] == [9830400, 4096, 1024]\n"
	"assert s[1]['exited'] is True and s[1]['truncated'] is True\n"
	"assert type(s[1]['oldest_age_s']) is float and type(s[2]['oldest_age_s']) is float\n"
	"f = s[0]['frames']\n"
	"assert f[0] == {'kind': 'native', 'address': '0x55d0c0de1234', 'module': '/opt/app/bin/server',\n"
	"    'function': 'leak_medium', 'file': '/src/app/leaky.c', 'line': 42, 'inlined': False}\n"
	"assert list(f[0]) == ['kind', 'address', 'module', 'function', 'file', 'line', 'inlined']\n"
	"assert f[1] == {'kind': 'native', 'address': '0x7f0000001234', 'module': None,\n"
	"    'function': None, 'file': None, 'line': None, 'inlined': False}, f[1]\n"
	"assert f[2]['inlined'] is True\n"
	"assert f[3] == {'kind': 'python', 'function': 'load_model', 'file': 'train.py', 'line': 17}\n"
	"assert list(f[3]) == ['kind', 'function', 'file', 'line']\n"
	"assert f[4] == {'kind': 'python', 'function': None, 'file': None, 'line': None}\n"
	"assert s[1]['frames'][0]['function'] == 'leak_small'\n"
	"assert d['drops'] == {'rb_full': 3, 'pending_full': 0}\n";

struct mem {
	char *buf;
	size_t len;
	FILE *f;
};

static FILE *mem_open(struct mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
	return m->f;
}

static char *mem_close(struct mem *m)
{
	assert_int_equal(fclose(m->f), 0);
	return m->buf;
}

static char *render_json(const struct report *r)
{
	struct mem m;

	assert_int_equal(report__write_json(r, mem_open(&m)), 0);
	return mem_close(&m);
}

static char *render_text(const struct report *r, size_t top, bool verbose)
{
	const struct text_opts o = { .top = top, .verbose = verbose };
	struct mem m;

	assert_int_equal(report__write_text(r, &o, mem_open(&m)), 0);
	return mem_close(&m);
}

static bool have_python(void)
{
	return system("command -v python3 >/dev/null 2>&1") == 0;
}

/* Run a python3 script with json on stdin; true when it exits 0. */
static bool python_check(const char *script, const char *json)
{
	FILE *p;
	int st;

	assert_int_equal(setenv("DRIP_PYCHECK", script, 1), 0);
	p = popen("python3 -c \"$DRIP_PYCHECK\"", "w");
	assert_non_null(p);
	fputs(json, p);
	st = pclose(p);
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("missing \"%s\" in:\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		fail_msg("unexpected \"%s\" in:\n%s", needle, hay);
}

/* offset of needle in hay, which must contain it */
static size_t offset_of(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (!p)
		fail_msg("missing \"%s\" in:\n%s", needle, hay);
	return p - hay;
}

static void test_json_empty_report_is_exact(void **state)
{
	const struct report r = { 0 };
	char *out = render_json(&r);

	assert_string_equal(out, "{\n"
				 "  \"format\": 1,\n"
				 "  \"drip_version\": \"" DRIP_VERSION "\",\n"
				 "  \"duration_s\": 0.0,\n"
				 "  \"incomplete\": false,\n"
				 "  \"totals\": {\n"
				 "    \"allocs\": 0,\n"
				 "    \"frees\": 0,\n"
				 "    \"outstanding_bytes\": 0,\n"
				 "    \"outstanding_allocs\": 0,\n"
				 "    \"unknown_frees\": 0,\n"
				 "    \"events_lost\": 0,\n"
				 "    \"unwind_failures\": 0,\n"
				 "    \"inherited_frees\": 0,\n"
				 "    \"alloc_bytes\": null\n"
				 "  },\n"
				 "  \"processes\": [],\n"
				 "  \"merged\": [],\n"
				 "  \"stacks\": [],\n"
				 "  \"drops\": {}\n"
				 "}\n");
	free(out);
}

static void test_json_sample_parses_with_right_values(void **state)
{
	char *out = render_json(&sample);

	if (!have_python()) {
		free(out);
		skip();
	}
	assert_true(python_check(sample_check, out));
	free(out);
}

static void test_json_sample_substrings(void **state)
{
	char *out = render_json(&sample);

	assert_contains(out, "  \"duration_s\": 12.5,\n  \"incomplete\": true,\n");
	assert_contains(out, "      \"pid\": 100,\n      \"nspid\": null,\n      \"ppid\": 1,\n");
	assert_contains(out, "      \"nspid\": 7,\n");
	assert_contains(out, "      \"comm\": \"evil\\u001b[31m\\ufffd\",\n      \"exe\": null,\n");
	assert_contains(out, "      \"stack_id\": \"00000000000000aa\",\n      \"pids\": 2,\n");
	assert_contains(out, "      \"min_pid_bytes\": 1024,\n      \"max_pid_bytes\": 6553600\n");
	assert_contains(out, "      \"oldest_age_s\": 1.0,\n");
	/* a frame a line */
	assert_contains(out,
			"        {\"kind\": \"native\", \"address\": \"0x7f0000001234\", "
			"\"module\": null, \"function\": null, \"file\": null, \"line\": null, "
			"\"inlined\": false}");
	assert_contains(out, "        {\"kind\": \"python\", \"function\": \"load_model\", "
			     "\"file\": \"train.py\", \"line\": 17}");
	assert_contains(out, "  \"drops\": {\n"
			     "    \"rb_full\": 3,\n"
			     "    \"pending_full\": 0\n"
			     "  }\n"
			     "}\n");
	free(out);
}

static void test_json_hostile_strings_stay_valid(void **state)
{
	static const char script[] =
		"import json, sys\n"
		"d = json.loads(sys.stdin.buffer.read().decode('utf-8'))\n"
		"f = d['stacks'][0]['frames'][0]\n"
		"assert f['function'] == 'a\"b\\\\c', f['function']\n"
		"assert f['module'] == '\\ufffd\\ufffd\\ufffd\\x7f', f['module']\n"
		"assert f['file'] == 'caf\\xe9\\n', f['file']\n";
	static const struct report_frame fr = {
		.kind = FRAME_NATIVE,
		.module = "\xed\xa0\x80\x7f",
		.function = "a\"b\\c",
		.file = "caf\xc3\xa9\n",
	};
	static const struct report_stack st = {
		.stack_id = "0123abc", /* shorter than 16 digits: printed as it is */
		.nr_frames = 1,
		.frames = &fr,
		.oldest_age_s = __builtin_nan(""),
	};
	const struct report r = { .nr_stacks = 1, .stacks = &st };
	char *out = render_json(&r);

	assert_contains(out, "\"function\": \"a\\\"b\\\\c\",");
	assert_contains(out, "\"module\": \"\\ufffd\\ufffd\\ufffd\\u007f\",");
	assert_contains(out, "\"oldest_age_s\": null,");
	assert_contains(out, "\"stack_id\": \"0123abc\",");
	if (have_python())
		assert_true(python_check(script, out));
	free(out);
}

static void test_json_write_error_is_eio(void **state)
{
	FILE *f = fopen("/dev/full", "w");

	if (!f)
		skip();
	assert_int_equal(report__write_json(&sample, f), -EIO);
	fclose(f);
}

static void test_text_top_stack_and_frames(void **state)
{
	char *out = render_text(&sample, 20, false);

	assert_contains(out,
			"drip " DRIP_VERSION ": 12.5 s, 2 processes (1 exited): "
			"6.3 MiB (6558720 B) outstanding in 111 allocs (161 allocs, 50 frees)\n");
	assert_contains(out, "Top 1 stack by outstanding memory (merged across processes):\n");
	assert_contains(out, "[1] 6.2 MiB (6553600 B) in 100 allocs, 1 process, "
			     "stack 00000000000000aa\n"
			     "    #0 leak_medium (server) leaky.c:42\n"
			     "    #1 ?? 0x7f0000001234\n"
			     "    #2 helper (libfoo.so) foo.h:7 [inlined]\n"
			     "    #3 load_model [python] train.py:17\n"
			     "    #4 ?? [python]\n"
			     "    pids: 100: 6.2 MiB, 200 (exited): 1.0 KiB\n");
	free(out);
}

static void test_text_exited_shown_apart(void **state)
{
	char *out = render_text(&sample, 20, false);
	size_t live = offset_of(out, "Top 1 stack by outstanding memory");
	size_t dead = offset_of(out, "\nIn use at exit (exited processes): 5.0 KiB (5120 B) in 11 "
				     "allocs, 2 stacks\n");

	assert_true(live < dead);
	assert_true(offset_of(out, "leak_small") > dead); /* only exited processes hold it */
	assert_contains(out,
			"[1] 4.0 KiB (4096 B) in 10 allocs, 1 process, stack 00000000000000bb\n"
			"    #0 leak_small (worker) worker.c:9\n"
			"    ... (stack truncated)\n"
			"    pids: 200 (exited): 4.0 KiB\n"
			"\n"
			"[2] 1.0 KiB (1024 B) in 1 alloc, 1 process, stack 00000000000000aa\n");
	free(out);
}

static void test_text_no_exited_section_without_exited_rows(void **state)
{
	struct report r = sample;
	char *out;

	r.nr_stacks = 1;
	out = render_text(&r, 20, false);
	assert_lacks(out, "In use at exit");
	free(out);
}

static void test_text_sanitizes_target_strings(void **state)
{
	static const struct report_frame fr = {
		.kind = FRAME_NATIVE,
		.module = "/lib/\xe2\x80\xaelib.so", /* U+202E RIGHT-TO-LEFT OVERRIDE */
		.function = "f\x1b]0;pwned\x07",
		.file = "caf\xc3\xa9.c",
	};
	static const struct report_stack st = {
		.stack_id = "0123456789abcdef",
		.outstanding_bytes = 64,
		.outstanding_allocs = 1,
		.nr_frames = 1,
		.frames = &fr,
	};
	static const struct report_process pr[] = {
		{ .pid = 1,
		  .comm = "evil\x1b[31m\xff",
		  .exe = "/bin/\xc2\x9b\x32J\x7f" }, /* \x32: '2' */
		{ .pid = 2, .comm = "ok\xe2\x82", .exe = "/bin/\xed\xa0\x80x" },
	};
	const struct report r = {
		.nr_processes = 2, .processes = pr, .nr_stacks = 1, .stacks = &st
	};
	char *out = render_text(&r, 20, false);
	size_t i;

	for (i = 0; out[i]; i++)
		if (((unsigned char)out[i] < 0x20 && out[i] != '\n') || out[i] == 0x7f)
			fail_msg("control byte 0x%02x at %zu in:\n%s", out[i], i, out);
	assert_lacks(out, "\xc2\x9b");
	assert_lacks(out, "\xe2\x80\xae");
	assert_contains(out, "    #0 f?]0;pwned? (?lib.so) caf\xc3\xa9.c\n");
	assert_contains(out, "  evil?[31m?       ");
	assert_contains(out, "  /bin/?2J?\n");
	assert_contains(out, "  ok??             ");
	assert_contains(out, "  /bin/???x\n");
	free(out);
}

static void test_text_incomplete_names_drops(void **state)
{
	struct report r = sample;
	char *out = render_text(&r, 20, false);

	assert_contains(out, "\nINCOMPLETE: data was lost, figures are approximate: events_lost 3, "
			     "rb_full 3\n");
	assert_contains(out, "\nDrops: rb_full 3\n");
	assert_lacks(out, "pending_full");
	free(out);

	r.incomplete = false;
	out = render_text(&r, 20, true);
	assert_lacks(out, "INCOMPLETE");
	assert_contains(out, "\nDrops: rb_full 3, pending_full 0\n"); /* -v: every counter */
	free(out);
}

static void test_text_process_table_and_totals(void **state)
{
	char *out = render_text(&sample, 20, false);

	assert_contains(out,
			"\nProcesses:\n"
			"     PID     PPID  COMM             OUTSTANDING          BYTES     "
			"ALLOCS  STATE   EXE\n"
			"     100        1  server               6.2 MiB        6553600        "
			"100  live    /opt/app/bin/server\n"
			"     200      100  evil?[31m?           5.0 KiB           5120        "
			" 11  exited  ?\n");
	assert_contains(
		out,
		"\nTotals: 161 allocs, 50 frees, 6.3 MiB (6558720 B) outstanding in 111 allocs; "
		"unknown_frees 2, events_lost 3, unwind_failures 0\n");
	free(out);
}

static void test_text_top_limits_stacks(void **state)
{
	char *out = render_text(&sample, 1, false);

	assert_contains(out, "[1] 4.0 KiB (4096 B)");
	assert_lacks(out, "[2] ");
	assert_contains(out, "\n... and 1 more stack holding 1.0 KiB (1024 B)\n");
	free(out);
}

/* rows arrive smallest first: the breakdown and the frames shown follow size */
static void test_text_pid_breakdown_is_capped(void **state)
{
	struct report_stack st[10];
	struct report r = { .nr_stacks = 10, .stacks = st };
	char *out;
	size_t i;

	for (i = 0; i < 10; i++) {
		st[i] = (struct report_stack){
			.pid = 1000 + i,
			.stack_id = "00000000000000cc",
			.outstanding_bytes = 1024 * (i + 1),
			.outstanding_allocs = 1,
			.exited = i == 6,
			.nr_frames = 1,
			.frames = i == 9 ? frames_b : frames_a,
		};
	}
	out = render_text(&r, 20, false);
	assert_contains(out,
			"[1] 48.0 KiB (49152 B) in 9 allocs, 9 processes (1.0 KiB .. 10.0 KiB "
			"each), stack 00000000000000cc\n"
			"    #0 leak_small (worker) worker.c:9\n"
			"    pids: 1009: 10.0 KiB, 1008: 9.0 KiB, 1007: 8.0 KiB, 1006 (exited): "
			"7.0 KiB, 1005: 6.0 KiB, 1004: 5.0 KiB, 1003: 4.0 KiB, 1002: 3.0 KiB, "
			"... and 2 more\n");
	free(out);
}

/* by bytes, not by count or by input order */
static void test_text_stacks_sorted_by_bytes(void **state)
{
	const struct report_stack st[] = {
		{ .pid = 1,
		  .stack_id = "0000000000000001",
		  .outstanding_bytes = 100,
		  .outstanding_allocs = 1 },
		{ .pid = 1,
		  .stack_id = "0000000000000002",
		  .outstanding_bytes = 200,
		  .outstanding_allocs = 60 },
		{ .pid = 2,
		  .stack_id = "0000000000000001",
		  .outstanding_bytes = 150,
		  .outstanding_allocs = 1 },
	};
	const struct report r = { .nr_stacks = 3, .stacks = st };
	char *out = render_text(&r, 20, false);

	assert_contains(out, "[1] 250 B in 2 allocs, 2 processes (100 B .. 150 B each), "
			     "stack 0000000000000001\n"
			     "    (no frames)\n"
			     "    pids: 2: 150 B, 1: 100 B\n"
			     "\n"
			     "[2] 200 B in 60 allocs, 1 process, stack 0000000000000002\n");
	free(out);
}

/* without -v: the 50 largest, by pid; with -v: all */
static void test_text_process_table_is_capped(void **state)
{
	struct report_process pr[60];
	struct report r = { .nr_processes = 60, .processes = pr };
	char *out;
	size_t i;

	for (i = 0; i < 60; i++) /* pids 60..1, each holding pid KiB */
		pr[i] = (struct report_process){ .pid = 60 - i,
						 .comm = "x",
						 .outstanding_bytes = 1024 * (60 - i) };
	out = render_text(&r, 20, false);
	assert_lacks(out, "\n      10        0  x ");
	assert_true(offset_of(out, "\n      11        0  x ") <
		    offset_of(out, "\n      12        0  x "));
	assert_true(offset_of(out, "\n      59        0  x ") <
		    offset_of(out, "\n      60        0  x "));
	assert_contains(out,
			"\n... and 10 more processes holding 55.0 KiB (56320 B) (-v shows all)\n");
	free(out);

	out = render_text(&r, 20, true);
	assert_true(offset_of(out, "\n       1        0  x ") <
		    offset_of(out, "\n       2        0  x "));
	assert_lacks(out, "more processes");
	free(out);
}

static void test_text_human_sizes(void **state)
{
	static const uint64_t sizes[] = { 0, 1023, 1024, 1048524, 1048575, 1536, UINT64_MAX };
	static const char *const human[] = { " 0 B ",	  " 1023 B ",  " 1.0 KiB ", " 1023.9 KiB ",
					     " 1.0 MiB ", " 1.5 KiB ", " 16.0 EiB " };
	struct report_process pr[7];
	struct report r = { .nr_processes = 7, .processes = pr };
	char *out;
	size_t i;

	for (i = 0; i < 7; i++)
		pr[i] = (struct report_process){ .pid = i + 1,
						 .comm = "x",
						 .outstanding_bytes = sizes[i] };
	r.totals.outstanding_bytes = 1023; /* below 1 KiB the exact figure is not repeated */
	out = render_text(&r, 20, false);
	for (i = 0; i < 7; i++)
		assert_contains(out, human[i]);
	assert_contains(out, "(0 exited): 1023 B outstanding in 0 allocs");
	free(out);
}

/*
 * A fork pool: parent 10 holds 3 blocks of stack "cc"; child 11 freed 2 of
 * its inherited copies (a row holding nothing) and still holds 1 (4 KiB).
 */
static void test_text_fork_fields_and_attach_gaps(void **state)
{
	static const struct report_stack st[] = {
		{ .pid = 10,
		  .stack_id = "00000000000000cc",
		  .outstanding_bytes = 12288,
		  .outstanding_allocs = 3,
		  .allocs = 3 },
		{ .pid = 11, .stack_id = "00000000000000cc", .inherited_frees = 2 },
	};
	static const struct report_process pr[] = {
		{ .pid = 10,
		  .ppid = 1,
		  .comm = "main",
		  .outstanding_bytes = 12288,
		  .outstanding_allocs = 3 },
		{ .pid = 11,
		  .ppid = 10,
		  .comm = "worker",
		  .inherited_bytes = 4096,
		  .inherited_allocs = 1 },
	};
	static const char *const names[] = { "rb_full", "attach_gaps" };
	static const uint64_t counts[] = { 0, 2 };
	struct report r = { .incomplete = true,
			    .totals = { .allocs = 3,
					.outstanding_bytes = 12288,
					.outstanding_allocs = 3,
					.inherited_frees = 2 },
			    .nr_processes = 2,
			    .processes = pr,
			    .nr_stacks = 2,
			    .stacks = st,
			    .nr_drops = 2,
			    .drop_names = names,
			    .drop_counts = counts };
	char *out = render_text(&r, 20, false);

	assert_contains(out, "    pids: 10: 12.0 KiB, 11: 0 B (freed 2 inherited)\n");
	assert_contains(out, "   ALLOCS    INHERITED/ALLOCS  STATE   EXE\n");
	assert_contains(out, "          3                   -  live    ?\n");
	assert_contains(out, "          0           4.0 KiB/1  live    ?\n");
	assert_contains(out, "\nINHERITED: the parent's blocks a forked child still holds");
	assert_contains(out, "; unknown_frees 0, inherited_frees 2, events_lost 0");
	assert_contains(out, "figures are approximate: attach_gaps 2\n"
			     "  attach_gaps 2: allocator files probed only after a process mapped");
	free(out);

	/* nothing forked, nothing dlopen'ed: the report reads as before */
	r.nr_processes = 1;
	r.nr_stacks = 1;
	r.totals.inherited_frees = 0;
	r.nr_drops = 1;
	r.incomplete = false;
	out = render_text(&r, 20, false);
	assert_lacks(out, "inherited");
	assert_lacks(out, "INHERITED");
	assert_lacks(out, "attach_gaps");
	free(out);
}

static void test_text_write_error_is_eio(void **state)
{
	const struct text_opts o = { .top = 20 };
	FILE *f = fopen("/dev/full", "w");

	if (!f)
		skip();
	assert_int_equal(report__write_text(&sample, &o, f), -EIO);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_empty_report_is_exact),
		cmocka_unit_test(test_json_sample_parses_with_right_values),
		cmocka_unit_test(test_json_sample_substrings),
		cmocka_unit_test(test_json_hostile_strings_stay_valid),
		cmocka_unit_test(test_json_write_error_is_eio),
		cmocka_unit_test(test_text_top_stack_and_frames),
		cmocka_unit_test(test_text_exited_shown_apart),
		cmocka_unit_test(test_text_no_exited_section_without_exited_rows),
		cmocka_unit_test(test_text_sanitizes_target_strings),
		cmocka_unit_test(test_text_incomplete_names_drops),
		cmocka_unit_test(test_text_process_table_and_totals),
		cmocka_unit_test(test_text_top_limits_stacks),
		cmocka_unit_test(test_text_pid_breakdown_is_capped),
		cmocka_unit_test(test_text_stacks_sorted_by_bytes),
		cmocka_unit_test(test_text_process_table_is_capped),
		cmocka_unit_test(test_text_human_sizes),
		cmocka_unit_test(test_text_fork_fields_and_attach_gaps),
		cmocka_unit_test(test_text_write_error_is_eio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
