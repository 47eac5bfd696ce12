# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Process trees: fork-server and spawn pools, workers freeing what they inherited, vfork and
posix_spawn, PID reuse, a PID + mount namespace.  Ground truth from the targets."""

import os
import shutil

from drip_e2e import (check, check_clean, compare_process, drip, drip_trace, expect_eq,
                      expect_error, fail, fnames, target, tmpdir)

KiB = 1024


def _merged_row(report, pids, func, problems):
    """The one merged row of func's stack in pids (stack_id the same in all)."""
    ids = {s["stack_id"] for p in pids for s in report.stacks_of(p) if fnames(s)[:1] == [func]}
    if len(ids) != 1:
        problems.append(f"expected {func}'s stack to have one stack_id in {sorted(pids)}, drip "
                        f"reported {sorted(ids)}")
        return None
    rows = [m for m in report.merged if m["stack_id"] in ids]
    return rows[0] if len(rows) == 1 else None


def _check_pool(report, workers, func, problems):
    """Workers leak exactly their info.leak_bytes from func: one merged row, exact min/max."""
    row = _merged_row(report, [w["pid"] for w in workers], func, problems)
    want = {
        "pids": len(workers),
        "outstanding_bytes": sum(w["info"]["leak_bytes"] for w in workers),
        "outstanding_allocs": sum(w["info"]["leak_blocks"] for w in workers),
        "min_pid_bytes": min(w["info"]["leak_bytes"] for w in workers),
        "max_pid_bytes": max(w["info"]["leak_bytes"] for w in workers),
    }
    got = {k: row.get(k) for k in want} if row else None
    if got != want:
        problems.append(f"merged row for {func}: expected {want}, drip reported {got}")


def _extra(report, tp):
    """What drip counts in a process beyond its truth (the loader's startup mappings)."""
    rp = report.process(tp["pid"])
    return (rp["outstanding_bytes"] - tp["outstanding_bytes"],
            rp["outstanding_allocs"] - tp["outstanding_allocs"])


def test_forkserver_pool_merges_workers():
    """main forks a server that forks 3 workers leaking 64, 128 and 192 KiB from one stack:
    one merged row with pids=3 and exact per-worker min/max; every process exact."""
    run = drip_trace([target("forkserver")])
    report = run.report()
    truth = run.truth()
    check_clean(report)
    workers = [p for p in truth.procs if "worker" in p["info"]]
    expect_eq(len(workers), 3, "workers in the truth file")
    expect_eq(sorted(report.pids()), sorted(truth.pids()), "pids in processes[]")
    problems = []
    for tp in truth.procs:
        problems += compare_process(report, tp, exited=True)
    _check_pool(report, workers, "worker_leak", problems)
    check(problems)


def test_worker_frees_inherited_blocks():
    """Workers free blocks allocated by main (two forks up) and by the server (one fork up):
    each free balances (no unknown_frees), is counted as an inherited free under the
    allocating stack in the worker, and leaves the worker's own outstanding alone; what a
    worker still holds of its ancestors' heap is its inherited_bytes, exactly."""
    run = drip_trace([target("forkserver")])
    report = run.report()
    truth = run.truth()
    check_clean(report)
    main = truth.top()
    server = next(p for p in truth.procs if "server" in p["info"])
    workers = [p for p in truth.procs if "worker" in p["info"]]
    problems = []
    if report.totals.get("unknown_frees") != 0:
        problems.append(f"expected totals.unknown_frees 0, drip reported "
                        f"{report.totals.get('unknown_frees')}")
    want_inh = sum(w["info"]["inherited_frees_model"] + w["info"]["inherited_frees_server"]
                   for w in workers)
    if report.totals.get("inherited_frees") != want_inh:
        problems.append(f"expected totals.inherited_frees {want_inh}, drip reported "
                        f"{report.totals.get('inherited_frees')}")
    # main's and the server's startup blocks outside the truth (ld.so's) are inherited too
    extra_bytes = _extra(report, main)[0] + _extra(report, server)[0]
    extra_allocs = _extra(report, main)[1] + _extra(report, server)[1]
    for w in workers:
        who = f"worker {w['info']['worker']} (pid {w['pid']})"
        info = w["info"]
        for func, key in (("main_model", "inherited_frees_model"),
                          ("server_preload", "inherited_frees_server")):
            rows = [s for s in report.stacks_of(w["pid"]) if fnames(s)[:1] == [func]]
            got = [(s["allocs"], s["frees"], s["outstanding_allocs"], s.get("inherited_frees"))
                   for s in rows]
            if got != [(0, 0, 0, info[key])]:
                problems.append(f"{who}: expected one {func} row with allocs 0, frees 0, "
                                f"outstanding 0, inherited_frees {info[key]}; drip reported "
                                f"{got}")
        rp = report.process(w["pid"])
        if rp.get("outstanding_bytes") != info["leak_bytes"]:
            problems.append(f"{who}: expected processes[].outstanding_bytes {info['leak_bytes']}"
                            f" (its own leak, nothing inherited), drip reported "
                            f"{rp.get('outstanding_bytes')}")
        want_kept = info["inherited_kept_bytes"] + extra_bytes
        if rp.get("inherited_bytes") != want_kept:
            problems.append(f"{who}: expected processes[].inherited_bytes {want_kept} "
                            f"({info['inherited_kept_bytes']} kept of main's and the server's "
                            f"blocks + {extra_bytes} of their loader's), drip reported "
                            f"{rp.get('inherited_bytes')}")
        want_allocs = (64 - info["inherited_frees_model"] + 16 - info["inherited_frees_server"]
                       + extra_allocs)
        if rp.get("inherited_allocs") != want_allocs:
            problems.append(f"{who}: expected processes[].inherited_allocs {want_allocs}, drip "
                            f"reported {rp.get('inherited_allocs')}")
    # the parents' blocks are counted once, in the parents: not again per worker
    for func, owner, n in (("main_model", main, 0), ("server_preload", server, 16)):
        row = _merged_row(report, [owner["pid"]], func, problems)
        if row and (row["pids"], row["outstanding_allocs"]) != (1, n):
            problems.append(f"merged row for {func}: expected pids 1 and {n} blocks (its "
                            f"allocator's), drip reported {row}")
    check(problems)


def test_spawn_pool_merges_workers():
    """main fork+execs itself 3 times; the fresh images leak 32, 64 and 96 KiB from one stack
    (same binary, other load addresses): one merged row, exact min/max; nothing inherited."""
    run = drip_trace([target("spawnpool")])
    report = run.report()
    truth = run.truth()
    check_clean(report)
    workers = truth.by_prog("spawnpool-worker")
    expect_eq(len(workers), 3, "workers in the truth file")
    expect_eq(sorted(report.pids()), sorted(truth.pids()), "pids in processes[]")
    problems = []
    for tp in truth.procs:
        problems += compare_process(report, tp, exited=True)
        rp = report.process(tp["pid"])
        if rp and (rp.get("inherited_bytes"), rp.get("inherited_allocs")) != (0, 0):
            problems.append(f"pid {tp['pid']}: an exec'ed image inherits nothing, drip "
                            f"reported inherited_bytes {rp.get('inherited_bytes')}")
    # identity: each image's comm is the kernel's (the workers exec /proc/self/exe: "exe"),
    # known even for workers gone before drip could read /proc; exe is the binary, never
    # the process-relative "/proc/self/exe"
    binary = os.path.realpath(target("spawnpool"))
    for tp in truth.procs:
        rp = report.process(tp["pid"]) or {}
        if rp.get("comm") != tp["comm"]:
            problems.append(f"pid {tp['pid']}: expected comm {tp['comm']!r} (the kernel's), "
                            f"drip reported {rp.get('comm')!r}")
        if rp.get("exe") != binary:
            problems.append(f"pid {tp['pid']}: expected exe {binary}, drip reported "
                            f"{rp.get('exe')!r}")
    _check_pool(report, workers, "worker_leak", problems)
    if report.totals.get("inherited_frees") != 0:
        problems.append(f"expected totals.inherited_frees 0, drip reported "
                        f"{report.totals.get('inherited_frees')}")
    check(problems)


def test_vfork_and_posix_spawn_share_the_heap():
    """vfork + exec and posix_spawn children share main's heap until they exec: their execs
    release none of main's blocks (main's later frees balance), each new image is exact."""
    run = drip_trace([target("vfork_exec")])
    report = run.report()
    truth = run.truth()
    check_clean(report)
    expect_eq(sorted(report.pids()), sorted(truth.pids()), "pids in processes[]")
    expect_eq(len(truth.by_prog("vfork_exec-child")), 2, "children in the truth file")
    problems = []
    for tp in truth.procs:
        problems += compare_process(report, tp, exited=True)
    drops = report.data.get("drops", {})
    if drops.get("exec_released"):
        problems.append(f"expected no exec_released (a vfork child's exec leaves its parent's "
                        f"heap alone), drip reported {drops.get('exec_released')}")
    for k in ("unknown_frees", "inherited_frees"):
        if report.totals.get(k) != 0:
            problems.append(f"expected totals.{k} 0, drip reported {report.totals.get(k)}")
    check(problems)


def test_pid_reuse_keeps_200_children_apart():
    """200 short-lived children, each forced onto its predecessor's PID through ns_last_pid
    (other forks on the machine may take it first): each is its own process (exact
    outstanding: 1000 + its index), and each balances its inherited free."""
    run = drip_trace([target("pid_reuse")], timeout=120)
    report = run.report()
    truth = run.truth()
    check_clean(report)
    main = truth.top()
    children = [p for p in truth.procs if p is not main]
    expect_eq(len(children), 200, "children in the truth file")
    reused = main["info"]["reused"]
    if reused < 50:
        fail(f"only {reused} of 200 children got a PID used before (the machine forks too "
             "much?): the test would prove little")
    problems = compare_process(report, main, exited=True)
    by_pid = {}
    for c in sorted(children, key=lambda p: p["info"]["index"]):
        by_pid.setdefault(c["pid"], []).append(c)
    for pid, tps in by_pid.items():
        rps = sorted((p for p in report.processes if p["pid"] == pid),
                     key=lambda p: p["start_time"])
        # in start order: process k of this pid holds child k's leak, and nothing else
        got = [(p["outstanding_bytes"], p["outstanding_allocs"], p["exited"]) for p in rps]
        want = [(1000 + c["info"]["index"], 1, True) for c in tps]
        got_leak = sorted(s["outstanding_bytes"] for s in report.stacks_of(pid)
                          if fnames(s)[:1] == ["child_leak"])
        want_leak = sorted(w[0] for w in want)
        if got != want or got_leak != want_leak:
            problems.append(f"pid {pid}: expected {len(tps)} processes (bytes, blocks, exited) "
                            f"{want[:6]}..., drip reported {len(rps)}: {got[:6]}... "
                            f"(child_leak rows {got_leak[:6]}...)")
    if report.totals.get("inherited_frees") != 200 or report.totals.get("unknown_frees") != 0:
        problems.append(f"expected 200 inherited frees and no unknown frees, drip reported "
                        f"{report.totals.get('inherited_frees')} and "
                        f"{report.totals.get('unknown_frees')}")
    check(problems)


def test_pid_and_mount_namespace_reports_nspid():
    """pool runs as PID 1 of a new PID + mount namespace (unshare -fpm --mount-proc), from a
    copy of its binary on a tmpfs only that namespace sees: every process exact, found by its
    nspid, with its host PID beside it."""
    if not shutil.which("unshare"):
        fail("unshare (util-linux) is needed")
    d = tmpdir()
    hidden = os.path.join(d, "ns")
    os.mkdir(hidden)
    exe = os.path.join(hidden, "pool-ns")
    script = f"mount -t tmpfs none {hidden} && cp {target('pool')} {exe} && exec {exe}"
    run = drip_trace(["unshare", "-fpm", "--mount-proc", "sh", "-c", script])
    report = run.report()
    truth = run.truth()
    check_clean(report)
    if os.path.exists(exe):
        fail(f"{exe} is visible from drip's namespace: the test would prove little")
    problems = []
    top = truth.top()
    expect_eq(top["pid"], 1, "the pool's PID in its namespace (truth self-check)")
    for tp in truth.procs:
        rp = report.process(tp["pid"])
        if not rp or rp.get("nspid") != tp["pid"] or rp["pid"] == tp["pid"]:
            problems.append(f"expected a process with nspid {tp['pid']} and another host pid, "
                            f"drip reported {rp}")
            continue
        problems += compare_process(report, tp, exited=True)
    check(problems)


def _cgroup2_mount():
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 2 and parts[2] == "cgroup2":
                return parts[1]
    return None


def test_cgroup_narrows_the_tree():
    """--cgroup CG: sh runs pool in its own cgroup (outside CG), then moves itself into CG and
    execs spawnpool: only spawnpool and its workers are reported, each exact."""
    mnt = _cgroup2_mount()
    if not mnt:
        fail("no cgroup2 mount: --cgroup needs cgroup v2")
    cg = os.path.join(mnt, f"drip-e2e-{os.getpid()}")
    os.mkdir(cg)
    try:
        script = (f"{target('pool')} && echo $$ > {cg}/cgroup.procs && "
                  f"exec {target('spawnpool')}")
        run = drip_trace(["sh", "-c", script], drip_args=["--cgroup", cg])
        report = run.report()
        truth = run.truth()
    finally:
        try:
            os.rmdir(cg)
        except OSError:
            pass
    check_clean(report)
    inside = truth.by_prog("spawnpool") + truth.by_prog("spawnpool-worker")
    outside = truth.by_prog("pool")
    expect_eq(len(inside), 4, "spawnpool processes in the truth file")
    expect_eq(len(outside), 5, "pool processes in the truth file")
    expect_eq(sorted(report.pids()), sorted(p["pid"] for p in inside),
              "pids in processes[] (only those in the cgroup)")
    problems = []
    for tp in inside:
        problems += compare_process(report, tp, exited=True)
    leaked = [s for p in outside for s in report.stacks_of(p["pid"])]
    if leaked:
        problems.append(f"expected no stacks of pool (outside the cgroup), drip reported "
                        f"{len(leaked)}")
    check(problems)


def test_cgroup_errors():
    """--cgroup refuses a missing cgroup (exit 2) and a path that is not cgroup v2 (exit 3)."""
    rc, _, err = drip("trace", "--cgroup", "/no/such/cgroup-drip", "--", "true")
    expect_error(rc, err, (2,), "--cgroup of a missing cgroup")
    rc, _, err = drip("trace", "--cgroup", "/proc", "--", "true")
    expect_error(rc, err, (3,), "--cgroup of a directory that is not cgroup v2")


def test_doctor_warns_in_another_pid_namespace():
    """drip doctor in a new PID namespace (with its own /proc, or the host's) warns that PIDs
    will not be the host's; in drip's own namespace it does not."""
    if not shutil.which("unshare"):
        fail("unshare (util-linux) is needed")
    problems = []
    for prefix in (["unshare", "-fp", "--mount-proc"], ["unshare", "-fp"]):
        _, out, err = drip("doctor", prefix=prefix)
        line = [l for l in (out + err).splitlines() if "PID namespace" in l]
        if not line or not line[0].startswith("warn"):
            problems.append(f"{' '.join(prefix)} drip doctor: expected a 'warn' PID namespace "
                            f"line, drip wrote {line}")
    _, out, err = drip("doctor")
    line = [l for l in (out + err).splitlines() if "PID namespace" in l]
    if not line or line[0].startswith("warn") and "host" not in line[0]:
        problems.append(f"drip doctor in its own namespace: drip wrote {line}")
    check(problems)
