/* Zone-lock hold time (lock_hold.h; docs/METRICS.md, "Zone-lock hold time").
 *
 * Per (CPU, kind) one open acquisition (a slot): start, last attributed block, blocks, pages.
 * It is closed by the next start of that (CPU, kind), a missed-events mark on the CPU, or the
 * end of the trace; closing adds it to its zone row's fine histogram (percentiles as the round
 * trips': lib/model/histogram.h), the kind's log2 hold and pages histograms and the top-N heap.
 * Memory: the slots and the heap are allocated up front, zone rows when a zone is first seen
 * (rare); the per-block update allocates nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/lock_hold.h"
#include "model/timeline_sink.h"
#include "model/histogram.h"
#include "common/error.h"
#include "meta/meta.h"

struct hold_zone {
	struct pcp_lock_hold_row row;
	uint64_t max_hold, timed;
	uint64_t *fine;                 /* FINE_BUCKETS */
};

struct hold_state {
	struct hold_zone *zones;
	size_t nr_zones, cap_zones;
	uint64_t hold_hist[2][LOG2_BUCKETS], pages_hist[2][LOG2_BUCKETS];
	struct pcp_lock_hold_acq *heap; /* min-heap of the top_n longest (least first) */
	size_t nr_heap;
};

int64_t pcp_lock_hold_batch(const struct pcp_meta *meta, int32_t nid, int32_t zid)
{
	int64_t batch = -1, index = 0, node = -2;

	if (!meta || !meta->before.present || nid < 0 || zid < 0)
		return -1;
	for (size_t i = 0; i < meta->before.nr_zones; i++) {
		const struct pcp_meta_zone *z = &meta->before.zones[i];
		int64_t id;

		/* zones of a node are printed in zid order: the index names the zone when the
		 * file has no zid (older pcprecord) */
		index = z->node == node ? index + 1 : 0;
		node = z->node;
		id = (z->has & PCP_META_ZONE_ZID) ? z->zid : index;
		if (z->node != nid || id != zid)
			continue;
		for (size_t p = 0; p < z->nr_pagesets; p++) {
			const struct pcp_meta_pageset *ps = &z->pagesets[p];

			if (!(ps->has & PCP_META_PAGESET_BATCH))
				continue;
			if (batch >= 0 && ps->batch != batch)
				return -1;      /* CPUs disagree: no one batch */
			batch = ps->batch;
		}
		return batch;
	}
	return -1;
}

int pcp_lock_hold_new(uint32_t nr_cpus, const struct pcp_lock_hold_opts *opts,
		      struct pcp_lock_hold **out)
{
	struct pcp_lock_hold *h = calloc(1, sizeof(*h));
	struct hold_state *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (h)
		h->priv = st;
	if (!h || !st || !(h->slots = calloc((nr_cpus ? nr_cpus : 1) * 2u, sizeof(*h->slots))) ||
	    (opts->top_n && !(st->heap = calloc(opts->top_n, sizeof(*st->heap))))) {
		if (!h)
			free(st);
		pcp_lock_hold_free(h);
		return PCP_ERR_NOMEM;
	}
	h->nr_cpus = nr_cpus;
	h->opts = *opts;
	*out = h;
	return PCP_OK;
}

void pcp_lock_hold_free(struct pcp_lock_hold *h)
{
	struct hold_state *st;

	if (!h)
		return;
	st = h->priv;
	if (st) {
		for (size_t i = 0; i < st->nr_zones; i++)
			free(st->zones[i].fine);
		free(st->zones);
		free(st->heap);
		free(st);
	}
	free(h->slots);
	free(h);
}

static int32_t zone_index(struct pcp_lock_hold *h, int32_t nid, int32_t zid, enum pcp_lock_kind kind)
{
	struct hold_state *st = h->priv;
	struct hold_zone *z;

	for (size_t i = 0; i < st->nr_zones; i++) {
		const struct pcp_lock_hold_row *r = &st->zones[i].row;

		if (r->nid == nid && r->zid == zid && r->kind == kind)
			return (int32_t)i;
	}
	if (st->nr_zones == st->cap_zones) {
		size_t cap = st->cap_zones ? st->cap_zones * 2 : 8;

		z = realloc(st->zones, cap * sizeof(*z));
		if (!z) {
			h->err = PCP_ERR_NOMEM;
			return -1;
		}
		st->zones = z;
		st->cap_zones = cap;
	}
	z = &st->zones[st->nr_zones];
	memset(z, 0, sizeof(*z));
	if (!(z->fine = calloc(FINE_BUCKETS, sizeof(*z->fine)))) {
		h->err = PCP_ERR_NOMEM;
		return -1;
	}
	z->row.nid = nid;
	z->row.zid = zid;
	z->row.kind = kind;
	z->row.batch = pcp_lock_hold_batch(h->opts.meta, nid, zid);
	return (int32_t)st->nr_zones++;
}

/* a ranks above b: longer hold, then earlier start, lower CPU, refill first */
static int acq_above(const struct pcp_lock_hold_acq *a, const struct pcp_lock_hold_acq *b)
{
	if (a->hold_ns != b->hold_ns)
		return a->hold_ns > b->hold_ns;
	if (a->ts_ns != b->ts_ns)
		return a->ts_ns < b->ts_ns;
	if (a->cpu != b->cpu)
		return a->cpu < b->cpu;
	return a->kind < b->kind;
}

static void heap_sift_down(struct pcp_lock_hold_acq *heap, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, least = i;
		struct pcp_lock_hold_acq t;

		if (l < n && acq_above(&heap[least], &heap[l]))
			least = l;
		if (r < n && acq_above(&heap[least], &heap[r]))
			least = r;
		if (least == i)
			return;
		t = heap[i];
		heap[i] = heap[least];
		heap[least] = t;
		i = least;
	}
}

static void heap_offer(struct pcp_lock_hold *h, const struct pcp_lock_hold_acq *a)
{
	struct hold_state *st = h->priv;
	size_t i;

	if (!h->opts.top_n)
		return;
	if (st->nr_heap < h->opts.top_n) {
		i = st->nr_heap++;
		st->heap[i] = *a;
		while (i > 0 && acq_above(&st->heap[(i - 1) / 2], &st->heap[i])) {
			struct pcp_lock_hold_acq t = st->heap[i];

			st->heap[i] = st->heap[(i - 1) / 2];
			st->heap[(i - 1) / 2] = t;
			i = (i - 1) / 2;
		}
		return;
	}
	if (!acq_above(a, &st->heap[0]))
		return;
	st->heap[0] = *a;
	heap_sift_down(st->heap, st->nr_heap, 0);
}

/* The acquisition of slot s (cpu, kind) is complete: into the tables. */
static void close_slot(struct pcp_lock_hold *h, uint32_t cpu, enum pcp_lock_kind kind)
{
	struct hold_state *st = h->priv;
	struct pcp_lock_hold_slot *s = &h->slots[cpu * 2u + (unsigned)kind];
	struct hold_zone *z;
	uint64_t hold;

	if (!s->open)
		return;
	s->open = 0;
	z = &st->zones[s->row];
	if (h->opts.sink && h->opts.sink->acquisition)
		h->opts.sink->acquisition(h->opts.sink->ctx, &(struct pcp_lock_hold_acq){
			.ts_ns = s->start_ts, .cpu = cpu, .pid = s->pid, .kind = kind,
			.nid = z->row.nid, .zid = z->row.zid, .blocks = s->blocks, .pages = s->pages,
			.hold_ns = s->blocks && s->last_ts >= s->start_ts ? s->last_ts - s->start_ts : 0 });
	st->pages_hist[kind][log2_index(s->pages)]++;
	if (z->row.batch >= 0 && s->pages >= (uint64_t)z->row.batch)
		z->row.at_batch_acquisitions++;
	if (!s->blocks) {
		z->row.empty_acquisitions++;
		return;
	}
	hold = s->last_ts >= s->start_ts ? s->last_ts - s->start_ts : 0;
	if (h->opts.no_time_base)
		return;
	z->timed++;
	z->fine[fine_index(hold)]++;
	if (hold > z->max_hold)
		z->max_hold = hold;
	st->hold_hist[kind][log2_index(hold)]++;
	/* most acquisitions are shorter than the heap's least: no row built for them */
	if (!h->opts.top_n || (st->nr_heap == h->opts.top_n && hold < st->heap[0].hold_ns))
		return;
	heap_offer(h, &(struct pcp_lock_hold_acq){
		.ts_ns = s->start_ts, .cpu = cpu, .pid = s->pid, .kind = kind,
		.nid = z->row.nid, .zid = z->row.zid, .blocks = s->blocks, .pages = s->pages,
		.hold_ns = hold });
}

void pcp_lock_hold_start(struct pcp_lock_hold *h, uint32_t cpu, enum pcp_lock_kind kind,
			 int32_t nid, int32_t zid, uint64_t ts, int32_t pid)
{
	struct hold_state *st = h->priv;
	struct pcp_lock_hold_slot *s;
	int32_t row;

	if (cpu >= h->nr_cpus)
		return;
	close_slot(h, cpu, kind);
	s = &h->slots[cpu * 2u + (unsigned)kind];
	/* the CPU's previous acquisition of this kind was most likely in the same zone */
	row = s->row >= 0 && (size_t)s->row < st->nr_zones && st->zones[s->row].row.nid == nid &&
	      st->zones[s->row].row.zid == zid && st->zones[s->row].row.kind == kind
	      ? s->row : zone_index(h, nid, zid, kind);
	if (row < 0)
		return;
	st->zones[row].row.acquisitions++;
	*s = (struct pcp_lock_hold_slot){ .open = 1, .row = row, .pid = pid, .start_ts = ts,
					  .last_ts = ts };
}

void pcp_lock_hold_cut(struct pcp_lock_hold *h, uint32_t cpu)
{
	if (cpu >= h->nr_cpus)
		return;
	close_slot(h, cpu, PCP_LOCK_KIND_REFILL);
	close_slot(h, cpu, PCP_LOCK_KIND_DRAIN);
}

/* Nearest rank over a fine histogram of n values, capped by the largest (as the round trips'). */
static double fine_percentile(const uint64_t *fine, uint64_t n, uint64_t max, uint64_t num,
			      uint64_t den)
{
	uint64_t rank, cum = 0;

	if (n == 0)
		return NAN;
	rank = n / den * num + (n % den * num + den - 1) / den;
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < FINE_BUCKETS; i++) {
		cum += fine[i];
		if (cum >= rank) {
			uint64_t v = fine_bucket_last(i);

			return (double)(v < max ? v : max);
		}
	}
	return (double)max;
}

static int cmp_row(const void *pa, const void *pb)
{
	const struct pcp_lock_hold_row *a = pa, *b = pb;

	if (a->nid != b->nid)
		return a->nid < b->nid ? -1 : 1;
	if (a->zid != b->zid)
		return a->zid < b->zid ? -1 : 1;
	return (a->kind > b->kind) - (a->kind < b->kind);
}

static int cmp_acq(const void *pa, const void *pb)
{
	const struct pcp_lock_hold_acq *a = pa, *b = pb;

	return acq_above(a, b) ? -1 : acq_above(b, a) ? 1 : 0;
}

/* The non-empty log2 buckets of both kinds, refill first. */
static int hist_rows(const uint64_t hist[2][LOG2_BUCKETS], struct pcp_lock_hold_bucket **out,
		     size_t *nr)
{
	size_t n = 0;

	for (int k = 0; k < 2; k++)
		for (unsigned i = 0; i < LOG2_BUCKETS; i++)
			n += hist[k][i] != 0;
	if (!n)
		return PCP_OK;
	if (!(*out = calloc(n, sizeof(**out))))
		return PCP_ERR_NOMEM;
	for (int k = 0; k < 2; k++)
		for (unsigned i = 0; i < LOG2_BUCKETS; i++) {
			struct pcp_lock_hold_bucket *b;

			if (!hist[k][i])
				continue;
			b = &(*out)[(*nr)++];
			b->kind = (enum pcp_lock_kind)k;
			b->lo = i ? UINT64_C(1) << (i - 1) : 0;
			b->hi = i == 0 ? 1 : i < 64 ? UINT64_C(1) << i : UINT64_MAX;
			b->acquisitions = hist[k][i];
		}
	return PCP_OK;
}

static int build(struct pcp_lock_hold *h, struct pcp_lock_hold_results *r)
{
	struct hold_state *st = h->priv;
	int err;

	r->lower_bound = h->opts.inferred;
	r->no_time_base = h->opts.no_time_base;
	if (st->nr_zones && !(r->rows = calloc(st->nr_zones, sizeof(*r->rows))))
		return PCP_ERR_NOMEM;
	for (size_t i = 0; i < st->nr_zones; i++) {
		const struct hold_zone *z = &st->zones[i];
		struct pcp_lock_hold_row *o = &r->rows[r->nr_rows++];
		unsigned k = (unsigned)z->row.kind;

		*o = z->row;
		o->hold_p50_ns = fine_percentile(z->fine, z->timed, z->max_hold, 50, 100);
		o->hold_p99_ns = fine_percentile(z->fine, z->timed, z->max_hold, 99, 100);
		o->hold_max_ns = z->timed ? (double)z->max_hold : NAN;
		o->at_batch_share = o->batch >= 0 && o->acquisitions
			? (double)o->at_batch_acquisitions / (double)o->acquisitions : NAN;
		r->acquisitions[k] += o->acquisitions;
		r->empty_acquisitions[k] += o->empty_acquisitions;
		if (o->batch >= 0) {
			r->batch_known[k] += o->acquisitions;
			r->at_batch[k] += o->at_batch_acquisitions;
		}
	}
	if (r->nr_rows)
		qsort(r->rows, r->nr_rows, sizeof(*r->rows), cmp_row);
	for (unsigned k = 0; k < 2; k++) {
		uint64_t *fine = calloc(FINE_BUCKETS, sizeof(*fine)), timed = 0, max = 0;

		if (!fine)
			return PCP_ERR_NOMEM;
		/* the kind over all zones: the sum of its zones' fine histograms */
		for (size_t i = 0; i < st->nr_zones; i++) {
			const struct hold_zone *z = &st->zones[i];

			if ((unsigned)z->row.kind != k || !z->timed)
				continue;
			for (unsigned b = 0; b < FINE_BUCKETS; b++)
				fine[b] += z->fine[b];
			timed += z->timed;
			if (z->max_hold > max)
				max = z->max_hold;
		}
		r->hold_p50_ns[k] = fine_percentile(fine, timed, max, 50, 100);
		r->hold_p99_ns[k] = fine_percentile(fine, timed, max, 99, 100);
		r->hold_max_ns[k] = timed ? (double)max : NAN;
		free(fine);
	}
	if ((err = hist_rows((const uint64_t (*)[LOG2_BUCKETS])st->hold_hist, &r->hold_hist,
			     &r->nr_hold_hist)) ||
	    (err = hist_rows((const uint64_t (*)[LOG2_BUCKETS])st->pages_hist, &r->pages_hist,
			     &r->nr_pages_hist)))
		return err;
	if (st->nr_heap) {
		if (!(r->longest = malloc(st->nr_heap * sizeof(*r->longest))))
			return PCP_ERR_NOMEM;
		memcpy(r->longest, st->heap, st->nr_heap * sizeof(*r->longest));
		r->nr_longest = st->nr_heap;
		qsort(r->longest, r->nr_longest, sizeof(*r->longest), cmp_acq);
	}
	return PCP_OK;
}

int pcp_lock_hold_finish(struct pcp_lock_hold *h, struct pcp_lock_hold_results **out)
{
	struct pcp_lock_hold_results *r;
	int err;

	*out = NULL;
	for (uint32_t c = 0; c < h->nr_cpus; c++)
		pcp_lock_hold_cut(h, c);
	if (h->err)
		return h->err;
	if (!(r = calloc(1, sizeof(*r))))
		return PCP_ERR_NOMEM;
	if ((err = build(h, r))) {
		pcp_lock_hold_results_free(r);
		return err;
	}
	*out = r;
	return PCP_OK;
}

void pcp_lock_hold_results_free(struct pcp_lock_hold_results *r)
{
	if (!r)
		return;
	free(r->rows);
	free(r->hold_hist);
	free(r->pages_hist);
	free(r->longest);
	free(r);
}
