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

static const struct report_process procs[] = {
	{ .pid = 100,
	  .ppid = 1,
	  .start_time = 123456789,
	  .comm = "server",
	  .exe = "/opt/app/bin/server",
	  .outstanding_bytes = 6553600,
	  .outstanding_allocs = 100 },
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
	  .oldest_age_s = 1.0,
	  .nr_frames = 1,
	  .frames = frames_b },
	{ .pid = 200,
	  .stack_id = "00000000000000aa",
	  .exited = true,
	  .outstanding_bytes = 1024,
	  .outstanding_allocs = 1,
	  .allocs = 1,
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
	.totals = { .allocs = 161,
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
	"    'outstanding_allocs': 111, 'unknown_frees': 2, 'events_lost': 3, 'unwind_failures': 0}\n"
	"assert list(d['totals'])[-3:] == ['unknown_frees', 'events_lost', 'unwind_failures']\n"
	"p = d['processes']\n"
	"assert [list(x) for x in p] == [['pid', 'nspid', 'ppid', 'start_time', 'comm', 'exe',\n"
	"    'outstanding_bytes', 'outstanding_allocs', 'exited']] * 2\n"
	"assert p[0] == {'pid': 100, 'nspid': None, 'ppid': 1, 'start_time': 123456789,\n"
	"    'comm': 'server', 'exe': '/opt/app/bin/server', 'outstanding_bytes': 6553600,\n"
	"    'outstanding_allocs': 100, 'exited': False}, p[0]\n"
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
	"    'outstanding_allocs', 'allocs', 'frees', 'oldest_age_s', 'frames']\n"
	"assert s[0]['allocs'] == 150 and s[0]['frees'] == 50 and s[0]['oldest_age_s'] == 2.5\n"
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
				 "    \"unwind_failures\": 0\n"
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
	assert_contains(out, "          \"kind\": \"native\",\n"
			     "          \"address\": \"0x7f0000001234\",\n"
			     "          \"module\": null,\n"
			     "          \"function\": null,\n"
			     "          \"file\": null,\n"
			     "          \"line\": null,\n"
			     "          \"inlined\": false\n");
	assert_contains(out, "          \"kind\": \"python\",\n"
			     "          \"function\": \"load_model\",\n"
			     "          \"file\": \"train.py\",\n"
			     "          \"line\": 17\n");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_empty_report_is_exact),
		cmocka_unit_test(test_json_sample_parses_with_right_values),
		cmocka_unit_test(test_json_sample_substrings),
		cmocka_unit_test(test_json_hostile_strings_stay_valid),
		cmocka_unit_test(test_json_write_error_is_eio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
