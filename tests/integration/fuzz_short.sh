#!/bin/bash
# A short sanitized libFuzzer run of tests/fuzz/fuzz_analyze (the path of pcpanalyze -o DB
# --json J FILE) from the seed corpus: fixed seed, 60 s, one process. Any crash, sanitizer
# report, leak in our code, timeout (60 s per input; the real-file seed alone takes 10-20 s under ASan on a loaded machine) fails the test. Skips (77) when the fuzz
# build is absent: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DPCP_FUZZ=ON (scripts/test.sh
# builds it). FUZZ_SECONDS overrides the length.
# ctest: COST 70   (seconds, about: long tests start first under ctest -j)
set -u
build=${1:?build dir}
src=${PCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
fuzzer=""
for f in "$build/tests/fuzz/fuzz_analyze" "${PCP_FUZZ_BUILD:-$src/build-fuzz}/tests/fuzz/fuzz_analyze"; do
	[ -x "$f" ] && { fuzzer=$f; break; }
done
[ -n "$fuzzer" ] || { echo "SKIP: no fuzz build (cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DPCP_FUZZ=ON)"; exit 77; }
synth_build=$build
[ -x "$synth_build/pcpsynth" ] || synth_build=$(dirname "$(dirname "$(dirname "$fuzzer")")")
tmp=$(mktemp -d /tmp/fuzz_short.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
bash "$src/tests/fuzz/make_corpus.sh" "$synth_build" "$tmp/seeds" || { echo "FAIL: seed corpus"; exit 1; }
mkdir -p "$tmp/corpus" "$tmp/artifacts" "$tmp/probe-crash" "$tmp/probe-artifacts"
# The header probe's child (lib/tracedat/tracedat_probe.c) crashes inside libtraceevent on this
# kept input, by design; the fuzzer's crash handler must not run in that child (it used to record
# the input as a "crash" while the parent went on to exit 7 as it should).
cp "$src/tests/fuzz/regressions/7-header-parse-crashes-in-probe.dat" "$tmp/probe-crash/"
ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=1024 \
LSAN_OPTIONS="suppressions=$src/tests/lsan.supp:print_suppressions=0" \
	"$fuzzer" -runs=0 -timeout=60 -artifact_prefix="$tmp/probe-artifacts/" "$tmp/probe-crash" \
	>"$tmp/probe.log" 2>&1 || { tail -5 "$tmp/probe.log"; echo "FAIL: the probe-crash input"; exit 1; }
if ls "$tmp/probe-artifacts" | grep -q .; then
	echo "FAIL: a crash in the header probe's child was recorded as the fuzzer's own"; exit 1
fi
# Allocations libtracecmd sizes from the file fail as they would on a real machine (NULL), not
# as a sanitizer abort; leaks inside the tracing libraries are theirs (tests/lsan.supp).
# -report_slow_units: libFuzzer keeps any input over 10 s as a "slow-unit" artifact; on a loaded
# CI machine the real-file seed alone takes that long under ASan, and a hang is -timeout's job.
ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=1024 \
LSAN_OPTIONS="suppressions=$src/tests/lsan.supp:print_suppressions=0" \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$fuzzer" -seed=1 -max_total_time="${FUZZ_SECONDS:-60}" -timeout=60 -report_slow_units=3600 -rss_limit_mb=3072 \
	-malloc_limit_mb=3072 -dict="$src/tests/fuzz/tracedat.dict" -artifact_prefix="$tmp/artifacts/" \
	-print_final_stats=1 "$tmp/corpus" "$tmp/seeds" >"$tmp/log" 2>&1
rc=$?
grep -E '^#[0-9]+.*(DONE|cov:)' "$tmp/log" | tail -1
grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$tmp/log"
if [ "$rc" -ne 0 ] || ls "$tmp/artifacts" | grep -q .; then
	grep -E 'ERROR|SUMMARY|runtime error|fuzz:' "$tmp/log" | head -20
	for a in "$tmp"/artifacts/*; do
		[ -e "$a" ] || continue
		mkdir -p "$src/build-fuzz/artifacts" 2>/dev/null && cp "$a" "$src/build-fuzz/artifacts/" &&
			echo "kept: $src/build-fuzz/artifacts/$(basename "$a")"
	done
	echo "FAIL: the fuzzer found a problem (exit $rc); see tests/fuzz/README.md"
	exit 1
fi
echo "ok: no crash, hang or leak in ${FUZZ_SECONDS:-60} s"
