# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Allocator calls glibc nests inside other allocator calls count once (tests/targets/nested.c)."""

from drip_e2e import check_clean, check_process, drip_trace, target


def test_nested_calls_counted_once():
    """realloc(NULL)->malloc, realloc(p, 0)->free, reallocarray->realloc->malloc,
    memalign(16)->malloc, sysmalloc->mmap, free->munmap, mremap, a new arena's mmap and a
    signal-handler allocation: each counted once, as the outermost call, at its true caller;
    and nothing else is counted below run_nested, arena_thread or sig_leak."""
    run = drip_trace([target("nested")])
    report = run.report()
    check_clean(report)
    check_process(report, run.truth().one("nested"), exited=True)
