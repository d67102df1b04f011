/* The live readers' view of the models (pcpstat, lib/live/): pcp_churn_peek,
 * pcp_churn_peek_zones, pcp_percpu_model_peek and pcp_lifecycle_peek_occupancy read the counts
 * so far without finishing, and agree with what finish reports for the same events. Expected
 * values are worked out by hand in the comments. */
#include <check.h>
#include <stdlib.h>
#include "common/error.h"
#include "model/churn.h"
#include "model/lifecycle.h"
#include "model/percpu.h"
#include "check_helpers.h"

static void blk(struct pcp_churn_model *m, struct pcp_lifecycle_model *lc, enum pcp_event_kind k,
		uint64_t ts, uint32_t cpu, uint64_t pfn, uint32_t order)
{
	struct pcp_event ev = { .ts_ns = ts, .cpu = cpu, .pid = 1, .kind = (uint8_t)k };

	ev.block.pfn = pfn;
	ev.block.order = order;
	pcp_churn_event(m, &ev);
	if (lc)
		pcp_lifecycle_event(lc, &ev);
}

START_TEST(churn_peek_matches_finish)
{
	struct pcp_churn_opts o;
	struct pcp_churn_model *m;
	struct pcp_churn_results *r;
	struct pcp_churn_live_cpu live[2];
	struct pcp_zone_lock_row zones[4];

	pcp_churn_opts_default(&o);
	o.lock_source = PCP_LOCK_INFERRED;
	ck_assert_int_eq(pcp_churn_new(2, &o, &m), PCP_OK);
	/* CPU 0 refills pfn 10 (order 0) and 20 (order 2) 1 us apart: one inferred acquisition,
	 * 5 pages; CPU 1 drains pfn 10 (cross pair), CPU 0 drains pfn 20 10 us later (same-CPU
	 * pair, a new acquisition: drain kind) */
	blk(m, NULL, PCP_EV_REFILL, 1000, 0, 10, 0);
	blk(m, NULL, PCP_EV_REFILL, 2000, 0, 20, 2);
	pcp_churn_peek(m, live);
	ck_assert_uint_eq(live[0].flow.refill_pages, 5);
	ck_assert_uint_eq(live[0].flow.refill_locks, 1);
	ck_assert_uint_eq(live[1].pairs, 0);
	blk(m, NULL, PCP_EV_DRAIN, 50000, 1, 10, 0);
	blk(m, NULL, PCP_EV_DRAIN, 60000, 0, 20, 2);
	pcp_churn_missed(m, 1, 7);
	pcp_churn_peek(m, live);
	ck_assert_uint_eq(live[1].flow.drain_pages, 1);
	ck_assert_uint_eq(live[0].flow.drain_pages, 4);
	ck_assert_uint_eq(live[1].pairs, 1);
	ck_assert_uint_eq(live[1].cross_pairs, 1);
	ck_assert_uint_eq(live[0].pairs, 1);
	ck_assert_uint_eq(live[0].cross_pairs, 0);
	ck_assert_uint_eq(live[1].flow.lost_events, 7);
	/* refill (CPU 0) + drain (CPU 1) + drain (CPU 0): rows per (zone, kind) */
	ck_assert_uint_eq(pcp_churn_peek_zones(m, zones, 4), 2);
	ck_assert_uint_eq(zones[0].acquisitions + zones[1].acquisitions, 3);
	ck_assert_uint_eq(pcp_churn_peek_zones(m, zones, 1), 2);   /* cap respected, count whole */
	ck_assert_int_eq(pcp_churn_finish(m, &r), PCP_OK);
	for (int c = 0; c < 2; c++) {
		ck_assert_uint_eq(r->cpu_flow[c].refill_pages, live[c].flow.refill_pages);
		ck_assert_uint_eq(r->cpu_flow[c].drain_pages, live[c].flow.drain_pages);
		ck_assert_uint_eq(r->cpu_flow[c].refill_locks, live[c].flow.refill_locks);
		ck_assert_uint_eq(r->cpu_flow[c].drain_locks, live[c].flow.drain_locks);
	}
	ck_assert_double_eq(pcp_churn_metric(r, "cross_cpu_pairs")->value, 1);
	ck_assert_double_eq(pcp_churn_metric(r, "pairs")->value, 2);
	pcp_churn_results_free(r);
	pcp_churn_free(m);
}
END_TEST

static void pc(struct pcp_percpu_model *m, enum pcp_event_kind k, uint64_t ts, uint64_t ptr,
	       uint64_t bytes)
{
	struct pcp_event ev = { .ts_ns = ts, .cpu = 0, .pid = 1, .kind = (uint8_t)k };

	ev.percpu.ptr = ptr;
	ev.percpu.base_addr = 0x1000;
	ev.percpu.size = bytes / 2;
	ev.percpu.bytes_alloc = bytes;
	ev.percpu.call_site = 0xffff;
	pcp_percpu_model_event(m, &ev);
}

START_TEST(percpu_peek_outstanding)
{
	struct pcp_percpu_model *m;
	struct pcp_percpu_live l;

	ck_assert_int_eq(pcp_percpu_model_new(&m), PCP_OK);
	/* three allocations (16, 32, 64 bytes), the 32-byte one freed: 2 open, 80 bytes */
	pc(m, PCP_EV_PERCPU_ALLOC, 1, 0x10, 16);
	pc(m, PCP_EV_PERCPU_ALLOC, 2, 0x20, 32);
	pc(m, PCP_EV_PERCPU_ALLOC, 3, 0x30, 64);
	pc(m, PCP_EV_PERCPU_FREE, 4, 0x20, 0);
	pcp_percpu_model_peek(m, &l);
	ck_assert_uint_eq(l.allocs, 3);
	ck_assert_uint_eq(l.frees, 1);
	ck_assert_uint_eq(l.outstanding_allocs, 2);
	ck_assert_uint_eq(l.outstanding_bytes, 80);
	pcp_percpu_model_free(m);
}
END_TEST

START_TEST(lifecycle_peek_occupancy)
{
	struct pcp_churn_opts o;
	struct pcp_churn_model *m;
	struct pcp_lifecycle_model *lc;
	struct pcp_lifecycle_opts lo;
	const int64_t start[2] = { 100, 50 };
	int64_t occ[2];

	pcp_churn_opts_default(&o);
	ck_assert_int_eq(pcp_churn_new(2, &o, &m), PCP_OK);
	pcp_lifecycle_opts_default(&lo);
	lo.start_pages = start;
	ck_assert_int_eq(pcp_lifecycle_new(2, &lo, &lc), PCP_OK);
	pcp_lifecycle_peek_occupancy(lc, occ);
	ck_assert_int_eq(occ[0], 100);
	ck_assert_int_eq(occ[1], 50);
	/* CPU 0 refills 4 pages (order 2), CPU 1 drains 1 page it never refilled in the trace */
	blk(m, lc, PCP_EV_REFILL, 1000, 0, 40, 2);
	blk(m, lc, PCP_EV_DRAIN, 2000, 1, 80, 0);
	pcp_lifecycle_peek_occupancy(lc, occ);
	ck_assert_int_eq(occ[0], 104);
	ck_assert_int_eq(occ[1], 49);
	pcp_lifecycle_free(lc);
	pcp_churn_free(m);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("live_peek");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, churn_peek_matches_finish);
	tcase_add_test(tc, percpu_peek_outstanding);
	tcase_add_test(tc, lifecycle_peek_occupancy);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
