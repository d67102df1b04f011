#!/bin/bash
# Cuts, flipped bytes and zero runs over every fixture through pcpanalyze (tests/damage_sweep.py):
# documented exit codes only, no signal, <= 60 s, at most one stderr line. DAMAGE_PER_FIXTURE sets
# the copies per fixture (default 24).
# ctest: COST 120   (seconds, about: long tests start first under ctest -j)
set -u
build=${1:?build dir}
exec python3 "$(dirname "$0")/../damage_sweep.py" "$build"
