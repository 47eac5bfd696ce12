#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# make bench: build the bench's own programs, install the tools drip is compared with, then
# run bench/bench.py (it prints the table; see its docstring for the method), the symbolizer's
# benchmark (bench/symbolize_bench.c), bench/depth.sh, bench/python.sh, and the export
# benchmarks (bench/export_bench.c, bench/flame_bench.c: time and size of each format's
# writer, the JSON loader and `drip report` per format).
# Installing happens here only, never in `make check`. Knobs: BENCH_ROUNDS=N, BENCH_QUICK=1,
# BENCH_NO_INSTALL=1 (skip what is missing instead of installing it), BENCH_EXPORT_ONLY=1
# (only the export benchmarks; they need no root).
set -eu
cd "$(dirname "$0")/.."
B=build/bench
mkdir -p $B

# Exports of a synthetic report, 100k unique stacks of depth 30: the outputs (~1 GiB) go in
# $B/export and are removed after.
export_bench() {
	[ -x $B/export_bench ] && [ -x $B/flame_bench ] && [ -x ./drip ] ||
		${MAKE:-make} --no-print-directory drip bench-build >/dev/null
	rm -rf $B/export
	mkdir -p $B/export
	echo "== exports: writers, JSON load, and 'drip report REPORT.json -f FMT' (bench/export_bench.c)"
	$B/export_bench -x ./drip 100000 30 $B/export
	echo "== flame graphs: uniform and zipf weights (bench/flame_bench.c)"
	$B/flame_bench 100000 30 $B/export
	rm -rf $B/export
}
if [ "${BENCH_EXPORT_ONLY:-0}" = 1 ]; then
	export_bench
	exit 0
fi

# Targets of our own: -fno-builtin-malloc/free, or GCC may drop a malloc+free pair entirely
for prog in churn_mt pool_bench leaker; do
	${CC:-cc} -O2 -g -fno-omit-frame-pointer -fno-builtin-malloc -fno-builtin-free \
		-Wall -Wextra -pthread -o $B/$prog bench/$prog.c
done

# bcc compiles memleak's BPF C at start-up against kernel headers. Kernels without
# /lib/modules/$(uname -r)/build or CONFIG_IKHEADERS (this one) get the distro's headers:
# memleak's uprobe programs only read pt_regs, whose layout those headers have right.
has_kheaders() {
	[ -e "/lib/modules/$(uname -r)/build/include/linux/kconfig.h" ] ||
		[ -e /sys/kernel/kheaders.tar.xz ]
}

missing=
for tool in bpftrace:bpftrace memleak-bpfcc:bpfcc-tools heaptrack:heaptrack valgrind:valgrind; do
	command -v "${tool%%:*}" >/dev/null 2>&1 || missing="$missing ${tool#*:}"
done
if ! has_kheaders && ! ls -d /usr/src/linux-headers-*-common >/dev/null 2>&1 &&
	command -v dpkg >/dev/null 2>&1; then
	missing="$missing linux-headers-$(dpkg --print-architecture)"
fi
if [ -n "$missing" ]; then
	if [ "${BENCH_NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		echo "bench: not installing$missing: those comparisons are skipped" >&2
	else
		echo "bench: installing$missing (log: $B/apt.log)" >&2
		if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq $missing; } >$B/apt.log 2>&1; then
			echo "bench: apt-get install failed: those comparisons are skipped" >&2
		fi
	fi
fi

# bcc wants one tree; Debian splits it into -common (sources) and -ARCH (generated and
# config), so lay both out as symlinks under $B/kheaders (rebuilt if a link went stale).
if ! has_kheaders && [ -z "${BCC_KERNEL_SOURCE:-}" ]; then
	common=$(ls -d /usr/src/linux-headers-*-common 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$common" ] && [ ! -e $B/kheaders/include/linux/kconfig.h ]; then
		rm -rf $B/kheaders
		mkdir -p $B/kheaders
		cp -rs "$common/." $B/kheaders/
		cp -rsf "${common%-common}-$(dpkg --print-architecture)/." $B/kheaders/ 2>/dev/null || true
	fi
	if [ -e $B/kheaders/include/generated/autoconf.h ]; then
		BCC_KERNEL_SOURCE=$PWD/$B/kheaders
		export BCC_KERNEL_SOURCE
	fi
fi

PY=/usr/bin/python3
[ -x $PY ] || PY=python3
$PY bench/bench.py || exit 1

# Symbolization: 10k unique stacks of depth 20 (names, then lines from DWARF), cold and warm
printf '\nsymbolization (bench/symbolize_bench.c, built by make bench)\n'
if [ -x $B/symbolize_bench ]; then
	$B/symbolize_bench 10000 20
else
	echo "bench: $B/symbolize_bench is not built (make bench builds it): skipped" >&2
fi
bench/depth.sh
bench/python.sh
export_bench
