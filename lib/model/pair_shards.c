/* The pairing in PFN shards (pair_shards.h). */
#include <stdlib.h>
#include <string.h>
#include "common/error.h"
#include "model/event_feed.h"
#include "model/pair_shards.h"

/* A shard's thread reads the home slots of SHARD_AHEAD refills/drains before it pairs them:
 * its table is far larger than the caches on long traces and the work per event small, so
 * memory latency dominates. Loads, not prefetches: on this project's VMs (shadow paging) a
 * prefetch that misses the TLB is dropped (measured: 80 % of the thread's pcp_pair_refill
 * samples on the slot's first load with a 16-ahead prefetch); a group of independent loads
 * lets the core walk the page tables and wait for the misses in parallel (-15 % of the
 * thread's samples on a 15 M-event, 800k-PFN trace). */
#define SHARD_AHEAD 16

struct pair_shard {
	struct pcp_pair_table table;
	struct pcp_pair_sums sums;      /* pairs..cycles_saturated filled at finish */
	uint32_t nr_cpus;
	uint64_t churn_window_ns;
	int err;
	struct pcp_feed *feed;          /* NULL: inline */
} __attribute__((aligned(64)));  /* shards on different threads share no cache line */

struct pcp_pair_shards {
	unsigned nr_shards, threaded, finished;
	uint64_t shard_mask;            /* nr_shards - 1 (a power of two) */
	struct pair_shard *shard;
	struct pcp_pair_sums total;     /* after finish */
};

/* One pair into the shard's sums. */
static void sums_add(struct pair_shard *sh, const struct pcp_pair *p, uint32_t drain_cpu)
{
	struct pcp_pair_sums *s = &sh->sums;
	uint64_t pages = UINT64_C(1) << p->order;
	uint64_t rt = p->round_trip_ns;
	unsigned h = log2_index(rt);
	struct pcp_pair_count *row = s->matrix[p->refill_cpu];

	s->paired_pages += pages;
	if (p->refill_cpu != drain_cpu)
		s->cross_pairs++;
	if (rt <= sh->churn_window_ns)
		s->fast_pages += pages;
	if (rt > s->max_round_trip)
		s->max_round_trip = rt;
	s->hist_pairs[h]++;
	s->hist_pages[h] += pages;
	s->fine[fine_index(rt)]++;
	if (!row) {
		/* at most nr_cpus times per shard */
		row = s->matrix[p->refill_cpu] = calloc(sh->nr_cpus, sizeof(*row));
		if (!row) {
			sh->err = PCP_ERR_NOMEM;
			return;
		}
	}
	row[drain_cpu].pairs++;
	row[drain_cpu].pages += pages;
}

static inline void shard_block(struct pair_shard *sh, int drain, uint64_t pfn, uint32_t order,
			       uint32_t cpu, uint64_t ts_ns)
{
	struct pcp_pair p;

	if (!drain) {
		if (pcp_pair_refill(&sh->table, pfn, order, cpu, ts_ns))
			sh->err = PCP_ERR_NOMEM;
	} else if (pcp_pair_drain(&sh->table, pfn, cpu, ts_ns, &p)) {
		sums_add(sh, &p, cpu);
	}
}

/* A shard's thread: a batch of its refills and drains, in the trace's order. */
static void shard_consume(void *ctx, const struct pcp_feed_ev *b, size_t n)
{
	struct pair_shard *sh = ctx;

	for (size_t i0 = 0; i0 < n; i0 += SHARD_AHEAD) {
		size_t end = i0 + SHARD_AHEAD < n ? i0 + SHARD_AHEAD : n;
		const struct pcp_pair_table *t = &sh->table;
		uint32_t touched = 0;

		/* the slots as the table is now: a growth in the group below only costs misses */
		for (size_t i = i0; i < end; i++)
			touched += t->slots[pcp_pair_home(pcp_pfn_hash(b[i].pfn), b[i].pfn, t->nr_groups)].id;
		__asm__ volatile("" : : "r"(touched));   /* the loads are kept; no effect on results */
		for (size_t i = i0; i < end; i++)
			shard_block(sh, b[i].kind == PCP_EV_DRAIN, b[i].pfn, b[i].order, b[i].cpu, b[i].ts_ns);
	}
}

/* The shard of pfn: the low bits of its group of 8 (PCP_PFN_GROUP_BITS). Not the hash's top
 * bits: those pick the home group inside each shard's table, which would then use only its
 * 1/nr_shards part. A mask, not a modulo: a division per block was 9 % of the analysis
 * thread's time. */
static inline unsigned shard_of(const struct pcp_pair_shards *s, uint64_t pfn)
{
	return (unsigned)((pfn >> PCP_PFN_GROUP_BITS) & s->shard_mask);
}

static void shards_stop(struct pcp_pair_shards *s)
{
	for (unsigned i = 0; i < s->nr_shards; i++) {
		pcp_feed_finish(s->shard[i].feed);
		s->shard[i].feed = NULL;
	}
}

static void sums_free(struct pcp_pair_sums *s, uint32_t nr_cpus)
{
	if (!s->matrix)
		return;
	for (uint32_t c = 0; c < nr_cpus; c++)
		free(s->matrix[c]);
	free(s->matrix);
	s->matrix = NULL;
}

/* Ends the threads and frees the shards; s itself stays (empty). */
static void shards_destroy(struct pcp_pair_shards *s)
{
	if (s->shard) {
		shards_stop(s);
		for (unsigned i = 0; i < s->nr_shards; i++) {
			pcp_pair_table_destroy(&s->shard[i].table);
			sums_free(&s->shard[i].sums, s->shard[i].nr_cpus);
		}
		sums_free(&s->total, s->shard[0].nr_cpus);
	}
	free(s->shard);
	memset(s, 0, sizeof(*s));
}

void pcp_pair_shards_free(struct pcp_pair_shards *s)
{
	if (!s)
		return;
	shards_destroy(s);
	free(s);
}

static int shards_alloc(struct pcp_pair_shards *s, unsigned nr_shards, uint32_t nr_cpus,
			uint64_t churn_window_ns)
{
	size_t n = nr_cpus ? nr_cpus : 1;

	s->nr_shards = nr_shards;
	s->shard_mask = nr_shards - 1;
	s->shard = aligned_alloc(64, nr_shards * sizeof(*s->shard));
	if (!s->shard)
		return PCP_ERR_NOMEM;
	memset(s->shard, 0, nr_shards * sizeof(*s->shard));
	for (unsigned i = 0; i < nr_shards; i++) {
		struct pair_shard *sh = &s->shard[i];

		sh->nr_cpus = nr_cpus;
		sh->churn_window_ns = churn_window_ns;
		if (!(sh->sums.matrix = calloc(n, sizeof(*sh->sums.matrix))) ||
		    pcp_pair_table_init(&sh->table, 0))
			return PCP_ERR_NOMEM;
	}
	return (s->total.matrix = calloc(n, sizeof(*s->total.matrix))) ? PCP_OK : PCP_ERR_NOMEM;
}

int pcp_pair_shards_new(uint32_t nr_cpus, uint64_t churn_window_ns, unsigned nr_threads,
			struct pcp_pair_shards **out)
{
	struct pcp_pair_shards *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return PCP_ERR_NOMEM;
	while (nr_threads & (nr_threads - 1))   /* a power of two (shard_of) */
		nr_threads &= nr_threads - 1;
	if (nr_threads && nr_cpus <= 65536) {
		unsigned started = 0;

		if (shards_alloc(s, nr_threads, nr_cpus, churn_window_ns) == PCP_OK)
			for (; started < nr_threads; started++)
				if (pcp_feed_start("pcp-pairs", shard_consume, &s->shard[started],
						   &s->shard[started].feed))
					break;
		if (started == nr_threads) {
			s->threaded = 1;
			*out = s;
			return PCP_OK;
		}
		/* not every thread: one shard inline instead (the same results) */
		shards_destroy(s);
	}
	if (shards_alloc(s, 1, nr_cpus, churn_window_ns)) {
		pcp_pair_shards_free(s);
		return PCP_ERR_NOMEM;
	}
	*out = s;
	return PCP_OK;
}

unsigned pcp_pair_shards_threads(const struct pcp_pair_shards *s)
{
	return s->threaded ? s->nr_shards : 0;
}

void pcp_pair_shards_block(struct pcp_pair_shards *s, int drain, uint64_t pfn, uint32_t order,
			   uint32_t cpu, uint64_t ts_ns)
{
	if (!s->threaded) {
		shard_block(&s->shard[0], drain, pfn, order, cpu, ts_ns);
		return;
	}
	pcp_feed_put_fields(s->shard[shard_of(s, pfn)].feed, ts_ns, pfn, 0, (uint16_t)cpu,
			    drain ? PCP_EV_DRAIN : PCP_EV_REFILL, (uint8_t)order, 0, 0);
}

const struct pcp_pair_table *pcp_pair_shards_table(const struct pcp_pair_shards *s)
{
	return s->threaded ? NULL : &s->shard[0].table;
}

int pcp_pair_shards_set_idle(struct pcp_pair_shards *s, int (*idle)(void *ctx), void *ctx)
{
	if (!s->threaded || s->finished)
		return 0;
	pcp_feed_set_idle(s->shard[0].feed, idle, ctx);
	return 1;
}

/* The table's counters into its shard's sums. */
static void sums_of_table(struct pair_shard *sh)
{
	const struct pcp_pair_table *t = &sh->table;

	sh->sums.pairs = t->pairs;
	sh->sums.unmatched_drains = t->unmatched_drains;
	sh->sums.refill_overwritten = t->refill_overwritten;
	sh->sums.nr_open = t->nr_open;
	sh->sums.cycles_saturated = t->cycles_saturated;
}

const struct pcp_pair_sums *pcp_pair_shards_peek(const struct pcp_pair_shards *s)
{
	if (s->threaded)
		return NULL;
	sums_of_table(&s->shard[0]);
	return &s->shard[0].sums;
}

/* src added into dst (integers only: the order of the shards does not matter). */
static int sums_merge(struct pcp_pair_sums *dst, const struct pcp_pair_sums *src, uint32_t nr_cpus)
{
	dst->pairs += src->pairs;
	dst->unmatched_drains += src->unmatched_drains;
	dst->refill_overwritten += src->refill_overwritten;
	dst->nr_open += src->nr_open;
	dst->cycles_saturated += src->cycles_saturated;
	dst->paired_pages += src->paired_pages;
	dst->cross_pairs += src->cross_pairs;
	dst->fast_pages += src->fast_pages;
	if (src->max_round_trip > dst->max_round_trip)
		dst->max_round_trip = src->max_round_trip;
	for (unsigned i = 0; i < LOG2_BUCKETS; i++) {
		dst->hist_pairs[i] += src->hist_pairs[i];
		dst->hist_pages[i] += src->hist_pages[i];
	}
	for (unsigned i = 0; i < FINE_BUCKETS; i++)
		dst->fine[i] += src->fine[i];
	for (uint32_t a = 0; a < nr_cpus; a++) {
		if (!src->matrix[a])
			continue;
		if (!dst->matrix[a] && !(dst->matrix[a] = calloc(nr_cpus, sizeof(*dst->matrix[a]))))
			return PCP_ERR_NOMEM;
		for (uint32_t b = 0; b < nr_cpus; b++) {
			dst->matrix[a][b].pairs += src->matrix[a][b].pairs;
			dst->matrix[a][b].pages += src->matrix[a][b].pages;
		}
	}
	return PCP_OK;
}

int pcp_pair_shards_finish(struct pcp_pair_shards *s)
{
	int err = PCP_OK;

	if (s->finished)
		return PCP_ERR_USAGE;
	s->finished = 1;
	shards_stop(s);   /* every batch consumed: the shards' state is this thread's now */
	for (unsigned i = 0; i < s->nr_shards; i++) {
		struct pair_shard *sh = &s->shard[i];

		if (!err)
			err = sh->err;
		sums_of_table(sh);
		if (!err)
			err = sums_merge(&s->total, &sh->sums, sh->nr_cpus);
	}
	return err;
}

const struct pcp_pair_sums *pcp_pair_shards_sums(const struct pcp_pair_shards *s)
{
	return &s->total;
}

int pcp_pair_shards_top_cycles(const struct pcp_pair_shards *s, size_t n, struct pcp_pfn_cycles **out,
			       size_t *nr_out)
{
	struct pcp_pfn_cycles *all = NULL;
	size_t nr_all = 0;

	if (s->nr_shards == 1)
		return pcp_pair_top_cycles(&s->shard[0].table, n, out, nr_out);
	*out = NULL;
	*nr_out = 0;
	/* each shard's top n holds every row of the overall top n that is in that shard */
	for (unsigned i = 0; i < s->nr_shards; i++) {
		struct pcp_pfn_cycles *rows, *grown;
		size_t nr;

		if (pcp_pair_top_cycles(&s->shard[i].table, n, &rows, &nr)) {
			free(all);
			return PCP_ERR_NOMEM;
		}
		if (!nr)
			continue;
		grown = realloc(all, (nr_all + nr) * sizeof(*all));
		if (!grown) {
			free(rows);
			free(all);
			return PCP_ERR_NOMEM;
		}
		all = grown;
		memcpy(all + nr_all, rows, nr * sizeof(*rows));
		nr_all += nr;
		free(rows);
	}
	if (!nr_all)
		return PCP_OK;
	qsort(all, nr_all, sizeof(*all), pcp_pfn_cycles_cmp_rank);
	*out = all;
	*nr_out = nr_all < n ? nr_all : n;
	return PCP_OK;
}
