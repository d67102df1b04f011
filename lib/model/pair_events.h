/* Refill/drain pairing per PFN: the open[pfn] table of docs/METRICS.md ("Pairing").
 * Open addressing (linear probing, Fibonacci hashing) keyed by PFN. An entry is created by the
 * first refill of its PFN and never removed: besides the open refill it holds that PFN's cycle
 * statistics (pfn_cycles), so there are no tombstones. The only allocation is the amortized
 * doubling of the table; memory is bounded by the number of distinct refilled PFNs. */
#ifndef PCPTRACE_PAIR_EVENTS_H
#define PCPTRACE_PAIR_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include "model/churn.h"

enum {
	PCP_PFN_USED = 1,       /* slot holds a PFN */
	PCP_PFN_OPEN = 2,       /* open[pfn] exists: refill_ts_ns/refill_cpu are valid */
};

/* 48 bytes. cycles saturate at UINT32_MAX (that would take > 8e9 events on one PFN);
 * saturation is counted in pcp_pair_table.cycles_saturated. */
struct pcp_pfn_entry {
	uint64_t pfn;
	uint64_t refill_ts_ns;          /* the open refill's time */
	uint64_t min_round_trip_ns;     /* over this PFN's pairs (valid when cycles > 0) */
	uint64_t max_round_trip_ns;
	uint32_t cycles;                /* pairs of this PFN */
	uint32_t cross_cpu_cycles;
	uint32_t refill_cpu;            /* the open refill's CPU */
	uint8_t order;                  /* order of this PFN's latest refill */
	uint8_t flags;                  /* PCP_PFN_* */
};

struct pcp_pair_table {
	struct pcp_pfn_entry *slots;
	size_t mask;                    /* capacity - 1; capacity is a power of two */
	unsigned hash_shift;            /* 64 - log2(capacity) */
	size_t used;                    /* distinct PFNs ever refilled */
	size_t nr_open;                 /* PFNs with an open refill */
	uint64_t pairs, refill_overwritten, unmatched_drains;
	uint64_t cycles_saturated;
};

/* One completed round trip, as handed back by pcp_pair_drain. */
struct pcp_pair {
	uint64_t round_trip_ns;         /* drain.ts - refill.ts (0 if the drain is earlier) */
	uint32_t refill_cpu;
	uint32_t order;                 /* the refill's order: pages = 2^order */
};

/* Groups of 8 consecutive PFNs keep 8 consecutive slots: a bulk refill (rmqueue_bulk splits
 * buddy blocks, so its PFNs are mostly consecutive) and its later drains touch a few adjacent
 * cache lines instead of one random line per block (measured: -30% time per event on large
 * tables). The groups are spread by Fibonacci hashing (the top bits of the product are the
 * best mixed). Aligned higher-order PFNs use 1 slot in 8 as home; linear probing then fills
 * the neighbours (mean probe ~2.2 slots at load 0.7, same cache lines). */
#define PCP_PFN_GROUP_BITS 3

static inline size_t pcp_pfn_slot(uint64_t pfn, unsigned shift)
{
	uint64_t group = (pfn >> PCP_PFN_GROUP_BITS) * UINT64_C(0x9E3779B97F4A7C15);

	return (size_t)((group >> (shift + PCP_PFN_GROUP_BITS)) << PCP_PFN_GROUP_BITS |
			(pfn & ((1u << PCP_PFN_GROUP_BITS) - 1)));
}

/* Hot path helper: starts loading the slot where pfn's probe begins, so that a refill/drain of
 * pfn a few events later finds it in cache. No effect on results. */
static inline void pcp_pair_prefetch(const struct pcp_pair_table *t, uint64_t pfn)
{
	__builtin_prefetch(&t->slots[pcp_pfn_slot(pfn, t->hash_shift)], 1, 3);
}

/* expected_pfns: a sizing hint (0 for the default). */
int pcp_pair_table_init(struct pcp_pair_table *t, size_t expected_pfns);
void pcp_pair_table_destroy(struct pcp_pair_table *t);

/* Hot path. refill(pfn): counts refill_overwritten if open[pfn] exists, then open[pfn] = this
 * refill. Returns PCP_OK, or PCP_ERR_NOMEM when growth failed (the refill is then not
 * recorded and the table is unchanged). order must be < 64. */
int pcp_pair_refill(struct pcp_pair_table *t, uint64_t pfn, uint32_t order, uint32_t cpu,
		    uint64_t ts_ns);
/* Hot path. drain(pfn): returns 1 and fills *out when it closes open[pfn] (one pair),
 * 0 when nothing is open for pfn (unmatched_drains += 1). Never allocates. */
int pcp_pair_drain(struct pcp_pair_table *t, uint64_t pfn, uint32_t cpu, uint64_t ts_ns,
		   struct pcp_pair *out);

/* NULL if pfn was never refilled. */
const struct pcp_pfn_entry *pcp_pair_find(const struct pcp_pair_table *t, uint64_t pfn);

/* The top n PFNs with at least one pair, by cycles descending then pfn ascending, in that
 * order. *out is malloc'ed (NULL when *nr_out is 0). */
int pcp_pair_top_cycles(const struct pcp_pair_table *t, size_t n, struct pcp_pfn_cycles **out,
			size_t *nr_out);

#endif
