# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""What the return probe costs in the kernel with and without Python frames: bench/py_alloc.py
under drip --no-python and drip, and the BPF programs' own clock (kernel.bpf_stats_enabled,
run_time_ns / run_cnt of this drip's malloc_return, read while the target lingers).  Less noisy
than wall time: other tenants' load does not count.  Interleaved rounds, medians; prints only.

usage: python_progs.py [ROUNDS]   (root; env PY_ALLOCS, DRIP)
"""
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DRIP = os.environ.get("DRIP", str(ROOT / "drip"))
N = int(os.environ.get("PY_ALLOCS", "100000"))
PYS = {"debian": "/usr/bin/python3.11",
       "pyenv": os.path.expanduser("~/.pyenv/versions/3.11.7/bin/python3.11")}


def prog_ids(pid):
    """The ids of the BPF programs process pid holds open (from its fds' fdinfo)."""
    ids = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def prog_ns(drip_pid, name):
    ids = prog_ids(drip_pid)
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True)
    for p in json.loads(out.stdout or "[]"):
        if p.get("name") == name and p.get("id") in ids and p.get("run_cnt"):
            return p["run_time_ns"] / p["run_cnt"]
    return None


def one(py, depth, args):
    d = subprocess.Popen([DRIP, "trace", "-q", *args, "-o", "/dev/null", "--", py,
                          str(ROOT / "bench" / "py_alloc.py"), str(depth), str(N), "3"],
                         stdout=subprocess.PIPE, text=True)
    line = d.stdout.readline()
    ns = prog_ns(d.pid, "malloc_return") if line.startswith("ns_per_alloc") else None
    d.wait()
    return ns


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        was = f.read().strip()
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    res = {}
    configs = [("no-python", ["--no-python"]), ("python", [])]
    try:
        for r in range(rounds):
            for name, py in PYS.items():
                if not os.access(py, os.X_OK):
                    continue
                for depth in (5, 20):
                    for c, args in configs[r % 2:] + configs[:r % 2]:
                        ns = one(py, depth, args)
                        if ns is not None:
                            res.setdefault((name, depth, c), []).append(ns)
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(was)
    print(f"malloc_return: ns per run in the kernel (median of {rounds}; bpf_stats)")
    print(f"{'python':7} {'depth':>5} {'no-python':>10} {'python':>10} {'py-frames':>10}")
    for name in PYS:
        for depth in (5, 20):
            a, b = res.get((name, depth, "no-python")), res.get((name, depth, "python"))
            if a and b:
                ma, mb = statistics.median(a), statistics.median(b)
                print(f"{name:7} {depth:>5} {ma:>10.0f} {mb:>10.0f} {mb - ma:>10.0f}")


if __name__ == "__main__":
    main()
