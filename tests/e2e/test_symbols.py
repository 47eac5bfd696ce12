# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Frames from DWARF (tests/targets/cpp_cache.cc, g++ -O2 -g): demangled C++ names, the source
file and line of each frame, and inlined calls expanded into frames of their own. The expected
lines come from the marker comments in the target's source, not from any DWARF reader."""

import os
import re

from drip_e2e import DRIP_TIMEOUT, ROOT, check, drip, drip_trace, fail, show_stack, target

SOURCE = os.path.join(ROOT, "tests", "targets", "cpp_cache.cc")
INSERT = "Cache<Foo>::insert"


def _marked(marker):
    """The line ending with the comment /* marker */."""
    with open(SOURCE) as f:
        for n, line in enumerate(f, 1):
            if line.rstrip().endswith(f"/* {marker} */"):
                return n
    fail(f"no /* {marker} */ comment in {SOURCE}")


def _where(f):
    return f"{f.get('function')} {os.path.basename(f.get('file') or '?')}:{f.get('line')}" + (
        " [inlined]" if f.get("inlined") else "")


def _frame_problems(s, leak_line, call_line):
    """What is wrong with one stack of the leak: inline frame, insert frame, names, lines."""
    frames = s["frames"]
    k = next(i for i, f in enumerate(frames) if f.get("function") == INSERT
             and not f.get("inlined"))
    shown = " < ".join(_where(f) for f in frames[:k + 2])
    problems = []
    if k < 1:
        return [f"expected make_foo inlined above {INSERT}, drip reported {shown}"]
    inl, ins = frames[k - 1], frames[k]
    want = [("make_foo", "cpp_cache.cc", leak_line, True),
            (INSERT, "cpp_cache.cc", call_line, False)]
    got = [(f.get("function"), os.path.basename(f.get("file") or ""), f.get("line"),
            f.get("inlined")) for f in (inl, ins)]
    if got != want:
        problems.append(f"expected {want}, drip reported {got} in {shown}")
    if inl.get("address") != ins.get("address") or inl.get("module") != ins.get("module"):
        problems.append(f"expected the inlined frame at its caller's address, drip reported "
                        f"{inl.get('address')} and {ins.get('address')}")
    if k != 1:
        problems.append(f"expected frames[0] to be make_foo, the caller of operator new (the "
                        f"allocator is not a frame), drip reported {shown}")
    main = [f for f in frames[k + 1:] if f.get("function") == "main"]
    if not main or main[0].get("inlined") or os.path.basename(main[0].get("file") or "") \
            != "cpp_cache.cc":
        problems.append(f"expected main (cpp_cache.cc) below {INSERT}, drip reported "
                        f"{' < '.join(_where(f) for f in frames)}")
    return problems


def test_cpp_frames_from_dwarf():
    """Names demangled, file:line of the marked lines, the inlined helper marked."""
    run = drip_trace([target("cpp_cache")])
    report = run.report()
    tp = run.truth().one("cpp_cache")
    want = tp["funcs"][INSERT]
    leak_line, call_line = _marked("LEAK_LINE"), _marked("CALL_LINE")
    stacks = report.stacks_of(tp["pid"])
    rows = [s for s in stacks if any(f.get("function") == INSERT and not f.get("inlined")
                                     for f in s["frames"])]
    problems = []
    got = (sum(s["outstanding_bytes"] for s in rows), sum(s["outstanding_allocs"] for s in rows))
    if got != (want["outstanding_bytes"], want["outstanding_allocs"]):
        problems.append(f"expected {want['outstanding_bytes']} B in {want['outstanding_allocs']} "
                        f"blocks under {INSERT}, drip reported {got[0]} B in {got[1]} "
                        f"({len(rows)} stacks); all stacks: "
                        f"{[show_stack(s, 8) for s in stacks]}")
    for s in rows:
        problems += _frame_problems(s, leak_line, call_line)
    mangled = {f["function"] for s in stacks for f in s["frames"]
               if (f.get("function") or "").startswith("_Z")}
    if mangled:
        problems.append(f"expected every name demangled, drip reported {sorted(mangled)}")
    check(problems)


def _lookups(stderr):
    m = re.search(r"symbols: .*?(\d+) source lookups", stderr)
    if not m:
        fail(f"expected drip -v to print its symbol lookups, stderr was:\n{stderr[-2000:]}")
    return int(m.group(1))


def _text_top_frames(out):
    """(stack id, [(function, file:line)]) of the first stack a text report prints."""
    m = re.search(r"^\[1\] .*stack ([0-9a-f]{16})\n((?:    #\d+ .*\n)+)", out, re.M)
    if not m:
        fail(f"expected a [1] stack in the text report, drip printed:\n{out[:2000]}")
    frames = [re.match(r"    #\d+ (\S+) .*?(\S+:\d+)?(?: \[inlined\])?$", line).groups()
              for line in m.group(2).splitlines()]
    return m.group(1), frames


def test_text_symbolizes_only_the_stacks_it_prints():
    """--top 1: DWARF is asked about the printed stack only, and its lines match the JSON's."""
    prog = target("allocators")
    rc, out, err = drip("trace", "-v", "--top", "1", "--", prog, timeout=DRIP_TIMEOUT)
    if rc != 0:
        fail(f"drip trace --top 1 exited {rc}: {err[-2000:]}")
    top1 = _lookups(err)
    stack_id, frames = _text_top_frames(out)

    run = drip_trace([prog], ["-v"])
    report = run.report()
    every = _lookups(run.proc.err.text())
    rows = [s for s in report.data["stacks"] if s["stack_id"] == stack_id]
    if not rows:
        fail(f"expected stack {stack_id} of the text report in the JSON report too")
    want = [(f.get("function"), f"{os.path.basename(f['file'])}:{f['line']}" if f.get("file")
             and f.get("line") else None) for f in rows[0]["frames"]]
    got = [(fn, os.path.basename(fl.split(":")[0]) + ":" + fl.split(":")[1] if fl else None)
           for fn, fl in frames]
    problems = []
    if got != want:
        problems.append(f"expected the printed stack's frames {want}, the text report "
                        f"printed {got}")
    native = sum(1 for f in rows[0]["frames"] if f["kind"] == "native" and not f.get("inlined"))
    # each native frame is asked twice: once to size the frames, once to fill them
    if top1 > 2 * native:
        problems.append(f"expected at most {2 * native} source lookups for the one printed "
                        f"stack of {native} native frames, drip made {top1}")
    if every <= top1:
        problems.append(f"expected the JSON report (every stack) to need more lookups than "
                        f"--top 1's {top1}, it made {every}")
    check(problems)
