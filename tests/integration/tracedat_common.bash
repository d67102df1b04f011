# Shared by the trace.dat format tests (tracedat_v7.sh, tracedat_zlib.sh); sourced, not run
# (ctest runs tests/integration/*.sh only). Expects BUILD set; sets SRC, SYNTH, PCPANALYZE,
# FORMATS and a scratch dir T, skips (77) without the tools, and provides fail / tables.
SRC=${PCP_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SYNTH="$BUILD/pcpsynth"
PCPANALYZE="$BUILD/pcpanalyze"
FORMATS="$SRC/tests/fixtures/formats"

for tool in trace-cmd python3 sqlite3; do
	command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -x "$SYNTH" ] && [ -x "$PCPANALYZE" ] || { echo "FAIL: pcpsynth/pcpanalyze not built in $BUILD"; exit 1; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# Every table's rows, sorted; trace_info without the two keys that name the file and version.
tables() { # db out
	local t
	: > "$2"
	for t in $(sqlite3 "$1" "select name from sqlite_master where type = 'table' order by name"); do
		echo "== $t" >> "$2"
		if [ "$t" = trace_info ]; then
			sqlite3 "$1" "select * from trace_info where key not in ('trace_file', 'file_version') order by 1, 2" >> "$2"
		else
			sqlite3 "$1" "select * from \"$t\"" | LC_ALL=C sort >> "$2"
		fi
	done
}
