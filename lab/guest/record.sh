#!/bin/sh
# The ONE place that decides how the guest records. Called by /init as: record.sh OUTDIR
# Environment (from the kernel command line): PCPLAB_RECORDER=pcprecord|tracefs,
# PCPLAB_WORKLOAD=pcpload|shell, PCPLAB_DURATION (s), PCPLAB_PATTERN, PCPLAB_BUFKB (per CPU),
# PCPLAB_STACKS=1 (pcprecord --stacks: stacktrace triggers on the zone-locked events).
out=$1
dur=${PCPLAB_DURATION:-12}
bufkb=${PCPLAB_BUFKB:-32768}
T=/sys/kernel/tracing
set -x

for e in mm_page_pcpu_refill mm_page_pcpu_drain mm_page_pcpu_refill_zone_locked \
	mm_page_pcpu_drain_zone_locked; do
	[ -d $T/events/kmem/$e ] || { echo "pcplab: kernel lacks kmem:$e"; exit 3; }
done
cat /proc/zoneinfo > "$out/zoneinfo.before" 2>/dev/null
# Record with the clock the kernel chose for its top-level buffer: under TCG the TSC is
# unstable and the kernel falls back to "global", which stays monotonic across CPUs.
clock=$(sed 's/.*\[\(.*\)\].*/\1/' $T/trace_clock)
echo "pcplab: trace clock $clock"

# the workload command: pcpload when it was put into the initramfs, else the shell workload;
# both end with drop_caches and a few idle seconds so vmstat drains remote-node PCP lists
workload="sh /lab/workload.sh $dur"
[ "$PCPLAB_WORKLOAD" = pcpload ] && workload="sh /lab/workload-pcpload.sh $dur"

case "$PCPLAB_RECORDER" in
pcprecord)
	# --lifecycle: also every page alloc/free (kmem:mm_page_alloc/mm_page_free), the lifecycle
	# model's events; the meta's zoneinfo snapshots give its start and end occupancy
	stacks=
	[ "$PCPLAB_STACKS" = 1 ] && stacks=--stacks
	pcprecord -o "$out/trace.dat" -b "$bufkb" --clock "$clock" --lifecycle $stacks -- $workload
	rc=$?
	;;
*)
	# tracefs directly: own instance, events enabled (the lifecycle's mm_page_alloc/free too),
	# big overwrite buffer, then extract
	I=$T/instances/pcplab
	mkdir $I || exit 4
	echo "$bufkb" > $I/buffer_size_kb
	echo "$clock" > $I/trace_clock
	for e in kmem/mm_page_pcpu_refill kmem/mm_page_pcpu_drain \
		kmem/mm_page_pcpu_refill_zone_locked kmem/mm_page_pcpu_drain_zone_locked \
		kmem/mm_page_alloc_zone_locked kmem/mm_page_alloc kmem/mm_page_free percpu; do
		echo 1 > $I/events/$e/enable || exit 4
	done
	echo 1 > $I/tracing_on
	$workload
	rc=$?
	echo 0 > $I/tracing_on
	cat $I/per_cpu/cpu*/stats > "$out/ringbuf.stats"
	trace-cmd extract -B pcplab -o "$out/trace.dat" || rc=5
	rmdir $I
	;;
esac
cat /proc/zoneinfo > "$out/zoneinfo.after" 2>/dev/null
cat /sys/kernel/debug/percpu_stats > "$out/percpu_stats.after" 2>/dev/null
ls -l "$out"
exit $rc
