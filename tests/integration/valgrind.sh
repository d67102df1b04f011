#!/usr/bin/env bash
# pcpanalyze (analyze, compare, merge) is valgrind-clean on the fixtures: no invalid access, no
# use of uninitialized memory, no leak of ours (tests/valgrind.supp lists the system tracing
# libraries' own). ctest passes the build directory as $1.
# ctest: COST 60   (seconds, about: long tests start first under ctest -j)
set -u
build=${1:?usage: valgrind.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
command -v valgrind >/dev/null || { echo "SKIP: valgrind not installed"; exit 77; }
if nm "$build/pcpanalyze" 2>/dev/null | grep -q __asan_init; then
	echo "SKIP: this build uses AddressSanitizer (valgrind runs on the normal build)"
	exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
vg() {
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		--suppressions="$src/tests/valgrind.supp" "$@"
}
status=0
check() { # LABEL CMD...
	local label=$1 rc
	shift
	vg "$@" >"$work/out" 2>"$work/err"
	rc=$?
	if [ $rc = 99 ] || grep -q '==[0-9]*==' "$work/err"; then
		echo "FAIL: $label: valgrind reported errors"
		cat "$work/err"
		status=1
	else
		echo "ok: $label (exit $rc)"
	fi
}
"$build/pcpsynth" -q -o "$work/native-numa.dat" --formats "$src/tests/fixtures/formats" \
	"$src/tests/fixtures/native-numa.synth"
for f in "$src/tests/fixtures/fallback-basic.dat" "$src/tests/fixtures/overrun.dat" \
	"$src/tests/fixtures/percpu-fork.dat" "$work/native-numa.dat"; do
	name=$(basename "$f" .dat)
	check "analyze $name" "$build/pcpanalyze" -o "$work/$name.db" --json "$work/$name.json" "$f"
done
# The threads of -j 5: the lifecycle thread and the churn thread reading one feed, a pairing
# thread, a decode thread; on the stacks recording the churn thread attributes the stacks.
check "analyze recorded-mix -j 5" "$build/pcpanalyze" -j 5 -o "$work/rm.db" \
	"$src/tests/fixtures/lifecycle/recorded-mix.dat"
xz -dc "$src/tests/fixtures/lab-2node-stacks.dat.xz" >"$work/stacks.dat"
cp "$src/tests/fixtures/lab-2node-stacks.dat.meta.json" "$work/stacks.dat.meta.json"
check "analyze lab-2node-stacks -j 5" "$build/pcpanalyze" -j 5 -o "$work/st.db" "$work/stacks.dat"
check "compare" "$build/pcpanalyze" compare --json "$work/c.json" --junit "$work/c.xml" \
	"$work/fallback-basic.db" "$work/overrun.db"
check "merge" "$build/pcpanalyze" merge -o "$work/all.db" --label k=v \
	"$work/fallback-basic.db" "$work/overrun.db"
# trace.dat inputs analyzed side by side (two analyses at once, one thread each)
check "merge trace.dat inputs -j 2" "$build/pcpanalyze" merge -j 2 -o "$work/all2.db" \
	"$src/tests/fixtures/fallback-basic.dat" "$src/tests/fixtures/percpu-fork.dat" "$work/overrun.db"
: >"$work/empty.dat"
check "analyze an empty file (error path)" "$build/pcpanalyze" -o "$work/e.db" "$work/empty.dat"
head -c 100000 "$src/tests/fixtures/fallback-basic.dat" >"$work/cut.dat"
check "analyze a truncated file (error path)" "$build/pcpanalyze" -o "$work/cut.db" "$work/cut.dat"
exit $status
