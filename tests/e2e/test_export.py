# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Export: folded stacks, pprof and diffs, from `drip trace` directly and from a JSON report
through `drip report`. JSON is the source of truth: every format must agree with it on totals
and names, and with the target's own truth per function."""

import bisect
import copy
import gzip
import json
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import time

from drip_e2e import (DRIP, ROOT, Report, Skip, Truth, check, drip, drip_trace, expect_eq,
                      expect_error, fail, fnames, target, tmpfile)


def traced(*args, drip_args=()):
    """(Report, truth process, report path) of allocators traced with -f json"""
    run = drip_trace([target("allocators"), *args], drip_args=drip_args)
    return run.report(), run.truth().one("allocators"), run.report_path


def report_cmd(*args):
    """drip report ARGS, which must succeed: (exit status, output exactly, stderr). The
    output goes through a file (-o), as the runner's pipes keep lines, not bytes."""
    out_path = tmpfile("out")
    if "-o" not in args:
        args = (*args, "-o", out_path)
    rc, _, err = drip("report", *args)
    if rc != 0:
        fail(f"expected `drip report {' '.join(args)}` to exit 0, it exited {rc}: {err}")
    if not os.path.exists(out_path):
        return rc, None, err
    with open(out_path, encoding="utf-8", errors="surrogateescape") as f:
        return rc, f.read(), err


def parse_folded(text, columns=1):
    """[(frames, weights...)]; every line must be `stack N` (or `stack OLD NEW`)"""
    rows = []
    rx = re.compile(r"^(.+?)" + r" (\d+)" * columns + r"$")
    for i, line in enumerate(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")):
        m = rx.match(line)
        if not m:
            fail(f"folded line {i + 1} is not 'stack{' N' * columns}': {line!r}")
        rows.append((m[1].split(";"), *(int(g) for g in m.groups()[1:])))
    if text and not text.endswith("\n"):
        fail("folded output does not end with a newline")
    return rows


def folded_by_leaf(rows):
    sums = {}
    for frames, *w in rows:
        acc = sums.setdefault(frames[-1], [0] * len(w))
        for k, v in enumerate(w):
            acc[k] += v
    return sums


def check_folded_against_truth(rows, report, tp, key):
    """per heap function (the folded leaf), the summed weight = the truth's"""
    problems = []
    want_total = sum(s[key] for s in report.stacks)
    expect_eq(want_total, report.totals[key], f"sum of stacks[].{key} vs totals.{key}")
    got_total = sum(r[1] for r in rows)
    if got_total != want_total:
        problems.append(f"folded weights sum to {got_total}, the JSON's totals.{key} is "
                        f"{want_total}")
    leaves = folded_by_leaf(rows)
    for f, v in tp["funcs"].items():
        got = leaves.get(f, [0])[0]
        if got != v[key]:
            problems.append(f"{f}: expected {key} {v[key]} (target's truth) in folded lines "
                            f"ending at {f}, drip wrote {got}")
    check(problems)


def test_report_reexports_folded():
    """drip report REPORT.json -f folded: weights add up to the JSON's totals, per function
    to the target's truth; --weight count and --per-pid too; stacks run root to leaf."""
    report, tp, path = traced()
    _, plain, _ = report_cmd(path, "-f", "folded")
    rows = parse_folded(plain)
    check_folded_against_truth(rows, report, tp, "outstanding_bytes")
    for frames, _ in rows:
        if frames[-1] in tp["funcs"] and "main" not in frames[:-1]:
            fail(f"expected main above {frames[-1]} (root first, leaf last), drip wrote "
                 f"{frames}")
    _, out, _ = report_cmd(path, "-f", "folded", "--weight", "count")
    check_folded_against_truth(parse_folded(out), report, tp, "outstanding_allocs")
    _, out, _ = report_cmd(path, "-f", "folded", "--per-pid")
    rows = parse_folded(out)
    want = f"allocators [{report.report_pid(tp['pid'])}]"
    bad = [r for r in rows if r[0][0] != want]
    if bad:
        fail(f"expected every --per-pid line to start with '{want}', drip wrote {bad[:3]}")
    expect_eq(sum(r[1] for r in rows), report.totals["outstanding_bytes"], "--per-pid total")
    # a process whose comm is unknown (null): its root frame is "[pid]", in folded and svg
    pid = report.report_pid(tp["pid"])
    edited = copy.deepcopy(report.data)
    for p in edited["processes"]:
        if p["pid"] == pid:
            p["comm"] = None
    unknown = tmpfile("unknown-comm.json")
    with open(unknown, "w") as f:
        json.dump(edited, f)
    _, out, _ = report_cmd(unknown, "-f", "folded", "--per-pid")
    bad = [r for r in parse_folded(out) if r[0][0] != f"[{pid}]"]
    if bad:
        fail(f"comm null: expected every --per-pid line to start with '[{pid}]', drip wrote "
             f"{bad[:3]}")
    _, svg, _ = report_cmd(unknown, "-f", "svg", "--per-pid")
    if f">[{pid}]" not in svg and f"\"[{pid}]" not in svg or f" [{pid}]" in svg:
        fail(f"comm null: expected the svg's process frame to read '[{pid}]' alone")
    # -o with the extension picks the format
    out_path = tmpfile("x.folded")
    report_cmd(path, "-o", out_path)
    with open(out_path) as f:
        expect_eq(f.read(), report_cmd(path, "-f", "folded")[1], "-o x.folded vs -f folded")
    rc, stdout, _ = drip("report", path, "-f", "folded")  # and to stdout
    expect_eq(stdout + "\n", plain, "drip report -f folded on stdout vs -o")


def test_report_reexports_json_and_text():
    """JSON -> JSON is byte for byte the same; text shows the exact total and the functions."""
    report, tp, path = traced()
    _, out, _ = report_cmd(path, "-f", "json")
    with open(path) as f:
        original = f.read()
    if out != original:
        fail("expected `drip report R.json -f json` to reproduce R.json exactly")
    _, out, _ = report_cmd(path)
    total = report.totals["outstanding_bytes"]
    if f"({total} B) outstanding" not in out.split("\n")[0]:
        fail(f"expected the text header to show ({total} B) outstanding, drip wrote "
             f"{out.splitlines()[:1]}")
    for f_, v in tp["funcs"].items():
        if v["outstanding_bytes"] and f"#0 {f_} " not in out:
            fail(f"expected {f_} as frame #0 in the text report, drip wrote:\n{out[:2000]}")
    _, out3, _ = report_cmd(path, "--top", "3")
    expect_eq(len(re.findall(r"^\[\d+\] ", out3, re.M)), 3, "stacks shown with --top 3")


def go_pprof(*args):
    go = shutil.which("go")
    if not go:
        raise Skip("go is not installed (Debian: apt-get install golang-go): "
                   "cannot check pprof output with `go tool pprof`")
    p = subprocess.run([go, "tool", "pprof", *args], capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, HOME=os.environ.get("HOME", "/root")))
    if p.returncode != 0:
        fail(f"go tool pprof {' '.join(args)} exited {p.returncode}: {p.stderr[-2000:]}")
    return p.stdout


def pprof_traces(pb, sample_index="inuse_space"):
    """{(value, (function names, leaf first)): samples} from go tool pprof -traces"""
    traces = go_pprof("-traces", "-unit=B", f"-sample_index={sample_index}", pb)
    got = {}
    for b in traces.split("-----------+")[1:]:
        lines = [l for l in b.split("\n")[1:] if l.strip()]
        lines = [l for l in lines if not re.match(r"^\s+(pid|comm):", l)]
        if not lines:
            continue
        m = re.match(r"^\s*(\d+)B?\s+(.*)$", lines[0])
        if not m:
            fail(f"unexpected -traces block:\n{b}")
        names = [m[2].strip()] + [l.strip() for l in lines[1:]]
        names = [n for n in names if not n.startswith("[")]  # unsymbolized: [libc.so.6]
        key = (int(m[1]), tuple(names))
        got[key] = got.get(key, 0) + 1
    return got, traces


def json_traces(report, key="outstanding_bytes"):
    """pprof_traces()'s shape, from the JSON: every stack pprof has a sample for"""
    want = {}
    for s in report.stacks:
        if s["outstanding_bytes"] or s["outstanding_allocs"] or s["allocs"]:
            names = []
            for f in s["frames"]:
                if f.get("kind") == "python":
                    names.append(f["function"] if f.get("function") is not None else "??")
                elif f.get("function"):
                    # go tool pprof marks a frame inlined into the next one "(inline)"
                    names.append(f["function"] + (" (inline)" if f.get("inlined") else ""))
            k = (s[key], tuple(names))
            want[k] = want.get(k, 0) + 1
    return want


def check_traces(report, pb, sample_index="inuse_space", key="outstanding_bytes"):
    """each pprof sample's value and function names, leaf first, are a JSON stack's"""
    got, traces = pprof_traces(pb, sample_index)
    want = json_traces(report, key)
    if got != want:
        missing = {k: v for k, v in want.items() if got.get(k) != v}
        extra = {k: v for k, v in got.items() if want.get(k) != v}
        fail(f"pprof -traces -sample_index={sample_index} differs from the JSON stacks' {key}:"
             f"\n  JSON only: {missing}\n  pprof only: {extra}")
    return traces


def pprof_top(pb, sample_index):
    """{function: (flat, cum)} of every node go tool pprof -top shows, and the total"""
    top = go_pprof("-top", "-unit=B", "-nodecount=1000000", "-nodefraction=0", "-edgefraction=0",
                   f"-sample_index={sample_index}", pb)
    m = re.search(r"Total samples = (\d+)B?", top)
    if not m:
        fail(f"no 'Total samples' in go tool pprof -top:\n{top[:1500]}")
    rows = {}
    for flat, cum, name in re.findall(r"^\s*(\d+)B?\s+\S+%\s+\S+%\s+(\d+)B?\s+\S+%\s+(.*)$",
                                      top, re.M):
        f0, c0 = rows.get(name, (0, 0))
        rows[name] = (f0 + int(flat), c0 + int(cum))
    return rows, int(m[1])


def test_report_reexports_pprof():
    """go tool pprof reads drip's profile: inuse_space, inuse_objects, alloc_space and
    alloc_objects totals = the JSON's; per function, flat inuse_space and alloc_space = the
    target's truth; each sample's function names are its JSON stack's, leaf first."""
    report, tp, path = traced()
    pb = tmpfile("x.pb.gz")
    report_cmd(path, "-o", pb)
    with open(pb, "rb") as f:
        raw = gzip.decompress(f.read())
    if not raw:
        fail("the pprof file is empty")
    problems = []
    for index, key in (("inuse_space", "outstanding_bytes"), ("inuse_objects",
                       "outstanding_allocs"), ("alloc_space", "alloc_bytes"),
                       ("alloc_objects", "allocs")):
        rows, total = pprof_top(pb, index)
        if total != sum(s[key] for s in report.stacks):
            problems.append(f"pprof {index} total {total}, the JSON's stacks[].{key} sum to "
                            f"{sum(s[key] for s in report.stacks)}")
        if key in ("allocs", "alloc_bytes") and total != report.totals[key]:
            problems.append(f"pprof {index} total {total}, the JSON's totals.{key} is "
                            f"{report.totals[key]}")
        if key in ("outstanding_bytes", "alloc_bytes"):
            for f_, v in tp["funcs"].items():
                if v[key] and rows.get(f_, (None,))[0] != v[key]:
                    problems.append(f"{f_}: expected flat {index} {v[key]} (target's truth), "
                                    f"pprof -top shows {rows.get(f_)}")
    check(problems)
    traces = check_traces(report, pb)
    check_traces(report, pb, "alloc_space", "alloc_bytes")
    if f"pid:  {report.report_pid(tp['pid'])}" not in traces or "comm:  allocators" not in traces:
        fail(f"expected pid and comm labels in -traces:\n{traces[:800]}")


def test_pprof_alloc_space_is_what_the_target_allocated():
    """alloc_space total = the bytes the target allocated (its truth) + what libc and the loader
    allocate in an allocation-free run of the same binary (--baseline, read from its pprof)."""
    base, _, base_path = traced("--baseline")
    report, tp, path = traced()
    totals = []
    for p in (base_path, path):
        pb = tmpfile("alloc.pb.gz")
        report_cmd(p, "-o", pb)
        totals.append(pprof_top(pb, "alloc_space")[1])
    expect_eq(totals[1], totals[0] + tp["alloc_bytes"],
              f"pprof alloc_space total (baseline {totals[0]} + target {tp['alloc_bytes']})")


class Elf:
    """What the test needs of an ELF64 little-endian file, read here (not by drip): the GNU
    build-id note, the PT_LOAD segments and the function symbols of .symtab."""

    def __init__(self, path):
        with open(path, "rb") as f:
            d = f.read()
        if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
            fail(f"{path} is not a little-endian ELF64 file")
        phoff, shoff = struct.unpack_from("<QQ", d, 0x20)
        phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", d, 0x36)
        self.build_id = None
        self.loads = []  # (file offset, file size, vaddr)
        for i in range(phnum):
            p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
                "<IIQQQQ", d, phoff + i * phentsize)
            if p_type == 1:
                self.loads.append((p_offset, p_filesz, p_vaddr))
            elif p_type == 4:
                self._notes(d[p_offset:p_offset + p_filesz])
        self.funcs = []  # (start vaddr, size, name), sorted
        sections = [struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize)
                    for i in range(shnum)]
        for sh in sections:
            if sh[1] != 2:  # SHT_SYMTAB
                continue
            strtab = sections[sh[6]]
            for k in range(sh[5] // 24):
                name, info, _, _, value, size = struct.unpack_from("<IBBHQQ", d, sh[4] + k * 24)
                if info & 0xf == 2 and value:  # STT_FUNC
                    end = d.index(b"\0", strtab[4] + name)
                    self.funcs.append((value, size, d[strtab[4] + name:end].decode()))
        self.funcs.sort()

    def _notes(self, b):
        while len(b) >= 12:
            namesz, descsz, ntype = struct.unpack_from("<III", b)
            desc = 12 + (namesz + 3) // 4 * 4
            if ntype == 3 and b[12:12 + namesz] == b"GNU\0":  # NT_GNU_BUILD_ID
                self.build_id = b[desc:desc + descsz].hex()
            b = b[desc + (descsz + 3) // 4 * 4:]

    def function_at_offset(self, off):
        """The function symbol whose code holds file offset off (its name), or None."""
        for p_offset, p_filesz, p_vaddr in self.loads:
            if p_offset <= off < p_offset + p_filesz:
                vaddr = off - p_offset + p_vaddr
                i = bisect.bisect_right(self.funcs, (vaddr, float("inf"), "")) - 1
                if i >= 0 and self.funcs[i][0] <= vaddr < self.funcs[i][0] + self.funcs[i][1]:
                    return self.funcs[i][2]
        return None


def pprof_raw(pb):
    """(mappings {id: (start, limit, offset, file, build_id)},
    locations [(address, mapping id, [function names, innermost first])]) of pprof -raw"""
    raw = go_pprof("-raw", pb)
    mappings, locations = {}, []
    section = None
    for line in raw.split("\n"):
        if line in ("Samples:", "Locations", "Mappings"):
            section = line
            continue
        if section == "Mappings":
            m = re.match(r"^(\d+): (0x[0-9a-f]+)/(0x[0-9a-f]+)/(0x[0-9a-f]+) (\S+) ?(\S*) ", line)
            if m:
                mappings[int(m[1])] = (int(m[2], 16), int(m[3], 16), int(m[4], 16), m[5],
                                       m[6] if not m[6].startswith("[") else "")
        elif section == "Locations":
            m = re.match(r"^\s*\d+: (0x[0-9a-f]+) (?:M=(\d+) )?(\S*)", line)
            if m:
                locations.append((int(m[1], 16), int(m[2] or 0), [m[3]] if m[3] else []))
            elif line.startswith("             ") and locations:
                locations[-1][2].append(line.split()[0])  # an inlined frame's caller
    return mappings, locations, raw


def test_pprof_mappings_have_build_ids_and_exact_offsets():
    """pprof -raw: the target's mapping carries its build-id as readelf would read it (parsed
    here from the file), -traces names that build-id; every location in the target's mapping
    lies in its range, and its file offset (address - start + offset) is inside the function
    the location names, by the file's own symbol table."""
    report, tp, path = traced()
    exe = target("allocators")
    elf = Elf(exe)
    if not elf.build_id:
        fail(f"{exe} has no GNU build-id note: cannot check mappings")
    proc = report.process(tp["pid"])
    mods = [m for m in proc.get("modules") or [] if m["path"] == os.path.realpath(exe)]
    if [m["build_id"] for m in mods] != [elf.build_id]:
        fail(f"expected processes[].modules to list {exe} once with build-id {elf.build_id}, "
             f"drip wrote {proc.get('modules')}")
    pb = tmpfile("bid.pb.gz")
    report_cmd(path, "-o", pb)
    mappings, locations, raw = pprof_raw(pb)
    mine = {i: m for i, m in mappings.items() if m[3] == os.path.realpath(exe)}
    if [m[4] for m in mine.values()] != [elf.build_id]:
        fail(f"expected one mapping of {exe} with build-id {elf.build_id} in pprof -raw, "
             f"found {list(mine.values())}:\n{raw[raw.find('Mappings'):][:1500]}")
    for i, m in mappings.items():
        if m[3].startswith("/") and os.path.exists(m[3]):
            want = Elf(m[3]).build_id
            if m[4] != want:
                fail(f"mapping {m[3]}: pprof shows build-id {m[4]!r}, the file has {want!r}")
    traces = go_pprof("-traces", pb)
    if f"Build ID: {elf.build_id}" not in traces:
        fail(f"expected 'Build ID: {elf.build_id}' in go tool pprof -traces:\n{traces[:400]}")
    problems, checked = [], 0
    (mid, (start, limit, offset, _, _)), = mine.items()
    for addr, m, names in locations:
        if m != mid:
            continue
        if not start <= addr < limit:
            problems.append(f"location {addr:#x} outside its mapping {start:#x}-{limit:#x}")
            continue
        if not names:
            continue
        # a return address: the call is the byte before it; the symbol is the outermost line
        sym = elf.function_at_offset(addr - start + offset - 1)
        if sym is None or sym.split(".")[0] != names[-1]:
            problems.append(f"location {addr:#x} ({names}) is at file offset "
                            f"{addr - start + offset:#x}, in {sym} by {exe}'s symbols")
        checked += 1
    if checked < len(tp["funcs"]):
        problems.append(f"only {checked} named locations in {exe}'s mapping")
    check(problems)


def test_pprof_forked_workers_share_mappings():
    """pool: four forked workers run the parent's code at its load address. Their modules in
    the JSON match the parent's, and the profile has one mapping per file (with its build-id)
    and one location per address, not one per worker."""
    run = drip_trace([target("pool")])
    report = run.report()
    exe = os.path.realpath(target("pool"))
    bases = {(m["build_id"], m["base"]) for p in report.processes for m in p["modules"] or []
             if m["path"] == exe}
    if len(bases) != 1 or len(report.processes) != 5:
        fail(f"expected 5 processes sharing one (build-id, base) for {exe}, drip wrote "
             f"{len(report.processes)} processes and {bases}")
    pb = tmpfile("pool.pb.gz")
    report_cmd(run.report_path, "-o", pb)
    mappings, locations, raw = pprof_raw(pb)
    files = [m[3] for m in mappings.values()]
    if len(files) != len(set(files)) or exe not in files:
        fail(f"expected one mapping per file, {exe} among them, pprof -raw shows:\n"
             f"{raw[raw.find('Mappings'):]}")
    (bid, _), = bases
    expect_eq(bid, Elf(exe).build_id, f"build-id of {exe} in the JSON's modules")
    expect_eq(next(m[4] for m in mappings.values() if m[3] == exe), bid,
              f"build-id of {exe}'s mapping")
    addrs = [(a, m) for a, m, _ in locations if m]
    if len(addrs) != len(set(addrs)):
        fail("expected each (mapping, address) once among pprof's locations")


PY_LEAK = os.path.join(ROOT, "tests", "targets", "py_leak.py")


def test_pprof_keeps_python_names():
    """A Python program: go tool pprof shows every name as the JSON has it (`<module>` and the
    script's functions are not "demangled" into `<unknown>`): -traces match the JSON stacks,
    the script's functions are -top rows by their own names, and parse_record (called from
    process_example through ctypes) holds exactly the bytes the script says it leaked."""
    py = "/usr/bin/python3.11"
    if not os.access(py, os.X_OK):
        raise Skip(f"{py} is not installed")
    run = drip_trace([py, PY_LEAK, "direct", "100"], extra_env={"LINGER": "1"})
    report = run.report()
    tp = run.truth().one("py_leak")
    allocs, nbytes = tp["leaks"]["process_example"]
    pb = tmpfile("py.pb.gz")
    report_cmd(run.report_path, "-o", pb)
    traces = check_traces(report, pb)
    problems = []
    py_names = {f["function"] for s in report.stacks if s["outstanding_bytes"]
                for f in s["frames"] if f.get("kind") == "python" and f.get("function")}
    for want in ("<module>", "main", "load_model", "process_example"):
        if want not in py_names:
            problems.append(f"expected a Python frame {want} in the JSON, it has "
                            f"{sorted(py_names)[:20]}")
    if "<module>" not in traces.split() or "<unknown>" in traces:
        problems.append("expected <module> (not <unknown>) in go tool pprof -traces")
    for index in ("inuse_space", "alloc_space"):
        rows, _ = pprof_top(pb, index)
        missing = sorted(n for n in py_names if n not in rows)
        if missing:
            problems.append(f"-top -sample_index={index}: no row named {missing}; rows: "
                            f"{sorted(rows)[:40]}")
        if rows.get("parse_record", (None,))[0] != nbytes:
            problems.append(f"-top -sample_index={index}: expected parse_record's flat bytes "
                            f"{nbytes} ({allocs} leaks the script counted), pprof shows "
                            f"{rows.get('parse_record')}")
    check(problems)


def test_trace_writes_folded_and_pprof_directly():
    """drip trace -o x.folded (format from the extension) and -f pprof -o x: the same exact
    per-function figures as the target's truth."""
    out = tmpfile("trace.folded")
    report = drip_trace([target("allocators")]).report()
    # a second traced run, writing folded directly
    truth_path = tmpfile("truth.jsonl")
    rc, _, err = drip("trace", "-o", out, "--", target("allocators"),
                      extra_env={"DRIP_TRUTH": truth_path})
    if rc != 0:
        fail(f"drip trace -o x.folded exited {rc}: {err}")
    tp = Truth(truth_path).one("allocators")
    with open(out) as f:
        rows = parse_folded(f.read())
    leaves = folded_by_leaf(rows)
    problems = []
    for f_, v in tp["funcs"].items():
        if leaves.get(f_, [0])[0] != v["outstanding_bytes"]:
            problems.append(f"{f_}: expected {v['outstanding_bytes']} B, drip trace -o "
                            f"x.folded wrote {leaves.get(f_, [0])[0]}")
    # the libc/loader part is the same as in the JSON run: totals agree up to it
    libc = report.totals["outstanding_bytes"] - tp["outstanding_bytes"]
    expect_eq(sum(r[1] for r in rows) - tp["outstanding_bytes"], libc,
              "folded total minus the target's own bytes (libc and loader), vs the JSON run")
    check(problems)
    pb = tmpfile("trace.pprof")
    rc, _, err = drip("trace", "-f", "pprof", "-o", pb, "--", target("allocators"))
    if rc != 0:
        fail(f"drip trace -f pprof exited {rc}: {err}")
    with open(pb, "rb") as f:
        head = f.read(2)
    expect_eq(head, b"\x1f\x8b", "gzip magic of the pprof file")
    rc, _, err = drip("trace", "--weight", "kg", "--", "/bin/true")
    expect_error(rc, err, (1,), "drip trace --weight kg")


def test_options_for_other_formats_are_refused():
    """--top (text), --weight and --per-pid (folded, svg, html; --weight also for a text
    diff): given with a format that does not use them, `drip report` and `drip trace` stop
    with a usage error naming the option and the format, before loading or tracing anything
    and without writing; with a format that uses them they work."""
    path = tmpfile("r.json")
    rc, _, err = drip("trace", "-f", "json", "-o", path, "--", target("allocators"))
    if rc != 0:
        fail(f"drip trace -f json exited {rc}: {err}")
    refused = [  # (arguments, option, format)
        (("-f", "pprof", "--weight", "count"), "--weight", "pprof"),
        (("-f", "pprof", "--per-pid"), "--per-pid", "pprof"),
        (("-f", "json", "--weight", "count"), "--weight", "json"),
        (("-f", "json", "--per-pid"), "--per-pid", "json"),
        (("-f", "json", "--top", "3"), "--top", "json"),
        (("-f", "text", "--weight", "count"), "--weight", "text"),
        (("-f", "text", "--per-pid"), "--per-pid", "text"),
        (("-f", "svg", "--top", "3"), "--top", "svg"),
        (("-f", "folded", "--top", "3"), "--top", "folded"),
        (("--diff", path, "-f", "text", "--per-pid"), "--per-pid", "text"),
        (("--diff", path, "-f", "html", "--top", "5"), "--top", "html"),
    ]
    problems = []
    for args, opt, fmt in refused:
        out = tmpfile("refused.out")
        rc, _, err = drip("report", *args, path, "-o", out)
        expect_error(rc, err, (1,), f"drip report {' '.join(args)}")
        if f"{opt} does not apply to format '{fmt}'" not in err:
            problems.append(f"drip report {' '.join(args)}: expected the error to name {opt} "
                            f"and '{fmt}', drip wrote {err.strip()!r}")
        if os.path.exists(out):
            problems.append(f"drip report {' '.join(args)}: wrote {out} anyway")
    # the same options where they apply: accepted, and they change the output
    _, plain, _ = report_cmd(path, "-f", "folded")
    _, counted, _ = report_cmd(path, "-f", "folded", "--weight", "count", "--per-pid")
    report = Report(path)
    expect_eq(sum(r[1] for r in parse_folded(counted)), report.totals["outstanding_allocs"],
              "folded --weight count total vs totals.outstanding_allocs")
    if plain == counted:
        problems.append("folded with --weight count --per-pid is the same as without")
    report_cmd("--diff", path, path, "-f", "text", "--weight", "count", "--top", "2")
    # drip trace: refused before the command runs
    marker = tmpfile("ran")
    pb = tmpfile("t.pb.gz")
    rc, _, err = drip("trace", "-f", "pprof", "-o", pb, "--per-pid", "--", "/bin/sh", "-c",
                      f"echo > {marker}")
    expect_error(rc, err, (1,), "drip trace -f pprof --per-pid")
    if "--per-pid does not apply to format 'pprof'" not in err:
        problems.append(f"drip trace -f pprof --per-pid: expected the error to name the option "
                        f"and the format, drip wrote {err.strip()!r}")
    if os.path.exists(marker) or os.path.exists(pb):
        problems.append("drip trace -f pprof --per-pid: the command ran or the file was written")
    check(problems)


def diff_blocks(text):
    """{frame #0 name: (delta bytes, status, header line)} from the text diff"""
    blocks = {}
    for m in re.finditer(r"^\[\d+\] ([+-]?\d+) B[^\n]*?, (new|gone|grew|shrank): [^\n]*\n"
                         r"    #0 (\S+)", text, re.M):
        blocks.setdefault(m[3], []).append((int(m[1]), m[2]))
    return blocks


def test_diff_of_two_runs():
    """OLD: allocators --baseline (allocates nothing itself); NEW: allocators. Each target
    function is a new stack grown by exactly its truth; folded diff says 0 -> truth."""
    old, _, old_path = traced("--baseline")
    new, tp, new_path = traced()
    _, out, _ = report_cmd("--diff", old_path, new_path, "--top", "1000")
    blocks = diff_blocks(out)
    problems = []
    for f_, v in tp["funcs"].items():
        if not v["outstanding_bytes"]:
            continue
        got = blocks.get(f_)
        if got != [(v["outstanding_bytes"], "new")]:
            problems.append(f"{f_}: expected one new stack '+{v['outstanding_bytes']} B', drip "
                            f"reported {got}")
    delta = new.totals["outstanding_bytes"] - old.totals["outstanding_bytes"]
    header = out.split("\n")[0]
    sign = "+" if delta > 0 else "-" if delta < 0 else ""
    if f": {sign}{abs(delta)} B" not in header:
        problems.append(f"expected the header to show {sign}{abs(delta)} B, drip wrote {header!r}")
    _, out, _ = report_cmd("--diff", old_path, new_path, "-f", "folded")
    rows = parse_folded(out, columns=2)
    expect_eq(sum(r[1] for r in rows), old.totals["outstanding_bytes"], "folded diff OLD column")
    expect_eq(sum(r[2] for r in rows), new.totals["outstanding_bytes"], "folded diff NEW column")
    leaves = folded_by_leaf(rows)
    for f_, v in tp["funcs"].items():
        if v["outstanding_bytes"] and leaves.get(f_) != [0, v["outstanding_bytes"]]:
            problems.append(f"{f_}: expected folded diff '0 {v['outstanding_bytes']}', drip "
                            f"wrote {leaves.get(f_)}")
    check(problems)


def resum(data):
    """totals and each process's outstanding_* as drip writes them: the sums of the stacks"""
    for k in ("outstanding_bytes", "outstanding_allocs"):
        data["totals"][k] = sum(s[k] for s in data["stacks"])
        for p in data["processes"]:
            p[k] = sum(s[k] for s in data["stacks"] if s["pid"] == p["pid"])


def test_inconsistent_totals_are_refused():
    """drip's JSON lists every stack: totals and each process are sums of stacks[]. A report
    edited so they differ is refused (exit 4) with both figures named, in every format, instead
    of an svg whose subtitle contradicts its frames; edited consistently, it loads."""
    report, tp, path = traced()
    data = report.data
    stacks_bytes = sum(s["outstanding_bytes"] for s in data["stacks"])
    expect_eq(data["totals"]["outstanding_bytes"], stacks_bytes, "drip's own totals vs stacks")
    pid = report.report_pid(tp["pid"])
    pid_allocs = sum(s["outstanding_allocs"] for s in data["stacks"] if s["pid"] == pid)
    cases = []
    bad = copy.deepcopy(data)
    bad["totals"]["outstanding_bytes"] = 1
    cases.append((bad, f"totals.outstanding_bytes: 1, but stacks[].outstanding_bytes add up "
                       f"to {stacks_bytes}"))
    bad = copy.deepcopy(data)
    proc = next(i for i, p in enumerate(bad["processes"]) if p["pid"] == pid)
    bad["processes"][proc]["outstanding_allocs"] += 5
    cases.append((bad, f"processes[{proc}].outstanding_allocs: {pid_allocs + 5} for pid {pid}, "
                       f"but its stacks[] add up to {pid_allocs}"))
    problems = []
    for i, (bad, msg) in enumerate(cases):
        p = tmpfile(f"inconsistent{i}.json")
        with open(p, "w") as f:
            json.dump(bad, f)
        for fmt in ("svg", "text"):
            out = tmpfile(f"inconsistent{i}.{fmt}")
            rc, _, err = drip("report", p, "-f", fmt, "-o", out)
            expect_error(rc, err, (4,), f"drip report (inconsistent {i}) -f {fmt}")
            if msg not in err:
                problems.append(f"case {i} -f {fmt}: expected {msg!r}, drip wrote {err.strip()!r}")
            if os.path.exists(out):
                problems.append(f"case {i} -f {fmt}: wrote {out} anyway")
    ok = copy.deepcopy(data)  # the same edit, with the sums kept: loads
    ok["stacks"][0]["outstanding_bytes"] += 4096
    resum(ok)
    p = tmpfile("consistent.json")
    with open(p, "w") as f:
        json.dump(ok, f)
    _, svg, _ = report_cmd(p, "-f", "svg")
    if not svg or "<svg" not in svg:
        problems.append("a consistently edited report did not export")
    check(problems)


def test_diff_of_edited_report():
    """A report edited by hand: one stack grows by 1000 B, one vanishes, one is new; the text
    diff shows exactly that, and nothing else changed."""
    report, tp, path = traced()
    data = report.data
    rows = [s for s in data["stacks"] if s["outstanding_bytes"] and fnames(s)[:1] in
            (["leak_malloc"], ["leak_calloc"])]
    by = {fnames(s)[0]: s for s in rows}
    if set(by) != {"leak_malloc", "leak_calloc"}:
        fail(f"expected stacks for leak_malloc and leak_calloc, drip reported {sorted(by)}")
    new = copy.deepcopy(data)
    grow = next(s for s in new["stacks"] if s["stack_id"] == by["leak_malloc"]["stack_id"])
    grow["outstanding_bytes"] += 1000
    grow["outstanding_allocs"] += 1
    gone_id = by["leak_calloc"]["stack_id"]
    new["stacks"] = [s for s in new["stacks"] if s["stack_id"] != gone_id]
    new["merged"] = [m for m in new["merged"] if m["stack_id"] != gone_id]
    added = copy.deepcopy(grow)
    added["stack_id"] = "feedfacecafebeef"
    added["frames"][0]["function"] = "brand_new"
    added["outstanding_bytes"], added["outstanding_allocs"] = 777, 7
    new["stacks"].append(added)
    resum(new)
    expect_eq(new["totals"]["outstanding_bytes"] - data["totals"]["outstanding_bytes"],
              1000 + 777 - by["leak_calloc"]["outstanding_bytes"], "the edit's change of total")
    new_path = tmpfile("edited.json")
    with open(new_path, "w") as f:
        json.dump(new, f)
    _, out, _ = report_cmd("--diff", path, new_path)
    blocks = diff_blocks(out)
    calloc = by["leak_calloc"]["outstanding_bytes"]
    want = {"leak_malloc": [(1000, "grew")], "leak_calloc": [(-calloc, "gone")],
            "brand_new": [(777, "new")]}
    if blocks != want:
        fail(f"expected exactly {want}, drip's diff showed {blocks}:\n{out}")
    if "stacks: 1 grew, 0 shrank, 1 new, 1 gone," not in out:
        fail(f"expected the stack counts line, drip wrote:\n{out[:600]}")


def run_at_terminal(argv, env=None, timeout=30):
    """argv run with a pty as its stdout (and controlling terminal): (exit status, output)"""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, env or os.environ)
    out, end = b"", time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        try:
            data = os.read(fd, 65536) if r else b""
        except OSError:  # EIO: the child closed the terminal
            data = None
        if data:
            out += data
        elif data is None or os.waitpid(pid, os.WNOHANG)[0]:
            break
    os.close(fd)
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        status = 0
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace").replace("\r\n", "\n")


def test_diff_colours():
    """drip report --diff, text: growth red and shrink green (ANSI) on a terminal or with
    --color[=always]; plain into a file, with --color=never, NO_COLOR or TERM=dumb. The
    coloured figures are the edit's exact changes."""
    report, tp, path = traced()
    data = report.data
    held = sorted((s for s in data["stacks"] if s["outstanding_bytes"] >= 1000),
                  key=lambda s: s["stack_id"])
    if len(held) < 3:
        fail(f"expected 3 stacks holding >= 1000 B, drip reported {len(held)}")
    new = copy.deepcopy(data)
    by = {s["stack_id"]: s for s in new["stacks"]}
    grow, shrink, gone = (by[s["stack_id"]] for s in held[:3])
    grow["outstanding_bytes"] += 5000
    shrink["outstanding_bytes"] -= 100
    new["stacks"].remove(gone)
    new["merged"] = [m for m in new["merged"] if m["stack_id"] != gone["stack_id"]]
    resum(new)
    new_path = tmpfile("colour-new.json")
    with open(new_path, "w") as f:
        json.dump(new, f)
    red, green, reset = "\x1b[31m", "\x1b[32m", "\x1b[0m"
    total = new["totals"]["outstanding_bytes"] - data["totals"]["outstanding_bytes"]
    want = [f"{red if total > 0 else green}{total:+d} B",
            f"{red}+5000 B (+4.9 KiB){reset}, {red}grew{reset}",
            f"{green}-100 B{reset}, {green}shrank{reset}",
            f"{green}-{gone['outstanding_bytes']} B",
            f"{green}gone{reset}"]
    problems = []
    args = ("--diff", path, new_path, "--top", "1000")
    for how in (("--color",), ("--color=always",)):
        _, out, _ = report_cmd(*args, *how)
        problems += [f"{how[0]}: expected {w!r} in the diff" for w in want if w not in out]
    _, out, _ = report_cmd(*args)
    if "\x1b" in out:
        problems.append("into a file: expected no escape sequences, drip wrote some")
    env = dict(os.environ, TERM="xterm")
    env.pop("NO_COLOR", None)
    rc, out = run_at_terminal([DRIP, "report", *args], env)
    expect_eq(rc, 0, "drip report --diff at a terminal: exit status")
    problems += [f"at a terminal: expected {w!r} in the diff" for w in want if w not in out]
    for what, extra, e in (("--color=never", ["--color=never"], env),
                           ("NO_COLOR=1", [], dict(env, NO_COLOR="1")),
                           ("TERM=dumb", [], dict(env, TERM="dumb"))):
        rc, out = run_at_terminal([DRIP, "report", *args, *extra], e)
        expect_eq(rc, 0, f"drip report --diff at a terminal, {what}: exit status")
        if "\x1b" in out or "+5000 B" not in out:
            problems.append(f"at a terminal with {what}: expected the diff without colours, "
                            f"drip wrote {out[:300]!r}")
    for bad in (("--diff", path, new_path, "-f", "folded", "--color=always"),
                (path, "--color=always"), (path, "--diff", new_path, "--color=pink")):
        rc, _, err = drip("report", *bad, "-o", tmpfile("colour.out"))
        expect_error(rc, err, (1,), f"drip report {' '.join(bad)}")
    check(problems)


def test_hostile_comm_in_exports():
    """A command whose name holds ';', '<', a space and a newline (comm comes from the file
    name): folded keeps one frame per process frame and one line per stack, pprof labels it."""
    d = os.path.dirname(tmpfile("x"))
    name = "a;b <x>\nq"
    link = os.path.join(d, name)
    shutil.copy(target("allocators"), link)
    run = drip_trace([link])
    report = run.report()
    pid = report.processes[0]["pid"]
    comm = report.processes[0]["comm"]
    if "\n" not in comm or ";" not in comm:
        raise Skip(f"comm came out as {comm!r}: cannot test hostile names with it")
    _, out, _ = report_cmd(run.report_path, "-f", "folded", "--per-pid")
    rows = parse_folded(out)
    want = comm.replace(";", ":").replace("\n", "?") + f" [{pid}]"
    bad = [r[0][0] for r in rows if r[0][0] != want]
    if bad:
        fail(f"expected the process frame {want!r} on every line, drip wrote {bad[:3]}")
    expect_eq(sum(r[1] for r in rows), report.totals["outstanding_bytes"], "folded total")


def test_bad_report_files():
    """Missing: exit 2; malformed, truncated, another format: exit 4 with the place; usage: 1.
    Always one line `drip: cannot read report 'F': ...`."""
    report, tp, path = traced()
    missing = tmpfile("missing.json")
    rc, _, err = drip("report", missing)
    expect_error(rc, err, (2,), "drip report MISSING.json")
    if f"drip: cannot read report '{missing}': No such file or directory" not in err:
        fail(f"unexpected message: {err!r}")
    with open(path, "rb") as f:
        text = f.read()
    cases = {
        "truncated": text[:len(text) // 2],
        "garbage": b"\x00\x01garbage",
        "format2": text.replace(b'"format": 1', b'"format": 2', 1),
        "badtype": text.replace(b'"pid": ', b'"pid": "', 1),
        "empty": b"",
    }
    for what, data in cases.items():
        p = tmpfile(f"{what}.json")
        with open(p, "wb") as f:
            f.write(data)
        rc, out, err = drip("report", p, "-f", "folded")
        expect_error(rc, err, (4,), f"drip report {what}.json")
        if not re.match(rf"^drip: cannot read report '{re.escape(p)}': line \d+ col \d+: ",
                        err):
            fail(f"{what}: expected 'drip: cannot read report ... line L col C: why', drip "
                 f"wrote {err!r}")
        if out:
            fail(f"{what}: expected no output, drip wrote {out[:200]!r}")
        if what == "format2" and "unsupported report format 2 (this drip reads format 1)" \
                not in err:
            fail(f"format2: expected the format to be named, drip wrote {err!r}")
    rc, _, err = drip("report", "--diff", path, path, "-f", "pprof", "-o", tmpfile("d.pb.gz"))
    expect_error(rc, err, (1,), "drip report --diff -f pprof")
    rc, _, err = drip("report", "--diff", path)
    expect_error(rc, err, (1,), "drip report --diff with one report")
    rc, _, err = drip("report", path, "--weight", "pounds")
    expect_error(rc, err, (1,), "drip report --weight pounds")
    rc, _, err = drip("report", path, "-f", "xml")
    expect_error(rc, err, (1,), "drip report -f xml")
    # an output that cannot be written: exit 4, and nothing half-written left behind
    rc, _, err = drip("report", path, "-o", "/nonexistent-dir/x.folded")
    expect_error(rc, err, (4,), "drip report -o into a missing directory")
    # svg/html diff: written, or refused clearly while their writer cannot diff
    for fmt in ("svg", "html"):
        rc, _, err = drip("report", "--diff", path, path, "-f", fmt, "-o", tmpfile(f"d.{fmt}"))
        if rc != 0:
            expect_error(rc, err, (1,), f"drip report --diff -f {fmt}")


test_report_reexports_pprof.timeout = 180
test_pprof_alloc_space_is_what_the_target_allocated.timeout = 120
test_pprof_keeps_python_names.timeout = 120
test_pprof_mappings_have_build_ids_and_exact_offsets.timeout = 120
test_pprof_forked_workers_share_mappings.timeout = 120
test_diff_of_two_runs.timeout = 90
test_trace_writes_folded_and_pprof_directly.timeout = 120
