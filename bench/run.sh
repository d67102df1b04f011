#!/usr/bin/env bash
# pcpanalyze speed and memory, as ratios against baselines run in the same invocation.
#   bench/run.sh [TRACE.dat]
# Without a trace it records one (root + tracefs: pcprecord around pcpload), else synthesizes one.
# Reports: pcpanalyze / bare tracecmd_iterate_events loop, trace-cmd report / pcpanalyze, and the
# peak RSS of pcpanalyze on synthetic traces of N and 2N events over the same PFN pool (memory
# must not grow with trace length beyond the live PFN table); bench/lifecycle_anchors.sh's
# per-event anchors (trace-cmd report, perf kmem --page stat) on a live lifecycle recording.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${PCP_BENCH_BUILD:-$top/build-bench}
runs=${PCP_BENCH_RUNS:-5}
work=$(mktemp -d /tmp/pcpbench.XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

# synth_script EVENTS PFNS: a refill/drain stream cycling over a fixed pool of PFNs on 2 CPUs.
synth_script() { python3 "$top/bench/synth_script.py" "$1" "$2"; }

synth_trace() { # EVENTS PFNS OUT [--lifecycle]   (SYNTH_FORMAT: pcpsynth --format, default v6)
	python3 "$top/bench/synth_script.py" ${4:+"$4"} "$1" "$2" >"$work/script.txt"
	"$build/pcpsynth" -q -u -F "${SYNTH_FORMAT:-v6}" -o "$3" --formats "$top/tests/fixtures/formats" "$work/script.txt"
	rm -f "$work/script.txt"
}

trace=${1:-}
if [ -z "$trace" ]; then
	trace=$work/bench.dat
	if [ "$(id -u)" = 0 ] && [ -d /sys/kernel/tracing/events/kmem ] &&
		"$build/pcprecord" -q -b 262144 -o "$trace" -- "$build/pcpload" --pattern burst --threads 2 \
			--duration "${PCP_BENCH_SECONDS:-8}" --size 512 >/dev/null 2>&1; then
		echo "trace: recorded with pcprecord around pcpload --pattern burst"
	else
		echo "trace: synthetic (recording not possible here)"
		synth_trace 4000000 200000 "$trace"
	fi
fi
records=$("$build/bench_bare_iterate" "$trace")
echo "trace: $trace, $records records, $(du -h "$trace" | cut -f1)"
# Both must count the same records (every buffer instance), or the ratio compares different work.
"$build/pcpanalyze" -q -o "$work/check.db" "$trace" >/dev/null
analyzed=$(sqlite3 "$work/check.db" "SELECT value FROM trace_info WHERE key = 'events_total'")
if [ "$analyzed" != "$records" ]; then
	echo "bench: pcpanalyze events_total $analyzed != bare loop's $records records" >&2
	exit 1
fi
echo "events_total: $analyzed (same as the bare loop)"

# measure LABEL CMD...: median wall seconds and max RSS (KB) over $runs runs.
measure() {
	local label=$1 i
	shift
	: >"$work/$label.times"
	for ((i = 0; i < runs; i++)); do
		/usr/bin/time -f '%e %M' -o "$work/$label.one" "$@" >/dev/null 2>&1
		cat "$work/$label.one" >>"$work/$label.times"
	done
	sort -n "$work/$label.times" | awk -v n="$runs" 'NR == int((n + 1) / 2) { print $1, $2 }'
}

read -r bare_s bare_kb < <(measure bare "$build/bench_bare_iterate" "$trace")
read -r pcp_s pcp_kb < <(measure pcpanalyze "$build/pcpanalyze" -q -o "$work/out.db" "$trace")
read -r rep_s rep_kb < <(measure report trace-cmd report "$trace")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
echo "| run | median s | peak RSS MB |"
echo "|---|---|---|"
printf '| bare tracecmd_iterate_events | %s | %.1f |\n' "$bare_s" "$(ratio "$bare_kb" 1024)"
printf '| pcpanalyze | %s | %.1f |\n' "$pcp_s" "$(ratio "$pcp_kb" 1024)"
printf '| trace-cmd report | %s | %.1f |\n' "$rep_s" "$(ratio "$rep_kb" 1024)"
echo
echo "pcpanalyze / bare loop: $(ratio "$pcp_s" "$bare_s")x (target <= 1.0)"
echo "trace-cmd report / pcpanalyze: $(ratio "$rep_s" "$pcp_s")x faster (target >= 10)"

# Memory against trace length: same PFN pool, twice the events.
synth_trace 1000000 100000 "$work/n.dat"
synth_trace 2000000 100000 "$work/2n.dat"
read -r _ n_kb < <(measure n "$build/pcpanalyze" -q -o "$work/n.db" "$work/n.dat")
read -r _ n2_kb < <(measure n2 "$build/pcpanalyze" -q -o "$work/2n.db" "$work/2n.dat")
printf 'peak RSS, N=1M events: %.1f MB, 2N: %.1f MB over the same 100000 PFNs: %sx (target ~1.0)\n' \
	"$(ratio "$n_kb" 1024)" "$(ratio "$n2_kb" 1024)" "$(ratio "$n2_kb" "$n_kb")"

# The lifecycle model (a `pcprecord --lifecycle` trace: mm_page_alloc/mm_page_free beside the
# refills and drains, 4 of every 6 events): the same ratio to the bare loop, and memory against
# trace length (it must follow the live block table, not the number of events).
synth_trace 6000000 200000 "$work/lc.dat" --lifecycle
"$build/pcpanalyze" -q -o "$work/lc.db" "$work/lc.dat" >/dev/null
lc_allocs=$(sqlite3 "$work/lc.db" "SELECT value FROM metrics WHERE name = 'pcp_allocs'" 2>/dev/null || true)
[ -n "$lc_allocs" ] || { echo "bench: pcpanalyze did not run the lifecycle model on $work/lc.dat" >&2; exit 1; }
read -r lbare_s _ < <(measure lbare "$build/bench_bare_iterate" "$work/lc.dat")
read -r lpcp_s lpcp_kb < <(measure lpcp "$build/pcpanalyze" -q -o "$work/lc.db" "$work/lc.dat")
echo
echo "lifecycle, synthetic 6M events (pcp_allocs $lc_allocs): bare loop ${lbare_s} s, pcpanalyze ${lpcp_s} s" \
	"($(ratio "$lpcp_s" "$lbare_s")x the bare loop), peak RSS $(ratio "$lpcp_kb" 1024) MB"
synth_trace 3000000 100000 "$work/ln.dat" --lifecycle
synth_trace 6000000 100000 "$work/l2n.dat" --lifecycle
read -r _ ln_kb < <(measure ln "$build/pcpanalyze" -q -o "$work/ln.db" "$work/ln.dat")
read -r _ ln2_kb < <(measure ln2 "$build/pcpanalyze" -q -o "$work/l2n.db" "$work/l2n.dat")
printf 'lifecycle peak RSS, N=3M events: %.1f MB, 2N: %.1f MB over the same 100000 PFNs: %sx (target ~1.0)\n' \
	"$(ratio "$ln_kb" 1024)" "$(ratio "$ln2_kb" 1024)" "$(ratio "$ln2_kb" "$ln_kb")"

# Anchors on a recorded lifecycle trace (issue 14): trace-cmd report and perf kmem --page stat
# on the same events as pcpanalyze, per event, in this invocation (one line when not root or no perf).
echo
"$top/bench/lifecycle_anchors.sh" "$build" "$runs" "${PCP_BENCH_SECONDS:-4}" || echo "lifecycle anchors: failed"
echo

# Memory against distinct PFNs (issue 14): the same number of events over 2, 4 and 8 times as
# many PFNs; bytes of peak RSS per distinct PFN above the smallest run's (what the PFN table and
# its statistics cost per PFN, growth included).
for pool in 100000 200000 400000 800000; do
	synth_trace 4000000 "$pool" "$work/p$pool.dat"
	read -r _ kb < <(measure "p$pool" "$build/pcpanalyze" -q -o "$work/p$pool.db" "$work/p$pool.dat")
	echo "$pool $kb" >>"$work/pfn_rss.txt"
	rm -f "$work/p$pool.dat"
done
awk 'NR == 1 { p0 = $1; k0 = $2 }
     { printf "distinct PFNs %7d: peak RSS %6.1f MB%s\n", $1, $2 / 1024,
	      NR > 1 ? sprintf(", %.0f bytes per PFN above %d", ($2 - k0) * 1024 / ($1 - p0), p0) : "" }' \
	"$work/pfn_rss.txt"
# Memory against CPUs (issue 14: machines of 64-512 CPUs): the same 800,000 events over 4 and
# over 256 CPUs, v7-zstd, peak RSS at -j 1 and -j 8 (read-ahead buffers and decode rings are
# per CPU; a small trace of many CPUs must not cost per CPU what a large one does).
for cpus in 4 256; do
	python3 - "$cpus" >"$work/c.synth" <<'PY'
import random, sys
cpus = int(sys.argv[1])
r = random.Random(5)
print(f"cpus {cpus}")
ts = 1_000_000
for i in range(400000):
    pfn = 0x100000 + r.randrange(200000)
    ts += r.choice((10, 40, 90))
    print(f"{ts} {r.randrange(cpus)} kmem:mm_page_alloc_zone_locked pfn={pfn} order=0 migratetype=1 percpu_refill=1")
    ts += 20
    print(f"{ts} {r.randrange(cpus)} kmem:mm_page_pcpu_drain pfn={pfn} order=0 migratetype=1")
PY
	"$build/pcpsynth" -q -F v7-zstd -o "$work/c.dat" --formats "$top/tests/fixtures/formats" "$work/c.synth"
	read -r _ c1_kb < <(measure "c$cpus-j1" "$build/pcpanalyze" -j 1 -q -o "$work/c.db" "$work/c.dat")
	read -r _ c8_kb < <(measure "c$cpus-j8" "$build/pcpanalyze" -j 8 -q -o "$work/c.db" "$work/c.dat")
	echo "memory against CPUs: 800000 events over $cpus CPUs ($(du -h "$work/c.dat" | cut -f1) v7-zstd):" \
		"peak RSS -j 1 $(ratio "$c1_kb" 1024) MB, -j 8 $(ratio "$c8_kb" 1024) MB"
	rm -f "$work/c.dat" "$work/c.synth"
done
# -j scaling (issue 14): v7-zstd traces of PCP_BENCH_JOBS_EVENTS (default 15M) events, the
# lifecycle kind and the refill/drain kind (synthetic, 800k PFNs), and with root + tracefs a
# recorded lifecycle trace (pcprecord --lifecycle around pcpload --pattern burst), analyzed at
# -j 1 and -j 2 in turns in this same run: a noisy machine (a VM whose host is busy) slows a
# stretch of runs, not one side (the results are identical: tests/integration/jobs_identical.sh).
# Median and best of the runs. Target: -j 2 <= 0.6x -j 1 wall.
jev=${PCP_BENCH_JOBS_EVENTS:-15000000}
jobs_scaling() { # LABEL TRACE
	local i
	: >"$work/j1.times"
	: >"$work/j2.times"
	for ((i = 0; i < runs; i++)); do
		/usr/bin/time -f '%e %M' -a -o "$work/j1.times" "$build/pcpanalyze" -j 1 -q -o "$work/j.db" "$2" >/dev/null 2>&1
		/usr/bin/time -f '%e %M' -a -o "$work/j2.times" "$build/pcpanalyze" -j 2 -q -o "$work/j.db" "$2" >/dev/null 2>&1
	done
	read -r j1_s j1_best j1_kb < <(sort -n "$work/j1.times" | awk -v n="$runs" 'NR == 1 { b = $1 } NR == int((n + 1) / 2) { print $1, b, $2 }')
	read -r j2_s j2_best j2_kb < <(sort -n "$work/j2.times" | awk -v n="$runs" 'NR == 1 { b = $1 } NR == int((n + 1) / 2) { print $1, b, $2 }')
	echo "-j scaling, $1 ($(du -h "$2" | cut -f1)): -j 1 ${j1_s} s ($(ratio "$j1_kb" 1024) MB)," \
		"-j 2 ${j2_s} s ($(ratio "$j2_kb" 1024) MB): $(ratio "$j2_s" "$j1_s")x, best runs $(ratio "$j2_best" "$j1_best")x (target <= 0.6)"
}
for kind in lifecycle refill-drain; do
	SYNTH_FORMAT=v7-zstd synth_trace "$jev" 800000 "$work/j.dat" $([ $kind = lifecycle ] && echo --lifecycle)
	jobs_scaling "$kind v7-zstd $jev events" "$work/j.dat"
	rm -f "$work/j.dat"
done
# ~1.5 M lifecycle events/s from pcpload's burst pattern on 2 CPUs: 11 s for >= 15 M
if [ "$(id -u)" = 0 ] && [ -d /sys/kernel/tracing/events/kmem ] &&
	"$build/pcprecord" -q --lifecycle --format v7-zstd -b 8192 -o "$work/j.dat" -- "$build/pcpload" \
		--pattern burst --threads 2 --duration "${PCP_BENCH_JOBS_SECONDS:-11}" --size 512 >/dev/null 2>&1; then
	jrec=$("$build/bench_bare_iterate" "$work/j.dat")
	jobs_scaling "recorded lifecycle v7-zstd $jrec events" "$work/j.dat"
	rm -f "$work/j.dat" "$work/j.dat.meta.json"
fi
