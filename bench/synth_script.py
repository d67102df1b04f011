#!/usr/bin/env python3
# synth_script.py EVENTS PFNS: a pcpsynth script of a refill/drain stream cycling over a fixed pool
# of PFNs on 2 CPUs (bench/run.sh, bench/compare_builds.sh).
import sys
n, pool = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout
out.write("cpus 2\n")
ts = 1_000_000
for i in range(n // 2):
    pfn = 0x100000 + (i * 7919) % pool
    ts += 50
    out.write(f"{ts} {i & 1} kmem:mm_page_alloc_zone_locked pfn={pfn} order=0 migratetype=1 percpu_refill=1\n")
    ts += 50
    out.write(f"{ts} {(i >> 3) & 1} kmem:mm_page_pcpu_drain pfn={pfn} order=0 migratetype=1\n")
