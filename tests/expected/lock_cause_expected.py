#!/usr/bin/env python3
"""Lock causes (docs/METRICS.md, "Lock causes") from `trace-cmd report` text, independently of
pcpanalyze: the records from `trace-cmd report -t -R -N` (trace_report.py), the stacks from
`trace-cmd report -t` (trace-cmd's own kernel_stack printer: "=> name (address)" lines after
each kernel_stack record, every frame, names from the trace's kallsyms), the cause rules from
the table in docs/METRICS.md. Fallback mode (inferred acquisitions) and native mode (the
seed patch's zone_locked events are the acquisitions, with nid/zid from their fields; a block
adds its pages to the latest acquisition of its kind on its CPU: the kernel lab's recordings).

Prints the JSON document {"lock_cause": {...as pcpanalyze's JSON member...}, "metrics": {...}}.
"""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trace_report  # noqa: E402
import pcp_expected  # noqa: E402

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "METRICS.md")
RULES_HEADER = "| kind | cause | frames 6.18 (this machine) | frames 6.1 (lab) |"
IRQ_EXACT = ("asm_common_interrupt", "handle_softirqs", "__do_softirq")
TRACING_PREFIXES = ("trace_event_raw_event_", "__traceiter_", "trace_event_buffer_", "event_trigger",
                    "stacktrace_", "__ftrace_trace_stack", "__trace_stack",
                    "trace_buffer_unlock_commit")
STACK_LINE = re.compile(r"^\s*=> (?P<name>\S+)(?: \((?P<addr>[0-9a-f]+)\))?\s*$")
HEAD = re.compile(r"^\s*(?:\S+: )?(?P<comm>.*)-(?P<pid>\d+)\s+\[(?P<cpu>\d+)\]\s+(?P<sec>\d+)\.(?P<nsec>\d{9}):\s+(?P<event>[^\s:]+):")
SHARES = ("free_high", "decay", "explicit", "cpu_offline", "other")


def read_rules(path=DOC):
    """[(kind, cause, set of names)] in the table's order."""
    rules = []
    inside = False
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line == RULES_HEADER:
                inside = True
                continue
            if not line.startswith("|"):
                inside = False
                continue
            if not inside or line.startswith("|---"):
                continue
            cells = [c.strip() for c in line.strip("|").split("|")]
            names = set(re.findall(r"`([^`]+)`", cells[2] + " " + cells[3]))
            rules.append((cells[0], cells[1], names))
    if not rules:
        raise SystemExit("lock_cause_expected: no rules table in %s" % path)
    return rules


def classify(rules, kind, names):
    cut = len(names)
    for i, n in enumerate(names):
        if n.startswith("asm_sysvec_") or n in IRQ_EXACT:
            cut = i
            break
    base = [n.split(".", 1)[0] for n in names[:cut]]
    for k, cause, frames in rules:
        if k == kind and any(n in frames for n in base):
            return cause
    return "other"


def folded(names):
    i = 0
    while i < len(names) and names[i].startswith(TRACING_PREFIXES):
        i += 1
    return ";".join(reversed(names[i:]))


def read_stacks(path, trace_cmd):
    """[(ts, cpu, comm, pid, [names], (addresses))] of the kernel_stack records, in report order."""
    tmp = tempfile.mkdtemp(prefix="lock_cause_expected.")
    try:
        real = trace_report.materialize(path, tmp)
        text = trace_report._run(trace_cmd, ["report", "-t", "-i", real])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = []
    cur = None
    for line in text.splitlines():
        m = HEAD.match(line)
        if m:
            cur = None
            if m.group("event") == "kernel_stack":
                cur = (int(m.group("sec")) * 10**9 + int(m.group("nsec")), int(m.group("cpu")),
                       m.group("comm").strip(), int(m.group("pid")), [], [])
                out.append(cur)
            continue
        s = STACK_LINE.match(line)
        if s and cur is not None:
            cur[4].append(s.group("name"))
            cur[5].append(s.group("addr") or s.group("name"))
    return [(ts, cpu, comm, pid, names, tuple(addrs)) for ts, cpu, comm, pid, names, addrs in out]


def analyze(trace, stacks, rules, infer_gap="auto", top=100, meta=None):
    mode = pcp_expected.classify(trace, None)
    if mode != "fallback":
        if not {pcp_expected.REFILL_ZL, pcp_expected.DRAIN_ZL} <= set(trace.formats):
            raise SystemExit("lock_cause_expected: native mode without both zone_locked formats")
        return analyze_native(trace, stacks, rules, top)
    block_key, key_field, refill_flag = pcp_expected.block_format(trace, mode)
    azl_size = trace.fields.get(pcp_expected.ALLOC_ZONE_LOCKED, {}).get(key_field, 8)
    no_page = (1 << (8 * azl_size)) - 1
    recs = trace.records

    def kind_of(r):
        e = r.event
        if e in pcp_expected.PATCH_EVENTS or e == pcp_expected.KERNEL_STACK:
            return None
        if e == pcp_expected.DRAIN:
            return "drain"
        if e == pcp_expected.ALLOC_ZONE_LOCKED:
            flag = int(r.printed["percpu_refill"], 0) if refill_flag == "derived" else r.num("percpu_refill", 0)
            if flag != 0 and r.num(key_field) != no_page:
                return "refill"
        return "other"

    kinds = [kind_of(r) for r in recs]
    gaps = {k: (pcp_expected.auto_gap(recs, kinds, k) if infer_gap == "auto" else int(infer_gap))
            for k in ("refill", "drain")}
    spans = pcp_expected.zone_spans(meta) if block_key == "pfn" else []

    srecs = [r for r in recs if r.event == pcp_expected.KERNEL_STACK]
    if len(srecs) != len(stacks):
        raise SystemExit("lock_cause_expected: %d kernel_stack records, %d printed stacks"
                         % (len(srecs), len(stacks)))
    ops = []                  # [kind, nid, zid, pages, stack index or None]
    live = {}                 # cpu -> op index of the current run (absent: broken)
    prev = {}                 # cpu -> (kind, ts, (nid, zid)) of the run's latest block
    si = 0
    attributed = extra = unattributed = 0
    for r, k in zip(recs, kinds):
        if r.missed:
            live.pop(r.cpu, None)
            prev.pop(r.cpu, None)
        if r.event == pcp_expected.KERNEL_STACK:
            st = stacks[si]
            si += 1
            if (st[0], st[1]) != (r.ts, r.cpu):
                raise SystemExit("lock_cause_expected: stack %d at %d/%d, record at %d/%d"
                                 % (si, st[0], st[1], r.ts, r.cpu))
            op = live.get(r.cpu)
            if op is None:
                unattributed += 1
            elif ops[op][4] is None:
                ops[op][4] = si - 1
                attributed += 1
            else:
                extra += 1
            continue
        if k is None:
            continue
        if k == "other":
            live.pop(r.cpu, None)
            prev.pop(r.cpu, None)
            continue
        pfn = r.num(key_field)
        zone = pcp_expected.zone_of(spans, pfn) if spans else (-1, -1)
        p = prev.get(r.cpu)
        if (p is None or p[0] != k or (gaps[k] and r.ts > p[1] + gaps[k]) or p[2] != zone):
            ops.append([k, zone[0], zone[1], 0, None])
            live[r.cpu] = len(ops) - 1
        ops[live[r.cpu]][3] += 1 << r.num("order")
        prev[r.cpu] = (k, r.ts, zone)

    return summarize(ops, stacks, srecs, rules, top, attributed, extra, unattributed)


def analyze_native(trace, stacks, rules, top):
    """Native mode: each zone_locked record is one acquisition of its (nid, zid); refill
    (mm_page_pcpu_refill) and drain blocks add their pages to the latest acquisition of their
    kind on their CPU; a stack belongs to the acquisition of the latest such record on its CPU
    when no other record and no missed-events mark came between."""
    recs = trace.records
    srecs = [r for r in recs if r.event == pcp_expected.KERNEL_STACK]
    if len(srecs) != len(stacks):
        raise SystemExit("lock_cause_expected: %d kernel_stack records, %d printed stacks"
                         % (len(srecs), len(stacks)))
    ops, live, latest = [], {}, {}
    si = attributed = extra = unattributed = 0
    for r in recs:
        if r.missed:
            live.pop(r.cpu, None)
        e = r.event
        if e == pcp_expected.KERNEL_STACK:
            st = stacks[si]
            si += 1
            if (st[0], st[1]) != (r.ts, r.cpu):
                raise SystemExit("lock_cause_expected: stack %d at %d/%d, record at %d/%d"
                                 % (si, st[0], st[1], r.ts, r.cpu))
            op = live.get(r.cpu)
            if op is None:
                unattributed += 1
            elif ops[op][4] is None:
                ops[op][4] = si - 1
                attributed += 1
            else:
                extra += 1
        elif e in (pcp_expected.REFILL_ZL, pcp_expected.DRAIN_ZL):
            kind = "refill" if e == pcp_expected.REFILL_ZL else "drain"
            ops.append([kind, r.num("nid"), r.num("zid"), 0, None])
            latest[(r.cpu, kind)] = live[r.cpu] = len(ops) - 1
        elif e in (pcp_expected.REFILL_NATIVE, pcp_expected.DRAIN):
            kind = "refill" if e == pcp_expected.REFILL_NATIVE else "drain"
            op = latest.get((r.cpu, kind))
            if op is None:
                live.pop(r.cpu, None)
            else:
                ops[op][3] += 1 << r.num("order")
                live[r.cpu] = op
        else:
            live.pop(r.cpu, None)
    return summarize(ops, stacks, srecs, rules, top, attributed, extra, unattributed)


def summarize(ops, stacks, srecs, rules, top, attributed, extra, unattributed):
    """The lock_cause member and metrics from the acquisitions [kind, nid, zid, pages, stack]."""
    causes = {}
    groups = {}
    for kind, nid, zid, pages, s in ops:
        if s is None:
            cause = "unsampled"
        else:
            ts, cpu, comm, pid, names, addrs = stacks[s]
            cause = classify(rules, kind, names)
            g = groups.setdefault((kind, cause, folded(names), pid), [0, 0, comm])
            g[0] += 1
            g[1] += pages
        c = causes.setdefault((kind, nid, zid, cause), [0, 0])
        c[0] += 1
        c[1] += pages
    kind_order = {"refill": 0, "drain": 1}
    rows = [dict(kind=k, nid=n, zid=z, cause=c, acquisitions=v[0], pages=v[1])
            for (k, n, z, c), v in sorted(causes.items(), key=lambda kv: (kind_order[kv[0][0]],) + kv[0][1:])]
    tops = sorted(groups.items(), key=lambda kv: (kind_order[kv[0][0]], kv[0][1], -kv[1][0], kv[0][2], kv[0][3]))
    out_stacks = []
    rank = {}
    for (kind, cause, fold, pid), (acq, pages, comm) in tops:
        n = rank.get((kind, cause), 0)
        rank[(kind, cause)] = n + 1
        if n < top:
            out_stacks.append(dict(kind=kind, cause=cause, comm=comm, pid=pid, folded=fold,
                                   acquisitions=acq, pages=pages))

    def count(kind, pred):
        return sum(r["acquisitions"] for r in rows if r["kind"] == kind and pred(r["cause"]))
    sampled = {k: count(k, lambda c: c != "unsampled") for k in ("refill", "drain")}
    total = {k: count(k, lambda c: True) for k in ("refill", "drain")}
    metrics = {}
    for c in SHARES:
        n = count("drain", lambda x, c=c: x == c)
        metrics["drain_cause_%s_share" % c] = n / sampled["drain"] if sampled["drain"] else None
    metrics["drain_stack_coverage"] = sampled["drain"] / total["drain"] if total["drain"] else None
    metrics["refill_stack_coverage"] = sampled["refill"] / total["refill"] if total["refill"] else None
    return dict(lock_cause=dict(stack_events=len(srecs), stacks_attributed=attributed,
                                stacks_extra=extra, stacks_unattributed=unattributed,
                                distinct_stacks=len(set(s[5] for s in stacks)),
                                causes=rows, stacks=out_stacks),
                metrics=metrics)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--infer-gap", default="auto", type=lambda v: v if v == "auto" else int(v))
    ap.add_argument("--top", type=int, default=100)
    ap.add_argument("--trace-cmd", default="trace-cmd")
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args(argv)
    trace = trace_report.select_buffer(trace_report.load(a.trace, a.trace_cmd), None)
    stacks = read_stacks(a.trace, a.trace_cmd)
    meta_base = a.trace[:-3] if a.trace.endswith(".xz") else a.trace
    doc = analyze(trace, stacks, read_rules(), a.infer_gap, a.top, pcp_expected.load_meta(meta_base))
    trace_report.write_json(doc, a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
