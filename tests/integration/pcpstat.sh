#!/usr/bin/env bash
# pcpstat on the real kernel (issue 15). Needs root and tracefs; otherwise skips (77).
# Checks: watched and recorded in one run beside pcpload (pcpstat -o t.dat 1 3), its totals
# (refill/drain pages, zone-lock acquisitions, pairs, cross-CPU pairs, percpu allocs/frees and
# outstanding bytes) equal the independent checkers over `trace-cmd report` text
# (tests/expected/pcp_expected.py, percpu_expected.py) and pcpanalyze on the same file; COUNT
# rows, piped = plain lines; the Prometheus file passes promtool and its counters sum to the
# totals; SIGINT and SIGTERM end it with status 0 and its instance gone; usage errors exit 2.
# Only what holds on a busy machine is asserted of the live figures (rows are not compared).
# ctest: RESOURCE_LOCK tracefs   (records the live kernel: one such test at a time)
set -u
BUILD=$(cd "${1:?usage: pcpstat.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PCPSTAT=$BUILD/pcpstat
PCPLOAD=$BUILD/pcpload
PCPANALYZE=$BUILD/pcpanalyze
. "$(dirname "$0")/live_common.bash"

live_need_root
live_need_tracefs
live_need_event kmem/mm_page_pcpu_drain "kernel has no PCP trace events"
live_need_tools trace-cmd python3
[ -x "$PCPSTAT" ] && [ -x "$PCPLOAD" ] || fail "pcpstat/pcpload not built in $BUILD"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

# usage errors: status 2, one line
"$PCPSTAT" 0 >/dev/null 2>err; [ $? = 2 ] || fail "INTERVAL 0 should exit 2"
"$PCPSTAT" -q 1 1 >/dev/null 2>err; [ $? = 2 ] || fail "-q without an output should exit 2"
"$PCPSTAT" 1 x >/dev/null 2>err; [ $? = 2 ] || fail "COUNT x should exit 2"

# --- watch and record in one run
"$PCPLOAD" -d 5 -s 128 -q &
load=$!
"$PCPSTAT" -o t.dat --prometheus p.prom 1 3 > rows.txt 2> stat.err
rc=$?
wait $load
[ $rc = 0 ] || fail "pcpstat exited $rc: $(cat stat.err)"
[ -s t.dat ] && [ -s t.dat.meta.json ] || fail "no t.dat / t.dat.meta.json"
grep -q '^# pcpstat: zone-lock acquisitions inferred\|^# pcpstat: zone-lock acquisitions native' rows.txt ||
	fail "header does not say how acquisitions are known"
rows=$(awk '$2 == "all"' rows.txt | wc -l)
[ "$rows" = 3 ] || fail "pcpstat 1 3 printed $rows rows, not 3: $(cat rows.txt)"
if grep -q $'\033' rows.txt; then fail "escape sequences in piped output"; fi
total=$(grep '^# total:' rows.txt) || fail "no total line"
tot() { echo "$total" | sed -n "s/.* $1 \([0-9]*\).*/\1/p"; }
echo "$total" | grep -q provisional && fail "gaps still provisional at the end: $total"

python3 "$SRC/tests/expected/pcp_expected.py" t.dat -o exp.json || fail "pcp_expected.py failed"
python3 "$SRC/tests/expected/percpu_expected.py" t.dat -o pexp.json || fail "percpu_expected.py failed"
"$PCPANALYZE" -q -o t.db --json t.json t.dat || fail "pcpanalyze failed on the watched trace"
python3 - "$total" exp.json pexp.json t.json <<'PY' || fail "totals differ"
import json, re, sys
total, exp, pexp, ana = sys.argv[1], *[json.load(open(p)) for p in sys.argv[2:5]]
got = {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", total)}
m = {k: v["value"] for k, v in exp["metrics"].items()}
pm = {k: v["value"] for k, v in pexp["metrics"].items()}
acq = lambda rows, kind: sum(r["acquisitions"] for r in rows if r["kind"] == kind)
want = dict(refill_pages=m["refill_pages"], drain_pages=m["drain_pages"],
            refill_locks=acq(exp["zone_lock"], "refill"), drain_locks=acq(exp["zone_lock"], "drain"),
            pairs=m["pairs"], cross_cpu_pairs=m["cross_cpu_pairs"],
            percpu_allocs=pm["percpu_allocs"], percpu_frees=pm["percpu_frees"],
            percpu_outstanding_bytes=pm["percpu_outstanding_bytes"])
am = ana["metrics"]
aval = lambda k: am[k]["value"] if isinstance(am[k], dict) else am[k]
analyzed = dict(refill_pages=aval("refill_pages"), drain_pages=aval("drain_pages"),
                refill_locks=acq(ana["zone_lock"], "refill"), drain_locks=acq(ana["zone_lock"], "drain"),
                pairs=aval("pairs"), cross_cpu_pairs=aval("cross_cpu_pairs"),
                percpu_allocs=aval("percpu_allocs"), percpu_frees=aval("percpu_frees"),
                percpu_outstanding_bytes=aval("percpu_outstanding_bytes"))
bad = 0
for k in want:
    if got.get(k) != want[k] or analyzed[k] != want[k]:
        print(f"{k}: pcpstat {got.get(k)}, checker {want[k]}, pcpanalyze {analyzed[k]}")
        bad = 1
print("pcpstat totals:", {k: got.get(k) for k in want})
sys.exit(bad)
PY
[ $(( $(tot refill_pages) + $(tot drain_pages) )) -gt 0 ] || fail "no PCP flow beside pcpload: $total"
[ "$(tot percpu_allocs)" -gt 0 ] || fail "no percpu allocation beside pcpload (fork storm): $total"

# --- Prometheus textfile
if command -v promtool >/dev/null; then
	promtool check metrics < p.prom || fail "promtool check metrics: $(promtool check metrics < p.prom 2>&1 | head -3)"
else
	echo "note: promtool not installed (Debian package prometheus): format not checked"
fi
sum_metric() { awk -v m="$1" '$1 ~ "^"m"[{ ]" || $1 == m {s += $NF} END {print s + 0}' p.prom; }
[ "$(sum_metric pcptrace_pcp_refill_pages_total)" = "$(tot refill_pages)" ] || fail "Prometheus refill pages != total"
[ "$(sum_metric pcptrace_pcp_drain_pages_total)" = "$(tot drain_pages)" ] || fail "Prometheus drain pages != total"
[ "$(awk '/^pcptrace_zone_lock_acquisitions_total.*kind="drain"/ {s += $NF} END {print s + 0}' p.prom)" = "$(tot drain_locks)" ] ||
	fail "Prometheus drain acquisitions != total"
grep -q '^# TYPE pcptrace_pcp_refill_pages_total counter' p.prom || fail "no TYPE line"
ls -a | grep -q '^\.p\.prom\.' && fail "temp file of p.prom left behind"

# --- signals: clean end, instance gone
for sig in INT TERM; do
	"$PCPSTAT" -b 1 > sig.txt 2> sig.err &
	pid=$!
	sleep 2.5
	[ -d $TRACEFS/instances/pcpstat-$pid ] || fail "no instance pcpstat-$pid while running"
	kill -$sig $pid
	wait $pid
	rc=$?
	[ $rc = 0 ] || fail "SIG$sig: exit $rc: $(cat sig.err)"
	[ -d $TRACEFS/instances/pcpstat-$pid ] && fail "SIG$sig: instance pcpstat-$pid left behind"
	grep -q '^# total:' sig.txt || fail "SIG$sig: no total line"
done

# --- SIGKILL leaves the instance; the next pcpstat removes it
"$PCPSTAT" -b 1 > /dev/null 2>&1 &
pid=$!
sleep 2
kill -KILL $pid
wait $pid 2>/dev/null
[ -d $TRACEFS/instances/pcpstat-$pid ] || fail "SIGKILL: no instance pcpstat-$pid to clean up"
"$PCPSTAT" -b 0.5 1 > /dev/null 2>&1 || fail "pcpstat after a SIGKILL failed"
[ -d $TRACEFS/instances/pcpstat-$pid ] && fail "stale instance pcpstat-$pid not removed"

# --- lifecycle: occupancy from the model next to /proc/zoneinfo's
"$PCPLOAD" -d 3 -q -p burst &
load=$!
"$PCPSTAT" --lifecycle -P 1 2 > lc.txt 2> lc.err || fail "pcpstat --lifecycle failed: $(cat lc.err)"
wait $load
awk '$2 == "all" && $9 !~ /^-?[0-9]+$/ {bad = 1} END {exit bad}' lc.txt || fail "no lifecycle occupancy: $(cat lc.txt)"
[ "$(awk '$2 == "0"' lc.txt | wc -l)" = 2 ] || fail "-P: no per-CPU rows: $(cat lc.txt)"
echo "PASS: pcpstat ($total)"
