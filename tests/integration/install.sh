#!/usr/bin/env bash
# `cmake --install BUILD --prefix TMP` (issue 10): the installed tree holds exactly the tools,
# both libraries with their .so links, the header, pcptrace.pc, the man pages, schema.sql and the
# docs; the .so exports exactly the PCP_API functions; a tiny program builds with
# `pkg-config --cflags --libs pcptrace` (shared) and `--static` and prints the right values; the
# installed pcpanalyze gives the build's JSON on a fixture.
# ctest: RESOURCE_LOCK system_pcptrace   (deb.sh with PCP_DEB_INSTALL=1 has pcptrace in /usr for a while)
set -u
BUILD=$(cd "${1:?usage: install.sh BUILD_DIR}" && pwd)
SRC=${PCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

fail() { echo "FAIL: $*"; exit 1; }
# shellcheck source=tests/integration/package_common.bash
. "$SRC/tests/integration/package_common.bash"
for tool in cc pkg-config nm readelf python3; do
	command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
P=$WORK/prefix
cmake --install "$BUILD" --prefix "$P" >"$WORK/install.log" 2>&1 || fail "cmake --install: $(tail -3 "$WORK/install.log")"

# Exactly these files; tools and man pages are the ones of the source tree.
version=$(pkg_project_version)
pkg_expected_files "$version" >"$WORK/expected.list"
(cd "$P" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort) >"$WORK/installed.list"
diff "$WORK/expected.list" "$WORK/installed.list" >"$WORK/list.diff" ||
	fail "installed tree differs from the expected (< missing, > extra): $(cat "$WORK/list.diff")"
[ "$(readlink "$P/lib/libpcptrace.so")" = libpcptrace.so.0 ] || fail "libpcptrace.so -> $(readlink "$P/lib/libpcptrace.so")"
[ "$(readlink "$P/lib/libpcptrace.so.0")" = "libpcptrace.so.$version" ] || fail "libpcptrace.so.0 -> $(readlink "$P/lib/libpcptrace.so.0")"
readelf -d "$P/lib/libpcptrace.so.$version" | grep -q 'SONAME.*\[libpcptrace\.so\.0\]' || fail "SONAME is not libpcptrace.so.0"
cmp -s "$SRC/include/pcptrace.h" "$P/include/pcptrace.h" || fail "installed pcptrace.h differs from the source's"
pkg_check_exports "$P/lib/libpcptrace.so" "$P/include/pcptrace.h"

# The tiny program, both ways, against the installed tree only.
pkg_check_tiny_program "$P/lib" "$BUILD" "$WORK"

# The installed tools link libpcptrace statically: no LD_LIBRARY_PATH needed.
! readelf -d "$P/bin/pcpanalyze" | grep -q 'NEEDED.*libpcptrace' || fail "installed pcpanalyze needs libpcptrace.so"
env -u LD_LIBRARY_PATH "$P/bin/pcpanalyze" -V | grep -qF "$version" || fail "installed pcpanalyze -V does not say $version"
pkg_check_same_json "$P/bin/pcpanalyze" "$BUILD/pcpanalyze" "$SRC/tests/fixtures/fallback-basic.dat" "$WORK"
echo "PASS: install tree ($(wc -l <"$WORK/installed.list") files), exports, pkg-config shared and static, pcpanalyze JSON"
