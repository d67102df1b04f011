#!/usr/bin/env bash
# The Debian package (issue 10): `cpack -G DEB` builds pcptrace_VERSION_ARCH.deb; its control
# fields (name, version, section, Depends computed by dpkg-shlibdeps) and its file list are
# checked; it is unpacked into a temporary root (dpkg-deb -x: this machine's /usr is not touched)
# and the unpacked pcpanalyze, library, header and pcptrace.pc are used from there.
# With PCP_DEB_INSTALL=1 (CI, a fresh machine; normal builds only) it is also installed for real
# with apt-get, used from /usr, and purged again (no "config-files" state left in dpkg).
# ctest: COST 45   (seconds, about: long tests start first under ctest -j)
# ctest: RESOURCE_LOCK system_pcptrace   (deb.sh with PCP_DEB_INSTALL=1 has pcptrace in /usr for a while)
set -u
BUILD=$(cd "${1:?usage: deb.sh BUILD_DIR}" && pwd)
SRC=${PCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
FIXTURE=$SRC/tests/fixtures/fallback-basic.dat

fail() { echo "FAIL: $*"; exit 1; }
# shellcheck source=tests/integration/package_common.bash
. "$SRC/tests/integration/package_common.bash"
for tool in cpack dpkg dpkg-deb dpkg-shlibdeps cc pkg-config nm readelf python3; do
	command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
version=$(pkg_project_version)
arch=$(dpkg --print-architecture)

# Build it (into WORK, not the build directory).
cpack -G DEB -B "$WORK/pkg" --config "$BUILD/CPackConfig.cmake" >"$WORK/cpack.log" 2>&1 ||
	fail "cpack -G DEB: $(tail -5 "$WORK/cpack.log")"
DEB=$WORK/pkg/pcptrace_${version}_$arch.deb
[ -f "$DEB" ] || fail "cpack made no $(basename "$DEB"): $(ls "$WORK/pkg")"

# Control fields.
field() { dpkg-deb -f "$DEB" "$1"; }
[ "$(field Package)" = pcptrace ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), expected $version"
[ "$(field Section)" = devel ] || fail "Section: $(field Section)"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
[[ $(field Maintainer) == *@* ]] || fail "Maintainer: $(field Maintainer)"
depends=$(field Depends)
# One runtime package per library the tools and libpcptrace.so load (dpkg-shlibdeps).
for dep in libc6 'libtracecmd[0-9]+' 'libtraceevent[0-9]+' 'libtracefs[0-9]+' libsqlite3-0 \
	'libjansson[0-9]+' 'libzstd[0-9]+' zlib1g; do
	grep -qE "(^|, )$dep( \(|,|$)" <<<"$depends" || fail "Depends lacks $dep: $depends"
done
dpkg-deb -I "$DEB" | grep -qE '^ +[0-9]+ bytes, +[0-9]+ lines +\* +postinst' || fail "no postinst (ldconfig)"

# Files: the install tree under /usr, nothing else.
dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./usr/||' | sort >"$WORK/deb.list"
pkg_expected_files "$version" >"$WORK/expected.list"
diff "$WORK/expected.list" "$WORK/deb.list" >"$WORK/list.diff" ||
	fail "the .deb's files differ from the expected (< missing, > extra): $(cat "$WORK/list.diff")"

# Unpacked into a temporary root: the tools, the library and pcptrace.pc work from there.
R=$WORK/root
dpkg-deb -x "$DEB" "$R" || fail "dpkg-deb -x"
"$R/usr/bin/pcpanalyze" -V | grep -qF "$version" || fail "unpacked pcpanalyze -V does not say $version"
pkg_check_same_json "$R/usr/bin/pcpanalyze" "$BUILD/pcpanalyze" "$FIXTURE" "$WORK"
pkg_check_exports "$R/usr/lib/libpcptrace.so" "$R/usr/include/pcptrace.h"
pkg_check_tiny_program "$R/usr/lib" "$BUILD" "$WORK"
echo "deb: $(basename "$DEB"): control, $(wc -l <"$WORK/deb.list") files, unpacked tools and library: ok"

if [ "${PCP_DEB_INSTALL:-0}" != 1 ]; then
	echo "PASS (set PCP_DEB_INSTALL=1 to install it with apt-get too: CI does, on a fresh machine)"
	exit 0
fi
if [ -n "$(pkg_sanitize_flags "$BUILD")" ]; then
	echo "PASS (PCP_DEB_INSTALL: a sanitizer build's package is not installed; the normal build's is)"
	exit 0
fi

# PCP_DEB_INSTALL=1: for real, into /usr. Never over something that is already there.
dpkg-query -W -f='${Status}' pcptrace 2>/dev/null | grep -q 'ok installed' &&
	fail "pcptrace is already installed on this machine: not installing over it"
[ -e /usr/bin/pcpanalyze ] && fail "/usr/bin/pcpanalyze exists already: not installing over it"
installed=0
remove_pkg() { [ $installed = 1 ] && DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq pcptrace >/dev/null 2>&1; }
trap 'remove_pkg; rm -rf "$WORK"' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$DEB" >"$WORK/apt.log" 2>&1 ||
	fail "apt-get install $DEB: $(tail -5 "$WORK/apt.log")"
installed=1
dpkg-query -W -f='${Status}' pcptrace | grep -q 'ok installed' || fail "pcptrace is not installed after apt-get"
/usr/bin/pcpanalyze -V | grep -qF "$version" || fail "/usr/bin/pcpanalyze -V does not say $version"
pkg_check_same_json /usr/bin/pcpanalyze "$BUILD/pcpanalyze" "$FIXTURE" "$WORK"
(
	unset PKG_CONFIG_PATH LD_LIBRARY_PATH
	mkdir -p "$WORK/sys"
	pkg_write_program "$WORK/sys/hello.c"
	pkg_build_dynamic "$WORK/sys/hello_dynamic" "$WORK/sys/hello.c"
	# /lib is /usr/lib (merged /usr): ld.so's cache may name either.
	ldd "$WORK/sys/hello_dynamic" | grep -qE 'libpcptrace\.so\.0 => (/usr)?/lib/libpcptrace\.so\.0' ||
		fail "hello_dynamic does not load /usr/lib/libpcptrace.so.0: $(ldd "$WORK/sys/hello_dynamic")"
	pkg_check_program "$WORK/sys/hello_dynamic"
	pkg_build_static "$WORK/sys/hello_static" "$WORK/sys/hello.c"
	pkg_check_program "$WORK/sys/hello_static"
) || exit 1
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq pcptrace >"$WORK/apt.log" 2>&1 ||
	fail "apt-get purge pcptrace: $(tail -5 "$WORK/apt.log")"
installed=0
[ ! -e /usr/bin/pcpanalyze ] && [ ! -e /usr/lib/libpcptrace.so.0 ] || fail "files left after apt-get purge"
! dpkg-query -W -f='${Status}' pcptrace 2>/dev/null | grep -q config-files || fail "dpkg keeps pcptrace in config-files state after purge"
echo "PASS (installed with apt-get, used from /usr, purged)"
