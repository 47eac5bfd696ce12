#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Install what drip needs to build and test on Debian bookworm.  Idempotent:
# packages already present are left alone and nothing is downloaded for them.
set -euo pipefail

pkgs=(
	make gcc clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev pkg-config
	libcmocka-dev libclang-rt-14-dev python3 util-linux binutils golang-go chromium g++ libiberty-dev dwz clang-format-14
	# allocator tests: jemalloc, tcmalloc, musl-gcc -static, glibc -static
	libjemalloc-dev libjemalloc2 libgoogle-perftools-dev libtcmalloc-minimal4 musl-tools libc6-dev
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: need root to install: ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
