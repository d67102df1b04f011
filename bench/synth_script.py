#!/usr/bin/env python3
# synth_script.py [--lifecycle] EVENTS PFNS: a pcpsynth script cycling over a fixed pool of PFNs on
# 2 CPUs (bench/run.sh, bench/compare_builds.sh).
#   default      refill/drain pairs: mm_page_alloc_zone_locked percpu_refill=1, mm_page_pcpu_drain
#   --lifecycle  each block's whole life, as a `pcprecord --lifecycle` trace has it: refill on
#                one CPU, mm_page_alloc there, mm_page_free on the other CPU (a free-path entry),
#                a second alloc (a PCP hit) and free there, drain of the block by its owner: the
#                trace triples, as a real one roughly does (4 alloc/free per refill/drain pair)
import sys
args = sys.argv[1:]
lifecycle = bool(args) and args[0] == "--lifecycle"
if lifecycle:
    args = args[1:]
n, pool = int(args[0]), int(args[1])
out = sys.stdout
out.write("cpus 2\n")
ts = 1_000_000
if not lifecycle:
    for i in range(n // 2):
        pfn = 0x100000 + (i * 7919) % pool
        ts += 50
        out.write(f"{ts} {i & 1} kmem:mm_page_alloc_zone_locked pfn={pfn} order=0 migratetype=1 percpu_refill=1\n")
        ts += 50
        out.write(f"{ts} {(i >> 3) & 1} kmem:mm_page_pcpu_drain pfn={pfn} order=0 migratetype=1\n")
    sys.exit(0)
for i in range(n // 6):
    pfn = 0x100000 + (i * 7919) % pool
    cpu = i & 1
    ts += 25
    out.write(f"{ts} {cpu} kmem:mm_page_alloc_zone_locked pfn={pfn} order=0 migratetype=1 percpu_refill=1\n")
    ts += 25
    out.write(f"{ts} {cpu} kmem:mm_page_alloc pfn={pfn} order=0 gfp_flags=0xcc0 migratetype=1\n")
    ts += 25
    out.write(f"{ts} {cpu ^ 1} kmem:mm_page_free pfn={pfn} order=0\n")
    ts += 25
    out.write(f"{ts} {cpu ^ 1} kmem:mm_page_alloc pfn={pfn} order=0 gfp_flags=0xcc0 migratetype=1\n")
    ts += 25
    out.write(f"{ts} {cpu ^ 1} kmem:mm_page_free pfn={pfn} order=0\n")
    ts += 25
    out.write(f"{ts} {cpu ^ 1} kmem:mm_page_pcpu_drain pfn={pfn} order=0 migratetype=1\n")
