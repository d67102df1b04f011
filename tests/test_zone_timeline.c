/* Unit tests of zone_lock_timeline (lib/model/zone_timeline.c fed by the churn model): the
 * acquisitions per --bucket window and zone row, worked out by hand from docs/METRICS.md ("Zone
 * lock over time"); summed over windows they are zone_lock's acquisitions. */
#include <check.h>
#include <stdlib.h>
#include "model/churn.h"
#include "model/zone_timeline.h"
#include "common/error.h"
#include "check_helpers.h"

static struct pcp_churn_model *model(enum pcp_lock_source ls)
{
	struct pcp_churn_opts o;
	struct pcp_churn_model *m;

	pcp_churn_opts_default(&o);
	o.lock_source = ls;
	o.bucket_ns = 1000;
	ck_assert_int_eq(pcp_churn_new(2, &o, &m), PCP_OK);
	return m;
}

static void ev(struct pcp_churn_model *m, enum pcp_event_kind kind, uint64_t ts, uint32_t cpu,
	       int32_t nid, int32_t zid, uint64_t pfn)
{
	struct pcp_event e = { .ts_ns = ts, .cpu = cpu, .kind = (uint8_t)kind };

	if (kind == PCP_EV_REFILL_LOCK || kind == PCP_EV_DRAIN_LOCK) {
		e.lock.nid = nid;
		e.lock.zid = zid;
		e.lock.nr_pages = 1;
	} else {
		e.block.pfn = pfn;
	}
	pcp_churn_event(m, &e);
}

static void row_is(const struct pcp_zone_timeline_row *r, uint64_t bucket, int32_t nid, int32_t zid,
		   enum pcp_lock_kind kind, uint64_t n)
{
	ck_assert_uint_eq(r->bucket_start_ns, bucket);
	ck_assert_int_eq(r->nid, nid);
	ck_assert_int_eq(r->zid, zid);
	ck_assert_int_eq(r->kind, kind);
	ck_assert_uint_eq(r->acquisitions, n);
}

/* Sum over the windows of each zone row = zone_lock.acquisitions. */
static void sums_match(const struct pcp_churn_results *r)
{
	for (size_t i = 0; i < r->nr_zone_lock; i++) {
		uint64_t sum = 0;

		for (size_t j = 0; j < r->nr_zone_timeline; j++)
			if (r->zone_timeline[j].nid == r->zone_lock[i].nid &&
			    r->zone_timeline[j].zid == r->zone_lock[i].zid &&
			    r->zone_timeline[j].kind == r->zone_lock[i].kind)
				sum += r->zone_timeline[j].acquisitions;
		ck_assert_uint_eq(sum, r->zone_lock[i].acquisitions);
	}
}

/* Native, bucket 1000 ns from the first event (ts 100): windows [100, 1100) = 0, [2100, 3100)
 * = 2, [5100, 6100) = 5. (0,1) refill at 100, 300 (window 0), 2500 (window 2); (1,2) drain at
 * 200 (0) and 5200 (5); (1,2) refill at 2600 (2). Window 1, 3, 4: nothing, no row. */
START_TEST(native_windows)
{
	struct pcp_churn_model *m = model(PCP_LOCK_NATIVE);
	struct pcp_churn_results *r;

	ev(m, PCP_EV_REFILL_LOCK, 100, 0, 0, 1, 0);
	ev(m, PCP_EV_DRAIN_LOCK, 200, 1, 1, 2, 0);
	ev(m, PCP_EV_REFILL_LOCK, 300, 0, 0, 1, 0);
	ev(m, PCP_EV_REFILL_LOCK, 2500, 0, 0, 1, 0);
	ev(m, PCP_EV_REFILL_LOCK, 2600, 1, 1, 2, 0);
	ev(m, PCP_EV_DRAIN_LOCK, 5200, 1, 1, 2, 0);
	ck_assert_int_eq(pcp_churn_finish(m, &r), PCP_OK);
	ck_assert_uint_eq(r->nr_zone_timeline, 5);
	row_is(&r->zone_timeline[0], 0, 0, 1, PCP_LOCK_KIND_REFILL, 2);
	row_is(&r->zone_timeline[1], 0, 1, 2, PCP_LOCK_KIND_DRAIN, 1);
	row_is(&r->zone_timeline[2], 2000, 0, 1, PCP_LOCK_KIND_REFILL, 1);
	row_is(&r->zone_timeline[3], 2000, 1, 2, PCP_LOCK_KIND_REFILL, 1);
	row_is(&r->zone_timeline[4], 5000, 1, 2, PCP_LOCK_KIND_DRAIN, 1);
	sums_match(r);
	/* the busiest window of (0,1) refill: 2 in 1 us = 2e6/s */
	ck_assert_double_eq_tol(r->zone_lock[0].peak_per_second, 2e6, 1e-3);
	pcp_churn_free(m);
	pcp_churn_results_free(r);
}
END_TEST

/* Inferred without a zone map: zone unknown (-1, -1), as zone_lock. CPU 0 refills at 100, 150
 * (one run: gap 50 < 2000), 5000 (gap 4850 > 2000: a new acquisition, window 4); CPU 1 drains
 * at 160 (window 0). */
START_TEST(inferred_zone_unknown)
{
	struct pcp_churn_model *m = model(PCP_LOCK_INFERRED);
	struct pcp_churn_results *r;

	ev(m, PCP_EV_REFILL, 100, 0, 0, 0, 0x1000);
	ev(m, PCP_EV_REFILL, 150, 0, 0, 0, 0x1001);
	ev(m, PCP_EV_DRAIN, 160, 1, 0, 0, 0x1000);
	ev(m, PCP_EV_REFILL, 5000, 0, 0, 0, 0x1002);
	ck_assert_int_eq(pcp_churn_finish(m, &r), PCP_OK);
	ck_assert_uint_eq(r->nr_zone_timeline, 3);
	row_is(&r->zone_timeline[0], 0, -1, -1, PCP_LOCK_KIND_REFILL, 1);
	row_is(&r->zone_timeline[1], 0, -1, -1, PCP_LOCK_KIND_DRAIN, 1);
	row_is(&r->zone_timeline[2], 4000, -1, -1, PCP_LOCK_KIND_REFILL, 1);
	sums_match(r);
	pcp_churn_free(m);
	pcp_churn_results_free(r);
}
END_TEST

/* No acquisition: no row, no array. */
START_TEST(empty)
{
	struct pcp_churn_model *m = model(PCP_LOCK_NATIVE);
	struct pcp_churn_results *r;

	ev(m, PCP_EV_OTHER, 100, 0, 0, 0, 0);
	ck_assert_int_eq(pcp_churn_finish(m, &r), PCP_OK);
	ck_assert_uint_eq(r->nr_zone_timeline, 0);
	ck_assert_ptr_null(r->zone_timeline);
	pcp_churn_free(m);
	pcp_churn_results_free(r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("zone_timeline");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, native_windows);
	tcase_add_test(tc, inferred_zone_unknown);
	tcase_add_test(tc, empty);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
