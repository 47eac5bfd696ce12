#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Stack-walk cost by depth: ns per malloc+free pair at depths 8, 16 and 32 in
# no-frame-pointer code, untraced and under drip without stacks, with frame
# pointers and with DWARF tables.  Interleaved rounds, medians; prints only.
set -u
cd "$(dirname "$0")/.."
B=build/bench
mkdir -p $B
gcc -O2 -fomit-frame-pointer -fno-optimize-sibling-calls -o $B/deep bench/deep.c || exit 1
ROUNDS=${BENCH_ROUNDS:-5}
PAIRS=${DEPTH_PAIRS:-100000}
declare -A res
configs=("untraced" "--empty-programs" "--no-stacks" "--unwind fp" "--unwind dwarf")
for r in $(seq 1 "$ROUNDS"); do
	for d in 8 16 32; do
		for c in "${configs[@]}"; do
			if [ "$c" = untraced ]; then
				out=$($B/deep "$d" "$PAIRS")
			else
				# shellcheck disable=SC2086
				out=$(./drip trace -q $c -o /dev/null -- $B/deep "$d" "$PAIRS")
			fi
			res["$d|$c"]+="${out#ns_per_pair } "
		done
	done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '\nstack-walk cost by depth (ns per pair, median of %s; no-frame-pointer code)\n' "$ROUNDS"
printf '%-6s %10s %10s %10s %10s %10s %12s %12s %12s\n' depth untraced floor no-stacks fp dwarf \
	"fp-nostk" "dwarf-nostk" "dwarf-floor"
for d in 8 16 32; do
	u=$(echo "${res[$d|untraced]}" | median)
	e=$(echo "${res[$d|--empty-programs]}" | median)
	n=$(echo "${res[$d|--no-stacks]}" | median)
	f=$(echo "${res[$d|--unwind fp]}" | median)
	w=$(echo "${res[$d|--unwind dwarf]}" | median)
	printf '%-6s %10s %10s %10s %10s %10s %12.0f %12.0f %12.0f\n' "$d" "$u" "$e" "$n" "$f" "$w" \
		"$(echo "$f - $n" | bc)" "$(echo "$w - $n" | bc)" "$(echo "$w - $e" | bc)"
done
echo "targets: DWARF at depth 16 adds <= 1000 ns per allocation over no stacks (unwinder issue)"
echo "         and costs <= floor + 1300 ns per pair (performance issue)"
