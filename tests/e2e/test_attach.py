# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Attaching to running processes with -p (tests/targets/attach.c)."""

import os
import shutil

from drip_e2e import (Truth, check, check_clean, compare_process, drip_attach, expect_eq,
                      expect_target_ok, release, start_waiting, target, tmpfile)


def attach_and_check(path, ndrips=1):
    proc, truth_path = start_waiting(path)
    return proc, truth_path, [drip_attach([proc.pid]) for _ in range(ndrips)]


def check_attach_report(report, tp, who=""):
    problems = [f"{who}{p}" for p in compare_process(report, tp, exited=True)]
    got = report.totals.get("unknown_frees")
    if got != tp["unknown_frees"]:
        problems.append(f"{who}totals.unknown_frees: expected {tp['unknown_frees']} (frees "
                        f"of blocks allocated before attach), drip reported {got}")
    check(problems)


def test_attach_sees_only_post_attach():
    """Only leaks made after attach are reported, exactly; frees of blocks allocated before
    attach are counted as unknown_frees, exactly."""
    proc, truth_path, (d,) = attach_and_check(target("attach"))
    release(proc)
    expect_target_ok(proc)
    report = d.finish()
    tp = Truth(truth_path).one("attach")
    check_clean(report)
    check_attach_report(report, tp)


def test_two_drips_one_target():
    """Two drips attached to one process both report the exact leak."""
    proc, truth_path, drips = attach_and_check(target("attach"), ndrips=2)
    release(proc)
    expect_target_ok(proc)
    reports = [d.finish() for d in drips]
    tp = Truth(truth_path).one("attach")
    for i, report in enumerate(reports):
        check_clean(report)
        check_attach_report(report, tp, who=f"drip #{i + 1}: ")


def test_attach_deleted_binary():
    """A target whose executable was deleted after it started is still traced, with function
    names."""
    path = tmpfile("attach-deleted")
    shutil.copy(target("attach"), path)
    proc, truth_path = start_waiting(path)
    os.unlink(path)
    d = drip_attach([proc.pid])
    release(proc)
    expect_target_ok(proc)
    report = d.finish()
    tp = Truth(truth_path).one("attach")
    expect_eq(os.path.exists(path), False, "the copied binary is gone (test self-check)")
    check_clean(report)
    check_attach_report(report, tp)
