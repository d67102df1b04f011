#!/usr/bin/env python3
"""The lifecycle part of pcpanalyze's outputs against the independent checker.

usage: lifecycle_cases.py [-v] BUILD_DIR    (-v: print the recorded cases' checker metrics)
       lifecycle_cases.py [-v] BUILD_DIR --trace TRACE.dat [--refill-source fallback]
                                            (only that recording, with TRACE.dat.meta.json)

For every case below: the fixture (tests/fixtures/lifecycle/*.synth) is synthesized with
BUILD_DIR/pcpsynth, a meta file with per-CPU pagesets (two zones, so the sum over zones is
tested) is written beside it when the case has snapshots (RECORDED: a real lab recording,
decompressed, with its own meta: snapshots from pcprecord, native mode required, or the
fallback when the case says --refill-source fallback), BUILD_DIR/pcpanalyze writes the
database and the JSON, and
  - every lifecycle table (lifecycle_cpu_flow, lifecycle_residency_hist, lifecycle_occupancy,
    lifecycle_task, round_trip_phase_hist), the lifecycle trace_info keys and the lifecycle
    metrics rows must match lifecycle_expected.py over `trace-cmd report` text (counts exact,
    means and ratios 1e-9 relative, percentiles within 1/64 above, as docs/METRICS.md says);
    the acquisitions the ratios use are pcp_expected.py's zone_lock rows (the churn model's);
  - the churn and percpu part must still match pcp_expected.py / percpu_expected.py
    (compare_db.py): decoding alloc/free changes nothing there;
  - the JSON "lifecycle" member must say recorded and hold the same metrics.
Then a trace without alloc/free (tests/fixtures/fallback-basic.dat) must have no lifecycle row
anywhere, no lifecycle metric, and its text and JSON must say that the lifecycle part needs
pcprecord --lifecycle; its database without the lifecycle tables (as written before they
existed) must still compare with it, all same; and `pcpanalyze compare` of two lifecycle runs must give every lifecycle
metric the verdict the contract gives for the two databases' values.
Exit 0 when all pass, 1 otherwise (one "FAIL: ..." line each).
"""

import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(SRC, "tests", "fixtures")
sys.path.insert(0, HERE)
import lifecycle_expected  # noqa: E402
import pcp_expected  # noqa: E402
import percpu_expected  # noqa: E402
import trace_report  # noqa: E402

# name, fixture, pcpanalyze/checker options, (before counts per CPU, after counts per CPU) or None
CASES = [
    ("native-snap", "lifecycle-native.synth", ["--bucket", "5000"], ([40, 10], [40, 12])),
    ("native-nosnap", "lifecycle-native.synth", ["--bucket", "5000"], None),
    ("fallback-snap", "lifecycle-fallback.synth", ["--bucket", "5000"], ([30, 20], [29, 20])),
    ("fallback-default", "lifecycle-fallback.synth", [], None),
    ("phases", "lifecycle-phases.synth", ["--bucket", "10000"], ([7, 3], [6, 3])),
]
# real native-mode --lifecycle recordings of the kernel lab (lab/run, 6.1 + seed patch v2, qemu;
# tests/fixtures/lab-*-lifecycle.dat.xz + .meta.json): snapshots from their meta, analysed
# natively and with --refill-source fallback (the checker ignores the native events then too)
RECORDED = [
    ("lab-1node-lifecycle", "lab-1node-lifecycle.dat.xz", []),
    ("lab-2node-lifecycle", "lab-2node-lifecycle.dat.xz", []),
    ("lab-1node-lifecycle-fallback", "lab-1node-lifecycle.dat.xz", ["--refill-source", "fallback"]),
    ("lab-2node-lifecycle-fallback", "lab-2node-lifecycle.dat.xz", ["--refill-source", "fallback"]),
]
LIFECYCLE_TABLES = ("lifecycle_cpu_flow", "lifecycle_residency_hist", "lifecycle_occupancy",
                    "lifecycle_task", "round_trip_phase_hist")
LIFECYCLE_METRICS = ("buddy_allocs", "pcp_allocs", "alloc_refill_ratio", "free_drain_ratio",
                     "unused_refill_ratio", "free_entry_share", "remote_drain_ratio",
                     "pcp_residency_p50_ns", "pcp_residency_p99_ns", "mean_pcp_pages",
                     "occupancy_error_pages")
BETTER = dict(buddy_allocs="lower", pcp_allocs="none", alloc_refill_ratio="lower",
              free_drain_ratio="lower", unused_refill_ratio="lower", free_entry_share="none",
              remote_drain_ratio="lower", pcp_residency_p50_ns="none",
              pcp_residency_p99_ns="none", mean_pcp_pages="lower", occupancy_error_pages="none")
PERCENTILES = {"pcp_residency_p50_ns", "pcp_residency_p99_ns"}

verbose = False
failures = []
summary = {}        # recorded case -> the checker's lifecycle metrics (printed with -v)


def fail(case, msg):
    failures.append("FAIL: %s: %s" % (case, msg))


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)


def write_meta(dat, snaps):
    """Two zones per snapshot: count c splits into (c - c // 3) + c // 3."""
    def zoneinfo(counts):
        return [dict(node=0, zone=z, pagesets=[dict(cpu=cpu, count=part(c), high=100, batch=10)
                                               for cpu, c in enumerate(counts)])
                for z, part in (("DMA32", lambda c: c - c // 3), ("Normal", lambda c: c // 3))]
    meta = dict(format="pcptrace-meta", version=1, tool="lifecycle_cases.py",
                snapshots=dict(before=dict(zoneinfo=zoneinfo(snaps[0])),
                               after=dict(zoneinfo=zoneinfo(snaps[1]))))
    with open(dat + ".meta.json", "w") as f:
        json.dump(meta, f)


def close(got, want, rel=1e-9):
    if want is None or got is None:
        return got is None and want is None
    return abs(got - want) <= rel * max(abs(want), 1e-12) or got == want


def same_rows(case, table, got, want, keys, real=()):
    if len(got) != len(want):
        fail(case, "%s: %d rows, expected %d" % (table, len(got), len(want)))
        return
    for i, (g, w) in enumerate(zip(got, want)):
        for k in keys:
            gv, wv = g[k], w.get(k)
            if k in real:
                ok = close(gv, wv)
            else:
                ok = gv == wv
            if not ok:
                fail(case, "%s row %d: %s is %r, expected %r" % (table, i, k, gv, wv))


def db_rows(db, sql):
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql)]
    finally:
        con.close()


def prepare_recorded(name, fixture, tmp):
    """A real recording (tests/fixtures/FIXTURE, .xz decompressed) with its meta beside it;
    returns (trace path, (before, after) per-CPU pageset counts summed from the meta)."""
    dat = trace_report.materialize(os.path.join(FIXTURES, fixture), tmp)
    base = fixture[:-len(".xz")] if fixture.endswith(".xz") else fixture
    if dat != os.path.join(FIXTURES, fixture):
        subprocess.run(["cp", os.path.join(FIXTURES, base + ".meta.json"), dat + ".meta.json"],
                       check=True)
    nr_cpus = lifecycle_expected.records(dat)[0]
    return dat, tuple(lifecycle_expected.meta_pages(dat, nr_cpus))


def check_case(name, fixture, opts, snaps, build, tmp, recorded=False):
    before = len(failures)
    if recorded:
        dat, snaps = prepare_recorded(name, fixture, tmp)
    else:
        dat = os.path.join(tmp, name + ".dat")
        p = run([os.path.join(build, "pcpsynth"), "-q", "-o", dat, "-f",
                 os.path.join(FIXTURES, "formats"), os.path.join(FIXTURES, "lifecycle", fixture)])
        if p.returncode:
            return fail(name, "pcpsynth: " + p.stdout.strip()[-300:])
        if snaps:
            write_meta(dat, snaps)
    db, js = os.path.join(tmp, name + ".db"), os.path.join(tmp, name + ".json")
    p = run([os.path.join(build, "pcpanalyze"), "-q", "-o", db, "--json", js] + opts + [dat])
    if p.returncode:
        return fail(name, "pcpanalyze exit %d: %s" % (p.returncode, p.stdout.strip()[-300:]))

    # the churn/percpu part: unchanged by the lifecycle decoding
    trace = trace_report.load(dat, kallsyms=True)
    meta = json.load(open(dat + ".meta.json")) if snaps else None
    bucket = int(opts[opts.index("--bucket") + 1]) if "--bucket" in opts else 10000000
    refill_source = opts[opts.index("--refill-source") + 1] if "--refill-source" in opts else None
    kw = dict(refill_source=refill_source) if refill_source else {}
    pcp = pcp_expected.analyze(trace, meta=meta, bucket=bucket, **kw)
    percpu = percpu_expected.analyze(trace)
    for doc, fn in ((pcp, "pcp.json"), (percpu, "percpu.json")):
        trace_report.write_json(json.loads(json.dumps(doc)), os.path.join(tmp, fn))
    c = run([sys.executable, os.path.join(HERE, "compare_db.py"), db,
             os.path.join(tmp, "pcp.json"), os.path.join(tmp, "percpu.json")])
    if c.returncode:
        fail(name, "churn/percpu part differs:\n" + c.stdout.strip())

    acq = (sum(z["acquisitions"] for z in pcp["zone_lock"] if z["kind"] == "refill"),
           sum(z["acquisitions"] for z in pcp["zone_lock"] if z["kind"] == "drain"))
    want = lifecycle_expected.compute(dat, snaps[0] if snaps else None,
                                      snaps[1] if snaps else None, 12, bucket, acq,
                                      refill_source)
    if recorded:
        info_mode = {r["key"]: r["value"] for r in db_rows(
            db, "SELECT key, value FROM trace_info WHERE key = 'refill_source'")}
        if info_mode.get("refill_source") != (refill_source or "native") or \
                want["mode"] != (refill_source or "native"):
            fail(name, "mode: pcpanalyze %r, checker %r, want %s" % (
                info_mode.get("refill_source"), want["mode"], refill_source or "native"))
        summary[name] = dict(want["metrics"], mode=want["mode"], totals=want["totals"])

    flow_keys = ("pcp_allocs", "buddy_allocs", "unclassified_allocs", "free_entries",
                 "buddy_frees", "refill_blocks", "refill_pages", "drain_blocks", "drain_pages",
                 "unused_refills", "remote_drains", "occ_start", "occ_min", "occ_mean", "occ_max",
                 "occ_end", "snapshot_end", "end_diff")
    same_rows(name, "lifecycle_cpu_flow", db_rows(db, "SELECT * FROM lifecycle_cpu_flow ORDER BY cpu"),
              want["cpu_flow"], ("cpu",) + flow_keys, real=("occ_mean",))
    res_want = [dict(b, exit_kind=k) for k in ("alloc", "drain") for b in want["residency_hist"][k]]
    same_rows(name, "lifecycle_residency_hist",
              db_rows(db, "SELECT * FROM lifecycle_residency_hist ORDER BY exit_kind, lo_ns"),
              res_want, ("exit_kind", "lo_ns", "hi_ns", "stays", "pages"))
    same_rows(name, "lifecycle_occupancy",
              db_rows(db, "SELECT * FROM lifecycle_occupancy ORDER BY bucket_start_ns, cpu"),
              want["occupancy_timeline"],
              ("bucket_start_ns", "cpu", "changes", "occ_min", "occ_max", "occ_end", "occ_mean"),
              real=("occ_mean",))
    same_rows(name, "lifecycle_task", db_rows(db, "SELECT * FROM lifecycle_task ORDER BY pid"),
              want["tasks"], ("pid", "comm", "refill_blocks", "refill_pages", "drain_blocks",
                              "drain_pages", "lock_acquisitions", "allocs", "pcp_allocs",
                              "buddy_allocs", "frees", "free_entries"))
    order = {p: i for i, p in enumerate(lifecycle_expected.PHASES)}
    got_ph = sorted(db_rows(db, "SELECT * FROM round_trip_phase_hist"),
                    key=lambda r: (order[r["phase"]], r["lo_ns"]))
    same_rows(name, "round_trip_phase_hist", got_ph, want["round_trip_phases"]["hist"],
              ("phase", "lo_ns", "hi_ns", "round_trips"))

    info = {r["key"]: r["value"] for r in db_rows(db, "SELECT key, value FROM trace_info")}
    t = want["totals"]
    want_info = dict(lifecycle_occupancy="level" if snaps else "change", lifecycle_page_shift=12,
                     round_trips_split=want["round_trip_phases"]["split"],
                     round_trips_unused=want["round_trip_phases"]["unused"],
                     round_trips_unsplit=want["round_trip_phases"]["unsplit"],
                     **{"lifecycle_" + k: t[k] for k in (
                         "allocs", "frees", "unclassified_allocs", "buddy_frees", "free_entries",
                         "refill_blocks", "drain_blocks", "unused_refills", "drains_owner_known",
                         "remote_drains", "drains_owner_unknown", "allocs_pcp_unseen",
                         "buddy_allocs_untraced", "refill_acquisitions", "drain_acquisitions", "stays_alloc",
                         "stays_drain")})
    for k, v in want_info.items():
        if info.get(k) != str(v):
            fail(name, "trace_info %s is %r, expected %r" % (k, info.get(k), str(v)))

    metrics = {r["name"]: r for r in db_rows(db, "SELECT * FROM metrics")}
    for m in LIFECYCLE_METRICS:
        w = want["metrics"][m]
        if m == "occupancy_error_pages" and not snaps:
            if m in metrics:
                fail(name, "metric %s present without snapshots" % m)
            continue
        if m not in metrics:
            fail(name, "metric %s missing" % m)
            continue
        g = metrics[m]
        if g["better"] != BETTER[m]:
            fail(name, "metric %s better %r, expected %r" % (m, g["better"], BETTER[m]))
        gv = g["value"]
        if w is None or gv is None:
            ok = w is None and gv is None
        elif m in PERCENTILES:
            ok = w <= gv <= w + w / 64.0
        else:
            ok = close(gv, w)
        if not ok:
            fail(name, "metric %s is %r, expected %r" % (m, gv, w))
    doc = json.load(open(js))
    lc = doc.get("lifecycle") or {}
    if lc.get("recorded") is not True:
        fail(name, "JSON lifecycle.recorded is %r" % lc.get("recorded"))
    for m in LIFECYCLE_METRICS:
        if m in metrics and not close(doc["metrics"].get(m, {}).get("value"), metrics[m]["value"]):
            fail(name, "JSON metric %s differs from the database" % m)
    for p, w in want["round_trip_phases"]["p50_ns"].items():
        g = lc.get("round_trip_phases", {}).get("p50_ns", {}).get(p)
        if (g is None) != (w is None) or (w is not None and not w <= g <= w + w / 64.0):
            fail(name, "JSON round_trip_phases.p50_ns.%s is %r, expected %r" % (p, g, w))
    if len(failures) == before:
        extra = ""
        if recorded:      # the model's end occupancy against the after snapshot's count
            extra = ": end occupancy %d pages (model) vs %d (after snapshot), error %s" % (
                sum(r["occ_end"] for r in want["cpu_flow"]), sum(snaps[1]),
                want["metrics"]["occupancy_error_pages"])
        print("ok: %s (%s %s)%s" % (name, os.path.basename(fixture), " ".join(opts), extra))
    return db


def check_not_recorded(build, tmp):
    name = "no-lifecycle"
    before = len(failures)
    dat = os.path.join(FIXTURES, "fallback-basic.dat")
    db, js = os.path.join(tmp, "nolc.db"), os.path.join(tmp, "nolc.json")
    p = run([os.path.join(build, "pcpanalyze"), "-o", db, "--json", js, dat])
    if p.returncode:
        return fail(name, "pcpanalyze exit %d" % p.returncode)
    if "pcprecord --lifecycle" not in p.stdout:
        fail(name, "the text summary does not say the lifecycle part needs pcprecord --lifecycle")
    for t in LIFECYCLE_TABLES:
        n = db_rows(db, "SELECT COUNT(*) AS n FROM %s" % t)[0]["n"]
        if n:
            fail(name, "%s has %d rows" % (t, n))
    names = {r["name"] for r in db_rows(db, "SELECT name FROM metrics")}
    if names & set(LIFECYCLE_METRICS):
        fail(name, "lifecycle metrics present: %s" % sorted(names & set(LIFECYCLE_METRICS)))
    keys = [r["key"] for r in db_rows(db, "SELECT key FROM trace_info WHERE key LIKE 'lifecycle%' "
                                          "OR key LIKE 'round_trips_%'")]
    if keys:
        fail(name, "lifecycle trace_info keys present: %s" % keys)
    lc = json.load(open(js)).get("lifecycle")
    if not lc or lc.get("recorded") is not False or "pcprecord --lifecycle" not in lc.get("note", ""):
        fail(name, "JSON lifecycle member is %r" % lc)
    # a database of the version before the lifecycle, zone-lock hold and percpu fragmentation
    # tables (the same file without them) is still complete for compare: all the same
    old = os.path.join(tmp, "old.db")
    subprocess.run(["cp", db, old])
    con = sqlite3.connect(old)
    for t in list(LIFECYCLE_TABLES) + ["zone_lock_hold", "zone_lock_hold_hist", "zone_lock_pages_hist",
                                 "zone_lock_longest", "percpu_frag", "percpu_run_chunk",
                                 "lock_cause", "lock_cause_stack"]:
        con.execute("DROP TABLE %s" % t)
    con.commit()
    con.close()
    p = run([os.path.join(build, "pcpanalyze"), "compare", old, db])
    if p.returncode != 0 or "0 regression, 0 worse, 0 better" not in p.stdout:
        fail(name, "compare with a database without the lifecycle tables: exit %d: %s"
             % (p.returncode, p.stdout.strip()[-300:]))
    if len(failures) == before:
        print("ok: %s" % name)


THRESHOLD = dict(pcp_residency_p50_ns=25, pcp_residency_p99_ns=25)


def expected_verdict(m, base, new):
    """docs/METRICS.md "Compare" with one run per side: band [base - w, base + w]."""
    if base is None or new is None:
        return "n/a"
    unit_ratio = m.endswith("_ratio") or m == "free_entry_share"
    w = max(abs(base) * THRESHOLD.get(m, 10) / 100.0, 0.01 if unit_ratio else 0)
    if base - w <= new <= base + w:
        return "same"
    if BETTER[m] == "none":
        return "changed"
    return "better" if (new < base) == (BETTER[m] == "lower") else "regression"


def check_compare(build, db1, db2):
    """Two different lifecycle runs: every lifecycle metric with the verdict the contract
    gives for the two databases' values."""
    before = len(failures)
    p = run([os.path.join(build, "pcpanalyze"), "compare", db1, db2])
    if p.returncode not in (0, 1):
        return fail("compare", "exit %d: %s" % (p.returncode, p.stdout.strip()[-400:]))
    base = {r["name"]: r["value"] for r in db_rows(db1, "SELECT name, value FROM metrics")}
    new = {r["name"]: r["value"] for r in db_rows(db2, "SELECT name, value FROM metrics")}
    for m in LIFECYCLE_METRICS:
        line = [l for l in p.stdout.splitlines() if l.split()[:1] == [m]]
        if not line:
            fail("compare", "no line for %s" % m)
            continue
        want = expected_verdict(m, base[m], new[m])
        if line[0].split()[-1] != want:
            fail("compare", "%s: %r, expected verdict %s" % (m, line[0], want))
    if len(failures) == before:
        print("ok: compare of two lifecycle runs")


def main(argv):
    global verbose
    verbose = "-v" in argv
    argv = [a for a in argv if a != "-v"]
    cases, recorded, only_trace = CASES, RECORDED, False
    if len(argv) >= 4 and argv[2] == "--trace":
        # one recording with its meta (lab/run's output): only that, native unless the
        # options say --refill-source fallback
        path = os.path.abspath(argv[3])
        cases, only_trace = [], True
        recorded = [(path, path, argv[4:])]
    elif len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    build = argv[1]
    tmp = tempfile.mkdtemp(prefix="pcp_lc.")
    try:
        dbs = {}
        for name, fixture, opts, snaps in cases:
            try:
                dbs[name] = check_case(name, fixture, opts, snaps, build, tmp)
            except (RuntimeError, ValueError, KeyError, trace_report.ReportError,
                    pcp_expected.AnalyzeError) as e:
                fail(name, repr(e))
        for name, fixture, opts in recorded:
            if not os.path.exists(os.path.join(FIXTURES, fixture)):
                fail(name, "fixture %s missing" % fixture)
                continue
            try:
                check_case(name, fixture, opts, None, build, tmp, recorded=True)
            except (RuntimeError, ValueError, KeyError, OSError, trace_report.ReportError,
                    pcp_expected.AnalyzeError) as e:
                fail(name, repr(e))
        if verbose:
            print(json.dumps(summary, indent=1, sort_keys=True))
        if only_trace:
            return finish()
        check_not_recorded(build, tmp)
        # two lifecycle runs of one mode, both with snapshots
        if dbs.get("fallback-snap") and dbs.get("phases"):
            check_compare(build, dbs["fallback-snap"], dbs["phases"])
    finally:
        subprocess.run(["rm", "-rf", tmp])
    return finish()


def finish():
    for f in failures:
        print(f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
