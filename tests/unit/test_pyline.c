// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * pyline: lines of real code objects' instructions, as CPython 3.10, 3.11 and
 * 3.12 give them (pyline_vectors.h, made by gen_pyline_vectors.py), and
 * malformed tables.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "drip/pyline.h"

struct vector {
	const char *name;
	enum pyline_format fmt;
	const uint8_t *tab;
	size_t len;
	int firstlineno;
	const int *lines; /* per code unit; 0: none */
	size_t nr;
};

#include "pyline_vectors.h"

static void check_vectors(const struct vector *v, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		for (size_t i = 0; i < v[k].nr; i++) {
			int got = pyline__addr2line(v[k].fmt, v[k].tab, v[k].len, v[k].firstlineno,
						    (int)i * 2);

			if (got != v[k].lines[i])
				fail_msg("%s: instruction %zu: line %d, CPython says %d", v[k].name,
					 i, got, v[k].lines[i]);
		}
	}
}

#define CHECK(vs) check_vectors(vs, sizeof(vs) / sizeof(vs[0]))

static void test_lines_as_python310_gives_them(void **state)
{
	CHECK(py310_vectors);
}

static void test_lines_as_python311_gives_them(void **state)
{
	CHECK(py311_vectors);
}

static void test_lines_as_python312_gives_them(void **state)
{
	CHECK(py312_vectors);
}

static void test_not_started_frame_is_first_line(void **state)
{
	assert_int_equal(pyline__addr2line(PYLINE_311, py311_0_tab, sizeof(py311_0_tab), 42, -2),
			 42);
}

static void test_past_the_table_is_unknown(void **state)
{
	assert_int_equal(
		pyline__addr2line(PYLINE_311, py311_0_tab, sizeof(py311_0_tab), 42, 1 << 20), 0);
	assert_int_equal(pyline__addr2line(PYLINE_311, NULL, 0, 42, 0), 0);
}

static void test_malformed_tables_are_refused(void **state)
{
	/* a continuation byte where an entry must start */
	static const uint8_t cont[] = { 0x05 };
	/* a long-form entry whose varint never ends */
	static const uint8_t endless[] = { 0xf0, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41 };
	/* a long-form entry cut inside its varint */
	static const uint8_t cut[] = { 0xf0, 0x41 };

	assert_int_equal(pyline__addr2line(PYLINE_311, cont, sizeof(cont), 1, 0), -EBADMSG);
	assert_int_equal(pyline__addr2line(PYLINE_311, endless, sizeof(endless), 1, 0), -EBADMSG);
	assert_int_equal(pyline__addr2line(PYLINE_311, cut, sizeof(cut), 1, 0), -EBADMSG);
}

static void test_absurd_lines_are_unknown(void **state)
{
	/* no-columns entries of +(2^29 - 1) each: the fifth leaves int range, never wraps */
#define BIG 0xe8, 0x7e, 0x7f, 0x7f, 0x7f, 0x3f
	static const uint8_t big[] = { BIG, BIG, BIG, BIG, BIG };

	assert_int_equal(pyline__addr2line(PYLINE_311, big, sizeof(big), 1, 0), 536870912);
	assert_int_equal(pyline__addr2line(PYLINE_311, big, sizeof(big), 1, 8), -EBADMSG);
	/* 3.10: a line going below 1 is unknown */
	static const uint8_t down[] = { 2, 0x80 + 1 };

	assert_int_equal(pyline__addr2line(PYLINE_310, down, sizeof(down), 1, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_as_python310_gives_them),
		cmocka_unit_test(test_lines_as_python311_gives_them),
		cmocka_unit_test(test_lines_as_python312_gives_them),
		cmocka_unit_test(test_not_started_frame_is_first_line),
		cmocka_unit_test(test_past_the_table_is_unknown),
		cmocka_unit_test(test_malformed_tables_are_refused),
		cmocka_unit_test(test_absurd_lines_are_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
