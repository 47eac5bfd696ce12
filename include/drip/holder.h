/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The holder task: a process that maps no allocator library, on which drip
 * opens the perf events its BPF programs hang on.  It dies with drip.
 */
#ifndef DRIP_HOLDER_H
#define DRIP_HOLDER_H

#include <sys/types.h>

/* Start the holder.  Returns its pid (> 0) or -errno. */
pid_t holder__start(void);
/* Kill and reap it (pid <= 0: nothing). */
void holder__stop(pid_t pid);

#endif /* DRIP_HOLDER_H */
