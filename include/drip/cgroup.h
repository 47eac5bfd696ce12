/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* --cgroup: a cgroup v2 directory, and whether a process is in it (or below it). */
#ifndef DRIP_CGROUP_H
#define DRIP_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The cgroup v2 path of PATH (a directory of the cgroup2 mount, e.g.
 * /sys/fs/cgroup/system.slice/app.service, or that path relative to the
 * mount: /system.slice/app.service), into rel ("/system.slice/app.service").
 * -ENOENT: no such cgroup; -ENOTSUP: not a cgroup v2 directory (v1, or none).
 */
int cgroup__resolve(const char *path, char *rel, size_t size);
/* Open the directory of rel (from cgroup__resolve) read-only: an fd, or -errno. */
int cgroup__open(const char *rel);
/* The process's cgroup v2 path, from /proc/PID/cgroup ("0::/..."). 0 or -errno. */
int cgroup__of_pid(pid_t pid, char *rel, size_t size);
/* Is rel (a process's cgroup) the cgroup want or one below it? */
bool cgroup__within(const char *rel, const char *want);

#endif /* DRIP_CGROUP_H */
