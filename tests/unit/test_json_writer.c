// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "drip/json_writer.h"

#define FFFD "\\ufffd"

struct mem {
	char *buf;
	size_t len;
	FILE *f;
};

static struct json_writer *mem_writer(struct mem *m, int indent)
{
	struct json_writer *w;

	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
	w = json_writer__new(m->f, indent);
	assert_non_null(w);
	return w;
}

/* frees the writer, checks its result, returns the output (caller frees) */
static char *mem_finish(struct mem *m, struct json_writer *w, int expect_err)
{
	assert_int_equal(json_writer__free(w), expect_err);
	assert_int_equal(fclose(m->f), 0);
	return m->buf;
}

static void check_output(char *out, const char *expect)
{
	assert_string_equal(out, expect);
	free(out);
}

/* s (len bytes) written as one string value */
static char *render_str(const char *s, size_t len)
{
	struct mem m;
	struct json_writer *w = mem_writer(&m, 0);

	json__strn(w, s, len);
	return mem_finish(&m, w, 0);
}

static void check_str(const char *s, size_t len, const char *expect)
{
	check_output(render_str(s, len), expect);
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

static void test_quote_and_backslash_are_escaped(void **state)
{
	check_str("a\"b\\c/", 6, "\"a\\\"b\\\\c/\"");
	check_str("\"\\\"", 3, "\"\\\"\\\\\\\"\"");
}

static void test_every_control_byte_is_escaped(void **state)
{
	static const char *const ctl[32] = {
		"\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006",
		"\\u0007", "\\b",     "\\t",	 "\\n",	    "\\u000b", "\\f",	  "\\r",
		"\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014",
		"\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019", "\\u001a", "\\u001b",
		"\\u001c", "\\u001d", "\\u001e", "\\u001f",
	};
	char in[3] = { 'x', 0, 'y' }, expect[16];
	int c;

	for (c = 0; c <= 0x20; c++) {
		in[1] = c == 0x20 ? 0x7f : c;
		snprintf(expect, sizeof(expect), "\"x%sy\"", c == 0x20 ? "\\u007f" : ctl[c]);
		check_str(in, sizeof(in), expect);
	}
}

static void test_embedded_nul_is_kept(void **state)
{
	check_str("a\0b\0", 4, "\"a\\u0000b\\u0000\"");
	check_str("\0", 1, "\"\\u0000\"");
	check_str("", 0, "\"\"");
	/* len is the end even when the bytes after it would complete a sequence */
	check_str("\xe2\x82\xac", 2, "\"" FFFD FFFD "\"");
	check_str("\xf0\x9f\x98\x80", 3, "\"" FFFD FFFD FFFD "\"");
	check_str("\xc3\xa9", 1, "\"" FFFD "\"");
}

/* every byte value in one string: output is pure printable ASCII plus valid UTF-8 */
static void test_all_bytes_give_valid_json(void **state)
{
	static const char script[] =
		"import json, sys\n"
		"s = json.loads(sys.stdin.buffer.read().decode('utf-8'))\n"
		"assert s == ''.join(chr(b) if b < 0x80 else '\\ufffd' for b in range(256)), s\n";
	char in[256], *out, *p;
	size_t i, n = 0;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (char)i;
	out = render_str(in, sizeof(in));
	for (i = 0; out[i]; i++)
		assert_true((unsigned char)out[i] >= 0x20 && (unsigned char)out[i] < 0x7f);
	for (p = out; (p = strstr(p, "\\ufffd")); p++)
		n++;
	assert_int_equal(n, 128); /* 0x80..0xff: no two of them form a valid sequence */
	if (have_python())
		assert_true(python_check(script, out));
	free(out);
}

struct utf8_case {
	const char *in;
	const char *expect;
};

static void check_cases(const struct utf8_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		check_str(c[i].in, strlen(c[i].in), c[i].expect);
}

static void test_invalid_utf8_is_replaced_per_byte(void **state)
{
	static const struct utf8_case cases[] = {
		/* overlong encodings */
		{ "\xc0\xaf", "\"" FFFD FFFD "\"" },
		{ "\xc1\xbf", "\"" FFFD FFFD "\"" },
		{ "\xe0\x80\xaf", "\"" FFFD FFFD FFFD "\"" },
		{ "\xe0\x9f\xbf", "\"" FFFD FFFD FFFD "\"" },
		{ "\xf0\x80\x80\xaf", "\"" FFFD FFFD FFFD FFFD "\"" },
		{ "\xf0\x8f\xbf\xbf", "\"" FFFD FFFD FFFD FFFD "\"" },
		/* UTF-16 surrogates */
		{ "\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"" },
		{ "\xed\xbf\xbf", "\"" FFFD FFFD FFFD "\"" },
		{ "\xed\xa0\xbd\xed\xb8\x80", "\"" FFFD FFFD FFFD FFFD FFFD FFFD "\"" },
		/* above U+10FFFF */
		{ "\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"" },
		{ "\xf5\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"" },
		{ "\xf8\x88\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD FFFD "\"" },
		{ "\xfe\xff", "\"" FFFD FFFD "\"" },
		/* truncated sequences, at the end and before other bytes */
		{ "\xc3", "\"" FFFD "\"" },
		{ "\xe2\x82", "\"" FFFD FFFD "\"" },
		{ "\xf0\x9f\x98", "\"" FFFD FFFD FFFD "\"" },
		{ "\xe2\x82\x41", "\"" FFFD FFFD "A\"" }, /* \x41: 'A' */
		{ "\xf0\x9f\x98\"", "\"" FFFD FFFD FFFD "\\\"\"" },
		{ "\xc3\xc3\xa9", "\"" FFFD "\xc3\xa9\"" },
		/* stray continuation bytes */
		{ "\x80", "\"" FFFD "\"" },
		{ "a\xbf\x62", "\"a" FFFD "b\"" }, /* \x62: 'b' */
		{ "\xc3\xa9\xa9", "\"\xc3\xa9" FFFD "\"" },
	};

	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_valid_utf8_passes_through(void **state)
{
	static const struct utf8_case cases[] = {
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },		/* U+00E9 */
		{ "\xc2\x80", "\"\xc2\x80\"" },			/* U+0080 */
		{ "\xdf\xbf", "\"\xdf\xbf\"" },			/* U+07FF */
		{ "\xe0\xa0\x80", "\"\xe0\xa0\x80\"" },		/* U+0800 */
		{ "\xe2\x82\xac", "\"\xe2\x82\xac\"" },		/* U+20AC */
		{ "\xed\x9f\xbf", "\"\xed\x9f\xbf\"" },		/* U+D7FF */
		{ "\xee\x80\x80", "\"\xee\x80\x80\"" },		/* U+E000 */
		{ "\xef\xbf\xbf", "\"\xef\xbf\xbf\"" },		/* U+FFFF */
		{ "\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\"" }, /* U+10000 */
		{ "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"" }, /* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"" }, /* U+10FFFF */
		{ "a\xc3\xa9\n\xe2\x82\xac", "\"a\xc3\xa9\\n\xe2\x82\xac\"" },
	};

	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_long_string(void **state)
{
	static const char unit[] = "ab\"\x01\xc3\xa9\xffz"; /* 8 bytes */
	static const char unit_out[] = "ab\\\"\\u0001\xc3\xa9" FFFD "z";
	_Static_assert(10240 % (sizeof(unit) - 1) == 0, "unit must divide 10 KB");
	const size_t reps = 10240 / (sizeof(unit) - 1);
	char *in = malloc(10240), *expect = malloc(reps * (sizeof(unit_out) - 1) + 3), *out;
	size_t i;

	assert_non_null(in);
	assert_non_null(expect);
	expect[0] = '"';
	for (i = 0; i < reps; i++) {
		memcpy(in + i * (sizeof(unit) - 1), unit, sizeof(unit) - 1);
		memcpy(expect + 1 + i * (sizeof(unit_out) - 1), unit_out, sizeof(unit_out) - 1);
	}
	strcpy(expect + 1 + reps * (sizeof(unit_out) - 1), "\"");
	check_str(in, 10240, expect);

	memset(in, 'x', 10240); /* one run of safe bytes */
	out = render_str(in, 10240);
	assert_int_equal(strlen(out), 10242);
	assert_int_equal(strspn(out + 1, "x"), 10240);
	free(out);
	free(in);
	free(expect);
}

static void test_null_string_is_null(void **state)
{
	struct mem m;
	struct json_writer *w = mem_writer(&m, 0);

	json__arr_start(w);
	json__str(w, NULL);
	json__strn(w, NULL, 5);
	json__str(w, "");
	json__null(w);
	json__arr_end(w);
	check_output(mem_finish(&m, w, 0), "[null,null,\"\",null]");
}

static void build_nested(struct json_writer *w)
{
	json__arr_start(w);
	json__obj_start(w);
	json__key(w, "a");
	json__u64(w, 1);
	json__key(w, "b");
	json__arr_start(w);
	json__arr_end(w);
	json__key(w, "c");
	json__arr_start(w);
	json__bool(w, 1);
	json__bool(w, 0);
	json__arr_end(w);
	json__obj_end(w);
	json__obj_start(w);
	json__key(w, "d");
	json__obj_start(w);
	json__obj_end(w);
	json__key(w, "e");
	json__obj_start(w);
	json__key(w, "f");
	json__str(w, "g");
	json__obj_end(w);
	json__obj_end(w);
	json__arr_start(w);
	json__arr_end(w);
	json__arr_end(w);
}

static void test_nesting_compact(void **state)
{
	struct mem m;
	struct json_writer *w = mem_writer(&m, 0);

	build_nested(w);
	check_output(mem_finish(&m, w, 0),
		     "[{\"a\":1,\"b\":[],\"c\":[true,false]},{\"d\":{},\"e\":{\"f\":\"g\"}},[]]");
}

static void test_nesting_indented(void **state)
{
	struct mem m;
	struct json_writer *w = mem_writer(&m, 2);

	build_nested(w);
	check_output(mem_finish(&m, w, 0), "[\n"
					   "  {\n"
					   "    \"a\": 1,\n"
					   "    \"b\": [],\n"
					   "    \"c\": [\n"
					   "      true,\n"
					   "      false\n"
					   "    ]\n"
					   "  },\n"
					   "  {\n"
					   "    \"d\": {},\n"
					   "    \"e\": {\n"
					   "      \"f\": \"g\"\n"
					   "    }\n"
					   "  },\n"
					   "  []\n"
					   "]");
}

/* an inline container: on one line, with ", " and ": " when indenting; its children too */
static void build_inline(struct json_writer *w)
{
	json__obj_start(w);
	json__key(w, "frames");
	json__arr_start(w);
	json__obj_start_inline(w);
	json__key(w, "kind");
	json__str(w, "native");
	json__key(w, "line");
	json__u64(w, 42);
	json__key(w, "tags");
	json__arr_start(w); /* inside an inline container: inline */
	json__u64(w, 1);
	json__obj_start(w);
	json__obj_end(w);
	json__arr_end(w);
	json__obj_end(w);
	json__obj_start_inline(w);
	json__obj_end(w);
	json__arr_start_inline(w);
	json__null(w);
	json__arr_end(w);
	json__arr_end(w);
	json__key(w, "n");
	json__u64(w, 1);
	json__obj_end(w);
}

static void test_inline_containers(void **state)
{
	struct mem m;
	struct json_writer *w = mem_writer(&m, 2);

	build_inline(w);
	check_output(mem_finish(&m, w, 0),
		     "{\n"
		     "  \"frames\": [\n"
		     "    {\"kind\": \"native\", \"line\": 42, \"tags\": [1, {}]},\n"
		     "    {},\n"
		     "    [null]\n"
		     "  ],\n"
		     "  \"n\": 1\n"
		     "}");
	w = mem_writer(&m, 0); /* compact: nothing changes */
	build_inline(w);
	check_output(
		mem_finish(&m, w, 0),
		"{\"frames\":[{\"kind\":\"native\",\"line\":42,\"tags\":[1,{}]},{},[null]],\"n\":1}");
}

/* What json__strn must write for s: the rules of the header, one byte at a time */
static void ref_escape(const unsigned char *s, size_t n, char *out)
{
	size_t i;

	*out++ = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == 0xc3 && i + 1 < n && s[i + 1] == 0xa9) { /* the only valid UTF-8 used */
			*out++ = (char)s[i++];
			*out++ = (char)s[i];
		} else if (s[i] == '"' || s[i] == '\\') {
			out += sprintf(out, "\\%c", s[i]);
		} else if (s[i] == '\n') {
			out += sprintf(out, "\\n");
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			out += sprintf(out, "\\u%04x", s[i]);
		} else if (s[i] >= 0x80) {
			out += sprintf(out, FFFD);
		} else {
			*out++ = (char)s[i];
		}
	}
	strcpy(out, "\"");
}

/* the writer skips plain bytes eight at a time: a byte to escape at any offset, any tail */
static void test_escape_at_every_offset(void **state)
{
	static const char *const special[] = { "\"",   "\\",   "\n",   "\x01",	   "\x1f",
					       "\x7f", "\x80", "\xff", "\xc3\xa9", "\xc3" };
	unsigned char in[64];
	char expect[512], *out;
	size_t i, off, tail, n, len;

	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		for (off = 0; off < 20; off++) {
			for (tail = 0; tail < 10; tail++) {
				n = strlen(special[i]);
				memset(in, 'a', off);
				memcpy(in + off, special[i], n);
				memset(in + off + n, 'z', tail);
				len = off + n + tail;
				ref_escape(in, len, expect);
				out = render_str((const char *)in, len);
				if (strcmp(out, expect))
					fail_msg("special %zu at %zu, tail %zu: '%s' != '%s'", i,
						 off, tail, out, expect);
				free(out);
			}
		}
	}
}

/* the writer keeps output in its own buffer: many small values and one big one, in order */
static void test_output_larger_than_the_buffer(void **state)
{
	const size_t nr = 30000, big = 200000;
	char *expect = malloc(nr * 8 + big + 64), *s = malloc(big), *p = expect;
	struct mem m;
	struct json_writer *w = mem_writer(&m, 0);
	size_t i;

	assert_non_null(expect);
	assert_non_null(s);
	memset(s, 'q', big);
	s[big / 2] = '"';
	json__arr_start(w);
	*p++ = '[';
	for (i = 0; i < nr; i++) {
		json__u64(w, i);
		p += sprintf(p, "%s%zu", i ? "," : "", i);
		if (i == nr / 2) {
			json__strn(w, s, big);
			p += sprintf(p, ",\"%.*s\\\"%.*s\"", (int)(big / 2), s, (int)(big / 2 - 1),
				     s + big / 2 + 1);
		}
	}
	json__arr_end(w);
	strcpy(p, "]");
	check_output(mem_finish(&m, w, 0), expect);
	free(expect);
	free(s);
}

static void test_deep_indent_is_exact(void **state)
{
	struct mem m;
	struct json_writer *w = mem_writer(&m, 3);
	char *out, *p;
	int i;

	for (i = 0; i < 20; i++)
		json__arr_start(w);
	json__u64(w, 7);
	for (i = 0; i < 20; i++)
		json__arr_end(w);
	out = mem_finish(&m, w, 0);
	p = strstr(out, "7");
	assert_non_null(p);
	assert_int_equal(p - out, 20 + 20 + 3 * (20 * 21 / 2)); /* '[', '\n', 3 spaces per level */
	assert_int_equal(strspn(p - 60, " "), 60);
	free(out);
}

static void test_key_is_escaped(void **state)
{
	struct mem m;
	struct json_writer *w = mem_writer(&m, 0);

	json__obj_start(w);
	json__key(w, "a\"\n\xff");
	json__u64(w, 1);
	json__obj_end(w);
	check_output(mem_finish(&m, w, 0), "{\"a\\\"\\n" FFFD "\":1}");
}

static void test_integers_are_exact(void **state)
{
	struct mem m;
	struct json_writer *w = mem_writer(&m, 0);

	json__arr_start(w);
	json__u64(w, UINT64_MAX);
	json__u64(w, 0);
	json__u64(w, 10);
	json__i64(w, INT64_MIN);
	json__i64(w, INT64_MAX);
	json__i64(w, -1);
	json__i64(w, 0);
	json__arr_end(w);
	check_output(mem_finish(&m, w, 0), "[18446744073709551615,0,10,-9223372036854775808,"
					   "9223372036854775807,-1,0]");
}

static void test_doubles(void **state)
{
	struct mem m;
	struct json_writer *w = mem_writer(&m, 0);
	double third = 1.0 / 3, back;
	char *out, *p;

	json__arr_start(w);
	json__double(w, NAN);
	json__double(w, INFINITY);
	json__double(w, -INFINITY);
	json__double(w, 12.5);
	json__double(w, 0.0);
	json__double(w, 0.1);
	json__double(w, -2.0);
	json__double(w, 1e300);
	json__double(w, third);
	json__arr_end(w);
	out = mem_finish(&m, w, 0);
	p = strrchr(out, ',');
	assert_non_null(p);
	back = strtod(p + 1, NULL);
	assert_true(back == third); /* round-trips exactly */
	*p = '\0';
	assert_string_equal(out, "[null,null,null,12.5,0.0,0.1,-2.0,1e+300");
	free(out);
}

static void test_top_level_values_one_per_line(void **state)
{
	struct mem m;
	struct json_writer *w = mem_writer(&m, 0);

	json__obj_start(w);
	json__obj_end(w);
	json__arr_start(w);
	json__u64(w, 1);
	json__arr_end(w);
	json__u64(w, 2);
	check_output(mem_finish(&m, w, 0), "{}\n[1]\n2");
}

static void test_depth_limit(void **state)
{
	struct mem m;
	struct json_writer *w = mem_writer(&m, 0);
	char expect[200];
	int i;

	for (i = 0; i < 64; i++)
		json__arr_start(w);
	json__u64(w, 1);
	for (i = 0; i < 64; i++)
		json__arr_end(w);
	memset(expect, '[', 64);
	expect[64] = '1';
	memset(expect + 65, ']', 64);
	expect[129] = '\0';
	check_output(mem_finish(&m, w, 0), expect);

	/* deeper: the 65th container becomes null, its contents are dropped, then it goes on */
	w = mem_writer(&m, 0);
	for (i = 0; i < 66; i++)
		json__arr_start(w);
	json__u64(w, 1);
	json__key(w, "x");
	json__arr_end(w);
	json__arr_end(w);
	json__u64(w, 2);
	for (i = 0; i < 64; i++)
		json__arr_end(w);
	memset(expect, '[', 64);
	strcpy(expect + 64, "null,2");
	memset(expect + 70, ']', 64);
	expect[134] = '\0';
	check_output(mem_finish(&m, w, -E2BIG), expect);
}

static void test_misuse_is_dropped_and_reported(void **state)
{
	struct mem m;
	struct json_writer *w;

	w = mem_writer(&m, 0); /* key in an array */
	json__arr_start(w);
	json__key(w, "k");
	json__u64(w, 1);
	json__arr_end(w);
	check_output(mem_finish(&m, w, -EINVAL), "[1]");

	w = mem_writer(&m, 0); /* value in an object without a key */
	json__obj_start(w);
	json__u64(w, 1);
	json__key(w, "k");
	json__u64(w, 2);
	json__obj_end(w);
	check_output(mem_finish(&m, w, -EINVAL), "{\"k\":2}");

	w = mem_writer(&m, 0); /* dangling key, mismatched and extra end */
	json__obj_start(w);
	json__key(w, "k");
	json__arr_end(w);
	json__obj_end(w);
	check_output(mem_finish(&m, w, -EINVAL), "{\"k\":null}");

	w = mem_writer(&m, 0); /* left open */
	json__arr_start(w);
	check_output(mem_finish(&m, w, -EINVAL), "[");
}

static void test_write_error_is_eio(void **state)
{
	struct json_writer *w;
	FILE *f = fopen("/dev/full", "w");
	int i;

	if (!f)
		skip();
	w = json_writer__new(f, 2);
	assert_non_null(w);
	json__arr_start(w);
	for (i = 0; i < 10000; i++)
		json__str(w, "filling the stdio buffer");
	json__arr_end(w);
	assert_int_equal(json_writer__free(w), -EIO);
	fclose(f);
}

static void test_json_escape_writes_body_only(void **state)
{
	struct mem m = { 0 };

	m.f = open_memstream(&m.buf, &m.len);
	assert_non_null(m.f);
	json_escape(m.f, "a\"b\tc\x7f\xe2\x82", 8);
	assert_int_equal(fclose(m.f), 0);
	check_output(m.buf, "a\\\"b\\tc\\u007f" FFFD FFFD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_and_backslash_are_escaped),
		cmocka_unit_test(test_every_control_byte_is_escaped),
		cmocka_unit_test(test_embedded_nul_is_kept),
		cmocka_unit_test(test_all_bytes_give_valid_json),
		cmocka_unit_test(test_invalid_utf8_is_replaced_per_byte),
		cmocka_unit_test(test_valid_utf8_passes_through),
		cmocka_unit_test(test_long_string),
		cmocka_unit_test(test_null_string_is_null),
		cmocka_unit_test(test_nesting_compact),
		cmocka_unit_test(test_nesting_indented),
		cmocka_unit_test(test_inline_containers),
		cmocka_unit_test(test_escape_at_every_offset),
		cmocka_unit_test(test_output_larger_than_the_buffer),
		cmocka_unit_test(test_deep_indent_is_exact),
		cmocka_unit_test(test_key_is_escaped),
		cmocka_unit_test(test_integers_are_exact),
		cmocka_unit_test(test_doubles),
		cmocka_unit_test(test_top_level_values_one_per_line),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_misuse_is_dropped_and_reported),
		cmocka_unit_test(test_write_error_is_eio),
		cmocka_unit_test(test_json_escape_writes_body_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
