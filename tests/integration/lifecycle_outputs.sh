#!/bin/sh
# The lifecycle part of pcpanalyze's outputs (issue 11) against the independent checker
# (tests/expected/lifecycle_cases.py): every lifecycle table, trace_info key and metric on every
# lifecycle fixture, with and without snapshots; the churn/percpu part unchanged on them; a trace
# without alloc/free has no lifecycle row and says it needs pcprecord --lifecycle; compare's
# verdicts on two lifecycle runs. ctest passes the build directory as $1.
# ctest: COST 45   (seconds, about: long tests start first under ctest -j)
set -u
BUILD=${1:?usage: lifecycle_outputs.sh BUILD_DIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
command -v trace-cmd >/dev/null || { echo "SKIP: trace-cmd not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
exec python3 "$SRC/tests/expected/lifecycle_cases.py" "$BUILD"
