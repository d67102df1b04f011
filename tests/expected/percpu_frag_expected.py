#!/usr/bin/env python3
"""Independent expected values for pcpanalyze's percpu fragmentation (issue 16).

Parses the before/after /sys/kernel/debug/percpu_stats texts of a trace's meta file itself (its
own parser, not pcptrace's), reads the trace through `trace-cmd report` text (trace_report.py),
and computes the percpu_frag rows, the percpu_run_chunk rows and the five fragmentation metrics
as docs/METRICS.md ("Percpu fragmentation") defines them. With --db it checks a pcpanalyze
results database against them (exit 1 on any difference, each printed).

usage: percpu_frag_expected.py [--trace-cmd PATH] [--meta META] [--db DB] [-o OUT] TRACE
"""

import argparse
import json
import math
import os
import re
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trace_report  # noqa: E402

CHUNK_KEYS = ["free_bytes", "contig_bytes", "sum_frag", "max_frag", "empty_pop_pages", "nr_alloc",
              "cur_min_alloc", "cur_med_alloc", "cur_max_alloc"]
GLOBAL_KEYS = ["nr_chunks", "nr_max_chunks", "empty_pop_pages", "nr_cur_alloc", "nr_max_alloc"]
METRICS = [("percpu_frag_ratio", "ratio", "lower"), ("percpu_frag_ratio_change", "ratio", "lower"),
           ("percpu_free_bytes_change", "bytes", "none"),
           ("percpu_empty_pop_pages_change", "pages", "lower"),
           ("percpu_max_frag_bytes", "bytes", "lower")]
KV_RE = re.compile(r"^\s+(\w+)\s*:\s*(-?\d+)\s*$")


def parse_stats(text):
    """{'global': {key: int}, 'chunks': [(label, {key: int})]} from percpu_stats text."""
    section, glob, chunks = None, {}, []
    for line in text.splitlines():
        if line.startswith("Global Stats:"):
            section = "global"
        elif line.startswith("Per Chunk Stats:"):
            section = "chunks"
        elif line.startswith("Allocation Info:"):
            section = "alloc"
        elif line.startswith("Chunk"):
            chunks.append((line[5:].lstrip(": ").strip(), {}))
        else:
            m = KV_RE.match(line)
            if not m:
                continue
            if section == "global":
                glob[m.group(1)] = int(m.group(2))
            elif section == "chunks" and chunks:
                chunks[-1][1][m.group(1)] = int(m.group(2))
    return dict(glob=glob, chunks=chunks)


def kind(label):
    if "First Chunk" in label:
        return "first"
    if "Reserved Chunk" in label:
        return "reserved"
    return "dynamic"


def trace_chunks(trace):
    """Chunk lifetimes (docs/METRICS.md "Percpu", percpu_chunk) and the open allocations at the
    end, with base_addr and off; lossy when a drop mark or a ring-buffer overrun is seen."""
    rows, current, open_ptr = [], {}, {}
    no_ptr = any("ptr" not in r.fields for r in trace.records
                 if r.event in ("percpu:percpu_alloc_percpu", "percpu:percpu_free_percpu"))

    def ptr_of(r):
        return r.num("base_addr", 0) + r.num("off", 0) if no_ptr else r.num("ptr")

    def row_of(base):
        if base not in current:
            current[base] = dict(base=base, created=None, destroyed=None, allocs=0, frees=0)
            rows.append(current[base])
        return current[base]
    for r in trace.records:
        e, base = r.event, r.num("base_addr", 0)
        if e == "percpu:percpu_alloc_percpu":
            open_ptr[ptr_of(r)] = dict(base=base, off=r.num("off", 0), size=r.num("size", 0),
                                       bytes=r.num("bytes_alloc", r.num("size", 0)))
            if base:
                row_of(base)["allocs"] += 1
        elif e == "percpu:percpu_free_percpu":
            open_ptr.pop(ptr_of(r), None)
            if base:
                row_of(base)["frees"] += 1
        elif e == "percpu:percpu_create_chunk" and base:
            current[base] = dict(base=base, created=r.ts, destroyed=None, allocs=0, frees=0)
            rows.append(current[base])
        elif e == "percpu:percpu_destroy_chunk" and base:
            row = current.pop(base, None) or dict(base=base, created=None, allocs=0, frees=0)
            if row not in rows:
                rows.append(row)
            row["destroyed"] = r.ts
    lossy = any(r.missed for r in trace.records) or any(
        st.get("overrun", 0) or st.get("dropped events", 0)
        for b in trace.cpustat.values() for st in b.values())
    return rows, current, open_ptr, lossy


def run_chunks(open_ptr, current):
    by_base = {}
    for a in open_ptr.values():
        if a["base"]:
            by_base.setdefault(a["base"], []).append(a)
    out = []
    for base, allocs in by_base.items():
        allocs.sort(key=lambda a: (a["off"], a["size"]))
        lo = max(allocs[0]["off"], 0)
        end, holes, hole_bytes, max_hole = lo, 0, 0, 0
        for a in allocs:
            o = max(a["off"], 0)
            if o > end:
                holes += 1
                hole_bytes += o - end
                max_hole = max(max_hole, o - end)
            end = max(end, o + a["size"])
        live = current.get(base)
        out.append(dict(base_addr=base, created_ns=live["created"] if live else None,
                        allocs=len(allocs), unit_bytes=sum(a["size"] for a in allocs),
                        bytes_alloc=sum(a["bytes"] for a in allocs), lo_off=lo, hi_off=end,
                        span_bytes=end - lo, holes=holes, hole_bytes=hole_bytes,
                        max_hole_bytes=max_hole))
    out.sort(key=lambda c: (-c["unit_bytes"], c["base_addr"]))
    return out


def match(before, after, rows, lossy, have_trace):
    """Pairings as docs/METRICS.md says: list of (scope, status, bi, ai, base)."""
    b, a = before["chunks"], after["chunks"]
    aob, boa = {}, {}
    for k in ("first", "reserved"):
        bi = [i for i, c in enumerate(b) if kind(c[0]) == k]
        ai = [j for j, c in enumerate(a) if kind(c[0]) == k]
        if bi and ai:
            aob[bi[0]], boa[ai[0]] = ai[0], bi[0]
    db = [i for i, c in enumerate(b) if kind(c[0]) == "dynamic"]
    da = [j for j, c in enumerate(a) if kind(c[0]) == "dynamic"]
    destroyed, created, cbase = set(), set(), {}
    used = False
    if have_trace and not lossy:
        alive = [r for r in rows if r["created"] is not None and r["destroyed"] is None]
        dpre = [r for r in rows if r["created"] is None and r["destroyed"] is not None]
        if len(db) >= len(dpre) and len(db) - len(dpre) + len(alive) == len(da):
            used = True
            persist = len(db) - len(dpre)
            if persist == 0:
                destroyed, created = set(db), set(da)
            nets = [r["allocs"] - r["frees"] for r in alive]
            placed = 0
            for r, net in zip(alive, nets):
                hits = [j for j in da if a[j][1].get("nr_alloc") == net]
                if len(hits) == 1 and nets.count(net) == 1:
                    created.add(hits[0])
                    cbase[hits[0]] = r["base"]
                    placed += 1
            rest = [j for j in da if j not in created]
            if persist == 1 and not dpre and placed == len(alive):
                if len(db) == 1 and len(rest) == 1:
                    aob[db[0]], boa[rest[0]] = rest[0], db[0]
            elif persist >= 2 and not dpre and placed == len(alive):
                # by nr_alloc change = a persisting chunk's traced allocs - frees
                slots = persist + sum(1 for c in a if kind(c[0]) != "dynamic")
                nets = [r["allocs"] - r["frees"] for r in rows
                        if r["created"] is None and r["destroyed"] is None]
                if len(nets) <= slots:
                    def ok(d):
                        return d in nets or (len(nets) < slots and d == 0)

                    def delta(i, j):
                        return a[j][1].get("nr_alloc", 0) - b[i][1].get("nr_alloc", 0)
                    cand = {i: [j for j in rest if ok(delta(i, j))] for i in db}
                    back = {j: [i for i in db if ok(delta(i, j))] for j in rest}
                    if all(len(cand[i]) == 1 and len(back[cand[i][0]]) == 1 for i in db):
                        pool = nets + [0] * (slots - len(nets))
                        good = True
                        for i in db:
                            d = delta(i, cand[i][0])
                            if d in pool:
                                pool.remove(d)
                            else:
                                good = False
                        if good:
                            for i in db:
                                aob[i], boa[cand[i][0]] = cand[i][0], i
    out = []
    for k in ("first", "reserved", "dynamic"):
        for i, c in enumerate(b):
            if kind(c[0]) == k:
                st = "matched" if i in aob else "destroyed" if i in destroyed else "unmatched"
                out.append((k, st, i, aob.get(i), None))
        for j, c in enumerate(a):
            if kind(c[0]) == k and j not in boa:
                out.append((k, "created" if j in created else "unmatched", None, j,
                            cbase.get(j)))
    return out, used


def expected(trace, meta):
    snaps = meta["snapshots"]
    texts = [snaps.get(w, {}).get("percpu_stats", {}) for w in ("before", "after")]
    rows, current, open_ptr, lossy = trace_chunks(trace)
    have_trace = any(f.startswith("percpu:") for f in trace.formats)
    doc = dict(checker="percpu_frag_expected.py", run_chunks=run_chunks(open_ptr, current))
    if not all(t.get("available") and t.get("text") for t in texts):
        doc.update(frag=None, metrics={m[0]: None for m in METRICS})
        return doc
    before, after = parse_stats(texts[0]["text"]), parse_stats(texts[1]["text"])
    frag = [dict(pairing=0, scope="global", status="matched", before_chunk=-1, after_chunk=-1,
                 base_addr=None, key=k, before=before["glob"].get(k), after=after["glob"].get(k))
            for k in GLOBAL_KEYS if k in before["glob"] or k in after["glob"]]
    pairings, used = match(before, after, rows, lossy, have_trace)
    for n, (scope, st, bi, ai, base) in enumerate(pairings, 1):
        for k in CHUNK_KEYS:
            bv = before["chunks"][bi][1].get(k) if bi is not None else None
            av = after["chunks"][ai][1].get(k) if ai is not None else None
            if bv is None and av is None:
                continue
            frag.append(dict(pairing=n, scope=scope, status=st, before_chunk=bi, after_chunk=ai,
                             base_addr=base, key=k, before=bv, after=av))
    for r in frag:
        r["change"] = r["after"] - r["before"] if None not in (r["before"], r["after"]) else None

    def tot(s, k):
        return sum(c[1].get(k, 0) for c in s["chunks"])

    def ratio(s):
        return tot(s, "sum_frag") / tot(s, "free_bytes") if tot(s, "free_bytes") else 0.0
    epb, epa = before["glob"].get("empty_pop_pages"), after["glob"].get("empty_pop_pages")
    values = dict(percpu_frag_ratio=ratio(after),
                  percpu_frag_ratio_change=ratio(after) - ratio(before),
                  percpu_free_bytes_change=tot(after, "free_bytes") - tot(before, "free_bytes"),
                  percpu_empty_pop_pages_change=None if None in (epa, epb) else epa - epb,
                  percpu_max_frag_bytes=max([c[1].get("max_frag", 0) for c in after["chunks"]],
                                            default=0))
    doc.update(frag=frag, matched_by_trace=used, metrics=values,
               grew=ratio(after) > ratio(before))
    return doc


def s64(v):
    """An address as SQLite's signed INTEGER holds it."""
    return v - (1 << 64) if v is not None and v >= 1 << 63 else v


def check_db(doc, db):
    errors = []
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    cols = ("pairing, scope, status, before_chunk, after_chunk, base_addr, key, before, after, "
            "change")
    got = [dict(zip([c.strip() for c in cols.split(",")], r))
           for r in con.execute("SELECT %s FROM percpu_frag ORDER BY pairing, rowid" % cols)]
    want = [dict(r, base_addr=s64(r["base_addr"])) for r in (doc["frag"] or [])]
    if got != want:
        errors.append("percpu_frag: %d rows, expected %d" % (len(got), len(want)))
        for g, w in zip(got, want):
            if g != w:
                errors.append("  first difference: got %s, expected %s" % (g, w))
                break
    rc_cols = ["base_addr", "created_ns", "allocs", "unit_bytes", "bytes_alloc", "lo_off",
               "hi_off", "span_bytes", "holes", "hole_bytes", "max_hole_bytes"]
    got = [dict(zip(rc_cols, r)) for r in
           con.execute("SELECT %s FROM percpu_run_chunk ORDER BY rowid" % ", ".join(rc_cols))]
    want = [dict(r, base_addr=s64(r["base_addr"])) for r in doc["run_chunks"]]
    if got != want:
        errors.append("percpu_run_chunk: %d rows, expected %d" % (len(got), len(want)))
        for g, w in zip(got, want):
            if g != w:
                errors.append("  first difference: got %s, expected %s" % (g, w))
                break
    rows = dict((n, (v, u, b)) for n, v, u, b in con.execute(
        "SELECT name, value, unit, better FROM metrics WHERE name IN (%s)"
        % ",".join("'%s'" % m[0] for m in METRICS)))
    for name, unit, better in METRICS:
        if name not in rows:
            errors.append("metric %s missing" % name)
            continue
        v, u, b = rows[name]
        w = doc["metrics"][name]
        if (u, b) != (unit, better):
            errors.append("metric %s: unit/better %s/%s, expected %s/%s" % (name, u, b, unit,
                                                                            better))
        if (v is None) != (w is None) or (w is not None and not math.isclose(
                v, w, rel_tol=1e-9, abs_tol=1e-12)):
            errors.append("metric %s = %r, expected %r" % (name, v, w))
    # every figure of both texts is in percpu_stats as printed (the raw rows)
    con.close()
    return errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--meta")
    ap.add_argument("--db")
    ap.add_argument("--trace-cmd", default="trace-cmd")
    ap.add_argument("-o", "--output")
    a = ap.parse_args(argv)
    try:
        trace = trace_report.select_buffer(trace_report.load(a.trace, a.trace_cmd), None)
        with open(a.meta or a.trace + ".meta.json") as f:
            meta = json.load(f)
        doc = expected(trace, meta)
    except (trace_report.ReportError, OSError, ValueError) as e:
        trace_report.die("percpu_frag_expected: %s" % e, 2)
    if a.output:
        trace_report.write_json(doc, a.output)
    if a.db:
        errors = check_db(doc, a.db)
        for e in errors:
            print("percpu_frag_expected: %s" % e)
        if errors:
            return 1
        print("percpu_frag_expected: %s agrees (%d percpu_frag rows, %d run chunks)"
              % (a.db, len(doc["frag"] or []), len(doc["run_chunks"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
