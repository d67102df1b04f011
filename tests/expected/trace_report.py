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
  trace-cmd dump --options FILE       the options: the selected clock ("[Option TRACECLOCK ..."
                                      then "[local] global ..."), TSC2NSEC ("MULT SHIFT OFFSET")

Records are kept in report order, which is libtracecmd's merge order (timestamp, then CPU).
A file with several buffers holding data would have all of them merged here; the fixtures
(trace-cmd extract -B X) have one named buffer with data and an empty top-level one.
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
DROP_RE = re.compile(r"^(?:\S+: )?CPU:(?P<cpu>\d+) \[(?:(?P<count>\d+) )?EVENTS DROPPED\]\s*$")
CPUS_RE = re.compile(r"^cpus=(\d+)\s*$")
FIELD_RE = re.compile(r"(\w+)=(\S*)")


class ReportError(Exception):
    pass


class Record:
    __slots__ = ("ts", "cpu", "event", "text", "missed", "_fields")

    def __init__(self, ts, cpu, event, text, missed):
        self.ts = ts          # ns
        self.cpu = cpu
        self.event = event    # system:name
        self.text = text      # the raw "field=value ..." text
        self.missed = missed  # 0: no mark, > 0: known count, -1: unknown count
        self._fields = None

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
    def __init__(self, path, nr_cpus, records, formats, kallsyms_text, clock=None, tsc2nsec=0):
        self.path = path
        self.clock = clock                # selected trace clock, None if the file has none
        self.tsc2nsec = tsc2nsec          # TSC2NSEC multiplier (0: no such option)
        self.nr_cpus = nr_cpus
        self.records = records
        self.formats = formats            # set of system:name
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


def parse_report(text, formats):
    """Parse `trace-cmd report -t -R -N` text. Returns (nr_cpus, records)."""
    by_name = {}
    for f in formats:
        sysname, _, name = f.partition(":")
        by_name.setdefault(name, []).append(f)
    nr_cpus = None
    records = []
    pending = {}  # cpu -> missed mark waiting for that CPU's next record
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
            continue
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
        records.append(Record(ts, cpu, event, m.group("fields"), pending.pop(cpu, 0)))
    if pending:
        raise ReportError("drop mark without a following record on CPU %s" % sorted(pending))
    if nr_cpus is None:
        raise ReportError("no cpus= line in the report")
    return nr_cpus, records


def load(path, trace_cmd="trace-cmd", kallsyms=False):
    if not os.path.exists(path):
        raise ReportError("%s: no such file" % path)
    tmpdir = tempfile.mkdtemp(prefix="pcp_expected.")
    try:
        real = materialize(path, tmpdir)
        formats = set(l.strip() for l in _run(trace_cmd, ["report", "-E", "-i", real]).splitlines()
                      if ":" in l)
        text = _run(trace_cmd, ["report", "-t", "-R", "-N", "-i", real])
        nr_cpus, records = parse_report(text, formats)
        ksyms = _run(trace_cmd, ["report", "-f", "-i", real]).splitlines() if kallsyms else []
        clock, tsc2nsec = parse_options(_run(trace_cmd, ["dump", "--options", real]))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return Trace(path, nr_cpus, records, formats, lambda: ksyms, clock, tsc2nsec)


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
