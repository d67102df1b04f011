#!/bin/sh
# One pinned worker of workload.sh: worker.sh CPU NCPUS END_EPOCH
c=$1 n=$2 end=$3
next=$(( (c + 1) % n ))
i=0
while [ "$(date +%s)" -lt $end ]; do
	dd if=/dev/zero of=/work/c$c/f$i  bs=4k count=512 2>/dev/null
	rm -f /work/c$c/f$((i - 4))
	rm -f /work/c$next/f$((i - 2))
	( cat /proc/self/stat > /dev/null )
	if [ $((i % 8)) -eq 0 ]; then
		dd if=/dev/zero of=/huge/c$c bs=1M count=4 2>/dev/null
		rm -f /huge/c$c
	fi
	i=$((i + 1))
done
echo "worker $c: $i rounds"
