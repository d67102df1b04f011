#!/bin/sh
# pcpanalyze against the independent checkers (tests/expected/*.py over `trace-cmd report`
# text): first the checkers' own unit test (hand-computed numbers), then for every case of
# tests/expected/cases.txt (+ native-*.synth fixtures): the committed expected JSON must equal
# a fresh computation, and pcpanalyze's database must match it (counts exact, ratios 1e-9
# relative, percentiles 1/64 relative). ctest passes the build directory as $1.
# Fails (does not skip) when pcpanalyze is not built.
# ctest: COST 150   (seconds, about: long tests start first under ctest -j)
set -u
BUILD=${1:?usage: expected_vs_pcpanalyze.sh BUILD_DIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
command -v trace-cmd >/dev/null || { echo "SKIP: trace-cmd not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
status=0
# A sanitizer build (scripts/test.sh runs it after the normal build of the same tree) checks
# its pcpanalyze against the committed JSON only: the checkers are python, the same whatever the
# build, and the normal build's run proves that JSON fresh (step 1); recomputing it here was
# about half of this test's CPU time under ASan (~4 s of python and trace-cmd per case, 43
# cases; the ASan pcpanalyze runs and compare_db: 147 s). PCP_EXPECTED_FULL=1: all, any build.
if [ "${PCP_EXPECTED_FULL:-0}" != 1 ] && grep -q '^PCP_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
	echo "sanitizer build: pcpanalyze against the committed expected JSON (the normal build checks it is fresh)"
	python3 "$SRC/tests/expected/run_cases.py" check --committed "$BUILD" || status=1
	exit $status
fi
python3 "$SRC/tests/expected/test_pcp_expected.py" || { echo "FAIL: checker unit test"; status=1; }
python3 "$SRC/tests/expected/run_cases.py" check "$BUILD" || status=1
exit $status
