#!/usr/bin/env bash
# Results databases from elsewhere (issue 17): compare and merge open them read-only with
# SQLite's defensive settings and accept only our schema, object by object (results_db.h).
# Crafted databases (a trigger on metrics, a view in place of metrics, an extra column, ...) are
# made with Python's sqlite3 from a real pcpanalyze result; each must be refused with one line
# naming the file and the object, exit 2 (12 when something of ours is missing), no output, and
# the input unchanged.
set -u
BUILD=$(cd "${1:?usage: foreign_db.sh BUILD_DIR}" && pwd)
SRC=${PCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PCPANALYZE=$BUILD/pcpanalyze

fail() { echo "FAIL: $*"; exit 1; }
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
[ -x "$PCPANALYZE" ] || fail "pcpanalyze not built in $BUILD"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

"$PCPANALYZE" -q -o good.db "$SRC/tests/fixtures/fallback-basic.dat" > /dev/null ||
	fail "pcpanalyze on the fixture"
cp good.db good2.db

# name | exit of merge | text stderr must contain | SQL that makes it
python3 - <<'EOF' || fail "crafting the databases"
import shutil, sqlite3
cases = {
    "trigger":   "CREATE TRIGGER t_evil AFTER INSERT ON metrics BEGIN DELETE FROM trace_info; END",
    "viewrep":   "ALTER TABLE metrics RENAME TO metrics_orig;"
                 "CREATE VIEW metrics AS SELECT name, value * 0 AS value, unit, better FROM metrics_orig",
    "extracol":  "ALTER TABLE metrics ADD COLUMN note TEXT",
    "extratab":  "CREATE TABLE notes(x)",
    "extraview": "CREATE VIEW v_mine AS SELECT * FROM metrics",
    "altview":   "DROP VIEW v_cpu_pairs; CREATE VIEW v_cpu_pairs AS SELECT 1 AS x",
    "index":     "CREATE INDEX i_value ON metrics(value)",
    "vtab":      "CREATE VIRTUAL TABLE notes USING fts5(x)",
    "missing":   "DROP TABLE pcp_pageset",
    "nocheck":   "ALTER TABLE metrics RENAME TO m0;"
                 "CREATE TABLE metrics(name TEXT PRIMARY KEY, value REAL NOT NULL, unit TEXT NOT NULL,"
                 " better TEXT NOT NULL);"
                 " INSERT INTO metrics SELECT name, coalesce(value, 0), unit, better FROM m0;"
                 " DROP TABLE m0",
    "generated": "ALTER TABLE metrics RENAME TO m0;"
                 "CREATE TABLE metrics(name TEXT PRIMARY KEY, value REAL GENERATED ALWAYS AS (0),"
                 " unit TEXT NOT NULL, better TEXT NOT NULL); DROP TABLE m0",
    "version":   "PRAGMA user_version = 7",
    "newline":   'CREATE VIEW "v_a\nb" AS SELECT 1',
    "analyzed":  "ANALYZE",   # sqlite_stat1: SQLite's own, allowed
}
for name, sql in cases.items():
    shutil.copy("good.db", name + ".db")
    db = sqlite3.connect(name + ".db")
    db.executescript(sql)
    db.commit()
    db.close()
EOF

# compare: every refusal is exit 2 (its one "not comparable" status) and one line.
check() { # name merge_exit text
	local name=$1 want=$2 text=$3 sum rc
	sum=$(sha256sum "$name.db")
	"$PCPANALYZE" compare -q good.db "$name.db" > out.txt 2> err.txt
	rc=$?
	[ $rc = 2 ] || fail "compare $name.db: exit $rc, expected 2: $(cat err.txt)"
	[ "$(wc -l < err.txt)" = 1 ] && grep -q -- "$name.db: .*$text" err.txt ||
		fail "compare $name.db: stderr should be one line naming it and '$text': $(cat err.txt)"
	"$PCPANALYZE" merge -o "m-$name.db" good.db "$name.db" > out.txt 2> err.txt
	rc=$?
	[ $rc = "$want" ] || fail "merge $name.db: exit $rc, expected $want: $(cat err.txt)"
	[ "$(wc -l < err.txt)" = 1 ] && grep -q -- "$name.db: .*$text" err.txt ||
		fail "merge $name.db: stderr should be one line naming it and '$text': $(cat err.txt)"
	[ -e "m-$name.db" ] && fail "merge $name.db: an output was written"
	[ "$(sha256sum "$name.db")" = "$sum" ] || fail "$name.db was modified"
	ls -a | grep -q "^\.m-$name" && fail "merge $name.db: a temporary file was left"
	return 0
}
check trigger 2 "trigger t_evil on metrics"
check viewrep 2 "metrics is a view, where the pcptrace schema has a table"
check extracol 2 "table metrics has column note"
check extratab 2 "table notes"
check extraview 2 "view v_mine"
check altview 2 "view v_cpu_pairs differs"
check index 2 "index i_value"
check vtab 2 "table notes"
check missing 12 "no table pcp_pageset"
check newline 2 "view v_a?b"
check nocheck 2 "table metrics differs from the pcptrace schema's"
check generated 2 "table metrics has column value REAL (generated)"
check version 12 "schema version $(sqlite3 good.db "PRAGMA user_version") (schema version 7)"

# Ours, including after ANALYZE, is accepted; inputs stay as they were.
sum=$(sha256sum good.db analyzed.db)
"$PCPANALYZE" compare -q good.db analyzed.db > /dev/null 2> err.txt ||
	fail "compare of our own databases: $(cat err.txt)"
"$PCPANALYZE" merge -o merged.db good.db analyzed.db 2> err.txt || fail "merge: $(cat err.txt)"
[ "$(sha256sum good.db analyzed.db)" = "$sum" ] || fail "an input was modified by compare or merge"
python3 - <<'EOF' || fail "merged.db does not hold both runs"
import sqlite3
db = sqlite3.connect("merged.db")
good = sqlite3.connect("good.db").execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
assert db.execute("SELECT COUNT(*) FROM run").fetchone()[0] == 2
assert db.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == 2 * good
EOF

# A merged database is checked as one: merge's own layout is ours, a trigger on run is not.
"$PCPANALYZE" merge -o merged2.db merged.db good.db 2> err.txt || fail "merging a merged database: $(cat err.txt)"
python3 -c 'import sqlite3; db = sqlite3.connect("merged.db"); db.execute("CREATE TRIGGER tr AFTER DELETE ON run BEGIN SELECT 1; END"); db.commit()'
"$PCPANALYZE" merge -o m3.db merged.db good.db 2> err.txt
rc=$?
[ $rc = 2 ] && grep -q "merged.db: .*trigger tr on run" err.txt || fail "merged database with a trigger: exit $rc: $(cat err.txt)"

# File names are names, never URIs or SQL: '?', '#', '%', a "file:" prefix, a quote.
mkdir 'file:dir'
cp good.db "file:dir/a?mode=rwc#x%41'.db"
"$PCPANALYZE" merge -o "file:dir/out?.db" "file:dir/a?mode=rwc#x%41'.db" good.db 2> err.txt ||
	fail "odd file names: $(cat err.txt)"
[ -f "file:dir/out?.db" ] || fail "odd output name: not written under its own name"
"$PCPANALYZE" compare -q "file:dir/a?mode=rwc#x%41'.db" "file:dir/out?.db" > /dev/null 2> err.txt
grep -q "merged database" err.txt || fail "odd names: compare should read out?.db as merged: $(cat err.txt)"
echo "OK: 13 crafted databases refused, ours accepted"
