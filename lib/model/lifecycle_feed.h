/* The lifecycle model on a thread of its own (pcpanalyze -j N, N >= 2).
 *
 * The churn and lifecycle models read the same event sequence and share nothing while they
 * run (lifecycle.h: pcp_lifecycle_finish takes the churn results afterwards), so the
 * lifecycle model can consume the sequence on another thread: the analysis loop copies each
 * event into a batch, full batches go through a small bounded ring, and the model thread
 * calls pcp_lifecycle_event on them in the same order. The model sees exactly the events it
 * would see on one thread: the same results. */
#ifndef PCPTRACE_LIFECYCLE_FEED_H
#define PCPTRACE_LIFECYCLE_FEED_H

#include <stddef.h>
#include "events/event.h"
#include "model/lifecycle.h"

#define PCP_LC_FEED_BATCH 4096   /* events per batch */

struct pcp_lc_feed {
	struct pcp_event *cur;   /* the batch being filled (the analysis thread's) */
	size_t n;
	struct pcp_lc_feed_ring *ring;
};

/* Starts the thread. PCP_ERR_NOMEM (nothing started). */
int pcp_lc_feed_start(struct pcp_lifecycle_model *m, struct pcp_lc_feed **out);
/* The full batch to the thread; the next one to fill (internal to pcp_lc_feed_push). */
void pcp_lc_feed_flush(struct pcp_lc_feed *f);
/* Hot path: one event, in the trace's order. */
static inline void pcp_lc_feed_push(struct pcp_lc_feed *f, const struct pcp_event *ev)
{
	f->cur[f->n++] = *ev;
	if (f->n == PCP_LC_FEED_BATCH)
		pcp_lc_feed_flush(f);
}
/* Hands over what is left, waits for the thread to consume everything and ends it. After it
 * the model is the caller's again (pcp_lifecycle_finish). NULL: nothing. */
void pcp_lc_feed_finish(struct pcp_lc_feed *f);

#endif
