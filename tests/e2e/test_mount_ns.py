# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""A process in another mount namespace, running a binary whose path exists only there:
drip must reach it through /proc/PID/map_files and /proc/PID/root and name its frames with
source file and line."""

import os
import shutil
import time

from drip_e2e import Proc, Report, check, drip, fail, fnames, target, tmpdir, tmpfile

HERE = os.path.dirname(os.path.abspath(__file__))


def _malloc_line():
    """The line of churn_pair's malloc, read from the source: the truth for frames[0]."""
    src = os.path.join(HERE, "..", "targets", "churn.c")
    with open(src) as f:
        for n, line in enumerate(f, 1):
            if "malloc(size)" in line:
                return n
    fail(f"no malloc(size) line in {src}")


def test_binary_only_in_another_mount_namespace():
    """churn runs from a tmpfs mounted inside a private mount namespace: from drip's
    namespace its path does not exist."""
    if not shutil.which("unshare"):
        fail("unshare (util-linux) is needed")
    d = tmpdir()
    hidden = os.path.join(d, "ns")
    os.mkdir(hidden)
    exe = os.path.join(hidden, "churn-ns")
    script = (f"mount -t tmpfs none {hidden} && cp {target('churn')} {exe} && "
              f"exec {exe} --loop 100")
    victim = Proc(["unshare", "--mount", "--propagation", "private", "sh", "-c", script])
    deadline = time.time() + 10
    while time.time() < deadline and victim.poll() is None:
        try:
            if os.readlink(f"/proc/{victim.pid}/exe").endswith("churn-ns"):
                break
        except OSError:
            pass
        time.sleep(0.05)
    else:
        fail(f"churn did not start in its mount namespace{victim.stderr_tail()}")
    if os.path.exists(exe):
        fail(f"{exe} is visible from drip's namespace: the test would prove nothing")
    time.sleep(0.3)
    report_path = tmpfile("report.json")
    rc, _, err = drip("trace", "-p", str(victim.pid), "-d", "2", "-f", "json", "-o", report_path,
                      timeout=30)
    if rc != 0:
        fail(f"drip trace -p {victim.pid} exited {rc}: {err.strip()[:400]}")
    report = Report(report_path)
    line = _malloc_line()
    rows = [s for s in report.stacks_of(victim.pid) if fnames(s)[:1] == ["churn_pair"]]
    problems = []
    if not rows:
        problems.append("no stack starts with churn_pair: the binary's symbols were not read "
                        f"(stacks: {[fnames(s)[:3] for s in report.stacks_of(victim.pid)][:5]})")
    for s in rows:
        f0 = s["frames"][0]
        if not (f0.get("module") or "").endswith("churn-ns"):
            problems.append(f"expected module .../churn-ns, drip reported {f0.get('module')}")
        if os.path.basename(f0.get("file") or "") != "churn.c" or f0.get("line") != line:
            problems.append(f"expected churn.c:{line} for churn_pair's malloc, drip reported "
                            f"{f0.get('file')}:{f0.get('line')}")
    check(problems)
