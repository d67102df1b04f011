/* Time base of a trace clock (issue 9: x86-tsc durations 2.6x too long, rates from a tick
 * counter) and the TSC rate measured by pcprecord when the kernel publishes no conversion. */
#include <check.h>
#include <string.h>
#include "common/error.h"
#include "tracedat/time_base.h"
#include "tracedat/tsc2nsec.h"
#include "check_helpers.h"

START_TEST(clocks)
{
	static const char *const ns[] = { "local", "global", "perf", "mono", "mono_raw", "boot", "tai" };
	static const char *const none[] = { "counter", "uptime", "x86-tsc", "tsc2nsec", "ppc-tb" };
	const char *why = "x";

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		ck_assert_int_eq(pcp_time_base_of(ns[i], 0, &why), PCP_TIME_NS);
		ck_assert_ptr_null(why);
	}
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		ck_assert_int_eq(pcp_time_base_of(none[i], 0, &why), PCP_TIME_NONE);
		ck_assert_ptr_nonnull(why);
	}
	ck_assert_ptr_nonnull(strstr((pcp_time_base_of("counter", 0, &why), why), "counter"));
	ck_assert_ptr_nonnull(strstr((pcp_time_base_of("x86-tsc", 0, &why), why), "TSC2NSEC"));
	/* TSC2NSEC converts whatever the clock's name; no clock named: trace-cmd's default, local */
	ck_assert_int_eq(pcp_time_base_of("x86-tsc", 1, &why), PCP_TIME_TSC2NSEC);
	ck_assert_int_eq(pcp_time_base_of(NULL, 0, NULL), PCP_TIME_NS);
	ck_assert_int_eq(pcp_time_base_of("", 0, NULL), PCP_TIME_NS);
	ck_assert_str_eq(pcp_time_base_name(PCP_TIME_NS), "ns");
	ck_assert_str_eq(pcp_time_base_name(PCP_TIME_TSC2NSEC), "tsc2nsec");
	ck_assert_str_eq(pcp_time_base_name(PCP_TIME_NONE), "none");
}
END_TEST

/* ns = cycles * mult >> shift, applied as libtracecmd does (both 32-bit halves). */
static unsigned long long to_ns(unsigned long long ts, uint32_t mult, uint32_t shift)
{
	unsigned long long lo = ts & 0xffffffffULL, hi = ts >> 32;
	unsigned long long ns = (lo * mult) >> shift;
	return hi ? ns + ((hi * mult) << (32 - shift)) : ns;
}

START_TEST(calibrate)
{
	/* a 2.6 GHz TSC over 2 s: 5.2e9 cycles */
	struct pcp_tsc_sample a = { 1000000000000ULL, 5000000000ULL };
	struct pcp_tsc_sample b = { 1000000000000ULL + 5200000000ULL, 7000000000ULL };
	uint32_t mult, shift;
	char why[160] = "";

	ck_assert_int_eq(pcp_tsc2nsec_calibrate(&a, &b, &mult, &shift, why, sizeof(why)), PCP_OK);
	ck_assert_uint_le(shift, 32);
	ck_assert_uint_lt(mult, 1U << 31);
	/* 2 s of cycles read back as 2 s, within 1 ppm (not 2.6 times that) */
	{
		long long d = (long long)(to_ns(b.tsc, mult, shift) - to_ns(a.tsc, mult, shift));
		ck_assert_int_lt(d > 2000000000LL ? d - 2000000000LL : 2000000000LL - d, 2000);
	}
	/* too short to measure, or a TSC that does not advance */
	b.ns = a.ns + 1000000;
	ck_assert_int_eq(pcp_tsc2nsec_calibrate(&a, &b, &mult, &shift, why, sizeof(why)), PCP_ERR_MODE);
	ck_assert_ptr_nonnull(strstr(why, "too short"));
	b.ns = a.ns + 2000000000ULL;
	b.tsc = a.tsc;
	ck_assert_int_eq(pcp_tsc2nsec_calibrate(&a, &b, &mult, &shift, why, sizeof(why)), PCP_ERR_MODE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("time_base");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, clocks);
	tcase_add_test(tc, calibrate);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
