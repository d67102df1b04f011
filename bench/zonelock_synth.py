#!/usr/bin/env python3
# zonelock_synth.py EVENTS [NODES [ZONES [CPUS]]]: a native-mode pcpsynth script (seed patch
# events) whose zone->lock load moves between zones over time, for the HTML report's per-zone
# plot (bench/html_open.sh, tests/integration/html_report.sh). Each acquisition is a
# *_zone_locked event and 8 order-0 blocks; every refill acquisition's blocks are drained by a
# later drain acquisition of the same zone on another CPU: 18 events per round trip, 1 us apart
# (10M events: about 10 s of trace time). Zone k (of NODES x ZONES, zid 1..ZONES) is busiest
# in the k-th part of the trace (3 in 4 acquisitions there), the rest round-robin.
import sys

args = [int(a) for a in sys.argv[1:]]
events = args[0]
nodes = args[1] if len(args) > 1 else 2
zones = args[2] if len(args) > 2 else 2
cpus = args[3] if len(args) > 3 else 8
nz = nodes * zones
rounds = max(1, events // 18)
out = sys.stdout
w = out.write
w(f"cpus {cpus}\ncomm 3100 zonelock-bench\n")
ts = 1_000_000_000
for i in range(rounds):
    phase = i * nz // rounds
    z = phase if i % 4 else (i // 4) % nz
    nid, zid = z // zones, 1 + z % zones
    cpu = i % cpus
    base = 0x100000 * (z + 1) + (i * 8) % 0x80000
    w(f"{ts} {cpu} kmem:mm_page_pcpu_refill_zone_locked common_pid=3100 nid={nid} zid={zid} nr_pages=8\n")
    for b in range(8):
        ts += 1000
        w(f"{ts} {cpu} kmem:mm_page_pcpu_refill common_pid=3100 pfn={base + b} order=0 migratetype=1\n")
    ts += 1000
    dcpu = (cpu + 1) % cpus
    w(f"{ts} {dcpu} kmem:mm_page_pcpu_drain_zone_locked common_pid=3100 nid={nid} zid={zid} nr_pages=8\n")
    for b in range(8):
        ts += 1000
        w(f"{ts} {dcpu} kmem:mm_page_pcpu_drain common_pid=3100 pfn={base + b} order=0 migratetype=1\n")
    ts += 1000
