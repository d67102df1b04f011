#!/usr/bin/env bash
# Bit-identical results across two builds: every fixture (tests/fixtures: .dat, .dat.xz with its
# meta, .synth through pcpsynth) and any extra traces are analyzed by both builds, and every
# SQLite table (full dump, rows in rowid order) and the JSON document must be byte-identical,
# except the lines that name the run itself (analysis time, tool version, paths).
# For changes to the models' internals (tables, sizing, prefetch) that must not change a result.
#   bench/same_outputs.sh OLD_BUILD NEW_BUILD [TRACE...]
set -euo pipefail
old=${1:?old build dir}; new=${2:?new build dir}; shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/pcp-same.XXXXXX)
trap 'rm -rf "$work"' EXIT
fx=$top/tests/fixtures
traces=()
for f in "$fx"/*.dat "$fx"/lifecycle/*.dat; do traces+=("$f"); done
for f in "$fx"/*.dat.xz; do
	b=$(basename "$f" .xz)
	xz -dkc "$f" >"$work/$b"
	[ -f "${f%.xz}.meta.json" ] && cp "${f%.xz}.meta.json" "$work/$b.meta.json"
	traces+=("$work/$b")
done
for f in "$fx"/*.synth "$fx"/lifecycle/*.synth; do
	b=$(basename "$f" .synth)
	if "$new/pcpsynth" -q -o "$work/$b.dat" --formats "$fx/formats" "$f" 2>/dev/null; then
		traces+=("$work/$b.dat")
	fi
done
traces+=("$@")
# The run's own facts differ between runs of one build already.
filter() { grep -v -E "analy[sz]ed_at|tool_version|pcptrace_version|\"version\"|'(path|trace_path|analysis_time|wall_s|elapsed)'|\"(path|trace_path|elapsed_s)\"" || true; }
fail=0 n=0
for t in "${traces[@]}"; do
	for side in old new; do
		b=$old; [ "$side" = new ] && b=$new
		rc=0
		"$b/pcpanalyze" -q -o "$work/$side.db" --json "$work/$side.json" "$t" >/dev/null 2>"$work/$side.err" || rc=$?
		echo "exit $rc" >"$work/$side.out"
		cat "$work/$side.err" >>"$work/$side.out"
		if [ -f "$work/$side.db" ]; then
			sqlite3 "$work/$side.db" .dump | filter >>"$work/$side.out"
			filter <"$work/$side.json" >>"$work/$side.out"
		fi
		rm -f "$work/$side.db" "$work/$side.json"
	done
	n=$((n + 1))
	if ! cmp -s "$work/old.out" "$work/new.out"; then
		echo "DIFFERENT: $t"
		diff "$work/old.out" "$work/new.out" | head -20
		fail=1
	fi
done
echo "$n traces compared: $([ $fail = 0 ] && echo "all identical" || echo "DIFFERENCES")"
exit $fail
