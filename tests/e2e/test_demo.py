# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""The `make demo` workload (tests/targets/demo_trainer.c), exact per process."""

from drip_e2e import check, check_clean, compare_process, drip_trace, expect_eq, target


def test_demo_trainer_exact():
    """3 workers leak from parse_record and balance tokenize while the parent's cache grows:
    every process's figures are exact."""
    run = drip_trace([target("demo_trainer"), "1.5"])
    report = run.report()
    truth = run.truth()
    check_clean(report)
    expect_eq(len(truth.procs), 4, "processes in the truth file")
    expect_eq(sorted(report.pids()), sorted(truth.pids()), "pids in processes[]")
    problems = []
    for tp in truth.procs:
        problems += compare_process(report, tp, exited=True)
    check(problems)
