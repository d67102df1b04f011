#!/bin/bash
# Every EXAMPLE of man/man3 is a complete program: extracted (.EX ... .EE, troff escapes undone),
# compiled warning-free against include/pcptrace.h and the build's library, run on a fixture and
# its output checked against the independent checker (tests/expected/fallback-basic.json) or
# pcpanalyze. pcp_recording(3)'s example records the live kernel for a moment: only as root with
# tracefs, never under PCP_SKIP_LAB=1, and (as scripts/test.sh keeps live recording) only in a
# build without sanitizers.
# ctest: RESOURCE_LOCK tracefs   (records the live kernel: one such test at a time)
set -u
build=$(cd "${1:?build dir}" && pwd) || exit 1
src=${PCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
fixture=$src/tests/fixtures/fallback-basic.dat
expected=$src/tests/expected/fallback-basic.json
cc=${CC:-cc}
for tool in "$cc" python3 sqlite3 pkg-config; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -x "$build/pcpanalyze" ] || { echo "FAIL: pcpanalyze not built in $build"; exit 1; }

tmp=$(mktemp -d /tmp/pcp_man3.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The build's library: the shared one where the build has it, else the static archive and the
# libraries it needs; a sanitizer build's archive needs the sanitizer runtimes too.
libs="-L$build -lpcptrace"
if [ ! -e "$build/libpcptrace.so" ]; then
	libs="$build/libpcptrace.a $(pkg-config --libs libtracecmd libtraceevent libtracefs sqlite3 jansson libzstd zlib) -lm -lpthread"
fi
san=
grep -q '^PCP_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null && san="-fsanitize=address,undefined"

# extract PAGE OUT.c: the program between .EX and .EE of the page's EXAMPLE section
extract() {
	awk '/^\.SH EXAMPLE/ { ex = 1 } /^\.SH / && !/EXAMPLE/ { ex = 0 }
	     ex && /^\.EE/ { code = 0 } ex && code { print } ex && /^\.EX/ { code = 1 }' "$1" |
		sed -e 's/\\e/\\/g' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" >"$2"
}

for page in "$src"/man/man3/*.3; do
	name=$(basename "$page" .3)
	grep -q '^\.so ' "$page" && continue
	extract "$page" "$tmp/$name.c"
	if [ ! -s "$tmp/$name.c" ]; then
		fail "$name(3) has no EXAMPLE program"
		continue
	fi
	if ! $cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $san -I"$src/include" -o "$tmp/$name" \
		"$tmp/$name.c" $libs 2>"$tmp/$name.cc.err"; then
		fail "$name(3)'s EXAMPLE does not compile:"; sed 's/^/    /' "$tmp/$name.cc.err" | head -20
	fi
done

export LD_LIBRARY_PATH=$build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# json EXPR: a value of the checker's expected JSON for the fixture (d = the document)
json() { python3 -c "import json,sys; d = json.load(open(sys.argv[1])); print($1)" "$expected"; }

# pcptrace(3): one metric, as the checker computes it; a damaged file's exit status.
if [ -x "$tmp/pcptrace" ]; then
	out=$("$tmp/pcptrace" "$fixture" fast_churn_ratio)
	want=$(json '"fast_churn_ratio %.6f" % d["metrics"]["fast_churn_ratio"]["value"]')
	[ "$out" = "$want" ] || fail "pcptrace(3): '$out', want '$want'"
	: >"$tmp/empty.dat"
	"$tmp/pcptrace" "$tmp/empty.dat" pairs 2>"$tmp/err"; rc=$?
	[ "$rc" = 4 ] || fail "pcptrace(3) on an empty file exited $rc, want 4 (pcpanalyze's)"
	grep -q "^$tmp/empty.dat: " "$tmp/err" || fail "pcptrace(3): the error does not name the file: $(cat "$tmp/err")"
fi

# pcp_trace(3): events per kind against the checker's cpu_flow and event counts.
if [ -x "$tmp/pcp_trace" ]; then
	"$tmp/pcp_trace" "$fixture" >"$tmp/trace.out" || fail "pcp_trace(3) exited $?"
	for check in "refill sum(c['refill_blocks'] for c in d['cpu_flow'])" \
		     "drain sum(c['drain_blocks'] for c in d['cpu_flow'])" \
		     "percpu_alloc d['event_counts']['percpu:percpu_alloc_percpu']" \
		     "percpu_free d['event_counts']['percpu:percpu_free_percpu']" \
		     "lost d['trace_info']['events_lost']"; do
		key=${check%% *}
		want="$key $(json "${check#* }")"
		grep -qx "$want" "$tmp/trace.out" || fail "pcp_trace(3): no line '$want' in: $(tr '\n' '|' <"$tmp/trace.out")"
	done
	want="pages refilled $(json "sum(c['refill_pages'] for c in d['cpu_flow'])") drained $(json "sum(c['drain_pages'] for c in d['cpu_flow'])")"
	grep -qx "$want" "$tmp/trace.out" || fail "pcp_trace(3): no line '$want'"
fi

# pcp_analysis(3): per-CPU flow printed, database and JSON the same as pcpanalyze --churn-window 2000000 writes.
if [ -x "$tmp/pcp_analysis" ]; then
	"$tmp/pcp_analysis" "$fixture" "$tmp/api.db" "$tmp/api.json" >"$tmp/analysis.out" || fail "pcp_analysis(3) exited $?"
	for cpu in 0 1; do
		want="cpu $cpu refill_pages $(json "d['cpu_flow'][$cpu]['refill_pages']") drain_pages $(json "d['cpu_flow'][$cpu]['drain_pages']")"
		grep -qx "$want" "$tmp/analysis.out" || fail "pcp_analysis(3): no line '$want' in: $(tr '\n' '|' <"$tmp/analysis.out")"
	done
	"$build/pcpanalyze" -q --churn-window 2000000 -o "$tmp/cli.db" --json "$tmp/cli.json" "$fixture" || fail "pcpanalyze exited $?"
	for t in cpu_flow pair_matrix zone_lock metrics; do
		[ "$(sqlite3 "$tmp/api.db" "select * from $t order by 1, 2")" = "$(sqlite3 "$tmp/cli.db" "select * from $t order by 1, 2")" ] ||
			fail "pcp_analysis(3): table $t differs from pcpanalyze's"
	done
	python3 - "$tmp/api.json" "$tmp/cli.json" <<'PY' || fail "pcp_analysis(3): JSON differs from pcpanalyze's"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
sys.exit(a != b)
PY
fi

# pcp_compare(3): a run against itself: every verdict same (n/a where undefined), exit 0, JUnit without failures.
if [ -x "$tmp/pcp_compare" ]; then
	"$tmp/pcp_compare" "$fixture" "$fixture" "$tmp/compare.xml" >"$tmp/compare.out"; rc=$?
	[ "$rc" = 0 ] || fail "pcp_compare(3) exited $rc, want 0"
	n=$(sqlite3 "$tmp/cli.db" "select count(*) from metrics")
	[ "$(grep -cE ' (same|n/a)$' "$tmp/compare.out")" = "$n" ] || fail "pcp_compare(3): not all $n metrics same (or n/a): $(grep -vE ' (same|n/a)$' "$tmp/compare.out" | head -3)"
	grep -q "tests=\"$n\" failures=\"0\"" "$tmp/compare.xml" || fail "pcp_compare(3): JUnit XML: $(head -3 "$tmp/compare.xml")"
fi

# pcp_recording(3): a moment of the live kernel, then read back with pcp_trace(3)'s example.
if [ -x "$tmp/pcp_recording" ] && [ "${PCP_SKIP_LAB:-0}" != 1 ] && [ -z "$san" ] && [ "$(id -u)" = 0 ] &&
   [ -d /sys/kernel/tracing/instances ] && [ -x "$tmp/pcp_trace" ]; then
	# Its instance is pcprecord-PID (others' recordings may run at the same time).
	"$tmp/pcp_recording" "$tmp/rec.dat" 300 >"$tmp/rec.out" 2>&1 &
	pid=$!
	wait "$pid" || fail "pcp_recording(3) exited $?: $(cat "$tmp/rec.out")"
	[ -e "/sys/kernel/tracing/instances/pcprecord-$pid" ] && fail "pcp_recording(3) left its tracefs instance"
	"$tmp/pcp_trace" "$tmp/rec.dat" >"$tmp/rec-trace.out" 2>&1 || fail "pcp_trace(3) cannot read the recording: $(cat "$tmp/rec-trace.out")"
	grep -q '^mode fallback' "$tmp/rec-trace.out" || fail "pcp_trace(3) on the recording: $(head -2 "$tmp/rec-trace.out")"
else
	echo "skip: pcp_recording(3) not run (needs root, tracefs, PCP_SKIP_LAB unset, not a sanitizer build)"
fi

[ "$failures" = 0 ] && echo "ok   man3 examples compiled and checked" && exit 0
exit 1
