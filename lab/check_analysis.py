#!/usr/bin/env python3
"""pcpanalyze on a lab recording against the independent checkers.

usage: check_analysis.py BUILD_DIR TRACE.dat [PCPANALYZE_OPTION...]

Runs BUILD_DIR/pcpanalyze -q -o DB --json J [options] TRACE.dat, requires native mode
(refill_source=native, lock_source=native) unless --refill-source fallback is given,
computes the expected values with tests/expected/pcp_expected.py and percpu_expected.py
over `trace-cmd report` text, and compares the database with tests/expected/compare_db.py.
Exit 0 when everything matches, 1 on a mismatch (one line per problem), 2 on usage.
"""
import json
import os
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPECTED = os.path.join(SRC, "tests", "expected")
sys.path.insert(0, EXPECTED)
import run_cases  # noqa: E402  (checker_options: pcpanalyze options -> checker arguments)
import trace_report  # noqa: E402
import pcp_expected  # noqa: E402
import percpu_expected  # noqa: E402


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    build, dat, opts = argv[1], argv[2], argv[3:]
    analyzer = os.path.join(build, "pcpanalyze")
    want_mode = "native"
    if "--refill-source" in opts[:-1]:
        want_mode = opts[opts.index("--refill-source") + 1]
    tmp = tempfile.mkdtemp(prefix="pcp_lab_check.")
    problems = []
    try:
        db, js = os.path.join(tmp, "run.db"), os.path.join(tmp, "run.json")
        p = subprocess.run([analyzer, "-q", "-o", db, "--json", js] + opts + [dat],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        if p.returncode != 0:
            print("FAIL: pcpanalyze exit %d: %s" % (p.returncode, p.stdout.strip()[-400:]))
            return 1
        with open(js) as f:
            got = json.load(f)["trace"]
        if got.get("refill_source") != want_mode:
            problems.append("refill_source is %s, want %s" % (got.get("refill_source"), want_mode))
        if want_mode == "native" and got.get("lock_source") != "native":
            problems.append("lock_source is %s, want native" % got.get("lock_source"))

        trace = trace_report.load(dat, kallsyms=True)
        # the meta beside the recording is an input of both (zone spans: inferred zones)
        pcp = pcp_expected.analyze(trace, meta=pcp_expected.load_meta(dat),
                                   **run_cases.checker_options(opts))
        percpu = percpu_expected.analyze(trace)
        run_cases.write_json(os.path.join(tmp, "pcp.json"), json.loads(json.dumps(pcp)))
        run_cases.write_json(os.path.join(tmp, "percpu.json"), json.loads(json.dumps(percpu)))
        c = subprocess.run([sys.executable, os.path.join(EXPECTED, "compare_db.py"), db,
                            os.path.join(tmp, "pcp.json"), os.path.join(tmp, "percpu.json")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        if c.returncode != 0:
            problems.append("database differs from the independent computation:\n"
                            + c.stdout.strip())
        pairs = pcp.get("metrics", {}).get("pairs", {})
        print("checked: %s %s(refill %s, zone lock %s, %s events, %s pairs)" % (
            dat, " ".join(opts) + " " if opts else "", got.get("refill_source"),
            got.get("lock_source"), got.get("events_total"),
            pairs.get("value") if isinstance(pairs, dict) else pairs))
    except (RuntimeError, ValueError, OSError, trace_report.ReportError,
            pcp_expected.AnalyzeError) as e:
        problems.append(str(e))
    finally:
        subprocess.run(["rm", "-rf", tmp])
    for pr in problems:
        print("FAIL: %s: %s" % (dat, pr))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
