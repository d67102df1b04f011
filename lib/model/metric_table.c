/* The metric table (metric_table.h). Rows are indexed by id (designated initializers), so the
 * table's order is the enum's: the order of every output. */
#include <stdlib.h>
#include <string.h>
#include "model/metric_table.h"
#include "common/error.h"

#define LOWER PCP_METRIC_BETTER_LOWER
#define HIGHER PCP_METRIC_BETTER_HIGHER
#define NONE PCP_METRIC_BETTER_NONE
#define CHURN PCP_METRIC_GROUP_CHURN
#define PERCPU PCP_METRIC_GROUP_PERCPU
#define LIFECYCLE PCP_METRIC_GROUP_LIFECYCLE
#define CAUSE PCP_METRIC_GROUP_LOCK_CAUSE

/* Thresholds: 10 % by default; noisier metrics (lock rates, imbalance, percentiles of round
 * trips) get more, and a loss or an allocation failure is never noise (0). */
static const struct pcp_metric_def metric_table[PCP_METRIC_COUNT] = {
	[PCP_METRIC_PAIRS] = { "pairs", "pairs", LOWER, 10, CHURN,
		"refill/drain pairs of one PFN" },
	[PCP_METRIC_PAIRED_PAGES] = { "paired_pages", "pages", LOWER, 10, CHURN,
		"pages of those pairs" },
	[PCP_METRIC_CROSS_CPU_PAIRS] = { "cross_cpu_pairs", "pairs", LOWER, 10, CHURN,
		"pairs refilled on one CPU and drained on another" },
	[PCP_METRIC_CROSS_CPU_RATIO] = { "cross_cpu_ratio", "ratio", LOWER, 10, CHURN,
		"cross_cpu_pairs / pairs" },
	[PCP_METRIC_UNMATCHED_DRAINS] = { "unmatched_drains", "drains", NONE, 10, CHURN,
		"drains of a PFN with no open refill" },
	[PCP_METRIC_OPEN_REFILLS] = { "open_refills", "refills", NONE, 10, CHURN,
		"refilled PFNs not drained by the end" },
	[PCP_METRIC_REFILL_OVERWRITTEN] = { "refill_overwritten", "refills", NONE, 10, CHURN,
		"refills of a PFN that was still open" },
	[PCP_METRIC_REFILL_PAGES] = { "refill_pages", "pages", LOWER, 10, CHURN,
		"pages refilled into the PCP lists" },
	[PCP_METRIC_DRAIN_PAGES] = { "drain_pages", "pages", LOWER, 10, CHURN,
		"pages drained from the PCP lists" },
	[PCP_METRIC_CHURN_RATIO] = { "churn_ratio", "ratio", LOWER, 10, CHURN,
		"paired_pages / refill_pages" },
	[PCP_METRIC_FAST_CHURN_RATIO] = { "fast_churn_ratio", "ratio", LOWER, 10, CHURN,
		"share of refill_pages drained again within the churn window" },
	[PCP_METRIC_ROUND_TRIP_P50_NS] = { "round_trip_p50_ns", "ns", NONE, 25, CHURN,
		"median refill-to-drain time of a pair" },
	[PCP_METRIC_ROUND_TRIP_P99_NS] = { "round_trip_p99_ns", "ns", NONE, 25, CHURN,
		"99th percentile refill-to-drain time of a pair" },
	[PCP_METRIC_REFILL_IMBALANCE] = { "refill_imbalance", "ratio", LOWER, 15, CHURN,
		"busiest CPU's refill_pages / mean over CPUs" },
	[PCP_METRIC_DRAIN_IMBALANCE] = { "drain_imbalance", "ratio", LOWER, 15, CHURN,
		"busiest CPU's drain_pages / mean over CPUs" },
	[PCP_METRIC_REFILL_LOCKS_PER_S] = { "refill_locks_per_s", "1/s", LOWER, 15, CHURN,
		"zone lock acquisitions for refills per second" },
	[PCP_METRIC_DRAIN_LOCKS_PER_S] = { "drain_locks_per_s", "1/s", LOWER, 15, CHURN,
		"zone lock acquisitions for drains per second" },
	[PCP_METRIC_PAGES_PER_REFILL_LOCK] = { "pages_per_refill_lock", "pages", HIGHER, 10, CHURN,
		"refill_pages per refill acquisition" },
	[PCP_METRIC_PAGES_PER_DRAIN_LOCK] = { "pages_per_drain_lock", "pages", HIGHER, 10, CHURN,
		"drain_pages per drain acquisition" },
	[PCP_METRIC_REFILL_LOCK_HOLD_P99_NS] = { "refill_lock_hold_p99_ns", "ns", LOWER, 25, CHURN,
		"99th percentile zone-lock hold time of a refill acquisition (at least)" },
	[PCP_METRIC_DRAIN_LOCK_HOLD_P99_NS] = { "drain_lock_hold_p99_ns", "ns", LOWER, 25, CHURN,
		"99th percentile zone-lock hold time of a drain acquisition (at least)" },
	[PCP_METRIC_REFILL_LOCK_HOLD_MAX_NS] = { "refill_lock_hold_max_ns", "ns", LOWER, 50, CHURN,
		"longest zone-lock hold time of a refill acquisition (at least)" },
	[PCP_METRIC_DRAIN_LOCK_HOLD_MAX_NS] = { "drain_lock_hold_max_ns", "ns", LOWER, 50, CHURN,
		"longest zone-lock hold time of a drain acquisition (at least)" },
	[PCP_METRIC_EVENTS_LOST] = { "events_lost", "events", LOWER, 0, CHURN,
		"events the trace lost (known counts)" },
	[PCP_METRIC_PERCPU_ALLOCS] = { "percpu_allocs", "allocs", LOWER, 10, PERCPU,
		"percpu allocations" },
	[PCP_METRIC_PERCPU_FREES] = { "percpu_frees", "frees", LOWER, 10, PERCPU,
		"percpu frees, paired or not" },
	[PCP_METRIC_PERCPU_FAILS] = { "percpu_fails", "fails", LOWER, 0, PERCPU,
		"failed percpu allocations" },
	[PCP_METRIC_PERCPU_OUTSTANDING_ALLOCS] = { "percpu_outstanding_allocs", "allocs", LOWER, 10,
		PERCPU, "allocations of the trace still open at the end" },
	[PCP_METRIC_PERCPU_OUTSTANDING_BYTES] = { "percpu_outstanding_bytes", "bytes", LOWER, 10,
		PERCPU, "bytes of those allocations" },
	[PCP_METRIC_PERCPU_CHUNKS_CREATED] = { "percpu_chunks_created", "chunks", LOWER, 10, PERCPU,
		"percpu chunks created" },
	[PCP_METRIC_PERCPU_CHUNKS_DESTROYED] = { "percpu_chunks_destroyed", "chunks", LOWER, 10,
		PERCPU, "percpu chunks destroyed" },
	[PCP_METRIC_PERCPU_UNMATCHED_FREES] = { "percpu_unmatched_frees", "frees", NONE, 10, PERCPU,
		"frees of a ptr with no open allocation" },
	[PCP_METRIC_PERCPU_REPLACED_ALLOCS] = { "percpu_replaced_allocs", "allocs", NONE, 10, PERCPU,
		"allocations of a ptr that was still open" },
	[PCP_METRIC_PERCPU_FRAG_RATIO] = { "percpu_frag_ratio", "ratio", LOWER, 10, PERCPU,
		"after snapshot: sum of sum_frag / sum of free_bytes over chunks" },
	[PCP_METRIC_PERCPU_FRAG_RATIO_CHANGE] = { "percpu_frag_ratio_change", "ratio", LOWER, 10,
		PERCPU, "percpu_frag_ratio after - before" },
	[PCP_METRIC_PERCPU_FREE_BYTES_CHANGE] = { "percpu_free_bytes_change", "bytes", NONE, 10,
		PERCPU, "sum of free_bytes over chunks, after - before" },
	[PCP_METRIC_PERCPU_EMPTY_POP_PAGES_CHANGE] = { "percpu_empty_pop_pages_change", "pages",
		LOWER, 10, PERCPU, "global empty_pop_pages, after - before" },
	[PCP_METRIC_PERCPU_MAX_FRAG_BYTES] = { "percpu_max_frag_bytes", "bytes", LOWER, 10, PERCPU,
		"after snapshot: largest max_frag over chunks" },
	[PCP_METRIC_BUDDY_ALLOCS] = { "buddy_allocs", "allocs", LOWER, 10, LIFECYCLE,
		"allocations served by the buddy allocator directly" },
	[PCP_METRIC_PCP_ALLOCS] = { "pcp_allocs", "allocs", NONE, 10, LIFECYCLE,
		"allocations served from a PCP list" },
	[PCP_METRIC_ALLOC_REFILL_RATIO] = { "alloc_refill_ratio", "ratio", LOWER, 10, LIFECYCLE,
		"refill acquisitions / pcp_allocs" },
	[PCP_METRIC_FREE_DRAIN_RATIO] = { "free_drain_ratio", "ratio", LOWER, 10, LIFECYCLE,
		"drain acquisitions / free-path entries" },
	[PCP_METRIC_UNUSED_REFILL_RATIO] = { "unused_refill_ratio", "ratio", LOWER, 10, LIFECYCLE,
		"refilled blocks drained without an alloc / refill blocks" },
	[PCP_METRIC_FREE_ENTRY_SHARE] = { "free_entry_share", "ratio", NONE, 10, LIFECYCLE,
		"free-path entries / (free-path entries + refill blocks)" },
	[PCP_METRIC_REMOTE_DRAIN_RATIO] = { "remote_drain_ratio", "ratio", LOWER, 10, LIFECYCLE,
		"drains by another CPU than the owner / drains with a known owner" },
	[PCP_METRIC_PCP_RESIDENCY_P50_NS] = { "pcp_residency_p50_ns", "ns", NONE, 25, LIFECYCLE,
		"median time a block stays on a PCP list" },
	[PCP_METRIC_PCP_RESIDENCY_P99_NS] = { "pcp_residency_p99_ns", "ns", NONE, 25, LIFECYCLE,
		"99th percentile time a block stays on a PCP list" },
	[PCP_METRIC_MEAN_PCP_PAGES] = { "mean_pcp_pages", "pages", LOWER, 10, LIFECYCLE,
		"time-weighted pages on all CPUs' PCP lists" },
	[PCP_METRIC_OCCUPANCY_ERROR_PAGES] = { "occupancy_error_pages", "pages", NONE, 10, LIFECYCLE,
		"model end occupancy - after snapshot count, over CPUs" },
	[PCP_METRIC_DRAIN_CAUSE_FREE_HIGH_SHARE] = { "drain_cause_free_high_share", "ratio", NONE, 10,
		CAUSE, "drain acquisitions with a stack whose cause is the free path over high" },
	[PCP_METRIC_DRAIN_CAUSE_DECAY_SHARE] = { "drain_cause_decay_share", "ratio", NONE, 10, CAUSE,
		"the same for the vmstat worker's decay of pcp->high" },
	[PCP_METRIC_DRAIN_CAUSE_EXPLICIT_SHARE] = { "drain_cause_explicit_share", "ratio", NONE, 10,
		CAUSE, "the same for explicit drains (drain_pages, drain_all_pages)" },
	[PCP_METRIC_DRAIN_CAUSE_CPU_OFFLINE_SHARE] = { "drain_cause_cpu_offline_share", "ratio", NONE,
		10, CAUSE, "the same for a CPU going offline" },
	[PCP_METRIC_DRAIN_CAUSE_OTHER_SHARE] = { "drain_cause_other_share", "ratio", NONE, 10, CAUSE,
		"the same for stacks no rule matches" },
	[PCP_METRIC_DRAIN_STACK_COVERAGE] = { "drain_stack_coverage", "ratio", HIGHER, 10, CAUSE,
		"drain acquisitions that have a stack" },
	[PCP_METRIC_REFILL_STACK_COVERAGE] = { "refill_stack_coverage", "ratio", HIGHER, 10, CAUSE,
		"refill acquisitions that have a stack" },
};

const struct pcp_metric_def *pcp_metric_def(enum pcp_metric_id id)
{
	return &metric_table[id];
}

const struct pcp_metric_def *pcp_metric_find(const char *name)
{
	for (size_t i = 0; i < PCP_METRIC_COUNT; i++)
		if (strcmp(metric_table[i].name, name) == 0)
			return &metric_table[i];
	return NULL;
}

const char *pcp_metric_better_name(enum pcp_metric_better better)
{
	switch (better) {
	case PCP_METRIC_BETTER_LOWER: return "lower";
	case PCP_METRIC_BETTER_HIGHER: return "higher";
	default: return "none";
	}
}

int pcp_metric_rows(enum pcp_metric_group group, const double values[PCP_METRIC_COUNT],
		    struct pcp_metric **out, size_t *nr)
{
	size_t n = 0;

	*out = NULL;
	*nr = 0;
	for (size_t i = 0; i < PCP_METRIC_COUNT; i++)
		n += metric_table[i].group == group;
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return PCP_ERR_NOMEM;
	for (size_t i = 0; i < PCP_METRIC_COUNT; i++) {
		const struct pcp_metric_def *d = &metric_table[i];

		if (d->group != group)
			continue;
		(*out)[(*nr)++] = (struct pcp_metric){ d->name, values[i], d->unit,
						       pcp_metric_better_name(d->better) };
	}
	return PCP_OK;
}
