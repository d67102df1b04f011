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
[ "$(id -u)" = 0 ] || { echo "recorder_ceiling.sh: needs root (live tracing)" >&2; exit 2; }
scratch=$(mktemp -d "$build/ceiling.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
NICE="nice -n ${PCP_BENCH_NICE:-10}"
# PCPLOAD_THREADS: saturate threads in the ceiling runs (default: one per CPU); more threads get
# the load a larger share of a machine that others use too
threads=${PCPLOAD_THREADS:+--threads $PCPLOAD_THREADS}
echo "# recorder ceiling: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), $NICE, saturate ${threads:-one thread per CPU}"
echo
echo "| -b KB/CPU | --rate pages/s | run s | written ev/s | kept ev/s | lost | lost % | advised -b |"
echo "|---|---|---|---|---|---|---|---|"
: >"$scratch/rows"
for kb in $sizes; do
	for rate in $rates; do
		out=$scratch/t.dat
		rarg=
		[ "$rate" != 0 ] && rarg="--rate $rate"
		# shellcheck disable=SC2086
		$NICE "$build/pcprecord" --lifecycle -b "$kb" -o "$out" -- \
			"$build/pcpload" -q --pattern saturate --duration "$secs" $rarg $threads 2>"$scratch/err" >/dev/null ||
			{ echo "| $kb | $rate | failed: $(tail -1 "$scratch/err" | head -c 200) |"; continue; }
		python3 - "$out.meta.json" "$kb" "$rate" "$scratch/err" "$scratch/rows" <<'EOF_PY'
import json, re, sys
m = json.load(open(sys.argv[1]))
rec, d = m["recording"], m["duration_s"]
kept = rec["events_total"]
lost = sum(c["overrun"] + c["commit_overrun"] + c["dropped"] for c in rec["cpus"])
adv = re.search(r"-b ([0-9]+) would have kept them", open(sys.argv[4]).read())
written = (kept + lost) / d
print("| %s | %s | %.2f | %.0f | %.0f | %d | %.2f | %s |" % (sys.argv[2], sys.argv[3] if sys.argv[3] != "0" else "none",
      d, written, kept / d, lost, 100.0 * lost / (kept + lost) if kept + lost else 0, adv.group(1) if adv else "-"))
open(sys.argv[5], "a").write("%s %.0f %d\n" % (sys.argv[2], written, lost))
EOF_PY
		rm -f "$out" "$out.meta.json"
	done
done
echo
echo "| -b KB/CPU | highest written ev/s with no loss | lowest written ev/s that lost events |"
echo "|---|---|---|"
python3 - "$scratch/rows" "$sizes" <<'EOF_PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
for kb in sys.argv[2].split():
    ok = [float(w) for k, w, l in rows if k == kb and int(l) == 0]
    bad = [float(w) for k, w, l in rows if k == kb and int(l) > 0]
    print("| %s | %s | %s |" % (kb, "%.0f" % max(ok) if ok else "none", "%.0f" % min(bad) if bad else "none"))
EOF_PY

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
