# Shared by the tests that collect failures and go on (outputs.sh, merge_traces.sh); sourced,
# not run (ctest runs tests/integration/*.sh only). Sourced in the test's working directory:
# run writes out.txt and err.txt there; the test ends with a non-zero status if $failures > 0.
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# ok WHAT: says WHAT passed if no check failed since the last ok
passed=0
ok() { [ "$failures" = "$passed" ] && echo "ok   $*"; passed=$failures; }

# run WANT_EXIT CMD...: stdout in out.txt, stderr in err.txt
run() {
	local want=$1 rc
	shift
	"$@" >out.txt 2>err.txt
	rc=$?
	[ "$rc" = "$want" ] || { fail "exit $rc, want $want: $* ($(cat err.txt))"; return 1; }
	return 0
}
# one_line WORDS: stderr is one line containing WORDS
one_line() {
	[ "$(wc -l <err.txt)" = 1 ] && grep -qF -- "$1" err.txt ||
		fail "stderr should be one line with '$1': $(cat err.txt)"
}
