/* Unit tests of the zone-lock hold time (lib/model/lock_hold.c) through the churn model, which
 * feeds it, on hand-built event sequences; expected values worked out from docs/METRICS.md
 * ("Zone-lock hold time") in the comments. */
#include <check.h>
#include <math.h>
#include <string.h>
#include <jansson.h>
#include "model/churn.h"
#include "model/lock_hold.h"
#include "meta/meta.h"
#include "common/error.h"
#include "check_helpers.h"

static struct pcp_churn_model *model(uint32_t nr_cpus, enum pcp_lock_source ls, unsigned top_n,
				     int no_time_base, const struct pcp_meta *meta)
{
	struct pcp_churn_opts o;
	struct pcp_churn_model *m;

	pcp_churn_opts_default(&o);
	o.lock_source = ls;
	o.infer_gap_ns[0] = o.infer_gap_ns[1] = 0;
	if (top_n)
		o.top_n = top_n;
	o.no_time_base = no_time_base;
	o.meta = meta;
	ck_assert_int_eq(pcp_churn_new(nr_cpus, &o, &m), PCP_OK);
	return m;
}

static struct pcp_churn_results *finish(struct pcp_churn_model *m)
{
	struct pcp_churn_results *r;

	ck_assert_int_eq(pcp_churn_finish(m, &r), PCP_OK);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(r->lock_hold);
	pcp_churn_free(m);
	return r;
}

static void ev(struct pcp_churn_model *m, enum pcp_event_kind kind, uint64_t ts, uint32_t cpu,
	       uint64_t pfn, int32_t pid)
{
	struct pcp_event e = { .ts_ns = ts, .cpu = cpu, .pid = pid, .kind = (uint8_t)kind };

	e.block.pfn = pfn;
	e.block.order = 0;
	pcp_churn_event(m, &e);
}

static void L(struct pcp_churn_model *m, enum pcp_event_kind kind, uint64_t ts, uint32_t cpu,
	      int32_t nid, int32_t zid, int32_t pid)
{
	struct pcp_event e = { .ts_ns = ts, .cpu = cpu, .pid = pid, .kind = (uint8_t)kind };

	e.lock.nid = nid;
	e.lock.zid = zid;
	e.lock.nr_pages = 8;
	pcp_churn_event(m, &e);
}

static double metric(const struct pcp_churn_results *r, const char *name)
{
	const struct pcp_metric *x = pcp_churn_metric(r, name);

	ck_assert_msg(x != NULL, "no metric %s", name);
	return x->value;
}

/* Native: L(refill) 100, R 110, R 150 -> hold 50, 2 blocks; L 1000, R 1000 -> hold 0 (one
 * block at the lock's own timestamp); drain L 2000, D 2004 -> 4. */
START_TEST(native_holds)
{
	struct pcp_churn_model *m = model(2, PCP_LOCK_NATIVE, 0, 0, NULL);
	struct pcp_churn_results *r;
	const struct pcp_lock_hold_results *h;

	L(m, PCP_EV_REFILL_LOCK, 100, 0, 0, 1, 42);
	ev(m, PCP_EV_REFILL, 110, 0, 1, 42);
	ev(m, PCP_EV_REFILL, 150, 0, 2, 42);
	L(m, PCP_EV_REFILL_LOCK, 1000, 1, 0, 1, 43);
	ev(m, PCP_EV_REFILL, 1000, 1, 3, 43);
	L(m, PCP_EV_DRAIN_LOCK, 2000, 1, 0, 1, 44);
	ev(m, PCP_EV_DRAIN, 2004, 1, 1, 44);
	r = finish(m);
	h = r->lock_hold;
	ck_assert_int_eq(h->lower_bound, 0);
	ck_assert_uint_eq(h->nr_rows, 2);
	ck_assert_int_eq(h->rows[0].kind, PCP_LOCK_KIND_REFILL);
	ck_assert_uint_eq(h->rows[0].acquisitions, 2);
	ck_assert_uint_eq(h->rows[0].empty_acquisitions, 0);
	/* holds {0, 50}: p50 = rank 1 = 0, p99 = rank 2 = 50 (exact below 64) */
	ck_assert_double_eq(h->rows[0].hold_p50_ns, 0);
	ck_assert_double_eq(h->rows[0].hold_p99_ns, 50);
	ck_assert_double_eq(h->rows[0].hold_max_ns, 50);
	ck_assert(isnan(h->rows[0].at_batch_share));   /* no meta: no batch */
	ck_assert_double_eq(metric(r, "refill_lock_hold_p99_ns"), 50);
	ck_assert_double_eq(metric(r, "refill_lock_hold_max_ns"), 50);
	ck_assert_double_eq(metric(r, "drain_lock_hold_p99_ns"), 4);
	ck_assert_double_eq(metric(r, "drain_lock_hold_max_ns"), 4);
	/* longest: 50 (cpu 0), 4 (drain), 0 */
	ck_assert_uint_eq(h->nr_longest, 3);
	ck_assert_uint_eq(h->longest[0].hold_ns, 50);
	ck_assert_uint_eq(h->longest[0].ts_ns, 100);
	ck_assert_int_eq(h->longest[0].pid, 42);
	ck_assert_uint_eq(h->longest[0].blocks, 2);
	ck_assert_uint_eq(h->longest[0].pages, 2);
	ck_assert_int_eq(h->longest[1].kind, PCP_LOCK_KIND_DRAIN);
	ck_assert_uint_eq(h->longest[2].hold_ns, 0);
	/* hold hist: refill [0,1) 1, [32,64) 1; drain [4,8) 1 */
	ck_assert_uint_eq(h->nr_hold_hist, 3);
	ck_assert_uint_eq(h->hold_hist[0].lo, 0);
	ck_assert_uint_eq(h->hold_hist[1].lo, 32);
	ck_assert_uint_eq(h->hold_hist[1].hi, 64);
	ck_assert_uint_eq(h->hold_hist[2].lo, 4);
	ck_assert_int_eq(h->hold_hist[2].kind, PCP_LOCK_KIND_DRAIN);
	/* pages hist: refill [1,2) 1 (one page), [2,4) 1; drain [1,2) 1 */
	ck_assert_uint_eq(h->nr_pages_hist, 3);
	ck_assert_uint_eq(h->pages_hist[0].lo, 1);
	ck_assert_uint_eq(h->pages_hist[1].lo, 2);
	pcp_churn_results_free(r);
}
END_TEST

/* Inferred: a one-block run holds 0 (first = last block): defined, not undefined. */
START_TEST(inferred_one_block)
{
	struct pcp_churn_model *m = model(1, PCP_LOCK_INFERRED, 0, 0, NULL);
	struct pcp_churn_results *r;

	ev(m, PCP_EV_REFILL, 100, 0, 1, 7);
	ev(m, PCP_EV_OTHER, 120, 0, 0, 7);
	ev(m, PCP_EV_REFILL, 300, 0, 2, 7);
	ev(m, PCP_EV_REFILL, 340, 0, 3, 7);
	r = finish(m);
	ck_assert_int_eq(r->lock_hold->lower_bound, 1);
	ck_assert_uint_eq(r->lock_hold->nr_rows, 1);
	ck_assert_int_eq(r->lock_hold->rows[0].nid, -1);
	ck_assert_uint_eq(r->lock_hold->rows[0].acquisitions, 2);
	ck_assert_double_eq(r->lock_hold->rows[0].hold_p50_ns, 0);
	ck_assert_double_eq(r->lock_hold->rows[0].hold_max_ns, 40);
	ck_assert_double_eq(metric(r, "refill_lock_hold_max_ns"), 40);
	ck_assert(isnan(metric(r, "drain_lock_hold_max_ns")));   /* no drain acquisition */
	ck_assert(isnan(metric(r, "drain_lock_hold_p99_ns")));
	ck_assert_int_eq(r->lock_hold->longest[1].pid, 7);
	ck_assert_uint_eq(r->lock_hold->longest[1].hold_ns, 0);
	pcp_churn_results_free(r);
}
END_TEST

/* An acquisition with no attributed block: counted, empty, 0 pages, no hold time. Alone, the
 * kind's hold metrics are undefined (NULL), never 0. */
START_TEST(empty_acquisition)
{
	struct pcp_churn_model *m = model(1, PCP_LOCK_NATIVE, 0, 0, NULL);
	struct pcp_churn_results *r;
	const struct pcp_lock_hold_results *h;

	L(m, PCP_EV_DRAIN_LOCK, 100, 0, 0, 2, 1);
	L(m, PCP_EV_REFILL_LOCK, 200, 0, 0, 2, 1);
	L(m, PCP_EV_REFILL_LOCK, 300, 0, 0, 2, 1);
	ev(m, PCP_EV_REFILL, 330, 0, 5, 1);
	r = finish(m);
	h = r->lock_hold;
	ck_assert_uint_eq(h->nr_rows, 2);
	ck_assert_uint_eq(h->rows[0].acquisitions, 2);          /* refill */
	ck_assert_uint_eq(h->rows[0].empty_acquisitions, 1);
	ck_assert_double_eq(h->rows[0].hold_max_ns, 30);
	ck_assert_double_eq(h->rows[0].hold_p50_ns, 30);
	ck_assert_uint_eq(h->rows[1].acquisitions, 1);          /* drain */
	ck_assert_uint_eq(h->rows[1].empty_acquisitions, 1);
	ck_assert(isnan(h->rows[1].hold_p50_ns));
	ck_assert(isnan(h->rows[1].hold_max_ns));
	ck_assert(isnan(metric(r, "drain_lock_hold_p99_ns")));
	ck_assert(isnan(metric(r, "drain_lock_hold_max_ns")));
	ck_assert_double_eq(metric(r, "refill_lock_hold_p99_ns"), 30);
	/* pages hist: refill [0,1) 1 and [1,2) 1, drain [0,1) 1; longest: the one with a block */
	ck_assert_uint_eq(h->nr_pages_hist, 3);
	ck_assert_uint_eq(h->pages_hist[0].lo, 0);
	ck_assert_uint_eq(h->pages_hist[0].hi, 1);
	ck_assert_uint_eq(h->nr_longest, 1);
	ck_assert_uint_eq(h->acquisitions[PCP_LOCK_KIND_DRAIN], 1);
	ck_assert_uint_eq(h->empty_acquisitions[PCP_LOCK_KIND_DRAIN], 1);
	pcp_churn_results_free(r);
}
END_TEST

/* Lost events mid-acquisition: L 100, R 110, mark, R 500. The block after the mark may belong to
 * an acquisition whose lock event was lost: the hold ends at 110 (10 ns), the later block is
 * attributed to none (zone_lock.moved_pages still counts it, as before). An unknown-count mark
 * cuts the same way. */
START_TEST(lost_mid_run)
{
	struct pcp_churn_model *m = model(1, PCP_LOCK_NATIVE, 0, 0, NULL);
	struct pcp_churn_results *r;
	const struct pcp_lock_hold_results *h;

	L(m, PCP_EV_REFILL_LOCK, 100, 0, 0, 1, 1);
	ev(m, PCP_EV_REFILL, 110, 0, 1, 1);
	pcp_churn_missed(m, 0, 5);
	ev(m, PCP_EV_REFILL, 500, 0, 2, 1);
	L(m, PCP_EV_DRAIN_LOCK, 1000, 0, 0, 1, 1);
	ev(m, PCP_EV_DRAIN, 1003, 0, 1, 1);
	pcp_churn_missed(m, 0, -1);
	ev(m, PCP_EV_DRAIN, 1900, 0, 2, 1);
	r = finish(m);
	h = r->lock_hold;
	ck_assert_uint_eq(r->zone_lock[0].moved_pages, 2);
	ck_assert_double_eq(h->rows[0].hold_max_ns, 10);
	ck_assert_double_eq(h->rows[1].hold_max_ns, 3);
	ck_assert_uint_eq(h->longest[0].blocks, 1);
	ck_assert_uint_eq(h->longest[0].hold_ns, 10);
	pcp_churn_results_free(r);
}
END_TEST

/* No time base: hold times undefined everywhere (NAN metrics, no hold histogram, no longest
 * rows); counts and the pages histogram stay. */
START_TEST(no_time_base)
{
	struct pcp_churn_model *m = model(1, PCP_LOCK_NATIVE, 0, 1, NULL);
	struct pcp_churn_results *r;
	const struct pcp_lock_hold_results *h;

	L(m, PCP_EV_REFILL_LOCK, 100, 0, 0, 1, 1);
	ev(m, PCP_EV_REFILL, 110, 0, 1, 1);
	r = finish(m);
	h = r->lock_hold;
	ck_assert_int_eq(h->no_time_base, 1);
	ck_assert_uint_eq(h->rows[0].acquisitions, 1);
	ck_assert(isnan(h->rows[0].hold_p50_ns));
	ck_assert(isnan(h->rows[0].hold_max_ns));
	ck_assert(isnan(metric(r, "refill_lock_hold_p99_ns")));
	ck_assert(isnan(metric(r, "refill_lock_hold_max_ns")));
	ck_assert_uint_eq(h->nr_hold_hist, 0);
	ck_assert_uint_eq(h->nr_longest, 0);
	ck_assert_uint_eq(h->nr_pages_hist, 1);
	pcp_churn_results_free(r);
}
END_TEST

static struct pcp_meta *meta_from(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	struct pcp_meta *m;

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(pcp_meta_from_json(j, &m), PCP_OK);
	json_decref(j);
	return m;
}

/* The pageset batch: by zid, or (no zid) by the zone's index in its node; CPUs disagreeing or
 * no pageset: unknown (-1). */
START_TEST(batch_lookup)
{
	struct pcp_meta *with_zid = meta_from(
		"{\"snapshots\": {\"before\": {\"zoneinfo\": ["
		"{\"node\": 0, \"zid\": 1, \"zone\": \"DMA32\", \"pagesets\": [{\"cpu\": 0, \"batch\": 2},"
		" {\"cpu\": 1, \"batch\": 2}]},"
		"{\"node\": 0, \"zid\": 2, \"zone\": \"Normal\", \"pagesets\": [{\"cpu\": 0, \"batch\": 2},"
		" {\"cpu\": 1, \"batch\": 3}]}]}}}");
	struct pcp_meta *no_zid = meta_from(
		"{\"snapshots\": {\"before\": {\"zoneinfo\": ["
		"{\"node\": 0, \"zone\": \"DMA\", \"pagesets\": [{\"cpu\": 0, \"batch\": 1}]},"
		"{\"node\": 0, \"zone\": \"DMA32\", \"pagesets\": [{\"cpu\": 0, \"batch\": 31}]},"
		"{\"node\": 1, \"zone\": \"DMA\", \"pagesets\": []},"
		"{\"node\": 1, \"zone\": \"DMA32\", \"pagesets\": [{\"cpu\": 0, \"batch\": 15}]}]}}}");

	ck_assert_int_eq(pcp_lock_hold_batch(with_zid, 0, 1), 2);
	ck_assert_int_eq(pcp_lock_hold_batch(with_zid, 0, 2), -1);   /* CPUs disagree */
	ck_assert_int_eq(pcp_lock_hold_batch(with_zid, 1, 1), -1);   /* no such zone */
	ck_assert_int_eq(pcp_lock_hold_batch(with_zid, -1, -1), -1); /* zone unknown */
	ck_assert_int_eq(pcp_lock_hold_batch(NULL, 0, 1), -1);
	ck_assert_int_eq(pcp_lock_hold_batch(no_zid, 0, 1), 31);
	ck_assert_int_eq(pcp_lock_hold_batch(no_zid, 1, 1), 15);
	ck_assert_int_eq(pcp_lock_hold_batch(no_zid, 1, 0), -1);     /* no pageset */
	pcp_meta_free(no_zid);

	/* at_batch: acquisitions moving >= 2 pages in zone 0:1 (batch 2): 1 of 2 */
	{
		struct pcp_churn_model *m = model(1, PCP_LOCK_NATIVE, 0, 0, with_zid);
		struct pcp_churn_results *r;

		L(m, PCP_EV_REFILL_LOCK, 100, 0, 0, 1, 1);
		ev(m, PCP_EV_REFILL, 101, 0, 1, 1);
		ev(m, PCP_EV_REFILL, 102, 0, 2, 1);
		L(m, PCP_EV_REFILL_LOCK, 200, 0, 0, 1, 1);
		ev(m, PCP_EV_REFILL, 201, 0, 3, 1);
		r = finish(m);
		ck_assert_int_eq(r->lock_hold->rows[0].batch, 2);
		ck_assert_uint_eq(r->lock_hold->rows[0].at_batch_acquisitions, 1);
		ck_assert_double_eq(r->lock_hold->rows[0].at_batch_share, 0.5);
		ck_assert_uint_eq(r->lock_hold->batch_known[0], 2);
		ck_assert_uint_eq(r->lock_hold->at_batch[0], 1);
		pcp_churn_results_free(r);
	}
	pcp_meta_free(with_zid);
}
END_TEST

/* --top 2 of 3 equal holds: the earliest two, longest first; ties by ts, then CPU. */
START_TEST(top_n_ties)
{
	struct pcp_churn_model *m = model(2, PCP_LOCK_NATIVE, 2, 0, NULL);
	struct pcp_churn_results *r;

	L(m, PCP_EV_REFILL_LOCK, 300, 0, 0, 1, 1);
	ev(m, PCP_EV_REFILL, 310, 0, 1, 1);
	L(m, PCP_EV_REFILL_LOCK, 100, 1, 0, 1, 2);   /* out of order on purpose: ranks by ts */
	ev(m, PCP_EV_REFILL, 110, 1, 2, 2);
	L(m, PCP_EV_REFILL_LOCK, 400, 1, 0, 1, 3);
	ev(m, PCP_EV_REFILL, 410, 1, 3, 3);
	L(m, PCP_EV_DRAIN_LOCK, 500, 0, 0, 1, 4);
	ev(m, PCP_EV_DRAIN, 505, 0, 1, 4);
	r = finish(m);
	ck_assert_uint_eq(r->lock_hold->nr_longest, 2);
	ck_assert_uint_eq(r->lock_hold->longest[0].ts_ns, 100);
	ck_assert_uint_eq(r->lock_hold->longest[1].ts_ns, 300);
	pcp_churn_results_free(r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("lock_hold");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, native_holds);
	tcase_add_test(tc, inferred_one_block);
	tcase_add_test(tc, empty_acquisition);
	tcase_add_test(tc, lost_mid_run);
	tcase_add_test(tc, no_time_base);
	tcase_add_test(tc, batch_lookup);
	tcase_add_test(tc, top_n_ties);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
