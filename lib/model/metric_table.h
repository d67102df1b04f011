/* The metric table: every headline metric pcpanalyze computes, with its unit, the direction
 * that is better and compare's default noise threshold, in the one order every output uses
 * (text summary, JSON, the metrics table of the database). The models fill values by id;
 * store, report and compare take names, units and directions from here. The table and
 * docs/METRICS.md (the contract) must agree: tests/test_metric_table.c checks both ways. */
#ifndef PCPTRACE_METRIC_TABLE_H
#define PCPTRACE_METRIC_TABLE_H

#include <stddef.h>

/* Ids in output order: the PCP churn model's metrics, then the percpu model's. */
enum pcp_metric_id {
	/* PCP churn model (model/churn_model.c) */
	PCP_METRIC_PAIRS,
	PCP_METRIC_PAIRED_PAGES,
	PCP_METRIC_CROSS_CPU_PAIRS,
	PCP_METRIC_CROSS_CPU_RATIO,
	PCP_METRIC_UNMATCHED_DRAINS,
	PCP_METRIC_OPEN_REFILLS,
	PCP_METRIC_REFILL_OVERWRITTEN,
	PCP_METRIC_REFILL_PAGES,
	PCP_METRIC_DRAIN_PAGES,
	PCP_METRIC_CHURN_RATIO,
	PCP_METRIC_FAST_CHURN_RATIO,
	PCP_METRIC_ROUND_TRIP_P50_NS,
	PCP_METRIC_ROUND_TRIP_P99_NS,
	PCP_METRIC_REFILL_IMBALANCE,
	PCP_METRIC_DRAIN_IMBALANCE,
	PCP_METRIC_REFILL_LOCKS_PER_S,
	PCP_METRIC_DRAIN_LOCKS_PER_S,
	PCP_METRIC_PAGES_PER_REFILL_LOCK,
	PCP_METRIC_PAGES_PER_DRAIN_LOCK,
	PCP_METRIC_REFILL_LOCK_HOLD_P99_NS,     /* zone-lock hold time (model/lock_hold.c) */
	PCP_METRIC_DRAIN_LOCK_HOLD_P99_NS,
	PCP_METRIC_REFILL_LOCK_HOLD_MAX_NS,
	PCP_METRIC_DRAIN_LOCK_HOLD_MAX_NS,
	PCP_METRIC_EVENTS_LOST,
	/* percpu model (model/percpu_model.c) */
	PCP_METRIC_PERCPU_ALLOCS,
	PCP_METRIC_PERCPU_FREES,
	PCP_METRIC_PERCPU_FAILS,
	PCP_METRIC_PERCPU_OUTSTANDING_ALLOCS,
	PCP_METRIC_PERCPU_OUTSTANDING_BYTES,
	PCP_METRIC_PERCPU_CHUNKS_CREATED,
	PCP_METRIC_PERCPU_CHUNKS_DESTROYED,
	PCP_METRIC_PERCPU_UNMATCHED_FREES,
	PCP_METRIC_PERCPU_REPLACED_ALLOCS,
	/* percpu fragmentation, from the percpu_stats snapshots (model/percpu_frag.c) */
	PCP_METRIC_PERCPU_FRAG_RATIO,
	PCP_METRIC_PERCPU_FRAG_RATIO_CHANGE,
	PCP_METRIC_PERCPU_FREE_BYTES_CHANGE,
	PCP_METRIC_PERCPU_EMPTY_POP_PAGES_CHANGE,
	PCP_METRIC_PERCPU_MAX_FRAG_BYTES,
	/* lifecycle model (model/lifecycle.c; traces with mm_page_alloc/mm_page_free) */
	PCP_METRIC_BUDDY_ALLOCS,
	PCP_METRIC_PCP_ALLOCS,
	PCP_METRIC_ALLOC_REFILL_RATIO,
	PCP_METRIC_FREE_DRAIN_RATIO,
	PCP_METRIC_UNUSED_REFILL_RATIO,
	PCP_METRIC_FREE_ENTRY_SHARE,
	PCP_METRIC_REMOTE_DRAIN_RATIO,
	PCP_METRIC_PCP_RESIDENCY_P50_NS,
	PCP_METRIC_PCP_RESIDENCY_P99_NS,
	PCP_METRIC_MEAN_PCP_PAGES,
	PCP_METRIC_OCCUPANCY_ERROR_PAGES,
	/* lock causes from kernel stacks (model/lock_cause.c) */
	PCP_METRIC_DRAIN_CAUSE_FREE_HIGH_SHARE,
	PCP_METRIC_DRAIN_CAUSE_DECAY_SHARE,
	PCP_METRIC_DRAIN_CAUSE_EXPLICIT_SHARE,
	PCP_METRIC_DRAIN_CAUSE_CPU_OFFLINE_SHARE,
	PCP_METRIC_DRAIN_CAUSE_OTHER_SHARE,
	PCP_METRIC_DRAIN_STACK_COVERAGE,
	PCP_METRIC_REFILL_STACK_COVERAGE,
	PCP_METRIC_COUNT
};

/* Which model computes a metric: its results hold the metrics of its group, in id order. */
enum pcp_metric_group {
	PCP_METRIC_GROUP_CHURN,
	PCP_METRIC_GROUP_PERCPU,
	PCP_METRIC_GROUP_LIFECYCLE,
	PCP_METRIC_GROUP_LOCK_CAUSE,
};

enum pcp_metric_better {
	PCP_METRIC_BETTER_NONE,             /* a change is reported, never judged */
	PCP_METRIC_BETTER_LOWER,
	PCP_METRIC_BETTER_HIGHER,
};

struct pcp_metric_def {
	const char *name;
	const char *unit;
	enum pcp_metric_better better;
	double threshold_pct;               /* compare's default noise threshold, percent */
	enum pcp_metric_group group;
	const char *meaning;                /* one line; the definition is docs/METRICS.md's */
};

/* The noise threshold of most metrics, and of a metric the table does not know. */
#define PCP_METRIC_THRESHOLD_DEFAULT 10.0

/* The row of id (id < PCP_METRIC_COUNT). */
const struct pcp_metric_def *pcp_metric_def(enum pcp_metric_id id);
/* The row called name, or NULL. */
const struct pcp_metric_def *pcp_metric_find(const char *name);
/* "lower", "higher", "none": the text of the database, JSON and compare. */
const char *pcp_metric_better_name(enum pcp_metric_better better);

/* One metric of a result: its table row's name, unit and direction (static strings) and the
 * value (NAN when undefined, docs/METRICS.md "Undefined values"). */
struct pcp_metric {
	const char *name;
	double value;
	const char *unit;
	const char *better;                 /* "lower", "higher" or "none" */
};

/* Makes the result rows of group, in table order, from values indexed by metric id (entries of
 * other groups are not read): *out is allocated (free()), *nr its count. PCP_ERR_NOMEM. */
int pcp_metric_rows(enum pcp_metric_group group, const double values[PCP_METRIC_COUNT],
		    struct pcp_metric **out, size_t *nr);

#endif
