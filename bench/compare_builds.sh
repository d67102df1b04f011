#!/usr/bin/env bash
# pcpanalyze of two builds on the same traces, runs interleaved (old, new, old, new, ...) so that
# a busy machine slows both alike: median wall time and peak RSS of each, and new/old ratios.
# For refactorings that must not be slower ("bench figures not worse").
#   bench/compare_builds.sh OLD_BUILD NEW_BUILD [TRACE...]
# Without traces: a synthetic 4M-event trace (as bench/run.sh makes) and the lab fixtures.
set -euo pipefail
old=${1:?old build dir}; new=${2:?new build dir}; shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${PCP_BENCH_RUNS:-7}
work=$(mktemp -d /tmp/pcpbench-cmp.XXXXXX)
trap 'rm -rf "$work"' EXIT
traces=("$@")
if [ ${#traces[@]} -eq 0 ]; then
	python3 "$top/bench/synth_script.py" 4000000 200000 >"$work/script.txt"
	"$new/pcpsynth" -q -u -o "$work/synth-4M.dat" --formats "$top/tests/fixtures/formats" "$work/script.txt"
	traces=("$work/synth-4M.dat")
	for f in lab-2node.dat fallback-zones.dat; do
		xz -dkc "$top/tests/fixtures/$f.xz" >"$work/$f"
		traces+=("$work/$f")
	done
fi
median() { sort -n | awk -v n="$runs" 'NR == int((n + 1) / 2) { print }'; }
echo "| trace | old s | new s | new/old time | old RSS MB | new RSS MB |"
echo "|---|---|---|---|---|---|"
for t in "${traces[@]}"; do
	: >"$work/old.t"; : >"$work/new.t"; : >"$work/old.m"; : >"$work/new.m"
	for ((i = 0; i < runs; i++)); do
		for side in old new; do
			b=$old; [ "$side" = new ] && b=$new
			/usr/bin/time -f '%e %M' -o "$work/one" "$b/pcpanalyze" -q -o "$work/out.db" "$t" >/dev/null 2>&1
			rm -f "$work/out.db"
			read -r s kb <"$work/one"
			echo "$s" >>"$work/$side.t"; echo "$kb" >>"$work/$side.m"
		done
	done
	os=$(median <"$work/old.t"); ns=$(median <"$work/new.t")
	om=$(median <"$work/old.m"); nm=$(median <"$work/new.m")
	awk -v t="$(basename "$t")" -v os="$os" -v ns="$ns" -v om="$om" -v nm="$nm" \
		'BEGIN { printf "| %s | %.2f | %.2f | %.2f | %.1f | %.1f |\n", t, os, ns, ns / os, om / 1024, nm / 1024 }'
done
