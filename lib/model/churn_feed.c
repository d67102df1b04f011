/* The churn model behind an event feed (churn_feed.h). */
#include "model/churn_feed.h"
#include "model/pair_events.h"

/* Records ahead whose PFN slot is prefetched when the pairing is inline (one shard, no
 * thread), as analyze.c's CHURN_PIPE does on one thread. */
#define CHURN_FEED_AHEAD 8

/* On the feed's thread: each fed record back into the event (or mark) the model reads. */
static void churn_consume(void *ctx, const struct pcp_feed_ev *b, size_t n)
{
	const struct pcp_churn_feed *cf = ctx;
	struct pcp_churn_model *m = cf->churn;
	const struct pcp_pair_table *pairs = pcp_churn_pair_table(m);

	for (size_t i = 0; i < n; i++) {
		struct pcp_event ev;

		if (pairs && i + CHURN_FEED_AHEAD < n &&
		    (b[i + CHURN_FEED_AHEAD].kind == PCP_EV_REFILL || b[i + CHURN_FEED_AHEAD].kind == PCP_EV_DRAIN))
			pcp_pair_prefetch(pairs, b[i + CHURN_FEED_AHEAD].pfn);
		if (b[i].kind == PCP_FEED_MISSED) {
			pcp_churn_missed(m, b[i].cpu, (int64_t)b[i].pfn);
			continue;
		}
		ev.ts_ns = b[i].ts_ns;
		ev.cpu = b[i].cpu;
		ev.pid = b[i].pid;
		ev.kind = b[i].kind;
		if (ev.kind == PCP_EV_REFILL_LOCK || ev.kind == PCP_EV_DRAIN_LOCK) {
			ev.lock.nid = b[i].nid;
			ev.lock.zid = b[i].zid;
			ev.lock.nr_pages = b[i].pfn;
		} else if (ev.kind == PCP_EV_STACK) {
			ev.stack.id = (uint32_t)b[i].pfn;
		} else {
			ev.block.pfn = b[i].pfn;
			ev.block.order = b[i].order;
			ev.block.migratetype = 0;   /* not read by the model */
		}
		pcp_churn_event(m, &ev);
		if (cf->lcause)
			pcp_lock_cause_event(cf->lcause, m, &ev);
	}
}

void pcp_churn_feed_consumer(struct pcp_churn_feed *cf, struct pcp_feed_consumer *c)
{
	*c = (struct pcp_feed_consumer){ "pcp-churn", churn_consume, cf, 0 };
}
