#!/usr/bin/env bash
# Percpu fragmentation (issue 16) on the real recording tests/fixtures/percpu-frag.dat (made by
# tests/fixtures/record_frag_fixture.sh: 600 memory cgroups created, every other one removed).
# Checks:
#  - tests/expected/percpu_frag_expected.py (its own percpu_stats parser over the meta's texts,
#    trace-cmd report for the trace) agrees with every percpu_frag row, percpu_run_chunk row and
#    fragmentation metric of the database;
#  - the recording shows the change, from the kernel's texts alone (python, not our output):
#    sum_frag / free_bytes grew, a chunk was added; and the database says so;
#  - the kernel and the trace agree on the chunk created during the run: its after nr_alloc is
#    the run's surviving allocations in it, and their holes are its sum_frag / max_frag;
#  - text summary line and JSON members;
#  - pcpanalyze compare flags the increase: the same trace with a meta whose after snapshot is
#    its before one (no change) as base, the real one as new: regression of percpu_frag_ratio
#    and percpu_frag_ratio_change (exit 1); the other way round: better (exit 0).
#    (Both analyses read the same trace: every other metric is the same.)
set -u
BUILD=$(cd "${1:?usage: percpu_frag.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PCPANALYZE=$BUILD/pcpanalyze
FIX=$SRC/tests/fixtures/percpu-frag.dat

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
command -v trace-cmd >/dev/null || skip "trace-cmd is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp "$FIX" "$FIX.meta.json" "$WORK/" || fail "cannot copy the fixture"
T=$WORK/percpu-frag.dat

"$PCPANALYZE" -o "$WORK/a.db" --json "$WORK/a.json" "$T" > "$WORK/summary.txt" 2> "$WORK/err" ||
	fail "pcpanalyze failed: $(cat "$WORK/err")"
"$PCPANALYZE" -o "$WORK/b.db" "$T" > "$WORK/summary.txt" 2> "$WORK/err" ||
	fail "pcpanalyze failed: $(cat "$WORK/err")"

python3 "$SRC/tests/expected/percpu_frag_expected.py" --db "$WORK/a.db" -o "$WORK/exp.json" "$T" ||
	fail "the checker disagrees with the database"

python3 - "$T.meta.json" "$WORK/a.db" "$WORK/exp.json" "$WORK/a.json" "$WORK/summary.txt" \
	<<'EOF' || exit 1
import json, re, sqlite3, sys
meta, db, exp, js, summary = sys.argv[1:]
m = json.load(open(meta))
def stats(text):
    chunks, glob, cur, sec = [], {}, None, None
    for line in text.splitlines():
        if line.startswith("Global Stats"): sec = "g"
        elif line.startswith("Per Chunk"): sec = "c"
        elif line.startswith("Chunk"):
            cur = {"label": line}; chunks.append(cur)
        else:
            k = re.match(r"^\s+(\w+)\s*:\s*(-?\d+)", line)
            if k and sec == "g": glob[k.group(1)] = int(k.group(2))
            elif k and sec == "c" and cur is not None: cur[k.group(1)] = int(k.group(2))
    return glob, chunks
bg, bc = stats(m["snapshots"]["before"]["percpu_stats"]["text"])
ag, ac = stats(m["snapshots"]["after"]["percpu_stats"]["text"])
rb = sum(c["sum_frag"] for c in bc) / sum(c["free_bytes"] for c in bc)
ra = sum(c["sum_frag"] for c in ac) / sum(c["free_bytes"] for c in ac)
def check(cond, msg):
    if not cond:
        print("FAIL: " + msg); sys.exit(1)
check(ra > rb + 0.1,
      "the fixture's texts do not show fragmentation growing (%.4f -> %.4f)" % (rb, ra))
check(ag["nr_chunks"] > bg["nr_chunks"], "the fixture added no chunk")
con = sqlite3.connect(db)
v = dict(con.execute("SELECT name, value FROM metrics"))
check(abs(v["percpu_frag_ratio"] - ra) < 1e-12,
      "percpu_frag_ratio %r, texts say %r" % (v["percpu_frag_ratio"], ra))
check(abs(v["percpu_frag_ratio_change"] - (ra - rb)) < 1e-12, "percpu_frag_ratio_change")
check(v["percpu_frag_ratio_change"] > 0, "no increase in the database")
# the chunk created during the run: kernel (after text) against the trace (its survivors)
created = con.execute("SELECT after_chunk, base_addr FROM percpu_frag WHERE status = 'created' "
                      "GROUP BY pairing").fetchall()
check(len(created) == 1 and created[0][1] is not None, "created chunk rows: %r" % created)
aj, base = created[0]
rc = con.execute("SELECT allocs, holes, hole_bytes, max_hole_bytes, lo_off, created_ns FROM "
                 "percpu_run_chunk WHERE base_addr = ?", (base,)).fetchone()
check(rc is not None and rc[5] is not None, "no run chunk for the created chunk")
check(rc[0] == ac[aj]["nr_alloc"],
      "created chunk: %d surviving allocs, kernel nr_alloc %d" % (rc[0], ac[aj]["nr_alloc"]))
check(rc[4] == 0 and rc[2] == ac[aj]["sum_frag"] and rc[3] == ac[aj]["max_frag"],
      "created chunk: holes %r vs kernel sum_frag %d max_frag %d"
      % (rc, ac[aj]["sum_frag"], ac[aj]["max_frag"]))
# every figure of both texts is in percpu_frag, once, as printed
n = con.execute("SELECT count(*) FROM percpu_frag WHERE before IS NOT NULL").fetchone()[0]
check(n == 5 + 9 * len(bc), "before figures: %d rows" % n)
n = con.execute("SELECT count(*) FROM percpu_frag WHERE after IS NOT NULL").fetchone()[0]
check(n == 5 + 9 * len(ac), "after figures: %d rows" % n)
j = json.load(open(js))["percpu"]
check(j["frag"]["grew"] is True and len(j["run_chunks"]) >= 2, "JSON frag/run_chunks")
check(abs(j["frag"]["frag_ratio_after"] - ra) < 1e-12, "JSON frag_ratio_after")
line = [l for l in open(summary) if "fragmentation" in l]
want = "fragmentation grew: percpu_frag_ratio %.4f -> %.4f" % (rb, ra)
check(line and line[0].strip().startswith(want),
      "text line: %r" % line[:1])
print("fixture: frag ratio %.4f -> %.4f, created chunk %d allocs, holes %d bytes = sum_frag"
      % (rb, ra, rc[0], rc[2]))
EOF

# compare: base = the same trace with no change in the snapshots, new = the real recording
mkdir -p "$WORK/base" "$WORK/new"
cp "$T" "$WORK/base/t.dat" && cp "$T" "$WORK/new/t.dat" &&
	cp "$T.meta.json" "$WORK/new/t.dat.meta.json" || fail "copy"
python3 - "$T.meta.json" "$WORK/base/t.dat.meta.json" <<'EOF' || fail "cannot write the base meta"
import json, sys
m = json.load(open(sys.argv[1]))
m["snapshots"]["after"]["percpu_stats"] = m["snapshots"]["before"]["percpu_stats"]
json.dump(m, open(sys.argv[2], "w"), indent=2)
EOF
"$PCPANALYZE" compare --json "$WORK/cmp.json" "$WORK/base/t.dat" "$WORK/new/t.dat" \
	> "$WORK/cmp.txt" 2> "$WORK/err"
rc=$?
[ $rc = 1 ] || fail "compare no-change -> real: exit $rc, expected 1 (regression): $(cat "$WORK/err")"
# (the other direction: the real run's max_frag and empty_pop_pages are lower than the
# no-change run's, so only the two ratio metrics are compared)
"$PCPANALYZE" compare --only percpu_frag_ratio,percpu_frag_ratio_change --json "$WORK/cmp2.json" \
	"$WORK/new/t.dat" "$WORK/base/t.dat" > "$WORK/cmp2.txt" 2> "$WORK/err"
rc=$?
[ $rc = 0 ] || fail "compare real -> no-change: exit $rc, expected 0: $(cat "$WORK/err")"
python3 - "$WORK/cmp.json" "$WORK/cmp2.json" <<'EOF' || exit 1
import json, sys
def verdicts(p):
    d = json.load(open(p))
    ms = d["metrics"]
    if isinstance(ms, dict):
        return {k: v["verdict"] for k, v in ms.items()}
    return {m["name"]: m["verdict"] for m in ms}
up, down = verdicts(sys.argv[1]), verdicts(sys.argv[2])
for name in ("percpu_frag_ratio", "percpu_frag_ratio_change"):
    if up.get(name) != "regression" or down.get(name) != "better":
        print("FAIL: %s: %s up, %s down" % (name, up.get(name), down.get(name))); sys.exit(1)
if up.get("percpu_free_bytes_change") != "changed":
    print("FAIL: percpu_free_bytes_change: %s" % up.get("percpu_free_bytes_change")); sys.exit(1)
others = [k for k, v in up.items() if v == "regression" and not k.startswith("percpu_frag")
          and k not in ("percpu_max_frag_bytes", "percpu_empty_pop_pages_change")]
if others:
    print("FAIL: other regressions: %s" % others); sys.exit(1)
print("compare: %s" % {k: up[k] for k in up if "frag" in k or "pop" in k or "free_bytes" in k})
EOF
echo "PASS"
