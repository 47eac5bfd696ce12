// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "drip/procmaps.h"

static struct procmaps *parse_ok(const char *text)
{
	struct procmaps *m = NULL;

	assert_int_equal(procmaps__parse(text, strlen(text), &m), 0);
	assert_non_null(m);
	return m;
}

static void test_kernel_lines(void **state)
{
	struct procmaps *m = parse_ok(
		"560d963ec000-560d963ee000 r--p 00000000 fe:00 247134                     /usr/bin/cat\n"
		"560d963ee000-560d963f3000 r-xp 00002000 fe:00 247134                     /usr/bin/cat\n"
		"560da3759000-560da377a000 rw-p 00000000 00:00 0                          [heap]\n"
		"7f5a35887000-7f5a358a9000 rw-p 00000000 00:00 0 \n"
		"7ffd1c5f2000-7ffd1c613000 rw-p 00000000 00:00 0                          [stack]\n"
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n");
	const struct vma *v = &m->vmas[1];

	assert_int_equal(m->nr, 6);
	assert_int_equal(v->start, 0x560d963ee000);
	assert_int_equal(v->end, 0x560d963f3000);
	assert_int_equal(v->offset, 0x2000);
	assert_int_equal(v->dev_major, 0xfe);
	assert_int_equal(v->dev_minor, 0);
	assert_int_equal(v->inode, 247134);
	assert_true(v->exec);
	assert_false(v->deleted);
	assert_string_equal(v->path, "/usr/bin/cat");
	assert_false(m->vmas[0].exec);
	assert_string_equal(m->vmas[2].path, "[heap]");
	assert_string_equal(m->vmas[3].path, ""); /* anonymous, with the kernel's trailing space */
	assert_string_equal(m->vmas[4].path, "[stack]");
	assert_string_equal(m->vmas[5].path, "[vsyscall]");
	assert_int_equal(m->vmas[5].start, 0xffffffffff600000);
	assert_true(m->vmas[5].exec);
	procmaps__free(m);
}

static void test_paths_with_spaces_and_deleted(void **state)
{
	struct procmaps *m = parse_ok("1000-2000 r-xp 00000000 08:01 11 /opt/my app/lib  two.so\n"
				      "2000-3000 r-xp 00001000 08:01 12 /tmp/gone.so (deleted)\n"
				      "3000-4000 r-xs 00000000 00:01 13 /memfd:jit code (deleted)\n"
				      "4000-5000 r--p 00000000 08:01 14 /tmp/trailing \n"
				      "5000-6000 r--p 00000000 08:01 15 /tmp/x(deleted)\n"
				      "6000-7000 r--p 00000000 08:01 16  (deleted)\n"
				      "7000-8000 rw-p 00000000 00:00 0 [anon:my name]\n");

	assert_int_equal(m->nr, 7);
	assert_string_equal(m->vmas[0].path, "/opt/my app/lib  two.so");
	assert_false(m->vmas[0].deleted);
	assert_string_equal(m->vmas[1].path, "/tmp/gone.so");
	assert_true(m->vmas[1].deleted);
	assert_string_equal(m->vmas[2].path, "/memfd:jit code");
	assert_true(m->vmas[2].deleted);
	assert_string_equal(m->vmas[3].path, "/tmp/trailing ");	 /* a name may end in a space */
	assert_string_equal(m->vmas[4].path, "/tmp/x(deleted)"); /* no space: part of the name */
	assert_false(m->vmas[4].deleted);
	assert_string_equal(m->vmas[5].path, "(deleted)");
	assert_false(m->vmas[5].deleted);
	assert_string_equal(m->vmas[6].path, "[anon:my name]");
	procmaps__free(m);
}

static void test_huge_numbers(void **state)
{
	struct procmaps *m = parse_ok("fffffffffffff000-ffffffffffffffff r-xp ffffffffffffffff "
				      "ffffffff:ffffffff 18446744073709551615 /x\n");

	assert_int_equal(m->nr, 1);
	assert_int_equal(m->vmas[0].start, 0xfffffffffffff000);
	assert_int_equal(m->vmas[0].end, UINT64_MAX);
	assert_int_equal(m->vmas[0].offset, UINT64_MAX);
	assert_int_equal(m->vmas[0].dev_major, UINT32_MAX);
	assert_int_equal(m->vmas[0].inode, UINT64_MAX);
	procmaps__free(m);
}

static void test_malformed_lines_are_skipped(void **state)
{
	static const char *bad[] = {
		"garbage",
		"1000-2000 r-xp",
		"1000-2000 r-xp 00000000 08:01",
		"1000-2000 r-xp 00000000 0801 5 /x",
		"1000-2000 rwxq 00000000 08:01 5 /x",
		"1000-2000 r-x 00000000 08:01 5 /x",
		"2000-1000 r-xp 00000000 08:01 5 /x",			 /* start > end */
		"1000-1000 r-xp 00000000 08:01 5 /x",			 /* empty */
		"10000000000000000-10000000000000001 r-xp 0 08:01 5 /x", /* 17 digits */
		"1000-2000 r-xp 00000000 08:01 18446744073709551616 /x", /* inode > 2^64-1 */
		"1000-2000 r-xp 00000000 100000000:01 5 /x",		 /* major > 2^32-1 */
		"1000-2000 r-xp 00000000 08:01 12x /x",
		"1000-2000 r-xp 0000g000 08:01 5 /x",
		"-2000 r-xp 00000000 08:01 5 /x",
		"1000-2000  r-xp 00000000 08:01 5 /x",
		" 1000-2000 r-xp 00000000 08:01 5 /x",
		"",
	};
	char text[4096];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct procmaps *m = (void *)1;

		/* alone, a bad line is not a maps file */
		if (procmaps__parse(bad[i], strlen(bad[i]), &m) == 0 && strlen(bad[i]))
			fail_msg("accepted '%s'", bad[i]);
		if (strlen(bad[i]))
			assert_null(m);
		procmaps__free(m == (void *)1 ? NULL : m);
		/* between good lines, it is skipped */
		snprintf(
			text, sizeof(text),
			"a000-b000 r-xp 00000000 08:01 1 /good1\n%s\nc000-d000 r-xp 00000000 08:01 2 "
			"/good2\n",
			bad[i]);
		m = parse_ok(text);
		assert_int_equal(m->nr, 2);
		assert_string_equal(m->vmas[0].path, "/good1");
		assert_string_equal(m->vmas[1].path, "/good2");
		procmaps__free(m);
	}
}

static void test_nul_byte_rejected(void **state)
{
	static const char text[] = "1000-2000 r-xp 00000000 08:01 5 /a\0b\n"
				   "3000-4000 r-xp 00000000 08:01 5 /c\n";
	struct procmaps *m;

	assert_int_equal(procmaps__parse(text, sizeof(text) - 1, &m), 0);
	assert_int_equal(m->nr, 1);
	assert_string_equal(m->vmas[0].path, "/c");
	procmaps__free(m);
}

static void test_no_trailing_newline_and_empty(void **state)
{
	static const char text[] = "1000-2000 r-xp 00000000 08:01 5 /last";
	struct procmaps *m = parse_ok(text);

	assert_int_equal(m->nr, 1);
	assert_string_equal(m->vmas[0].path, "/last");
	procmaps__free(m);
	/* not NUL-terminated: only len bytes are read */
	assert_int_equal(procmaps__parse(text, sizeof(text) - 3, &m), 0);
	assert_string_equal(m->vmas[0].path, "/la");
	procmaps__free(m);
	m = parse_ok(""); /* a kernel thread's maps */
	assert_int_equal(m->nr, 0);
	assert_null(procmaps__find(m, 0x1000));
	procmaps__free(m);
	procmaps__free(NULL);
}

static void test_sorted_and_disjoint(void **state)
{
	struct procmaps *m = parse_ok("5000-6000 r-xp 00000000 08:01 5 /c\n"
				      "1000-2000 r-xp 00000000 08:01 5 /a\n"
				      "3000-4000 r-xp 00000000 08:01 5 /b\n"
				      "3800-4800 r-xp 00000000 08:01 5 /overlap\n");

	assert_int_equal(m->nr, 3);
	assert_string_equal(m->vmas[0].path, "/a");
	assert_string_equal(m->vmas[1].path, "/b");
	assert_string_equal(m->vmas[2].path, "/c");
	procmaps__free(m);
}

static void test_find(void **state)
{
	struct procmaps *m = parse_ok("1000-2000 r-xp 00000000 08:01 5 /a\n"
				      "2000-3000 r-xp 00000000 08:01 5 /b\n"
				      "5000-6000 r-xp 00000000 08:01 5 /c\n");

	assert_null(procmaps__find(m, 0));
	assert_null(procmaps__find(m, 0xfff));
	assert_string_equal(procmaps__find(m, 0x1000)->path, "/a");
	assert_string_equal(procmaps__find(m, 0x1fff)->path, "/a");
	assert_string_equal(procmaps__find(m, 0x2000)->path, "/b");
	assert_null(procmaps__find(m, 0x3000));
	assert_null(procmaps__find(m, 0x4fff));
	assert_string_equal(procmaps__find(m, 0x5abc)->path, "/c");
	assert_null(procmaps__find(m, 0x6000));
	assert_null(procmaps__find(m, UINT64_MAX));
	assert_null(procmaps__find(NULL, 0x1000));
	procmaps__free(m);
}

static void test_line_cap(void **state)
{
	size_t n = (1u << 20) + 1;
	char *text = malloc(n);
	struct procmaps *m = (void *)1;

	assert_non_null(text);
	memset(text, '\n', n);
	assert_int_equal(procmaps__parse(text, n, &m), -E2BIG);
	assert_null(m);
	free(text);
}

__attribute__((noinline)) int drip_test_procmaps_marker(int x)
{
	return x + 7;
}

static void test_read_self(void **state)
{
	uint64_t addr = (uint64_t)(uintptr_t)&drip_test_procmaps_marker;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct procmaps *m;
	const struct vma *v;
	int x;

	assert_true(n > 0);
	exe[n] = '\0';
	assert_int_equal(procmaps__read(getpid(), &m), 0);
	assert_true(m->nr > 3);
	v = procmaps__find(m, addr);
	assert_non_null(v);
	assert_true(v->exec);
	assert_string_equal(v->path, exe);
	v = procmaps__find(m, (uint64_t)(uintptr_t)&x); /* a stack address */
	assert_non_null(v);
	assert_false(v->exec);
	procmaps__free(m);
}

static void test_read_missing_process(void **state)
{
	struct procmaps *m = (void *)1;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid); /* reaped: the pid is free */
	assert_int_equal(procmaps__read(pid, &m), -ENOENT);
	assert_null(m);
	assert_int_equal(procmaps__read(0, &m), -EINVAL);
	assert_int_equal(procmaps__read(-1, &m), -EINVAL);
}

/* A copy owns its paths: it outlives the original. */
static void test_copy_is_deep(void **state)
{
	static const char text[] =
		"55d0a0000000-55d0a0001000 r-xp 00001000 fd:01 1234 /usr/bin/pool worker\n"
		"7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n"
		"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n";
	struct procmaps *m = NULL, *c = NULL;

	(void)state;
	assert_int_equal(procmaps__parse(text, sizeof(text) - 1, &m), 0);
	assert_int_equal(procmaps__copy(m, &c), 0);
	procmaps__free(m);
	assert_int_equal(c->nr, 3);
	assert_string_equal(c->vmas[0].path, "/usr/bin/pool worker");
	assert_true(c->vmas[0].exec);
	assert_int_equal(c->vmas[0].offset, 0x1000);
	assert_int_equal(c->vmas[0].inode, 1234);
	assert_string_equal(c->vmas[1].path, "");
	assert_string_equal(c->vmas[2].path, "[stack]");
	procmaps__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_lines),
		cmocka_unit_test(test_paths_with_spaces_and_deleted),
		cmocka_unit_test(test_huge_numbers),
		cmocka_unit_test(test_copy_is_deep),
		cmocka_unit_test(test_malformed_lines_are_skipped),
		cmocka_unit_test(test_nul_byte_rejected),
		cmocka_unit_test(test_no_trailing_newline_and_empty),
		cmocka_unit_test(test_sorted_and_disjoint),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_line_cap),
		cmocka_unit_test(test_read_self),
		cmocka_unit_test(test_read_missing_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
