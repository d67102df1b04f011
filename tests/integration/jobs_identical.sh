#!/bin/bash
# pcpanalyze -j N gives what -j 1 gives, byte for byte: the SQLite dump, the JSON, the text
# summary, the exit status and the error line, on every fixture (tests/fixtures: the v7
# recordings, the v6 .xz lab and fallback traces, the lifecycle recordings), on every synth
# script rendered as v6, v7, v7-zstd and v7-zlib (several CPUs, many chunks, missed-event
# marks, TSC2NSEC), on damaged copies (a page that declares too much data, a chunk that does
# not decompress: the error comes after the same records), and `pcpanalyze compare` of
# trace.dat inputs (-j 1: one after the other; -j 4: side by side). -j 1 is the one-thread path
# (no decode or model thread); -j 2 runs the lifecycle thread or else one pairing thread, which
# decode when they wait; -j 5 runs decode threads beside the lifecycle thread and one pairing
# thread, or beside two pairing threads (PFN shards, lib/model/pair_shards.h); the traces with
# the lifecycle events also run at -j 8, where the lifecycle model is in PFN shards too
# (lib/model/lifecycle_feed.h).
# ctest passes the build directory as $1.
# ctest: COST 70   (seconds, about: long tests start first under ctest -j)
set -u
BUILD=${1:?usage: jobs_identical.sh BUILD_DIR}
. "$(dirname "$0")/tracedat_common.bash"
JOBS=${PCP_JOBS_LIST:-2 5}
LC_JOBS="$JOBS ${PCP_JOBS_LC:-8}"

checked=0
# A sanitizer build (scripts/test.sh runs it after the normal build, which compares every
# fixture) compares the recorded fixtures of one kind each: a v7 recording (fallback-basic), a
# file with several buffers (buffers-ab, both), lost events (dropped, dropped-v6), an overrun
# buffer, percpu events (percpu-fork), v6 native lab traces (lab-2node; lab-2node-lifecycle:
# the lifecycle thread, also converted to v7-zstd below), kernel stacks (stacks-decay) and the
# lifecycle recordings. The others are more of the same kinds (more lab layouts, zones, causes,
# buffers), and ASan ran the -j 2 and -j 4 paths over all of them at ~4x the normal build's
# time. The synth scripts in every format, the long multi-chunk trace, the damaged copies and
# compare run in full. PCP_JOBS_FULL=1: every fixture in any build.
reduced=
if [ "${PCP_JOBS_FULL:-0}" != 1 ] && grep -q '^PCP_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
	reduced="fallback-basic.dat buffers-ab.dat dropped.dat dropped-v6.dat overrun.dat percpu-fork.dat
		lab-2node.dat lab-2node-lifecycle.dat stacks-decay.dat extract-mix.dat recorded-mix.dat"
	echo "sanitizer build: recorded fixtures of each kind only: $(echo $reduced)"
fi
# run NAME TRACE [ARGS...]: -j 1 and every -j of $JOBS on TRACE, outputs compared.
run() {
	local name=$1 trace=$2 j rc1 rc
	shift 2
	"$PCPANALYZE" -j 1 "$@" -o "$T/$name.j1.db" --json "$T/$name.j1.json" "$trace" \
		> "$T/$name.j1.out" 2> "$T/$name.j1.err"
	rc1=$?
	[ -f "$T/$name.j1.db" ] && sqlite3 "$T/$name.j1.db" .dump > "$T/$name.j1.sql"
	grep -v '^results: ' "$T/$name.j1.out" > "$T/$name.j1.txt"
	for j in ${RUN_JOBS:-$JOBS}; do
		"$PCPANALYZE" -j "$j" "$@" -o "$T/$name.j$j.db" --json "$T/$name.j$j.json" "$trace" \
			> "$T/$name.j$j.out" 2> "$T/$name.j$j.err"
		rc=$?
		[ "$rc" = "$rc1" ] || { fail "$name: -j $j exits $rc, -j 1 $rc1 ($(head -1 "$T/$name.j$j.err"))"; continue; }
		cmp -s "$T/$name.j1.err" "$T/$name.j$j.err" ||
			fail "$name: -j $j stderr differs: $(head -1 "$T/$name.j$j.err") / $(head -1 "$T/$name.j1.err")"
		grep -v '^results: ' "$T/$name.j$j.out" > "$T/$name.j$j.txt"
		cmp -s "$T/$name.j1.txt" "$T/$name.j$j.txt" || fail "$name: -j $j text summary differs"
		if [ "$rc1" = 0 ]; then
			cmp -s "$T/$name.j1.json" "$T/$name.j$j.json" ||
				fail "$name: -j $j JSON differs: $(diff "$T/$name.j1.json" "$T/$name.j$j.json" | head -3)"
			sqlite3 "$T/$name.j$j.db" .dump > "$T/$name.j$j.sql"
			cmp -s "$T/$name.j1.sql" "$T/$name.j$j.sql" ||
				fail "$name: -j $j database differs: $(diff "$T/$name.j1.sql" "$T/$name.j$j.sql" | head -3)"
		fi
	done
	checked=$((checked + 1))
}

# The fixtures; a meta file goes beside its trace (snapshots, zone spans); a file with
# several analyzable buffers is read per buffer.
for f in "$SRC"/tests/fixtures/*.dat "$SRC"/tests/fixtures/*.dat.xz "$SRC"/tests/fixtures/lifecycle/*.dat; do
	b=$(basename "$f" .xz)
	if [ -n "$reduced" ] && ! printf '%s\n' $reduced | grep -qxF "$b"; then
		continue
	fi
	case $f in
	*.xz) xz -dc "$f" > "$T/$b" ;;
	*) cp "$f" "$T/$b" ;;
	esac
	[ -f "${f%.xz}.meta.json" ] && cp "${f%.xz}.meta.json" "$T/$b.meta.json"
	case $f in
	*lifecycle*) RUN_JOBS=$LC_JOBS ;;
	*) RUN_JOBS=$JOBS ;;
	esac
	case $b in
	buffers-ab.dat | buffers-all.dat)
		for buf in a b; do run "$b-$buf" "$T/$b" --buffer "$buf"; done ;;
	*) run "$b" "$T/$b" ;;
	esac
done
RUN_JOBS=$LC_JOBS
# a v6 lab lifecycle trace as v7-zstd too (trace-cmd convert), if this trace-cmd converts
if trace-cmd convert --help 2>&1 | grep -q -- '--compression'; then
	xz -dc "$SRC/tests/fixtures/lab-2node-lifecycle.dat.xz" > "$T/lc.v6.dat"
	if trace-cmd convert -i "$T/lc.v6.dat" -o "$T/lc.zstd.dat" --compression zstd >/dev/null 2>&1; then
		cp "$SRC/tests/fixtures/lab-2node-lifecycle.dat.meta.json" "$T/lc.zstd.dat.meta.json"
		run lab-2node-lifecycle.zstd "$T/lc.zstd.dat"
	fi
fi
RUN_JOBS=$JOBS

# Every synth script in every format.
for s in "$SRC"/tests/fixtures/*.synth "$SRC"/tests/fixtures/lifecycle/*.synth; do
	b=$(basename "$s" .synth)
	case $s in
	*/lifecycle/*) RUN_JOBS=$LC_JOBS ;;
	*) RUN_JOBS=$JOBS ;;
	esac
	for f in v6 v7 v7-zstd v7-zlib; do
		"$SYNTH" -q --format $f -o "$T/$b.$f.dat" --formats "$FORMATS" "$s" 2>/dev/null || continue
		run "$b.$f" "$T/$b.$f.dat"
	done
done
RUN_JOBS=$JOBS

# A long one: 4 CPUs, ~200000 events (every CPU spans many chunks and map windows, so the
# decode threads fill and recycle their rings), lifecycle events, missed marks.
python3 - "$T/long.synth" <<'PY'
import random, sys
r = random.Random(14)
out = open(sys.argv[1], "w")
out.write("cpus 4\n")
ts = 1_000_000
for i in range(50000):
    pfn = 0x100000 + r.randrange(3000)
    cpu = r.randrange(4)
    ts += r.choice((0, 1, 40, 700, 5_000_000 if i % 9000 == 0 else 90))
    out.write(f"{ts} {cpu} kmem:mm_page_alloc_zone_locked pfn={pfn} order=0 migratetype=1 percpu_refill=1\n")
    ts += r.choice((0, 30))
    out.write(f"{ts} {cpu} kmem:mm_page_alloc pfn={pfn} order=0 gfp_flags=0xcc0 migratetype=1\n")
    ts += 25
    out.write(f"{ts} {(cpu + 1) % 4} kmem:mm_page_free pfn={pfn} order=0\n")
    ts += 25
    out.write(f"{ts} {r.randrange(4)} kmem:mm_page_pcpu_drain pfn={pfn} order=0 migratetype=1\n")
PY
for f in v6 v7-zstd v7-zlib; do
	"$SYNTH" -q --format $f -o "$T/long.$f.dat" --formats "$FORMATS" "$T/long.synth" ||
		{ fail "pcpsynth --format $f long.synth"; continue; }
	run "long.$f" "$T/long.$f.dat"
done

# Many CPUs: 80 streams (above 64 the decode rings are 2 batches deep instead of 4, and the
# compressed read-ahead is shared out over the CPUs), every CPU over several chunks and windows.
python3 - "$T/many.synth" <<'PY'
import random, sys
r = random.Random(80)
out = open(sys.argv[1], "w")
out.write("cpus 80\n")
ts = 1_000_000
for i in range(60000):
    pfn = 0x200000 + r.randrange(20000)
    ts += r.choice((5, 30, 200))
    out.write(f"{ts} {r.randrange(80)} kmem:mm_page_alloc_zone_locked pfn={pfn} order=0 migratetype=1 percpu_refill=1\n")
    ts += 10
    out.write(f"{ts} {r.randrange(80)} kmem:mm_page_pcpu_drain pfn={pfn} order=0 migratetype=1\n")
PY
for f in v6 v7-zstd; do
	"$SYNTH" -q --format $f -o "$T/many.$f.dat" --formats "$FORMATS" "$T/many.synth" ||
		{ fail "pcpsynth --format $f many.synth"; continue; }
	run "many.$f" "$T/many.$f.dat"
done

# Damaged copies: the error line and status must be the same (after the same records).
# A page in the middle of CPU data whose commit says more than the page holds (v6: pages at
# the section's offset; the last sections are the data), and 256 zero bytes in a late chunk.
python3 - "$T/long.v6.dat" "$T/bad-page.v6.dat" "$T/long.v7-zstd.dat" "$T/bad-chunk.v7.dat" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
# last 4096-aligned page at 3/4 of the file: its commit (after the u64 timestamp)
off = (len(d) * 3 // 4) & ~4095
d[off + 8:off + 16] = (0x7ffffff).to_bytes(8, "little")
open(sys.argv[2], "wb").write(d)
z = bytearray(open(sys.argv[3], "rb").read())
pos = len(z) * 3 // 4
z[pos:pos + 256] = bytes(256)
open(sys.argv[4], "wb").write(z)
PY
run bad-page.v6 "$T/bad-page.v6.dat"
run bad-chunk.v7 "$T/bad-chunk.v7.dat"
grep -q 'declares more data' "$T/bad-page.v6.j1.err" || fail "bad-page.v6.dat: not refused as damaged"
grep -q 'does not decompress' "$T/bad-chunk.v7.j1.err" || fail "bad-chunk.v7.dat: not refused as damaged"

# compare over trace.dat inputs: the same JSON at -j 1 and -j 4 (inputs side by side), and the
# same error line when an input fails.
cmpr() { # name args...
	local name=$1 rc1 rc
	shift
	"$PCPANALYZE" compare -j 1 --json "$T/$name.c1.json" "$@" > /dev/null 2> "$T/$name.c1.err"
	rc1=$?
	"$PCPANALYZE" compare -j 4 --json "$T/$name.c4.json" "$@" > /dev/null 2> "$T/$name.c4.err"
	rc=$?
	[ "$rc" = "$rc1" ] || fail "compare $name: -j 4 exits $rc, -j 1 $rc1"
	cmp -s "$T/$name.c1.err" "$T/$name.c4.err" || fail "compare $name: -j 4 stderr differs: $(head -1 "$T/$name.c4.err")"
	[ "$rc1" -ge 2 ] || cmp -s "$T/$name.c1.json" "$T/$name.c4.json" || fail "compare $name: -j 4 JSON differs"
	checked=$((checked + 1))
}
cmpr runs "$T/long.v6.dat" "$T/long.v7-zstd.dat" -- "$T/long.v7-zlib.dat" "$T/lab-2node.dat"
cmpr failing "$T/long.v6.dat" "$T/bad-chunk.v7.dat" -- "$T/bad-page.v6.dat" "$T/long.v7-zlib.dat"

echo "$checked analyses compared at -j 1 and -j $JOBS"
[ "$checked" -ge 40 ] || fail "only $checked analyses compared"
[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo PASS
