/* The churn model on a thread of its own (lib/model/churn_feed.c), fed through an event feed
 * (lib/model/event_feed.c) beside the lifecycle model, gives the inline results bit for bit:
 * the same event sequence, once straight into the models and once through a feed with one or
 * two consumers, every result compared. The sequence has what the fed record must carry:
 * refills and drains of orders 0-3 and an order of 300 (kept as 255: bad either way), native
 * zone locks of two nodes and a zone id of -1 with their pages, allocs and frees, zone_locked
 * records, other and ignored records, missed-events marks known and unknown, and stack records
 * that the lock-cause model attributes on the churn model's thread. */
#include <check.h>
#include <string.h>
#include "common/error.h"
#include "model/churn.h"
#include "model/churn_feed.h"
#include "model/event_feed.h"
#include "model/lifecycle.h"
#include "model/lifecycle_feed.h"
#include "model/lock_cause.h"
#include "check_helpers.h"

#define NR_CPUS 4

struct models {
	struct pcp_churn_model *churn;
	struct pcp_lock_cause_model *lcause;
	struct pcp_lifecycle_model *lc;
	struct pcp_feed *feed;          /* NULL: inline */
	int lc_fed;
};

struct results {
	struct pcp_churn_results *churn;
	struct pcp_lock_cause_results *lcause;
	struct pcp_lifecycle_results *lc;
};

static void put(struct models *m, const struct pcp_event *ev)
{
	if (!m->lc_fed)
		pcp_lifecycle_event(m->lc, ev);
	if (m->feed) {
		pcp_feed_push(m->feed, ev);
		return;
	}
	pcp_churn_event(m->churn, ev);
	pcp_lock_cause_event(m->lcause, m->churn, ev);
}

static void missed(struct models *m, uint32_t cpu, uint64_t ts, int64_t count)
{
	if (m->feed)
		pcp_feed_push_missed(m->feed, cpu, ts, count);
	else
		pcp_churn_missed(m->churn, cpu, count);
}

/* consumers: 0 inline; 1 the churn model on the feed; 2 the lifecycle and churn models on it */
static void run(int consumers, int native, struct results *out)
{
	static const uint64_t frames[3][4] = { { 0x1000, 0x2000 }, { 0x3000, 0x4000, 0x5000 }, { 0x6000 } };
	struct models m = { 0 };
	struct pcp_churn_opts o;
	struct pcp_churn_feed cf;
	struct pcp_feed_consumer c[2];
	uint64_t seed = 7, ts = 5000;

	pcp_churn_opts_default(&o);
	o.lock_source = native ? PCP_LOCK_NATIVE : PCP_LOCK_INFERRED;
	o.infer_gap_ns[0] = o.infer_gap_ns[1] = 2000;
	o.bucket_ns = 1000000;
	o.top_n = 50;
	ck_assert_int_eq(pcp_churn_new(NR_CPUS, &o, &m.churn), PCP_OK);
	ck_assert_int_eq(pcp_lock_cause_new(NR_CPUS, 10, &m.lcause), PCP_OK);
	ck_assert_int_eq(pcp_lifecycle_new(NR_CPUS, NULL, &m.lc), PCP_OK);
	cf.churn = m.churn;
	cf.lcause = m.lcause;
	if (consumers == 1) {
		pcp_churn_feed_consumer(&cf, &c[0]);
		ck_assert_int_eq(pcp_feed_start_n(c, 1, &m.feed), PCP_OK);
	} else if (consumers == 2) {
		pcp_lc_feed_consumer(m.lc, &c[0]);
		pcp_churn_feed_consumer(&cf, &c[1]);
		ck_assert_int_eq(pcp_feed_start_n(c, 2, &m.feed), PCP_OK);
		m.lc_fed = 1;
	}
	for (int i = 0; i < 150000; i++) {
		struct pcp_event ev;
		uint32_t k;

		memset(&ev, 0, sizeof(ev));
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		ev.cpu = (uint32_t)(seed >> 33) % NR_CPUS;
		ev.pid = 100 + (int32_t)((seed >> 36) % 5);
		ts += (seed >> 56) % 4 == 0 ? 3000 : 40;
		ev.ts_ns = ts;
		ev.block.pfn = 0x20000 + ((seed >> 20) % 3000) * 8;
		ev.block.order = (seed >> 40) % 8 == 7 ? 3 : 0;
		if (i % 9973 == 0)
			ev.block.order = 300;
		k = (uint32_t)(seed >> 48) % 20;
		if (k < 5) {
			ev.kind = PCP_EV_REFILL;
		} else if (k < 10) {
			ev.kind = PCP_EV_DRAIN;
		} else if (k < 12) {
			ev.kind = PCP_EV_PAGE_ALLOC;
		} else if (k < 14) {
			ev.kind = PCP_EV_PAGE_FREE;
		} else if (k == 14) {
			ev.kind = PCP_EV_ZONE_LOCKED;
		} else if (k == 15) {
			ev.kind = native ? ((seed >> 8) & 1 ? PCP_EV_REFILL_LOCK : PCP_EV_DRAIN_LOCK) : PCP_EV_IGNORED;
			ev.lock.nid = (int32_t)(seed >> 10) & 1;
			ev.lock.zid = (seed >> 12) % 5 == 0 ? -1 : 2;
			ev.lock.nr_pages = 1 + (seed >> 14) % 64;
		} else if (k == 16) {
			unsigned s = (unsigned)(seed >> 16) % 3;

			ev.kind = PCP_EV_STACK;
			pcp_lock_cause_intern(m.lcause, frames[s], s == 1 ? 3 : s == 0 ? 2 : 1, &ev);
		} else if (k == 17) {
			missed(&m, ev.cpu, ts, (seed >> 18) & 1 ? 5 : -1);
			continue;
		} else {
			ev.kind = PCP_EV_OTHER;
		}
		put(&m, &ev);
	}
	pcp_feed_finish(m.feed);
	ck_assert_int_eq(pcp_churn_finish(m.churn, &out->churn), PCP_OK);
	ck_assert_int_eq(pcp_lock_cause_finish(m.lcause, NULL, &out->lcause), PCP_OK);
	ck_assert_int_eq(pcp_lifecycle_finish(m.lc, out->churn, &out->lc), PCP_OK);
	pcp_churn_free(m.churn);
	pcp_lock_cause_free(m.lcause);
	pcp_lifecycle_free(m.lc);
}

static void ck_same_metrics(const struct pcp_metric *a, const struct pcp_metric *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(a[i].name, b[i].name);
		ck_assert_msg(memcmp(&a[i].value, &b[i].value, sizeof(double)) == 0, "%s: %.17g vs %.17g",
			      a[i].name, a[i].value, b[i].value);
	}
}

static void ck_same(const struct results *a, const struct results *b)
{
	const struct pcp_churn_results *x = a->churn, *y = b->churn;

	ck_assert_uint_eq(x->events_seen, y->events_seen);
	ck_assert_uint_eq(x->events_lost, y->events_lost);
	ck_assert_uint_eq(x->nr_metrics, y->nr_metrics);
	ck_same_metrics(x->metrics, y->metrics, x->nr_metrics);
	ck_assert_mem_eq(x->cpu_flow, y->cpu_flow, x->nr_cpus * sizeof(*x->cpu_flow));
	ck_assert_uint_eq(x->nr_pair_cells, y->nr_pair_cells);
	ck_assert_mem_eq(x->pair_matrix, y->pair_matrix, x->nr_pair_cells * sizeof(*x->pair_matrix));
	ck_assert_uint_eq(x->nr_zone_lock, y->nr_zone_lock);
	for (size_t i = 0; i < x->nr_zone_lock; i++) {   /* field by field: rows have padding */
		const struct pcp_zone_lock_row *p = &x->zone_lock[i], *q = &y->zone_lock[i];

		ck_assert_int_eq(p->nid, q->nid);
		ck_assert_int_eq(p->zid, q->zid);
		ck_assert_int_eq(p->kind, q->kind);
		ck_assert_uint_eq(p->acquisitions, q->acquisitions);
		ck_assert_uint_eq(p->target_pages, q->target_pages);
		ck_assert_uint_eq(p->moved_pages, q->moved_pages);
		ck_assert_mem_eq(&p->per_second, &q->per_second, sizeof(double));
		ck_assert_mem_eq(&p->peak_per_second, &q->peak_per_second, sizeof(double));
	}
	ck_assert_uint_eq(x->nr_timeline, y->nr_timeline);
	for (size_t i = 0; i < x->nr_timeline; i++) {
		const struct pcp_timeline_row *p = &x->timeline[i], *q = &y->timeline[i];

		ck_assert_uint_eq(p->bucket_start_ns, q->bucket_start_ns);
		ck_assert_uint_eq(p->cpu, q->cpu);
		ck_assert_uint_eq(p->refill_pages, q->refill_pages);
		ck_assert_uint_eq(p->drain_pages, q->drain_pages);
		ck_assert_uint_eq(p->refill_locks, q->refill_locks);
		ck_assert_uint_eq(p->drain_locks, q->drain_locks);
	}
	ck_assert_uint_eq(x->nr_pfn_cycles, y->nr_pfn_cycles);
	for (size_t i = 0; i < x->nr_pfn_cycles; i++) {
		const struct pcp_pfn_cycles *p = &x->pfn_cycles[i], *q = &y->pfn_cycles[i];

		ck_assert_uint_eq(p->pfn, q->pfn);
		ck_assert_uint_eq(p->order, q->order);
		ck_assert_uint_eq(p->cycles, q->cycles);
		ck_assert_uint_eq(p->cross_cpu_cycles, q->cross_cpu_cycles);
		ck_assert_uint_eq(p->min_round_trip_ns, q->min_round_trip_ns);
		ck_assert_uint_eq(p->max_round_trip_ns, q->max_round_trip_ns);
	}

	ck_assert_uint_eq(a->lcause->stack_events, b->lcause->stack_events);
	ck_assert_uint_eq(a->lcause->stacks_attributed, b->lcause->stacks_attributed);
	ck_assert_uint_eq(a->lcause->stacks_extra, b->lcause->stacks_extra);
	ck_assert_uint_eq(a->lcause->stacks_unattributed, b->lcause->stacks_unattributed);
	ck_assert_uint_eq(a->lcause->nr_rows, b->lcause->nr_rows);
	for (size_t i = 0; i < a->lcause->nr_rows; i++) {
		ck_assert_int_eq(a->lcause->rows[i].kind, b->lcause->rows[i].kind);
		ck_assert_int_eq(a->lcause->rows[i].nid, b->lcause->rows[i].nid);
		ck_assert_int_eq(a->lcause->rows[i].zid, b->lcause->rows[i].zid);
		ck_assert_str_eq(a->lcause->rows[i].cause, b->lcause->rows[i].cause);
		ck_assert_uint_eq(a->lcause->rows[i].acquisitions, b->lcause->rows[i].acquisitions);
	}
	ck_assert_uint_eq(a->lcause->nr_metrics, b->lcause->nr_metrics);
	ck_same_metrics(a->lcause->metrics, b->lcause->metrics, a->lcause->nr_metrics);

	ck_assert_uint_eq(a->lc->allocs, b->lc->allocs);
	ck_assert_uint_eq(a->lc->frees, b->lc->frees);
	ck_assert_uint_eq(a->lc->pcp_allocs, b->lc->pcp_allocs);
	ck_assert_uint_eq(a->lc->buddy_allocs, b->lc->buddy_allocs);
	ck_assert_uint_eq(a->lc->refill_acquisitions, b->lc->refill_acquisitions);
	for (size_t i = 0; i < NR_CPUS; i++) {
		const struct pcp_lc_cpu_flow *p = &a->lc->cpu_flow[i], *q = &b->lc->cpu_flow[i];

		ck_assert_uint_eq(p->pcp_allocs, q->pcp_allocs);
		ck_assert_uint_eq(p->free_entries, q->free_entries);
		ck_assert_uint_eq(p->unused_refills, q->unused_refills);
		ck_assert_uint_eq(p->remote_drains, q->remote_drains);
		ck_assert_int_eq(p->occ_min, q->occ_min);
		ck_assert_int_eq(p->occ_max, q->occ_max);
		ck_assert_int_eq(p->occ_end, q->occ_end);
		ck_assert_mem_eq(&p->occ_mean, &q->occ_mean, sizeof(double));
	}
	ck_assert_uint_eq(a->lc->nr_occ_timeline, b->lc->nr_occ_timeline);
	for (size_t i = 0; i < a->lc->nr_occ_timeline; i++) {
		const struct pcp_lc_occ_row *p = &a->lc->occ_timeline[i], *q = &b->lc->occ_timeline[i];

		ck_assert_uint_eq(p->bucket_start_ns, q->bucket_start_ns);
		ck_assert_uint_eq(p->cpu, q->cpu);
		ck_assert_uint_eq(p->changes, q->changes);
		ck_assert_int_eq(p->occ_min, q->occ_min);
		ck_assert_int_eq(p->occ_end, q->occ_end);
		ck_assert_mem_eq(&p->occ_mean, &q->occ_mean, sizeof(double));
	}
	ck_assert_uint_eq(a->lc->rt_split, b->lc->rt_split);
	ck_assert_mem_eq(&a->lc->mean_pcp_pages, &b->lc->mean_pcp_pages, sizeof(double));
}

static void results_free(struct results *r)
{
	pcp_churn_results_free(r->churn);
	pcp_lock_cause_results_free(r->lcause);
	pcp_lifecycle_results_free(r->lc);
}

static const struct pcp_metric *find(const struct pcp_metric *m, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(m[i].name, name))
			return &m[i];
	ck_abort_msg("no metric %s", name);
	return NULL;
}

START_TEST(churn_thread_same_results)
{
	for (int native = 0; native <= 1; native++) {
		struct results inl, fed;

		run(0, native, &inl);
		/* the sequence exercises what it should */
		ck_assert_uint_gt(inl.churn->events_lost, 1000);
		ck_assert_uint_gt(inl.lcause->stacks_attributed, 1000);
		ck_assert_uint_gt(inl.lcause->stacks_unattributed, 1000);
		ck_assert_uint_gt(inl.churn->nr_zone_lock, native ? 3 : 0);
		ck_assert_double_gt(find(inl.churn->metrics, inl.churn->nr_metrics, "pairs")->value, 10000);
		ck_assert_uint_gt(inl.lc->pcp_allocs, 5000);
		for (int consumers = 1; consumers <= 2; consumers++) {
			run(consumers, native, &fed);
			ck_same(&inl, &fed);
			results_free(&fed);
		}
		results_free(&inl);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("churn_feed");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, churn_thread_same_results);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
