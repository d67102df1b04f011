#!/usr/bin/env python3
"""Independent expected values for pcpanalyze's PCP tables, from `trace-cmd report` text.

Implements docs/METRICS.md (sections up to "Metrics") and issue 2 directly; it shares no code
with the C analyzer. Output: one JSON document with trace_info, event_counts, cpu_flow,
pair_matrix, round_trip_hist, pfn_cycles, zone_lock, timeline, zone_lock_timeline (each zone
row's acquisitions per --bucket window) and metrics (name -> value, unit,
better). tests/expected/compare_db.py compares it with a pcpanalyze database.

usage: pcp_expected.py [--churn-window NS] [--bucket NS] [--top N]
                       [--refill-source native|fallback] [--trace-cmd PATH] [-o OUT] TRACE

TRACE.meta.json (the recorder's snapshots), when it exists, is an input too: its "before"
zoneinfo zone spans name the zone of inferred zone-lock acquisitions (METRICS.md, "Zone lock"),
and its recording.cpus counts are one source of lost events (METRICS.md, "Lost events").

Buffers (--buffer NAME, "top" = top-level): trace_report.select_buffer() keeps one buffer's
records as pcpanalyze(1) chooses it; lost events per CPU are the largest of that buffer's
missed-event marks, its CPUSTAT overrun + commit overrun + dropped events (`trace-cmd report
--stat`), and the meta's overrun + commit_overrun + dropped (only when one buffer holds data).

Exit: 0 ok, 2 usage or unreadable trace, 3 nothing to analyze, 4 forced native without the
native refill format.

Choices where METRICS.md is silent (flagged so the C side can agree or object):
- refill_source when the trace carries neither kmem:mm_page_pcpu_refill nor
  kmem:mm_page_alloc_zone_locked: "fallback" (there is no refill event either way).
- Inferred lock runs: a missed-events mark on ANY record of the CPU (also an ignored one) since
  the previous considered record breaks the run.
- pfn_cycles.order: the order of the PFN's latest refill in the whole trace (paired or not).
- Percentile rank k = ceil(p * pairs) computed in integers (ceil(0.99 * 100) is 100 in floating
  point, 99 in exact arithmetic).
- zone_lock rows exist only for (nid, zid, kind) with at least one acquisition.

Older kernels' formats (METRICS.md, "Older kernels' formats"), read from the formats the file
carries (`trace-cmd report --events`):
- block events with a 'page' field and no 'pfn' key blocks by that pointer (block_key
  page_pointer); pfn_cycles.pfn is then the pointer as the database stores it (signed 64-bit),
  and there is no zone map (zone_map n/a);
- a mm_page_alloc_zone_locked without a percpu_refill field (refill_flag derived): the flag is
  the percpu_refill value its print fmt shows, as libtraceevent evaluates the kernel's own
  expression (trace-cmd report without -R); pcpanalyze implements the rule (order == 0) itself.
- a mm_page_alloc_zone_locked record with no page (pfn -1 of the field's width, or a NULL page
  pointer) is not a refill.
block_key and refill_flag appear in trace_info only when not pfn / field (older formats).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trace_report  # noqa: E402
import lock_hold_expected  # noqa: E402

REFILL_NATIVE = "kmem:mm_page_pcpu_refill"
DRAIN = "kmem:mm_page_pcpu_drain"
ALLOC_ZONE_LOCKED = "kmem:mm_page_alloc_zone_locked"
REFILL_ZL = "kmem:mm_page_pcpu_refill_zone_locked"
DRAIN_ZL = "kmem:mm_page_pcpu_drain_zone_locked"
PATCH_EVENTS = (REFILL_NATIVE, REFILL_ZL, DRAIN_ZL)
KERNEL_STACK = "ftrace:kernel_stack"

METRIC_SPECS = [  # name, unit, better
    ("pairs", "pairs", "lower"),
    ("paired_pages", "pages", "lower"),
    ("cross_cpu_pairs", "pairs", "lower"),
    ("cross_cpu_ratio", "ratio", "lower"),
    ("unmatched_drains", "drains", "none"),
    ("open_refills", "refills", "none"),
    ("refill_overwritten", "refills", "none"),
    ("refill_pages", "pages", "lower"),
    ("drain_pages", "pages", "lower"),
    ("churn_ratio", "ratio", "lower"),
    ("fast_churn_ratio", "ratio", "lower"),
    ("round_trip_p50_ns", "ns", "none"),
    ("round_trip_p99_ns", "ns", "none"),
    ("refill_imbalance", "ratio", "lower"),
    ("drain_imbalance", "ratio", "lower"),
    ("refill_locks_per_s", "1/s", "lower"),
    ("drain_locks_per_s", "1/s", "lower"),
    ("pages_per_refill_lock", "pages", "higher"),
    ("pages_per_drain_lock", "pages", "higher"),
    ("refill_lock_hold_p99_ns", "ns", "lower"),
    ("drain_lock_hold_p99_ns", "ns", "lower"),
    ("refill_lock_hold_max_ns", "ns", "lower"),
    ("drain_lock_hold_max_ns", "ns", "lower"),
    ("events_lost", "events", "lower"),
]


class AnalyzeError(Exception):
    def __init__(self, msg, code):
        super().__init__(msg)
        self.code = code


def nearest_rank(sorted_values, num, den):
    """Smallest r with at least ceil(num/den * n) values <= r (None: undefined for no values)."""
    n = len(sorted_values)
    if n == 0:
        return None
    k = -(-num * n // den)  # exact ceil
    k = max(k, 1)
    return sorted_values[k - 1]


def log2_bucket(r):
    if r <= 0:
        return 0, 1
    lo = 1 << (r.bit_length() - 1)
    return lo, 2 * lo


def classify(trace, forced):
    """refill_source and lock_source inputs (format-based), per METRICS.md."""
    if forced == "native":
        if REFILL_NATIVE not in trace.formats:
            raise AnalyzeError("%s: --refill-source native but the trace has no %s format"
                               % (trace.path, REFILL_NATIVE), 4)
        return "native"
    if forced == "fallback":
        return "fallback"
    if REFILL_NATIVE in trace.formats:
        return "native"
    return "fallback"


AUTO_GAP_SAMPLES = 65536
AUTO_GAP_MIN_SAMPLES = 1000
AUTO_GAP_DEFAULT = 2000


def auto_gap(recs, kinds, kind):
    """docs/METRICS.md, --infer-gap auto: the valley after the main mode of the log2 histogram of
    gaps between consecutive same-CPU blocks of one kind (ignored records invisible, a missed
    mark breaks the pair)."""
    prev = {}                 # cpu -> (kind, ts) of the previous considered record
    hist = {}
    n = 0
    for r, k in zip(recs, kinds):
        if r.missed:
            prev.pop(r.cpu, None)
        if k is None:
            continue
        p = prev.get(r.cpu)
        if k == kind and p is not None and p[0] == kind and n < AUTO_GAP_SAMPLES:
            g = r.ts - p[1]
            b = 0 if g < 2 else g.bit_length() - 1
            hist[b] = hist.get(b, 0) + 1
            n += 1
        prev[r.cpu] = (k, r.ts)
    if n < AUTO_GAP_MIN_SAMPLES:
        return AUTO_GAP_DEFAULT
    mode = min(hist, key=lambda b: (-hist[b], b))
    for b in range(mode + 1, 64):
        if 128 * hist.get(b, 0) < hist[mode]:
            return 1 << b
    return AUTO_GAP_DEFAULT


def zone_spans(meta):
    """[(start_pfn, end_pfn, nid, zid)] from meta's snapshots.before.zoneinfo: every zone that
    has start_pfn and spanned > 0, in the snapshot's order (empty if none)."""
    if not isinstance(meta, dict):
        return []
    zones = meta.get("snapshots", {}).get("before", {}).get("zoneinfo")
    if not isinstance(zones, list):
        return []
    spans = []
    for z in zones:
        if "start_pfn" not in z:
            continue
        for k in ("node", "zid", "start_pfn", "spanned"):
            if not isinstance(z.get(k), int) or isinstance(z.get(k), bool) or z[k] < 0:
                raise AnalyzeError("meta: zone %r has no valid %s" % (z.get("zone"), k), 2)
        if z["spanned"] > 0:
            spans.append((z["start_pfn"], z["start_pfn"] + z["spanned"], z["node"], z["zid"]))
    return spans


def zone_of(spans, pfn):
    """(nid, zid) of the first span holding pfn, else (-1, -1)."""
    for start, end, nid, zid in spans:
        if start <= pfn < end:
            return nid, zid
    return -1, -1


def load_meta(trace_path):
    path = trace_path + ".meta.json"
    if not os.path.exists(path):
        return None
    import json
    with open(path) as f:
        return json.load(f)


def block_format(trace, mode):
    """(block_key, key field, refill_flag) from the formats of the block events this mode uses."""
    used = [DRAIN, REFILL_NATIVE if mode == "native" else ALLOC_ZONE_LOCKED]
    keys = {}
    for e in used:
        f = trace.fields.get(e)
        if f is not None:
            keys[e] = "pfn" if "pfn" in f else ("page" if "page" in f else "pfn")
    if len(set(keys.values())) > 1:
        raise AnalyzeError("%s: block events keyed differently: %s" % (trace.path, keys), 7)
    key = next(iter(keys.values()), "pfn")
    flag = None
    if mode == "fallback":
        azl = trace.fields.get(ALLOC_ZONE_LOCKED)
        flag = "derived" if azl is not None and "percpu_refill" not in azl else "field"
    return ("page_pointer" if key == "page" else "pfn"), key, flag


def to_int64(v):
    """A 64-bit value as SQLite's signed INTEGER stores it."""
    return v - (1 << 64) if v >= (1 << 63) else v


NS_CLOCKS = ("local", "global", "perf", "mono", "mono_raw", "boot", "tai")


def time_base(trace):
    """METRICS.md "Time base": ns clocks, TSC converted by TSC2NSEC, or none."""
    if getattr(trace, "tsc2nsec", 0):
        return "tsc2nsec"
    clock = getattr(trace, "clock", None)
    return "ns" if clock is None or clock in NS_CLOCKS else "none"


def analyze(trace, churn_window=1000000, bucket=10000000, top=100, refill_source=None,
            infer_gap="auto", meta=None):
    mode = classify(trace, refill_source)
    block_key, key_field, refill_flag = block_format(trace, mode)
    azl_size = trace.fields.get(ALLOC_ZONE_LOCKED, {}).get(key_field, 8)
    no_page = 0 if key_field == "page" else (1 << (8 * azl_size)) - 1
    recs = trace.records
    nr_cpus = trace.nr_cpus
    # window_filter.apply(): the kept records, and those inside the window that only bring
    # their missed-events mark (in the passes below, as ignored records)
    mark_only = getattr(trace, "mark_only", set())
    passed = getattr(trace, "filtered", recs)

    # --- whole-trace facts (every record, ignored or not) ---
    event_counts = {}
    for r in recs:
        event_counts[r.event] = event_counts.get(r.event, 0) + 1
    first_ts = min((r.ts for r in recs), default=0)
    last_ts = max((r.ts for r in recs), default=0)
    duration = last_ts - first_ts
    tbase = time_base(trace)
    timed = tbase != "none"  # without a time base every rate and time in ns is None
    dur_s = duration / 1e9 if timed else 0
    lost_per_cpu = {}
    lost_unknown = 0
    for r in passed:
        if r.missed:
            if r.missed > 0:
                lost_per_cpu[r.cpu] = lost_per_cpu.get(r.cpu, 0) + r.missed
            else:
                lost_unknown += 1
    sources = []
    if lost_unknown or any(lost_per_cpu.values()):
        sources.append("missed_marks")
    stats = trace.cpustat.get(trace.buffer or trace_report.TOP, {})
    meta_cpus = {}
    if meta and getattr(trace, "nr_data_buffers", 1) <= 1:
        for row in meta.get("recording", {}).get("cpus", []) or []:
            meta_cpus[row.get("cpu")] = row
    seen = set()
    for c in range(nr_cpus):
        st = stats.get(c, {})
        parts = {"cpustat_overrun": st.get("overrun", 0),
                 "cpustat_commit_overrun": st.get("commit overrun", 0),
                 "cpustat_dropped": st.get("dropped events", 0)}
        mrow = meta_cpus.get(c, {})
        meta_lost = sum(max(0, mrow.get(k, 0) or 0) for k in ("overrun", "commit_overrun", "dropped"))
        for k, v in parts.items():
            if v > 0:
                seen.add(k)
        if meta_lost > 0:
            seen.add("meta")
        lost_per_cpu[c] = max(lost_per_cpu.get(c, 0), sum(parts.values()), meta_lost)
    sources += [k for k in ("cpustat_overrun", "cpustat_commit_overrun", "cpustat_dropped",
                            "meta") if k in seen]
    events_lost = sum(lost_per_cpu.values())
    lossy = 1 if events_lost or lost_unknown else 0

    # --- classify each record for this mode ---
    # kind: 'refill', 'drain', 'refill_zl', 'drain_zl', 'percpu', 'other', or None (ignored)
    def kind_of(r):
        e = r.event
        if mode == "fallback" and e in PATCH_EVENTS:
            return None
        if e == KERNEL_STACK:
            return None       # written inside the bulk operation (pcprecord --stacks)
        if e == DRAIN:
            return "drain"
        if mode == "native" and e == REFILL_NATIVE:
            return "refill"
        if mode == "fallback" and e == ALLOC_ZONE_LOCKED:
            if refill_flag == "derived":
                flag = int(r.printed["percpu_refill"], 0)
            else:
                flag = r.num("percpu_refill", 0)
            if flag != 0 and r.num(key_field) != no_page:
                return "refill"
        if mode == "native" and e == REFILL_ZL:
            return "refill_zl"
        if mode == "native" and e == DRAIN_ZL:
            return "drain_zl"
        if e.startswith("percpu:"):
            return "percpu"
        return "other"

    kinds = [kind_of(r) for r in recs]
    if mark_only:
        kinds_kept = kinds
        kinds = [None if id(r) in mark_only else kind_of(r) for r in passed]
    else:
        kinds_kept = kinds
    has_blocks = any(k in ("refill", "drain") for k in kinds_kept)
    if not any(k in ("refill", "drain", "refill_zl", "drain_zl", "percpu") for k in kinds_kept):
        raise AnalyzeError("%s: no event that pcptrace analyzes" % trace.path, 3)
    if mode == "native" and REFILL_ZL in trace.formats and DRAIN_ZL in trace.formats:
        lock_source = "native"
    elif has_blocks:
        lock_source = "inferred"
    else:
        lock_source = "none"

    if lock_source == "inferred":
        gaps = {k: (auto_gap(passed, kinds, k) if infer_gap == "auto" else int(infer_gap))
                for k in ("refill", "drain")}
        spans = zone_spans(meta) if block_key == "pfn" else []
        extra_info = dict(zone_map=("meta" if spans else "none") if block_key == "pfn" else "n/a")
    else:
        gaps = {}
        spans = []
        extra_info = {}

    # --- per-CPU flow, pairing, zone lock, timeline in one ordered pass ---
    flow = {c: dict(cpu=c, refill_blocks=0, refill_pages=0, drain_blocks=0, drain_pages=0,
                    net_pages=0, refill_locks=0, drain_locks=0,
                    lost_events=lost_per_cpu.get(c, 0)) for c in range(nr_cpus)}
    open_refill = {}          # pfn -> (ts, cpu, order)
    last_refill_order = {}    # pfn -> order of its latest refill
    pairs = []                # (round_trip, pages, refill_cpu, drain_cpu, pfn)
    unmatched = 0
    overwritten = 0
    zone = {}                 # (nid, zid, kind) -> row dict + 'ts' list of acquisitions
    latest_acq = {}           # (cpu, kind) -> zone key (native attribution)
    run_prev = {}             # cpu -> kind of previous considered record (inferred)
    prev_ts = {}              # cpu -> timestamp of previous considered record (inferred)
    run_acq = {}              # cpu -> zone key of the current inferred run
    run_zone = {}             # cpu -> (nid, zid) of the current inferred acquisition
    mark_since = {}           # cpu -> a missed-events mark since the previous considered record
    timeline = {}             # (bucket_index, cpu) -> [refill_pages, drain_pages, rl, dl]
    hold = lock_hold_expected.Tracker(meta)   # zone-lock hold time, fed by this pass

    def tl(ts, cpu):
        key = ((ts - first_ts) // bucket, cpu)
        row = timeline.get(key)
        if row is None:
            row = timeline[key] = [0, 0, 0, 0]
        return row

    def zone_row(key):
        row = zone.get(key)
        if row is None:
            row = zone[key] = dict(nid=key[0], zid=key[1], kind=key[2], acquisitions=0,
                                   target_pages=0, moved_pages=0, ts=[])
        return row

    def acquire(key, ts, cpu, target):
        row = zone_row(key)
        row["acquisitions"] += 1
        row["target_pages"] += target
        row["ts"].append(ts)
        flow[cpu][key[2] + "_locks"] += 1
        tl(ts, cpu)[2 if key[2] == "refill" else 3] += 1

    for r, k in zip(passed, kinds):
        if r.missed:
            mark_since[r.cpu] = True
            hold.mark(r.cpu)
        if k is None:
            continue
        cpu = r.cpu
        if k in ("refill", "drain"):
            order = r.num("order")
            pfn = r.num(key_field)
            pages = 1 << order
            f = flow[cpu]
            f[k + "_blocks"] += 1
            f[k + "_pages"] += pages
            tl(r.ts, cpu)[0 if k == "refill" else 1] += pages
            if k == "refill":
                if pfn in open_refill:
                    overwritten += 1
                open_refill[pfn] = (r.ts, cpu, order)
                last_refill_order[pfn] = order
            else:
                ref = open_refill.pop(pfn, None)
                if ref is None:
                    unmatched += 1
                else:
                    pairs.append((r.ts - ref[0], 1 << ref[2], ref[1], cpu, pfn))
            if lock_source == "native":
                key = latest_acq.get((cpu, k))
                if key is not None:
                    zone[key]["moved_pages"] += pages
                    hold.block(cpu, k, r.ts, pages)
            elif lock_source == "inferred":
                gap = r.ts - prev_ts.get(cpu, r.ts)
                nz = zone_of(spans, pfn)
                if (run_prev.get(cpu) != k or mark_since.get(cpu) or (gaps[k] and gap > gaps[k])
                        or run_zone.get(cpu) != nz):
                    key = (nz[0], nz[1], k)
                    acquire(key, r.ts, cpu, 0)
                    hold.start(cpu, k, nz[0], nz[1], r.ts, r)
                    run_acq[cpu] = key
                    run_zone[cpu] = nz
                row = zone[run_acq[cpu]]
                row["target_pages"] += pages
                row["moved_pages"] += pages
                hold.block(cpu, k, r.ts, pages)
        elif k in ("refill_zl", "drain_zl") and lock_source == "native":
            kind = "refill" if k == "refill_zl" else "drain"
            key = (r.num("nid"), r.num("zid"), kind)
            acquire(key, r.ts, cpu, r.num("nr_pages"))
            hold.start(cpu, kind, key[0], key[1], r.ts, r)
            latest_acq[(cpu, kind)] = key
        run_prev[cpu] = k
        prev_ts[cpu] = r.ts
        mark_since[cpu] = False

    for f in flow.values():
        f["net_pages"] = f["refill_pages"] - f["drain_pages"]

    # --- tables ---
    matrix = {}
    hist = {}
    per_pfn = {}
    for rt, pages, rc, dc, pfn in pairs:
        m = matrix.setdefault((rc, dc), [0, 0])
        m[0] += 1
        m[1] += pages
        h = hist.setdefault(log2_bucket(rt), [0, 0])
        h[0] += 1
        h[1] += pages
        p = per_pfn.get(pfn)
        if p is None:
            p = per_pfn[pfn] = [0, 0, rt, rt]
        p[0] += 1
        p[1] += rc != dc
        p[2] = min(p[2], rt)
        p[3] = max(p[3], rt)
    pfn_rows = sorted(per_pfn.items(), key=lambda kv: (-kv[1][0], kv[0]))[:top]
    if block_key == "page_pointer":
        extra_info["block_key"] = block_key
    if refill_flag == "derived":
        extra_info["refill_flag"] = refill_flag

    bucket_s = bucket / 1e9
    zone_rows = []
    zone_timeline = []        # (bucket_start_ns, nid, zid, kind, acquisitions), non-zero
    for key in sorted(zone, key=lambda k: (k[0], k[1], k[2])):
        row = zone[key]
        counts = {}
        for ts in row.pop("ts"):
            b = (ts - first_ts) // bucket
            counts[b] = counts.get(b, 0) + 1
        zone_timeline += [(b * bucket, key[0], key[1], key[2], n) for b, n in counts.items()]
        row["per_second"] = row["acquisitions"] / dur_s if dur_s > 0 else None
        row["peak_per_second"] = (max(counts.values()) / bucket_s if counts else 0.0) if timed else None
        zone_rows.append(row)

    # --- metrics ---
    n_pairs = len(pairs)
    paired_pages = sum(p[1] for p in pairs)
    cross = sum(1 for p in pairs if p[2] != p[3])
    refill_pages = sum(f["refill_pages"] for f in flow.values())
    drain_pages = sum(f["drain_pages"] for f in flow.values())
    fast_pages = sum(p[1] for p in pairs if p[0] <= churn_window)
    rts = sorted(p[0] for p in pairs)
    refill_acq = sum(z["acquisitions"] for z in zone_rows if z["kind"] == "refill")
    drain_acq = sum(z["acquisitions"] for z in zone_rows if z["kind"] == "drain")

    def imbalance(field):
        total = sum(f[field] for f in flow.values())
        if total == 0 or nr_cpus == 0:
            return None
        return max(f[field] for f in flow.values()) / (total / nr_cpus)

    values = dict(
        pairs=n_pairs, paired_pages=paired_pages, cross_cpu_pairs=cross,
        # METRICS.md "Undefined values": 0/0 and rates over no time are None (NULL), not 0
        cross_cpu_ratio=cross / n_pairs if n_pairs else None,
        unmatched_drains=unmatched, open_refills=len(open_refill),
        refill_overwritten=overwritten, refill_pages=refill_pages, drain_pages=drain_pages,
        churn_ratio=paired_pages / refill_pages if refill_pages else None,
        fast_churn_ratio=fast_pages / refill_pages if refill_pages and timed else None,
        round_trip_p50_ns=nearest_rank(rts, 50, 100) if timed else None,
        round_trip_p99_ns=nearest_rank(rts, 99, 100) if timed else None,
        refill_imbalance=imbalance("refill_pages"), drain_imbalance=imbalance("drain_pages"),
        refill_locks_per_s=refill_acq / dur_s if dur_s > 0 else None,
        drain_locks_per_s=drain_acq / dur_s if dur_s > 0 else None,
        pages_per_refill_lock=refill_pages / refill_acq if refill_acq else None,
        pages_per_drain_lock=drain_pages / drain_acq if drain_acq else None,
        events_lost=events_lost,
    )
    hold_tables, hold_metrics = hold.result(timed, top, lock_source != "native")
    values.update(hold_metrics)
    metrics = {name: dict(value=values[name], unit=unit, better=better)
               for name, unit, better in METRIC_SPECS}

    return dict(
        checker="pcp_expected.py",
        options=dict(churn_window_ns=churn_window, bucket_ns=bucket, top=top,
                     refill_source=refill_source, infer_gap=infer_gap),
        trace_info=dict(trace_file=os.path.basename(trace.path), nr_cpus=nr_cpus,
                        first_ts_ns=first_ts, last_ts_ns=last_ts,
                        duration_ns=duration if timed else None, time_base=tbase,
                        refill_source=mode, lock_source=lock_source, events_total=len(recs),
                        events_lost=events_lost, events_lost_unknown=lost_unknown, lossy=lossy,
                        events_lost_source=",".join(sources) or "none",
                        buffer=trace.buffer or trace_report.TOP,
                        **{"infer_gap_%s_ns" % k: v for k, v in gaps.items()}, **extra_info),
        event_counts=dict(sorted(event_counts.items())),
        cpu_flow=[flow[c] for c in range(nr_cpus)],
        pair_matrix=[dict(refill_cpu=k[0], drain_cpu=k[1], pairs=v[0], pages=v[1])
                     for k, v in sorted(matrix.items())],
        round_trip_hist=[dict(lo_ns=k[0], hi_ns=k[1], pairs=v[0], pages=v[1])
                         for k, v in sorted(hist.items())],
        pfn_cycles=[dict(pfn=to_int64(pfn), order=last_refill_order[pfn], cycles=v[0],
                         cross_cpu_cycles=v[1], min_round_trip_ns=v[2], max_round_trip_ns=v[3])
                    for pfn, v in pfn_rows],
        zone_lock=zone_rows,
        timeline=[dict(bucket_start_ns=k[0] * bucket, cpu=k[1], refill_pages=v[0],
                       drain_pages=v[1], refill_locks=v[2], drain_locks=v[3])
                  for k, v in sorted(timeline.items()) if any(v)],
        zone_lock_timeline=[dict(bucket_start_ns=b, nid=nid, zid=zid, kind=kind, acquisitions=n)
                            for b, nid, zid, kind, n in sorted(zone_timeline)],
        metrics=metrics,
        **hold_tables,
    )


def positive_int(s):
    v = int(s, 0)
    if v <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return v


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--churn-window", type=positive_int, default=1000000)
    ap.add_argument("--bucket", type=positive_int, default=10000000)
    ap.add_argument("--top", type=positive_int, default=100)
    ap.add_argument("--infer-gap", default="auto", type=lambda v: v if v == "auto" else int(v))
    ap.add_argument("--refill-source", choices=("native", "fallback"))
    ap.add_argument("--buffer")
    ap.add_argument("--trace-cmd", default="trace-cmd")
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args(argv)
    try:
        trace = trace_report.select_buffer(trace_report.load(a.trace, a.trace_cmd), a.buffer)
        doc = analyze(trace, a.churn_window, a.bucket, a.top, a.refill_source, a.infer_gap,
                      load_meta(a.trace))
    except trace_report.ReportError as e:
        trace_report.die("pcp_expected: %s" % e, 2)
    except AnalyzeError as e:
        trace_report.die("pcp_expected: %s" % e, e.code)
    trace_report.write_json(doc, a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
