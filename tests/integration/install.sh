#!/usr/bin/env bash
# `cmake --install BUILD --prefix TMP` (issue 10): the installed tree holds exactly the tools,
# both libraries with their .so links, the header, pcptrace.pc, the man pages, schema.sql and the
# docs; the .so exports exactly the PCP_API functions; a tiny program builds with
# `pkg-config --cflags --libs pcptrace` (shared) and `--static` and prints the right values; the
# installed pcpanalyze gives the build's JSON on a fixture.
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
version=$(sed -n 's/^project(pcptrace VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
{
	for t in "$SRC"/tools/*.c; do t=${t##*/}; echo "bin/${t%.c}"; done
	echo include/pcptrace.h
	echo lib/libpcptrace.a
	echo lib/libpcptrace.so
	echo lib/libpcptrace.so.0
	echo "lib/libpcptrace.so.$version"
	echo lib/pkgconfig/pcptrace.pc
	for m in "$SRC"/man/*.1; do echo "share/man/man1/${m##*/}"; done
	for m in "$SRC"/man/man3/*.3; do [ -e "$m" ] && echo "share/man/man3/${m##*/}"; done
	echo share/doc/pcptrace/METRICS.md
	echo share/doc/pcptrace/README.md
	echo share/pcptrace/schema.sql
} | sort >"$WORK/expected.list"
(cd "$P" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort) >"$WORK/installed.list"
diff "$WORK/expected.list" "$WORK/installed.list" >"$WORK/list.diff" ||
	fail "installed tree differs from the expected (< missing, > extra): $(cat "$WORK/list.diff")"
[ "$(readlink "$P/lib/libpcptrace.so")" = libpcptrace.so.0 ] || fail "libpcptrace.so -> $(readlink "$P/lib/libpcptrace.so")"
[ "$(readlink "$P/lib/libpcptrace.so.0")" = "libpcptrace.so.$version" ] || fail "libpcptrace.so.0 -> $(readlink "$P/lib/libpcptrace.so.0")"
readelf -d "$P/lib/libpcptrace.so.$version" | grep -q 'SONAME.*\[libpcptrace\.so\.0\]' || fail "SONAME is not libpcptrace.so.0"
cmp -s "$SRC/include/pcptrace.h" "$P/include/pcptrace.h" || fail "installed pcptrace.h differs from the source's"
pkg_check_exports "$P/lib/libpcptrace.so" "$P/include/pcptrace.h"

# The tiny program, both ways, against the installed tree only.
export PKG_CONFIG_PATH=$P/lib/pkgconfig
[ "$(pkg-config --modversion pcptrace)" = "$version" ] || fail "pkg-config --modversion pcptrace: $(pkg-config --modversion pcptrace)"
pkg_write_program "$WORK/hello.c"
read -ra sanitize <<<"$(pkg_sanitize_flags "$BUILD")"
pkg_build_dynamic "$WORK/hello_dynamic" "$WORK/hello.c" "${sanitize[@]}"
pkg_build_static "$WORK/hello_static" "$WORK/hello.c" "${sanitize[@]}"
LD_LIBRARY_PATH=$P/lib ldd "$WORK/hello_dynamic" | grep -qF "libpcptrace.so.0 => $P/lib/libpcptrace.so.0" ||
	fail "hello_dynamic does not load the installed libpcptrace.so.0"
LD_LIBRARY_PATH=$P/lib pkg_check_program "$WORK/hello_dynamic"
(unset LD_LIBRARY_PATH; pkg_check_program "$WORK/hello_static") || exit 1

# The installed tools link libpcptrace statically: no LD_LIBRARY_PATH needed.
! readelf -d "$P/bin/pcpanalyze" | grep -q 'NEEDED.*libpcptrace' || fail "installed pcpanalyze needs libpcptrace.so"
env -u LD_LIBRARY_PATH "$P/bin/pcpanalyze" -V | grep -qF "$version" || fail "installed pcpanalyze -V does not say $version"
pkg_check_same_json "$P/bin/pcpanalyze" "$BUILD/pcpanalyze" "$SRC/tests/fixtures/fallback-basic.dat" "$WORK"
echo "PASS: install tree ($(wc -l <"$WORK/installed.list") files), exports, pkg-config shared and static, pcpanalyze JSON"
