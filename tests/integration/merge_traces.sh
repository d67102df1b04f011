#!/bin/bash
# merge over trace.dat inputs (issue 14: "compare and merge analyze their trace.dat inputs in
# parallel"): a trace merged directly gives every table the same rows as the database
# `pcpanalyze -o` writes for it (expected_vs_pcpanalyze checks those against trace-cmd report),
# at -j 1 and side by side at -j 3; the run's source is the trace's path; analysis options
# reach the analyses (--buffer on a file of several buffers, --cpus); a trace that cannot be
# analyzed ends the merge with its status and one line naming it, and leaves no output and no
# temporary directory.
set -u
build=$(cd "${1:?build dir}" && pwd) || exit 1
src=${PCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
pcpanalyze=$build/pcpanalyze
fx=$src/tests/fixtures
[ -x "$pcpanalyze" ] || { echo "no $pcpanalyze"; exit 1; }
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3"; exit 77; }

tmp=$(mktemp -d /tmp/pcp_merge_traces.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
. "$src/tests/integration/checks_common.bash"
# tables DB: every table but run, each row with its run, sorted (a text dump to diff)
tables() {
	local t
	for t in $(sqlite3 "$1" "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('run', 'run_label') ORDER BY name"); do
		echo "== $t"
		sqlite3 -separator '|' "$1" "SELECT * FROM \"$t\"" | sort
	done
}

traces=("$fx/fallback-basic.dat" "$fx/percpu-fork.dat" "$fx/lifecycle/recorded-mix.dat")
for t in "${traces[@]}"; do [ -r "$t" ] || { echo "SKIP: no $t"; exit 77; }; done
dbs=()
for i in "${!traces[@]}"; do
	run 0 "$pcpanalyze" -q -j 1 -o "d$i.db" "${traces[$i]}" || exit 1
	dbs+=("d$i.db")
done

# --- 1. the same tables as merging the databases; -j 1 and side by side ------------------------
run 0 "$pcpanalyze" merge -o from_dbs.db --label k=v "${dbs[@]}"
for j in 1 3; do
	run 0 "$pcpanalyze" merge -j $j -o "from_traces$j.db" --label k=v "${traces[@]}"
	tables from_dbs.db >a.txt
	tables "from_traces$j.db" >b.txt
	[ "$(grep -c '^== ' b.txt)" -ge 10 ] || fail "-j $j: only $(grep -c '^== ' b.txt) tables merged"
	diff -q a.txt b.txt >/dev/null || fail "-j $j: tables differ from the databases': $(diff a.txt b.txt | head -5)"
	want=$(printf '%s\n' "${traces[@]}" | awk '{ print NR "|" $0 "|" $0 "|{\"k\":\"v\"}" }')
	got=$(sqlite3 "from_traces$j.db" "SELECT run, source, trace_file, labels FROM run ORDER BY run")
	[ "$got" = "$want" ] || fail "-j $j: run table: $got, want $want"
done
ok "trace.dat inputs merge as their databases do, at -j 1 and -j 3"

# databases and traces mixed: runs in input order
run 0 "$pcpanalyze" merge -o mixed.db d0.db "${traces[1]}"
got=$(sqlite3 mixed.db "SELECT run || ':' || source FROM run ORDER BY run" | tr '\n' ' ')
[ "$got" = "1:d0.db 2:${traces[1]} " ] || fail "mixed inputs: runs $got"
ok "databases and traces mixed keep the input order"

# --- 2. analysis options reach the analyses ----------------------------------------------------
run 9 "$pcpanalyze" merge -o buf.db "$fx/buffers-ab.dat" && one_line "buffers-ab.dat: 2 buffers hold analyzable events"
[ -e buf.db ] && fail "a refused merge left buf.db"
run 0 "$pcpanalyze" -q -o a_only.db --buffer pcptrace_a "$fx/buffers-ab.dat"
run 0 "$pcpanalyze" merge -o buf.db --buffer pcptrace_a "$fx/buffers-ab.dat"
[ "$(sqlite3 buf.db "SELECT value FROM trace_info WHERE key = 'buffer'")" = pcptrace_a ] ||
	fail "--buffer did not reach the analysis"
[ "$(sqlite3 buf.db "SELECT group_concat(name || '=' || value) FROM (SELECT * FROM metrics ORDER BY name)")" = \
  "$(sqlite3 a_only.db "SELECT group_concat(name || '=' || value) FROM (SELECT * FROM metrics ORDER BY name)")" ] ||
	fail "--buffer pcptrace_a: metrics differ from pcpanalyze --buffer pcptrace_a"
run 0 "$pcpanalyze" -q -o cpu0.db --cpus 0 "${traces[0]}"
run 0 "$pcpanalyze" merge -o cpus.db --cpus 0 "${traces[0]}"
[ "$(sqlite3 cpus.db "SELECT group_concat(name || '=' || value) FROM (SELECT * FROM metrics ORDER BY name)")" = \
  "$(sqlite3 cpu0.db "SELECT group_concat(name || '=' || value) FROM (SELECT * FROM metrics ORDER BY name)")" ] ||
	fail "--cpus 0: metrics differ from pcpanalyze --cpus 0"
ok "--buffer and --cpus reach the analyses"

# --- 3. a trace that cannot be analyzed --------------------------------------------------------
head -c 3000 "${traces[0]}" >cut.dat
run 6 "$pcpanalyze" merge -j 2 -o bad.db d0.db "${traces[1]}" cut.dat && one_line "cut.dat: file ends inside"
printf 'not a trace' >junk.dat
run 12 "$pcpanalyze" merge -o bad.db "${traces[1]}" junk.dat && one_line "junk.dat: neither a results database nor a trace.dat file"
[ -e bad.db ] && fail "a failed merge left bad.db"
ls -a | grep -q '^\.pcpmerge' && fail "temporary directory left: $(ls -a | grep '^\.pcpmerge')"
# the output over a trace's meta file: refused before any analysis
cp "${traces[1]}" t.dat && printf '{}' >t.dat.meta.json
run 2 "$pcpanalyze" merge -o t.dat.meta.json t.dat && one_line "an input's meta file"
[ "$(cat t.dat.meta.json)" = '{}' ] || fail "the meta file was replaced"
ok "a trace that cannot be analyzed: its status, one line, no output, no temporary directory"

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all merge_traces checks passed"
