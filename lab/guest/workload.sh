#!/bin/sh
# Shell workload (used until/unless pcpload is available): ~DURATION s of
#  - one pinned worker per CPU writing and deleting tmpfs files, deleting its neighbour
#    CPU's files too (remote frees), forking short processes, and now and then writing a
#    4 MB file on a huge=always tmpfs (order-9 THP refills/drains);
#  - tmpfs mount/umount cycles (each mount allocates percpu memory);
# then drop_caches and a few idle seconds so vmstat drains remote-node PCP lists.
dur=${1:-12}
idle=${PCPLAB_IDLE:-5}
n=$(nproc)
mkdir -p /work /huge /mnt/m
mount -t tmpfs -o size=256m work /work
mount -t tmpfs -o huge=always,size=128m huge /huge
end=$(( $(date +%s) + dur ))
c=0
while [ $c -lt $n ]; do
	mkdir -p /work/c$c
	taskset -c $c sh /lab/worker.sh $c $n $end &
	c=$((c + 1))
done
(
	i=0
	while [ "$(date +%s)" -lt $end ]; do
		mount -t tmpfs m /mnt/m && echo x > /mnt/m/x && umount /mnt/m
		i=$((i + 1))
	done
	echo "workload: $i tmpfs mount cycles"
) &
wait
rm -rf /work/* /huge/*
umount /work /huge
sync
echo 3 > /proc/sys/vm/drop_caches
sleep "$idle"
echo "workload: done"
