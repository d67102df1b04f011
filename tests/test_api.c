/* The public API (include/pcptrace.h) against independent numbers: event counts from the
 * iterator against the checker's (tests/expected/fallback-basic.json, python over trace-cmd
 * report), metrics and tables against pcpanalyze's JSON and the checker, damaged inputs give
 * their documented codes, outputs are written (and an input is never overwritten). Only
 * pcptrace.h is used for the library; jansson and SQLite read the expectations and outputs. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <sqlite3.h>
#include "pcptrace.h"
#include "check_helpers.h"

#define FIXTURE "fallback-basic.dat"

static char scratch[] = "/tmp/test_api.XXXXXX";

static void setup(void)
{
	strcpy(scratch, "/tmp/test_api.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(scratch));
}

static void teardown(void)
{
	check_remove_tree(scratch);
}

static const char *fixture(void)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s", check_fixture_path("..", NULL, FIXTURE));
	return path;
}

static json_t *load_json(const char *path)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	ck_assert_msg(j != NULL, "%s: %s", path, jerr.text);
	return j;
}

static json_t *expected(void)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/tests/expected/fallback-basic.json", check_source_dir(".."));
	return load_json(path);
}

static uint64_t expected_u64(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_integer(v), "expected value %s missing", key);
	return (uint64_t)json_integer_value(v);
}

/* The checker's sum of one cpu_flow column over the CPUs. */
static uint64_t expected_flow_sum(json_t *exp, const char *column)
{
	json_t *row;
	size_t i;
	uint64_t sum = 0;

	json_array_foreach(json_object_get(exp, "cpu_flow"), i, row)
		sum += expected_u64(row, column);
	return sum;
}

START_TEST(test_trace_events_per_kind)
{
	struct pcp_trace *t = NULL;
	const struct pcp_trace_event *ev;
	uint64_t count[16] = { 0 }, pages[2] = { 0 }, last_ts = 0, known = 1, unknown = 1;
	json_t *exp = expected(), *info = json_object_get(exp, "trace_info");
	json_t *counts = json_object_get(exp, "event_counts");

	ck_assert_int_eq(pcp_trace_open(fixture(), NULL, &t), PCP_OK);
	ck_assert_uint_eq(pcp_trace_nr_cpus(t), expected_u64(info, "nr_cpus"));
	ck_assert_str_eq(pcp_trace_mode(t), json_string_value(json_object_get(info, "refill_source")));
	ck_assert_str_eq(pcp_trace_buffer_name(t), json_string_value(json_object_get(info, "buffer")));
	ck_assert_str_eq(pcp_trace_time_base(t), "ns");
	for (;;) {
		int kind;

		ck_assert_int_eq(pcp_trace_next(t, &ev), PCP_OK);
		if (!ev)
			break;
		kind = pcp_trace_event_kind(ev);

		ck_assert_int_ge(kind, PCP_EVENT_REFILL);
		ck_assert_int_le(kind, PCP_EVENT_PERCPU_CHUNK_DESTROY);
		ck_assert_uint_lt(pcp_trace_event_cpu(ev), 2);
		ck_assert_uint_ge(pcp_trace_event_ts(ev), last_ts);   /* timestamp order */
		last_ts = pcp_trace_event_ts(ev);
		count[kind]++;
		if (kind == PCP_EVENT_REFILL || kind == PCP_EVENT_DRAIN) {
			ck_assert_uint_eq(pcp_trace_event_pages(ev), 1u << pcp_trace_event_order(ev));
			ck_assert_int_ge(pcp_trace_event_migratetype(ev), 0);
			ck_assert_uint_ne(pcp_trace_event_pfn(ev), 0);
			pages[kind == PCP_EVENT_DRAIN] += pcp_trace_event_pages(ev);
		} else {
			ck_assert_uint_eq(pcp_trace_event_pfn(ev), 0);
		}
		if (kind == PCP_EVENT_PERCPU_ALLOC) {
			ck_assert_uint_ne(pcp_trace_event_percpu_ptr(ev), 0);
			ck_assert_uint_gt(pcp_trace_event_percpu_size(ev), 0);
			ck_assert_uint_ne(pcp_trace_event_call_site(ev), 0);
		}
	}
	ck_assert_uint_eq(last_ts, expected_u64(info, "last_ts_ns"));
	/* Fallback mode: 93,681 refills (alloc_zone_locked, percpu_refill=1), 84,663 drains. */
	ck_assert_uint_eq(count[PCP_EVENT_REFILL], expected_flow_sum(exp, "refill_blocks"));
	ck_assert_uint_eq(count[PCP_EVENT_REFILL], 93681);
	ck_assert_uint_eq(count[PCP_EVENT_DRAIN], expected_flow_sum(exp, "drain_blocks"));
	ck_assert_uint_eq(pages[0], expected_flow_sum(exp, "refill_pages"));
	ck_assert_uint_eq(pages[1], expected_flow_sum(exp, "drain_pages"));
	ck_assert_uint_eq(count[PCP_EVENT_REFILL_LOCK] + count[PCP_EVENT_DRAIN_LOCK], 0);
	ck_assert_uint_eq(count[PCP_EVENT_PERCPU_ALLOC], expected_u64(counts, "percpu:percpu_alloc_percpu"));
	ck_assert_uint_eq(count[PCP_EVENT_PERCPU_FREE], expected_u64(counts, "percpu:percpu_free_percpu"));
	ck_assert_int_eq(pcp_trace_lost_events(t, &known, &unknown), 0);
	ck_assert_uint_eq(known, expected_u64(info, "events_lost"));
	ck_assert_uint_eq(unknown, 0);
	ck_assert_str_eq(pcp_trace_event_kind_name(PCP_EVENT_PERCPU_FREE), "percpu_free");
	ck_assert_str_eq(pcp_trace_event_kind_name(99), "unknown");
	pcp_trace_close(t);
	json_decref(exp);
}
END_TEST

/* dropped.dat lost events in the kernel (its CPUSTAT "dropped events"): the checker's count. */
START_TEST(test_trace_lost_events)
{
	struct pcp_trace *t = NULL;
	const struct pcp_trace_event *ev;
	uint64_t known = 0, unknown = 1, n = 0;
	char path[1024];
	json_t *exp;

	snprintf(path, sizeof(path), "%s/tests/expected/dropped.json", check_source_dir(".."));
	exp = load_json(path);
	ck_assert_int_eq(pcp_trace_open(check_fixture_path("..", NULL, "dropped.dat"), NULL, &t), PCP_OK);
	ck_assert_str_eq(pcp_trace_buffer_name(t), "pcptrace_a");
	while (pcp_trace_next(t, &ev) == PCP_OK && ev)
		n++;
	ck_assert_ptr_null(ev);
	ck_assert_int_eq(pcp_trace_next(t, &ev), PCP_OK);   /* the end stays the end */
	ck_assert_ptr_null(ev);
	ck_assert_uint_eq(n, expected_flow_sum(exp, "refill_blocks") + expected_flow_sum(exp, "drain_blocks"));
	ck_assert_int_eq(pcp_trace_lost_events(t, &known, &unknown), 1);
	ck_assert_uint_eq(known, expected_u64(json_object_get(exp, "trace_info"), "events_lost"));
	ck_assert_uint_eq(known, 17729);
	ck_assert_uint_eq(unknown, 0);
	pcp_trace_close(t);
	json_decref(exp);
}
END_TEST

/* A copy of the fixture cut to len bytes (0: empty) in the scratch directory. */
static const char *damaged_copy(size_t len)
{
	static char path[1200];
	size_t n;
	char *data = check_read_file(fixture(), &n);
	FILE *f;

	snprintf(path, sizeof(path), "%s/damaged.dat", scratch);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len < n ? len : n, f), len < n ? len : n);
	fclose(f);
	free(data);
	return path;
}

START_TEST(test_damaged_inputs)
{
	struct pcp_trace *t = (struct pcp_trace *)1;
	struct pcp_analysis *a = (struct pcp_analysis *)1;
	char missing[1200];

	snprintf(missing, sizeof(missing), "%s/missing.dat", scratch);
	ck_assert_int_eq(pcp_trace_open(missing, NULL, &t), PCP_ERR_NOFILE);
	ck_assert_ptr_null(t);
	ck_assert_msg(strstr(pcp_last_error(), missing) == pcp_last_error(), "%s", pcp_last_error());
	ck_assert_int_eq(pcp_trace_open(damaged_copy(0), NULL, &t), PCP_ERR_EMPTY);
	ck_assert_int_eq(pcp_analysis_run(damaged_copy(0), NULL, &a), PCP_ERR_EMPTY);
	ck_assert_ptr_null(a);
	/* Cut at 600,000 of 1,077,910 bytes: pcpanalyze exits 6 (truncated) on it too. */
	ck_assert_int_eq(pcp_trace_open(damaged_copy(600000), NULL, &t), PCP_ERR_TRUNCATED);
	ck_assert_int_eq(pcp_analysis_run(damaged_copy(600000), NULL, &a), PCP_ERR_TRUNCATED);
	ck_assert_msg(strstr(pcp_last_error(), "damaged.dat: "), "%s", pcp_last_error());
	ck_assert_int_eq(pcp_exit_code(PCP_ERR_TRUNCATED), 6);
	ck_assert_int_eq(pcp_trace_open(fixture(), "no-such-buffer", &t), PCP_ERR_MODE);
}
END_TEST

/* pcpanalyze --json of the fixture, written into the scratch directory. */
static json_t *cli_json(void)
{
	char cmd[4096], out[1200];
	const char *build = getenv("PCP_BUILD_DIR");

	snprintf(out, sizeof(out), "%s/cli.json", scratch);
	snprintf(cmd, sizeof(cmd), "'%s/pcpanalyze' -q -o '%s/cli.db' --json '%s' '%s'",
		 build ? build : ".", scratch, out, fixture());
	ck_assert_int_eq(system(cmd), 0);
	return load_json(out);
}

START_TEST(test_metrics_equal_cli)
{
	struct pcp_analysis *a = NULL;
	json_t *cli = cli_json(), *metrics = json_object_get(cli, "metrics"), *m;
	const char *name, *better;
	double v;
	size_t n = 0;

	ck_assert_int_eq(pcp_analysis_run(fixture(), NULL, &a), PCP_OK);
	ck_assert_uint_eq(pcp_analysis_metric_count(a), json_object_size(metrics));
	json_object_foreach(metrics, name, m) {
		json_t *value = json_object_get(m, "value");
		int defined = pcp_analysis_metric(a, name, &v);

		ck_assert_str_eq(pcp_analysis_metric_name(a, n++), name);   /* the same order */
		ck_assert_str_eq(pcp_analysis_metric_unit(a, name, &better),
				 json_string_value(json_object_get(m, "unit")));
		ck_assert_str_eq(better, json_string_value(json_object_get(m, "better")));
		if (json_is_null(value)) {
			ck_assert_int_eq(defined, 0);
			ck_assert(isnan(v));
		} else {
			ck_assert_int_eq(defined, 1);
			ck_assert_msg(v == json_number_value(value), "%s: %.17g != %.17g", name, v,
				      json_number_value(value));
		}
	}
	ck_assert_uint_ge(n, 20);
	ck_assert_int_eq(pcp_analysis_metric(a, "pairs", &v), 1);
	ck_assert_double_gt(v, 0);
	ck_assert_int_eq(pcp_analysis_metric(a, "no_such_metric", &v), -1);
	ck_assert_ptr_null(pcp_analysis_metric_name(a, n));
	pcp_analysis_free(a);
	json_decref(cli);
}
END_TEST

/* zone_lock_timeline through the API against the database pcpanalyze writes for the same trace
 * and options, read back with SQLite: the row count and every cell, in the API's row order. */
static void check_zone_lock_timeline(struct pcp_analysis *a, const char *cli_options)
{
	static const char *const cols[] = { "bucket_start_ns", "nid", "zid", "kind", "acquisitions" };
	char cmd[4096], db_path[1200];
	const char *build = getenv("PCP_BUILD_DIR");
	sqlite3_stmt *st;
	sqlite3 *db;
	size_t rows = 0, i = 0;
	double v;

	snprintf(db_path, sizeof(db_path), "%s/tables.db", scratch);
	snprintf(cmd, sizeof(cmd), "'%s/pcpanalyze' -q %s -o '%s' '%s'", build ? build : ".",
		 cli_options, db_path, fixture());
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT bucket_start_ns, nid, zid, kind = 'drain', "
					    "acquisitions FROM zone_lock_timeline ORDER BY "
					    "bucket_start_ns, nid, zid, kind = 'drain'", -1, &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(pcp_analysis_table_rows(a, "zone_lock_timeline", &rows), PCP_OK);
	for (; sqlite3_step(st) == SQLITE_ROW; i++) {
		ck_assert_uint_lt(i, rows);
		for (int c = 0; c < 5; c++) {
			ck_assert_int_eq(pcp_analysis_table_value(a, "zone_lock_timeline", i, cols[c], &v),
					 PCP_OK);
			ck_assert_msg(v == (double)sqlite3_column_int64(st, c), "zone_lock_timeline[%zu].%s "
				      "= %g, the database has %lld", i, cols[c], v,
				      (long long)sqlite3_column_int64(st, c));
		}
	}
	ck_assert_uint_eq(i, rows);
	ck_assert_uint_gt(rows, 0);
	ck_assert_int_eq(pcp_analysis_table_value(a, "zone_lock_timeline", rows, "kind", &v),
			 PCP_ERR_USAGE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

START_TEST(test_tables_and_options)
{
	struct pcp_analysis_opts *o = pcp_analysis_opts_new();
	struct pcp_analysis *a = NULL;
	json_t *exp = expected(), *row;
	size_t rows = 0, i;
	double v, pairs = 0;

	ck_assert_int_eq(pcp_analysis_opts_set_bucket(o, 0), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_analysis_opts_set_refill_source(o, "sideways"), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_analysis_opts_set_buffer(o, ""), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_analysis_opts_set_refill_source(o, "fallback"), PCP_OK);
	ck_assert_int_eq(pcp_analysis_opts_set_buffer(o, "pcptrace_fixture"), PCP_OK);
	ck_assert_int_eq(pcp_analysis_opts_set_infer_gap(o, PCP_ANALYSIS_INFER_GAP_AUTO), PCP_OK);
	ck_assert_int_eq(pcp_analysis_run(fixture(), o, &a), PCP_OK);
	pcp_analysis_opts_free(o);

	ck_assert_int_eq(pcp_analysis_table_rows(a, "cpu_flow", &rows), PCP_OK);
	ck_assert_uint_eq(rows, json_array_size(json_object_get(exp, "cpu_flow")));
	json_array_foreach(json_object_get(exp, "cpu_flow"), i, row) {
		static const char *const cols[] = { "cpu", "refill_blocks", "refill_pages", "drain_blocks",
						    "drain_pages", "net_pages", "refill_locks", "drain_locks",
						    "lost_events" };
		for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
			ck_assert_int_eq(pcp_analysis_table_value(a, "cpu_flow", i, cols[c], &v), PCP_OK);
			ck_assert_msg(v == (double)json_integer_value(json_object_get(row, cols[c])),
				      "cpu_flow[%zu].%s = %g", i, cols[c], v);
		}
	}
	ck_assert_int_eq(pcp_analysis_table_rows(a, "pair_matrix", &rows), PCP_OK);
	ck_assert_uint_eq(rows, json_array_size(json_object_get(exp, "pair_matrix")));
	for (i = 0; i < rows; i++) {
		ck_assert_int_eq(pcp_analysis_table_value(a, "pair_matrix", i, "pairs", &v), PCP_OK);
		pairs += v;
	}
	ck_assert_int_eq(pcp_analysis_metric(a, "pairs", &v), 1);
	ck_assert_double_eq(pairs, v);
	ck_assert_int_eq(pcp_analysis_table_value(a, "pair_matrix", rows, "pairs", &v), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_analysis_table_value(a, "cpu_flow", 0, "colour", &v), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_analysis_table_rows(a, "no_table", &rows), PCP_ERR_USAGE);
	check_zone_lock_timeline(a, "--refill-source fallback --buffer pcptrace_fixture --infer-gap auto");
	pcp_analysis_free(a);
	json_decref(exp);
}
END_TEST

static int64_t db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

START_TEST(test_write_outputs)
{
	struct pcp_analysis *a = NULL;
	char db_path[1200], json_path[1200], text_path[1200], trace[1200];
	struct stat before, after;
	sqlite3 *db;
	json_t *j;
	double v;
	char *text;

	snprintf(db_path, sizeof(db_path), "%s/out.db", scratch);
	snprintf(json_path, sizeof(json_path), "%s/out.json", scratch);
	snprintf(text_path, sizeof(text_path), "%s/out.txt", scratch);
	snprintf(trace, sizeof(trace), "%s/trace.dat", scratch);
	free(check_read_file(damaged_copy(SIZE_MAX), NULL));
	ck_assert_int_eq(rename(damaged_copy(SIZE_MAX), trace), 0);
	ck_assert_int_eq(pcp_analysis_run(trace, NULL, &a), PCP_OK);

	ck_assert_int_eq(pcp_analysis_write(a, PCP_FORMAT_DB, db_path), PCP_OK);
	ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(pcp_analysis_metric(a, "pairs", &v), 1);
	ck_assert_int_eq(db_int(db, "SELECT value FROM metrics WHERE name = 'pairs'"), (int64_t)v);
	ck_assert_int_eq(db_int(db, "SELECT sum(refill_blocks) FROM cpu_flow"), 93681);
	sqlite3_close(db);

	ck_assert_int_eq(pcp_analysis_write(a, PCP_FORMAT_JSON, json_path), PCP_OK);
	j = load_json(json_path);
	ck_assert_double_eq(json_number_value(json_object_get(json_object_get(json_object_get(j, "metrics"),
				"pairs"), "value")), v);
	json_decref(j);

	ck_assert_int_eq(pcp_analysis_write(a, PCP_FORMAT_TEXT, text_path), PCP_OK);
	text = check_read_file(text_path, NULL);
	ck_assert_msg(strstr(text, "refill fallback") != NULL, "%s", text);
	free(text);

	/* The input is never an output; a format the analysis has not is refused. */
	ck_assert_int_eq(stat(trace, &before), 0);
	ck_assert_int_eq(pcp_analysis_write(a, PCP_FORMAT_DB, trace), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_analysis_write(a, PCP_FORMAT_JUNIT, json_path), PCP_ERR_USAGE);
	ck_assert_int_eq(stat(trace, &after), 0);
	ck_assert_int_eq(before.st_size, after.st_size);
	ck_assert_int_eq(before.st_mtime, after.st_mtime);
	pcp_analysis_free(a);
	ck_assert_int_eq(check_dir_entries(scratch), 4);   /* no temp file left */
}
END_TEST

START_TEST(test_compare_same_run)
{
	struct pcp_compare *c = pcp_compare_new();
	char junit[1200], db_path[1200];
	struct pcp_analysis *a = NULL;
	double base, new_;
	char *xml;

	snprintf(junit, sizeof(junit), "%s/compare.xml", scratch);
	snprintf(db_path, sizeof(db_path), "%s/base.db", scratch);
	ck_assert_int_eq(pcp_analysis_run(fixture(), NULL, &a), PCP_OK);
	ck_assert_int_eq(pcp_analysis_write(a, PCP_FORMAT_DB, db_path), PCP_OK);
	ck_assert_int_eq(pcp_compare_run(c), PCP_ERR_USAGE);   /* no runs yet */
	ck_assert_int_eq(pcp_compare_add_run(c, 0, db_path), PCP_OK);
	ck_assert_int_eq(pcp_compare_add_run(c, 1, fixture()), PCP_OK);   /* analyzed on the fly */
	ck_assert_int_eq(pcp_compare_set_only(c, "pairs"), PCP_OK);
	ck_assert_int_eq(pcp_compare_set_only(c, "fast_churn_ratio"), PCP_OK);
	ck_assert_int_eq(pcp_compare_set_threshold(c, "pairs", 1.5), PCP_OK);
	ck_assert_int_eq(pcp_compare_set_fail_on(c, "sometimes"), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_compare_set_fail_on(c, "worse"), PCP_OK);
	ck_assert_int_eq(pcp_compare_write(c, PCP_FORMAT_JUNIT, junit), PCP_ERR_USAGE);   /* not run */
	ck_assert_int_eq(pcp_compare_run(c), PCP_OK);
	ck_assert_uint_eq(pcp_compare_metric_count(c), 2);
	ck_assert_int_eq(pcp_compare_verdict(c, "pairs", &base, &new_), PCP_COMPARE_SAME);
	ck_assert_double_eq(base, new_);
	ck_assert_int_eq(pcp_analysis_metric(a, "pairs", &new_), 1);
	ck_assert_double_eq(base, new_);
	ck_assert_int_eq(pcp_compare_verdict(c, "events_total", NULL, NULL), -1);
	ck_assert_str_eq(pcp_compare_verdict_name(PCP_COMPARE_REGRESSION), "regression");
	ck_assert_int_eq(pcp_compare_failed(c), 0);
	ck_assert_int_eq(pcp_compare_write(c, PCP_FORMAT_JUNIT, junit), PCP_OK);
	xml = check_read_file(junit, NULL);
	ck_assert_msg(strstr(xml, "tests=\"2\" failures=\"0\"") != NULL, "%s", xml);
	free(xml);
	ck_assert_int_eq(pcp_compare_write(c, PCP_FORMAT_JSON, db_path), PCP_ERR_USAGE);   /* an input */
	ck_assert_int_eq(pcp_compare_write(c, PCP_FORMAT_DB, junit), PCP_ERR_USAGE);
	pcp_compare_free(c);
	pcp_analysis_free(a);
}
END_TEST

START_TEST(test_errors_and_version)
{
	struct pcp_recording_opts *ro = pcp_recording_opts_new();
	struct pcp_recording *r = (struct pcp_recording *)1;

	ck_assert_str_eq(pcp_version(), PCPTRACE_VERSION);
	ck_assert_str_eq(pcp_strerror(PCP_ERR_TRUNCATED), "file is truncated");
	ck_assert_int_eq(pcp_exit_code(PCP_ERR_NO_EVENTS), 8);
	/* Recording option checks need no kernel: an output is required, formats are checked. */
	ck_assert_int_eq(pcp_recording_create(ro, &r), PCP_ERR_USAGE);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(pcp_recording_opts_set_output(ro, "x.dat", 6, "zstd"), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_recording_opts_set_output(ro, "x.dat", 8, NULL), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_recording_opts_set_output(ro, "x.dat", 7, "zstd"), PCP_OK);
	ck_assert_int_eq(pcp_recording_opts_add_event(ro, "sched_switch"), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_recording_opts_add_event(ro, "sched:sched_switch"), PCP_OK);
	ck_assert_int_eq(pcp_recording_opts_set_lifecycle(NULL, 1), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_recording_opts_set_lifecycle(ro, 1), PCP_OK);
	/* A clock without a time base is refused (before anything of the kernel is touched). */
	ck_assert_int_eq(pcp_recording_opts_set_clock(ro, "counter", 0), PCP_OK);
	ck_assert_int_eq(pcp_recording_create(ro, &r), PCP_ERR_USAGE);
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(pcp_last_error(), "clock counter") != NULL, "%s", pcp_last_error());
	ck_assert_int_eq(pcp_recording_start(NULL), PCP_ERR_USAGE);
	pcp_recording_opts_free(ro);
	pcp_recording_destroy(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("api");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_trace_events_per_kind);
	tcase_add_test(tc, test_trace_lost_events);
	tcase_add_test(tc, test_damaged_inputs);
	tcase_add_test(tc, test_metrics_equal_cli);
	tcase_add_test(tc, test_tables_and_options);
	tcase_add_test(tc, test_write_outputs);
	tcase_add_test(tc, test_compare_same_run);
	tcase_add_test(tc, test_errors_and_version);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
