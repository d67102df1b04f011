#!/bin/sh
# Provoke the two drain causes a workload alone does not (lab/run --causes, pcplab.causes=1),
# while pcprecord records (docs/METRICS.md "Lock causes"; lab/README.md):
#  cpu_offline: CPU 1 offline for a second (page_alloc_cpu_dead -> drain_pages on the CPU
#               doing the hotplug: CPU 1's lists, filled by the workload just before, emptied);
#  explicit:    a hugetlb pool on fragmented memory: its order-9 allocations go through direct
#               compaction (compact_zone -> lru_add_drain_cpu_zone -> drain_local_pages) and,
#               where that fails, reclaim (drain_all_pages).
# 1. a pool takes all but 320 MB (whole free blocks, few events); 2. tmpfs files of 256 KB
# fill all but 100 MB, every other one is deleted; 3. the pool grows by the whole 2 MB blocks
# still free plus up to 16 that only compaction can make.
# Memory stays safe: 48 MB are never asked for (hugetlb pool allocations never call the OOM
# killer), and everything is released afterwards.
CPU=/sys/devices/system/cpu/cpu1/online
NR=/proc/sys/vm/nr_hugepages
MARGIN_KB=102400
KB=256
F=/mnt/frag
memfree() { awk '/^MemFree:/ { print $2 }' /proc/meminfo; }

if [ -w $CPU ]; then
	echo 0 > $CPU && echo "causes: cpu1 offline"
	sleep 1
	echo 1 > $CPU && echo "causes: cpu1 online again"
else
	echo "causes: no $CPU (CPU hotplug off?)"
fi

m=$(memfree)
pool=$(( (m - 327680) / 2048 ))
[ $pool -gt 0 ] || pool=0
echo $pool > $NR
got=$(cat $NR)
m2=$(memfree)
echo "causes: MemFree $m kB, pool of $pool hugepages asked, $got got, MemFree now $m2 kB"
fill_kb=$(( m2 - MARGIN_KB ))
mkdir -p $F
if [ $fill_kb -gt 65536 ] && mount -t tmpfs -o size=${fill_kb}k frag $F; then
	n=$(( fill_kb / KB ))
	i=0
	while [ $i -lt $n ]; do
		dd if=/dev/zero of=$F/$i bs=${KB}k count=1 2> /dev/null || break
		i=$((i + 1))
	done
	j=0
	while [ $j -lt $i ]; do
		rm -f $F/$j
		j=$((j + 2))
	done
	m3=$(memfree)
	# whole 2 MB blocks still free (orders 9 and 10, DMA zone left out): the pool asks for
	# these plus up to 16 more, which only compaction can make, never leaving under 48 MB
	whole=$(awk '$4 != "DMA" { w += $(5 + 9) + 2 * $(5 + 10) } END { print w + 0 }' /proc/buddyinfo)
	extra=$(( (m3 - 49152) / 2048 - whole ))
	[ $extra -le 16 ] || extra=16
	[ $extra -ge 0 ] || extra=0
	pool=$(( got + whole + extra ))
	echo "causes: $i files of $KB kB written, every other deleted, MemFree $m3 kB," \
		"$whole whole blocks free; pool to $pool"
	cat /proc/buddyinfo
	echo $pool > $NR
	echo "causes: got $(cat $NR) hugepages, MemFree $(memfree) kB"
	umount $F
else
	echo "causes: MemFree $m2 kB, too little to fragment"
fi
echo 0 > $NR
