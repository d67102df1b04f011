/* Refill/drain pairing per PFN: the open[pfn] table of docs/METRICS.md ("Pairing").
 * Open addressing (linear probing, Fibonacci hashing) keyed by PFN. An entry is created by the
 * first refill of its PFN and never removed: besides the open refill it holds that PFN's cycle
 * statistics (pfn_cycles), so there are no tombstones. Memory is bounded by the number of
 * distinct refilled PFNs and follows it (issue 14):
 * - a slot holds only what refill and drain read (24 bytes); the cycle statistics, written by
 *   a pair and read only by pfn_cycles, are a dense array in first-refill order (24 bytes per
 *   PFN, no empty slots);
 * - the slot table has any number of 8-slot groups (not a power of two: load 0.47-0.7, growth
 *   by 1.5x); homes keep the hash order at every size, so a growth reads the old table and
 *   writes the new one front to back and gives each consumed part of the old one back at once:
 *   it peaks near the new table's size, not at old + new. */
#ifndef PCPTRACE_PAIR_EVENTS_H
#define PCPTRACE_PAIR_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include "model/churn.h"

enum {
	PCP_PFN_USED = 1,       /* slot holds a PFN */
	PCP_PFN_OPEN = 2,       /* open[pfn] exists: refill_ts_ns/refill_cpu are valid */
};

/* One PFN's entry as pcp_pair_find() shows it. cycles saturate at UINT32_MAX (that would take
 * > 8e9 events on one PFN); saturation is counted in pcp_pair_table.cycles_saturated. */
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

/* The hot part, 24 bytes. */
struct pcp_pfn_slot {
	uint64_t pfn;
	uint64_t refill_ts_ns;          /* the open refill's time */
	uint32_t id;                    /* 1 + its index in stats; 0: the slot is empty */
	uint32_t bits;                  /* refill_cpu << 8 | order << 1 | open */
};

/* The cold part, 24 bytes, stats[id - 1]. */
struct pcp_pfn_stats {
	uint64_t min_round_trip_ns, max_round_trip_ns;
	uint32_t cycles, cross_cpu_cycles;
};

#define PCP_PAIR_MAX_CPU 0xFFFFFFu      /* refill_cpu has 24 bits (the reader allows 65536) */

struct pcp_pair_table {
	struct pcp_pfn_slot *slots;
	size_t nr_groups;               /* capacity = 8 * nr_groups */
	struct pcp_pfn_stats *stats;    /* used entries, cap_stats allocated */
	size_t cap_stats;
	size_t used;                    /* distinct PFNs ever refilled */
	size_t nr_open;                 /* PFNs with an open refill */
	uint64_t pairs, refill_overwritten, unmatched_drains;
	uint64_t cycles_saturated;
	struct pcp_pfn_entry found;     /* pcp_pair_find()'s answer */
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

static inline uint64_t pcp_pfn_hash(uint64_t pfn)
{
	return (pfn >> PCP_PFN_GROUP_BITS) * UINT64_C(0x9E3779B97F4A7C15);
}

/* The home slot of pfn (hash h) in a table of nr_groups groups (the pair table, lifecycle.c's
 * block table): the hash's top 32 bits scaled to nr_groups (any group count, no modulo, the
 * hash order kept at every size). */
static inline size_t pcp_pair_home(uint64_t h, uint64_t pfn, size_t nr_groups)
{
	return (size_t)(((h >> 32) * nr_groups) >> 32) << PCP_PFN_GROUP_BITS |
	       (size_t)(pfn & ((1u << PCP_PFN_GROUP_BITS) - 1));
}

/* Hot path helper: starts loading the slot where pfn's probe begins, so that a refill/drain of
 * pfn a few events later finds it in cache. No effect on results. */
static inline void pcp_pair_prefetch(const struct pcp_pair_table *t, uint64_t pfn)
{
	const char *slot = (const char *)&t->slots[pcp_pair_home(pcp_pfn_hash(pfn), pfn, t->nr_groups)];

	__builtin_prefetch(slot, 1, 3);
	__builtin_prefetch(slot + sizeof(struct pcp_pfn_slot) - 1, 1, 3);
}

/* expected_pfns: a sizing hint (0 for the default). */
int pcp_pair_table_init(struct pcp_pair_table *t, size_t expected_pfns);
void pcp_pair_table_destroy(struct pcp_pair_table *t);

/* Hot path. refill(pfn): counts refill_overwritten if open[pfn] exists, then open[pfn] = this
 * refill. Returns PCP_OK, or PCP_ERR_NOMEM when growth failed (the refill is then not
 * recorded and the table is unchanged); PCP_ERR_USAGE when cpu > PCP_PAIR_MAX_CPU. order
 * must be < 64. */
int pcp_pair_refill(struct pcp_pair_table *t, uint64_t pfn, uint32_t order, uint32_t cpu,
		    uint64_t ts_ns);
/* Hot path. drain(pfn): returns 1 and fills *out when it closes open[pfn] (one pair),
 * 0 when nothing is open for pfn (unmatched_drains += 1). Never allocates. */
int pcp_pair_drain(struct pcp_pair_table *t, uint64_t pfn, uint32_t cpu, uint64_t ts_ns,
		   struct pcp_pair *out);

/* NULL if pfn was never refilled; else the table's own copy of the entry, valid until the next
 * call (not for the hot path: tests and debugging). */
const struct pcp_pfn_entry *pcp_pair_find(const struct pcp_pair_table *t, uint64_t pfn);

/* The top n PFNs with at least one pair, by cycles descending then pfn ascending, in that
 * order. *out is malloc'ed (NULL when *nr_out is 0). */
int pcp_pair_top_cycles(const struct pcp_pair_table *t, size_t n, struct pcp_pfn_cycles **out,
			size_t *nr_out);
/* That order, for qsort: cycles descending, then pfn ascending (PFNs are distinct: a total
 * order, so lists of disjoint PFN sets merge into the same top n). */
int pcp_pfn_cycles_cmp_rank(const void *a, const void *b);

#endif
