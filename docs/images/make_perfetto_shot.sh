#!/bin/sh
# Makes docs/images/perfetto_timeline.png: the `pcpanalyze --perfetto` timeline of the lab
# fixture tests/fixtures/lab-2node-lifecycle, opened in the Catapult trace viewer (the viewer
# behind chrome://tracing; its trace2html embeds the JSON in one offline HTML page), rendered
# by headless Chromium through playwright-core.  Not part of the test suite; CI needs none of it.
#
# Usage: CATAPULT=/path/to/catapult docs/images/make_perfetto_shot.sh [BUILD_DIR] [OUT.png]
#   CATAPULT  a checkout of the catapult-project/catapult repository (tracing/bin/trace2html)
#   CHROMIUM  the browser (default /usr/bin/chromium)
# Needs python3, node and npm (playwright-core is installed into a temporary directory).
# Why not chrome://tracing itself: Chromium 156 answers ERR_FAILED for it in headless mode.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-$top/build}
out=${2:-$here/perfetto_timeline.png}
: "${CATAPULT:?set CATAPULT to a catapult-project/catapult checkout}"
[ -x "$build/pcpanalyze" ] || { echo "make_perfetto_shot.sh: no $build/pcpanalyze (build first)" >&2; exit 2; }
[ -f "$CATAPULT/tracing/bin/trace2html" ] || { echo "make_perfetto_shot.sh: no tracing/bin/trace2html in $CATAPULT" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$out.part"' EXIT INT TERM
fx=$top/tests/fixtures/lab-2node-lifecycle
xz -dc "$fx.dat.xz" > "$tmp/lab-2node-lifecycle.dat"
cp "$fx.dat.meta.json" "$tmp/lab-2node-lifecycle.dat.meta.json"
"$build/pcpanalyze" --perfetto "$tmp/timeline.json" -o "$tmp/t.db" "$tmp/lab-2node-lifecycle.dat" > /dev/null
python3 "$CATAPULT/tracing/bin/trace2html" --title="pcpanalyze --perfetto: tests/fixtures/lab-2node-lifecycle" \
    --output="$tmp/timeline.html" "$tmp/timeline.json" > /dev/null
(cd "$tmp" && npm install --silent --no-audit --no-fund --prefix "$tmp/npm" playwright-core > /dev/null)
NODE_PATH=$tmp/npm/node_modules node "$here/make_perfetto_shot.js" "$tmp/timeline.html" "$out.part"
mv "$out.part" "$out"
echo "wrote $out ($(wc -c < "$out") bytes)"
