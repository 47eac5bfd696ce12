// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * fork_loss_repro: reproduces a known drip bug (not a benchmark).  A forked
 * worker B churns N malloc+free pairs of 16..4096 B while a sibling A is
 * forked DELAY_MS later, makes 10 pairs and exits.  Traced with
 *   drip trace --no-stacks -f json -- fork_loss_repro 400000 0
 * B should show 400000 allocs; intermittently it shows far fewer (seen:
 * 1009 and 24995) with events_lost 0: the uprobes stop firing in B's mm.
 * Build: gcc -O2 -o build/bench/fork_loss_repro bench/fork_loss_repro.c
 */
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
void *volatile esc;
static void work(long n){ for(long i=0;i<n;i++){ esc = malloc(16 + (i * 37 % 256) * 16); free(esc);} }
int main(int argc, char **argv){
  long nb = atol(argv[1]); int delay_ms = atoi(argv[2]);
  pid_t b = fork(); if (!b){ work(nb); _exit(0);}
  usleep(delay_ms*1000);
  pid_t a = fork(); if (!a){ work(10); _exit(0);}
  waitpid(a,0,0); waitpid(b,0,0); return 0; }
