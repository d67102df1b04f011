#!/usr/bin/env python3
"""Checks a pcpanalyze --perfetto file against the Trace Event Format and against the results
database of the same analysis.

usage: perfetto_validate.py TIMELINE.json RESULTS.db

Format (JSON object form): traceEvents a list; per phase the required keys (M: name pid args.name;
C: name pid ts args with numeric values; X: name pid tid ts dur >= 0); ts/dur numbers; events
of one track (C: pid + name, X: pid + tid) in non-decreasing ts, X slices on one track not
overlapping. Totals against the database (its own tables, not pcpanalyze's JSON): per CPU the
refill/drain counter sums = timeline sums = cpu_flow pages; the zone-lock slices per (nid, zid,
kind) = zone_lock_hold.acquisitions (unless capped: then their count = max_slices), the
per-zone acquisition counters' sums = zone_lock_timeline's = zone_lock.acquisitions; the last
occupancy per CPU = lifecycle_cpu_flow.occ_end; percpu alloc/free counter sums = the percpu
totals and the last outstanding bytes = outstanding_bytes (trace_info / percpu tables).
Exit 0 when all hold, 1 with one "FAIL:" line per problem."""

import collections
import json
import numbers
import sqlite3
import sys

PID_CPUS, PID_ZONES, PID_PERCPU = 1000000001, 1000000002, 1000000003


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1]) as f:
        doc = json.load(f)
    db = sqlite3.connect(argv[2])
    fails = []

    def fail(msg):
        fails.append(msg)

    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        print("FAIL: no traceEvents list")
        return 1
    other = doc.get("otherData", {})
    last_ts = {}
    slice_end = {}
    counters = collections.defaultdict(list)     # (pid, name) -> [(ts, value)]
    slices = collections.defaultdict(int)        # (nid, zid, kind) -> count
    thread_names = {}
    for i, e in enumerate(doc["traceEvents"]):
        ph = e.get("ph")
        if ph == "M":
            if not (isinstance(e.get("name"), str) and isinstance(e.get("pid"), int)
                    and isinstance(e.get("args", {}).get("name"), str)):
                fail("event %d: M without name/pid/args.name" % i)
            if e.get("name") == "thread_name":
                thread_names[(e["pid"], e.get("tid"))] = e["args"]["name"]
            continue
        if ph not in ("C", "X"):
            fail("event %d: unexpected phase %r" % (i, ph))
            continue
        if not isinstance(e.get("name"), str) or not isinstance(e.get("pid"), int) \
           or not isinstance(e.get("ts"), numbers.Real) or isinstance(e.get("ts"), bool):
            fail("event %d: %s without name/pid/numeric ts" % (i, ph))
            continue
        if ph == "C":
            args = e.get("args")
            if not isinstance(args, dict) or not args or not all(
                    isinstance(v, numbers.Real) and not isinstance(v, bool) for v in args.values()):
                fail("event %d: counter without numeric args" % i)
                continue
            track = ("C", e["pid"], e["name"])
            for k, v in args.items():
                counters[(e["pid"], e["name"])].append((e["ts"], v))
        else:
            if not isinstance(e.get("tid"), int) or not isinstance(e.get("dur"), numbers.Real):
                fail("event %d: X without tid/dur" % i)
                continue
            if e["dur"] < 0:
                fail("event %d: negative dur %r" % (i, e["dur"]))
            track = ("X", e["pid"], e["tid"])
            if (e["pid"], e["tid"]) not in thread_names:
                fail("event %d: slice on an unnamed track (no thread_name before it)" % i)
            if e["ts"] < slice_end.get(track, float("-inf")) - 1e-9:
                fail("event %d: slice overlaps the previous one on its track" % i)
            slice_end[track] = e["ts"] + e["dur"]
            a = e.get("args", {})
            slices[(a.get("nid"), a.get("zid"), e["name"])] += 1
        if e["ts"] < last_ts.get(track, float("-inf")):
            fail("event %d: ts %r before the previous one on track %r" % (i, e["ts"], track))
        last_ts[track] = e["ts"]

    q = lambda sql, *p: db.execute(sql, p).fetchall()
    # per-CPU refill/drain counters vs the timeline and cpu_flow tables
    for cpu, rp, dp in q("SELECT cpu, refill_pages, drain_pages FROM cpu_flow"):
        tl = q("SELECT COALESCE(SUM(refill_pages),0), COALESCE(SUM(drain_pages),0) FROM timeline "
               "WHERE cpu=?", cpu)[0]
        got_r = sum(v for _, v in counters.get((PID_CPUS, "cpu%d refill" % cpu), []))
        got_d = sum(v for _, v in counters.get((PID_CPUS, "cpu%d drain" % cpu), []))
        if (got_r, got_d) != (rp, dp) or tl != (rp, dp):
            fail("cpu %d: refill/drain counter sums %s, timeline %s, cpu_flow %s"
                 % (cpu, (got_r, got_d), tl, (rp, dp)))
    # zone-lock slices vs zone_lock_hold
    want = {(n, z, k): c for n, z, k, c in
            q("SELECT nid, zid, kind, acquisitions FROM zone_lock_hold")}
    capped = other.get("zone_lock_slices_dropped", 0) > 0
    if capped:
        if sum(slices.values()) != other.get("max_slices"):
            fail("capped: %d slices, max_slices %r" % (sum(slices.values()), other.get("max_slices")))
        if sum(slices.values()) + other["zone_lock_slices_dropped"] != sum(want.values()):
            fail("capped: slices + dropped %d != acquisitions %d"
                 % (sum(slices.values()) + other["zone_lock_slices_dropped"], sum(want.values())))
    elif dict(slices) != want:
        fail("zone-lock slices per (nid, zid, kind) %s != zone_lock_hold %s" % (dict(slices), want))
    # per-zone acquisition counters vs zone_lock_timeline and zone_lock (complete even when
    # the slices are capped)
    if q("SELECT count(*) FROM sqlite_master WHERE name = 'zone_lock_timeline'")[0][0]:
        for n, z, k, acq in q("SELECT nid, zid, kind, acquisitions FROM zone_lock"):
            name = ("zone->lock zone ? %s per bucket" % k if n < 0 else
                    "zone->lock node%d zone%d %s per bucket" % (n, z, k))
            pts = counters.get((PID_ZONES, name), [])
            tl = q("SELECT COALESCE(SUM(acquisitions), 0) FROM zone_lock_timeline WHERE nid = ? "
                   "AND zid = ? AND kind = ?", n, z, k)[0][0]
            if sum(v for _, v in pts) != acq or tl != acq:
                fail("%s: counter sum %d, zone_lock_timeline %d, zone_lock %d"
                     % (name, sum(v for _, v in pts), tl, acq))
    # occupancy (lifecycle traces)
    for cpu, occ_end in q("SELECT cpu, occ_end FROM lifecycle_cpu_flow"):
        pts = counters.get((PID_CPUS, "cpu%d occupancy" % cpu))
        if not pts or pts[-1][1] != occ_end:
            fail("cpu %d: last occupancy %r != lifecycle_cpu_flow.occ_end %d"
                 % (cpu, pts[-1][1] if pts else None, occ_end))
    # percpu
    tot = dict(q("SELECT key, value FROM trace_info WHERE key LIKE 'percpu_%'"))
    m = dict(q("SELECT name, value FROM metrics WHERE name IN ('percpu_allocs', "
               "'percpu_frees', 'percpu_outstanding_bytes')"))
    if m:
        got_a = sum(v for _, v in counters.get((PID_PERCPU, "percpu allocs"), []))
        got_f = sum(v for _, v in counters.get((PID_PERCPU, "percpu frees"), []))
        out = counters.get((PID_PERCPU, "percpu outstanding"), [])
        if "percpu_allocs" in m and got_a != m["percpu_allocs"]:
            fail("percpu allocs %d != metric %r" % (got_a, m["percpu_allocs"]))
        if "percpu_frees" in m and got_f != m["percpu_frees"]:
            fail("percpu frees %d != metric %r" % (got_f, m["percpu_frees"]))
        if "percpu_outstanding_bytes" in m and out and out[-1][1] != m["percpu_outstanding_bytes"]:
            fail("percpu outstanding %d != metric %r" % (out[-1][1], m["percpu_outstanding_bytes"]))
    del tot
    info = dict(q("SELECT key, value FROM trace_info WHERE key = 'filter'"))
    if other.get("filter") != info.get("filter"):
        fail("otherData.filter %r != trace_info filter %r" % (other.get("filter"), info.get("filter")))
    for f in fails:
        print("FAIL: " + f)
    if not fails:
        print("ok: %d events, %d counter tracks, %d slices"
              % (len(doc["traceEvents"]), len(counters), sum(slices.values())))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
