# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Anonymous mmap/munmap made by the program itself (tests/targets/mmap_user.c).

Frames are not asserted for mmap blocks (frames[0] may be the libc wrapper or its caller);
exactness comes from comparing with a --baseline run of the same binary that maps nothing."""

from drip_e2e import check, check_clean, drip_trace, fail, target


def traced(*args):
    run = drip_trace([target("mmap_user"), *args])
    report = run.report()
    tp = run.truth().one("mmap_user")
    check_clean(report)
    rp = report.process(tp["pid"])
    if not rp:
        fail(f"expected pid {tp['pid']} in processes[], drip listed "
             f"{sorted(report.pids())}")
    return report, rp, tp


def test_mmap_user():
    """map_leak's three mappings are outstanding to the byte, map_churn's ten map+unmap pairs
    balance, and a file mapping counts nothing: totals = baseline run + exactly these."""
    base, base_rp, _ = traced("--baseline")
    report, rp, tp = traced()
    if rp["outstanding_bytes"] < tp["outstanding_bytes"]:
        fail(f"expected processes[].outstanding_bytes >= {tp['outstanding_bytes']} (mappings "
             f"never unmapped), drip reported {rp['outstanding_bytes']}")
    problems = []
    for key in ("outstanding_bytes", "outstanding_allocs"):
        want = base_rp[key] + tp[key]
        if rp[key] != want:
            problems.append(f"processes[].{key}: expected {want} (baseline run {base_rp[key]}"
                            f" + mapped {tp[key]}), drip reported {rp[key]}")
    for key in ("allocs", "frees"):
        want = base.totals[key] + tp[key]
        if report.totals[key] != want:
            problems.append(f"totals.{key}: expected {want} (baseline run {base.totals[key]} +"
                            f" mmap_user {tp[key]}), drip reported {report.totals[key]}")
    check(problems)
