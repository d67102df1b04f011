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
#define PCP_FEED_BLOCK_KINDS PCP_BLOCK_KINDS

/* What the fed models read of an event (time, CPU, pid, kind, the block's pfn and order, a
 * lock's zone and pages), 32 bytes where struct pcp_event has 88: the batches are written by
 * one core and read by another, and the copy of whole events was a third of the analysis
 * thread's time at -j 2 (cache lines crossing cores; 24 and 32 bytes cost the same, stop 24).
 * An order above 255 is kept as 255: the models ignore any order above PCP_MAX_BLOCK_ORDER alike (bad_order). */
struct pcp_feed_ev {
	uint64_t ts_ns;
	uint64_t pfn;            /* a block's pfn; a lock's nr_pages; a stack's id;
				  * PCP_FEED_MISSED: the count */
	int32_t pid;
	uint16_t cpu;            /* < 65536: callers feed no trace with more CPUs */
	uint8_t kind;            /* enum pcp_event_kind, or PCP_FEED_MISSED */
	uint8_t order;
	int32_t nid, zid;        /* REFILL_LOCK, DRAIN_LOCK: the zone */
};

/* A record's missed-events mark (pcp_churn_missed), before the record's own event: a kind of
 * its own, which only the churn model's consumer reads. */
#define PCP_FEED_MISSED 255

/* Called on a consumer's thread with each batch, in the order the batches were filled. */
typedef void (*pcp_feed_consume_fn)(void *ctx, const struct pcp_feed_ev *evs, size_t n);

struct pcp_feed_consumer {
	const char *name;               /* its thread's (perf --sort comm, top -H: <= 15 chars) */
	pcp_feed_consume_fn consume;
	void *ctx;
	uint32_t after;                 /* consumers (bit i: the i-th of pcp_feed_start_n's,
					 * only ones after this one) that must be done with a
					 * batch before this one takes it: a model that reads
					 * what they wrote for it (lifecycle_feed.h's PFN
					 * shards); 0: none */
};

struct pcp_feed {
	struct pcp_feed_ev *cur;      /* the batch being filled (the analysis thread's) */
	size_t n;
	struct pcp_feed_ring *ring;
};

/* Starts one thread per consumer (at most PCP_FEED_MAX_CONSUMERS): each is handed every batch,
 * in order; a batch is refilled once all have consumed it. One copy of each event for several
 * models (the lifecycle model and the churn model read the same events). PCP_ERR_NOMEM:
 * nothing started; PCP_ERR_USAGE: a consumer waits for itself, one before it or one not given. */
#define PCP_FEED_MAX_CONSUMERS 8
/* Batches in flight: batch k (counted from 0 in the order filled) is the one at ring slot
 * k % PCP_FEED_RING, and no consumer is handed batch k + PCP_FEED_RING before every consumer
 * is done with batch k (what a consumer keeps per batch, it can keep in PCP_FEED_RING slots). */
#define PCP_FEED_RING 8
int pcp_feed_start_n(const struct pcp_feed_consumer *c, size_t n, struct pcp_feed **out);

/* One consumer, on a thread named name. */
int pcp_feed_start(const char *name, pcp_feed_consume_fn consume, void *ctx, struct pcp_feed **out);

/* Work for the first consumer's thread while it has no batch (it is faster than the feed): idle(ctx) returns 1
 * when it did something, 0 when it had nothing to do (the thread then sleeps until batches
 * come). pcpanalyze -j 2 gives it the trace's decoding (pcp_reader_help): two threads on two
 * cores, balanced, instead of three. set_idle returns once a call of the previous hook under
 * way has returned: NULL pauses the work, e.g. while the reader the hook decodes for starts
 * over. */
void pcp_feed_set_idle(struct pcp_feed *f, int (*idle)(void *ctx), void *ctx);
/* The full batch to the thread; the next one to fill (internal to pcp_feed_put). */
void pcp_feed_flush(struct pcp_feed *f);

/* Hot path: one record from its fields, in the trace's order. */
static inline void pcp_feed_put_fields(struct pcp_feed *f, uint64_t ts_ns, uint64_t pfn, int32_t pid,
				       uint16_t cpu, uint8_t kind, uint8_t order, int32_t nid, int32_t zid)
{
	struct pcp_feed_ev *o = &f->cur[f->n++];

#if defined(__x86_64__) && defined(__SSE2__)
	/* Non-temporal stores: the batch's lines were last read by the model's core; a normal
	 * store must first take each line back from that core's cache (a read for ownership per
	 * 64 bytes), which stalled this thread more than the models' own work. The words are
	 * put together in registers (x86-64 is little-endian: the struct's layout): a record
	 * built in memory field by field and read back a word at a time cost a failed
	 * store-to-load forward per record, a third of the analysis loop's samples. */
	_mm_stream_si64((long long *)o, (long long)ts_ns);
	_mm_stream_si64((long long *)o + 1, (long long)pfn);
	_mm_stream_si64((long long *)o + 2, (long long)((uint64_t)(uint32_t)pid | (uint64_t)cpu << 32 |
						      (uint64_t)kind << 48 | (uint64_t)order << 56));
	_mm_stream_si64((long long *)o + 3, (long long)((uint64_t)(uint32_t)nid | (uint64_t)(uint32_t)zid << 32));
#else
	o->ts_ns = ts_ns;
	o->pfn = pfn;
	o->pid = pid;
	o->cpu = cpu;
	o->kind = kind;
	o->order = order;
	o->nid = nid;
	o->zid = zid;
#endif
	if (f->n == PCP_FEED_BATCH)
		pcp_feed_flush(f);
}

/* Hot path: one record, in the trace's order. */
static inline void pcp_feed_put(struct pcp_feed *f, const struct pcp_feed_ev *e)
{
	pcp_feed_put_fields(f, e->ts_ns, e->pfn, e->pid, e->cpu, e->kind, e->order, e->nid, e->zid);
}

/* Hot path: one event as the fed models read it: the block only of the kinds that have one
 * (the models read no other's; the union's other members may be unset), the zone and pages
 * of a lock, the id of a stack. */
static inline void pcp_feed_push(struct pcp_feed *f, const struct pcp_event *ev)
{
	uint64_t pfn = 0;
	uint8_t order = 0;
	int32_t nid = 0, zid = 0;

	if ((1u << (ev->kind & 31)) & PCP_FEED_BLOCK_KINDS) {
		pfn = ev->block.pfn;
		order = (uint8_t)(ev->block.order < 255 ? ev->block.order : 255);
	} else if (ev->kind == PCP_EV_REFILL_LOCK || ev->kind == PCP_EV_DRAIN_LOCK) {
		pfn = ev->lock.nr_pages;
		nid = ev->lock.nid;
		zid = ev->lock.zid;
	} else if (ev->kind == PCP_EV_STACK) {
		pfn = ev->stack.id;
	}
	pcp_feed_put_fields(f, ev->ts_ns, pfn, ev->pid, (uint16_t)ev->cpu, ev->kind, order, nid, zid);
}

/* Hot path: a record's missed-events mark (count as pcp_churn_missed takes it) on cpu. */
static inline void pcp_feed_push_missed(struct pcp_feed *f, uint32_t cpu, uint64_t ts_ns, int64_t count)
{
	pcp_feed_put_fields(f, ts_ns, (uint64_t)count, 0, (uint16_t)cpu, PCP_FEED_MISSED, 0, 0, 0);
}

/* Hands over what is left, waits for the threads to consume everything and ends them. After
 * it the models are the caller's again. NULL: nothing. */
void pcp_feed_finish(struct pcp_feed *f);

#endif
