# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Every allocator entry point, exact per function (tests/targets/allocators.c)."""

from drip_e2e import (check, check_clean, check_process, drip_trace, expect_eq, fail, fnames,
                      show_stack, target, ALLOCATOR_NAMES)

# Who calls each allocating function in allocators.c (default: main)
CALLERS = {
    "grow_seed": ["leak_realloc_grow", "main"],
    "shrink_seed": ["leak_realloc_shrink", "main"],
    "fail_seed": ["fail_calls", "main"],
    "leak_deep": ["middle_layer", "main"],
}


def traced_allocators(*args):
    run = drip_trace([target("allocators"), *args])
    report = run.report()
    return report, run.truth().one("allocators")


def test_each_allocator_exact():
    """Per function: allocs, frees, outstanding bytes and blocks exactly as the target did;
    failed calls and free(NULL) count nothing; realloc counts as free + alloc."""
    report, tp = traced_allocators()
    check_clean(report)
    check_process(report, tp, exited=True)


def test_true_caller_exactly_once():
    """frames[0] is the function that called the allocator, frames[1] its caller, ...; the
    allocator itself is not a frame and no caller appears twice."""
    report, tp = traced_allocators()
    problems = []
    funcs = set(tp["funcs"])
    for fn in tp["funcs"]:
        want = [fn] + CALLERS.get(fn, ["main"])
        stacks = [s for s in report.stacks_of(tp["pid"]) if fnames(s)[:1] == [fn]]
        if not stacks:
            problems.append(f"{fn}: expected a stack with frames {want}, drip reported none")
        for s in report.stacks_of(tp["pid"]):
            names = fnames(s)
            if fn in names[1:] and names[0] not in funcs:
                problems.append(f"{fn}: expected frames[0] == {fn} (the allocator's caller), "
                                f"drip reported {show_stack(s, 8)}")
        for s in stacks:
            got = fnames(s)[:len(want)]
            if got != want:
                problems.append(f"{fn}: expected frames to start {want}, drip reported "
                                f"{show_stack(s, 8)}")
            dup = {n for n in fnames(s) if n is not None and fnames(s).count(n) > 1}
            if dup:
                problems.append(f"{fn}: expected each caller once, drip repeated {sorted(dup)}"
                                f" in {show_stack(s, 10)}")
            if ALLOCATOR_NAMES.intersection(fnames(s)):
                problems.append(f"{fn}: expected no allocator frame, drip reported "
                                f"{show_stack(s, 10)}")
    check(problems)


def test_totals_match_baseline():
    """totals = what libc and the loader do in an allocation-free run of the same binary
    (--baseline) + exactly what the target did; nothing else is counted."""
    base, _ = traced_allocators("--baseline")
    report, tp = traced_allocators()
    for key in ("allocs", "frees", "outstanding_bytes", "outstanding_allocs", "alloc_bytes"):
        want = base.totals[key] + tp[key]
        expect_eq(report.totals[key], want,
                  f"totals.{key} (baseline run {base.totals[key]} + target {tp[key]})")
    expect_eq(report.totals["unknown_frees"], base.totals["unknown_frees"],
              "totals.unknown_frees (same as the baseline run: the target frees only what "
              "it allocated)")


def test_report_is_consistent():
    """Stacks, processes, merged rows and totals add up; rows are sorted largest first."""
    report, tp = traced_allocators()
    t = report.totals
    problems = []

    def same(got, want, what):
        if got != want:
            problems.append(f"{what}: expected {want}, drip reported {got}")

    for key in ("outstanding_bytes", "outstanding_allocs"):
        same(sum(s[key] for s in report.stacks), t[key], f"sum of stacks[].{key} vs totals")
        same(sum(p[key] for p in report.processes), t[key],
             f"sum of processes[].{key} vs totals")
        same(sum(m[key] for m in report.merged), t[key], f"sum of merged[].{key} vs totals")
        for p in report.processes:
            same(sum(s[key] for s in report.stacks if s["pid"] == p["pid"]), p[key],
                 f"sum of stacks[].{key} of pid {p['pid']} vs its processes[] entry")
    same(sum(s["allocs"] for s in report.stacks), t["allocs"],
         "sum of stacks[].allocs vs totals.allocs (every alloc is in one stack row)")
    for rows, name in ((report.stacks, "stacks"), (report.merged, "merged")):
        sizes = [r["outstanding_bytes"] for r in rows]
        same(sizes, sorted(sizes, reverse=True), f"{name}[] order by outstanding_bytes")
    ids = {}
    for s in report.stacks:
        ids.setdefault(s["stack_id"], set()).add(s["pid"])
    for m in report.merged:
        if m["stack_id"] not in ids:
            problems.append(f"merged stack_id {m['stack_id']} is in no stacks[] row")
        else:
            same(m["pids"], len(ids[m["stack_id"]]), f"merged[{m['stack_id']}].pids")
    if not report.process(tp["pid"]):
        fail(f"expected pid {tp['pid']} in processes[], drip listed "
             f"{[p['pid'] for p in report.processes]}")
    check(problems)
