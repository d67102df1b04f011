#!/usr/bin/env bash
# pcpanalyze --perfetto and the analysis windows/filters (issue 13), on committed fixtures:
# - the timeline of a native lifecycle recording (occupancy, native locks, percpu), an inferred
#   fallback one (zone map) and a percpu one, each checked by tests/expected/perfetto_validate.py
#   (Trace Event Format keys per phase, numeric counters, non-negative durations, monotonic per
#   track; totals equal the results database of the same run); a filtered one; the slice cap
#   (count + note + stderr line); an unwritable target leaves nothing behind;
# - the window and filter in every output (trace_info filter, the JSON, the text line);
# - compare: runs of different windows are refused with exit 15, allowed with
#   --allow-different-windows; equal windows compare;
# - bad option values: exit 2 with one line naming the option.
set -u
BUILD=$(cd "${1:?usage: perfetto_windows.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
A=$BUILD/pcpanalyze
V=$SRC/tests/expected/perfetto_validate.py
F=$SRC/tests/fixtures
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

xz -dc "$F/lab-2node-lifecycle.dat.xz" > "$T/lc.dat" && cp "$F/lab-2node-lifecycle.dat.meta.json" "$T/lc.dat.meta.json"
xz -dc "$F/fallback-zones.dat.xz" > "$T/fz.dat" && cp "$F/fallback-zones.dat.meta.json" "$T/fz.dat.meta.json"
cp "$F/percpu-fork.dat" "$T/pf.dat"

for t in lc fz pf; do
	"$A" -q -o "$T/$t.db" --perfetto "$T/$t.json" "$T/$t.dat" || fail "$t: pcpanalyze --perfetto exit $?"
	python3 "$V" "$T/$t.json" "$T/$t.db" || fail "$t: timeline does not validate"
done
python3 - "$T/lc.json" <<'PY' || fail "lifecycle timeline: missing tracks"
import json, sys
d = json.load(open(sys.argv[1]))
names = {e["name"] for e in d["traceEvents"] if e["ph"] == "C"}
for want in ("cpu0 refill", "cpu0 drain", "cpu0 occupancy", "percpu outstanding", "percpu allocs"):
    assert want in names, want
x = [e for e in d["traceEvents"] if e["ph"] == "X"]
assert x and all(e["ts"] > 1e6 for e in x)          # trace time in µs, not from 0
assert any(e["args"]["comm"] not in ("", "<...>") for e in x)   # named from the cmdlines
assert d["otherData"]["filter"] == "none"
PY

# a filtered timeline: the window is in the file and the totals still match its database
"$A" -q -o "$T/lcw.db" --json "$T/lcw.analysis.json" --perfetto "$T/lcw.json" --from 2 --to 6 --cpus 0-1 "$T/lc.dat" \
	|| fail "filtered analysis exit $?"
python3 "$V" "$T/lcw.json" "$T/lcw.db" || fail "filtered timeline does not validate"
[ "$(sqlite3 "$T/lcw.db" "SELECT value FROM trace_info WHERE key='filter'")" = "from=+2.000000000s to=+6.000000000s cpus=0-1" ] \
	|| fail "trace_info filter: $(sqlite3 "$T/lcw.db" "SELECT value FROM trace_info WHERE key='filter'")"
python3 - "$T/lcw.analysis.json" "$T/lcw.db" <<'PY' || fail "JSON window"
import json, sqlite3, sys
j = json.load(open(sys.argv[1]))["trace"]
db = dict(sqlite3.connect(sys.argv[2]).execute("SELECT key, value FROM trace_info").fetchall())
assert j["filter"] == db["filter"], (j["filter"], db["filter"])
assert str(j["window_from_ns"]) == db["window_from_ns"] and str(j["window_to_ns"]) == db["window_to_ns"]
assert int(db["window_to_ns"]) - int(db["window_from_ns"]) == 4 * 10**9
assert int(db["first_ts_ns"]) >= int(db["window_from_ns"]) and int(db["last_ts_ns"]) < int(db["window_to_ns"])
# the before/after snapshots bound the whole recording: no level, no percpu_stats verdict
assert db["lifecycle_occupancy"] == "change", db.get("lifecycle_occupancy")
assert db["percpu_stats_check"] == "filtered", db.get("percpu_stats_check")
assert "percpu_stats_verdict" not in db
PY
"$A" --from 2 --to 6 --cpus 0-1 -o "$T/lcw2.db" "$T/lc.dat" | grep -q '^  filter     from=+2.000000000s to=+6.000000000s cpus=0-1 (only the records it keeps' \
	|| fail "text summary: no filter line"

# the slice cap: counted, noted, announced
"$A" -q -o "$T/cap.db" --perfetto "$T/cap.json" --perfetto-max-slices 10 "$T/fz.dat" 2> "$T/cap.err" || fail "capped exit $?"
grep -q "zone-lock slices capped at 10" "$T/cap.err" || fail "no stderr line for the cap"
python3 "$V" "$T/cap.json" "$T/cap.db" || fail "capped timeline does not validate"

# an output that cannot be written: one line, nothing left behind, the database untouched
mkdir "$T/ro" && chmod 555 "$T/ro"
if [ "$(id -u)" != 0 ]; then
	"$A" -q -o "$T/ro.db" --perfetto "$T/ro/t.json" "$T/pf.dat" 2> "$T/ro.err" && fail "unwritable --perfetto accepted"
	[ "$(wc -l < "$T/ro.err")" = 1 ] || fail "unwritable: $(cat "$T/ro.err")"
	[ ! -e "$T/ro.db" ] || fail "database written although the timeline failed"
fi
"$A" -q -o "$T/d.db" --perfetto "$T/ro" "$T/pf.dat" 2> "$T/dir.err"; rc=$?
[ $rc -ne 0 ] && [ "$(wc -l < "$T/dir.err")" = 1 ] && [ ! -e "$T/d.db" ] || fail "a directory as --perfetto: exit $rc, $(cat "$T/dir.err")"
"$A" -q -o "$T/s.db" --perfetto "$T/pf.dat" "$T/pf.dat" 2>/dev/null; [ $? = 2 ] || fail "--perfetto = the input not refused"

# compare: different windows are not comparable (15) unless allowed; equal ones are
"$A" -q -o "$T/w1.db" --from 0.1 --to 0.2 "$T/pf.dat" || fail "w1"
"$A" -q -o "$T/w2.db" --from 0.1 --to 0.2 "$T/pf.dat" || fail "w2"
"$A" -q -o "$T/all.db" "$T/pf.dat" || fail "all"
"$A" compare -q "$T/w1.db" "$T/all.db" 2> "$T/cmp.err"; rc=$?
[ $rc = 15 ] || fail "compare of different windows: exit $rc, $(cat "$T/cmp.err")"
grep -q "window/filter 'from=+0.100000000s to=+0.200000000s'.*'none'.*--allow-different-windows" "$T/cmp.err" \
	|| fail "compare message: $(cat "$T/cmp.err")"
"$A" compare -q --allow-different-windows "$T/w1.db" "$T/all.db"; rc=$?
[ $rc = 0 ] || [ $rc = 1 ] || fail "--allow-different-windows: exit $rc"
"$A" compare -q "$T/w1.db" "$T/w2.db" || fail "equal windows: exit $?"
"$A" compare -q "$T/w1.db" -- "$T/w2.db" "$T/all.db" 2>/dev/null; [ $? = 15 ] || fail "mixed new side not refused"
# trace.dat inputs analyzed with compare's own window options
"$A" compare -q --from 0.1 --to 0.2 "$T/pf.dat" "$T/w2.db" || fail "compare --from/--to on a trace: exit $?"

# bad values: usage (2), one line naming the option
for bad in "--from x" "--to 1.0000000001" "--cpus 3-1" "--cpus a" "--pid -4" "--pid 1,,2" "--comm ''" \
	   "--from 2 --to 1" "--perfetto-max-slices -1"; do
	eval "\"$A\" -q -o \"$T/bad.db\" $bad \"$T/pf.dat\"" 2> "$T/bad.err"; rc=$?
	[ $rc = 2 ] && [ "$(wc -l < "$T/bad.err")" = 1 ] || fail "$bad: exit $rc, $(cat "$T/bad.err")"
done
# a window with nothing in it: no analyzable event (8), said of the selection, not the trace
records=$(trace-cmd report "$T/pf.dat" 2>/dev/null | grep -vc '^cpus=\|^CPU\|^$')   # one line a record
"$A" -q -o "$T/empty.db" --from @1 --to @2 "$T/pf.dat" 2> "$T/empty.err"; rc=$?
[ $rc = 8 ] || fail "empty window: exit $rc"
grep -q "the window and filters keep none of the trace's $records records" "$T/empty.err" \
	|| fail "empty window message ($records records): $(cat "$T/empty.err")"
# --comm or --pid of no task keeps nothing
"$A" -q -o "$T/nocomm.db" --comm no-such-task "$T/pf.dat" 2> "$T/nocomm.err"; [ $? = 8 ] || fail "unknown comm: exit $?"
grep -q "the window and filters keep none" "$T/nocomm.err" || fail "unknown comm message: $(cat "$T/nocomm.err")"
"$A" -q -o "$T/nopid.db" --pid 999999 "$T/pf.dat" 2> "$T/nopid.err"; [ $? = 8 ] || fail "unknown pid: exit $?"
grep -q "keep none" "$T/nopid.err" || fail "unknown pid message: $(cat "$T/nopid.err")"
echo "ok: perfetto timelines validated, windows recorded, compare refuses different windows"
