# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Tracing costs nothing outside the traced processes, and nothing once drip is gone.

Sanity checks with generous thresholds (ratio < 4), not benchmarks: probing every process
(uprobes with pid -1) or leaving probes behind costs 10-100x on a malloc-bound loop."""

import os
import signal
import time

from drip_e2e import (Proc, check_clean, check_process, children_of, drip_attach, drip_trace,
                      fail, fnames, churn_ns, median, target)

PAIRS = 2000000  # ~60 ms untraced here
MAX_RATIO = 4  # a 15 ns loop on a shared VM varies 2x; the mistakes cost 100x+


def test_zero_leak_churn():
    """200000 malloc+free pairs: no stack holds more than 64 KiB, churn_pair balances
    exactly."""
    run = drip_trace([target("churn"), "200000"])
    report = run.report()
    tp = run.truth().one("churn")
    check_clean(report)
    check_process(report, tp, exited=True)
    big = [s for s in report.stacks if s["outstanding_bytes"] > 64 * 1024]
    if big:
        fail(f"expected no stack above 64 KiB outstanding, drip reported "
             f"{[(s['outstanding_bytes'], fnames(s)[:4]) for s in big]}")


def test_untraced_process_not_slowed():
    """A process drip does not trace runs at full speed while drip traces another one
    (medians of 3, interleaved)."""
    churn_ns(PAIRS)  # warm up
    alone, beside = [], []
    for _ in range(3):
        alone.append(churn_ns(PAIRS))
        sleeper = Proc(["sleep", "60"])
        d = drip_attach([sleeper.pid])
        beside.append(churn_ns(PAIRS))
        sleeper.signal(signal.SIGKILL)
        sleeper.wait(10)
        d.proc.signal(signal.SIGINT)
        d.proc.wait(20, "drip after its target exited and SIGINT")
    ratio = median(beside) / median(alone)
    if ratio >= MAX_RATIO:
        fail(f"expected an untraced churn at most {MAX_RATIO}x slower while drip traces "
             f"another process, it was {ratio:.2f}x: {beside} ns/pair beside drip vs {alone} "
             f"without (does drip probe every process?)")


test_untraced_process_not_slowed.timeout = 120


def ns_values(lines):
    return [float(l.split()[1]) for l in lines if l.startswith("ns_per_pair ")]


def test_killed_drip_leaves_target_fast():
    """After kill -9 of drip, the process it traced is back to its untraced speed within a
    couple of seconds, and nothing drip started survives it."""
    churn = Proc([target("churn"), "--loop", "100"])
    lines = churn.out.wait_count(8, 10)
    base = ns_values(lines[3:8])
    if len(base) < 5:
        fail(f"churn --loop printed {lines}, expected 8 timing lines in 10 s")
    base_ns = median(base)
    d = drip_attach([churn.pid])
    mark = churn.out.count()
    traced = ns_values(churn.out.wait_count(mark + 5, 10)[mark:mark + 5])
    d.proc.signal(signal.SIGKILL)
    # its exit closes the holder events: ~0.1 s each, after other drips' detaches
    d.proc.wait(30, "drip after SIGKILL")
    killed_at = time.monotonic()
    mark = churn.out.count()
    after = []
    while time.monotonic() - killed_at < 4:
        lines = churn.out.wait_count(mark + len(after) + 1, 1)
        after = ns_values(lines[mark:])
        if len(after) >= 3 and median(after[-3:]) < MAX_RATIO * base_ns:
            break
    else:
        fail(f"expected churn back under {MAX_RATIO}x its untraced {base_ns:.1f} ns/pair "
             f"within 4 s of kill -9 drip; it ran at {after} ns/pair (traced: {traced})")
    if churn.poll() is not None:
        fail(f"churn died when drip was killed (exit {churn.poll()}){churn.stderr_tail()}")
    deadline = time.monotonic() + 3
    while True:
        left = [p for p in children_of(os.getpid(), live=True) if p != churn.pid]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if left:
        comms = []
        for p in left:
            try:
                with open(f"/proc/{p}/comm") as f:
                    comms.append(f"{p} ({f.read().strip()})")
            except OSError:
                pass
        if comms:
            fail(f"expected nothing drip started to outlive kill -9 drip, still running 3 s "
                 f"later: {comms}")
