// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * mmap_user: anonymous mmaps made by the program itself (not by malloc), which drip counts as
 * blocks allocated by "mmap":
 * - map_leak maps 16 KiB, 192 KiB and 2 MiB and never unmaps them;
 * - map_churn maps and unmaps 128 KiB ten times (nothing outstanding);
 * - map_file maps a page of a file: not anonymous, must not count.
 * Sizes are whole pages, so requested and mapped sizes agree. Nothing else allocates here.
 * Writes nothing to stdout; truth goes to $DRIP_TRUTH.
 *
 * usage: mmap_user [--baseline]
 *   --baseline  map nothing: drip's totals for such a run are the loader's and libc's own
 */
#include "target.h"

#define KiB 1024

T_NOINLINE static void map_leak(void)
{
	static const size_t sizes[] = { 16 * KiB, 192 * KiB, 2048 * KiB };

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *p = mmap(NULL, sizes[i], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		t_mmap(__func__, p, sizes[i]);
		if (p == MAP_FAILED)
			t_die("mmap: %s", strerror(errno));
		p[0] = 1;
	}
}

T_NOINLINE static void map_churn(void)
{
	for (int i = 0; i < 10; i++) {
		char *p = mmap(NULL, 128 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		t_mmap(__func__, p, 128 * KiB);
		if (p == MAP_FAILED)
			t_die("mmap: %s", strerror(errno));
		p[0] = 1;
		t_munmap(p, 128 * KiB);
	}
}

T_NOINLINE static void map_file(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);

	t_absent(__func__);
	if (fd < 0 || p == MAP_FAILED)
		t_die("cannot map /proc/self/exe: %s", strerror(errno));
	close(fd);
}

int main(int argc, char **argv)
{
	t_init("mmap_user");
	if (argc > 1 && !strcmp(argv[1], "--baseline")) {
		t_done();
		return 0;
	}
	map_leak();
	map_churn();
	map_file();
	t_done();
	return 0;
}
