/* Zone-lock hold time (issue 11, "Zone-lock hold time"): per acquisition, the time from its
 * start to its last attributed block, per zone and kind; hold-time and pages-per-acquisition
 * histograms; the pageset batch; the N longest acquisitions. Fed by the churn model, which
 * decides what an acquisition is and which blocks belong to it (zone_lock.moved_pages'
 * attribution). Computes only. Definitions: docs/METRICS.md, "Zone-lock hold time". */
#ifndef PCPTRACE_LOCK_HOLD_H
#define PCPTRACE_LOCK_HOLD_H

#include <stddef.h>
#include <stdint.h>
#include "events/event.h"
#include "model/churn.h"

struct pcp_meta;
struct pcp_timeline_sink;

struct pcp_lock_hold_opts {
	unsigned top_n;                     /* rows of the longest-acquisitions table */
	int no_time_base;                   /* every hold time undefined: NAN, no hist, no rows */
	int inferred;                       /* acquisitions start at their first block: lower bound */
	const struct pcp_meta *meta;        /* the before snapshot's pageset batch; NULL: none */
	const struct pcp_timeline_sink *sink; /* every closed acquisition (timeline_sink.h); NULL */
};

/* One row of zone_lock_hold. */
struct pcp_lock_hold_row {
	int32_t nid, zid;
	enum pcp_lock_kind kind;
	uint64_t acquisitions;              /* all, as zone_lock counts them */
	uint64_t empty_acquisitions;        /* no attributed block: no hold time */
	double hold_p50_ns, hold_p99_ns, hold_max_ns;   /* NAN: undefined */
	int64_t batch;                      /* the zone's pageset batch; -1 unknown */
	uint64_t at_batch_acquisitions;     /* attributed pages >= batch (batch known) */
	double at_batch_share;              /* at_batch / acquisitions; NAN when batch unknown */
};

/* A log2 bucket of one kind: hold time in ns [lo, hi), or attributed pages [lo, hi). */
struct pcp_lock_hold_bucket {
	enum pcp_lock_kind kind;
	uint64_t lo, hi, acquisitions;
};

/* One of the N longest acquisitions. */
struct pcp_lock_hold_acq {
	uint64_t ts_ns;                     /* start: the lock event, inferred: the first block */
	uint32_t cpu;
	int32_t pid;                        /* -1: no common_pid */
	char comm[32];                      /* from the trace's cmdlines (filled by the analysis);
					     * "" when unknown */
	enum pcp_lock_kind kind;
	int32_t nid, zid;
	uint64_t blocks, pages, hold_ns;
};

struct pcp_lock_hold_results {
	int lower_bound;                    /* inferred acquisitions: 1 */
	int no_time_base;
	struct pcp_lock_hold_row *rows; size_t nr_rows;             /* by nid, zid, kind */
	struct pcp_lock_hold_bucket *hold_hist; size_t nr_hold_hist; /* by kind, lo */
	struct pcp_lock_hold_bucket *pages_hist; size_t nr_pages_hist;
	struct pcp_lock_hold_acq *longest; size_t nr_longest;       /* hold desc, ts, cpu, kind */
	/* over all zones, per pcp_lock_kind */
	uint64_t acquisitions[2], empty_acquisitions[2];
	uint64_t batch_known[2], at_batch[2];   /* acquisitions of a zone with a known batch */
	double hold_p50_ns[2], hold_p99_ns[2], hold_max_ns[2];    /* NAN: undefined */
};

/* The open acquisition of one (CPU, kind): the per-block update is inline (hot path). */
struct pcp_lock_hold_slot {
	uint8_t open;
	int32_t row;
	int32_t pid;
	uint64_t start_ts, last_ts, blocks, pages;
};

struct pcp_lock_hold {
	uint32_t nr_cpus;
	struct pcp_lock_hold_slot *slots;   /* [cpu * 2 + kind] */
	struct pcp_lock_hold_opts opts;
	int err;
	void *priv;                         /* lock_hold.c's state */
};

int pcp_lock_hold_new(uint32_t nr_cpus, const struct pcp_lock_hold_opts *opts,
		      struct pcp_lock_hold **out);
void pcp_lock_hold_free(struct pcp_lock_hold *h);
/* An acquisition of (nid, zid) by cpu starts at ts (closing that CPU's previous one of kind). */
void pcp_lock_hold_start(struct pcp_lock_hold *h, uint32_t cpu, enum pcp_lock_kind kind,
			 int32_t nid, int32_t zid, uint64_t ts, int32_t pid);
/* A missed-events mark on cpu: its open acquisitions end here (their hold so far stays, a lower
 * bound); blocks after it belong to no acquisition until the next start. */
void pcp_lock_hold_cut(struct pcp_lock_hold *h, uint32_t cpu);
/* A block attributed to cpu's open acquisition of kind (none open: nothing). */
static inline void pcp_lock_hold_block(struct pcp_lock_hold *h, uint32_t cpu,
				       enum pcp_lock_kind kind, uint64_t ts, uint64_t pages)
{
	struct pcp_lock_hold_slot *s = &h->slots[cpu * 2u + (unsigned)kind];

	if (!s->open)
		return;
	s->blocks++;
	s->pages += pages;
	s->last_ts = ts;
}
/* Closes what is open and builds the results. */
int pcp_lock_hold_finish(struct pcp_lock_hold *h, struct pcp_lock_hold_results **out);
void pcp_lock_hold_results_free(struct pcp_lock_hold_results *r);
/* The pageset batch of zone (nid, zid) in the meta's before snapshot, all CPUs agreeing; -1
 * otherwise. A meta without zid names a zone by its index among its node's zones. */
int64_t pcp_lock_hold_batch(const struct pcp_meta *meta, int32_t nid, int32_t zid);

#endif
