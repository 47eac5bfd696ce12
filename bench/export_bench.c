// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Export benchmark for the json, folded and pprof writers and the JSON
 * loader (not a test: timing never decides pass or fail). Builds a
 * synthetic report in memory, 100k unique stacks of depth 30 over 64
 * processes by default, times each writer into a file (best of 3) with the
 * file's size, then times loading the JSON back (`drip report`'s first
 * step) and prints the `drip report` commands that time the whole path.
 *
 * Stacks are random walks in a call graph of 5000 functions (8 callees
 * each) from main, as in bench/flame_bench.c; weights fall off as 1/(i+1)
 * so the report is in its documented order (largest first). The functions
 * lie in 4 modules with build-ids; the processes are forked workers, so
 * every process lists the same 4 modules at the same bases.
 *
 *   gcc -O2 -g -std=gnu11 -D_GNU_SOURCE -Iinclude -o build/export_bench \
 *	bench/export_bench.c src/report/json.c src/json_writer.c src/utf8.c src/report/folded.c \
 *	src/report/pprof.c src/report/protobuf.c src/report/load.c src/json_parse.c \
 *	src/u64map.c src/report/units.c -lz -lm && build/export_bench [stacks [depth [outdir]]]
 *
 * The outputs stay in outdir (default /tmp) as export.{json,folded,pb.gz}.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "drip/formats.h"
#include "drip/report_load.h"

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
static const uint64_t bases[] = { 0x55d0c0de0000, 0x7f3a10000000, 0x7f3a20000000, 0x7f3a30000000 };
static const char *const build_ids[] = { "5e4e45d0c0de0000000000000000000000000001",
					 "5e4e45d0c0de0000000000000000000000000002",
					 "93ac61ec5a8eb1396f9fbd350e3169a558528a40",
					 "133b71e0013695cc7832680479e1fcc8c4cc42d1" };
static struct report_module mods[4];

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

/* user + system CPU time of this process: steadier than wall time on a busy machine */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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
						  .address = bases[i % 4] + 0x1000 + 64 * i,
						  .module = modules[i % 4],
						  .function = names[i],
						  .file = "src/handler.cc",
						  .line = i };
		for (int k = 0; k < NR_CALLEES; k++)
			callees[i][k] = next() % NR_FUNCS;
	}
	funcs[0].function = "main";
	funcs[0].module = modules[0];
	for (int m = 0; m < 4; m++) /* their ranges: what frames in them the stacks can have */
		mods[m] = (struct report_module){ .path = modules[m],
						  .build_id = build_ids[m],
						  .base = bases[m],
						  .start = funcs[m].address,
						  .end = funcs[NR_FUNCS - 4 + m].address + 1 };
}

static void make_report(struct report *r, size_t nr, size_t depth)
{
	struct report_process *procs = calloc(NR_PROCS, sizeof(*procs));
	struct report_stack *stacks = calloc(nr, sizeof(*stacks));
	struct report_merged *merged = calloc(nr, sizeof(*merged));
	struct report_frame *frames = calloc(nr * depth, sizeof(*frames));

	if (!procs || !stacks || !merged || !frames)
		exit(1);
	memset(r, 0, sizeof(*r));
	for (int p = 0; p < NR_PROCS; p++)
		procs[p] = (struct report_process){ .pid = 1000 + p,
						    .ppid = 1,
						    .comm = "server",
						    .exe = modules[0],
						    .nr_modules = 4,
						    .modules = mods };
	for (size_t i = 0; i < nr; i++) {
		struct report_frame *fr = frames + i * depth;
		uint32_t f = 0;

		for (size_t d = 0; d < depth; d++) { /* frames[0] innermost: fill from the end */
			fr[depth - 1 - d] = funcs[f];
			f = callees[f][next() % NR_CALLEES];
		}
		stacks[i] = (struct report_stack){
			.pid = 1000 + i % NR_PROCS,
			.outstanding_bytes = 100000000 / (i + 1) + 1,
			.outstanding_allocs = 1 + i % 7,
			.allocs = 10,
			.alloc_bytes = 10 * (100000000 / (i + 1) + 1),
			.frees = 3,
			.oldest_age_s = 1.5,
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
	r->duration_s = 60;
	r->has_alloc_bytes = true;
	r->has_modules = true;
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

static void run(const char *fmt, const char *ext, const struct report *r, const char *dir,
		int (*write)(const struct report *, const struct format_opts *, FILE *))
{
	struct format_opts o = { .top = 20 };
	uint64_t best = UINT64_MAX, best_cpu = UINT64_MAX, t;
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/export.%s", dir, ext);
	for (int i = 0; i < RUNS; i++) {
		FILE *f = fopen(path, "w");
		uint64_t t0 = now_ns(), c0 = cpu_ns();
		int err;

		if (!f) {
			perror(path);
			exit(1);
		}
		err = write(r, &o, f);
		if (fclose(f) || err) {
			fprintf(stderr, "export_bench: writing %s failed: %d\n", path, err);
			exit(1);
		}
		t = now_ns() - t0;
		if (t < best)
			best = t;
		t = cpu_ns() - c0;
		if (t < best_cpu)
			best_cpu = t;
	}
	stat(path, &st);
	printf("write %-7s %8.1f ms (cpu %7.1f ms) %10.2f MiB  %s\n", fmt, best / 1e6,
	       best_cpu / 1e6, st.st_size / 1048576.0, path);
}

/* format_json without formats.c (which needs every writer) */
static int write_json(const struct report *r, const struct format_opts *o, FILE *f)
{
	return report__write_json(r, f);
}

static void load(const char *dir)
{
	uint64_t best = UINT64_MAX, best_cpu = UINT64_MAX, t;
	struct report *r;
	char path[512], why[256];
	struct rusage ru;

	snprintf(path, sizeof(path), "%s/export.json", dir);
	for (int i = 0; i < RUNS; i++) {
		uint64_t t0 = now_ns(), c0 = cpu_ns();

		if (report_load__file(path, &r, why, sizeof(why))) {
			fprintf(stderr, "export_bench: cannot load %s: %s\n", path, why);
			exit(1);
		}
		t = now_ns() - t0;
		if (t < best)
			best = t;
		t = cpu_ns() - c0;
		if (t < best_cpu)
			best_cpu = t;
		report_load__free(r);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("load  json    %8.1f ms (cpu %7.1f ms)  peak rss of this process %ld MiB\n",
	       best / 1e6, best_cpu / 1e6, ru.ru_maxrss >> 10);
}

int main(int argc, char **argv)
{
	size_t nr = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000;
	size_t depth = argc > 2 ? strtoul(argv[2], NULL, 0) : 30;
	const char *dir = argc > 3 ? argv[3] : "/tmp";
	struct report r;

	if (!nr || !depth) {
		fprintf(stderr, "usage: export_bench [stacks [depth [outdir]]]\n");
		return 1;
	}
	make_funcs();
	printf("export_bench: %zu stacks of depth %zu, %d processes, best of %d\n", nr, depth,
	       NR_PROCS, RUNS);
	make_report(&r, nr, depth);
	run("json", "json", &r, dir, write_json);
	run("folded", "folded", &r, dir, format_folded);
	run("pprof", "pb.gz", &r, dir, format_pprof);
	free_report(&r);
	load(dir);
	printf("the whole path, load + write (time each):\n");
	printf("  time ./drip report %s/export.json -f folded -o %s/re.folded\n", dir, dir);
	printf("  time ./drip report %s/export.json -o %s/re.pb.gz\n", dir, dir);
	printf("  time ./drip report %s/export.json -f json -o %s/re.json\n", dir, dir);
	for (int i = 0; i < NR_FUNCS; i++)
		free(names[i]);
	return 0;
}
