#!/bin/bash
# pcprecord --stacks on the live kernel (issue 12). Needs root and tracefs; otherwise skips.
# Asserts only what holds on a busy machine: the triggers are armed (kernel_stack records in
# the trace) and go with the instance on every exit path (normal, command not found, SIGINT);
# a munmap storm shows free_high drains from the workload and page_fault refills; a burst then
# idle shows decay drains (retried: the vmstat worker may be late on a loaded machine); a bad
# --stacks value is a usage error.
# ctest: RESOURCE_LOCK tracefs   (records the live kernel: one such test at a time)
set -u
BUILD=$(cd "${1:?usage: pcprecord_stacks.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/live_common.bash"
live_need_root "not root"
live_need_tracefs "no tracefs instances" "no tracefs instances"
live_need_event kmem/mm_page_pcpu_drain "kernel has no mm_page_pcpu_drain"
grep -q stacktrace $TRACEFS/events/kmem/mm_page_pcpu_drain/trigger 2>/dev/null || skip "no stacktrace trigger"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
R=$BUILD/pcprecord
A=$BUILD/pcpanalyze
W=$SRC/tests/fixtures/stack_workload.py
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

gone() { # pid: our instance must be gone
	[ -e "$TRACEFS/instances/pcprecord-$1" ] && fail "instance pcprecord-$1 left behind"
	return 0
}

# usage errors: nothing armed
"$R" --stacks=3 -o x.dat -- true 2>err; [ $? = 2 ] || fail "--stacks=3 not a usage error"
grep -q 'power of two' err || fail "no reason for --stacks=3"

# command not found after the triggers were armed: exit 127, instance gone
"$R" -q --stacks -o nf.dat -- /nonexistent/cmd 2>/dev/null & pid=$!
wait $pid; rc=$?
[ $rc = 127 ] || fail "command not found: exit $rc"
gone $pid

# SIGINT while recording: instance gone, trace written
"$R" -q --stacks -o int.dat & pid=$!
sleep 1.5; kill -INT $pid; wait $pid
gone $pid
[ -s int.dat ] || fail "no trace after SIGINT"

# munmap storm: workload drains over high and page-fault refills
"$R" -q -b 16384 --stacks -o storm.dat -- python3 "$W" munmap 320 2 & pid=$!
wait $pid || fail "storm recording failed"
gone $pid
"$A" -q -o storm.db storm.dat || fail "pcpanalyze storm.dat failed"
q() { sqlite3 "$1" "$2"; }
[ "$(q storm.db "SELECT value > 0 FROM trace_info WHERE key = 'stack_events'")" = 1 ] || fail "no kernel_stack records"
[ "$(q storm.db "SELECT coalesce(sum(acquisitions), 0) > 0 FROM lock_cause WHERE kind = 'drain' AND cause = 'free_high'")" = 1 ] ||
	fail "munmap storm: no free_high drains"
[ "$(q storm.db "SELECT count(*) > 0 FROM lock_cause_stack WHERE kind = 'drain' AND cause = 'free_high' AND comm = 'python3'")" = 1 ] ||
	fail "munmap storm: no free_high stack of the workload"
[ "$(q storm.db "SELECT coalesce(sum(acquisitions), 0) > 0 FROM lock_cause WHERE kind = 'refill' AND cause = 'page_fault'")" = 1 ] ||
	fail "munmap storm: no page_fault refills"
[ "$(q storm.db "SELECT count(*) FROM zone_lock z WHERE acquisitions != (SELECT coalesce(sum(acquisitions), 0)
	FROM lock_cause c WHERE c.kind = z.kind AND c.nid = z.nid AND c.zid = z.zid)")" = 0 ] ||
	fail "lock_cause does not add up to zone_lock"

# burst then idle: decay
ok=0
for try in 1 2 3; do
	"$R" -q -b 16384 --stacks -o decay.dat -- python3 "$W" decay 256 3 || fail "decay recording failed"
	"$A" -q -o decay.db decay.dat || fail "pcpanalyze decay.dat failed"
	if [ "$(q decay.db "SELECT coalesce(sum(acquisitions), 0) > 0 FROM lock_cause WHERE kind = 'drain' AND cause = 'decay'")" = 1 ]; then
		ok=1; break
	fi
	echo "decay try $try: no decay drain"
done
[ $ok = 1 ] || fail "burst + idle: no decay drains in 3 tries"
echo "PASS"
exit 0
