"""Independent expected values of the zone-lock hold time (docs/METRICS.md, "Zone-lock hold
time"), computed beside pcp_expected.py's own pass over `trace-cmd report` text: that pass says
when an acquisition starts (native: a *_zone_locked record; inferred: a new run) and which blocks
it attributes (as zone_lock.moved_pages); this module keeps every acquisition whole (a list, no
histogram) and derives the tables from the exact values. Shares no code with the C analyzer.

Rules implemented (METRICS.md):
- hold = ts(last attributed block) - ts(start); an acquisition without a block is "empty": no
  hold time, 0 pages.
- a missed-events mark on a CPU (known or unknown count) ends that CPU's open acquisitions;
  later blocks are attributed to none until the CPU's next start of that kind.
- percentiles: exact nearest rank here (the database's are within 1/64 above, as round trips).
- hold and pages histograms: log2 buckets [0,1), [1,2), [2,4), ...; hold only for acquisitions
  with a block and only with a time base.
- batch: the before snapshot's pageset batch of the zone when all its pagesets agree (a meta
  without zid: the zone's index among its node's zones); at_batch = acquisitions whose pages
  >= batch.
- longest: hold desc, then start ts, CPU, refill before drain; the first `top`; none without a
  time base.
"""

KINDS = ("refill", "drain")


def nearest_rank(sorted_values, num, den):
    n = len(sorted_values)
    if n == 0:
        return None
    k = max(-(-num * n // den), 1)
    return sorted_values[k - 1]


def log2_bucket(v):
    if v <= 0:
        return 0, 1
    lo = 1 << (v.bit_length() - 1)
    return lo, 2 * lo


def zone_batch(meta, nid, zid):
    """The pageset batch of (nid, zid) in the meta's before snapshot, or None."""
    if not isinstance(meta, dict) or nid < 0 or zid < 0:
        return None
    zones = meta.get("snapshots", {}).get("before", {}).get("zoneinfo")
    if not isinstance(zones, list):
        return None
    index, node = 0, object()
    for z in zones:
        index = index + 1 if z.get("node") == node else 0
        node = z.get("node")
        zz = z["zid"] if isinstance(z.get("zid"), int) else index
        if node != nid or zz != zid:
            continue
        values = set(p["batch"] for p in z.get("pagesets", []) or [] if isinstance(p.get("batch"), int))
        return values.pop() if len(values) == 1 else None
    return None


class Tracker:
    def __init__(self, meta=None):
        self.meta = meta
        self.open = {}          # (cpu, kind) -> acquisition dict
        self.done = []
        self.acq_by_zone = {}   # (nid, zid, kind) -> acquisitions started

    def start(self, cpu, kind, nid, zid, ts, rec):
        self.close(cpu, kind)
        comm, pid = rec.task()
        self.acq_by_zone[(nid, zid, kind)] = self.acq_by_zone.get((nid, zid, kind), 0) + 1
        self.open[(cpu, kind)] = dict(ts=ts, cpu=cpu, kind=kind, nid=nid, zid=zid, pid=pid,
                                      comm=comm, blocks=0, pages=0, last=ts)

    def block(self, cpu, kind, ts, pages):
        a = self.open.get((cpu, kind))
        if a is None:
            return
        a["blocks"] += 1
        a["pages"] += pages
        a["last"] = ts

    def close(self, cpu, kind):
        a = self.open.pop((cpu, kind), None)
        if a is not None:
            self.done.append(a)

    def mark(self, cpu):
        for kind in KINDS:
            self.close(cpu, kind)

    def result(self, timed, top, inferred):
        for key in list(self.open):
            self.close(*key)
        acqs = self.done
        for a in acqs:
            a["hold"] = a["last"] - a["ts"] if a["blocks"] else None
        zones = {}
        for a in acqs:
            zones.setdefault((a["nid"], a["zid"], a["kind"]), []).append(a)
        rows = []
        per_kind = {k: dict(acquisitions=0, empty_acquisitions=0, holds=[],
                            batch_known_acquisitions=0, at_batch_acquisitions=0) for k in KINDS}
        for key in sorted(zones, key=lambda k: (k[0], k[1], KINDS.index(k[2]))):
            za = zones[key]
            assert len(za) == self.acq_by_zone[key]
            holds = sorted(a["hold"] for a in za if a["hold"] is not None) if timed else []
            batch = zone_batch(self.meta, key[0], key[1])
            at = sum(1 for a in za if a["pages"] >= batch) if batch is not None else None
            rows.append(dict(
                nid=key[0], zid=key[1], kind=key[2], acquisitions=len(za),
                empty_acquisitions=sum(1 for a in za if not a["blocks"]),
                hold_p50_ns=nearest_rank(holds, 50, 100), hold_p99_ns=nearest_rank(holds, 99, 100),
                hold_max_ns=holds[-1] if holds else None, lower_bound=1 if inferred else 0,
                batch=batch, at_batch_acquisitions=at,
                at_batch_share=at / len(za) if batch is not None else None))
            pk = per_kind[key[2]]
            pk["acquisitions"] += len(za)
            pk["empty_acquisitions"] += rows[-1]["empty_acquisitions"]
            pk["holds"] += holds
            if batch is not None:
                pk["batch_known_acquisitions"] += len(za)
                pk["at_batch_acquisitions"] += at
        hold_hist, pages_hist = {}, {}
        for a in acqs:
            b = pages_hist.setdefault((KINDS.index(a["kind"]),) + log2_bucket(a["pages"]), [0])
            b[0] += 1
            if timed and a["hold"] is not None:
                b = hold_hist.setdefault((KINDS.index(a["kind"]),) + log2_bucket(a["hold"]), [0])
                b[0] += 1
        longest = sorted((a for a in acqs if a["hold"] is not None),
                         key=lambda a: (-a["hold"], a["ts"], a["cpu"], KINDS.index(a["kind"])))
        longest = longest[:top] if timed else []
        kinds = {}
        for k in KINDS:
            pk = per_kind[k]
            holds = sorted(pk.pop("holds"))
            pk.update(hold_p50_ns=nearest_rank(holds, 50, 100),
                      hold_p99_ns=nearest_rank(holds, 99, 100),
                      hold_max_ns=holds[-1] if holds else None,
                      at_batch_share=(pk["at_batch_acquisitions"] / pk["batch_known_acquisitions"]
                                      if pk["batch_known_acquisitions"] else None))
            kinds[k] = pk
        return dict(
            zone_lock_hold=rows,
            zone_lock_hold_kinds=kinds,
            zone_lock_hold_hist=[dict(kind=KINDS[k[0]], lo_ns=k[1], hi_ns=k[2], acquisitions=v[0])
                                 for k, v in sorted(hold_hist.items())],
            zone_lock_pages_hist=[dict(kind=KINDS[k[0]], lo_pages=k[1], hi_pages=k[2],
                                       acquisitions=v[0]) for k, v in sorted(pages_hist.items())],
            zone_lock_longest=[dict(rank=i + 1, ts_ns=a["ts"], cpu=a["cpu"], pid=a["pid"],
                                    comm=a["comm"], kind=a["kind"], nid=a["nid"], zid=a["zid"],
                                    blocks=a["blocks"], pages=a["pages"], hold_ns=a["hold"])
                               for i, a in enumerate(longest)],
        ), dict(refill_lock_hold_p99_ns=kinds["refill"]["hold_p99_ns"],
                drain_lock_hold_p99_ns=kinds["drain"]["hold_p99_ns"],
                refill_lock_hold_max_ns=kinds["refill"]["hold_max_ns"],
                drain_lock_hold_max_ns=kinds["drain"]["hold_max_ns"])
