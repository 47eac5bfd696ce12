# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Allocators other than glibc's malloc, exact per function: jemalloc (C, *allocx, new/delete),
tcmalloc (C, tc_*, new/delete), a program's own operator new pool, static executables (musl and
glibc, whose realloc(p, 0) differ), and jemalloc loaded by dlopen (an attach gap)."""

import os

from drip_e2e import (ALLOCATOR_NAMES, check, check_clean, check_process, drip_trace,
                      expect_eq, fail, fnames, show_stack, target)

# operator new and the non-glibc entry points: never a frame either
EXTRA_ALLOCATORS = {
    "operator new", "operator new[]", "operator delete", "operator delete[]", "mallocx",
    "rallocx", "xallocx", "sdallocx", "dallocx", "tc_malloc", "tc_new", "tc_newarray",
    "tc_calloc", "tc_memalign", "tc_posix_memalign", "tc_free", "tc_delete", "tc_free_sized",
    "pool_get", "pool_put",
}


def _traced(name, *args, extra_env=None, prog=None):
    run = drip_trace([target(name), *args], extra_env=extra_env)
    return run.report(), run.truth().one(prog or name)


def _callers_first(report, tp):
    """frames[0] is the target function that called the allocator (never the allocator, never
    operator new), and each such function appears once."""
    problems = []
    for s in report.stacks_of(tp["pid"]):
        names = [f.get("function") for f in s.get("frames") or [] if not f.get("inlined")]
        bad = (ALLOCATOR_NAMES | EXTRA_ALLOCATORS).intersection(names)
        if bad:
            problems.append(f"expected no allocator frame, drip reported {sorted(bad)} in "
                            f"{show_stack(s, 10)}")
    return problems


def _check_exact(report, tp):
    check_clean(report)
    # a release counted twice (delete -> free, a thunk jumping to free) is an unknown free
    expect_eq(report.totals.get("unknown_frees"), 0, "totals.unknown_frees (each release once)")
    check_process(report, tp, exited=True)
    check(_callers_first(report, tp))


def test_jemalloc_linked():
    """Linked with jemalloc: malloc/calloc/realloc, mallocx/rallocx/xallocx, dallocx/sdallocx and
    new/new[]/delete/delete[] all bind to jemalloc; every function's counts are exact."""
    report, tp = _traced("alloc_jemalloc")
    _check_exact(report, tp)
    for fn in ("je_leak_mallocx", "je_leak_rallocx", "je_leak_xallocx", "je_leak_new"):
        if fn not in tp["funcs"]:
            fail(f"the target recorded nothing for {fn}: {sorted(tp['funcs'])}")


def test_jemalloc_totals_match_baseline():
    """Nothing counted twice (new -> jemalloc's malloc, delete -> free): totals = baseline run +
    exactly what the target did."""
    base, _ = _traced("alloc_jemalloc", "--baseline")
    report, tp = _traced("alloc_jemalloc")
    for key in ("allocs", "frees", "outstanding_bytes", "outstanding_allocs", "alloc_bytes"):
        expect_eq(report.totals[key], base.totals[key] + tp[key],
                  f"totals.{key} (baseline {base.totals[key]} + target {tp[key]})")


def test_tcmalloc_linked():
    """Linked with tcmalloc: malloc & co, new/new[]/nothrow new, tc_malloc/tc_calloc/
    tc_memalign/tc_posix_memalign/tc_new/tc_newarray leak exactly; tc_free, tc_delete,
    tc_free_sized, delete and delete[] release exactly once."""
    report, tp = _traced("alloc_tcmalloc")
    _check_exact(report, tp)


def test_tcmalloc_totals_match_baseline():
    base, _ = _traced("alloc_tcmalloc", "--baseline")
    report, tp = _traced("alloc_tcmalloc")
    for key in ("allocs", "frees", "outstanding_bytes", "outstanding_allocs", "alloc_bytes"):
        expect_eq(report.totals[key], base.totals[key] + tp[key],
                  f"totals.{key} (baseline {base.totals[key]} + target {tp[key]})")


def test_operator_new_pool():
    """A program whose operator new/delete use their own pool (never malloc): its new and delete
    are probed, frames[0] is the caller of new, reused pool addresses balance exactly."""
    report, tp = _traced("alloc_pool")
    _check_exact(report, tp)
    for s in report.stacks_of(tp["pid"]):
        if fnames(s)[:1] == ["pool_leak_nodes"] and fnames(s)[1:2] != ["main"]:
            fail(f"expected pool_leak_nodes < main, drip reported {show_stack(s)}")


def _static(name, realloc0_blocks):
    path = target(name)
    with open(path, "rb") as f:
        if b"/ld-linux" in f.read(4096):
            fail(f"{path} is not a static executable")
    report, tp = _traced(name, prog="static_alloc")
    _check_exact(report, tp)
    expect_eq(tp["info"].get("realloc0_blocks"), realloc0_blocks,
              f"{name}: blocks realloc(p, 0) returned (the libc's own behaviour)")
    f = tp["funcs"]["st_realloc_zero"]
    return f


def test_static_musl():
    """musl-gcc -static: the executable's own malloc is probed; musl's realloc(p, 0) returns a
    0-byte block, which stays outstanding (3 blocks, 0 bytes), p being released."""
    f = _static("static_musl", 3)
    expect_eq((f["outstanding_allocs"], f["outstanding_bytes"]), (3, 0),
              "st_realloc_zero (truth): outstanding blocks and bytes")


def test_static_glibc():
    """gcc -static: glibc's realloc(p, 0) frees p and returns NULL: nothing outstanding."""
    f = _static("static_glibc", 0)
    expect_eq((f["outstanding_allocs"], f["outstanding_bytes"]), (0, 0),
              "st_realloc_zero (truth): outstanding blocks and bytes")


def test_dlopen_jemalloc():
    """jemalloc arrives by dlopen: drip probes it as it is mapped, counts every allocation made
    once the probes are in exactly, and reports the attach gap (incomplete)."""
    run = drip_trace([target("dl_jemalloc")], drip_args=["-v"], extra_env={
        "DRIP_WAIT_PROBES": "1",
        "GLIBC_TUNABLES": "glibc.rtld.optional_static_tls=65536"})
    report = run.report()
    tp = run.truth().one("dl_jemalloc")
    check_process(report, tp, exited=True)
    check(_callers_first(report, tp))
    drops = report.data.get("drops") or {}
    expect_eq(drops.get("attach_gaps"), 1, "drops.attach_gaps (jemalloc mapped before probed)")
    expect_eq(report.data.get("incomplete"), True, "incomplete (an attach gap)")
    expect_eq(report.totals.get("events_lost"), 0, "totals.events_lost")
    # the warning on stderr names why, not "0 events lost"
    warn = [l for l in run.stderr.splitlines() if "incomplete" in l]
    if not warn or "0 events lost" in warn[0] or "attach_gaps" not in warn[0]:
        fail(f"expected drip to warn that the report is incomplete because of attach_gaps, "
             f"it wrote: {warn[0] if warn else '(no warning)'}")


def test_ld_preload_jemalloc():
    """LD_PRELOAD=libjemalloc.so.2 (inherited from drip's environment): jemalloc binds, it is
    probed before the command starts (no attach gap), and every libc entry point of
    tests/targets/allocators counts exactly as with glibc."""
    lib = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
    if not os.path.exists(lib):
        fail(f"{lib} is missing (scripts/install-deps.sh installs libjemalloc2)")
    run = drip_trace([target("allocators")], drip_args=["-v"], extra_env={"LD_PRELOAD": lib})
    report = run.report()
    tp = run.truth().one("allocators")
    check_clean(report)
    check_process(report, tp, exited=True)
    if not any(f"binds malloc in '{lib}'" in line for line in run.stderr.splitlines()):
        fail(f"expected drip -v to say the target binds malloc in {lib}, it said:\n"
             f"{run.stderr[-1500:]}")


# two drip runs each, and every drip waits for the previous one's probes to be detached
# (~0.1 s per probe: jemalloc and tcmalloc bring dozens)
for _t in (test_jemalloc_totals_match_baseline, test_tcmalloc_totals_match_baseline,
           test_dlopen_jemalloc, test_ld_preload_jemalloc, test_jemalloc_linked,
           test_tcmalloc_linked, test_operator_new_pool):
    _t.timeout = 150
