// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "drip/cgroup.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/*
 * The cgroup2 mount point whose tree holds real (an absolute, resolved path;
 * NULL: the first one, /sys/fs/cgroup or /sys/fs/cgroup/unified), or -ENOTSUP.
 */
static int mount_of(const char *real, char *mnt, size_t size)
{
	size_t best = 0;
	struct mntent *m;
	FILE *f;

	f = setmntent("/proc/self/mounts", "re");
	if (!f)
		return -errno;
	while ((m = getmntent(f))) {
		size_t n = strlen(m->mnt_dir);

		if (strcmp(m->mnt_type, "cgroup2") || n < best || n >= size)
			continue;
		if (real && (strncmp(real, m->mnt_dir, n) || (real[n] && real[n] != '/' && n > 1)))
			continue;
		memcpy(mnt, m->mnt_dir, n + 1);
		best = n;
		if (!real)
			break;
	}
	endmntent(f);
	return best ? 0 : -ENOTSUP;
}

int cgroup__open(const char *rel)
{
	char mnt[PATH_MAX], path[PATH_MAX];
	int err, fd;

	err = mount_of(NULL, mnt, sizeof(mnt));
	if (err)
		return err;
	if (snprintf(path, sizeof(path), "%s%s", strcmp(mnt, "/") ? mnt : "", rel) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int cgroup__resolve(const char *path, char *rel, size_t size)
{
	char real[PATH_MAX], mnt[PATH_MAX], joined[PATH_MAX];
	const char *p = path;
	struct statfs sfs;
	size_t n;
	int err;

	/* a path that exists must be a cgroup2 directory; else it is relative to the mount */
	if (strcmp(path, "/") && realpath(p, real)) {
		if (statfs(real, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC)
			return -ENOTSUP;
	} else {
		err = mount_of(NULL, mnt, sizeof(mnt));
		if (err)
			return err;
		if (snprintf(joined, sizeof(joined), "%s/%s", mnt, path) >= (int)sizeof(joined))
			return -ENAMETOOLONG;
		p = joined;
		if (!realpath(p, real))
			return -ENOENT;
		if (statfs(real, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC)
			return -ENOTSUP;
	}
	err = mount_of(real, mnt, sizeof(mnt));
	if (err)
		return err;
	n = strlen(mnt);
	if (n == 1)
		n = 0; /* mounted at / */
	if (snprintf(rel, size, "%s", real[n] ? real + n : "/") >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

int cgroup__of_pid(pid_t pid, char *rel, size_t size)
{
	char path[64], line[PATH_MAX + 8];
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\n");

		line[n] = 0;
		if (strncmp(line, "0::", 3))
			continue;
		err = snprintf(rel, size, "%s", line + 3) >= (int)size ? -ENAMETOOLONG : 0;
		break;
	}
	fclose(f);
	return err;
}

bool cgroup__within(const char *rel, const char *want)
{
	size_t n = strlen(want);

	if (!strcmp(want, "/"))
		return true;
	return !strncmp(rel, want, n) && (!rel[n] || rel[n] == '/');
}
