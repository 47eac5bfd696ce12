# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Where symbols come from when the process is gone by report time (`drip trace -- CMD`):
a stripped binary whose DWARF sits in a build-id directory or behind .gnu_debuglink inside
the process's own mount namespace, a binary replaced on disk while it ran, and a binary that
exists only in another mount namespace. Names and lines must be those of the code that ran;
the expected lines come from the marker comments in tests/targets/sym_leak.c, not from any
DWARF reader. Nothing on the host is changed: files go to tmpfs mounts in private mount
namespaces (only an empty /usr/lib/debug is made, and removed, on a host that has none)."""

import os
import shutil
import subprocess
import time

from drip_e2e import (DRIP, ROOT, Proc, Run, check, check_process, fail, show_stack,
                      target, tmpdir, tmpfile)

SOURCE = os.path.join(ROOT, "tests", "targets", "sym_leak.c")
FUNCS = {"sym_leak_a": "LEAK_A", "sym_leak_b": "LEAK_B"}
DEBUG_ROOT = "/usr/lib/debug"
CFLAGS = ["-O0", "-g", "-fno-omit-frame-pointer", "-fno-optimize-sibling-calls", "-Wall",
          "-Wextra", "-pthread", "-I", os.path.join(ROOT, "tests", "targets")]


def _marked(text, marker):
    """The line ending with the comment /* marker */ in text."""
    for n, line in enumerate(text.splitlines(), 1):
        if line.rstrip().endswith(f"/* {marker} */"):
            return n
    fail(f"no /* {marker} */ comment in {SOURCE}")


def _source():
    with open(SOURCE) as f:
        return f.read()


def _sh(cmd):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if r.returncode:
        fail(f"`{cmd}` exited {r.returncode}: {r.stderr.strip()[:400]}")
    return r.stdout


def _need(*tools):
    for t in tools:
        if not shutil.which(t):
            fail(f"{t} is needed (see scripts/install-deps.sh)")


def _build_id(path):
    out = _sh(f"readelf -n '{path}'")
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split()[-1]
    fail(f"{path} has no build-id")


def _start(cmd):
    """drip trace -f json -o REPORT -- cmd, started; the target leaks, says so, and waits
    for the file returned as go."""
    report, truth, go = tmpfile("report.json"), tmpfile("truth.jsonl"), tmpfile("go")
    proc = Proc([DRIP, "trace", "-f", "json", "-o", report, "--", *cmd(go)],
                extra_env={"DRIP_TRUTH": truth})
    if not proc.err.wait_for(r"sym_leak: leaked", 30):
        fail(f"the target never said it leaked (drip exit status {proc.poll()})"
             f"{proc.stderr_tail()}")
    time.sleep(1)  # drip reads the process's maps at its first allocation: let it
    return proc, report, truth, go


def _finish(proc, report, truth, go):
    with open(go, "w"):
        pass
    return Run(proc, proc.wait(45), report, truth)


def _problems(report, tp, module_end, want_names=FUNCS, lines=None, start=False):
    """What is wrong with the frames of the leaks: names, module, file and line of frames[0]
    (lines: function -> expected line); start: the binary's outermost frame is _start."""
    problems = []
    stacks = report.stacks_of(tp["pid"])
    for fn in want_names:
        rows = [s for s in stacks if s["frames"] and s["frames"][0].get("function") == fn]
        if not rows:
            problems.append(f"no stack starts at {fn}; stacks: "
                            f"{[show_stack(s) for s in stacks][:6]}")
        for s in rows:
            f0 = s["frames"][0]
            got = (os.path.basename(f0.get("file") or ""), f0.get("line"))
            want = ("sym_leak.c", (lines or {}).get(fn))
            if not (f0.get("module") or "").endswith(module_end):
                problems.append(f"{fn}: expected module .../{module_end}, drip reported "
                                f"{f0.get('module')}")
            if got != want:
                problems.append(f"{fn}: expected {want[0]}:{want[1]}, drip reported "
                                f"{f0.get('file')}:{f0.get('line')}")
            own = [f for f in s["frames"] if (f.get("module") or "").endswith(module_end)]
            if start and (not own or own[-1].get("function") != "_start"):
                problems.append(f"{fn}: expected _start (from the debug file's .symtab) as "
                                f"the binary's outermost frame, drip reported "
                                f"{[f.get('function') for f in own]}")
    return problems


def _expected_lines(text=None):
    text = text or _source()
    return {fn: _marked(text, m) for fn, m in FUNCS.items()}


def _check(run, module_end, start=False):
    report = run.report()
    tp = run.truth().one("sym_leak")
    check_process(report, tp, exited=True)
    check(_problems(report, tp, module_end, lines=_expected_lines(), start=start))


def _stripped(d, name, link=False):
    """A stripped copy (no .symtab, no DWARF) of the target at d/name and its debug file
    d/name.debug (with link: the copy names it by .gnu_debuglink)."""
    exe, dbg = os.path.join(d, name), os.path.join(d, name + ".debug")
    _sh(f"objcopy --only-keep-debug '{target('sym_leak')}' '{dbg}'")
    _sh(f"cp '{target('sym_leak')}' '{exe}' && strip --strip-all '{exe}'")
    if link:
        _sh(f"cd '{d}' && objcopy --add-gnu-debuglink='{name}.debug' '{name}'")
    if _sh(f"readelf -S --wide '{exe}'").count(".debug_info") or \
            "sym_leak_a" in _sh(f"nm -a '{exe}' 2>&1"):
        fail(f"{exe} still has DWARF or symbols")
    return exe, dbg


def _in_namespace(script):
    return ["unshare", "--mount", "--propagation", "private", "sh", "-ec", script]


def test_stripped_binary_build_id_dir_in_mount_namespace():
    """A stripped binary whose debug file sits in /usr/lib/debug/.build-id/xx/rest.debug
    inside the process's mount namespace only (a tmpfs there); the process has exited when
    drip reports. Names from DWARF, lines of the marked source, _start from the debug file's
    .symtab (the stripped binary has none)."""
    _need("unshare", "objcopy", "strip", "readelf")
    exe, dbg = _stripped(tmpdir(), "sym_leak")
    bid = _build_id(exe)
    made = not os.path.isdir(DEBUG_ROOT)
    if made:
        os.makedirs(DEBUG_ROOT)
    try:
        where = f"{DEBUG_ROOT}/.build-id/{bid[:2]}"
        if os.path.exists(f"{where}/{bid[2:]}.debug"):
            fail(f"{where}/{bid[2:]}.debug exists on the host: the test would prove nothing")
        script = (f"mount -t tmpfs none {DEBUG_ROOT}; mkdir -p {where}; "
                  f"cp '{dbg}' {where}/{bid[2:]}.debug; exec '{exe}' \"$0\"")
        run = _finish(*_start(lambda go: _in_namespace(script) + [go]))
    finally:
        if made:
            os.rmdir(DEBUG_ROOT)
    _check(run, "/sym_leak", start=True)


test_stripped_binary_build_id_dir_in_mount_namespace.timeout = 90


def test_stripped_binary_debuglink_in_mount_namespace():
    """A stripped binary and its .debug/ file (named by .gnu_debuglink) on a tmpfs that only
    its mount namespace sees; the process has exited when drip reports."""
    _need("unshare", "objcopy", "strip", "readelf")
    d = tmpdir()
    exe, dbg = _stripped(d, "sym_leak", link=True)
    hidden = os.path.join(d, "ns")
    os.mkdir(hidden)
    script = (f"mount -t tmpfs none '{hidden}'; mkdir '{hidden}/.debug'; "
              f"cp '{exe}' '{hidden}/sym_leak'; cp '{dbg}' '{hidden}/.debug/sym_leak.debug'; "
              f"exec '{hidden}/sym_leak' \"$0\"")
    run = _finish(*_start(lambda go: _in_namespace(script) + [go]))
    if os.path.exists(os.path.join(hidden, "sym_leak")):
        fail(f"{hidden}/sym_leak is visible from drip's namespace: the test would prove nothing")
    _check(run, "/ns/sym_leak", start=True)


test_stripped_binary_debuglink_in_mount_namespace.timeout = 90


def test_binary_replaced_while_running():
    """The binary is deleted and rebuilt (other function names, lines moved down) while it
    runs under drip trace --, and exits before the report: names and lines are those of the
    code that ran."""
    _need("gcc")
    d = tmpdir()
    exe = os.path.join(d, "sym_leak")
    shutil.copy(target("sym_leak"), exe)
    moved = "\n" * 7 + _source()
    variant_src = os.path.join(d, "variant", "sym_leak.c")
    os.mkdir(os.path.dirname(variant_src))
    with open(variant_src, "w") as f:
        f.write(moved)
    proc, report, truth, go = _start(lambda go: [exe, go])
    os.unlink(exe)
    _sh(" ".join(["gcc", *CFLAGS, "-DSYM_VARIANT", "-o", exe, variant_src, "-ldl"]))
    if "variant_leak_a" not in _sh(f"nm '{exe}'"):
        fail(f"the rebuilt {exe} has no variant_leak_a")
    run = _finish(proc, report, truth, go)
    _check(run, "/sym_leak")


test_binary_replaced_while_running.timeout = 90


def test_exited_process_of_another_mount_namespace():
    """drip trace -- unshare -m ...: the binary exists only on a tmpfs of the command's own
    mount namespace, and the process has exited when drip reports."""
    _need("unshare")
    d = tmpdir()
    hidden = os.path.join(d, "ns")
    os.mkdir(hidden)
    script = (f"mount -t tmpfs none '{hidden}'; cp '{target('sym_leak')}' '{hidden}/sym_leak'; "
              f"exec '{hidden}/sym_leak' \"$0\"")
    run = _finish(*_start(lambda go: _in_namespace(script) + [go]))
    if os.path.exists(os.path.join(hidden, "sym_leak")):
        fail(f"{hidden}/sym_leak is visible from drip's namespace: the test would prove nothing")
    _check(run, "/ns/sym_leak")


test_exited_process_of_another_mount_namespace.timeout = 90
