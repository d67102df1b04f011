/* The lifecycle model inside pcpanalyze (issue 11). The per-CPU pageset counts of the meta's
 * snapshots are tests/test_meta.c's (pcp_meta_pcp_pages); here pcp_analyze_file on a pcpsynth lifecycle trace
 * read through the public analysis API (metrics, lifecycle tables) against the independent
 * checker's values (tests/expected/lifecycle-native.json, lifecycle_expected.py over
 * `trace-cmd report` text). The outputs table by table: tests/expected/lifecycle_cases.py. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "pcptrace.h"
#include "common/error.h"
#include "meta/meta.h"
#include "synth/synth.h"
#include "check_helpers.h"

static json_t *jget(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(v != NULL, "expected JSON: no %s", key);
	return v;
}

static double table_value(struct pcp_analysis *a, const char *table, size_t row, const char *col)
{
	double v = -1;

	ck_assert_msg(pcp_analysis_table_value(a, table, row, col, &v) == PCP_OK, "%s.%s[%zu]: %s",
		      table, col, row, pcp_last_error());
	return v;
}

/* pcpanalyze's analysis of lifecycle-native.synth (no meta: occupancy a change) through the
 * public API equals the checker's figures. */
START_TEST(analysis_api_matches_checker)
{
	char dir[] = "/tmp/test_lcwire.XXXXXX", out[600], script[1100], fmt_dir[1100], msg[512] = "";
	char exp_path[1100];
	struct pcp_synth_opts so = { 0 };
	struct pcp_synth_stats st;
	struct pcp_analysis_opts *opts;
	struct pcp_analysis *a = NULL;
	json_error_t jerr;
	json_t *doc, *flows, *tasks, *res;
	size_t rows;
	double v;

	snprintf(script, sizeof(script), "%s", check_fixture_path("..", "lifecycle", "lifecycle-native.synth"));
	snprintf(fmt_dir, sizeof(fmt_dir), "%s/tests/fixtures/formats", check_source_dir(".."));
	snprintf(exp_path, sizeof(exp_path), "%s/tests/expected/lifecycle-native.json", check_source_dir(".."));
	doc = json_load_file(exp_path, 0, &jerr);
	ck_assert_msg(doc != NULL, "%s", jerr.text);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(out, sizeof(out), "%s/lc.dat", dir);
	so.formats_dir = fmt_dir;
	so.script_path = script;
	so.out_path = out;
	ck_assert_msg(pcp_synth_build(&so, &st, msg, sizeof(msg)) == PCP_OK, "%s", msg);
	opts = pcp_analysis_opts_new();
	ck_assert_ptr_nonnull(opts);
	ck_assert_int_eq(pcp_analysis_opts_set_bucket(opts, 5000), PCP_OK);
	ck_assert_msg(pcp_analysis_run(out, opts, &a) == PCP_OK, "%s", pcp_last_error());

	/* counts do not depend on the snapshots: the checker's (which had some) apply */
	ck_assert_int_eq(pcp_analysis_metric(a, "buddy_allocs", &v), 1);
	ck_assert_double_eq(v, (double)json_integer_value(jget(jget(doc, "metrics"), "buddy_allocs")));
	ck_assert_int_eq(pcp_analysis_metric(a, "pcp_allocs", &v), 1);
	ck_assert_double_eq(v, (double)json_integer_value(jget(jget(doc, "metrics"), "pcp_allocs")));
	ck_assert_int_eq(pcp_analysis_metric(a, "unused_refill_ratio", &v), 1);
	ck_assert_double_eq_tol(v, json_number_value(jget(jget(doc, "metrics"), "unused_refill_ratio")), 1e-12);
	ck_assert_int_eq(pcp_analysis_metric(a, "mean_pcp_pages", &v), 0);   /* no before snapshot */
	ck_assert(isnan(v));
	ck_assert_int_ne(pcp_analysis_metric(a, "occupancy_error_pages", &v), 1);   /* no row */

	flows = jget(doc, "cpu_flow");
	ck_assert_int_eq(pcp_analysis_table_rows(a, "lifecycle_cpu_flow", &rows), PCP_OK);
	ck_assert_uint_eq(rows, json_array_size(flows));
	for (size_t c = 0; c < rows; c++) {
		json_t *f = json_array_get(flows, c);

		ck_assert_double_eq(table_value(a, "lifecycle_cpu_flow", c, "pcp_allocs"),
				    (double)json_integer_value(jget(f, "pcp_allocs")));
		ck_assert_double_eq(table_value(a, "lifecycle_cpu_flow", c, "remote_drains"),
				    (double)json_integer_value(jget(f, "remote_drains")));
		/* a change from 0: the checker's level minus its start */
		ck_assert_double_eq(table_value(a, "lifecycle_cpu_flow", c, "occ_end"),
				    (double)(json_integer_value(jget(f, "occ_end")) -
					     json_integer_value(jget(f, "occ_start"))));
		ck_assert(isnan(table_value(a, "lifecycle_cpu_flow", c, "end_diff")));
	}
	tasks = jget(doc, "tasks");
	ck_assert_int_eq(pcp_analysis_table_rows(a, "lifecycle_task", &rows), PCP_OK);
	ck_assert_uint_eq(rows, json_array_size(tasks));
	for (size_t i = 0; i < rows; i++)
		ck_assert_double_eq(table_value(a, "lifecycle_task", i, "lock_acquisitions"),
				    (double)json_integer_value(jget(json_array_get(tasks, i), "lock_acquisitions")));
	res = jget(doc, "residency_hist");
	ck_assert_int_eq(pcp_analysis_table_rows(a, "lifecycle_residency_hist", &rows), PCP_OK);
	ck_assert_uint_eq(rows, json_array_size(jget(res, "alloc")) + json_array_size(jget(res, "drain")));
	ck_assert_double_eq(table_value(a, "lifecycle_residency_hist", 0, "exit_kind"), 0);   /* alloc */
	ck_assert_int_eq(pcp_analysis_table_rows(a, "round_trip_phase_hist", &rows), PCP_OK);
	ck_assert_uint_eq(rows, json_array_size(jget(jget(doc, "round_trip_phases"), "hist")));
	ck_assert_int_eq(pcp_analysis_table_rows(a, "lifecycle_occupancy", &rows), PCP_OK);
	ck_assert_uint_eq(rows, json_array_size(jget(doc, "occupancy_timeline")));

	pcp_analysis_free(a);
	pcp_analysis_opts_free(opts);
	json_decref(doc);
	unlink(out);
	rmdir(dir);
}
END_TEST

/* A trace without alloc/free: the lifecycle tables exist and are empty, no lifecycle metric. */
START_TEST(no_lifecycle_no_rows)
{
	struct pcp_analysis *a = NULL;
	size_t rows = 99;
	double v;

	ck_assert_msg(pcp_analysis_run(check_fixture_path("..", NULL, "fallback-basic.dat"), NULL, &a) == PCP_OK,
		      "%s", pcp_last_error());
	ck_assert_int_eq(pcp_analysis_table_rows(a, "lifecycle_cpu_flow", &rows), PCP_OK);
	ck_assert_uint_eq(rows, 0);
	ck_assert_int_eq(pcp_analysis_table_rows(a, "round_trip_phase_hist", &rows), PCP_OK);
	ck_assert_uint_eq(rows, 0);
	ck_assert_int_lt(pcp_analysis_metric(a, "pcp_allocs", &v), 0);
	pcp_analysis_free(a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lifecycle_wiring");
	TCase *tc = tcase_create("lifecycle_wiring");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, analysis_api_matches_checker);
	tcase_add_test(tc, no_lifecycle_no_rows);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
