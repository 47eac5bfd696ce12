// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drip/holder.h"
#include "drip/log.h"

extern const char drip_holder_start[], drip_holder_end[];

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

pid_t holder__start(void)
{
	static char *const argv[] = { "drip-holder", NULL };
	static char *const envp[] = { NULL };
	static const int deaf[] = { SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU };
	pid_t self = getpid(), pid;
	int fd, err;

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
	/* vm.memfd_noexec may forbid exec unless asked; kernels before 6.3 reject the flag */
	fd = memfd_create("drip-holder", MFD_CLOEXEC | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("drip-holder", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = write_all(fd, drip_holder_start, (size_t)(drip_holder_end - drip_holder_start));
	if (err)
		goto out;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto out;
	}
	if (!pid) {
		/* die with drip, whatever kills it; the check closes the race with its death */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != self)
			_exit(0);
		/*
		 * Out of drip's process group and deaf to job-control and stop
		 * signals (SIG_IGN survives exec): a Ctrl-C at the terminal, or
		 * kill -INT -PGID, is for drip, which then reports.  A holder it
		 * killed mid-attach left every later probe failing with ESRCH.
		 */
		setpgid(0, 0);
		for (size_t i = 0; i < sizeof(deaf) / sizeof(deaf[0]); i++)
			signal(deaf[i], SIG_IGN);
		syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
		_exit(127);
	}
	close(fd);
	/* wait until the exec happened, so the events sit on the libc-free image */
	for (int i = 0; i < 4000; i++) {
		char link[64], target[64];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0 && errno != ENOENT)
			break;
		if (n > 0) {
			target[n] = 0;
			if (strstr(target, "memfd:drip-holder"))
				return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -ECHILD;
		usleep(250);
	}
	holder__stop(pid);
	return -ECHILD;
out:
	close(fd);
	return err;
}

void holder__stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}
