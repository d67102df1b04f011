#!/bin/bash
# Every exported function is documented (as libtracefs checks its own): each PCP_API function of
# include/pcptrace.h, and each function the build's shared library exports (nm -D, where the
# build has libpcptrace.so), must be named in the NAME section of a man/man3 page and have a
# kernel-doc comment ("/**" then " * name - summary") in the header.
set -u
build=$(cd "${1:?build dir}" && pwd) || exit 1
src=${PCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
header=$src/include/pcptrace.h
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Names in the NAME sections of the section-3 pages (".so" pages name their target's functions).
documented=$(for page in "$src"/man/man3/*.3; do
	awk '/^\.SH NAME/ { on = 1; next } /^\.SH / { on = 0 } on' "$page"
done | sed 's/\\-.*//' | tr ', ' '\n\n' | grep -E '^[a-z_0-9]+$' | sort -u)

# PCP_API declarations: the name before the "(" on the declaration's first line.
declared=$(grep -E '^PCP_API ' "$header" | sed -E 's/^PCP_API [^(]*[ *]([a-z_0-9]+)\(.*/\1/' | sort -u)
[ -n "$declared" ] || fail "no PCP_API declaration found in $header"

exported=
if [ -e "$build/libpcptrace.so" ]; then
	command -v nm >/dev/null || { echo "SKIP: nm not installed"; exit 77; }
	exported=$(nm -D --defined-only "$build/libpcptrace.so" | awk '$2 == "T" { print $3 }' | sort -u)
	for f in $exported; do
		grep -qx "$f" <<<"$declared" || fail "$f is exported by libpcptrace.so but not declared PCP_API in pcptrace.h"
	done
else
	echo "note: no $build/libpcptrace.so: only the header's declarations are checked"
fi

n=0
for f in $(printf '%s\n' $declared $exported | sort -u); do
	n=$((n + 1))
	grep -qx "$f" <<<"$documented" || fail "$f is not in the NAME section of any man/man3 page"
	grep -qE "^ \* $f - " "$header" || fail "$f has no kernel-doc comment (\" * $f - summary\") in pcptrace.h"
done
[ "$failures" = 0 ] && echo "ok   $n exported functions documented (man/man3 NAME, kernel-doc)" && exit 0
exit 1
