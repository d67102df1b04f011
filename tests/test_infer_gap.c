/* --infer-gap auto: sampling rules and the valley after the mode (docs/METRICS.md). */
#include <check.h>
#include <stdlib.h>
#include "common/error.h"
#include "model/infer_gap.h"
#include "check_helpers.h"

static uint64_t feed_gaps(struct pcp_gap_sampler *s, uint64_t ts, uint64_t gap, int n, int kind)
{
	for (int i = 0; i < n; i++) {
		ts += gap;
		pcp_gap_sampler_feed(s, 0, kind, ts, 0);
	}
	return ts;
}

START_TEST(valley_after_mode)
{
	struct pcp_gap_sampler s;
	uint64_t ts = 1000;

	ck_assert_int_eq(pcp_gap_sampler_init(&s, 2), PCP_OK);
	/* The first refill of the CPU has no predecessor: 3001 refills give 3000 gaps of 300 ns
	 * (bucket 8, the mode), then 200 of 600 (bucket 9: 128*200 >= 3000), 100 of 1100
	 * (bucket 10: 128*100 >= 3000), none of bucket 11 (0 < 3000: the valley) -> 2^11. */
	pcp_gap_sampler_feed(&s, 0, PCP_EV_REFILL, ts, 0);
	ts = feed_gaps(&s, ts, 300, 3000, PCP_EV_REFILL);
	ts = feed_gaps(&s, ts, 600, 200, PCP_EV_REFILL);
	ts = feed_gaps(&s, ts, 1100, 100, PCP_EV_REFILL);
	ts = feed_gaps(&s, ts, 5000, 20, PCP_EV_REFILL);
	ck_assert_uint_eq(s.samples[PCP_LOCK_KIND_REFILL], 3320);
	ck_assert_uint_eq(pcp_gap_sampler_choose(&s, PCP_LOCK_KIND_REFILL), 2048);
	/* No drain samples: the default. */
	ck_assert_uint_eq(pcp_gap_sampler_choose(&s, PCP_LOCK_KIND_DRAIN), PCP_INFER_GAP_DEFAULT_NS);
	pcp_gap_sampler_release(&s);
}
END_TEST

START_TEST(what_breaks_a_pair)
{
	struct pcp_gap_sampler s;

	ck_assert_int_eq(pcp_gap_sampler_init(&s, 2), PCP_OK);
	pcp_gap_sampler_feed(&s, 0, PCP_EV_DRAIN, 100, 0);
	pcp_gap_sampler_feed(&s, 1, PCP_EV_DRAIN, 150, 0);   /* other CPU: no pair with CPU 0 */
	pcp_gap_sampler_feed(&s, 0, PCP_EV_DRAIN, 200, 0);   /* sample 100 ns */
	pcp_gap_sampler_feed(&s, 0, PCP_EV_OTHER, 250, 0);   /* breaks */
	pcp_gap_sampler_feed(&s, 0, PCP_EV_DRAIN, 300, 0);   /* no sample */
	pcp_gap_sampler_feed(&s, 0, PCP_EV_DRAIN, 400, 5);   /* missed mark before it: no sample */
	pcp_gap_sampler_mark(&s, 0);                          /* a mark on an ignored record */
	pcp_gap_sampler_feed(&s, 0, PCP_EV_DRAIN, 500, 0);   /* no sample */
	pcp_gap_sampler_feed(&s, 0, PCP_EV_REFILL, 600, 0);  /* other kind: no sample */
	pcp_gap_sampler_feed(&s, 0, PCP_EV_REFILL, 601, 0);  /* refill sample 1 ns: bucket 0 */
	pcp_gap_sampler_feed(&s, 5, PCP_EV_REFILL, 700, 0);  /* bad CPU: ignored */
	ck_assert_uint_eq(s.samples[PCP_LOCK_KIND_DRAIN], 1);
	ck_assert_uint_eq(s.hist[PCP_LOCK_KIND_DRAIN][6], 1);  /* 100 ns: 64 <= 100 < 128 */
	ck_assert_uint_eq(s.samples[PCP_LOCK_KIND_REFILL], 1);
	ck_assert_uint_eq(s.hist[PCP_LOCK_KIND_REFILL][0], 1);
	/* Fewer than 1000 samples: the default. */
	ck_assert_uint_eq(pcp_gap_sampler_choose(&s, PCP_LOCK_KIND_DRAIN), PCP_INFER_GAP_DEFAULT_NS);
	pcp_gap_sampler_release(&s);
}
END_TEST

START_TEST(sample_cap_and_full)
{
	struct pcp_gap_sampler s;
	uint64_t ts = 0;

	ck_assert_int_eq(pcp_gap_sampler_init(&s, 1), PCP_OK);
	pcp_gap_sampler_feed(&s, 0, PCP_EV_REFILL, ts, 0);
	ts = feed_gaps(&s, ts, 100, PCP_INFER_GAP_SAMPLES + 10, PCP_EV_REFILL);
	ck_assert_uint_eq(s.samples[PCP_LOCK_KIND_REFILL], PCP_INFER_GAP_SAMPLES);
	ck_assert_int_eq(pcp_gap_sampler_full(&s), 0);       /* drains still wanted */
	pcp_gap_sampler_feed(&s, 0, PCP_EV_DRAIN, ++ts, 0);
	ts = feed_gaps(&s, ts, 100, PCP_INFER_GAP_SAMPLES, PCP_EV_DRAIN);
	ck_assert_int_eq(pcp_gap_sampler_full(&s), 1);
	/* Every sample in bucket 6 and none above: the next bucket is the valley, 2^7. */
	ck_assert_uint_eq(pcp_gap_sampler_choose(&s, PCP_LOCK_KIND_DRAIN), 128);
	pcp_gap_sampler_release(&s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("infer_gap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, valley_after_mode);
	tcase_add_test(tc, what_breaks_a_pair);
	tcase_add_test(tc, sample_cap_and_full);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
