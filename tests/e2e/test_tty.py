# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""`drip trace -- COMMAND` typed at a terminal: the command can read the terminal, and one
Ctrl-C reaches it exactly once."""

import json
import os
import pty
import select
import signal
import time

from drip_e2e import DRIP, fail, tmpfile

# The command reads a line from the terminal, echoes it, then waits for SIGINT and says how
# many it got (a command in a background process group would stop on SIGTTIN instead).
SCRIPT = ('n=0; trap "n=\\$((n+1))" INT; echo ready; read line; echo "got:$line"; '
          'while [ ! -e "$STOPFILE" ]; do sleep 0.05; done; echo "ints:$n"')


class Terminal:
    """drip run in a new session whose controlling terminal is a pty we hold the master of."""

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(argv[0], argv, env)
        self.out = b""

    def read_until(self, needle, timeout):
        end = time.monotonic() + timeout
        while needle not in self.out:
            left = end - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    return needle in self.out
                if not data:
                    return needle in self.out
                self.out += data
        return True

    def type(self, data):
        os.write(self.fd, data)

    def wait(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.read_until(b"\0never", 0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        fail(f"drip at a terminal did not exit within {timeout} s; it printed:\n"
             f"{self.out.decode(errors='replace')[-2000:]}")


def test_command_reads_terminal_and_gets_one_ctrl_c():
    """The command reads a typed line (no SIGTTIN stop); after Ctrl-C it got exactly one
    SIGINT, and drip still wrote its report."""
    report = tmpfile("report.json")
    stopfile = tmpfile("stop")
    env = dict(os.environ, STOPFILE=stopfile)
    term = Terminal([DRIP, "trace", "-f", "json", "-o", report, "--grace", "10", "--",
                     "/bin/sh", "-c", SCRIPT], env)
    try:
        if not term.read_until(b"ready", 30):
            fail(f"the command never started: {term.out.decode(errors='replace')[-2000:]}")
        term.type(b"hello\n")
        if not term.read_until(b"got:hello", 10):
            fail("the command never read the line typed at the terminal (stopped on SIGTTIN?): "
                 f"{term.out.decode(errors='replace')[-2000:]}")
        term.type(b"\x03")  # Ctrl-C: the terminal signals the foreground process group
        time.sleep(0.5)
        with open(stopfile, "w"):
            pass
        if not term.read_until(b"ints:", 10):
            fail(f"the command never finished: {term.out.decode(errors='replace')[-2000:]}")
        rc = term.wait(30)
    finally:
        try:
            os.kill(term.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    text = term.out.decode(errors="replace")
    if "ints:1" not in text:
        fail(f"expected the command to get exactly one SIGINT from one Ctrl-C, it said "
             f"{text[text.find('ints:'):][:10]!r}")
    if rc != 0:
        fail(f"expected drip to exit 0, it exited {rc}: {text[-2000:]}")
    with open(report) as f:
        r = json.load(f)
    if not r.get("processes"):
        fail("expected the report to list the command's processes, it listed none")
