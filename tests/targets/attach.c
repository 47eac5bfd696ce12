// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * attach: a target for attaching to a running process (drip trace -p PID).
 * 1. leaks 40 x 2048 bytes from pre_attach_leak (before drip attaches: drip must not see them);
 * 2. target_wait_go(): with $DRIP_WAIT set, says "drip-target: ready pid N" on stderr and waits
 *    for SIGUSR1 (the harness sends it once drip says it attached);
 * 3. leaks 25 x 3000 bytes from post_attach_leak, churns 100 pairs in post_attach_churn,
 *    frees 20 of the pre-attach blocks (drip counts them as unknown_frees), and exits.
 * Without $DRIP_WAIT it runs straight through and everything is seen.
 * Writes nothing to stdout; truth goes to $DRIP_TRUTH.
 */
#include "target.h"

#define NPRE 40

static void *pre[NPRE];

T_NOINLINE static void pre_attach_leak(void)
{
	for (int i = 0; i < NPRE; i++) {
		pre[i] = malloc(2048);
		t_alloc(__func__, pre[i], 2048);
	}
}

T_NOINLINE static void post_attach_leak(void)
{
	for (int i = 0; i < 25; i++) {
		void *p = malloc(3000);

		t_alloc(__func__, p, 3000);
	}
}

T_NOINLINE static void post_attach_churn(void)
{
	for (int i = 0; i < 100; i++) {
		void *p = malloc(48 + i);

		t_alloc(__func__, p, 48 + i);
		t_free(p);
	}
}

int main(void)
{
	t_init("attach");
	pre_attach_leak();
	target_wait_go();
	post_attach_leak();
	post_attach_churn();
	for (int i = 0; i < NPRE; i += 2)
		t_free(pre[i]);
	t_done();
	return 0;
}
