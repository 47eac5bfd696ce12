#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# drip's end-to-end tests: every test_* function in tests/e2e/test_*.py, one process each,
# each with its own timeout (drip_e2e.py kills whatever a test started when it ends).
#
# usage: tests/e2e/run.sh [PATTERN...]   run the tests whose FILE::TEST contains a PATTERN
# env:   E2E_KEEP=1 keeps every test's scratch files (failed tests always keep theirs)
#        DRIP=/path/to/drip tests another binary
# Needs root, ./drip and the targets (make e2e builds both). Exit status 0 only if no test
# failed (skips do not fail).
set -u
cd "$(dirname "$0")/../.." || exit 1
PY=/usr/bin/python3
HARD_LIMIT=180 # seconds: backstop over the per-test timeouts drip_e2e.py enforces

if [ "$(id -u)" != 0 ]; then
	echo "e2e: must run as root (drip needs BPF and perf privileges)" >&2
	exit 1
fi
if [ ! -x "${DRIP:-./drip}" ] || [ ! -d build/targets ]; then
	echo "e2e: build drip and the test targets first (make e2e does both)" >&2
	exit 1
fi

tests=$(PYTHONDONTWRITEBYTECODE=1 $PY tests/e2e/drip_e2e.py list tests/e2e/test_*.py) || exit 1
selected=()
for t in $tests; do
	if [ $# -eq 0 ]; then
		selected+=("$t")
		continue
	fi
	for pat in "$@"; do
		case "$t" in *"$pat"*)
			selected+=("$t")
			break
			;;
		esac
	done
done
if [ ${#selected[@]} -eq 0 ]; then
	echo "e2e: no test matches: $*" >&2
	exit 1
fi

log=$(mktemp /tmp/drip-e2e-log.XXXXXX)
trap 'rm -f "$log"' EXIT
pass=0
fail=0
skip=0
failed=()
suite_start=$(date +%s)
for t in "${selected[@]}"; do
	start=$(date +%s%N)
	PYTHONDONTWRITEBYTECODE=1 timeout -k 10 $HARD_LIMIT $PY tests/e2e/drip_e2e.py run "$t" \
		>"$log" 2>&1
	rc=$?
	ds=$((($(date +%s%N) - start) / 100000000))
	secs="$((ds / 10)).$((ds % 10))"
	case $rc in
	0)
		pass=$((pass + 1))
		printf "PASS  %-60s %6ss\n" "$t" "$secs"
		;;
	77)
		skip=$((skip + 1))
		printf "SKIP  %-60s %6ss  %s\n" "$t" "$secs" "$(tail -n 1 "$log")"
		;;
	*)
		fail=$((fail + 1))
		failed+=("$t")
		[ $rc = 124 ] && echo "killed after $HARD_LIMIT s" >>"$log"
		printf "FAIL  %-60s %6ss\n" "$t" "$secs"
		sed 's/^/      /' "$log"
		;;
	esac
done
echo "e2e: $pass passed, $fail failed, $skip skipped in $(($(date +%s) - suite_start)) s"
for t in "${failed[@]}"; do
	echo "  failed: $t"
done
[ $fail -eq 0 ]
