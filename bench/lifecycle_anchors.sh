#!/usr/bin/env bash
# shellcheck disable=SC2154 # the per-tool figures are set by name (read "${t}_lw", eval in row)
# Anchors on the lifecycle trace (issue 14, Bench): pcpanalyze against `trace-cmd report` and
# `perf kmem --page stat` on the same page-allocator events, as per-event ratios measured in
# this one invocation.
#
#   bench/lifecycle_anchors.sh BUILD_DIR [RUNS] [SECONDS]
#
# Two recordings (short: 0.2 s of the load with 16 MB bursts, the tools' fixed costs; long:
# SECONDS with 256 MB bursts), each by two recorders side by side: `pcprecord --lifecycle` (system-wide, 4096 KB per
# CPU) around `perf kmem --page record -m 1024` (system-wide, 4 MB per CPU, perf's callchains),
# around `pcpload --pattern burst --threads 2`. Both see the same kernel tracepoints
# (kmem:mm_page_alloc, kmem:mm_page_free) at the same time; pcprecord's window encloses perf's
# (it also sees perf start and write), so trace.dat holds a few more of them, plus the PCP
# refill/drain and percpu events. Then, interleaved RUNS times (median; wall and user+sys CPU):
#   bare     bench_bare_iterate trace.dat        (reading alone)
#   pcp -j1  pcpanalyze -j 1 trace.dat           (one thread, like the other two tools)
#   pcp      pcpanalyze trace.dat                (default -j: the CPUs available)
#   report   trace-cmd report trace.dat >/dev/null   (the very same records)
#   kmem     perf kmem --page stat -i perf.data >/dev/null
# Events = what the tool processed: the trace.dat records for the first four, the perf.data
# samples (mm_page_alloc + mm_page_free, perf's own totals) for perf kmem. Every tool has a
# fixed cost (kallsyms, formats, SQLite schema: 0.2-0.5 s), so ns/event is the marginal cost:
# (time on the long recording - time on the short one) / (events long - events short).
# Prints one line and exits 0 when it cannot run here (not root, no perf, no tracefs kmem).
set -uo pipefail
build=$(cd "${1:?usage: lifecycle_anchors.sh BUILD_DIR [RUNS] [SECONDS]}" && pwd) || exit 2
runs=${2:-5}
secs=${3:-5}
skip() { echo "lifecycle anchors: skipped ($1)"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root for live tracing"
command -v perf >/dev/null || skip "perf not installed"
command -v trace-cmd >/dev/null || skip "trace-cmd not installed"
[ -d /sys/kernel/tracing/events/kmem/mm_page_alloc ] || skip "no tracefs kmem:mm_page_alloc"
work=$(mktemp -d /tmp/pcpanchors.XXXXXX) || exit 1
[ -n "${PCP_BENCH_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

# record NAME SECONDS MB: NAME.dat (+ meta) and NAME.data, and NAME.counts: records, trace.dat's
# alloc, free and lost, perf's alloc, free and lost. pcprecord removes its tracefs instance on
# every exit path; perf's events go with it.
record() {
	local n=$1 records analyzed
	if ! "$build/pcprecord" -q --lifecycle -o "$work/$n.dat" -- \
		perf kmem --page record -m 1024 -o "$work/$n.data" -- \
		"$build/pcpload" -q --pattern burst --threads 2 --size "$3" --duration "$2" \
		>"$work/rec.out" 2>"$work/rec.err"; then
		skip "recording failed: $(grep -v '^\[' "$work/rec.err" | tail -1 | head -c 200)"
	fi
	perf kmem -i "$work/$n.data" --page stat >"$work/$n.kmem" 2>"$work/kmem.err" ||
		skip "perf kmem --page stat failed on the $n recording: $(grep . "$work/kmem.err" | tail -1 | head -c 200)"
	perf report -i "$work/$n.data" --stats >"$work/$n.stats" 2>/dev/null
	records=$("$build/bench_bare_iterate" "$work/$n.dat") || exit 1
	"$build/pcpanalyze" -q -j 1 -o "$work/$n.db" "$work/$n.dat" >/dev/null || exit 1
	analyzed=$(sqlite3 "$work/$n.db" "SELECT value FROM trace_info WHERE key = 'events_total'")
	if [ "$analyzed" != "$records" ]; then
		echo "lifecycle anchors: pcpanalyze events_total $analyzed != bare loop's $records records" >&2
		exit 1
	fi
	python3 - "$work" "$n" "$records" >"$work/$n.counts" <<'EOF_PY'
import json, re, sys
w, n = sys.argv[1] + "/", sys.argv[2]
m = json.load(open(w + n + ".dat.meta.json"))["recording"]
ec = m["event_counts"]
lost = sum(c["overrun"] + c["commit_overrun"] + c["dropped"] for c in m["cpus"])
k = open(w + n + ".kmem").read()
alloc = int(re.search(r"Total allocation requests\s*:\s*([0-9]+)", k).group(1))
free = int(re.search(r"Total free requests\s*:\s*([0-9]+)", k).group(1))
st = open(w + n + ".stats").read()
plost = sum(int(x) for x in re.findall(r"LOST_SAMPLES events:\s*([0-9]+)", st.split("stats:", 1)[1])) \
    if "stats:" in st else 0
print(sys.argv[3], ec.get("kmem:mm_page_alloc", 0), ec.get("kmem:mm_page_free", 0), lost, alloc, free, plost)
EOF_PY
	rm -f "$work/$n.db"
}
record short 0.2 16
record long "$secs" 256
read -r s_rec _ _ _ s_palloc s_pfree _ <"$work/short.counts"
read -r l_rec _ _ _ l_palloc l_pfree _ <"$work/long.counts"
s_perf=$((s_palloc + s_pfree))
l_perf=$((l_palloc + l_pfree))
[ "$l_perf" -gt "$s_perf" ] && [ "$l_rec" -gt "$s_rec" ] || skip "the long recording has no more events than the short one ($s_rec/$l_rec records, $s_perf/$l_perf perf samples)"

# Interleaved: each run times every tool once on each recording, so load changes hit all alike.
tools="bare pcp1 pcp report kmem"
for ((i = 0; i < runs; i++)); do
	for n in short long; do
		for t in $tools; do
			case $t in
			bare) cmd=("$build/bench_bare_iterate" "$work/$n.dat") ;;
			pcp1) cmd=("$build/pcpanalyze" -q -j 1 -o "$work/x.db" "$work/$n.dat") ;;
			pcp) cmd=("$build/pcpanalyze" -q -o "$work/x.db" "$work/$n.dat") ;;
			report) cmd=(trace-cmd report "$work/$n.dat") ;;
			kmem) cmd=(perf kmem -i "$work/$n.data" --page stat) ;;
			esac
			/usr/bin/time -f '%e %U %S %M' -o "$work/one" "${cmd[@]}" >/dev/null 2>&1
			cat "$work/one" >>"$work/$t.$n.times"
		done
	done
done
median() { # FILE -> median wall, median user+sys CPU, max RSS KB
	python3 -c 'import sys, statistics as s
r = [l.split() for l in open(sys.argv[1])]
print("%.2f %.2f %d" % (s.median_low([float(x[0]) for x in r]), s.median_low([float(x[1]) + float(x[2]) for x in r]),
      max(int(x[3]) for x in r)))' "$1"
}
for t in $tools; do
	read -r "${t}_sw" "${t}_sc" _ < <(median "$work/$t.short.times")
	read -r "${t}_lw" "${t}_lc" "${t}_kb" < <(median "$work/$t.long.times")
done

ratio3() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "# lifecycle anchors: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg) at the end, $(date -u +%FT%TZ), median of $runs interleaved runs"
echo "recordings: pcprecord --lifecycle around perf kmem --page record -m 1024 around pcpload --pattern burst --threads 2 --size 16 --duration 0.2 (short) / --size 256 --duration $secs (long)"
for n in short long; do
	read -r rec alloc free lost palloc pfree plost <"$work/$n.counts"
	echo "$n: trace.dat $rec records ($(du -h "$work/$n.dat" | cut -f1)): mm_page_alloc $alloc, mm_page_free $free, lost $lost;" \
		"perf.data $((palloc + pfree)) samples ($(du -h "$work/$n.data" | cut -f1)): mm_page_alloc $palloc, mm_page_free $pfree, lost $plost;" \
		"perf's alloc+free / trace.dat's $(ratio3 "$((palloc + pfree))" "$((alloc + free))")"
done
echo
echo "| tool | events short / long | CPU s short / long | ns/event CPU (marginal) | wall s short / long | ns/event wall (marginal) | peak RSS MB (long) |"
echo "|---|---|---|---|---|---|---|"
row() { # LABEL EVENTS_SHORT EVENTS_LONG T  -> one row, and T_ns (marginal CPU ns/event) set
	local sw sc lw lc kb
	eval "sw=\$${4}_sw sc=\$${4}_sc lw=\$${4}_lw lc=\$${4}_lc kb=\$${4}_kb"
	awk -v l="$1" -v ns="$2" -v nl="$3" -v sw="$sw" -v sc="$sc" -v lw="$lw" -v lc="$lc" -v kb="$kb" \
		'BEGIN { d = nl - ns; printf "| %s | %d / %d | %.2f / %.2f | %.0f | %.2f / %.2f | %.0f | %.1f |\n",
		         l, ns, nl, sc, lc, (lc - sc) * 1e9 / d, sw, lw, (lw - sw) * 1e9 / d, kb / 1024 }'
	eval "${4}_ns=\$(awk -v ns=\"$2\" -v nl=\"$3\" -v sc=\"$sc\" -v lc=\"$lc\" 'BEGIN { print (lc - sc) * 1e9 / (nl - ns) }')"
	eval "${4}_nsw=\$(awk -v ns=\"$2\" -v nl=\"$3\" -v sc=\"$sw\" -v lc=\"$lw\" 'BEGIN { print (lc - sc) * 1e9 / (nl - ns) }')"
}
row "bare tracecmd_iterate_events" "$s_rec" "$l_rec" bare
row "pcpanalyze -j 1" "$s_rec" "$l_rec" pcp1
row "pcpanalyze (-j $(nproc))" "$s_rec" "$l_rec" pcp
row "trace-cmd report > /dev/null" "$s_rec" "$l_rec" report
row "perf kmem --page stat > /dev/null" "$s_perf" "$l_perf" kmem
r() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }
echo
echo "per event (marginal), CPU (wall): trace-cmd report / pcpanalyze -j 1: $(r "$report_ns" "$pcp1_ns")x ($(r "$report_nsw" "$pcp1_nsw")x);" \
	"perf kmem --page stat / pcpanalyze -j 1: $(r "$kmem_ns" "$pcp1_ns")x ($(r "$kmem_nsw" "$pcp1_nsw")x);" \
	"pcpanalyze -j 1 / bare loop: $(r "$pcp1_ns" "$bare_ns")x ($(r "$pcp1_nsw" "$bare_nsw")x)"
echo "whole run on the long recording, CPU (wall): trace-cmd report / pcpanalyze -j 1: $(r "$report_lc" "$pcp1_lc")x ($(r "$report_lw" "$pcp1_lw")x);" \
	"perf kmem --page stat (its $l_perf events) / pcpanalyze -j 1 (its $l_rec): $(r "$kmem_lc" "$pcp1_lc")x ($(r "$kmem_lw" "$pcp1_lw")x)"
