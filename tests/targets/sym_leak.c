// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * sym_leak: leaks from two functions whose malloc lines are marked (LEAK_A, LEAK_B), for
 * the tests of where symbols come from (tests/e2e/test_debug_files.py).  Those build it
 * again as they need it: stripped with its DWARF in a separate file, or, to replace the
 * running binary, from a copy moved down by some lines with -DSYM_VARIANT (other names).
 *
 * usage: sym_leak [GO]   leak and exit; with GO: first wait 0.5 s (drip compiles the unwind
 *                        table of a program exec'ed under it as it starts: stacks of its
 *                        first milliseconds stop at its code), leak, say "sym_leak: leaked"
 *                        on stderr, then wait (at most 60 s) until the file GO exists
 * Truth ($DRIP_TRUTH): 10 blocks of 1000 B under the first function, 20 of 2000 B under the
 * second; main calls both (complete_under).
 */
#include "target.h"

#ifdef SYM_VARIANT
#define LEAK_A variant_leak_a
#define LEAK_B variant_leak_b
#else
#define LEAK_A sym_leak_a
#define LEAK_B sym_leak_b
#endif

T_NOINLINE static void LEAK_A(void)
{
	for (int i = 0; i < 10; i++) {
		void *p = malloc(1000); /* LEAK_A */

		t_alloc(__func__, p, 1000);
	}
}

T_NOINLINE static void LEAK_B(void)
{
	for (int i = 0; i < 20; i++) {
		void *p = malloc(2000); /* LEAK_B */

		t_alloc(__func__, p, 2000);
	}
}

static void wait_for(const char *go)
{
	struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };

	t_say("sym_leak: leaked\n");
	for (int i = 0; i < 6000 && access(go, F_OK); i++)
		nanosleep(&tick, NULL);
}

int main(int argc, char **argv)
{
	t_init("sym_leak");
	t_complete_under("main");
	if (argc > 1)
		nanosleep(&(struct timespec){ .tv_nsec = 500 * 1000 * 1000 }, NULL);
	LEAK_A();
	LEAK_B();
	if (argc > 1)
		wait_for(argv[1]);
	t_done();
	return 0;
}
