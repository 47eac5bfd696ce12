// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drip/log.h"
#include "drip/tracefs.h"

static const char *root;
static char group[64];

static bool has_uprobe_events(const char *dir)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/uprobe_events", dir);
	return !access(path, W_OK);
}

int tracefs__init(void)
{
	static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (has_uprobe_events(dirs[i])) {
			root = dirs[i];
			return 0;
		}
	}
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) && errno != EBUSY) {
		int err = -errno;

		pr_debug("cannot mount tracefs at /sys/kernel/tracing: %s", strerror(-err));
		return err;
	}
	if (!has_uprobe_events("/sys/kernel/tracing"))
		return -ENOENT;
	root = "/sys/kernel/tracing";
	pr_info("mounted tracefs at %s", root);
	return 0;
}

const char *tracefs__root(void)
{
	return root;
}

uint64_t proc_start_ticks(int pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	ssize_t n;
	char *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* comm may contain anything, including ") ": skip to the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* after ')': state is field 3; starttime is field 22 */
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return 0;
	return start;
}

/* Our PID namespace: a pid means something only within it. */
static unsigned long long pidns_id(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) ? 0 : (unsigned long long)st.st_ino;
}

const char *tracefs__group(void)
{
	if (!group[0])
		snprintf(group, sizeof(group), "drip_%llu_%d_%" PRIu64, pidns_id(), getpid(),
			 proc_start_ticks(getpid()));
	return group;
}

static int append_line(const char *file, const char *line)
{
	char path[256];
	size_t len = strlen(line);
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", root, file);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, line, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	close(fd);
	return err;
}

int tracefs__probe_add(const char *event, const char *path, uint64_t off, bool ret)
{
	char line[4200];

	if (!root)
		return -ENOENT;
	/* the kernel splits arguments on whitespace: such paths cannot be probed by name */
	if (strpbrk(path, " \t\n"))
		return -EINVAL;
	if ((size_t)snprintf(line, sizeof(line), "%c:%s/%s %s:0x%" PRIx64 "\n", ret ? 'r' : 'p',
			     tracefs__group(), event, path, off) >= sizeof(line))
		return -ENAMETOOLONG;
	return append_line("uprobe_events", line);
}

static int del_event(const char *grp, const char *event)
{
	char line[320];

	snprintf(line, sizeof(line), "-:%s/%s\n", grp, event);
	return append_line("uprobe_events", line);
}

int tracefs__probe_del(const char *event)
{
	if (!root)
		return -ENOENT;
	return del_event(tracefs__group(), event);
}

int tracefs__event_id(const char *grp, const char *event)
{
	char path[512], buf[32];
	ssize_t n;
	int fd, id;

	snprintf(path, sizeof(path), "%s/events/%s/%s/id", root, grp, event);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	id = atoi(buf);
	return id > 0 ? id : -EINVAL;
}

/*
 * Is the drip that owns group "drip_<pidns>_<pid>_<start>" still running?
 * A drip in another PID namespace (a container) is not ours to judge: its
 * pid names another process here, and deleting its probes between their
 * definition and first use would break it.
 */
static bool group_owner_alive(const char *grp)
{
	unsigned long long ns, start;
	int pid;

	if (sscanf(grp, "drip_%llu_%d_%llu", &ns, &pid, &start) != 3 || ns != pidns_id())
		return true;
	return proc_start_ticks(pid) == start;
}

int tracefs__clean_stale(void)
{
	char path[256], line[4352];
	char(*stale)[2][128] = NULL;
	size_t nr = 0, cap = 0;
	int removed = 0;
	FILE *f;

	if (!root)
		return 0;
	snprintf(path, sizeof(path), "%s/uprobe_events", root);
	f = fopen(path, "re");
	if (!f)
		return 0;
	/* collect first: deleting while the kernel walks the list would skip lines */
	while (fgets(line, sizeof(line), f)) {
		char grp[128], ev[128];

		/* "p:drip_1_2/malloc_0 /path:0x..." */
		if (sscanf(line, "%*c:%127[^/]/%127s", grp, ev) != 2 || strncmp(grp, "drip_", 5))
			continue;
		if (!strcmp(grp, tracefs__group()) || group_owner_alive(grp))
			continue;
		if (nr == cap) {
			void *n = realloc(stale, (cap ? 2 * cap : 32) * sizeof(*stale));

			if (!n)
				break;
			stale = n;
			cap = cap ? 2 * cap : 32;
		}
		memcpy(stale[nr][0], grp, sizeof(grp));
		memcpy(stale[nr][1], ev, sizeof(ev));
		nr++;
	}
	fclose(f);
	for (size_t i = 0; i < nr; i++)
		if (!del_event(stale[i][0], stale[i][1]))
			removed++; /* -EBUSY: a perf event still holds it; leave it */
	free(stale);
	if (removed)
		pr_info("removed %d stale probe events of dead drips", removed);
	return removed;
}
