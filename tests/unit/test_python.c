// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * python: detection and code objects read from live interpreters (Debian's
 * python3.11 without DWARF, pyenv's with a shared libpython, 3.10 and 3.12
 * when installed), against what the interpreter itself says; and targets'
 * memory that lies.
 */
#include <errno.h>
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
#include "drip/python.h"

/* The child prints, per function: code address, qualname, file, first line, and a
 * (byte offset, line) pair: its last instruction's; then waits on stdin. */
static const char script[] =
	"import sys\n"
	"class K:\n"
	"    def m\xc3\xa9"
	"thode(self):\n"
	"        return 1\n"
	"def f(x):\n"
	"    y = x + 1\n"
	"    return y\n"
	"for co in (f.__code__, K.__dict__['m\xc3\xa9"
	"thode'].__code__, sys._getframe().f_code):\n"
	"    pos = list(co.co_positions()) if hasattr(co, 'co_positions') else None\n"
	"    off, line = 0, 0\n"
	"    for s, e, l in co.co_lines():\n"
	"        if l is not None and s != e: off, line = s, l\n"
	"    name = getattr(co, 'co_qualname', co.co_name)\n"
	"    print(id(co), name, co.co_filename, co.co_firstlineno, off, line, flush=True)\n"
	"print('ready', flush=True)\n"
	"sys.stdin.read()\n";

struct child {
	pid_t pid;
	FILE *out;
	int in;
};

static bool start(const char *python, struct child *c)
{
	int to[2], from[2];

	if (access(python, X_OK) || pipe(to) || pipe(from))
		return false;
	c->pid = fork();
	if (!c->pid) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[1]);
		close(from[0]);
		execl(python, python, "-c", script, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	c->in = to[1];
	c->out = fdopen(from[0], "r");
	return c->pid > 0 && c->out;
}

static void stop(struct child *c)
{
	close(c->in);
	fclose(c->out);
	waitpid(c->pid, NULL, 0);
}

static void check_interpreter(const char *python, uint32_t version)
{
	struct python *py = python__new(NULL, NULL);
	struct procmaps *m = NULL;
	struct drip_py_proc cfg;
	char line[4096];
	struct child c;
	int nr = 0;

	if (!start(python, &c)) {
		print_message("skipped: %s is not installed\n", python);
		python__free(py);
		return;
	}
	while (fgets(line, sizeof(line), c.out) && strncmp(line, "ready", 5)) {
		unsigned long long code;
		char name[256], file[1024];
		int first, off, want;
		struct python_frame fr;

		if (!nr) {
			assert_int_equal(procmaps__read(c.pid, &m), 0);
			assert_int_equal(python__detect(py, c.pid, m, &cfg), 1);
			assert_true(cfg.runtime != 0);
			assert_true(python__knows_version(version));
			/* 3.10's frames are heap objects: BPF reads them one by one */
			assert_int_equal(cfg.frame_stack, version >= 0x030b);
		}
		assert_int_equal(sscanf(line, "%llu %255s %1023s %d %d %d", &code, name, file,
					&first, &off, &want),
				 6);
		assert_int_equal(python__frame(py, c.pid, 0, code, off, &fr), 0);
		assert_non_null(fr.function);
		assert_string_equal(fr.function, name);
		assert_string_equal(fr.file, file);
		assert_int_equal(fr.line, want);
		/* not started yet: its first line */
		assert_int_equal(python__frame(py, c.pid, 0, code, -2, &fr), 0);
		assert_int_equal(fr.line, first);
		nr++;
	}
	assert_int_equal(nr, 3);
	/* a bogus code address: unknown, not a crash */
	{
		struct python_frame fr;

		assert_int_not_equal(python__frame(py, c.pid, 0, 8, 0, &fr), 0);
		assert_null(fr.function);
		assert_int_not_equal(python__frame(py, c.pid, 0, cfg.runtime, 0, &fr), 0);
	}
	stop(&c);
	procmaps__free(m);
	python__free(py);
}

static void test_debian_python311(void **state)
{
	check_interpreter("/usr/bin/python3.11", 0x030b);
}

static void test_pyenv_python311(void **state)
{
	check_interpreter("/root/.pyenv/versions/3.11.7/bin/python3.11", 0x030b);
}

static void test_pyenv_python310(void **state)
{
	check_interpreter("/root/.pyenv/versions/3.10.13/bin/python3.10", 0x030a);
}

static void test_pyenv_python312(void **state)
{
	check_interpreter("/root/.pyenv/versions/3.12.1/bin/python3.12", 0x030c);
}

static void test_not_python(void **state)
{
	struct python *py = python__new(NULL, NULL);
	struct procmaps *m = NULL;
	struct drip_py_proc cfg;

	assert_int_equal(procmaps__read(getpid(), &m), 0);
	assert_int_equal(python__detect(py, getpid(), m, &cfg), 0);
	procmaps__free(m);
	python__free(py);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debian_python311), cmocka_unit_test(test_pyenv_python311),
		cmocka_unit_test(test_pyenv_python310),	 cmocka_unit_test(test_pyenv_python312),
		cmocka_unit_test(test_not_python),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
