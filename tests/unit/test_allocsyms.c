// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drip/allocsyms.h"

/* A file's symbols as a NULL-terminated list */
static const char *nth(void *ctx, size_t i)
{
	return ((const char *const *)ctx)[i];
}

static bool has(void *ctx, const char *name)
{
	for (const char *const *p = ctx; *p; p++)
		if (!strcmp(*p, name))
			return true;
	return false;
}

static struct allocsyms_src src_of(const char *const *names)
{
	size_t n = 0;

	while (names[n])
		n++;
	return (struct allocsyms_src){ n, nth, has, (void *)names };
}

static int kind_of(const struct alloc_sym *s, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s[i].name, name))
			return (int)s[i].kind;
	return -1;
}

static void test_rust_prefix_detected(void **state)
{
	static const char *const names[] = { "_rjem_malloc", "_rjem_free", "_rjem_mallocx",
					     "_rjem_sdallocx", "_rjem_nallocx", "main", NULL };
	struct allocsyms_src s = src_of(names);
	char out[4][ALLOCSYMS_NAME_MAX];

	assert_int_equal(allocsyms__prefixes(&s, out, 4), 1);
	assert_string_equal(out[0], "_rjem_");
}

static void test_plain_jemalloc_prefix_is_empty(void **state)
{
	static const char *const names[] = { "malloc", "free", "mallocx", "dallocx", NULL };
	struct allocsyms_src s = src_of(names);
	char out[4][ALLOCSYMS_NAME_MAX];

	assert_int_equal(allocsyms__prefixes(&s, out, 4), 1);
	assert_string_equal(out[0], "");
}

/* xmallocx without xmalloc and xfree is no allocator prefix; nallocx ends in "allocx" only */
static void test_prefix_needs_malloc_and_free(void **state)
{
	static const char *const names[] = { "xmallocx", "xmalloc", "nallocx", "je_mallocx",
					     "je_malloc", NULL };
	struct allocsyms_src s = src_of(names);
	char out[4][ALLOCSYMS_NAME_MAX];

	assert_int_equal(allocsyms__prefixes(&s, out, 4), 0);
}

static void test_prefixed_plan_probes_c_and_x_api(void **state)
{
	static const char *const names[] = { "_rjem_malloc", "_rjem_free", "_rjem_calloc",
					     "_rjem_realloc", "_rjem_mallocx", "_rjem_rallocx",
					     "_rjem_xallocx", "_rjem_sdallocx", "_rjem_dallocx",
					     "main", NULL };
	struct allocsyms_src s = src_of(names);
	struct alloc_sym out[ALLOCSYMS_MAX];
	unsigned flags;
	size_t n = allocsyms__plan(&s, out, ALLOCSYMS_MAX, &flags);

	assert_int_equal(n, 9);
	assert_true(flags & ALLOCSYMS_JEMALLOC);
	assert_true(flags & ALLOCSYMS_C);
	assert_int_equal(kind_of(out, n, "_rjem_malloc"), ALLOC_MALLOC);
	assert_int_equal(kind_of(out, n, "_rjem_mallocx"), ALLOC_MALLOC);
	assert_int_equal(kind_of(out, n, "_rjem_realloc"), ALLOC_REALLOC);
	assert_int_equal(kind_of(out, n, "_rjem_rallocx"), ALLOC_REALLOC_KEEP);
	assert_int_equal(kind_of(out, n, "_rjem_xallocx"), ALLOC_XALLOCX);
	assert_int_equal(kind_of(out, n, "_rjem_sdallocx"), ALLOC_FREE);
	assert_int_equal(kind_of(out, n, "_rjem_dallocx"), ALLOC_FREE);
	assert_int_equal(kind_of(out, n, "main"), -1);
}

static void test_musl_realloc_keeps(void **state)
{
	static const char *const names[] = { "malloc", "free", "realloc", "__init_libc",
					     "__libc_malloc_impl", NULL };
	struct allocsyms_src s = src_of(names);
	struct alloc_sym out[ALLOCSYMS_MAX];
	unsigned flags;
	size_t n = allocsyms__plan(&s, out, ALLOCSYMS_MAX, &flags);

	assert_true(flags & ALLOCSYMS_MUSL);
	assert_int_equal(kind_of(out, n, "realloc"), ALLOC_REALLOC_KEEP);
}

static void test_glibc_realloc_frees(void **state)
{
	static const char *const names[] = { "malloc", "free", "realloc", "__libc_malloc",
					     "__libc_start_main", NULL };
	struct allocsyms_src s = src_of(names);
	struct alloc_sym out[ALLOCSYMS_MAX];
	unsigned flags;
	size_t n = allocsyms__plan(&s, out, ALLOCSYMS_MAX, &flags);

	assert_false(flags & ALLOCSYMS_MUSL);
	assert_int_equal(kind_of(out, n, "realloc"), ALLOC_REALLOC);
	assert_int_equal(kind_of(out, n, "__libc_malloc"), -1); /* an alias: not a family */
}

static void test_tcmalloc_api(void **state)
{
	static const char *const names[] = { "malloc", "free", "tc_malloc", "tc_free",
					     "tc_new", "tc_deletearray_sized", "tc_memalign",
					     "_Znwm", "_ZdlPv", NULL };
	struct allocsyms_src s = src_of(names);
	struct alloc_sym out[ALLOCSYMS_MAX];
	unsigned flags;
	size_t n = allocsyms__plan(&s, out, ALLOCSYMS_MAX, &flags);

	assert_true(flags & ALLOCSYMS_TCMALLOC);
	assert_true(flags & ALLOCSYMS_CXX); /* an allocator's own new is probed */
	assert_int_equal(kind_of(out, n, "tc_new"), ALLOC_MALLOC);
	assert_int_equal(kind_of(out, n, "tc_deletearray_sized"), ALLOC_FREE);
	assert_int_equal(kind_of(out, n, "tc_memalign"), ALLOC_MEMALIGN);
	assert_int_equal(kind_of(out, n, "_Znwm"), ALLOC_MALLOC);
}

/* libstdc++'s new calls malloc: not probed (frames are fixed up instead) */
static void test_cxx_runtime_is_not_probed(void **state)
{
	static const char *const names[] = { "_Znwm", "_ZdlPv", "_ZSt15get_new_handlerv",
					     "__cxa_throw", NULL };
	struct allocsyms_src s = src_of(names);
	struct alloc_sym out[ALLOCSYMS_MAX];
	unsigned flags;

	assert_int_equal(allocsyms__plan(&s, out, ALLOCSYMS_MAX, &flags), 0);
	assert_true(flags & ALLOCSYMS_CXX_RUNTIME);
}

/* A program with its own operator new (a pool) has it probed, every variant it defines */
static void test_program_operator_new_is_probed(void **state)
{
	static const char *const names[] = { "main", "_Znwm", "_Znam", "_ZdlPv", "_ZdlPvm",
					     "_ZnwmSt11align_val_t", NULL };
	struct allocsyms_src s = src_of(names);
	struct alloc_sym out[ALLOCSYMS_MAX];
	unsigned flags;
	size_t n = allocsyms__plan(&s, out, ALLOCSYMS_MAX, &flags);

	assert_int_equal(n, 5);
	assert_int_equal(flags, ALLOCSYMS_CXX);
	assert_int_equal(kind_of(out, n, "_ZnwmSt11align_val_t"), ALLOC_MALLOC);
	assert_int_equal(kind_of(out, n, "_ZdlPvm"), ALLOC_FREE);
}

static void test_no_allocator(void **state)
{
	static const char *const names[] = { "main", "malloc_usable_size", "xmalloc", NULL };
	struct allocsyms_src s = src_of(names);
	struct alloc_sym out[ALLOCSYMS_MAX];
	unsigned flags;

	assert_int_equal(allocsyms__plan(&s, out, ALLOCSYMS_MAX, &flags), 0);
	assert_int_equal(flags, 0);
}

static void test_plan_respects_max(void **state)
{
	static const char *const names[] = { "malloc", "free", "calloc", "realloc", NULL };
	struct allocsyms_src s = src_of(names);
	struct alloc_sym out[2];
	unsigned flags;

	assert_int_equal(allocsyms__plan(&s, out, 2, &flags), 2);
}

struct seen {
	char paths[8][64];
	size_t n;
};

static void collect(const char *path, void *ctx)
{
	struct seen *s = ctx;

	strncpy(s->paths[s->n++], path, 63);
}

static void test_preload_split_and_last_wins(void **state)
{
	static const char env[] = "PATH=/bin\0LD_PRELOAD=/old.so\0HOME=/\0"
				  "LD_PRELOAD=libjemalloc.so.2 /opt/a.so::/b.so\0";
	struct seen s = { 0 };

	assert_int_equal(allocsyms__preload(env, sizeof(env) - 1, collect, &s), 3);
	assert_string_equal(s.paths[0], "libjemalloc.so.2");
	assert_string_equal(s.paths[1], "/opt/a.so");
	assert_string_equal(s.paths[2], "/b.so");
}

static void test_preload_absent_or_empty(void **state)
{
	static const char env[] = "PATH=/bin\0LD_PRELOAD=\0XLD_PRELOAD=/x.so";
	struct seen s = { 0 };

	assert_int_equal(allocsyms__preload(env, sizeof(env) - 1, collect, &s), 0);
	/* not NUL-terminated at the end: still bounded */
	assert_int_equal(allocsyms__preload("LD_PRELOAD=/a.so", 16, collect, &s), 1);
	assert_string_equal(s.paths[0], "/a.so");
}

/* Interposition: executable, LD_PRELOAD, DT_NEEDED — the first definition binds */
static void test_binder_first_in_link_map_order(void **state)
{
	/* exe (no malloc), preloaded jemalloc, libstdc++ (runtime new), libc */
	const unsigned flags[] = { 0, ALLOCSYMS_C | ALLOCSYMS_JEMALLOC | ALLOCSYMS_CXX,
				   ALLOCSYMS_CXX_RUNTIME, ALLOCSYMS_C };
	/* a pool program: its own new binds over libstdc++'s; malloc stays libc's */
	const unsigned pool[] = { ALLOCSYMS_CXX, ALLOCSYMS_CXX_RUNTIME, ALLOCSYMS_C };

	assert_int_equal(allocsyms__binder(flags, 4, ALLOCSYMS_C), 1);
	assert_int_equal(allocsyms__binder(flags, 4, ALLOCSYMS_CXX | ALLOCSYMS_CXX_RUNTIME), 1);
	assert_int_equal(allocsyms__binder(pool, 3, ALLOCSYMS_C), 2);
	assert_int_equal(allocsyms__binder(pool, 3, ALLOCSYMS_CXX | ALLOCSYMS_CXX_RUNTIME), 0);
	assert_int_equal(allocsyms__binder(flags, 1, ALLOCSYMS_C), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rust_prefix_detected),
		cmocka_unit_test(test_plain_jemalloc_prefix_is_empty),
		cmocka_unit_test(test_prefix_needs_malloc_and_free),
		cmocka_unit_test(test_prefixed_plan_probes_c_and_x_api),
		cmocka_unit_test(test_musl_realloc_keeps),
		cmocka_unit_test(test_glibc_realloc_frees),
		cmocka_unit_test(test_tcmalloc_api),
		cmocka_unit_test(test_cxx_runtime_is_not_probed),
		cmocka_unit_test(test_program_operator_new_is_probed),
		cmocka_unit_test(test_no_allocator),
		cmocka_unit_test(test_plan_respects_max),
		cmocka_unit_test(test_preload_split_and_last_wins),
		cmocka_unit_test(test_preload_absent_or_empty),
		cmocka_unit_test(test_binder_first_in_link_map_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
