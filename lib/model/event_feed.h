/* A model on a thread of its own (pcpanalyze -j N, N >= 2): the lifecycle model, the shards of
 * the refill/drain pairing (pair_shards.h).
 *
 * A model that shares nothing with the analysis loop while it runs can consume the event
 * sequence on another thread: the loop copies what the model reads of each event into a
 * batch, full batches go through a small bounded ring, and the thread hands them to the
 * model's consume function in the same order. The model sees exactly the events it would see
 * on one thread: the same results. */
#ifndef PCPTRACE_EVENT_FEED_H
#define PCPTRACE_EVENT_FEED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "events/event.h"

#define PCP_FEED_BATCH 4096   /* events per batch */
#define PCP_FEED_BLOCK_KINDS (1u << PCP_EV_REFILL | 1u << PCP_EV_DRAIN | 1u << PCP_EV_PAGE_ALLOC | \
			      1u << PCP_EV_PAGE_FREE | 1u << PCP_EV_ZONE_LOCKED)

/* What the fed models read of an event (time, CPU, pid, kind, the block's pfn and order), 24
 * bytes where struct pcp_event has 88: the batches are written by one core and read by
 * another, and the copy of whole events was a third of the analysis thread's time at -j 2
 * (cache lines crossing cores). An order above 255 is kept as 255: the models ignore any
 * order >= 64 alike (bad_order). */
struct pcp_feed_ev {
	uint64_t ts_ns;
	uint64_t pfn;
	int32_t pid;
	uint16_t cpu;            /* < 65536: callers feed no trace with more CPUs */
	uint8_t kind;
	uint8_t order;
};

/* Called on the feed's thread with each batch, in the order the batches were filled. */
typedef void (*pcp_feed_consume_fn)(void *ctx, const struct pcp_feed_ev *evs, size_t n);

struct pcp_feed {
	struct pcp_feed_ev *cur;      /* the batch being filled (the analysis thread's) */
	size_t n;
	struct pcp_feed_ring *ring;
};

/* Starts the thread, named name (perf --sort comm, top -H: at most 15 characters).
 * PCP_ERR_NOMEM: nothing started. */
int pcp_feed_start(const char *name, pcp_feed_consume_fn consume, void *ctx, struct pcp_feed **out);
/* Work for the thread while it has no batch (it is faster than the feed): idle(ctx) returns 1
 * when it did something, 0 when it had nothing to do (the thread then sleeps until batches
 * come). pcpanalyze -j 2 gives it the trace's decoding (pcp_reader_help): two threads on two
 * cores, balanced, instead of three. set_idle returns once a call of the previous hook under
 * way has returned: NULL pauses the work, e.g. while the reader the hook decodes for starts
 * over. */
void pcp_feed_set_idle(struct pcp_feed *f, int (*idle)(void *ctx), void *ctx);
/* The full batch to the thread; the next one to fill (internal to pcp_feed_put). */
void pcp_feed_flush(struct pcp_feed *f);

/* Hot path: one record, in the trace's order. */
static inline void pcp_feed_put(struct pcp_feed *f, const struct pcp_feed_ev *e)
{
	struct pcp_feed_ev *o = &f->cur[f->n++];

#if defined(__x86_64__) && defined(__SSE2__)
	{
		/* Non-temporal stores: the batch's lines were last read by the model's core; a
		 * normal store must first take each line back from that core's cache (a read for
		 * ownership per 64 bytes), which stalled this thread more than the models' own work */
		long long q[3];

		memcpy(q, e, sizeof(q));
		_mm_stream_si64((long long *)o, q[0]);
		_mm_stream_si64((long long *)o + 1, q[1]);
		_mm_stream_si64((long long *)o + 2, q[2]);
	}
#else
	*o = *e;
#endif
	if (f->n == PCP_FEED_BATCH)
		pcp_feed_flush(f);
}

/* Hot path: one event as the lifecycle model reads it. */
static inline void pcp_feed_push(struct pcp_feed *f, const struct pcp_event *ev)
{
	struct pcp_feed_ev e;

	e.ts_ns = ev->ts_ns;
	e.pid = ev->pid;
	e.cpu = (uint16_t)ev->cpu;
	e.kind = ev->kind;
	/* the block only of the kinds that have one (the model reads no other's; the union's
	 * other members may be unset) */
	if ((1u << (ev->kind & 31)) & PCP_FEED_BLOCK_KINDS) {
		e.pfn = ev->block.pfn;
		e.order = (uint8_t)(ev->block.order < 255 ? ev->block.order : 255);
	} else {
		e.pfn = 0;
		e.order = 0;
	}
	pcp_feed_put(f, &e);
}

/* Hands over what is left, waits for the thread to consume everything and ends it. After it
 * the model is the caller's again. NULL: nothing. */
void pcp_feed_finish(struct pcp_feed *f);

#endif
