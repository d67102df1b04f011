/* Independent analyses side by side (side_by_side.h).
 *
 * Why threads here and not only inside each analysis: the inputs are independent (one
 * analysis each, nothing shared but the read-only options), and an analysis spends most of
 * its time in its one merging thread (lib/tracedat/ringbuf_decode.c), so whole analyses side
 * by side use the CPUs best. The inputs are taken in order from a shared counter. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "compare/side_by_side.h"
#include "tracedat/tracedat_probe.h"

struct pool {
	size_t n;
	atomic_size_t next;
	struct pcp_analyze_opts share;  /* jobs: each analysis's share */
	pcp_side_by_side_fn fn;
	void *ctx;
};

static void *pool_main(void *arg)
{
	struct pool *p = arg;
	size_t i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->n)
		p->fn(i, &p->share, p->ctx);
	return NULL;
}

void pcp_side_by_side(const char *const *paths, size_t n, const struct pcp_analyze_opts *opts,
		      pcp_side_by_side_fn fn, void *ctx)
{
	struct pool p = { .n = n, .share = *opts, .fn = fn, .ctx = ctx };
	size_t nr = opts->jobs < n ? opts->jobs : n, started = 0;
	pthread_t *threads;

	if (nr <= 1 || !(threads = calloc(nr - 1, sizeof(*threads)))) {
		for (size_t i = 0; i < n; i++)
			fn(i, opts, ctx);
		return;
	}
	/* The header checks fork: done here, before any thread of ours runs (tracedat_probe.h). */
	pcp_tracedat_probe_ahead(paths, n);
	atomic_init(&p.next, 0);
	p.share.jobs = opts->jobs / (unsigned)nr;
	/* a thread that cannot start leaves its share to the others */
	for (size_t i = 0; i + 1 < nr; i++)
		if (!pthread_create(&threads[started], NULL, pool_main, &p))
			started++;
	pool_main(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	pcp_tracedat_probe_forget();
}
