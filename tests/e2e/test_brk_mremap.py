# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""brk/sbrk and mremap made by the program itself (tests/targets/brk_user.c)."""

import json

from drip_e2e import check, check_clean, drip_trace, fail, fnames, target


def test_brk_and_mremap_exact():
    """sbrk growth is a block at the old break; sbrk(-n) releases what lies above the new
    break; mremap moves a tracked mapping: old block freed, new size outstanding."""
    run = drip_trace([target("brk_user")])
    report = run.report()
    check_clean(report)
    try:
        with open(run.truth_path) as f:
            truth = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        fail(f"brk_user wrote no usable truth: {e}")
    problems = []
    for fn, want in truth["leaks"].items():
        rows = [s for s in report.stacks_of(truth["pid"]) if fnames(s)[:1] == [fn]]
        got = (sum(s["outstanding_bytes"] for s in rows), sum(s["allocs"] for s in rows),
               sum(s["frees"] for s in rows))
        exp = (want["bytes"], want["allocs"], want["frees"])
        if got != exp:
            problems.append(f"{fn}: expected (bytes, allocs, frees) {exp}, drip reported {got} "
                            f"in {len(rows)} stack(s)")
    check(problems)
