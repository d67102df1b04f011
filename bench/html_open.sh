#!/usr/bin/env bash
# How fast the HTML report of a 10-million-event trace opens (issue 13: "opens in a second").
#   bench/html_open.sh [EVENTS]          (default 10000000; PCP_BENCH_BUILD: build dir, default build)
# 1. A native-mode trace of EVENTS events on 8 CPUs and 4 zones (bench/zonelock_synth.py, pcpsynth):
#    every plot has data, the per-zone zone->lock plot has 8 lines' worth of rows.
# 2. pcpanalyze --html: wall time, report size.
# 3. Headless Chromium opens the report from file:// RUNS times (fresh profile each time):
#    - page side: a copy of the report with one more script at the end of the body, whose load
#      handler forces style and layout of the whole page (getBoundingClientRect of every SVG) and
#      records performance.now() (ms since navigation start) then, and the end of parsing
#      (the report's own data-parsed-ms); read back with --dump-dom;
#    - outside: wall time of `chromium --headless --screenshot` (navigation, parse, layout, paint,
#      PNG) of the report minus that of a one-line page (browser start-up).
# Medians of RUNS (PCP_BENCH_RUNS, default 5). Needs chromium; the machine's load shows in the
# figures (run it on a quiet machine for the README).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${PCP_BENCH_BUILD:-$top/build}
events=${1:-10000000}
runs=${PCP_BENCH_RUNS:-5}
chromium=$(command -v chromium || command -v chromium-browser) || { echo "no chromium" >&2; exit 77; }
work=$(mktemp -d /tmp/pcp_html_open.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

python3 "$top/bench/zonelock_synth.py" "$events" 2 2 8 >t.synth
"$build/pcpsynth" -q -u -o t.dat --formats "$top/tests/fixtures/formats" t.synth
rm -f t.synth
t0=$(date +%s.%N)
"$build/pcpanalyze" -q --html report.html -o r.db t.dat
t1=$(date +%s.%N)
nevents=$(sqlite3 r.db "SELECT value FROM trace_info WHERE key = 'events_total'")
echo "trace: $nevents events, $(du -m t.dat | cut -f1) MB; pcpanalyze --html: $(echo "$t1 - $t0" | bc) s"
echo "report: $(stat -c %s report.html) bytes ($(echo "scale=2; $(stat -c %s report.html) / 1048576" | bc) MiB)," \
	"$(grep -o '<figure class="plot"' report.html | wc -l) figures," \
	"$(grep -o '<rect\|<polyline\|<line\|<text' report.html | wc -l) SVG elements"

# the timed copy: the report's bytes plus one script before </body>
timing_js='<script>window.addEventListener("load",function(){var s=document.querySelectorAll("svg"),h=0;for(var i=0;s.length>i;i++)h+=s[i].getBoundingClientRect().height;document.body.setAttribute("data-load-ms",Math.round(performance.now()));document.body.setAttribute("data-svgs",s.length+"/"+Math.round(h));});</script>'
sed "s#</body>#${timing_js}</body>#" report.html >timed.html
echo '<!DOCTYPE html><html><body><p>x</p></body></html>' >empty.html
sed "s#</body>#${timing_js}</body>#" empty.html >empty-timed.html

browse() { # PAGE [args]: one headless run, fresh profile
	local page=$1
	shift
	rm -rf profile
	timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
		--user-data-dir="$work/profile" "$@" "file://$work/$page" 2>/dev/null
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >parsed; : >loaded; : >shot; : >base; : >eloaded
for ((i = 0; i < runs; i++)); do
	browse empty-timed.html --dump-dom | grep -o 'data-load-ms="[0-9]*"' | grep -o '[0-9]*' >>eloaded
	browse timed.html --dump-dom >dom.html
	grep -o 'data-parsed-ms="[0-9]*"' dom.html | grep -o '[0-9]*' >>parsed
	grep -o 'data-load-ms="[0-9]*"' dom.html | grep -o '[0-9]*' >>loaded
	a=$(date +%s%N); browse report.html --screenshot="$work/r.png" --window-size=960,1500 >/dev/null; b=$(date +%s%N)
	echo $(((b - a) / 1000000)) >>shot
	a=$(date +%s%N); browse empty.html --screenshot="$work/e.png" --window-size=960,1500 >/dev/null; b=$(date +%s%N)
	echo $(((b - a) / 1000000)) >>base
done
echo "plots drawn / figures: $(grep -o 'data-rendered="[^"]*"' dom.html) (the others: no data of that kind)"
echo "chromium, median of $runs: parsed $(median <parsed) ms, loaded + laid out $(median <loaded) ms" \
	"after navigation start ($(grep -o 'data-svgs="[^"]*"' dom.html) svgs/total height px;" \
	"a one-line page: $(median <eloaded) ms);" \
	"screenshot $(median <shot) ms vs $(median <base) ms for a one-line page:" \
	"$(($(median <shot) - $(median <base))) ms more"
