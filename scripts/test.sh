#!/usr/bin/env bash
# The test command: sets up, builds (normal + ASan/UBSan), runs every test.
#   scripts/test.sh            all tests, including the kernel lab (qemu; ~11 min the first time)
#   PCP_SKIP_LAB=1 scripts/test.sh    everything but the kernel lab (it says it skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
bash scripts/setup.sh
jobs=$(nproc)

echo "== build (RelWithDebInfo, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPCP_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== build (libFuzzer, clang): the tests below include a short fuzz run (tests/fuzz/README.md)"
CC=clang cmake -S . -B build-fuzz -DPCP_FUZZ=ON -DPCP_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_analyze
echo "== tests"
(cd build && ctest --output-on-failure -j1 --timeout 1800)

echo "== build (ASan/UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPCP_SANITIZE=ON -DPCP_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests under ASan/UBSan (the kernel lab and the tests that record live run once, above: libtracefs's own leaks)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0" ctest --output-on-failure -j"$jobs" -E 'integration\.(lab|pcprecord|compare_e2e|fuzz_short)')
