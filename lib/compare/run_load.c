/* The runs of a comparison, loaded side by side (run_load.h).
 *
 * Why threads here and not only inside each analysis: a comparison's inputs are independent
 * (one analysis each, nothing shared but the read-only options), and an analysis spends most
 * of its time in its one merging thread (lib/tracedat/ringbuf_decode.c), so whole analyses
 * side by side use the CPUs best. The requests are taken in order from a shared counter;
 * each thread writes only its own requests. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "common/error.h"
#include "compare/run_load.h"
#include "tracedat/tracedat_probe.h"

struct load_pool {
	struct pcp_run_request *req;
	size_t n;
	atomic_size_t next;
	struct pcp_analyze_opts opts;   /* jobs: each analysis's share */
};

static void load_one(struct pcp_run_request *q, const struct pcp_analyze_opts *opts)
{
	q->reason[0] = '\0';
	q->err = pcp_run_load(q->path, opts, q->run, q->reason, sizeof(q->reason));
}

static void *load_main(void *arg)
{
	struct load_pool *pool = arg;
	size_t i;

	while ((i = atomic_fetch_add(&pool->next, 1)) < pool->n)
		load_one(&pool->req[i], &pool->opts);
	return NULL;
}

void pcp_runs_load(struct pcp_run_request *req, size_t n, const struct pcp_analyze_opts *opts)
{
	struct load_pool pool = { .req = req, .n = n, .opts = *opts };
	size_t nr = opts->jobs < n ? opts->jobs : n, started = 0;
	pthread_t *threads;

	if (nr <= 1 || !(threads = calloc(nr - 1, sizeof(*threads)))) {
		for (size_t i = 0; i < n; i++)
			load_one(&req[i], opts);
		return;
	}
	/* The header checks fork: done here, before any thread of ours runs (tracedat_probe.h). */
	const char **paths = calloc(n, sizeof(*paths));
	if (paths) {
		for (size_t i = 0; i < n; i++)
			paths[i] = req[i].path;
		pcp_tracedat_probe_ahead(paths, n);
		free(paths);
	}
	atomic_init(&pool.next, 0);
	pool.opts.jobs = opts->jobs / (unsigned)nr;
	/* the caller's thread is one of them; a thread that cannot start leaves its share to the
	 * others */
	for (size_t i = 0; i + 1 < nr; i++)
		if (!pthread_create(&threads[started], NULL, load_main, &pool))
			started++;
	load_main(&pool);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	pcp_tracedat_probe_forget();
}
