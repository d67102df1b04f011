#!/usr/bin/env bash
# The test command: sets up, builds (normal + ASan/UBSan), runs every test of each build.
#   scripts/test.sh                   all tests, including the kernel lab (qemu; ~11 min the first time)
#   PCP_SKIP_LAB=1 scripts/test.sh    everything but the kernel lab (ctest lists it as Skipped)
# Every build is tested even when an earlier one failed; the end is one summary line per build,
# and the exit status is non-zero if any build or test failed.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
bash scripts/setup.sh || { echo "test.sh: scripts/setup.sh failed"; exit 1; }
jobs=$(nproc)
# The tests start python3 many times: a version-manager shim (pyenv's is a chain of
# bash scripts, ~2 s a start on a loaded machine, 0.2 s for the interpreter itself) is resolved
# once here, to the interpreter it would have run.
if py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -x "$py" ]; then
	PATH=$(dirname "$py"):$PATH
	export PATH
fi
summary=()
failed=0

# build_and_test LABEL DIR "CMAKE ARGS" "CTEST ARGS" [VAR=VALUE...]: configures and builds DIR,
# runs its tests (with the variables in their environment) and adds LABEL's summary line.
build_and_test() {
	local label=$1 dir=$2 cmake_args ctest_args result skipped
	read -ra cmake_args <<< "$3"
	read -ra ctest_args <<< "$4"
	shift 4
	echo "== $label: build ($dir)"
	if ! cmake -S . -B "$dir" "${cmake_args[@]}" >/dev/null || ! cmake --build "$dir" -j"$jobs"; then
		summary+=("$label ($dir): FAIL: the build failed, its tests did not run")
		failed=1
		return
	fi
	echo "== $label: tests"
	(cd "$dir" && env "$@" ctest --output-on-failure --timeout 1800 "${ctest_args[@]}") 2>&1 | tee "$dir/test.log"
	result=$?
	skipped=$(grep -oE '[[:alnum:]_.]+ \(Skipped\)' "$dir/test.log" | sed 's/ (Skipped)//' | paste -sd ' ')
	line=$(grep -E '[0-9]+% tests passed' "$dir/test.log" | tail -1)
	if [ "$result" = 0 ]; then
		summary+=("$label ($dir): PASS: ${line:-no test ran}${skipped:+; skipped: $skipped}")
	else
		summary+=("$label ($dir): FAIL: ${line:-ctest exited $result}${skipped:+; skipped: $skipped}")
		failed=1
	fi
}

# The fuzz target (clang, libFuzzer): integration.fuzz_short in the normal build runs it.
echo "== fuzz build (libFuzzer, clang): build-fuzz"
if ! CC=clang cmake -S . -B build-fuzz -DPCP_FUZZ=ON -DPCP_WERROR=ON >/dev/null ||
   ! cmake --build build-fuzz -j"$jobs" --target fuzz_analyze; then
	summary+=("fuzz build (build-fuzz): FAIL: the build failed, integration.fuzz_short skips")
	failed=1
fi

# -j: the tests that record the live kernel hold ctest's RESOURCE_LOCK tracefs (their "# ctest:"
# lines), so they run one at a time, beside tests that do not record; the lab (qemu) starts first.
build_and_test "normal build" build "-DCMAKE_BUILD_TYPE=RelWithDebInfo -DPCP_WERROR=ON" "-j$jobs"
# The kernel lab and the tests that record live run once, in the normal build (libtracefs's
# own leaks).
build_and_test "ASan/UBSan build" build-asan \
	"-DCMAKE_BUILD_TYPE=Debug -DPCP_SANITIZE=ON -DPCP_WERROR=ON" \
	"-j$jobs -E integration\.(lab|pcprecord|compare_e2e|fuzz_short)" \
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"

echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
