# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Signals that reach drip's whole process group (a terminal's Ctrl-C, `kill -INT -PGID`,
`timeout -s INT`) are for drip: they must not kill the helper tasks it attaches through."""

import os
import signal
import time

from drip_e2e import DRIP, Proc, Report, expect_target_ok, fail, release, start_waiting, \
    target, tmpfile


def holders_of(drip_pid):
    """PIDs of drip's holder tasks (children running the memfd drip-holder image)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            exe = os.readlink(f"/proc/{d}/exe")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == drip_pid and "drip-holder" in exe:
            found.append(int(d))
    return found


def sig_ignored(pid, sig):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("SigIgn:"):
                return bool(int(line.split()[1], 16) & (1 << (sig - 1)))
    return False


def test_group_sigint_spares_holder():
    """The holder is outside drip's process group and ignores SIGINT/SIGTERM/SIGHUP, so a
    Ctrl-C sent to the group while drip attaches cannot make every later probe fail with
    ESRCH ('cannot open perf event ...: No such process'); a group SIGINT after attach
    ends tracing with a report, exit 0."""
    proc, _ = start_waiting(target("attach"))
    report = tmpfile("report.json")
    d = Proc([DRIP, "trace", "-p", str(proc.pid), "-d", "40", "-f", "json", "-o", report,
              "-v"], process_group=0)
    if not d.err.wait_for(r"\battached\b", 30):
        fail(f"expected drip to say 'attached', it did not{d.stderr_tail()}")
    holders = holders_of(d.pid)
    if not holders:
        fail(f"expected drip (pid {d.pid}) to have a drip-holder child, found none")
    for h in holders:
        if os.getpgid(h) == d.pid:
            fail(f"holder {h} is in drip's process group {d.pid}: a Ctrl-C kills it")
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            if not sig_ignored(h, sig):
                fail(f"holder {h} does not ignore {sig.name}")
    os.killpg(d.pid, signal.SIGINT)
    rc = d.wait(30)
    if rc != 0:
        fail(f"expected drip to report and exit 0 after a group SIGINT, it exited {rc}"
             f"{d.stderr_tail()}")
    if "No such process" in d.err.text():
        fail(f"drip lost a helper task to the group SIGINT{d.stderr_tail()}")
    Report(report)
    release(proc)
    expect_target_ok(proc)
