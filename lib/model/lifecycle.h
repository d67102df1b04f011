/* The page lifecycle model (issue 11): every block (head PFN) followed through the PCP lists,
 * buddy -> (refill) -> PCP list -> (alloc) -> in use -> (free) -> PCP list -> (drain) -> buddy.
 * Fed the same decoded stream as the churn model plus PAGE_ALLOC, PAGE_FREE and ZONE_LOCKED
 * (pcp_kmem_parser_enable_lifecycle), in timestamp order. It computes only. Every rule is in
 * docs/METRICS.md, "Lifecycle": that section is the contract (round-trip phases included).
 *
 * Memory: a block table hashed like pair_events.c's (open addressing, 48 bytes per distinct
 * block ever seen, no removal, growth by 1.5x with the old table given back while it is read),
 * a task table (one entry per pid) and fixed per-CPU state; nothing per event. */
#ifndef PCPTRACE_LIFECYCLE_H
#define PCPTRACE_LIFECYCLE_H

#include <stddef.h>
#include <stdint.h>
#include "events/event.h"
#include "model/churn.h"

struct pcp_lifecycle_opts {
	unsigned page_shift;                /* log2 of the page size; default 12 (4 KiB). The PMD
					     * order pcp_allowed_order() admits is page_shift - 3 */
	const int64_t *start_pages;         /* nr_cpus values: the before snapshot's pageset count
					     * of each CPU summed over zones; NULL: no snapshot,
					     * occupancy starts at 0 and is a change, not a level */
	const int64_t *end_pages;           /* the after snapshot's, likewise; NULL: none */
	int no_time_base;                   /* timestamps are not ns: residencies and the
					     * time-weighted means are undefined (NAN) */
	uint64_t bucket_ns;                 /* occupancy timeline bucket; default 10000000 (as
					     * the churn timeline's), 0 is PCP_ERR_USAGE */
};

void pcp_lifecycle_opts_default(struct pcp_lifecycle_opts *o);

/* 1 when a block of this order can sit on a PCP list: the kernel's pcp_allowed_order(),
 * order <= PAGE_ALLOC_COSTLY_ORDER (3) or the PMD order (page_shift - 3). */
int pcp_lifecycle_pcp_allowed_order(uint32_t order, unsigned page_shift);

enum pcp_lc_exit { PCP_LC_EXIT_ALLOC = 0, PCP_LC_EXIT_DRAIN = 1, PCP_LC_NR_EXITS = 2 };

/* The phases of a refill-to-drain round trip (pair_events.c's pairing) that the lifecycle
 * events split (docs/METRICS.md, "Round-trip phases"). */
enum pcp_lc_phase {
	PCP_LC_PHASE_WAIT_BEFORE_ALLOC = 0, /* refill -> first alloc of the block */
	PCP_LC_PHASE_IN_USE,                /* sum of alloc -> free */
	PCP_LC_PHASE_WAIT_BETWEEN_USES,     /* sum of free -> next alloc (only with 2+ uses) */
	PCP_LC_PHASE_WAIT_AFTER_FREE,       /* last free -> drain */
	PCP_LC_NR_PHASES
};
const char *pcp_lc_phase_name(enum pcp_lc_phase p);   /* "wait_before_alloc", ... */
const char *pcp_lc_exit_name(enum pcp_lc_exit x);     /* "alloc", "drain" */

/* lifecycle_residency_hist's rows: both exit kinds in one array (exit, then lo order). */
struct pcp_lc_residency_row {
	uint32_t exit_kind;                 /* enum pcp_lc_exit */
	uint64_t lo_ns, hi_ns, stays, pages;
};

struct pcp_lc_phase_bucket {
	uint32_t phase;                     /* enum pcp_lc_phase */
	uint64_t lo_ns, hi_ns;              /* log2 bucket as round_trip_hist */
	uint64_t round_trips;
};

/* One row per CPU. Blocks unless said; "pages" are 2^order per block. */
struct pcp_lc_cpu_flow {
	uint64_t pcp_allocs, buddy_allocs;  /* mm_page_alloc on this CPU, classified */
	uint64_t unclassified_allocs;       /* orders that cannot use a PCP list */
	uint64_t free_entries;              /* frees on this CPU that put a block on its list */
	uint64_t buddy_frees;               /* frees of orders that go to the buddy allocator */
	uint64_t refill_blocks, refill_pages;
	uint64_t drain_blocks, drain_pages; /* drains run on this CPU */
	uint64_t unused_refills;            /* refilled on this CPU, drained with no alloc between */
	uint64_t remote_drains;             /* blocks of this CPU's lists drained by another CPU */
	int64_t occ_start, occ_min, occ_max, occ_end;   /* pages on this CPU's PCP lists */
	double occ_mean;                    /* time-weighted over [first_ts, last_ts]; NAN when
					     * there is no time base or no duration */
	int has_snapshot_end;               /* opts.end_pages given */
	int64_t snapshot_end, end_diff;     /* the after snapshot's count; occ_end - snapshot_end */
};

/* Occupancy timeline: one row per (bucket, CPU) in which that CPU's occupancy changed, in
 * bucket then CPU order; in a bucket without a row the CPU kept the previous row's occ_end. */
struct pcp_lc_occ_row {
	uint64_t bucket_start_ns;           /* relative to first_ts_ns (k * bucket) */
	uint32_t cpu;
	uint64_t changes;                   /* occupancy changes in the bucket */
	int64_t occ_min, occ_max;           /* over the bucket, the level it entered with included */
	int64_t occ_end;                    /* after the bucket's last change */
	double occ_mean;                    /* time-weighted over the bucket's part of [first_ts,
					     * last_ts]; NAN when that is empty or no time base */
};

struct pcp_lc_task {
	int32_t pid;                        /* -1: records without common_pid */
	uint64_t refill_blocks, refill_pages, drain_blocks, drain_pages;
	uint64_t lock_acquisitions;         /* native REFILL_LOCK + DRAIN_LOCK events */
	uint64_t allocs, pcp_allocs, buddy_allocs, frees, free_entries;
};

/* Debug / consistency counters: what the model met that the kernel's rules say cannot
 * happen with a complete trace (lost events, blocks already listed at the start). */
struct pcp_lc_anomalies {
	uint64_t refill_while_listed;       /* refill (or free entry) of a block already on a list */
	uint64_t alloc_other_cpu;           /* PCP alloc of a block listed on another CPU */
	uint64_t drain_not_listed;          /* drain of a block known to be in use or in the buddy */
	uint64_t free_not_in_use;           /* free of a block known to be on a list or in buddy */
	uint64_t bad_order;                 /* block events with order > PCP_MAX_BLOCK_ORDER
					     * (32): ignored */
	uint64_t bad_cpu;                   /* events with cpu >= nr_cpus: ignored */
};

struct pcp_lifecycle_results {
	uint32_t nr_cpus;
	unsigned page_shift;                /* the option used */
	uint64_t first_ts_ns, last_ts_ns;
	int occupancy_is_level;             /* started from a snapshot (else a change from 0) */
	uint64_t allocs, frees, failed_allocs_ignored;

	/* totals over CPUs, blocks */
	uint64_t pcp_allocs, buddy_allocs, unclassified_allocs;
	uint64_t free_entries, buddy_frees, refill_blocks, drain_blocks;
	uint64_t unused_refills;
	uint64_t drains_owner_known, remote_drains, drains_owner_unknown;
	uint64_t allocs_pcp_unseen;         /* PCP allocs of blocks not seen entering a list */
	uint64_t buddy_allocs_untraced;     /* of buddy_allocs: blocks the model had in the buddy
					     * allocator, allocated with no zone_locked record
					     * (compaction's capture) */
	uint64_t refill_acquisitions, drain_acquisitions;   /* used by the ratios */
	uint64_t stays[PCP_LC_NR_EXITS];    /* stays with entry and exit in the trace */

	struct pcp_lc_cpu_flow *cpu_flow;   /* nr_cpus rows */
	struct pcp_lc_task *tasks; size_t nr_tasks;         /* ascending pid */
	struct pcp_lc_occ_row *occ_timeline; size_t nr_occ_timeline;
	struct pcp_hist_bucket *residency_hist[PCP_LC_NR_EXITS]; /* non-empty log2 buckets,
					     * 'pairs' = stays */
	size_t nr_residency_hist[PCP_LC_NR_EXITS];
	struct pcp_lc_residency_row *residency; size_t nr_residency;   /* the same, one table */
	double residency_p50_ns[PCP_LC_NR_EXITS], residency_p99_ns[PCP_LC_NR_EXITS];

	/* the draft metrics of docs/METRICS.md; undefined = NAN, never 0 */
	double m_buddy_allocs, m_pcp_allocs;
	double alloc_refill_ratio, free_drain_ratio, unused_refill_ratio, free_entry_share;
	double remote_drain_ratio, pcp_residency_p50_ns, pcp_residency_p99_ns;
	double mean_pcp_pages, occupancy_error_pages;

	struct pcp_lc_anomalies anomalies;

	/* the round-trip split: pairs (refill -> drain of one block) by what happened between */
	uint64_t rt_split;                  /* used at least once, every phase seen */
	uint64_t rt_unused;                 /* never allocated in between (an unused refill) */
	uint64_t rt_unsplit;                /* the events between do not follow the rules */
	struct pcp_lc_phase_bucket *rt_phase_hist; size_t nr_rt_phase_hist;  /* phase, lo order */
	double rt_phase_p50_ns[PCP_LC_NR_PHASES];   /* over split round trips; NAN: none */

	/* the lifecycle group of metric_table.h in table order; occupancy_error_pages only when
	 * both snapshots were given */
	struct pcp_metric *metrics; size_t nr_metrics;
	/* per task (same index as tasks): its comm from the trace's cmdlines, NULL if unknown;
	 * filled by the analysis (analyze.c), freed with the results */
	char **task_comm;
};

struct pcp_lifecycle_model;

/* nr_cpus: CPUs the trace declares. opts NULL: the defaults. The snapshot arrays are copied.
 * PCP_ERR_USAGE when opts->bucket_ns is 0. */
int pcp_lifecycle_new(uint32_t nr_cpus, const struct pcp_lifecycle_opts *opts,
		      struct pcp_lifecycle_model **out);
/* Hot path. Every record in the trace's order (like pcp_churn_event): REFILL, DRAIN,
 * REFILL_LOCK, DRAIN_LOCK, PAGE_ALLOC, PAGE_FREE, ZONE_LOCKED are used, every other kind only
 * advances time. The model takes each event a few events later (a prefetch pipe): its state
 * is complete only in finish. Allocation failure (table growth) is reported by finish. */
void pcp_lifecycle_event(struct pcp_lifecycle_model *m, const struct pcp_event *ev);
/* Hot path of a model fed in batches (lifecycle_feed.c), instead of pcp_lifecycle_event:
 * the caller has the events ahead in memory, so it prefetches a block's home slot a few
 * events before it hands the event over (prefetch), and the event is taken at once
 * (event_now): the pipe's copy of each event cost as much as the model. Not mixed with
 * pcp_lifecycle_event on one model. */
void pcp_lifecycle_prefetch(const struct pcp_lifecycle_model *m, uint64_t pfn);
void pcp_lifecycle_event_now(struct pcp_lifecycle_model *m, const struct pcp_event *ev);

/* PFN shards (pcpanalyze -j N, lifecycle_feed.h). Each event has a block part (the block's
 * state, stays, round trips, the owner's counters) and an order part (time, counts per CPU and
 * task, occupancy levels, areas and timeline, which need every change in the trace's order).
 * A shard runs the block parts of the blocks of its PFNs (the low bits of the 8-PFN group:
 * pair_shards.c's rule) and writes the occupancy changes it finds into the event's delta; the
 * model runs every order part with those deltas, in order. Merged at the end, the results are
 * the one model's, bit for bit: sums of integers, maxima, and the same changes in the same
 * order. nr_shards a power of two; the shard copies m's options. */
struct pcp_lc_delta {
	int64_t pages[2];                   /* the changes in order; 0: none */
	uint32_t cpu[2];
	uint32_t buddy_untraced;            /* an alloc the block's state makes a buddy one */
};
/* The shard of a block: the low bits of its group of 8 PFNs (pair_events.h's group; the
 * hash's top bits pick the home group inside each shard's table). */
static inline unsigned pcp_lc_shard_of(uint64_t pfn, unsigned nr_shards)
{
	return (unsigned)((pfn >> 3) & (nr_shards - 1));
}
int pcp_lifecycle_new_shard(const struct pcp_lifecycle_model *m, unsigned shard, unsigned nr_shards,
			    struct pcp_lifecycle_model **out);
/* 1 when the event's block part is this shard's (it then writes the event's delta). */
int pcp_lifecycle_is_own(const struct pcp_lifecycle_model *s, const struct pcp_event *ev);
/* Every event, in order (a shard keeps each CPU's zone_locked state, which classifies allocs);
 * d is written (whole) for the shard's own events only. */
void pcp_lifecycle_shard_event(struct pcp_lifecycle_model *s, const struct pcp_event *ev,
			       struct pcp_lc_delta *d);
/* The order part of every event, in order, with the delta its shard wrote (read for the
 * shards' own events only; NULL for other events). Not mixed with pcp_lifecycle_event. */
void pcp_lifecycle_order_event(struct pcp_lifecycle_model *m, const struct pcp_event *ev,
			       const struct pcp_lc_delta *d);
/* After the last event: the shard's sums into m (then free the shard). */
void pcp_lifecycle_merge_shard(struct pcp_lifecycle_model *m, const struct pcp_lifecycle_model *s);
/* churn: the churn model's results of the same trace, whose zone_lock rows give the refill
 * and drain acquisitions (native or inferred, one definition); NULL: the native *_LOCK events
 * the lifecycle model counted itself. */
int pcp_lifecycle_finish(struct pcp_lifecycle_model *m, const struct pcp_churn_results *churn,
			 struct pcp_lifecycle_results **out);
void pcp_lifecycle_free(struct pcp_lifecycle_model *m);
/* Live readers (pcpstat): each CPU's occupancy now (pages on its lists: a level when the
 * model started from a snapshot, else the change since the start), nr_cpus values. */
void pcp_lifecycle_peek_occupancy(struct pcp_lifecycle_model *m, int64_t *pages);
void pcp_lifecycle_results_free(struct pcp_lifecycle_results *r);

#endif
