/* The lifecycle model on a thread of its own (pcpanalyze -j N, N >= 2), behind an event feed
 * (event_feed.h). The churn and lifecycle models read the same event sequence and share
 * nothing while they run (lifecycle.h: pcp_lifecycle_finish takes the churn results
 * afterwards). */
#ifndef PCPTRACE_LIFECYCLE_FEED_H
#define PCPTRACE_LIFECYCLE_FEED_H

#include <stdint.h>
#include "model/event_feed.h"
#include "model/lifecycle.h"

/* Starts the thread (`pcp-lifecycle`); events go in with pcp_feed_push, pcp_feed_finish ends
 * it. PCP_ERR_NOMEM (nothing started); PCP_ERR_USAGE when nr_cpus > 65536 (the CPU would not
 * fit the fed record: the caller runs the model itself). */
int pcp_lc_feed_start(struct pcp_lifecycle_model *m, uint32_t nr_cpus, struct pcp_feed **out);

/* The same consumer for pcp_feed_start_n, beside others (churn_feed.h): nr_cpus <= 65536. */
void pcp_lc_feed_consumer(struct pcp_lifecycle_model *m, struct pcp_feed_consumer *c);

#endif
