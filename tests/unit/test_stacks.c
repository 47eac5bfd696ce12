// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "drip/stacks.h"

static void test_indexes_are_dense_and_first_add_wins(void **state)
{
	const uint64_t a[] = { 0x401000, 0x401100, 0x401200 }, b[] = { 0x7f0000001234 };
	struct stacks *s = stacks__new();
	const uint64_t *ips;
	uint32_t nr, flags;

	assert_non_null(s);
	assert_int_equal(stacks__add(s, 0xaaaa, a, 3, 0), 0);
	assert_int_equal(stacks__add(s, 0xbbbb, b, 1, 1), 1);
	assert_int_equal(stacks__add(s, 0xaaaa, b, 1, 1), 0); /* keeps the first frames */
	assert_int_equal(stacks__count(s), 2);

	ips = stacks__ips(s, 0, &nr, &flags);
	assert_int_equal(nr, 3);
	assert_int_equal(flags, 0);
	assert_memory_equal(ips, a, sizeof(a));
	ips = stacks__ips(s, 1, &nr, &flags);
	assert_int_equal(nr, 1);
	assert_int_equal(flags, 1);
	assert_int_equal(ips[0], b[0]);
	stacks__free(s);
}

static void test_find(void **state)
{
	const uint64_t a[] = { 1, 2 };
	struct stacks *s = stacks__new();

	assert_int_equal(stacks__find(s, 42), -ENOENT);
	assert_int_equal(stacks__add(s, 42, a, 2, 0), 0);
	assert_int_equal(stacks__add(s, 0, a, 1, 0), 1); /* 0 is a hash like any other */
	assert_int_equal(stacks__find(s, 42), 0);
	assert_int_equal(stacks__find(s, 0), 1);
	assert_int_equal(stacks__find(s, 43), -ENOENT);
	stacks__free(s);
}

static void test_empty_stack_and_bad_input(void **state)
{
	struct stacks *s = stacks__new();
	uint32_t nr = 99, flags = 99;

	assert_int_equal(stacks__add(s, 7, NULL, 0, 0), 0);
	assert_non_null(stacks__ips(s, 0, &nr, NULL));
	assert_int_equal(nr, 0);
	assert_int_equal(stacks__add(s, 8, NULL, 3, 0), -EINVAL);
	assert_int_equal(stacks__count(s), 1);
	assert_null(stacks__ips(s, 1, &nr, &flags));
	assert_int_equal(nr, 0);
	assert_int_equal(flags, 0);
	stacks__free(s);
}

static uint64_t frame(uint32_t k, uint32_t j)
{
	return 0x55aa00000000ULL + (uint64_t)k * 0x1000 + j;
}

/* Thousands of stacks through many arena and index doublings keep their frames. */
static void test_many_stacks_survive_growth(void **state)
{
	const uint32_t n = 20000;
	struct stacks *s = stacks__new();
	uint64_t ips[127];

	for (uint32_t k = 0; k < n; k++) {
		uint32_t nr = k % 128;

		for (uint32_t j = 0; j < nr; j++)
			ips[j] = frame(k, j);
		assert_int_equal(stacks__add(s, (uint64_t)k * 0x10000, ips, nr, k & 1), k);
		assert_int_equal(stacks__find(s, (uint64_t)k * 0x10000), k);
	}
	assert_int_equal(stacks__count(s), n);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t nr, flags;
		const uint64_t *p = stacks__ips(s, k, &nr, &flags);

		assert_int_equal(stacks__find(s, (uint64_t)k * 0x10000), k);
		assert_int_equal(nr, k % 128);
		assert_int_equal(flags, k & 1);
		for (uint32_t j = 0; j < nr; j++)
			assert_int_equal(p[j], frame(k, j));
	}
	stacks__free(s);
}

/* One stack far larger than the arena so far (callers may send more than BPF's 127). */
static void test_huge_stack(void **state)
{
	const uint32_t nr = 100000;
	uint64_t *ips = malloc(nr * sizeof(*ips));
	struct stacks *s = stacks__new();
	const uint64_t *p;
	uint32_t got;

	assert_non_null(ips);
	for (uint32_t j = 0; j < nr; j++)
		ips[j] = frame(1, j);
	assert_int_equal(stacks__add(s, 1, ips, 1, 0), 0);
	assert_int_equal(stacks__add(s, 2, ips, nr, 0), 1);
	assert_int_equal(stacks__add(s, 3, ips + 1, 1, 0), 2);
	p = stacks__ips(s, 1, &got, NULL);
	assert_int_equal(got, nr);
	assert_memory_equal(p, ips, nr * sizeof(*ips));
	assert_int_equal(stacks__ips(s, 2, &got, NULL)[0], ips[1]);
	stacks__free(s);
	free(ips);
}

static void test_free_null_is_noop(void **state)
{
	stacks__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_indexes_are_dense_and_first_add_wins),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_empty_stack_and_bad_input),
		cmocka_unit_test(test_many_stacks_survive_growth),
		cmocka_unit_test(test_huge_stack),
		cmocka_unit_test(test_free_null_is_noop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
