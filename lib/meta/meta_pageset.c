/* Per-CPU pageset counts of a snapshot (meta_pageset.h). */
#include "meta/meta_pageset.h"

int pcp_meta_pageset_count_by_cpu(const struct pcp_meta_snapshot *snap, uint32_t nr_cpus,
				  int64_t *out)
{
	int any = 0;

	if (!snap || !snap->present || !snap->has_zoneinfo)
		return 0;
	for (size_t z = 0; z < snap->nr_zones; z++)
		for (size_t i = 0; i < snap->zones[z].nr_pagesets; i++) {
			const struct pcp_meta_pageset *p = &snap->zones[z].pagesets[i];

			if (p->has & PCP_META_PAGESET_COUNT)
				any = 1;
		}
	if (!any)
		return 0;
	for (uint32_t c = 0; c < nr_cpus; c++)
		out[c] = 0;
	for (size_t z = 0; z < snap->nr_zones; z++)
		for (size_t i = 0; i < snap->zones[z].nr_pagesets; i++) {
			const struct pcp_meta_pageset *p = &snap->zones[z].pagesets[i];

			if ((p->has & PCP_META_PAGESET_COUNT) && p->cpu >= 0 && (uint64_t)p->cpu < nr_cpus)
				out[p->cpu] += p->count;
		}
	return 1;
}
