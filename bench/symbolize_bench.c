// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Symbolization benchmark (not a test: timing never decides pass or fail).
 * 10k unique stacks of depth 20 by default, their frames at random
 * return-address-like points inside random functions of this program (built
 * -O2 -g) and of libc (whose DWARF is found only when its debug file is
 * installed, e.g. libc6-dbg).  Nearly every frame is a distinct address: the
 * worst case for the cache.  Each frame is symbolized as a report does it:
 * the ELF name by (build-id, file offset), then file, line and inlined calls
 * from DWARF.  Prints the time of a cold pass (a new symbolizer: the files
 * are opened, the DWARF is found and read, each address resolved) and of a
 * warm one (the same frames again: the per-build-id cache), frames per
 * second, how many had lines, and memory: the debug files read and the RSS
 * growth of the cold pass.
 *
 * `make bench` builds it (build/bench/symbolize_bench) and runs it.
 *   usage: symbolize_bench [stacks [depth]]
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drip/elf.h"
#include "drip/symbolize.h"

struct fn {
	uint64_t off, size; /* file offset of its first byte, and its size */
	int module;
};

struct module {
	char path[PATH_MAX];
	uint8_t id[64];
	size_t id_len;
};

static struct module mods[2];
static struct fn *fns;
static size_t nr_fns, cap_fns;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* Sized function symbols of the module at path (.symtab and .dynsym). */
static int add_module(int idx, const char *path)
{
	struct elf_file *e;
	const uint8_t *id;
	Elf_Scn *scn = NULL;
	Elf *elf;
	int fd;

	if (!realpath(path, mods[idx].path) || elf_file__open(mods[idx].path, &e))
		return -1;
	mods[idx].id_len = elf_file__build_id(e, &id);
	memcpy(mods[idx].id, id, mods[idx].id_len);
	fd = open(mods[idx].path, O_RDONLY);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			uint64_t off;

			if (!gelf_getsym(d, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_size < 8 || elf_file__vaddr_to_offset(e, sym.st_value, &off))
				continue;
			if (nr_fns == cap_fns) {
				cap_fns = cap_fns ? 2 * cap_fns : 4096;
				fns = realloc(fns, cap_fns * sizeof(*fns));
			}
			fns[nr_fns++] =
				(struct fn){ .off = off, .size = sym.st_size, .module = idx };
		}
	}
	elf_end(elf);
	close(fd);
	elf_file__close(e);
	return 0;
}

/* Symbolize every frame as the collector does; returns how many had lines. */
static size_t pass(struct symbolizer *s, const uint32_t *fn_of, const uint64_t *off_of, size_t n,
		   size_t *entries, size_t *named)
{
	struct sym_line l[32];
	struct sym_info si;
	size_t with = 0;

	*entries = *named = 0;
	for (size_t i = 0; i < n; i++) {
		const struct module *m = &mods[fns[fn_of[i]].module];
		size_t k;

		symbolizer__resolve_build_id(s, m->id, m->id_len, off_of[i], &si);
		*named += si.function != NULL;
		k = symbolizer__source(s, si.module ? si.module : m->path, m->id, m->id_len,
				       off_of[i] - 1, l, 32);
		with += k > 0;
		*entries += k ? k : 1;
	}
	return with;
}

int main(int argc, char **argv)
{
	size_t stacks = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;
	size_t depth = argc > 2 ? strtoul(argv[2], NULL, 0) : 20, n = stacks * depth, with, entries;
	size_t named;
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	struct symbolizer_stats st;
	struct symbolizer *s;
	uint64_t *off_of = malloc(n * sizeof(*off_of));
	uint32_t *fn_of = malloc(n * sizeof(*fn_of));
	Dl_info di;
	double t0, cold, warm;
	long rss0, rss1;
	int nmods = 1;

	if (add_module(0, "/proc/self/exe"))
		return 1;
	if (libc && dladdr(dlsym(libc, "malloc"), &di) && !add_module(1, di.dli_fname))
		nmods = 2;
	srand(42);
	for (size_t i = 0; i < n; i++) {
		const struct fn *f;

		fn_of[i] = (uint32_t)(((uint64_t)rand() * RAND_MAX + rand()) % nr_fns);
		f = &fns[fn_of[i]];
		off_of[i] = f->off + 1 + (uint64_t)rand() % (f->size - 1); /* after a "call" */
	}
	rss0 = rss_kib();
	t0 = now();
	s = symbolizer__new();
	for (int i = 0; i < nmods; i++)
		symbolizer__learn_file(s, mods[i].path);
	with = pass(s, fn_of, off_of, n, &entries, &named);
	cold = now() - t0;
	rss1 = rss_kib();
	t0 = now();
	pass(s, fn_of, off_of, n, &entries, &named);
	warm = now() - t0;
	symbolizer__stats(s, &st);
	printf("symbolize: %zu stacks x %zu frames = %zu frames in %zu functions of %d modules\n",
	       stacks, depth, n, nr_fns, nmods);
	for (int i = 0; i < nmods; i++)
		printf("  %s\n", mods[i].path);
	printf("  DWARF found for %zu module(s), %zu without; %zu distinct addresses looked up\n",
	       st.debug_files, st.debug_missing, st.addresses);
	printf("  frames named: %zu (%.1f%%); with lines: %zu (%.1f%%); report frames after inline "
	       "expansion: %zu\n",
	       named, 100.0 * named / n, with, 100.0 * with / n, entries);
	printf("  cold: %8.1f ms  (%.2f us/frame, %.0f frames/s)\n", cold * 1e3, cold * 1e6 / n,
	       n / cold);
	printf("  warm: %8.1f ms  (%.3f us/frame, %.0f frames/s)\n", warm * 1e3, warm * 1e6 / n,
	       n / warm);
	printf("  memory: debug files read %.1f MiB; RSS grew %.1f MiB in the cold pass\n",
	       st.debug_bytes / 1048576.0, (rss1 - rss0) / 1024.0);
	symbolizer__free(s);
	free(off_of);
	free(fn_of);
	free(fns);
	return 0;
}
