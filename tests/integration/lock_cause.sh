#!/bin/sh
# Lock causes (issue 12) on real pcprecord --stacks recordings (tests/fixtures/stacks-*.dat.xz,
# made by tests/fixtures/record_stack_fixtures.sh; lab-2node-stacks.dat.xz: lab/run --stacks,
# lab-2node-causes.dat.xz: lab/run --stacks --causes, native mode): pcpanalyze's lock_cause member and metrics
# against the independent checker (tests/expected/lock_cause_expected.py: trace-cmd report's
# stack text, the rules table of docs/METRICS.md), with the default and a small --top; each
# workload's cause shows up under its own name; the causes add up to zone_lock.
# ctest: COST 45   (seconds, about: long tests start first under ctest -j)
set -u
BUILD=$(cd "${1:?usage: lock_cause.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
command -v trace-cmd >/dev/null || { echo "SKIP: trace-cmd not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 not installed"; exit 77; }
[ -x "$BUILD/pcpanalyze" ] || { echo "FAIL: pcpanalyze not built in $BUILD"; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }

for name in stacks-munmap stacks-decay stacks-cpu-offline lab-2node-stacks lab-2node-causes; do
	xz -dc "$SRC/tests/fixtures/$name.dat.xz" > "$WORK/$name.dat" || { fail "$name: cannot decompress"; continue; }
	cp "$SRC/tests/fixtures/$name.dat.meta.json" "$WORK/"
	tops="100"
	[ $name = stacks-decay ] && tops="100 2"
	for top in $tops; do
		"$BUILD/pcpanalyze" -q --top $top -o "$WORK/$name.db" --json "$WORK/$name.json" "$WORK/$name.dat" \
			|| { fail "$name: pcpanalyze failed"; continue; }
		python3 "$SRC/tests/expected/lock_cause_expected.py" --top $top "$WORK/$name.dat" \
			-o "$WORK/$name.expected.json" || { fail "$name: checker failed"; continue; }
		python3 "$SRC/tests/expected/compare_lock_cause.py" "$WORK/$name.expected.json" \
			"$WORK/$name.json" || fail "$name --top $top: pcpanalyze and the checker differ"
	done
	# over causes, the acquisitions are zone_lock's
	diff=$(sqlite3 "$WORK/$name.db" "SELECT count(*) FROM zone_lock z WHERE acquisitions !=
		(SELECT coalesce(sum(acquisitions), 0) FROM lock_cause c WHERE c.kind = z.kind AND
		 c.nid = z.nid AND c.zid = z.zid)")
	[ "$diff" = 0 ] || fail "$name: lock_cause does not add up to zone_lock"
	[ $name != stacks-decay ] || [ "$(sqlite3 "$WORK/$name.db" "SELECT count(*) FROM lock_cause_stack WHERE rank >= 2")" = 0 ] ||
		fail "$name: --top 2 kept more than 2 stacks per cause"
done

q() { sqlite3 "$WORK/$1.db" "$2"; }
# a munmap storm: drains over the high mark from the workload's own munmap, refills from its
# page faults
[ "$(q stacks-munmap "SELECT acquisitions > 50 FROM lock_cause WHERE kind = 'drain' AND cause = 'free_high'")" = 1 ] ||
	fail "stacks-munmap: no free_high drains"
q stacks-munmap "SELECT comm || ';' || folded FROM lock_cause_stack WHERE kind = 'drain' AND cause = 'free_high'" |
	grep -q '^python3;.*free_unref_folios;free_frozen_page_commit;free_pcppages_bulk$' ||
	fail "stacks-munmap: no free_high stack from the workload (python3)"
[ "$(q stacks-munmap "SELECT acquisitions > 100 FROM lock_cause WHERE kind = 'refill' AND cause = 'page_fault'")" = 1 ] ||
	fail "stacks-munmap: no page_fault refills"
# a burst, then idle: the vmstat worker's decay of pcp->high drains
[ "$(q stacks-decay "SELECT acquisitions > 0 FROM lock_cause WHERE kind = 'drain' AND cause = 'decay'")" = 1 ] ||
	fail "stacks-decay: no decay drains"
q stacks-decay "SELECT folded FROM lock_cause_stack WHERE cause = 'decay'" |
	grep -q 'vmstat_update;refresh_cpu_vm_stats;decay_pcp_high;free_pcppages_bulk$' || fail "stacks-decay: no decay_pcp_high stack"
# compare: a shift between drain causes is reported (better none: changed)
"$BUILD/pcpanalyze" compare "$WORK/stacks-munmap.db" "$WORK/stacks-decay.db" > "$WORK/cmp" 2>&1
grep -Eq '^drain_cause_decay_share +.* changed$' "$WORK/cmp" || fail "compare does not report the decay share's change"
grep -Eq '^drain_stack_coverage ' "$WORK/cmp" || fail "compare has no drain_stack_coverage row"
# the kernel lab (lab/run --stacks, 6.1 + seed patch, native zone_locked events, 2 nodes): one
# stack per native acquisition, all attributed; munmap drains over the high mark on both nodes,
# page-fault refills, the vmstat worker's drain_zone_pages (6.1's decay)
[ "$(q lab-2node-stacks "SELECT count(*) FROM lock_cause WHERE cause = 'unsampled'")" = 0 ] ||
	fail "lab-2node-stacks: unsampled native acquisitions"
[ "$(q lab-2node-stacks "SELECT count(DISTINCT nid) FROM lock_cause WHERE kind = 'drain' AND cause = 'free_high'")" = 2 ] ||
	fail "lab-2node-stacks: free_high drains not on both nodes"
[ "$(q lab-2node-stacks "SELECT acquisitions > 100 FROM lock_cause WHERE kind = 'refill' AND cause = 'page_fault' AND nid = 0")" = 1 ] ||
	fail "lab-2node-stacks: no page_fault refills"
q lab-2node-stacks "SELECT folded FROM lock_cause_stack WHERE cause = 'decay'" |
	grep -q 'vmstat_update;refresh_cpu_vm_stats;drain_zone_pages;free_pcppages_bulk$' ||
	fail "lab-2node-stacks: no drain_zone_pages stack"
# CPU 1 taken offline on this machine's 6.18 (stack_workload.py offline): the hotplug worker on
# CPU 0 drains CPU 1's lists
[ "$(q stacks-cpu-offline "SELECT acquisitions > 0 FROM lock_cause WHERE kind = 'drain' AND cause = 'cpu_offline'")" = 1 ] ||
	fail "stacks-cpu-offline: no cpu_offline drains"
q stacks-cpu-offline "SELECT folded FROM lock_cause_stack WHERE cause = 'cpu_offline'" |
	grep -q ';_cpu_down.constprop.0;.*;page_alloc_cpu_dead;drain_pages_zone;free_pcppages_bulk$' ||
	fail "stacks-cpu-offline: no page_alloc_cpu_dead stack"
# the lab with --causes (lab/guest/causes.sh, 6.1): CPU 1 offline, then a hugetlb pool on
# fragmented memory: explicit drains from direct compaction and from reclaim's drain_all_pages;
# every acquisition has a stack and a named cause (no `other`)
[ "$(q lab-2node-causes "SELECT count(*) FROM lock_cause WHERE cause IN ('unsampled', 'other')")" = 0 ] ||
	fail "lab-2node-causes: unsampled or unclassified acquisitions"
for cause in cpu_offline explicit; do
	[ "$(q lab-2node-causes "SELECT sum(acquisitions) > 0 FROM lock_cause WHERE kind = 'drain' AND cause = '$cause'")" = 1 ] ||
		fail "lab-2node-causes: no $cause drains"
done
q lab-2node-causes "SELECT folded FROM lock_cause_stack WHERE cause = 'cpu_offline'" |
	grep -q ';page_alloc_cpu_dead;drain_pages;drain_pages_zone;free_pcppages_bulk$' ||
	fail "lab-2node-causes: no page_alloc_cpu_dead stack"
q lab-2node-causes "SELECT folded FROM lock_cause_stack WHERE cause = 'explicit'" > "$WORK/explicit"
grep -q ';set_max_huge_pages;.*;compact_zone;lru_add_drain_cpu_zone;drain_pages_zone;free_pcppages_bulk$' "$WORK/explicit" ||
	fail "lab-2node-causes: no explicit drain from direct compaction"
grep -q ';set_max_huge_pages;.*;__alloc_pages_slowpath.constprop.0;__drain_all_pages;drain_pages;drain_pages_zone;free_pcppages_bulk$' "$WORK/explicit" ||
	fail "lab-2node-causes: no explicit drain from drain_all_pages after reclaim"
# the lifecycle text's note on a CPU whose occupancy level went below 0 (here CPU 0: CPU 1's
# lists drained by CPU 0 when CPU 1 went offline, blocks listed before the trace guessed to be
# CPU 0's), one per such CPU, with the database's minimum
"$BUILD/pcpanalyze" -o "$WORK/c.db" "$WORK/lab-2node-causes.dat" > "$WORK/ctext" 2>&1 || fail "causes text run failed"
want=$(sqlite3 "$WORK/c.db" "SELECT '  note: CPU ' || cpu || '''s occupancy went below 0 (min ' || occ_min || ')'
	FROM lifecycle_cpu_flow WHERE occ_min < 0 ORDER BY cpu")
got=$(grep "^  note: CPU .*'s occupancy went below 0" "$WORK/ctext" | sed 's/): .*/)/')
[ -n "$want" ] && [ "$got" = "$want" ] ||
	fail "lab-2node-causes: occupancy notes '$got', want '$want'"
# task names are any bytes (prctl(PR_SET_NAME)): one that is not UTF-8 in the trace's cmdlines
# is in the JSON with U+FFFD for each bad byte (it used to end the run: "out of memory", exit 70)
printf 'cpus 1\nformats used\ncomm 2000 load\212er\303\n1000 0 kmem:mm_page_alloc_zone_locked common_pid=2000 pfn=0x100 order=0 migratetype=1 percpu_refill=1\n2000 0 kmem:mm_page_alloc common_pid=2000 pfn=0x100 order=0 gfp_flags=0xcc0 migratetype=1\n3000 0 kmem:mm_page_free common_pid=2000 pfn=0x100 order=0\n' > "$WORK/comm.synth"
if "$BUILD/pcpsynth" -q -f "$SRC/tests/fixtures/formats" -o "$WORK/comm.dat" "$WORK/comm.synth"; then
	"$BUILD/pcpanalyze" -q -o "$WORK/comm.db" --json "$WORK/comm.json" --perfetto "$WORK/comm.pf.json" \
		"$WORK/comm.dat" || fail "a task name that is not UTF-8: pcpanalyze --json --perfetto failed"
	python3 -c "import json, sys; t = json.load(open(sys.argv[1]))['lifecycle']['tasks']
sys.exit([x['comm'] for x in t] != ['load\ufffder\ufffd'])" "$WORK/comm.json" ||
		fail "a task name that is not UTF-8: not in the JSON with U+FFFD"
	python3 -c "import json, sys; d = json.load(open(sys.argv[1])); e = d['traceEvents'] if isinstance(d, dict) else d
sys.exit(not any(x.get('ph') == 'M' and x['args'].get('name') == 'load\ufffder\ufffd' for x in e))" "$WORK/comm.pf.json" ||
		fail "a task name that is not UTF-8: not in the Perfetto timeline with U+FFFD"
else
	fail "pcpsynth: the trace with a task name that is not UTF-8"
fi
# text summary section
"$BUILD/pcpanalyze" -o "$WORK/t.db" "$WORK/stacks-decay.dat" > "$WORK/text" 2>&1 || fail "text run failed"
grep -q '^ Lock causes (kernel stacks: ' "$WORK/text" || fail "no Lock causes section in the text summary"
# a trace without stacks: no lock_cause member content, no lock-cause metrics
"$BUILD/pcpanalyze" -q -o "$WORK/nost.db" --json "$WORK/nost.json" "$SRC/tests/fixtures/overrun.dat" || fail "overrun.dat failed"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d['lock_cause'] is not None or 'drain_stack_coverage' in d['metrics'])" "$WORK/nost.json" ||
	fail "a trace without stacks has lock_cause output"
exit $status
