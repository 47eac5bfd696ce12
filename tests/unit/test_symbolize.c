// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "drip/elf.h"
#include "drip/procmaps.h"
#include "drip/symbolize.h"

#define MARKER "drip_test_sym_marker"

__attribute__((noinline)) int drip_test_sym_marker(int x)
{
	return x * 5 + 3;
}

static uint64_t marker_addr(void)
{
	return (uint64_t)(uintptr_t)&drip_test_sym_marker;
}

static char exe[PATH_MAX];
static uint64_t marker_off; /* file offset of the marker in exe */

static int setup(void **state)
{
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct procmaps *m;
	const struct vma *v;

	if (n <= 0 || procmaps__read(getpid(), &m))
		return -1;
	exe[n] = '\0';
	v = procmaps__find(m, marker_addr());
	if (!v)
		return -1;
	marker_off = marker_addr() - v->start + v->offset;
	procmaps__free(m);
	return 0;
}

static struct procmaps *self_maps(void)
{
	struct procmaps *m;

	assert_int_equal(procmaps__read(getpid(), &m), 0);
	return m;
}

static struct procmaps *fake_maps(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct procmaps *fake_maps(const char *fmt, ...)
{
	char text[8192];
	struct procmaps *m;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	assert_int_equal(procmaps__parse(text, n, &m), 0);
	return m;
}

static void expect_fn(const struct sym_info *si, const char *fn, uint64_t delta)
{
	if (!si->function || strcmp(si->function, fn))
		fail_msg("got %s, want %s", si->function ? si->function : "NULL", fn);
	assert_int_equal(si->function_delta, delta);
}

static void test_own_function(void **state)
{
	struct symbolizer *s = symbolizer__new();
	struct procmaps *m = self_maps();
	const uint8_t *id;
	struct elf_file *e;
	struct sym_info si;
	size_t id_len;

	assert_int_equal(elf_file__open("/proc/self/exe", &e), 0);
	id_len = elf_file__build_id(e, &id);
	for (int pid = 0; pid <= 1; pid++) {
		assert_int_equal(
			symbolizer__resolve(s, pid ? getpid() : 0, m, marker_addr() + 3, &si), 0);
		assert_string_equal(si.module, exe);
		assert_int_equal(si.file_offset, marker_off + 3);
		expect_fn(&si, MARKER, 3);
		assert_int_equal(si.build_id_len, id_len);
		if (id_len)
			assert_memory_equal(si.build_id, id, id_len);
	}
	elf_file__close(e);
	procmaps__free(m);
	symbolizer__free(s);
}

static void test_libc_functions(void **state)
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	struct symbolizer *s = symbolizer__new();
	struct procmaps *m = self_maps();
	uint64_t addr, off;
	struct elf_file *e;
	struct sym_info si;

	assert_non_null(libc);
	/* libc's own malloc, not an interposer's (valgrind, ASan) */
	addr = (uint64_t)(uintptr_t)dlsym(libc, "malloc");
	assert_int_equal(symbolizer__resolve(s, getpid(), m, addr, &si), 0);
	assert_non_null(si.module);
	assert_non_null(strstr(si.module, "libc.so"));
	expect_fn(&si, "malloc", 0); /* not __libc_malloc */
	assert_int_equal(elf_file__open(si.module, &e), 0);
	assert_int_equal(elf_file__func_offset(e, "malloc", &off), 0);
	assert_int_equal(si.file_offset, off);
	assert_non_null(si.build_id);
	elf_file__close(e);

	addr = (uint64_t)(uintptr_t)dlsym(libc, "getpid");
	assert_int_equal(symbolizer__resolve(s, getpid(), m, addr + 1, &si), 0);
	expect_fn(&si, "getpid", 1);
	procmaps__free(m);
	symbolizer__free(s);
	dlclose(libc);
}

static void test_strings_outlive_maps(void **state)
{
	struct symbolizer *s = symbolizer__new();
	struct procmaps *m = self_maps();
	struct sym_info a, b;

	assert_int_equal(symbolizer__resolve(s, getpid(), m, marker_addr(), &a), 0);
	procmaps__free(m);
	m = self_maps();
	assert_int_equal(symbolizer__resolve(s, getpid(), m, marker_addr(), &b), 0);
	procmaps__free(m);
	/* one interned module string, still readable after both snapshots are gone */
	assert_ptr_equal(a.module, b.module);
	assert_ptr_equal(a.function, b.function);
	assert_string_equal(a.module, exe);
	expect_fn(&a, MARKER, 0);
	symbolizer__free(s);
	symbolizer__free(NULL);
}

static void test_pseudo_and_anonymous(void **state)
{
	struct symbolizer *s = symbolizer__new();
	struct procmaps *m = fake_maps("1000-2000 r-xp 00000000 00:00 0 \n"
				       "2000-3000 rw-p 00000000 00:00 0 \n"
				       "3000-4000 r-xp 00000000 00:00 0 [vdso]\n"
				       "4000-5000 rw-p 00000000 00:00 0 [heap]\n"
				       "5000-6000 r-xp ffffffffffffffff 08:01 5 /forged\n"
				       "6000-7000 r-xp 00000000 08:01 5 /nonexistent/lib.so\n");
	struct sym_info si;

	assert_int_equal(symbolizer__resolve(s, 0, m, 0x1800, &si), 0);
	assert_string_equal(si.module, "[anon]");
	assert_null(si.function);
	assert_int_equal(si.file_offset, 0x800);
	assert_int_equal(symbolizer__resolve(s, 0, m, 0x2800, &si), 0);
	assert_null(si.module); /* anonymous data is no code */
	assert_int_equal(symbolizer__resolve(s, 0, m, 0x3010, &si), 0);
	assert_string_equal(si.module, "[vdso]");
	assert_null(si.function);
	assert_int_equal(symbolizer__resolve(s, 0, m, 0x4010, &si), 0);
	assert_string_equal(si.module, "[heap]");
	assert_int_equal(symbolizer__resolve(s, 0, m, 0x5800, &si), 0);
	assert_string_equal(si.module, "/forged");
	assert_int_equal(si.file_offset, 0);
	assert_null(si.function);
	for (int i = 0; i < 3; i++) { /* a failed open is cached, not an error */
		assert_int_equal(symbolizer__resolve(s, 0, m, 0x6800, &si), 0);
		assert_string_equal(si.module, "/nonexistent/lib.so");
		assert_null(si.function);
		assert_null(si.build_id);
	}
	assert_int_equal(symbolizer__resolve(s, 0, m, 0x8000, &si), 0);
	assert_null(si.module);
	assert_int_equal(symbolizer__resolve(s, 0, NULL, 0x1000, &si), 0);
	assert_null(si.module);
	procmaps__free(m);
	symbolizer__free(s);
}

static int copy_file(const char *from, int to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (in < 0)
		return -1;
	if (lseek(to, 0, SEEK_SET) || ftruncate(to, 0))
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(to, buf, n) != n)
			return -1;
	close(in);
	return n ? -1 : 0;
}

static void test_deleted_file_through_map_files(void **state)
{
	char path[] = "/tmp/drip-test-sym-XXXXXX";
	struct symbolizer *s = symbolizer__new();
	int fd = mkstemp(path);
	struct procmaps *m;
	const struct vma *v;
	struct sym_info si;
	struct stat st;
	void *p;

	assert_true(fd >= 0);
	assert_int_equal(copy_file(exe, fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(p != MAP_FAILED);
	close(fd);
	unlink(path); /* only the mapping knows the file now */
	m = self_maps();
	v = procmaps__find(m, (uintptr_t)p + marker_off);
	assert_non_null(v);
	assert_true(v->deleted);
	assert_string_equal(v->path, path);

	/* by name it cannot be found (a new file there would be another file) */
	assert_int_equal(symbolizer__resolve(s, 0, m, (uintptr_t)p + marker_off, &si), 0);
	assert_string_equal(si.module, path);
	assert_null(si.function);
	/* through /proc/self/map_files it can: the failure is retried for a pid */
	assert_int_equal(symbolizer__resolve(s, getpid(), m, (uintptr_t)p + marker_off, &si), 0);
	expect_fn(&si, MARKER, 0);
	procmaps__free(m);
	munmap(p, st.st_size);
	symbolizer__free(s);
}

static void test_failure_is_cached(void **state)
{
	char path[] = "/tmp/drip-test-sym-XXXXXX";
	struct symbolizer *s = symbolizer__new(), *s2 = symbolizer__new();
	int fd = mkstemp(path);
	struct procmaps *m;
	struct sym_info si;
	struct stat st;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not an ELF file\n", 16), 16);
	assert_int_equal(fstat(fd, &st), 0);
	m = fake_maps("100000-40000000 r-xp 00000000 08:01 %" PRIu64 " %s\n", (uint64_t)st.st_ino,
		      path);
	assert_int_equal(symbolizer__resolve(s, 0, m, 0x100000 + marker_off, &si), 0);
	assert_null(si.function);
	/* the same inode becomes a valid ELF file: the cached failure stands */
	assert_int_equal(copy_file(exe, fd), 0);
	assert_int_equal(symbolizer__resolve(s, 0, m, 0x100000 + marker_off, &si), 0);
	assert_null(si.function);
	/* a fresh symbolizer sees it */
	assert_int_equal(symbolizer__resolve(s2, 0, m, 0x100000 + marker_off, &si), 0);
	expect_fn(&si, MARKER, 0);
	close(fd);
	unlink(path);
	procmaps__free(m);
	symbolizer__free(s);
	symbolizer__free(s2);
}

static void test_path_fallback_checks_inode(void **state)
{
	struct symbolizer *s = symbolizer__new();
	struct procmaps *m;
	struct sym_info si;
	struct stat st;
	pid_t dead = fork();

	assert_true(dead >= 0);
	if (!dead)
		_exit(0);
	assert_int_equal(waitpid(dead, NULL, 0), dead);
	assert_int_equal(stat(exe, &st), 0);
	/* the process is gone: only the path is left, and it must be the same file */
	m = fake_maps("100000-40000000 r-xp 00000000 08:01 %" PRIu64 " %s\n"
		      "40000000-80000000 r-xp 00000000 08:01 %" PRIu64 " %s\n",
		      (uint64_t)st.st_ino + 1, exe, (uint64_t)st.st_ino, exe);
	assert_int_equal(symbolizer__resolve(s, dead, m, 0x100000 + marker_off, &si), 0);
	assert_null(si.function);
	assert_int_equal(symbolizer__resolve(s, dead, m, 0x40000000 + marker_off, &si), 0);
	expect_fn(&si, MARKER, 0);
	procmaps__free(m);
	symbolizer__free(s);
}

static bool have_openat2(void)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC };
	int fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));

	if (fd < 0)
		return errno != ENOSYS;
	close(fd);
	return true;
}

static void test_root_route_when_map_files_is_stale(void **state)
{
	struct symbolizer *s;
	struct procmaps *m;
	struct sym_info si;
	struct stat st;
	bool mapped;

	if (!have_openat2())
		skip(); /* valgrind, seccomp: no RESOLVE_IN_ROOT, no root route */
	m = self_maps();
	mapped = procmaps__find(m, 0x100000 + marker_off);
	procmaps__free(m);
	if (mapped)
		skip(); /* we do map it: map_files would answer */
	/*
	 * A live pid, a range it does not map (no map_files entry) and an inode
	 * the path does not have: only /proc/PID/root + path can resolve it, as
	 * the path route checks inodes.
	 */
	assert_int_equal(stat(exe, &st), 0);
	m = fake_maps("100000-40000000 r-xp 00000000 08:01 %" PRIu64 " %s\n",
		      (uint64_t)st.st_ino + 1, exe);
	s = symbolizer__new();
	assert_int_equal(symbolizer__resolve(s, getpid(), m, 0x100000 + marker_off, &si), 0);
	expect_fn(&si, MARKER, 0);
	procmaps__free(m);
	symbolizer__free(s);
}

static void test_fifo_does_not_block(void **state)
{
	char dir[] = "/tmp/drip-test-sym-XXXXXX", fifo[64];
	struct symbolizer *s = symbolizer__new();
	struct procmaps *m;
	struct sym_info si;

	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/lib.so", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	m = fake_maps("1000-2000 r-xp 00000000 08:01 5 %s\n", fifo);
	alarm(10);
	assert_int_equal(symbolizer__resolve(s, 0, m, 0x1800, &si), 0);
	assert_int_equal(symbolizer__resolve(s, getpid(), m, 0x1800, &si), 0);
	alarm(0);
	assert_null(si.function);
	unlink(fifo);
	rmdir(dir);
	procmaps__free(m);
	symbolizer__free(s);
}

static void test_many_stacks(void **state)
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	static const char *libc_fns[] = {
		"malloc", "free",  "calloc", "realloc", "puts",
		"printf", "qsort", "getpid", "fclose",	"fopen"
	}; /* no IFUNCs */
	uint64_t frames[16];
	struct symbolizer *s = symbolizer__new();
	struct procmaps *m = self_maps();
	struct timespec t0, t1;
	struct sym_info si;
	size_t resolved = 0;

	assert_non_null(libc);
	for (int i = 0; i < 10; i++)
		frames[i] = (uint64_t)(uintptr_t)dlsym(libc, libc_fns[i]) + 4;
	for (int i = 10; i < 16; i++)
		frames[i] = marker_addr() + i % 3; /* -O2 makes the marker a few bytes long */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int stack = 0; stack < 10000; stack++)
		for (int f = 0; f < 16; f++) {
			assert_int_equal(symbolizer__resolve(s, getpid(), m, frames[f], &si), 0);
			resolved += !!si.function;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(resolved, 10000 * 16);
	/* reported, never judged: timing does not decide pass or fail */
	print_message("10000 stacks x 16 frames: %.1f ms\n",
		      (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	procmaps__free(m);
	symbolizer__free(s);
	dlclose(libc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_function),
		cmocka_unit_test(test_libc_functions),
		cmocka_unit_test(test_strings_outlive_maps),
		cmocka_unit_test(test_pseudo_and_anonymous),
		cmocka_unit_test(test_deleted_file_through_map_files),
		cmocka_unit_test(test_failure_is_cached),
		cmocka_unit_test(test_path_fallback_checks_inode),
		cmocka_unit_test(test_root_route_when_map_files_is_stale),
		cmocka_unit_test(test_fifo_does_not_block),
		cmocka_unit_test(test_many_stacks),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
