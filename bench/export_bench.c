// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Export benchmark (not a test: timing never decides pass or fail). Builds a
 * synthetic report in memory, 100k unique stacks of depth 30 over 64
 * processes by default, and times each writer into a file (best of 3) with
 * the file's size: json, folded, pprof, svg, html. Then it times loading the
 * JSON back (`drip report`'s first step), and with -x DRIP the whole path:
 * `DRIP report export.json -f FMT -o FILE` per format, run as a child, with
 * its wall time and peak RSS.
 *
 * Stacks are random walks in a call graph of 5000 functions (8 callees
 * each) from main, as in bench/flame_bench.c; weights fall off as 1/(i+1)
 * so the report is in its documented order (largest first). The functions
 * lie in 4 modules with build-ids; the processes are forked workers, so
 * every process lists the same 4 modules at the same bases.
 *
 *   make build/bench/export_bench && build/bench/export_bench [-x ./drip] [-r RUNS] \
 *	[-p json,folded,pprof,svg,html,load,report] [stacks [depth [outdir]]]
 *
 * -p picks the phases (load needs json's output; report needs -x). Outputs
 * stay in outdir (default /tmp) as export.{json,folded,pb.gz,svg,html}.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static int runs = 3;

static void run(const char *fmt, const char *ext, const struct report *r, const char *dir,
		int (*write)(const struct report *, const struct format_opts *, FILE *))
{
	struct format_opts o = { .top = 20 };
	uint64_t best = UINT64_MAX, best_cpu = UINT64_MAX, t;
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/export.%s", dir, ext);
	for (int i = 0; i < runs; i++) {
		FILE *f;
		uint64_t t0, c0;
		int err;

		/*
		 * A new file each time: ext4 writes back a file that was truncated and
		 * rewritten when it is closed (auto_da_alloc), which would time the disk
		 */
		unlink(path);
		f = fopen(path, "w");
		t0 = now_ns();
		c0 = cpu_ns();

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
	printf("write  %-7s %8.1f ms (cpu %7.1f ms) %9.2f MiB  %s\n", fmt, best / 1e6,
	       best_cpu / 1e6, st.st_size / 1048576.0, path);
}

/* format_json without formats.c's table */
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
	for (int i = 0; i < runs; i++) {
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
	printf("load   json    %8.1f ms (cpu %7.1f ms)  peak rss of this process %ld MiB\n",
	       best / 1e6, best_cpu / 1e6, ru.ru_maxrss >> 10);
}

/* `drip report export.json -f fmt -o export-re.ext` as a child: wall time, peak RSS */
static void report(const char *drip, const char *fmt, const char *ext, const char *dir)
{
	uint64_t best = UINT64_MAX, t;
	char in[512], out[512];
	long rss = 0;
	struct rusage ru;
	struct stat st;
	int status;
	pid_t pid;

	snprintf(in, sizeof(in), "%s/export.json", dir);
	snprintf(out, sizeof(out), "%s/export-re.%s", dir, ext);
	for (int i = 0; i < runs; i++) {
		uint64_t t0;

		unlink(out); /* a new file, as in run() */
		t0 = now_ns();
		pid = fork();
		if (pid < 0) {
			perror("fork");
			exit(1);
		}
		if (!pid) {
			execl(drip, drip, "report", in, "-f", fmt, "-o", out, (char *)NULL);
			perror(drip);
			_exit(127);
		}
		if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			fprintf(stderr, "export_bench: %s report %s -f %s failed\n", drip, in, fmt);
			exit(1);
		}
		t = now_ns() - t0;
		if (t < best)
			best = t;
		if (ru.ru_maxrss > rss)
			rss = ru.ru_maxrss;
	}
	stat(out, &st);
	printf("report %-7s %8.1f ms  peak rss %5ld MiB  %9.2f MiB  drip report %s -f %s\n", fmt,
	       best / 1e6, rss >> 10, st.st_size / 1048576.0, in, fmt);
}

static bool want(const char *phases, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = phases; (p = strstr(p, name)); p += n)
		if ((p == phases || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

static const struct {
	const char *name, *ext;
	int (*write)(const struct report *, const struct format_opts *, FILE *);
} formats[] = {
	{ "json", "json", write_json },	    { "folded", "folded", format_folded },
	{ "pprof", "pb.gz", format_pprof }, { "svg", "svg", format_svg },
	{ "html", "html", format_html },
};

int main(int argc, char **argv)
{
	const char *phases = "json,folded,pprof,svg,html,load,report", *drip = NULL, *dir;
	size_t nr, depth, i;
	struct report r;
	int opt;

	while ((opt = getopt(argc, argv, "x:r:p:")) != -1) {
		switch (opt) {
		case 'x':
			drip = optarg;
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'p':
			phases = optarg;
			break;
		default:
			goto usage;
		}
	}
	nr = optind < argc ? strtoul(argv[optind], NULL, 0) : 100000;
	depth = optind + 1 < argc ? strtoul(argv[optind + 1], NULL, 0) : 30;
	dir = optind + 2 < argc ? argv[optind + 2] : "/tmp";
	if (!nr || !depth || runs < 1)
		goto usage;
	make_funcs();
	printf("export_bench: %zu stacks of depth %zu, %d processes, best of %d\n", nr, depth,
	       NR_PROCS, runs);
	make_report(&r, nr, depth);
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (want(phases, formats[i].name))
			run(formats[i].name, formats[i].ext, &r, dir, formats[i].write);
	free_report(&r);
	if (want(phases, "load"))
		load(dir);
	if (want(phases, "report") && drip)
		for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
			report(drip, formats[i].name, formats[i].ext, dir);
	for (int k = 0; k < NR_FUNCS; k++)
		free(names[k]);
	return 0;
usage:
	fprintf(stderr, "usage: export_bench [-x DRIP] [-r RUNS] [-p PHASES] "
			"[stacks [depth [outdir]]]\n");
	return 1;
}
