#!/usr/bin/env bash
# The main job on a fresh Debian machine: set up, build, record the bundled workload with
# pcprecord (root + tracefs), analyze it with pcpanalyze and show the summary. Where tracing is
# not possible it analyzes a bundled real trace instead, and says so.
#   scripts/demo.sh [OUTDIR]
# The trace, its database and JSON go to OUTDIR (new or empty), by default a new directory
# under ${TMPDIR:-/tmp}; the only thing written in the source tree is the build directory build/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 0 ]; then
	out=$1
	if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
		echo "demo.sh: $out: exists and is not empty; give a new or empty directory" >&2
		exit 2
	fi
	mkdir -p "$out"
else
	out=$(mktemp -d "${TMPDIR:-/tmp}/pcptrace-demo.XXXXXX")
fi
out=$(cd "$out" && pwd)
echo "== the demo's files go to $out"
bash "$top/scripts/setup.sh"
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$top/build" -j"$(nproc)" >/dev/null

why=""
[ "$(id -u)" = 0 ] || why="not root"
if [ -z "$why" ] && [ ! -d /sys/kernel/tracing/events ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || why="tracefs cannot be mounted"
fi
if [ -z "$why" ]; then
	echo "== recording: pcprecord -o $out/trace.dat -- pcpload --pattern mix --duration 5"
	if "$top/build/pcprecord" -o "$out/trace.dat" -- "$top/build/pcpload" --pattern mix --duration 5; then
		trace=$out/trace.dat
	else
		why="pcprecord failed (exit $?)"
	fi
fi
if [ -n "$why" ]; then
	echo "== tracing is not possible here ($why): analyzing the bundled trace tests/fixtures/fallback-basic.dat"
	cp "$top/tests/fixtures/fallback-basic.dat" "$out/trace.dat"
	trace=$out/trace.dat
fi
echo "== analyzing: pcpanalyze --json $out/trace.json $trace"
"$top/build/pcpanalyze" --json "$out/trace.json" "$trace"
echo
echo "== a question in SQL: which CPU pairs move the most pages?"
sqlite3 -header -column "$out/trace.db" 'SELECT * FROM v_cpu_pairs LIMIT 5;'
echo
echo "== the demo's files are in $out: trace.dat (+ trace.dat.meta.json), trace.db, trace.json"
