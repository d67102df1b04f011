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

/* The lifecycle model in PFN shards (lifecycle.h), each on a thread of its own
 * (`pcp-lc-shard`), the model's order part on another (`pcp-lifecycle`), which takes each batch
 * once the shards are done with it and reads the occupancy changes they found (a delta per
 * event, PCP_FEED_RING batches of them). nr_shards: a power of two, 2 to PCP_LC_SHARDS_MAX.
 * PCP_ERR_NOMEM, PCP_ERR_USAGE (nothing made). */
#define PCP_LC_SHARDS_MAX 4
struct pcp_lc_shards;
int pcp_lc_shards_new(struct pcp_lifecycle_model *m, unsigned nr_shards, struct pcp_lc_shards **out);
/* nr_shards + 1 consumers for pcp_feed_start_n, to be its c[base] (the order part, consumer 0
 * to decode when idle) to c[base + nr_shards]; nr_cpus <= 65536. */
void pcp_lc_shards_consumers(struct pcp_lc_shards *s, struct pcp_feed_consumer *c, unsigned base);
/* After pcp_feed_finish (or when the feed did not start): the shards' sums into the model,
 * which pcp_lifecycle_finish then ends as one; frees s. NULL: nothing. */
void pcp_lc_shards_end(struct pcp_lc_shards *s);

#endif
