/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * tracefs uprobe_events: drip defines its probes under a group of its own,
 * drip_<pidns>_<pid>_<starttime>, so concurrent drips never collide and
 * groups left behind by a killed drip of the same PID namespace can be
 * recognised and removed.
 */
#ifndef DRIP_TRACEFS_H
#define DRIP_TRACEFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Find tracefs, mounting it at /sys/kernel/tracing when missing. 0 or -errno. */
int tracefs__init(void);
const char *tracefs__root(void);

/* This process's group name: "drip_<pidns inode>_<pid>_<starttime>". */
const char *tracefs__group(void);

/* Define "p:" (or "r:" when ret) GROUP/event at path:off.  0 or -errno. */
int tracefs__probe_add(const char *event, const char *path, uint64_t off, bool ret);
/* Remove GROUP/event.  -EBUSY while a perf event still uses it. */
int tracefs__probe_del(const char *event);
/* The trace event id of GROUP/event (for perf_event_open config), or -errno. */
int tracefs__event_id(const char *group, const char *event);

/* Remove groups of drips that are no longer running.  Returns events removed. */
int tracefs__clean_stale(void);

/* Start time of pid in clock ticks since boot (/proc/pid/stat field 22), or 0. */
uint64_t proc_start_ticks(int pid);

#endif /* DRIP_TRACEFS_H */
