// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "drip/log.h"
#include "drip/session.h"
#include "drip.skel.h"

const char *const drip_stat_names[DRIP_STAT__COUNT] = {
	[DRIP_STAT_RB_FULL_ALLOC] = "ringbuf_full_alloc",
	[DRIP_STAT_RB_FULL_STACK] = "ringbuf_full_stack",
	[DRIP_STAT_RB_FULL_FREE] = "ringbuf_full_free",
	[DRIP_STAT_FREE_LOST] = "free_lost",
	[DRIP_STAT_RB_FULL_PROC] = "ringbuf_full_proc",
	[DRIP_STAT_NEST_FULL] = "nest_full",
	[DRIP_STAT_STACK_ERR] = "stack_error",
	[DRIP_STAT_NO_TASK_STORAGE] = "no_task_storage",
	[DRIP_STAT_STALE_PENDING] = "stale_pending",
	[DRIP_STAT_MEMPTR_READ] = "memptr_unreadable",
	[DRIP_STAT_TARGETS_FULL] = "targets_full",
	[DRIP_STAT_TABLE_NOT_READY] = "table_not_ready",
	[DRIP_STAT_UNWIND_FAIL] = "unwind_failures",
	[DRIP_STAT_PY_FAULT] = "python_frame_unreadable",
};

struct session {
	struct drip_bpf *skel;
	struct ring_buffer *rb;	    /* events and requests: what poll waits on */
	struct ring_buffer *req_rb; /* requests alone, taken before each event */
	struct session_opts o;
	int nr_cpus;
};

static int handle_request(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;

	return s->o.on_event(s->o.ctx, data, size);
}

static int handle_record(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;

	/* a table asked for meanwhile is built first: stacks through it are coming */
	ring_buffer__consume(s->req_rb);
	return s->o.on_event(s->o.ctx, data, size);
}

int session__open(const struct session_opts *o, struct session **out)
{
	struct session *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->o = *o;
	s->nr_cpus = libbpf_num_possible_cpus();
	s->skel = drip_bpf__open();
	if (!s->skel) {
		err = -errno;
		pr_err("cannot open BPF object: %s", strerror(-err));
		goto err_free;
	}
	s->skel->rodata->cfg.follow_children = o->follow_children;
	s->skel->rodata->cfg.trace_mmap = o->trace_mmap;
	s->skel->rodata->cfg.capture_stacks = o->stacks;
	s->skel->rodata->cfg.wakeup_bytes = o->ringbuf_size / 4;
	s->skel->rodata->cfg.empty_programs = o->empty_programs;
	s->skel->rodata->cfg.dwarf = o->dwarf;
	s->skel->rodata->cfg.cgroup_filter = o->cgroup_fd >= 0;
	err = bpf_map__set_max_entries(s->skel->maps.unwind_rows,
				       o->dwarf && o->unwind_rows ? o->unwind_rows : 1);
	if (err)
		goto err_free;
	err = bpf_map__set_max_entries(s->skel->maps.events, o->ringbuf_size);
	if (err)
		goto err_free;
	/* mmap stays: an allocator mapped by dlopen must be probed as it arrives */
	if (!o->trace_mmap) {
		bpf_program__set_autoload(s->skel->progs.on_munmap_enter, false);
		bpf_program__set_autoload(s->skel->progs.on_mremap_enter, false);
		bpf_program__set_autoload(s->skel->progs.on_mremap_exit, false);
		bpf_program__set_autoload(s->skel->progs.on_brk_enter, false);
		bpf_program__set_autoload(s->skel->progs.on_brk_exit, false);
	}
	err = drip_bpf__load(s->skel);
	if (err) {
		pr_err("cannot load BPF programs: %s", strerror(-err));
		pr_hint("run 'drip doctor' to see which kernel feature is missing");
		goto err_free;
	}
	if (o->cgroup_fd >= 0) {
		__u32 zero = 0, fd = o->cgroup_fd;

		if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.cgroup_filter), &zero, &fd,
					BPF_ANY)) {
			err = -errno;
			pr_err("cannot use the --cgroup directory in BPF: %s", strerror(-err));
			goto err_free;
		}
	}
	/* the tracepoints filter by the targets map, empty until add_target */
	s->skel->links.on_fork = bpf_program__attach(s->skel->progs.on_fork);
	s->skel->links.on_exec = bpf_program__attach(s->skel->progs.on_exec);
	s->skel->links.on_exit = bpf_program__attach(s->skel->progs.on_exit);
	if (!s->skel->links.on_fork || !s->skel->links.on_exec || !s->skel->links.on_exit) {
		err = -errno;
		pr_err("cannot attach sched tracepoints: %s", strerror(-err));
		goto err_free;
	}
	s->skel->links.on_mmap_enter = bpf_program__attach(s->skel->progs.on_mmap_enter);
	s->skel->links.on_mmap_exit = bpf_program__attach(s->skel->progs.on_mmap_exit);
	if (!s->skel->links.on_mmap_enter || !s->skel->links.on_mmap_exit) {
		err = -errno;
		pr_err("cannot attach mmap tracepoints: %s", strerror(-err));
		goto err_free;
	}
	if (o->trace_mmap) {
		s->skel->links.on_munmap_enter =
			bpf_program__attach(s->skel->progs.on_munmap_enter);
		s->skel->links.on_mremap_enter =
			bpf_program__attach(s->skel->progs.on_mremap_enter);
		s->skel->links.on_mremap_exit = bpf_program__attach(s->skel->progs.on_mremap_exit);
		s->skel->links.on_brk_enter = bpf_program__attach(s->skel->progs.on_brk_enter);
		s->skel->links.on_brk_exit = bpf_program__attach(s->skel->progs.on_brk_exit);
		if (!s->skel->links.on_munmap_enter || !s->skel->links.on_mremap_enter ||
		    !s->skel->links.on_mremap_exit || !s->skel->links.on_brk_enter ||
		    !s->skel->links.on_brk_exit) {
			err = -errno;
			pr_err("cannot attach mmap tracepoints: %s", strerror(-err));
			goto err_free;
		}
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), handle_record, s, NULL);
	s->req_rb = ring_buffer__new(bpf_map__fd(s->skel->maps.requests), handle_request, s, NULL);
	if (!s->rb || !s->req_rb ||
	    ring_buffer__add(s->rb, bpf_map__fd(s->skel->maps.requests), handle_request, s)) {
		err = -errno;
		pr_err("cannot set up the ring buffer: %s", strerror(-err));
		goto err_free;
	}
	*out = s;
	return 0;
err_free:
	session__free(s);
	return err;
}

void session__free(struct session *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	ring_buffer__free(s->req_rb);
	drip_bpf__destroy(s->skel);
	free(s);
}

struct drip_bpf *session__skel(struct session *s)
{
	return s->skel;
}

int session__add_target(struct session *s, pid_t tgid)
{
	__u32 k = tgid, one = 1;

	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.targets), &k, &one, BPF_ANY))
		return -errno;
	return 0;
}

int session__set_python(struct session *s, pid_t tgid, const struct drip_py_proc *py)
{
	__u32 k = tgid;

	if (!py) {
		bpf_map_delete_elem(bpf_map__fd(s->skel->maps.py_procs), &k);
		return 0;
	}
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.py_procs), &k, py, BPF_ANY))
		return -errno;
	s->skel->bss->py_active = 1; /* from now on allocations look their process up */
	return 0;
}

int session__targets(struct session *s, pid_t **pids, size_t *n)
{
	int fd = bpf_map__fd(s->skel->maps.targets);
	size_t cap = 64, nr = 0;
	__u32 key, next, *prev = NULL;
	pid_t *v = malloc(cap * sizeof(*v));

	if (!v)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (nr == cap) {
			pid_t *nv = realloc(v, 2 * cap * sizeof(*v));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap *= 2;
		}
		v[nr++] = next;
		key = next;
		prev = &key;
	}
	*pids = v;
	*n = nr;
	return 0;
}

int session__poll(struct session *s, int timeout_ms)
{
	int n = ring_buffer__poll(s->rb, timeout_ms);

	if (n < 0 && n != -EINTR)
		return n;
	/* wake-ups are batched in BPF: always pick up what arrived quietly */
	n = ring_buffer__consume(s->rb);
	return n == -EINTR ? 0 : n;
}

static void drain_overflow(struct session *s)
{
	int fd = bpf_map__fd(s->skel->maps.free_overflow);
	struct drip_free_key next;
	__u64 ts;

	/*
	 * Take the first key and its value in one step: BPF may store a newer
	 * free of the same address between a lookup and a delete.
	 */
	for (int i = 0; i < 4 * 65536 && !bpf_map_get_next_key(fd, NULL, &next); i++) {
		if (bpf_map_lookup_and_delete_elem(fd, &next, &ts))
			continue; /* gone meanwhile: the next pass takes the next key */
		if (s->o.on_late_free)
			s->o.on_late_free(s->o.ctx, next.tgid, next.addr, ts);
	}
}

int session__drain(struct session *s)
{
	int n = ring_buffer__consume(s->rb);

	/* the ring first: a late free's allocation was submitted before it */
	drain_overflow(s);
	return n < 0 ? n : 0;
}

int session__stats(struct session *s, uint64_t counts[DRIP_STAT__COUNT])
{
	int fd = bpf_map__fd(s->skel->maps.stats);
	__u64 *vals = calloc(s->nr_cpus, sizeof(*vals));

	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < DRIP_STAT__COUNT; i++) {
		counts[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (int c = 0; c < s->nr_cpus; c++)
			counts[i] += vals[c];
	}
	free(vals);
	return 0;
}
