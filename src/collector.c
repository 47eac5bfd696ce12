// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drip/cgroup.h"
#include "drip/collector.h"
#include "drip/elf.h"
#include "drip/hash.h"
#include "drip/log.h"
#include "drip/procmaps.h"
#include "drip/python.h"
#include "drip/stacks.h"
#include "drip/symbolize.h"
#include "drip/table.h"
#include "drip/tracefs.h"
#include "drip/u64map.h"

#define NO_STACK UINT32_MAX /* the allocation's stack never arrived */

struct proc {
	pid_t pid, ppid;
	uint32_t nspid;
	uint64_t start_time;
	char *comm, *exe;
	bool exited;
	bool replaced;	      /* its image was replaced by exec: not reported */
	bool maps_stale;      /* exec'd: libraries were not mapped yet when maps were read */
	uint64_t start_ticks; /* /proc start time when first read (0: never): tells pid reuse */
	struct procmaps *maps;
	uint32_t
		heap; /* the process whose blocks it allocates and frees: itself, or (CLONE_VM) its parent's */
	bool scanned;	 /* found in /proc, not through a fork event */
	bool outside;	 /* --cgroup: not in it; its events are ignored, it is not reported */
	bool cg_unknown; /* gone before its cgroup was read */
};

/* A frame resolved while its process lived. */
struct rframe {
	uint64_t addr;
	uint64_t file_offset;
	const char *module;
	const char *function;
	const uint8_t *build_id;
	size_t build_id_len;
	bool python;	  /* a Python frame: function, file and line; no module */
	const char *file; /* python only */
	uint32_t line;
};

struct frame_ids {
	uint32_t nr;
	struct drip_frame_id ids[];
};

struct frame_files {
	uint32_t nr;
	struct drip_frame_file f[];
};

struct py_frames {
	uint32_t nr;
	uint32_t flags;
	struct drip_py_frame f[];
};

struct resolved {
	uint32_t nr;
	bool in_allocator; /* a frame is an allocator function: its own mmap, not the program's */
	struct rframe *frames;
};

struct collector {
	struct table *table;
	struct stacks *stacks;
	struct symbolizer *sym;
	struct proc *procs;
	size_t nr_procs, cap_procs;
	struct u64map live;	 /* tgid -> proc index */
	struct u64map site_res;	 /* (proc, stack) -> index into res */
	struct u64map stack_ids; /* stack index + 1 -> struct frame_ids * */
	struct resolved *res;
	size_t nr_res, cap_res;
	struct collector_counts n;
	collector_maps_hook maps_hook;
	void *maps_hook_ctx;
	collector_file_fn file_fn;
	void *file_fn_ctx;
	struct u64map stack_files; /* stack index + 1 -> struct frame_files * */
	char *cgroup;		   /* --cgroup's path in the v2 hierarchy, or NULL */
	struct u64map alloc_libs;  /* build-id hash of an allocator library -> 1 */
	struct u64map stack_py;	   /* stack index + 1 -> struct py_frames * */
	struct python *py;	   /* NULL: Python frames are not named */
};

static inline uint64_t site_key(uint32_t proc, uint32_t stack)
{
	return ((uint64_t)proc << 32 | stack) + 1; /* never 0 */
}

struct collector *collector__new(void)
{
	struct collector *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->table = table__new(1 << 16);
	c->stacks = stacks__new();
	c->sym = symbolizer__new();
	if (!c->table || !c->stacks || !c->sym) {
		collector__free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void collector__free(struct collector *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nr_procs; i++) {
		free(c->procs[i].comm);
		free(c->procs[i].exe);
		procmaps__free(c->procs[i].maps);
	}
	for (size_t i = 0; i < c->nr_res; i++)
		free(c->res[i].frames);
	free(c->res);
	for (size_t i = 0; i < c->stack_ids.cap; i++)
		if (c->stack_ids.keys[i])
			free((void *)(uintptr_t)c->stack_ids.vals[i]);
	u64map__release(&c->stack_ids);
	for (size_t i = 0; i < c->stack_files.cap; i++)
		if (c->stack_files.keys[i])
			free((void *)(uintptr_t)c->stack_files.vals[i]);
	u64map__release(&c->stack_files);
	u64map__release(&c->alloc_libs);
	for (size_t i = 0; i < c->stack_py.cap; i++)
		if (c->stack_py.keys[i])
			free((void *)(uintptr_t)c->stack_py.vals[i]);
	u64map__release(&c->stack_py);
	free(c->procs);
	u64map__release(&c->live);
	u64map__release(&c->site_res);
	free(c->cgroup);
	table__free(c->table);
	stacks__free(c->stacks);
	symbolizer__free(c->sym);
	free(c);
}

static char *read_small(const char *path)
{
	char buf[256];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	if (buf[n - 1] == '\n')
		n--;
	buf[n] = 0;
	return strdup(buf);
}

/*
 * A new maps snapshot of a live process: remember its files by build-id
 * while they can be opened, and let the unwinder see its modules.
 */
static void learn(struct collector *c, const struct proc *p)
{
	if (!p->maps || !p->maps->nr || p->exited)
		return;
	symbolizer__learn_maps(c->sym, p->pid, p->maps);
	if (c->maps_hook)
		c->maps_hook(c->maps_hook_ctx, p->pid, p->maps);
}

void collector__set_maps_hook(struct collector *c, collector_maps_hook fn, void *ctx)
{
	c->maps_hook = fn;
	c->maps_hook_ctx = ctx;
}

int collector__set_cgroup(struct collector *c, const char *rel)
{
	char *dup = rel ? strdup(rel) : NULL;

	if (rel && !dup)
		return -ENOMEM;
	free(c->cgroup);
	c->cgroup = dup;
	return 0;
}

void collector__set_python(struct collector *c, struct python *py)
{
	c->py = py;
}

void collector__set_file_resolver(struct collector *c, collector_file_fn fn, void *ctx)
{
	c->file_fn = fn;
	c->file_fn_ctx = ctx;
}

/* comm, exe and maps, read while the process lives; each may stay unknown */
static void proc_read_identity(struct collector *c, struct proc *p)
{
	char path[64], exe[4096];
	ssize_t n;

	free(p->comm);
	free(p->exe);
	if (!p->start_ticks)
		p->start_ticks = proc_start_ticks(p->pid);
	if (c->cgroup) {
		char cg[4096];

		p->cg_unknown = cgroup__of_pid(p->pid, cg, sizeof(cg)) != 0;
		p->outside = !p->cg_unknown && !cgroup__within(cg, c->cgroup);
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", p->pid);
	p->comm = read_small(path);
	snprintf(path, sizeof(path), "/proc/%d/exe", p->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	p->exe = NULL;
	if (n > 0) {
		exe[n] = 0;
		p->exe = strdup(exe);
	}
	procmaps__free(p->maps);
	p->maps = NULL;
	procmaps__read(p->pid, &p->maps);
	learn(c, p);
}

/*
 * A child that is gone (or a zombie: empty maps) before we looked: until it
 * execs, its image is its parent's, so borrow the parent's identity and maps.
 */
static void inherit_identity(struct collector *c, struct proc *p)
{
	uint64_t pi;
	const struct proc *parent;

	if (p->maps && p->maps->nr && p->comm)
		return;
	if (!u64map__get(&c->live, (uint64_t)p->ppid, &pi))
		return;
	parent = &c->procs[pi];
	if (!p->comm && parent->comm)
		p->comm = strdup(parent->comm);
	if (!p->exe && parent->exe)
		p->exe = strdup(parent->exe);
	if (!p->maps || !p->maps->nr) {
		procmaps__free(p->maps);
		p->maps = NULL;
		/* what drip read of the parent while it lived: both may be gone by now */
		if (parent->maps && parent->maps->nr) {
			if (procmaps__copy(parent->maps, &p->maps))
				p->maps = NULL;
		} else if (procmaps__read(parent->pid, &p->maps) || !p->maps->nr) {
			procmaps__free(p->maps);
			p->maps = NULL;
		}
	}
}

static int proc_new(struct collector *c, pid_t pid, pid_t ppid, uint64_t start, uint32_t nspid)
{
	struct proc *p;
	uint64_t old;

	if (c->nr_procs == c->cap_procs) {
		size_t cap = c->cap_procs ? 2 * c->cap_procs : 16;
		struct proc *np = realloc(c->procs, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		c->procs = np;
		c->cap_procs = cap;
	}
	/* a live entry with this pid is a stale one (missed exit): retire it */
	if (u64map__get(&c->live, (uint64_t)pid, &old)) {
		c->procs[old].exited = true;
		table__end(c->table, old);
	}
	p = &c->procs[c->nr_procs];
	*p = (struct proc){
		.pid = pid, .ppid = ppid, .start_time = start, .nspid = nspid, .heap = c->nr_procs
	};
	if (u64map__set(&c->live, (uint64_t)pid, c->nr_procs))
		return -ENOMEM;
	return (int)c->nr_procs++;
}

/* The live process entry for tgid, created on first sight if needed. */
static int proc_of(struct collector *c, uint32_t tgid)
{
	uint64_t idx;
	int i;

	if (u64map__get(&c->live, tgid, &idx))
		return (int)idx;
	i = proc_new(c, tgid, 0, 0, 0);
	if (i >= 0)
		proc_read_identity(c, &c->procs[i]);
	return i;
}

static pid_t read_ppid(pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid = 0;
	ssize_t n;
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
	p = strrchr(buf, ')');
	if (p && sscanf(p + 1, " %*c %d", &ppid) != 1)
		ppid = 0;
	return ppid;
}

/*
 * /proc gives start times on the boot clock (it counts suspend); BPF's
 * timestamps and task start times are monotonic.  Convert, so both compare.
 */
static uint64_t boot_to_monotonic(uint64_t boot_ns)
{
	struct timespec b, m;
	int64_t off; /* time spent suspended: >= 0, but the two reads race by nanoseconds */

	clock_gettime(CLOCK_BOOTTIME, &b);
	clock_gettime(CLOCK_MONOTONIC, &m);
	off = (int64_t)(b.tv_sec - m.tv_sec) * 1000000000LL + (b.tv_nsec - m.tv_nsec);
	if (off < 0)
		off = 0;
	return boot_ns > (uint64_t)off ? boot_ns - (uint64_t)off : 0;
}

int collector__add_process(struct collector *c, pid_t pid)
{
	uint64_t ticks = proc_start_ticks(pid);
	long hz = sysconf(_SC_CLK_TCK);
	int i;

	if (!ticks)
		return -ESRCH;
	i = proc_new(c, pid, read_ppid(pid),
		     boot_to_monotonic(ticks * (1000000000ULL / (hz > 0 ? hz : 100))), 0);
	if (i < 0)
		return i;
	c->procs[i].scanned = true;
	proc_read_identity(c, &c->procs[i]);
	return 0;
}

bool collector__live(const struct collector *c, pid_t pid)
{
	uint64_t idx;

	return u64map__get(&c->live, (uint64_t)pid, &idx);
}

size_t collector__nr_live(const struct collector *c)
{
	return c->live.nr;
}

size_t collector__reap_dead(struct collector *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nr_procs; i++) {
		struct proc *p = &c->procs[i];
		uint64_t idx;

		uint64_t ticks;

		if (p->exited || !u64map__get(&c->live, (uint64_t)p->pid, &idx) || idx != i)
			continue;
		/* gone, or its pid now names another process (started at another time) */
		ticks = proc_start_ticks(p->pid);
		if (ticks && (!p->start_ticks || ticks == p->start_ticks))
			continue;
		p->exited = true;
		u64map__del(&c->live, (uint64_t)p->pid);
		table__end(c->table, i);
		n++;
	}
	return n;
}

void collector__on_attach_gap(struct collector *c, uint32_t tgid)
{
	(void)tgid; /* counted per (process, file): the report says how many, -v says which */
	c->n.attach_gaps++;
}

const struct collector_counts *collector__counts(const struct collector *c)
{
	return &c->n;
}

/*
 * A stack taken in a syscall holds [sp] in slot 0 and the syscall site in
 * slot 1.  In libc's wrappers (leaves that push nothing) [sp] is the caller,
 * which the frame-pointer walk skips: keep it and drop the wrapper, as an
 * allocator frame is dropped.  Elsewhere [sp] is just stack data: drop it.
 */
/*
 * BPF counts an mmap as the program's when no allocator call is pending on
 * the thread; but free has no return probe, so an arena glibc creates inside
 * free (its first call in a thread) looks like the program's.  The stack
 * tells: such a mapping has an allocator frame.
 */
/*
 * The C++ runtime's operator new, which calls malloc: not probed (a second
 * probe per new), so it is the frame the malloc probe sees first.
 */
static bool is_forwarding_new(const char *fn)
{
	static const char *const names[] = {
		"_Znwm",
		"_Znam",
		"_ZnwmRKSt9nothrow_t",
		"_ZnamRKSt9nothrow_t",
		"_ZnwmSt11align_val_t",
		"_ZnamSt11align_val_t",
		"_ZnwmSt11align_val_tRKSt9nothrow_t",
		"_ZnamSt11align_val_tRKSt9nothrow_t",
	};

	for (size_t i = 0; fn && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(fn, names[i]))
			return true;
	return false;
}

static bool is_allocator(const char *fn)
{
	static const char *const names[] = { "malloc",	      "free",	      "calloc",
					     "realloc",	      "reallocarray", "posix_memalign",
					     "aligned_alloc", "memalign",     "valloc",
					     "pvalloc",	      "cfree" };

	if (!fn)
		return false;
	if (is_forwarding_new(fn))
		return true;
	if (!strncmp(fn, "__libc_", 7))
		fn += 7;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(fn, names[i]))
			return true;
	return false;
}

static bool is_syscall_wrapper(const char *fn)
{
	static const char *const wrappers[] = { "mmap",	    "mmap64", "__mmap",	  "munmap",
						"__munmap", "mremap", "__mremap", "brk",
						"__brk",    "sbrk",   "__sbrk",	  "syscall" };

	for (size_t i = 0; fn && i < sizeof(wrappers) / sizeof(wrappers[0]); i++)
		if (!strcmp(fn, wrappers[i]))
			return true;
	return false;
}

static void drop_frame(struct resolved *r, size_t k)
{
	memmove(&r->frames[k], &r->frames[k + 1], (r->nr - k - 1) * sizeof(r->frames[0]));
	r->nr--;
}

static void drop_syscall_slot(struct resolved *r, uint32_t flags)
{
	if (r->nr < 2)
		return;
	if (flags & DRIP_STACK_SITE_FIRST) {
		/* a DWARF walk: the wrappers (sbrk calls __brk) come first, then their caller */
		for (int i = 0; i < 3 && r->nr > 1 && is_syscall_wrapper(r->frames[0].function);
		     i++)
			drop_frame(r, 0);
		return;
	}
	drop_frame(r, is_syscall_wrapper(r->frames[1].function) ? 1 : 0);
}

/* A frame BPF named by (file id, offset). false: unknown file, try the maps. */
static bool resolve_file(struct collector *c, const struct drip_frame_file *ff, uint64_t ip,
			 struct rframe *out)
{
	const struct elf_file *elf = NULL;
	const char *path;
	uint64_t delta;

	if (!ff->key.ino || !c->file_fn)
		return false;
	path = c->file_fn(c->file_fn_ctx, ff->key.dev, ff->key.ino, &elf);
	if (!path)
		return false;
	out->addr = ip;
	out->module = path;
	out->file_offset = ff->offset;
	out->function = elf ? elf_file__func_at(elf, ff->offset, &delta) : NULL;
	out->build_id_len = elf ? elf_file__build_id(elf, &out->build_id) : 0;
	if (!out->build_id_len)
		out->build_id = NULL;
	return true;
}

static uint64_t build_id_key(const uint8_t *id, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ id[i]) * 0x100000001b3ULL;
	return h ? h : 1;
}

void collector__add_allocator_lib(struct collector *c, const uint8_t *build_id, size_t len)
{
	if (len)
		u64map__set(&c->alloc_libs, build_id_key(build_id, len), 1);
}

/* The interpreter's eval loop: each call of it ran a run of Python frames. */
static bool is_eval_loop(const struct rframe *f)
{
	return !f->python && f->function &&
	       (!strcmp(f->function, "_PyEval_EvalFrameDefault") ||
		!strncmp(f->function, "_PyEval_EvalFrameDefault.", 25));
}

/*
 * Interpreter frames that only carry a call into or out of the eval loop:
 * hidden next to it, as the Python frames say what they did.
 */
static bool is_call_glue(const struct rframe *f)
{
	static const char *const glue[] = {
		"_PyEval_Vector",	"_PyFunction_Vectorcall", "PyEval_EvalCode",
		"_PyEval_EvalCode",	"function_code_fastcall", "_PyObject_VectorcallTstate",
		"PyObject_Vectorcall",	"_PyObject_MakeTpCall",	  "_PyObject_Call",
		"PyObject_Call",	"_PyEval_EvalFrame",	  "call_function",
		"_PyObject_Vectorcall", "PyVectorcall_Call",
	};

	if (f->python || !f->function)
		return false;
	for (size_t i = 0; i < sizeof(glue) / sizeof(glue[0]); i++)
		if (!strcmp(f->function, glue[i]))
			return true;
	return false;
}

static bool same_module(const struct rframe *a, const struct rframe *b)
{
	return a->module && b->module && !strcmp(a->module, b->module);
}

/* Glue next to the eval frame at e, or unnamed interpreter code between glue and it. */
static bool hidden_near(const struct resolved *r, uint32_t e, uint32_t k)
{
	const struct rframe *f = &r->frames[k];

	if (!same_module(f, &r->frames[e]))
		return false;
	if (is_call_glue(f))
		return true;
	/* an unnamed static helper (LTO, stripped) with glue beyond it */
	if (!f->function) {
		uint32_t next = k > e ? k + 1 : k - 1;

		return k != 0 && next < r->nr && is_call_glue(&r->frames[next]) &&
		       same_module(&r->frames[next], &r->frames[e]);
	}
	return false;
}

/*
 * Replace each eval-loop frame (and the glue around it) with the Python
 * frames it ran: the Python frames, innermost first, split after each
 * DRIP_PY_ENTRY one, go one run per eval-loop frame, innermost first.  Runs
 * the native walk did not reach (cut short) go last.
 */
static void merge_python(struct collector *c, struct resolved *r, const struct proc *p,
			 const struct py_frames *pf)
{
	struct rframe *out;
	uint32_t n = 0, k = 0, cap = r->nr + pf->nr, runs = 0;
	bool *hide;

	out = calloc(cap ? cap : 1, sizeof(*out));
	hide = calloc(r->nr ? r->nr : 1, sizeof(*hide));
	if (!out || !hide)
		goto out;
	for (uint32_t i = 0; i < pf->nr; i++)
		runs += (pf->f[i].flags & DRIP_PY_ENTRY) || i + 1 == pf->nr;
	/* glue goes only around eval-loop frames that get Python frames */
	for (uint32_t i = 0; i < r->nr && runs; i++) {
		if (!is_eval_loop(&r->frames[i]))
			continue;
		runs--;
		for (uint32_t j = i;
		     j-- > 0 && !is_eval_loop(&r->frames[j]) && hidden_near(r, i, j);)
			hide[j] = true;
		for (uint32_t j = i + 1;
		     j < r->nr && !is_eval_loop(&r->frames[j]) && hidden_near(r, i, j); j++)
			hide[j] = true;
	}
	for (uint32_t i = 0; i <= r->nr; i++) {
		bool eval = i < r->nr && is_eval_loop(&r->frames[i]);

		if (i == r->nr || (eval && k < pf->nr)) {
			/* one eval-loop call's run (at the end: all that is left) */
			while (k < pf->nr) {
				const struct drip_py_frame *f = &pf->f[k++];
				struct python_frame pyf;

				if (python__frame(c->py, p->pid, p->ppid, f->code, f->instr, &pyf))
					pyf = (struct python_frame){ 0 };
				out[n++] = (struct rframe){ .python = true,
							    .addr = f->code,
							    .file_offset =
								    (uint64_t)(uint32_t)f->instr,
							    .function = pyf.function,
							    .file = pyf.file,
							    .line = pyf.line };
				if ((f->flags & DRIP_PY_ENTRY) && i < r->nr)
					break;
			}
			continue;
		}
		if (!hide[i])
			out[n++] = r->frames[i];
	}
	free(r->frames);
	r->frames = out;
	r->nr = n;
	out = NULL;
out:
	free(out);
	free(hide);
}

/*
 * Resolve a (proc, stack) the first time it is seen, while the process still
 * lives: addresses mean code only together with the maps of that moment.
 */
static void resolve_site(struct collector *c, uint32_t proc, uint32_t stack)
{
	struct proc *p = &c->procs[proc];
	const uint64_t *ips;
	const struct frame_ids *fids = NULL;
	const struct frame_files *ffs = NULL;
	struct resolved *r;
	uint32_t nr, flags;
	uint64_t fid_ptr;
	bool reread = false;

	if (stack == NO_STACK || u64map__get(&c->site_res, site_key(proc, stack), &(uint64_t){ 0 }))
		return;
	if (c->nr_res == c->cap_res) {
		size_t cap = c->cap_res ? 2 * c->cap_res : 256;
		struct resolved *nres = realloc(c->res, cap * sizeof(*nres));

		if (!nres)
			return;
		c->res = nres;
		c->cap_res = cap;
	}
	ips = stacks__ips(c->stacks, stack, &nr, &flags);
	if (u64map__get(&c->stack_ids, (uint64_t)stack + 1, &fid_ptr))
		fids = (const struct frame_ids *)(uintptr_t)fid_ptr;
	if (u64map__get(&c->stack_files, (uint64_t)stack + 1, &fid_ptr))
		ffs = (const struct frame_files *)(uintptr_t)fid_ptr;
	r = &c->res[c->nr_res];
	r->nr = nr;
	r->in_allocator = false;
	r->frames = calloc(nr ? nr : 1, sizeof(*r->frames));
	if (!r->frames)
		return;
	for (uint32_t i = 0; i < nr; i++) {
		struct sym_info si = { 0 };

		/* BPF's walk named the file and offset (DWARF stacks) */
		if (ffs && i < ffs->nr && resolve_file(c, &ffs->f[i], ips[i], &r->frames[i]))
			continue;
		/* the kernel named the file (build-id) while the process ran: best evidence */
		if (fids && i < fids->nr && fids->ids[i].status == DRIP_FRAME_ID_VALID &&
		    !symbolizer__resolve_build_id(c->sym, fids->ids[i].build_id,
						  sizeof(fids->ids[i].build_id),
						  fids->ids[i].offset, &si)) {
			r->frames[i].addr = ips[i];
			r->frames[i].module = si.module;
			r->frames[i].function = si.function;
			r->frames[i].file_offset = si.file_offset;
			r->frames[i].build_id = si.build_id;
			r->frames[i].build_id_len = si.build_id_len;
			continue;
		}
		/* a frame outside the snapshot: the process mapped something new */
		if (!reread && !p->exited && (!p->maps || !procmaps__find(p->maps, ips[i]))) {
			struct procmaps *m = NULL;

			reread = true;
			if (!procmaps__read(p->pid, &m)) {
				procmaps__free(p->maps);
				p->maps = m;
				learn(c, p);
			}
		}
		r->frames[i].addr = ips[i];
		if (p->maps)
			symbolizer__resolve(c->sym, p->exited ? 0 : p->pid, p->maps, ips[i], &si);
		r->frames[i].module = si.module;
		r->frames[i].function = si.function;
		r->frames[i].file_offset = si.module ? si.file_offset : ips[i];
		r->frames[i].build_id = si.build_id;
		r->frames[i].build_id_len = si.build_id_len;
	}
	if (flags & (DRIP_STACK_SYSCALL | DRIP_STACK_SITE_FIRST))
		drop_syscall_slot(r, flags);
	else
		while (r->nr > 1 && is_forwarding_new(r->frames[0].function))
			drop_frame(r, 0); /* frames[0] is the caller of new, as of any allocator */
	for (uint32_t i = 0; i < r->nr && !r->in_allocator; i++)
		r->in_allocator = is_allocator(r->frames[i].function);
	/* a syscall made by an allocator library's own code (its start-up, or before
	 * its probes arrived): that library's memory, not the program's */
	if (!r->in_allocator && (flags & (DRIP_STACK_SYSCALL | DRIP_STACK_SITE_FIRST)) && r->nr &&
	    r->frames[0].build_id_len)
		r->in_allocator =
			u64map__get(&c->alloc_libs,
				    build_id_key(r->frames[0].build_id, r->frames[0].build_id_len),
				    &(uint64_t){ 0 });
	if (c->py && u64map__get(&c->stack_py, (uint64_t)stack + 1, &fid_ptr))
		merge_python(c, r, p, (const struct py_frames *)(uintptr_t)fid_ptr);
	if (u64map__set(&c->site_res, site_key(proc, stack), c->nr_res)) {
		free(r->frames);
		return;
	}
	c->nr_res++;
}

/*
 * Release addr, as of ts_limit when non-zero (see drip_ev_alloc.call_ts).  A
 * block found there but allocated after ts_limit was handed to another thread
 * once the call had released ours, and its record came first: it displaced
 * ours then, counted as an implied free, which this release explains.
 */
static void release(struct collector *c, int proc, uint64_t addr, uint64_t ts_limit, uint64_t ts,
		    bool counted_unknown)
{
	struct table_freed f;
	int err = table__free_at(c->table, proc, addr, ts_limit, ts, &f);

	if (!err) {
		c->n.frees++;
	} else if (err == 1) {
		/* its parent's block, freed in this child: the child's row names the stack */
		c->n.inherited_frees++;
		resolve_site(c, proc, f.stack);
	} else if (err == -EEXIST && c->n.implied_frees) {
		c->n.implied_frees--;
	} else if (counted_unknown) {
		c->n.unknown_frees++;
	}
}

static bool site_in_allocator(const struct collector *c, uint32_t proc, uint32_t stack)
{
	uint64_t ri;

	return u64map__get(&c->site_res, site_key(proc, stack), &ri) && c->res[ri].in_allocator;
}

static int on_alloc(struct collector *c, const struct drip_ev_alloc *ev)
{
	uint32_t stack = NO_STACK;
	uint64_t size;
	int64_t s;
	int proc, err;

	proc = proc_of(c, ev->hdr.tgid);
	if (proc < 0)
		return proc;
	if (c->procs[proc].outside)
		return 0; /* --cgroup leaves it out */
	proc = c->procs[proc].heap;
	if (c->procs[proc].maps_stale) {
		struct proc *p = &c->procs[proc];
		struct procmaps *m = NULL;

		/* the loader maps every library before the first malloc it lets through */
		p->maps_stale = false;
		if (!p->exited && !procmaps__read(p->pid, &m)) {
			procmaps__free(p->maps);
			p->maps = m;
			learn(c, p);
		}
	}
	if (__builtin_mul_overflow(ev->size, ev->nmemb, &size))
		return 0; /* such a call cannot have succeeded: its old block lives on */
	if (ev->fn == DRIP_FN_MREMAP) {
		/* only a mapping drip saw the program make moves as a block */
		err = table__free_at(c->table, proc, ev->old_addr, 0, ev->hdr.ts, NULL);
		if (err < 0)
			return 0;
		if (err)
			c->n.inherited_frees++;
		else
			c->n.frees++;
	} else if (ev->old_addr) {
		/* realloc moved or resized it */
		release(c, proc, ev->old_addr, ev->call_ts, ev->hdr.ts, true);
	}
	if (ev->stack_hash) {
		s = stacks__find(c->stacks, ev->stack_hash);
		if (s >= 0)
			stack = (uint32_t)s;
		else
			c->n.unknown_stacks++; /* its stack record was lost */
	}
	if (stack != NO_STACK && !table__site(c->table, proc, stack))
		resolve_site(c, proc, stack);
	if (ev->fn == DRIP_FN_MMAP && stack != NO_STACK && site_in_allocator(c, proc, stack)) {
		c->n.allocator_mmaps++;
		return 0;
	}
	err = table__on_alloc(c->table, proc, ev->addr, size, stack, ev->hdr.ts);
	if (err < 0)
		return err;
	if (err == 1) {
		c->n.implied_frees++;
		c->n.frees++;
	}
	c->n.allocs++;
	c->n.alloc_bytes += size;
	return 0;
}

struct range {
	uint32_t proc;
	uint64_t lo, hi;
	uint64_t *addrs;
	size_t nr, cap;
};

static int in_range(uint32_t proc, uint64_t addr, uint64_t size, uint32_t stack, uint64_t ts,
		    void *ctx)
{
	struct range *r = ctx;

	if (proc != r->proc || addr < r->lo || addr >= r->hi)
		return 0;
	if (r->nr == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		uint64_t *n = realloc(r->addrs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->addrs = n;
		r->cap = cap;
	}
	r->addrs[r->nr++] = addr;
	return 0;
}

/* The break shrank below [addr, addr + len): the program's brk blocks there are gone. */
static void release_range(struct collector *c, uint32_t proc, uint64_t addr, uint64_t len)
{
	struct range r = { .proc = proc, .lo = addr, .hi = addr + len };

	if (r.hi < r.lo)
		r.hi = UINT64_MAX;
	table__for_each_block(c->table, in_range, &r); /* a scan: sbrk(-n) is rare */
	for (size_t i = 0; i < r.nr; i++)
		if (!table__on_free(c->table, proc, r.addrs[i], 0))
			c->n.frees++;
	free(r.addrs);
}

static bool is_realloc(uint32_t fn)
{
	return fn == DRIP_FN_REALLOC || fn == DRIP_FN_REALLOCARRAY || fn == DRIP_FN_REALLOC_KEEP ||
	       fn == DRIP_FN_XALLOCX;
}

static void on_free(struct collector *c, const struct drip_ev_free *ev)
{
	uint64_t idx;

	if (!u64map__get(&c->live, ev->hdr.tgid, &idx)) {
		if (ev->fn != DRIP_FN_MUNMAP && ev->fn != DRIP_FN_BRK)
			c->n.unknown_frees++;
		return;
	}
	if (c->procs[idx].outside)
		return;
	idx = c->procs[idx].heap;
	if (ev->fn == DRIP_FN_BRK) {
		release_range(c, (uint32_t)idx, ev->addr, ev->len);
		return;
	}
	/* munmap of something the program did not map itself is not a free */
	release(c, (int)idx, ev->addr, is_realloc(ev->fn) ? ev->call_ts : 0, ev->hdr.ts,
		ev->fn != DRIP_FN_MUNMAP);
}

/*
 * The executable named by execve, learned even when the process is gone
 * before we could read its maps (relative names: from drip's directory).
 * A name in /proc or /dev/fd (/proc/self/exe, fexecve) means something only
 * to the process: /proc/self/exe is its old image's file (prev, when known),
 * the others stay unknown.
 */
static void learn_exec_file(struct collector *c, struct proc *p, const struct proc *prev,
			    const struct drip_ev_proc *ev)
{
	char name[sizeof(ev->filename) + 1];

	memcpy(name, ev->filename, sizeof(ev->filename));
	name[sizeof(ev->filename)] = 0;
	if (!strcmp(name, "/proc/self/exe") && prev && prev->exe)
		snprintf(name, sizeof(name), "%s", prev->exe);
	if (!name[0] || !strncmp(name, "/proc/", 6) || !strncmp(name, "/dev/fd/", 8))
		return;
	symbolizer__learn_file(c->sym, name);
	if (!p->exe && name[0] == '/')
		p->exe = strdup(name);
}

/*
 * The comm the kernel gave with the event, for a process /proc no longer
 * shows (gone before drip looked): an empty one stays unknown.
 */
static void learn_comm(struct proc *p, const struct drip_ev_proc *ev)
{
	size_t n = strnlen((const char *)ev->comm, sizeof(ev->comm));

	if (!p->comm && n)
		p->comm = strndup((const char *)ev->comm, n);
}

/*
 * A scan of /proc made at attach found it before its fork event was read:
 * the same process when it started then (/proc has clock ticks: allow two).
 */
static bool same_as_scanned(const struct proc *p, const struct drip_ev_proc *ev)
{
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t slack = 2 * (1000000000ULL / (hz > 0 ? hz : 100));
	uint64_t d = p->start_time > ev->start_time ? p->start_time - ev->start_time :
						      ev->start_time - p->start_time;

	return p->scanned && !p->exited && d <= slack;
}

/* --cgroup as the kernel saw it when the event fired: it beats a late look at /proc */
static void take_cgroup_verdict(struct proc *p, const struct drip_ev_proc *ev)
{
	if (!(ev->flags & DRIP_PROC_CGROUP_CHECKED))
		return;
	p->outside = !(ev->flags & DRIP_PROC_IN_CGROUP);
	p->cg_unknown = false;
}

static void on_fork(struct collector *c, const struct drip_ev_proc *ev)
{
	uint64_t pi, idx;
	int i;

	if (u64map__get(&c->live, ev->hdr.tgid, &idx) && same_as_scanned(&c->procs[idx], ev)) {
		i = (int)idx; /* one process, not a second entry with an exited twin */
		c->procs[i].ppid = ev->ppid;
		c->procs[i].start_time = ev->start_time;
		c->procs[i].nspid = ev->nspid;
		c->procs[i].scanned = false;
	} else {
		i = proc_new(c, ev->hdr.tgid, ev->ppid, ev->start_time, ev->nspid);
		if (i < 0)
			return;
		if (c->py) /* before its maps are read: the hook may look at them */
			python__inherit(c->py, ev->hdr.tgid, ev->ppid);
		proc_read_identity(c, &c->procs[i]);
		inherit_identity(c, &c->procs[i]);
	}
	learn_comm(&c->procs[i], ev);
	take_cgroup_verdict(&c->procs[i], ev);
	if (!u64map__get(&c->live, ev->ppid, &pi))
		return;		    /* its parent is unknown: so is what it inherited */
	if (c->procs[i].cg_unknown) /* gone already: it was forked into its parent's cgroup */
		c->procs[i].outside = c->procs[pi].outside;
	if (ev->flags & DRIP_PROC_SHARED_VM)
		c->procs[i].heap = c->procs[pi].heap; /* vfork, CLONE_VM: the same heap */
	else
		table__fork(c->table, c->procs[pi].heap, i, ev->hdr.ts); /* a copy, not copied */
}

static void on_proc(struct collector *c, const struct drip_ev_proc *ev)
{
	uint64_t idx, prev;
	int i;

	switch (ev->hdr.type) {
	case DRIP_EV_FORK:
		on_fork(c, ev);
		break;
	case DRIP_EV_EXEC:
		prev = SIZE_MAX;
		if (u64map__get(&c->live, ev->hdr.tgid, &idx)) {
			struct proc *old = &c->procs[idx];
			pid_t ppid = old->ppid;
			uint64_t start = old->start_time;

			/* the old image's heap is gone with it (unless it was its parent's: vfork) */
			if (old->heap == idx)
				c->n.exec_released += table__drop_proc(c->table, idx);
			table__end(c->table, idx);
			old->replaced = true;
			old->exited = true;
			u64map__del(&c->live, ev->hdr.tgid);
			prev = idx;
			i = proc_new(c, ev->hdr.tgid, ppid, start, ev->nspid); /* moves procs[] */
		} else {
			i = proc_new(c, ev->hdr.tgid, 0, ev->start_time, ev->nspid);
		}
		if (i >= 0) {
			proc_read_identity(c, &c->procs[i]);
			take_cgroup_verdict(&c->procs[i], ev);
			c->procs[i].maps_stale = true;
			learn_exec_file(c, &c->procs[i], prev != SIZE_MAX ? &c->procs[prev] : NULL,
					ev);
			learn_comm(&c->procs[i], ev);
		}
		break;
	case DRIP_EV_EXIT:
		if (u64map__get(&c->live, ev->hdr.tgid, &idx)) {
			c->procs[idx].exited = true;
			if (!c->procs[idx].nspid)
				c->procs[idx].nspid = ev->nspid;
			learn_comm(&c->procs[idx], ev);
			u64map__del(&c->live, ev->hdr.tgid);
			table__end(c->table, idx);
		}
		break;
	}
}

int collector__on_event(struct collector *c, const void *data, size_t size)
{
	const struct drip_ev_hdr *h = data;

	if (size < sizeof(*h))
		goto bad;
	/* the kernel's PID_MAX_LIMIT: anything else is a forged record */
	if (!h->tgid || h->tgid > 4194304)
		goto bad;
	switch (h->type) {
	case DRIP_EV_ALLOC:
		if (size < sizeof(struct drip_ev_alloc))
			goto bad;
		on_alloc(c, data);
		break;
	case DRIP_EV_FREE:
		if (size < sizeof(struct drip_ev_free))
			goto bad;
		on_free(c, data);
		break;
	case DRIP_EV_STACK: {
		const struct drip_ev_stack *s = data;

		if (size < offsetof(struct drip_ev_stack, ips) || s->nr > DRIP_MAX_FRAMES ||
		    size < offsetof(struct drip_ev_stack, ips) + s->nr * sizeof(__u64))
			goto bad;
		if (stacks__add(c->stacks, s->hash, (const uint64_t *)s->ips, s->nr, s->flags) < 0)
			return -ENOMEM;
		break;
	}
	case DRIP_EV_STACK_IDS: {
		const struct drip_ev_stack_ids *s = data;
		struct frame_ids *f;
		int64_t idx;
		uint64_t old;

		if (size < offsetof(struct drip_ev_stack_ids, ids) || s->nr > DRIP_MAX_FRAMES ||
		    size < offsetof(struct drip_ev_stack_ids, ids) + s->nr * sizeof(s->ids[0]))
			goto bad;
		idx = stacks__find(c->stacks, s->hash); /* its STACK record came first */
		if (idx < 0 || u64map__get(&c->stack_ids, (uint64_t)idx + 1, &old))
			break; /* sent again after BPF forgot it: keep the first */
		f = malloc(sizeof(*f) + s->nr * sizeof(f->ids[0]));
		if (!f)
			return -ENOMEM;
		f->nr = s->nr;
		memcpy(f->ids, s->ids, s->nr * sizeof(f->ids[0]));
		if (u64map__set(&c->stack_ids, (uint64_t)idx + 1, (uint64_t)(uintptr_t)f)) {
			free(f);
			return -ENOMEM;
		}
		break;
	}
	case DRIP_EV_NEED_FILE:
		if (size < sizeof(struct drip_ev_need_file))
			goto bad;
		break; /* the unwinder's business */
	case DRIP_EV_STACK_FILES: {
		const struct drip_ev_stack_files *s = data;
		struct frame_files *f;
		int64_t idx;
		uint64_t old;

		if (size < offsetof(struct drip_ev_stack_files, files) || s->nr > DRIP_MAX_FRAMES ||
		    size < offsetof(struct drip_ev_stack_files, files) +
				    s->nr * sizeof(s->files[0]))
			goto bad;
		idx = stacks__find(c->stacks, s->hash); /* its STACK record came first */
		if (idx < 0 || u64map__get(&c->stack_files, (uint64_t)idx + 1, &old))
			break;
		f = malloc(sizeof(*f) + s->nr * sizeof(f->f[0]));
		if (!f)
			return -ENOMEM;
		f->nr = s->nr;
		memcpy(f->f, s->files, s->nr * sizeof(f->f[0]));
		if (u64map__set(&c->stack_files, (uint64_t)idx + 1, (uint64_t)(uintptr_t)f)) {
			free(f);
			return -ENOMEM;
		}
		break;
	}
	case DRIP_EV_PY_STACK: {
		const struct drip_ev_py_stack *s = data;
		struct py_frames *f;
		int64_t idx;
		uint64_t old;

		if (size < offsetof(struct drip_ev_py_stack, frames) ||
		    s->nr > DRIP_PY_MAX_FRAMES ||
		    size < offsetof(struct drip_ev_py_stack, frames) + s->nr * sizeof(s->frames[0]))
			goto bad;
		idx = stacks__find(c->stacks, s->hash); /* its STACK record came first */
		if (idx < 0 || u64map__get(&c->stack_py, (uint64_t)idx + 1, &old))
			break;
		f = malloc(sizeof(*f) + s->nr * sizeof(f->f[0]));
		if (!f)
			return -ENOMEM;
		f->nr = s->nr;
		f->flags = s->flags;
		memcpy(f->f, s->frames, s->nr * sizeof(f->f[0]));
		if (u64map__set(&c->stack_py, (uint64_t)idx + 1, (uint64_t)(uintptr_t)f)) {
			free(f);
			return -ENOMEM;
		}
		break;
	}
	case DRIP_EV_FORK:
	case DRIP_EV_EXEC:
	case DRIP_EV_EXIT:
		if (size < sizeof(struct drip_ev_proc))
			goto bad;
		on_proc(c, data);
		break;
	default:
		goto bad;
	}
	return (int)h->type;
bad:
	c->n.bad_records++;
	return -EBADMSG;
}

void collector__on_late_free(struct collector *c, uint32_t tgid, uint64_t addr, uint64_t ts)
{
	uint64_t idx;

	c->n.late_frees++;
	/*
	 * The image that held tgid when the free happened: the latest one started
	 * by then (the pid may have been reused since; the overflow map is
	 * drained about once a second).
	 */
	if (!u64map__get(&c->live, tgid, &idx) || c->procs[idx].start_time > ts) {
		bool found = false;

		for (size_t i = c->nr_procs; i-- > 0;) {
			const struct proc *p = &c->procs[i];

			if (p->pid == (pid_t)tgid && !p->replaced && p->start_time <= ts) {
				idx = i;
				found = true;
				break;
			}
		}
		if (!found) {
			c->n.unknown_frees++;
			return;
		}
	}
	if (c->procs[idx].outside)
		return;
	/* only a block allocated before the free happened: the address may be reused since */
	release(c, (int)c->procs[idx].heap, addr, ts, ts, true);
}

/* ---- report snapshot ---- */

struct acc {
	uint32_t proc, stack;
	uint64_t bytes, count, oldest_ts;
};

struct build {
	struct collector *c;
	const struct snapshot_opts *o;
	struct u64map idx; /* site key -> acc index */
	struct acc *accs;
	size_t nr, cap;
	int err;
};

/* The accumulator of (proc, stack), created on first use. */
static struct acc *acc_of(struct build *b, uint32_t proc, uint32_t stack, uint64_t ts)
{
	uint64_t i;

	if (!u64map__get(&b->idx, site_key(proc, stack), &i)) {
		if (b->nr == b->cap) {
			size_t cap = b->cap ? 2 * b->cap : 256;
			struct acc *n = realloc(b->accs, cap * sizeof(*n));

			if (!n) {
				b->err = -ENOMEM;
				return NULL;
			}
			b->accs = n;
			b->cap = cap;
		}
		i = b->nr++;
		b->accs[i] = (struct acc){ .proc = proc, .stack = stack, .oldest_ts = ts };
		if (u64map__set(&b->idx, site_key(proc, stack), i)) {
			b->err = -ENOMEM;
			return NULL;
		}
	}
	return &b->accs[i];
}

static int acc_block(uint32_t proc, uint64_t addr, uint64_t size, uint32_t stack, uint64_t ts,
		     void *ctx)
{
	struct build *b = ctx;
	struct acc *a;

	if (b->o->min_age_ns && (ts > b->o->now_ns || b->o->now_ns - ts < b->o->min_age_ns))
		return 0;
	a = acc_of(b, proc, stack, ts);
	if (!a)
		return b->err;
	a->bytes += size;
	a->count++;
	if (ts < a->oldest_ts)
		a->oldest_ts = ts;
	return 0;
}

/* Sites whose blocks were all freed still get a row: their allocs and frees count. */
static int acc_site(uint32_t proc, uint32_t stack, const struct site_stats *st, void *ctx)
{
	struct build *b = ctx;

	if (b->c->procs[proc].replaced)
		return 0;
	return acc_of(b, proc, stack, b->o->now_ns) ? 0 : b->err;
}

/* stack_id: a hash of (build-id or module path, file offset) per frame, so
 * the same code path has one id in every process whatever its load address */
static uint64_t stack_id_of(const struct resolved *r)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; r && i < r->nr; i++) {
		const struct rframe *f = &r->frames[i];
		const uint8_t *p = f->build_id;
		size_t n = f->build_id_len;

		if (f->python) {
			/* the same Python code in any process: its names and line */
			const char *parts[2] = { f->function ? f->function : "?",
						 f->file ? f->file : "?" };

			for (int j = 0; j < 2; j++)
				for (const char *q = parts[j]; *q; q++)
					h = (h ^ (uint8_t)*q) * 0x100000001b3ULL;
			h = (h ^ f->line) * 0x100000001b3ULL;
			continue;
		}
		if (!p && f->module) {
			p = (const uint8_t *)f->module;
			n = strlen(f->module);
		}
		for (size_t k = 0; k < n; k++)
			h = (h ^ p[k]) * 0x100000001b3ULL;
		for (int k = 0; k < 8; k++)
			h = (h ^ ((f->file_offset >> (8 * k)) & 0xff)) * 0x100000001b3ULL;
	}
	return h;
}

static int cmp_stack(const void *a, const void *b)
{
	const struct report_stack *x = a, *y = b;

	if (x->outstanding_bytes != y->outstanding_bytes)
		return x->outstanding_bytes < y->outstanding_bytes ? 1 : -1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return strcmp(x->stack_id, y->stack_id);
}

static int cmp_merged(const void *a, const void *b)
{
	const struct report_merged *x = a, *y = b;

	if (x->outstanding_bytes != y->outstanding_bytes)
		return x->outstanding_bytes < y->outstanding_bytes ? 1 : -1;
	return strcmp(x->stack_id, y->stack_id);
}

/* a row's place among its process's rows, to find rows naming one stack twice */
struct row_key {
	uint32_t proc;
	size_t row;
	const char *stack_id;
};

static int cmp_row_key(const void *a, const void *b)
{
	const struct row_key *x = a, *y = b;
	int c;

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	c = strcmp(x->stack_id, y->stack_id);
	if (c)
		return c;
	return x->row < y->row ? -1 : x->row > y->row;
}

/*
 * One row per (process, stack_id): two captured stacks may name the same
 * frames (Python frames are named by function, file and line, which several
 * instruction offsets share), and stack_id is the stack's identity in the
 * report.  Fold such rows into the first; returns the new row count.
 */
static size_t fold_same_stack(struct report_stack *rows, const uint32_t *procs, size_t n)
{
	struct row_key *k = calloc(n ? n : 1, sizeof(*k));
	bool *gone = calloc(n ? n : 1, sizeof(*gone));
	size_t out = 0;

	if (!k || !gone) {
		free(k);
		free(gone);
		return n; /* duplicates stay: still a valid report */
	}
	for (size_t i = 0; i < n; i++)
		k[i] = (struct row_key){ .proc = procs[i], .row = i, .stack_id = rows[i].stack_id };
	qsort(k, n, sizeof(*k), cmp_row_key);
	for (size_t i = 1, head = 0; i < n; i++) {
		struct report_stack *to, *from;

		if (k[i].proc != k[head].proc || strcmp(k[i].stack_id, k[head].stack_id)) {
			head = i; /* the first row of a run: the others fold into it */
			continue;
		}
		to = &rows[k[head].row];
		from = &rows[k[i].row];
		to->outstanding_bytes += from->outstanding_bytes;
		to->outstanding_allocs += from->outstanding_allocs;
		to->allocs += from->allocs;
		to->alloc_bytes += from->alloc_bytes;
		to->frees += from->frees;
		to->inherited_frees += from->inherited_frees;
		to->truncated |= from->truncated;
		if (from->oldest_age_s > to->oldest_age_s)
			to->oldest_age_s = from->oldest_age_s;
		gone[k[i].row] = true;
	}
	for (size_t i = 0; i < n; i++)
		if (!gone[i])
			rows[out++] = rows[i];
	free(k);
	free(gone);
	return out;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct report_process *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->start_time < y->start_time ? -1 : x->start_time > y->start_time;
}

/* all report memory in one owner: the report itself is the first member */
struct owned_report {
	struct report r;
	struct report_process *procs;
	struct report_stack *stacks;
	struct report_merged *merged;
	struct report_frame *frames;
	struct report_frame *source_frames; /* collector__report_sources()'s */
	struct report_module *modules;
	char *build_ids; /* the modules' build-ids in hex, back to back */
	const char **drop_names;
	uint64_t *drop_counts;
};

void collector__report_free(struct report *r)
{
	struct owned_report *o = (struct owned_report *)r;

	if (!o)
		return;
	free(o->procs);
	free(o->stacks);
	free(o->merged);
	free(o->frames);
	free(o->source_frames);
	free(o->modules);
	free(o->build_ids);
	free(o->drop_names);
	free(o->drop_counts);
	free(o);
}

#define MAX_INLINE 32 /* report frames one native frame may expand to */

/*
 * A native frame's source, from DWARF: its inlined calls first, then its
 * function.  0 when DWARF says nothing (the frame keeps its ELF-symbol name).
 * Every frame is a return address: the call is the byte before it.
 */
static size_t frame_source(struct collector *c, const struct rframe *rf, struct sym_line *out)
{
	if (!rf->module || rf->module[0] != '/' || !rf->file_offset)
		return 0;
	return symbolizer__source(c->sym, rf->module, rf->build_id, rf->build_id_len,
				  rf->file_offset - 1, out, MAX_INLINE);
}

/*
 * Report frames of a resolved stack into f[0..room): with source, as many as
 * frame_source() makes; without, one per frame named by its symbol.
 */
static size_t put_frames(struct collector *c, const struct resolved *r, bool source,
			 struct report_frame *f, size_t room)
{
	struct sym_line lines[MAX_INLINE];
	size_t n = 0;

	for (uint32_t k = 0; r && k < r->nr; k++) {
		const struct rframe *rf = &r->frames[k];
		size_t nl = rf->python || !source ? 0 : frame_source(c, rf, lines);

		if (n + (nl ? nl : 1) > room)
			nl = 0; /* (cannot happen: counted with the same cached answers) */
		if (n + 1 > room)
			break;
		for (size_t j = 0; j < (nl ? nl : 1); j++, n++) {
			if (!f)
				continue; /* counting */
			if (rf->python) {
				f[n] = (struct report_frame){ .kind = FRAME_PYTHON,
							      .function = rf->function,
							      .file = rf->file,
							      .line = rf->line };
				continue;
			}
			f[n] = (struct report_frame){ .kind = FRAME_NATIVE,
						      .address = rf->addr,
						      .module = rf->module };
			/* the function itself: DWARF's name, else the symbol's */
			f[n].function = symbolizer__demangle(c->sym, rf->function);
			if (!nl)
				continue;
			if (lines[j].function || j + 1 < nl)
				f[n].function = lines[j].function;
			f[n].file = lines[j].file;
			f[n].line = lines[j].line;
			f[n].inlined = lines[j].inlined;
		}
	}
	return n;
}

void collector__symbol_stats(const struct collector *c, struct symbolizer_stats *out)
{
	symbolizer__stats(c->sym, out);
}

int collector__report_sources(struct collector *c, struct report *r, const bool *shown)
{
	struct owned_report *o = (struct owned_report *)r;
	struct report_stack *st = o->stacks;
	size_t n = 0, fi = 0;

	if (o->source_frames)
		return -EALREADY;
	for (size_t i = 0; i < r->nr_stacks; i++)
		if (shown[i] && st[i].origin)
			n += put_frames(c, &c->res[st[i].origin - 1], true, NULL, SIZE_MAX);
	o->source_frames = calloc(n ? n : 1, sizeof(*o->source_frames));
	if (!o->source_frames)
		return -ENOMEM;
	for (size_t i = 0; i < r->nr_stacks; i++) {
		if (!shown[i] || !st[i].origin)
			continue;
		st[i].frames = &o->source_frames[fi];
		st[i].nr_frames = put_frames(c, &c->res[st[i].origin - 1], true,
					     &o->source_frames[fi], n - fi);
		fi += st[i].nr_frames;
	}
	return 0;
}

/* ---- modules: the file each reported native frame lies in, per process ---- */

/* One (process row, module) while the report is built: see struct report_module */
struct mod_acc {
	size_t row; /* the process's row, before the rows are sorted */
	const char *path;
	const uint8_t *build_id;
	size_t build_id_len;
	uint64_t base, lo, hi; /* lo, hi: the lowest and highest frame address */
	size_t next;	       /* index + 1 of the next entry with the same key; 0: none */
};

struct mods {
	struct mod_acc *v;
	size_t nr, cap;
	struct u64map idx; /* mod_key() -> index + 1 of its newest entry */
};

/*
 * Frames name their module and build-id with a few shared strings, so an
 * entry is found by those pointers; entries whose strings are equal but
 * stored twice are merged by mods_finish().
 */
static uint64_t mod_key(size_t row, const struct rframe *f, uint64_t base)
{
	uint64_t h = hash_mix(row * 0x9e3779b97f4a7c15ull ^ (uintptr_t)f->module);

	h = hash_mix(h ^ (uintptr_t)f->build_id ^ (uint64_t)f->build_id_len << 48);
	h = hash_mix(h ^ base);
	return h ? h : 1; /* u64map reserves 0 */
}

static int mods_add(struct mods *m, size_t row, const struct rframe *f)
{
	uint64_t base = f->addr - f->file_offset, key = mod_key(row, f, base), head = 0;
	struct mod_acc *e;

	u64map__get(&m->idx, key, &head);
	for (size_t i = head; i; i = e->next) {
		e = &m->v[i - 1];
		if (e->row == row && e->path == f->module && e->build_id == f->build_id &&
		    e->build_id_len == f->build_id_len && e->base == base) {
			e->lo = f->addr < e->lo ? f->addr : e->lo;
			e->hi = f->addr > e->hi ? f->addr : e->hi;
			return 0;
		}
	}
	if (m->nr == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;
		struct mod_acc *n = realloc(m->v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		m->v = n;
		m->cap = cap;
	}
	m->v[m->nr++] = (struct mod_acc){ .row = row,
					  .path = f->module,
					  .build_id = f->build_id,
					  .build_id_len = f->build_id_len,
					  .base = base,
					  .lo = f->addr,
					  .hi = f->addr,
					  .next = head };
	return u64map__set(&m->idx, key, m->nr);
}

static int cmp_mod(const void *a, const void *b)
{
	const struct mod_acc *x = a, *y = b;
	int c;

	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	c = strcmp(x->path, y->path);
	if (c)
		return c;
	if (x->build_id_len != y->build_id_len)
		return x->build_id_len < y->build_id_len ? -1 : 1;
	c = x->build_id_len ? memcmp(x->build_id, y->build_id, x->build_id_len) : 0;
	if (c)
		return c;
	return x->base < y->base ? -1 : x->base > y->base;
}

static int cmp_mod_start(const void *a, const void *b)
{
	const struct mod_acc *x = a, *y = b;

	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The modules of the rows' native frames, into o->procs[row].modules */
static int add_modules(struct collector *c, const struct build *b, const size_t *proc_row,
		       struct owned_report *o)
{
	struct mods m = { 0 };
	size_t n = 0, hex = 0;
	char *h;
	int err = 0;

	u64map__init(&m.idx);
	for (size_t i = 0; i < b->nr && !err; i++) {
		const struct acc *a = &b->accs[i];
		const struct resolved *r;
		uint64_t ri;

		if (proc_row[a->proc] == SIZE_MAX || a->stack == NO_STACK ||
		    !u64map__get(&c->site_res, site_key(a->proc, a->stack), &ri))
			continue;
		r = &c->res[ri];
		for (uint32_t k = 0; k < r->nr && !err; k++)
			if (!r->frames[k].python && r->frames[k].module)
				err = mods_add(&m, proc_row[a->proc], &r->frames[k]);
	}
	if (err)
		goto out;
	/* one entry per (row, path, build-id, base), whatever stored its strings */
	if (m.nr)
		qsort(m.v, m.nr, sizeof(*m.v), cmp_mod);
	for (size_t i = 0; i < m.nr; i++) {
		struct mod_acc *e = &m.v[n];

		if (n && !cmp_mod(&m.v[n - 1], &m.v[i])) {
			e = &m.v[n - 1];
			e->lo = m.v[i].lo < e->lo ? m.v[i].lo : e->lo;
			e->hi = m.v[i].hi > e->hi ? m.v[i].hi : e->hi;
			continue;
		}
		*e = m.v[i];
		hex += e->build_id_len ? 2 * e->build_id_len + 1 : 0;
		n++;
	}
	if (n)
		qsort(m.v, n, sizeof(*m.v), cmp_mod_start);
	o->modules = calloc(n ? n : 1, sizeof(*o->modules));
	o->build_ids = h = malloc(hex ? hex : 1);
	if (!o->modules || !o->build_ids) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct mod_acc *e = &m.v[i];
		struct report_module *rm = &o->modules[i];
		struct report_process *rp = &o->procs[e->row];

		*rm = (struct report_module){ .path = e->path,
					      .base = e->base,
					      .start = e->lo,
					      .end = e->hi + (e->hi < UINT64_MAX) };
		if (e->build_id_len) {
			rm->build_id = h;
			for (size_t k = 0; k < e->build_id_len; k++, h += 2)
				snprintf(h, 3, "%02x", e->build_id[k]);
			*h++ = '\0';
		}
		if (!rp->nr_modules)
			rp->modules = rm;
		rp->nr_modules++;
	}
	o->r.has_modules = true;
out:
	free(m.v);
	u64map__release(&m.idx);
	return err;
}

static void add_drop(struct owned_report *o, const char *name, uint64_t v)
{
	if (!v)
		return;
	o->drop_names[o->r.nr_drops] = name;
	o->drop_counts[o->r.nr_drops] = v;
	o->r.nr_drops++;
}

int collector__report(struct collector *c, const struct snapshot_opts *so, struct report **out)
{
	struct build b = { .c = c, .o = so };
	struct owned_report *o;
	size_t nr_frames = 0, fi = 0, *proc_row = NULL;
	uint64_t bpf_lost = 0;
	int err = -ENOMEM;

	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	table__for_each_block(c->table, acc_block, &b);
	if (!b.err)
		table__for_each_site(c->table, acc_site, &b);
	if (b.err)
		goto out;

	/* processes: every image not replaced by exec */
	o->procs = calloc(c->nr_procs ? c->nr_procs : 1, sizeof(*o->procs));
	proc_row = calloc(c->nr_procs ? c->nr_procs : 1, sizeof(*proc_row));
	if (!o->procs || !proc_row)
		goto out;
	for (size_t i = 0; i < c->nr_procs; i++) {
		const struct proc *p = &c->procs[i];
		struct report_process *rp;

		proc_row[i] = SIZE_MAX;
		if (p->replaced || p->outside)
			continue;
		rp = &o->procs[o->r.nr_processes];
		proc_row[i] = o->r.nr_processes++;
		rp->pid = p->pid;
		rp->nspid = p->nspid == (uint32_t)p->pid ? 0 : p->nspid;
		rp->ppid = p->ppid;
		rp->start_time = p->start_time;
		rp->comm = p->comm; /* NULL: unknown (null in JSON) */
		rp->exe = p->exe;
		rp->exited = p->exited;
		table__inherited(c->table, i, &rp->inherited_bytes, &rp->inherited_allocs);
	}

	/*
	 * Symbolized here, late: only what the report shows, each frame once
	 * per build-id. With names_only, DWARF waits for collector__report_sources().
	 */
	for (size_t i = 0; i < b.nr; i++) {
		uint64_t ri;

		if (b.accs[i].stack != NO_STACK &&
		    u64map__get(&c->site_res, site_key(b.accs[i].proc, b.accs[i].stack), &ri))
			nr_frames += put_frames(c, &c->res[ri], !so->names_only, NULL, SIZE_MAX);
	}
	o->stacks = calloc(b.nr ? b.nr : 1, sizeof(*o->stacks));
	o->merged = calloc(b.nr ? b.nr : 1, sizeof(*o->merged));
	o->frames = calloc(nr_frames ? nr_frames : 1, sizeof(*o->frames));
	if (!o->stacks || !o->merged || !o->frames)
		goto out;

	for (size_t i = 0; i < b.nr; i++) {
		const struct acc *a = &b.accs[i];
		const struct proc *p = &c->procs[a->proc];
		const struct site_stats *st = table__site(c->table, a->proc, a->stack);
		struct report_stack *rs = &o->stacks[o->r.nr_stacks++];
		const struct resolved *r = NULL;
		uint64_t ri;
		uint32_t flags = 0;

		if (a->stack != NO_STACK) {
			stacks__ips(c->stacks, a->stack, &(uint32_t){ 0 }, &flags);
			if (u64map__get(&c->site_res, site_key(a->proc, a->stack), &ri)) {
				r = &c->res[ri];
				rs->origin = (uint32_t)ri + 1;
			}
		}
		rs->pid = p->pid;
		rs->exited = p->exited;
		rs->truncated = flags & DRIP_STACK_TRUNCATED;
		snprintf(rs->stack_id, sizeof(rs->stack_id), "%016" PRIx64,
			 a->stack == NO_STACK ? 0 : stack_id_of(r));
		rs->outstanding_bytes = a->bytes;
		rs->outstanding_allocs = a->count;
		rs->allocs = st ? st->allocs : a->count;
		rs->alloc_bytes = st ? st->alloc_bytes : a->bytes;
		rs->frees = st ? st->frees : 0;
		rs->inherited_frees = st ? st->inherited_frees : 0;
		rs->oldest_age_s =
			so->now_ns > a->oldest_ts ? (so->now_ns - a->oldest_ts) / 1e9 : 0;
		rs->frames = &o->frames[fi];
		rs->nr_frames = put_frames(c, r, !so->names_only, &o->frames[fi], nr_frames - fi);
		fi += rs->nr_frames;
		if (proc_row[a->proc] != SIZE_MAX) {
			o->procs[proc_row[a->proc]].outstanding_bytes += a->bytes;
			o->procs[proc_row[a->proc]].outstanding_allocs += a->count;
		}
		o->r.totals.outstanding_bytes += a->bytes;
		o->r.totals.outstanding_allocs += a->count;
	}
	{
		uint32_t *procs = calloc(b.nr ? b.nr : 1, sizeof(*procs));

		if (!procs)
			goto out;
		for (size_t i = 0; i < b.nr; i++)
			procs[i] = b.accs[i].proc;
		o->r.nr_stacks = fold_same_stack(o->stacks, procs, o->r.nr_stacks);
		free(procs);
	}
	qsort(o->stacks, o->r.nr_stacks, sizeof(*o->stacks), cmp_stack);
	if (add_modules(c, &b, proc_row, o)) /* rows in proc_row's order: before sorting them */
		goto out;
	qsort(o->procs, o->r.nr_processes, sizeof(*o->procs), cmp_proc);

	/* merged: one row per stack_id; stacks are sorted by bytes, so the first
	 * row met for an id is its largest */
	{
		struct u64map seen;

		u64map__init(&seen);
		for (size_t i = 0; i < o->r.nr_stacks; i++) {
			const struct report_stack *rs = &o->stacks[i];
			uint64_t id = strtoull(rs->stack_id, NULL, 16), mi;
			struct report_merged *m;

			if (!u64map__get(&seen, id + 1, &mi)) {
				mi = o->r.nr_merged++;
				m = &o->merged[mi];
				memcpy(m->stack_id, rs->stack_id, sizeof(m->stack_id));
				m->first_stack = i;
				m->min_pid_bytes = UINT64_MAX;
				if (u64map__set(&seen, id + 1, mi)) {
					u64map__release(&seen);
					goto out;
				}
			}
			m = &o->merged[mi];
			/* a child's row of only inherited frees is its parent's block, not its own */
			if (!rs->allocs && !rs->outstanding_allocs)
				continue;
			m->pids++;
			m->outstanding_bytes += rs->outstanding_bytes;
			m->outstanding_allocs += rs->outstanding_allocs;
			if (rs->outstanding_bytes < m->min_pid_bytes)
				m->min_pid_bytes = rs->outstanding_bytes;
			if (rs->outstanding_bytes > m->max_pid_bytes)
				m->max_pid_bytes = rs->outstanding_bytes;
		}
		u64map__release(&seen);
		for (size_t i = 0; i < o->r.nr_merged; i++)
			if (o->merged[i].min_pid_bytes == UINT64_MAX)
				o->merged[i].min_pid_bytes = 0;
		/* first_stack indexes stay valid: stacks are not moved again */
		qsort(o->merged, o->r.nr_merged, sizeof(*o->merged), cmp_merged);
	}

	o->drop_names = calloc(DRIP_STAT__COUNT + 16, sizeof(*o->drop_names));
	o->drop_counts = calloc(DRIP_STAT__COUNT + 16, sizeof(*o->drop_counts));
	if (!o->drop_names || !o->drop_counts)
		goto out;
	if (so->bpf_drops) {
		extern const char *const drip_stat_names[DRIP_STAT__COUNT];

		for (int i = 0; i < DRIP_STAT__COUNT; i++) {
			add_drop(o, drip_stat_names[i], so->bpf_drops[i]);
			/* recovered (stale entries, late frees), degraded (frame pointers
			 * instead of tables) or unwind failures: listed, not lost events */
			if (i != DRIP_STAT_STALE_PENDING && i != DRIP_STAT_RB_FULL_FREE &&
			    i != DRIP_STAT_TABLE_NOT_READY && i != DRIP_STAT_UNWIND_FAIL &&
			    i != DRIP_STAT_STACK_ERR && i != DRIP_STAT_PY_FAULT)
				bpf_lost += so->bpf_drops[i];
		}
	}
	add_drop(o, "implied_frees", c->n.implied_frees);
	add_drop(o, "unknown_stacks", c->n.unknown_stacks);
	add_drop(o, "bad_records", c->n.bad_records);
	add_drop(o, "late_frees", c->n.late_frees);
	add_drop(o, "exec_released", c->n.exec_released);
	add_drop(o, "allocator_mmaps", c->n.allocator_mmaps);
	add_drop(o, "attach_gaps", c->n.attach_gaps);

	o->r.duration_s = so->duration_s;
	o->r.totals.allocs = c->n.allocs;
	o->r.totals.alloc_bytes = c->n.alloc_bytes;
	o->r.has_alloc_bytes = true;
	o->r.totals.frees = c->n.frees;
	o->r.totals.unknown_frees = c->n.unknown_frees;
	o->r.totals.inherited_frees = c->n.inherited_frees;
	o->r.totals.events_lost = bpf_lost + c->n.implied_frees + c->n.bad_records;
	o->r.totals.unwind_failures = so->bpf_drops ? so->bpf_drops[DRIP_STAT_STACK_ERR] +
							      so->bpf_drops[DRIP_STAT_UNWIND_FAIL] :
						      0;
	/*
	 * Incomplete: an event or a whole stack was lost.  A walk cut short is
	 * counted in unwind_failures and flagged on its stack ("truncated").
	 */
	o->r.incomplete = o->r.totals.events_lost || c->n.unknown_stacks || c->n.attach_gaps ||
			  (so->bpf_drops && so->bpf_drops[DRIP_STAT_STACK_ERR]);
	o->r.processes = o->procs;
	o->r.stacks = o->stacks;
	o->r.merged = o->merged;
	o->r.drop_names = o->drop_names;
	o->r.drop_counts = o->drop_counts;
	*out = &o->r;
	o = NULL;
	err = 0;
out:
	free(proc_row);
	free(b.accs);
	u64map__release(&b.idx);
	collector__report_free(o ? &o->r : NULL);
	return err;
}
