# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Python frames in stacks (tests/targets/py_leak.py calling build/targets/libpyleak.so through
ctypes), with Debian's /usr/bin/python3.11 (interpreter inside the executable, LTO, no DWARF)
and pyenv's 3.11 (shared libpython with DWARF).

Ground truth: the target's own count of what parse_record leaked, per site and per process, and
the lines of the `# leak-site:` / `# call-site:` markers in its source. Every stack whose
frames[0] is parse_record must read, in order: parse_record (native), ctypes/libffi frames
(native), then the Python frames with the right function, file and line, then whatever calls
them; and no eval-loop frame stands where Python frames were put. A native walk cut short at a
library whose unwind table was not built yet (libffi, dlopen'ed by _ctypes: the first calls) is
marked "truncated"; its Python frames must still be right, and most stacks must be whole.
"""

import os
import re

from drip_e2e import (ROOT, Skip, Truth, check, drip_attach, drip_trace, expect_eq,
                      expect_target_ok, fail, release, start_waiting, tmpfile)

SCRIPT = os.path.join(ROOT, "tests", "targets", "py_leak.py")
LIB = os.path.join(ROOT, "build", "targets", "libpyleak.so")
INTERPRETERS = {
    "debian": "/usr/bin/python3.11",
    "pyenv": os.path.expanduser("~/.pyenv/versions/3.11.7/bin/python3.11"),
    # the other layouts drip has offsets for, when installed
    "py310": os.path.expanduser("~/.pyenv/versions/3.10.13/bin/python3.10"),
    "py312": os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python3.12"),
}
EVAL = "_PyEval_EvalFrameDefault"


def interpreter(which):
    path = INTERPRETERS[which]
    if not os.access(path, os.X_OK):
        raise Skip(f"{path} is not installed")
    if not os.path.exists(LIB):
        fail(f"{LIB} is not built (run `make targets`)")
    return path


def markers():
    """NAME -> line of `# leak-site: NAME` or `# call-site: NAME` in the target."""
    out = {}
    with open(SCRIPT) as f:
        for n, line in enumerate(f, 1):
            m = re.search(r"# (?:leak|call)-site: (\w+)", line)
            if m:
                out[m.group(1)] = n
    return out


def pyframes(stack):
    return [f for f in stack["frames"] if f.get("kind") == "python"]


def show(stack, n=14):
    rows = []
    for f in stack["frames"][:n]:
        if f.get("kind") == "python":
            rows.append(f"    [py] {f.get('function')} {f.get('file')}:{f.get('line')}")
        else:
            rows.append(f"    {f.get('function')} ({os.path.basename(f.get('module') or '?')})")
    return "\n".join(rows)


def leak_stacks(report, pid):
    return [s for s in report.stacks_of(pid)
            if s["frames"] and s["frames"][0].get("function") == "parse_record"]


def check_chain(stack, want, problems):
    """frames[0] parse_record, then native ctypes/libffi frames, then the Python frames
    `want` [(function, line), ...] in this order, as the first Python frames."""
    frames = stack["frames"]
    first_py = next((i for i, f in enumerate(frames) if f.get("kind") == "python"), None)
    if first_py is None:
        problems.append(f"stack has no Python frame:\n{show(stack)}")
        return
    if frames[0].get("module") != LIB and not (frames[0].get("module") or "").endswith(
            "libpyleak.so"):
        problems.append(f"frames[0] is not libpyleak.so's parse_record:\n{show(stack)}")
    between = frames[1:first_py]
    mods = {os.path.basename(f.get("module") or "?") for f in between}
    if stack.get("truncated") and not between:
        pass  # the native walk stopped in libffi: Python frames follow parse_record
    elif not between or not all(re.match(r"(libffi|_ctypes)", m) for m in mods):
        problems.append(f"between parse_record and the first Python frame: expected only "
                        f"libffi/_ctypes frames, found {sorted(mods)}:\n{show(stack)}")
    got = [(f.get("function"), f.get("line")) for f in frames[first_py:first_py + len(want)]]
    if got != want:
        problems.append(f"Python frames: expected {want}, drip reported {got}:\n{show(stack)}")
    for f in frames[first_py:first_py + len(want)]:
        if f.get("kind") != "python" or f.get("file") != SCRIPT:
            problems.append(f"expected a Python frame in {SCRIPT}, got {f}")
            break
    if any(f.get("function") == EVAL for f in frames):
        problems.append(f"an eval-loop frame is left among the Python frames:\n{show(stack)}")


def check_whole(stacks, problems):
    """Most blocks sit in stacks the native walk did not cut short."""
    whole = sum(s["outstanding_allocs"] for s in stacks if not s.get("truncated"))
    total = sum(s["outstanding_allocs"] for s in stacks)
    if whole * 2 < total:
        problems.append(f"only {whole} of {total} parse_record blocks have whole stacks")


def check_bytes(stacks, want_allocs, want_bytes, what, problems):
    got_b = sum(s["outstanding_bytes"] for s in stacks)
    got_a = sum(s["outstanding_allocs"] for s in stacks)
    if (got_a, got_b) != (want_allocs, want_bytes):
        problems.append(f"{what}: expected {want_allocs} blocks, {want_bytes} B outstanding; "
                        f"drip reported {got_a} blocks, {got_b} B")


def run_direct(which):
    py = interpreter(which)
    m = markers()
    run = drip_trace([py, SCRIPT, "direct", "200"], extra_env={"LINGER": "1"})
    report = run.report()
    tp = run.truth().one("py_leak")
    stacks = leak_stacks(report, tp["pid"])
    problems = []
    allocs, nbytes = tp["leaks"]["process_example"]
    check_bytes(stacks, allocs, nbytes, "parse_record under process_example", problems)
    for s in stacks:
        check_chain(s, [("process_example", m["process_example"]),
                        ("load_model", m["load_model"]), ("main", m["main_direct"])], problems)
    check_whole(stacks, problems)
    check(problems)


def test_direct_debian():
    """Debian's python3.11: every parse_record block, exactly, under process_example:37 <-
    load_model <- main, right above the ctypes frames."""
    run_direct("debian")


def test_direct_pyenv():
    """pyenv's python3.11 (shared libpython): the same."""
    run_direct("pyenv")


def run_threads(which):
    py = interpreter(which)
    m = markers()
    run = drip_trace([py, SCRIPT, "threads", "150"], extra_env={"LINGER": "1"})
    report = run.report()
    tp = run.truth().one("py_leak")
    stacks = leak_stacks(report, tp["pid"])
    problems = []
    for fn in ("thread_alpha", "thread_beta"):
        mine = [s for s in stacks if (pyframes(s) or [{}])[0].get("function") == fn]
        allocs, nbytes = tp["leaks"][fn]
        check_bytes(mine, allocs, nbytes, f"parse_record under {fn}", problems)
        for s in mine:
            check_chain(s, [(fn, m[fn])], problems)
    check_bytes(stacks, sum(v[0] for v in tp["leaks"].values()),
                sum(v[1] for v in tp["leaks"].values()), "parse_record in all", problems)
    check_whole(stacks, problems)
    check(problems)


def test_threads_debian():
    """Two Python threads leaking from different functions: each thread's bytes under its own
    function and line (each thread's PyThreadState found by its pthread_self)."""
    run_threads("debian")


def test_threads_pyenv():
    run_threads("pyenv")


def run_callback(which):
    py = interpreter(which)
    m = markers()
    run = drip_trace([py, SCRIPT, "callback", "100"], extra_env={"LINGER": "1"})
    report = run.report()
    tp = run.truth().one("py_leak")
    stacks = leak_stacks(report, tp["pid"])
    problems = []
    allocs, nbytes = tp["leaks"]["on_record"]
    check_bytes(stacks, allocs, nbytes, "parse_record under on_record", problems)
    for s in stacks:
        check_chain(s, [("on_record", m["on_record"])], problems)
        if s.get("truncated"):
            continue
        # C -> Python -> C -> Python: on_record, then native call_back, then run_callbacks
        names = [(f.get("kind"), f.get("function")) for f in s["frames"]]
        try:
            i = names.index(("python", "on_record"))
            j = names.index(("native", "call_back"), i)
            k = names.index(("python", "run_callbacks"), j)
        except ValueError:
            problems.append(f"expected on_record [py] <- call_back <- run_callbacks [py]:\n"
                            f"{show(s, 30)}")
            continue
        f = s["frames"][k]
        if (f.get("line"), f.get("file")) != (m["run_callbacks"], SCRIPT):
            problems.append(f"run_callbacks at {f.get('file')}:{f.get('line')}, expected "
                            f"{SCRIPT}:{m['run_callbacks']}")
        nxt = s["frames"][k + 1] if k + 1 < len(s["frames"]) else {}
        if (nxt.get("function"), nxt.get("line")) != ("main", m["main_callback"]):
            problems.append(f"expected main:{m['main_callback']} below run_callbacks:\n"
                            f"{show(s, 30)}")
    check_whole(stacks, problems)
    check(problems)


def test_callback_debian():
    """A callback from C back into Python that allocates: the two Python runs interleave with
    the C frames in the right order."""
    run_callback("debian")


def test_callback_pyenv():
    run_callback("pyenv")


def test_callback_py310():
    """3.10: one eval-loop call per frame (PyFrameObject list, f_lasti)."""
    run_callback("py310")


def test_callback_py312():
    """3.12: eval-loop calls marked by shim frames owned by the C stack."""
    run_callback("py312")


def run_pool(which):
    py = interpreter(which)
    m = markers()
    run = drip_trace([py, SCRIPT, "pool", "200"], extra_env={"LINGER": "1"})
    report = run.report()
    tp = run.truth().one("py_leak")
    problems = []
    workers = tp["workers"]
    expect_eq(len(workers) >= 2, True, f"workers used by the pool (test self-check: {workers})")
    every = []
    for pid, (allocs, nbytes) in workers.items():
        stacks = leak_stacks(report, int(pid))
        every += stacks
        check_bytes(stacks, allocs, nbytes, f"worker {pid}: parse_record", problems)
        for s in stacks:
            check_chain(s, [("process_example", m["process_example"]),
                            ("pool_worker", m["pool_worker"])], problems)
    check_whole(every, problems)
    check(problems)


def test_pool_debian():
    """multiprocessing.Pool(4) with fork workers: per-worker bytes exact, and every worker's
    stack reads parse_record <- process_example:LINE <- pool_worker:LINE."""
    run_pool("debian")


def test_pool_pyenv():
    run_pool("pyenv")


def run_attach(which):
    py = interpreter(which)
    m = markers()
    proc, truth_path = start_waiting(py, [SCRIPT, "wait", "200"], extra_env={"LINGER": "1"})
    d = drip_attach([proc.pid])
    release(proc)
    expect_target_ok(proc)
    report = d.finish()
    tp = Truth(truth_path).one("py_leak")
    stacks = leak_stacks(report, tp["pid"])
    problems = []
    allocs, nbytes = tp["leaks"]["process_example"]
    check_bytes(stacks, allocs, nbytes, "parse_record under process_example", problems)
    for s in stacks:
        check_chain(s, [("process_example", m["process_example"]),
                        ("load_model", m["load_model"]), ("main", m["main_wait"])], problems)
    check_whole(stacks, problems)
    check(problems)


def test_attach_debian():
    """drip -p attached to a running Python process finds its interpreter and names frames."""
    run_attach("debian")


def test_attach_pyenv():
    run_attach("pyenv")


POOL_DUP = r"""
import multiprocessing as mp
KEEP = []
def leak(i):
    KEEP.append(bytearray(100_000))
def work(i):
    leak(i)
    return i
if __name__ == "__main__":
    for i in range(40):
        work(i)
    with mp.Pool(2) as p:
        p.map(work, range(40), chunksize=1)
"""


def test_one_row_per_pid_and_stack_pyenv():
    """A stack holding memory in a process is one row: stacks[] has one entry per (pid,
    stack_id), and merged[] counts each pid once. (Pool workers captured the same Python
    stack as two raw stacks, which the report showed as two rows with the same pid and
    stack_id, and merged counted 6 pids for 3 processes.)"""
    path = interpreter("pyenv")
    script = tmpfile("pool_dup.py")
    with open(script, "w") as f:
        f.write(POOL_DUP)
    report = drip_trace([path, script]).report()
    problems = []
    seen = {}
    for s in report.stacks:
        key = (s["pid"], s["stack_id"])
        if key in seen:
            problems.append(f"pid {s['pid']} has two rows for stack {s['stack_id']}: "
                            f"{seen[key]} B and {s['outstanding_bytes']} B")
        seen[key] = s["outstanding_bytes"]
    rows = {}
    for s in report.stacks:
        if s["allocs"] or s["outstanding_allocs"]:
            rows.setdefault(s["stack_id"], set()).add(s["pid"])
    for m in report.merged:
        want = len(rows.get(m["stack_id"], ()))
        if m["pids"] != want:
            problems.append(f"merged {m['stack_id']}: pids {m['pids']}, expected {want}")
    leak = [s for s in report.stacks if s["outstanding_bytes"] >= 100_000 * 10]
    if not leak:
        problems.append("no stack holds the 100 kB bytearrays leak()'s appends keep")
    check(problems)


def run_no_python(which):
    py = interpreter(which)
    run = drip_trace([py, SCRIPT, "direct", "200"], drip_args=["--no-python"],
                     extra_env={"LINGER": "1"})
    report = run.report()
    tp = run.truth().one("py_leak")
    stacks = leak_stacks(report, tp["pid"])
    problems = []
    allocs, nbytes = tp["leaks"]["process_example"]
    check_bytes(stacks, allocs, nbytes, "parse_record under process_example", problems)
    every = [f for s in report.stacks for f in s["frames"]]
    if any(f.get("kind") == "python" for f in every):
        problems.append("--no-python: a stack has a Python frame")
    for s in stacks:
        if s.get("truncated"):
            continue
        # load_model -> process_example -> ctypes: one eval-loop call (3.11 inlines Python
        # calls), under the interpreter's own frames down to main
        names = [f.get("function") for f in s["frames"]]
        if EVAL not in names:
            problems.append(f"--no-python: expected {EVAL} in the stack:\n{show(s, 40)}")
        elif names.index(EVAL) < 2:
            problems.append(f"--no-python: expected ctypes frames above {EVAL}:\n{show(s, 40)}")
    check_whole(stacks, problems)
    check(problems)


def test_no_python_debian():
    """--no-python: the same exact bytes, native stacks with the interpreter's eval-loop frames
    and no Python frame anywhere."""
    run_no_python("debian")


def test_no_python_pyenv():
    run_no_python("pyenv")
