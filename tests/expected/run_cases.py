#!/usr/bin/env python3
"""Expected-value cases: regenerate the checkers' JSON, or check pcpanalyze against it.

usage: run_cases.py regen BUILD_DIR [CASE...]   write tests/expected/CASE.json and
                                                 CASE.percpu.json from the fixtures
       run_cases.py check BUILD_DIR [CASE...]   1. regenerate in memory and require the
                                                    committed JSON to be identical (not stale)
                                                 2. run BUILD_DIR/pcpanalyze -q -o DB [opts]
                                                    on the fixture and compare_db.py the DB
       run_cases.py check --committed BUILD_DIR [CASE...]
                                                 2. only, against the committed JSON (for a
                                                    second build of the same tree: the checkers
                                                    do not depend on the build, and a `check`
                                                    of the first proved that JSON fresh)
Cases: tests/expected/cases.txt ("name fixture [options]"), plus every
tests/fixtures/native-*.synth not listed there (name = file stem, default options). A .synth
fixture is turned into a trace.dat with BUILD_DIR/pcpsynth (formats from tests/fixtures/formats,
or from the directory a "# formats: DIR" line of the script names, relative to
tests/fixtures: older kernels' formats); a .xz one is decompressed (its
<fixture without .xz>.meta.json goes beside the copy). The meta beside a fixture is an input
of both pcpanalyze and the checker.
Exit 0 when every case passes, 1 otherwise (each failure is one "FAIL: case: why" line).
"""

import glob
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(SRC, "tests", "fixtures")
sys.path.insert(0, HERE)
import trace_report  # noqa: E402
import pcp_expected  # noqa: E402
import percpu_expected  # noqa: E402
import window_filter  # noqa: E402


def load_cases():
    cases = []
    listed = set()
    with open(os.path.join(HERE, "cases.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = shlex.split(line)
            cases.append((parts[0], parts[1], parts[2:]))
            listed.add(parts[1])
    for synth in sorted(glob.glob(os.path.join(FIXTURES, "native-*.synth"))):
        base = os.path.basename(synth)
        if base not in listed:
            cases.append((base[:-len(".synth")], base, []))
    return cases


def checker_options(opts):
    """pcpanalyze-style options -> pcp_expected.analyze keyword arguments."""
    kw = {}
    names = {"--churn-window": "churn_window", "--bucket": "bucket", "--top": "top",
             "--refill-source": "refill_source", "--infer-gap": "infer_gap"}
    it = iter(opts)
    for o in it:
        if o == "--buffer" or o in window_filter.FILTER_OPTIONS:   # applied in expected()
            next(it)
            continue
        if o not in names:
            raise ValueError("unknown option %s in cases.txt" % o)
        v = next(it)
        kw[names[o]] = v if o == "--refill-source" else int(v, 0)
    return kw


def synth_formats(script):
    """The formats directory of a .synth fixture: "# formats: DIR" (relative to tests/fixtures)
    in its header, else tests/fixtures/formats."""
    with open(script) as f:
        for line in f:
            if not line.startswith("#"):
                break
            parts = line[1:].split()
            if len(parts) == 2 and parts[0] == "formats:":
                return os.path.join(FIXTURES, parts[1])
    return os.path.join(FIXTURES, "formats")


def prepare(fixture, build, tmp):
    """A trace.dat path for the fixture (decompressed or synthesized into tmp)."""
    path = os.path.join(FIXTURES, fixture)
    if not os.path.exists(path):
        raise RuntimeError("fixture %s missing" % path)
    if fixture.endswith(".synth"):
        synth = os.path.join(build, "pcpsynth")
        if not os.access(synth, os.X_OK):
            raise RuntimeError("%s not built (needed for %s)" % (synth, fixture))
        out = os.path.join(tmp, fixture[:-len(".synth")] + ".dat")
        p = subprocess.run([synth, "-q", "-o", out, "--formats", synth_formats(path), path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        if p.returncode != 0:
            raise RuntimeError("pcpsynth %s failed: %s" % (fixture, p.stdout.strip()[-300:]))
        return out
    dat = trace_report.materialize(path, tmp)
    meta = meta_path(fixture)
    if dat != path and meta:
        shutil.copyfile(meta, dat + ".meta.json")
    return dat


def meta_path(fixture):
    """The recorder's meta file beside the fixture (without .xz), or None."""
    base = fixture[:-len(".xz")] if fixture.endswith(".xz") else fixture
    path = os.path.join(FIXTURES, base + ".meta.json")
    return path if os.path.exists(path) else None


def expected(name, fixture, opts, dat):
    trace = trace_report.load(dat, kallsyms=True)
    buffer = None
    if "--buffer" in opts:
        buffer = opts[opts.index("--buffer") + 1]
    trace_report.select_buffer(trace, buffer)
    trace.path = fixture  # stable trace_file in the JSON whatever the temp path
    fopts = {o: opts[i + 1] for i, o in enumerate(opts) if o in window_filter.FILTER_OPTIONS}
    window = window_filter.apply(trace, fopts) if fopts else None
    meta = None
    if meta_path(fixture):
        with open(meta_path(fixture)) as f:
            meta = json.load(f)
    pcp = pcp_expected.analyze(trace, meta=meta, **checker_options(opts))
    if window:   # the window and filter as every output records them
        pcp["trace_info"]["filter"] = window_filter.describe(fopts)
        pcp["trace_info"]["window_from_ns"] = str(window.window[0])
        pcp["trace_info"]["window_to_ns"] = None if window.window[1] is None else str(window.window[1])
    percpu = percpu_expected.analyze(trace)
    # through JSON so that the comparison with the committed file is like for like
    return json.loads(json.dumps(pcp)), json.loads(json.dumps(percpu))


def json_paths(name):
    return (os.path.join(HERE, name + ".json"), os.path.join(HERE, name + ".percpu.json"))


def write_json(path, doc):
    trace_report.write_json(doc, path)


def main(argv):
    if len(argv) < 3 or argv[1] not in ("regen", "check"):
        sys.stderr.write(__doc__)
        return 2
    committed_only = argv[1] == "check" and argv[2] == "--committed"
    if committed_only:
        argv = argv[:2] + argv[3:]
        if len(argv) < 3:
            sys.stderr.write(__doc__)
            return 2
    mode, build, only = argv[1], argv[2], set(argv[3:])
    analyzer = os.path.join(build, "pcpanalyze")
    failures = []
    cases = [c for c in load_cases() if not only or c[0] in only]
    if mode == "check" and not os.access(analyzer, os.X_OK):
        failures.append("FAIL: %s not built: nothing to compare the expected values with"
                        % analyzer)
    for name, fixture, opts in cases:
        tmp = tempfile.mkdtemp(prefix="pcp_case.")
        try:
            dat = prepare(fixture, build, tmp)
            jp, jq = json_paths(name)
            if committed_only:
                missing = [p for p in (jp, jq) if not os.path.exists(p)]
                if missing:
                    failures.append("FAIL: %s: %s is missing: run tests/expected/run_cases.py regen"
                                    % (name, os.path.relpath(missing[0], SRC)))
                    continue
                pcp = percpu = None
            else:
                pcp, percpu = expected(name, fixture, opts, dat)
            if mode == "regen":
                write_json(jp, pcp)
                write_json(jq, percpu)
                print("wrote %s, %s" % (os.path.relpath(jp, SRC), os.path.relpath(jq, SRC)))
                continue
            for path, doc in (() if committed_only else ((jp, pcp), (jq, percpu))):
                try:
                    with open(path) as f:
                        committed = json.load(f)
                except OSError:
                    committed = None
                if committed != doc:
                    failures.append("FAIL: %s: %s is %s: run tests/expected/run_cases.py regen"
                                    % (name, os.path.relpath(path, SRC),
                                       "missing" if committed is None else "stale"))
            if not os.access(analyzer, os.X_OK):
                continue
            db = os.path.join(tmp, name + ".db")
            p = subprocess.run([analyzer, "-q", "-o", db] + opts + [dat],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True)
            if p.returncode != 0:
                failures.append("FAIL: %s: pcpanalyze exit %d: %s"
                                % (name, p.returncode, p.stdout.strip()[-500:]))
                continue
            # compare with what was regenerated now (identical to the committed JSON if fresh)
            if committed_only:
                want_pcp, want_percpu = jp, jq
            else:
                want_pcp = os.path.join(tmp, "pcp.json")
                want_percpu = os.path.join(tmp, "percpu.json")
                write_json(want_pcp, pcp)
                write_json(want_percpu, percpu)
            c = subprocess.run([sys.executable, os.path.join(HERE, "compare_db.py"), db,
                                want_pcp, want_percpu],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True)
            out = c.stdout.strip()
            if c.returncode != 0:
                failures.append("FAIL: %s (%s %s):\n%s" % (name, fixture, " ".join(opts), out))
            else:
                print("ok: %s (%s %s)" % (name, fixture, " ".join(opts)))
        except (RuntimeError, ValueError, trace_report.ReportError,
                pcp_expected.AnalyzeError) as e:
            failures.append("FAIL: %s: %s" % (name, e))
        finally:
            subprocess.run(["rm", "-rf", tmp])
    for f in failures:
        print(f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
