/* The lifecycle model behind an event feed (lifecycle_feed.h). */
#include "common/error.h"
#include "model/lifecycle_feed.h"

/* On the feed's thread: each fed record back into the event the model reads (the churn
 * model's missed-events marks are not records: skipped). */
static void lc_consume(void *ctx, const struct pcp_feed_ev *b, size_t n)
{
	struct pcp_lifecycle_model *m = ctx;

	for (size_t i = 0; i < n; i++) {
		struct pcp_event ev;

		if (b[i].kind == PCP_FEED_MISSED)
			continue;
		ev.ts_ns = b[i].ts_ns;
		ev.cpu = b[i].cpu;
		ev.pid = b[i].pid;
		ev.kind = b[i].kind;
		ev.block.pfn = b[i].pfn;
		ev.block.order = b[i].order;
		ev.block.migratetype = 0;   /* not read by the model */
		pcp_lifecycle_event(m, &ev);
	}
}

void pcp_lc_feed_consumer(struct pcp_lifecycle_model *m, struct pcp_feed_consumer *c)
{
	c->name = "pcp-lifecycle";
	c->consume = lc_consume;
	c->ctx = m;
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
