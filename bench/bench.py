# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""make bench: what tracing with drip costs a program, next to the per-hit floor and other tools.

Run by bench/run.sh, which builds build/bench/{churn_mt,pool_bench,leaker} and installs the
tools compared against. Standard library only. Prints one table plus a few extra figures on
stdout, progress on stderr. Timing never decides the exit status: 0 unless drip or a target
failed (exit status, signal, or no figure printed); other tools' failures are notes.

Method. Every figure is the median over BENCH_ROUNDS rounds (default 5); each round runs every
(workload, configuration) once, the order rotated by 1/ROUNDS of a round each time, so slow
drift and the other tenants of this 2-core machine spread over all configurations alike. As
root it runs at nice BENCH_NICE (default -10), so that other tenants' CPU-bound jobs take less
of the wall time the targets measure; BENCH_NICE=0 turns that off. Targets time
themselves (ns per malloc+free pair, or sqlite3's own clock), so tool start-up and tear-down
(drip's are printed apart, as a session around `true`) never count as per-pair cost.

Knobs: BENCH_ROUNDS=N; BENCH_QUICK=1 (3 rounds, a third of the pairs: a smoke run); BENCH_NICE.
"""
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BB = ROOT / "build" / "bench"
TMP = BB / "tmp"
DRIP = ROOT / "drip"
CHURN = ROOT / "build" / "targets" / "churn"
LIBC = "/lib/x86_64-linux-gnu/libc.so.6"  # bench/leaks.bt probes this path
MEMLEAK = "/usr/sbin/memleak-bpfcc"
SYS_PY = "/usr/bin/python3"  # bcc's Python module lives in the system interpreter only

QUICK = os.environ.get("BENCH_QUICK") == "1"
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "3" if QUICK else "5")))
PAIRS = 100_000 if QUICK else 300_000  # per run, split over threads or workers
SQL_ROWS = 2_000 if QUICK else 4_000  # ~28 malloc+free pairs per row
NICE = int(os.environ.get("BENCH_NICE", "-10"))
SUSTAINED_PAIRS = 400_000 if QUICK else 1_000_000  # per thread, for the drops check
RUN_TIMEOUT = 300

RE_NS = re.compile(r"ns_per_pair ([0-9.]+)")
RE_SQL = re.compile(r"bench_wall_s\|([0-9.]+)")
RE_DRIP_V = re.compile(r"consumed (\d+) records in ([0-9.]+) s \(([0-9.]+)/s\); "
                       r"drip cpu ([0-9.]+) s, peak rss (\d+) KiB")

crashes = []  # "what: why" for drip or target runs that died; decides the exit status
notes = []  # printed under the table


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def rss_anon_kib(pid):
    """RssAnon of pid in KiB: drip's own heap, without the ring buffer's kernel pages."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Proc:
    """A started command, in its own session so a stuck run can be killed whole.

    stdout lines are kept with their arrival time (churn --loop and memleak report over time);
    stderr goes to a file; the command's own peak RssAnon is sampled every 20 ms.
    """

    def __init__(self, argv, name, env=None):
        self.name = name
        self.err_path = TMP / f"{name}.err"
        self.lines = []
        self.peak_anon_kib = None
        self.timed_out = False
        self.t0 = time.monotonic()
        with open(self.err_path, "w") as err:
            self.p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=err, text=True,
                                      errors="replace", start_new_session=True,
                                      env=dict(os.environ, **(env or {})))
        self.pid = self.p.pid
        self._done = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._reader.start()
        self._sampler.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def _sample(self):
        while not self._done.wait(0.02):
            kib = rss_anon_kib(self.pid)
            if kib is not None and (self.peak_anon_kib is None or kib > self.peak_anon_kib):
                self.peak_anon_kib = kib

    def wait(self, timeout=RUN_TIMEOUT):
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.timed_out = True
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
        self.wall = time.monotonic() - self.t0
        self._done.set()
        self._reader.join(5)
        self._sampler.join(5)
        return self.p.returncode

    def send(self, sig):
        if self.p.poll() is None:
            os.kill(self.p.pid, sig)

    @property
    def stdout(self):
        return "\n".join(text for _, text in self.lines)

    @property
    def stderr(self):
        return self.err_path.read_text(errors="replace")

    def wait_for(self, pred, timeout):
        """Wait until pred() is true; False if the command exited or time ran out first."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return True
            if self.p.poll() is not None:
                return pred()
            time.sleep(0.02)
        return False


def last_float(regex, text):
    found = regex.findall(text)
    return float(found[-1]) if found else None


def why_failed(proc, rc):
    if proc.timed_out:
        return f"timed out after {RUN_TIMEOUT} s"
    tail = [ln for ln in (proc.stderr + "\n" + proc.stdout).splitlines() if ln.strip()]
    return f"exit {rc}" + (f": {tail[-1][:150]}" if tail else "")


class Result:
    def __init__(self):
        self.value = None  # ns per pair, or ms per sqlite3 run
        self.rate = self.records = self.cpu = self.anon_kib = None  # from drip
        self.lost = self.incomplete = self.allocs = self.unwind_failures = None  # drip's JSON
        self.seen = None  # allocations the tool saw, where it tells
        self.missed = 0  # allocations the target made that drip did not report
        self.wall = None  # whole session, start-up and tear-down included
        self.error = None


def parse_drip(res, proc, json_path):
    m = RE_DRIP_V.search(proc.stderr)
    if m:
        res.records, res.rate, res.cpu = int(m[1]), float(m[3]), float(m[4])
    res.anon_kib = proc.peak_anon_kib
    try:
        with open(json_path) as f:
            rep = json.load(f)
        tot = rep["totals"]
        res.lost, res.allocs, res.incomplete = tot["events_lost"], tot["allocs"], rep["incomplete"]
        res.unwind_failures = tot.get("unwind_failures")
        res.seen = res.allocs
    except (OSError, ValueError, KeyError, TypeError) as e:
        res.error = f"no usable JSON report ({e})"


# ---------------------------------------------------------------- workloads

def sql_script(path, rows):
    """A deterministic script: rows inserts with text, an index, some selects.

    sqlite3 times itself with julianday('now') (millisecond clock) from the first statement
    to the last, so its start-up and exit are not in the figure, whatever tool runs it.
    """
    rnd = random.Random(1)
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()
    with open(path, "w") as f:
        f.write("CREATE TEMP TABLE bench_t0 AS SELECT julianday('now') AS s;\n"
                "CREATE TABLE kv(id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL);\n"
                "CREATE INDEX kv_k ON kv(k);\nBEGIN;\n")
        for _ in range(rows):
            k = "key-%08d" % rnd.randrange(10**8)
            v = " ".join(rnd.choice(words) for _ in range(rnd.randrange(2, 12)))
            f.write(f"INSERT INTO kv(k, v) VALUES('{k}', '{v}');\n")
        f.write("COMMIT;\n"
                "SELECT count(*), sum(length(v)) FROM kv WHERE k LIKE 'key-1%';\n"
                "SELECT substr(k, 5, 2) AS p, count(*), max(v) FROM kv GROUP BY p "
                "ORDER BY 2 DESC LIMIT 3;\n"
                "SELECT count(*) FROM kv a JOIN kv b ON a.k = b.k AND a.id < b.id;\n"
                "SELECT 'bench_wall_s', (julianday('now') - s) * 86400.0 FROM bench_t0;\n")


class Workload:
    def __init__(self, key, label, argv, pairs=None, unit="ns", regex=RE_NS):
        self.key, self.label, self.argv = key, label, argv
        self.pairs = pairs  # pairs made at scale s (None: not a pair count)
        self.unit, self.regex = unit, regex

    def value(self, text):
        v = last_float(self.regex, text)
        return v * 1e3 if v is not None and self.unit == "ms" else v


SQL_PATH = BB / f"sqlite_{SQL_ROWS}.sql"
# A real path: bpftrace -c refuses a bare name that /bin and /usr/bin (usrmerge) both match
SQLITE3 = os.path.realpath(shutil.which("sqlite3") or "/usr/bin/sqlite3")
WORKLOADS = [
    Workload("churn1", "churn 1 thread", lambda s: [CHURN, "--time", int(PAIRS * s)],
             pairs=lambda s: int(PAIRS * s)),
    Workload("churn2", "churn_mt 2 threads",
             lambda s: [BB / "churn_mt", 2, int(PAIRS * s) // 2],
             pairs=lambda s: int(PAIRS * s) // 2 * 2),
    Workload("sqlite", f"sqlite3 {SQL_ROWS // 1000}k rows",
             lambda s: [SQLITE3, "-batch", "-init", SQL_PATH, ":memory:", ".quit"],
             unit="ms", regex=RE_SQL),
    Workload("pool", "pool 4 forked workers",
             lambda s: [BB / "pool_bench", int(PAIRS * s) // 4, 4],
             pairs=lambda s: int(PAIRS * s) // 4 * 4),
]


# ---------------------------------------------------------------- configurations

class Config:
    """How to run a target: wrap(target_argv, json_path, name) -> (argv, env).

    scale: the share of the pairs this configuration runs, for the slow tools; ns per pair
    does not depend on it. sqlite3's figure is per run, so it always runs whole.
    """

    def __init__(self, key, label, wrap, scale=1.0, drip=False, tool=None):
        self.key, self.label, self.wrap, self.scale = key, label, wrap, scale
        self.drip = drip
        self.skip = None
        if tool and not shutil.which(tool):
            self.skip = f"{tool} not installed"


def drip_wrap(*opts):
    return lambda t, js, name: ([DRIP, "trace", "-v", *opts, "-o", js, "--", *t], None)


def heaptrack_wrap(t, js, name):
    return (["heaptrack", "-o", TMP / name, *t], None)


def drip_has_unwind_modes():
    """Whether this drip has --unwind (dwarf became the default with it)."""
    try:
        out = subprocess.run([DRIP, "trace", "--help"], capture_output=True, text=True).stdout
    except OSError:
        return False
    return "--unwind" in out


# bpftrace's default of 4096 keys per map would drop outstanding blocks silently
BPFTRACE_ENV = {"BPFTRACE_MAP_KEYS_MAX": "262144"}

# "drip" is always drip as a user runs it; "fp" pins frame-pointer stacks when there is a choice
if drip_has_unwind_modes():
    DRIP_CONFIGS = [Config("fp", "drip --unwind fp", drip_wrap("--unwind", "fp"), drip=True),
                    Config("drip", "drip (default: dwarf)", drip_wrap(), drip=True)]
else:
    DRIP_CONFIGS = [Config("drip", "drip (FP stacks, default)", drip_wrap(), drip=True)]

CONFIGS = [
    Config("untraced", "untraced", lambda t, js, name: (t, None)),
    Config("floor", "drip --empty-programs", drip_wrap("--empty-programs"), drip=True),
    Config("nostacks", "drip --no-stacks", drip_wrap("--no-stacks"), drip=True),
    *DRIP_CONFIGS,
    Config("bpftrace", "bpftrace leaks.bt",
           lambda t, js, name: (["bpftrace", "-c", " ".join(map(str, t)),
                                 ROOT / "bench" / "leaks.bt"], BPFTRACE_ENV),
           scale=0.125, tool="bpftrace"),
    Config("heaptrack", "heaptrack", heaptrack_wrap, tool="heaptrack"),
    Config("valgrind", "valgrind memcheck",
           lambda t, js, name: (["valgrind", "-q", "--tool=memcheck", *t], None),
           scale=0.1, tool="valgrind"),
]
if not os.path.exists(LIBC):
    next(c for c in CONFIGS if c.key == "bpftrace").skip = f"{LIBC} not found (leaks.bt probes it)"

RE_BPFTRACE_ALLOCS = re.compile(r"@allocs: (\d+)")
RE_HEAPTRACK_ALLOCS = re.compile(r"allocations:\s+(\d+)")


def run_config(w, c, rnd):
    scale = c.scale if w.pairs else 1.0
    name = f"{w.key}-{c.key}-{rnd}"
    js = TMP / f"{name}.json"
    argv, env = c.wrap(w.argv(scale), js, name)
    proc = Proc(argv, name, env)
    rc = proc.wait()
    res = Result()
    res.wall = proc.wall
    res.value = w.value(proc.stdout)
    if c.drip:
        parse_drip(res, proc, js)
    elif c.key == "bpftrace":
        res.seen = last_float(RE_BPFTRACE_ALLOCS, proc.stdout)
    elif c.key == "heaptrack":
        res.seen = last_float(RE_HEAPTRACK_ALLOCS, proc.stderr + proc.stdout)
        for p in TMP.glob(f"{name}.*"):
            if p.suffix in (".zst", ".gz"):
                p.unlink()
    if res.value is None or rc != 0:
        res.error = why_failed(proc, rc)
        if c.key == "untraced" or c.drip:
            crashes.append(f"{w.label} / {c.label} round {rnd}: {res.error}")
    elif w.pairs and res.seen is not None and c.key != "floor" and res.seen < 0.9 * w.pairs(scale):
        # fewer events is less work: such a figure would flatter the tool, so it is left out
        res.error = f"saw only {int(res.seen)} of {w.pairs(scale)} allocations, figure left out"
        if c.drip:
            res.error += f" (events_lost {res.lost}; report kept: {js.relative_to(ROOT)})"
        elif c.key == "heaptrack" and w.key == "pool":
            res.error += " (heaptrack stops tracing in forked children)"
    if c.drip and w.pairs and c.key != "floor" and res.seen is not None:
        res.missed = max(0, w.pairs(scale) - int(res.seen))
    if c.drip and not res.error:
        js.unlink(missing_ok=True)
    return res


# ---------------------------------------------------------------- memleak (attach by pid)

def bcc_env():
    env = {}
    if os.environ.get("BCC_KERNEL_SOURCE"):
        env["BCC_KERNEL_SOURCE"] = os.environ["BCC_KERNEL_SOURCE"]
    return env


def memleak_skip_reason():
    if not os.path.exists(MEMLEAK):
        return "memleak-bpfcc not installed (apt-get install bpfcc-tools)"
    if subprocess.run([SYS_PY, "-c", "import bcc"], capture_output=True).returncode:
        return f"{SYS_PY} cannot import bcc"
    release = os.uname().release
    if not (os.path.exists(f"/lib/modules/{release}/build/include/linux/kconfig.h")
            or os.path.exists("/sys/kernel/kheaders.tar.xz") or os.environ.get("BCC_KERNEL_SOURCE")):
        return (f"bcc compiles memleak against kernel headers and kernel {release} has none "
                "(no /lib/modules/*/build, CONFIG_IKHEADERS off, no linux-headers package)")
    return None


def run_memleak(rnd):
    """churn --loop, 1 s of its own reports, then memleak -p attached for 3 reports.

    Returns (ns/pair before attaching, ns/pair while attached), each a median over the
    100 ms reports churn made in that window; error text instead when memleak fails.
    """
    churn = Proc([CHURN, "--loop", 100], f"memleak-churn-{rnd}")
    time.sleep(1.5)
    t_attach = time.monotonic()
    ml = Proc([SYS_PY, "-u", ROOT / "bench" / "memleak_shim.py", "-p", churn.pid, 1, 3],
              f"memleak-{rnd}", bcc_env())
    rc = ml.wait(120)
    churn.send(signal.SIGTERM)
    if churn.wait(10) != 0:
        crashes.append(f"churn --loop under memleak round {rnd}: {why_failed(churn, churn.p.returncode)}")
    # memleak attaches before its first interval: reports after the first one are all traced
    tops = [t for t, text in ml.lines if "stacks with outstanding allocations" in text]
    if rc != 0 or len(tops) < 2:
        return None, None, why_failed(ml, rc)
    values = [(t, float(m[1])) for t, text in churn.lines if (m := RE_NS.search(text))]
    before = [v for t, v in values if t_attach - 1.0 <= t < t_attach]
    during = [v for t, v in values if tops[0] < t <= tops[-1]]
    if not before or not during:
        return None, None, "churn printed no figures in the window"
    return statistics.median(before), statistics.median(during), None


# ---------------------------------------------------------------- extra measurements

def wait_attached(proc):
    return proc.wait_for(lambda: "attached to" in proc.stderr, 30)


def run_bystander(rnd):
    """churn untraced, alone and while drip traces another process (sleep 30)."""
    churn = [CHURN, "--time", PAIRS]

    def alone():
        p = Proc(churn, f"bystander-alone-{rnd}")
        p.wait()
        return RE_NS.search(p.stdout)

    def beside_drip():
        d = Proc([DRIP, "trace", "-v", "-o", "/dev/null", "--", "sleep", 30], f"bystander-drip-{rnd}")
        m = None
        if wait_attached(d):
            p = Proc(churn, f"bystander-churn-{rnd}")
            p.wait()
            m = RE_NS.search(p.stdout)
        d.send(signal.SIGINT)
        d.wait(60)
        return m

    # alternate which goes first, so neither always runs right after a drip tear-down
    first, second = (alone, beside_drip) if rnd % 2 == 0 else (beside_drip, alone)
    a, b = first(), second()
    if rnd % 2:
        a, b = b, a
    return (float(a[1]) if a else None), (float(b[1]) if b else None)


def run_leaker(n):
    """drip's RssAnon while it tracks n outstanding 32-byte blocks (max over the target's sleep)."""
    js = TMP / f"leaker-{n}.json"
    d = Proc([DRIP, "trace", "-v", "-o", js, "--", BB / "leaker", n], f"leaker-{n}")
    peak = None
    if d.wait_for(lambda: any("leaked" in text for _, text in d.lines), RUN_TIMEOUT):
        end = time.monotonic() + 1.5  # the leaker sleeps 2 s; drip drains its ring meanwhile
        while time.monotonic() < end:
            kib = rss_anon_kib(d.pid)
            peak = max(peak or 0, kib or 0)
            time.sleep(0.1)
    rc = d.wait()
    res = Result()
    parse_drip(res, d, js)
    if rc != 0 or not peak:
        crashes.append(f"leaker {n} under drip: {why_failed(d, rc)}")
        return None, res
    if res.allocs is not None and res.allocs < n:
        notes.append(f"leaker {n}: drip saw only {res.allocs} allocations")
    return peak, res


def run_sustained():
    """2-thread churn at full speed under drip as users run it (no options): does anything drop?"""
    js = TMP / "sustained.json"
    d = Proc([DRIP, "trace", "-v", "-o", js, "--", BB / "churn_mt", 2, SUSTAINED_PAIRS], "sustained")
    rc = d.wait()
    res = Result()
    res.value = last_float(RE_NS, d.stdout)
    parse_drip(res, d, js)
    if rc != 0 or res.value is None:
        crashes.append(f"sustained churn_mt under drip: {why_failed(d, rc)}")
    return res


def run_idle():
    """drip around a command that does nothing: start-up and tear-down cost of a session."""
    d = Proc([DRIP, "trace", "-v", "-o", "/dev/null", "--", "true"], "idle")
    t_attached = None
    if wait_attached(d):
        t_attached = time.monotonic() - d.t0
    rc = d.wait()
    res = Result()
    m = RE_DRIP_V.search(d.stderr)
    res.cpu = float(m[4]) if m else None
    res.wall = d.wall
    if rc != 0:
        crashes.append(f"drip trace -- true: {why_failed(d, rc)}")
    return res, t_attached


# ---------------------------------------------------------------- output

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_val(v, unit):
    if v is None:
        return "-"
    if unit == "ms":
        return f"{v:.1f} ms"
    return f"{v:.0f} ns" if v >= 100 else f"{v:.1f} ns"


def fmt_span(vals, unit):
    """min-max, in the median's unit"""
    if not vals:
        return "-"
    spec = ".1f" if unit == "ms" or max(vals) < 100 else ".0f"
    return f"{min(vals):{spec}}-{max(vals):{spec}}"


def fmt_ratio(a, b):
    if a is None or not b:
        return "-"
    r = a / b
    return f"x{r:.2f}" if r < 10 else f"x{r:.1f}"


def fmt_num(v, spec):
    return "-" if v is None else format(v, spec)


def fmt_rate(v):
    if v is None:
        return "-"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    return f"{v / 1e3:.0f}k" if v >= 1e3 else f"{v:.0f}"


def print_table(rows):
    head = ["workload", "config", "median", "min-max", "vs untraced", "vs floor",
            "events/s", "drops", "drip cpu s", "drip anon MiB"]
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths)))
    print(line(head))
    print("  ".join("-" * w for w in widths))
    prev = None
    for r in rows:
        print(line([r[0] if r[0] != prev else ""] + r[1:]))
        prev = r[0]


def run_all():
    """Every measurement; returns what the report needs."""
    shutil.rmtree(TMP, ignore_errors=True)
    TMP.mkdir(parents=True)
    if not SQL_PATH.exists():
        sql_script(SQL_PATH, SQL_ROWS)
    for c in CONFIGS:
        if c.skip:
            notes.append(f"{c.label}: skipped, {c.skip}")
    ml_skip = memleak_skip_reason()
    if ml_skip:
        notes.append(f"memleak-bpfcc: skipped, {ml_skip}")

    m = {"configs": [c for c in CONFIGS if not c.skip], "memleak": []}
    jobs = [(w, c) for w in WORKLOADS for c in m["configs"]]
    if not ml_skip:
        jobs.append(("memleak", None))
    m["results"] = {(w.key, c.key): [] for w in WORKLOADS for c in m["configs"]}
    t_start = time.monotonic()
    spent = {}  # seconds per configuration, to see what to trim when the bench runs long
    say(f"bench: {ROUNDS} rounds of {len(jobs)} runs ({'quick' if QUICK else 'full'}), "
        f"{PAIRS} pairs a run (bpftrace 1/8, valgrind 1/10), sqlite3 {SQL_ROWS} rows")
    for rnd in range(ROUNDS):
        k = rnd * len(jobs) // ROUNDS  # each job runs early in one round, late in another
        for w, c in jobs[k:] + jobs[:k]:
            t = time.monotonic()
            if w == "memleak":
                m["memleak"].append(run_memleak(rnd))
            else:
                m["results"][(w.key, c.key)].append(run_config(w, c, rnd))
            key = "memleak" if w == "memleak" else c.key
            spent[key] = spent.get(key, 0) + time.monotonic() - t
        say(f"bench: round {rnd + 1}/{ROUNDS} done at {time.monotonic() - t_start:.0f} s")
    say("bench: seconds spent: " + ", ".join(f"{k} {v:.0f}" for k, v in spent.items()))

    say("bench: untraced churn beside a drip session")
    m["bystander"] = [run_bystander(r) for r in range(min(ROUNDS, 3))]
    say("bench: drip memory per tracked block")
    m["leak_rounds"] = 1  # drip's RSS for a given N came out the same to the KiB run after run
    m["leak"] = {n: [run_leaker(n) for _ in range(m["leak_rounds"])]
                 for n in (1_000_000, 2_000_000)}
    say("bench: sustained 2-thread churn under drip")
    m["sustained"] = run_sustained()
    m["idle"], m["t_attached"] = run_idle()
    say(f"bench: done in {time.monotonic() - t_start:.0f} s")
    return m


def table_rows(m, summary):
    """One row per (workload, config), plus memleak's; fills summary with the medians."""
    rows = []
    for w in WORKLOADS:
        for c in m["configs"]:
            rs = m["results"][(w.key, c.key)]
            ok = [r for r in rs if r.value is not None and not r.error]
            for r in rs:
                if r.error:
                    notes.append(f"{w.label} / {c.label}: {r.error}")
                elif r.incomplete and not r.lost and not r.unwind_failures:
                    notes.append(f"{c.label}: drip marks its report incomplete with events_lost 0 "
                                 "and unwind_failures 0")
            missed = [r.missed for r in rs if r.missed]
            if missed:
                notes.append(f"{w.label} / {c.label}: drip missed allocations in {len(missed)} of "
                             f"{len(rs)} runs (up to {max(missed)} of {w.pairs(1)}), with "
                             f"events_lost {max(r.lost or 0 for r in rs)}")
            vals = [r.value for r in ok]
            v = summary[(w.key, c.key)] = med(vals)
            base, floor = summary.get((w.key, "untraced")), summary.get((w.key, "floor"))
            lost = [r.lost for r in ok if r.lost is not None]
            anon = med([r.anon_kib for r in ok])
            rows.append([
                w.label + (" (ms/run)" if w.unit == "ms" else ""), c.label, fmt_val(v, w.unit),
                fmt_span(vals, w.unit),
                fmt_ratio(v, base) if c.key != "untraced" else "",
                fmt_ratio(v, floor) if c.key not in ("untraced", "floor") else "",
                fmt_rate(med([r.rate for r in ok])),
                (f"{max(lost)}" + ("!" if any(r.incomplete for r in ok) else "")) if lost else "-",
                fmt_num(med([r.cpu for r in ok]), ".2f"),
                fmt_num(anon / 1024 if anon else None, ".1f"),
            ])
    if not m["memleak"]:
        return rows
    before = [b for b, d, err in m["memleak"] if not err]
    during = [d for b, d, err in m["memleak"] if not err]
    errors = [err for b, d, err in m["memleak"] if err]
    for e in sorted(set(errors)):
        notes.append(f"memleak-bpfcc: {errors.count(e)} of {ROUNDS} rounds failed: {e}")
    mb = summary["memleak_before"] = med(before)
    md = summary["memleak"] = med(during)
    label = "churn --loop, memleak -p"
    rows.append([label, "untraced (before attach)", fmt_val(mb, "ns"), fmt_span(before, "ns"),
                 "", "", "-", "-", "-", "-"])
    rows.append([label, "memleak-bpfcc (stacks)", fmt_val(md, "ns"), fmt_span(during, "ns"),
                 fmt_ratio(md, mb), "-", "-", "-", "-", "-"])
    return rows


def print_extras(m):
    alone = med([a for a, _ in m["bystander"]])
    beside = med([b for _, b in m["bystander"]])
    print(f"untraced churn beside `drip trace -- sleep 30`: {fmt_val(beside, 'ns')} per pair vs "
          f"{fmt_val(alone, 'ns')} alone ({fmt_ratio(beside, alone)}, median of {len(m['bystander'])})")

    anon = {n: med([peak for peak, _ in runs]) for n, runs in m["leak"].items()}
    if anon[1_000_000] and anon[2_000_000]:
        per_block = (anon[2_000_000] - anon[1_000_000]) * 1024 / 1_000_000
        print(f"drip RssAnon tracking 32 B blocks: {anon[1_000_000] / 1024:.1f} MiB at 1M, "
              f"{anon[2_000_000] / 1024:.1f} MiB at 2M -> {per_block:.0f} B per block "
              f"({per_block * 1e6 / 2**20:.0f} MiB per million; {m['leak_rounds']} run each)")
    lost = [r.lost for runs in m["leak"].values() for _, r in runs if r.lost]
    if lost:
        notes.append(f"leaker runs lost events: {lost}")

    s, idle = m["sustained"], m["idle"]
    print(f"sustained 2-thread churn under drip ({2 * SUSTAINED_PAIRS} pairs, "
          f"{fmt_val(s.value, 'ns')} per pair): events_lost {s.lost}, incomplete "
          f"{str(s.incomplete).lower()}, {s.records} records at {fmt_rate(s.rate)}/s, "
          f"drip cpu {fmt_num(s.cpu, '.2f')} s")
    if idle.wall is not None:
        print(f"drip session around `true`: {idle.wall:.2f} s wall "
              f"(attached after {fmt_num(m['t_attached'], '.2f')} s), "
              f"drip cpu {fmt_num(idle.cpu, '.2f')} s")


def verdict(ok):
    return "met" if ok else "not met"


def print_targets(m, summary):
    print("targets (from the issue), judged on the medians above:")
    for w in WORKLOADS:
        ns, fl = summary.get((w.key, "nostacks")), summary.get((w.key, "floor"))
        if w.pairs and ns is not None and fl is not None:
            print(f"  trace without stacks <= floor + 300 ns/pair, {w.label}: "
                  f"{ns:.0f} vs {fl:.0f} + 300 -> {verdict(ns <= fl + 300)}")
    print("  DWARF stacks: not judged here (the table has drip's default mode for reference)")

    # Added cost per pair, the same churn_pair loop: --time runs for drip, --loop for memleak
    untr, mb, md = summary.get(("churn1", "untraced")), summary.get("memleak_before"), summary.get("memleak")
    if None in (untr, mb, md):
        print("  >= 5x faster than memleak: not measured (memleak did not run)")
    else:
        for c in CONFIGS:
            if c.key not in ("nostacks", "fp", "drip"):
                continue
            label = "trace without stacks" if c.key == "nostacks" else f"{c.label} (for reference)"
            v = summary.get(("churn1", c.key))
            if v is not None:
                cost, ml_cost = v - untr, md - mb
                print(f"  {label} >= 5x faster than memleak, added ns/pair on churn 1 thread: "
                      f"{cost:.0f} vs {ml_cost:.0f} = {ml_cost / cost:.1f}x -> "
                      f"{verdict(ml_cost >= 5 * cost)}")

    # A session's events/s is paced by the target (each event costs it a uprobe hit), so the
    # consumer is judged on CPU per record: records / all of drip's CPU time is a lower bound
    # on its capacity (start-up included); beyond an idle session's CPU, an estimate.
    s, idle = m["sustained"], m["idle"]
    if s.records and s.cpu:
        low = s.records / s.cpu
        est = ""
        if idle.cpu is not None and s.cpu - idle.cpu >= 0.05:
            est = f", ~{fmt_rate(s.records / (s.cpu - idle.cpu))}/s beyond start-up"
        print(f"  consumer >= 5M events/s: {s.records} records in {s.cpu:.2f} s of drip cpu -> "
              f">= {fmt_rate(low)}/s{est} (sessions ran at {fmt_rate(s.rate)}/s, paced by the "
              f"target) -> {verdict(low >= 5e6)}")

    runs = m["results"].get(("churn2", "drip"), [])
    lost = [r.lost for r in runs if r.lost is not None]
    if s.lost is not None:
        ok = s.lost == 0 and not s.incomplete and not any(lost) and not any(r.incomplete for r in runs)
        print(f"  zero drops on sustained 2-thread churn: events_lost {s.lost} "
              f"(incomplete {str(s.incomplete).lower()}) over {2 * SUSTAINED_PAIRS} pairs, "
              f"max {max(lost) if lost else '-'} in the table's runs -> {verdict(ok)}")


def main():
    if not DRIP.exists() or not CHURN.exists():
        say("bench: build drip and the targets first (make bench does)")
        return 1
    if NICE and os.geteuid() == 0:
        os.nice(NICE)  # inherited by every command the bench starts
    load_before = os.getloadavg()[0]
    m = run_all()
    summary = {}
    rows = table_rows(m, summary)

    print()
    print(f"drip bench: median of {ROUNDS} rounds (min-max), per malloc+free pair as the target "
          f"timed it; {os.cpu_count()} CPUs, kernel {os.uname().release}, nice {os.nice(0)}, "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print()
    print_table(rows)
    print()
    print("  events/s: records drip consumed / session seconds (-v), paced by the target. "
          "drops: max events_lost (! = a report was marked incomplete).")
    print("  drip anon MiB: drip's peak RssAnon, its own heap (the ring buffer's 2 x 32 MiB "
          "mapping is not in it).")
    print(f"  pairs a run: {PAIRS}, bpftrace {int(PAIRS * 0.125)}, valgrind {int(PAIRS * 0.1)}; "
          f"sqlite3 runs whole for every tool.")
    print()
    print_extras(m)
    print()
    print_targets(m, summary)
    if notes:
        print()
        print("notes:")
        for n in dict.fromkeys(notes):
            print(f"  - {n}")
    if crashes:
        print()
        print("CRASHED (this, not timing, makes the bench fail):")
        for c in crashes:
            print(f"  - {c}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
