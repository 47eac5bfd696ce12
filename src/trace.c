// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <dirent.h>
#include <limits.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drip/allocsyms.h"
#include "drip/attach.h"
#include "drip/cgroup.h"
#include "drip/collector.h"
#include "drip/elf.h"
#include "drip/formats.h"
#include "drip/log.h"
#include "drip/needed.h"
#include "drip/procmaps.h"
#include "drip/python.h"
#include "drip/report.h"
#include "drip/session.h"
#include "drip/trace.h"
#include "drip/unwinder.h"

static volatile sig_atomic_t stop_requests;
static volatile sig_atomic_t stop_from_tty; /* the first stop was the terminal's Ctrl-C */
static struct rlimit saved_nofile;	    /* before attach raised it: the command gets this one */

/* First Ctrl-C: stop (with --grace); second: report at once; third: die. */
static void on_stop_signal(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	if (!stop_requests)
		stop_from_tty = sig == SIGINT && info && info->si_code == SI_KERNEL;
	if (++stop_requests >= 2)
		signal(sig, SIG_DFL);
}

/*
 * At an interactive shell the command shares drip's process group, so that it
 * stays in the terminal's foreground and can read it (in a group of its own
 * it would stop on SIGTTIN); Ctrl-C then reaches both.  Elsewhere it gets a
 * group of its own, which drip signals as a whole.
 */
static bool in_tty_foreground(void)
{
	return isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct tracer {
	const struct trace_opts *o;
	struct session *s;
	struct attach *a;
	struct unwinder *u; /* NULL: frame pointers only */
	struct collector *c;
	struct python *py;     /* NULL: no stacks, so no Python frames */
	pid_t child;	       /* -- COMMAND, or 0 */
	bool child_shares_tty; /* in drip's process group, the terminal's foreground */
	int cgroup_fd;	       /* --cgroup's directory, or -1 */
	int child_status;      /* once reaped */
	bool child_reaped;
	uint64_t t_start;
	uint64_t records; /* ring-buffer records consumed */
	/* the image being probed (EXEC): its link-map order, for gaps and the binder */
	pid_t exec_tgid;
	char (*order)[PATH_MAX];
	size_t nr_order;
};

#define MAX_ORDER 64

static int attach_all(struct tracer *t);
static void preload_file(const char *path, void *ctx);

/* Does pid map the file at path (now)? */
static bool maps_file(pid_t pid, const char *path)
{
	struct procmaps *m = NULL;
	struct stat st;
	bool found = false;

	if (stat(path, &st) || procmaps__read(pid, &m))
		return false;
	for (size_t i = 0; i < m->nr && !found; i++)
		found = m->vmas[i].inode == st.st_ino && m->vmas[i].dev_major == major(st.st_dev) &&
			m->vmas[i].dev_minor == minor(st.st_dev);
	procmaps__free(m);
	return found;
}

/* Append a file to the link-map order once (the closure repeats the executable). */
/* An allocator library newly probed: its own mmaps are its heap (collector.c). */
static void note_allocator(struct tracer *t, const char *path)
{
	struct elf_file *elf = NULL;
	const uint8_t *id;
	size_t len;
	uint64_t off;

	if (elf_file__open(path, &elf))
		return;
	/* a shared library other than the libc (whose mmap wrapper is everyone's) */
	len = elf_file__build_id(elf, &id);
	if (elf_file__is_dyn(elf) && !elf_file__has_interp(elf) &&
	    elf_file__func_offset(elf, "__libc_start_main", &off))
		collector__add_allocator_lib(t->c, id, len);
	elf_file__close(elf);
}

static void order_add(struct tracer *t, const char *path)
{
	char real[PATH_MAX];

	if (!t->order || t->nr_order >= MAX_ORDER)
		return;
	if (!realpath(path, real))
		snprintf(real, sizeof(real), "%s", path);
	for (size_t i = 0; i < t->nr_order; i++)
		if (!strcmp(t->order[i], real))
			return;
	memcpy(t->order[t->nr_order++], real, PATH_MAX);
}

static void preload_entry(const char *name, void *ctx)
{
	struct tracer *t = ctx;
	char path[PATH_MAX];

	if (needed__resolve(name, path))
		return;
	order_add(t, path);
	preload_file(path, t);
}

/* Say which copy of malloc and operator new the image binds (-v): the first in link-map order. */
static void say_binder(struct tracer *t, pid_t pid)
{
	unsigned flags[MAX_ORDER];
	int c, x;

	for (size_t i = 0; i < t->nr_order; i++)
		flags[i] = attach__file_flags(t->a, t->order[i]);
	c = allocsyms__binder(flags, t->nr_order, ALLOCSYMS_C);
	x = allocsyms__binder(flags, t->nr_order, ALLOCSYMS_CXX | ALLOCSYMS_CXX_RUNTIME);
	if (c >= 0)
		pr_info("PID %d binds malloc in '%s'%s%s", pid, t->order[c],
			x >= 0 && x != c ? ", operator new in " : "",
			x >= 0 && x != c ? t->order[x] : "");
}

/*
 * A new image: build the tables of the program and its libraries now, while
 * the loader is still starting it, and probe the allocators it brings (a
 * static binary, LD_PRELOAD, jemalloc, another libc) in link-map order: the
 * executable, LD_PRELOAD, the DT_NEEDED closure.  An allocator probed only
 * after the image mapped it is an attach gap.
 */
static void probe_image(struct tracer *t, pid_t tgid, const uint8_t *filename, size_t len)
{
	char exe[64], path[PATH_MAX], env_path[64], *env = NULL;
	size_t newly = 0, env_len = 0;
	FILE *f;

	snprintf(exe, sizeof(exe), "/proc/%u/exe", tgid);
	memcpy(path, filename, len < sizeof(path) - 1 ? len : sizeof(path) - 1);
	path[len < sizeof(path) - 1 ? len : sizeof(path) - 1] = 0;
	snprintf(env_path, sizeof(env_path), "/proc/%u/environ", tgid);
	f = fopen(env_path, "re");
	if (f) {
		env = malloc(1 << 20);
		env_len = env ? fread(env, 1, 1 << 20, f) : 0;
		fclose(f);
	}
	t->exec_tgid = tgid;
	t->order = calloc(MAX_ORDER, sizeof(*t->order));
	t->nr_order = 0;
	/* the image itself while it lives; else the path execve was given */
	order_add(t, !access(exe, F_OK) ? exe : path);
	if (env)
		allocsyms__preload(env, env_len, preload_entry, t);
	if (!access(exe, F_OK))
		needed__closure(exe, 256, preload_file, t);
	else if (path[0])
		needed__closure(path, 256, preload_file, t);
	attach__allocators_of(t->a, tgid, &newly);
	for (size_t i = 0; i < newly; i++)
		collector__on_attach_gap(t->c, tgid);
	say_binder(t, tgid);
	free(t->order);
	t->order = NULL;
	t->exec_tgid = 0;
	free(env);
}

static int on_event(void *ctx, const void *data, size_t size)
{
	struct tracer *t = ctx;
	int type = collector__on_event(t->c, data, size);

	t->records++;
	/*
	 * A new image: build the tables of the program and its libraries now,
	 * while the loader is still starting it, and probe what allocator it
	 * brings (a static binary, another libc, jemalloc).
	 */
	if (type == DRIP_EV_EXEC && t->a) {
		const struct drip_ev_proc *e = data;

		probe_image(t, e->hdr.tgid, e->filename, sizeof(e->filename));
	}
	if (type == DRIP_EV_NEED_FILE) {
		const struct drip_ev_need_file *n = data;
		char path[96];

		if (t->u)
			unwinder__need_file(t->u, n->hdr.tgid, n->dev, n->ino, n->start, n->end);
		/* a library mapped executable: an allocator arriving by dlopen is probed now */
		snprintf(path, sizeof(path), "/proc/%u/map_files/%llx-%llx", n->hdr.tgid,
			 (unsigned long long)n->start, (unsigned long long)n->end);
		if (t->a && attach__allocator_file(t->a, path) > 0) {
			note_allocator(t, path);
			/* mapped before its probes existed: calls made meanwhile were missed */
			collector__on_attach_gap(t->c, n->hdr.tgid);
			pr_info("PID %u mapped allocator '%s' before drip probed it (attach gap)",
				n->hdr.tgid, path);
			attach_all(t);
		}
	}
	return 0;
}

static void on_new_maps(void *ctx, pid_t pid, const struct procmaps *maps)
{
	struct tracer *t = ctx;
	struct drip_py_proc py;
	int err;

	if (t->u)
		unwinder__learn_maps(t->u, pid, maps);
	if (!t->py)
		return;
	/* a CPython process: BPF walks its frames from now on */
	err = python__detect(t->py, pid, maps, &py);
	if (err > 0) {
		err = session__set_python(t->s, pid, &py);
		if (err)
			pr_warn("cannot walk Python frames of process %d: %s", pid, strerror(-err));
	} else if (!err) {
		session__set_python(t->s, pid, NULL);
	}
}

static const char *file_of(void *ctx, uint64_t dev, uint64_t ino, const struct elf_file **elf)
{
	struct tracer *t = ctx;

	return unwinder__file(t->u, dev, ino, elf);
}

/*
 * Build the tables targets will need before they run: the allocator's
 * library (drip's own libc is the usual one) and the loader, so the first
 * stacks of a new process already unwind.
 */
static void preload_tables(struct tracer *t)
{
	struct procmaps *m = NULL;

	if (procmaps__read(getpid(), &m))
		return;
	for (size_t i = 0; i < m->nr; i++) {
		const struct vma *v = &m->vmas[i];

		if (v->exec && (strstr(v->path, "/libc.so") || strstr(v->path, "/ld-linux")))
			unwinder__preload(t->u, v->path);
	}
	procmaps__free(m);
}

/*
 * The command and the libraries it will load: their tables exist and their
 * allocators (jemalloc, tcmalloc, another libc) are probed before it runs.
 */
static void preload_file(const char *path, void *ctx)
{
	struct tracer *t = ctx;

	if (t->u)
		unwinder__preload(t->u, path);
	order_add(t, path); /* the closure, after the executable and LD_PRELOAD */
	if (attach__allocator_file(t->a, path) <= 0)
		return;
	note_allocator(t, path);
	/* probed after the image mapped it: calls in between were missed */
	if (t->exec_tgid && maps_file(t->exec_tgid, path)) {
		collector__on_attach_gap(t->c, t->exec_tgid);
		pr_info("PID %d mapped allocator '%s' before drip probed it (attach gap)",
			t->exec_tgid, path);
	}
}

static void on_late_free(void *ctx, uint32_t tgid, uint64_t addr, uint64_t ts)
{
	struct tracer *t = ctx;

	collector__on_late_free(t->c, tgid, addr, ts);
}

static bool is_kernel_thread(pid_t pid)
{
	char path[64], buf[16];

	/* kernel threads have no executable image */
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	return readlink(path, buf, sizeof(buf)) < 0 && errno == ENOENT;
}

static int check_pid(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (pid <= 0 || access(path, F_OK)) {
		pr_err("cannot trace PID %d: no such process", pid);
		return EXIT_TARGET;
	}
	if (is_kernel_thread(pid)) {
		pr_err("cannot trace PID %d: it is a kernel thread (no user-space allocator)", pid);
		return EXIT_TARGET;
	}
	return EXIT_OK;
}

/* Add pid's existing descendants (walking task/<tid>/children) to the target set. */
static void add_descendants(struct tracer *t, pid_t pid, int depth)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	if (depth > 64)
		return;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char cpath[320];
		FILE *f;
		int child;

		if (de->d_name[0] == '.')
			continue;
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%s/children", pid, de->d_name);
		f = fopen(cpath, "re");
		if (!f)
			continue;
		while (fscanf(f, "%d", &child) == 1) {
			if (collector__live(t->c, child))
				continue;
			session__add_target(t->s, child);
			collector__add_process(t->c, child);
			add_descendants(t, child, depth + 1);
		}
		fclose(f);
	}
	closedir(d);
}

/*
 * Watch every thread of every target until a pass finds nothing new: a child
 * forked by a thread that was not watched yet inherited no event.
 */
static int attach_all(struct tracer *t)
{
	int rounds = 0, added;

	do {
		pid_t *pids = NULL;
		size_t n = 0;
		int err;

		added = 0;
		err = session__targets(t->s, &pids, &n);
		if (err)
			return err;
		for (size_t i = 0; i < n; i++) {
			int r;

			if (t->o->follow_children)
				add_descendants(t, pids[i], 0);
			r = attach__process(t->a, pids[i]);
			if (r > 0)
				added += r;
			else if (r < 0 && r != -ESRCH) {
				free(pids);
				return r;
			}
		}
		free(pids);
	} while (added && ++rounds < 100);
	return 0;
}

/* Resolve COMMAND like execvp does, to check it and to probe a static binary. */
static char *find_command(const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (strchr(cmd, '/'))
		return strdup(cmd);
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, len ? path : ".", cmd);
		if (!access(buf, X_OK))
			return strdup(buf);
		path += len + (path[len] == ':');
	}
	return NULL;
}

/* Fork COMMAND stopped on a pipe; it execs when start_child() releases it. */
static int spawn_child(struct tracer *t, int *go_fd, int *err_fd)
{
	int go[2], res[2];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) || pipe2(res, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		char c;
		int e;

		if (!t->child_shares_tty)
			setpgid(0, 0);
		/* the command starts as it would without drip */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		setrlimit(RLIMIT_NOFILE, &saved_nofile);
		close(go[1]);
		close(res[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(127); /* drip gave up */
		execvp(t->o->argv[0], t->o->argv);
		e = errno;
		if (write(res[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	if (!t->child_shares_tty)
		setpgid(pid, pid);
	close(go[0]);
	close(res[1]);
	t->child = pid;
	*go_fd = go[1];
	*err_fd = res[0];
	return 0;
}

/* DWARF's files, lines and inlined calls for the stacks the format prints, and no others */
static int add_sources(struct collector *c, struct report *r, const struct report_format *fmt,
		       const struct format_opts *fo)
{
	bool *shown = calloc(r->nr_stacks ? r->nr_stacks : 1, sizeof(*shown));
	int err = shown ? fmt->shown(r, fo, shown) : -ENOMEM;

	if (!err)
		err = collector__report_sources(c, r, shown);
	free(shown);
	return err;
}

static int write_report(struct tracer *t, bool final)
{
	const struct trace_opts *o = t->o;
	uint64_t drops[DRIP_STAT__COUNT] = { 0 };
	struct snapshot_opts so = {
		.now_ns = now_ns(),
		.min_age_ns = (uint64_t)(o->min_age_s * 1e9),
		.bpf_drops = drops,
	};
	struct format_opts fo = {
		.top = o->top, .verbose = o->verbose, .weight = o->weight, .per_pid = o->per_pid
	};
	struct report *r = NULL;
	FILE *f = stdout;
	int err;

	so.duration_s = (so.now_ns - t->t_start) / 1e9;
	so.names_only = o->format->shown != NULL;
	session__stats(t->s, drops);
	err = collector__report(t->c, &so, &r);
	if (!err && so.names_only)
		err = add_sources(t->c, r, o->format, &fo);
	if (err) {
		pr_err("cannot build report: %s", strerror(-err));
		collector__report_free(r);
		return err;
	}
	if (final) {
		struct symbolizer_stats ss;

		collector__symbol_stats(t->c, &ss);
		pr_info("symbols: %zu modules, DWARF for %zu (%zu KiB held), none for %zu; "
			"%zu source lookups, %zu addresses; report built in %.3f s",
			ss.modules, ss.debug_files, ss.debug_bytes >> 10, ss.debug_missing,
			ss.source_calls, ss.addresses, (now_ns() - so.now_ns) / 1e9);
	}
	if (o->output) {
		f = fopen(o->output, "we");
		if (!f) {
			err = -errno;
			pr_err("cannot write '%s': %s", o->output, strerror(-err));
			goto out;
		}
	}
	err = o->format->write(r, &fo, f);
	if (f != stdout) {
		if (fclose(f) && !err)
			err = -errno;
	} else {
		fflush(f);
	}
	if (err)
		pr_err("cannot write report: %s", strerror(-err));
	if (final && r->incomplete && r->totals.events_lost) {
		pr_warn("the report is incomplete: %llu events lost",
			(unsigned long long)r->totals.events_lost);
	} else if (final && r->incomplete) {
		/* nothing lost in transit: an attach gap or a lost stack; name them */
		char why[256] = "";
		size_t n = 0;

		for (size_t i = 0; i < r->nr_drops && n < sizeof(why); i++)
			if (!strcmp(r->drop_names[i], "attach_gaps") ||
			    !strcmp(r->drop_names[i], "unknown_stacks") ||
			    !strcmp(r->drop_names[i], "stack_error"))
				n += (size_t)snprintf(why + n, sizeof(why) - n, "%s%s %llu",
						      n ? ", " : "", r->drop_names[i],
						      (unsigned long long)r->drop_counts[i]);
		pr_warn("the report is incomplete: %s", n ? why : "see its drops");
	}
out:
	collector__report_free(r);
	return err;
}

/* drip's own cost, for -v and `make bench` */
static void print_self_usage(const struct tracer *t, uint64_t end_ns)
{
	struct rusage ru;
	double secs = (end_ns - t->t_start) / 1e9;

	if (getrusage(RUSAGE_SELF, &ru))
		return;
	if (t->u) {
		const struct unwinder_stats *us = unwinder__stats(t->u);

		pr_info("unwind tables: %zu of %zu files, %zu rows (%zu KiB), built in %.3f s; %zu asked by BPF",
			us->tables, us->files, us->rows, us->row_bytes >> 10, us->build_s,
			us->requests);
	}
	pr_info("consumed %llu records in %.2f s (%.0f/s); drip cpu %.3f s, peak rss %ld KiB",
		(unsigned long long)t->records, secs, secs > 0 ? t->records / secs : 0,
		ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
			(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
		ru.ru_maxrss);
}

static void reap_child(struct tracer *t)
{
	int status;

	if (!t->child || t->child_reaped)
		return;
	if (waitpid(t->child, &status, WNOHANG) == t->child) {
		t->child_reaped = true;
		t->child_status = status;
	}
}

/* Gone, or exiting: a process that maps nothing. */
static bool process_gone(pid_t pid)
{
	struct procmaps *m = NULL;
	bool gone = procmaps__read(pid, &m) || !m->nr;

	procmaps__free(m);
	return gone;
}

static int attach_targets(struct tracer *t)
{
	const struct trace_opts *o = t->o;
	int err, probed = 0, last_err = 0;

	for (size_t i = 0; i < o->nr_pids; i++) {
		err = session__add_target(t->s, o->pids[i]);
		if (err)
			return err;
		if (collector__add_process(t->c, o->pids[i])) {
			pr_err("cannot trace PID %d: it exited", o->pids[i]);
			return -ESRCH;
		}
		err = attach__allocators_of(t->a, o->pids[i], NULL);
		if (err < 0 && process_gone(o->pids[i]))
			err = -ESRCH; /* it exited while we probed its files */
		if (err == -ESRCH) {
			pr_err("cannot trace PID %d: it exited", o->pids[i]);
			return err;
		}
		if (err > 0)
			probed++;
		else if (err != -ENOENT)
			last_err = err;
	}
	if (!probed && last_err) {
		pr_err("cannot trace: probing the allocators failed: %s", strerror(-last_err));
		return last_err;
	}
	if (!probed) {
		pr_err("cannot trace: no allocator found in the target (a static binary without malloc symbols?)");
		pr_hint("drip probes malloc and free in the libraries or executable the process maps");
		return -ENOENT;
	}
	return attach_all(t);
}

/*
 * A static executable without its own malloc binds no allocator drip can
 * probe: say so rather than report nothing.  Scripts (#!) and dynamically
 * linked programs pass; what they bind is probed as they map it.
 */
static int check_allocator(const char *cmd, const char *path)
{
	struct elf_file *elf = NULL;
	uint64_t off;
	int err;

	if (elf_file__open(path, &elf))
		return 0; /* not ELF (a script): its interpreter decides */
	err = !elf_file__has_interp(elf) && elf_file__func_offset(elf, "malloc", &off) ? -ENOENT :
											 0;
	elf_file__close(elf);
	if (err) {
		pr_err("cannot trace '%s': a static executable without malloc symbols", cmd);
		pr_hint("drip probes malloc and free in the libraries or executable a process maps");
	}
	return err;
}

/*
 * -o is written only when tracing ends: say now, not after an hour of
 * tracing, that it cannot be.  Nothing is created or truncated here.
 */
static int check_output(const char *path)
{
	struct stat st;
	char *dir, *slash;
	int err = 0;

	if (!stat(path, &st)) {
		if (S_ISDIR(st.st_mode))
			err = EISDIR;
		else if (access(path, W_OK))
			err = errno;
	} else if (errno != ENOENT) {
		err = errno;
	} else {
		dir = strdup(path);
		if (!dir)
			return 0; /* the write will tell */
		slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = 0;
		else if (slash)
			*slash = 0;
		if (access(slash ? dir : ".", W_OK | X_OK))
			err = errno;
		free(dir);
	}
	if (err)
		pr_err("cannot write '%s': %s", path, strerror(err));
	return err;
}

static int check_command(const struct trace_opts *o, char **resolved)
{
	struct stat st;

	*resolved = find_command(o->argv[0]);
	if (!*resolved || stat(*resolved, &st)) {
		pr_err("cannot run '%s': %s", o->argv[0], strerror(ENOENT));
		return -ENOENT;
	}
	if (S_ISDIR(st.st_mode) || access(*resolved, X_OK)) {
		pr_err("cannot run '%s': %s", o->argv[0], strerror(EACCES));
		return -EACCES;
	}
	return check_allocator(o->argv[0], *resolved);
}

/* --cgroup: every process is checked as drip learns of it; the others are not reported. */
static int use_cgroup(struct tracer *t, const char *path)
{
	char rel[4096];
	int err = cgroup__resolve(path, rel, sizeof(rel));

	if (err == -ENOENT) {
		pr_err("cannot use --cgroup '%s': no such cgroup", path);
		return EXIT_TARGET;
	}
	if (err == -ENOTSUP) {
		pr_err("cannot use --cgroup '%s': not a cgroup v2 directory", path);
		pr_hint("--cgroup takes a directory of the cgroup2 mount, e.g. /sys/fs/cgroup/system.slice/app.service (cgroup v1 is not supported)");
		return EXIT_PRIVILEGE;
	}
	if (err) {
		pr_err("cannot use --cgroup '%s': %s", path, strerror(-err));
		return EXIT_TARGET;
	}
	pr_info("only processes in cgroup %s", rel);
	/* the kernel decides for processes it announces; the directory tells it which */
	t->cgroup_fd = cgroup__open(rel);
	if (t->cgroup_fd < 0) {
		pr_err("cannot open cgroup %s: %s", rel, strerror(-t->cgroup_fd));
		return EXIT_TARGET;
	}
	return collector__set_cgroup(t->c, rel) ? EXIT_FAILURE_ : EXIT_OK;
}

int trace__run(const struct trace_opts *o)
{
	struct session_opts so = {
		.ringbuf_size = o->ringbuf_size,
		.follow_children = o->follow_children,
		.trace_mmap = o->trace_mmap,
		.stacks = o->stacks,
		.empty_programs = o->empty_programs,
		.dwarf = o->stacks && !o->fp_only,
		.unwind_rows = 1u << 19,
		.on_event = on_event,
		.on_late_free = on_late_free,
	};
	struct tracer t = { .o = o, .cgroup_fd = -1 };
	int go_fd = -1, err_fd = -1, err, ret = EXIT_FAILURE_;
	uint64_t deadline = 0, next_interval = 0, next_reap, grace_end = 0;
	char *cmd_path = NULL;
	bool stopping = false;
	struct sigaction sa = { .sa_sigaction = on_stop_signal, .sa_flags = SA_SIGINFO };

	so.ctx = &t;
	getrlimit(RLIMIT_NOFILE, &saved_nofile);
	if (geteuid() != 0) {
		pr_err("cannot trace: permission denied (drip needs root: CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN)");
		pr_hint("run it with sudo; 'drip doctor' lists what is missing");
		return EXIT_PRIVILEGE;
	}
	for (size_t i = 0; i < o->nr_pids; i++)
		if ((ret = check_pid(o->pids[i])) != EXIT_OK)
			return ret;
	if (o->argv && check_command(o, &cmd_path)) {
		free(cmd_path);
		return EXIT_TARGET;
	}
	if (o->output && check_output(o->output)) {
		free(cmd_path);
		return EXIT_FAILURE_;
	}
	ret = EXIT_FAILURE_;
	/* from here a Ctrl-C (even while BPF loads, which can take seconds) ends with a report */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	t.c = collector__new();
	if (!t.c)
		goto out;
	if (o->cgroup) {
		ret = use_cgroup(&t, o->cgroup);
		if (ret != EXIT_OK)
			goto out;
		ret = EXIT_FAILURE_;
	}
	so.cgroup_fd = t.cgroup_fd;
	err = session__open(&so, &t.s);
	if (err) {
		ret = EXIT_PRIVILEGE;
		goto out;
	}
	if (so.dwarf) {
		err = unwinder__new(t.s, &t.u);
		if (err)
			goto out;
		collector__set_file_resolver(t.c, file_of, &t);
		preload_tables(&t);
	}
	/* --no-python: no process is registered in py_procs, so BPF never walks one */
	if (o->stacks && o->python) {
		t.py = python__new(NULL, NULL);
		if (!t.py)
			goto out;
		collector__set_python(t.c, t.py);
	}
	collector__set_maps_hook(t.c, on_new_maps, &t);
	err = attach__new(t.s, o->follow_children, &t.a);
	if (err) {
		ret = err == -EACCES || err == -EPERM || err == -ENOENT ? EXIT_PRIVILEGE : ret;
		goto out;
	}

	if (o->argv) {
		t.child_shares_tty = in_tty_foreground();
		err = spawn_child(&t, &go_fd, &err_fd);
		if (err) {
			pr_err("cannot start '%s': %s", o->argv[0], strerror(-err));
			goto out;
		}
		session__add_target(t.s, t.child);
		collector__add_process(t.c, t.child);
		/* the child runs drip's image until it execs: probe the libc it will
		 * most likely bind, and the command itself when it carries malloc */
		attach__allocators_of(t.a, getpid(), NULL);
		t.order = calloc(MAX_ORDER, sizeof(*t.order));
		order_add(&t, cmd_path);
		if (getenv("LD_PRELOAD")) {
			char *env = NULL;

			if (asprintf(&env, "LD_PRELOAD=%s", getenv("LD_PRELOAD")) > 0)
				allocsyms__preload(env, strlen(env), preload_entry, &t);
			free(env);
		}
		needed__closure(cmd_path, 256, preload_file, &t);
		free(t.order);
		t.order = NULL;
		if (!attach__nr_files(t.a)) {
			pr_err("cannot trace '%s': no allocator could be probed", o->argv[0]);
			goto out;
		}
		err = attach_all(&t);
		if (err)
			goto out;
	} else {
		err = attach_targets(&t);
		if (err) {
			ret = err == -ESRCH ? EXIT_TARGET : EXIT_FAILURE_;
			goto out;
		}
	}
	pr_info("attached to %zu process%s (%zu threads), %zu allocator file%s probed",
		collector__nr_live(t.c), collector__nr_live(t.c) == 1 ? "" : "es",
		attach__nr_threads(t.a), attach__nr_files(t.a),
		attach__nr_files(t.a) == 1 ? "" : "s");

	t.t_start = now_ns();
	if (go_fd >= 0 && stop_requests) {
		/* Ctrl-C during attach: the command never starts */
		pr_warn("interrupted while attaching: '%s' was not started, nothing traced",
			o->argv[0]);
		ret = EXIT_OK;
		goto out;
	}
	if (go_fd >= 0) {
		int e = 0;

		if (write(go_fd, "g", 1) != 1)
			pr_warn("cannot release the command: %s", strerror(errno));
		close(go_fd);
		go_fd = -1;
		/* EOF: exec succeeded; an errno: it failed */
		if (read(err_fd, &e, sizeof(e)) == sizeof(e)) {
			pr_err("cannot run '%s': %s", o->argv[0], strerror(e));
			ret = EXIT_TARGET;
			goto out;
		}
	}
	if (o->duration_s > 0)
		deadline = t.t_start + (uint64_t)(o->duration_s * 1e9);
	if (o->interval_s > 0)
		next_interval = t.t_start + (uint64_t)(o->interval_s * 1e9);
	next_reap = t.t_start + 1000000000ULL;

	for (;;) {
		uint64_t now;

		err = session__poll(t.s, 50);
		if (err < 0 && err != -EINTR) {
			pr_err("cannot read events: %s", strerror(-err));
			goto out;
		}
		reap_child(&t);
		now = now_ns();
		if (now >= next_reap) {
			session__drain(t.s);
			if (collector__reap_dead(t.c))
				pr_debug("reaped processes whose exit event was lost");
			next_reap = now + 1000000000ULL;
		}
		if (next_interval && now >= next_interval) {
			write_report(&t, false);
			next_interval += (uint64_t)(o->interval_s * 1e9);
		}
		if (!collector__nr_live(t.c) && (!t.child || t.child_reaped))
			break; /* every target exited */
		if (stop_requests > 1)
			break; /* second Ctrl-C: report at once */
		if (!stopping && (stop_requests || (deadline && now >= deadline))) {
			stopping = true;
			if (!t.child || t.child_reaped)
				break;
			/* let COMMAND exit so its memory at exit is captured */
			if (!t.child_shares_tty)
				kill(-t.child, SIGINT);
			else if (!stop_from_tty) /* else the terminal sent it to both of us */
				kill(t.child, SIGINT);
			grace_end = now + (uint64_t)(o->grace_s * 1e9);
		}
		if (stopping && now >= grace_end)
			break;
	}
	/* stop tracing first: targets run at full speed from here */
	attach__detach_targets(t.a);
	session__drain(t.s);
	print_self_usage(&t, now_ns());
	ret = write_report(&t, true) ? EXIT_FAILURE_ : EXIT_OK;
out:
	if (go_fd >= 0)
		close(go_fd); /* the waiting child sees EOF and exits */
	if (err_fd >= 0)
		close(err_fd);
	reap_child(&t);
	attach__free_in_background(t.a);
	session__free(t.s);
	collector__free(t.c);
	python__free(t.py); /* after the collector: reports pointed at its names */
	unwinder__free(t.u);
	if (t.cgroup_fd >= 0)
		close(t.cgroup_fd);
	free(cmd_path);
	return ret;
}
