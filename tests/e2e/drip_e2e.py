# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""drip end-to-end tests: shared helpers, and the runner that tests/e2e/run.sh drives.

Tests are plain functions named test_* in tests/e2e/test_*.py. Each runs in its own Python
process (`drip_e2e.py run FILE::TEST`), which is a child subreaper: whatever the test starts,
including processes drip starts in their own process group, is killed when the test ends,
passes, fails or times out. A test fails by raising Failure (or AssertionError), skips by
raising Skip; `test_x.timeout = 90` overrides the default timeout of 60 s.

Ground truth comes from the targets (tests/targets/target.h): each process appends one JSON
line to $DRIP_TRUTH. The helpers compare drip's JSON report (docs/INTERFACE.md, format 1) with
it, exactly:
- a heap stack belongs to the target function at frames[0]; an mmap stack to frames[0] or,
  when frames[0] is the libc mmap wrapper, to frames[1];
- per (pid, function): allocs, frees, outstanding_bytes and outstanding_allocs summed over
  that function's stacks must equal the truth;
- functions the truth lists as "absent" or "unseen" own no stack;
- every stack passing through a "complete_under" function must belong to a truth function
  (nothing counted twice from inside an allocator, nothing misattributed);
- no frame is an allocator (only the outermost allocator call counts, and it is not a frame).
Every message says what was expected and what drip reported.

Standard library only; run with /usr/bin/python3.
"""

import ctypes
import importlib.util
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIP = os.environ.get("DRIP", os.path.join(ROOT, "drip"))
TARGETS = os.path.join(ROOT, "build", "targets")
DEFAULT_TIMEOUT = 60  # seconds per test
DRIP_TIMEOUT = 45  # seconds for one drip run inside a test

# Functions drip probes, and glibc's internal names for them: none may ever be a frame
ALLOCATOR_NAMES = {
    "malloc", "calloc", "realloc", "free", "cfree", "reallocarray", "posix_memalign",
    "aligned_alloc", "memalign", "valloc", "pvalloc",
    "__libc_malloc", "__libc_calloc", "__libc_realloc", "__libc_free", "__libc_memalign",
    "__libc_valloc", "__libc_pvalloc", "__libc_reallocarray", "__posix_memalign",
    "__GI___libc_malloc", "__GI___libc_realloc", "__GI___libc_free", "__GI___libc_memalign",
    "__GI___libc_reallocarray", "_mid_memalign", "_int_malloc", "_int_realloc", "_int_free",
    "_int_memalign", "sysmalloc", "sysmalloc_mmap", "tcache_init", "mremap_chunk",
    "munmap_chunk", "new_heap", "_int_new_arena", "arena_get2",
}
# What frames[0] may be for a block the program mapped itself with mmap()
MMAP_WRAPPERS = {None, "mmap", "mmap64", "__mmap", "__mmap64", "__GI___mmap64"}


class Failure(AssertionError):
    pass


class Skip(Exception):
    pass


def fail(msg):
    raise Failure(msg)


def target(name):
    path = os.path.join(TARGETS, name)
    if not os.access(path, os.X_OK):
        fail(f"test target {path} is not built (run `make targets`)")
    return path


_tmp = None
_seq = 0


def tmpdir():
    """This test's scratch directory (removed after the test unless E2E_KEEP is set)."""
    global _tmp
    if _tmp is None:
        _tmp = tempfile.mkdtemp(prefix="drip-e2e-")
        os.chmod(_tmp, 0o755)
    return _tmp


def tmpfile(stem):
    global _seq
    _seq += 1
    return os.path.join(tmpdir(), f"{_seq:02d}-{stem}")


# --- processes --------------------------------------------------------------------------

class Lines:
    """Collects a pipe's lines in a thread, so nothing blocks and everything has a timeout."""

    def __init__(self, pipe):
        self.lines = []
        self.closed = False
        self.cond = threading.Condition()
        threading.Thread(target=self._pump, args=(pipe,), daemon=True).start()

    def _pump(self, pipe):
        for raw in iter(pipe.readline, b""):
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def text(self):
        with self.cond:
            return "\n".join(self.lines)

    def wait_for(self, pattern, timeout, start=0):
        """First line at index >= start matching pattern: (index, match), or None at timeout
        or end of stream."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return i, m
                    i += 1
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    return None
                self.cond.wait(left)

    def count(self):
        with self.cond:
            return len(self.lines)

    def wait_closed(self, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True

    def wait_count(self, n, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.lines) < n and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.lines)


class Proc:
    """A started process with its stdout and stderr collected line by line."""

    def __init__(self, args, env=None, extra_env=None, **kw):
        full_env = dict(os.environ if env is None else env)
        full_env.update(extra_env or {})
        self.args = [str(a) for a in args]
        self.p = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=full_env, **kw)
        self.pid = self.p.pid
        self.out = Lines(self.p.stdout)
        self.err = Lines(self.p.stderr)

    def wait(self, timeout, what=None):
        """Exit status; a timeout fails the test (the process is killed at cleanup)."""
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            fail(f"{what or self.cmdline()} did not finish within {timeout} s"
                 f"{self.stderr_tail()}")

    def poll(self):
        return self.p.poll()

    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.pid, sig)

    def cmdline(self):
        return " ".join(self.args)

    def stderr_tail(self, n=15):
        lines = self.err.text().splitlines()[-n:]
        return ("\n  stderr:\n    " + "\n    ".join(lines)) if lines else ""


def children_of(pid, live=False):
    """PIDs whose parent is pid (live: not zombies)."""
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        if int(fields[1]) == pid and not (live and fields[0] == b"Z"):
            kids.append(int(d))
    return kids


def comm_of(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def kill_descendants():
    """Kill everything this (subreaper) process started, level by level, except drip's
    background detach (it ends by itself within seconds; killed, it leaves a probe group
    for the next drip to remove)."""
    me = os.getpid()
    for _ in range(100):
        kids = [k for k in children_of(me) if comm_of(k) != "drip-detach"]
        if not kids:
            return
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if not pid:
                break


def is_kernel_thread(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    flags = int(stat[stat.rindex(b")") + 2:].split()[6])
    return bool(flags & 0x00200000)  # PF_KTHREAD


def unused_pid():
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    for pid in range(pid_max - 1, 1, -1):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    fail("no free PID")


# --- truth ------------------------------------------------------------------------------

class Truth:
    """The JSON lines the targets wrote: one per process."""

    def __init__(self, path, what="the target"):
        self.path = path
        self.procs = []
        try:
            with open(path) as f:
                for line in f:
                    if line.strip():
                        self.procs.append(json.loads(line))
        except FileNotFoundError:
            fail(f"{what} wrote no truth to {path}: it did not run to the end")
        except json.JSONDecodeError as e:
            fail(f"{what} wrote a bad truth line to {path}: {e}")

    def by_prog(self, prog):
        return [p for p in self.procs if p["prog"] == prog]

    def one(self, prog):
        procs = self.by_prog(prog)
        if len(procs) != 1:
            fail(f"expected one truth line from {prog}, found {len(procs)} in {self.path}")
        return procs[0]

    def top(self):
        """The process whose parent wrote no truth: the command itself."""
        pids = {p["pid"] for p in self.procs}
        tops = [p for p in self.procs if p["ppid"] not in pids]
        if len(tops) != 1:
            fail(f"expected one top process in {self.path}, found {len(tops)}")
        return tops[0]

    def pids(self):
        return {p["pid"] for p in self.procs}


# --- drip ---------------------------------------------------------------------------------

class Report:
    """drip's JSON report."""

    def __init__(self, path):
        self.path = path
        try:
            with open(path) as f:
                self.data = json.load(f)
        except FileNotFoundError:
            fail(f"drip wrote no report to {path}")
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            fail(f"drip's report {path} is not valid JSON: {e}")
        for key in ("totals", "processes", "stacks", "merged"):
            if key not in self.data:
                fail(f"drip's report has no '{key}' (keys: {sorted(self.data)})")
        self.totals = self.data["totals"]
        self.processes = self.data["processes"]
        self.stacks = self.data["stacks"]
        self.merged = self.data["merged"]

    def process(self, pid):
        for p in self.processes:
            if p.get("pid") == pid or p.get("nspid") == pid:
                return p
        return None

    def report_pid(self, pid):
        """The pid drip uses for a process the target knows as pid (its nspid, if any)."""
        p = self.process(pid)
        return p["pid"] if p else pid

    def stacks_of(self, pid):
        rpid = self.report_pid(pid)
        return [s for s in self.stacks if s.get("pid") == rpid]

    def pids(self):
        return {p.get("nspid") or p["pid"] for p in self.processes}


class Run:
    def __init__(self, proc, rc, report_path, truth_path):
        proc.out.wait_closed(2)
        proc.err.wait_closed(2)
        self.proc = proc
        self.rc = rc
        self.stdout = proc.out.text()
        self.stderr = proc.err.text()
        self.report_path = report_path
        self.truth_path = truth_path

    def what(self):
        return f"`{self.proc.cmdline()}`"

    def report(self):
        if self.rc != 0:
            fail(f"expected {self.what()} to exit 0, it exited {self.rc}"
                 f"{self.proc.stderr_tail()}")
        return Report(self.report_path)

    def truth(self):
        return Truth(self.truth_path)


def drip_trace(cmd, drip_args=(), extra_env=None, timeout=DRIP_TIMEOUT):
    """drip trace -f json -o REPORT [drip_args] -- cmd, with $DRIP_TRUTH set for the target."""
    report = tmpfile("report.json")
    truth = tmpfile("truth.jsonl")
    env = {"DRIP_TRUTH": truth}
    env.update(extra_env or {})
    proc = Proc([DRIP, "trace", "-f", "json", "-o", report, *drip_args, "--", *cmd],
                extra_env=env)
    rc = proc.wait(timeout)
    return Run(proc, rc, report, truth)


def drip(*args, timeout=30, prefix=(), **kw):
    """Run [prefix...] drip args...; (exit status, stdout, stderr)."""
    proc = Proc([*prefix, DRIP, *args], **kw)
    rc = proc.wait(timeout)
    proc.out.wait_closed(2)
    proc.err.wait_closed(2)
    return rc, proc.out.text(), proc.err.text()


def start_waiting(path, args=(), extra_env=None):
    """Start a target with $DRIP_WAIT: (Proc, truth path) once it says it is ready."""
    truth = tmpfile("truth.jsonl")
    env = {"DRIP_WAIT": "1", "DRIP_TRUTH": truth}
    env.update(extra_env or {})
    proc = Proc([path, *args], extra_env=env)
    if not proc.err.wait_for(r"drip-target: ready pid \d+", 10):
        fail(f"{proc.cmdline()} never said it was ready (exit status {proc.poll()})"
             f"{proc.stderr_tail()}")
    return proc, truth


class Attached:
    def __init__(self, proc, report_path):
        self.proc = proc
        self.report_path = report_path

    def finish(self, timeout=DRIP_TIMEOUT):
        rc = self.proc.wait(timeout, f"drip ({self.proc.cmdline()})")
        if rc != 0:
            fail(f"expected `{self.proc.cmdline()}` to exit 0, it exited {rc}"
                 f"{self.proc.stderr_tail()}")
        return Report(self.report_path)


def drip_attach(pids, drip_args=(), timeout=30, duration=40):
    """drip trace -p PIDS -v -f json -o REPORT -d duration; returns once drip says 'attached'."""
    report = tmpfile("report.json")
    proc = Proc([DRIP, "trace", "-p", ",".join(str(p) for p in pids), "-d", str(duration),
                 "-f", "json", "-o", report, "-v", *drip_args])
    if not proc.err.wait_for(r"\battached\b", timeout):
        rc = proc.poll()
        state = f"exited {rc}" if rc is not None else f"still running after {timeout} s"
        fail(f"expected drip to say 'attached' on stderr, it {state}{proc.stderr_tail()}")
    return Attached(proc, report)


def release(proc):
    """Let a target blocked in target_wait_go() go on."""
    os.kill(proc.pid, signal.SIGUSR1)


def expect_target_ok(proc, timeout=30):
    rc = proc.wait(timeout)
    if rc != 0:
        fail(f"target {proc.cmdline()} exited {rc}{proc.stderr_tail()}")


def expect_error(rc, stderr, codes, what):
    """drip failed as the contract says: exit status in codes, one error line starting
    `drip: ` (INTERFACE.md: `drip: <what failed>: <why>`), at most one hint line after it."""
    lines = [l for l in stderr.splitlines() if l.strip()]
    shown = "\n    ".join(lines[:6]) or "(nothing)"
    if rc not in codes:
        want = (f"{codes.start}-{codes.stop - 1}" if isinstance(codes, range)
                else " or ".join(map(str, codes)))
        fail(f"{what}: expected exit status {want}, drip exited {rc}; stderr:\n    {shown}")
    if not lines or not re.match(r"^drip: \S", lines[0]):
        fail(f"{what}: expected stderr to start with one line 'drip: <what failed>: <why>', "
             f"drip wrote:\n    {shown}")
    if len(lines) > 2:
        fail(f"{what}: expected one error line (plus at most a hint), drip wrote {len(lines)}:"
             f"\n    {shown}")


# --- comparing a report with the truth ----------------------------------------------------

def fnames(stack):
    return [f.get("function") for f in stack.get("frames") or []]


def owner(stack, heap, mmap):
    """The truth function a stack belongs to, or None."""
    names = fnames(stack)
    if not names:
        return None
    if names[0] in heap or names[0] in mmap:
        return names[0]
    if len(names) > 1 and names[0] in MMAP_WRAPPERS and names[1] in mmap:
        return names[1]
    return None


def frame_name(f):
    if f.get("function"):
        return f["function"]
    module = os.path.basename(f.get("module") or "") or "?"
    return f"{f.get('address')}@{module}"


def show_stack(s, n=6):
    frames = s.get("frames") or []
    names = [frame_name(f) for f in frames[:n]]
    more = " ..." if len(frames) > n else ""
    return (f"[{' < '.join(names)}{more}] bytes={s.get('outstanding_bytes')} "
            f"allocs={s.get('allocs')} frees={s.get('frees')} "
            f"outstanding_allocs={s.get('outstanding_allocs')}")


FIELDS = ("allocs", "frees", "outstanding_bytes", "outstanding_allocs", "alloc_bytes")


def compare_process(report, tp, exited=None):
    """Problems (strings) found comparing drip's report with one truth process."""
    pid = tp["pid"]
    who = f"{tp['prog']} pid {pid}"
    problems = []
    rp = report.process(pid)
    if rp is None:
        return [f"{who}: expected in processes[], drip listed pids "
                f"{sorted(p.get('pid') for p in report.processes)}"]
    if exited is not None and rp.get("exited") is not exited:
        problems.append(f"{who}: expected processes[].exited={exited}, drip reported "
                        f"{rp.get('exited')}")
    funcs = tp["funcs"]
    heap = {f for f, v in funcs.items() if v["kind"] == "heap"}
    mmap = {f for f, v in funcs.items() if v["kind"] == "mmap"}
    stacks = report.stacks_of(pid)
    sums = {f: dict.fromkeys(FIELDS, 0) for f in funcs}
    owned = {f: [] for f in funcs}
    for s in stacks:
        o = owner(s, heap, mmap)
        if o:
            owned[o].append(s)
            for k in FIELDS:
                sums[o][k] += s.get(k) or 0
        # an inlined frame is code of its caller, not a call: glibc's loader inlines wrappers
        # named malloc and calloc (rtld-malloc.h), and DWARF shows them
        names = [f.get("function") for f in s.get("frames") or [] if not f.get("inlined")]
        bad = [n for n in names if n in ALLOCATOR_NAMES]
        if bad:
            problems.append(f"{who}: expected no allocator among the frames (the outermost "
                            f"call counts once, and is not a frame), drip reported "
                            f"{show_stack(s, 10)}")
        if exited is not None and s.get("exited") is not exited:
            problems.append(f"{who}: expected stacks[].exited={exited}, drip reported "
                            f"{s.get('exited')} for {show_stack(s)}")
    for f, want in funcs.items():
        got = sums[f]
        diff = [k for k in FIELDS if got[k] != want[k]]
        if diff:
            exp = ", ".join(f"{k}={want[k]}" for k in FIELDS)
            rep = ", ".join(f"{k}={got[k]}" for k in FIELDS)
            elsewhere = [s for s in stacks if f in fnames(s) and s not in owned[f]]
            hint = "".join(f"\n      {f} elsewhere in a stack: {show_stack(s)}"
                           for s in elsewhere[:4])
            problems.append(f"{who}: {f} ({want['kind']}): expected {exp}; drip reported "
                            f"{rep} in {len(owned[f])} stack(s){hint}")
        for s in owned[f]:
            if fnames(s).count(f) != 1:
                problems.append(f"{who}: expected {f} exactly once in its stack, drip "
                                f"reported {show_stack(s, 10)}")
    for kind, names in (("absent", tp["absent"]), ("unseen", list(tp["unseen"]))):
        for f in names:
            if f in funcs:
                continue
            for s in stacks:
                n = fnames(s)
                if n and (n[0] == f or (len(n) > 1 and n[0] in MMAP_WRAPPERS and n[1] == f)):
                    why = ("its calls count nothing" if kind == "absent"
                           else "it allocated before drip attached")
                    problems.append(f"{who}: expected no stack for {f} ({why}), drip "
                                    f"reported {show_stack(s)}")
    missing = [f for f in funcs if not owned[f]]
    if missing:
        others = [s for s in stacks if not owner(s, heap, mmap)]
        unnamed = sum(1 for s in stacks if not any(fnames(s)))
        problems.append(f"{who}: no stack starts at {', '.join(missing)}; {unnamed} of "
                        f"{len(stacks)} stacks have no function name at all; stacks of no "
                        f"target function (largest first):" +
                        "".join(f"\n      {show_stack(s)}" for s in others[:8]))
    roots = set(tp["complete_under"])
    for s in stacks:
        hit = roots.intersection(fnames(s))
        if hit and not owner(s, heap, mmap):
            problems.append(f"{who}: expected every allocation under {sorted(hit)[0]} to "
                            f"start at one of the target's {len(funcs)} allocating functions, "
                            f"drip reported {show_stack(s, 10)}")
    return problems


def check_process(report, tp, exited=None):
    check(compare_process(report, tp, exited))


def check_clean(report):
    problems = []
    if report.data.get("format") != 1:
        problems.append(f"expected format 1, drip reported {report.data.get('format')}")
    if report.totals.get("events_lost") != 0:
        problems.append(f"expected totals.events_lost 0, drip reported "
                        f"{report.totals.get('events_lost')}")
    if report.data.get("incomplete") is not False:
        problems.append(f"expected incomplete false, drip reported "
                        f"{report.data.get('incomplete')} (totals: {report.totals})")
    check(problems)


def check(problems, show=25):
    if problems:
        more = f"\n  ... and {len(problems) - show} more" if len(problems) > show else ""
        fail(f"{len(problems)} problem(s):\n  - " + "\n  - ".join(problems[:show]) + more)


def expect_eq(got, want, what):
    if got != want:
        fail(f"{what}: expected {want}, drip reported {got}")


# --- timing ---------------------------------------------------------------------------------

def churn_ns(pairs):
    """ns per malloc+free pair of an (untraced) churn run."""
    proc = Proc([target("churn"), "--time", str(pairs)])
    rc = proc.wait(60)
    m = proc.out.wait_for(r"^ns_per_pair ([0-9.]+)$", 1)
    if rc != 0 or not m:
        fail(f"churn --time failed (exit {rc}){proc.stderr_tail()}")
    return float(m[1][1])


def median(xs):
    return statistics.median(xs)


# --- runner ---------------------------------------------------------------------------------

class Timeout(BaseException):
    pass


def _on_timeout(signum, frame):
    raise Timeout()


def _load(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _list(files):
    for path in files:
        mod = _load(path)
        tests = [(v.__code__.co_firstlineno, k) for k, v in vars(mod).items()
                 if k.startswith("test_") and callable(v) and v.__module__ == mod.__name__]
        for _, name in sorted(tests):
            print(f"{os.path.relpath(path, ROOT)}::{name}")


def _run(spec):
    path, name = spec.split("::")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come to us, to be killed
    signal.signal(signal.SIGTERM, _on_timeout)
    signal.signal(signal.SIGALRM, _on_timeout)
    rc = 1
    try:
        fn = getattr(_load(os.path.join(ROOT, path)), name)
        limit = getattr(fn, "timeout", DEFAULT_TIMEOUT)
        signal.alarm(limit)
        fn()
        rc = 0
    except Skip as e:
        print(f"skipped: {e}")
        rc = 77
    except Timeout:
        print(f"FAILED: {name} did not finish within {limit} s (timeout)")
    except AssertionError as e:
        print(f"FAILED: {e}")
    except Exception:
        traceback.print_exc(file=sys.stdout)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        kill_descendants()
        if _tmp:
            if os.environ.get("E2E_KEEP") or rc == 1:
                print(f"scratch files kept in {_tmp}")
            else:
                shutil.rmtree(_tmp, ignore_errors=True)
    sys.stdout.flush()
    return rc


def main(argv):
    if len(argv) >= 2 and argv[0] == "list":
        _list(argv[1:])
        return 0
    if len(argv) == 2 and argv[0] == "run":
        return _run(argv[1])
    print("usage: drip_e2e.py list FILE... | drip_e2e.py run FILE::TEST", file=sys.stderr)
    return 2


if __name__ == "__main__":
    # run as the module the tests import, so they share one state (scratch dir)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import drip_e2e
    sys.exit(drip_e2e.main(sys.argv[1:]))
