# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Flame graphs from real traces (-f svg, -f html): the files parse, carry the totals and the
functions of a JSON report of the same workload (tests/targets/allocators.c is deterministic in
what it leaks), and render in headless Chromium without a script error."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import xml.dom.minidom

from drip_e2e import DRIP, Proc, Skip, Truth, check, drip_trace, fail, target, tmpfile

SUBTITLE = re.compile(r"^(\d+) B(?: \([^)]*\))? outstanding in (\d+) allocs? \u00b7 (\d+) process")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--enable-logging=stderr"]


def trace_to(fmt, cmd):
    """drip trace -f FMT -o FILE -- cmd: (the file's path, the target's truth)."""
    out = tmpfile(f"flame.{fmt}")
    truth = tmpfile("truth.jsonl")
    proc = Proc([DRIP, "trace", "-f", fmt, "-o", out, "--", *cmd],
                extra_env={"DRIP_TRUTH": truth})
    rc = proc.wait(45)
    if rc != 0:
        fail(f"expected `{proc.cmdline()}` to exit 0, it exited {rc}{proc.stderr_tail()}")
    if not os.path.getsize(out):
        fail(f"`{proc.cmdline()}` wrote an empty {out}")
    return out, Truth(truth)


def text_of(node):
    return "".join(n.data for n in node.childNodes if n.nodeType == n.TEXT_NODE)


def parse_svg(path):
    try:
        return xml.dom.minidom.parse(path)
    except Exception as e:  # ExpatError, UnicodeDecodeError, ...
        fail(f"drip's SVG {path} does not parse as XML: {e}")


def svg_frames(doc):
    """[(name, start, width)] of every frame, from its data-x/data-w and its title."""
    out = []
    for g in doc.getElementsByTagName("g"):
        if not g.hasAttribute("data-w"):
            continue
        title = g.getElementsByTagName("title")[0]
        out.append((text_of(title).split("\n")[0], int(g.getAttribute("data-x")),
                    int(g.getAttribute("data-w"))))
    return out


def page_data(path):
    with open(path, encoding="utf-8") as f:
        page = f.read()
    m = re.search(r'<script type="application/json" id="drip-data">(.*?)</script>', page, re.S)
    if not m:
        fail(f"drip's HTML {path} has no <script type=\"application/json\" id=\"drip-data\">")
    try:
        return page, json.loads(m.group(1))
    except json.JSONDecodeError as e:
        fail(f"the data embedded in {path} are not valid JSON: {e}")


def no_external_resources(text, what):
    bad = [b for b in ("href=", "src=", "@import", "https:") if b in text]
    bad += [m for m in re.findall(r"http://[^\"' ]*", text) if m != "http://www.w3.org/2000/svg"]
    if bad:
        fail(f"expected {what} to load nothing from outside, it contains {bad}")


def test_svg_matches_json_report():
    """Subtitle totals equal those of a JSON run of the same workload; each function of the
    target is drawn exactly as wide as the bytes it still holds by its own count, main as wide
    as the whole process; the file parses as XML."""
    report = drip_trace([target("allocators")]).report()
    path, truth = trace_to("svg", [target("allocators")])
    tp = truth.one("allocators")
    doc = parse_svg(path)
    with open(path, encoding="utf-8") as f:
        no_external_resources(f.read(), f"the SVG {path}")
    texts = {e.getAttribute("id"): text_of(e) for e in doc.getElementsByTagName("text")}
    m = SUBTITLE.match(texts.get("subtitle", ""))
    if not m:
        fail(f"expected a subtitle like '<bytes> B (...) outstanding in <n> allocs \u00b7 <n> "
             f"process', drip wrote {texts.get('subtitle')!r}")
    t = report.totals
    problems = []
    for got, want, what in ((int(m[1]), t["outstanding_bytes"], "outstanding bytes"),
                            (int(m[2]), t["outstanding_allocs"], "outstanding allocs"),
                            (int(m[3]), len(report.processes), "processes")):
        if got != want:
            problems.append(f"subtitle {what}: expected {want} (JSON run), drip wrote {got}")
    frames = svg_frames(doc)
    if not frames or frames[0][0] != "all" or frames[0][2] != int(m[1]):
        problems.append(f"expected the root frame 'all' as wide as the subtitle's {m[1]} B, "
                        f"drip drew {frames[:1]}")
    widths = {}
    for name, _, w in frames:
        widths[name] = widths.get(name, 0) + w  # no function recurses in allocators
    want = {f: v["outstanding_bytes"] for f, v in tp["funcs"].items() if v["outstanding_bytes"]}
    want["main"] = tp["outstanding_bytes"]  # the target's own allocations are all under main
    for name in sorted(want):
        if widths.get(name) != want[name]:
            problems.append(f"{name}: expected frames {want[name]} B wide in all (the target's "
                            f"count), drip drew {widths.get(name)}")
    if len(doc.getElementsByTagName("script")) != 1:
        problems.append("expected one inline <script> in the SVG")
    check(problems)


def test_html_matches_json_report():
    """The page's embedded data parse as JSON and carry the JSON run's totals, the target's
    largest leak first among the named stacks of the table, and every process."""
    report = drip_trace([target("allocators")]).report()
    path, truth = trace_to("html", [target("allocators")])
    funcs = truth.one("allocators")["funcs"]
    page, data = page_data(path)
    no_external_resources(page, f"the page {path}")
    t = report.totals
    problems = []
    if data["total"] != {"bytes": t["outstanding_bytes"], "allocs": t["outstanding_allocs"]}:
        problems.append(f"expected total {t['outstanding_bytes']} B in "
                        f"{t['outstanding_allocs']} allocs (JSON run), drip wrote {data['total']}")
    if not SUBTITLE.match(data["subtitle"]) or \
            int(SUBTITLE.match(data["subtitle"])[1]) != t["outstanding_bytes"]:
        problems.append(f"expected the subtitle to start with {t['outstanding_bytes']} B, drip "
                        f"wrote {data['subtitle']!r}")
    S = data["strings"]
    rows = [S[r["f"][0]] if r["f"] and r["f"][0] >= 0 else None for r in data["stacks"]]
    named = [name for name in rows if name]
    top = max(funcs, key=lambda f: funcs[f]["outstanding_bytes"])
    if not named or named[0] != top:
        problems.append(f"expected {top} (the target's largest leak) as the first named top "
                        f"function of the stacks table, drip wrote {named[:5]}")
    sizes = [r["b"] for r in data["stacks"]]
    if sizes != sorted(sizes, reverse=True) or len(sizes) != data["stacks_total"] or \
            sum(sizes) != data["total"]["bytes"]:
        problems.append(f"expected all {data['stacks_total']} stacks, largest first, adding up "
                        f"to {data['total']['bytes']} B, drip wrote sizes {sizes}")
    if len(data["processes"]) != len(report.processes):  # two runs: other pids
        problems.append(f"expected {len(report.processes)} processes, drip listed "
                        f"{data['processes']}")
    check(problems)


def chromium():
    """The chromium binary, installed with apt-get when missing; Skip when it cannot be."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Skip("chromium is not installed (scripts/install-deps.sh installs it)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        r = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                            "chromium"], env=env, capture_output=True, text=True, timeout=150)
    except subprocess.TimeoutExpired:
        raise Skip("chromium is not installed and `apt-get install chromium` took over 150 s")
    path = shutil.which("chromium")
    if r.returncode or not path:
        tail = (r.stderr or r.stdout).strip().splitlines()[-1:]
        raise Skip(f"chromium is not installed and `apt-get install chromium` failed: {tail}")
    return path


def run_chromium(binary, args, what):
    profile = tempfile.mkdtemp(prefix="drip-chromium-", dir=os.path.dirname(what))
    try:
        r = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                           capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        fail(f"chromium did not finish with {what} within 60 s")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    errors = [line for line in r.stderr.splitlines() if "Uncaught" in line]
    if errors:
        fail(f"chromium reported a script error in {what}: {errors[:3]}")
    return r


def test_chromium_renders_html():
    """Headless Chromium runs the page of a demo_trainer trace: it marks #drip-ready, shows no
    #drip-error, and its tables show the top function and every process."""
    binary = chromium()
    path, _ = trace_to("html", [target("demo_trainer"), "1.5"])
    _, data = page_data(path)
    S = data["strings"]
    top = S[data["stacks"][0]["f"][0]]
    if top != "parse_record":  # the three workers' leak outgrows the parent's cache
        fail(f"expected parse_record at the top of demo_trainer's stacks, drip wrote {top}")
    dom = run_chromium(binary, ["--dump-dom", f"file://{path}"], path).stdout
    problems = []
    if 'id="drip-ready"' not in dom:
        problems.append("expected the page to add #drip-ready after drawing, it did not")
    m = re.search(r'<div id="drip-error">([^<]*)', dom)
    if m:
        problems.append(f"the page reported an error: {m[1]}")
    if '<td class="fn">parse_record</td>' not in dom:
        problems.append("expected a stacks-table cell with parse_record in the rendered page")
    comms = re.findall(r'<td class="fn">(demo_trainer)</td>', dom)
    if len(comms) != len(data["processes"]) or len(comms) != 4:
        problems.append(f"expected 4 demo_trainer rows in the processes table (parent and 3 "
                        f"workers), the page shows {len(comms)}")
    check(problems)
    png = tmpfile("page.png")
    run_chromium(binary, ["--screenshot=" + png, "--window-size=1400,900", f"file://{path}"],
                 path)
    if not os.path.exists(png) or os.path.getsize(png) < 10000:
        fail(f"expected chromium to write a screenshot of the page to {png}")


test_chromium_renders_html.timeout = 200


def test_chromium_renders_svg():
    """Headless Chromium runs the SVG's script (ready mark, no error) and can zoom and search
    from the URL fragment; the searched share is shown."""
    binary = chromium()
    path, _ = trace_to("svg", [target("allocators")])
    dom = run_chromium(binary, ["--dump-dom", f"file://{path}#s=leak_&z=main"], path).stdout
    problems = []
    if 'data-drip-ready="1"' not in dom:
        problems.append("expected the SVG's script to mark data-drip-ready, it did not")
    if 'id="drip-error"' in dom:
        problems.append("the SVG's script reported an error: "
                        + re.search(r'id="drip-error"[^>]*>([^<]*)', dom)[1])
    m = re.search(r'<text id="matched"[^>]*>Matched: ([0-9.]+)%</text>', dom)
    if not m or not 0 < float(m[1]) <= 100:
        problems.append(f"expected 'Matched: N%' after searching leak_, the SVG shows "
                        f"{m[0] if m else 'nothing'}")
    if '<text id="unzoom" class="btn on"' not in dom:
        problems.append("expected the Reset Zoom control to show after zooming to main")
    check(problems)
    png = tmpfile("flame.png")
    run_chromium(binary, ["--screenshot=" + png, "--window-size=1400,900", f"file://{path}"],
                 path)
    if not os.path.exists(png) or os.path.getsize(png) < 5000:
        fail(f"expected chromium to write a screenshot of the SVG to {png}")


test_chromium_renders_svg.timeout = 200
