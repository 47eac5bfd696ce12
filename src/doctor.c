// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * drip doctor: every kernel feature and permission drip relies on, one small
 * check each, run in table order (tracefs comes before the perf event that
 * needs its event ids).  Each prints one line:
 *   "ok   <what>[: detail]"  "warn <what>: <why> (fix: ...)"  "FAIL <what>: <why> (fix: ...)"
 * Only a required check can FAIL; the others warn.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "drip/doctor.h"
#include "drip/tracefs.h"

#define CAP_SYS_ADMIN	  21
#define CAP_SYS_RESOURCE  24
#define CAP_PERFMON	  38
#define CAP_BPF		  39
#define CAP(n)		  (1ULL << (n))
#define KVER(maj, min)	  ((maj) << 16 | (min))
#define MEMCG_KERNEL	  KVER(5, 11) /* BPF memory charged to the memory cgroup */
#define MIN_BPF_MEMORY	  (64ULL << 20)
#define MIN_NOFILE	  65536
#define PROC_PID_INIT_INO 0xeffffffcU /* inode of the initial PID namespace, fixed since 3.8 */
#define MIB(b)		  ((b) >> 20)
#define ROOT_CAPS_FIX \
	"in a container add --cap-add SYS_ADMIN, or --cap-add BPF --cap-add PERFMON; elsewhere keep root's capabilities"

enum verdict { CHECK_OK, CHECK_WARN, CHECK_FAIL };

struct result {
	char msg[640];
};

struct check {
	const char *what;
	enum verdict (*fn)(struct result *r);
	bool required;
};

static enum verdict __attribute__((format(printf, 3, 4)))
say(struct result *r, enum verdict v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return v;
}

/* The first line of a small file, without its newline.  0 or -errno. */
static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	int err = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, size, f))
		err = ferror(f) ? -EIO : -ENODATA;
	else
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
	return err;
}

/* KVER(major, minor) of a "6.1.0-13-amd64"-like release, or -EINVAL. */
static int parse_kver(const char *release)
{
	int maj, min;

	if (sscanf(release, "%d.%d", &maj, &min) != 2 || maj < 0 || min < 0 || min > 0xffff)
		return -EINVAL;
	return KVER(maj, min);
}

static int running_kver(void)
{
	struct utsname u;

	if (uname(&u))
		return -errno;
	return parse_kver(u.release);
}

/* Effective capabilities, from /proc/self/status (no libcap needed). */
static int cap_eff(uint64_t *caps)
{
	char line[256];
	int err = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/status", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "CapEff: %" SCNx64, caps) == 1) {
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

static enum verdict check_kernel(struct result *r)
{
	struct utsname u;
	int have, need = parse_kver(DRIP_MIN_KERNEL);

	if (uname(&u))
		return say(r, CHECK_FAIL, "uname: %s", strerror(errno));
	have = parse_kver(u.release);
	if (have < 0)
		return say(r, CHECK_FAIL, "cannot parse release '%s' (fix: drip needs Linux >= %s)",
			   u.release, DRIP_MIN_KERNEL);
	if (have < need)
		return say(
			r, CHECK_FAIL,
			"%s is older than %s (fix: upgrade the kernel; drip needs bpf_loop, BPF ring buffers and task storage)",
			u.release, DRIP_MIN_KERNEL);
	return say(r, CHECK_OK, "%s (>= %s)", u.release, DRIP_MIN_KERNEL);
}

/* The kernel lets CAP_SYS_ADMIN stand for CAP_BPF and CAP_PERFMON (bpf_capable(), perfmon_capable()). */
static bool bpf_capable(uint64_t caps)
{
	return caps & (CAP(CAP_BPF) | CAP(CAP_SYS_ADMIN));
}

static bool perfmon_capable(uint64_t caps)
{
	return caps & (CAP(CAP_PERFMON) | CAP(CAP_SYS_ADMIN));
}

static enum verdict check_privileges(struct result *r)
{
	const char *who = geteuid() ? "" : "root, ";
	uint64_t caps;
	int err;

	err = cap_eff(&caps);
	if (err)
		return say(r, CHECK_FAIL, "cannot read CapEff from /proc/self/status: %s",
			   strerror(-err));
	if (!bpf_capable(caps) || !perfmon_capable(caps))
		return say(r, CHECK_FAIL, "euid %u lacks%s%s (fix: %s)", (unsigned)geteuid(),
			   bpf_capable(caps) ? "" : " CAP_BPF",
			   perfmon_capable(caps) ? "" : " CAP_PERFMON",
			   geteuid() ? "run drip as root" : ROOT_CAPS_FIX);
	if (!(caps & CAP(CAP_SYS_ADMIN)))
		return say(
			r, CHECK_WARN,
			"%sCAP_BPF and CAP_PERFMON but no CAP_SYS_ADMIN: drip cannot mount tracefs when it is missing (fix: add CAP_SYS_ADMIN, or mount tracefs before drip runs)",
			who);
	return say(r, CHECK_OK, "%sCAP_SYS_ADMIN%s%s", who, caps & CAP(CAP_BPF) ? ", CAP_BPF" : "",
		   caps & CAP(CAP_PERFMON) ? ", CAP_PERFMON" : "");
}

static enum verdict check_btf(struct result *r)
{
	const char *path = "/sys/kernel/btf/vmlinux";

	if (access(path, R_OK))
		return say(r, CHECK_FAIL,
			   "%s: %s (fix: use a kernel built with CONFIG_DEBUG_INFO_BTF=y)", path,
			   strerror(errno));
	return say(r, CHECK_OK, "%s", path);
}

/*
 * libbpf's probes answer 1 (works), 0 (missing) or -errno, but only a
 * privileged load means anything: a helper probe whose load was refused for
 * want of CAP_BPF answers 1 ("assume supported").
 */
static bool may_probe(struct result *r)
{
	uint64_t caps;

	if (!cap_eff(&caps) && bpf_capable(caps) && perfmon_capable(caps))
		return true;
	say(r, CHECK_FAIL, "not tried without CAP_BPF and CAP_PERFMON (see privileges)");
	return false;
}

static enum verdict probe_result(struct result *r, int ret, const char *since)
{
	if (ret == 1)
		return CHECK_OK;
	if (ret == 0)
		return say(r, CHECK_FAIL, "not supported by this kernel (fix: Linux >= %s)", since);
	return say(r, CHECK_FAIL, "cannot probe: %s", strerror(-ret));
}

static enum verdict probe_map(struct result *r, enum bpf_map_type type, const char *since)
{
	if (!may_probe(r))
		return CHECK_FAIL;
	return probe_result(r, libbpf_probe_bpf_map_type(type, NULL), since);
}

/* In the program type of drip's uprobes. */
static enum verdict probe_helper(struct result *r, enum bpf_func_id id, const char *since)
{
	if (!may_probe(r))
		return CHECK_FAIL;
	return probe_result(r, libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, id, NULL), since);
}

static enum verdict check_ringbuf(struct result *r)
{
	return probe_map(r, BPF_MAP_TYPE_RINGBUF, "5.8");
}

static enum verdict check_task_storage(struct result *r)
{
	return probe_map(r, BPF_MAP_TYPE_TASK_STORAGE, "5.11");
}

static enum verdict check_task_storage_get(struct result *r)
{
	return probe_helper(r, BPF_FUNC_task_storage_get, "5.11");
}

static enum verdict check_loop(struct result *r)
{
	return probe_helper(r, BPF_FUNC_loop, "5.17");
}

static bool is_tracefs(const char *dir)
{
	struct statfs st;

	return !statfs(dir, &st) && st.f_type == TRACEFS_MAGIC;
}

/* tracefs__init() finds tracefs, or mounts it at /sys/kernel/tracing as drip does. */
static enum verdict check_tracefs(struct result *r)
{
	static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	bool mounted = is_tracefs(dirs[0]) || is_tracefs(dirs[1]);
	int err = tracefs__init();
	char path[64];

	if (!err && mounted)
		return say(r, CHECK_OK, "%s, uprobe_events writable", tracefs__root());
	if (!err)
		return say(r, CHECK_OK, "was not mounted: mounted it at %s (drip does so itself)",
			   tracefs__root());
	if (!mounted)
		return say(
			r, CHECK_FAIL,
			"not mounted, and mounting it at /sys/kernel/tracing failed: %s (fix: mount -t tracefs nodev /sys/kernel/tracing, or run drip as root)",
			strerror(-err));
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/uprobe_events", dirs[i]);
		if (!access(path, F_OK) || errno == EACCES)
			return say(r, CHECK_FAIL, "%s is not writable (fix: run drip as root)",
				   path);
	}
	return say(r, CHECK_FAIL,
		   "no uprobe_events (fix: use a kernel built with CONFIG_UPROBE_EVENTS=y)");
}

/* Open the kind of perf event drip hangs its BPF programs on, for this process. */
static enum verdict check_perf_tracepoint(struct result *r)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.sample_period = 1,
	};
	int id, fd;

	if (!tracefs__root())
		return say(r, CHECK_FAIL, "not tried: no usable tracefs (see above)");
	id = tracefs__event_id("sched", "sched_process_fork");
	if (id < 0)
		return say(
			r, CHECK_FAIL,
			"cannot read the id of sched/sched_process_fork: %s (fix: use a kernel built with CONFIG_FTRACE=y)",
			strerror(-id));
	attr.config = id;
	fd = syscall(__NR_perf_event_open, &attr, getpid(), -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return say(
			r, CHECK_FAIL,
			"perf_event_open(sched/sched_process_fork): %s (fix: run drip as root, or give it CAP_PERFMON)",
			strerror(errno));
	close(fd);
	return say(r, CHECK_OK, "sched/sched_process_fork opened");
}

/* Inherited events that stay with their task: see SWAP_GUARD in attach.c */
static enum verdict check_inherit_pinned(struct result *r)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.sample_period = 1,
		.sample_type = PERF_SAMPLE_READ | PERF_SAMPLE_TID,
		.inherit = 1,
	};
	int id, fd;

	if (!tracefs__root())
		return say(r, CHECK_WARN, "not tried: no usable tracefs (see above)");
	id = tracefs__event_id("sched", "sched_process_fork");
	if (id < 0)
		return say(r, CHECK_WARN, "not tried: no sched/sched_process_fork event");
	attr.config = id;
	fd = syscall(__NR_perf_event_open, &attr, getpid(), -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return say(
			r, CHECK_WARN,
			"inherited PERF_SAMPLE_READ events refused (%s): forked workers may stop being traced when a sibling exits (fix: Linux 6.12 or later)",
			strerror(errno));
	close(fd);
	return say(r, CHECK_OK, "inherited events stay with their task");
}

static enum verdict check_paranoid(struct result *r)
{
	uint64_t caps;
	char buf[32];
	int err = read_line("/proc/sys/kernel/perf_event_paranoid", buf, sizeof(buf));

	if (err)
		return say(r, CHECK_WARN, "cannot read: %s", strerror(-err));
	if (!cap_eff(&caps) && perfmon_capable(caps))
		return say(r, CHECK_OK, "%s (no limit for drip: it has CAP_PERFMON)", buf);
	if (atoi(buf) > -1)
		return say(
			r, CHECK_WARN,
			"%s: without CAP_PERFMON, tracepoint and uprobe events need -1 (fix: run drip as root, or sysctl kernel.perf_event_paranoid=-1)",
			buf);
	return say(r, CHECK_OK, "%s", buf);
}

static bool has_token(const char *list, const char *tok)
{
	size_t len = strlen(tok);

	for (const char *p = list; p; p = strchr(p, ',')) {
		p += *p == ',';
		if (!strncmp(p, tok, len) && (p[len] == ',' || !p[len]))
			return true;
	}
	return false;
}

/* Mount point of the cgroup v2 hierarchy (v2), or of the v1 one holding memory. */
static int cgroup_mount(bool v2, char *mnt, size_t size)
{
	char line[1024], point[512], type[32], opts[512];
	int err = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %*s %511s", point) != 1 ||
		    sscanf(dash + 3, "%31s %*s %511s", type, opts) != 2)
			continue;
		if (v2 ? strcmp(type, "cgroup2") :
			 strcmp(type, "cgroup") || !has_token(opts, "memory"))
			continue;
		if (strlen(point) < size) {
			strcpy(mnt, point);
			err = 0;
		}
		break;
	}
	fclose(f);
	return err;
}

/*
 * This process's memory cgroup: v1 when a v1 hierarchy holds the memory
 * controller, else v2.  Fills the mount point and the path below it.
 */
static int memcg_find(bool *v2, char *mnt, size_t mnt_size, char *path, size_t path_size)
{
	char line[1024];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *p;

		if (!ctl || !(p = strchr(++ctl, ':')))
			continue;
		*p++ = 0;
		p[strcspn(p, "\n")] = 0;
		if (has_token(ctl, "memory") || (!ctl[0] && !found)) {
			*v2 = !ctl[0];
			found = strlen(p) < path_size;
			if (found)
				strcpy(path, p);
			if (!*v2)
				break;
		}
	}
	fclose(f);
	if (!found)
		return -ENOENT;
	return cgroup_mount(*v2, mnt, mnt_size);
}

/* The lowest memory limit from the cgroup up to the hierarchy's root; UINT64_MAX: none. */
static int memcg_limit(const char *mnt, const char *path, bool v2, uint64_t *limit)
{
	char dir[PATH_MAX], file[PATH_MAX + 32], buf[64];
	size_t root_len = strlen(mnt);
	bool seen = false;

	if ((size_t)snprintf(dir, sizeof(dir), "%s%s", mnt, strcmp(path, "/") ? path : "") >=
	    sizeof(dir))
		return -ENAMETOOLONG;
	*limit = UINT64_MAX;
	for (;;) {
		snprintf(file, sizeof(file), "%s/%s", dir,
			 v2 ? "memory.max" : "memory.limit_in_bytes");
		if (!read_line(file, buf, sizeof(buf))) {
			/* v2 says "max"; v1 says a number near 2^63 */
			uint64_t v = strcmp(buf, "max") ? strtoull(buf, NULL, 10) : UINT64_MAX;

			if (v < *limit && v < 1ULL << 62)
				*limit = v;
			seen = true;
		}
		if (strlen(dir) <= root_len)
			break;
		*strrchr(dir, '/') = 0;
	}
	return seen ? 0 : -ENOENT;
}

static enum verdict check_bpf_memory(struct result *r)
{
	char mnt[512], path[512];
	struct rlimit rl;
	uint64_t limit, caps;
	bool v2 = false;
	int err;

	if (running_kver() < MEMCG_KERNEL) {
		if (getrlimit(RLIMIT_MEMLOCK, &rl))
			return say(r, CHECK_WARN, "getrlimit(RLIMIT_MEMLOCK): %s", strerror(errno));
		if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= MIN_BPF_MEMORY ||
		    (!cap_eff(&caps) && (caps & CAP(CAP_SYS_RESOURCE))))
			return say(r, CHECK_OK, "RLIMIT_MEMLOCK can be raised for BPF maps");
		return say(
			r, CHECK_WARN,
			"RLIMIT_MEMLOCK hard limit %llu MiB < %llu MiB: BPF maps may not fit (fix: ulimit -l unlimited)",
			(unsigned long long)MIB(rl.rlim_max), MIB(MIN_BPF_MEMORY));
	}
	err = memcg_find(&v2, mnt, sizeof(mnt), path, sizeof(path));
	if (!err)
		err = memcg_limit(mnt, path, v2, &limit);
	if (err)
		return say(r, CHECK_WARN,
			   "cannot tell the memory cgroup limit BPF maps are charged to: %s",
			   strerror(-err));
	if (limit == UINT64_MAX)
		return say(r, CHECK_OK, "memory cgroup %s (v%d): no limit", path, v2 ? 2 : 1);
	if (limit < MIN_BPF_MEMORY)
		return say(
			r, CHECK_WARN,
			"memory cgroup %s (v%d) is limited to %llu MiB < %llu MiB and BPF maps are charged to it (fix: raise its %s, e.g. docker run --memory=1g)",
			path, v2 ? 2 : 1, (unsigned long long)MIB(limit), MIB(MIN_BPF_MEMORY),
			v2 ? "memory.max" : "memory.limit_in_bytes");
	return say(r, CHECK_OK, "memory cgroup %s (v%d): limit %llu MiB", path, v2 ? 2 : 1,
		   (unsigned long long)MIB(limit));
}

static enum verdict check_nofile(struct result *r)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return say(r, CHECK_WARN, "getrlimit: %s", strerror(errno));
	if (rl.rlim_max == RLIM_INFINITY)
		return say(r, CHECK_OK, "no hard limit");
	if (rl.rlim_max < MIN_NOFILE)
		return say(
			r, CHECK_WARN,
			"hard limit %llu < %d: drip holds perf events per traced thread and may run out (fix: ulimit -Hn %d, or LimitNOFILE= for a service)",
			(unsigned long long)rl.rlim_max, MIN_NOFILE, MIN_NOFILE);
	return say(r, CHECK_OK, "hard limit %llu (drip raises the soft limit to it)",
		   (unsigned long long)rl.rlim_max);
}

/*
 * BPF reports PIDs of the initial PID namespace.  Its inode number is a
 * kernel constant, which tells more than the name of PID 1: a VM's PID 1 may
 * be anything, and /proc/1 may be unreadable.
 */
static enum verdict check_pid_ns(struct result *r)
{
	struct stat self, init;
	char comm[64] = "?", buf[32];
	ssize_t n;

	if (stat("/proc/self/ns/pid", &self)) {
		int err = errno;

		if (err == ENOENT && !access("/proc/self", F_OK))
			return say(r, CHECK_OK, "the kernel has no PID namespaces");
		return say(r, CHECK_WARN,
			   "cannot tell whether drip sees host PIDs: /proc/self/ns/pid: %s",
			   strerror(err));
	}
	if (self.st_ino == PROC_PID_INIT_INO)
		return say(r, CHECK_OK, "host PID namespace");
	read_line("/proc/1/comm", comm, sizeof(comm));
	/* /proc/1/ns may be closed to us; /proc/self names our PID as /proc's namespace sees it */
	n = readlink("/proc/self", buf, sizeof(buf) - 1);
	if (n > 0)
		buf[n] = 0;
	if ((n > 0 && atoi(buf) != getpid()) ||
	    (!stat("/proc/1/ns/pid", &init) && init.st_ino != self.st_ino))
		return say(
			r, CHECK_WARN,
			"inside a container, and /proc belongs to another PID namespace: process IDs will not match (fix: run with the host PID namespace and its /proc, e.g. docker run --pid=host)");
	return say(
		r, CHECK_WARN,
		"inside a container's PID namespace (PID 1 is '%s'): BPF reports host PIDs, which differ from the PIDs seen here (fix: run with the host PID namespace, e.g. docker run --pid=host)",
		comm);
}

static const struct check checks[] = {
	{ "kernel", check_kernel, true },
	{ "privileges", check_privileges, true },
	{ "BTF", check_btf, true },
	{ "BPF ring buffer map", check_ringbuf, true },
	{ "BPF task storage map", check_task_storage, true },
	{ "bpf_task_storage_get helper", check_task_storage_get, true },
	{ "bpf_loop helper", check_loop, true },
	{ "tracefs", check_tracefs, true },
	{ "perf tracepoint events", check_perf_tracepoint, true },
	{ "forked workers keep their probes", check_inherit_pinned, false },
	{ "kernel.perf_event_paranoid", check_paranoid, false },
	{ "BPF memory limit", check_bpf_memory, false },
	{ "RLIMIT_NOFILE", check_nofile, false },
	{ "PID namespace", check_pid_ns, false },
};

int doctor__run(FILE *out)
{
	static const char *const label[] = {
		[CHECK_OK] = "ok  ",
		[CHECK_WARN] = "warn",
		[CHECK_FAIL] = "FAIL",
	};
	int ret = 0;

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const struct check *c = &checks[i];
		struct result r = { "" };
		enum verdict v = c->fn(&r);

		if (v == CHECK_FAIL && !c->required)
			v = CHECK_WARN;
		if (v == CHECK_FAIL)
			ret = 3;
		fprintf(out, "%s %s%s%s\n", label[v], c->what, r.msg[0] ? ": " : "", r.msg);
	}
	return ret;
}
