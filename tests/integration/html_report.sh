#!/bin/bash
# HTML reports (issue 13) in a real browser: `pcpanalyze --html` and `pcpanalyze report --html`
# draw the same page from the same database; html_check.py checks it against the database
# (well-formed XML, self-contained, every plot, bars = histogram rows, per-CPU totals = SQLite's
# sums; 2 CPUs: lines, 16 CPUs: CPU x time heatmaps; zone->lock over time: one line per zone and
# kind, or the 6 busiest + "other" with 9 zones); headless Chromium renders the reports and
# the compare page with no console message and every plot drawn (its DOM after the page's own
# check), and writes screenshots into the build folder: html_report.png (the README's picture:
# `chromium --headless --screenshot=... --window-size=960,1500`) and html_compare.png.
# Skips (77) only the browser part when chromium is missing.
set -u
build=$(cd "${1:?build dir}" && pwd) || exit 1
src=${PCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
pcpanalyze=$build/pcpanalyze
check=$src/tests/integration/html_check.py
fixture=$src/tests/fixtures/lab-2node-lifecycle.dat
[ -x "$pcpanalyze" ] || { echo "no $pcpanalyze"; exit 1; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
[ -r "$fixture.xz" ] || { echo "SKIP: no $fixture.xz"; exit 77; }

tmp=$(mktemp -d /tmp/pcp_html.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

xz -dc "$fixture.xz" >T.dat && cp "$fixture.meta.json" T.dat.meta.json || exit 1
"$pcpanalyze" -q --html report.html -o r.db T.dat || fail "pcpanalyze --html"
"$pcpanalyze" report --html again.html r.db || fail "pcpanalyze report --html"
cmp -s report.html again.html || fail "pcpanalyze --html and report --html draw different pages"
plots=$(python3 "$check" report.html r.db) || fail "report.html against r.db: $plots"
echo "lifecycle fixture: $(echo "$plots" | tail -1) (drawn plots, figures); $(echo "$plots" | grep '^zone-lock-timeline')"

# Native locks on 9 zones of 3 nodes (18 zone x kind rows): the per-zone plot over time draws the
# 6 busiest and "other" (html_check.py: lines, points, sums against zone_lock_timeline).
python3 "$src/bench/zonelock_synth.py" 200000 3 3 4 >zones.synth
"$build/pcpsynth" -q -u -o zones.dat --formats "$src/tests/fixtures/formats" zones.synth || fail "pcpsynth (zones)"
"$pcpanalyze" -q --html zones.html -o zones.db zones.dat || fail "pcpanalyze --html (zones)"
zone_plots=$(python3 "$check" zones.html zones.db) || fail "zones.html against zones.db: $zone_plots"
echo "$zone_plots" | grep -q '^zone-lock-timeline: 7 lines x [0-9]* points (18 zone x kind rows)' ||
	fail "zones: $zone_plots"
grep -q 'data-name="other"' zones.html || fail "zones: no \"other\" line"
# A database from before zone_lock_timeline (still schema version 2) draws with a note, alone
# or merged with a newer one.
cp r.db old.db && sqlite3 old.db "DROP TABLE zone_lock_timeline" || fail "old.db"
"$pcpanalyze" report --html old.html old.db || fail "report of a database without zone_lock_timeline"
grep -q 'No plot: the results database has no zone_lock_timeline' old.html || fail "old.db: no note"
"$pcpanalyze" merge -o oldnew.db old.db zones.db && "$pcpanalyze" report --html oldnew.html --run 1 oldnew.db ||
	fail "merge/report of old + new"
grep -q 'No plot: zone_lock_timeline has no row of this run' oldnew.html || fail "merged old run: no note"

# 16 CPUs: per-CPU plots become heatmaps.
python3 - >many.synth <<'EOF'
ncpu = 16
print(f"cpus {ncpu}\ncomm 1200 pcpload")
ts = 1_000_000_000
for i in range(3000):
    pfn, cpu = 0x100000 + (i * 7919) % 4096, (i * 5) % ncpu
    ts += 700_000
    print(f"{ts} {cpu} kmem:mm_page_alloc_zone_locked common_pid=1200 pfn={pfn} order=0 migratetype=1 percpu_refill=1")
    print(f"{ts + 300_000} {(cpu + (i >> 3) % 3) % ncpu} kmem:mm_page_pcpu_drain common_pid=1200 pfn={pfn} order=0 migratetype=1")
EOF
"$build/pcpsynth" -q -u -o many.dat --formats "$src/tests/fixtures/formats" many.synth || fail pcpsynth
"$pcpanalyze" -q --html many.html -o many.db many.dat || fail "pcpanalyze --html (16 CPUs)"
many_plots=$(python3 "$check" many.html many.db) || fail "many.html against many.db: $many_plots"
grep -q 'class="cell"' many.html || fail "16 CPUs: no heatmap"
grep -q 'Fallback refills' many.html || fail "fallback refills not warned about"

# Errors: one line naming the file; nothing written.
"$pcpanalyze" report --html x.html T.dat 2>err.txt
rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <err.txt)" = 1 ] && grep -q 'T.dat: a trace.dat' err.txt ||
	fail "report of a trace.dat: exit $rc, $(cat err.txt)"
"$pcpanalyze" report --html r.db r.db 2>err.txt && fail "report over its input accepted"
"$pcpanalyze" report --html nodir/x.html r.db 2>err.txt
rc=$?
[ "$rc" = 74 ] && [ "$(wc -l <err.txt)" = 1 ] && grep -q 'nodir/x.html' err.txt ||
	fail "report into a missing directory: exit $rc, $(cat err.txt)"
[ -e x.html ] && fail "x.html written after an error"
ls -A | grep -q '^\..*\.[A-Za-z0-9]\{6\}$' && fail "temporary file left: $(ls -A)"

# compare --html: regressions first, coloured.
"$pcpanalyze" compare -q --allow-mode-mismatch --html compare.html r.db many.db
[ $? -le 1 ] || fail "compare --html"
python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' compare.html ||
	fail "compare.html is not well-formed"
rows=$(grep -o 'data-verdict="[a-z/]*"' compare.html | sed 's/.*="//; s/"//' | tr '\n' ' ')
case "$rows" in
*regression*same*regression* | *same*worse* | *better*regression*) fail "compare rows not regressions first: $rows" ;;
esac

chromium=$(command -v chromium || command -v chromium-browser) ||
	{ echo "SKIP: chromium not installed (the browser part)"; [ "$failures" = 0 ] && exit 77; exit 1; }
# Headless, no sandbox (root in CI), no GPU; console messages go to stderr (--enable-logging).
browse() { # FILE.html OUT.dom [extra args]
	local page=$1 dom=$2
	shift 2
	timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--no-first-run --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0 \
		"$@" "file://$tmp/$page" >"$dom" 2>"$dom.err"
}
for page in report.html many.html zones.html compare.html; do
	browse "$page" "$page.dom" --dump-dom || { fail "chromium $page: $(tail -3 "$page.dom.err")"; continue; }
	grep -E 'CONSOLE|Uncaught' "$page.dom.err" && fail "$page: console messages"
done
want=$(echo "$plots" | tail -1 | awk '{print $1 "/" $2}')
grep -q "data-rendered=\"$want\"" report.html.dom || fail "report: the page's check says $(grep -o 'data-rendered="[^"]*"' report.html.dom), want $want"
want=$(echo "$many_plots" | tail -1 | awk '{print $1 "/" $2}')
grep -q "data-rendered=\"$want\"" many.html.dom || fail "many: $(grep -o 'data-rendered="[^"]*"' many.html.dom), want $want"
want=$(echo "$zone_plots" | tail -1 | awk '{print $1 "/" $2}')
grep -q "data-rendered=\"$want\"" zones.html.dom || fail "zones: $(grep -o 'data-rendered="[^"]*"' zones.html.dom), want $want"
echo "parsed in: $(grep -o 'data-parsed-ms="[0-9]*"' report.html.dom) (report), $(grep -o 'data-parsed-ms="[0-9]*"' many.html.dom) (16 CPUs)"
# Every plot's SVG in the rendered DOM, with its bars.
for id in refill-timeline drain-timeline lock-rate zone-lock-timeline hold-hist round-trip-hist residency-hist pair-matrix occupancy; do
	grep -q "id=\"$id\"><figcaption>.*</figcaption><svg" report.html.dom ||
		python3 - "$id" report.html.dom <<'EOF' || fail "rendered DOM: plot $id without its SVG"
import re, sys
dom = open(sys.argv[2]).read()
m = re.search(r'<figure class="plot" id="%s">(.*?)</figure>' % re.escape(sys.argv[1]), dom, re.S)
sys.exit(0 if m and "<svg" in m.group(1) and ("<rect" in m.group(1) or "<polyline" in m.group(1)) else 1)
EOF
done

browse report.html shot.out --screenshot="$build/html_report.png" --window-size=960,1500 ||
	fail "screenshot: $(tail -3 shot.out.err)"
browse compare.html shot2.out --screenshot="$build/html_compare.png" --window-size=960,1200 ||
	fail "compare screenshot"
for png in "$build/html_report.png" "$build/html_compare.png"; do
	[ "$(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
		[ "$(stat -c %s "$png")" -gt 10000 ] || fail "$png is not a screenshot"
done
echo "screenshots: $build/html_report.png $build/html_compare.png"
[ "$failures" = 0 ] && echo "ok: html reports" && exit 0
exit 1
