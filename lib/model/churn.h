/* The PCP churn model: per-CPU flow, pairing, histograms, zone lock, timeline, metrics.
 * It computes only; it knows nothing of SQLite, JSON or the command line.
 * Definitions: docs/METRICS.md (the contract). */
#ifndef PCPTRACE_CHURN_H
#define PCPTRACE_CHURN_H

#include <stddef.h>
#include <stdint.h>
#include "events/event.h"
#include "model/metric_table.h"

struct pcp_zone_map;
struct pcp_meta;
struct pcp_lock_hold_results;
struct pcp_timeline_sink;

struct pcp_churn_opts {
	uint64_t churn_window_ns;           /* default 1000000 */
	uint64_t bucket_ns;                 /* default 10000000 */
	unsigned top_n;                     /* default 100 */
	uint64_t infer_gap_ns[2];           /* inferred runs, per pcp_lock_kind: a longer pause
					     * between two blocks starts a new acquisition; 0 = off;
					     * default 2000 (pcpanalyze picks them: infer_gap.h) */
	enum pcp_lock_source lock_source;   /* NATIVE: use *_LOCK events; INFERRED: infer runs.
					     * NONE behaves as INFERRED: the results say INFERRED
					     * if any refill or drain was seen, else NONE. */
	int no_time_base;                   /* timestamps are not ns (pcp_time_base_of): every
					     * rate, round-trip time and the churn window's share
					     * is undefined (NAN); counts stay. Default 0. */
	const struct pcp_zone_map *zone_map; /* inferred: names the zone of each acquisition and
					     * splits runs that cross zones; NULL (default): all
					     * nid = zid = -1. Kept by the caller until finish. */
	const struct pcp_meta *meta;        /* zone-lock hold: the pageset batch (lock_hold.h);
					     * NULL (default): none. Kept until finish. */
	const struct pcp_timeline_sink *sink; /* zone-lock acquisitions as they close (lock_hold.h);
					     * NULL (default): none. Kept until finish. */
	unsigned pair_threads;              /* the pairing in this many PFN shards on threads of
					     * their own (pair_shards.h); 0 (default): inline.
					     * The results do not depend on it. */
};

void pcp_churn_opts_default(struct pcp_churn_opts *o);

struct pcp_cpu_flow {
	uint64_t refill_blocks, refill_pages;
	uint64_t drain_blocks, drain_pages;
	int64_t net_pages;
	uint64_t refill_locks, drain_locks;
	uint64_t lost_events;
};

struct pcp_pair_cell {
	uint32_t refill_cpu, drain_cpu;
	uint64_t pairs, pages;
};

struct pcp_hist_bucket {
	uint64_t lo_ns, hi_ns;              /* [lo, hi) */
	uint64_t pairs, pages;
};

struct pcp_pfn_cycles {
	uint64_t pfn;
	uint32_t order;
	uint64_t cycles, cross_cpu_cycles;
	uint64_t min_round_trip_ns, max_round_trip_ns;
};

enum pcp_lock_kind { PCP_LOCK_KIND_REFILL = 0, PCP_LOCK_KIND_DRAIN = 1 };

struct pcp_zone_lock_row {
	int32_t nid, zid;                   /* -1 when inferred without a zone map */
	enum pcp_lock_kind kind;
	uint64_t acquisitions, target_pages, moved_pages;
	double per_second, peak_per_second;
};

struct pcp_timeline_row {
	uint64_t bucket_start_ns;           /* relative to first_ts_ns */
	uint32_t cpu;
	uint64_t refill_pages, drain_pages, refill_locks, drain_locks;
};

/* Zone-lock acquisitions per timeline bucket and zone row (zone_timeline.h). */
struct pcp_zone_timeline_row {
	uint64_t bucket_start_ns;           /* relative to first_ts_ns, as the timeline's */
	int32_t nid, zid;                   /* the zone_lock row's (-1: zone unknown) */
	enum pcp_lock_kind kind;
	uint64_t acquisitions;              /* started in the bucket; > 0 */
};

struct pcp_churn_results {
	uint32_t nr_cpus;
	uint64_t first_ts_ns, last_ts_ns, duration_ns;
	uint64_t events_seen;               /* every event passed to the model */
	uint64_t events_lost;               /* known counts */
	uint64_t lost_unknown_marks;        /* missed-event marks without a count */
	int lossy;
	enum pcp_lock_source lock_source;

	struct pcp_cpu_flow *cpu_flow;      /* nr_cpus entries */
	struct pcp_pair_cell *pair_matrix; size_t nr_pair_cells;
	struct pcp_hist_bucket *round_trip_hist; size_t nr_hist_buckets;
	struct pcp_pfn_cycles *pfn_cycles; size_t nr_pfn_cycles;
	struct pcp_zone_lock_row *zone_lock; size_t nr_zone_lock;
	struct pcp_timeline_row *timeline; size_t nr_timeline;
	/* by bucket, nid, zid, kind; summed over buckets = zone_lock's acquisitions */
	struct pcp_zone_timeline_row *zone_timeline; size_t nr_zone_timeline;
	struct pcp_metric *metrics; size_t nr_metrics;  /* the churn group of metric_table.h */
	struct pcp_lock_hold_results *lock_hold;        /* zone-lock hold time (lock_hold.h) */

	/* Debug counters (caller bugs or damaged input; 0 in a sane run). */
	uint64_t events_bad_cpu;            /* events/marks with cpu >= nr_cpus: ignored */
	uint64_t events_bad_order;          /* REFILL/DRAIN with order > PCP_MAX_BLOCK_ORDER: ignored */
	uint64_t cycles_saturated;          /* pairs not counted in a pfn_cycles row (> 2^32-1) */
};

struct pcp_churn_model;

/* nr_cpus: CPUs the trace declares; events with cpu >= nr_cpus are a caller bug (ignored and
 * counted in events_bad_cpu). Returns PCP_ERR_USAGE if opts->bucket_ns is 0. */
int pcp_churn_new(uint32_t nr_cpus, const struct pcp_churn_opts *opts, struct pcp_churn_model **out);
/* Hot path. Events must come in the trace's order. Every record goes here: PCP kinds are
 * analyzed, everything else (OTHER, PERCPU_*) only advances time and breaks inferred runs.
 * IGNORED events may be passed: they count for first/last ts and events_seen only (they do
 * not break inferred runs). *_LOCK events in inferred mode act as OTHER. Allocation failure
 * (table growth) is reported by pcp_churn_finish. */
void pcp_churn_event(struct pcp_churn_model *m, const struct pcp_event *ev);
/* The model's PFN table, for pcp_pair_prefetch() (pair_events.h): a caller that knows the
 * refills/drains coming next starts loading their slots (memory latency, not work, dominates
 * large tables). Prefetching has no effect on results. NULL when the pairing runs on threads
 * (pair_threads: each prefetches its own). */
struct pcp_pair_table;
const struct pcp_pair_table *pcp_churn_pair_table(const struct pcp_churn_model *m);
/* With pair_threads: work for the first pairing thread while it waits for events
 * (event_feed.h: pcp_feed_set_idle); 0 when there is no such thread. */
int pcp_churn_set_pair_idle(struct pcp_churn_model *m, int (*idle)(void *ctx), void *ctx);
/* A missed-events mark on cpu before its next record: count > 0 known, < 0 unknown. */
void pcp_churn_missed(struct pcp_churn_model *m, uint32_t cpu, int64_t count);
/* The zone-lock acquisition (native lock event or inferred run) that the latest record on cpu
 * belongs to, for lock_cause.h: 1 and *op filled when that record was a refill, drain or
 * zone-lock record of an acquisition with a zone row; 0 when another record (or a missed-events
 * mark) came after it, or none. seq numbers acquisitions from 1 in the order they began. */
struct pcp_churn_op {
	uint64_t seq;
	enum pcp_lock_kind kind;
	int32_t nid, zid;
};
int pcp_churn_current_op(const struct pcp_churn_model *m, uint32_t cpu, struct pcp_churn_op *op);
/* Live readers (pcpstat, lib/live/): the counts so far, the model untouched. out gets nr_cpus
 * entries: the CPU's flow, and the pairs drained on it (cross: refilled on another CPU). */
struct pcp_churn_live_cpu {
	struct pcp_cpu_flow flow;
	uint64_t pairs, cross_pairs;
};
void pcp_churn_peek(const struct pcp_churn_model *m, struct pcp_churn_live_cpu *out);
/* The zone rows so far (acquisitions, pages; per_second not set), up to cap copied into out;
 * returns how many there are. */
size_t pcp_churn_peek_zones(const struct pcp_churn_model *m, struct pcp_zone_lock_row *out,
			    size_t cap);
int pcp_churn_finish(struct pcp_churn_model *m, struct pcp_churn_results **out);
void pcp_churn_free(struct pcp_churn_model *m);
void pcp_churn_results_free(struct pcp_churn_results *r);
/* The metric called name, or NULL. */
const struct pcp_metric *pcp_churn_metric(const struct pcp_churn_results *r, const char *name);

#endif
