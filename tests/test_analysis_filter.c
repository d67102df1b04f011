/* Windows and filters (lib/model/analysis_filter.c): option values, the canonical description,
 * the per-record rule. Expected values are the documented syntax worked by hand. */
#include <check.h>
#include <stdint.h>
#include <string.h>
#include "model/analysis_filter.h"
#include "check_helpers.h"

START_TEST(times_exact)
{
	struct pcp_filter_time t;

	ck_assert_int_eq(pcp_filter_parse_time("1.5", &t), 0);
	ck_assert(t.set && !t.absolute && t.ns == 1500000000ull);
	ck_assert_int_eq(pcp_filter_parse_time("@5123.000125", &t), 0);
	ck_assert(t.absolute && t.ns == 5123000125000ull);
	ck_assert_int_eq(pcp_filter_parse_time("0.000000001", &t), 0);
	ck_assert(t.ns == 1);
	ck_assert_int_eq(pcp_filter_parse_time(".25", &t), 0);
	ck_assert(t.ns == 250000000ull);
	for (const char *const *bad = (const char *const[]){ "", "@", ".", "x", "1.0000000001", "-1",
							     "1e3", "1.5s", "99999999999999999999", NULL };
	     *bad; bad++)
		ck_assert_msg(pcp_filter_parse_time(*bad, &t) == -1, "accepted '%s'", *bad);
}
END_TEST

START_TEST(lists_and_description)
{
	struct pcp_filter_spec s;
	char buf[256];

	memset(&s, 0, sizeof(s));
	pcp_filter_spec_describe(&s, buf, sizeof(buf));
	ck_assert_str_eq(buf, "none");
	ck_assert_int_eq(pcp_filter_parse_cpus("8,0-3,2,10-11", &s), 0);
	ck_assert_int_eq(pcp_filter_parse_pids("42,17,42", &s), 0);
	ck_assert_int_eq(pcp_filter_parse_time("@123", &s.to), 0);
	ck_assert_int_eq(pcp_filter_parse_time("1.5", &s.from), 0);
	strcpy(s.comm, "cc1");
	pcp_filter_spec_describe(&s, buf, sizeof(buf));
	ck_assert_str_eq(buf, "from=+1.500000000s to=@123.000000000s cpus=0-3,8,10-11 pid=17,42 comm=cc1");
	for (const char *const *bad = (const char *const[]){ "", "3-1", "a", "1,", ",1", "1--2", "4096",
							     "0-4096", NULL };
	     *bad; bad++)
		ck_assert_msg(pcp_filter_parse_cpus(*bad, &s) == -1, "cpus accepted '%s'", *bad);
	for (const char *const *bad = (const char *const[]){ "", "-4", "1,,2", "x", "2147483648", NULL };
	     *bad; bad++)
		ck_assert_msg(pcp_filter_parse_pids(*bad, &s) == -1, "pids accepted '%s'", *bad);
}
END_TEST

/* the window from the first record, [from, to), the CPU bitmap, pids read at common_pid */
START_TEST(keep_rule)
{
	struct pcp_filter f;
	unsigned char rec[8] = { 0 };
	int32_t pid = 42;

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(pcp_filter_parse_time("1", &f.spec.from), 0);
	ck_assert_int_eq(pcp_filter_parse_time("2", &f.spec.to), 0);
	ck_assert_int_eq(pcp_filter_parse_cpus("1", &f.spec), 0);
	f.to_ns = UINT64_MAX;
	pcp_filter_start(&f, 1000);
	pcp_filter_start(&f, 5000000000ull);   /* only the first record starts it */
	ck_assert(f.from_ns == 1000001000ull && f.to_ns == 2000001000ull);
	ck_assert(!pcp_filter_keep(&f, rec, 8, 1000000999ull, 1));
	ck_assert(pcp_filter_keep(&f, rec, 8, 1000001000ull, 1));
	ck_assert(!pcp_filter_keep(&f, rec, 8, 1000001000ull, 0));
	ck_assert(!pcp_filter_keep(&f, rec, 8, 2000001000ull, 1));
	f.by_pid = 1;
	f.pid_off = 4;
	f.pid_size = 4;
	f.pids[0] = 17;
	f.pids[1] = 42;
	f.nr_pids = 2;
	ck_assert(!pcp_filter_keep(&f, rec, 8, 1500000000ull, 1));
	memcpy(rec + 4, &pid, 4);
	ck_assert(pcp_filter_keep(&f, rec, 8, 1500000000ull, 1));
	ck_assert(!pcp_filter_keep(&f, rec, 6, 1500000000ull, 1));   /* too short: not kept */
	ck_assert(pcp_filter_in_window(&f, 1500000000ull, 1));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("analysis_filter");
	TCase *tc = tcase_create("filter");

	tcase_add_test(tc, times_exact);
	tcase_add_test(tc, lists_and_description);
	tcase_add_test(tc, keep_rule);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
