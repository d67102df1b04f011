#!/usr/bin/env python3
"""Unit test of the independent checkers on a hand-made `trace-cmd report -t -R -N` text, with
every expected number worked out by hand below; plus compare_db.py on a database built from the
checker's own output (must match) and on perturbed copies (must not).

Run: python3 tests/expected/test_pcp_expected.py   (tests/integration/expected_vs_pcpanalyze.sh
runs it first).
"""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import trace_report  # noqa: E402
import pcp_expected  # noqa: E402
import percpu_expected  # noqa: E402

# Times below are written relative to T0 = 1.000000000 s (first record).
# "inst: " is the buffer prefix of an `extract -B inst` file; the record after a drop line has
# none (trace-cmd's quirk, reproduced).
PCP_REPORT = """\
cpus=2
inst:    a-1     [000]     1.000000000: mm_page_alloc_zone_locked: pfn=0x100 order=0 migratetype=1 percpu_refill=1
inst:    a-1     [000]     1.000000100: mm_page_alloc_zone_locked: pfn=0x101 order=0 migratetype=1 percpu_refill=1
inst:    a-1     [000]     1.000000200: mm_page_alloc_zone_locked: pfn=0x108 order=3 migratetype=1 percpu_refill=1
inst:    a-1     [000]     1.000000300: mm_page_alloc_zone_locked: pfn=0x200 order=0 migratetype=1 percpu_refill=0
inst:    a-1     [000]     1.000000400: mm_page_alloc_zone_locked: pfn=0x100 order=0 migratetype=1 percpu_refill=1
inst:    b b-2   [001]     1.000001000: mm_page_pcpu_drain:   pfn=0x101 order=0 migratetype=1
inst:    b b-2   [001]     1.000002000: mm_page_pcpu_drain:   pfn=0x108 order=3 migratetype=1
inst: CPU:1 [5 EVENTS DROPPED]
         b b-2   [001]     1.000003000: mm_page_pcpu_drain:   pfn=0x300 order=0 migratetype=1
inst:    a-1     [000]     1.020000000: mm_page_pcpu_drain:   pfn=0x100 order=0 migratetype=1
inst:    a-1     [000]     1.020000000: sched_process_fork:   parent_comm=x y parent_pid=1 child_comm=z child_pid=2
inst: CPU:0 [EVENTS DROPPED]
         a-1     [000]     1.030000000: mm_page_pcpu_drain:   pfn=0x400 order=1 migratetype=1
inst:    b b-2   [001]     1.030000100: mm_page_pcpu_refill:  pfn=0x500 order=0 migratetype=1
inst:    b b-2   [001]     1.030000200: mm_page_pcpu_drain:   pfn=0x501 order=0 migratetype=1
"""
# Records: R1..R5 on CPU 0 (R4 is a direct allocation, percpu_refill=0), R6 R7 R8 on CPU 1 (R8
# carries 5 lost events), R9 R10 R11 on CPU 0 (R11 carries an unknown-count mark), R12 (a
# native refill: ignored in fallback mode) and R13 on CPU 1.
PCP_FORMATS = {"kmem:mm_page_alloc_zone_locked", "kmem:mm_page_pcpu_drain",
               "kmem:mm_page_pcpu_refill", "sched:sched_process_fork", "kmem:mm_page_alloc"}

DUR = 30000200  # last (R13, +30000200 ns) - first (R1)
DUR_S = DUR / 1e9

PERCPU_REPORT = """\
cpus=2
inst:  p-9 [000] 5.000000001: percpu_alloc_percpu:  call_site=foo+0x10 reserved=0 is_atomic=0 size=16 align=8 base_addr=0xa000 off=0 ptr=0x1000 bytes_alloc=64 gfp_flags=0xcc0
inst:  p-9 [000] 5.000000002: percpu_alloc_percpu:  call_site=foo+0x10 reserved=0 is_atomic=1 size=24 align=8 base_addr=0xa000 off=16 ptr=0x2000 bytes_alloc=96 gfp_flags=0xcc0
inst:  p-9 [001] 5.000000003: percpu_alloc_percpu:  call_site=0xffffffff81000123 reserved=0 is_atomic=0 size=8 align=8 base_addr=0xb000 off=0 ptr=0x3000 bytes_alloc=32 gfp_flags=0xcc0
inst:  p-9 [001] 5.000000004: percpu_free_percpu:   base_addr=0xa000 off=0 ptr=0x1000
inst:  p-9 [001] 5.000000005: percpu_free_percpu:   base_addr=0xa000 off=99 ptr=0x9000
inst:  p-9 [001] 5.000000006: percpu_alloc_percpu_fail: reserved=0 is_atomic=1 size=4096 align=8
inst:  p-9 [000] 5.000000007: percpu_create_chunk:  base_addr=0xc000
inst:  p-9 [000] 5.000000008: percpu_alloc_percpu:  call_site=bar reserved=0 is_atomic=0 size=1 align=1 base_addr=0xc000 off=0 ptr=0x4000 bytes_alloc=4 gfp_flags=0xcc0
inst:  p-9 [000] 5.000000009: percpu_destroy_chunk: base_addr=0xb000
inst:  p-9 [000] 5.000000010: percpu_alloc_percpu:  call_site=foo+0x10 reserved=0 is_atomic=0 size=16 align=8 base_addr=0xa000 off=16 ptr=0x2000 bytes_alloc=64 gfp_flags=0xcc0
inst:  p-9 [000] 5.000000011: percpu_alloc_percpu:  call_site=dup+0x4 reserved=0 is_atomic=0 size=32 align=8 base_addr=0xa000 off=32 ptr=0x5000 bytes_alloc=128 gfp_flags=0xcc0
"""
# P1..P11 in order. P10 re-allocates ptr 0x2000 while P2 is still open (replaces it).
PERCPU_FORMATS = {"percpu:percpu_alloc_percpu", "percpu:percpu_free_percpu",
                  "percpu:percpu_alloc_percpu_fail", "percpu:percpu_create_chunk",
                  "percpu:percpu_destroy_chunk"}
# as `trace-cmd report -f` prints the file's kallsyms: address name [module]
KALLSYMS = ["ffffffff81000000 foo", "ffffffff81000200 bar", "ffffffff81000300 dup",
            "ffffffff81000400 dup", "ffffffff81000500 zzz", "ffffffffc0201000 modf [mod]"]
FOO = 0xffffffff81000010


def make_trace(text, formats, ksyms=()):
    nr_cpus, recs = trace_report.parse_report(text, formats)
    return trace_report.Trace("hand.dat", nr_cpus, recs, formats, lambda: list(ksyms))


class InferGap(unittest.TestCase):
    def test_gap_splits_runs(self):
        # Default gap 2000 ns. CPU 1 drains: R6 (+1000), R7 (+2000: gap 1000, same run),
        # R8 (mark: new), R13 (+30 ms after R8, R12 ignored in fallback: new by the gap) = 3.
        # CPU 0 refills: R1 R2 R3 (gaps 100) one run, R5 after R4 (OTHER) a second = 2.
        # CPU 0 drains: R9 (first drain), R11 (after R10 OTHER and a mark) = 2.
        d = pcp_expected.analyze(make_trace(PCP_REPORT, PCP_FORMATS), refill_source="fallback")
        z = {(r["kind"]): r["acquisitions"] for r in d["zone_lock"]}
        self.assertEqual(z, {"refill": 2, "drain": 5})
        self.assertEqual(d["cpu_flow"][1]["drain_locks"], 3)
        # auto with fewer than 1000 samples: the 2000 ns default
        self.assertEqual(d["trace_info"]["infer_gap_refill_ns"], 2000)
        self.assertEqual(d["trace_info"]["infer_gap_drain_ns"], 2000)

    def test_auto_gap_valley(self):
        # CPU 0 refills spaced: 3000 gaps of 300 ns (bucket 8, the mode), 200 of 600 ns
        # (bucket 9: 128*200 = 25600 >= 3000, not a valley), 100 of 1100 ns (bucket 10: 12800,
        # not a valley), none in bucket 11 (0 < 3000: the first valley above the mode), 20 of
        # 5000 ns (bucket 12) -> gap 2^11 = 2048.
        class R:
            def __init__(self, ts, cpu=0, missed=0):
                self.ts, self.cpu, self.missed = ts, cpu, missed
        ts, recs = 0, []
        for g in [300] * 3000 + [600] * 200 + [1100] * 100 + [5000] * 20:
            ts += g
            recs.append(R(ts))
        kinds = ["refill"] * len(recs)
        self.assertEqual(pcp_expected.auto_gap(recs, kinds, "refill"), 2048)
        # a missed mark breaks a pair; other kinds are not sampled; < 1000 samples -> 2000
        self.assertEqual(pcp_expected.auto_gap(recs[:900], kinds[:900], "refill"), 2000)
        self.assertEqual(pcp_expected.auto_gap(recs, kinds, "drain"), 2000)


class PcpFallback(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The hand-computed lock numbers below are for the run rule alone: gap rule off.
        cls.d = pcp_expected.analyze(make_trace(PCP_REPORT, PCP_FORMATS), top=2,
                                     refill_source="fallback", infer_gap=0)
        cls.m = {k: v["value"] for k, v in cls.d["metrics"].items()}

    def test_trace_info(self):
        ti = self.d["trace_info"]
        self.assertEqual(ti["nr_cpus"], 2)
        self.assertEqual(ti["first_ts_ns"], 1000000000)
        self.assertEqual(ti["last_ts_ns"], 1030000200)
        self.assertEqual(ti["duration_ns"], DUR)
        self.assertEqual(ti["events_total"], 13)
        # 5 known on CPU 1, one unknown-count mark on CPU 0
        self.assertEqual((ti["events_lost"], ti["events_lost_unknown"], ti["lossy"]), (5, 1, 1))
        self.assertEqual(ti["refill_source"], "fallback")
        self.assertEqual(ti["lock_source"], "inferred")

    def test_event_counts(self):
        # R12 is ignored by fallback mode but still counted
        self.assertEqual(self.d["event_counts"], {
            "kmem:mm_page_alloc_zone_locked": 5, "kmem:mm_page_pcpu_drain": 6,
            "kmem:mm_page_pcpu_refill": 1, "sched:sched_process_fork": 1})

    def test_cpu_flow(self):
        c0, c1 = self.d["cpu_flow"]
        # CPU 0: refills R1 R2 R3 R5 = 1+1+8+1 pages; drains R9 (1) R11 (order 1: 2)
        # inferred locks: refill runs {R1 R2 R3} and {R5} (R4 breaks), drain runs {R9}, {R11}
        self.assertEqual(c0, dict(cpu=0, refill_blocks=4, refill_pages=11, drain_blocks=2,
                                  drain_pages=3, net_pages=8, refill_locks=2, drain_locks=2,
                                  lost_events=0))
        # CPU 1: drains R6 R7 R8 R13 = 1+8+1+1; runs {R6 R7}, {R8 R13} (R8 carries the mark,
        # R12 is ignored so it does not break the run)
        self.assertEqual(c1, dict(cpu=1, refill_blocks=0, refill_pages=0, drain_blocks=4,
                                  drain_pages=11, net_pages=-11, refill_locks=0, drain_locks=2,
                                  lost_events=5))

    def test_pairing(self):
        m = self.m
        # pairs: 0x101 R2->R6 900 ns cross; 0x108 R3->R7 1800 ns cross (8 pages);
        # 0x100 R5->R9 19999600 ns same CPU. R5 overwrote R1. Unmatched: R8 R11 R13.
        self.assertEqual((m["pairs"], m["paired_pages"], m["cross_cpu_pairs"]), (3, 10, 2))
        self.assertAlmostEqual(m["cross_cpu_ratio"], 2 / 3, places=15)
        self.assertEqual((m["unmatched_drains"], m["open_refills"], m["refill_overwritten"]),
                         (3, 0, 1))
        self.assertEqual((m["refill_pages"], m["drain_pages"]), (11, 14))
        self.assertAlmostEqual(m["churn_ratio"], 10 / 11, places=15)
        self.assertAlmostEqual(m["fast_churn_ratio"], 9 / 11, places=15)  # 900 and 1800 <= 1 ms
        # sorted [900, 1800, 19999600]: p50 rank ceil(1.5)=2, p99 rank ceil(2.97)=3
        self.assertEqual((m["round_trip_p50_ns"], m["round_trip_p99_ns"]), (1800, 19999600))
        self.assertEqual(m["refill_imbalance"], 2.0)         # 11 / (11/2)
        self.assertAlmostEqual(m["drain_imbalance"], 11 / 7, places=15)  # 11 / (14/2)
        self.assertEqual(m["events_lost"], 5)

    def test_tables(self):
        self.assertEqual(self.d["pair_matrix"], [
            dict(refill_cpu=0, drain_cpu=0, pairs=1, pages=1),
            dict(refill_cpu=0, drain_cpu=1, pairs=2, pages=9)])
        self.assertEqual(self.d["round_trip_hist"], [
            dict(lo_ns=512, hi_ns=1024, pairs=1, pages=1),
            dict(lo_ns=1024, hi_ns=2048, pairs=1, pages=8),
            dict(lo_ns=16777216, hi_ns=33554432, pairs=1, pages=1)])
        # top 2 of {0x100, 0x101, 0x108} (1 cycle each): ties by pfn
        self.assertEqual(self.d["pfn_cycles"], [
            dict(pfn=0x100, order=0, cycles=1, cross_cpu_cycles=0, min_round_trip_ns=19999600,
                 max_round_trip_ns=19999600),
            dict(pfn=0x101, order=0, cycles=1, cross_cpu_cycles=1, min_round_trip_ns=900,
                 max_round_trip_ns=900)])

    def test_zone_lock(self):
        drain, refill = self.d["zone_lock"]
        # drain acquisitions at +1000 (R6), +3000 (R8): window 0; +20 ms (R9): window 2;
        # +30 ms (R11): window 3 -> peak 2 per 10 ms = 200/s
        self.assertEqual((drain["nid"], drain["zid"], drain["kind"], drain["acquisitions"],
                          drain["target_pages"], drain["moved_pages"]),
                         (-1, -1, "drain", 4, 14, 14))
        self.assertAlmostEqual(drain["per_second"], 4 / DUR_S, places=9)
        self.assertAlmostEqual(drain["peak_per_second"], 200.0, places=9)
        # refill acquisitions R1 (+0) and R5 (+400): both in window 0
        self.assertEqual((refill["kind"], refill["acquisitions"], refill["target_pages"],
                          refill["moved_pages"]), ("refill", 2, 11, 11))
        self.assertAlmostEqual(refill["peak_per_second"], 200.0, places=9)
        m = self.m
        self.assertAlmostEqual(m["refill_locks_per_s"], 2 / DUR_S, places=9)
        self.assertAlmostEqual(m["drain_locks_per_s"], 4 / DUR_S, places=9)
        self.assertEqual((m["pages_per_refill_lock"], m["pages_per_drain_lock"]), (5.5, 3.5))

    def test_zone_lock_timeline(self):
        # the acquisitions of test_zone_lock by 10 ms window: refill R1, R5 in window 0; drain
        # R6, R8 in window 0, R9 in window 2, R11 in window 3 (zone unknown: no zone map)
        self.assertEqual([(r["bucket_start_ns"], r["nid"], r["zid"], r["kind"], r["acquisitions"])
                          for r in self.d["zone_lock_timeline"]],
                         [(0, -1, -1, "drain", 2), (0, -1, -1, "refill", 2),
                          (20000000, -1, -1, "drain", 1), (30000000, -1, -1, "drain", 1)])

    def test_timeline(self):
        self.assertEqual(self.d["timeline"], [
            dict(bucket_start_ns=0, cpu=0, refill_pages=11, drain_pages=0, refill_locks=2,
                 drain_locks=0),
            dict(bucket_start_ns=0, cpu=1, refill_pages=0, drain_pages=10, refill_locks=0,
                 drain_locks=2),
            dict(bucket_start_ns=20000000, cpu=0, refill_pages=0, drain_pages=1,
                 refill_locks=0, drain_locks=1),
            dict(bucket_start_ns=30000000, cpu=0, refill_pages=0, drain_pages=2,
                 refill_locks=0, drain_locks=1),
            dict(bucket_start_ns=30000000, cpu=1, refill_pages=0, drain_pages=1,
                 refill_locks=0, drain_locks=0)])


class LockHold(unittest.TestCase):
    """Zone-lock hold time on PCP_REPORT, run rule alone (gap off), --top 2, by hand:
    refill: R1 R2 R3 (+0..+200: hold 200, 3 blocks, 10 pages), R5 (+400: hold 0, 1 page);
    drain: R6 R7 on CPU 1 (+1000..+2000: hold 1000, 9 pages), R8 R13 (R8 starts after its mark,
    R13 continues it: R12 is ignored in fallback; hold 30000200 - 3000, 2 pages), R9 on CPU 0
    (hold 0, 1 page; R11's unknown-count mark ends it), R11 (hold 0, 2 pages)."""

    @classmethod
    def setUpClass(cls):
        cls.d = pcp_expected.analyze(make_trace(PCP_REPORT, PCP_FORMATS), top=2,
                                     refill_source="fallback", infer_gap=0)

    def test_rows(self):
        refill, drain = self.d["zone_lock_hold"]
        self.assertEqual(refill, dict(nid=-1, zid=-1, kind="refill", acquisitions=2,
                                      empty_acquisitions=0, hold_p50_ns=0, hold_p99_ns=200,
                                      hold_max_ns=200, lower_bound=1, batch=None,
                                      at_batch_acquisitions=None, at_batch_share=None))
        self.assertEqual((drain["acquisitions"], drain["hold_p50_ns"], drain["hold_p99_ns"],
                          drain["hold_max_ns"]), (4, 0, 29997200, 29997200))

    def test_metrics(self):
        m = self.d["metrics"]
        self.assertEqual([m[k]["value"] for k in ("refill_lock_hold_p99_ns",
                                                  "drain_lock_hold_p99_ns",
                                                  "refill_lock_hold_max_ns",
                                                  "drain_lock_hold_max_ns")],
                         [200, 29997200, 200, 29997200])
        self.assertEqual(m["drain_lock_hold_max_ns"]["better"], "lower")

    def test_histograms(self):
        self.assertEqual([(r["kind"], r["lo_ns"], r["hi_ns"], r["acquisitions"])
                          for r in self.d["zone_lock_hold_hist"]],
                         [("refill", 0, 1, 1), ("refill", 128, 256, 1), ("drain", 0, 1, 2),
                          ("drain", 512, 1024, 1), ("drain", 1 << 24, 1 << 25, 1)])
        self.assertEqual([(r["kind"], r["lo_pages"], r["acquisitions"])
                          for r in self.d["zone_lock_pages_hist"]],
                         [("refill", 1, 1), ("refill", 8, 1), ("drain", 1, 1), ("drain", 2, 2),
                          ("drain", 8, 1)])

    def test_longest(self):
        self.assertEqual([(r["rank"], r["ts_ns"], r["cpu"], r["pid"], r["kind"], r["blocks"],
                           r["pages"], r["hold_ns"]) for r in self.d["zone_lock_longest"]],
                         [(1, 1000003000, 1, 2, "drain", 2, 2, 29997200),
                          (2, 1000001000, 1, 2, "drain", 2, 9, 1000)])
        # the record after a drop line has no buffer prefix: its comm is the bare name
        self.assertEqual(self.d["zone_lock_longest"][0]["comm"], "b b")


class PcpZoneMap(unittest.TestCase):
    # Zone spans in the meta: (0,1) holds pfn 0x100 only, (0,2) holds [0x101, 0x201); the empty
    # zone (0,3) has no start_pfn. 0x300, 0x400, 0x500, 0x501 are in no zone. Gap rule off.
    META = {"snapshots": {"before": {"zoneinfo": [
        {"node": 0, "zone": "DMA32", "zid": 1, "start_pfn": 0x100, "spanned": 1},
        {"node": 0, "zone": "Normal", "zid": 2, "start_pfn": 0x101, "spanned": 0x100},
        {"node": 0, "zone": "Movable", "zid": 3, "spanned": 0}]}}}

    def test_zones_split_runs(self):
        d = pcp_expected.analyze(make_trace(PCP_REPORT, PCP_FORMATS), refill_source="fallback",
                                 infer_gap=0, meta=self.META)
        self.assertEqual(d["trace_info"]["zone_map"], "meta")
        rows = {(r["nid"], r["zid"], r["kind"]): (r["acquisitions"], r["moved_pages"])
                for r in d["zone_lock"]}
        # CPU 0 refills: R1 0x100 (0,1) new; R2 0x101 (0,2) another zone: new; R3 0x108 o3
        # (0,2) same; R5 0x100 (after OTHER R4) (0,1) new.
        # CPU 1 drains: R6 0x101 (0,2) new; R7 0x108 o3 same; R8 0x300 (mark) (-1,-1) new;
        # R13 0x501 (R12 ignored, gap off) same run, same (-1,-1).
        # CPU 0 drains: R9 0x100 (0,1) new; R11 0x400 o1 (mark) (-1,-1) new.
        self.assertEqual(rows, {(0, 1, "refill"): (2, 2), (0, 2, "refill"): (1, 9),
                                (-1, -1, "drain"): (2, 4), (0, 1, "drain"): (1, 1),
                                (0, 2, "drain"): (1, 9)})
        self.assertEqual([(r["nid"], r["zid"], r["kind"]) for r in d["zone_lock"]],
                         [(-1, -1, "drain"), (0, 1, "drain"), (0, 1, "refill"),
                          (0, 2, "drain"), (0, 2, "refill")])
        self.assertEqual(d["cpu_flow"][0]["refill_locks"], 3)
        self.assertEqual(d["cpu_flow"][0]["drain_locks"], 2)
        self.assertEqual(d["cpu_flow"][1]["drain_locks"], 2)

    def test_no_spans(self):
        old = {"snapshots": {"before": {"zoneinfo": [{"node": 0, "zone": "Normal"}]}}}
        for meta in (None, old):
            d = pcp_expected.analyze(make_trace(PCP_REPORT, PCP_FORMATS),
                                     refill_source="fallback", infer_gap=0, meta=meta)
            self.assertEqual(d["trace_info"]["zone_map"], "none")
            self.assertEqual({(r["nid"], r["zid"]) for r in d["zone_lock"]}, {(-1, -1)})


# An older kernel (Linux 3.6 formats): struct page * instead of pfn, no percpu_refill field.
# The -R report has no percpu_refill; the print fmt's value (what `trace-cmd report` without -R
# shows) is Record.printed. P1 refilled on CPU 0 and drained on CPU 1; the order-2 allocation
# shows percpu_refill=0; the NULL page shows percpu_refill=1 but has no page.
OLD_REPORT = """cpus=2
  w-1 [000]     0.000001000: mm_page_alloc_zone_locked: page=0xffffea0000100000 order=0 migratetype=1
  w-1 [000]     0.000001100: mm_page_alloc_zone_locked: page=0xffffea0000200000 order=2 migratetype=1
  w-1 [000]     0.000001200: mm_page_alloc_zone_locked: page=(nil) order=0 migratetype=0
  w-1 [001]     0.000009000: mm_page_pcpu_drain: page=0xffffea0000100000 order=0 migratetype=1
"""
OLD_PRINTED = ["1", "0", "1", None]


class OlderKernelFormats(unittest.TestCase):
    def test_page_pointer_and_derived_flag(self):
        t = make_trace(OLD_REPORT, {"kmem:mm_page_alloc_zone_locked", "kmem:mm_page_pcpu_drain"})
        t.fields = {"kmem:mm_page_alloc_zone_locked": {"page": 8, "order": 4, "migratetype": 4},
                    "kmem:mm_page_pcpu_drain": {"page": 8, "order": 4, "migratetype": 4}}
        for r, flag in zip(t.records, OLD_PRINTED):
            r.printed = None if flag is None else {"percpu_refill": flag}
        d = pcp_expected.analyze(t)
        m = {k: v["value"] for k, v in d["metrics"].items()}
        self.assertEqual((d["trace_info"]["block_key"], d["trace_info"]["refill_flag"],
                          d["trace_info"]["zone_map"]), ("page_pointer", "derived", "n/a"))
        self.assertEqual((m["pairs"], m["cross_cpu_pairs"], m["refill_pages"], m["open_refills"]),
                         (1, 1, 1, 0))
        # the pointer as SQLite's signed INTEGER stores it
        self.assertEqual(d["pfn_cycles"][0]["pfn"], 0xffffea0000100000 - (1 << 64))


class PcpNativeAuto(unittest.TestCase):
    def test_native(self):
        # The trace carries kmem:mm_page_pcpu_refill -> native; no zone_locked formats ->
        # inferred locks. Only R12 is a refill; every drain is unmatched (0x501 != 0x500).
        d = pcp_expected.analyze(make_trace(PCP_REPORT, PCP_FORMATS))
        m = {k: v["value"] for k, v in d["metrics"].items()}
        self.assertEqual((d["trace_info"]["refill_source"], d["trace_info"]["lock_source"]),
                         ("native", "inferred"))
        self.assertEqual((m["pairs"], m["open_refills"], m["unmatched_drains"],
                          m["refill_pages"]), (0, 1, 6, 1))
        self.assertEqual(d["cpu_flow"][1]["refill_locks"], 1)

    def test_forced_native_without_format(self):
        with self.assertRaises(pcp_expected.AnalyzeError) as cm:
            pcp_expected.analyze(make_trace(PCP_REPORT, PCP_FORMATS - {"kmem:mm_page_pcpu_refill"}),
                                 refill_source="native")
        self.assertEqual(cm.exception.code, 4)

    def test_nothing_to_analyze(self):
        text = "cpus=1\n x-1 [000] 1.000000000: mm_page_alloc: pfn=0x1 order=0\n"
        with self.assertRaises(pcp_expected.AnalyzeError):
            pcp_expected.analyze(make_trace(text, {"kmem:mm_page_alloc"}))

    def test_native_zone_locked(self):
        text = """\
cpus=2
 x-1 [000] 1.000000000: mm_page_pcpu_refill: pfn=0x10 order=0 migratetype=1
 x-1 [000] 1.000000010: mm_page_pcpu_refill_zone_locked: nid=0 zid=2 nr_pages=4
 x-1 [000] 1.000000020: mm_page_pcpu_refill: pfn=0x11 order=1 migratetype=1
 x-1 [001] 1.000000030: mm_page_pcpu_refill: pfn=0x20 order=0 migratetype=1
 x-1 [000] 1.000000040: mm_page_pcpu_drain_zone_locked: nid=1 zid=2 nr_pages=8
 x-1 [000] 1.000000050: mm_page_pcpu_drain: pfn=0x11 order=1 migratetype=1
"""
        fm = {"kmem:mm_page_pcpu_refill", "kmem:mm_page_pcpu_drain",
              "kmem:mm_page_pcpu_refill_zone_locked", "kmem:mm_page_pcpu_drain_zone_locked"}
        d = pcp_expected.analyze(make_trace(text, fm))
        self.assertEqual(d["trace_info"]["lock_source"], "native")
        # refill 0x10 precedes CPU 0's first acquisition (not attributed); 0x11 (2 pages) is
        # attributed; 0x20 is on CPU 1, which has no acquisition. The drain (2 pages) goes to
        # the (1, 2, drain) acquisition.
        z = {(r["nid"], r["zid"], r["kind"]): (r["acquisitions"], r["target_pages"],
                                               r["moved_pages"]) for r in d["zone_lock"]}
        self.assertEqual(z, {(0, 2, "refill"): (1, 4, 2), (1, 2, "drain"): (1, 8, 2)})
        self.assertEqual(d["metrics"]["pairs"]["value"], 1)
        self.assertEqual(d["cpu_flow"][0]["refill_locks"], 1)
        self.assertEqual(d["cpu_flow"][0]["drain_locks"], 1)
        # refill_source forced to fallback: patch events ignored -> only the drain is analyzed
        f = pcp_expected.analyze(make_trace(text, fm), refill_source="fallback")
        self.assertEqual(f["event_counts"]["kmem:mm_page_pcpu_refill"], 3)
        self.assertEqual(f["metrics"]["unmatched_drains"]["value"], 1)
        self.assertEqual(f["trace_info"]["lock_source"], "inferred")

    def test_percentile_exact_rank(self):
        # 100 values 1..100: p99 rank is exactly 99 (floating ceil(0.99*100) would say 100)
        self.assertEqual(pcp_expected.nearest_rank(list(range(1, 101)), 99, 100), 99)
        self.assertEqual(pcp_expected.nearest_rank(list(range(1, 101)), 50, 100), 50)
        self.assertEqual(pcp_expected.nearest_rank([7], 99, 100), 7)
        self.assertIsNone(pcp_expected.nearest_rank([], 50, 100))  # undefined, not 0


class Percpu(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = percpu_expected.analyze(make_trace(PERCPU_REPORT, PERCPU_FORMATS, KALLSYMS))

    def test_callsites(self):
        rows = {(r["symbol"], r["call_site"]): r for r in self.d["percpu_callsite"]}
        foo = rows[("foo+0x10", FOO)]
        # P1 P2 P10; P4 frees P1 (64 bytes); P2 replaced by P10 -> only P10 outstanding
        self.assertEqual({k: foo[k] for k in ("allocs", "frees", "fails", "bytes_alloc",
                                              "bytes_freed", "outstanding_allocs",
                                              "outstanding_bytes", "atomic_allocs")},
                         dict(allocs=3, frees=1, fails=0, bytes_alloc=224, bytes_freed=64,
                              outstanding_allocs=1, outstanding_bytes=64, atomic_allocs=1))
        hexsite = rows[("0xffffffff81000123", 0xffffffff81000123)]  # unresolved: printed hex
        self.assertEqual((hexsite["allocs"], hexsite["outstanding_bytes"]), (1, 32))
        bar = rows[("bar", 0xffffffff81000200)]      # offset 0 printed without +0x
        self.assertEqual((bar["allocs"], bar["bytes_alloc"]), (1, 4))
        dup = rows[("dup+0x4", None)]                # two kallsyms entries named dup
        self.assertEqual(dup["call_site_candidates"], [0xffffffff81000304, 0xffffffff81000404])
        unknown = rows[(None, 0)]                    # P5 free of an unknown ptr, P6 fail
        self.assertEqual((unknown["frees"], unknown["fails"], unknown["allocs"]), (1, 1, 0))
        self.assertEqual(len(rows), 5)

    def test_size_hist(self):
        # sizes 16 24 8 1 16 32
        self.assertEqual(self.d["percpu_size_hist"], [
            dict(lo_bytes=1, hi_bytes=2, allocs=1), dict(lo_bytes=8, hi_bytes=16, allocs=1),
            dict(lo_bytes=16, hi_bytes=32, allocs=3), dict(lo_bytes=32, hi_bytes=64, allocs=1)])

    def test_outstanding(self):
        self.assertEqual([(o["ptr"], o["bytes_alloc"], o["ts_ns"])
                          for o in self.d["percpu_outstanding"]],
                         [(0x5000, 128, 5000000011), (0x2000, 64, 5000000010),
                          (0x3000, 32, 5000000003), (0x4000, 4, 5000000008)])

    def test_no_percpu_format_no_metrics(self):
        d = percpu_expected.analyze(make_trace(PCP_REPORT, PCP_FORMATS))
        self.assertEqual(d["metrics"], {})
        self.assertEqual(d["percpu_callsite"], [])

    def test_chunks_fails_metrics(self):
        self.assertEqual(self.d["percpu_chunk"], [
            dict(base_addr=0xa000, created_ns=None, destroyed_ns=None, allocs=4, frees=2),
            dict(base_addr=0xb000, created_ns=None, destroyed_ns=5000000009, allocs=1, frees=0),
            dict(base_addr=0xc000, created_ns=5000000007, destroyed_ns=None, allocs=1, frees=0)])
        self.assertEqual(self.d["percpu_fail"], [
            dict(ts_ns=5000000006, size=4096, align=8, reserved=0, is_atomic=1)])
        m = {k: v["value"] for k, v in self.d["metrics"].items()}
        self.assertEqual(m, dict(percpu_allocs=6, percpu_frees=2, percpu_fails=1,
                                 percpu_outstanding_allocs=4, percpu_outstanding_bytes=228,
                                 percpu_chunks_created=1, percpu_chunks_destroyed=1,
                                 percpu_unmatched_frees=1, percpu_replaced_allocs=1))

    def test_old_format_without_ptr_bytes_alloc(self):
        # no ptr/bytes_alloc/call_site: pairing by base_addr + off, bytes = size, call_site 0;
        # base_addr 0 makes no chunk row
        text = """\
cpus=1
 p-1 [000] 1.000000001: percpu_alloc_percpu: reserved=0 is_atomic=0 size=16 align=8 base_addr=0xa000 off=32
 p-1 [000] 1.000000002: percpu_alloc_percpu: reserved=0 is_atomic=0 size=8 align=8 base_addr=0xa000 off=64
 p-1 [000] 1.000000003: percpu_free_percpu: base_addr=0xa000 off=32
 p-1 [000] 1.000000004: percpu_create_chunk: base_addr=0x0
"""
        d = percpu_expected.analyze(make_trace(text, PERCPU_FORMATS))
        (site,) = d["percpu_callsite"]
        self.assertEqual((site["call_site"], site["symbol"], site["allocs"], site["frees"],
                          site["bytes_alloc"], site["bytes_freed"], site["outstanding_bytes"]),
                         (0, None, 2, 1, 24, 16, 8))
        self.assertEqual([o["ptr"] for o in d["percpu_outstanding"]], [0xa040])
        self.assertEqual(d["percpu_chunk"], [dict(base_addr=0xa000, created_ns=None,
                                                  destroyed_ns=None, allocs=2, frees=1)])
        self.assertEqual(d["metrics"]["percpu_chunks_created"]["value"], 1)


def s64(v):
    """As a C analyzer would store a 64-bit address in a SQLite INTEGER."""
    return v - (1 << 64) if v is not None and v >= 1 << 63 else v


def build_db(path, pcp, percpu):
    """A database laid out as the issue 2/4 contract says, filled from the checkers' JSON."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE trace_info(key TEXT PRIMARY KEY, value TEXT)")
    db.executemany("INSERT INTO trace_info VALUES(?,?)",
                   [(k, str(v)) for k, v in pcp["trace_info"].items()])
    # pcpanalyze always names these; the checker only when not the defaults
    db.execute("INSERT OR IGNORE INTO trace_info VALUES('block_key', 'pfn')")
    if pcp["trace_info"]["refill_source"] == "fallback":
        db.execute("INSERT OR IGNORE INTO trace_info VALUES('refill_flag', 'field')")
    db.execute("CREATE TABLE event_counts(event TEXT PRIMARY KEY, count INTEGER)")
    db.executemany("INSERT INTO event_counts VALUES(?,?)", pcp["event_counts"].items())

    def table(name, rows, cols, conv=None):
        db.execute("CREATE TABLE %s(%s)" % (name, ",".join(cols)))
        db.executemany("INSERT INTO %s VALUES(%s)" % (name, ",".join("?" * len(cols))),
                       [tuple((conv or {}).get(c, lambda x: x)(r[c]) for c in cols)
                        for r in rows])

    table("cpu_flow", pcp["cpu_flow"], ["cpu", "refill_blocks", "refill_pages", "drain_blocks",
                                        "drain_pages", "net_pages", "refill_locks",
                                        "drain_locks", "lost_events"])
    table("pair_matrix", pcp["pair_matrix"], ["refill_cpu", "drain_cpu", "pairs", "pages"])
    table("round_trip_hist", pcp["round_trip_hist"], ["lo_ns", "hi_ns", "pairs", "pages"])
    db.execute('CREATE TABLE pfn_cycles(pfn, "order", cycles, cross_cpu_cycles, '
               'min_round_trip_ns, max_round_trip_ns)')
    db.executemany("INSERT INTO pfn_cycles VALUES(?,?,?,?,?,?)",
                   [(r["pfn"], r["order"], r["cycles"], r["cross_cpu_cycles"],
                     r["min_round_trip_ns"], r["max_round_trip_ns"]) for r in pcp["pfn_cycles"]])
    table("zone_lock", pcp["zone_lock"], ["nid", "zid", "kind", "acquisitions", "target_pages",
                                          "moved_pages", "per_second", "peak_per_second"])
    table("timeline", pcp["timeline"], ["bucket_start_ns", "cpu", "refill_pages", "drain_pages",
                                        "refill_locks", "drain_locks"])
    table("zone_lock_hold", pcp["zone_lock_hold"], [
        "nid", "zid", "kind", "acquisitions", "empty_acquisitions", "hold_p50_ns", "hold_p99_ns",
        "hold_max_ns", "lower_bound", "batch", "at_batch_acquisitions", "at_batch_share"])
    table("zone_lock_hold_hist", pcp["zone_lock_hold_hist"], ["kind", "lo_ns", "hi_ns",
                                                              "acquisitions"])
    table("zone_lock_pages_hist", pcp["zone_lock_pages_hist"], ["kind", "lo_pages", "hi_pages",
                                                                "acquisitions"])
    table("zone_lock_timeline", pcp["zone_lock_timeline"], ["bucket_start_ns", "nid", "zid",
                                                            "kind", "acquisitions"])
    table("zone_lock_longest", pcp["zone_lock_longest"], [
        "rank", "ts_ns", "cpu", "pid", "comm", "kind", "nid", "zid", "blocks", "pages", "hold_ns"])
    metrics = dict(pcp["metrics"])
    metrics.update(percpu["metrics"])
    db.execute("CREATE TABLE metrics(name TEXT PRIMARY KEY, value REAL, unit TEXT, better TEXT)")
    db.executemany("INSERT INTO metrics VALUES(?,?,?,?)",
                   [(k, v["value"], v["unit"], v["better"]) for k, v in metrics.items()])
    # the checker leaves call_site None only when ambiguous: the analyzer knows the real one
    sites = [dict(r, call_site=r["call_site"] if r["call_site"] is not None
                  else r["call_site_candidates"][0]) for r in percpu["percpu_callsite"]]
    table("percpu_callsite", sites, ["call_site", "symbol", "allocs", "frees", "fails",
                                     "bytes_alloc", "bytes_freed", "outstanding_allocs",
                                     "outstanding_bytes", "atomic_allocs"], {"call_site": s64})
    table("percpu_size_hist", percpu["percpu_size_hist"], ["lo_bytes", "hi_bytes", "allocs"])
    outs = [dict(o, call_site=o["call_site"] if o["call_site"] is not None
                 else o["call_site_candidates"][0]) for o in percpu["percpu_outstanding"]]
    table("percpu_outstanding", outs, ["ptr", "call_site", "size", "bytes_alloc", "ts_ns"],
          {"ptr": s64, "call_site": s64})
    table("percpu_chunk", percpu["percpu_chunk"], ["base_addr", "created_ns", "destroyed_ns",
                                                   "allocs", "frees"], {"base_addr": s64})
    table("percpu_fail", percpu["percpu_fail"], ["ts_ns", "size", "align", "reserved",
                                                 "is_atomic"])
    db.commit()
    db.close()


class CompareDb(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="test_pcp_expected.")
        pcp = pcp_expected.analyze(make_trace(PCP_REPORT, PCP_FORMATS), refill_source="fallback")
        percpu = percpu_expected.analyze(make_trace(PERCPU_REPORT, PERCPU_FORMATS, KALLSYMS))
        self.pcp_json = os.path.join(self.tmp, "pcp.json")
        self.percpu_json = os.path.join(self.tmp, "percpu.json")
        with open(self.pcp_json, "w") as f:
            json.dump(pcp, f)
        with open(self.percpu_json, "w") as f:
            json.dump(percpu, f)
        self.db = os.path.join(self.tmp, "r.db")
        build_db(self.db, pcp, percpu)

    def tearDown(self):
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_compare(self):
        return subprocess.run([sys.executable, os.path.join(HERE, "compare_db.py"), self.db,
                               self.pcp_json, self.percpu_json], stdout=subprocess.PIPE,
                              universal_newlines=True)

    def sql(self, stmt):
        db = sqlite3.connect(self.db)
        db.execute(stmt)
        db.commit()
        db.close()

    def test_identical_matches(self):
        p = self.run_compare()
        self.assertEqual(p.returncode, 0, p.stdout)

    def test_percentile_tolerance(self):
        # p99 = 19999600: 1% off is inside 1/64 (1.56%), 2% is not
        self.sql("UPDATE metrics SET value = 19999600 * 1.01 WHERE name = 'round_trip_p99_ns'")
        self.assertEqual(self.run_compare().returncode, 0)
        self.sql("UPDATE metrics SET value = 19999600 * 1.02 WHERE name = 'round_trip_p99_ns'")
        self.assertEqual(self.run_compare().returncode, 1)

    def test_detects_differences(self):
        for stmt in ["UPDATE metrics SET value = value + 1 WHERE name = 'pairs'",
                     "UPDATE metrics SET value = value * (1 + 1e-7) WHERE name = 'churn_ratio'",
                     "UPDATE metrics SET better = 'higher' WHERE name = 'pairs'",
                     "DELETE FROM timeline WHERE cpu = 1",
                     "UPDATE cpu_flow SET lost_events = 0",
                     "UPDATE trace_info SET value = 'native' WHERE key = 'refill_source'",
                     "DELETE FROM trace_info WHERE key = 'events_lost_unknown'",
                     "UPDATE pfn_cycles SET \"order\" = 1",
                     "UPDATE zone_lock SET peak_per_second = peak_per_second * 1.001",
                     "UPDATE zone_lock_timeline SET acquisitions = acquisitions + 1"
                     " WHERE bucket_start_ns = 20000000",
                     "DELETE FROM zone_lock_timeline WHERE bucket_start_ns = 30000000",
                     "UPDATE percpu_callsite SET symbol = 'x' WHERE symbol = 'bar'",
                     "UPDATE percpu_outstanding SET ts_ns = ts_ns + 1 WHERE size = 1",
                     "DELETE FROM percpu_outstanding WHERE size = 32",
                     "UPDATE percpu_chunk SET frees = 0",
                     "DROP TABLE percpu_fail",
                     "ALTER TABLE pair_matrix RENAME COLUMN pages TO npages"]:
            self.setUp()
            self.sql(stmt)
            p = self.run_compare()
            self.assertEqual(p.returncode, 1, "not detected: %s\n%s" % (stmt, p.stdout))

    def test_all_zero_rows_ignored(self):
        self.sql("INSERT INTO timeline VALUES(90000000, 1, 0, 0, 0, 0)")
        self.sql("INSERT INTO zone_lock VALUES(0, 1, 'refill', 0, 0, 0, 0, 0)")
        self.assertEqual(self.run_compare().returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=1)
