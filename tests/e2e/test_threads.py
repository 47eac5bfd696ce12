# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Threads: frees from another thread, leaks from several (tests/targets/threads.c)."""

from drip_e2e import check_clean, check_process, drip_trace, expect_eq, fnames, target


def test_cross_thread_frees():
    """Blocks allocated by one thread and freed by another: produce_block shows allocs =
    frees = 5000 and nothing outstanding; thread_leak's three threads add up exactly."""
    run = drip_trace([target("threads")])
    report = run.report()
    tp = run.truth().one("threads")
    check_clean(report)
    check_process(report, tp, exited=True)
    rows = [s for s in report.stacks_of(tp["pid"]) if fnames(s)[:1] == ["produce_block"]]
    expect_eq(sum(s["frees"] for s in rows), tp["info"]["cross_thread_blocks"],
              "frees of produce_block's blocks (all freed by the consumer thread)")
