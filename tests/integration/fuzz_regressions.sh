#!/bin/bash
# Damaged inputs the fuzzer or users found, through pcpanalyze: each must end with its documented
# exit code (pcpanalyze(1)), one line on stderr naming the file, no signal, within 240 s of wall
# time, and no database left behind. (A header that never finishes parsing is refused after 20 s of
# CPU in the header-check child, lib/tracedat/tracedat_probe.c; on a machine at load 15, or beside
# another test under ASan, 20 s of CPU took more than 60 s of wall.)
# - tests/fuzz/regressions/<exit>-<what>.dat: kept fuzzer inputs, the expected exit code first;
# - damage made here from a small pcpsynth trace (v6): the cases of issue 9 (damaged header_page,
#   a page commit past its page, CPU data that is not whole pages, two formats with one id);
# - percpu-fork.dat with a zero byte in its compressed event formats;
# - a FIFO as input (refused before any read: it used to block forever).
set -u
build=${1:?build dir}
src=${PCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
pcpanalyze=$build/pcpanalyze
synth=$build/pcpsynth
[ -x "$pcpanalyze" ] && [ -x "$synth" ] || { echo "no $pcpanalyze or $synth"; exit 1; }
tmp=$(mktemp -d /tmp/fuzz_regressions.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect NAME EXIT FILE
expect() {
	local name=$1 want=$2 file=$3 rc err
	timeout -s KILL 240 "$pcpanalyze" -q -o "$tmp/out.db" "$file" >/dev/null 2>"$tmp/err" </dev/null
	rc=$?
	err=$(cat "$tmp/err")
	[ "$rc" -eq "$want" ] || fail "$name: exit $rc, want $want ($err)"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$name: stderr is not one line: $err"
	case "$err" in "pcpanalyze: $file: "?*) ;; *) fail "$name: message does not name the file: $err" ;; esac
	[ ! -e "$tmp/out.db" ] || fail "$name: database left behind"
	rm -f "$tmp/out.db"
	echo "ok   $name: exit $rc: ${err#pcpanalyze: $file: }"
}

for f in "$src"/tests/fuzz/regressions/*.dat "$src"/tests/fuzz/regressions/*.dat.xz; do
	[ -e "$f" ] || continue
	base=$(basename "$f" .xz)
	case "$f" in *.xz) xz -dc "$f" >"$tmp/$base"; f=$tmp/$base ;; esac
	expect "$base" "${base%%-*}" "$f"
done
# a zero byte in percpu-fork.dat's compressed event formats: garbage format text after
# decompression (libtraceevent crashed in tep_parse_event)
python3 -c "import sys; d = bytearray(open(sys.argv[1], 'rb').read()); d[32466] = 0; open(sys.argv[2], 'wb').write(d)" \
	"$src/tests/fixtures/percpu-fork.dat" "$tmp/format-garbage.dat"
expect "compressed event formats damaged" 7 "$tmp/format-garbage.dat"
# one bit flipped in fallback-basic.dat's zstd formats section still decompresses, into the print
# fmt "(REC->ew_setting;)" of syscalls:sys_enter_timer_settime, plain text on which libtraceevent
# 1.7.1 crashes: caught by the header parse in a child (lib/tracedat/tracedat_probe.c)
python3 -c "import sys; d = bytearray(open(sys.argv[1], 'rb').read()); d[54466] ^= 0x40; open(sys.argv[2], 'wb').write(d)" \
	"$src/tests/fixtures/fallback-basic.dat" "$tmp/format-parser-crash.dat"
expect "formats that crash libtraceevent's parser" 7 "$tmp/format-parser-crash.dat"

"$synth" -q -u -f "$src/tests/fixtures/formats" -F v6 -o "$tmp/good.dat" "$src/tests/fixtures/native-order.synth" ||
	{ echo "pcpsynth failed"; exit 1; }
"$pcpanalyze" -q -o "$tmp/good.db" "$tmp/good.dat" || fail "the undamaged trace is not analyzed"
rm -f "$tmp/good.db"
# damage KIND OUT: a copy of good.dat damaged in one place (offsets from the v6 layout)
python3 - "$tmp/good.dat" "$tmp" <<'PY' || fail "cannot make the damaged copies"
import struct, sys
src, out = sys.argv[1], sys.argv[2]
d = bytes(open(src, 'rb').read())
def save(name, b):
    open(f"{out}/{name}.dat", 'wb').write(b)
# the header_page text: one character of 'offset:0' of the timestamp field (issue 9's repro)
b = bytearray(d); p = d.index(b'offset:0;'); b[p + 5] = 0x19; save('header-page', b)
fly = d.index(b'flyrecord\0') + 10
off0, size0 = struct.unpack_from('<QQ', d, fly)
# the first page's commit word (after the 8-byte timestamp) far past the page
b = bytearray(d); struct.pack_into('<Q', b, off0 + 8, 0x7ffffff); save('commit', b)
# a commit just past the page with a stored missed count after it
b = bytearray(d); struct.pack_into('<Q', b, off0 + 8, (1 << 31) | (1 << 30) | 4080); save('commit-missed', b)
# CPU 0's data is not whole pages (libtracecmd 3.1.6 loops forever on it)
b = bytearray(d); struct.pack_into('<Q', b, fly + 8, size0 - 100); save('partial-page', b)
# CPU 0's data at an offset that is not page aligned
b = bytearray(d); struct.pack_into('<Q', b, fly, off0 + 8); save('unaligned', b)
# two event formats with one id (was a database UNIQUE error, exit 10)
b = bytearray(d)
ids = [(i + 4, d.index(b'\n', i)) for i in range(len(d)) if d.startswith(b'\nID: ', i - 1)]
(s1, e1), (s2, e2) = next((x, y) for x in ids for y in ids if x < y and x[1] - x[0] == y[1] - y[0])
b[s2:e2] = d[s1:e1]; save('same-id', b)
PY
expect "damaged header_page" 7 "$tmp/header-page.dat"
expect "page commit past the page" 7 "$tmp/commit.dat"
expect "stored missed count past the page" 7 "$tmp/commit-missed.dat"
expect "CPU data not whole pages" 7 "$tmp/partial-page.dat"
expect "CPU data not page aligned" 7 "$tmp/unaligned.dat"
expect "two formats with one id" 7 "$tmp/same-id.dat"

mkfifo "$tmp/fifo.dat"
expect "FIFO" 3 "$tmp/fifo.dat"
expect "character device" 3 /dev/zero

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all damaged inputs refused with their documented exit codes"
