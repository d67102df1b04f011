/* lib/record/progress.c: pcprecord's status line and the buffer advice of a lossy recording,
 * as pure functions of injected numbers. Expected values are worked out by hand in the
 * comments (pcprecord(1), LOST EVENTS: buffer + lost x bytes per event, next power of two). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "check_helpers.h"
#include "record/progress.h"

START_TEST(test_group)
{
	char b[32];

	ck_assert_str_eq(pcp_progress_group(b, sizeof(b), 0), "0");
	ck_assert_str_eq(pcp_progress_group(b, sizeof(b), 999), "999");
	ck_assert_str_eq(pcp_progress_group(b, sizeof(b), 1000), "1,000");
	ck_assert_str_eq(pcp_progress_group(b, sizeof(b), 1234567), "1,234,567");
	ck_assert_str_eq(pcp_progress_group(b, sizeof(b), UINT64_MAX), "18,446,744,073,709,551,615");
}
END_TEST

START_TEST(test_status_line)
{
	struct pcp_progress_figures f = { 12.34, 1234567, 45600000, 0 };
	char b[256];

	pcp_progress_format(b, sizeof(b), &f, 1);
	/* no loss: plain, even with colour */
	ck_assert_str_eq(b, "pcprecord: 12.3 s, 1,234,567 events, 45.6 MB written, lost 0");
	f.lost = 51572;
	pcp_progress_format(b, sizeof(b), &f, 0);
	ck_assert_str_eq(b, "pcprecord: 12.3 s, 1,234,567 events, 45.6 MB written, LOST 51,572");
	pcp_progress_format(b, sizeof(b), &f, 1);
	ck_assert_str_eq(b, "pcprecord: 12.3 s, 1,234,567 events, 45.6 MB written, "
			    "\033[1;31mLOST 51,572\033[0m");
	/* 12.5 GB: GB from 10^10 bytes on */
	f = (struct pcp_progress_figures){ 0.96, 0, 12500000000ull, 0 };
	pcp_progress_format(b, sizeof(b), &f, 0);
	ck_assert_str_eq(b, "pcprecord: 1.0 s, 0 events, 12.5 GB written, lost 0");
	/* a short buffer truncates, never overflows */
	ck_assert_int_gt(pcp_progress_format(b, 8, &f, 0), 8);
	ck_assert_str_eq(b, "pcpreco");
}
END_TEST

START_TEST(test_advice_none_lost)
{
	const struct pcp_advice_cpu cpus[2] = { { 1000, 36000, 0, 0, 0 }, { 5, 4096, 0, 0, 0 } };
	struct pcp_buffer_advice a;

	ck_assert_int_eq(pcp_progress_advise(1410, cpus, 2, 3.0, &a), 0);
	ck_assert_int_eq(a.defined, 0);
	ck_assert_uint_eq(a.lost_total, 0);
}
END_TEST

START_TEST(test_advice_largest_cpu)
{
	/* 10 s at 1410 KB per CPU.
	 * CPU 0: 36,000,000 B / 1,000,000 events = 36 B/event; 50,000 lost x 36 = 1,800,000 B
	 *        = 1757.8 KB -> 1758; 1410 + 1758 = 3168 KB -> 4096; (1,000,000 + 50,000) / 10 s
	 * CPU 1: 40 B/event; 10,000 x 40 = 400,000 B = 390.6 -> 391; 1801 KB -> 2048
	 * CPU 2: nothing lost */
	const struct pcp_advice_cpu cpus[3] = {
		{ 1000000, 36000000, 50000, 0, 0 }, { 500000, 20000000, 10000, 0, 0 }, { 7, 4096, 0, 0, 0 },
	};
	struct pcp_buffer_advice a;
	char b[512];

	ck_assert_int_eq(pcp_progress_advise(1410, cpus, 3, 10.0, &a), 1);
	ck_assert_int_eq(a.defined, 1);
	ck_assert_int_eq(a.cpu, 0);
	ck_assert_uint_eq(a.lost_total, 60000);
	ck_assert_uint_eq(a.lost, 50000);
	ck_assert_double_eq_tol(a.bytes_per_event, 36.0, 1e-9);
	ck_assert_uint_eq(a.exact_kb, 3168);
	ck_assert_uint_eq(a.need_kb, 4096);
	ck_assert_double_eq_tol(a.events_per_s, 105000.0, 1e-6);
	pcp_progress_format_advice(b, sizeof(b), 1410, &a);
	ck_assert_str_eq(b, "pcprecord: lost 60,000 events; -b 4096 would have kept them (CPU 0: "
			    "1410 KB + 50,000 lost in its worst second x 36.0 B/event = 3168 KB, rounded up to a power "
			    "of two; it wrote 105.0 k events/s)");
}
END_TEST

START_TEST(test_advice_exact_power_and_no_duration)
{
	/* 1024 KB + 1,024 lost x 1024 B/event = 1024 KB: 2048 exactly, not rounded further */
	const struct pcp_advice_cpu cpus[1] = { { 4, 4096, 1024, 0, 0 } };
	struct pcp_buffer_advice a;
	char b[512];

	ck_assert_int_eq(pcp_progress_advise(1024, cpus, 1, 0.0, &a), 1);
	ck_assert_uint_eq(a.exact_kb, 2048);
	ck_assert_uint_eq(a.need_kb, 2048);
	ck_assert(isnan(a.events_per_s)); /* no duration: no rate, not 0 */
	pcp_progress_format_advice(b, sizeof(b), 1024, &a);
	ck_assert_ptr_nonnull(strstr(b, "an unknown number of events/s"));
}
END_TEST

START_TEST(test_advice_cpu_kept_nothing)
{
	/* CPU 1 kept nothing: the recording's bytes per event (8,000 / 100 = 80 B) stand in;
	 * 2,048 x 80 = 163,840 B = 160 KB; 64 + 160 = 224 -> 256. With no event kept anywhere
	 * there is no bytes per event: no size, said so. */
	const struct pcp_advice_cpu cpus[2] = { { 100, 8000, 0, 0, 0 }, { 0, 0, 2048, 0, 0 } };
	const struct pcp_advice_cpu none[1] = { { 0, 0, 99, 0, 0 } };
	struct pcp_buffer_advice a;
	char b[512];

	ck_assert_int_eq(pcp_progress_advise(64, cpus, 2, 1.0, &a), 1);
	ck_assert_int_eq(a.cpu, 1);
	ck_assert_double_eq_tol(a.bytes_per_event, 80.0, 1e-9);
	ck_assert_uint_eq(a.exact_kb, 224);
	ck_assert_uint_eq(a.need_kb, 256);
	ck_assert_int_eq(pcp_progress_advise(64, none, 1, 1.0, &a), 1);
	ck_assert_int_eq(a.defined, 0);
	ck_assert_uint_eq(a.lost_total, 99);
	pcp_progress_format_advice(b, sizeof(b), 64, &a);
	ck_assert_str_eq(b, "pcprecord: lost 99 events; no event was kept to measure bytes per "
			    "event, so no buffer size can be computed: try a much larger -b than 64");
}
END_TEST

START_TEST(test_advice_worst_second)
{
	/* 512 KB per CPU, 10 s, with live samples.
	 * CPU 0: 36 B/event; worst second 20,000 (2,000 after the last sample): 720,000 B =
	 *        703.1 KB -> 704; 512 + 704 = 1216 -> 2048. Whole run: 50,000 x 36 = 1758 KB;
	 *        2270 -> 4096.
	 * CPU 1: 40 B/event; worst 8,000, after the last sample (peak 1,000 between samples):
	 *        320,000 B = 312.5 -> 313; 825 -> 1024. Whole run: 10,000 x 40 = 391; 903 -> 1024. */
	const struct pcp_advice_cpu cpus[2] = {
		{ 1000000, 36000000, 50000, 48000, 20000 }, { 500000, 20000000, 10000, 2000, 1000 },
	};
	struct pcp_buffer_advice a;
	char b[512];

	ck_assert_int_eq(pcp_progress_advise(512, cpus, 2, 10.0, &a), 1);
	ck_assert_int_eq(a.cpu, 0);
	ck_assert_uint_eq(a.lost, 20000);
	ck_assert_uint_eq(a.exact_kb, 1216);
	ck_assert_uint_eq(a.need_kb, 2048);
	ck_assert_uint_eq(a.need_run_kb, 4096);
	pcp_progress_format_advice(b, sizeof(b), 512, &a);
	ck_assert_str_eq(b, "pcprecord: lost 60,000 events; -b 2048 would have kept them (CPU 0: "
			    "512 KB + 20,000 lost in its worst second x 36.0 B/event = 1216 KB, "
			    "rounded up to a power of two; it wrote 105.0 k events/s)");
}
END_TEST

START_TEST(test_sustained)
{
	ck_assert_int_eq(pcp_progress_loss_sustained(2, 2), 0);  /* too few samples */
	ck_assert_int_eq(pcp_progress_loss_sustained(3, 3), 1);
	ck_assert_int_eq(pcp_progress_loss_sustained(3, 4), 1);  /* 3 of 4 */
	ck_assert_int_eq(pcp_progress_loss_sustained(5, 7), 0);  /* 71% */
	ck_assert_int_eq(pcp_progress_loss_sustained(0, 10), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("progress");
	TCase *tc = tcase_create("progress");

	tcase_add_test(tc, test_group);
	tcase_add_test(tc, test_status_line);
	tcase_add_test(tc, test_advice_none_lost);
	tcase_add_test(tc, test_advice_largest_cpu);
	tcase_add_test(tc, test_advice_exact_power_and_no_duration);
	tcase_add_test(tc, test_advice_cpu_kept_nothing);
	tcase_add_test(tc, test_advice_worst_second);
	tcase_add_test(tc, test_sustained);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
