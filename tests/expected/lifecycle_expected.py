#!/usr/bin/env python3
"""Expected values of the lifecycle model (docs/METRICS.md, "Lifecycle") computed
independently from `trace-cmd report` text, never through pcptrace code.

  lifecycle_expected.py TRACE [--start N,N,..] [--end N,N,..] [--meta] [--page-shift S]
                        [--bucket NS] [--acquisitions REFILL,DRAIN]
                        [--refill-source fallback] [-o OUT.json]

--acquisitions: the refill and drain zone-lock acquisitions the ratios use when pcpanalyze
runs the model (the churn model's zone_lock rows, native or inferred: the harness takes them
from pcp_expected.py); without it, the native zone-lock events as tests/test_lifecycle.c gives
the model no churn results. Round-trip phases: the refill -> drain round trips split by the
block events between (docs/METRICS.md, "Round-trip phases").

--start/--end: the before/after snapshot's pageset count per CPU (summed over zones), as the
model gets them; --meta: both summed here from TRACE.meta.json (pcprecord's snapshots), every
zone's pagesets["count"] added per "cpu", CPUs listed nowhere 0. The output is what tests/test_lifecycle.c compares the model against
(exact counts, occupancy and histogram rows; percentiles exact here, the model's within 1/64
above). The mode as docs/METRICS.md says: native when the trace carries the format of
kmem:mm_page_pcpu_refill (every mm_page_alloc_zone_locked is then a zone_locked record and the
refill is the mm_page_pcpu_refill; the zone-lock events, when both formats are there, are the
acquisitions), else fallback (percpu_refill != 0 is a refill, no acquisition events);
--refill-source fallback forces the fallback on a native trace (as pcpanalyze's option does).

  trace-cmd report -t -R -N -i FILE: one line per record,
      COMM-PID [CPU] SEC.NSEC: EVENT: field=value ...
"""

import argparse
import json
import os
import re
import subprocess
import sys

LINE_RE = re.compile(r"^\s*(?P<comm>.*)-(?P<pid>-?\d+)\s+\[(?P<cpu>\d+)\]\s+(?P<sec>\d+)\.(?P<nsec>\d{9}):"
                     r"\s+(?P<event>[^\s:]+):\s?(?P<fields>.*)$")
FIELD_RE = re.compile(r"(\w+)=(\S*)")
CPUS_RE = re.compile(r"^cpus=(\d+)\s*$")


def formats(path):
    text = subprocess.run(["trace-cmd", "report", "-E", "-i", path], check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          universal_newlines=True).stdout
    return set(l.strip() for l in text.splitlines() if ":" in l)


def records(path):
    text = subprocess.run(["trace-cmd", "report", "-t", "-R", "-N", "-i", path], check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          universal_newlines=True).stdout
    nr_cpus, out = None, []
    for line in text.splitlines():
        m = CPUS_RE.match(line)
        if m:
            nr_cpus = int(m.group(1))
            continue
        m = LINE_RE.match(line)
        if not m:
            continue
        f = {}
        for k, v in FIELD_RE.findall(m.group("fields")):
            try:
                f[k] = int(v, 0)
            except ValueError:
                pass                          # symbols (percpu call_site): not used here
        out.append((int(m.group("sec")) * 10**9 + int(m.group("nsec")), int(m.group("cpu")),
                    int(m.group("pid")), m.group("event"), f, m.group("comm").strip()))
    return nr_cpus, out


PHASES = ("wait_before_alloc", "in_use", "wait_between_uses", "wait_after_free")


def allowed(order, page_shift):
    return order <= 3 or order == page_shift - 3


def nearest_rank(values, num, den):
    if not values:
        return None
    v = sorted(values)
    k = max(-(-num * len(v) // den), 1)
    return v[k - 1]


def log2_bucket(r):
    if r <= 0:
        return 0, 1
    lo = 1 << (r.bit_length() - 1)
    return lo, 2 * lo


def ratio(a, b):
    return a / b if b > 0 else None


def occupancy_timeline(changes, start_levels, first, last, bucket, nr_cpus):
    """One row per (bucket, CPU) with a change: changes, min/max (the level the bucket entered
    with included), end, mean over the bucket's part of [first, last]."""
    rows = []
    for c in range(nr_cpus):
        level = start_levels[c]
        by_bucket = {}
        for ts, after in changes[c]:
            by_bucket.setdefault((ts - first) // bucket, []).append((ts, after))
        for b in sorted(by_bucket):
            bstart = first + b * bucket
            bend = min(bstart + bucket, last)
            lo = hi = level
            area, at = 0, bstart
            for ts, after in by_bucket[b]:
                area += level * (ts - at)
                level, at = after, ts
                lo, hi = min(lo, level), max(hi, level)
            area += level * (bend - at)
            span = bend - bstart
            rows.append(dict(bucket_start_ns=b * bucket, cpu=c, changes=len(by_bucket[b]),
                             occ_min=lo, occ_max=hi, occ_end=level,
                             occ_mean=area / span if span > 0 else None))
    rows.sort(key=lambda r: (r["bucket_start_ns"], r["cpu"]))
    return rows


def split_round_trip(tokens, refill_ts, drain_ts):
    """tokens: what happened to the block between its refill and its drain, in order:
    ("A", ts) a PCP-served alloc, ("F", ts) a free of a PCP-eligible order, ("X", ts) any
    other alloc or free. Returns "unused", "unsplit", or the phases as a dict."""
    if not tokens:
        return "unused"
    kinds = "".join(k for k, _ in tokens)
    if not re.fullmatch("(AF)+", kinds):
        return "unsplit"
    ts = [t for _, t in tokens]
    allocs, frees = ts[0::2], ts[1::2]
    phases = dict(wait_before_alloc=allocs[0] - refill_ts,
                  in_use=sum(f - a for a, f in zip(allocs, frees)),
                  wait_after_free=drain_ts - frees[-1])
    if len(allocs) > 1:
        phases["wait_between_uses"] = sum(a - f for f, a in zip(frees, allocs[1:]))
    return phases


def compute(path, start=None, end=None, page_shift=12, bucket=10000000, acquisitions=None,
            refill_source=None):
    given_acq = acquisitions
    nr_cpus, recs = records(path)
    fmts = formats(path)
    # pcpanalyze --refill-source fallback on a native trace: its native events are ignored
    native = "kmem:mm_page_pcpu_refill" in fmts and refill_source != "fallback"
    native_locks = native and {"kmem:mm_page_pcpu_refill_zone_locked",
                               "kmem:mm_page_pcpu_drain_zone_locked"} <= fmts
    acquisitions = {"refill": 0, "drain": 0}
    # block state: pfn -> dict(state, owner, since, entry, order)
    blocks = {}
    zl = {}                                   # cpu -> [pfn, is_refill]
    occ = [start[c] if start else 0 for c in range(nr_cpus)]
    cpu = [dict(pcp_allocs=0, buddy_allocs=0, unclassified_allocs=0, free_entries=0,
                buddy_frees=0, refill_blocks=0, refill_pages=0, drain_blocks=0, drain_pages=0,
                unused_refills=0, remote_drains=0, occ_start=occ[c], occ_min=occ[c],
                occ_max=occ[c]) for c in range(nr_cpus)]
    changes = [[] for _ in range(nr_cpus)]    # (ts, occupancy after)
    tasks = {}
    # what a complete trace cannot show (lost events, blocks already listed, untraced moves)
    anomalies = dict(refill_while_listed=0, alloc_other_cpu=0, drain_not_listed=0,
                     free_not_in_use=0, bad_order=0, bad_cpu=0)
    tot = dict(allocs=0, frees=0, pcp_allocs=0, buddy_allocs=0, unclassified_allocs=0,
               free_entries=0, buddy_frees=0, refill_blocks=0, drain_blocks=0, unused_refills=0,
               drains_owner_known=0, remote_drains=0, drains_owner_unknown=0, allocs_pcp_unseen=0,
               buddy_allocs_untraced=0)
    stays = {"alloc": [], "drain": []}        # (residency, pages)

    def task(pid):
        return tasks.setdefault(pid, dict(pid=pid, refill_blocks=0, refill_pages=0, drain_blocks=0,
                                          drain_pages=0, lock_acquisitions=0, allocs=0,
                                          pcp_allocs=0, buddy_allocs=0, frees=0, free_entries=0))

    def change(c, delta, ts):
        occ[c] += delta
        cpu[c]["occ_min"] = min(cpu[c]["occ_min"], occ[c])
        cpu[c]["occ_max"] = max(cpu[c]["occ_max"], occ[c])
        changes[c].append((ts, occ[c]))

    def enter(b, c, order, ts, how):
        if b.get("state") == "pcp":
            anomalies["refill_while_listed"] += 1
            change(b["owner"], -(1 << b["order"]), ts)
        b.update(state="pcp", owner=c, since=ts, entry=how, order=order)
        change(c, 1 << order, ts)

    comms = {}
    round_trip = {}                           # pfn -> [refill_ts, tokens] while open
    phase_values = {p: [] for p in PHASES}
    rt_count = dict(split=0, unused=0, unsplit=0)

    def token(pfn, kind, ts):
        if pfn in round_trip:
            round_trip[pfn][1].append((kind, ts))

    first = recs[0][0] if recs else 0
    last = max((r[0] for r in recs), default=0)
    def refill(ts, c, pid, f):
        zl[c] = [f["pfn"], True]
        o = f["order"]
        cpu[c]["refill_blocks"] += 1
        cpu[c]["refill_pages"] += 1 << o
        tot["refill_blocks"] += 1
        t = task(pid)
        t["refill_blocks"] += 1
        t["refill_pages"] += 1 << o
        enter(blocks.setdefault(f["pfn"], {}), c, o, ts, "refill")
        round_trip[f["pfn"]] = [ts, []]       # a refill of an open one replaces it

    block_events = ("mm_page_pcpu_refill", "mm_page_alloc_zone_locked", "mm_page_alloc",
                    "mm_page_free", "mm_page_pcpu_drain")
    for ts, c, pid, ev, f, comm in recs:
        if pid >= 0 and not comm.startswith("<"):
            comms.setdefault(pid, comm)
        if c >= nr_cpus:
            anomalies["bad_cpu"] += 1
            continue
        if ev in block_events and f.get("order", 0) > 32:   # METRICS.md: above 32, damaged
            anomalies["bad_order"] += 1
            continue
        if ev in ("mm_page_pcpu_refill_zone_locked", "mm_page_pcpu_drain_zone_locked"):
            if native_locks:
                acquisitions["refill" if "refill" in ev else "drain"] += 1
                task(pid)["lock_acquisitions"] += 1
        elif ev == "mm_page_pcpu_refill":
            if native:
                refill(ts, c, pid, f)
        elif ev == "mm_page_alloc_zone_locked":
            if f["pfn"] == (1 << 64) - 1:
                continue
            if native:
                zl[c] = [f["pfn"], False]    # a following mm_page_pcpu_refill makes it one
            elif f["percpu_refill"]:
                refill(ts, c, pid, f)
            else:
                zl[c] = [f["pfn"], False]
        elif ev == "mm_page_alloc":
            if f["pfn"] == (1 << 64) - 1:
                continue                      # failed: no block
            pfn, o = f["pfn"], f["order"]
            t = task(pid)
            tot["allocs"] += 1
            t["allocs"] += 1
            match = c in zl and zl[c][0] == pfn
            was_refill = match and zl[c][1]
            if match:
                del zl[c]                     # one alloc per zone_locked record
            b = blocks.setdefault(pfn, {})
            # classified PCP by the records, but the block is in the buddy allocator (drained,
            # or freed to the buddy) and no record put it on a list since: a buddy alloc no
            # zone_locked record shows (compaction's capture); no list loses pages
            untraced = (allowed(o, page_shift) and not (match and not was_refill)
                        and b.get("state") == "buddy")
            token(pfn, "A" if allowed(o, page_shift) and not (match and not was_refill)
                  and not untraced else "X", ts)
            if untraced:
                cpu[c]["buddy_allocs"] += 1
                tot["buddy_allocs"] += 1
                tot["buddy_allocs_untraced"] += 1
                t["buddy_allocs"] += 1
                b.update(state="use", order=o)
                continue
            if not allowed(o, page_shift):
                cpu[c]["unclassified_allocs"] += 1
                tot["unclassified_allocs"] += 1
            elif match and not was_refill:
                cpu[c]["buddy_allocs"] += 1
                tot["buddy_allocs"] += 1
                t["buddy_allocs"] += 1
            else:
                cpu[c]["pcp_allocs"] += 1
                tot["pcp_allocs"] += 1
                t["pcp_allocs"] += 1
                if b.get("state") == "pcp":
                    if b["owner"] != c:
                        anomalies["alloc_other_cpu"] += 1
                    stays["alloc"].append((ts - b["since"], 1 << b["order"]))
                    change(b["owner"], -(1 << b["order"]), ts)
                else:
                    tot["allocs_pcp_unseen"] += 1
                    change(c, -(1 << o), ts)
                b.update(state="use", order=o)
                continue
            if b.get("state") == "pcp":
                anomalies["refill_while_listed"] += 1
                change(b["owner"], -(1 << b["order"]), ts)
            b.update(state="use", order=o)
        elif ev == "mm_page_free":
            pfn, o = f["pfn"], f["order"]
            t = task(pid)
            tot["frees"] += 1
            t["frees"] += 1
            b = blocks.setdefault(pfn, {})
            if b.get("state") in ("pcp", "buddy"):
                anomalies["free_not_in_use"] += 1
            token(pfn, "F" if allowed(o, page_shift) else "X", ts)
            if allowed(o, page_shift):
                cpu[c]["free_entries"] += 1
                tot["free_entries"] += 1
                t["free_entries"] += 1
                enter(b, c, o, ts, "free")
            else:
                cpu[c]["buddy_frees"] += 1
                tot["buddy_frees"] += 1
                if b.get("state") == "pcp":
                    change(b["owner"], -(1 << b["order"]), ts)
                b.update(state="buddy", order=o)
        elif ev == "mm_page_pcpu_drain":
            pfn, o = f["pfn"], f["order"]
            t = task(pid)
            cpu[c]["drain_blocks"] += 1
            cpu[c]["drain_pages"] += 1 << o
            tot["drain_blocks"] += 1
            t["drain_blocks"] += 1
            t["drain_pages"] += 1 << o
            b = blocks.setdefault(pfn, {})
            if pfn in round_trip:
                refill_ts, tokens = round_trip.pop(pfn)
                res = split_round_trip(tokens, refill_ts, ts)
                if isinstance(res, dict):
                    rt_count["split"] += 1
                    for p, v in res.items():
                        phase_values[p].append(v)
                else:
                    rt_count[res] += 1
            if b.get("state") == "pcp":
                owner = b["owner"]
                tot["drains_owner_known"] += 1
                if owner != c:
                    tot["remote_drains"] += 1
                    cpu[owner]["remote_drains"] += 1
                if b["entry"] == "refill":
                    tot["unused_refills"] += 1
                    cpu[owner]["unused_refills"] += 1
                stays["drain"].append((ts - b["since"], 1 << b["order"]))
                change(owner, -(1 << b["order"]), ts)
            else:
                if b.get("state") in ("use", "buddy"):
                    anomalies["drain_not_listed"] += 1
                tot["drains_owner_unknown"] += 1
                change(c, -(1 << o), ts)
            b.update(state="buddy", order=o)

    duration = last - first
    rows, sum_mean, sum_err = [], 0.0, 0
    for c in range(nr_cpus):
        row = dict(cpu=c, **cpu[c])
        row["occ_end"] = occ[c]
        # time-weighted mean over [first, last]
        area, level, at = 0, cpu[c]["occ_start"], first
        for ts, after in changes[c]:
            area += level * (ts - at)
            level, at = after, ts
        area += level * (last - at)
        row["occ_mean"] = area / duration if duration > 0 else None
        sum_mean += row["occ_mean"] or 0
        if end:
            row["snapshot_end"] = end[c]
            row["end_diff"] = occ[c] - end[c]
            sum_err += row["end_diff"]
        rows.append(row)

    hist = {}
    for kind, s in stays.items():
        buckets = {}
        for r, pages in s:
            lo, hi = log2_bucket(r)
            b = buckets.setdefault(lo, dict(lo_ns=lo, hi_ns=hi, stays=0, pages=0))
            b["stays"] += 1
            b["pages"] += pages
        hist[kind] = [buckets[k] for k in sorted(buckets)]
    every = [r for s in stays.values() for r, _ in s]
    tot["stays_alloc"] = len(stays["alloc"])
    tot["stays_drain"] = len(stays["drain"])
    # the acquisitions the ratios use: the given ones (pcpanalyze: the churn model's), else the
    # native zone-lock events (none in fallback mode)
    if given_acq is not None:
        acquisitions = dict(refill=given_acq[0], drain=given_acq[1])
    tot["refill_acquisitions"] = acquisitions["refill"]
    tot["drain_acquisitions"] = acquisitions["drain"]
    metrics = dict(
        buddy_allocs=tot["buddy_allocs"], pcp_allocs=tot["pcp_allocs"],
        alloc_refill_ratio=ratio(acquisitions["refill"], tot["pcp_allocs"]),
        free_drain_ratio=ratio(acquisitions["drain"], tot["free_entries"]),
        unused_refill_ratio=ratio(tot["unused_refills"], tot["refill_blocks"]),
        free_entry_share=ratio(tot["free_entries"], tot["free_entries"] + tot["refill_blocks"]),
        remote_drain_ratio=ratio(tot["remote_drains"], tot["drains_owner_known"]),
        pcp_residency_p50_ns=nearest_rank(every, 1, 2),
        pcp_residency_p99_ns=nearest_rank(every, 99, 100),
        mean_pcp_pages=sum_mean if start and duration > 0 else None,
        occupancy_error_pages=sum_err if start and end else None)
    timeline = occupancy_timeline(changes, [r["occ_start"] for r in rows], first, last, bucket,
                                  nr_cpus)
    phase_hist = []
    for p in PHASES:
        buckets = {}
        for v in phase_values[p]:
            lo, hi = log2_bucket(v)
            buckets.setdefault(lo, dict(phase=p, lo_ns=lo, hi_ns=hi, round_trips=0))
            buckets[lo]["round_trips"] += 1
        phase_hist += [buckets[k] for k in sorted(buckets)]
    round_trip_phases = dict(rt_count, hist=phase_hist,
                             p50_ns={p: nearest_rank(phase_values[p], 1, 2) for p in PHASES})
    task_rows = []
    for p in sorted(tasks):
        # pid 0 (the idle task: interrupts on an idle CPU, a CPU coming online) is never in
        # the cmdlines; trace-cmd report and libtraceevent call it "<idle>"
        task_rows.append(dict(tasks[p], comm="<idle>" if p == 0 else comms.get(p)))
    return dict(trace=os.path.basename(path), mode="native" if native else "fallback",
                round_trip_phases=round_trip_phases,
                nr_cpus=nr_cpus, page_shift=page_shift, bucket_ns=bucket,
                occupancy_timeline=timeline,
                start_pages=start, end_pages=end, first_ts_ns=first, last_ts_ns=last,
                totals=tot, cpu_flow=rows, tasks=task_rows,
                residency_hist=hist, metrics=metrics, anomalies=anomalies)


def ints(s):
    return [int(x) for x in s.split(",")] if s else None


def meta_pages(trace, nr_cpus):
    """Per-CPU pageset count sums (before, after) from TRACE.meta.json."""
    with open(trace + ".meta.json") as f:
        snaps = json.load(f)["snapshots"]
    out = []
    for when in ("before", "after"):
        pages = [0] * nr_cpus
        for zone in snaps[when]["zoneinfo"]:
            for ps in zone["pagesets"]:
                pages[ps["cpu"]] += ps["count"]
        out.append(pages)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("--start", type=ints)
    ap.add_argument("--end", type=ints)
    ap.add_argument("--meta", action="store_true")
    ap.add_argument("--page-shift", type=int, default=12)
    ap.add_argument("--bucket", type=int, default=10000000)
    ap.add_argument("--acquisitions", type=ints)
    ap.add_argument("--refill-source", choices=("fallback",))
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args()
    if a.meta:
        a.start, a.end = meta_pages(a.trace, records(a.trace)[0])
    doc = compute(a.trace, a.start, a.end, a.page_shift, a.bucket, a.acquisitions,
                  a.refill_source)
    text = json.dumps(doc, indent=1) + "\n"
    if a.output == "-":
        sys.stdout.write(text)
    else:
        with open(a.output + ".tmp", "w") as f:
            f.write(text)
        os.replace(a.output + ".tmp", a.output)


if __name__ == "__main__":
    main()
