# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Stacks without frame pointers (tests/targets/nofp_unwind.c, built -O2 -fomit-frame-pointer
like Debian's libc and python): DWARF CFI unwinding must give the program's own call chains."""

import json

from drip_e2e import check, check_clean, drip_trace, fail, fnames, target


def _truth(run):
    try:
        with open(run.truth_path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        fail(f"nofp_unwind wrote no usable truth to {run.truth_path}: {e}")


def _chain_problems(report, truth):
    """Every leaking function: exact bytes and allocs; its stacks start with the exact prefix
    and then pass through the `then` functions in order."""
    problems = []
    pid = truth["pid"]
    for fn, want in truth["leaks"].items():
        rows = [s for s in report.stacks_of(pid) if fnames(s)[:1] == [fn]]
        got_bytes = sum(s["outstanding_bytes"] for s in rows)
        got_allocs = sum(s["outstanding_allocs"] for s in rows)
        if (got_bytes, got_allocs) != (want["bytes"], want["allocs"]):
            problems.append(f"{fn}: expected {want['bytes']} B in {want['allocs']} allocs, "
                            f"drip reported {got_bytes} B in {got_allocs} allocs")
        for s in rows:
            names = fnames(s)
            prefix = want["prefix"]
            if names[:len(prefix)] != prefix:
                problems.append(f"{fn}: expected frames to start {prefix}, drip reported "
                                f"{names[:len(prefix) + 3]}")
                continue
            rest = names[len(prefix):]
            pos = 0
            for need in want.get("then", []):
                while pos < len(rest) and rest[pos] != need:
                    pos += 1
                if pos == len(rest):
                    problems.append(f"{fn}: expected {need} below {prefix} (then "
                                    f"{want['then']}), drip reported {names}")
                    break
            via = want.get("via_module")
            if via and not any(via in (f.get("module") or "") for f in s["frames"]):
                problems.append(f"{fn}: expected the walk to cross {via}, drip reported modules "
                                f"{[f.get('module') for f in s['frames']]}")
            if s.get("truncated"):
                problems.append(f"{fn}: stack marked truncated")
    for caller, want in truth.get("twins", {}).items():
        rows = [s for s in report.stacks_of(pid)
                if fnames(s)[:3] == ["twin_leaf", caller, "main"]]
        got = (sum(s["outstanding_bytes"] for s in rows),
               sum(s["outstanding_allocs"] for s in rows))
        if got != (want["bytes"], want["allocs"]):
            problems.append(f"twin_leaf <- {caller} <- main: expected {want['bytes']} B in "
                            f"{want['allocs']} allocs (the two paths differ only in a return "
                            f"address), drip reported {got[0]} B in {got[1]} allocs")
    return problems


def test_dwarf_chains_exact():
    """Depth-8 chain, a comparator called back by libc's qsort, a signal handler, a dlopen'ed
    library and threads: every chain reads as the program wrote it."""
    run = drip_trace([target("nofp_unwind")])
    report = run.report()
    check_clean(report)
    check(_chain_problems(report, _truth(run)))


def test_frame_pointers_alone_are_not_enough():
    """The same target walked with frame pointers only loses frames: the target really has none,
    so the DWARF test above measures the unwinder."""
    run = drip_trace([target("nofp_unwind")], drip_args=["--unwind", "fp"])
    report = run.report()
    problems = _chain_problems(report, _truth(run))
    if not any(p.startswith("deep8") for p in problems):
        fail("expected the frame-pointer walk to break deep8's chain (built without frame "
             "pointers), but it matched: the DWARF test would prove nothing")
