// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * fork_after_start: forks before doing anything else, so the child exists moments after
 * exec; traced with `drip trace -- ...` the child must be traced from its first instruction.
 * The child leaks 6 x 12345 bytes from child_leak at once and exits; the parent waits for it,
 * then leaks 4000 bytes from parent_leak.
 * Writes nothing to stdout; each process appends its truth line to $DRIP_TRUTH.
 */
#include "target.h"

T_NOINLINE static void child_leak(void)
{
	for (int i = 0; i < 6; i++) {
		void *p = malloc(12345);

		t_alloc(__func__, p, 12345);
	}
}

T_NOINLINE static void parent_leak(void)
{
	void *p = malloc(4000);

	t_alloc(__func__, p, 4000);
}

int main(void)
{
	pid_t pid = fork(); /* first thing: nothing before it */

	if (pid < 0)
		return 1;
	t_init("fork_after_start");
	if (!pid) {
		child_leak();
		t_done();
		_exit(0);
	}
	t_child(pid);
	t_reap(pid);
	parent_leak();
	t_done();
	return 0;
}
