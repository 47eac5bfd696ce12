/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Reports for the export tests (folded, pprof, loader, diff): every kind of
 * frame, and a hostile one whose names hold what targets may put there.
 *
 * fixture: pid 100 "server", pid 200 "worker" (exited).
 *   [0] aa pid 100: 6553600 B in 100 blocks (150 allocs of 65536 B, 50 frees); frames:
 *       inl_helper (inlined into leak_medium, same address), leak_medium,
 *       ?? in libc, load_model (python), main
 *   [1] bb pid 200: 4096 B in 10 blocks, truncated; frames: leak_small
 *   [2] aa pid 200: 1024 B in 1 block (same frames as [0])
 *   [3] dd pid 100: 30 B in 1 block, no frames
 *   [4] ee pid 100: 20 B in 2 blocks, JIT frame ([anon]) under main
 *   [5] cc pid 100: all freed (5 allocs of 48 B, 5 frees), frames: churn, main
 * Every row's alloc_bytes is its allocs times its block size. Each process
 * lists the modules of its frames; 200 shares 100's server and libc (a fork).
 */
#ifndef EXPORT_FIXTURE_H
#define EXPORT_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drip/report.h"

#define SERVER "/opt/app/bin/server"
#define LIBC   "/usr/lib/x86_64-linux-gnu/libc.so.6"

static const struct report_frame fx_frames_a[] = {
	{ .kind = FRAME_NATIVE,
	  .address = 0x1000,
	  .module = SERVER,
	  .function = "inl_helper",
	  .file = "helper.h",
	  .line = 3,
	  .inlined = true },
	{ .kind = FRAME_NATIVE,
	  .address = 0x1000,
	  .module = SERVER,
	  .function = "leak_medium",
	  .file = "/src/leaky.c",
	  .line = 42 },
	{ .kind = FRAME_NATIVE, .address = 0x7f0000001234, .module = LIBC },
	{ .kind = FRAME_PYTHON, .function = "load_model", .file = "train.py", .line = 17 },
	{ .kind = FRAME_NATIVE,
	  .address = 0x2000,
	  .module = SERVER,
	  .function = "main",
	  .file = "main.c",
	  .line = 5 },
};

static const struct report_frame fx_frames_b[] = {
	{ .kind = FRAME_NATIVE,
	  .address = 0x401000,
	  .module = "/opt/app/bin/worker",
	  .function = "leak_small" },
};

static const struct report_frame fx_frames_e[] = {
	{ .kind = FRAME_NATIVE, .address = 0x7e0000000010, .module = "[anon]" },
	{ .kind = FRAME_NATIVE,
	  .address = 0x2000,
	  .module = SERVER,
	  .function = "main",
	  .file = "main.c",
	  .line = 5 },
};

static const struct report_frame fx_frames_c[] = {
	{ .kind = FRAME_NATIVE, .address = 0x3000, .module = SERVER, .function = "churn" },
	{ .kind = FRAME_NATIVE,
	  .address = 0x2000,
	  .module = SERVER,
	  .function = "main",
	  .file = "main.c",
	  .line = 5 },
};

#define SERVER_BID "5e4e45000000000000000000000000000000abcd"
#define LIBC_BID   "93ac61ec5a8eb1396f9fbd350e3169a558528a40"
#define WORKER_BID "0123456789abcdef"

/* the modules of each process's frames: 200 was forked from 100 (same bases) */
static const struct report_module fx_modules_100[] = {
	{ .path = SERVER, .build_id = SERVER_BID, .base = 0, .start = 0x1000, .end = 0x3001 },
	{ .path = "[anon]",
	  .base = 0x7e0000000000,
	  .start = 0x7e0000000010,
	  .end = 0x7e0000000011 },
	{ .path = LIBC,
	  .build_id = LIBC_BID,
	  .base = 0x7f0000000000,
	  .start = 0x7f0000001234,
	  .end = 0x7f0000001235 },
};

static const struct report_module fx_modules_200[] = {
	{ .path = SERVER, .build_id = SERVER_BID, .base = 0, .start = 0x1000, .end = 0x2001 },
	{ .path = "/opt/app/bin/worker",
	  .build_id = WORKER_BID,
	  .base = 0x400000,
	  .start = 0x401000,
	  .end = 0x401001 },
	{ .path = LIBC,
	  .build_id = LIBC_BID,
	  .base = 0x7f0000000000,
	  .start = 0x7f0000001234,
	  .end = 0x7f0000001235 },
};

static const struct report_process fx_procs[] = {
	{ .pid = 100,
	  .ppid = 1,
	  .start_time = 11,
	  .comm = "server",
	  .exe = SERVER,
	  .outstanding_bytes = 6553650,
	  .outstanding_allocs = 103,
	  .nr_modules = 3,
	  .modules = fx_modules_100 },
	{ .pid = 200,
	  .nspid = 7,
	  .ppid = 100,
	  .start_time = 22,
	  .comm = "worker",
	  .outstanding_bytes = 5120,
	  .outstanding_allocs = 11,
	  .exited = true,
	  .nr_modules = 3,
	  .modules = fx_modules_200 },
};

static const struct report_stack fx_stacks[] = {
	{ .pid = 100,
	  .stack_id = "00000000000000aa",
	  .outstanding_bytes = 6553600,
	  .outstanding_allocs = 100,
	  .allocs = 150,
	  .alloc_bytes = 9830400,
	  .frees = 50,
	  .oldest_age_s = 2.5,
	  .nr_frames = 5,
	  .frames = fx_frames_a },
	{ .pid = 200,
	  .stack_id = "00000000000000bb",
	  .exited = true,
	  .truncated = true,
	  .outstanding_bytes = 4096,
	  .outstanding_allocs = 10,
	  .allocs = 10,
	  .alloc_bytes = 4096,
	  .oldest_age_s = 1.0,
	  .nr_frames = 1,
	  .frames = fx_frames_b },
	{ .pid = 200,
	  .stack_id = "00000000000000aa",
	  .exited = true,
	  .outstanding_bytes = 1024,
	  .outstanding_allocs = 1,
	  .allocs = 1,
	  .alloc_bytes = 1024,
	  .oldest_age_s = 0.5,
	  .nr_frames = 5,
	  .frames = fx_frames_a },
	{ .pid = 100,
	  .stack_id = "00000000000000dd",
	  .outstanding_bytes = 30,
	  .outstanding_allocs = 1,
	  .allocs = 1,
	  .alloc_bytes = 30,
	  .oldest_age_s = 0.25 },
	{ .pid = 100,
	  .stack_id = "00000000000000ee",
	  .outstanding_bytes = 20,
	  .outstanding_allocs = 2,
	  .allocs = 2,
	  .alloc_bytes = 20,
	  .oldest_age_s = 0.125,
	  .nr_frames = 2,
	  .frames = fx_frames_e },
	{ .pid = 100,
	  .stack_id = "00000000000000cc",
	  .allocs = 5,
	  .alloc_bytes = 240,
	  .frees = 5,
	  .nr_frames = 2,
	  .frames = fx_frames_c },
};

static const struct report_merged fx_merged[] = {
	{ .stack_id = "00000000000000aa",
	  .pids = 2,
	  .outstanding_bytes = 6554624,
	  .outstanding_allocs = 101,
	  .min_pid_bytes = 1024,
	  .max_pid_bytes = 6553600,
	  .first_stack = 0 },
	{ .stack_id = "00000000000000bb",
	  .pids = 1,
	  .outstanding_bytes = 4096,
	  .outstanding_allocs = 10,
	  .min_pid_bytes = 4096,
	  .max_pid_bytes = 4096,
	  .first_stack = 1 },
	{ .stack_id = "00000000000000dd",
	  .pids = 1,
	  .outstanding_bytes = 30,
	  .outstanding_allocs = 1,
	  .min_pid_bytes = 30,
	  .max_pid_bytes = 30,
	  .first_stack = 3 },
	{ .stack_id = "00000000000000ee",
	  .pids = 1,
	  .outstanding_bytes = 20,
	  .outstanding_allocs = 2,
	  .min_pid_bytes = 20,
	  .max_pid_bytes = 20,
	  .first_stack = 4 },
	{ .stack_id = "00000000000000cc", .pids = 1, .first_stack = 5 },
};

static const char *const fx_drop_names[] = { "ringbuf_full_alloc", "implied_frees" };
static const uint64_t fx_drop_counts[] = { 3, 1 };

static const struct report fixture = {
	.duration_s = 12.5,
	.incomplete = true,
	.has_alloc_bytes = true,
	.has_modules = true,
	.totals = { .allocs = 169,
		    .alloc_bytes = 9835810,
		    .frees = 55,
		    .outstanding_bytes = 6558770,
		    .outstanding_allocs = 114,
		    .unknown_frees = 2,
		    .events_lost = 3 },
	.nr_processes = 2,
	.processes = fx_procs,
	.nr_merged = 5,
	.merged = fx_merged,
	.nr_stacks = 6,
	.stacks = fx_stacks,
	.nr_drops = 2,
	.drop_names = fx_drop_names,
	.drop_counts = fx_drop_counts,
};

/*
 * Hostile names: everything a target controls. The 10 KB function name is
 * 'A' * 10240 (built by hostile_init()).
 */
#define H_SEMI "a;b c"				 /* separator and space */
#define H_XML  "<tag attr=\"v\">&'x'</tag>"	 /* markup */
#define H_CTRL "line1\nline2\r\t\x1b[31mred\x7f" /* newline, CR, tab, ESC, DEL */
#define H_UTF8 "caf\xc3\xa9 \xe2\x82\xac"	 /* valid: kept */
#define H_BAD  "bad\xff\xfe\xc0\x80!"		 /* invalid bytes */
#define H_C1         \
	"c1\xc2\x9b" \
	"31m" /* U+009B, a CSI on some terminals */
#define H_BIDI             \
	"bidi\xe2\x80\xae" \
	"evil" /* U+202E RIGHT-TO-LEFT OVERRIDE */
#define H_LONG_LEN 10240

static char h_long[H_LONG_LEN + 1];
static struct report_frame h_frames[8];
static struct report_process h_procs[1];
static struct report_stack h_stacks[1];
static struct report hostile;

static void hostile_init(void)
{
	memset(h_long, 'A', H_LONG_LEN);
	h_long[H_LONG_LEN] = '\0';
	h_frames[0] = (struct report_frame){ .kind = FRAME_NATIVE,
					     .address = 0x10,
					     .module = "/tmp/" H_SEMI ".so",
					     .function = H_SEMI,
					     .file = H_XML,
					     .line = 1 };
	h_frames[1] = (struct report_frame){
		.kind = FRAME_NATIVE, .address = 0x20, .module = "/tmp/x.so", .function = H_XML
	};
	h_frames[2] = (struct report_frame){
		.kind = FRAME_NATIVE, .address = 0x30, .module = "/tmp/x.so", .function = H_CTRL
	};
	h_frames[3] = (struct report_frame){
		.kind = FRAME_NATIVE, .address = 0x40, .module = "/tmp/x.so", .function = H_UTF8
	};
	h_frames[4] = (struct report_frame){
		.kind = FRAME_NATIVE, .address = 0x50, .module = "/tmp/x.so", .function = H_BAD
	};
	h_frames[5] = (struct report_frame){
		.kind = FRAME_PYTHON, .function = H_C1, .file = "/tmp/" H_BIDI ".py", .line = 9
	};
	h_frames[6] = (struct report_frame){
		.kind = FRAME_NATIVE, .address = 0x70, .module = "/tmp/x.so", .function = h_long
	};
	h_frames[7] = (struct report_frame){ .kind = FRAME_NATIVE,
					     .address = 0x80,
					     .module = "/tmp/" H_CTRL };
	h_procs[0] = (struct report_process){ .pid = 42,
					      .comm = "ev;l\n<p>\xff",
					      .exe = "/tmp/" H_BAD,
					      .outstanding_bytes = 777,
					      .outstanding_allocs = 7 };
	h_stacks[0] = (struct report_stack){ .pid = 42,
					     .stack_id = "0123456789abcdef",
					     .outstanding_bytes = 777,
					     .outstanding_allocs = 7,
					     .allocs = 7,
					     .nr_frames = 8,
					     .frames = h_frames };
	hostile = (struct report){
		.duration_s = 1.0,
		.totals = { .allocs = 7, .outstanding_bytes = 777, .outstanding_allocs = 7 },
		.nr_processes = 1,
		.processes = h_procs,
		.nr_stacks = 1,
		.stacks = h_stacks
	};
}

struct mem {
	char *buf;
	size_t len;
	FILE *f;
};

static FILE *mem_open(struct mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
	return m->f;
}

/* the output (NUL-terminated; caller frees); m->len its length */
static char *mem_close(struct mem *m)
{
	assert_int_equal(fclose(m->f), 0);
	return m->buf;
}

#endif /* EXPORT_FIXTURE_H */
