#!/usr/bin/env python3
"""html_check.py REPORT.html RESULTS.db: the HTML report against its results database.

The report must be well-formed XML (XHTML + inline SVG), self-contained (no external resource),
have every plot, and draw exactly the database's data: as many bars as histogram rows (with
their values), per-CPU totals of the over-time plots and of the pair matrix equal to SQLite's
sums, as many metric rows as metrics. Everything expected is computed here with SQLite, not taken
from pcpanalyze. Prints the number of drawn plots (for the browser check) on success."""
import re
import sqlite3
import sys
import xml.etree.ElementTree as ET

XH = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"
errors = []


def fail(msg):
    errors.append(msg)


def main():
    html, dbp = sys.argv[1], sys.argv[2]
    text = open(html, encoding="utf-8").read()
    root = ET.fromstring(text)
    db = sqlite3.connect(dbp)
    q = lambda sql, *a: db.execute(sql, a).fetchall()
    info = dict(q("SELECT key, value FROM trace_info"))
    ncpu = int(info["nr_cpus"])

    # Self-contained: no script, style sheet, image or font from elsewhere.
    for pat in (r'\ssrc=', r'<link', r'@import', r'url\((?!#)', r'https?://(?!www\.w3\.org/)'):
        if re.search(pat, text):
            fail(f"external resource reference: {pat}")

    figs = {f.get("id"): f for f in root.iter(XH + "figure")}
    for fid in ("refill-timeline", "drain-timeline", "lock-rate", "zone-lock-timeline",
                "hold-hist", "pages-hist",
                "round-trip-hist", "residency-hist", "pair-matrix", "occupancy",
                "percpu-outstanding"):
        if fid not in figs:
            fail(f"plot {fid} missing")
    for fid, fig in figs.items():
        cap = fig.find(XH + "figcaption")
        if cap is None or len("".join(cap.itertext())) < 30:
            fail(f"plot {fid}: no caption")
        svg = fig.find(SVG + "svg")
        if svg is not None:
            texts = [t.get("class") for t in svg.iter(SVG + "text")]
            if fid not in ("zone-lock-zones", "percpu-callsites") and texts.count("axis") < 2:
                fail(f"plot {fid}: axis labels missing")

    def drawn(fid):
        return fids_drawn.get(fid)
    fids_drawn = {k: v.find(SVG + "svg") for k, v in figs.items()}

    def rects(fid, cls):
        svg = drawn(fid)
        return [] if svg is None else [r for r in svg.iter(SVG + "rect") if r.get("class") == cls]

    # Histograms: one bar per non-zero row, with its value, per series.
    hists = [("round-trip-hist", "SELECT 'pairs', pairs FROM round_trip_hist"),
             ("hold-hist", "SELECT kind, acquisitions FROM zone_lock_hold_hist"),
             ("pages-hist", "SELECT kind, acquisitions FROM zone_lock_pages_hist"),
             ("residency-hist", "SELECT exit_kind, stays FROM lifecycle_residency_hist"),
             ("phase-hist", "SELECT phase, round_trips FROM round_trip_phase_hist")]
    for fid, sql in hists:
        want = sorted((s, float(v)) for s, v in q(sql) if v > 0)
        got = sorted((r.get("data-series"), float(r.get("data-v"))) for r in rects(fid, "bar"))
        if fid not in figs and not want:
            continue
        if want != got:
            fail(f"{fid}: bars {got[:6]}... != rows {want[:6]}... ({len(got)} vs {len(want)})")

    # Over time, per CPU: totals per CPU equal SQLite's.
    for fid, col in (("refill-timeline", "refill_pages"), ("drain-timeline", "drain_pages")):
        want = {c: float(v) for c, v in q(f"SELECT cpu, sum({col}) FROM timeline GROUP BY cpu") if v}
        svg = drawn(fid)
        got = {}
        if svg is None:
            if want:
                fail(f"{fid}: not drawn but the timeline has rows")
            continue
        if ncpu <= 8:
            for g in svg.iter(SVG + "g"):
                if g.get("class") == "series":
                    cpu = int(g.get("data-name").split()[1])
                    if float(g.get("data-sum")):
                        got[cpu] = float(g.get("data-sum"))
        else:
            cells = rects(fid, "cell")
            for r in cells:
                got[int(r.get("data-r"))] = got.get(int(r.get("data-r")), 0) + float(r.get("data-v"))
            nrows = q("SELECT count(*) FROM timeline WHERE %s > 0" % col)[0][0]
            if len(cells) > nrows:
                fail(f"{fid}: {len(cells)} cells for {nrows} non-zero rows")
            print(f"{fid}: heatmap {svg.get('data-rows')} x {svg.get('data-cols')}, {len(cells)} cells")
        if got != want:
            fail(f"{fid}: per-CPU totals {got} != {want}")

    # Pair matrix: the non-zero (refill, drain) cells (neighbours of one colour share a rect:
    # data-n), totals per refill CPU.
    cells = rects("pair-matrix", "cell")
    n = sum(int(r.get("data-n", "1")) for r in cells)
    want_n = q("SELECT count(*) FROM pair_matrix WHERE pairs > 0")[0][0]
    if n != want_n:
        fail(f"pair-matrix: {n} cells drawn, {want_n} non-zero pairs")
    want = {c: float(v) for c, v in q("SELECT refill_cpu, sum(pairs) FROM pair_matrix GROUP BY 1") if v}
    got = {}
    for r in cells:
        got[int(r.get("data-r"))] = got.get(int(r.get("data-r")), 0) + float(r.get("data-v"))
    if got != want:
        fail(f"pair-matrix: per refill CPU {got} != {want}")

    # zone->lock over time per zone and kind: one line per (nid, zid, kind) up to 7, else the 6
    # busiest and "other"; every line one point per time column; a line's sum x the column
    # width = that zone's acquisitions (zone_lock_timeline, = zone_lock.acquisitions)
    zsum = {(f"zone ? {k}" if n < 0 else f"n{n} z{z} {k}"): a for n, z, k, a in
            q("SELECT nid, zid, kind, sum(acquisitions) FROM zone_lock_timeline GROUP BY 1, 2, 3")}
    zl = dict((("zone ? %s" % k) if n < 0 else "n%d z%d %s" % (n, z, k), a) for n, z, k, a in
              q("SELECT nid, zid, kind, acquisitions FROM zone_lock WHERE acquisitions > 0"))
    if zsum != zl:
        fail(f"zone_lock_timeline sums {zsum} != zone_lock {zl}")
    svg = drawn("zone-lock-timeline")
    if svg is None:
        if zsum and info.get("time_base") != "none":
            fail("zone-lock-timeline: not drawn but zone_lock_timeline has rows")
    else:
        col_s = float(svg.get("data-col-s"))
        lines = [g for g in svg.iter(SVG + "g") if g.get("class") == "series"]
        want_lines = len(zsum) if len(zsum) <= 7 else 7
        if len(lines) != want_lines:
            fail(f"zone-lock-timeline: {len(lines)} lines for {len(zsum)} zone x kind rows")
        npts = {int(g.get("data-points")) for g in lines}
        polys = [len(pl.get("points").split()) for g in lines for pl in g.iter(SVG + "polyline")]
        if len(npts) != 1 or sum(polys) != len(lines) * min(npts):
            fail(f"zone-lock-timeline: points per line {npts}, drawn {polys}")
        got = {g.get("data-name"): float(g.get("data-sum")) * col_s for g in lines}
        other = got.pop("other", None)
        for name, v in got.items():
            if name not in zsum or abs(v - zsum[name]) > 1e-6 * zsum[name]:
                fail(f"zone-lock-timeline: {name} sums to {v}, zone_lock_timeline {zsum.get(name)}")
        if other is not None:
            rest = sum(a for k, a in zsum.items() if k not in got)
            if len(zsum) <= 7 or abs(other - rest) > 1e-6 * rest:
                fail(f"zone-lock-timeline: other {other} != the rest {rest}")
        if sorted(got.values(), reverse=True) != sorted(
                (zsum[k] for k in got), reverse=True) or (other is not None and min(
                    got.values()) < max(a for k, a in zsum.items() if k not in got)):
            fail("zone-lock-timeline: the lines are not the busiest zones")
        print(f"zone-lock-timeline: {len(lines)} lines x {min(npts)} points ({len(zsum)} zone x kind rows)")

    n_zone = q("SELECT count(*) FROM zone_lock")[0][0]
    if n_zone and len(rects("zone-lock-zones", "hbar")) != n_zone:
        fail("zone-lock-zones: bars != zone_lock rows")
    n_cs = q("SELECT min(15, count(*)) FROM percpu_callsite")[0][0]
    if len(rects("percpu-callsites", "hbar")) != n_cs:
        fail("percpu-callsites: bars != call sites")
    outstanding = q("SELECT count(*) FROM percpu_outstanding")[0][0]
    if (drawn("percpu-outstanding") is not None) != (outstanding > 0):
        fail("percpu-outstanding: drawn iff allocations are outstanding")
    lifecycle = q("SELECT count(*) FROM lifecycle_cpu_flow")[0][0]
    if (drawn("occupancy") is not None) != (lifecycle > 0):
        fail("occupancy: drawn iff the trace has lifecycle records")

    metric_rows = [tr for tr in root.iter(XH + "tr") if tr.get("class") == "metric"]
    if len(metric_rows) != q("SELECT count(*) FROM metrics")[0][0]:
        fail("metric table rows != metrics")

    # Warnings first: lossy named when the trace is, before any plot.
    warn = root.find(f".//{XH}div[@id='warnings']")
    if warn is None:
        fail("no warnings box")
    else:
        wtext = "".join(warn.itertext())
        if (info.get("lossy") == "1") != ("Lossy trace" in wtext):
            fail("lossy warning does not follow trace_info lossy")
        if text.index('id="warnings"') > text.index("<figure"):
            fail("warnings come after a plot")

    if errors:
        for e in errors:
            print("FAIL:", e)
        sys.exit(1)
    print(sum(1 for v in fids_drawn.values() if v is not None), len(figs))


main()
