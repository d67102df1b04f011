/* Unit tests of the churn model (lib/model/churn_model.c) on hand-built event sequences. Every
 * expected value is worked out by hand from docs/METRICS.md in the comments. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/churn.h"
#include "common/error.h"
#include "model/zone_map.h"
#include "check_helpers.h"

static struct pcp_churn_model *model(uint32_t nr_cpus, enum pcp_lock_source ls, uint64_t bucket_ns,
				     unsigned top_n, uint64_t churn_window_ns)
{
	struct pcp_churn_opts o;
	struct pcp_churn_model *m;

	pcp_churn_opts_default(&o);
	o.lock_source = ls;
	if (bucket_ns)
		o.bucket_ns = bucket_ns;
	if (top_n)
		o.top_n = top_n;
	if (churn_window_ns)
		o.churn_window_ns = churn_window_ns;
	ck_assert_int_eq(pcp_churn_new(nr_cpus, &o, &m), PCP_OK);
	return m;
}

static struct pcp_churn_results *finish(struct pcp_churn_model *m)
{
	struct pcp_churn_results *r;

	ck_assert_int_eq(pcp_churn_finish(m, &r), PCP_OK);
	ck_assert_ptr_nonnull(r);
	pcp_churn_free(m);
	return r;
}

static void block(struct pcp_churn_model *m, enum pcp_event_kind kind, uint64_t ts, uint32_t cpu,
		  uint64_t pfn, uint32_t order)
{
	struct pcp_event ev = { .ts_ns = ts, .cpu = cpu, .kind = (uint8_t)kind };

	ev.block.pfn = pfn;
	ev.block.order = order;
	pcp_churn_event(m, &ev);
}

static void R(struct pcp_churn_model *m, uint64_t ts, uint32_t cpu, uint64_t pfn, uint32_t order)
{
	block(m, PCP_EV_REFILL, ts, cpu, pfn, order);
}

static void D(struct pcp_churn_model *m, uint64_t ts, uint32_t cpu, uint64_t pfn, uint32_t order)
{
	block(m, PCP_EV_DRAIN, ts, cpu, pfn, order);
}

static void L(struct pcp_churn_model *m, enum pcp_event_kind kind, uint64_t ts, uint32_t cpu,
	      int32_t nid, int32_t zid, uint64_t nr_pages)
{
	struct pcp_event ev = { .ts_ns = ts, .cpu = cpu, .kind = (uint8_t)kind };

	ev.lock.nid = nid;
	ev.lock.zid = zid;
	ev.lock.nr_pages = nr_pages;
	pcp_churn_event(m, &ev);
}

static void O(struct pcp_churn_model *m, enum pcp_event_kind kind, uint64_t ts, uint32_t cpu)
{
	struct pcp_event ev = { .ts_ns = ts, .cpu = cpu, .kind = (uint8_t)kind };

	pcp_churn_event(m, &ev);
}

static double metric(const struct pcp_churn_results *r, const char *name)
{
	const struct pcp_metric *x = pcp_churn_metric(r, name);

	ck_assert_msg(x != NULL, "metric %s missing", name);
	return x->value;
}

#define ck_metric(r, name, v) ck_assert_double_eq_tol(metric(r, name), (double)(v), 1e-9 * fabs((double)(v)) + 1e-12)

START_TEST(overwrite)
{
	struct pcp_churn_model *m = model(2, PCP_LOCK_INFERRED, 0, 0, 0);
	struct pcp_churn_results *r;

	/* refill pfn 10 at 100 and again at 200 (overwrite), drain at 350: one pair of
	 * rt = 350 - 200 = 150, pages 1. refill_pages = 2, so churn_ratio = 1/2; 150 ns <= 1 ms
	 * so fast_churn_ratio = 1/2 too. */
	R(m, 100, 0, 10, 0);
	R(m, 200, 0, 10, 0);
	D(m, 350, 0, 10, 0);
	r = finish(m);
	ck_metric(r, "refill_overwritten", 1);
	ck_metric(r, "pairs", 1);
	ck_metric(r, "paired_pages", 1);
	ck_metric(r, "refill_pages", 2);
	ck_metric(r, "drain_pages", 1);
	ck_metric(r, "churn_ratio", 0.5);
	ck_metric(r, "fast_churn_ratio", 0.5);
	ck_metric(r, "open_refills", 0);
	ck_metric(r, "unmatched_drains", 0);
	ck_metric(r, "cross_cpu_pairs", 0);
	/* rt 150 is in [128, 256) */
	ck_assert_uint_eq(r->nr_hist_buckets, 1);
	ck_assert_uint_eq(r->round_trip_hist[0].lo_ns, 128);
	ck_assert_uint_eq(r->round_trip_hist[0].hi_ns, 256);
	ck_assert_uint_eq(r->round_trip_hist[0].pairs, 1);
	ck_assert_uint_eq(r->round_trip_hist[0].pages, 1);
	/* only one pair: both percentiles are that round trip (exact: < 1/64 of 150 is < 3 and
	 * the reported value is capped by the largest round trip) */
	ck_metric(r, "round_trip_p50_ns", 150);
	ck_metric(r, "round_trip_p99_ns", 150);
	ck_assert_uint_eq(r->nr_pfn_cycles, 1);
	ck_assert_uint_eq(r->pfn_cycles[0].pfn, 10);
	ck_assert_uint_eq(r->pfn_cycles[0].cycles, 1);
	ck_assert_uint_eq(r->pfn_cycles[0].min_round_trip_ns, 150);
	ck_assert_uint_eq(r->events_seen, 3);
	ck_assert_uint_eq(r->first_ts_ns, 100);
	ck_assert_uint_eq(r->last_ts_ns, 350);
	ck_assert_uint_eq(r->duration_ns, 250);
	pcp_churn_results_free(r);
}
END_TEST

START_TEST(unmatched)
{
	struct pcp_churn_model *m = model(1, PCP_LOCK_INFERRED, 0, 0, 0);
	struct pcp_churn_results *r;

	/* drain of pfn 7 with nothing open (unmatched 1), refill + drain (pair), drain again
	 * (unmatched 2); pfn 8 refilled and never drained (open 1) */
	D(m, 10, 0, 7, 0);
	R(m, 20, 0, 7, 0);
	D(m, 30, 0, 7, 0);
	D(m, 40, 0, 7, 0);
	R(m, 50, 0, 8, 0);
	r = finish(m);
	ck_metric(r, "unmatched_drains", 2);
	ck_metric(r, "pairs", 1);
	ck_metric(r, "open_refills", 1);
	ck_metric(r, "refill_overwritten", 0);
	ck_metric(r, "refill_pages", 2);
	ck_metric(r, "drain_pages", 3);
	ck_assert_int_eq(r->cpu_flow[0].net_pages, -1);
	ck_metric(r, "round_trip_p50_ns", 10);
	pcp_churn_results_free(r);
}
END_TEST

START_TEST(cross_cpu)
{
	struct pcp_churn_model *m = model(3, PCP_LOCK_INFERRED, 0, 0, 0);
	struct pcp_churn_results *r;

	/* pfn1: cpu0 -> cpu2 (cross), pfn2: cpu0 -> cpu0, pfn3: cpu1 -> cpu2 (cross);
	 * all rt = 10. cross 2 of 3 pairs. Matrix cells, in (refill, drain) order:
	 * (0,0) (0,2) (1,2), one pair each. */
	R(m, 0, 0, 1, 0);
	R(m, 1, 0, 2, 0);
	R(m, 2, 1, 3, 0);
	D(m, 10, 2, 1, 0);
	D(m, 11, 0, 2, 0);
	D(m, 12, 2, 3, 0);
	r = finish(m);
	ck_metric(r, "pairs", 3);
	ck_metric(r, "cross_cpu_pairs", 2);
	ck_metric(r, "cross_cpu_ratio", 2.0 / 3.0);
	ck_assert_uint_eq(r->nr_pair_cells, 3);
	ck_assert_uint_eq(r->pair_matrix[0].refill_cpu, 0);
	ck_assert_uint_eq(r->pair_matrix[0].drain_cpu, 0);
	ck_assert_uint_eq(r->pair_matrix[1].refill_cpu, 0);
	ck_assert_uint_eq(r->pair_matrix[1].drain_cpu, 2);
	ck_assert_uint_eq(r->pair_matrix[2].refill_cpu, 1);
	ck_assert_uint_eq(r->pair_matrix[2].drain_cpu, 2);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(r->pair_matrix[i].pairs, 1);
		ck_assert_uint_eq(r->pair_matrix[i].pages, 1);
	}
	/* pfn_cycles: all 1 cycle, ties by pfn: 1 (cross), 2 (same), 3 (cross) */
	ck_assert_uint_eq(r->nr_pfn_cycles, 3);
	ck_assert_uint_eq(r->pfn_cycles[0].pfn, 1);
	ck_assert_uint_eq(r->pfn_cycles[0].cross_cpu_cycles, 1);
	ck_assert_uint_eq(r->pfn_cycles[1].cross_cpu_cycles, 0);
	ck_assert_uint_eq(r->pfn_cycles[2].cross_cpu_cycles, 1);
	pcp_churn_results_free(r);
}
END_TEST

START_TEST(lost_events)
{
	struct pcp_churn_model *m = model(2, PCP_LOCK_INFERRED, 0, 0, 0);
	struct pcp_churn_results *r;

	/* cpu1: 5 + 3 known lost = 8; cpu0: one unknown mark; count 0 is no mark;
	 * cpu 5 does not exist: ignored, counted as bad */
	pcp_churn_missed(m, 1, 5);
	pcp_churn_missed(m, 0, -1);
	pcp_churn_missed(m, 1, 3);
	pcp_churn_missed(m, 0, 0);
	pcp_churn_missed(m, 5, 7);
	r = finish(m);
	ck_assert_uint_eq(r->events_lost, 8);
	ck_assert_uint_eq(r->lost_unknown_marks, 1);
	ck_assert_int_eq(r->lossy, 1);
	ck_assert_uint_eq(r->cpu_flow[0].lost_events, 0);
	ck_assert_uint_eq(r->cpu_flow[1].lost_events, 8);
	ck_assert_uint_eq(r->events_bad_cpu, 1);
	ck_metric(r, "events_lost", 8);
	pcp_churn_results_free(r);

	/* only an unknown mark: lossy with 0 known lost */
	m = model(1, PCP_LOCK_INFERRED, 0, 0, 0);
	pcp_churn_missed(m, 0, -1);
	r = finish(m);
	ck_assert_int_eq(r->lossy, 1);
	ck_assert_uint_eq(r->events_lost, 0);
	pcp_churn_results_free(r);

	/* count 0 only: not lossy */
	m = model(1, PCP_LOCK_INFERRED, 0, 0, 0);
	pcp_churn_missed(m, 0, 0);
	r = finish(m);
	ck_assert_int_eq(r->lossy, 0);
	pcp_churn_results_free(r);
}
END_TEST

START_TEST(order_pages)
{
	struct pcp_churn_model *m = model(2, PCP_LOCK_INFERRED, 0, 0, 0);
	struct pcp_churn_results *r;

	/* pfn 0x1000: refill order 3 (8 pages) on cpu0, drain order 3 on cpu1 at 2000:
	 *   pair rt 2000 in [1024, 2048), 8 pages, cross.
	 * pfn 0x2000: refill order 2 (4 pages), overwritten by a refill order 0 (1 page), drain
	 *   logged with order 2 at 2100: pair rt 2100 - 20 = 2080 in [2048, 4096); pair pages =
	 *   2^(refill's order) = 1, while drain_pages counts the drain event's own 4 pages.
	 * refill_pages = 8 + 4 + 1 = 13 (all cpu0); drain_pages = 8 (cpu1) + 4 (cpu0) = 12;
	 * paired_pages = 9; churn_ratio = 9/13; net cpu0 = 13 - 4 = 9, cpu1 = -8. */
	R(m, 0, 0, 0x1000, 3);
	R(m, 10, 0, 0x2000, 2);
	R(m, 20, 0, 0x2000, 0);
	D(m, 2000, 1, 0x1000, 3);
	D(m, 2100, 0, 0x2000, 2);
	r = finish(m);
	ck_metric(r, "refill_pages", 13);
	ck_metric(r, "drain_pages", 12);
	ck_metric(r, "paired_pages", 9);
	ck_metric(r, "churn_ratio", 9.0 / 13.0);
	ck_assert_uint_eq(r->cpu_flow[0].refill_blocks, 3);
	ck_assert_uint_eq(r->cpu_flow[0].refill_pages, 13);
	ck_assert_uint_eq(r->cpu_flow[0].drain_blocks, 1);
	ck_assert_int_eq(r->cpu_flow[0].net_pages, 9);
	ck_assert_int_eq(r->cpu_flow[1].net_pages, -8);
	ck_assert_uint_eq(r->nr_hist_buckets, 2);
	ck_assert_uint_eq(r->round_trip_hist[0].lo_ns, 1024);
	ck_assert_uint_eq(r->round_trip_hist[0].pages, 8);
	ck_assert_uint_eq(r->round_trip_hist[1].lo_ns, 2048);
	ck_assert_uint_eq(r->round_trip_hist[1].hi_ns, 4096);
	ck_assert_uint_eq(r->round_trip_hist[1].pages, 1);
	/* matrix: (0,0) 1 pair 1 page, (0,1) 1 pair 8 pages */
	ck_assert_uint_eq(r->nr_pair_cells, 2);
	ck_assert_uint_eq(r->pair_matrix[0].pages, 1);
	ck_assert_uint_eq(r->pair_matrix[1].drain_cpu, 1);
	ck_assert_uint_eq(r->pair_matrix[1].pages, 8);
	/* pfn_cycles order = latest refill's: 0x1000 -> 3, 0x2000 -> 0 */
	ck_assert_uint_eq(r->pfn_cycles[0].pfn, 0x1000);
	ck_assert_uint_eq(r->pfn_cycles[0].order, 3);
	ck_assert_uint_eq(r->pfn_cycles[1].order, 0);
	pcp_churn_results_free(r);
}
END_TEST

START_TEST(empty)
{
	struct pcp_churn_model *m = model(4, PCP_LOCK_NONE, 0, 0, 0);
	struct pcp_churn_results *r = finish(m);

	ck_assert_uint_eq(r->nr_cpus, 4);
	ck_assert_uint_eq(r->events_seen, 0);
	ck_assert_uint_eq(r->first_ts_ns, 0);
	ck_assert_uint_eq(r->duration_ns, 0);
	ck_assert_int_eq(r->lossy, 0);
	ck_assert_int_eq(r->lock_source, PCP_LOCK_NONE);
	ck_assert_uint_eq(r->nr_pair_cells + r->nr_hist_buckets + r->nr_pfn_cycles +
			  r->nr_zone_lock + r->nr_timeline, 0);
	for (int c = 0; c < 4; c++) {
		ck_assert_uint_eq(r->cpu_flow[c].refill_pages, 0);
		ck_assert_int_eq(r->cpu_flow[c].net_pages, 0);
	}
	/* every metric of the contract is there: counts 0, and every 0/0 ratio, rate over no
	 * time and percentile of no pair undefined (NAN, NULL in the database), never 0 */
	ck_assert_uint_eq(r->nr_metrics, 24);
	for (size_t i = 0; i < r->nr_metrics; i++) {
		static const char *const undefined[] = {
			"cross_cpu_ratio", "churn_ratio", "fast_churn_ratio", "round_trip_p50_ns",
			"round_trip_p99_ns", "refill_imbalance", "drain_imbalance", "refill_locks_per_s",
			"drain_locks_per_s", "pages_per_refill_lock", "pages_per_drain_lock",
			"refill_lock_hold_p99_ns", "drain_lock_hold_p99_ns", "refill_lock_hold_max_ns",
			"drain_lock_hold_max_ns",
		};
		int is_undefined = 0;

		for (size_t k = 0; k < sizeof(undefined) / sizeof(undefined[0]); k++)
			is_undefined |= !strcmp(undefined[k], r->metrics[i].name);
		if (is_undefined)
			ck_assert_msg(isnan(r->metrics[i].value), "%s = %g", r->metrics[i].name,
				      r->metrics[i].value);
		else
			ck_assert_msg(r->metrics[i].value == 0, "%s = %g", r->metrics[i].name,
				      r->metrics[i].value);
	}
	pcp_churn_results_free(r);

	/* 0 CPUs: every event is out of range, nothing crashes */
	m = model(0, PCP_LOCK_NATIVE, 0, 0, 0);
	R(m, 1, 0, 1, 0);
	pcp_churn_missed(m, 0, 3);
	r = finish(m);
	ck_assert_uint_eq(r->events_bad_cpu, 2);
	ck_assert_uint_eq(r->events_seen, 0);
	ck_assert(isnan(metric(r, "refill_imbalance")));   /* 0/0: undefined */
	pcp_churn_results_free(r);
}
END_TEST

START_TEST(metric_table)
{
	/* names, units and better of the METRICS.md table, in its order */
	static const char *const want[][3] = {
		{ "pairs", "pairs", "lower" }, { "paired_pages", "pages", "lower" },
		{ "cross_cpu_pairs", "pairs", "lower" }, { "cross_cpu_ratio", "ratio", "lower" },
		{ "unmatched_drains", "drains", "none" }, { "open_refills", "refills", "none" },
		{ "refill_overwritten", "refills", "none" }, { "refill_pages", "pages", "lower" },
		{ "drain_pages", "pages", "lower" }, { "churn_ratio", "ratio", "lower" },
		{ "fast_churn_ratio", "ratio", "lower" }, { "round_trip_p50_ns", "ns", "none" },
		{ "round_trip_p99_ns", "ns", "none" }, { "refill_imbalance", "ratio", "lower" },
		{ "drain_imbalance", "ratio", "lower" }, { "refill_locks_per_s", "1/s", "lower" },
		{ "drain_locks_per_s", "1/s", "lower" }, { "pages_per_refill_lock", "pages", "higher" },
		{ "pages_per_drain_lock", "pages", "higher" },
		{ "refill_lock_hold_p99_ns", "ns", "lower" }, { "drain_lock_hold_p99_ns", "ns", "lower" },
		{ "refill_lock_hold_max_ns", "ns", "lower" }, { "drain_lock_hold_max_ns", "ns", "lower" },
		{ "events_lost", "events", "lower" },
	};
	struct pcp_churn_results *r = finish(model(1, PCP_LOCK_NONE, 0, 0, 0));

	ck_assert_uint_eq(r->nr_metrics, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < r->nr_metrics; i++) {
		ck_assert_str_eq(r->metrics[i].name, want[i][0]);
		ck_assert_str_eq(r->metrics[i].unit, want[i][1]);
		ck_assert_str_eq(r->metrics[i].better, want[i][2]);
	}
	ck_assert_ptr_null(pcp_churn_metric(r, "no_such_metric"));
	pcp_churn_results_free(r);
}
END_TEST

static const struct pcp_zone_lock_row *zone(const struct pcp_churn_results *r, int32_t nid,
					     int32_t zid, enum pcp_lock_kind kind)
{
	for (size_t i = 0; i < r->nr_zone_lock; i++)
		if (r->zone_lock[i].nid == nid && r->zone_lock[i].zid == zid &&
		    r->zone_lock[i].kind == kind)
			return &r->zone_lock[i];
	ck_abort_msg("zone row %d/%d/%d missing", nid, zid, kind);
	return NULL;
}

START_TEST(native_zone_lock_two_nids)
{
	struct pcp_churn_model *m = model(2, PCP_LOCK_NATIVE, 0, 0, 0);
	struct pcp_churn_results *r;
	const struct pcp_zone_lock_row *z;

	R(m, 100, 0, 1, 0);                            /* before cpu0's first refill lock: not attributed */
	L(m, PCP_EV_REFILL_LOCK, 200, 0, 0, 1, 4);     /* (0,1,R) acq 1, target 4 */
	R(m, 210, 0, 2, 1);                            /* +2 -> (0,1,R) */
	R(m, 220, 0, 3, 0);                            /* +1 -> (0,1,R) */
	R(m, 250, 1, 7, 0);                            /* cpu1 has no refill lock yet: not attributed */
	L(m, PCP_EV_REFILL_LOCK, 300, 1, 1, 1, 8);     /* (1,1,R) acq 1, target 8 */
	O(m, PCP_EV_OTHER, 305, 0);                    /* irrelevant in native mode */
	R(m, 310, 0, 4, 0);                            /* cpu0's latest is still (0,1): +1 */
	R(m, 320, 1, 5, 2);                            /* +4 -> (1,1,R) */
	L(m, PCP_EV_DRAIN_LOCK, 400, 0, 1, 1, 3);      /* (1,1,D) acq 1, target 3 */
	D(m, 410, 0, 2, 1);                            /* +2 -> (1,1,D) */
	D(m, 420, 1, 5, 2);                            /* cpu1 has no drain lock: not attributed */
	L(m, PCP_EV_REFILL_LOCK, 500, 0, 0, 1, 4);     /* (0,1,R) acq 2, target 8 */
	R(m, 510, 0, 6, 0);                            /* +1 -> (0,1,R) */
	r = finish(m);
	ck_assert_int_eq(r->lock_source, PCP_LOCK_NATIVE);
	/* rows sorted by nid, zid, kind: (0,1,R) (1,1,R) (1,1,D) */
	ck_assert_uint_eq(r->nr_zone_lock, 3);
	ck_assert_int_eq(r->zone_lock[0].nid, 0);
	ck_assert_int_eq(r->zone_lock[1].kind, PCP_LOCK_KIND_REFILL);
	ck_assert_int_eq(r->zone_lock[2].kind, PCP_LOCK_KIND_DRAIN);
	/* duration = 510 - 100 = 410 ns; one 10 ms bucket */
	z = zone(r, 0, 1, PCP_LOCK_KIND_REFILL);
	ck_assert_uint_eq(z->acquisitions, 2);
	ck_assert_uint_eq(z->target_pages, 8);
	ck_assert_uint_eq(z->moved_pages, 2 + 1 + 1 + 1);
	ck_assert_double_eq_tol(z->per_second, 2 / 410e-9, 1e-3);
	ck_assert_double_eq_tol(z->peak_per_second, 2 / 0.01, 1e-9);
	z = zone(r, 1, 1, PCP_LOCK_KIND_REFILL);
	ck_assert_uint_eq(z->acquisitions, 1);
	ck_assert_uint_eq(z->target_pages, 8);
	ck_assert_uint_eq(z->moved_pages, 4);
	z = zone(r, 1, 1, PCP_LOCK_KIND_DRAIN);
	ck_assert_uint_eq(z->acquisitions, 1);
	ck_assert_uint_eq(z->target_pages, 3);
	ck_assert_uint_eq(z->moved_pages, 2);
	ck_assert_uint_eq(r->cpu_flow[0].refill_locks, 2);
	ck_assert_uint_eq(r->cpu_flow[0].drain_locks, 1);
	ck_assert_uint_eq(r->cpu_flow[1].refill_locks, 1);
	ck_assert_uint_eq(r->cpu_flow[1].drain_locks, 0);
	/* refill pages 1+2+1+1+1+4+1 = 11 over 3 locks; drain pages 2+4 = 6 over 1 lock */
	ck_metric(r, "refill_pages", 11);
	ck_metric(r, "pages_per_refill_lock", 11.0 / 3.0);
	ck_metric(r, "pages_per_drain_lock", 6);
	ck_metric(r, "refill_locks_per_s", 3 / 410e-9);
	ck_metric(r, "drain_locks_per_s", 1 / 410e-9);
	pcp_churn_results_free(r);
}
END_TEST

START_TEST(inferred_runs)
{
	struct pcp_churn_model *m = model(2, PCP_LOCK_INFERRED, 0, 0, 0);
	struct pcp_churn_results *r;
	const struct pcp_zone_lock_row *z;

	R(m, 1, 0, 1, 0);                      /* cpu0 refill acq 1 (first record) */
	R(m, 2, 1, 100, 0);                    /* cpu1 refill acq 1 */
	R(m, 3, 0, 2, 0);                      /* run goes on: cpu1's record does not break cpu0 */
	O(m, PCP_EV_OTHER, 4, 0);              /* breaks */
	R(m, 5, 0, 3, 1);                      /* cpu0 refill acq 2 */
	pcp_churn_missed(m, 0, 2);             /* breaks */
	R(m, 6, 0, 4, 0);                      /* cpu0 refill acq 3 */
	O(m, PCP_EV_IGNORED, 7, 0);            /* invisible: does not break */
	R(m, 8, 0, 5, 0);                      /* run goes on */
	D(m, 9, 0, 1, 0);                      /* cpu0 drain acq 1 */
	D(m, 10, 0, 2, 0);                     /* run goes on */
	O(m, PCP_EV_PERCPU_ALLOC, 11, 0);      /* breaks */
	D(m, 12, 0, 3, 1);                     /* cpu0 drain acq 2 */
	R(m, 13, 0, 6, 0);                     /* cpu0 refill acq 4 (previous was a drain) */
	L(m, PCP_EV_REFILL_LOCK, 14, 1, 0, 0, 9); /* a lock event in inferred mode: like OTHER */
	R(m, 15, 1, 101, 0);                   /* cpu1 refill acq 2 */
	r = finish(m);
	ck_assert_int_eq(r->lock_source, PCP_LOCK_INFERRED);
	ck_assert_uint_eq(r->events_seen, 15);
	ck_assert_uint_eq(r->nr_zone_lock, 2);
	/* refill: 4 (cpu0) + 2 (cpu1) = 6 acquisitions; pages cpu0 1+1+2+1+1+1 = 7, cpu1 2 */
	z = zone(r, -1, -1, PCP_LOCK_KIND_REFILL);
	ck_assert_uint_eq(z->acquisitions, 6);
	ck_assert_uint_eq(z->target_pages, 9);
	ck_assert_uint_eq(z->moved_pages, 9);
	/* drain: 2 acquisitions, pages 1 + 1 + 2 = 4 */
	z = zone(r, -1, -1, PCP_LOCK_KIND_DRAIN);
	ck_assert_uint_eq(z->acquisitions, 2);
	ck_assert_uint_eq(z->target_pages, 4);
	ck_assert_uint_eq(z->moved_pages, 4);
	ck_assert_uint_eq(r->cpu_flow[0].refill_locks, 4);
	ck_assert_uint_eq(r->cpu_flow[0].drain_locks, 2);
	ck_assert_uint_eq(r->cpu_flow[1].refill_locks, 2);
	ck_metric(r, "pages_per_refill_lock", 9.0 / 6.0);
	ck_metric(r, "pages_per_drain_lock", 2);
	/* duration 15 - 1 = 14 ns */
	ck_metric(r, "refill_locks_per_s", 6 / 14e-9);
	ck_assert_uint_eq(r->cpu_flow[0].lost_events, 2);
	pcp_churn_results_free(r);

	/* only OTHER records: no refill or drain, lock_source none, no zone rows */
	m = model(1, PCP_LOCK_INFERRED, 0, 0, 0);
	O(m, PCP_EV_OTHER, 100, 0);
	O(m, PCP_EV_PERCPU_FREE, 500, 0);
	r = finish(m);
	ck_assert_int_eq(r->lock_source, PCP_LOCK_NONE);
	ck_assert_uint_eq(r->nr_zone_lock, 0);
	ck_assert_uint_eq(r->nr_timeline, 0);
	ck_assert_uint_eq(r->duration_ns, 400);
	pcp_churn_results_free(r);
}
END_TEST

START_TEST(inferred_gap_splits_runs)
{
	struct pcp_churn_model *m = model(1, PCP_LOCK_INFERRED, 0, 0, 0);
	struct pcp_churn_results *r;
	const struct pcp_zone_lock_row *z;

	/* Default infer gap 2000 ns: a pause of more than 2000 ns between two refills of one run
	 * starts a new acquisition; exactly 2000 ns does not. */
	R(m, 1000, 0, 1, 0);                   /* acq 1 */
	R(m, 1500, 0, 2, 0);                   /* +500: same */
	R(m, 3500, 0, 3, 0);                   /* +2000: same */
	R(m, 5501, 0, 4, 0);                   /* +2001: acq 2 */
	D(m, 5600, 0, 1, 0);                   /* drain acq 1 */
	D(m, 9000, 0, 2, 0);                   /* +3400: drain acq 2 */
	r = finish(m);
	z = zone(r, -1, -1, PCP_LOCK_KIND_REFILL);
	ck_assert_uint_eq(z->acquisitions, 2);
	ck_assert_uint_eq(z->moved_pages, 4);
	z = zone(r, -1, -1, PCP_LOCK_KIND_DRAIN);
	ck_assert_uint_eq(z->acquisitions, 2);
	pcp_churn_results_free(r);
}
END_TEST

/* Inferred locks with a zone map: an acquisition takes the zone of the block that starts it; a
 * block of another zone (or of no zone) starts a new acquisition (docs/METRICS.md). */
START_TEST(inferred_zones_from_map)
{
	struct pcp_zone_span spans[] = {
		{ .start_pfn = 100, .end_pfn = 200, .nid = 0, .zid = 1 },
		{ .start_pfn = 200, .end_pfn = 300, .nid = 1, .zid = 2 },
		{ .start_pfn = 250, .end_pfn = 400, .nid = 1, .zid = 3 },   /* overlaps: 2nd wins */
	};
	struct pcp_zone_map map = { .spans = spans, .nr_spans = 3 };
	struct pcp_churn_opts o;
	struct pcp_churn_model *m;
	struct pcp_churn_results *r;
	const struct pcp_zone_lock_row *z;

	pcp_churn_opts_default(&o);   /* gap 2000 ns: never reached below */
	o.lock_source = PCP_LOCK_INFERRED;
	o.zone_map = &map;
	ck_assert_int_eq(pcp_churn_new(2, &o, &m), PCP_OK);
	R(m, 1, 0, 100, 0);        /* cpu0 refill (0,1) acq 1, 1 page */
	R(m, 2, 0, 150, 1);        /* same run, same zone: +2 pages */
	R(m, 3, 0, 250, 0);        /* zone (1,2) (first span): refill (1,2) acq 1 */
	R(m, 4, 0, 260, 0);        /* same */
	R(m, 5, 0, 120, 0);        /* back to (0,1): refill (0,1) acq 2 */
	R(m, 6, 0, 999, 0);        /* outside every zone: refill (-1,-1) acq 1 */
	R(m, 7, 0, 5000, 0);       /* outside too: same acquisition */
	D(m, 8, 0, 100, 0);        /* cpu0 drain (0,1) acq 1 */
	D(m, 9, 0, 250, 0);        /* drain (1,2) acq 1 */
	R(m, 10, 1, 260, 0);       /* cpu1 refill (1,2) acq 2 */
	R(m, 11, 1, 270, 0);       /* same */
	R(m, 12, 1, 350, 0);       /* (1,3): refill (1,3) acq 1 */
	r = finish(m);
	ck_assert_int_eq(r->lock_source, PCP_LOCK_INFERRED);
	/* sorted by nid, zid, kind: (-1,-1,R) (0,1,R) (0,1,D) (1,2,R) (1,2,D) (1,3,R) */
	ck_assert_uint_eq(r->nr_zone_lock, 6);
	ck_assert_int_eq(r->zone_lock[0].nid, -1);
	ck_assert_int_eq(r->zone_lock[2].kind, PCP_LOCK_KIND_DRAIN);
	ck_assert_int_eq(r->zone_lock[5].zid, 3);
	z = zone(r, 0, 1, PCP_LOCK_KIND_REFILL);
	ck_assert_uint_eq(z->acquisitions, 2);
	ck_assert_uint_eq(z->target_pages, 1 + 2 + 1);
	ck_assert_uint_eq(z->moved_pages, 4);
	z = zone(r, 1, 2, PCP_LOCK_KIND_REFILL);
	ck_assert_uint_eq(z->acquisitions, 2);
	ck_assert_uint_eq(z->moved_pages, 4);
	z = zone(r, -1, -1, PCP_LOCK_KIND_REFILL);
	ck_assert_uint_eq(z->acquisitions, 1);
	ck_assert_uint_eq(z->moved_pages, 2);
	z = zone(r, 1, 3, PCP_LOCK_KIND_REFILL);
	ck_assert_uint_eq(z->acquisitions, 1);
	ck_assert_uint_eq(z->moved_pages, 1);
	z = zone(r, 0, 1, PCP_LOCK_KIND_DRAIN);
	ck_assert_uint_eq(z->acquisitions, 1);
	ck_assert_uint_eq(z->moved_pages, 1);
	z = zone(r, 1, 2, PCP_LOCK_KIND_DRAIN);
	ck_assert_uint_eq(z->acquisitions, 1);
	ck_assert_uint_eq(r->cpu_flow[0].refill_locks, 4);
	ck_assert_uint_eq(r->cpu_flow[0].drain_locks, 2);
	ck_assert_uint_eq(r->cpu_flow[1].refill_locks, 2);
	/* refill pages 1+2+1+1+1+1+1 + 1+1+1 = 11 over 6 acquisitions; duration 11 ns */
	ck_metric(r, "pages_per_refill_lock", 11.0 / 6.0);
	ck_metric(r, "refill_locks_per_s", 6 / 11e-9);
	ck_metric(r, "drain_locks_per_s", 2 / 11e-9);
	pcp_churn_results_free(r);

	/* the same blocks without a map: today's rows, zone unknown, runs not split by zone */
	m = model(2, PCP_LOCK_INFERRED, 0, 0, 0);
	R(m, 1, 0, 100, 0);
	R(m, 2, 0, 150, 1);
	R(m, 3, 0, 250, 0);
	R(m, 5, 0, 120, 0);
	D(m, 8, 0, 100, 0);
	D(m, 9, 0, 250, 0);
	r = finish(m);
	ck_assert_uint_eq(r->nr_zone_lock, 2);
	ck_assert_uint_eq(zone(r, -1, -1, PCP_LOCK_KIND_REFILL)->acquisitions, 1);
	ck_assert_uint_eq(zone(r, -1, -1, PCP_LOCK_KIND_DRAIN)->acquisitions, 1);
	pcp_churn_results_free(r);

	/* native locks ignore the map */
	o.lock_source = PCP_LOCK_NATIVE;
	ck_assert_int_eq(pcp_churn_new(1, &o, &m), PCP_OK);
	L(m, PCP_EV_REFILL_LOCK, 1, 0, 0, 2, 2);
	R(m, 2, 0, 100, 0);
	R(m, 3, 0, 250, 0);
	r = finish(m);
	ck_assert_uint_eq(r->nr_zone_lock, 1);
	z = zone(r, 0, 2, PCP_LOCK_KIND_REFILL);
	ck_assert_uint_eq(z->acquisitions, 1);
	ck_assert_uint_eq(z->moved_pages, 2);
	pcp_churn_results_free(r);
}
END_TEST

START_TEST(peak_and_timeline_buckets)
{
	/* bucket 1000 ns, origin = first event = 5000; bucket k = (ts - 5000) / 1000 */
	struct pcp_churn_model *m = model(1, PCP_LOCK_INFERRED, 1000, 0, 0);
	struct pcp_churn_results *r;
	const struct pcp_zone_lock_row *z;

	R(m, 5000, 0, 1, 0);          /* b0 refill acq */
	O(m, PCP_EV_OTHER, 5100, 0);
	R(m, 5200, 0, 2, 0);          /* b0 refill acq: b0 has 2 */
	D(m, 6000, 0, 1, 0);          /* b1 drain acq, pair rt 1000 */
	D(m, 6100, 0, 2, 0);          /* run goes on, pair rt 900 */
	O(m, PCP_EV_OTHER, 7000, 0);
	R(m, 7100, 0, 3, 0);          /* b2 */
	O(m, PCP_EV_OTHER, 7200, 0);
	R(m, 7300, 0, 4, 0);          /* b2 */
	O(m, PCP_EV_OTHER, 7400, 0);
	R(m, 7999, 0, 5, 0);          /* (7999-5000)/1000 = 2: b2 has 3 */
	O(m, PCP_EV_OTHER, 8500, 0);  /* b3: nothing but OTHER: no timeline row */
	O(m, PCP_EV_OTHER, 10000, 0); /* b5 */
	R(m, 10500, 0, 6, 0);         /* b5: 1 */
	r = finish(m);
	/* refill: 6 acquisitions over 5500 ns; peak is b2's 3 in 1 us = 3e6/s */
	z = zone(r, -1, -1, PCP_LOCK_KIND_REFILL);
	ck_assert_uint_eq(z->acquisitions, 6);
	ck_assert_double_eq_tol(z->per_second, 6 / 5500e-9, 1e-3);
	ck_assert_double_eq_tol(z->peak_per_second, 3e6, 1e-6);
	z = zone(r, -1, -1, PCP_LOCK_KIND_DRAIN);
	ck_assert_uint_eq(z->acquisitions, 1);
	ck_assert_double_eq_tol(z->peak_per_second, 1e6, 1e-6);
	/* timeline: b0 (2 refill pages, 2 locks), b1 (2 drain pages, 1 lock), b2 (3, 3),
	 * b5 (1, 1); b3 and b4 have no row */
	ck_assert_uint_eq(r->nr_timeline, 4);
	ck_assert_uint_eq(r->timeline[0].bucket_start_ns, 0);
	ck_assert_uint_eq(r->timeline[0].refill_pages, 2);
	ck_assert_uint_eq(r->timeline[0].refill_locks, 2);
	ck_assert_uint_eq(r->timeline[0].drain_pages, 0);
	ck_assert_uint_eq(r->timeline[1].bucket_start_ns, 1000);
	ck_assert_uint_eq(r->timeline[1].drain_pages, 2);
	ck_assert_uint_eq(r->timeline[1].drain_locks, 1);
	ck_assert_uint_eq(r->timeline[1].refill_pages, 0);
	ck_assert_uint_eq(r->timeline[2].bucket_start_ns, 2000);
	ck_assert_uint_eq(r->timeline[2].refill_pages, 3);
	ck_assert_uint_eq(r->timeline[2].refill_locks, 3);
	ck_assert_uint_eq(r->timeline[3].bucket_start_ns, 5000);
	ck_assert_uint_eq(r->timeline[3].refill_pages, 1);
	/* fast churn with the default 1 ms window: both pairs (rt 1000 and 900 ns), 2 of 6
	 * refill pages */
	ck_metric(r, "fast_churn_ratio", 2.0 / 6.0);
	pcp_churn_results_free(r);
}
END_TEST

START_TEST(timeline_cpu_order)
{
	/* 3 CPUs, bucket 100: rows must come in bucket then CPU order, whatever the order in
	 * which CPUs first appear in the bucket */
	struct pcp_churn_model *m = model(3, PCP_LOCK_INFERRED, 100, 0, 0);
	struct pcp_churn_results *r;

	R(m, 0, 2, 1, 0);              /* b0 cpu2: refill 1 page, 1 lock */
	R(m, 10, 0, 2, 0);             /* b0 cpu0: refill 1 page, 1 lock */
	D(m, 20, 2, 1, 1);             /* b0 cpu2: drain 2 pages, 1 lock */
	R(m, 250, 1, 3, 0);            /* b2 cpu1 */
	O(m, PCP_EV_OTHER, 260, 0);    /* b2 cpu0: OTHER only, no row */
	r = finish(m);
	ck_assert_uint_eq(r->nr_timeline, 3);
	ck_assert_uint_eq(r->timeline[0].bucket_start_ns, 0);
	ck_assert_uint_eq(r->timeline[0].cpu, 0);
	ck_assert_uint_eq(r->timeline[0].refill_pages, 1);
	ck_assert_uint_eq(r->timeline[1].bucket_start_ns, 0);
	ck_assert_uint_eq(r->timeline[1].cpu, 2);
	ck_assert_uint_eq(r->timeline[1].refill_pages, 1);
	ck_assert_uint_eq(r->timeline[1].drain_pages, 2);
	ck_assert_uint_eq(r->timeline[1].refill_locks, 1);
	ck_assert_uint_eq(r->timeline[1].drain_locks, 1);
	ck_assert_uint_eq(r->timeline[2].bucket_start_ns, 200);
	ck_assert_uint_eq(r->timeline[2].cpu, 1);
	pcp_churn_results_free(r);
}
END_TEST

/* reported percentile v vs exact e: v >= e and (v - e) / e < 1/64 */
static void ck_percentile(double v, double e)
{
	ck_assert_msg(v >= e && v - e < e / 64, "percentile %g, exact %g", v, e);
}

START_TEST(percentiles_known_distribution)
{
	struct pcp_churn_model *m = model(1, PCP_LOCK_INFERRED, 0, 0, 500);
	struct pcp_churn_results *r;

	/* 1000 pairs with round trips 1..1000 ns: refill pfn i at 0, drain it at i.
	 * Nearest rank: p50 = smallest r with >= ceil(0.5 * 1000) = 500 pairs <= r: 500;
	 * p99: ceil(0.99 * 1000) = 990 -> 990. */
	for (uint64_t i = 1; i <= 1000; i++)
		R(m, 0, 0, i, 0);
	for (uint64_t i = 1; i <= 1000; i++)
		D(m, i, 0, i, 0);
	r = finish(m);
	ck_percentile(metric(r, "round_trip_p50_ns"), 500);
	ck_percentile(metric(r, "round_trip_p99_ns"), 990);
	/* churn window 500: pairs with rt <= 500 are 500 of 1000 pages */
	ck_metric(r, "fast_churn_ratio", 0.5);
	/* log2 hist: [1,2) 1, [2,4) 2, ..., [256,512) 256, [512,1024) 1000 - 511 = 489 */
	ck_assert_uint_eq(r->nr_hist_buckets, 10);
	for (unsigned k = 0; k < 9; k++) {
		ck_assert_uint_eq(r->round_trip_hist[k].lo_ns, 1u << k);
		ck_assert_uint_eq(r->round_trip_hist[k].pairs, 1u << k);
	}
	ck_assert_uint_eq(r->round_trip_hist[9].lo_ns, 512);
	ck_assert_uint_eq(r->round_trip_hist[9].pairs, 489);
	pcp_churn_results_free(r);

	/* below 64 ns the fine histogram is exact: rts 0..9 (10 pairs):
	 * p50 rank 5 -> 4, p99 rank ceil(9.9) = 10 -> 9; rt 0 is the [0, 1) log2 bucket */
	m = model(1, PCP_LOCK_INFERRED, 0, 0, 0);
	for (uint64_t i = 0; i < 10; i++)
		R(m, 100, 0, i, 0);
	for (uint64_t i = 0; i < 10; i++)
		D(m, 100 + i, 0, i, 0);
	r = finish(m);
	ck_metric(r, "round_trip_p50_ns", 4);
	ck_metric(r, "round_trip_p99_ns", 9);
	ck_assert_uint_eq(r->round_trip_hist[0].lo_ns, 0);
	ck_assert_uint_eq(r->round_trip_hist[0].hi_ns, 1);
	ck_assert_uint_eq(r->round_trip_hist[0].pairs, 1);
	pcp_churn_results_free(r);

	/* large round trips: 99 pairs of 1 ms and 1 of 3 s (100 pairs): p50 rank 50 -> 1 ms,
	 * p99 rank 99 -> 1 ms; the 3 s pair only moves p100 */
	m = model(1, PCP_LOCK_INFERRED, 0, 0, 0);
	for (uint64_t i = 0; i < 100; i++)
		R(m, 0, 0, i, 0);
	for (uint64_t i = 0; i < 99; i++)
		D(m, 1000000, 0, i, 0);
	D(m, 3000000000ull, 0, 99, 0);
	r = finish(m);
	ck_percentile(metric(r, "round_trip_p50_ns"), 1e6);
	ck_percentile(metric(r, "round_trip_p99_ns"), 1e6);
	pcp_churn_results_free(r);
}
END_TEST

/* refill pfn on rcpu at *ts, drain on dcpu rt later */
static void cycle(struct pcp_churn_model *m, uint64_t *ts, uint64_t pfn, uint32_t rcpu,
		  uint32_t dcpu, uint64_t rt, uint32_t order)
{
	R(m, *ts, rcpu, pfn, order);
	D(m, *ts + rt, dcpu, pfn, order);
	*ts += rt + 1;
}

START_TEST(top_n_ordering_and_ties)
{
	struct pcp_churn_model *m = model(2, PCP_LOCK_INFERRED, 0, 3, 0);
	struct pcp_churn_results *r;
	uint64_t ts = 0;

	/* pfn 40: 3 cycles, rts 5 7 3, one cross (0->1), latest refill order 1 */
	cycle(m, &ts, 40, 0, 0, 5, 0);
	cycle(m, &ts, 40, 0, 1, 7, 0);
	cycle(m, &ts, 40, 0, 0, 3, 1);
	/* pfn 60: 3 cycles of 10, none cross */
	for (int i = 0; i < 3; i++)
		cycle(m, &ts, 60, 1, 1, 10, 0);
	/* pfn 30: 2 cycles, both cross, rts 4 and 6 */
	cycle(m, &ts, 30, 0, 1, 4, 0);
	cycle(m, &ts, 30, 1, 0, 6, 0);
	/* pfn 50: 2 cycles; pfn 20: 1 cycle; pfn 10: open only */
	cycle(m, &ts, 50, 0, 0, 1, 0);
	cycle(m, &ts, 50, 0, 0, 2, 0);
	cycle(m, &ts, 20, 0, 0, 100, 0);
	R(m, ts, 0, 10, 0);
	r = finish(m);
	/* top 3 by cycles desc, pfn asc: 40 (3), 60 (3), 30 (2) — 50 (2) loses the tie to 30 */
	ck_assert_uint_eq(r->nr_pfn_cycles, 3);
	ck_assert_uint_eq(r->pfn_cycles[0].pfn, 40);
	ck_assert_uint_eq(r->pfn_cycles[0].cycles, 3);
	ck_assert_uint_eq(r->pfn_cycles[0].cross_cpu_cycles, 1);
	ck_assert_uint_eq(r->pfn_cycles[0].min_round_trip_ns, 3);
	ck_assert_uint_eq(r->pfn_cycles[0].max_round_trip_ns, 7);
	ck_assert_uint_eq(r->pfn_cycles[0].order, 1);
	ck_assert_uint_eq(r->pfn_cycles[1].pfn, 60);
	ck_assert_uint_eq(r->pfn_cycles[1].cross_cpu_cycles, 0);
	ck_assert_uint_eq(r->pfn_cycles[1].min_round_trip_ns, 10);
	ck_assert_uint_eq(r->pfn_cycles[1].max_round_trip_ns, 10);
	ck_assert_uint_eq(r->pfn_cycles[2].pfn, 30);
	ck_assert_uint_eq(r->pfn_cycles[2].cycles, 2);
	ck_assert_uint_eq(r->pfn_cycles[2].cross_cpu_cycles, 2);
	ck_assert_uint_eq(r->pfn_cycles[2].min_round_trip_ns, 4);
	ck_assert_uint_eq(r->pfn_cycles[2].max_round_trip_ns, 6);
	/* 11 pairs, 1 open */
	ck_metric(r, "pairs", 11);
	ck_metric(r, "open_refills", 1);
	pcp_churn_results_free(r);
}
END_TEST

START_TEST(imbalance_idle_cpus)
{
	struct pcp_churn_model *m = model(4, PCP_LOCK_INFERRED, 0, 0, 0);
	struct pcp_churn_results *r;

	/* refill pages: cpu0 3 x order 1 = 6, cpu1 2 x order 0 = 2, cpu2/3 idle.
	 * mean over all 4 CPUs = 8/4 = 2, max 6: imbalance 3.
	 * drain pages: cpu3 one order-2 drain (unmatched) = 4; mean 1, max 4: imbalance 4. */
	R(m, 1, 0, 10, 1);
	R(m, 2, 0, 12, 1);
	R(m, 3, 0, 14, 1);
	R(m, 4, 1, 20, 0);
	R(m, 5, 1, 21, 0);
	D(m, 6, 3, 99, 2);
	r = finish(m);
	ck_metric(r, "refill_imbalance", 3);
	ck_metric(r, "drain_imbalance", 4);
	ck_metric(r, "unmatched_drains", 1);
	pcp_churn_results_free(r);
}
END_TEST

START_TEST(bad_input_ignored)
{
	struct pcp_churn_model *m = model(2, PCP_LOCK_INFERRED, 0, 0, 0);
	struct pcp_churn_opts o;
	struct pcp_churn_model *bad;
	struct pcp_churn_results *r;

	pcp_churn_opts_default(&o);
	o.bucket_ns = 0;
	ck_assert_int_eq(pcp_churn_new(2, &o, &bad), PCP_ERR_USAGE);

	R(m, 10, 7, 1, 0);      /* cpu 7 of 2: ignored */
	R(m, 20, 0, 1, 64);     /* order 64: ignored */
	R(m, 25, 0, 3, 33);     /* above PCP_MAX_BLOCK_ORDER (32): ignored */
	D(m, 26, 0, 3, 63);     /* ignored */
	R(m, 30, 1, 2, 0);
	r = finish(m);
	ck_assert_uint_eq(r->events_bad_cpu, 1);
	ck_assert_uint_eq(r->events_bad_order, 3);
	ck_assert_uint_eq(r->events_seen, 4);   /* a bad order still advances time */
	ck_assert_uint_eq(r->first_ts_ns, 20);
	ck_metric(r, "refill_pages", 1);
	pcp_churn_results_free(r);
}
END_TEST

START_TEST(million_pfns_open_count)
{
	struct pcp_churn_model *m = model(4, PCP_LOCK_INFERRED, 0, 0, 0);
	struct pcp_churn_results *r;
	const uint64_t n = 1000000;

	/* 1e6 distinct PFNs refilled, every third drained on the next CPU:
	 * pairs = ceil(1e6 / 3) = 333334, open = 666666, all cross-CPU */
	for (uint64_t i = 0; i < n; i++)
		R(m, i, (uint32_t)(i & 3), 0x40000 + i, 0);
	for (uint64_t i = 0; i < n; i += 3)
		D(m, n + i, (uint32_t)((i + 1) & 3), 0x40000 + i, 0);
	r = finish(m);
	ck_metric(r, "pairs", 333334);
	ck_metric(r, "open_refills", 666666);
	ck_metric(r, "cross_cpu_pairs", 333334);
	ck_metric(r, "refill_pages", n);
	/* top 100 of 333334 PFNs with 1 cycle each: the 100 lowest paired PFNs */
	ck_assert_uint_eq(r->nr_pfn_cycles, 100);
	ck_assert_uint_eq(r->pfn_cycles[0].pfn, 0x40000);
	ck_assert_uint_eq(r->pfn_cycles[99].pfn, 0x40000 + 99 * 3);
	pcp_churn_results_free(r);
}
END_TEST


/* The pairing in PFN shards on threads of their own (pair_threads, pair_shards.h) gives the
 * inline model's results bit for bit: the same event sequence (refills, drains, overwritten
 * refills, unmatched drains, orders 0-3, 4 CPUs, zone locks, other events, missed marks) into
 * models with 0, 1, 2, 3 (run as 2) and 4 pairing threads; every result compared. PFNs of
 * 6,000 blocks cycle a few times each: the top-N lists are mostly ties (cycles equal, pfn
 * decides), across shards; one batch of the feed is 4096 blocks, so the threads see many. */
static struct pcp_churn_results *sharded_run(unsigned pair_threads, unsigned top_n)
{
	struct pcp_churn_opts o;
	struct pcp_churn_model *m;
	uint64_t seed = 42, ts = 1000;

	pcp_churn_opts_default(&o);
	o.lock_source = PCP_LOCK_INFERRED;
	o.top_n = top_n;
	o.pair_threads = pair_threads;
	ck_assert_int_eq(pcp_churn_new(4, &o, &m), PCP_OK);
	for (int i = 0; i < 200000; i++) {
		uint32_t cpu, order, k;
		uint64_t pfn;

		seed = seed * 6364136223846793005u + 1442695040888963407u;
		cpu = (uint32_t)(seed >> 33) & 3;
		order = (uint32_t)(seed >> 40) % 4 == 3 ? 3 : 0;
		pfn = 0x10000 + ((seed >> 20) % 6000) * 8;
		k = (uint32_t)(seed >> 50) % 16;
		ts += (seed >> 56) % 3 == 0 ? 5000 : 30;
		if (k < 7)
			R(m, ts, cpu, pfn, order);
		else if (k < 14)
			D(m, ts, cpu, pfn, order);
		else if (k == 14)
			O(m, PCP_EV_OTHER, ts, cpu);
		else
			pcp_churn_missed(m, cpu, i % 2 ? 3 : -1);
	}
	return finish(m);
}

static void ck_same_results(const struct pcp_churn_results *a, const struct pcp_churn_results *b)
{
	ck_assert_uint_eq(a->events_seen, b->events_seen);
	ck_assert_uint_eq(a->events_lost, b->events_lost);
	ck_assert_uint_eq(a->cycles_saturated, b->cycles_saturated);
	ck_assert_uint_eq(a->nr_metrics, b->nr_metrics);
	for (size_t i = 0; i < a->nr_metrics; i++) {
		ck_assert_str_eq(a->metrics[i].name, b->metrics[i].name);
		ck_assert_msg(memcmp(&a->metrics[i].value, &b->metrics[i].value, sizeof(double)) == 0,
			      "%s: %.17g vs %.17g", a->metrics[i].name, a->metrics[i].value,
			      b->metrics[i].value);
	}
	ck_assert_uint_eq(a->nr_pair_cells, b->nr_pair_cells);
	ck_assert_mem_eq(a->pair_matrix, b->pair_matrix, a->nr_pair_cells * sizeof(*a->pair_matrix));
	ck_assert_uint_eq(a->nr_hist_buckets, b->nr_hist_buckets);
	ck_assert_mem_eq(a->round_trip_hist, b->round_trip_hist,
			 a->nr_hist_buckets * sizeof(*a->round_trip_hist));
	ck_assert_uint_eq(a->nr_pfn_cycles, b->nr_pfn_cycles);
	for (size_t i = 0; i < a->nr_pfn_cycles; i++) {
		const struct pcp_pfn_cycles *x = &a->pfn_cycles[i], *y = &b->pfn_cycles[i];

		ck_assert_uint_eq(x->pfn, y->pfn);
		ck_assert_uint_eq(x->order, y->order);
		ck_assert_uint_eq(x->cycles, y->cycles);
		ck_assert_uint_eq(x->cross_cpu_cycles, y->cross_cpu_cycles);
		ck_assert_uint_eq(x->min_round_trip_ns, y->min_round_trip_ns);
		ck_assert_uint_eq(x->max_round_trip_ns, y->max_round_trip_ns);
	}
	ck_assert_mem_eq(a->cpu_flow, b->cpu_flow, a->nr_cpus * sizeof(*a->cpu_flow));
}

START_TEST(pair_threads_same_results)
{
	static const unsigned tops[] = { 5, 100, 100000 };

	for (size_t t = 0; t < sizeof(tops) / sizeof(tops[0]); t++) {
		struct pcp_churn_results *inl = sharded_run(0, tops[t]);

		/* the sequence exercises what it should */
		ck_assert_double_gt(metric(inl, "pairs"), 30000);
		ck_assert_double_gt(metric(inl, "unmatched_drains"), 1000);
		ck_assert_double_gt(metric(inl, "refill_overwritten"), 1000);
		ck_assert_uint_eq(inl->nr_pfn_cycles, tops[t] < 6000 ? tops[t] : 6000);
		if (tops[t] >= 100) {   /* ties, which the pfn breaks */
			size_t ties = 0;

			for (size_t i = 1; i < inl->nr_pfn_cycles; i++)
				ties += inl->pfn_cycles[i].cycles == inl->pfn_cycles[i - 1].cycles;
			ck_assert_uint_gt(ties, 50);
		}
		for (unsigned threads = 1; threads <= 4; threads++) {
			struct pcp_churn_results *sh = sharded_run(threads, tops[t]);

			ck_same_results(inl, sh);
			pcp_churn_results_free(sh);
		}
		pcp_churn_results_free(inl);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("churn_model");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, overwrite);
	tcase_add_test(tc, unmatched);
	tcase_add_test(tc, cross_cpu);
	tcase_add_test(tc, lost_events);
	tcase_add_test(tc, order_pages);
	tcase_add_test(tc, empty);
	tcase_add_test(tc, metric_table);
	tcase_add_test(tc, native_zone_lock_two_nids);
	tcase_add_test(tc, inferred_runs);
	tcase_add_test(tc, inferred_gap_splits_runs);
	tcase_add_test(tc, inferred_zones_from_map);
	tcase_add_test(tc, peak_and_timeline_buckets);
	tcase_add_test(tc, timeline_cpu_order);
	tcase_add_test(tc, percentiles_known_distribution);
	tcase_add_test(tc, top_n_ordering_and_ties);
	tcase_add_test(tc, imbalance_idle_cpus);
	tcase_add_test(tc, bad_input_ignored);
	tcase_add_test(tc, million_pfns_open_count);
	tcase_add_test(tc, pair_threads_same_results);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
