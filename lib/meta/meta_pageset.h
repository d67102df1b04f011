/* Per-CPU pageset counts of a meta snapshot (the lifecycle model's occupancy start and its
 * check at the end): /proc/zoneinfo's per-CPU `count`, summed over every zone of every node. */
#ifndef PCPTRACE_META_PAGESET_H
#define PCPTRACE_META_PAGESET_H

#include <stdint.h>
#include "meta/meta.h"

/* out[c] = the sum over zones of CPU c's pageset count, for c < nr_cpus (0 for a CPU no zone
 * lists). Returns 1 when the snapshot has zoneinfo with at least one pageset count, else 0
 * (out untouched): then there is no snapshot count to start from. */
int pcp_meta_pageset_count_by_cpu(const struct pcp_meta_snapshot *snap, uint32_t nr_cpus,
				  int64_t *out);

#endif
