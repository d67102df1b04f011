#!/usr/bin/env python3
"""Check that `trace-cmd report -t -R` of a pcpsynth trace shows exactly the script's events.

usage: synth_check.py FORMATS_DIR SCRIPT REPORT_TEXT

Independent of the C code: it reads the script language (pcpsynth(1)) and the format files
itself, predicts the report (events merged by timestamp, then CPU; a missed-events line before
the first event after each `missed` mark) and compares line by line: CPU, timestamp (ns),
comm-pid, event name and every field value given in the script (unset fields must be 0).
"""
import re
import sys

FIELD_RE = re.compile(r"field:(.*?)\s+([A-Za-z_][A-Za-z0-9_]*)(\[\d*\])?;\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);")
# a clock without a time base (counter) prints its raw count, no decimal point
LINE_RE = re.compile(r"^\s*(.+)-(\d+)\s+\[(\d+)\]\s+(\d+)(?:\.(\d{9}))?:\s+(\S+):\s*(.*)$")
TSC2NSEC = [0, 0]  # the script's "tsc2nsec MULT SHIFT": report shows converted times


def tsc_to_ns(ts):
    """trace-cmd's conversion (libtracecmd mul_u64_u32_shr)."""
    mult, shift = TSC2NSEC
    if not mult:
        return ts
    lo, hi = ts & 0xffffffff, ts >> 32
    ns = (lo * mult) >> shift
    return (ns + ((hi * mult) << (32 - shift))) & ((1 << 64) - 1) if hi else ns
DROP_RE = re.compile(r"^CPU:(\d+) \[(?:(\d+) )?EVENTS DROPPED\]$")


def load_formats(d):
    import os
    fmts = {}
    for name in os.listdir(d):
        if not name.endswith(".format"):
            continue
        system = name.split(".", 1)[0]
        text = open(os.path.join(d, name)).read()
        ev = re.search(r"^name: (\S+)", text, re.M).group(1)
        fields = {}
        for m in FIELD_RE.finditer(text):
            fields[m.group(2)] = (int(m.group(5)), m.group(3) is not None)
        fmts[system + ":" + ev] = fields
    return fmts


def parse_script(path, fmts):
    comms = {0: "<idle>"}
    events = []  # (ts, cpu, seq, event, {field: value}, missed)
    pending = {}
    seq = 0
    for lineno, raw in enumerate(open(path), 1):
        tok = raw.split("#", 1)[0].split()
        if not tok or tok[0] in ("cpus", "formats", "clock"):
            continue
        if tok[0] == "tsc2nsec":
            TSC2NSEC[:] = [int(tok[1], 0), int(tok[2], 0)]
            continue
        if tok[0] == "comm":
            comms[int(tok[1])] = " ".join(tok[2:])
            continue
        if tok[0] == "missed":
            cpu, count = int(tok[1]), int(tok[2])
            prev = pending.get(cpu)
            if prev is None:
                pending[cpu] = count
            elif prev < 0 or count < 0:
                pending[cpu] = -1
            else:
                pending[cpu] = prev + count
            continue
        ts, cpu, ev = int(tok[0], 0), int(tok[1], 0), tok[2]
        assert ev in fmts, f"{path}:{lineno}: unknown event {ev}"
        vals = {}
        for a in tok[3:]:
            k, v = a.split("=", 1)
            vals[k] = v
        events.append((ts, cpu, seq, ev, vals, pending.pop(cpu, 0)))
        seq += 1
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    return comms, events


def norm(v, size):
    return int(v, 0) & ((1 << (8 * size)) - 1)


def main():
    fdir, script, report = sys.argv[1:4]
    fmts = load_formats(fdir)
    comms, events = parse_script(script, fmts)
    lines = [l.rstrip("\n") for l in open(report) if not l.startswith("cpus=")]
    i = 0
    errors = 0

    def err(msg):
        nonlocal errors
        errors += 1
        if errors <= 20:
            print("synth_check: " + msg, file=sys.stderr)

    for n, (ts, cpu, _, ev, vals, missed) in enumerate(events):
        if missed:
            m = DROP_RE.match(lines[i]) if i < len(lines) else None
            want = None if missed < 0 else str(missed)
            if not m or int(m.group(1)) != cpu or m.group(2) != want:
                err(f"event {n}: expected dropped-events line for CPU {cpu} ({missed}), got {lines[i] if i < len(lines) else 'EOF'!r}")
            else:
                i += 1
        if i >= len(lines):
            err(f"event {n}: report ended early")
            break
        m = LINE_RE.match(lines[i])
        i += 1
        if not m:
            err(f"event {n}: cannot parse {lines[i - 1]!r}")
            continue
        comm, pid, rcpu, sec, nsec, name, rest = m.groups()
        pid_want = int(vals.get("common_pid", "0"), 0)
        got_ts = int(sec) * 1000000000 + int(nsec) if nsec is not None else int(sec)
        if int(rcpu) != cpu or got_ts != tsc_to_ns(ts) or name != ev.split(":")[1] or int(pid) != pid_want:
            err(f"event {n}: expected cpu={cpu} ts={ts} {ev} pid={pid_want}, got {lines[i - 1]!r}")
            continue
        if comm != comms.get(pid_want, "<...>"):
            err(f"event {n}: comm {comm!r}, expected {comms.get(pid_want, '<...>')!r}")
        got = dict(re.findall(r"(\w+)=(\S+)", rest))
        for field, (size, is_array) in fmts[ev].items():
            if field.startswith("common_"):
                continue
            if field not in got:
                err(f"event {n}: field {field} missing in {rest!r}")
                continue
            want = vals.get(field, "0")
            if is_array:
                continue
            if norm(got[field], size) != norm(want, size):
                err(f"event {n}: {ev} {field}={got[field]}, expected {want}")
    if i < len(lines):
        err(f"{len(lines) - i} extra report lines, first {lines[i]!r}")
    if errors:
        print(f"synth_check: {script}: {errors} mismatches", file=sys.stderr)
        return 1
    print(f"synth_check: {script}: {len(events)} events match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
