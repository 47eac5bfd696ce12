// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "drip/allocsyms.h"
#include "drip/attach.h"
#include "drip/elf.h"
#include "drip/holder.h"
#include "drip/log.h"
#include "drip/probeplace.h"
#include "drip/procmaps.h"
#include "drip/session.h"
#include "drip/tracefs.h"
#include "drip.skel.h"

#define MAX_FILES  16

#define PROG(name) offsetof(struct drip_bpf, progs.name)
#define NO_PROG	   ((size_t)-1)

/* The BPF programs of each enum alloc_kind: entry, return (offsetof(struct drip_bpf, progs.X)) */
static const size_t kind_progs[ALLOC__COUNT][2] = {
	[ALLOC_MALLOC] = { PROG(malloc_entry), PROG(malloc_return) },
	[ALLOC_CALLOC] = { PROG(calloc_entry), PROG(calloc_return) },
	[ALLOC_REALLOC] = { PROG(realloc_entry), PROG(realloc_return) },
	[ALLOC_REALLOC_KEEP] = { PROG(realloc_keep_entry), PROG(realloc_keep_return) },
	[ALLOC_REALLOCARRAY] = { PROG(reallocarray_entry), PROG(reallocarray_return) },
	[ALLOC_MEMALIGN] = { PROG(memalign_entry), PROG(memalign_return) },
	[ALLOC_ALIGNED_ALLOC] = { PROG(aligned_alloc_entry), PROG(aligned_alloc_return) },
	[ALLOC_POSIX_MEMALIGN] = { PROG(posix_memalign_entry), PROG(posix_memalign_return) },
	[ALLOC_VALLOC] = { PROG(valloc_entry), PROG(valloc_return) },
	[ALLOC_PVALLOC] = { PROG(pvalloc_entry), PROG(pvalloc_return) },
	[ALLOC_XALLOCX] = { PROG(xallocx_entry), PROG(xallocx_return) },
	[ALLOC_FREE] = { PROG(free_entry), NO_PROG },
};

#define MAX_EVENTS (MAX_FILES * 2 * ALLOCSYMS_MAX)

struct probe_event {
	char name[48];
	int id;
	int holder_fd; /* the BPF program hangs on it (PERF_EVENT_IOC_SET_BPF) */
};

struct alloc_file {
	dev_t dev;
	ino_t ino;
	unsigned flags; /* enum allocsyms_flags */
};

struct attach {
	struct session *s;
	bool inherit;
	bool swap_guard; /* SWAP_GUARD accepted so far */
	int high_fd;	 /* holder event fds go at or above this */
	pid_t holder;
	struct alloc_file files[MAX_FILES];
	size_t nr_files;
	struct probe_event events[MAX_EVENTS];
	size_t nr_events;
	/* watched threads, each with one fd per event */
	pid_t *tids;
	size_t nr_tids, cap_tids;
	int *fds; /* nr_tids * MAX_EVENTS slots, -1 when unused */
};

/*
 * Inherited per-thread events must keep perf from swapping contexts.  Between
 * two tasks whose contexts are clones (a parent and its forked child, or two
 * siblings) perf swaps the contexts on a context switch instead of scheduling
 * their events: each task then holds the other's events, whose hw.target
 * still names the first owner.  When the task holding them exits they are
 * freed, and trace_uprobe, finding no event left for the owner's mm, removes
 * the breakpoints from it: a worker still running silently stops being traced
 * because its sibling exited.  An inherited event sampling PERF_SAMPLE_READ
 * (Linux 6.12+, with PERF_SAMPLE_TID) makes the kernel switch such contexts
 * the slow way, events staying with their task.  The events never sample:
 * the programs hang on the holder and return 0.
 */
#define SWAP_GUARD (PERF_SAMPLE_READ | PERF_SAMPLE_TID)

static int perf_open(int id, pid_t tid, bool inherit, uint64_t sample_type)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = id,
		.sample_period = 1,
		.sample_type = sample_type,
		.inherit = inherit,
	};
	int fd;

	fd = syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int thread_perf_open(struct attach *a, int id, pid_t tid)
{
	int fd;

	if (!a->inherit)
		return perf_open(id, tid, false, 0);
	if (a->swap_guard) {
		fd = perf_open(id, tid, true, SWAP_GUARD);
		if (fd != -EINVAL)
			return fd;
		a->swap_guard = false;
		pr_warn("this kernel cannot pin inherited perf events to their task (Linux < 6.12): "
			"a forked worker may stop being traced when a sibling exits");
	}
	return perf_open(id, tid, true, 0);
}

/*
 * Move fd above every per-thread event fd.  When drip dies, the kernel closes
 * its files in fd order, and detaching a program takes ~0.1 s per probe on
 * 6.x kernels: with the per-thread events closed first, the targets' probes
 * go in microseconds and only then do the programs wait to be detached.
 */
static int move_high(struct attach *a, int fd)
{
	int hi;

	if (a->high_fd <= 0)
		return fd;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, a->high_fd);
	if (hi < 0)
		return fd; /* no room up there: keep it where it is */
	close(fd);
	return hi;
}

static void raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r))
		return;
	r.rlim_cur = r.rlim_max;
	if (r.rlim_max < 1 << 20) {
		struct rlimit want = { 1 << 20, 1 << 20 };

		if (!setrlimit(RLIMIT_NOFILE, &want))
			return;
	}
	setrlimit(RLIMIT_NOFILE, &r);
}

int attach__new(struct session *s, bool inherit, struct attach **out)
{
	struct attach *a;
	int err;

	err = tracefs__init();
	if (err) {
		pr_err("cannot use tracefs uprobe_events: %s", strerror(-err));
		pr_hint("mount it with 'mount -t tracefs nodev /sys/kernel/tracing'; the kernel needs CONFIG_UPROBE_EVENTS");
		return err;
	}
	tracefs__clean_stale();
	raise_nofile();
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	{
		struct rlimit r;

		/* the top MAX_EVENTS descriptors are the holder events' */
		if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur > 2 * MAX_EVENTS + 1024)
			a->high_fd =
				(int)(r.rlim_cur < INT_MAX ? r.rlim_cur : INT_MAX) - MAX_EVENTS - 1;
	}
	a->s = s;
	a->inherit = inherit;
	a->swap_guard = true;
	a->holder = holder__start();
	if (a->holder < 0) {
		err = a->holder;
		pr_err("cannot start the holder task: %s", strerror(-err));
		free(a);
		return err;
	}
	*out = a;
	return 0;
}

static void close_thread_fds(struct attach *a)
{
	for (size_t i = 0; i < a->nr_tids * MAX_EVENTS; i++)
		if (a->fds[i] >= 0)
			close(a->fds[i]);
	free(a->fds);
	free(a->tids);
	a->fds = NULL;
	a->tids = NULL;
	a->nr_tids = a->cap_tids = 0;
}

void attach__detach_targets(struct attach *a)
{
	if (a)
		close_thread_fds(a);
}

void attach__free(struct attach *a)
{
	if (!a)
		return;
	/* targets first: from here on they run untraced */
	close_thread_fds(a);
	/* ~0.1 s per link on 6.x kernels (the detach waits for a grace period) */
	for (size_t i = 0; i < a->nr_events; i++) {
		if (a->events[i].holder_fd >= 0)
			close(a->events[i].holder_fd);
	}
	holder__stop(a->holder);
	for (size_t i = 0; i < a->nr_events; i++) {
		int err = tracefs__probe_del(a->events[i].name);

		if (err)
			pr_debug("cannot remove probe '%s': %s", a->events[i].name, strerror(-err));
	}
	free(a);
}

/*
 * Detaching a program waits for an RCU-tasks grace period, one program at a
 * time under a kernel mutex (~0.1 s each on 6.x kernels; threads do not help):
 * with 20 probes drip lingered 2 s after its report.  The targets' events are
 * closed first, here, so nothing left costs a target; a detached grandchild
 * then closes the holder events and removes the probe group while drip exits.
 */
void attach__free_in_background(struct attach *a)
{
	int go[2];
	pid_t pid;

	if (!a)
		return;
	close_thread_fds(a);
	if (pipe2(go, O_CLOEXEC)) {
		attach__free(a);
		return;
	}
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		char c;

		close(go[1]);
		if (fork() != 0)
			_exit(0); /* the grandchild goes on, reparented */
		setsid();
		prctl(PR_SET_NAME, "drip-detach"); /* what it is, in ps */
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		/* wait for drip to drop its copies: the last close is the slow one */
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		attach__free(a);
		_exit(0);
	}
	close(go[0]);
	if (pid < 0) {
		close(go[1]);
		attach__free(a);
		return;
	}
	for (size_t i = 0; i < a->nr_events; i++)
		if (a->events[i].holder_fd >= 0)
			close(a->events[i].holder_fd);
	close(go[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	free(a);
}

static int thread_open_event(struct attach *a, size_t t, size_t e)
{
	int fd = thread_perf_open(a, a->events[e].id, a->tids[t]);

	if (fd < 0)
		return fd;
	a->fds[t * MAX_EVENTS + e] = fd;
	return 0;
}

/* Define one probe event, hang its BPF program on the holder. */
static int add_event(struct attach *a, const char *path, uint64_t off, size_t prog_off,
		     const char *sym, bool ret)
{
	struct probe_event *ev = &a->events[a->nr_events];
	struct bpf_program *prog = *(struct bpf_program **)((char *)session__skel(a->s) + prog_off);
	int err;

	if (a->nr_events >= MAX_EVENTS)
		return -E2BIG;
	/* unique and short enough for tracefs (64), still telling in a listing */
	snprintf(ev->name, sizeof(ev->name), "%.30s_%zu_%zu%s", sym, a->nr_files, a->nr_events,
		 ret ? "_ret" : "");
	ev->holder_fd = -1;
	err = tracefs__probe_add(ev->name, path, off, ret);
	if (err) {
		/* ENOENT: the process whose map_files named the file is gone (callers say so) */
		if (err == -ENOENT)
			pr_debug("cannot define probe %s at %s:0x%" PRIx64 ": %s", ev->name, path,
				 off, strerror(-err));
		else
			pr_err("cannot define probe %s at %s:0x%" PRIx64 ": %s", ev->name, path,
			       off, strerror(-err));
		return err;
	}
	a->nr_events++;
	ev->id = tracefs__event_id(tracefs__group(), ev->name);
	if (ev->id < 0)
		return ev->id;
	ev->holder_fd = perf_open(ev->id, a->holder, false, 0);
	if (ev->holder_fd < 0) {
		pr_err("cannot open perf event for %s: %s", ev->name, strerror(-ev->holder_fd));
		return ev->holder_fd;
	}
	if (ioctl(ev->holder_fd, PERF_EVENT_IOC_SET_BPF, bpf_program__fd(prog))) {
		err = -errno;
		pr_err("cannot attach BPF program to %s: %s", ev->name, strerror(-err));
		return err;
	}
	ev->holder_fd = move_high(a, ev->holder_fd);
	/* threads already watched must see the new probe too */
	for (size_t t = 0; t < a->nr_tids; t++)
		thread_open_event(a, t, a->nr_events - 1);
	return 0;
}

/* The executable segment a function's probes are checked against, read once per file. */
struct text_cache {
	uint8_t *buf;
	uint64_t off, len;
};

/*
 * Where a function's probes go, entry and return alike (see probeplace.h):
 * its first instruction the kernel emulates, when what comes before keeps
 * the arguments the entry program reads (free: rdi; the others: rdi, rsi,
 * rdx), sp and [sp], and no branch or symbol lands in between; else its entry.
 */
static uint64_t probe_offset(const struct elf_file *elf, struct text_cache *tc, uint64_t off,
			     bool release)
{
	uint32_t keep = release ? PP_RDI : PP_RDI | PP_RSI | PP_RDX;
	uint64_t seg_off, seg_len, delta;
	struct probe_window w;
	uint8_t code[64];
	size_t n = sizeof(code);

	if (elf_file__read_at(elf, off, code, n) && elf_file__read_at(elf, off, code, n = 16))
		return off;
	if (probeplace__window(code, n, keep, &w))
		return off;
	for (size_t i = 0; i < w.nr; i++)
		if (elf_file__func_at(elf, off + w.ends[i], &delta) && !delta)
			return off; /* another function starts inside: callers land there */
	if (!tc->buf || off < tc->off || off - tc->off >= tc->len) {
		free(tc->buf);
		tc->buf = NULL;
		if (elf_file__exec_range(elf, off, &seg_off, &seg_len))
			return off;
		tc->buf = malloc(seg_len);
		if (!tc->buf || elf_file__read_at(elf, seg_off, tc->buf, seg_len)) {
			free(tc->buf);
			tc->buf = NULL;
			return off;
		}
		tc->off = seg_off;
		tc->len = seg_len;
	}
	if (probeplace__branch_into(tc->buf, tc->len, off - tc->off, &w))
		return off;
	return off + w.site;
}

static const char *src_nth(void *ctx, size_t i)
{
	return elf_file__func_name(ctx, i);
}

static bool src_has(void *ctx, const char *name)
{
	uint64_t off;

	return !elf_file__func_offset(ctx, name, &off);
}

/* Probe each allocator function the file defines, once per address. */
static int probe_file(struct attach *a, const char *path, const struct stat *st)
{
	struct text_cache tc = { 0 };
	struct alloc_sym *syms = NULL;
	uint64_t *offs = NULL, at;
	struct elf_file *elf = NULL;
	struct allocsyms_src src;
	unsigned flags;
	size_t nr;
	int err, n = 0;

	err = elf_file__open(path, &elf);
	if (err)
		return err;
	syms = calloc(ALLOCSYMS_MAX, sizeof(*syms));
	offs = calloc(ALLOCSYMS_MAX, sizeof(*offs));
	if (!syms || !offs) {
		err = -ENOMEM;
		goto out;
	}
	src = (struct allocsyms_src){ elf_file__nr_funcs(elf), src_nth, src_has, elf };
	nr = allocsyms__plan(&src, syms, ALLOCSYMS_MAX, &flags);
	if (!nr) {
		err = -ENOENT; /* not an allocator (the C++ runtime's operators call malloc) */
		goto out;
	}
	if (a->nr_files >= MAX_FILES) {
		err = -E2BIG;
		goto out;
	}
	for (size_t i = 0; i < nr; i++) {
		const size_t *prog = kind_progs[syms[i].kind];
		bool dup = false;

		if (elf_file__func_offset(elf, syms[i].name, &offs[i])) {
			offs[i] = UINT64_MAX;
			continue;
		}
		for (size_t j = 0; j < i; j++)
			dup |= offs[j] == offs[i];
		if (dup)
			continue; /* an alias (tc_malloc = malloc, aligned_alloc = memalign) */
		/*
		 * The return probe first, here and (by event order) on every thread:
		 * an entry seen without its return armed would leave the thread
		 * looking "inside the allocator" until a later call cleans it up.
		 */
		at = probe_offset(elf, &tc, offs[i], prog[1] == NO_PROG);
		if (at != offs[i])
			pr_debug("%s: probes at %s+0x%" PRIx64 ", its first emulated instruction",
				 path, syms[i].name, at - offs[i]);
		err = prog[1] != NO_PROG ? add_event(a, path, at, prog[1], syms[i].name, true) : 0;
		if (!err)
			err = add_event(a, path, at, prog[0], syms[i].name, false);
		if (err)
			goto out;
		n++;
	}
	a->files[a->nr_files].dev = st->st_dev;
	a->files[a->nr_files].ino = st->st_ino;
	a->files[a->nr_files].flags = flags;
	a->nr_files++;
	pr_info("probing %d allocator functions in %s%s%s%s%s", n, path,
		flags & ALLOCSYMS_JEMALLOC ? " (jemalloc API)" : "",
		flags & ALLOCSYMS_TCMALLOC ? " (tcmalloc API)" : "",
		flags & ALLOCSYMS_CXX ? " (operator new/delete)" : "",
		flags & ALLOCSYMS_MUSL ? " (musl: realloc(p, 0) keeps a block)" : "");
out:
	free(tc.buf);
	free(syms);
	free(offs);
	elf_file__close(elf);
	return err;
}

static bool file_known(const struct attach *a, const struct stat *st)
{
	for (size_t i = 0; i < a->nr_files; i++)
		if (a->files[i].dev == st->st_dev && a->files[i].ino == st->st_ino)
			return true;
	return false;
}

unsigned attach__file_flags(const struct attach *a, const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return 0;
	for (size_t i = 0; i < a->nr_files; i++)
		if (a->files[i].dev == st.st_dev && a->files[i].ino == st.st_ino)
			return a->files[i].flags;
	return 0;
}

int attach__allocator_file(struct attach *a, const char *path)
{
	struct stat st;
	int err;

	if (stat(path, &st))
		return -errno;
	if (file_known(a, &st))
		return 0;
	err = probe_file(a, path, &st);
	return err ? err : 1;
}

int attach__allocators_of(struct attach *a, pid_t pid, size_t *newly)
{
	struct procmaps *maps = NULL;
	int err, first_err = 0;

	if (newly)
		*newly = 0;
	err = procmaps__read(pid, &maps);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	if (!maps->nr) {
		/* only a process that is exiting (or a zombie) maps nothing */
		procmaps__free(maps);
		return -ESRCH;
	}
	for (size_t i = 0; i < maps->nr; i++) {
		const struct vma *v = &maps->vmas[i];
		char path[96];
		struct stat st;

		if (!v->exec || !v->path[0] || v->path[0] == '[')
			continue;
		/* map_files reaches deleted, replaced and other-namespace files alike */
		snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid,
			 v->start, v->end);
		if (stat(path, &st) || file_known(a, &st))
			continue;
		err = probe_file(a, path, &st);
		if (!err && newly)
			(*newly)++;
		if (err && err != -ENOENT && err != -ENOEXEC) {
			pr_warn("cannot probe allocator in '%s': %s", v->path, strerror(-err));
			if (!first_err)
				first_err = err;
		}
	}
	procmaps__free(maps);
	/* -ENOENT only when there truly is no allocator; else say what failed */
	return a->nr_files ? (int)a->nr_files : first_err ? first_err : -ENOENT;
}

static bool tid_known(const struct attach *a, pid_t tid)
{
	for (size_t i = 0; i < a->nr_tids; i++)
		if (a->tids[i] == tid)
			return true;
	return false;
}

static int watch_thread(struct attach *a, pid_t tid)
{
	size_t t = a->nr_tids;
	int err = 0;

	if (t == a->cap_tids) {
		size_t cap = a->cap_tids ? 2 * a->cap_tids : 64;
		pid_t *tids = realloc(a->tids, cap * sizeof(*tids));
		int *fds;

		if (!tids)
			return -ENOMEM;
		a->tids = tids;
		fds = realloc(a->fds, cap * MAX_EVENTS * sizeof(*fds));
		if (!fds)
			return -ENOMEM;
		a->fds = fds;
		a->cap_tids = cap;
	}
	for (size_t e = 0; e < MAX_EVENTS; e++)
		a->fds[t * MAX_EVENTS + e] = -1;
	a->tids[t] = tid;
	a->nr_tids++;
	for (size_t e = 0; e < a->nr_events && !err; e++)
		err = thread_open_event(a, t, e);
	return err;
}

int attach__process(struct attach *a, pid_t pid)
{
	int added = 0, found;
	char path[64];

	/* a thread created before its creator was watched inherits nothing: rescan */
	do {
		struct dirent *de;
		DIR *d;

		found = 0;
		snprintf(path, sizeof(path), "/proc/%d/task", pid);
		d = opendir(path);
		if (!d)
			return added ? added : -ESRCH;
		while ((de = readdir(d))) {
			pid_t tid = atoi(de->d_name);
			int err;

			if (tid <= 0 || tid_known(a, tid))
				continue;
			err = watch_thread(a, tid);
			if (err == -ESRCH)
				continue; /* the thread exited meanwhile */
			if (err) {
				closedir(d);
				pr_err("cannot watch thread %d of %d: %s", tid, pid,
				       strerror(-err));
				if (err == -EMFILE)
					pr_hint("raise the open-file limit (ulimit -n)");
				return err;
			}
			found++;
		}
		closedir(d);
		added += found;
	} while (found);
	return added;
}

size_t attach__nr_threads(const struct attach *a)
{
	return a->nr_tids;
}

size_t attach__nr_files(const struct attach *a)
{
	return a->nr_files;
}
