/* A model on a thread of its own (event_feed.h).
 *
 * A ring of FEED_RING batches: the analysis thread fills ring[tail] and queues it, the model
 * thread consumes ring[head] and frees it; one mutex and two condition variables, taken once
 * per batch of PCP_FEED_BATCH events, never per event. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "common/error.h"
#include "model/event_feed.h"

#define FEED_RING 8

_Static_assert(sizeof(struct pcp_feed_ev) == 24, "24 bytes per fed event");

struct pcp_feed_ring {
	pcp_feed_consume_fn consume;
	void *ctx;
	char name[16];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t ready, space;
	struct pcp_feed_ev *batch[FEED_RING];
	size_t len[FEED_RING];
	size_t head, tail, count;   /* queued batches: ring[head..head + count) */
	int end;                    /* nothing more comes after what is queued */
	int (*idle)(void *);        /* other work for the thread while it waits (set_idle) */
	void *idle_ctx;
	int idle_busy;
              /* the thread is in idle() (set_idle waits for it) */
	pthread_cond_t idle_done;
};

static void *feed_main(void *arg)
{
	struct pcp_feed_ring *r = arg;

	pthread_setname_np(pthread_self(), r->name);   /* perf --sort comm, top -H */
	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct pcp_feed_ev *b;
		size_t n;

		/* An empty ring: sleep until half of it is queued (or the end), so that a model
		 * faster than its feeder wakes once per FEED_RING / 2 batches, not per batch. */
		if (!r->count)
			while (r->count < FEED_RING / 2 && !r->end) {
				int (*idle)(void *) = r->idle;

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
					/* the feeder's signal (half the ring queued, or the end) may have
					 * come while idle() ran unlocked: nobody was waiting for it */
					if (r->count >= FEED_RING / 2 || r->end)
						break;
				}
				pthread_cond_wait(&r->ready, &r->lock);
			}
		if (!r->count)
			break;
		b = r->batch[r->head];
		n = r->len[r->head];
		pthread_mutex_unlock(&r->lock);
		r->consume(r->ctx, b, n);
		pthread_mutex_lock(&r->lock);
		r->head = (r->head + 1) % FEED_RING;
		r->count--;
		if (r->count <= FEED_RING / 2)   /* the feeder waits for half the ring (below) */
			pthread_cond_signal(&r->space);
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

int pcp_feed_start(const char *name, pcp_feed_consume_fn consume, void *ctx, struct pcp_feed **out)
{
	struct pcp_feed *f;
	struct pcp_feed_ring *r;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	r = calloc(1, sizeof(*r));
	if (!f || !r) {
		free(f);
		free(r);
		return PCP_ERR_NOMEM;
	}
	r->consume = consume;
	r->ctx = ctx;
	snprintf(r->name, sizeof(r->name), "%s", name);
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
	if (pthread_create(&r->thread, NULL, feed_main, r)) {
		ring_free(r);
		free(f);
		return PCP_ERR_NOMEM;
	}
	f->ring = r;
	f->cur = r->batch[0];
	*out = f;
	return PCP_OK;
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
	r->len[r->tail] = f->n;
	r->tail = (r->tail + 1) % FEED_RING;
	r->count++;
	if (r->count >= FEED_RING / 2)   /* the model waits for half the ring (feed_main) */
		pthread_cond_signal(&r->ready);
	/* the next batch to fill must not be one the thread still reads; a full ring: wait
	 * until half of it is free, one wake-up per FEED_RING / 2 batches */
	if (r->count == FEED_RING)
		while (r->count > FEED_RING / 2)
			pthread_cond_wait(&r->space, &r->lock);
	pthread_mutex_unlock(&r->lock);
	f->cur = r->batch[r->tail];
	f->n = 0;
}

void pcp_feed_finish(struct pcp_feed *f)
{
	struct pcp_feed_ring *r;

	if (!f)
		return;
	r = f->ring;
	if (f->n)
		pcp_feed_flush(f);
	pthread_mutex_lock(&r->lock);
	r->end = 1;
	pthread_cond_signal(&r->ready);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	ring_free(r);
	free(f);
}
