#!/bin/bash
# Event rate and loss of `pcprecord --lifecycle` around pcpload, per pattern and per-CPU buffer
# size (issue 11, "Recording"): one markdown row per run, for bench/RESULTS.md and pcprecord(1).
#
#   bench/lifecycle_buffers.sh BUILD_DIR [REPS] [SECONDS] [PATTERNS] [SIZES_KB]
#   e.g. bench/lifecycle_buffers.sh build 2 3 "mix burst cross fork" "128 512 1410 4096 16384"
#
# PCPLOAD_ARGS: more pcpload options (e.g. "--size 256"). Needs root (live tracing). Recordings go to a scratch directory under BUILD_DIR and are removed
# after each row. events/s and MB/s are over the recording's duration_s (meta file); MB are the
# ring-buffer bytes spooled (whole sub-buffers); lost = the kernel's overrun + commit overrun +
# dropped over all CPUs (recording.lost_events), plus missed-event marks in the file.
set -u
build=$(cd "${1:?usage: lifecycle_buffers.sh BUILD_DIR [REPS] [SECONDS] [PATTERNS] [SIZES_KB]}" && pwd) || exit 2
reps=${2:-2}
secs=${3:-3}
patterns=${4:-mix burst cross fork}
sizes=${5:-128 512 1410 4096 16384}
scratch=$(mktemp -d "$build/lcbuf.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
echo "| pattern | -b KB/CPU | run | events | alloc+free | events/s | MB/s | lost | missed marks |"
echo "|---|---|---|---|---|---|---|---|---|"
for p in $patterns; do
	for kb in $sizes; do
		for r in $(seq 1 "$reps"); do
			out=$scratch/t.dat
			"$build/pcprecord" -q --lifecycle -b "$kb" -o "$out" -- \
				"$build/pcpload" -q --pattern "$p" --duration "$secs" ${PCPLOAD_ARGS:-} 2>"$scratch/err" ||
				{ echo "| $p | $kb | $r | failed: $(head -c 200 "$scratch/err") |"; continue; }
			python3 - "$out.meta.json" "$p" "$kb" "$r" "${PCPLOAD_ARGS:-}" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
rec, d = m["recording"], m["duration_s"]
c = rec["event_counts"]
af = c.get("kmem:mm_page_alloc", 0) + c.get("kmem:mm_page_free", 0)
mb = sum(x["bytes"] for x in rec["cpus"]) / 1e6
missed = sum(x["missed_in_file"] for x in rec["cpus"])
print("| %s%s | %s | %s | %d | %d | %.0f | %.2f | %d | %d |" % (
    sys.argv[2], (" " + sys.argv[5]) if sys.argv[5] else "", sys.argv[3], sys.argv[4], rec["events_total"], af, rec["events_total"] / d,
    mb / d, rec["lost_events"], missed))
EOF
			rm -f "$out" "$out.meta.json"
		done
	done
done
