# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""An allocation-heavy Python loop DEPTH Python frames deep, for bench/python.sh.

usage: py_alloc.py DEPTH N [HOLD]   prints "ns_per_alloc X", then sleeps HOLD seconds

Each iteration makes one bytearray of ALLOC bytes and drops it: its buffer is above pymalloc's
512-byte limit, so that is one malloc and one free per iteration, made from Python code DEPTH
frames below the module (leaf + descend * (DEPTH - 1)). A warm-up first, so drip has found the
interpreter and every stack has been sent before the timed part.
"""
import sys
import time

ALLOC = 2048


def leaf(n):
    for _ in range(n):
        bytearray(ALLOC)


def descend(depth, n):
    if depth <= 1:
        leaf(n)
    else:
        descend(depth - 1, n)


def main():
    depth = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    descend(depth, n // 10)
    time.sleep(0.3)
    t0 = time.perf_counter_ns()
    descend(depth, n)
    print(f"ns_per_alloc {(time.perf_counter_ns() - t0) / n:.1f}", flush=True)
    time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 0)  # bench/python_progs.py reads


if __name__ == "__main__":
    main()
