"""The analysis window and filter (pcpanalyze --from/--to/--cpus/--pid/--comm), computed
independently of pcpanalyze over `trace-cmd report` records (docs/METRICS.md, "Windows and
filters"):

- times: "S[.F]" seconds from the buffer's first record, "@S[.F]" absolute trace time; the
  window is [from, to);
- a record is kept when it is inside the window, on a selected CPU and (--pid/--comm) its task's
  pid is selected (--comm: the pids the report names NAME, i.e. the trace's cmdlines);
- a record that is not kept but is inside the window on a selected CPU still brings its
  missed-events mark ("mark": in the pass, as an ignored record; nowhere else);
- the analysis is the analysis of the kept records: counts, first/last timestamps, pairs (a
  block refilled before the window and drained inside is an unmatched drain), runs.
"""

FILTER_OPTIONS = ("--from", "--to", "--cpus", "--pid", "--comm")


def parse_time(s):
    absolute = s.startswith("@")
    if absolute:
        s = s[1:]
    sec, _, frac = s.partition(".")
    if len(frac) > 9:
        raise ValueError("time below a nanosecond: %s" % s)
    return absolute, int(sec or "0") * 10**9 + int((frac or "0").ljust(9, "0"))


def parse_cpus(s):
    out = set()
    for part in s.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


class Filter:
    def __init__(self, opts):
        """opts: {"--from": "1.5", ...} (the options given)."""
        self.opts = dict(opts)
        self.frm = parse_time(opts["--from"]) if "--from" in opts else None
        self.to = parse_time(opts["--to"]) if "--to" in opts else None
        self.cpus = parse_cpus(opts["--cpus"]) if "--cpus" in opts else None
        self.pids = set(int(p) for p in opts["--pid"].split(",")) if "--pid" in opts else None
        self.comm = opts.get("--comm")

    def select(self, records):
        """[(record, "keep" | "mark")] of the records that enter the analysis."""
        first = min((r.ts for r in records), default=0)
        lo = 0 if self.frm is None else (self.frm[1] if self.frm[0] else first + self.frm[1])
        hi = None if self.to is None else (self.to[1] if self.to[0] else first + self.to[1])
        pids = None
        if self.pids is not None or self.comm is not None:
            pids = set(self.pids or ())
            if self.comm is not None:
                pids |= {r.task()[1] for r in records if r.task()[0] == self.comm}
        out = []
        for r in records:
            if r.ts < lo or (hi is not None and r.ts >= hi):
                continue
            if self.cpus is not None and r.cpu not in self.cpus:
                continue
            if pids is not None and r.task()[1] not in pids:
                if r.missed:
                    out.append((r, "mark"))
                continue
            out.append((r, "keep"))
        self.window = (lo, hi)
        return out


def apply(trace, opts):
    """Restricts trace (trace_report.load's) to the filter: trace.records = the kept records,
    trace.mark_only = the ids of the records that only bring their mark, in order in
    trace.filtered (both). Returns the Filter."""
    f = Filter(opts)
    sel = f.select(trace.records)
    trace.filtered = [r for r, _ in sel]
    trace.mark_only = set(id(r) for r, how in sel if how == "mark")
    trace.records = [r for r, how in sel if how == "keep"]
    return f


def describe(opts):
    """The canonical description pcpanalyze writes to trace_info filter (docs/METRICS.md):
    "from=+S.NNNNNNNNNs to=@S.NNNNNNNNNs cpus=0-3,8 pid=17,42 comm=NAME", "none" without one."""
    parts = []
    for key in ("--from", "--to"):
        if key in opts:
            absolute, ns = parse_time(opts[key])
            parts.append("%s=%s%d.%09ds" % (key[2:], "@" if absolute else "+", ns // 10**9,
                                            ns % 10**9))
    if "--cpus" in opts:
        cpus, ranges = sorted(parse_cpus(opts["--cpus"])), []
        for c in cpus:
            if ranges and ranges[-1][1] == c - 1:
                ranges[-1][1] = c
            else:
                ranges.append([c, c])
        parts.append("cpus=" + ",".join("%d-%d" % (a, b) if b > a else "%d" % a for a, b in ranges))
    if "--pid" in opts:
        parts.append("pid=" + ",".join(str(p) for p in sorted(set(int(x) for x in opts["--pid"].split(",")))))
    if "--comm" in opts:
        parts.append("comm=" + opts["--comm"])
    return " ".join(parts) or "none"
