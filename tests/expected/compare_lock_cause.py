#!/usr/bin/env python3
"""Compare pcpanalyze's JSON `lock_cause` member and lock-cause metrics with
lock_cause_expected.py's document: counts and rows exact, metrics 1e-9 relative (null = null).
usage: compare_lock_cause.py EXPECTED.json PCPANALYZE.json   exit 0 equal, 1 with a line per
difference."""
import json
import sys


def main(exp_path, got_path):
    e = json.load(open(exp_path))
    g = json.load(open(got_path))
    el, gl = e["lock_cause"], g.get("lock_cause")
    bad = []
    if gl is None:
        print("pcpanalyze has no lock_cause member")
        return 1
    for k in el:
        if el[k] != gl.get(k):
            if isinstance(el[k], list):
                for i, (a, b) in enumerate(zip(el[k], gl.get(k) or [])):
                    if a != b:
                        bad.append("%s[%d]: expected %s, pcpanalyze %s" % (k, i, a, b))
                        break
                else:
                    bad.append("%s: expected %d rows, pcpanalyze %d" % (k, len(el[k]), len(gl.get(k) or [])))
            else:
                bad.append("%s: expected %s, pcpanalyze %s" % (k, el[k], gl.get(k)))
    for name, v in e["metrics"].items():
        got = g["metrics"].get(name, {}).get("value", "absent")
        if v is None or got is None or got == "absent":
            if v != got:
                bad.append("metric %s: expected %s, pcpanalyze %s" % (name, v, got))
        elif abs(v - got) > 1e-9 * max(1.0, abs(v)):
            bad.append("metric %s: expected %r, pcpanalyze %r" % (name, v, got))
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
