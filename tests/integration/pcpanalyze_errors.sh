#!/bin/bash
# pcpanalyze on bad input: one line on stderr naming the file, the documented exit code per
# kind (pcpanalyze(1), lib/common/error.c), and no database (nor temp file) left behind.
# Bad inputs are derived from the real fixture trace by truncating / damaging copies.
# ctest: RESOURCE_LOCK tracefs   (records the live kernel: one such test at a time)
set -u
build=${1:?build dir}
src=${PCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
pcpanalyze=$build/pcpanalyze
fixture=$src/tests/fixtures/fallback-basic.dat
[ -x "$pcpanalyze" ] || { echo "no $pcpanalyze"; exit 1; }
[ -r "$fixture" ] || { echo "SKIP: no $fixture"; exit 77; }

tmp=$(mktemp -d /tmp/pcpanalyze_errors.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
size=$(stat -c %s "$fixture")

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect NAME EXIT FILE [options...]: runs pcpanalyze with the default output path
expect() {
	local name=$1 want=$2 file=$3; shift 3
	local db=${file%.dat}.db err rc
	"$pcpanalyze" -q "$@" "$file" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	err=$(cat "$tmp/err")
	[ "$rc" -eq "$want" ] || fail "$name: exit $rc, want $want ($err)"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$name: stderr is not one line: $err"
	case "$err" in
	"pcpanalyze: $file: "?*) ;;
	"pcpanalyze: --"*) [ "$want" -eq 2 ] || fail "$name: usage message for a file error: $err" ;;
	*) fail "$name: message does not name the file: $err" ;;
	esac
	[ ! -e "$db" ] || fail "$name: $db left behind"
	if ls -A "$(dirname "$file")" | grep -q '^\..*\.db\.'; then
		fail "$name: temp file left behind: $(ls -A "$(dirname "$file")")"
	fi
	echo "ok   $name: exit $rc: $err"
}

cp "$fixture" "$tmp/good.dat"
: >"$tmp/empty.dat"
head -c 300 /etc/services >"$tmp/text.dat"
head -c 6 "$fixture" >"$tmp/magic.dat"
head -c 3000 "$fixture" >"$tmp/head.dat"
head -c $((size / 2)) "$fixture" >"$tmp/half.dat"
head -c $((size - 1)) "$fixture" >"$tmp/last-byte.dat"
cp "$fixture" "$tmp/version.dat"
printf '9' | dd of="$tmp/version.dat" bs=1 seek=10 conv=notrunc status=none
# a v7 options section whose section id is damaged (sizes intact)
cp "$fixture" "$tmp/section.dat"
python3 - "$tmp/section.dat" <<'PY'
import struct, sys
path = sys.argv[1]
d = bytearray(open(path, 'rb').read())
p = d.index(b'\0', 10) + 1 + 2 + 4          # version, endian, long size, page size
p = d.index(b'\0', p) + 1                    # compression name
p = d.index(b'\0', p) + 1                    # compression version
opt = struct.unpack_from('<Q', d, p)[0]       # first options section
struct.pack_into('<H', d, opt, 0x7777)
open(path, 'wb').write(d)
PY
# a compressed CPU data chunk that does not decompress (libtracecmd would end early, silently):
# the last zstd frame right after a chunk header (compressed size, uncompressed whole pages)
cp "$fixture" "$tmp/chunk.dat"
python3 - "$tmp/chunk.dat" <<'PY'
import struct, sys
path = sys.argv[1]
d = bytearray(open(path, 'rb').read())
at, i = -1, d.find(b'\x28\xb5\x2f\xfd', 8)
while i >= 0:
    csize, usize = struct.unpack_from('<II', d, i - 8)
    if usize and usize % 4096 == 0 and 8 < csize <= len(d) - i:
        at = i
    i = d.find(b'\x28\xb5\x2f\xfd', i + 1)
assert at > 0, "no compressed CPU chunk"
d[at + 4] = 0xff                             # frame header descriptor: reserved bit set
open(path, 'wb').write(d)
PY

expect missing 3 "$tmp/missing.dat"
expect empty 4 "$tmp/empty.dat"
expect not-a-trace 5 "$tmp/text.dat"
expect truncated-magic 6 "$tmp/magic.dat"
expect truncated-headers 6 "$tmp/head.dat"
expect truncated-half 6 "$tmp/half.dat"
expect truncated-last-byte 6 "$tmp/last-byte.dat"
expect corrupt-version 7 "$tmp/version.dat"
expect corrupt-section 7 "$tmp/section.dat"
expect corrupt-chunk 7 "$tmp/chunk.dat"
expect forced-native 9 "$tmp/good.dat" --refill-source native
expect bad-option 2 "$tmp/good.dat" --bucket 0
# a meta whose zoneinfo has a zone span that is not a number (inferred locks read the spans)
cp "$fixture" "$tmp/zonemeta.dat"
printf '{"snapshots": {"before": {"zoneinfo": [{"node": 0, "zone": "Normal", "zid": 2, "start_pfn": 1, "spanned": "x"}]}}}\n' \
	>"$tmp/zonemeta.dat.meta.json"
expect bad-zone-span 14 "$tmp/zonemeta.dat"

# a page block of an order no kernel has (2^63 pages: the occupancy could not negate it)
printf 'cpus 2\n10000 0 kmem:mm_page_alloc_zone_locked pfn=0x1000 order=0 migratetype=1 percpu_refill=1\n10010 1 kmem:mm_page_pcpu_drain pfn=0x1000 order=63 migratetype=1\n' \
	>"$tmp/order.synth"
if "$build/pcpsynth" -q -o "$tmp/order.dat" --formats "$src/tests/fixtures/formats" "$tmp/order.synth"; then
	expect bad-order 7 "$tmp/order.dat"
	grep -q 'record 2 (CPU 1) holds a page block of order 63 (above 32): damaged data' "$tmp/err" ||
		fail "bad-order: $(cat "$tmp/err")"
	expect bad-order-j3 7 "$tmp/order.dat" -j 3
else
	fail "pcpsynth order.synth"
fi

# no analyzable event: a real trace holding only kmem:mm_page_alloc, made here if tracefs allows
tracefs=/sys/kernel/tracing
inst=$tracefs/instances/pcp_errors_$$
if [ "$(id -u)" = 0 ] && [ -d "$tracefs/instances" ] && command -v trace-cmd >/dev/null &&
	mkdir "$inst" 2>/dev/null; then
	echo 1 >"$inst/events/kmem/mm_page_alloc/enable"
	echo 1 >"$inst/tracing_on"
	head -c 4000000 /dev/zero | gzip >/dev/null
	echo 0 >"$inst/tracing_on"
	trace-cmd extract -B "pcp_errors_$$" -o "$tmp/noevents.dat" >/dev/null 2>&1
	rmdir "$inst" 2>/dev/null
	if [ -s "$tmp/noevents.dat" ]; then
		expect no-events 8 "$tmp/noevents.dat"
	else
		echo "skip no-events: extract failed"
	fi
else
	echo "skip no-events: needs root and tracefs"
fi

# the good file works and writes trace.db beside it
"$pcpanalyze" -q "$tmp/good.dat" || fail "good: exit $?"
[ -s "$tmp/good.db" ] || fail "good: no $tmp/good.db"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all ok"
