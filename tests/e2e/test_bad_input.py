# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Bad input: drip fails fast with the documented exit status and one `drip: <what>: <why>`
line, and never hangs or crashes."""

import os
import platform
import shutil
import subprocess
import threading
import time

from drip_e2e import (DRIP, Proc, Report, Skip, drip, expect_error, fail, is_kernel_thread,
                      target, tmpfile, unused_pid)

NOMALLOC_C = r"""
/* No libc, no malloc: sleep 100 ms at a time through raw syscalls, for 5 s, then exit */
static long sys3(long n, long a, long b, long c)
{
	long r;

	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

void _start(void)
{
	struct { long sec, nsec; } ts = { 0, 100000000 };

	for (int i = 0; i < 50; i++)
		sys3(35 /* nanosleep */, (long)&ts, 0, 0);
	sys3(60 /* exit */, 0, 0, 0);
	for (;;)
		;
}
"""


def test_nonexistent_pid():
    pid = unused_pid()
    rc, _, err = drip("trace", "-p", str(pid), "-d", "5", "-f", "json", "-o",
                      tmpfile("report.json"))
    expect_error(rc, err, (2,), f"drip trace -p {pid} (no such process)")


def test_kernel_thread_pid():
    pid = 2 if is_kernel_thread(2) else next(
        (int(d) for d in os.listdir("/proc") if d.isdigit() and is_kernel_thread(int(d))), None)
    if pid is None:
        raise Skip("no kernel thread visible in /proc")
    rc, _, err = drip("trace", "-p", str(pid), "-d", "5", "-f", "json", "-o",
                      tmpfile("report.json"))
    expect_error(rc, err, (2, 3), f"drip trace -p {pid} (a kernel thread)")


def test_unknown_option():
    rc, _, err = drip("trace", "--no-such-option", "--", "/bin/true")
    expect_error(rc, err, (1,), "drip trace --no-such-option")
    rc, _, err = drip("trace", "-f", "json")
    expect_error(rc, err, (1,), "drip trace without -p, -a or -- COMMAND")


def test_command_not_found():
    rc, _, err = drip("trace", "-f", "json", "-o", tmpfile("report.json"), "--",
                      "/nonexistent/drip-e2e-command")
    expect_error(rc, err, (2,), "drip trace -- /nonexistent/drip-e2e-command")
    rc, _, err = drip("trace", "-f", "json", "-o", tmpfile("report.json"), "--",
                      "drip-e2e-no-such-command-in-path")
    expect_error(rc, err, (2,), "drip trace -- drip-e2e-no-such-command-in-path")


def test_command_not_executable():
    path = tmpfile("not-executable")
    shutil.copy(target("allocators"), path)
    os.chmod(path, 0o644)
    rc, _, err = drip("trace", "-f", "json", "-o", tmpfile("report.json"), "--", path)
    expect_error(rc, err, (2,), f"drip trace -- {path} (mode 0644)")


def test_not_root():
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise Skip("setpriv not installed")
    probe = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                            "--", "test", "-x", DRIP])
    if probe.returncode:
        raise Skip(f"user nobody cannot execute {DRIP}")
    rc, _, err = drip("trace", "-f", "json", "-o", "/dev/null", "--", "/bin/true",
                      prefix=[setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                              "--"])
    expect_error(rc, err, (3,), "drip trace as user nobody (no privileges)")


def build_nomalloc():
    if platform.machine() != "x86_64":
        raise Skip("the malloc-free static test binary is x86-64 only")
    src = tmpfile("nomalloc.c")
    exe = tmpfile("nomalloc")
    with open(src, "w") as f:
        f.write(NOMALLOC_C)
    cc = subprocess.run(["gcc", "-static", "-nostdlib", "-fno-stack-protector", "-fno-pie",
                         "-no-pie", "-O1", "-o", exe, src], capture_output=True, text=True)
    if cc.returncode:
        fail(f"cannot build the static test binary: {cc.stderr}")
    return exe


def test_static_binary_without_malloc():
    exe = build_nomalloc()
    start = time.monotonic()
    rc, _, err = drip("trace", "-f", "json", "-o", tmpfile("report.json"), "--", exe,
                      timeout=15)
    if rc == 0:
        fail(f"expected drip trace -- {exe} (static, no malloc) to fail with a clear error, "
             f"drip exited 0 after {time.monotonic() - start:.1f} s")
    expect_error(rc, err, range(1, 126), f"drip trace -- {exe} (static, no malloc)")


def test_static_binary_without_malloc_attach():
    exe = build_nomalloc()
    victim = Proc([exe])
    rc, _, err = drip("trace", "-p", str(victim.pid), "-d", "10", "-f", "json", "-o",
                      tmpfile("report.json"), timeout=15)
    if rc == 0:
        fail(f"expected drip trace -p {victim.pid} (static, no malloc) to fail with a clear "
             f"error, drip exited 0")
    expect_error(rc, err, range(1, 126), f"drip trace -p {victim.pid} (static, no malloc)")


def test_pid_exiting_during_attach():
    """Attach to processes that exit within a few ms: exit 2 cleanly or report; never crash,
    never wait for the duration once the target is gone."""
    for delay in ("0", "0.002", "0.01", "0.03", "0.1"):
        victim = Proc(["sleep", delay])
        threading.Thread(target=victim.p.wait, daemon=True).start()  # reap it: really gone
        report = tmpfile("report.json")
        what = f"drip trace -p {victim.pid} -d 30 (target lives {delay} s)"
        rc, _, err = drip("trace", "-p", str(victim.pid), "-d", "30", "-f", "json", "-o",
                          report, timeout=20)
        if rc == 0:
            Report(report)  # must parse
        elif rc == 2:
            expect_error(rc, err, (2,), what)
        else:
            fail(f"{what}: expected exit 0 with a report or 2 with an error, drip exited {rc};"
                 f" stderr: {err.strip()[:500]}")


test_pid_exiting_during_attach.timeout = 120


def test_unwritable_output_fails_before_tracing():
    """-o that cannot be written (missing directory, a directory) fails at once with exit 4
    and `drip: cannot write 'FILE': why`, before the command starts: not after the whole
    trace, whose report would be lost."""
    d = tmpfile("outdir")
    os.mkdir(d)
    mark = os.path.join(d, "command-ran")
    for out in (os.path.join(d, "missing", "r.json"), d):
        rc, _, err = drip("trace", "-d", "30", "-o", out, "--", "/bin/sh", "-c",
                          f"touch {mark}", timeout=20)
        what = f"drip trace -o {out} -- sh -c 'touch ...'"
        expect_error(rc, err, (4,), what)
        if f"cannot write '{out}'" not in err:
            fail(f"{what}: expected the error to name the output file, drip wrote: {err.strip()}")
        if os.path.exists(mark):
            fail(f"{what}: the command ran although the report could never be written")
