"""Read a trace.dat through `trace-cmd report` TEXT (never through pcptrace code).

Independent of pcpanalyze by design: everything here comes from what trace-cmd prints.

  trace-cmd report -t -R -N -i FILE   one line per record:
      [BUFFER: ]COMM-PID [CPU] SEC.NSEC: EVENT: field=value field=value ...
    -t  full nanosecond timestamps (9 decimals), -R raw field values (no print format; pointers
    and numbers in hex/decimal, %pS call sites still symbolized through the trace's kallsyms),
    -N  no plugins (their handlers would change how some events print).
    Before a record that carries a missed-events mark, report prints a line
      [BUFFER: ]CPU:N [COUNT EVENTS DROPPED]     (count known)
      [BUFFER: ]CPU:N [EVENTS DROPPED]           (count unknown, missed_events < 0)
    The first line is "cpus=N" (the CPU count the file declares). The record printed right
    after a drop line lacks the "BUFFER: " prefix (a trace-cmd quirk), so the prefix is optional.
  trace-cmd report -E -i FILE         the event formats the file carries, as system:name
  trace-cmd report -f -i FILE         the kallsyms stored in the file (address name [module])
  trace-cmd report --events -i FILE   the formats themselves: field names and sizes per event
  trace-cmd report -t -N -i FILE      (no -R) records as their print fmt shows them: read only
    for events whose print fmt computes a value that is not a field (older kernels'
    mm_page_alloc_zone_locked: percpu_refill=%d from "REC->order == 0"), evaluated by
    libtraceevent; kept per record as Record.printed.
  trace-cmd dump --options FILE       the options: the selected clock ("[Option TRACECLOCK ..."
                                      then "[local] global ..."), TSC2NSEC ("MULT SHIFT OFFSET")

Records are kept in report order, which is libtracecmd's merge order (timestamp, then CPU).
Buffers: report prints every buffer's records merged, each line (or the drop line before it)
prefixed "%*s: " % (width, NAME) for an instance and width + 2 spaces for the top-level buffer
(tracecmd/trace-read.c print_handle_file), so each record knows its buffer (Record.buffer,
"top" for the top-level one). The names come from the BUFFER options of
`trace-cmd dump --options`.
  trace-cmd report --stat -i FILE    the CPUSTAT options: the top buffer's per-CPU stats, then
      "Buffer: NAME" and that instance's; each CPU's block starts "CPU: N" (trace-cmd) or, as
      pcprecord writes them, with "entries:" (blocks then in CPU order).
"""

import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile

# A clock without a time base (counter, uptime) prints its raw count with no decimal point.
RECORD_RE = re.compile(
    r"\[(?P<cpu>\d+)\]\s+(?P<sec>\d+)(?:\.(?P<nsec>\d{9}))?:\s+(?P<event>[^\s:]+):\s?(?P<fields>.*)$")
DROP_RE = re.compile(
    r"^\s*(?:(?P<buf>\S+): )?CPU:(?P<cpu>\d+) \[(?:(?P<count>\d+) )?EVENTS DROPPED\]\s*$")
CPUS_RE = re.compile(r"^cpus=(\d+)\s*$")
FIELD_RE = re.compile(r"(\w+)=(\S*)")


class ReportError(Exception):
    pass


TOP = "top"
BUFNAME_RE = re.compile(r'^\s*"(?P<name>[^"]*)" \[name\]\s*$')
STAT_KEYS = ("entries", "overrun", "commit overrun", "dropped events", "read events")


class Record:
    __slots__ = ("ts", "cpu", "event", "text", "missed", "buffer", "_fields", "printed", "head")

    def __init__(self, ts, cpu, event, text, missed, buffer=TOP):
        self.ts = ts          # ns
        self.cpu = cpu
        self.event = event    # system:name
        self.text = text      # the raw "field=value ..." text
        self.missed = missed  # 0: no mark, > 0: known count, -1: unknown count
        self.buffer = buffer  # "top" or the instance name
        self._fields = None
        self.printed = None   # fields as the print fmt shows them (see printed_for)
        self.head = ""        # the line before "[CPU]": "[BUFFER: ]COMM-PID"

    def task(self):
        """(comm, pid) as report prints them (comm from the trace's cmdlines: "<idle>" for pid
        0, "<...>" when not saved)."""
        h = self.head.strip()
        if self.buffer != TOP and h.startswith(self.buffer + ": "):
            h = h[len(self.buffer) + 2:].strip()
        comm, _, pid = h.rpartition("-")
        return comm, int(pid)

    @property
    def fields(self):
        if self._fields is None:
            self._fields = dict(FIELD_RE.findall(self.text))
        return self._fields

    def num(self, name, default=None):
        """Integer value of a field as -R prints it (decimal or 0x hex)."""
        v = self.fields.get(name)
        if v is None:
            return default
        if v == "(nil)":  # a NULL pointer field (older kernels' struct page *page)
            return 0
        return int(v, 0)


def parse_options(text):
    """(selected clock or None, TSC2NSEC multiplier or 0) from `trace-cmd dump --options`."""
    clock, mult = None, 0
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        if "[Option TRACECLOCK" in line and clock is None:
            m = re.search(r"\[([^\]]+)\]", lines[i + 1])
            clock = m.group(1) if m else lines[i + 1].split()[0] if lines[i + 1].split() else None
        elif "[Option TSC2NSEC" in line:
            f = lines[i + 1].split()
            mult = int(f[0]) if f and f[0].isdigit() else 0
    return clock, mult


class Trace:
    def __init__(self, path, nr_cpus, records, formats, kallsyms_text, buffers=(TOP,),
                 cpustat=None, fields=None, clock=None, tsc2nsec=0):
        self.path = path
        self.clock = clock                # selected trace clock, None if the file has none
        self.tsc2nsec = tsc2nsec          # TSC2NSEC multiplier (0: no such option)
        self.nr_cpus = nr_cpus
        self.records = records
        self.buffers = list(buffers)      # "top" first, then instances in file order
        self.cpustat = cpustat or {}      # buffer -> {cpu: {key: int}}
        self.buffer = None                # set by select_buffer()
        self.formats = formats            # set of system:name
        self.fields = fields or {}        # system:name -> {field name: size} (non-common)
        self._kallsyms_text = kallsyms_text
        self._funcs = None

    def function_addresses(self, name):
        """All kallsyms addresses of a function name (a list: static names can repeat)."""
        if self._funcs is None:
            self._funcs = {}
            for line in self._kallsyms_text():
                parts = line.split()
                if len(parts) >= 2:
                    try:
                        addr = int(parts[0], 16)
                    except ValueError:
                        continue
                    self._funcs.setdefault(parts[1], []).append(addr)
        return self._funcs.get(name, [])


def _run(trace_cmd, args):
    p = subprocess.run([trace_cmd] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, errors="replace")
    if p.returncode != 0:
        raise ReportError("%s %s failed (%d): %s" % (trace_cmd, " ".join(args), p.returncode,
                                                    p.stderr.strip()[-300:]))
    return p.stdout


def materialize(path, tmpdir):
    """A .xz fixture is decompressed into tmpdir; returns the path to read."""
    if path.endswith(".xz"):
        out = os.path.join(tmpdir, os.path.basename(path)[:-3])
        with lzma.open(path, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
        return out
    return path


def parse_buffer_names(dump_options_text):
    """Instance names from `trace-cmd dump --options` (BUFFER options; "" = top, skipped)."""
    names = []
    for line in dump_options_text.splitlines():
        m = BUFNAME_RE.match(line)
        if m and m.group("name") and m.group("name") not in names:
            names.append(m.group("name"))
    return names


def parse_stat(text):
    """`trace-cmd report --stat` text -> {buffer: {cpu: {key: int}}}."""
    out = {}
    owner = TOP
    cur = None
    pos = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Buffer: "):
            owner = line[len("Buffer: "):].strip()
            cur = None
            continue
        key, sep, val = line.partition(":")
        if not sep:
            continue
        if key == "CPU" or (key == "entries" and (cur is None or "entries" in cur)):
            if key == "CPU":
                cpu = int(val)
            else:
                cpu = pos.get(owner, 0)
            pos[owner] = cpu + 1
            cur = out.setdefault(owner, {}).setdefault(cpu, {})
            if key == "CPU":
                continue
        if cur is not None and key in STAT_KEYS:
            cur[key] = int(val.strip())
    return out


def parse_report(text, formats, instances=()):
    """Parse `trace-cmd report -t -R -N` text. Returns (nr_cpus, records)."""
    by_name = {}
    for f in formats:
        sysname, _, name = f.partition(":")
        by_name.setdefault(name, []).append(f)
    nr_cpus = None
    records = []
    pending = {}  # cpu -> missed mark waiting for that CPU's next record
    pending_buf = None  # the buffer of a drop line: the next record line has no prefix
    inst = set(instances)
    for line in text.splitlines():
        if nr_cpus is None:
            m = CPUS_RE.match(line)
            if m:
                nr_cpus = int(m.group(1))
                continue
        m = DROP_RE.match(line)
        if m:
            cpu = int(m.group("cpu"))
            pending[cpu] = int(m.group("count")) if m.group("count") else -1
            pending_buf = m.group("buf") if m.group("buf") in inst else TOP
            continue
        if pending_buf is not None:
            buf, pending_buf = pending_buf, None
        else:
            head = line.lstrip().split(" ", 1)[0]
            buf = head[:-1] if head.endswith(":") and head[:-1] in inst else TOP
        m = RECORD_RE.search(line)
        if not m:
            if line.strip() and not line.startswith("version ="):
                raise ReportError("unparsed report line: %r" % line[:200])
            continue
        cpu = int(m.group("cpu"))
        name = m.group("event")
        full = by_name.get(name)
        if full is None:
            event = name  # no format for it: cannot happen for a decodable record
        elif len(full) == 1:
            event = full[0]
        else:
            raise ReportError("event name %r is ambiguous: %s" % (name, full))
        ts = (int(m.group("sec")) * 1000000000 + int(m.group("nsec")) if m.group("nsec") is not None
              else int(m.group("sec")))
        records.append(Record(ts, cpu, event, m.group("fields"), pending.pop(cpu, 0), buf))
        records[-1].head = line[:m.start()]
    if pending:
        raise ReportError("drop mark without a following record on CPU %s" % sorted(pending))
    if nr_cpus is None:
        raise ReportError("no cpus= line in the report")
    return nr_cpus, records


EVENT_NAME_RE = re.compile(r"^name: (\S+)$")
EVENT_SYSTEM_RE = re.compile(r"^system: (\S+)$")
FIELD_DECL_RE = re.compile(r"^\s*field:.*?(\w+)(?:\[\d*\])?;\s*offset:\d+;\s*size:(\d+);")


def parse_event_formats(text):
    """`trace-cmd report --events` text -> {system:name: {field: size}} without common_*."""
    out = {}
    system, current = None, None
    for line in text.splitlines():
        m = EVENT_SYSTEM_RE.match(line)
        if m:
            system = m.group(1)
            continue
        m = EVENT_NAME_RE.match(line)
        if m:
            current = out.setdefault("%s:%s" % (system, m.group(1)), {})
            continue
        m = FIELD_DECL_RE.match(line)
        if m and current is not None and not m.group(1).startswith("common_"):
            current[m.group(1)] = int(m.group(2))
    return out


def printed_for(fields):
    """Events whose print fmt shows a value that is not a field: an older kernel's
    mm_page_alloc_zone_locked (percpu_refill computed from the order)."""
    e = "kmem:mm_page_alloc_zone_locked"
    return {e} if e in fields and "percpu_refill" not in fields[e] else set()


def attach_printed(records, text, formats, wanted, instances=()):
    """Record.printed for the records of `wanted` events, from the no-R report (same records
    in the same order as the -R one; checked record by record)."""
    _, shown = parse_report(text, formats, instances)
    if len(shown) != len(records):
        raise ReportError("printed report has %d records, raw %d" % (len(shown), len(records)))
    for r, p in zip(records, shown):
        if (r.cpu, r.ts, r.event) != (p.cpu, p.ts, p.event):
            raise ReportError("printed and raw reports differ at %s %d" % (r.event, r.ts))
        if r.event in wanted:
            r.printed = p.fields


def load(path, trace_cmd="trace-cmd", kallsyms=False):
    if not os.path.exists(path):
        raise ReportError("%s: no such file" % path)
    tmpdir = tempfile.mkdtemp(prefix="pcp_expected.")
    try:
        real = materialize(path, tmpdir)
        formats = set(l.strip() for l in _run(trace_cmd, ["report", "-E", "-i", real]).splitlines()
                      if ":" in l)
        instances = parse_buffer_names(_run(trace_cmd, ["dump", "--options", real]))
        text = _run(trace_cmd, ["report", "-t", "-R", "-N", "-i", real])
        nr_cpus, records = parse_report(text, formats, instances)
        fields = parse_event_formats(_run(trace_cmd, ["report", "--events", "-i", real]))
        wanted = printed_for(fields)
        if wanted and any(r.event in wanted for r in records):
            attach_printed(records, _run(trace_cmd, ["report", "-t", "-N", "-i", real]),
                           formats, wanted, instances)
        cpustat = parse_stat(_run(trace_cmd, ["report", "--stat", "-i", real]))
        ksyms = _run(trace_cmd, ["report", "-f", "-i", real]).splitlines() if kallsyms else []
        clock, tsc2nsec = parse_options(_run(trace_cmd, ["dump", "--options", real]))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return Trace(path, nr_cpus, records, formats, lambda: ksyms, [TOP] + instances, cpustat, fields,
                 clock, tsc2nsec)


def die(msg, code=2):
    sys.stderr.write(msg + "\n")
    sys.exit(code)


def write_json(doc, output):
    """doc as indented JSON to output ("-" = stdout), else via output.tmp renamed over it."""
    text = json.dumps(doc, indent=1) + "\n"
    if output == "-":
        sys.stdout.write(text)
        return
    tmp = output + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, output)


ANALYZABLE_KMEM = {"kmem:mm_page_pcpu_drain", "kmem:mm_page_pcpu_refill",
                   "kmem:mm_page_pcpu_refill_zone_locked", "kmem:mm_page_pcpu_drain_zone_locked",
                   "kmem:mm_page_alloc_zone_locked"}


def analyzable(event):
    return event in ANALYZABLE_KMEM or event.startswith("percpu:")


def select_buffer(trace, name=None):
    """Keep only one buffer's records (pcpanalyze --buffer NAME; "top" = top-level), chosen as
    pcpanalyze(1) says when name is None: the only buffer with records, else the only one
    with an analyzable event, else refuse. Sets trace.buffer and trace.nr_data_buffers."""
    with_data = [b for b in trace.buffers if any(r.buffer == b for r in trace.records)]
    trace.nr_data_buffers = len(with_data)
    if name is not None:
        if name not in trace.buffers:
            raise ReportError("no buffer %r in the file (it has: %s)"
                              % (name, ", ".join(trace.buffers)))
        chosen = name
    elif len(with_data) <= 1:
        chosen = with_data[0] if with_data else TOP
    else:
        cands = [b for b in with_data
                 if any(r.buffer == b and analyzable(r.event) for r in trace.records)]
        if len(cands) > 1:
            raise ReportError("%d buffers hold analyzable events (%s)"
                              % (len(cands), ", ".join(cands)))
        chosen = cands[0] if cands else with_data[0]
    trace.buffer = chosen
    trace.records = [r for r in trace.records if r.buffer == chosen]
    return trace
