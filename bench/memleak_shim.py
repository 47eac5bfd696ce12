# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Run bcc's memleak-bpfcc with its uprobe attach call fixed; for `make bench` only.

Debian bookworm's python3-bpfcc 0.26 declares bpf_attach_uprobe() with 6 parameters, but its
libbcc takes a 7th, ref_ctr_offset, which therefore comes from whatever is on the stack (6 on
this machine). The kernel then treats libc's ELF header as a USDT semaphore, and refuses with
EINVAL ("ref_ctr_offset mismatch" in dmesg) any probe on a function that another tracer, such
as a drip test running at the same time, already probes with ref_ctr_offset 0. Passing 0
makes memleak attach the way upstream bcc does.

usage: /usr/bin/python3 -u memleak_shim.py MEMLEAK_ARGS...
"""
import ctypes
import runpy
import sys

from bcc import libbcc

MEMLEAK = "/usr/sbin/memleak-bpfcc"

_attach = libbcc.lib.bpf_attach_uprobe
if len(_attach.argtypes) == 6:
    _attach.argtypes = list(_attach.argtypes) + [ctypes.c_uint32]

    def _attach_uprobe(progfd, attach_type, ev_name, path, addr, pid, ref_ctr_offset=0):
        return _attach(progfd, attach_type, ev_name, path, addr, pid, ref_ctr_offset)

    # bcc/__init__.py calls lib.bpf_attach_uprobe on this same CDLL object
    libbcc.lib.bpf_attach_uprobe = _attach_uprobe

sys.argv = [MEMLEAK] + sys.argv[1:]
runpy.run_path(MEMLEAK, run_name="__main__")
