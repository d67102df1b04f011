#!/bin/bash
# Older kernels' event formats (docs/METRICS.md, "Older kernels' formats"): traces written with
# the format files of Linux 3.6 (struct page * instead of pfn, no percpu_refill field) and 5.15
# (no percpu_refill field) are analyzed, and the summary, JSON and database say how: block_key,
# refill_flag, zone_map n/a, pfn_hex NULL. Without any record of a block event such a trace is
# simply exit 8, not 7. The numbers themselves are checked against the independent checker by
# expected_vs_pcpanalyze (cases oldfmt-page, oldfmt-nofield).
set -u
build=${1:?build dir}
src=$(cd "$(dirname "$0")/../.." && pwd)
fix=$src/tests/fixtures
for t in pcpanalyze pcpsynth; do
	[ -x "$build/$t" ] || { echo "FAIL: $build/$t not built"; exit 1; }
done
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 not installed"; exit 77; }
tmp=$(mktemp -d /tmp/pcp_oldfmt.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

synth() { # NAME ERA
	"$build/pcpsynth" -q -o "$tmp/$1.dat" --formats "$fix/formats/$2" "$fix/$1.synth" ||
		{ fail "pcpsynth $1"; return 1; }
}
info() { sqlite3 "$1" "SELECT value FROM trace_info WHERE key = '$2'"; }
json() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["trace"].get(sys.argv[2]))' "$@"; }

# Linux 3.6: page pointers, derived flag
if synth oldfmt-page linux-3.6; then
	f=$tmp/oldfmt-page
	"$build/pcpanalyze" -o "$f.db" --json "$f.json" "$f.dat" >"$f.txt" 2>"$f.err" ||
		fail "oldfmt-page: exit $? ($(cat "$f.err"))"
	[ -s "$f.err" ] && fail "oldfmt-page: stderr: $(cat "$f.err")"
	grep -q "keyed by struct page pointer" "$f.txt" || fail "oldfmt-page: summary does not say page pointer"
	grep -q "percpu_refill derived as order == 0" "$f.txt" || fail "oldfmt-page: summary does not say derived"
	grep -q "zone n/a" "$f.txt" || fail "oldfmt-page: summary does not say zone n/a"
	[ "$(info "$f.db" block_key)" = page_pointer ] || fail "oldfmt-page: trace_info block_key"
	[ "$(info "$f.db" refill_flag)" = derived ] || fail "oldfmt-page: trace_info refill_flag"
	[ "$(info "$f.db" zone_map)" = n/a ] || fail "oldfmt-page: trace_info zone_map"
	[ "$(json "$f.json" block_key)" = page_pointer ] || fail "oldfmt-page: JSON block_key"
	[ "$(json "$f.json" refill_flag)" = derived ] || fail "oldfmt-page: JSON refill_flag"
	[ "$(sqlite3 "$f.db" "SELECT count(*) FROM v_hot_pfns WHERE pfn_hex IS NULL")" = 2 ] ||
		fail "oldfmt-page: v_hot_pfns.pfn_hex is not n/a (NULL)"
	[ "$(sqlite3 "$f.db" "SELECT printf('0x%x', pfn) FROM v_hot_pfns LIMIT 1")" = 0xffffea0000100000 ] ||
		fail "oldfmt-page: top block is not page A"
	page=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["pfn_cycles"][0].get("page"))' "$f.json")
	[ "$page" = 0xffffea0000100000 ] || fail "oldfmt-page: JSON pfn_cycles[0].page is $page"
	echo "ok   oldfmt-page"
fi

# Linux 5.15: pfn, derived flag; PFN features as usual
if synth oldfmt-nofield linux-5.15; then
	f=$tmp/oldfmt-nofield
	"$build/pcpanalyze" -q -o "$f.db" --json "$f.json" "$f.dat" 2>"$f.err" ||
		fail "oldfmt-nofield: exit $? ($(cat "$f.err"))"
	[ "$(info "$f.db" block_key)" = pfn ] || fail "oldfmt-nofield: trace_info block_key"
	[ "$(info "$f.db" refill_flag)" = derived ] || fail "oldfmt-nofield: trace_info refill_flag"
	[ "$(sqlite3 "$f.db" "SELECT pfn_hex FROM v_hot_pfns LIMIT 1")" = 0x1000 ] ||
		fail "oldfmt-nofield: v_hot_pfns.pfn_hex"
	echo "ok   oldfmt-nofield"
fi

# the current format: the field, pfn
f=$tmp/current
if "$build/pcpanalyze" -q -o "$f.db" "$fix/fallback-basic.dat" 2>"$f.err"; then
	[ "$(info "$f.db" block_key)/$(info "$f.db" refill_flag)" = pfn/field ] ||
		fail "fallback-basic: block_key/refill_flag are not pfn/field"
	echo "ok   current format: pfn/field"
else
	fail "fallback-basic: exit $? ($(cat "$f.err"))"
fi

# no record of a block event: exit 8 (nothing to analyze), one line naming the file
if synth oldfmt-norecords linux-3.6; then
	f=$tmp/oldfmt-norecords
	"$build/pcpanalyze" -q -o "$f.db" "$f.dat" 2>"$f.err"
	rc=$?
	[ "$rc" -eq 8 ] || fail "oldfmt-norecords: exit $rc, want 8 ($(cat "$f.err"))"
	[ "$(wc -l <"$f.err")" -eq 1 ] && grep -q "^pcpanalyze: $f.dat: " "$f.err" ||
		fail "oldfmt-norecords: stderr: $(cat "$f.err")"
	[ ! -e "$f.db" ] || fail "oldfmt-norecords: database written"
	echo "ok   oldfmt-norecords: exit $rc: $(cat "$f.err")"
fi

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "oldfmt: all ok"
