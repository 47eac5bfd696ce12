// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * pid_reuse: 200 short-lived children, one after the other, that reuse each other's PID: after
 * reaping one, main writes the PID before its to /proc/sys/kernel/ns_last_pid (root) so the
 * next fork takes it again.  Child i leaks 1000 + i bytes from child_leak and frees a block
 * of its parent's (inherited).  Each child's truth says its index ("info": {"index": i}) and
 * main's says how many children got a PID an earlier child had ("reused").  Another process
 * forking at the same moment can take the PID: such a child simply has another one.
 */
#include "target.h"

#define NCHILDREN 200

static void *inherited[NCHILDREN];

T_NOINLINE static void child_leak(size_t size)
{
	void *p = malloc(size);

	t_alloc(__func__, p, size);
}

T_NOINLINE static void parent_blocks(void)
{
	for (int i = 0; i < NCHILDREN; i++) {
		inherited[i] = malloc(64);
		t_alloc(__func__, inherited[i], 64);
	}
}

static int set_last_pid(pid_t pid)
{
	char buf[32];
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC), n, ok;

	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "%d", (int)pid - 1);
	ok = write(fd, buf, n) == n;
	close(fd);
	return ok ? 0 : -1;
}

int main(void)
{
	pid_t last = 0, seen[NCHILDREN];
	int reused = 0;

	t_init("pid_reuse");
	parent_blocks();
	for (int i = 0; i < NCHILDREN; i++) {
		pid_t pid;

		if (last && set_last_pid(last))
			t_die("cannot write ns_last_pid: %s", strerror(errno));
		pid = fork();
		if (pid < 0)
			t_die("fork: %s", strerror(errno));
		if (!pid) {
			/* a fresh truth, as t_fork does; the parent's block is freed raw */
			memset(t_table, 0, sizeof(t_table));
			t_state.nblocks = 0;
			t_state.nfuncs = t_state.nchildren = t_state.ninfo = 0;
			free(inherited[i]);
			child_leak(1000 + i);
			t_info("index", i);
			t_done();
			_exit(0);
		}
		for (int k = 0; k < i; k++) {
			if (seen[k] == pid) {
				reused++;
				break;
			}
		}
		seen[i] = last = pid;
		if (t_state.nchildren < T_MAX_CHILDREN)
			t_child(pid);
		t_reap(pid);
	}
	t_info("reused", reused);
	t_done();
	return 0;
}
