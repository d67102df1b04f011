/* The lifecycle model behind an event feed, whole or in PFN shards (lifecycle_feed.h). */
#include <stdlib.h>
#include "common/error.h"
#include "model/lifecycle_feed.h"

/* Events ahead whose block's home slot is prefetched (the pipe of pcp_lifecycle_event). */
#define LC_FEED_AHEAD 8

static inline int has_block(uint8_t kind)
{
	return kind == PCP_EV_REFILL || kind == PCP_EV_DRAIN || kind == PCP_EV_PAGE_ALLOC ||
	       kind == PCP_EV_PAGE_FREE;
}

static inline struct pcp_event fed_event(const struct pcp_feed_ev *f)
{
	struct pcp_event ev;

	ev.ts_ns = f->ts_ns;
	ev.cpu = f->cpu;
	ev.pid = f->pid;
	ev.kind = f->kind;
	ev.block.pfn = f->pfn;
	ev.block.order = f->order;
	ev.block.migratetype = 0;   /* not read by the model */
	return ev;
}

/* On the feed's thread: each fed record back into the event the model reads (the churn
 * model's missed-events marks are not records: skipped). */
static void lc_consume(void *ctx, const struct pcp_feed_ev *b, size_t n)
{
	struct pcp_lifecycle_model *m = ctx;

	for (size_t i = 0; i < n && i < LC_FEED_AHEAD; i++)
		if (has_block(b[i].kind))
			pcp_lifecycle_prefetch(m, b[i].pfn);
	for (size_t i = 0; i < n; i++) {
		struct pcp_event ev;

		if (i + LC_FEED_AHEAD < n && has_block(b[i + LC_FEED_AHEAD].kind))
			pcp_lifecycle_prefetch(m, b[i + LC_FEED_AHEAD].pfn);
		if (b[i].kind == PCP_FEED_MISSED)
			continue;
		ev = fed_event(&b[i]);
		pcp_lifecycle_event_now(m, &ev);
	}
}

/* ---- PFN shards ---- */

struct lc_part {
	struct pcp_lc_shards *set;
	struct pcp_lifecycle_model *model;
	unsigned shard;
	uint64_t batch;                 /* batches consumed: this one's deltas are at
					 * batch % PCP_FEED_RING */
};

struct pcp_lc_shards {
	struct pcp_lifecycle_model *m;
	unsigned nr;
	struct lc_part order, shard[PCP_LC_SHARDS_MAX];
	struct pcp_lc_delta *deltas;    /* PCP_FEED_RING x PCP_FEED_BATCH, one per event */
};

/* A shard: every event (each CPU's zone_locked state), the block part of its own. */
static void shard_consume(void *ctx, const struct pcp_feed_ev *b, size_t n)
{
	struct lc_part *p = ctx;
	struct pcp_lc_delta *d = p->set->deltas + (p->batch++ % PCP_FEED_RING) * PCP_FEED_BATCH;
	unsigned nr = p->set->nr;

	for (size_t i = 0; i < n && i < LC_FEED_AHEAD; i++)
		if (has_block(b[i].kind) && pcp_lc_shard_of(b[i].pfn, nr) == p->shard)
			pcp_lifecycle_prefetch(p->model, b[i].pfn);
	for (size_t i = 0; i < n; i++) {
		struct pcp_event ev;
		size_t a = i + LC_FEED_AHEAD;

		if (a < n && has_block(b[a].kind) && pcp_lc_shard_of(b[a].pfn, nr) == p->shard)
			pcp_lifecycle_prefetch(p->model, b[a].pfn);
		if (b[i].kind == PCP_FEED_MISSED)
			continue;
		ev = fed_event(&b[i]);
		pcp_lifecycle_shard_event(p->model, &ev, &d[i]);
	}
}

/* The order part: every event with the delta its shard wrote. */
static void order_consume(void *ctx, const struct pcp_feed_ev *b, size_t n)
{
	struct lc_part *p = ctx;
	const struct pcp_lc_delta *d = p->set->deltas + (p->batch++ % PCP_FEED_RING) * PCP_FEED_BATCH;

	for (size_t i = 0; i < n; i++) {
		struct pcp_event ev;

		if (b[i].kind == PCP_FEED_MISSED)
			continue;
		ev = fed_event(&b[i]);
		pcp_lifecycle_order_event(p->model, &ev, &d[i]);
	}
}

int pcp_lc_shards_new(struct pcp_lifecycle_model *m, unsigned nr_shards, struct pcp_lc_shards **out)
{
	struct pcp_lc_shards *s;
	int err = PCP_OK;

	*out = NULL;
	if (nr_shards < 2 || nr_shards > PCP_LC_SHARDS_MAX || (nr_shards & (nr_shards - 1)))
		return PCP_ERR_USAGE;
	if (!(s = calloc(1, sizeof(*s))) ||
	    !(s->deltas = malloc((size_t)PCP_FEED_RING * PCP_FEED_BATCH * sizeof(*s->deltas)))) {
		free(s);
		return PCP_ERR_NOMEM;
	}
	s->m = m;
	s->order = (struct lc_part){ s, m, 0, 0 };
	for (unsigned k = 0; k < nr_shards && !err; k++) {
		s->shard[k] = (struct lc_part){ s, NULL, k, 0 };
		if (!(err = pcp_lifecycle_new_shard(m, k, nr_shards, &s->shard[k].model)))
			s->nr++;
	}
	if (err) {
		pcp_lc_shards_end(s);   /* nothing was fed: the shards add nothing */
		return err;
	}
	*out = s;
	return PCP_OK;
}

void pcp_lc_shards_consumers(struct pcp_lc_shards *s, struct pcp_feed_consumer *c, unsigned base)
{
	c[0] = (struct pcp_feed_consumer){ "pcp-lifecycle", order_consume, &s->order,
					   ((UINT32_C(1) << s->nr) - 1) << (base + 1) };
	for (unsigned k = 0; k < s->nr; k++)
		c[1 + k] = (struct pcp_feed_consumer){ "pcp-lc-shard", shard_consume, &s->shard[k], 0 };
}

void pcp_lc_shards_end(struct pcp_lc_shards *s)
{
	if (!s)
		return;
	for (unsigned k = 0; k < s->nr; k++) {
		pcp_lifecycle_merge_shard(s->m, s->shard[k].model);
		pcp_lifecycle_free(s->shard[k].model);
	}
	free(s->deltas);
	free(s);
}

void pcp_lc_feed_consumer(struct pcp_lifecycle_model *m, struct pcp_feed_consumer *c)
{
	*c = (struct pcp_feed_consumer){ "pcp-lifecycle", lc_consume, m, 0 };
}

int pcp_lc_feed_start(struct pcp_lifecycle_model *m, uint32_t nr_cpus, struct pcp_feed **out)
{
	struct pcp_feed_consumer c;

	*out = NULL;
	if (nr_cpus > 65536)
		return PCP_ERR_USAGE;
	pcp_lc_feed_consumer(m, &c);
	return pcp_feed_start_n(&c, 1, out);
}
