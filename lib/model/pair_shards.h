/* The refill/drain pairing of the churn model (docs/METRICS.md "Pairing") and the sums over its
 * pairs, in PFN shards (issue 14: the model itself on every core).
 *
 * Pairing is per PFN: a drain closes its own PFN's open refill and nothing else; every other
 * PFN's state is independent of it. So the PFNs can be split into shards (by the PFN's group of
 * 8, the pair table's group: a bulk refill of consecutive PFNs stays in few cache lines of one
 * shard) and each shard given a thread of its own: the churn model routes each refill and
 * drain, in the trace's order, to the shard of its PFN (an event feed, event_feed.h); each
 * shard sees its PFNs' events in the same order as one model would. What comes out of pairing
 * is integers only (counts, pages, nanoseconds, histogram buckets, the largest round trip, the
 * refill x drain CPU matrix, per-PFN cycle rows), summed or maxed over shards at the end: the
 * results are bit for bit those of one shard, whatever the number of shards.
 *
 * Without threads (nr_threads 0: pcpanalyze -j 1, the live view) there is one shard, run by
 * the caller inline. */
#ifndef PCPTRACE_PAIR_SHARDS_H
#define PCPTRACE_PAIR_SHARDS_H

#include <stddef.h>
#include <stdint.h>
#include "model/churn.h"
#include "model/histogram.h"
#include "model/pair_events.h"

/* One refill CPU x drain CPU cell. */
struct pcp_pair_count {
	uint64_t pairs, pages;
};

/* What the pairs add up to (one shard's, or all shards' after pcp_pair_shards_finish). */
struct pcp_pair_sums {
	uint64_t pairs;                 /* the pair table's counters (pair_events.h) */
	uint64_t unmatched_drains, refill_overwritten, nr_open, cycles_saturated;
	uint64_t paired_pages, cross_pairs;
	uint64_t fast_pages;            /* pages of pairs with round trip <= the churn window */
	uint64_t max_round_trip;
	uint64_t hist_pairs[LOG2_BUCKETS], hist_pages[LOG2_BUCKETS];
	uint64_t fine[FINE_BUCKETS];    /* for the percentiles */
	struct pcp_pair_count **matrix; /* [refill_cpu] -> nr_cpus cells, allocated at its first pair */
};

struct pcp_pair_shards;

/* nr_threads 0: one shard, inline; else nr_threads (rounded down to a power of two) shards,
 * each on a thread of its own (`pcp-pairs`). Threads are only used when nr_cpus <= 65536 (a fed record's CPU has 16 bits)
 * and all of them start; otherwise one inline shard (same results). PCP_ERR_NOMEM. */
int pcp_pair_shards_new(uint32_t nr_cpus, uint64_t churn_window_ns, unsigned nr_threads,
			struct pcp_pair_shards **out);
/* Frees everything; threads still running are ended first (what they were given is consumed
 * and discarded). NULL: nothing. */
void pcp_pair_shards_free(struct pcp_pair_shards *s);
/* Shards on threads of their own (0: one inline shard). */
unsigned pcp_pair_shards_threads(const struct pcp_pair_shards *s);

/* Hot path, in the trace's order: a refill (drain 0) or a drain (drain 1) of the block at pfn.
 * order < 64, cpu < nr_cpus (the churn model checks both). */
void pcp_pair_shards_block(struct pcp_pair_shards *s, int drain, uint64_t pfn, uint32_t order,
			   uint32_t cpu, uint64_t ts_ns);
/* Inline: the one shard's table (for pcp_pair_prefetch); NULL with threads (each prefetches its
 * own). */
const struct pcp_pair_table *pcp_pair_shards_table(const struct pcp_pair_shards *s);
/* Work for the first shard's thread while it waits for events (event_feed.h); 0 when there
 * is no thread to take it. */
int pcp_pair_shards_set_idle(struct pcp_pair_shards *s, int (*idle)(void *ctx), void *ctx);

/* Inline, during the run (the live view): the sums so far; NULL with threads. */
const struct pcp_pair_sums *pcp_pair_shards_peek(const struct pcp_pair_shards *s);
/* Ends the threads and adds up the shards. Once; after it no more blocks. PCP_OK or the first
 * error of any shard (PCP_ERR_NOMEM: a table that could not grow lost that refill). */
int pcp_pair_shards_finish(struct pcp_pair_shards *s);
/* After finish: the sums over every shard. */
const struct pcp_pair_sums *pcp_pair_shards_sums(const struct pcp_pair_shards *s);
/* After finish: the top n PFNs by cycles (pcp_pair_top_cycles' order) over every shard. */
int pcp_pair_shards_top_cycles(const struct pcp_pair_shards *s, size_t n, struct pcp_pfn_cycles **out,
			       size_t *nr_out);

#endif
