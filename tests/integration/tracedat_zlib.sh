#!/bin/bash
# trace.dat version 7 with zlib (pcpsynth --format v7-zlib) against version 6 of the same script.
# trace-cmd's own dump sees zlib (name and library version) and compressed sections. Whether the
# file can be read depends on the installed libtracecmd (trace-cmd list -c): with zlib, trace-cmd
# report and pcpanalyze's tables must equal v6's; without it (trace-cmd 3.1.6 as in Debian 12),
# trace-cmd report fails and pcpanalyze exits 7 with a one-line message naming zlib and writes
# no database. A damaged chunk table is exit 7 either way. The direct decoder's zlib path is
# checked record by record in tests/test_tracedat_v7.c. ctest passes the build directory as $1.
set -u
BUILD=${1:?usage: tracedat_zlib.sh BUILD_DIR}
. "$(dirname "$0")/tracedat_common.bash"
if trace-cmd list -c 2>&1 | grep -qw zlib; then have_zlib=1; else have_zlib=0; fi
zver=$(python3 -c 'import zlib; print(zlib.ZLIB_RUNTIME_VERSION)')

for s in "$SRC"/tests/fixtures/native-*.synth; do
	[ -e "$s" ] || continue
	name=$(basename "$s" .synth)
	for f in v6 v7-zlib; do
		"$SYNTH" -q --format $f -o "$T/$name.$f.dat" --formats "$FORMATS" "$s" ||
			{ fail "pcpsynth --format $f $s"; continue 2; }
	done
	dump=$(trace-cmd dump --all "$T/$name.v7-zlib.dat" 2>&1)
	grep -q 'zlib.*\[Compression algorithm\]' <<< "$dump" || fail "$name.v7-zlib.dat: trace-cmd dump sees no zlib"
	grep -q "$zver.*\[Compression version\]" <<< "$dump" || fail "$name.v7-zlib.dat: compression version is not zlib $zver"
	trace-cmd report -t -R "$T/$name.v6.dat" > "$T/$name.v6.report" 2>/dev/null || fail "trace-cmd report $name.v6.dat"
	"$PCPANALYZE" -q -o "$T/$name.v6.db" "$T/$name.v6.dat" > /dev/null 2>&1 || fail "pcpanalyze $name.v6.dat"
	"$PCPANALYZE" -q -o "$T/$name.zlib.db" "$T/$name.v7-zlib.dat" > "$T/$name.zlib.out" 2>&1
	rc=$?
	if [ $have_zlib = 1 ]; then
		trace-cmd report -t -R "$T/$name.v7-zlib.dat" > "$T/$name.zlib.report" 2>/dev/null ||
			fail "trace-cmd report $name.v7-zlib.dat"
		cmp -s "$T/$name.v6.report" "$T/$name.zlib.report" || fail "$name: trace-cmd report of v7-zlib differs from v6"
		[ $rc = 0 ] || { fail "pcpanalyze $name.v7-zlib.dat exited $rc: $(head -1 "$T/$name.zlib.out")"; continue; }
		tables "$T/$name.v6.db" "$T/$name.v6.tables"
		tables "$T/$name.zlib.db" "$T/$name.zlib.tables"
		cmp -s "$T/$name.v6.tables" "$T/$name.zlib.tables" ||
			fail "$name: pcpanalyze tables of v7-zlib differ from v6: $(diff "$T/$name.v6.tables" "$T/$name.zlib.tables" | head -4)"
	else
		trace-cmd report "$T/$name.v7-zlib.dat" > /dev/null 2>&1 &&
			fail "trace-cmd report reads $name.v7-zlib.dat though trace-cmd list -c has no zlib"
		[ $rc = 7 ] || fail "pcpanalyze $name.v7-zlib.dat: expected exit 7 (libtracecmd without zlib), got $rc"
		[ "$(wc -l < "$T/$name.zlib.out")" = 1 ] && grep -q "$name.v7-zlib.dat: .*zlib compression" "$T/$name.zlib.out" ||
			fail "pcpanalyze $name.v7-zlib.dat: expected one line naming the file and zlib, got: $(head -2 "$T/$name.zlib.out")"
		ls "$T/$name.zlib.db"* > /dev/null 2>&1 && fail "pcpanalyze $name.v7-zlib.dat left a database behind"
	fi
done
[ $have_zlib = 0 ] && echo "note: libtracecmd has no zlib (trace-cmd list -c): v7-zlib is refused with exit 7"

# A damaged chunk table (the first CPU's chunk count) is exit 7 before libtracecmd is asked.
s="$SRC/tests/fixtures/native-roundtrip.synth"
cp "$T/native-roundtrip.v7-zlib.dat" "$T/bad.dat" 2>/dev/null || "$SYNTH" -q --format v7-zlib -o "$T/bad.dat" --formats "$FORMATS" "$s"
# trace-cmd dump cannot read a zlib file without zlib: walk the options chain to the BUFFER option.
off=$(python3 - "$T/bad.dat" <<'PY'
import struct, sys
f = open(sys.argv[1], "rb").read()
pos = 18
for _ in range(2):                      # compression name and version
    pos = f.index(b"\0", pos) + 1
opt, = struct.unpack_from("<Q", f, pos)
while opt:
    pos, nxt = opt + 16, 0
    while True:
        oid, size = struct.unpack_from("<HI", f, pos)
        if oid == 0:
            nxt, = struct.unpack_from("<Q", f, pos + 6)
            break
        if oid == 3:                    # BUFFER: offset, name, clock, page size, CPUs, then per CPU
            b = pos + 6 + 8
            b = f.index(b"\0", b) + 1
            b = f.index(b"\0", b) + 1
            ncpu, = struct.unpack_from("<I", f, b + 4)
            if ncpu:
                print(struct.unpack_from("<Q", f, b + 8 + 4)[0])
                sys.exit(0)
        pos += 6 + size
    opt = nxt
PY
)
if [ -n "$off" ]; then
	printf '\xff\xff\xff\x7f' | dd of="$T/bad.dat" bs=1 seek=$((off)) conv=notrunc status=none
	"$PCPANALYZE" -q -o "$T/bad.db" "$T/bad.dat" > "$T/bad.out" 2>&1
	rc=$?
	[ $rc = 7 ] || fail "damaged chunk table: expected exit 7, got $rc: $(head -1 "$T/bad.out")"
	grep -q "damaged chunk table" "$T/bad.out" || fail "damaged chunk table: message: $(head -1 "$T/bad.out")"
	ls "$T/bad.db"* > /dev/null 2>&1 && fail "damaged chunk table: a database was left behind"
else
	fail "no CPU data offset found in the BUFFER option of the v7-zlib file"
fi

[ $fails = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok: v7-zlib written as trace-cmd frames it; read as v6 or refused with exit 7 naming zlib (have_zlib=$have_zlib)"
