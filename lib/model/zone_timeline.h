/* Zone-lock acquisitions over time per zone and kind (issue 13; the zone_lock_timeline table):
 * the churn model hands over each zone row's count of a --bucket window when that row is next
 * acquired in a later window (and every open count at the end), so the series costs nothing per
 * event and counts exactly the acquisitions zone_lock counts (docs/METRICS.md). */
#ifndef PCPTRACE_ZONE_TIMELINE_H
#define PCPTRACE_ZONE_TIMELINE_H

#include <stddef.h>
#include <stdint.h>
#include "model/churn.h"

struct pcp_zone_timeline {
	struct pcp_zone_timeline_row *rows;
	size_t nr, cap;
	int err;                            /* PCP_ERR_NOMEM after a failed growth */
};

/* One (bucket, zone row) count; n == 0 adds nothing. Amortized growth (a zone row's window
 * change, not an event); a failure is kept in t->err. */
void pcp_zone_timeline_add(struct pcp_zone_timeline *t, uint64_t bucket_start_ns, int32_t nid,
			   int32_t zid, enum pcp_lock_kind kind, uint64_t n);
/* The rows sorted by bucket_start_ns, nid, zid, kind, handed to the caller (free() them; NULL
 * when none); t is empty afterwards. PCP_ERR_NOMEM if an add had failed. */
int pcp_zone_timeline_take(struct pcp_zone_timeline *t, struct pcp_zone_timeline_row **rows,
			   size_t *nr);
void pcp_zone_timeline_free(struct pcp_zone_timeline *t);

#endif
