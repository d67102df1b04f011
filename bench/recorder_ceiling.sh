#!/bin/bash
# The recorder's ceiling and overhead (issue 14, "Recorder"), in one invocation, nice'd (other
# people share the machine): needs root (live tracing).
#
#   bench/recorder_ceiling.sh BUILD_DIR [SECONDS] [SIZES_KB] [RATES] [OVERHEAD_REPS] [OVERHEAD_PATTERNS]
#   e.g. bench/recorder_ceiling.sh build 3 "128 512 1410 4096" "150000 300000 0" 3 "burst saturate"
#
# Ceiling: `pcprecord --lifecycle -b KB -- pcpload --pattern saturate [--rate R]` for each buffer
# size and page rate (0 = no cap: as fast as the kernel allocates, more than the recorder keeps
# on this machine); one row per run: events written per second (kept + lost, the kernel's
# counts in the meta file), kept, lost, and the -b pcprecord's last line advised. Then per size:
# the highest written rate held with no loss and the lowest written rate that lost events.
# A buffer is per CPU, so both are also given for the busiest CPU (events and MB written per
# second on it; MB = its spooled bytes plus its lost events at its bytes per event).
#
# Loads beyond one pcpload (what exceeds 4096 KB here), by environment:
#   PCPLOAD_PROCS=P    P pcpload processes at once (each with the threads below and RATE / P):
#                      threads of one process serialize on its mmap lock, processes do not
#   PCP_REC_EXTRA=...  more pcprecord arguments, e.g. more events per page:
#                      "-e kmem:mm_page_free_batched -e pagemap:mm_lru_insertion -e kmem:rss_stat"
#   PCP_REC_SCHED=idle the recorder (its reader threads) SCHED_IDLE, the load SCHED_OTHER at
#                      nice 0: the readers run only when nothing else wants the CPU, as on a
#                      saturated machine; default "same": recorder and load both at $NICE
#
# Overhead: a memory hog pinned to each CPU (pcpload, one thread per CPU: burst = it writes
# every page it allocates, 64 MB at a time; saturate = the worst case, allocation and free
# only), untraced then traced with `pcprecord --lifecycle` (default buffer), alternated
# OVERHEAD_REPS times; pcpload runs a fixed time, so the ratio is its pages/s untraced over
# traced (= the traced run's time for the same work over the untraced one), the median of the
# pairs per pattern.
set -u
build=$(cd "${1:?usage: recorder_ceiling.sh BUILD_DIR [SECONDS] [SIZES_KB] [RATES] [REPS]}" && pwd) || exit 2
secs=${2:-3}
sizes=${3:-128 512 1410 4096}
rates=${4:-150000 300000 0}
reps=${5:-3}
overhead_patterns=${6:-burst saturate}
[ "$reps" = 0 ] && overhead_patterns= # OVERHEAD_REPS 0: the ceiling only
[ "$(id -u)" = 0 ] || { echo "recorder_ceiling.sh: needs root (live tracing)" >&2; exit 2; }
scratch=$(mktemp -d "$build/ceiling.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
NICE="nice -n ${PCP_BENCH_NICE:-10}"
# PCPLOAD_THREADS: saturate threads in the ceiling runs (default: one per CPU); more threads get
# the load a larger share of a machine that others use too
threads=${PCPLOAD_THREADS:+--threads $PCPLOAD_THREADS}
procs=${PCPLOAD_PROCS:-1}
extra=${PCP_REC_EXTRA:-}
sched=${PCP_REC_SCHED:-same}
case $sched in
same) REC_RUN=$NICE LOAD_RUN= ;;
idle) REC_RUN="chrt --idle 0" LOAD_RUN="chrt --other 0" ;;
*) echo "recorder_ceiling.sh: PCP_REC_SCHED=$sched: expected same or idle" >&2; exit 2 ;;
esac
echo "# recorder ceiling: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), recorder ${sched/same/$NICE} (load ${LOAD_RUN:-the same}), saturate ${threads:-one thread per CPU} x $procs process(es)${extra:+, pcprecord $extra}"
echo
echo "| -b KB/CPU | --rate pages/s | run s | written ev/s | kept ev/s | lost | lost % | advised -b | busiest CPU written ev/s | its MB/s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
: >"$scratch/rows"
for kb in $sizes; do
	for rate in $rates; do
		out=$scratch/t.dat
		rarg=
		[ "$rate" != 0 ] && rarg="--rate $(awk -v r="$rate" -v p="$procs" 'BEGIN { print r / p }')"
		# shellcheck disable=SC2086
		$REC_RUN "$build/pcprecord" $extra --lifecycle -b "$kb" -o "$out" -- $LOAD_RUN \
			bash -c 'n=$1; shift; p=; for i in $(seq "$n"); do "$@" & p="$p $!"; done; s=0; for i in $p; do wait "$i" || s=$?; done; exit $s' \
			load "$procs" "$build/pcpload" -q --pattern saturate --duration "$secs" $rarg $threads 2>"$scratch/err" >/dev/null ||
			{ echo "| $kb | $rate | failed: $(tail -1 "$scratch/err" | head -c 200) |"; continue; }
		python3 - "$out.meta.json" "$kb" "$rate" "$scratch/err" "$scratch/rows" <<'EOF_PY'
import json, re, sys
m = json.load(open(sys.argv[1]))
rec, d = m["recording"], m["duration_s"]
kept = rec["events_total"]
lost = sum(c["overrun"] + c["commit_overrun"] + c["dropped"] for c in rec["cpus"])
adv = re.search(r"-b ([0-9]+) would have kept them", open(sys.argv[4]).read())
written = (kept + lost) / d
def cpu_written(c):
    n = c["events"] + c["overrun"] + c["commit_overrun"] + c["dropped"]
    bpe = c["bytes"] / c["events"] if c["events"] else (sum(x["bytes"] for x in rec["cpus"]) / kept if kept else 0)
    return n / d, (c["bytes"] + (n - c["events"]) * bpe) / d / 1e6
busy = max((cpu_written(c) for c in rec["cpus"] if c.get("recorded", True)), default=(0, 0))
print("| %s | %s | %.2f | %.0f | %.0f | %d | %.2f | %s | %.0f | %.1f |" % (sys.argv[2], sys.argv[3] if sys.argv[3] != "0" else "none",
      d, written, kept / d, lost, 100.0 * lost / (kept + lost) if kept + lost else 0, adv.group(1) if adv else "-",
      busy[0], busy[1]))
open(sys.argv[5], "a").write("%s %.0f %d %.0f %.2f\n" % (sys.argv[2], written, lost, busy[0], busy[1]))
EOF_PY
		rm -f "$out" "$out.meta.json"
	done
done
echo
echo "| -b KB/CPU | highest written ev/s with no loss (busiest CPU: ev/s, MB/s) | lowest written ev/s that lost events (busiest CPU: ev/s, MB/s) |"
echo "|---|---|---|"
python3 - "$scratch/rows" "$sizes" <<'EOF_PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
def fmt(r):
    return "%.0f (%.0f, %.1f)" % (float(r[1]), float(r[3]), float(r[4])) if r else "none"
for kb in sys.argv[2].split():
    ok = [r for r in rows if r[0] == kb and int(r[2]) == 0]
    bad = [r for r in rows if r[0] == kb and int(r[2]) > 0]
    print("| %s | %s | %s |" % (kb, fmt(max(ok, key=lambda r: float(r[1])) if ok else None),
                                fmt(min(bad, key=lambda r: float(r[1])) if bad else None)))
EOF_PY
echo "(load average at the end of the ceiling runs: $(cut -d' ' -f1-3 /proc/loadavg))"

for pat in $overhead_patterns; do
echo
echo "# overhead: pcpload --pattern $pat, one pinned thread per CPU, $secs s; untraced vs pcprecord --lifecycle"
echo
echo "| pair | untraced pages/s | traced pages/s | untraced / traced | traced ev/s | lost |"
echo "|---|---|---|---|---|---|"
: >"$scratch/ratios"
for r in $(seq 1 "$reps"); do
	$NICE "$build/pcpload" --pattern "$pat" --duration "$secs" >"$scratch/u.out" || continue
	$NICE "$build/pcprecord" -q --lifecycle -o "$scratch/o.dat" -- \
		"$build/pcpload" --pattern "$pat" --duration "$secs" >"$scratch/t.out" 2>"$scratch/err" || continue
	python3 - "$scratch/u.out" "$scratch/t.out" "$scratch/o.dat.meta.json" "$r" "$scratch/ratios" <<'EOF_PY'
import json, re, sys
def pages_per_s(path):
    t = open(path).read()
    s = float(re.search(r", ([0-9.]+) s,", t).group(1))
    m = re.search(r": ([0-9]+) pages allocated and freed", t) or re.search(r"bursts \(([0-9]+) pages\)", t)
    return int(m.group(1)) / s
u, t = pages_per_s(sys.argv[1]), pages_per_s(sys.argv[2])
m = json.load(open(sys.argv[3])); rec = m["recording"]
lost = sum(c["overrun"] + c["commit_overrun"] + c["dropped"] for c in rec["cpus"])
print("| %s | %.0f | %.0f | %.3f | %.0f | %d |" % (sys.argv[4], u, t, u / t, rec["events_total"] / m["duration_s"], lost))
open(sys.argv[5], "a").write("%f\n" % (u / t))
EOF_PY
	rm -f "$scratch/o.dat" "$scratch/o.dat.meta.json"
done
sort -n "$scratch/ratios" | awk -v p="$pat" '{ v[NR] = $1 } END { if (NR) printf "\n%s: median untraced/traced %.3fx over %d pairs\n", p, v[int((NR + 1) / 2)], NR }'
done
