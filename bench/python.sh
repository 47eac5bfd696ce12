#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Python frame collection's cost per allocation: bench/py_alloc.py (one malloc+free per
# iteration, DEPTH Python frames deep) under Debian's python3.11 and pyenv's python3, untraced,
# under drip --no-python (native stacks) and under drip (Python frames too).  Interleaved
# rounds (the configuration order rotates each round), medians; prints only.
# Knobs: BENCH_ROUNDS=N (default 5), PY_ALLOCS=N per run (default 100000).
set -u
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-5}
N=${PY_ALLOCS:-100000}
declare -A interp res
interp[debian]=/usr/bin/python3.11
# the interpreter itself, not pyenv's shim script
pyenv_py=$(command -v pyenv >/dev/null && pyenv which python3 2>/dev/null)
[ -x "${pyenv_py:-}" ] && interp[pyenv]=$(readlink -f "$pyenv_py")
names=()
for i in debian pyenv; do
	if [ -x "${interp[$i]:-}" ]; then
		names+=("$i")
	else
		echo "bench/python.sh: no $i python3: skipped" >&2
	fi
done
configs=("untraced" "--no-python" "default")
depths=(5 20)
fail=0
for r in $(seq 1 "$ROUNDS"); do
	for i in "${names[@]}"; do
		for d in "${depths[@]}"; do
			for k in 0 1 2; do
				c=${configs[$(((k + r) % 3))]}
				case $c in
				untraced) out=$("${interp[$i]}" bench/py_alloc.py "$d" "$N") ;;
				default) out=$(./drip trace -q -o /dev/null -- "${interp[$i]}" \
					bench/py_alloc.py "$d" "$N") ;;
				*) out=$(./drip trace -q "$c" -o /dev/null -- "${interp[$i]}" \
					bench/py_alloc.py "$d" "$N") ;;
				esac
				case $out in
				ns_per_alloc\ *) res["$i|$d|$c"]+="${out#ns_per_alloc } " ;;
				*)
					echo "bench/python.sh: $i depth $d $c: no figure" >&2
					fail=1
					;;
				esac
			done
		done
	done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '\nPython frames: ns per allocation (median of %s, %s allocations per run)\n' "$ROUNDS" "$N"
printf '%-7s %6s %10s %11s %10s %12s\n' python depth untraced no-python drip "py-frames"
for i in "${names[@]}"; do
	for d in "${depths[@]}"; do
		u=$(echo "${res[$i|$d|untraced]:-}" | median)
		n=$(echo "${res[$i|$d|--no-python]:-}" | median)
		p=$(echo "${res[$i|$d|default]:-}" | median)
		[ -n "$u" ] && [ -n "$n" ] && [ -n "$p" ] || continue
		printf '%-7s %6s %10.0f %11.0f %10.0f %12.0f\n' "$i" "$d" "$u" "$n" "$p" \
			"$(echo "$p - $n" | bc)"
	done
done
echo "py-frames: drip - drip --no-python, what walking the Python frames adds per allocation"
exit $fail
