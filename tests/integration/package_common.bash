# Shared by install.sh and deb.sh (sourced, not a test): a tiny program built against an
# installed libpcptrace through pkg-config, dynamically and statically, and the checks of what a
# library and a pcpanalyze from an installed tree do. Needs fail() from the sourcing script.

# The expected answers come from elsewhere than the library: the version from project() in
# CMakeLists.txt, the message and exit status from pcptrace.h's comment and pcpanalyze(1).
pkg_project_version() { sed -n 's/^project(pcptrace VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt"; }

pkg_expected_output() {
	printf 'version %s\ntruncated: file is truncated, exit 6\n' "$(pkg_project_version)"
}

# pkg_expected_files VERSION: the files and links an install holds, relative to the prefix,
# sorted; the tools and man pages are the ones of the source tree.
pkg_expected_files() {
	local t m
	{
		for t in "$SRC"/tools/*.c; do t=${t##*/}; echo "bin/${t%.c}"; done
		echo include/pcptrace.h
		echo lib/libpcptrace.a
		echo lib/libpcptrace.so
		echo lib/libpcptrace.so.0
		echo "lib/libpcptrace.so.$1"
		echo lib/pkgconfig/pcptrace.pc
		for m in "$SRC"/man/*.1; do echo "share/man/man1/${m##*/}"; done
		for m in "$SRC"/man/man3/*.3; do [ -e "$m" ] && echo "share/man/man3/${m##*/}"; done
		echo share/doc/pcptrace/METRICS.md
		echo share/doc/pcptrace/README.md
		echo share/pcptrace/schema.sql
	} | sort
}

# A sanitizer build's library needs the program built with the same runtime.
pkg_sanitize_flags() { # BUILD
	grep -q '^PCP_SANITIZE:BOOL=ON' "$1/CMakeCache.txt" && echo "-fsanitize=address,undefined"
}

pkg_write_program() { # FILE.c
	cat >"$1" <<'C'
#include <stdio.h>
#include <pcptrace.h>

int main(void)
{
	printf("version %s\n", pcp_version());
	printf("truncated: %s, exit %d\n", pcp_strerror(PCP_ERR_TRUNCATED),
	       pcp_exit_code(PCP_ERR_TRUNCATED));
	return 0;
}
C
}

# pkg_build_dynamic OUT PROG.c [CFLAGS...]: with `pkg-config --cflags --libs pcptrace` (the .so).
pkg_build_dynamic() {
	local out=$1 prog=$2 flags
	shift 2
	flags=$(pkg-config --cflags --libs pcptrace) || fail "pkg-config --cflags --libs pcptrace"
	# shellcheck disable=SC2086
	cc "$@" -o "$out" "$prog" $flags || fail "building $prog against the shared library: cc $* $flags"
	readelf -d "$out" | grep -q 'NEEDED.*\[libpcptrace\.so\.0\]' || fail "$out does not need libpcptrace.so.0"
}

# pkg_build_static OUT PROG.c [CFLAGS...]: with `pkg-config --static`. The whole archive is
# linked, so every symbol any object of libpcptrace.a needs must come from the libraries that
# pcptrace.pc names (Requires.private, Libs.private): that is what is checked here.
pkg_build_static() {
	local out=$1 prog=$2 cflags libs
	shift 2
	cflags=$(pkg-config --cflags pcptrace) || fail "pkg-config --cflags pcptrace"
	libs=$(pkg-config --static --libs pcptrace) || fail "pkg-config --static --libs pcptrace"
	[[ $libs == *-lpcptrace* ]] || fail "pkg-config --static --libs has no -lpcptrace: $libs"
	libs=${libs/-lpcptrace/-Wl,--whole-archive -l:libpcptrace.a -Wl,--no-whole-archive}
	# shellcheck disable=SC2086
	cc "$@" -o "$out" "$prog" $cflags $libs || fail "building $prog against the static library: cc $* $cflags $libs"
	! readelf -d "$out" | grep -q 'NEEDED.*libpcptrace' || fail "$out needs libpcptrace.so although linked statically"
}

pkg_check_program() { # BINARY (run in the caller's environment)
	local got
	got=$("$1") || fail "$1 exited $?"
	[ "$got" = "$(pkg_expected_output)" ] || fail "$1 printed '$got', expected '$(pkg_expected_output)'"
}

# pkg_check_tiny_program LIBDIR BUILD WORK: the tiny program built through LIBDIR/pkgconfig
# shared (run with LIBDIR's libpcptrace.so.0) and static (run with no library path).
pkg_check_tiny_program() {
	local libdir=$1 build=$2 work=$3 sanitize
	(
		export PKG_CONFIG_PATH=$libdir/pkgconfig
		[ "$(pkg-config --modversion pcptrace)" = "$(pkg_project_version)" ] ||
			fail "pkg-config --modversion pcptrace: $(pkg-config --modversion pcptrace)"
		pkg_write_program "$work/hello.c"
		read -ra sanitize <<<"$(pkg_sanitize_flags "$build")"
		pkg_build_dynamic "$work/hello_dynamic" "$work/hello.c" "${sanitize[@]}"
		pkg_build_static "$work/hello_static" "$work/hello.c" "${sanitize[@]}"
		LD_LIBRARY_PATH=$libdir ldd "$work/hello_dynamic" |
			grep -qF "libpcptrace.so.0 => $libdir/libpcptrace.so.0" ||
			fail "hello_dynamic does not load $libdir/libpcptrace.so.0"
		LD_LIBRARY_PATH=$libdir pkg_check_program "$work/hello_dynamic"
		unset LD_LIBRARY_PATH
		pkg_check_program "$work/hello_static"
	) || exit 1
}

# The shared library exports exactly the functions its header marks PCP_API.
pkg_check_exports() { # LIBPCPTRACE.so PCPTRACE.h
	local exported declared
	exported=$(nm -D --defined-only "$1" | awk '{print $3}' | sort) || fail "nm -D $1"
	declared=$(python3 - "$2" <<'PY'
import re, sys
text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", open(sys.argv[1]).read(), flags=re.S)
text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
for name in sorted(set(re.findall(r"\bPCP_API\b[^;{(]*?\b(\w+)\s*\(", text))):
    print(name)
PY
) || fail "reading the PCP_API declarations of $2"
	[ -n "$declared" ] || fail "no PCP_API function in $2"
	[ "$exported" = "$declared" ] || fail "$1 exports:
$exported
but $2 declares PCP_API:
$declared"
}

# pkg_check_same_json INSTALLED_PCPANALYZE BUILD_PCPANALYZE FIXTURE WORKDIR: same JSON.
pkg_check_same_json() {
	local inst=$1 built=$2 fixture=$3 work=$4 name
	cp "$fixture" "$work/fixture.dat" || fail "copying $fixture"
	for name in inst built; do
		local tool=$inst
		[ $name = built ] && tool=$built
		"$tool" -q -o "$work/$name.db" --json "$work/$name.json" "$work/fixture.dat" >/dev/null ||
			fail "$tool on $fixture exited $?"
		sed 's/"analyzed_at": *"[^"]*"/"analyzed_at": "T"/' "$work/$name.json" >"$work/$name.norm.json"
	done
	grep -q '"pairs"' "$work/inst.norm.json" || fail "no pairs metric in the installed pcpanalyze's JSON"
	cmp -s "$work/inst.norm.json" "$work/built.norm.json" ||
		fail "the installed pcpanalyze's JSON differs from the build's: $(diff "$work/inst.norm.json" "$work/built.norm.json" | head -5)"
}
