/* Cost per event of the churn model (pcp_churn_event), outside the test suite.
 * Build: gcc -O2 -std=gnu11 -Iinclude bench/model_bench.c lib/churn_model.c lib/pair_events.c -o /tmp/model_bench
 * Run:   /tmp/model_bench [events] [distinct_pfns] [seq]
 * Events are generated in chunks that stay in cache (not timed): per CPU, bulk refills of 31
 * blocks, then the same blocks drained later (often on another CPU), 1 record in 4 another
 * event. PFNs of a bulk refill are random in the pool, or with seq=1 consecutive from a random
 * start (as rmqueue_bulk splitting a buddy block gives). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "model/churn.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* CPU time: the machine is shared */
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t total = argc > 1 ? strtoull(argv[1], NULL, 0) : 20000000;
	uint64_t pool = argc > 2 ? strtoull(argv[2], NULL, 0) : 262144;
	int seq = argc > 3 ? atoi(argv[3]) : 0;
	const size_t n = 8192;          /* chunk: 8192 x 80 bytes stays in L2 */
	const uint32_t nr_cpus = 8;
	struct pcp_event *ev = calloc(n, sizeof(*ev));
	uint64_t pending[nr_cpus][31];
	unsigned nr_pending[nr_cpus];
	struct pcp_churn_opts o;
	struct pcp_churn_model *m;
	struct pcp_churn_results *r;
	uint64_t ts = 0;
	double t0, t1, timed = 0;
	size_t done = 0;

	if (!ev)
		return 1;
	for (uint32_t c = 0; c < nr_cpus; c++)
		nr_pending[c] = 0;
	pcp_churn_opts_default(&o);
	o.lock_source = PCP_LOCK_INFERRED;
	if (pcp_churn_new(nr_cpus, &o, &m))
		return 1;
	while (done < total) {
	uint64_t start = rnd() % pool;
	for (size_t i = 0; i < n;) {
		uint32_t cpu = (uint32_t)(rnd() % nr_cpus);
		uint32_t k = (uint32_t)(rnd() % 4);

		if (k == 0) {
			ev[i++] = (struct pcp_event){ .ts_ns = ts += 50, .cpu = cpu, .kind = PCP_EV_OTHER };
		} else if (k == 1 || nr_pending[cpu] == 0) {
			/* bulk refill of up to 31 blocks */
			for (unsigned b = 0; b < 31 && i < n; b++) {
				struct pcp_event *e = &ev[i++];

				e->ts_ns = ts += 20;
				e->cpu = cpu;
				e->kind = PCP_EV_REFILL;
				e->block.pfn = seq ? (start++) % pool : rnd() % pool;
				e->block.order = 0;
				if (nr_pending[cpu] < 31)
					pending[cpu][nr_pending[cpu]++] = e->block.pfn;
			}
		} else {
			/* drain what some CPU refilled (often another one: remote drain) */
			uint32_t owner = (uint32_t)(rnd() % nr_cpus);

			if (!nr_pending[owner])
				owner = cpu;
			while (nr_pending[owner] && i < n) {
				struct pcp_event *e = &ev[i++];

				e->ts_ns = ts += 20;
				e->cpu = cpu;
				e->kind = PCP_EV_DRAIN;
				e->block.pfn = pending[owner][--nr_pending[owner]];
			}
		}
	}

	t0 = now_s();
	for (size_t i = 0; i < n; i++)
		pcp_churn_event(m, &ev[i]);
	timed += now_s() - t0;
	done += n;
	}
	t1 = now_s();
	if (pcp_churn_finish(m, &r))
		return 1;
	printf("%zu events, %llu-PFN pool (%s): %.1f ns/event (%.2f s); finish %.3f s\n", done,
	       (unsigned long long)pool, seq ? "sequential" : "random", timed / done * 1e9, timed,
	       now_s() - t1);
	for (size_t i = 0; i < r->nr_metrics; i++)
		if (i < 7)
			printf("  %s = %g\n", r->metrics[i].name, r->metrics[i].value);
	pcp_churn_results_free(r);
	pcp_churn_free(m);
	free(ev);
	return 0;
}
