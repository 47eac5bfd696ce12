/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Diagnostics go to stderr as "drip: <what failed>: <why>"; stdout is for reports. */
#ifndef DRIP_LOG_H
#define DRIP_LOG_H

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern int log_level; /* default LOG_WARN; -v: LOG_INFO, -vv: LOG_DEBUG, -q: LOG_ERR */

void log_print(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...)   log_print(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  log_print(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  log_print(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_print(LOG_DEBUG, __VA_ARGS__)
/* A follow-up line telling the user what to do: "hint: ..." */
void pr_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* DRIP_LOG_H */
