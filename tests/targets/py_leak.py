# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""A Python program that leaks known bytes through a C library (build/targets/libpyleak.so)
called with ctypes, from known functions at known lines (marked `# leak-site: NAME`).

usage: py_leak.py MODE [N]   MODE: direct | threads | callback | pool | wait

Ground truth: one JSON line per process that leaked, appended to $DRIP_TRUTH:
  {"prog": "py_leak", "pid": P, "mode": M, "leaks": {"SITE": [allocs, bytes], ...}}
SITE names the marker; the test finds its line in this file (`# call-site: NAME` marks where
NAME calls the next function down).  The process lingers LINGER seconds (default 1.5) before it
exits: drip reads code objects while the process lives, as with any real program.
"""

import ctypes
import json
import os
import signal
import sys
import threading
import time

LIB = ctypes.CDLL(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                               "build", "targets", "libpyleak.so"))
LIB.parse_record.restype = ctypes.c_void_p
LIB.parse_record.argtypes = [ctypes.c_size_t]
CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)
LIB.call_back.argtypes = [CALLBACK, ctypes.c_int]
# ctypes dlopen'ed libffi and CDLL libpyleak.so, whose first calls follow at once: give drip a
# moment to build their unwind tables (asked for as they are mapped, taken ahead of the events
# queued: 0.2-12 ms here), so that native stacks through them are whole (a walk that reaches a
# library before its table is marked truncated, and 200 calls take a few milliseconds)
time.sleep(float(os.environ.get("SETTLE", "0.2")))

RECORD = 4096 + 3  # bytes leaked per parse_record call (above pymalloc's 512 B)
leaks = {}


def note(site, nbytes):
    n = leaks.setdefault(site, [0, 0])
    n[0] += 1
    n[1] += nbytes


def process_example(i):
    LIB.parse_record(RECORD + i % 7)  # leak-site: process_example
    note("process_example", RECORD + i % 7)
    return os.getpid(), RECORD + i % 7


def load_model(n):
    for i in range(n):
        process_example(i)  # call-site: load_model


def thread_alpha(n):
    for _ in range(n):
        LIB.parse_record(RECORD * 2)  # leak-site: thread_alpha
        note("thread_alpha", RECORD * 2)


def thread_beta(n):
    for _ in range(n):
        LIB.parse_record(RECORD * 3)  # leak-site: thread_beta
        note("thread_beta", RECORD * 3)


def on_record(k):
    LIB.parse_record(RECORD + 100)  # leak-site: on_record
    note("on_record", RECORD + 100)
    return k


def run_callbacks(n):
    cb = CALLBACK(on_record)
    for i in range(n):
        LIB.call_back(cb, i)  # leak-site: run_callbacks


def truth(mode, extra=None):
    path = os.environ.get("DRIP_TRUTH")
    if not path:
        return
    line = {"prog": "py_leak", "pid": os.getpid(), "mode": mode, "leaks": leaks}
    line.update(extra or {})
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, (json.dumps(line) + "\n").encode())
    os.close(fd)


def pool_worker(i):
    return process_example(i)  # call-site: pool_worker


def main():
    per_pid = {}
    mode = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    if mode == "wait":
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
        print(f"drip-target: ready pid {os.getpid()}", file=sys.stderr, flush=True)
        if not signal.sigtimedwait([signal.SIGUSR1], 60):
            sys.exit("no SIGUSR1")
        load_model(n)  # call-site: main_wait
    elif mode == "direct":
        load_model(n)  # call-site: main_direct
    elif mode == "threads":
        ts = [threading.Thread(target=thread_alpha, args=(n,)),
              threading.Thread(target=thread_beta, args=(n,))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    elif mode == "callback":
        run_callbacks(n)  # call-site: main_callback
    elif mode == "pool":
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(4) as pool:
            for pid, size in pool.map(pool_worker, range(n), chunksize=4):
                per_pid.setdefault(str(pid), [0, 0])
                per_pid[str(pid)][0] += 1
                per_pid[str(pid)][1] += size
    truth(mode, {"workers": per_pid} if mode == "pool" else None)
    time.sleep(float(os.environ.get("LINGER", "1.5")))


if __name__ == "__main__":
    main()
