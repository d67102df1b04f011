/* The lifecycle model in PFN shards (lib/model/lifecycle.c's shard and order parts,
 * lib/model/lifecycle_feed.c's threads) gives the one model's results bit for bit: the same
 * event sequence once into one model, once into 1, 2 and 4 shards by direct calls and once
 * through an event feed with 2 and 4 shard threads (beside the churn model's consumer), every
 * lifecycle result compared field by field. The sequence has what splits the model: blocks of
 * every state meeting every event (lost entries, blocks listed at the start, drains by another
 * CPU, allocs of a block listed elsewhere), zone_locked records classifying allocs on one CPU
 * for blocks of every shard, orders 0, 3, 5 (not for PCP lists) and 9 (the PMD order), an
 * order of 40 and a CPU out of range (both ignored), native locks by task, other records,
 * missed-events marks, occupancy from snapshots, and pauses over many timeline buckets. */
#include <check.h>
#include <string.h>
#include <unistd.h>
#include "common/error.h"
#include "model/churn.h"
#include "model/churn_feed.h"
#include "model/event_feed.h"
#include "model/lifecycle.h"
#include "model/lifecycle_feed.h"
#include "check_helpers.h"

#define NR_CPUS 4
#define NR_EVENTS 200000

enum mode { INLINE, DIRECT, FED };

/* The i-th event of the sequence (0 if it is a missed-events mark instead). Half the allocs
 * are of the block of the CPU's last zone_locked record or refill (a buddy or a PCP alloc). */
struct gen {
	uint64_t seed, ts, last_zl[NR_CPUS];
};

static int next_event(struct gen *g, struct pcp_event *ev)
{
	uint64_t *seed = &g->seed, *ts = &g->ts, *last_zl = g->last_zl;
	uint32_t k;

	memset(ev, 0, sizeof(*ev));
	*seed = *seed * 6364136223846793005u + 1442695040888963407u;
	ev->cpu = (uint32_t)(*seed >> 33) % NR_CPUS;
	if ((*seed >> 24) % 5000 == 0)
		ev->cpu = NR_CPUS + 3;                          /* out of range: ignored */
	ev->pid = 100 + (int32_t)((*seed >> 36) % 7);
	*ts += (*seed >> 56) % 64 == 0 ? 30000000 : (*seed >> 56) % 4 == 0 ? 3000 : 40;
	ev->ts_ns = *ts;
	/* few enough blocks that they meet again; groups of 8 spread over every shard */
	ev->block.pfn = 0x40000 + ((*seed >> 20) % 2500) * 4;
	k = (uint32_t)(*seed >> 40) % 16;
	ev->block.order = k == 15 ? 9 : k == 14 ? 5 : k >= 12 ? 3 : 0;
	if ((*seed >> 28) % 7919 == 0)
		ev->block.order = 40;                           /* ignored: bad_order */
	k = (uint32_t)(*seed >> 48) % 24;
	if (k < 5) {
		ev->kind = PCP_EV_REFILL;
	} else if (k < 9) {
		ev->kind = PCP_EV_DRAIN;
	} else if (k < 14) {
		ev->kind = PCP_EV_PAGE_ALLOC;
		if ((*seed >> 12) & 1 && ev->cpu < NR_CPUS && last_zl[ev->cpu])
			ev->block.pfn = last_zl[ev->cpu];
	} else if (k < 19) {
		ev->kind = PCP_EV_PAGE_FREE;
	} else if (k < 21) {
		ev->kind = PCP_EV_ZONE_LOCKED;
	} else if (k == 21) {
		ev->kind = (*seed >> 8) & 1 ? PCP_EV_REFILL_LOCK : PCP_EV_DRAIN_LOCK;
		ev->lock.nid = 0;
		ev->lock.zid = 1;
		ev->lock.nr_pages = 1 + (*seed >> 14) % 64;
	} else if (k == 22) {
		return 0;
	} else {
		ev->kind = PCP_EV_OTHER;
	}
	if ((ev->kind == PCP_EV_ZONE_LOCKED || ev->kind == PCP_EV_REFILL) && ev->cpu < NR_CPUS)
		last_zl[ev->cpu] = ev->block.pfn;
	return 1;
}

static struct pcp_lifecycle_results *run(enum mode mode, unsigned nr_shards)
{
	static const int64_t start[NR_CPUS] = { 120, 0, 37, 400 }, end[NR_CPUS] = { 90, 5, 0, 380 };
	struct pcp_lifecycle_opts o;
	struct pcp_lifecycle_model *m, *shard[PCP_LC_SHARDS_MAX] = { 0 };
	struct pcp_lifecycle_results *r;
	struct pcp_churn_model *churn = NULL;
	struct pcp_churn_feed cf;
	struct pcp_lc_shards *set = NULL;
	struct pcp_feed *feed = NULL;
	struct pcp_feed_consumer c[PCP_FEED_MAX_CONSUMERS] = { { 0 } };
	struct gen g = { 11, 1000000, { 0 } };
	struct pcp_churn_opts co;

	pcp_lifecycle_opts_default(&o);
	o.start_pages = start;
	o.end_pages = end;
	o.bucket_ns = 1000000;
	ck_assert_int_eq(pcp_lifecycle_new(NR_CPUS, &o, &m), PCP_OK);
	if (mode == DIRECT)
		for (unsigned k = 0; k < nr_shards; k++)
			ck_assert_int_eq(pcp_lifecycle_new_shard(m, k, nr_shards, &shard[k]), PCP_OK);
	if (mode == FED) {
		pcp_churn_opts_default(&co);
		ck_assert_int_eq(pcp_churn_new(NR_CPUS, &co, &churn), PCP_OK);
		cf.churn = churn;
		cf.lcause = NULL;
		ck_assert_int_eq(pcp_lc_shards_new(m, nr_shards, &set), PCP_OK);
		pcp_lc_shards_consumers(set, c, 0);
		pcp_churn_feed_consumer(&cf, &c[nr_shards + 1]);
		ck_assert_int_eq(pcp_feed_start_n(c, nr_shards + 2, &feed), PCP_OK);
	}
	for (int i = 0; i < NR_EVENTS; i++) {
		struct pcp_event ev;
		struct pcp_lc_delta d;
		int owners = 0;

		if (!next_event(&g, &ev)) {
			if (feed)
				pcp_feed_push_missed(feed, ev.cpu, g.ts, 3);
			continue;
		}
		switch (mode) {
		case INLINE:
			pcp_lifecycle_event(m, &ev);
			break;
		case DIRECT:
			memset(&d, 0xa5, sizeof(d));    /* what a shard leaves is never read */
			for (unsigned k = 0; k < nr_shards; k++) {
				owners += pcp_lifecycle_is_own(shard[k], &ev);
				pcp_lifecycle_shard_event(shard[k], &ev, &d);
			}
			ck_assert_int_le(owners, 1);
			pcp_lifecycle_order_event(m, &ev, owners ? &d : NULL);
			break;
		case FED:
			pcp_feed_push(feed, &ev);
			break;
		}
	}
	if (feed) {
		pcp_feed_finish(feed);
		pcp_lc_shards_end(set);
		pcp_churn_free(churn);
	}
	for (unsigned k = 0; k < nr_shards && mode == DIRECT; k++) {
		pcp_lifecycle_merge_shard(m, shard[k]);
		pcp_lifecycle_free(shard[k]);
	}
	ck_assert_int_eq(pcp_lifecycle_finish(m, NULL, &r), PCP_OK);
	pcp_lifecycle_free(m);
	return r;
}

#define SAME_U(f) ck_assert_msg(a->f == b->f, #f ": %llu vs %llu", (unsigned long long)a->f, \
				(unsigned long long)b->f)
#define SAME_D(f) ck_assert_msg(memcmp(&a->f, &b->f, sizeof(double)) == 0, #f ": %.17g vs %.17g", a->f, b->f)

static void ck_same_flow(const struct pcp_lc_cpu_flow *a, const struct pcp_lc_cpu_flow *b)
{
	SAME_U(pcp_allocs); SAME_U(buddy_allocs); SAME_U(unclassified_allocs);
	SAME_U(free_entries); SAME_U(buddy_frees); SAME_U(refill_blocks); SAME_U(refill_pages);
	SAME_U(drain_blocks); SAME_U(drain_pages); SAME_U(unused_refills); SAME_U(remote_drains);
	SAME_U(occ_start); SAME_U(occ_min); SAME_U(occ_max); SAME_U(occ_end); SAME_D(occ_mean);
	SAME_U(has_snapshot_end); SAME_U(snapshot_end); SAME_U(end_diff);
}

static void ck_same(const struct pcp_lifecycle_results *a, const struct pcp_lifecycle_results *b)
{
	SAME_U(nr_cpus); SAME_U(first_ts_ns); SAME_U(last_ts_ns); SAME_U(occupancy_is_level);
	SAME_U(allocs); SAME_U(frees); SAME_U(pcp_allocs); SAME_U(buddy_allocs);
	SAME_U(unclassified_allocs); SAME_U(free_entries); SAME_U(buddy_frees); SAME_U(refill_blocks);
	SAME_U(drain_blocks); SAME_U(unused_refills); SAME_U(drains_owner_known); SAME_U(remote_drains);
	SAME_U(drains_owner_unknown); SAME_U(allocs_pcp_unseen); SAME_U(buddy_allocs_untraced); SAME_U(refill_acquisitions);
	SAME_U(drain_acquisitions); SAME_U(stays[0]); SAME_U(stays[1]);
	SAME_U(anomalies.refill_while_listed); SAME_U(anomalies.alloc_other_cpu);
	SAME_U(anomalies.drain_not_listed); SAME_U(anomalies.free_not_in_use);
	SAME_U(anomalies.bad_order); SAME_U(anomalies.bad_cpu);
	SAME_U(rt_split); SAME_U(rt_unused); SAME_U(rt_unsplit);
	for (int p = 0; p < PCP_LC_NR_PHASES; p++)
		SAME_D(rt_phase_p50_ns[p]);
	for (int x = 0; x < PCP_LC_NR_EXITS; x++) {
		SAME_D(residency_p50_ns[x]);
		SAME_D(residency_p99_ns[x]);
	}
	SAME_D(alloc_refill_ratio); SAME_D(free_drain_ratio); SAME_D(unused_refill_ratio);
	SAME_D(free_entry_share); SAME_D(remote_drain_ratio); SAME_D(pcp_residency_p50_ns);
	SAME_D(pcp_residency_p99_ns); SAME_D(mean_pcp_pages); SAME_D(occupancy_error_pages);
	for (uint32_t c = 0; c < a->nr_cpus; c++)
		ck_same_flow(&a->cpu_flow[c], &b->cpu_flow[c]);
	SAME_U(nr_tasks);
	for (size_t i = 0; i < a->nr_tasks; i++) {
		const struct pcp_lc_task *p = &a->tasks[i], *q = &b->tasks[i];

		ck_assert_int_eq(p->pid, q->pid);
		ck_assert_uint_eq(p->refill_blocks, q->refill_blocks);
		ck_assert_uint_eq(p->refill_pages, q->refill_pages);
		ck_assert_uint_eq(p->drain_blocks, q->drain_blocks);
		ck_assert_uint_eq(p->drain_pages, q->drain_pages);
		ck_assert_uint_eq(p->lock_acquisitions, q->lock_acquisitions);
		ck_assert_uint_eq(p->allocs, q->allocs);
		ck_assert_uint_eq(p->pcp_allocs, q->pcp_allocs);
		ck_assert_uint_eq(p->buddy_allocs, q->buddy_allocs);
		ck_assert_uint_eq(p->frees, q->frees);
		ck_assert_uint_eq(p->free_entries, q->free_entries);
	}
	SAME_U(nr_occ_timeline);
	for (size_t i = 0; i < a->nr_occ_timeline; i++) {
		const struct pcp_lc_occ_row *p = &a->occ_timeline[i], *q = &b->occ_timeline[i];

		ck_assert_uint_eq(p->bucket_start_ns, q->bucket_start_ns);
		ck_assert_uint_eq(p->cpu, q->cpu);
		ck_assert_uint_eq(p->changes, q->changes);
		ck_assert_int_eq(p->occ_min, q->occ_min);
		ck_assert_int_eq(p->occ_max, q->occ_max);
		ck_assert_int_eq(p->occ_end, q->occ_end);
		ck_assert_mem_eq(&p->occ_mean, &q->occ_mean, sizeof(double));
	}
	SAME_U(nr_residency);
	for (size_t i = 0; i < a->nr_residency; i++) {
		const struct pcp_lc_residency_row *p = &a->residency[i], *q = &b->residency[i];

		ck_assert_uint_eq(p->exit_kind, q->exit_kind);
		ck_assert_uint_eq(p->lo_ns, q->lo_ns);
		ck_assert_uint_eq(p->hi_ns, q->hi_ns);
		ck_assert_uint_eq(p->stays, q->stays);
		ck_assert_uint_eq(p->pages, q->pages);
	}
	SAME_U(nr_rt_phase_hist);
	for (size_t i = 0; i < a->nr_rt_phase_hist; i++) {
		ck_assert_uint_eq(a->rt_phase_hist[i].phase, b->rt_phase_hist[i].phase);
		ck_assert_uint_eq(a->rt_phase_hist[i].lo_ns, b->rt_phase_hist[i].lo_ns);
		ck_assert_uint_eq(a->rt_phase_hist[i].round_trips, b->rt_phase_hist[i].round_trips);
	}
	SAME_U(nr_metrics);
	for (size_t i = 0; i < a->nr_metrics; i++) {
		ck_assert_str_eq(a->metrics[i].name, b->metrics[i].name);
		ck_assert_mem_eq(&a->metrics[i].value, &b->metrics[i].value, sizeof(double));
	}
}

START_TEST(shards_same_results)
{
	struct pcp_lifecycle_results *one = run(INLINE, 0);

	/* the sequence exercises what it should */
	ck_assert_uint_gt(one->anomalies.refill_while_listed, 1000);
	ck_assert_uint_gt(one->anomalies.alloc_other_cpu, 1000);
	ck_assert_uint_gt(one->anomalies.drain_not_listed, 1000);
	ck_assert_uint_gt(one->anomalies.free_not_in_use, 1000);
	ck_assert_uint_gt(one->anomalies.bad_order, 10);
	ck_assert_uint_gt(one->anomalies.bad_cpu, 10);
	ck_assert_uint_gt(one->remote_drains, 1000);
	ck_assert_uint_gt(one->buddy_allocs, 1000);
	ck_assert_uint_gt(one->unclassified_allocs, 1000);
	ck_assert_uint_gt(one->buddy_frees, 1000);
	ck_assert_uint_gt(one->allocs_pcp_unseen, 1000);
	ck_assert_uint_gt(one->buddy_allocs_untraced, 1000);
	ck_assert_uint_gt(one->rt_split, 100);
	ck_assert_uint_gt(one->nr_occ_timeline, 1000);
	ck_assert_uint_gt(one->nr_tasks, 5);
	for (unsigned nr = 1; nr <= PCP_LC_SHARDS_MAX; nr *= 2) {
		struct pcp_lifecycle_results *r = run(DIRECT, nr);

		ck_same(one, r);
		pcp_lifecycle_results_free(r);
	}
	for (unsigned nr = 2; nr <= PCP_LC_SHARDS_MAX; nr *= 2) {
		struct pcp_lifecycle_results *r = run(FED, nr);

		ck_same(one, r);
		pcp_lifecycle_results_free(r);
	}
	pcp_lifecycle_results_free(one);
}
END_TEST

/* Consumers that wait for others, under random delays on every side: each batch reaches the
 * waiting consumer only after every one it waits for has consumed it (it checks their marks,
 * kept per ring slot as the lifecycle shards keep their deltas), and the feed never stalls.
 * The half-ring wake-ups once deadlocked here (the feeder waiting for room, the waiting
 * consumer for a shard, the shard for half a ring). */
#define STRESS_SHARDS 4
#define STRESS_BATCHES 3000

struct stress {
	uint64_t seen[STRESS_SHARDS + 1];       /* batches consumed, per consumer */
	uint64_t mark[STRESS_SHARDS][PCP_FEED_RING];
	uint64_t seed[STRESS_SHARDS + 1];
	int bad;
};

struct stress_part {
	struct stress *st;
	unsigned idx;                           /* 0: the waiting one; 1..: the shards */
};

static void stress_pause(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005u + 1442695040888963407u;
	if ((*seed >> 60) == 0)
		usleep((useconds_t)((*seed >> 40) % 300));
}

static void stress_consume(void *ctx, const struct pcp_feed_ev *b, size_t n)
{
	struct stress_part *p = ctx;
	struct stress *st = p->st;
	uint64_t k = st->seen[p->idx]++;

	stress_pause(&st->seed[p->idx]);
	if (n != PCP_FEED_BATCH || b[0].ts_ns != k)
		st->bad = 1;
	if (p->idx)
		st->mark[p->idx - 1][k % PCP_FEED_RING] = k + 1;
	else
		for (unsigned s = 0; s < STRESS_SHARDS; s++)
			if (__atomic_load_n(&st->mark[s][k % PCP_FEED_RING], __ATOMIC_RELAXED) != k + 1)
				st->bad = 1;
}

START_TEST(feed_waits_under_delays)
{
	struct stress st = { .seed = { 1, 2, 3, 4, 5 } };
	struct stress_part part[STRESS_SHARDS + 1];
	struct pcp_feed_consumer c[STRESS_SHARDS + 1];
	struct pcp_feed *f;
	uint64_t seed = 99;

	for (unsigned i = 0; i <= STRESS_SHARDS; i++) {
		part[i] = (struct stress_part){ &st, i };
		c[i] = (struct pcp_feed_consumer){ i ? "stress-shard" : "stress-order", stress_consume,
						   &part[i], i ? 0 : ((UINT32_C(1) << STRESS_SHARDS) - 1) << 1 };
	}
	ck_assert_int_eq(pcp_feed_start_n(c, STRESS_SHARDS + 1, &f), PCP_OK);
	for (uint64_t k = 0; k < STRESS_BATCHES; k++) {
		for (size_t i = 0; i < PCP_FEED_BATCH; i++)
			pcp_feed_put_fields(f, k, i, 0, 0, PCP_EV_OTHER, 0, 0, 0);
		stress_pause(&seed);
	}
	pcp_feed_finish(f);
	ck_assert_int_eq(st.bad, 0);
	for (unsigned i = 0; i <= STRESS_SHARDS; i++)
		ck_assert_uint_eq(st.seen[i], STRESS_BATCHES);
}
END_TEST

/* The feed refuses consumers that wait for themselves or for one before them (a cycle). */
START_TEST(feed_refuses_waits_backwards)
{
	struct pcp_lifecycle_model *m;
	struct pcp_feed_consumer c[3] = { { 0 } };
	struct pcp_feed *f = NULL;

	ck_assert_int_eq(pcp_lifecycle_new(1, NULL, &m), PCP_OK);
	pcp_lc_feed_consumer(m, &c[0]);
	pcp_lc_feed_consumer(m, &c[1]);
	c[1].after = 1;         /* consumer 0: before it */
	ck_assert_int_eq(pcp_feed_start_n(c, 2, &f), PCP_ERR_USAGE);
	c[1].after = 2;         /* itself */
	ck_assert_int_eq(pcp_feed_start_n(c, 2, &f), PCP_ERR_USAGE);
	c[1].after = 4;         /* not given */
	ck_assert_int_eq(pcp_feed_start_n(c, 2, &f), PCP_ERR_USAGE);
	ck_assert_ptr_null(f);
	pcp_lifecycle_free(m);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("lc_shards");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, shards_same_results);
	tcase_add_test(tc, feed_waits_under_delays);
	tcase_add_test(tc, feed_refuses_waits_backwards);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
