// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Export benchmark for the flame-graph writers (not a test: timing never
 * decides pass or fail). Builds a synthetic report in memory, 100k unique
 * stacks of depth 30 over 64 processes by default, and times format_svg()
 * and format_html() into a file, best of a few runs, with the output's size.
 *
 * Stacks are random walks in a call graph of 5000 functions (8 callees each)
 * from main, so outer frames are shared and inner ones diverge, as in a real
 * program. Weights: "uniform" (every stack alike: the tree is pruned a few
 * levels down) or "zipf" (stack i weighs 1/(i+1): the largest stay wide all
 * the way up, the worst case for the number of frames drawn).
 *
 *   make build/bench/flame_bench && build/bench/flame_bench [stacks [depth [outdir]]]
 *
 * (`make bench` runs it; it links drip's objects, as the unit tests do.)
 *
 * With outdir, the outputs stay there as flame-{uniform,zipf}.{svg,html}.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "drip/flame.h"
#include "drip/formats.h"

#define NR_FUNCS   5000
#define NR_CALLEES 8
#define NR_PROCS   64
#define RUNS	   3

static const char *const modules[] = {
	"/opt/app/bin/server",
	"/opt/app/lib/libparse.so.2",
	"/usr/lib/x86_64-linux-gnu/libc.so.6",
	"/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30",
};

static char *names[NR_FUNCS];
static struct report_frame funcs[NR_FUNCS];
static uint32_t callees[NR_FUNCS][NR_CALLEES];
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void make_funcs(void)
{
	static const char *const ns[] = { "app", "net", "json", "std", "db", "cache" };

	for (int i = 0; i < NR_FUNCS; i++) {
		if (asprintf(&names[i],
			     "%s::Handler%d<Record>::process_%d(Context&, unsigned long)",
			     ns[i % 6], i / 17, i) < 0)
			exit(1);
		funcs[i] = (struct report_frame){ .kind = FRAME_NATIVE,
						  .address = 0x400000 + 64 * i,
						  .module = modules[i % 4],
						  .function = names[i],
						  .file = "src/handler.cc",
						  .line = i };
		for (int k = 0; k < NR_CALLEES; k++)
			callees[i][k] = next() % NR_FUNCS;
	}
	funcs[0].function = "main";
	funcs[0].module = modules[0];
}

static void make_report(struct report *r, size_t nr, size_t depth, bool zipf)
{
	struct report_process *procs = calloc(NR_PROCS, sizeof(*procs));
	struct report_stack *stacks = calloc(nr, sizeof(*stacks));
	struct report_merged *merged = calloc(nr, sizeof(*merged));
	struct report_frame *frames = calloc(nr * depth, sizeof(*frames));

	if (!procs || !stacks || !merged || !frames)
		exit(1);
	memset(r, 0, sizeof(*r));
	for (int p = 0; p < NR_PROCS; p++)
		procs[p] = (struct report_process){
			.pid = 1000 + p, .ppid = 1, .comm = "server", .exe = modules[0]
		};
	for (size_t i = 0; i < nr; i++) {
		struct report_frame *fr = frames + i * depth;
		uint32_t f = 0;

		/* frames[0] innermost: walk from main down, fill from the end */
		for (size_t d = 0; d < depth; d++) {
			fr[depth - 1 - d] = funcs[f];
			f = callees[f][next() % NR_CALLEES];
		}
		stacks[i] = (struct report_stack){
			.pid = 1000 + i % NR_PROCS,
			.outstanding_bytes = zipf ? 100000000 / (i + 1) + 1 : 1 + next() % 65536,
			.outstanding_allocs = 1 + i % 7,
			.allocs = 10,
			.nr_frames = depth,
			.frames = fr,
		};
		snprintf(stacks[i].stack_id, sizeof(stacks[i].stack_id), "%016zx", i);
		r->totals.outstanding_bytes += stacks[i].outstanding_bytes;
		r->totals.outstanding_allocs += stacks[i].outstanding_allocs;
		procs[i % NR_PROCS].outstanding_bytes += stacks[i].outstanding_bytes;
		procs[i % NR_PROCS].outstanding_allocs += stacks[i].outstanding_allocs;
		merged[i] =
			(struct report_merged){ .pids = 1,
						.outstanding_bytes = stacks[i].outstanding_bytes,
						.outstanding_allocs = stacks[i].outstanding_allocs,
						.min_pid_bytes = stacks[i].outstanding_bytes,
						.max_pid_bytes = stacks[i].outstanding_bytes,
						.first_stack = i };
		memcpy(merged[i].stack_id, stacks[i].stack_id, sizeof(merged[i].stack_id));
	}
	/* the writers expect the report's order: largest first */
	r->duration_s = 60;
	r->nr_processes = NR_PROCS;
	r->processes = procs;
	r->nr_stacks = nr;
	r->stacks = stacks;
	r->nr_merged = nr;
	r->merged = merged;
}

static void free_report(struct report *r)
{
	free((void *)r->stacks[0].frames);
	free((void *)r->stacks);
	free((void *)r->merged);
	free((void *)r->processes);
}

static void run(const char *what, const char *fmt, const struct report *r, const char *dir,
		int (*write)(const struct report *, const struct format_opts *, FILE *))
{
	char path[512];
	uint64_t best = UINT64_MAX;
	struct stat st;

	snprintf(path, sizeof(path), "%s/flame-%s.%s", dir, what, fmt);
	for (int i = 0; i < RUNS; i++) {
		FILE *f = fopen(path, "w");
		uint64_t t0 = now_ns();
		int err;

		if (!f) {
			perror(path);
			exit(1);
		}
		err = write(r, NULL, f);
		if (fclose(f) || err) {
			fprintf(stderr, "flame_bench: writing %s failed: %d\n", path, err);
			exit(1);
		}
		if (now_ns() - t0 < best)
			best = now_ns() - t0;
	}
	stat(path, &st);
	printf("%-8s %-5s %8.1f ms %10.2f MiB\n", what, fmt, best / 1e6, st.st_size / 1048576.0);
}

static void tree_stats(const char *what, const struct report *r)
{
	struct flame_opts o = { .min_share = FLAME_MIN_SHARE };
	struct flame *fl;
	uint64_t t0 = now_ns();

	if (flame__new(r, NULL, &o, &fl))
		exit(1);
	printf("%-8s tree  %8.1f ms  %zu frames kept (depth %u), %zu cut (%.2f%% of bytes)\n", what,
	       (now_ns() - t0) / 1e6, fl->nr_nodes, fl->max_depth, fl->pruned_frames,
	       100.0 * fl->pruned.bytes / fl->nodes[0].now.bytes);
	flame__free(fl);
}

int main(int argc, char **argv)
{
	size_t nr = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000;
	size_t depth = argc > 2 ? strtoul(argv[2], NULL, 0) : 30;
	const char *dir = argc > 3 ? argv[3] : "/tmp";
	struct report r;

	if (!nr || !depth) {
		fprintf(stderr, "usage: flame_bench [stacks [depth [outdir]]]\n");
		return 1;
	}
	make_funcs();
	printf("flame_bench: %zu stacks of depth %zu, %d processes, best of %d\n", nr, depth,
	       NR_PROCS, RUNS);
	for (int zipf = 0; zipf < 2; zipf++) {
		const char *what = zipf ? "zipf" : "uniform";

		make_report(&r, nr, depth, zipf);
		tree_stats(what, &r);
		run(what, "svg", &r, dir, format_svg);
		run(what, "html", &r, dir, format_html);
		free_report(&r);
	}
	for (int i = 0; i < NR_FUNCS; i++)
		free(names[i]);
	return 0;
}
