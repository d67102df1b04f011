#!/usr/bin/env python3
"""Independent expected values for pcpanalyze's percpu tables (issue 4), from `trace-cmd report`.

Output: one JSON document with percpu_callsite, percpu_size_hist, percpu_outstanding,
percpu_chunk, percpu_fail and the percpu metrics. compare_db.py checks a pcpanalyze database
against it. Shares no code with the C analyzer; reads only trace-cmd text (trace_report.py).

usage: percpu_expected.py [--trace-cmd PATH] [-o OUT] TRACE

Decisions where issue 4 is silent (also in docs/METRICS.md, section "Percpu"):
 1. Pairing is by `ptr`. A free whose ptr has no open allocation (allocated before the trace,
    or its alloc was lost) counts in percpu_frees and in the `frees` of call_site 0; its
    bytes_freed contribution is 0 (unknown).
 2. An allocation whose ptr is still open replaces the open one; the replaced allocation is no
    longer outstanding (its free was not traced) and is not counted as a free.
 3. percpu_alloc_percpu_fail has no call_site field: every failure is counted in the `fails`
    of call_site 0.
 4. call_site 0 (the "unknown" row) exists only if it has a free or a fail; its symbol is NULL.
    Any other call site's symbol is exactly the text trace-cmd report prints for call_site:
    `function+0xoffset` when the trace's kallsyms resolves it, else the address in hex
    (`0xffffffff8135580f`).
 5. Missing fields (older kernels; METRICS.md "Percpu: further decisions"): when the alloc or
    the free format lacks ptr, both use ptr = base_addr + off; a missing bytes_alloc means
    bytes = size; a missing call_site is 0; missing is_atomic/reserved are 0.
 6. percpu_size_hist: successful allocations only, log2 buckets over `size`: size s is in
    [lo, 2*lo) with lo = 2^floor(log2 s); size 0 is in [0, 1).
 7. percpu_outstanding: every allocation made during the trace and still open at the end,
    ordered by bytes_alloc descending, then ts_ns ascending, then ptr ascending (no top-N cut).
 8. percpu_chunk: one row per chunk lifetime. create_chunk(base) starts a row (created_ns = its
    ts); destroy_chunk(base) ends the current row of base (destroyed_ns), or makes a row with
    created_ns NULL when base has no current row; after a destroy, base has no current row.
    Alloc and free events count (allocs, frees) in the current row of their base_addr; with no
    current row they start one with created_ns = destroyed_ns = NULL (a chunk that existed
    before the trace, e.g. the first chunk). base_addr 0 is never a chunk: no row.
 9. percpu_fail: one row per failure event, in trace order.
10. Metrics (all "lower is better": activity volumes, as refill_pages is): percpu_allocs
    (allocs), percpu_frees (frees), percpu_fails (fails), percpu_outstanding_allocs (allocs),
    percpu_outstanding_bytes (bytes; sum of bytes_alloc), percpu_chunks_created (chunks),
    percpu_chunks_destroyed (chunks); plus the C model's two extras (METRICS.md):
    percpu_unmatched_frees (frees whose ptr was not open; frees, none) and
    percpu_replaced_allocs (allocs whose ptr was still open; allocs, none). They exist only when the trace carries at least one
    percpu:* event format (a trace recorded without percpu events measured nothing there).

call_site: trace-cmd prints a symbol, not the address. The address is recovered as
kallsyms(function) + offset from the trace's own kallsyms (`trace-cmd report -f`); when the
function name occurs more than once there, `call_site` is null and `call_site_candidates`
lists every possible address (compare_db.py then matches the row by symbol).
"""

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trace_report  # noqa: E402

ALLOC = "percpu:percpu_alloc_percpu"
FREE = "percpu:percpu_free_percpu"
FAIL = "percpu:percpu_alloc_percpu_fail"
CREATE = "percpu:percpu_create_chunk"
DESTROY = "percpu:percpu_destroy_chunk"

SYM_RE = re.compile(r"^(?P<name>[^+\s]+?)(?:\+0x(?P<off>[0-9a-fA-F]+))?(?:/0x[0-9a-fA-F]+)?$")

METRIC_SPECS = [
    ("percpu_allocs", "allocs", "lower"),
    ("percpu_frees", "frees", "lower"),
    ("percpu_fails", "fails", "lower"),
    ("percpu_outstanding_allocs", "allocs", "lower"),
    ("percpu_outstanding_bytes", "bytes", "lower"),
    ("percpu_chunks_created", "chunks", "lower"),
    ("percpu_chunks_destroyed", "chunks", "lower"),
    ("percpu_unmatched_frees", "frees", "none"),
    ("percpu_replaced_allocs", "allocs", "none"),
]


def resolve_call_site(trace, text):
    """(call_site or None, candidates, symbol or None) from the printed call_site value."""
    if text is None:
        return 0, [0], None
    if re.match(r"^(0x[0-9a-fA-F]+|\d+)$", text):
        v = int(text, 0)
        return v, [v], text
    m = SYM_RE.match(text)
    if not m:
        raise trace_report.ReportError("cannot parse call_site %r" % text)
    off = int(m.group("off"), 16) if m.group("off") else 0
    addrs = sorted(set(a + off for a in trace.function_addresses(m.group("name"))))
    if not addrs:
        raise trace_report.ReportError("call_site symbol %r not in the trace's kallsyms" % text)
    return (addrs[0] if len(addrs) == 1 else None), addrs, text


def log2_bucket(s):
    if s <= 0:
        return 0, 1
    lo = 1 << (s.bit_length() - 1)
    return lo, 2 * lo


def analyze(trace):
    sites = {}          # symbol-or-address key -> row
    open_ptr = {}       # ptr -> alloc info
    size_hist = {}
    chunks = []         # rows in order of creation
    current = {}        # base_addr -> chunk row
    fails = []
    n = dict(allocs=0, frees=0, fails=0, created=0, destroyed=0, unmatched=0, replaced=0)
    # -R prints every field of a record's format: a format without ptr shows in its records
    ptr_by_offset = any("ptr" not in r.fields for r in trace.records if r.event in (ALLOC, FREE))

    def ptr_of(r):
        if ptr_by_offset:
            return r.num("base_addr", 0) + r.num("off", 0)
        return r.num("ptr")
    resolved = {}       # printed call_site text -> resolution (cache)

    def site_row(cs, cands, sym):
        key = cs if cs is not None else ("sym", sym)
        row = sites.get(key)
        if row is None:
            row = sites[key] = dict(call_site=cs, call_site_candidates=cands, symbol=sym,
                                    allocs=0, frees=0, fails=0, bytes_alloc=0, bytes_freed=0,
                                    outstanding_allocs=0, outstanding_bytes=0, atomic_allocs=0)
        return row

    def chunk_row(base):
        if base == 0:  # never a real chunk: counts nowhere
            return dict(allocs=0, frees=0)
        row = current.get(base)
        if row is None:
            row = dict(base_addr=base, created_ns=None, destroyed_ns=None, allocs=0, frees=0)
            chunks.append(row)
            current[base] = row
        return row

    for r in trace.records:
        e = r.event
        if e == ALLOC:
            n["allocs"] += 1
            text = r.fields.get("call_site")
            if text not in resolved:
                resolved[text] = resolve_call_site(trace, text)
            cs, cands, sym = resolved[text]
            row = site_row(cs, cands, sym)
            size = r.num("size", 0)
            nbytes = r.num("bytes_alloc", size)
            row["allocs"] += 1
            row["bytes_alloc"] += nbytes
            row["atomic_allocs"] += 1 if r.num("is_atomic", 0) else 0
            b = log2_bucket(size)
            size_hist[b] = size_hist.get(b, 0) + 1
            ptr = ptr_of(r)
            if ptr in open_ptr:
                n["replaced"] += 1
            open_ptr[ptr] = dict(ptr=ptr, row=row, size=size, bytes_alloc=nbytes, ts_ns=r.ts)
            chunk_row(r.num("base_addr"))["allocs"] += 1
        elif e == FREE:
            n["frees"] += 1
            a = open_ptr.pop(ptr_of(r), None)
            if a is None:
                n["unmatched"] += 1
                site_row(0, [0], None)["frees"] += 1
            else:
                a["row"]["frees"] += 1
                a["row"]["bytes_freed"] += a["bytes_alloc"]
            chunk_row(r.num("base_addr"))["frees"] += 1
        elif e == FAIL:
            n["fails"] += 1
            site_row(0, [0], None)["fails"] += 1
            fails.append(dict(ts_ns=r.ts, size=r.num("size", 0), align=r.num("align", 0),
                              reserved=r.num("reserved", 0), is_atomic=r.num("is_atomic", 0)))
        elif e == CREATE:
            n["created"] += 1
            base = r.num("base_addr")
            if base == 0:
                continue
            row = dict(base_addr=base, created_ns=r.ts, destroyed_ns=None, allocs=0, frees=0)
            chunks.append(row)
            current[base] = row
        elif e == DESTROY:
            n["destroyed"] += 1
            base = r.num("base_addr")
            if base == 0:
                continue
            row = current.pop(base, None)
            if row is None:
                row = dict(base_addr=base, created_ns=None, destroyed_ns=None, allocs=0, frees=0)
                chunks.append(row)
            row["destroyed_ns"] = r.ts

    outstanding = []
    for a in open_ptr.values():
        a["row"]["outstanding_allocs"] += 1
        a["row"]["outstanding_bytes"] += a["bytes_alloc"]
        outstanding.append(dict(ptr=a["ptr"], call_site=a["row"]["call_site"],
                                call_site_candidates=a["row"]["call_site_candidates"],
                                symbol=a["row"]["symbol"], size=a["size"],
                                bytes_alloc=a["bytes_alloc"], ts_ns=a["ts_ns"]))
    outstanding.sort(key=lambda o: (-o["bytes_alloc"], o["ts_ns"], o["ptr"]))

    values = dict(percpu_allocs=n["allocs"], percpu_frees=n["frees"], percpu_fails=n["fails"],
                  percpu_outstanding_allocs=len(outstanding),
                  percpu_outstanding_bytes=sum(o["bytes_alloc"] for o in outstanding),
                  percpu_chunks_created=n["created"], percpu_chunks_destroyed=n["destroyed"],
                  percpu_unmatched_frees=n["unmatched"], percpu_replaced_allocs=n["replaced"])
    callsite_rows = sorted(sites.values(),
                           key=lambda s: (-s["outstanding_bytes"], -s["allocs"],
                                          s["symbol"] or "", s["call_site"] or 0))
    return dict(
        checker="percpu_expected.py",
        trace_file=os.path.basename(trace.path),
        percpu_callsite=callsite_rows,
        percpu_size_hist=[dict(lo_bytes=k[0], hi_bytes=k[1], allocs=v)
                          for k, v in sorted(size_hist.items())],
        percpu_outstanding=outstanding,
        percpu_chunk=chunks,
        percpu_fail=fails,
        metrics={name: dict(value=values[name], unit=unit, better=better)
                 for name, unit, better in METRIC_SPECS
                 if any(f.startswith("percpu:") for f in trace.formats)},
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--buffer")
    ap.add_argument("--trace-cmd", default="trace-cmd")
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args(argv)
    try:
        trace = trace_report.select_buffer(trace_report.load(a.trace, a.trace_cmd, kallsyms=True),
                                           a.buffer)
        doc = analyze(trace)
    except trace_report.ReportError as e:
        trace_report.die("percpu_expected: %s" % e, 2)
    trace_report.write_json(doc, a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
