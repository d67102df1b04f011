#!/bin/bash
# Nothing of the user's lost (issue 9): an output that is an input is refused before any work
# (exit 2, one line), the database and the JSON are replaced together or not at all, a full
# disk is an I/O error (74) with its cause, and merge's usage errors point at merge's help.
# The full-disk checks need root (a 64 KiB tmpfs); /dev/full serves the JSON ones.
set -u
build=$(cd "${1:?build dir}" && pwd) || exit 1
src=${PCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
pcpanalyze=$build/pcpanalyze
fixture=$src/tests/fixtures/fallback-basic.dat
[ -x "$pcpanalyze" ] || { echo "no $pcpanalyze"; exit 1; }
[ -r "$fixture" ] || { echo "SKIP: no $fixture"; exit 77; }

tmp=$(mktemp -d /tmp/pcp_outputs.XXXXXX)
small=$tmp/small
cleanup() {
	mountpoint -q "$small" 2>/dev/null && umount "$small"
	rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1
. "$src/tests/integration/checks_common.bash"
# unchanged FILE SUM
unchanged() { [ "$(sha256sum <"$1")" = "$2" ] || fail "$1 was changed"; }
no_temp() {
	ls -A "${1:-.}" | grep -q '^\..*\.[A-Za-z0-9]\{6\}$' && fail "temporary file left: $(ls -A "${1:-.}")"
	return 0
}

cp "$fixture" T.dat
trace_sum=$(sha256sum <T.dat)
run 0 "$pcpanalyze" -q -o A.db T.dat
run 0 "$pcpanalyze" -q -o B.db T.dat
a_sum=$(sha256sum <A.db)

# --- 1. analyze: an output that is the input trace (or its meta file) ----------------------
ln -s T.dat link.dat
ln T.dat hard.dat
echo '{"hostname": "x"}' >T.dat.meta.json
meta_sum=$(sha256sum <T.dat.meta.json)
for args in "-o T.dat" "--json T.dat" "-o link.dat" "--json hard.dat" "-o ./T.dat --json T.json" \
	"--json T.dat.meta.json"; do
	# shellcheck disable=SC2086
	run 2 "$pcpanalyze" -q $args T.dat && [ "$(wc -l <err.txt)" = 1 ] &&
		grep -qE "^pcpanalyze: [^ ]+: the output \((-o|--json)\) is (also an input|an input's meta file)" err.txt ||
		fail "analyze $args: $(cat err.txt)"
	unchanged T.dat "$trace_sum"
	unchanged T.dat.meta.json "$meta_sum"
	[ -L link.dat ] || fail "analyze $args: link.dat replaced"
	[ -e T.json ] || [ -e T.db ] && fail "analyze $args: wrote an output"
	no_temp
done
ok "analyze refuses an output that is its input (name, symlink, hard link, meta file)"
run 2 "$pcpanalyze" -q -o X.db --json ./X.db T.dat && one_line "must differ from the database"
rm -f T.dat.meta.json

# --- 2. compare: --json / --junit over an input ---------------------------------------------
for args in "--json A.db" "--junit B.db" "--json T.dat" "--junit T.dat.meta.json"; do
	[ "$args" = "--junit T.dat.meta.json" ] && echo '{}' >T.dat.meta.json
	# shellcheck disable=SC2086
	run 2 "$pcpanalyze" compare $args A.db -- B.db T.dat && [ "$(wc -l <err.txt)" = 1 ] &&
		grep -qE "is (also an input|an input's meta file)" err.txt || fail "compare $args: $(cat err.txt)"
	[ -s out.txt ] && fail "compare $args: printed a result"
	unchanged A.db "$a_sum"
	unchanged T.dat "$trace_sum"
	rm -f T.dat.meta.json
done
run 2 "$pcpanalyze" compare --json C.out --junit ./C.out A.db B.db && one_line "must differ from the --json file"
ok "compare refuses --json/--junit over an input"

# --- 3. merge -o over an input ----------------------------------------------------------------
ln -s A.db link.db
for out in A.db link.db; do
	run 2 "$pcpanalyze" merge -o $out A.db B.db && one_line "$out: the output (-o) is also an input"
	unchanged A.db "$a_sum"
done
run 2 "$pcpanalyze" merge -x A.db && one_line "see pcpanalyze merge --help"
run 2 "$pcpanalyze" merge A.db && one_line "see pcpanalyze merge --help"
no_temp
ok "merge refuses -o over an input; usage errors point at merge --help"

# --- 4. the database fails: an existing JSON is left as it was --------------------------------
echo '{"old": true}' >keep.json
mkdir dir.db
run 74 "$pcpanalyze" -q --json keep.json -o dir.db T.dat && one_line "dir.db: is a directory"
[ "$(cat keep.json)" = '{"old": true}' ] || fail "keep.json changed when the database failed"
no_temp
# The JSON fails: the database is left as it was.
cp A.db old.db
old_sum=$(sha256sum <old.db)
mkdir dir.json
run 74 "$pcpanalyze" -q --json dir.json -o old.db T.dat && one_line "dir.json: is a directory"
unchanged old.db "$old_sum"
no_temp
# JSON written through a symlink: the file it points to is replaced, the link stays.
echo old >target.json
ln -s target.json via.json
run 0 "$pcpanalyze" -q --json via.json -o via.db T.dat
[ -L via.json ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' target.json ||
	fail "--json through a symlink"
ok "database and JSON: both replaced or neither"

# --- 5. full disk: exit 74 with the cause -----------------------------------------------------
run 74 "$pcpanalyze" -q --json /dev/full -o full.db T.dat && one_line "/dev/full: cannot write: No space left on device"
[ -c /dev/full ] || fail "/dev/full was replaced"
run 2 "$pcpanalyze" compare --json /dev/full A.db B.db && one_line "/dev/full: cannot write: No space left on device"
[ -c /dev/full ] || fail "/dev/full was replaced"
# 160 KB: the JSON (about 62 KB with the lifecycle, zone-lock hold and lock-cause members) fits,
# the database (over 200 KB) does not
if [ "$(id -u)" = 0 ] && mkdir "$small" && mount -t tmpfs -o size=160k tmpfs "$small" 2>/dev/null; then
	echo '{"old": true}' >"$small/keep.json"
	run 74 "$pcpanalyze" -q --json "$small/keep.json" -o "$small/T.db" T.dat &&
		one_line "$small/T.db: " && one_line "disk is full"
	[ "$(cat "$small/keep.json")" = '{"old": true}' ] || fail "keep.json changed on a full disk"
	[ -e "$small/T.db" ] && fail "a database was left on the full disk"
	no_temp "$small"
	run 74 "$pcpanalyze" merge -o "$small/m.db" A.db B.db && one_line "$small/m.db: " && one_line "disk is full"
	no_temp "$small"
	# The JSON itself does not fit: 74, the cause, the old file kept.
	head -c 140000 /dev/zero >"$small/fill"
	run 74 "$pcpanalyze" -q --json "$small/keep.json" -o "$tmp/ok.db" T.dat &&
		one_line "$small/keep.json: cannot write: No space left on device"
	[ "$(cat "$small/keep.json")" = '{"old": true}' ] || fail "keep.json changed when it did not fit"
	no_temp "$small"
	ok "full disk (64 KiB tmpfs): exit 74 with the cause, old files kept"
else
	echo "note: not root or no tmpfs: full-disk database checks skipped (/dev/full checks ran)"
fi

[ "$failures" = 0 ] && echo "PASS: outputs" || echo "FAIL: $failures check(s)"
[ "$failures" = 0 ]
