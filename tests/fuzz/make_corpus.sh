#!/bin/bash
# Seed corpus for tests/fuzz: small trace.dat files of every format the reader takes, made from
# the fixtures' event formats with pcpsynth (native, fallback and percpu events; v6, v7, v7-zstd,
# v7-zlib) plus overrun.dat, a real trace-cmd v7 zstd file with little data.
#   tests/fuzz/make_corpus.sh BUILD_DIR OUT_DIR      (BUILD_DIR holds pcpsynth)
set -eu
build=${1:?build dir with pcpsynth}
out=${2:?output dir}
src=$(cd "$(dirname "$0")/../.." && pwd)
fix=$src/tests/fixtures
mkdir -p "$out"
tmp=$(mktemp -d /tmp/pcp_corpus.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Fallback mode (no patch events): refills from mm_page_alloc_zone_locked, one missed mark.
cat >"$tmp/fallback.synth" <<'S'
cpus 2
comm 100 seed
1000 0 kmem:mm_page_alloc_zone_locked common_pid=100 pfn=0x1000 order=0 migratetype=1 percpu_refill=1
1010 0 kmem:mm_page_alloc_zone_locked common_pid=100 pfn=0x1001 order=0 migratetype=1 percpu_refill=1
1020 0 kmem:mm_page_alloc_zone_locked common_pid=100 pfn=0x2000 order=2 migratetype=0 percpu_refill=0
5000 1 kmem:mm_page_pcpu_drain common_pid=100 pfn=0x1000 order=0 migratetype=1
missed 1 3
6000 0 kmem:mm_page_pcpu_drain common_pid=100 pfn=0x1001 order=0 migratetype=1
7000 1 kmem:mm_page_free common_pid=100 pfn=0x2000 order=2
S
cat >"$tmp/percpu.synth" <<'S'
cpus 1
comm 200 seed
100 0 percpu:percpu_create_chunk base_addr=0xffff888000000000
200 0 percpu:percpu_alloc_percpu call_site=0xffffffff81000000 reserved=0 is_atomic=0 size=64 align=8 base_addr=0xffff888000000000 off=128 ptr=0x1000 bytes_alloc=512 gfp_flags=0xcc0
300 0 percpu:percpu_free_percpu base_addr=0xffff888000000000 off=128 ptr=0x1000
S
for fmt in v6 v7 v7-zstd v7-zlib; do
	"$build/pcpsynth" -q -u -f "$fix/formats" -F "$fmt" -o "$out/native-order-$fmt.dat" "$fix/native-order.synth"
	"$build/pcpsynth" -q -u -f "$fix/formats" -F "$fmt" -o "$out/fallback-$fmt.dat" "$tmp/fallback.synth"
done
"$build/pcpsynth" -q -u -f "$fix/formats" -F v7-zstd -o "$out/native-lost-v7-zstd.dat" "$fix/native-lost.synth"
"$build/pcpsynth" -q -f "$fix/formats" -o "$out/percpu-v6.dat" "$tmp/percpu.synth"
cp "$fix/overrun.dat" "$out/real-overrun-v7-zstd.dat"
