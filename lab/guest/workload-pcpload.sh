#!/bin/sh
# pcpload workload: workload-pcpload.sh DURATION. Pattern and threads from the kernel
# command line (PCPLAB_PATTERN, PCPLAB_THREADS). Alongside it, tmpfs mount/umount cycles
# (each mount allocates percpu memory, which pcpload alone hardly does); ends with
# drop_caches and a few idle seconds so vmstat drains remote-node PCP lists.
dur=${1:-12}
mkdir -p /mnt/m
end=$(( $(date +%s) + dur ))
(
	i=0
	while [ "$(date +%s)" -lt $end ]; do
		mount -t tmpfs m /mnt/m && echo x > /mnt/m/x && umount /mnt/m
		i=$((i + 1))
		sleep 0.05
	done
	echo "workload: $i tmpfs mount cycles"
) &
pcpload --pattern "${PCPLAB_PATTERN:-mix}" --threads "${PCPLAB_THREADS:-$(nproc)}" --duration "$dur"
rc=$?
wait
# lab/run --causes: CPU offline and explicit drains (lab/guest/causes.sh)
[ "$PCPLAB_CAUSES" = 1 ] && sh /lab/causes.sh
sync
echo 3 > /proc/sys/vm/drop_caches
sleep "${PCPLAB_IDLE:-5}"
echo "workload: done"
exit $rc
