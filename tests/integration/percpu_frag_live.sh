#!/usr/bin/env bash
# Percpu fragmentation (issue 16) on a live recording. Needs root, tracefs, debugfs with
# percpu_stats (CONFIG_PERCPU_STATS) and a memory cgroup hierarchy; otherwise skips (77).
# pcprecord around: create 120 memory cgroups, remove every other one (each holds percpu
# memory); the other 60 are removed after the recording. Asserts only what holds on a busy
# machine, where other processes allocate and free percpu memory too:
#  - the independent checker (its own percpu_stats parser over the meta's texts, trace-cmd
#    report for the trace) agrees with every percpu_frag and percpu_run_chunk row and the five
#    fragmentation metrics;
#  - every figure of both texts is in percpu_frag; the first chunk is matched; the metrics are
#    defined, percpu_frag_ratio within [0, 1];
#  - the run's surviving allocations per chunk add up to percpu_outstanding (base_addr != 0) and
#    hold at least one allocation per remaining cgroup.
# Whether fragmentation grew is not asserted: other work can free what fills the holes.
# ctest: RESOURCE_LOCK tracefs   (records the live kernel: one such test at a time)
set -u
BUILD=$(cd "${1:?usage: percpu_frag_live.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PCPRECORD=$BUILD/pcprecord
PCPANALYZE=$BUILD/pcpanalyze
N=120
. "$(dirname "$0")/live_common.bash"

live_need_root "not root"
live_need_tracefs "no tracefs"
live_need_event percpu "kernel has no percpu trace events"
if [ ! -e /sys/kernel/debug/percpu_stats ]; then
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null
fi
[ -r /sys/kernel/debug/percpu_stats ] ||
	skip "no /sys/kernel/debug/percpu_stats (CONFIG_PERCPU_STATS)"
if [ -f /sys/fs/cgroup/memory/cgroup.procs ]; then
	ROOT=/sys/fs/cgroup/memory
elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	ROOT=/sys/fs/cgroup
else
	skip "no memory cgroup hierarchy"
fi
live_need_tools trace-cmd python3

WORK=$(mktemp -d)
PARENT=$ROOT/pcptrace_frag_live_$$
cleanup() {
	if [ -d "$PARENT" ]; then
		for d in "$PARENT"/c*; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
		rmdir "$PARENT" 2>/dev/null || echo "percpu_frag_live: could not remove $PARENT" >&2
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$PARENT" || skip "cannot create a cgroup under $ROOT"

"$PCPRECORD" -q -b 16384 -o "$WORK/t.dat" -- sh -c '
	P=$1; N=$2; i=1
	while [ $i -le $N ]; do mkdir "$P/c$i" || exit 1; i=$((i + 1)); done
	i=1
	while [ $i -le $N ]; do rmdir "$P/c$i"; i=$((i + 2)); done
' sh "$PARENT" "$N" 2> "$WORK/err" || fail "pcprecord failed: $(cat "$WORK/err")"
python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
ok = all(m["snapshots"][w]["percpu_stats"].get("available") for w in ("before", "after"))
sys.exit(0 if ok else 3)
' "$WORK/t.dat.meta.json"
case $? in
0) ;;
3) skip "the recorder marked a percpu_stats snapshot unavailable (a tracing switch raced)" ;;
*) fail "cannot read the meta file" ;;
esac
"$PCPANALYZE" -q -o "$WORK/t.db" "$WORK/t.dat" 2> "$WORK/err" ||
	fail "pcpanalyze: $(cat "$WORK/err")"
python3 "$SRC/tests/expected/percpu_frag_expected.py" --db "$WORK/t.db" "$WORK/t.dat" ||
	fail "the checker disagrees with the database"
python3 - "$WORK/t.dat.meta.json" "$WORK/t.db" "$N" <<'EOF' || exit 1
import json, re, sqlite3, sys
meta, db, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
m = json.load(open(meta))
def nchunks(text):
    return sum(1 for l in text.splitlines() if l.startswith("Chunk"))
nb = nchunks(m["snapshots"]["before"]["percpu_stats"]["text"])
na = nchunks(m["snapshots"]["after"]["percpu_stats"]["text"])
con = sqlite3.connect(db)
def one(sql, *a):
    return con.execute(sql, a).fetchone()[0]
def check(cond, msg):
    if not cond:
        print("FAIL: " + msg); sys.exit(1)
check(one("SELECT count(*) FROM percpu_frag WHERE before IS NOT NULL") == 5 + 9 * nb, "before rows")
check(one("SELECT count(*) FROM percpu_frag WHERE after IS NOT NULL") == 5 + 9 * na, "after rows")
check(one("SELECT count(DISTINCT status) FROM percpu_frag WHERE scope = 'first'") == 1 and
      one("SELECT status FROM percpu_frag WHERE scope = 'first'") == "matched",
      "first chunk matched")
v = dict(con.execute("SELECT name, value FROM metrics WHERE name LIKE 'percpu_%frag%' OR "
                     "name IN ('percpu_free_bytes_change', 'percpu_empty_pop_pages_change')"))
check(len(v) == 5 and all(x is not None for x in v.values()), "metrics: %r" % v)
check(0 <= v["percpu_frag_ratio"] <= 1, "percpu_frag_ratio %r" % v["percpu_frag_ratio"])
runs = one("SELECT coalesce(sum(allocs), 0) FROM percpu_run_chunk")
outs = one("SELECT count(*) FROM percpu_outstanding")
check(runs <= outs and runs >= n // 2, "run chunks hold %d allocs, outstanding %d" % (runs, outs))
print("live: %d -> %d chunks, frag ratio %.4f (change %+.4f), %d surviving allocs in %d chunks"
      % (nb, na, v["percpu_frag_ratio"], v["percpu_frag_ratio_change"], runs,
         one("SELECT count(*) FROM percpu_run_chunk")))
EOF
echo "PASS"
