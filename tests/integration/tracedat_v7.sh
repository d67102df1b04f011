#!/bin/bash
# trace.dat version 7 (pcpsynth --format v7 / v7-zstd) against version 6 of the same script:
# `trace-cmd report -t -R` prints the same text, the independent checker (synth_check.py)
# accepts the v7-zstd report, trace-cmd's own dump sees compressed sections and chunked CPU data,
# and pcpanalyze writes the same rows to every table (trace_info differs only in trace_file and
# file_version). ctest passes the build directory as $1.
set -u
BUILD=${1:?usage: tracedat_v7.sh BUILD_DIR}
. "$(dirname "$0")/tracedat_common.bash"
CHECK="$SRC/tests/integration/synth_check.py"

compare() { # script name
	local script=$1 name=$2 f
	for f in v6 v7 v7-zstd; do
		"$SYNTH" -q --format $f -o "$T/$name.$f.dat" --formats "$FORMATS" "$script" ||
			{ fail "pcpsynth --format $f $script"; return; }
		trace-cmd report -t -R "$T/$name.$f.dat" > "$T/$name.$f.report" 2> "$T/$name.$f.err" ||
			{ fail "trace-cmd report $name.$f.dat: $(head -3 "$T/$name.$f.err")"; return; }
		[ -s "$T/$name.$f.err" ] && fail "trace-cmd report $name.$f.dat warns: $(head -3 "$T/$name.$f.err")"
		"$PCPANALYZE" -q -o "$T/$name.$f.db" "$T/$name.$f.dat" > "$T/$name.$f.out" 2>&1 ||
			{ fail "pcpanalyze $name.$f.dat: $(head -1 "$T/$name.$f.out")"; return; }
		[ "$(sqlite3 "$T/$name.$f.db" "select value from trace_info where key = 'file_version'")" = "${f:1:1}" ] ||
			fail "$name.$f.db: file_version is not ${f:1:1}"
		tables "$T/$name.$f.db" "$T/$name.$f.tables"
	done
	# The report's first line names the file version only through cpus=; the rest is records.
	for f in v7 v7-zstd; do
		cmp -s "$T/$name.v6.report" "$T/$name.$f.report" ||
			fail "$name: trace-cmd report of $f differs from v6: $(diff "$T/$name.v6.report" "$T/$name.$f.report" | head -4)"
		cmp -s "$T/$name.v6.tables" "$T/$name.$f.tables" ||
			fail "$name: pcpanalyze tables of $f differ from v6: $(diff "$T/$name.v6.tables" "$T/$name.$f.tables" | head -4)"
	done
	python3 "$CHECK" "$FORMATS" "$script" "$T/$name.v7-zstd.report" || fail "round trip of $script as v7-zstd"
}

# 1. A generated script: 3 CPUs (CPU 1 empty), ~60000 events so every CPU spans many 10-page
#    chunks, long gaps (time extends), equal timestamps, missed-events marks.
python3 - "$T/big.synth" <<'EOF'
import random, sys
r = random.Random(7)
out = open(sys.argv[1], "w")
out.write("cpus 3\ncomm 1200 pcpload\ncomm 1201 kworker/u8:3\n")
ts = 1_000_000_000
for i in range(30000):
    ts += r.choice([0, 1, 7, 900, 5000, (1 << 27) + 1]) if i % 97 else 3_600_000_000_000
    for cpu in (0, 2):
        if i == 12345 and cpu == 2:
            out.write("missed 2 42\n")
        if i == 20000 and cpu == 0:
            out.write("missed 0 -1\n")
        k = r.random()
        if k < 0.4:
            l = f"kmem:mm_page_pcpu_refill pfn={hex(r.randint(0, 1 << 40))} order={r.choice([0, 0, 3])} migratetype={r.randint(0, 5)}"
        elif k < 0.8:
            l = f"kmem:mm_page_pcpu_drain pfn={r.randint(0, 1 << 40)} order=0 migratetype={r.randint(-1, 5)}"
        elif k < 0.9:
            l = f"kmem:mm_page_pcpu_refill_zone_locked nid={r.randint(0, 1)} zid={r.randint(0, 3)} nr_pages={r.randint(1, 512)}"
        else:
            l = f"kmem:mm_page_pcpu_drain_zone_locked nid={r.randint(0, 1)} zid={r.randint(0, 3)} nr_pages={r.randint(1, 512)}"
        out.write(f"{ts} {cpu} {l} common_pid={r.choice([0, 1200, 1201])}\n")
EOF
compare "$T/big.synth" big
cpus=$(trace-cmd dump --flyrecord "$T/big.v7-zstd.dat" 2>&1 | awk '/data offset and size/ {print $1}' | tr '\n' ' ')
dump=$(trace-cmd dump --all "$T/big.v7-zstd.dat" 2>&1)
grep -q 'zstd.*\[Compression algorithm\]' <<< "$dump" || fail "big.v7-zstd.dat: trace-cmd dump sees no zstd compression"
grep -q '"events format", flags 0x1' <<< "$dump" || fail "big.v7-zstd.dat: event formats section not compressed"
grep -q '"buffer flyrecord ", flags 0x1' <<< "$dump" || fail "big.v7-zstd.dat: flyrecord section not compressed"
[ "$cpus" = "0 2 " ] || fail "big.v7-zstd.dat: expected data of CPUs 0 and 2 (1 has none), dump says '$cpus'"
echo "big: v6 $(stat -c %s "$T/big.v6.dat") B, v7 $(stat -c %s "$T/big.v7.dat") B, v7-zstd $(stat -c %s "$T/big.v7-zstd.dat") B"

# 2. Every committed native fixture script.
for s in "$SRC"/tests/fixtures/native-*.synth; do
	[ -e "$s" ] || continue
	compare "$s" "$(basename "$s" .synth)"
done

# 3. A bad --format is a usage error and writes nothing.
"$SYNTH" -q --format v7-lz4 -o "$T/bad.dat" --formats "$FORMATS" "$T/big.synth" 2> "$T/bad.err"
[ $? = 2 ] || fail "--format v7-lz4: expected exit 2"
[ -e "$T/bad.dat" ] && fail "--format v7-lz4 wrote a file"

[ $fails = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok: v6, v7 and v7-zstd give the same trace-cmd report and the same pcpanalyze tables"
