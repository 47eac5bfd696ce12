// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * vfork_exec: children that share their parent's address space until they exec.  main
 * allocates parent_keep blocks, then starts one child with vfork + execv and one with
 * posix_spawn (glibc: clone(CLONE_VM | CLONE_VFORK)); both run this binary again as
 * "vfork_exec child N", which leaks (N + 1) * 5000 bytes from child_leak.  main then frees
 * half of its blocks: the children's execs must not have released any of them, and the
 * frees must balance.  Each process appends its truth line to $DRIP_TRUTH.
 */
#include <spawn.h>

#include "target.h"

extern char **environ;

static void *keep[20];

T_NOINLINE static void parent_keep(void)
{
	for (int i = 0; i < 20; i++) {
		keep[i] = malloc(700);
		t_alloc(__func__, keep[i], 700);
	}
}

T_NOINLINE static void child_leak(size_t size)
{
	void *p = malloc(size);

	t_alloc(__func__, p, size);
}

int main(int argc, char **argv)
{
	char *args[] = { "vfork_exec", "child", "0", NULL };
	pid_t a, b;

	if (argc == 3 && !strcmp(argv[1], "child")) {
		t_init("vfork_exec-child");
		child_leak((size_t)(atoi(argv[2]) + 1) * 5000);
		t_done();
		return 0;
	}
	t_init("vfork_exec");
	parent_keep();
	a = vfork();
	if (a < 0)
		t_die("vfork: %s", strerror(errno));
	if (!a) {
		execv("/proc/self/exe", args); /* nothing else may run in a vfork child */
		_exit(127);
	}
	t_child(a);
	args[2] = "1";
	if (posix_spawn(&b, "/proc/self/exe", NULL, NULL, args, environ))
		t_die("posix_spawn failed");
	t_child(b);
	t_reap(a);
	t_reap(b);
	for (int i = 0; i < 10; i++)
		t_free(keep[i]);
	t_done();
	return 0;
}
