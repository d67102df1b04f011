/* Models on threads of their own (event_feed.h).
 *
 * A ring of FEED_RING batches: the analysis thread fills the next one and queues it; each
 * consumer's thread consumes the queued batches in order; a batch is filled again once every
 * consumer is done with it. One mutex and two condition variables, taken once per batch of
 * PCP_FEED_BATCH events, never per event. Batches are counted from the start (filled, done[]):
 * batch k lives in ring slot k % FEED_RING. */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "common/error.h"
#include "model/event_feed.h"

#define FEED_RING PCP_FEED_RING

_Static_assert(sizeof(struct pcp_feed_ev) == 32 && offsetof(struct pcp_feed_ev, pid) == 16 &&
	       offsetof(struct pcp_feed_ev, cpu) == 20 && offsetof(struct pcp_feed_ev, kind) == 22 &&
	       offsetof(struct pcp_feed_ev, order) == 23 && offsetof(struct pcp_feed_ev, nid) == 24 &&
	       offsetof(struct pcp_feed_ev, zid) == 28, "the words pcp_feed_put_fields writes");

struct feed_consumer {
	struct pcp_feed_ring *ring;
	unsigned idx;
	pcp_feed_consume_fn consume;
	void *ctx;
	uint32_t after;                 /* pcp_feed_consumer.after */
	int waiting;                    /* asleep in feed_main for batches */
	char name[16];
	pthread_t thread;
	int started;
};

struct pcp_feed_ring {
	pthread_mutex_t lock;
	pthread_cond_t ready, space;
	struct pcp_feed_ev *batch[FEED_RING];
	size_t len[FEED_RING];
	uint64_t filled;                /* batches queued since the start */
	uint64_t done[PCP_FEED_MAX_CONSUMERS];  /* batches each consumer has consumed */
	struct feed_consumer consumer[PCP_FEED_MAX_CONSUMERS];
	unsigned nr_consumers;
	int end;                        /* nothing more comes after what is queued */
	int feeder_waiting;             /* the feeder waits for room (pcp_feed_flush) */
	uint32_t awaited;               /* consumers some other consumer waits for (after) */
	int (*idle)(void *);            /* other work for consumer 0 while it waits (set_idle) */
	void *idle_ctx;
	int idle_busy;                  /* consumer 0 is in idle() (set_idle waits for it) */
	pthread_cond_t idle_done;
};

/* Batches queued that the slowest consumer has not consumed yet (the ring's occupancy). */
static uint64_t ring_used(const struct pcp_feed_ring *r)
{
	uint64_t least = r->done[0];

	for (unsigned i = 1; i < r->nr_consumers; i++)
		if (r->done[i] < least)
			least = r->done[i];
	return r->filled - least;
}

/* The batches c may take: those queued and, when it waits for other consumers, those they
 * are all done with. */
static uint64_t available(const struct pcp_feed_ring *r, const struct feed_consumer *c)
{
	uint64_t a = r->filled;

	for (unsigned j = 0; c->after && j < r->nr_consumers; j++)
		if ((c->after >> j & 1) && r->done[j] < a)
			a = r->done[j];
	return a;
}

/* Nothing more will come for c: the end is queued and those it waits for are through. */
static int drained(const struct pcp_feed_ring *r, const struct feed_consumer *c)
{
	return r->end && available(r, c) == r->filled;
}

/* c has something to do: half the ring (one wake-up per FEED_RING / 2 batches), the rest at
 * the end, or anything while the feeder waits for room. The last: a consumer that waits for
 * others frees the ring only as far as they got, and one of them may sleep with less than
 * half the ring queued for it while the ring is full for the feeder (a deadlock, seen with
 * four lifecycle shards: the feeder waiting for the lifecycle thread, which waited for a
 * shard, which waited for the feeder). */
static int worth_waking(const struct pcp_feed_ring *r, const struct feed_consumer *c)
{
	uint64_t queued = available(r, c) - r->done[c->idx];

	return queued >= FEED_RING / 2 || (queued && r->feeder_waiting) || drained(r, c);
}

static void *feed_main(void *arg)
{
	struct feed_consumer *c = arg;
	struct pcp_feed_ring *r = c->ring;
	uint64_t *done = &r->done[c->idx];

	pthread_setname_np(pthread_self(), c->name);   /* perf --sort comm, top -H */
	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct pcp_feed_ev *b;
		size_t n;

		/* Nothing for us: sleep until half the ring is (or the end), so that a model
		 * faster than its feeder wakes once per FEED_RING / 2 batches, not per batch. */
		if (available(r, c) == *done)
			while (!worth_waking(r, c)) {
				int (*idle)(void *) = c->idx == 0 ? r->idle : NULL;

				if (idle) {
					void *ctx = r->idle_ctx;
					int did;

					r->idle_busy = 1;
					pthread_mutex_unlock(&r->lock);
					did = idle(ctx);
					pthread_mutex_lock(&r->lock);
					r->idle_busy = 0;
					pthread_cond_broadcast(&r->idle_done);
					if (did)
						continue;
					/* the signal (half the ring queued, or the end) may have come
					 * while idle() ran unlocked: nobody was waiting for it */
					if (worth_waking(r, c))
						break;
				}
				c->waiting = 1;
				pthread_cond_wait(&r->ready, &r->lock);
				c->waiting = 0;
			}
		if (available(r, c) == *done)
			break;
		b = r->batch[*done % FEED_RING];
		n = r->len[*done % FEED_RING];
		pthread_mutex_unlock(&r->lock);
		c->consume(c->ctx, b, n);
		pthread_mutex_lock(&r->lock);
		++*done;
		if (ring_used(r) <= FEED_RING / 2)   /* the feeder waits for half the ring (below) */
			pthread_cond_signal(&r->space);
		/* a consumer waiting for this one: woken as the feeder wakes consumers */
		if (r->awaited >> c->idx & 1)
			for (unsigned j = 0; j < r->nr_consumers; j++) {
				const struct feed_consumer *d = &r->consumer[j];

				if (d->waiting && (d->after >> c->idx & 1) && worth_waking(r, d)) {
					pthread_cond_broadcast(&r->ready);
					break;
				}
			}
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void ring_free(struct pcp_feed_ring *r)
{
	for (size_t i = 0; i < FEED_RING; i++)
		free(r->batch[i]);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->ready);
	pthread_cond_destroy(&r->space);
	pthread_cond_destroy(&r->idle_done);
	free(r);
}

/* Ends the started threads (after what is queued) and frees the ring. */
static void ring_end(struct pcp_feed_ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->end = 1;
	pthread_cond_broadcast(&r->ready);
	pthread_mutex_unlock(&r->lock);
	for (unsigned i = 0; i < r->nr_consumers; i++)
		if (r->consumer[i].started)
			pthread_join(r->consumer[i].thread, NULL);
	ring_free(r);
}

int pcp_feed_start_n(const struct pcp_feed_consumer *c, size_t n, struct pcp_feed **out)
{
	struct pcp_feed *f;
	struct pcp_feed_ring *r;

	*out = NULL;
	if (!n || n > PCP_FEED_MAX_CONSUMERS)
		return PCP_ERR_USAGE;
	for (size_t i = 0; i < n; i++)
		/* only consumers after it: no cycle */
		if ((c[i].after & ((UINT32_C(2) << i) - 1)) || c[i].after >> n)
			return PCP_ERR_USAGE;
	f = calloc(1, sizeof(*f));
	r = calloc(1, sizeof(*r));
	if (!f || !r) {
		free(f);
		free(r);
		return PCP_ERR_NOMEM;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->ready, NULL);
	pthread_cond_init(&r->space, NULL);
	pthread_cond_init(&r->idle_done, NULL);
	for (size_t i = 0; i < FEED_RING; i++)
		if (!(r->batch[i] = malloc(PCP_FEED_BATCH * sizeof(struct pcp_feed_ev)))) {
			ring_free(r);
			free(f);
			return PCP_ERR_NOMEM;
		}
	r->nr_consumers = (unsigned)n;
	for (unsigned i = 0; i < n; i++) {
		r->consumer[i].after = c[i].after;
		r->awaited |= c[i].after;
	}
	for (unsigned i = 0; i < n; i++) {
		struct feed_consumer *fc = &r->consumer[i];

		fc->ring = r;
		fc->idx = i;
		fc->consume = c[i].consume;
		fc->ctx = c[i].ctx;
		snprintf(fc->name, sizeof(fc->name), "%s", c[i].name);
		if (pthread_create(&fc->thread, NULL, feed_main, fc)) {
			ring_end(r);   /* nothing was queued: the started ones end at once */
			free(f);
			return PCP_ERR_NOMEM;
		}
		fc->started = 1;
	}
	f->ring = r;
	f->cur = r->batch[0];
	*out = f;
	return PCP_OK;
}

int pcp_feed_start(const char *name, pcp_feed_consume_fn consume, void *ctx, struct pcp_feed **out)
{
	struct pcp_feed_consumer c = { name, consume, ctx, 0 };

	return pcp_feed_start_n(&c, 1, out);
}

void pcp_feed_set_idle(struct pcp_feed *f, int (*idle)(void *ctx), void *ctx)
{
	struct pcp_feed_ring *r = f->ring;

	pthread_mutex_lock(&r->lock);
	r->idle = idle;
	r->idle_ctx = ctx;
	/* the old hook's work may be under way: it ends before this returns (its context may
	 * be about to change: a reader that starts over) */
	while (r->idle_busy)
		pthread_cond_wait(&r->idle_done, &r->lock);
	pthread_mutex_unlock(&r->lock);
}

void pcp_feed_flush(struct pcp_feed *f)
{
	struct pcp_feed_ring *r = f->ring;

#if defined(__x86_64__) && defined(__SSE2__)
	_mm_sfence();   /* the batch's non-temporal stores before the handoff (pcp_feed_put) */
#endif
	pthread_mutex_lock(&r->lock);
	r->len[r->filled % FEED_RING] = f->n;
	r->filled++;
	/* a consumer waits for half the ring (feed_main); each checks its own share */
	for (unsigned i = 0; i < r->nr_consumers; i++)
		if (r->filled - r->done[i] >= FEED_RING / 2) {
			pthread_cond_broadcast(&r->ready);
			break;
		}
	/* the next batch to fill must not be one a consumer still reads; a full ring: wait
	 * until half of it is free, one wake-up per FEED_RING / 2 batches */
	if (ring_used(r) == FEED_RING) {
		/* every consumer with a batch queued is woken now (worth_waking) */
		r->feeder_waiting = 1;
		pthread_cond_broadcast(&r->ready);
		while (ring_used(r) > FEED_RING / 2)
			pthread_cond_wait(&r->space, &r->lock);
		r->feeder_waiting = 0;
	}
	pthread_mutex_unlock(&r->lock);
	f->cur = r->batch[r->filled % FEED_RING];
	f->n = 0;
}

void pcp_feed_finish(struct pcp_feed *f)
{
	if (!f)
		return;
	if (f->n)
		pcp_feed_flush(f);
	ring_end(f->ring);
	free(f);
}
