# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Process trees traced with `--`: fork without exec, fork at once, exec, exit."""

from drip_e2e import (check, check_clean, compare_process, drip_trace, expect_eq, fail, fnames,
                      target)

KiB = 1024


def test_pool_of_four_workers():
    """4 forked workers, each with an exact leak from one shared stack: 5 processes, workers
    exited with their memory, one merged row with pids=4 and exact min/max per pid."""
    run = drip_trace([target("pool")])
    report = run.report()
    truth = run.truth()
    check_clean(report)
    parent = truth.top()
    workers = [p for p in truth.procs if p is not parent]
    expect_eq(len(workers), 4, "workers in the truth file")
    expect_eq(sorted(report.pids()), sorted(truth.pids()), "pids in processes[]")
    problems = []
    for tp in truth.procs:
        problems += compare_process(report, tp, exited=True)
    for w in workers:
        rp = report.process(w["pid"])
        if rp and rp.get("ppid") != parent["pid"]:
            problems.append(f"worker {w['pid']}: expected ppid {parent['pid']}, drip reported "
                            f"{rp.get('ppid')}")
        if rp and rp["outstanding_bytes"] < w["info"]["leak_bytes"]:
            problems.append(f"worker {w['pid']}: expected processes[].outstanding_bytes >= "
                            f"{w['info']['leak_bytes']}, drip reported {rp['outstanding_bytes']}")
    ids = {s["stack_id"] for w in workers for s in report.stacks_of(w["pid"])
           if fnames(s)[:1] == ["worker_leak"]}
    if len(ids) != 1:
        problems.append(f"expected worker_leak's stack to have one stack_id in all workers, "
                        f"drip reported {sorted(ids)}")
    rows = [m for m in report.merged if m["stack_id"] in ids]
    want = {
        "pids": 4,
        "outstanding_bytes": sum(w["info"]["leak_bytes"] for w in workers),
        "outstanding_allocs": sum(w["info"]["leak_blocks"] for w in workers),
        "min_pid_bytes": 100 * KiB,
        "max_pid_bytes": 400 * KiB,
    }
    if len(rows) != 1:
        problems.append(f"expected one merged row for worker_leak {want}, drip reported "
                        f"{rows}")
    else:
        got = {k: rows[0].get(k) for k in want}
        if got != want:
            problems.append(f"merged row for worker_leak: expected {want}, drip reported {got}")
    check(problems)


def _every_process_exact(name):
    """Trace target NAME: every process it wrote truth for is in the report, exactly."""
    run = drip_trace([target(name)])
    report = run.report()
    truth = run.truth()
    check_clean(report)
    expect_eq(sorted(report.pids()), sorted(truth.pids()), "pids in processes[]")
    problems = []
    for tp in truth.procs:
        problems += compare_process(report, tp, exited=True)
    check(problems)


def test_child_forked_at_start_is_traced():
    """A child forked as the first thing in main is traced from its first instruction."""
    _every_process_exact("fork_after_start")


def test_exited_children_keep_memory():
    """A child that exited before the report keeps its outstanding-at-exit memory, marked
    exited, as its own process with its parent as ppid."""
    run = drip_trace([target("fork_after_start")])
    report = run.report()
    truth = run.truth()
    parent = truth.top()
    child = next(p for p in truth.procs if p is not parent)
    rp = report.process(child["pid"])
    if not rp:
        fail(f"expected the exited child {child['pid']} in processes[], drip listed "
             f"{sorted(report.pids())}")
    expect_eq(rp.get("exited"), True, f"processes[].exited of child {child['pid']}")
    expect_eq(rp.get("ppid"), parent["pid"], f"processes[].ppid of child {child['pid']}")
    leak = child["funcs"]["child_leak"]
    rows = [s for s in report.stacks_of(child["pid"]) if fnames(s)[:1] == ["child_leak"]]
    got = sum(s["outstanding_bytes"] for s in rows)
    expect_eq(got, leak["outstanding_bytes"], f"outstanding bytes of the exited child's "
              f"child_leak ({len(rows)} stack row(s))")
    expect_eq([s.get("exited") for s in rows], [True] * len(rows),
              "stacks[].exited of the exited child's child_leak rows")
    if rp["outstanding_bytes"] < leak["outstanding_bytes"]:
        fail(f"expected the exited child's processes[].outstanding_bytes >= "
             f"{leak['outstanding_bytes']}, drip reported {rp['outstanding_bytes']}")


def test_exec_child_traced():
    """A forked child that execs another program is traced through the exec: the new image's
    leaks are exact, under the same pid."""
    run = drip_trace([target("exec_child"), target("allocators")])
    report = run.report()
    truth = run.truth()
    check_clean(report)
    expect_eq(sorted(report.pids()), sorted(truth.pids()), "pids in processes[]")
    child = truth.one("allocators")
    parent = truth.one("exec_child")
    expect_eq(parent["children"], [child["pid"]], "exec_child's child is the exec'ed image "
              "(truth self-check)")
    problems = compare_process(report, child, exited=True)
    problems += compare_process(report, parent, exited=True)
    check(problems)


def test_worker_outlives_siblings():
    """Short-lived siblings that exit on the worker's CPU (perf swaps sibling contexts) do not
    take the worker's probes with them: every allocation of every process is counted."""
    _every_process_exact("sibling_exit")
