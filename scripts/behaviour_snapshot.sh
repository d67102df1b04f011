#!/bin/bash
# Records what the tools of one build do on every fixture, so that a refactoring can be checked
# to change nothing: trace.dat bytes written by pcpsynth (every synth script x every format),
# and pcpanalyze's exit code, stderr, text summary, JSON and database dump for every fixture
# trace, each buffer of the multi-buffer ones, and a compare of two of them.
#   scripts/behaviour_snapshot.sh BUILD OUTDIR     (then: diff -r OUT_BEFORE OUT_AFTER)
# Paths and times that differ between runs (temporary names, analysis time) are normalised.
set -u
build=$(cd "${1:?build dir}" && pwd)
out=${2:?output dir}
src=$(cd "$(dirname "$0")/.." && pwd)
fx=$src/tests/fixtures
rm -rf "$out"; mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/behaviour.XXXXXX)
trap 'rm -rf "$work"' EXIT

normalise() { sed -e "s|$work|WORK|g" -e "s|$src|SRC|g" -e 's/"analyzed_at": *"[^"]*"/"analyzed_at": "T"/' \
	-e "s/'[0-9]\{4\}-[0-9][0-9]-[0-9][0-9][T ][0-9:.]*Z\?'/'T'/g"; }

analyze() { # name trace [args...]
	local name=$1 trace=$2; shift 2
	"$build/pcpanalyze" -o "$work/$name.db" --json "$work/$name.json" "$@" "$trace" \
		>"$work/$name.txt" 2>"$work/$name.err"
	echo "exit $?" >"$out/$name.exit"
	normalise <"$work/$name.err" >"$out/$name.stderr"
	normalise <"$work/$name.txt" >"$out/$name.summary"
	[ -f "$work/$name.json" ] && normalise <"$work/$name.json" >"$out/$name.json"
	[ -f "$work/$name.db" ] && sqlite3 "$work/$name.db" .dump | normalise >"$out/$name.sql"
	rm -f "$work/$name".{db,json,txt,err}
}

# pcpsynth: every script in every format; the bytes themselves are the record.
for s in "$fx"/*.synth; do
	n=$(basename "$s" .synth)
	for f in v6 v7 v7-zstd; do
		"$build/pcpsynth" -q -o "$work/$n.$f.dat" -f "$fx/formats" -F "$f" "$s" \
			>"$work/synth.out" 2>"$work/synth.err"
		echo "exit $?" >>"$work/synth.out"
		normalise <"$work/synth.out" >"$out/synth.$n.$f.stdout"
		normalise <"$work/synth.err" >"$out/synth.$n.$f.stderr"
		[ -f "$work/$n.$f.dat" ] && sha256sum <"$work/$n.$f.dat" >"$out/synth.$n.$f.sha256"
	done
	[ -f "$work/$n.v7.dat" ] && analyze "synth.$n" "$work/$n.v7.dat"
done

# Fixture traces (meta files beside them are used as pcpanalyze finds them).
for t in "$fx"/*.dat "$fx"/*.dat.xz; do
	n=$(basename "$t"); n=${n%.xz}
	case $t in
	*.xz) xz -dkc "$t" >"$work/$n"; [ -f "$t.meta.json" ] || [ ! -f "${t%.xz}.meta.json" ] || cp "${t%.xz}.meta.json" "$work/$n.meta.json" ;;
	*) cp "$t" "$work/$n"; [ -f "$t.meta.json" ] && cp "$t.meta.json" "$work/$n.meta.json" ;;
	esac
	analyze "fixture.$n" "$work/$n"
	for b in top a b other; do analyze "fixture.$n.buffer-$b" "$work/$n" --buffer "$b"; done
done

# compare: two fixture runs against each other (text and JSON verdicts).
for n in lab-1node.dat lab-2node.dat; do
	xz -dkc "$fx/$n.xz" >"$work/c-$n"; cp "$fx/$n.meta.json" "$work/c-$n.meta.json"
done
"$build/pcpanalyze" compare "$work/c-lab-1node.dat" "$work/c-lab-2node.dat" \
	--json "$work/compare.json" --junit "$work/compare.junit" >"$work/compare.txt" 2>"$work/compare.err"
echo "exit $?" >"$out/compare.exit"
for x in txt err json junit; do [ -f "$work/compare.$x" ] && normalise <"$work/compare.$x" >"$out/compare.$x"; done
ls "$out" | wc -l
