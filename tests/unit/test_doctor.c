// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "drip/doctor.h"

#define NR_CHECKS 14

/* Run doctor__run into a string; returns its result. */
static int run(char **text)
{
	size_t len;
	FILE *f = open_memstream(text, &len);
	int ret;

	assert_non_null(f);
	ret = doctor__run(f);
	assert_int_equal(fclose(f), 0);
	return ret;
}

/* Every line reads "ok   ...", "warn ..." or "FAIL ..."; returns the number of lines. */
static int check_lines(const char *text)
{
	int n = 0;

	for (const char *p = text; *p; n++) {
		const char *nl = strchr(p, '\n');

		assert_non_null(nl);
		assert_true(!strncmp(p, "ok   ", 5) || !strncmp(p, "warn ", 5) ||
			    !strncmp(p, "FAIL ", 5));
		assert_true(nl - p > 5);
		p = nl + 1;
	}
	return n;
}

static bool has_line(const char *text, const char *start)
{
	size_t len = strlen(start);

	for (const char *p = text; p; p = strchr(p, '\n')) {
		p += *p == '\n';
		if (!strncmp(p, start, len))
			return true;
	}
	return false;
}

/* This machine (root, recent kernel) has everything drip needs. */
static void test_passes_here(void **state)
{
	static const char *const need[] = {
		"ok   kernel: ",
		"ok   privileges: ",
		"ok   BTF: ",
		"ok   BPF ring buffer map\n",
		"ok   BPF task storage map\n",
		"ok   bpf_task_storage_get helper\n",
		"ok   bpf_loop helper\n",
		"ok   tracefs: ",
		"ok   perf tracepoint events: ",
		"ok   forked workers keep their probes: ",
		"ok   kernel.perf_event_paranoid: ",
		"ok   PID namespace: ",
	};
	char *text = NULL;

	if (geteuid())
		skip();
	assert_int_equal(run(&text), 0);
	assert_int_equal(check_lines(text), NR_CHECKS);
	assert_null(strstr(text, "FAIL"));
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!has_line(text, need[i]))
			fail_msg("no line starting '%s' in:\n%s", need[i], text);
	}
	free(text);
}

/* As nobody, doctor says what is missing and returns 3. */
static void test_fails_unprivileged(void **state)
{
	int fds[2], status;
	char buf[8192];
	ssize_t n, len = 0;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		FILE *out = fdopen(fds[1], "w");

		close(fds[0]);
		if (!geteuid() && (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
				   setresuid(65534, 65534, 65534)))
			_exit(100);
		_exit(out ? doctor__run(out) + (fclose(out) ? 101 : 0) : 102);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fds[0]);
	buf[len] = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	assert_int_equal(check_lines(buf), NR_CHECKS);
	assert_true(has_line(buf, "FAIL privileges: euid "));
	assert_true(has_line(buf, "FAIL BPF ring buffer map: not tried"));
	assert_true(has_line(buf, "FAIL bpf_loop helper: not tried"));
	assert_true(has_line(buf, "ok   kernel: "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passes_here),
		cmocka_unit_test(test_fails_unprivileged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
