#!/bin/bash
# Several trace buffers in one file (trace-cmd extract -B a -B b, -a -t, -t -B a; fixtures from
# tests/fixtures/record_buffer_fixtures.sh) and a non-overwrite buffer that dropped events.
# pcpanalyze picks the only buffer with analyzable events and says which, refuses with one
# line listing them (exit 9) when several have some, reads the one given by --buffer; compare
# takes --buffer too. Expected losses come from `trace-cmd report --stat` (the file's CPUSTAT,
# read by trace-cmd); the tables themselves are checked by expected_vs_pcpanalyze (cases.txt).
# ctest: COST 40   (seconds, about: long tests start first under ctest -j)
set -u
build=${1:?build dir}
src=${PCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
pcpanalyze=$build/pcpanalyze
fx=$src/tests/fixtures
[ -x "$pcpanalyze" ] || { echo "no $pcpanalyze"; exit 1; }
[ -r "$fx/buffers-ab.dat" ] || { echo "SKIP: no $fx/buffers-ab.dat"; exit 77; }
command -v trace-cmd >/dev/null || { echo "SKIP: no trace-cmd"; exit 77; }

tmp=$(mktemp -d /tmp/pcp_buffers.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# refuse NAME FILE WANT_EXIT PATTERN... [-- options]: one stderr line naming the file, no DB
refuse() {
	local name=$1 file=$2 want=$3 rc err; shift 3
	local pats=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do pats+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	"$pcpanalyze" -q -o "$tmp/r.db" "$@" "$file" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	err=$(cat "$tmp/err")
	[ "$rc" -eq "$want" ] || fail "$name: exit $rc, want $want ($err)"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$name: stderr is not one line: $err"
	case "$err" in
	"pcpanalyze: $file: "?*) ;;
	"pcpanalyze: --"*) [ "$want" -eq 2 ] || fail "$name: usage message for a file error: $err" ;;
	*) fail "$name: message does not name the file: $err" ;;
	esac
	for p in "${pats[@]}"; do
		case "$err" in *"$p"*) ;; *) fail "$name: message lacks '$p': $err" ;; esac
	done
	[ ! -e "$tmp/r.db" ] || fail "$name: database written"
	rm -f "$tmp/r.db"
	echo "ok   $name: exit $rc: $err"
}

refuse two-instances "$fx/buffers-ab.dat" 9 pcptrace_a pcptrace_b "--buffer"
refuse all-buffers "$fx/buffers-all.dat" 9 "3 buffers" "top, pcptrace_a, pcptrace_b"
refuse top-and-instance "$fx/buffers-top.dat" 9 "top, pcptrace_a"
refuse no-such-buffer "$fx/buffers-ab.dat" 9 "'nope'" "top, pcptrace_b, pcptrace_a" -- --buffer nope
refuse empty-name "$fx/buffers-ab.dat" 2 -- --buffer ""

info() { sqlite3 "$1" "SELECT value FROM trace_info WHERE key = '$2'"; }

# one buffer with analyzable events: used, and the summary says which
"$pcpanalyze" -o "$tmp/o.db" --json "$tmp/o.json" "$fx/buffers-other.dat" >"$tmp/out" 2>"$tmp/err" ||
	fail "buffers-other: exit $? ($(cat "$tmp/err"))"
grep -q "^  buffer     pcptrace_a (only buffer with analyzable events, of 2 with data)" "$tmp/out" ||
	fail "buffers-other: summary does not say the buffer: $(head -6 "$tmp/out")"
[ "$(info "$tmp/o.db" buffer)" = pcptrace_a ] || fail "buffers-other: trace_info buffer $(info "$tmp/o.db" buffer)"
python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['trace']; sys.exit(t['buffer'] != 'pcptrace_a' or t['events_lost_source'] != 'none')" "$tmp/o.json" ||
	fail "buffers-other: JSON trace_info buffer/events_lost_source"
echo "ok   buffers-other: pcptrace_a chosen and named"

# --buffer top and an instance of the same file: each buffer's own CPU count and records
for b in top pcptrace_a; do
	"$pcpanalyze" -q -o "$tmp/$b.db" --buffer "$b" "$fx/buffers-top.dat" 2>"$tmp/err" ||
		fail "buffers-top --buffer $b: exit $? ($(cat "$tmp/err"))"
	[ "$(info "$tmp/$b.db" buffer)" = "$b" ] || fail "buffers-top: buffer is $(info "$tmp/$b.db" buffer), want $b"
done
# the kernel's counter of what extract read from each buffer: sum of CPUSTAT "read events"
read_events() {
	trace-cmd report --stat "$1" 2>/dev/null | awk -v want="$2" '
		/^Buffer: / { buf = $2; next }
		/^read events:/ { if ((buf == "" ? "top" : buf) == want) n += $3 }
		END { print n + 0 }'
}
for b in top pcptrace_a; do
	want=$(read_events "$fx/buffers-top.dat" "$b")
	got=$(info "$tmp/$b.db" events_total)
	[ "$got" = "$want" ] || fail "buffers-top --buffer $b: events_total $got, CPUSTAT read events $want"
	echo "ok   buffers-top --buffer $b: events_total $got = CPUSTAT read events"
done

# drops of a non-overwrite buffer: no missed-event marks, the loss is in CPUSTAT only
for f in dropped.dat dropped-v6.dat.xz; do
	dat=$tmp/${f%.xz}
	case $f in *.xz) xz -dc "$fx/$f" >"$dat" ;; *) cp "$fx/$f" "$dat" ;; esac
	want=$(trace-cmd report --stat "$dat" 2>/dev/null | awk '/^Buffer: pcptrace_a/ { on = 1 } on && /^dropped events:/ { n += $3 } END { print n + 0 }')
	marks=$(trace-cmd report "$dat" 2>/dev/null | grep -c "EVENTS DROPPED")
	"$pcpanalyze" -o "$tmp/d.db" "$dat" >"$tmp/out" 2>"$tmp/err" || fail "$f: exit $? ($(cat "$tmp/err"))"
	[ "$want" -gt 0 ] || fail "$f: the fixture dropped nothing"
	[ "$marks" -eq 0 ] || fail "$f: the fixture has $marks drop marks (expected none)"
	[ "$(info "$tmp/d.db" events_lost)" = "$want" ] || fail "$f: events_lost $(info "$tmp/d.db" events_lost), CPUSTAT dropped $want"
	[ "$(info "$tmp/d.db" lossy)" = 1 ] || fail "$f: not lossy"
	[ "$(info "$tmp/d.db" events_lost_source)" = cpustat_dropped ] || fail "$f: source $(info "$tmp/d.db" events_lost_source)"
	grep -q "LOSSY TRACE" "$tmp/out" || fail "$f: the summary does not say LOSSY"
	echo "ok   $f: $want events lost (cpustat_dropped), no marks"
	rm -f "$tmp/d.db"
done

# compare takes --buffer: without it a multi-buffer trace is refused naming the file
"$build/pcpanalyze" compare -q "$fx/buffers-ab.dat" "$fx/buffers-ab.dat" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] || fail "compare without --buffer: exit $rc, want 2"
grep -q "buffers-ab.dat.*--buffer" "$tmp/err" || fail "compare without --buffer: $(cat "$tmp/err")"
"$build/pcpanalyze" compare -q --buffer pcptrace_a "$fx/buffers-ab.dat" "$fx/buffers-ab.dat" >"$tmp/out" 2>"$tmp/err" ||
	fail "compare --buffer pcptrace_a: exit $? ($(cat "$tmp/err"))"
echo "ok   compare --buffer"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all buffer checks passed"
