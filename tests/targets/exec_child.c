// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * exec_child: forks a child that execs PROGRAM (e.g. build/targets/allocators); drip must
 * trace the exec'ed image too. The child allocates nothing before exec. The parent leaks
 * 3 x 4096 bytes from parent_leak while the child runs, then waits for it (it must exit 0).
 *
 * usage: exec_child PROGRAM [ARGS...]
 * Writes nothing to stdout; truth goes to $DRIP_TRUTH (the exec'ed target appends its own).
 */
#include "target.h"

T_NOINLINE static void parent_leak(void)
{
	for (int i = 0; i < 3; i++) {
		void *p = malloc(4096);

		t_alloc(__func__, p, 4096);
	}
}

int main(int argc, char **argv)
{
	pid_t pid;

	t_init("exec_child");
	if (argc < 2) {
		t_say("usage: exec_child PROGRAM [ARGS...]\n");
		return 1;
	}
	pid = t_fork();
	if (!pid) {
		execv(argv[1], argv + 1);
		t_say("exec_child: cannot exec '%s': %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	parent_leak();
	t_reap(pid);
	t_done();
	return 0;
}
