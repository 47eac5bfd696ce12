// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer target (build/fuzz/fuzz_json): the JSON report loader, then
 * every writer `drip report` can run on what it loaded.
 *
 * Invariants: a loaded report keeps the model's rules (merged[].first_stack
 * in range and of the same stack_id, stacks sorted by outstanding_bytes,
 * processes by pid, each process's modules by start, none when unknown); and the JSON writer's output of it loads again and
 * writes back byte for byte (the loader reads exactly what the writer
 * writes). The text, folded, pprof and text-diff writers run on it for
 * crashes, leaks and undefined behaviour.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drip/formats.h"
#include "drip/report.h"
#include "drip/report_cmd.h"
#include "drip/report_load.h"

static char *to_json(const struct report *r, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f || report__write_json(r, f))
		__builtin_trap();
	fclose(f);
	return buf;
}

static void write_all(const struct report *r)
{
	struct format_opts o = { .top = 5, .verbose = true };
	FILE *f = fopen("/dev/null", "w");

	if (!f)
		__builtin_trap();
	report__write_text(r, &(struct text_opts){ .top = 5, .verbose = true }, f);
	format_folded(r, &o, f);
	o.per_pid = true;
	o.weight = WEIGHT_COUNT;
	format_folded(r, &o, f);
	format_pprof(r, &o, f);
	o.base = r;
	format_folded(r, &o, f);
	format_diff_text(r, &o, f);
	fclose(f);
}

static void check_model(const struct report *r)
{
	for (size_t i = 0; i < r->nr_merged; i++) {
		const struct report_merged *m = &r->merged[i];

		if (m->first_stack >= r->nr_stacks ||
		    memcmp(r->stacks[m->first_stack].stack_id, m->stack_id, 17))
			__builtin_trap();
		if (i && r->merged[i - 1].outstanding_bytes < m->outstanding_bytes)
			__builtin_trap();
	}
	for (size_t i = 1; i < r->nr_stacks; i++)
		if (r->stacks[i - 1].outstanding_bytes < r->stacks[i].outstanding_bytes)
			__builtin_trap();
	for (size_t i = 1; i < r->nr_processes; i++)
		if (r->processes[i - 1].pid > r->processes[i].pid)
			__builtin_trap();
	for (size_t i = 0; i < r->nr_processes; i++) {
		const struct report_process *p = &r->processes[i];

		if (!r->has_modules && p->nr_modules)
			__builtin_trap(); /* unknown somewhere: unknown everywhere */
		for (size_t k = 0; k < p->nr_modules; k++)
			if (p->modules[k].end < p->modules[k].start ||
			    (k && p->modules[k - 1].start > p->modules[k].start))
				__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report *r, *back;
	char why[256], *j1, *j2;
	size_t n1, n2;

	if (report_load__buf((const char *)data, size, &r, why, sizeof(why)))
		return 0;
	check_model(r);
	j1 = to_json(r, &n1);
	if (report_load__buf(j1, n1, &back, why, sizeof(why))) {
		fprintf(stderr, "drip's own JSON does not load: %s\n", why);
		__builtin_trap();
	}
	j2 = to_json(back, &n2);
	if (n1 != n2 || memcmp(j1, j2, n1))
		__builtin_trap(); /* written, read, written: not the same */
	write_all(r);
	report_load__free(back);
	report_load__free(r);
	free(j1);
	free(j2);
	return 0;
}
