/* The churn model on a thread of its own (pcpanalyze -j N, N >= 3 without stacks or a live
 * sink), behind an event feed (event_feed.h): the analysis thread is left the merge, the parse
 * and one copy of each event, which the lifecycle model's thread reads from the same batches.
 * The churn model sees the very events and missed-events marks it sees inline, in the same
 * order: the same results. */
#ifndef PCPTRACE_CHURN_FEED_H
#define PCPTRACE_CHURN_FEED_H

#include "model/churn.h"
#include "model/event_feed.h"
#include "model/lock_cause.h"

/* What the churn model's thread runs: the churn model and, when stacks are analyzed, the
 * lock-cause model's per-event part (it reads the churn model's current operation; the stack
 * records are interned by the analysis thread, their ids travel with the events). */
struct pcp_churn_feed {
	struct pcp_churn_model *churn;
	struct pcp_lock_cause_model *lcause;    /* NULL: none */
};

/* The consumer (`pcp-churn`) for pcp_feed_start_n: events go in with pcp_feed_push, marks with
 * pcp_feed_push_missed; cf lives until pcp_feed_finish. Only for nr_cpus <= 65536 (the fed
 * record's CPU). */
void pcp_churn_feed_consumer(struct pcp_churn_feed *cf, struct pcp_feed_consumer *c);

#endif
