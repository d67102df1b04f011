/* The PCP churn model: per-CPU flow, pairing aggregates, histograms, zone lock, timeline and
 * the headline metrics, exactly as docs/METRICS.md defines them.
 *
 * Memory does not grow with trace length: everything per event is a fixed-size counter update,
 * except the PFN table (pair_events.c, grows with distinct PFNs), the timeline (grows with
 * duration / bucket) and the zone rows (grow with distinct (nid, zid, kind)). No per-pair
 * storage: percentiles come from a fine histogram. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/histogram.h"
#include "model/churn.h"
#include "model/lock_hold.h"
#include "common/error.h"
#include "model/pair_shards.h"
#include "model/zone_map.h"
#include "model/zone_timeline.h"

enum { RUN_NONE = 0, RUN_REFILL, RUN_DRAIN };

struct cpu_state {
	struct pcp_cpu_flow flow;
	int32_t lock_row[2];            /* native: row of the latest acquisition per kind, -1 none */
	uint8_t run;                    /* inferred: RUN_* of the previous record on this CPU */
	uint64_t run_last_ts;           /* inferred: timestamp of that record */
	int32_t run_nid, run_zid;       /* inferred: zone of the current acquisition */
	int32_t run_row;                /* inferred: its zone row, -1 none */
	uint8_t tl_dirty;               /* has values in the current timeline bucket */
	/* lock_cause.h: the acquisition of each kind this CPU made last, and the kind (+1) of its
	 * latest refill/drain/zone-lock record, 0 when another record came after it */
	uint64_t op_seq[2];
	int32_t op_row[2];
	uint8_t op_last;
	uint64_t tl_refill_pages, tl_drain_pages, tl_refill_locks, tl_drain_locks;
};

struct zone_row {
	struct pcp_zone_lock_row row;   /* per_second / peak_per_second filled at finish */
	uint64_t cur_bucket, cur_count, max_count;
};

struct pcp_churn_model {
	uint32_t nr_cpus;
	struct pcp_churn_opts opts;
	int native_locks;
	int err;                        /* first allocation failure, reported by finish */

	struct cpu_state *cpus;
	struct pcp_pair_shards *pairing;    /* pairs and their sums (pair_shards.h) */

	/* time */
	uint64_t events_seen, first_ts, last_ts;
	uint64_t origin;                /* ts of the first event: bucket k starts at origin + k b */
	uint64_t cur_bucket, bucket_end;
	int seen_block;                 /* any refill or drain */

	/* loss and debug */
	uint64_t events_lost, lost_unknown_marks;
	int lossy;
	uint64_t bad_cpu, bad_order;
	uint64_t op_counter;            /* acquisitions numbered from 1 (pcp_churn_current_op) */

	/* zone lock */
	struct zone_row *zones;
	size_t nr_zones, cap_zones;
	struct pcp_zone_timeline zone_tl;   /* per bucket and zone row (zone_timeline.h) */

	/* timeline */
	struct pcp_timeline_row *timeline;
	size_t nr_timeline, cap_timeline;
	uint32_t *dirty_cpus;
	size_t nr_dirty;

	struct pcp_lock_hold *hold;     /* zone-lock hold time, fed below */
};

void pcp_churn_opts_default(struct pcp_churn_opts *o)
{
	o->churn_window_ns = 1000000;
	o->bucket_ns = 10000000;
	o->top_n = 100;
	o->infer_gap_ns[PCP_LOCK_KIND_REFILL] = o->infer_gap_ns[PCP_LOCK_KIND_DRAIN] = 2000;
	o->lock_source = PCP_LOCK_NONE;
	o->no_time_base = 0;
	o->zone_map = NULL;
	o->meta = NULL;
	o->sink = NULL;
	o->pair_threads = 0;
}

int pcp_churn_new(uint32_t nr_cpus, const struct pcp_churn_opts *opts, struct pcp_churn_model **out)
{
	struct pcp_churn_model *m;
	size_t n = nr_cpus ? nr_cpus : 1;

	*out = NULL;
	if (!opts || opts->bucket_ns == 0)
		return PCP_ERR_USAGE;
	m = calloc(1, sizeof(*m));
	if (!m)
		return PCP_ERR_NOMEM;
	m->nr_cpus = nr_cpus;
	m->opts = *opts;
	m->native_locks = opts->lock_source == PCP_LOCK_NATIVE;
	m->cpus = calloc(n, sizeof(*m->cpus));
	m->dirty_cpus = calloc(n, sizeof(*m->dirty_cpus));
	struct pcp_lock_hold_opts hopts = { opts->top_n, opts->no_time_base, !m->native_locks,
					    opts->meta, opts->sink };
	if (!m->cpus || !m->dirty_cpus ||
	    pcp_pair_shards_new(nr_cpus, opts->churn_window_ns, opts->pair_threads, &m->pairing) ||
	    pcp_lock_hold_new(nr_cpus, &hopts, &m->hold)) {
		pcp_churn_free(m);
		return PCP_ERR_NOMEM;
	}
	for (uint32_t c = 0; c < nr_cpus; c++) {
		m->cpus[c].lock_row[0] = m->cpus[c].lock_row[1] = -1;
		m->cpus[c].run_row = -1;
		m->cpus[c].op_row[0] = m->cpus[c].op_row[1] = -1;
	}
	*out = m;
	return PCP_OK;
}

void pcp_churn_free(struct pcp_churn_model *m)
{
	if (!m)
		return;
	free(m->cpus);
	free(m->dirty_cpus);
	free(m->zones);
	pcp_zone_timeline_free(&m->zone_tl);
	free(m->timeline);
	pcp_lock_hold_free(m->hold);
	pcp_pair_shards_free(m->pairing);
	free(m);
}

static int cmp_u32(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	return (a > b) - (a < b);
}

/* Appends the current bucket's non-zero (cpu) rows, in CPU order, and clears them. */
static void flush_timeline(struct pcp_churn_model *m)
{
	if (m->nr_dirty == 0)
		return;
	qsort(m->dirty_cpus, m->nr_dirty, sizeof(*m->dirty_cpus), cmp_u32);
	if (m->nr_timeline + m->nr_dirty > m->cap_timeline) {
		size_t cap = m->cap_timeline ? m->cap_timeline : 64;
		struct pcp_timeline_row *t;

		while (cap < m->nr_timeline + m->nr_dirty)
			cap *= 2;
		t = realloc(m->timeline, cap * sizeof(*t));
		if (!t)
			m->err = PCP_ERR_NOMEM;
		else {
			m->timeline = t;
			m->cap_timeline = cap;
		}
	}
	for (size_t i = 0; i < m->nr_dirty; i++) {
		struct cpu_state *cs = &m->cpus[m->dirty_cpus[i]];

		if (m->nr_timeline < m->cap_timeline) {
			struct pcp_timeline_row *r = &m->timeline[m->nr_timeline++];

			r->bucket_start_ns = m->cur_bucket * m->opts.bucket_ns;
			r->cpu = m->dirty_cpus[i];
			r->refill_pages = cs->tl_refill_pages;
			r->drain_pages = cs->tl_drain_pages;
			r->refill_locks = cs->tl_refill_locks;
			r->drain_locks = cs->tl_drain_locks;
		}
		cs->tl_dirty = 0;
		cs->tl_refill_pages = cs->tl_drain_pages = 0;
		cs->tl_refill_locks = cs->tl_drain_locks = 0;
	}
	m->nr_dirty = 0;
}

/* End of bucket b: origin + (b + 1) * bucket, saturating. */
static uint64_t bucket_end(const struct pcp_churn_model *m, uint64_t b)
{
	uint64_t bn = m->opts.bucket_ns;

	if (b + 1 > (UINT64_MAX - m->origin) / bn)
		return UINT64_MAX;
	return m->origin + (b + 1) * bn;
}

/* Rare path: ts left the current bucket. Events come in time order, so buckets only advance;
 * an earlier ts (caller bug) is kept in the current bucket. */
static void advance_bucket(struct pcp_churn_model *m, uint64_t ts)
{
	uint64_t b = (ts - m->origin) / m->opts.bucket_ns;

	if (b == m->cur_bucket)
		return;
	flush_timeline(m);
	m->cur_bucket = b;
	m->bucket_end = bucket_end(m, b);
}

static inline struct cpu_state *tl_touch(struct pcp_churn_model *m, uint32_t cpu)
{
	struct cpu_state *cs = &m->cpus[cpu];

	if (!cs->tl_dirty) {
		cs->tl_dirty = 1;
		m->dirty_cpus[m->nr_dirty++] = cpu;
	}
	return cs;
}

static int32_t zone_row_index(struct pcp_churn_model *m, int32_t nid, int32_t zid,
			      enum pcp_lock_kind kind)
{
	struct zone_row *z;

	for (size_t i = 0; i < m->nr_zones; i++) {
		const struct pcp_zone_lock_row *r = &m->zones[i].row;

		if (r->nid == nid && r->zid == zid && r->kind == kind)
			return (int32_t)i;
	}
	if (m->nr_zones == m->cap_zones) {
		size_t cap = m->cap_zones ? m->cap_zones * 2 : 16;

		z = realloc(m->zones, cap * sizeof(*z));
		if (!z) {
			m->err = PCP_ERR_NOMEM;
			return -1;
		}
		m->zones = z;
		m->cap_zones = cap;
	}
	z = &m->zones[m->nr_zones];
	memset(z, 0, sizeof(*z));
	z->row.nid = nid;
	z->row.zid = zid;
	z->row.kind = kind;
	z->cur_bucket = m->cur_bucket;
	return (int32_t)m->nr_zones++;
}

/* One acquisition of row idx by cpu, started now (in the current bucket). */
static void zone_acquire(struct pcp_churn_model *m, int32_t idx, uint32_t cpu,
			 enum pcp_lock_kind kind)
{
	struct zone_row *z = &m->zones[idx];
	struct cpu_state *cs = tl_touch(m, cpu);

	z->row.acquisitions++;
	cs->op_seq[kind] = ++m->op_counter;
	cs->op_row[kind] = idx;
	if (z->cur_bucket != m->cur_bucket) {
		if (z->cur_count > z->max_count)
			z->max_count = z->cur_count;
		pcp_zone_timeline_add(&m->zone_tl, z->cur_bucket * m->opts.bucket_ns, z->row.nid,
				      z->row.zid, z->row.kind, z->cur_count);
		z->cur_count = 0;
		z->cur_bucket = m->cur_bucket;
	}
	z->cur_count++;
	if (kind == PCP_LOCK_KIND_REFILL) {
		cs->flow.refill_locks++;
		cs->tl_refill_locks++;
	} else {
		cs->flow.drain_locks++;
		cs->tl_drain_locks++;
	}
}

static void on_lock(struct pcp_churn_model *m, uint32_t cpu, const struct pcp_event *ev,
		    enum pcp_lock_kind kind)
{
	const struct pcp_zone_lock_op *op = &ev->lock;
	int32_t idx = zone_row_index(m, op->nid, op->zid, kind);

	if (idx < 0)
		return;
	pcp_lock_hold_start(m->hold, cpu, kind, op->nid, op->zid, ev->ts_ns, ev->pid);
	m->zones[idx].row.target_pages += op->nr_pages;
	m->cpus[cpu].lock_row[kind] = idx;
	zone_acquire(m, idx, cpu, kind);
}

static void on_block(struct pcp_churn_model *m, uint32_t cpu, const struct pcp_event *ev,
		     enum pcp_lock_kind kind)
{
	const struct pcp_page_block *b = &ev->block;
	struct cpu_state *cs;
	uint64_t pages;

	if (b->order > PCP_MAX_BLOCK_ORDER) {
		m->bad_order++;
		m->cpus[cpu].run = RUN_NONE;
		return;
	}
	pages = UINT64_C(1) << b->order;
	cs = tl_touch(m, cpu);
	m->seen_block = 1;
	if (kind == PCP_LOCK_KIND_REFILL) {
		cs->flow.refill_blocks++;
		cs->flow.refill_pages += pages;
		cs->tl_refill_pages += pages;
	} else {
		cs->flow.drain_blocks++;
		cs->flow.drain_pages += pages;
		cs->tl_drain_pages += pages;
	}

	if (m->native_locks) {
		int32_t idx = cs->lock_row[kind];

		if (idx >= 0) {
			m->zones[idx].row.moved_pages += pages;
			pcp_lock_hold_block(m->hold, cpu, kind, ev->ts_ns, pages);
		}
	} else {
		uint8_t run = kind == PCP_LOCK_KIND_REFILL ? RUN_REFILL : RUN_DRAIN;
		int32_t idx, nid = -1, zid = -1;

		if (m->opts.zone_map)
			pcp_zone_of(m->opts.zone_map, b->pfn, &nid, &zid);
		/* A pause inside one bulk operation (zone->lock held, IRQs off) is short; a
		 * longer one means the list was refilled/drained again. One bulk operation holds
		 * one zone's lock: a block of another zone is another acquisition. */
		if (cs->run != run ||
		    (m->opts.infer_gap_ns[kind] && ev->ts_ns > cs->run_last_ts + m->opts.infer_gap_ns[kind]) ||
		    nid != cs->run_nid || zid != cs->run_zid) {
			idx = zone_row_index(m, nid, zid, kind);
			if (idx >= 0) {
				zone_acquire(m, idx, cpu, kind);
				pcp_lock_hold_start(m->hold, cpu, kind, nid, zid, ev->ts_ns, ev->pid);
			}
			cs->run_row = idx;
			cs->run_nid = nid;
			cs->run_zid = zid;
		} else {
			idx = cs->run_row;
		}
		if (idx >= 0) {
			m->zones[idx].row.target_pages += pages;
			m->zones[idx].row.moved_pages += pages;
			pcp_lock_hold_block(m->hold, cpu, kind, ev->ts_ns, pages);
		}
		cs->run = run;
		cs->run_last_ts = ev->ts_ns;
	}

	pcp_pair_shards_block(m->pairing, kind == PCP_LOCK_KIND_DRAIN, b->pfn, b->order, cpu, ev->ts_ns);
}

void pcp_churn_event(struct pcp_churn_model *m, const struct pcp_event *ev)
{
	uint32_t cpu = ev->cpu;
	uint64_t ts = ev->ts_ns;

	if (cpu >= m->nr_cpus) {
		m->bad_cpu++;
		return;
	}
	if (m->events_seen++ == 0) {
		m->first_ts = m->last_ts = m->origin = ts;
		m->cur_bucket = 0;
		m->bucket_end = bucket_end(m, 0);
	} else {
		if (ts < m->first_ts)
			m->first_ts = ts;
		if (ts > m->last_ts)
			m->last_ts = ts;
		if (ts >= m->bucket_end)
			advance_bucket(m, ts);
	}

	switch (ev->kind) {
	case PCP_EV_REFILL:
		on_block(m, cpu, ev, PCP_LOCK_KIND_REFILL);
		m->cpus[cpu].op_last = 1 + PCP_LOCK_KIND_REFILL;
		break;
	case PCP_EV_DRAIN:
		on_block(m, cpu, ev, PCP_LOCK_KIND_DRAIN);
		m->cpus[cpu].op_last = 1 + PCP_LOCK_KIND_DRAIN;
		break;
	case PCP_EV_REFILL_LOCK:
	case PCP_EV_DRAIN_LOCK:
		if (m->native_locks) {
			enum pcp_lock_kind k = ev->kind == PCP_EV_REFILL_LOCK ? PCP_LOCK_KIND_REFILL
									      : PCP_LOCK_KIND_DRAIN;
			on_lock(m, cpu, ev, k);
			m->cpus[cpu].op_last = (uint8_t)(1 + k);
		} else {
			m->cpus[cpu].run = RUN_NONE;
			m->cpus[cpu].op_last = 0;
		}
		break;
	case PCP_EV_IGNORED:
	case PCP_EV_STACK:              /* recorded inside the bulk operation: not a pause */
		break;
	default:                        /* OTHER, PERCPU_*: only break inferred runs */
		m->cpus[cpu].run = RUN_NONE;
		m->cpus[cpu].op_last = 0;
		break;
	}
}

const struct pcp_pair_table *pcp_churn_pair_table(const struct pcp_churn_model *m)
{
	return pcp_pair_shards_table(m->pairing);
}

int pcp_churn_set_pair_idle(struct pcp_churn_model *m, int (*idle)(void *ctx), void *ctx)
{
	return pcp_pair_shards_set_idle(m->pairing, idle, ctx);
}

void pcp_churn_missed(struct pcp_churn_model *m, uint32_t cpu, int64_t count)
{
	if (cpu >= m->nr_cpus) {
		m->bad_cpu++;
		return;
	}
	if (count == 0)
		return;
	m->lossy = 1;
	if (count > 0) {
		m->events_lost += (uint64_t)count;
		m->cpus[cpu].flow.lost_events += (uint64_t)count;
	} else {
		m->lost_unknown_marks++;
	}
	m->cpus[cpu].run = RUN_NONE;
	pcp_lock_hold_cut(m->hold, cpu);
	m->cpus[cpu].op_last = 0;
}

int pcp_churn_current_op(const struct pcp_churn_model *m, uint32_t cpu, struct pcp_churn_op *op)
{
	const struct cpu_state *cs;
	int k;

	if (cpu >= m->nr_cpus || !m->cpus[cpu].op_last)
		return 0;
	cs = &m->cpus[cpu];
	k = cs->op_last - 1;
	if (!cs->op_seq[k] || cs->op_row[k] < 0)
		return 0;
	op->seq = cs->op_seq[k];
	op->kind = (enum pcp_lock_kind)k;
	op->nid = m->zones[cs->op_row[k]].row.nid;
	op->zid = m->zones[cs->op_row[k]].row.zid;
	return 1;
}

/* Nearest rank: the smallest r with at least ceil(num/den * pairs) round trips <= r, read
 * from the fine histogram as the last value of the bucket holding that rank (capped by the
 * largest round trip seen). */
static uint64_t percentile(const struct pcp_pair_sums *ps, uint64_t num, uint64_t den)
{
	uint64_t n = ps->pairs, rank, cum = 0;

	if (n == 0)
		return 0;
	/* ceil(n * num / den) without overflow */
	rank = n / den * num + (n % den * num + den - 1) / den;
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < FINE_BUCKETS; i++) {
		cum += ps->fine[i];
		if (cum >= rank) {
			uint64_t v = fine_bucket_last(i);

			return v < ps->max_round_trip ? v : ps->max_round_trip;
		}
	}
	return ps->max_round_trip;
}

/* a / b; NAN when b is 0: an undefined value (0/0, a rate over no time) is stored as NULL and
 * shown as n/a (METRICS.md), never as a 0 that compare would take for a measurement. */
static double ratio(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

static int cmp_zone_row(const void *pa, const void *pb)
{
	const struct pcp_zone_lock_row *a = pa, *b = pb;

	if (a->nid != b->nid)
		return a->nid < b->nid ? -1 : 1;
	if (a->zid != b->zid)
		return a->zid < b->zid ? -1 : 1;
	return (a->kind > b->kind) - (a->kind < b->kind);
}

/* ---- results (metric values by id: model/metric_table.h) ---- */

/* Sums over the CPUs' flows, for the metrics. */
struct flow_totals {
	uint64_t refill_pages, drain_pages, max_refill, max_drain;
	uint64_t refill_locks, drain_locks;
};

/* Counters and time span of the trace; returns the duration in seconds for the rates, 0
 * without a time base (durations are ticks then: every rate is undefined, NAN). */
static double results_summary(const struct pcp_churn_model *m, struct pcp_churn_results *r)
{
	r->nr_cpus = m->nr_cpus;
	r->events_seen = m->events_seen;
	if (m->events_seen) {
		r->first_ts_ns = m->first_ts;
		r->last_ts_ns = m->last_ts;
		r->duration_ns = m->last_ts - m->first_ts;
	}
	r->events_lost = m->events_lost;
	r->lost_unknown_marks = m->lost_unknown_marks;
	r->lossy = m->lossy;
	if (m->native_locks)
		r->lock_source = PCP_LOCK_NATIVE;
	else
		r->lock_source = m->seen_block ? PCP_LOCK_INFERRED : PCP_LOCK_NONE;
	r->events_bad_cpu = m->bad_cpu;
	r->events_bad_order = m->bad_order;
	r->cycles_saturated = pcp_pair_shards_sums(m->pairing)->cycles_saturated;
	return m->opts.no_time_base ? 0.0 : (double)r->duration_ns / 1e9;
}

/* cpu_flow, and its sums in t. */
static int results_cpu_flow(const struct pcp_churn_model *m, struct pcp_churn_results *r,
			    struct flow_totals *t)
{
	uint32_t nc = m->nr_cpus;

	r->cpu_flow = calloc(nc ? nc : 1, sizeof(*r->cpu_flow));
	if (!r->cpu_flow)
		return PCP_ERR_NOMEM;
	for (uint32_t c = 0; c < nc; c++) {
		struct pcp_cpu_flow *f = &r->cpu_flow[c];

		*f = m->cpus[c].flow;
		f->net_pages = (int64_t)(f->refill_pages - f->drain_pages);
		t->refill_pages += f->refill_pages;
		t->drain_pages += f->drain_pages;
		t->refill_locks += f->refill_locks;
		t->drain_locks += f->drain_locks;
		if (f->refill_pages > t->max_refill)
			t->max_refill = f->refill_pages;
		if (f->drain_pages > t->max_drain)
			t->max_drain = f->drain_pages;
	}
	return PCP_OK;
}

/* pair_matrix, refill_cpu then drain_cpu order, cells with pairs only */
static int results_pair_matrix(const struct pcp_churn_model *m, struct pcp_churn_results *r)
{
	struct pcp_pair_count *const *matrix = pcp_pair_shards_sums(m->pairing)->matrix;
	uint32_t nc = m->nr_cpus;
	size_t n = 0;

	for (uint32_t a = 0; a < nc; a++)
		for (uint32_t b = 0; matrix[a] && b < nc; b++)
			n += matrix[a][b].pairs != 0;
	if (!n)
		return PCP_OK;
	r->pair_matrix = calloc(n, sizeof(*r->pair_matrix));
	if (!r->pair_matrix)
		return PCP_ERR_NOMEM;
	for (uint32_t a = 0; a < nc; a++)
		for (uint32_t b = 0; matrix[a] && b < nc; b++) {
			const struct pcp_pair_count *cell = &matrix[a][b];
			struct pcp_pair_cell *o;

			if (!cell->pairs)
				continue;
			o = &r->pair_matrix[r->nr_pair_cells++];
			o->refill_cpu = a;
			o->drain_cpu = b;
			o->pairs = cell->pairs;
			o->pages = cell->pages;
		}
	return PCP_OK;
}

/* round_trip_hist: the non-empty log2 buckets */
static int results_round_trip_hist(const struct pcp_churn_model *m, struct pcp_churn_results *r)
{
	const struct pcp_pair_sums *ps = pcp_pair_shards_sums(m->pairing);
	size_t n = 0;

	for (unsigned i = 0; i < LOG2_BUCKETS; i++)
		n += ps->hist_pairs[i] != 0;
	if (!n)
		return PCP_OK;
	r->round_trip_hist = calloc(n, sizeof(*r->round_trip_hist));
	if (!r->round_trip_hist)
		return PCP_ERR_NOMEM;
	for (unsigned i = 0; i < LOG2_BUCKETS; i++) {
		struct pcp_hist_bucket *h;

		if (!ps->hist_pairs[i])
			continue;
		h = &r->round_trip_hist[r->nr_hist_buckets++];
		h->lo_ns = i ? UINT64_C(1) << (i - 1) : 0;
		/* [2^63, 2^64) cannot say 2^64: its hi is UINT64_MAX */
		h->hi_ns = i == 0 ? 1 : i < 64 ? UINT64_C(1) << i : UINT64_MAX;
		h->pairs = ps->hist_pairs[i];
		h->pages = ps->hist_pages[i];
	}
	return PCP_OK;
}

/* zone_lock, by nid, zid, kind: rows with acquisitions, their rates over duration_s and the
 * peak timeline bucket */
static int results_zone_lock(const struct pcp_churn_model *m, struct pcp_churn_results *r,
			     double duration_s)
{
	double bucket_s = (double)m->opts.bucket_ns / 1e9;

	if (!m->nr_zones)
		return PCP_OK;
	r->zone_lock = calloc(m->nr_zones, sizeof(*r->zone_lock));
	if (!r->zone_lock)
		return PCP_ERR_NOMEM;
	for (size_t i = 0; i < m->nr_zones; i++) {
		const struct zone_row *z = &m->zones[i];
		struct pcp_zone_lock_row *o;
		uint64_t peak = z->cur_count > z->max_count ? z->cur_count : z->max_count;

		if (!z->row.acquisitions)
			continue;
		o = &r->zone_lock[r->nr_zone_lock++];
		*o = z->row;
		o->per_second = ratio((double)o->acquisitions, duration_s);
		o->peak_per_second = m->opts.no_time_base ? NAN : ratio((double)peak, bucket_s);
	}
	qsort(r->zone_lock, r->nr_zone_lock, sizeof(*r->zone_lock), cmp_zone_row);
	return PCP_OK;
}

/* zone_timeline: every zone row's open window added, then sorted */
static int results_zone_timeline(struct pcp_churn_model *m, struct pcp_churn_results *r)
{
	for (size_t i = 0; i < m->nr_zones; i++) {
		const struct zone_row *z = &m->zones[i];

		pcp_zone_timeline_add(&m->zone_tl, z->cur_bucket * m->opts.bucket_ns, z->row.nid,
				      z->row.zid, z->row.kind, z->cur_count);
	}
	return pcp_zone_timeline_take(&m->zone_tl, &r->zone_timeline, &r->nr_zone_timeline);
}

/* timeline, with the last bucket flushed */
static int results_timeline(struct pcp_churn_model *m, struct pcp_churn_results *r)
{
	flush_timeline(m);
	if (m->err)
		return m->err;
	if (!m->nr_timeline)
		return PCP_OK;
	r->timeline = malloc(m->nr_timeline * sizeof(*r->timeline));
	if (!r->timeline)
		return PCP_ERR_NOMEM;
	memcpy(r->timeline, m->timeline, m->nr_timeline * sizeof(*r->timeline));
	r->nr_timeline = m->nr_timeline;
	return PCP_OK;
}

static int build_results(struct pcp_churn_model *m, struct pcp_churn_results *r)
{
	uint32_t nc = m->nr_cpus;
	struct flow_totals t = { 0 };
	const struct pcp_pair_sums *ps = pcp_pair_shards_sums(m->pairing);
	double duration_s = results_summary(m, r);
	int err;

	if ((err = results_cpu_flow(m, r, &t)) || (err = results_pair_matrix(m, r)) ||
	    (err = results_round_trip_hist(m, r)))
		return err;
	if (pcp_pair_shards_top_cycles(m->pairing, m->opts.top_n, &r->pfn_cycles, &r->nr_pfn_cycles))
		return PCP_ERR_NOMEM;   /* pfn_cycles */
	if ((err = results_zone_lock(m, r, duration_s)) || (err = results_zone_timeline(m, r)) ||
	    (err = results_timeline(m, r)) ||
	    (err = pcp_lock_hold_finish(m->hold, &r->lock_hold)))
		return err;
	const uint64_t refill_pages = t.refill_pages, drain_pages = t.drain_pages;
	const uint64_t max_refill = t.max_refill, max_drain = t.max_drain;
	const uint64_t refill_locks = t.refill_locks, drain_locks = t.drain_locks;

	/* metrics, by id (metric_table.h: names, units and order come from there) */
	double v[PCP_METRIC_COUNT];
	for (size_t i = 0; i < PCP_METRIC_COUNT; i++)
		v[i] = NAN;
	v[PCP_METRIC_PAIRS] = (double)ps->pairs;
	v[PCP_METRIC_PAIRED_PAGES] = (double)ps->paired_pages;
	v[PCP_METRIC_CROSS_CPU_PAIRS] = (double)ps->cross_pairs;
	v[PCP_METRIC_CROSS_CPU_RATIO] = ratio((double)ps->cross_pairs, (double)ps->pairs);
	v[PCP_METRIC_UNMATCHED_DRAINS] = (double)ps->unmatched_drains;
	v[PCP_METRIC_OPEN_REFILLS] = (double)ps->nr_open;
	v[PCP_METRIC_REFILL_OVERWRITTEN] = (double)ps->refill_overwritten;
	v[PCP_METRIC_REFILL_PAGES] = (double)refill_pages;
	v[PCP_METRIC_DRAIN_PAGES] = (double)drain_pages;
	v[PCP_METRIC_CHURN_RATIO] = ratio((double)ps->paired_pages, (double)refill_pages);
	/* the churn window and round trips are in ns: undefined without a time base */
	v[PCP_METRIC_FAST_CHURN_RATIO] = m->opts.no_time_base ? NAN
		: ratio((double)ps->fast_pages, (double)refill_pages);
	v[PCP_METRIC_ROUND_TRIP_P50_NS] = ps->pairs && !m->opts.no_time_base
		? (double)percentile(ps, 50, 100) : NAN;
	v[PCP_METRIC_ROUND_TRIP_P99_NS] = ps->pairs && !m->opts.no_time_base
		? (double)percentile(ps, 99, 100) : NAN;
	/* max / mean over all nr_cpus CPUs = max * nr_cpus / total */
	v[PCP_METRIC_REFILL_IMBALANCE] = ratio((double)max_refill * nc, (double)refill_pages);
	v[PCP_METRIC_DRAIN_IMBALANCE] = ratio((double)max_drain * nc, (double)drain_pages);
	v[PCP_METRIC_REFILL_LOCKS_PER_S] = ratio((double)refill_locks, duration_s);
	v[PCP_METRIC_DRAIN_LOCKS_PER_S] = ratio((double)drain_locks, duration_s);
	v[PCP_METRIC_PAGES_PER_REFILL_LOCK] = ratio((double)refill_pages, (double)refill_locks);
	v[PCP_METRIC_PAGES_PER_DRAIN_LOCK] = ratio((double)drain_pages, (double)drain_locks);
	v[PCP_METRIC_EVENTS_LOST] = (double)m->events_lost;
	/* hold times: NAN without an acquisition with a block or without a time base */
	v[PCP_METRIC_REFILL_LOCK_HOLD_P99_NS] = r->lock_hold->hold_p99_ns[PCP_LOCK_KIND_REFILL];
	v[PCP_METRIC_DRAIN_LOCK_HOLD_P99_NS] = r->lock_hold->hold_p99_ns[PCP_LOCK_KIND_DRAIN];
	v[PCP_METRIC_REFILL_LOCK_HOLD_MAX_NS] = r->lock_hold->hold_max_ns[PCP_LOCK_KIND_REFILL];
	v[PCP_METRIC_DRAIN_LOCK_HOLD_MAX_NS] = r->lock_hold->hold_max_ns[PCP_LOCK_KIND_DRAIN];
	return pcp_metric_rows(PCP_METRIC_GROUP_CHURN, v, &r->metrics, &r->nr_metrics);
}

int pcp_churn_finish(struct pcp_churn_model *m, struct pcp_churn_results **out)
{
	struct pcp_churn_results *r;
	int err;

	*out = NULL;
	/* the pairing's threads end here, whatever else failed */
	err = pcp_pair_shards_finish(m->pairing);
	if (m->err)
		return m->err;
	if (err)
		return err;
	r = calloc(1, sizeof(*r));
	if (!r)
		return PCP_ERR_NOMEM;
	err = build_results(m, r);
	if (err) {
		pcp_churn_results_free(r);
		return err;
	}
	*out = r;
	return PCP_OK;
}

void pcp_churn_results_free(struct pcp_churn_results *r)
{
	if (!r)
		return;
	free(r->cpu_flow);
	free(r->pair_matrix);
	free(r->round_trip_hist);
	free(r->pfn_cycles);
	free(r->zone_lock);
	free(r->timeline);
	free(r->zone_timeline);
	free(r->metrics);
	pcp_lock_hold_results_free(r->lock_hold);
	free(r);
}

const struct pcp_metric *pcp_churn_metric(const struct pcp_churn_results *r, const char *name)
{
	for (size_t i = 0; r && i < r->nr_metrics; i++)
		if (strcmp(r->metrics[i].name, name) == 0)
			return &r->metrics[i];
	return NULL;
}

void pcp_churn_peek(const struct pcp_churn_model *m, struct pcp_churn_live_cpu *out)
{
	/* inline pairing only (the live view's): with threads the sums are theirs until finish */
	const struct pcp_pair_sums *ps = pcp_pair_shards_peek(m->pairing);

	for (uint32_t c = 0; c < m->nr_cpus; c++) {
		out[c].flow = m->cpus[c].flow;
		out[c].pairs = out[c].cross_pairs = 0;
	}
	for (uint32_t r = 0; ps && r < m->nr_cpus; r++)
		for (uint32_t d = 0; ps->matrix[r] && d < m->nr_cpus; d++) {
			out[d].pairs += ps->matrix[r][d].pairs;
			if (r != d)
				out[d].cross_pairs += ps->matrix[r][d].pairs;
		}
}

size_t pcp_churn_peek_zones(const struct pcp_churn_model *m, struct pcp_zone_lock_row *out,
			    size_t cap)
{
	for (size_t i = 0; i < m->nr_zones && i < cap; i++)
		out[i] = m->zones[i].row;
	return m->nr_zones;
}
