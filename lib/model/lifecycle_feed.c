/* The lifecycle model behind an event feed (lifecycle_feed.h). */
#include "common/error.h"
#include "model/lifecycle_feed.h"

/* On the feed's thread: each fed record back into the event the model reads. */
static void lc_consume(void *ctx, const struct pcp_feed_ev *b, size_t n)
{
	struct pcp_lifecycle_model *m = ctx;

	for (size_t i = 0; i < n; i++) {
		struct pcp_event ev;

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

int pcp_lc_feed_start(struct pcp_lifecycle_model *m, uint32_t nr_cpus, struct pcp_feed **out)
{
	*out = NULL;
	if (nr_cpus > 65536)
		return PCP_ERR_USAGE;
	return pcp_feed_start("pcp-lifecycle", lc_consume, m, out);
}
