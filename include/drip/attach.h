/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Allocator probes and the threads they watch.  Probes are tracefs uprobe
 * events (one set per distinct allocator file); each BPF program hangs on a
 * perf event opened on the holder task; every thread of every target gets a
 * program-less, inherited perf event per probe, which is what makes the
 * kernel install breakpoints in that process and its future children only.
 */
#ifndef DRIP_ATTACH_H
#define DRIP_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct attach;
struct session;

int attach__new(struct session *s, bool inherit, struct attach **out);
/* Stop watching every thread: the targets run untraced from here on. Cheap. */
void attach__detach_targets(struct attach *a);
/* Close every event, remove our probe definitions, stop the holder. Slow (~2 s). */
void attach__free(struct attach *a);
/* The same, finished by a detached child while the caller goes on. Cheap. */
void attach__free_in_background(struct attach *a);

/*
 * Probe the allocators of a process: every executable file it maps that
 * defines allocator functions (libc, jemalloc, tcmalloc, a static
 * executable, a program's own operator new), bound or not: a copy that is
 * not bound is never called, or is called for real (see docs/INTERFACE.md).
 * Files already probed are skipped; *newly (may be NULL) gets how many were
 * not.  Returns the number of allocator files now probed (> 0), or -ENOENT
 * when the process maps none, -ESRCH when it is gone.
 */
int attach__allocators_of(struct attach *a, pid_t pid, size_t *newly);
/*
 * Probe the allocators in the file at path (a static executable, a library
 * loaded at start or by dlopen).  1: newly probed (threads that inherited
 * their events miss the new probes: watch them with attach__process); 0:
 * already probed; -ENOENT: not an allocator; other -errno.
 */
int attach__allocator_file(struct attach *a, const char *path);
/* The enum allocsyms_flags of a probed file, 0 when it is not one. */
unsigned attach__file_flags(const struct attach *a, const char *path);

/*
 * Watch every thread of pid; rescan until no new thread appears.  Returns
 * threads newly watched (>= 0) or -ESRCH when the process is gone.
 */
int attach__process(struct attach *a, pid_t pid);

size_t attach__nr_threads(const struct attach *a);
size_t attach__nr_files(const struct attach *a);

#endif /* DRIP_ATTACH_H */
