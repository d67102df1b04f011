#!/usr/bin/env python3
"""Compare a pcpanalyze SQLite database with the independent checkers' JSON.

usage: compare_db.py DB PCP_JSON [PERCPU_JSON]

Tables and columns are the contract of issue 2 / issue 4 (names exactly as written there).
Tolerances (docs/METRICS.md): counts exact; ratios and rates 1e-9 relative; round-trip
percentiles 1/64 relative. Rows that are all zero in the database are ignored where the
contract says "one row per ... with any non-zero value" (timeline) or where an empty row
carries no information (zone_lock with 0 acquisitions). Addresses are compared as unsigned
64-bit (SQLite INTEGER is signed; hex text is accepted too).
Exit 0 when everything matches, 1 on any difference (all listed), 2 on unusable input.
"""

import json
import sqlite3
import sys

MASK64 = (1 << 64) - 1
PERCENTILES = {"round_trip_p50_ns", "round_trip_p99_ns", "refill_lock_hold_p99_ns",
               "drain_lock_hold_p99_ns"}
EXACT_METRICS = {"pairs", "paired_pages", "cross_cpu_pairs", "unmatched_drains", "open_refills",
                 "refill_overwritten", "refill_pages", "drain_pages", "events_lost",
                 "percpu_allocs", "percpu_frees", "percpu_fails", "percpu_outstanding_allocs",
                 "percpu_outstanding_bytes", "percpu_chunks_created", "percpu_chunks_destroyed",
                 "percpu_unmatched_frees", "percpu_replaced_allocs", "refill_lock_hold_max_ns",
                 "drain_lock_hold_max_ns"}
MAX_SHOWN = 12


class Diff:
    def __init__(self):
        self.problems = []

    def add(self, table, msg):
        self.problems.append((table, msg))


def u64(v):
    if v is None:
        return None
    if isinstance(v, str):
        v = int(v, 0)
    return int(v) & MASK64


def close(a, b, rel):
    if a is None or b is None:
        return a is b
    a = float(a)
    b = float(b)
    if b == 0:
        return abs(a) <= 1e-12
    return abs(a - b) <= rel * abs(b)


class TableError(Exception):
    pass


def rows(db, table):
    try:
        cur = db.execute("SELECT * FROM %s" % table)
    except sqlite3.Error as e:
        raise TableError("%s: %s" % (table, e))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def table_exists(db, table):
    return db.execute("SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name=?",
                      (table,)).fetchone() is not None


def compare_keyed(diff, table, got, want, key, exact, approx=(), ignore=None, norm=None):
    """Rows matched by key; exact columns equal, approx columns (name, rel) close."""
    norm = norm or {}
    for c in list(key) + list(exact) + [a[0] for a in approx]:
        if got and c not in got[0]:
            diff.add(table, "no column %s" % c)
            return

    def keyof(r):
        return tuple(norm.get(k, lambda x: x)(r[k]) for k in key)

    gmap = {}
    for r in got:
        if ignore and ignore(r):
            continue
        k = keyof(r)
        if k in gmap:
            diff.add(table, "duplicate row for %s=%s" % (key, k))
        gmap[k] = r
    wmap = {keyof(r): r for r in want}
    for k in sorted(set(wmap) - set(gmap), key=repr):
        diff.add(table, "missing row %s=%s (expected %s)" % (key, k, wmap[k]))
    for k in sorted(set(gmap) - set(wmap), key=repr):
        diff.add(table, "unexpected row %s=%s: %s" % (key, k, gmap[k]))
    for k in sorted(set(gmap) & set(wmap), key=repr):
        g, w = gmap[k], wmap[k]
        for c in exact:
            if c not in g:
                diff.add(table, "no column %s" % c)
                return
            gv = norm.get(c, lambda x: x)(g[c])
            wv = norm.get(c, lambda x: x)(w[c])
            if gv != wv:
                diff.add(table, "%s=%s: %s is %r, expected %r" % (key, k, c, gv, wv))
        for c, rel in approx:
            if c not in g:
                diff.add(table, "no column %s" % c)
                return
            if not close(g[c], w[c], rel):
                diff.add(table, "%s=%s: %s is %r, expected %r (rel %g)" % (key, k, c, g[c], w[c], rel))


def check_metrics(diff, got_rows, want):
    got = {r["name"]: r for r in got_rows}
    for name, w in want.items():
        g = got.get(name)
        if g is None:
            diff.add("metrics", "missing metric %s (expected %r)" % (name, w["value"]))
            continue
        if g.get("unit") != w["unit"] or g.get("better") != w["better"]:
            diff.add("metrics", "%s: unit/better %r/%r, expected %r/%r"
                     % (name, g.get("unit"), g.get("better"), w["unit"], w["better"]))
        gv, wv = g["value"], w["value"]
        if wv is None:  # undefined (METRICS.md): must be NULL, never a number
            if gv is not None:
                diff.add("metrics", "%s is %r, expected NULL (undefined)" % (name, gv))
        elif gv is None:
            diff.add("metrics", "%s: value NULL, expected %r" % (name, wv))
        elif name in EXACT_METRICS:
            if float(gv) != float(wv):
                diff.add("metrics", "%s is %r, expected %r" % (name, gv, wv))
        elif name in PERCENTILES:
            if not (abs(float(gv) - wv) <= wv / 64.0):
                diff.add("metrics", "%s is %r, expected %r (within 1/64)" % (name, gv, wv))
        elif not close(gv, wv, 1e-9):
            diff.add("metrics", "%s is %r, expected %r (rel 1e-9)" % (name, gv, wv))


def step(diff, table, fn):
    """Run one table's comparison; a missing table or column is one difference, not a stop."""
    try:
        fn()
    except TableError as e:
        diff.add(table, "cannot read: %s" % e)
    except KeyError as e:
        diff.add(table, "missing column %s" % e)


def check_pcp(db, diff, want):
    step(diff, "trace_info", lambda: check_trace_info(db, diff, want))
    ec = [dict(event=e, count=c) for e, c in want["event_counts"].items()]
    step(diff, "event_counts", lambda: compare_keyed(
        diff, "event_counts", rows(db, "event_counts"), ec, ["event"], ["count"]))
    step(diff, "cpu_flow", lambda: compare_keyed(
        diff, "cpu_flow", rows(db, "cpu_flow"), want["cpu_flow"], ["cpu"],
        ["refill_blocks", "refill_pages", "drain_blocks", "drain_pages", "net_pages",
         "refill_locks", "drain_locks", "lost_events"]))
    step(diff, "pair_matrix", lambda: compare_keyed(
        diff, "pair_matrix", rows(db, "pair_matrix"), want["pair_matrix"],
        ["refill_cpu", "drain_cpu"], ["pairs", "pages"]))
    step(diff, "round_trip_hist", lambda: compare_keyed(
        diff, "round_trip_hist", rows(db, "round_trip_hist"), want["round_trip_hist"],
        ["lo_ns", "hi_ns"], ["pairs", "pages"]))
    step(diff, "pfn_cycles", lambda: compare_keyed(
        diff, "pfn_cycles", rows(db, "pfn_cycles"), want["pfn_cycles"], ["pfn"],
        ["order", "cycles", "cross_cpu_cycles", "min_round_trip_ns", "max_round_trip_ns"]))
    step(diff, "zone_lock", lambda: compare_keyed(
        diff, "zone_lock", rows(db, "zone_lock"), want["zone_lock"],
        ["nid", "zid", "kind"], ["acquisitions", "target_pages", "moved_pages"],
        [("per_second", 1e-9), ("peak_per_second", 1e-9)],
        ignore=lambda r: not r.get("acquisitions")))
    step(diff, "timeline", lambda: compare_keyed(
        diff, "timeline", rows(db, "timeline"), want["timeline"], ["bucket_start_ns", "cpu"],
        ["refill_pages", "drain_pages", "refill_locks", "drain_locks"],
        ignore=lambda r: not any(r.get(c) for c in ("refill_pages", "drain_pages",
                                                    "refill_locks", "drain_locks"))))
    if "zone_lock_timeline" in want:   # expected JSON older than the table: not compared
        step(diff, "zone_lock_timeline", lambda: check_zone_lock_timeline(db, diff, want))
    step(diff, "metrics", lambda: check_metrics(diff, rows(db, "metrics"), want["metrics"]))
    check_lock_hold(db, diff, want)


def check_zone_lock_timeline(db, diff, want):
    """Per bucket and zone row as the checker counts them; and, in the database itself, the
    sum over buckets of every (nid, zid, kind) equals zone_lock.acquisitions."""
    compare_keyed(diff, "zone_lock_timeline", rows(db, "zone_lock_timeline"),
                  want["zone_lock_timeline"], ["bucket_start_ns", "nid", "zid", "kind"],
                  ["acquisitions"])
    got = {(n, z, k): a for n, z, k, a in db.execute(
        "SELECT nid, zid, kind, sum(acquisitions) FROM zone_lock_timeline GROUP BY 1, 2, 3")}
    total = {(n, z, k): a for n, z, k, a in db.execute(
        "SELECT nid, zid, kind, acquisitions FROM zone_lock WHERE acquisitions > 0")}
    if got != total:
        diff.add("zone_lock_timeline", "sums over buckets %s != zone_lock.acquisitions %s"
                 % (sorted(got.items())[:6], sorted(total.items())[:6]))
    # per window and kind, over zones = the timeline's lock columns over CPUs
    per_kind = set(db.execute("SELECT bucket_start_ns, kind, sum(acquisitions) FROM zone_lock_timeline"
                              " GROUP BY 1, 2"))
    tl = set(db.execute("SELECT bucket_start_ns, 'refill', sum(refill_locks) FROM timeline GROUP BY 1"
                        " HAVING sum(refill_locks) > 0 UNION SELECT bucket_start_ns, 'drain',"
                        " sum(drain_locks) FROM timeline GROUP BY 1 HAVING sum(drain_locks) > 0"))
    if per_kind != tl:
        diff.add("zone_lock_timeline", "per window and kind %s != timeline locks %s"
                 % (sorted(per_kind ^ tl)[:4], len(tl)))
    # the busiest window of a row is zone_lock.peak_per_second
    bucket = db.execute("SELECT value FROM trace_info WHERE key = 'bucket_ns'").fetchone()
    for n, z, k, peak, mx in db.execute(
            "SELECT l.nid, l.zid, l.kind, l.peak_per_second, max(t.acquisitions) FROM zone_lock l"
            " JOIN zone_lock_timeline t USING (nid, zid, kind) GROUP BY 1, 2, 3"):
        if bucket and peak is not None and not close(peak, mx / (int(bucket[0]) / 1e9), 1e-9):
            diff.add("zone_lock_timeline", "%s:%s %s: busiest window %d, peak_per_second %r"
                     % (n, z, k, mx, peak))
    if db.execute("SELECT count(*) FROM zone_lock_timeline WHERE acquisitions <= 0").fetchone()[0]:
        diff.add("zone_lock_timeline", "rows with no acquisition")


def within_64(got, want):
    """A percentile: NULL exactly when undefined, else within 1/64 above the exact rank."""
    if got is None or want is None:
        return got is None and want is None
    return want <= float(got) <= want + want / 64.0


def check_lock_hold(db, diff, want):
    """Zone-lock hold time tables (tests/expected/lock_hold_expected.py)."""
    def hold_rows():
        got = rows(db, "zone_lock_hold")
        compare_keyed(diff, "zone_lock_hold", got, want["zone_lock_hold"], ["nid", "zid", "kind"],
                      ["acquisitions", "empty_acquisitions", "hold_max_ns", "lower_bound",
                       "batch", "at_batch_acquisitions"], [("at_batch_share", 1e-9)])
        wmap = {(w["nid"], w["zid"], w["kind"]): w for w in want["zone_lock_hold"]}
        for g in got:
            w = wmap.get((g["nid"], g["zid"], g["kind"]))
            for c in ("hold_p50_ns", "hold_p99_ns"):
                if w is not None and not within_64(g[c], w[c]):
                    diff.add("zone_lock_hold", "%s:%s %s: %s is %r, expected %r (within 1/64)"
                             % (g["nid"], g["zid"], g["kind"], c, g[c], w[c]))

    step(diff, "zone_lock_hold", hold_rows)
    step(diff, "zone_lock_hold_hist", lambda: compare_keyed(
        diff, "zone_lock_hold_hist", rows(db, "zone_lock_hold_hist"), want["zone_lock_hold_hist"],
        ["kind", "lo_ns"], ["hi_ns", "acquisitions"], norm={"hi_ns": u64}))
    step(diff, "zone_lock_pages_hist", lambda: compare_keyed(
        diff, "zone_lock_pages_hist", rows(db, "zone_lock_pages_hist"),
        want["zone_lock_pages_hist"], ["kind", "lo_pages"], ["hi_pages", "acquisitions"],
        norm={"hi_pages": u64}))
    step(diff, "zone_lock_longest", lambda: compare_keyed(
        diff, "zone_lock_longest", rows(db, "zone_lock_longest"), want["zone_lock_longest"],
        ["rank"], ["ts_ns", "cpu", "pid", "comm", "kind", "nid", "zid", "blocks", "pages",
                   "hold_ns"]))


def check_trace_info(db, diff, want):
    ti = {r["key"]: r["value"] for r in rows(db, "trace_info")}
    for k in ("nr_cpus", "first_ts_ns", "last_ts_ns", "duration_ns", "events_total",
              "events_lost", "lossy", "events_lost_unknown"):
        if k not in ti:
            diff.add("trace_info", "missing key %s" % k)
        elif want["trace_info"][k] is None:  # undefined (duration without a time base)
            if ti[k] is not None:
                diff.add("trace_info", "%s is %r, expected NULL" % (k, ti[k]))
        elif ti[k] is None or int(ti[k]) != want["trace_info"][k]:
            diff.add("trace_info", "%s is %r, expected %r" % (k, ti[k], want["trace_info"][k]))
    for k in ("refill_source", "lock_source", "buffer", "events_lost_source", "time_base",
              "filter", "window_from_ns", "window_to_ns"):
        if k not in want["trace_info"]:  # expected JSON older than the key
            continue
        if ti.get(k) != want["trace_info"][k]:
            diff.add("trace_info", "%s is %r, expected %r" % (k, ti.get(k), want["trace_info"][k]))
    # the automatic infer gaps (present only when locks are inferred)
    for k in ("infer_gap_refill_ns", "infer_gap_drain_ns"):
        w = want["trace_info"].get(k)
        got = ti.get(k)
        if (w is None) != (got is None) or (w is not None and int(got) != w):
            diff.add("trace_info", "%s is %r, expected %r" % (k, got, w))
    # how blocks are keyed and refills recognized (older kernels' formats; the checker names
    # them only when not the defaults pfn / field)
    if ti.get("block_key") != want["trace_info"].get("block_key", "pfn"):
        diff.add("trace_info", "block_key is %r, expected %r"
                 % (ti.get("block_key"), want["trace_info"].get("block_key", "pfn")))
    w = (want["trace_info"].get("refill_flag", "field")
         if want["trace_info"]["refill_source"] == "fallback" else None)
    if ti.get("refill_flag") != w:
        diff.add("trace_info", "refill_flag is %r, expected %r" % (ti.get("refill_flag"), w))
    # the zone map of inferred locks (present only when locks are inferred)
    if ti.get("zone_map") != want["trace_info"].get("zone_map"):
        diff.add("trace_info", "zone_map is %r, expected %r"
                 % (ti.get("zone_map"), want["trace_info"].get("zone_map")))


def check_percpu(db, diff, want):
    step(diff, "percpu_callsite", lambda: check_callsites(db, diff, want))
    step(diff, "percpu_size_hist", lambda: compare_keyed(
        diff, "percpu_size_hist", rows(db, "percpu_size_hist"), want["percpu_size_hist"],
        ["lo_bytes", "hi_bytes"], ["allocs"]))
    step(diff, "percpu_outstanding", lambda: check_outstanding(db, diff, want))
    step(diff, "percpu_chunk", lambda: check_chunks_fails(db, diff, want))
    step(diff, "metrics", lambda: check_metrics(diff, rows(db, "metrics"), want["metrics"]))
    if not want["metrics"]:  # the trace carries no percpu format: no percpu metric either
        step(diff, "metrics", lambda: [
            diff.add("metrics", "unexpected metric %s (no percpu format in the trace)" % r["name"])
            for r in rows(db, "metrics") if r["name"].startswith("percpu_")])


def check_callsites(db, diff, want):
    # percpu_callsite: by call_site when the checker knows the address, else by symbol
    got = rows(db, "percpu_callsite")
    cols = ["allocs", "frees", "fails", "bytes_alloc", "bytes_freed", "outstanding_allocs",
            "outstanding_bytes", "atomic_allocs"]
    by_addr = {}
    by_sym = {}
    for g in got:
        by_addr.setdefault(u64(g["call_site"]), []).append(g)
        by_sym.setdefault(g["symbol"], []).append(g)
    used = set()
    for w in want["percpu_callsite"]:
        if w["call_site"] is not None:
            cands = by_addr.get(w["call_site"], [])
        else:
            cands = [g for g in by_sym.get(w["symbol"], [])
                     if u64(g["call_site"]) in w["call_site_candidates"]]
        label = "call_site=%s (%s)" % (hex(w["call_site"]) if w["call_site"] is not None
                                       else "?", w["symbol"])
        if len(cands) != 1:
            diff.add("percpu_callsite", "%d rows for %s, expected 1: %s" % (len(cands), label, w))
            continue
        g = cands[0]
        used.add(id(g))
        if g["symbol"] != w["symbol"]:
            diff.add("percpu_callsite", "%s: symbol %r, expected %r" % (label, g["symbol"],
                                                                       w["symbol"]))
        for c in cols:
            if g.get(c) != w[c]:
                diff.add("percpu_callsite", "%s: %s is %r, expected %r" % (label, c, g.get(c),
                                                                          w[c]))
    for g in got:
        if id(g) not in used:
            diff.add("percpu_callsite", "unexpected row %s" % g)


def check_outstanding(db, diff, want):
    compare_keyed(diff, "percpu_outstanding", rows(db, "percpu_outstanding"),
                  want["percpu_outstanding"], ["ptr"], ["size", "bytes_alloc", "ts_ns"],
                  norm={"ptr": u64})
    # call_site of outstanding rows (candidates when ambiguous) and the documented order
    got_out = rows(db, "percpu_outstanding")
    wmap = {w["ptr"]: w for w in want["percpu_outstanding"]}
    for g in got_out:
        w = wmap.get(u64(g["ptr"]))
        if w and u64(g["call_site"]) not in w["call_site_candidates"]:
            diff.add("percpu_outstanding", "ptr=%#x: call_site %#x, expected one of %s"
                     % (w["ptr"], u64(g["call_site"]), [hex(c) for c in w["call_site_candidates"]]))
    try:
        order = [u64(r[0]) for r in
                 db.execute("SELECT ptr FROM percpu_outstanding ORDER BY rowid").fetchall()]
    except sqlite3.Error:  # a WITHOUT ROWID table has no storage order to check
        order = None
    if order is not None and set(order) == set(wmap) and \
            order != [w["ptr"] for w in want["percpu_outstanding"]]:
        diff.add("percpu_outstanding", "rows not stored largest first (bytes_alloc desc, ts asc)")


def check_chunks_fails(db, diff, want):
    def tuples(rs, cols, norm=()):
        return sorted(tuple(u64(r[c]) if c in norm else r[c] for c in cols) for r in rs)

    ccols = ["base_addr", "created_ns", "destroyed_ns", "allocs", "frees"]
    g, w = tuples(rows(db, "percpu_chunk"), ccols, ("base_addr",)), tuples(
        want["percpu_chunk"], ccols, ("base_addr",))
    if g != w:
        diff.add("percpu_chunk", "rows %s, expected %s" % (g[:8], w[:8]))
    fcols = ["ts_ns", "size", "align", "reserved", "is_atomic"]
    g, w = tuples(rows(db, "percpu_fail"), fcols), tuples(want["percpu_fail"], fcols)
    if g != w:
        diff.add("percpu_fail", "%d rows %s, expected %d %s" % (len(g), g[:5], len(w), w[:5]))


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    try:
        db = sqlite3.connect("file:%s?mode=ro" % argv[1], uri=True)
        db.execute("SELECT 1 FROM sqlite_master").fetchall()
        with open(argv[2]) as f:
            pcp = json.load(f)
        percpu = None
        if len(argv) == 4:
            with open(argv[3]) as f:
                percpu = json.load(f)
    except (sqlite3.Error, OSError, ValueError) as e:
        sys.stderr.write("compare_db: %s\n" % e)
        return 2
    diff = Diff()
    sections = [("pcp", check_pcp, pcp)] + ([("percpu", check_percpu, percpu)] if percpu else [])
    for name, fn, want in sections:
        step(diff, name, lambda: fn(db, diff, want))
    if not diff.problems:
        print("compare_db: %s matches the checker" % argv[1])
        return 0
    shown = {}
    for table, msg in diff.problems:
        shown[table] = shown.get(table, 0) + 1
        if shown[table] <= MAX_SHOWN:
            print("MISMATCH %s: %s" % (table, msg))
    for table, n in shown.items():
        if n > MAX_SHOWN:
            print("MISMATCH %s: ... %d more" % (table, n - MAX_SHOWN))
    print("compare_db: %s differs from the checker in %d places" % (argv[1], len(diff.problems)))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
