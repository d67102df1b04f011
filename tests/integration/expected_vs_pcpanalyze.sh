#!/bin/sh
# pcpanalyze against the independent checkers (tests/expected/*.py over `trace-cmd report`
# text): first the checkers' own unit test (hand-computed numbers), then for every case of
# tests/expected/cases.txt (+ native-*.synth fixtures): the committed expected JSON must equal
# a fresh computation, and pcpanalyze's database must match it (counts exact, ratios 1e-9
# relative, percentiles 1/64 relative). ctest passes the build directory as $1.
# Fails (does not skip) when pcpanalyze is not built.
set -u
BUILD=${1:?usage: expected_vs_pcpanalyze.sh BUILD_DIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
command -v trace-cmd >/dev/null || { echo "SKIP: trace-cmd not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
status=0
python3 "$SRC/tests/expected/test_pcp_expected.py" || { echo "FAIL: checker unit test"; status=1; }
python3 "$SRC/tests/expected/run_cases.py" check "$BUILD" || status=1
exit $status
