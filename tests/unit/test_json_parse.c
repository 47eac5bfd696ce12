// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "drip/json_parse.h"

/* Every token of s as a compact string ("{ k:a 1 [ s:x ] }"), or the error "E<err> <msg>" */
static char *tokens(const char *s, size_t len, const struct json_limits *lim)
{
	struct json_parser jp;
	struct json_token t;
	static char out[4096];
	size_t n = 0;
	int err;

	json_parser__init(&jp, s, len, lim);
	out[0] = '\0';
	for (int guard = 0; guard < 1000; guard++) {
		err = json_parser__next(&jp, &t);
		if (err) {
			n += snprintf(out + n, sizeof(out) - n, "E%d %s", -err,
				      json_parser__error(&jp));
			break;
		}
		switch (t.type) {
		case JSON_EOF:
			n += snprintf(out + n, sizeof(out) - n, "$");
			json_parser__release(&jp);
			return out;
		case JSON_OBJ_START:
			n += snprintf(out + n, sizeof(out) - n, "{ ");
			break;
		case JSON_OBJ_END:
			n += snprintf(out + n, sizeof(out) - n, "} ");
			break;
		case JSON_ARR_START:
			n += snprintf(out + n, sizeof(out) - n, "[ ");
			break;
		case JSON_ARR_END:
			n += snprintf(out + n, sizeof(out) - n, "] ");
			break;
		case JSON_KEY:
			n += snprintf(out + n, sizeof(out) - n, "k:%s ", t.str);
			break;
		case JSON_STR:
			n += snprintf(out + n, sizeof(out) - n, "s:%s ", t.str);
			break;
		case JSON_NUM:
			if (t.is_u64)
				n += snprintf(out + n, sizeof(out) - n, "u:%llu ",
					      (unsigned long long)t.u64);
			else
				n += snprintf(out + n, sizeof(out) - n, "%s:%g ",
					      t.integer ? "i" : "d", t.num);
			break;
		case JSON_BOOL:
			n += snprintf(out + n, sizeof(out) - n, "%s ",
				      t.boolean ? "true" : "false");
			break;
		case JSON_NULL:
			n += snprintf(out + n, sizeof(out) - n, "null ");
			break;
		}
	}
	json_parser__release(&jp);
	return out;
}

static char *toks(const char *s)
{
	return tokens(s, strlen(s), NULL);
}

static void test_document_tokens(void **state)
{
	assert_string_equal(
		toks(" {\"a\": [1, \"x\", true, false, null, {}], \"b\": {\"c\": []}}\n"),
		"{ k:a [ u:1 s:x true false null { } ] k:b { k:c [ ] } } $");
	assert_string_equal(toks("7"), "u:7 $");
	assert_string_equal(toks("\"\""), "s: $");
	assert_string_equal(toks("\t[\r\n]\t"), "[ ] $");
}

static void test_integers_are_exact(void **state)
{
	struct json_parser jp;
	struct json_token t;
	const char *s = "[18446744073709551615, 18446744073709551616, 9007199254740993, -1, 0, -0]";

	json_parser__init(&jp, s, strlen(s), NULL);
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_true(t.is_u64);
	assert_true(t.u64 == UINT64_MAX);
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_false(t.is_u64); /* one more: only the double is left */
	assert_true(t.integer);
	assert_true(t.num == 18446744073709551616.0);
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_true(t.is_u64);
	assert_true(t.u64 == 9007199254740993ull); /* not representable as a double */
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_false(t.is_u64);
	assert_true(t.integer);
	assert_true(t.num == -1);
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_true(t.is_u64 && t.u64 == 0);
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_false(t.is_u64);
	assert_true(t.integer && t.num == 0 && signbit(t.num));
	json_parser__release(&jp);
}

static void test_fractions_and_exponents(void **state)
{
	assert_string_equal(toks("[1.5, -0.25, 1e3, 2E-2, 1e+2, 0.1]"),
			    "[ d:1.5 d:-0.25 d:1000 d:0.02 d:100 d:0.1 ] $");
	assert_string_equal(toks("1e400"), "d:inf $");
}

static void test_bad_numbers(void **state)
{
	static const char *const bad[] = { "01",  "1.",	      ".5",	   "+1",    "-",
					   "1e",  "1e+",      "-a",	   "0x10",  "1.2.3",
					   "NaN", "Infinity", "-Infinity", "1_000", "2a" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = toks(bad[i]);

		if (!strstr(out, "E74 line 1 col ")) /* EBADMSG */
			fail_msg("'%s' gave '%s'", bad[i], out);
	}
	assert_string_equal(toks("-"),
			    "E74 line 1 col 2: expected a digit, found end of input (truncated?)");
	assert_string_equal(toks("01"), "E74 line 1 col 1: invalid number");
}

static void test_string_escapes(void **state)
{
	struct json_parser jp;
	struct json_token t;
	const char *s =
		"\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\\u00e9\\u20ac\\ud83d\\ude00\\u0000z\"";
	const char want[] = "a\"b\\c/d\be\ff\ng\rh\ti\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0z";

	json_parser__init(&jp, s, strlen(s), NULL);
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_int_equal(t.type, JSON_STR);
	assert_int_equal(t.len, sizeof(want) - 1);
	assert_memory_equal(t.str, want, sizeof(want)); /* NUL-terminated after len, too */
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_int_equal(t.type, JSON_EOF);
	json_parser__release(&jp);
	/* raw UTF-8 passes as it is */
	assert_string_equal(toks("\"\xc3\xa9\xf0\x9f\x98\x80\""), "s:\xc3\xa9\xf0\x9f\x98\x80 $");
}

/* one string value s (len bytes, quotes included): 0, its token and bytes (in str), or the error */
static int one_string(const char *s, size_t len, struct json_token *t, char str[64], char *why,
		      size_t n)
{
	struct json_parser jp;
	int err;

	json_parser__init(&jp, s, len, NULL);
	err = json_parser__next(&jp, t);
	snprintf(why, n, "%s", json_parser__error(&jp));
	if (!err && t->len < 64)
		memcpy(str, t->str, t->len);
	json_parser__release(&jp);
	t->str = NULL; /* released */
	return err;
}

/* strings are scanned eight bytes at a time: what ends a plain run, at any offset, any tail */
static void test_string_byte_at_every_offset(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: an error at the byte */
		bool nul;
	} cases[] = {
		{ "\\\"", "\"", false },
		{ "\\\\", "\\", false },
		{ "\\n", "\n", false },
		{ "\\u0000", "", true },
		{ "\xc3\xa9", "\xc3\xa9", false },
		{ "\x7f", "\x7f", false },
		{ "\x01", NULL, false },
		{ "\x1f", NULL, false },
		{ "\xff", NULL, false },
		{ "\x80", NULL, false },
		{ "\xc3", NULL, false },
	};
	char in[64], want[64], got[64], why[256], col[32];
	struct json_token t;
	size_t i, off, tail, n, wn;
	int err;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (off = 0; off < 20; off++) {
			for (tail = 0; tail < 10; tail++) {
				n = strlen(cases[i].in);
				in[0] = '"';
				memset(in + 1, 'a', off);
				memcpy(in + 1 + off, cases[i].in, n);
				memset(in + 1 + off + n, 'z', tail);
				in[1 + off + n + tail] = '"';
				memset(&t, 0, sizeof(t));
				err = one_string(in, off + n + tail + 2, &t, got, why, sizeof(why));
				if (!cases[i].out) {
					snprintf(col, sizeof(col), "line 1 col %zu: ", off + 2);
					if (err != -EBADMSG || strncmp(why, col, strlen(col)))
						fail_msg("case %zu at %zu, tail %zu: %d '%s'", i,
							 off, tail, err, why);
					continue;
				}
				wn = strlen(cases[i].out) + cases[i].nul;
				memset(want, 'a', off);
				memcpy(want + off, cases[i].out, wn);
				memset(want + off + wn, 'z', tail);
				if (err || t.len != off + wn + tail || memcmp(got, want, t.len) ||
				    t.nul != cases[i].nul)
					fail_msg("case %zu at %zu, tail %zu: %d '%s' len %zu", i,
						 off, tail, err, why, t.len);
			}
		}
	}
}

/* integers take a short cut to their double: it must be strtod's */
static void test_integer_doubles_match_strtod(void **state)
{
	static const char *const nums[] = { "0",
					    "9007199254740993",
					    "9007199254740995",
					    "18446744073709549568",
					    "18446744073709550591",
					    "18446744073709550592",
					    "18446744073709551615",
					    "12345678901234567890",
					    "4611686018427387903" };
	struct json_parser jp;
	struct json_token t;

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		json_parser__init(&jp, nums[i], strlen(nums[i]), NULL);
		assert_int_equal(json_parser__next(&jp, &t), 0);
		assert_true(t.is_u64);
		if (t.num != strtod(nums[i], NULL))
			fail_msg("%s: %.17g != %.17g", nums[i], t.num, strtod(nums[i], NULL));
		json_parser__release(&jp);
	}
}

static void test_bad_strings(void **state)
{
	assert_string_equal(toks("\"\\ud83d\""),
			    "E74 line 1 col 2: high surrogate \\ud83d without a low one");
	assert_string_equal(toks("\"\\ud83d\\u0041\""),
			    "E74 line 1 col 2: high surrogate \\ud83d without a low one");
	assert_string_equal(toks("\"\\ude00\""), "E74 line 1 col 2: lone low surrogate \\ude00");
	assert_string_equal(toks("\"\\u12g4\""),
			    "E74 line 1 col 2: expected 4 hex digits after '\\u'");
	assert_string_equal(toks("\"\\u12\""),
			    "E74 line 1 col 2: expected 4 hex digits after '\\u'");
	assert_string_equal(
		toks("\"\\x\""),
		"E74 line 1 col 3: expected an escape ('\"', '\\', '/', 'b', 'f', 'n', 'r', "
		"'t', 'u'), found 'x'");
	assert_string_equal(toks("\"a\nb\""),
			    "E74 line 1 col 3: control byte 0x0a in a string (it must be escaped)");
	assert_string_equal(toks("\"a\tb\""),
			    "E74 line 1 col 3: control byte 0x09 in a string (it must be escaped)");
	assert_string_equal(toks("\"\xff\""),
			    "E74 line 1 col 2: invalid UTF-8 byte 0xff in a string");
	assert_string_equal(toks("\"\xc0\x80\""),
			    "E74 line 1 col 2: invalid UTF-8 byte 0xc0 in a string");
	assert_string_equal(toks("\"\xed\xa0\x80\""), /* an encoded surrogate */
			    "E74 line 1 col 2: invalid UTF-8 byte 0xed in a string");
	assert_string_equal(toks("\"\xe2\x82\""),
			    "E74 line 1 col 2: invalid UTF-8 byte 0xe2 in a string");
	assert_string_equal(toks("\"abc"), "E74 line 1 col 1: unterminated string");
	assert_string_equal(
		toks("\"abc\\"),
		"E74 line 1 col 6: expected an escape, found end of input (truncated?)");
	assert_string_equal(toks("'a'"), "E74 line 1 col 1: expected a value, found '''");
}

static void test_structure_errors(void **state)
{
	assert_string_equal(toks(""),
			    "E74 line 1 col 1: expected a value, found end of input (truncated?)");
	assert_string_equal(toks("  \n "),
			    "E74 line 2 col 2: expected a value, found end of input (truncated?)");
	assert_string_equal(toks("[1,]"), "[ u:1 E74 line 1 col 4: expected a value, found ']'");
	assert_string_equal(toks("{\"a\":1,}"),
			    "{ k:a u:1 E74 line 1 col 8: expected a key after ',', found '}'");
	assert_string_equal(toks("{,}"), "{ E74 line 1 col 2: expected a key or '}', found ','");
	assert_string_equal(toks("{\"a\" 1}"),
			    "{ E74 line 1 col 6: expected ':' after a key, found '1'");
	assert_string_equal(
		toks("{\"a\":1"),
		"{ k:a u:1 E74 line 1 col 7: expected ',' or '}', found end of input (truncated?)");
	assert_string_equal(toks("[1 2]"),
			    "[ u:1 E74 line 1 col 4: expected ',' or ']', found '2'");
	assert_string_equal(toks("[1}"), "[ u:1 E74 line 1 col 3: expected ',' or ']', found '}'");
	assert_string_equal(
		toks("{} x"),
		"{ } E74 line 1 col 4: expected nothing after the JSON value, found 'x'");
	assert_string_equal(
		toks("1 2"),
		"u:1 E74 line 1 col 3: expected nothing after the JSON value, found '2'");
	assert_string_equal(toks("tru"),
			    "E74 line 1 col 4: expected true, found end of input (truncated?)");
	assert_string_equal(toks("nulll"), "E74 line 1 col 1: expected a value, found 'n'");
	assert_string_equal(toks("[nan]"), "[ E74 line 1 col 2: expected a value, found 'n'");
	assert_string_equal(toks("/* c */ 1"), "E74 line 1 col 1: expected a value, found '/'");
	assert_string_equal(toks("\xef\xbb\xbf{}"),
			    "E74 line 1 col 1: expected a value, found byte 0xef");
	assert_string_equal(toks("[\v]"), "[ E74 line 1 col 2: expected a value, found byte 0x0b");
}

static void test_error_position_counts_lines_and_characters(void **state)
{
	/* é and € are one column each */
	assert_string_equal(
		toks("{\n  \"\xc3\xa9\xe2\x82\xac\": [1,\n   x]}"),
		"{ k:\xc3\xa9\xe2\x82\xac [ u:1 E74 line 3 col 4: expected a value, found 'x'");
	assert_string_equal(toks("[\"\xc3\xa9\", ?]"),
			    "[ s:\xc3\xa9 E74 line 1 col 7: expected a value, found '?'");
}

static void test_error_is_sticky(void **state)
{
	struct json_parser jp;
	struct json_token t;

	json_parser__init(&jp, "[x, 1]", 6, NULL);
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_int_equal(json_parser__next(&jp, &t), -EBADMSG);
	assert_int_equal(json_parser__next(&jp, &t), -EBADMSG);
	assert_int_equal(json_parser__fail(&jp, 5, -EINVAL, "later"), -EBADMSG); /* first wins */
	assert_string_equal(json_parser__error(&jp), "line 1 col 2: expected a value, found 'x'");
	json_parser__release(&jp);
}

static void test_nothing_read_past_the_end(void **state)
{
	/* the buffer holds more than len: the parser must stop at len */
	const char s[] = "[1, 2]]garbage";

	assert_string_equal(tokens(s, 6, NULL), "[ u:1 u:2 ] $");
	assert_string_equal(
		tokens(s, 5, NULL),
		"[ u:1 u:2 E74 line 1 col 6: expected ',' or ']', found end of input (truncated?)");
	assert_string_equal(tokens("\"abc\"", 4, NULL), "E74 line 1 col 1: unterminated string");
	assert_string_equal(tokens("true", 3, NULL),
			    "E74 line 1 col 4: expected true, found end of input (truncated?)");
	assert_string_equal(tokens("1234", 2, NULL), "u:12 $");
}

static void test_depth_cap(void **state)
{
	struct json_limits lim = { .max_depth = 3 };
	char deep[300];

	assert_string_equal(tokens("[[[1]]]", 7, &lim), "[ [ [ u:1 ] ] ] $");
	assert_string_equal(tokens("[[[[1]]]]", 9, &lim),
			    "[ [ [ E7 line 1 col 4: nested deeper than 3 levels");
	assert_string_equal(tokens("{\"a\":{\"b\":{\"c\":{}}}}", 20, &lim),
			    "{ k:a { k:b { k:c E7 line 1 col 16: nested deeper than 3 levels");
	/* the default is 64 */
	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	assert_non_null(
		strstr(tokens(deep, 130, NULL), "E7 line 1 col 65: nested deeper than 64 levels"));
	/* a request above the hard cap is cut to it */
	lim.max_depth = 1000000;
	memset(deep, '[', 257);
	assert_non_null(strstr(tokens(deep, 257, &lim),
			       "E7 line 1 col 257: nested deeper than 256 levels"));
}

static void test_string_cap(void **state)
{
	struct json_limits lim = { .max_string = 4 };

	assert_string_equal(tokens("[\"abcd\"]", 8, &lim), "[ s:abcd ] $");
	assert_string_equal(tokens("[\"abcde\"]", 9, &lim),
			    "[ E7 line 1 col 2: string longer than 4 bytes");
	assert_string_equal(tokens("{\"abcde\":1}", 11, &lim),
			    "{ E7 line 1 col 2: string longer than 4 bytes");
	/* escapes count decoded: \u20ac is 3 bytes */
	assert_string_equal(tokens("\"a\\u20ac\"", 9, &lim), "s:a\xe2\x82\xac $");
	assert_string_equal(tokens("\"ab\\u20ac\"", 10, &lim),
			    "E7 line 1 col 1: string longer than 4 bytes");
	assert_string_equal(
		toks("\"12345678901234567890123456789012345678901234567890123456789012345678901"
		     "234567890123456789012345678901234567890123456789012345678901234567890\""),
		"s:1234567890123456789012345678901234567890123456789012345678901234567890"
		"1234567890123456789012345678901234567890123456789012345678901234567890 $");
}

static void test_number_length_cap(void **state)
{
	char num[200];

	memset(num, '1', sizeof(num));
	num[0] = '0';
	num[1] = '.';
	assert_string_equal(tokens(num, 128, NULL), "d:0.111111 $");
	assert_string_equal(tokens(num, 129, NULL),
			    "E7 line 1 col 1: number longer than 128 characters");
}

static void test_skip(void **state)
{
	const char *s =
		"{\"skip\": {\"a\": [1, {\"b\": [[]]}], \"c\": \"}\"}, \"keep\": 5, \"s\": 3}";
	struct json_parser jp;
	struct json_token t;

	json_parser__init(&jp, s, strlen(s), NULL);
	assert_int_equal(json_parser__next(&jp, &t), 0); /* { */
	assert_int_equal(json_parser__next(&jp, &t), 0); /* skip */
	assert_int_equal(json_parser__next(&jp, &t), 0); /* { */
	assert_int_equal(json_parser__skip(&jp, &t), 0);
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_int_equal(t.type, JSON_KEY);
	assert_string_equal(t.str, "keep");
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_int_equal(json_parser__skip(&jp, &t), 0); /* a scalar: nothing to do */
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_string_equal(t.str, "s");
	json_parser__release(&jp);

	/* skipping into a truncated value fails */
	json_parser__init(&jp, "[[1, [2]", 8, NULL);
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_int_equal(json_parser__next(&jp, &t), 0);
	assert_int_equal(json_parser__skip(&jp, &t), -EBADMSG);
	json_parser__release(&jp);
}

static void test_where(void **state)
{
	const char *s = "ab\ncd\n\xc3\xa9x";
	struct json_parser jp;
	size_t line, col;

	json_parser__init(&jp, s, strlen(s), NULL);
	json_parser__where(&jp, 0, &line, &col);
	assert_true(line == 1 && col == 1);
	json_parser__where(&jp, 4, &line, &col);
	assert_true(line == 2 && col == 2);
	json_parser__where(&jp, 8, &line, &col);
	assert_true(line == 3 && col == 2);
	json_parser__where(&jp, 1000, &line, &col); /* clamped to the end */
	assert_true(line == 3 && col == 3);
	json_parser__release(&jp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_document_tokens),
		cmocka_unit_test(test_integers_are_exact),
		cmocka_unit_test(test_fractions_and_exponents),
		cmocka_unit_test(test_bad_numbers),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_string_byte_at_every_offset),
		cmocka_unit_test(test_integer_doubles_match_strtod),
		cmocka_unit_test(test_bad_strings),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_error_position_counts_lines_and_characters),
		cmocka_unit_test(test_error_is_sticky),
		cmocka_unit_test(test_nothing_read_past_the_end),
		cmocka_unit_test(test_depth_cap),
		cmocka_unit_test(test_string_cap),
		cmocka_unit_test(test_number_length_cap),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_where),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
