// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * dl_jemalloc: loads jemalloc with dlopen (RTLD_LOCAL: libc's malloc stays bound) and
 * allocates through the functions dlsym gives, as a plugin with its own allocator would.
 * drip probes jemalloc when it is mapped, which takes it a moment: the program waits until its
 * copy of mallocx carries the probe's breakpoint (int3) before allocating, so the truth is
 * exact ($DRIP_WAIT_PROBES set); drip must still report the attach gap (the file was mapped before it was probed).
 * Truth: $DRIP_TRUTH; info "waited_ms": how long the probes took to arrive.  glibc reserves
 * too little static TLS for jemalloc: run with GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536.
 */
#define _GNU_SOURCE /* dladdr */
#include "target.h"

#include <dlfcn.h>

static void *(*je_mallocx)(size_t, int);
static void *(*je_malloc)(size_t);
static void *(*je_calloc)(size_t, size_t);
static void (*je_free)(void *);
static void (*je_sdallocx)(void *, size_t, int);

/*
 * Every allocator function jemalloc exports, which drip probes: once all carry a breakpoint,
 * all of drip's probes in the file are in (each function's entry and return probes share an
 * address, so one breakpoint alone does not say both are armed)
 */
static const char *const probed[] = {
	"malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc", "memalign",
	"valloc", "mallocx", "rallocx", "xallocx", "sdallocx", "dallocx", "_Znwm", "_Znam",
	"_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm", "_ZnamSt11align_val_tRKSt9nothrow_t",
	"_ZdaPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvmSt11align_val_t",
};

/*
 * A uprobe is an int3 in our own copy of the page: at the entry or at the first instruction the
 * kernel emulates (src/probeplace.c), so compare the function's first bytes with the file's.
 * (libjemalloc2.so.2 maps its text at file offset == address.)
 */
static int has_breakpoint(void *h, const char *name)
{
	volatile unsigned char *p = dlsym(h, name);
	unsigned char file[64];
	Dl_info info;
	int fd;
	ssize_t n;

	if (!p || !dladdr((void *)p, &info))
		t_die("dlsym(%s): %s", name, dlerror());
	fd = open(info.dli_fname, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : pread(fd, file, sizeof(file), (uintptr_t)p - (uintptr_t)info.dli_fbase);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		t_die("read %s of %s", name, info.dli_fname);
	for (ssize_t i = 0; i < n; i++)
		if (p[i] != file[i])
			return p[i] == 0xcc;
	return 0;
}

/* Not under a complete_under frame: dlopen itself allocates through libc */
T_NOINLINE static void load_jemalloc(void)
{
	void *h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL);
	struct timespec step = { 0, 1000000 };
	int ms = 0;

	if (!h)
		t_die("dlopen: %s", dlerror());
	*(void **)&je_mallocx = dlsym(h, "mallocx");
	*(void **)&je_malloc = dlsym(h, "malloc");
	*(void **)&je_calloc = dlsym(h, "calloc");
	*(void **)&je_free = dlsym(h, "free");
	*(void **)&je_sdallocx = dlsym(h, "sdallocx");
	if (!je_mallocx || !je_malloc || !je_calloc || !je_free || !je_sdallocx)
		t_die("dlsym: jemalloc without mallocx, malloc, calloc, free or sdallocx");
	for (size_t i = 0; getenv("DRIP_WAIT_PROBES") && i < sizeof(probed) / sizeof(*probed); i++) {
		while (!has_breakpoint(h, probed[i])) {
			if (++ms > 20000)
				t_die("no probe on jemalloc's %s after 20 s", probed[i]);
			nanosleep(&step, NULL);
		}
	}
	t_info("waited_ms", ms);
}

T_NOINLINE static void dl_leak_mallocx(void)
{
	for (int i = 0; i < 7; i++) {
		void *p = je_mallocx(3000, 0);

		t_alloc(__func__, p, 3000);
	}
}

T_NOINLINE static void dl_leak_malloc(void)
{
	for (int i = 0; i < 4; i++) {
		void *p = je_malloc(1700);

		t_alloc(__func__, p, 1700);
	}
	for (int i = 0; i < 2; i++) {
		void *p = je_calloc(9, 50);

		t_alloc(__func__, p, 450);
	}
}

T_NOINLINE static void dl_churn(void)
{
	for (int i = 0; i < 100; i++) {
		void *a = je_malloc(64 + i), *b = je_mallocx(128, 0);

		t_alloc(__func__, a, 64 + i);
		t_alloc(__func__, b, 128);
		t_note_free((uintptr_t)a);
		je_free(a);
		t_note_free((uintptr_t)b);
		je_sdallocx(b, 128, 0);
	}
}

int main(void)
{
	t_init("dl_jemalloc");
	load_jemalloc();
	t_complete_under("dl_leak_mallocx");
	t_complete_under("dl_leak_malloc");
	t_complete_under("dl_churn");
	dl_leak_mallocx();
	dl_leak_malloc();
	dl_churn();
	t_done();
	return 0;
}
