// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* libFuzzer target: procmaps__parse, then the invariants find() relies on. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "drip/procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procmaps *m;
	uint64_t probe = 0;

	if (procmaps__parse((const char *)data, size, &m))
		return 0;
	for (size_t i = 0; i < m->nr; i++) {
		const struct vma *v = &m->vmas[i];

		/* sorted, disjoint, non-empty, paths NUL-terminated within the input's size */
		if (v->start >= v->end || (i && v->start < m->vmas[i - 1].end) ||
		    strlen(v->path) > size)
			__builtin_trap();
		if (procmaps__find(m, v->start) != v || procmaps__find(m, v->end - 1) != v)
			__builtin_trap();
		if (procmaps__find(m, v->end) == v)
			__builtin_trap();
	}
	memcpy(&probe, data, size < sizeof(probe) ? size : sizeof(probe));
	procmaps__find(m, probe);
	procmaps__find(m, 0);
	procmaps__find(m, UINT64_MAX);
	procmaps__free(m);
	return 0;
}
