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
	python3 - 4000000 200000 >"$work/script.txt" <<'PY'
import sys
n, pool = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout
out.write("cpus 2\n")
ts = 1_000_000
for i in range(n // 2):
    pfn = 0x100000 + (i * 7919) % pool
    ts += 50
    out.write(f"{ts} {i & 1} kmem:mm_page_alloc_zone_locked pfn={pfn} order=0 migratetype=1 percpu_refill=1\n")
    ts += 50
    out.write(f"{ts} {(i >> 3) & 1} kmem:mm_page_pcpu_drain pfn={pfn} order=0 migratetype=1\n")
PY
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
