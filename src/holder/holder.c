// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * drip's holder: a libc-free static program that only sleeps.  drip attaches
 * each BPF program to a perf event opened on this task; since it maps no
 * allocator library, that event installs no breakpoint anywhere.  drip sets
 * PR_SET_PDEATHSIG before exec, so the holder dies with drip (even SIGKILL).
 */
#define SYS_pause 34
#define SYS_exit  60

static long sys0(long nr)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
	return ret;
}

static long sys1(long nr, long a)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a) : "rcx", "r11", "memory");
	return ret;
}

void _start(void)
{
	for (;;)
		sys0(SYS_pause);
	sys1(SYS_exit, 0);
}
