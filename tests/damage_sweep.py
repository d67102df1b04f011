#!/usr/bin/env python3
"""Damage a user would do to a trace.dat, over every fixture: cuts at many offsets, bytes
flipped and zero runs at offsets spread over the headers (dense) and the CPU data (sparse).
Each damaged copy goes through pcpanalyze; it must end with a documented exit code (never a
signal), within 60 s, with at most one line on stderr (none on success) and, on an error, no
database left behind. Deterministic (fixed random seed), bounded: --per-fixture copies each.

  tests/damage_sweep.py BUILD_DIR [--per-fixture N] [--fixture PATH ...]
"""
import argparse, concurrent.futures, glob, lzma, os, random, shutil, subprocess, sys, tempfile

DOCUMENTED = {0, 4, 5, 6, 7, 8}          # pcpanalyze(1): ok, empty, not a trace, truncated, corrupt, nothing analyzable
SRC = os.environ.get('PCP_SOURCE_DIR') or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def offsets(size, n, rnd):
    """n offsets: half in the first 64 KiB (headers, formats, options), half over the file."""
    head = min(size, 65536)
    out = sorted({rnd.randrange(head) for _ in range(n // 2)} | {rnd.randrange(size) for _ in range(n - n // 2)})
    return out


def variants(data, n, rnd):
    size = len(data)
    kinds = ('cut', 'flip', 'zero', 'ones')
    for i, off in enumerate(offsets(size, n, rnd)):
        kind = kinds[i % len(kinds)]
        if kind == 'cut':
            yield f'cut@{off}', data[:off]
        elif kind == 'flip':
            b = bytearray(data)
            b[off] ^= 1 << rnd.randrange(8)
            yield f'flip@{off}', bytes(b)
        elif kind == 'zero':
            b = bytearray(data)
            n0 = rnd.choice((1, 4, 8, 64, 4096))
            b[off:off + n0] = bytes(len(b[off:off + n0]))
            yield f'zero{n0}@{off}', bytes(b)
        else:
            b = bytearray(data)
            b[off:off + 8] = b'\xff' * len(b[off:off + 8])
            yield f'ff8@{off}', bytes(b)


# Fixtures with several buffers of analyzable events need --buffer (exit 9 otherwise, the right
# answer for the undamaged file too); a damaged copy may then lack that buffer: exit 9 naming it.
BUFFER_FOR = {'buffers-ab.dat': 'pcptrace_a', 'buffers-all.dat': 'pcptrace_b',
              'buffers-top.dat': 'pcptrace_a'}


def load(path):
    if path.endswith('.xz'):
        return lzma.open(path).read()
    return open(path, 'rb').read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build')
    ap.add_argument('--per-fixture', type=int, default=int(os.environ.get('DAMAGE_PER_FIXTURE', '24')))
    ap.add_argument('--fixture', action='append')
    args = ap.parse_args()
    pcpanalyze = os.path.join(args.build, 'pcpanalyze')
    fixtures = args.fixture or sorted(
        p for p in glob.glob(os.path.join(SRC, 'tests/fixtures/*.dat')) + glob.glob(os.path.join(SRC, 'tests/fixtures/*.dat.xz')))
    rnd = random.Random(9)
    tmp = tempfile.mkdtemp(prefix='damage_sweep.')
    failures, runs, codes = [], 0, {}

    def check(slot, name, what, damaged):
        """One damaged copy through pcpanalyze in its own directory: (rc, problem, err)."""
        path = os.path.join(tmp, f'{slot}.in.dat')
        db = os.path.join(tmp, f'{slot}.out.db')
        with open(path, 'wb') as f:
            f.write(damaged)
        try:
            buf = ['--buffer', BUFFER_FOR[name]] if name in BUFFER_FOR else []
            p = subprocess.run([pcpanalyze, '-q', '-o', db] + buf + [path], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
            rc, err = p.returncode, p.stderr.decode(errors='replace')
        except subprocess.TimeoutExpired:
            rc, err = 'timeout', ''
        lines = err.splitlines()
        problem = None
        if rc == 'timeout':
            problem = 'no answer within 60 s'
        elif rc < 0 or rc >= 128:
            problem = f'killed by a signal ({rc})'
        elif rc not in DOCUMENTED and not (rc == 9 and buf and 'buffer' in err):
            # (exit 9 with --buffer: the chosen buffer is gone from the damaged copy)
            problem = f'exit {rc} is not a documented answer to a damaged trace'
        elif len(lines) > (0 if rc == 0 else 1) or (rc and not lines):
            problem = f'stderr has {len(lines)} lines'
        elif rc and os.path.exists(db):
            problem = 'database left behind'
        if problem:
            keep = os.path.join(tmp, '..', f'damage_sweep.{name}.{what}.dat')
            shutil.copy(path, keep)
        for left in (path, db):
            if os.path.exists(left):
                os.unlink(left)
        return rc, problem, err

    # The copies are made in one fixed order (one random generator, deterministic); the
    # pcpanalyze runs are independent, so they run side by side (PCP_DAMAGE_JOBS, default: the
    # CPUs), at most 2 x jobs copies in memory at a time.
    jobs = max(1, int(os.environ.get('PCP_DAMAGE_JOBS', '0') or 0) or os.cpu_count() or 1)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            pending, slot = [], 0
            def collect(wait_all):
                nonlocal runs
                while pending and (wait_all or len(pending) >= 2 * jobs):
                    name, what, fut = pending.pop(0)
                    rc, problem, err = fut.result()
                    runs += 1
                    codes[rc] = codes.get(rc, 0) + 1
                    if problem:
                        failures.append(f'{name} {what}: {problem}: {err.strip()[:300]}')
            for fx in fixtures:
                data = load(fx)
                name = os.path.basename(fx).replace('.xz', '')
                for what, damaged in variants(data, args.per_fixture, rnd):
                    pending.append((name, what, pool.submit(check, slot, name, what, damaged)))
                    slot += 1
                    collect(False)
            collect(True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f'{runs} damaged copies of {len(fixtures)} fixtures; exit codes: ' +
          ', '.join(f'{k}: {v}' for k, v in sorted(codes.items(), key=str)))
    for f in failures:
        print('FAIL:', f)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
