/* Verdict logic, run loading, JUnit/JSON output and merge of compare (issue 5). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "compare/compare.h"
#include "common/error.h"
#include "output/report.h"
#include "output/store.h"
#include "check_helpers.h"

static struct pcp_side_stats side(double median, double min, double max, size_t n)
{
	struct pcp_side_stats s = { median, min, max, n, 0 };
	return s;
}

START_TEST(test_side_stats)
{
	double odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 };
	struct pcp_side_stats s;

	pcp_side_stats_of(odd, 3, &s);
	ck_assert_double_eq(s.median, 3);
	ck_assert_double_eq(s.min, 1);
	ck_assert_double_eq(s.max, 5);
	pcp_side_stats_of(even, 4, &s);
	ck_assert_double_eq(s.median, 2.5); /* (2 + 3) / 2 */
	ck_assert_uint_eq(s.n, 4);
}
END_TEST

START_TEST(test_verdict_band)
{
	/* base 100 [90..110], threshold 10% of 100 = 10: band [80, 120]. */
	struct pcp_side_stats base = side(100, 90, 110, 3);
	struct pcp_side_stats n;

	n = side(119, 119, 119, 1);
	ck_assert_int_eq(pcp_verdict_for(&base, &n, "lower", 10, 0), PCP_VERDICT_SAME);
	n = side(80, 80, 80, 1);
	ck_assert_int_eq(pcp_verdict_for(&base, &n, "lower", 10, 0), PCP_VERDICT_SAME);
	n = side(121, 121, 121, 1);
	ck_assert_int_eq(pcp_verdict_for(&base, &n, "lower", 10, 0), PCP_VERDICT_REGRESSION);
	ck_assert_int_eq(pcp_verdict_for(&base, &n, "higher", 10, 0), PCP_VERDICT_BETTER);
	ck_assert_int_eq(pcp_verdict_for(&base, &n, "none", 10, 0), PCP_VERDICT_CHANGED);
	n = side(79, 79, 79, 1);
	ck_assert_int_eq(pcp_verdict_for(&base, &n, "lower", 10, 0), PCP_VERDICT_BETTER);
	ck_assert_int_eq(pcp_verdict_for(&base, &n, "higher", 10, 0), PCP_VERDICT_REGRESSION);
	/* A wider threshold absorbs the same change: 30% of 100 -> band [60, 140]. */
	n = side(121, 121, 121, 1);
	ck_assert_int_eq(pcp_verdict_for(&base, &n, "lower", 30, 0), PCP_VERDICT_SAME);
}
END_TEST

START_TEST(test_verdict_worse_overlap)
{
	/* New median 130 is beyond the band [80, 120], but one new run (105) lies inside the base
	 * range [90, 110]: worse, not a regression. */
	struct pcp_side_stats base = side(100, 90, 110, 3);
	struct pcp_side_stats n = side(130, 105, 140, 3);

	ck_assert_int_eq(pcp_verdict_for(&base, &n, "lower", 10, 0), PCP_VERDICT_WORSE);
	/* All new runs above 110: regression. */
	n = side(130, 111, 140, 3);
	ck_assert_int_eq(pcp_verdict_for(&base, &n, "lower", 10, 0), PCP_VERDICT_REGRESSION);
}
END_TEST

START_TEST(test_verdict_zero_base)
{
	/* Base median 0: the band is the base range itself (0 width), so any rise is beyond it. */
	struct pcp_side_stats base = side(0, 0, 0, 2);
	struct pcp_side_stats n = side(0, 0, 0, 2);

	ck_assert_int_eq(pcp_verdict_for(&base, &n, "lower", 10, 0), PCP_VERDICT_SAME);
	n = side(3, 3, 3, 1);
	ck_assert_int_eq(pcp_verdict_for(&base, &n, "lower", 10, 0), PCP_VERDICT_REGRESSION);
}
END_TEST

START_TEST(test_verdict_abs_floor)
{
	/* A ratio with base 0 [0..0] and new 0.005: the 1-point floor keeps it the same; 0.02 is
	 * beyond it. */
	struct pcp_side_stats base = side(0, 0, 0, 3);
	struct pcp_side_stats n = side(0.005, 0.0, 0.009, 3);

	ck_assert_double_eq(pcp_compare_abs_floor("ratio"), 0.01);
	ck_assert_double_eq(pcp_compare_abs_floor("pages"), 0);
	ck_assert_int_eq(pcp_verdict_for(&base, &n, "lower", 10, 0.01), PCP_VERDICT_SAME);
	n = side(0.02, 0.015, 0.03, 3);
	ck_assert_int_eq(pcp_verdict_for(&base, &n, "lower", 10, 0.01), PCP_VERDICT_REGRESSION);
}
END_TEST

START_TEST(test_default_thresholds)
{
	ck_assert_double_eq(pcp_compare_default_threshold("churn_ratio"), 10);
	ck_assert_double_eq(pcp_compare_default_threshold("refill_locks_per_s"), 15);
	ck_assert_double_eq(pcp_compare_default_threshold("events_lost"), 0);
}
END_TEST

/* A small results database of our schema (foreign files are checked object by object):
 * what compare reads (trace_info, metrics, user_version) and two cpu_flow rows. */
static void make_db(const char *path, const char *refill_source, double churn, double locks,
		    int version)
{
	sqlite3 *db;
	char *sql;

	unlink(path);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	char locks_sql[32];

	/* NAN: the metric is undefined, stored as NULL as pcpanalyze stores it */
	snprintf(locks_sql, sizeof(locks_sql), isnan(locks) ? "NULL" : "%.17g", locks);
	/* one transaction, no fsync: the whole schema in many small ones is slow on a busy disk */
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA synchronous = OFF; BEGIN", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, pcp_schema_sql, NULL, NULL, NULL), SQLITE_OK);
	sql = sqlite3_mprintf(
		"INSERT INTO trace_info VALUES ('schema_version', '%d'), ('refill_source', %Q),"
		" ('trace_file', 'x.dat'), ('meta.hostname', 'h1'), ('lossy', '0'), ('events_lost', '0');"
		"INSERT INTO metrics VALUES ('churn_ratio', %.17g, 'ratio', 'lower'),"
		" ('refill_locks_per_s', %s, '1/s', 'lower'), ('unmatched_drains', 5, 'drains', 'none');"
		"INSERT INTO cpu_flow(cpu, refill_pages, refill_blocks, drain_blocks, drain_pages,"
		" net_pages, refill_locks, drain_locks, lost_events)"
		" VALUES (0, 10, 0, 0, 0, 0, 0, 0, 0), (1, 20, 0, 0, 0, 0, 0, 0, 0);"
		"PRAGMA user_version = %d; COMMIT;",
		version, refill_source, churn, locks_sql, version);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_free(sql);
	sqlite3_close(db);
}

static char dir[] = "/tmp/pcp-test-compare.XXXXXX";

/* One scratch directory per process (per test with CK_FORK=yes). */
static void setup(void)
{
	static int made;
	if (!made++)
		ck_assert_ptr_nonnull(mkdtemp(dir));
}

static char *path_in(const char *name)
{
	static char buf[4][256];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

START_TEST(test_compare_runs)
{
	setup();
	char *base[] = { strdup(path_in("b1.db")), strdup(path_in("b2.db")) };
	char *new_[] = { strdup(path_in("n1.db")) };
	struct pcp_compare_opts opts = { 0 };
	struct pcp_compare_result *r = NULL;
	char err[256] = "";

	make_db(base[0], "fallback", 0.50, 100, PCP_SCHEMA_VERSION);
	make_db(base[1], "fallback", 0.52, 110, PCP_SCHEMA_VERSION);
	make_db(new_[0], "fallback", 0.80, 104, PCP_SCHEMA_VERSION);
	pcp_analyze_opts_default(&opts.analyze);
	ck_assert_int_eq(pcp_compare_runs(base, 2, new_, 1, &opts, &r, err, sizeof(err)), PCP_OK);
	ck_assert_uint_eq(r->nr_rows, 3);
	/* churn 0.80 vs median 0.51, band [0.50 - 0.051, 0.52 + 0.051]: regression, sorted first. */
	ck_assert_str_eq(r->rows[0].name, "churn_ratio");
	ck_assert_int_eq(r->rows[0].verdict, PCP_VERDICT_REGRESSION);
	ck_assert_double_eq_tol(r->rows[0].base.median, 0.51, 1e-12);
	ck_assert_double_eq_tol(r->rows[0].relative_change, (0.80 - 0.51) / 0.51, 1e-12);
	ck_assert_int_eq(r->failed, 1);
	ck_assert_uint_eq(r->counts[PCP_VERDICT_REGRESSION], 1);
	ck_assert_uint_eq(r->counts[PCP_VERDICT_SAME], 2);

	/* JUnit output names the failing metric. */
	ck_assert_int_eq(pcp_compare_write_junit(path_in("junit.xml"), r), PCP_OK);
	{
		FILE *f = fopen(path_in("junit.xml"), "r");
		char text[4096] = "";
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = 0;
		fclose(f);
		ck_assert_ptr_nonnull(strstr(text, "tests=\"3\" failures=\"1\""));
		ck_assert_ptr_nonnull(strstr(text, "<failure type=\"regression\" message=\"churn_ratio"));
	}
	{
		json_t *j = pcp_compare_report_json(r);
		json_t *m = json_object_get(json_object_get(j, "metrics"), "churn_ratio");
		ck_assert_str_eq(json_string_value(json_object_get(m, "verdict")), "regression");
		ck_assert_double_eq_tol(json_real_value(json_object_get(json_object_get(m, "base"), "median")),
					0.51, 1e-12);
		ck_assert_int_eq(json_integer_value(json_object_get(j, "schema_version")),
				 PCP_JSON_SCHEMA_VERSION);
		json_decref(j);
	}
	pcp_compare_result_free(r);

	/* --only restricts; an unknown name is an error. */
	{
		char *only[] = { "refill_locks_per_s" }, *bad[] = { "nonexistent" };
		opts.only = only;
		opts.nr_only = 1;
		ck_assert_int_eq(pcp_compare_runs(base, 2, new_, 1, &opts, &r, err, sizeof(err)), PCP_OK);
		ck_assert_uint_eq(r->nr_rows, 1);
		ck_assert_int_eq(r->failed, 0);
		pcp_compare_result_free(r);
		opts.only = bad;
		ck_assert_int_eq(pcp_compare_runs(base, 2, new_, 1, &opts, &r, err, sizeof(err)), PCP_ERR_USAGE);
		opts.only = NULL;
		opts.nr_only = 0;
	}
	/* An unknown --threshold name is an error, not silently ignored. */
	{
		struct pcp_compare_threshold t = { "churn_ration", 5 };
		opts.thresholds = &t;
		opts.nr_thresholds = 1;
		ck_assert_int_eq(pcp_compare_runs(base, 2, new_, 1, &opts, &r, err, sizeof(err)), PCP_ERR_USAGE);
		ck_assert_ptr_nonnull(strstr(err, "churn_ration"));
		opts.thresholds = NULL;
		opts.nr_thresholds = 0;
	}
	/* A threshold override turns the regression into same: 100% of 0.51 widens to [0, 1.03]. */
	{
		struct pcp_compare_threshold t = { "churn_ratio", 100 };
		opts.thresholds = &t;
		opts.nr_thresholds = 1;
		ck_assert_int_eq(pcp_compare_runs(base, 2, new_, 1, &opts, &r, err, sizeof(err)), PCP_OK);
		ck_assert_int_eq(r->failed, 0);
		pcp_compare_result_free(r);
		opts.thresholds = NULL;
		opts.nr_thresholds = 0;
	}
	/* Mode mismatch and schema mismatch: not comparable. */
	make_db(new_[0], "native", 0.80, 104, PCP_SCHEMA_VERSION);
	ck_assert_int_eq(pcp_compare_runs(base, 2, new_, 1, &opts, &r, err, sizeof(err)),
			 PCP_ERR_MODE_MISMATCH);
	opts.allow_mode_mismatch = 1;
	ck_assert_int_eq(pcp_compare_runs(base, 2, new_, 1, &opts, &r, err, sizeof(err)), PCP_OK);
	pcp_compare_result_free(r);
	make_db(new_[0], "fallback", 0.80, 104, PCP_SCHEMA_VERSION + 1);
	ck_assert_int_eq(pcp_compare_runs(base, 2, new_, 1, &opts, &r, err, sizeof(err)), PCP_ERR_SCHEMA);
	ck_assert_msg(strstr(err, "n1.db") != NULL, "error names the input: %s", err);
	/* A missing file. */
	unlink(new_[0]);
	ck_assert_int_eq(pcp_compare_runs(base, 2, new_, 1, &opts, &r, err, sizeof(err)), PCP_ERR_NOFILE);
	free(base[0]);
	free(base[1]);
	free(new_[0]);
}
END_TEST

static long long query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

START_TEST(test_merge)
{
	setup();
	char *inputs[] = { strdup(path_in("m1.db")), strdup(path_in("m2.db")) };
	char *merged_in[] = { strdup(path_in("all.db")), strdup(path_in("m1.db")) };
	struct pcp_merge_label labels[] = { { "kernel", "6.18" }, { "tuning", "a" } };
	char err[256] = "";
	sqlite3 *db;

	make_db(inputs[0], "fallback", 0.5, 100, PCP_SCHEMA_VERSION);
	make_db(inputs[1], "fallback", 0.7, 120, PCP_SCHEMA_VERSION);
	ck_assert_int_eq(pcp_merge_databases(path_in("all.db"), inputs, 2, labels, 2, err, sizeof(err)),
			 PCP_OK);
	ck_assert_int_eq(sqlite3_open(path_in("all.db"), &db), SQLITE_OK);
	ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM run"), 2);
	ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM run_label WHERE key = 'tuning'"), 2);
	ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM cpu_flow WHERE run = 2"), 2);
	ck_assert_int_eq(query_int(db, "SELECT CAST(ROUND(value * 10) AS INTEGER) FROM v_run_metrics WHERE run = 2 "
				       "AND name = 'churn_ratio'"), 7);
	ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM run WHERE host = 'h1'"), 2);
	sqlite3_close(db);

	/* A merged database merges again: its runs keep their labels and get new ids. */
	ck_assert_int_eq(pcp_merge_databases(path_in("all2.db"), merged_in, 2, NULL, 0, err, sizeof(err)),
			 PCP_OK);
	ck_assert_int_eq(sqlite3_open(path_in("all2.db"), &db), SQLITE_OK);
	ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM run"), 3);
	ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM metrics"), 9);
	ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM run_label"), 4);
	sqlite3_close(db);

	/* A bad input leaves no output behind. */
	make_db(inputs[1], "fallback", 0.7, 120, PCP_SCHEMA_VERSION + 1);
	unlink(path_in("bad.db"));
	ck_assert_int_eq(pcp_merge_databases(path_in("bad.db"), inputs, 2, NULL, 0, err, sizeof(err)),
			 PCP_ERR_SCHEMA);
	ck_assert_int_ne(access(path_in("bad.db"), F_OK), 0);
	for (int i = 0; i < 2; i++) {
		free(inputs[i]);
		free(merged_in[i]);
	}
}
END_TEST

/* A merged database holds several runs in one metrics table: compare used to read it as one
 * run (silently its first); it must refuse it and say why. */
START_TEST(test_compare_rejects_merged)
{
	setup();
	char *inputs[] = { strdup(path_in("r1.db")), strdup(path_in("r2.db")) };
	char *base[] = { inputs[0] }, *new_[] = { strdup(path_in("merged.db")) };
	struct pcp_compare_opts opts = { 0 };
	struct pcp_compare_result *r = NULL;
	char err[256] = "";

	make_db(inputs[0], "fallback", 0.5, 100, PCP_SCHEMA_VERSION);
	make_db(inputs[1], "fallback", 0.9, 300, PCP_SCHEMA_VERSION);
	ck_assert_int_eq(pcp_merge_databases(new_[0], inputs, 2, NULL, 0, err, sizeof(err)), PCP_OK);
	pcp_analyze_opts_default(&opts.analyze);
	ck_assert_int_eq(pcp_compare_runs(base, 1, new_, 1, &opts, &r, err, sizeof(err)), PCP_ERR_SCHEMA);
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(err, "merged.db") && strstr(err, "merged database (2 runs)"),
		      "error names the input and the reason: %s", err);
	free(inputs[0]);
	free(inputs[1]);
	free(new_[0]);
}
END_TEST

/* Column of the last word of a line (the verdict), -1 if none. */
static int last_word_at(const char *line, size_t len)
{
	size_t end = len;

	while (end && line[end - 1] == ' ')
		end--;
	for (size_t i = end; i > 0; i--)
		if (line[i - 1] == ' ')
			return (int)i;
	return -1;
}

/* The text table used fixed 28-character cells: wide ranges pushed the later columns right.
 * Every row's verdict must start under the heading's "verdict"; no exponent in the cells. */
START_TEST(test_text_table_aligned)
{
	setup();
	char *base[] = { strdup(path_in("w1.db")), strdup(path_in("w2.db")) };
	char *new_[] = { strdup(path_in("w3.db")) };
	struct pcp_compare_opts opts = { 0 };
	struct pcp_compare_result *r = NULL;
	char err[256] = "", *text = NULL;
	size_t size = 0;
	FILE *mem;
	const char *line, *next;
	int heading_at = -1, rows = 0;

	make_db(base[0], "fallback", 0.5, 123456789.25, PCP_SCHEMA_VERSION);
	make_db(base[1], "fallback", 0.5, 223456789.75, PCP_SCHEMA_VERSION);
	make_db(new_[0], "fallback", 0.5, 10040.5, PCP_SCHEMA_VERSION);
	pcp_analyze_opts_default(&opts.analyze);
	ck_assert_int_eq(pcp_compare_runs(base, 2, new_, 1, &opts, &r, err, sizeof(err)), PCP_OK);
	mem = open_memstream(&text, &size);
	pcp_compare_report_text(mem, r, 0);
	fclose(mem);
	ck_assert_ptr_null(strstr(text, "e+"));
	ck_assert_ptr_nonnull(strstr(text, "173456790 [123456789..223456790]"));
	for (line = strchr(text, '\n') + 1; *line; line = next + 1) {
		next = strchr(line, '\n');
		if (!strncmp(line, "verdict:", 8))
			break;
		if (heading_at < 0) {
			heading_at = (int)(strstr(line, "verdict") - line);
			continue;
		}
		ck_assert_msg(last_word_at(line, (size_t)(next - line)) == heading_at,
			      "misaligned row: %.*s", (int)(next - line), line);
		rows++;
	}
	ck_assert_int_eq(rows, 3);
	free(text);
	pcp_compare_result_free(r);
	free(base[0]);
	free(base[1]);
	free(new_[0]);
}
END_TEST

/* --json FILE went through json_dump_file, which truncates the target and writes in place. */
START_TEST(test_json_written_atomically)
{
	setup();
	char *base[] = { strdup(path_in("j1.db")) }, *new_[] = { strdup(path_in("j2.db")) };
	char *target = strdup(path_in("cmp.json")), *nowhere = strdup(path_in("missing/cmp.json"));
	struct pcp_compare_opts opts = { 0 };
	struct pcp_compare_result *r = NULL;
	char err[256] = "";
	json_error_t jerr;
	json_t *j;
	FILE *f;

	make_db(base[0], "fallback", 0.5, 100, PCP_SCHEMA_VERSION);
	make_db(new_[0], "fallback", 0.9, 100, PCP_SCHEMA_VERSION);
	pcp_analyze_opts_default(&opts.analyze);
	ck_assert_int_eq(pcp_compare_runs(base, 1, new_, 1, &opts, &r, err, sizeof(err)), PCP_OK);
	f = fopen(target, "w");
	fputs("old", f);
	fclose(f);
	ck_assert_int_eq(pcp_compare_write_json(target, r), PCP_OK);
	j = json_load_file(target, 0, &jerr);
	ck_assert_msg(j != NULL, "JSON parses: %s", jerr.text);
	ck_assert_str_eq(json_string_value(json_object_get(j, "kind")), "compare");
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(json_object_get(j, "metrics"), "churn_ratio"), "verdict")),
			 "regression");
	json_decref(j);
	/* No directory to put the temp file in: an error, and nothing is created. */
	ck_assert_int_eq(pcp_compare_write_json(nowhere, r), PCP_ERR_IO);
	ck_assert_int_ne(access(nowhere, F_OK), 0);
	pcp_compare_result_free(r);
	free(base[0]);
	free(new_[0]);
	free(target);
	free(nowhere);
}
END_TEST

/* A repeated --label key failed as an SQL UNIQUE constraint error (exit 10, no file named). */
START_TEST(test_merge_repeated_label)
{
	setup();
	char *inputs[] = { strdup(path_in("l1.db")) };
	struct pcp_merge_label labels[] = { { "kernel", "a" }, { "tuning", "x" }, { "kernel", "b" } };
	char err[256] = "";

	make_db(inputs[0], "fallback", 0.5, 100, PCP_SCHEMA_VERSION);
	unlink(path_in("l.db"));
	ck_assert_int_eq(pcp_merge_databases(path_in("l.db"), inputs, 1, labels, 3, err, sizeof(err)),
			 PCP_ERR_USAGE);
	ck_assert_str_eq(err, "label kernel given twice");
	ck_assert_int_ne(access(path_in("l.db"), F_OK), 0);
	ck_assert_int_eq(pcp_merge_databases(path_in("l.db"), inputs, 1, labels, 2, err, sizeof(err)),
			 PCP_OK);
	free(inputs[0]);
}
END_TEST

/* strtod accepts "nan" and "inf": a NaN band made identical runs "worse", an infinite one over
 * a zero median (0 * inf = NaN) a "regression". Such thresholds are a usage error. */
START_TEST(test_threshold_must_be_finite)
{
	setup();
	char *base[] = { strdup(path_in("t1.db")) }, *new_[] = { strdup(path_in("t2.db")) };
	struct pcp_compare_opts opts = { 0 };
	struct pcp_compare_result *r = NULL;
	struct pcp_compare_threshold t = { "churn_ratio", NAN };
	char err[256] = "";

	make_db(base[0], "fallback", 0.5, 100, PCP_SCHEMA_VERSION);
	make_db(new_[0], "fallback", 0.5, 100, PCP_SCHEMA_VERSION);
	pcp_analyze_opts_default(&opts.analyze);
	opts.thresholds = &t;
	opts.nr_thresholds = 1;
	ck_assert_int_eq(pcp_compare_runs(base, 1, new_, 1, &opts, &r, err, sizeof(err)), PCP_ERR_USAGE);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(err, "churn_ratio"));
	t.pct = INFINITY;
	ck_assert_int_eq(pcp_compare_runs(base, 1, new_, 1, &opts, &r, err, sizeof(err)), PCP_ERR_USAGE);
	t.pct = -1;
	ck_assert_int_eq(pcp_compare_runs(base, 1, new_, 1, &opts, &r, err, sizeof(err)), PCP_ERR_USAGE);
	/* A finite threshold: identical runs are the same. */
	t.pct = 0;
	ck_assert_int_eq(pcp_compare_runs(base, 1, new_, 1, &opts, &r, err, sizeof(err)), PCP_OK);
	ck_assert_uint_eq(r->counts[PCP_VERDICT_SAME], r->nr_rows);
	pcp_compare_result_free(r);
	free(base[0]);
	free(new_[0]);
}
END_TEST

/* Marks a database made by make_db as a run that lost events, as trace_info says it. */
static void make_lossy(const char *path, const char *lost)
{
	sqlite3 *db;
	char *sql = sqlite3_mprintf("UPDATE trace_info SET value = '1' WHERE key = 'lossy';"
				    "UPDATE trace_info SET value = %Q WHERE key = 'events_lost';", lost);

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_free(sql);
	sqlite3_close(db);
}

START_TEST(test_side_stats_undefined)
{
	double v[] = { NAN, 3, 1 }, none[] = { NAN, NAN };
	struct pcp_side_stats s;

	pcp_side_stats_of(v, 3, &s);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(s.undefined, 1);
	ck_assert_double_eq(s.median, 2);   /* over the defined runs */
	pcp_side_stats_of(none, 2, &s);
	ck_assert(isnan(s.median) && isnan(s.min) && isnan(s.max));
}
END_TEST

/* Issue 9: an undefined ratio (no drain acquisition: 0/0) was read as 0 and called a
 * regression. NULL on either side: verdict n/a, never a failure. */
START_TEST(test_undefined_metric_is_na)
{
	setup();
	char *base[] = { strdup(path_in("u1.db")) }, *new_[] = { strdup(path_in("u2.db")) };
	struct pcp_compare_opts opts = { 0 };
	struct pcp_compare_result *r = NULL;
	char err[256] = "", *text = NULL;
	size_t len = 0;
	FILE *mem;
	json_t *j, *m;

	make_db(base[0], "fallback", 0.5, NAN, PCP_SCHEMA_VERSION);
	make_db(new_[0], "fallback", 0.5, 1e6, PCP_SCHEMA_VERSION);
	pcp_analyze_opts_default(&opts.analyze);
	ck_assert_int_eq(pcp_compare_runs(base, 1, new_, 1, &opts, &r, err, sizeof(err)), PCP_OK);
	ck_assert_uint_eq(r->counts[PCP_VERDICT_NA], 1);
	ck_assert_uint_eq(r->counts[PCP_VERDICT_REGRESSION], 0);
	ck_assert_int_eq(r->failed, 0);
	ck_assert_str_eq(r->rows[r->nr_rows - 1].name, "refill_locks_per_s");   /* n/a sorts last */
	ck_assert_int_eq(r->rows[r->nr_rows - 1].verdict, PCP_VERDICT_NA);
	ck_assert_str_eq(pcp_verdict_name(PCP_VERDICT_NA), "n/a");
	j = pcp_compare_report_json(r);
	ck_assert_ptr_nonnull(j);
	m = json_object_get(json_object_get(j, "metrics"), "refill_locks_per_s");
	ck_assert_str_eq(json_string_value(json_object_get(m, "verdict")), "n/a");
	ck_assert(json_is_null(json_object_get(json_object_get(m, "base"), "median")));
	ck_assert(json_is_null(json_object_get(m, "change")));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "summary"), "n/a")), 1);
	json_decref(j);
	mem = open_memstream(&text, &len);
	pcp_compare_report_text(mem, r, 0);
	fclose(mem);
	ck_assert_ptr_nonnull(strstr(text, "refill_locks_per_s"));
	ck_assert_ptr_nonnull(strstr(text, "1 n/a -> PASS"));
	free(text);
	pcp_compare_result_free(r);
	free(base[0]);
	free(new_[0]);
}
END_TEST

/* Issue 9: a run that lost 118,608 events sat in the range as "same". Not comparable unless
 * --allow-lossy; then the output names it. */
START_TEST(test_lossy_run_refused)
{
	setup();
	char *base[] = { strdup(path_in("l1.db")), strdup(path_in("l2.db")) };
	char *new_[] = { strdup(path_in("l3.db")) };
	struct pcp_compare_opts opts = { 0 };
	struct pcp_compare_result *r = NULL;
	char err[512] = "", want[512], *text = NULL;
	size_t len = 0;
	FILE *mem;
	json_t *j;

	make_db(base[0], "fallback", 0.5, 100, PCP_SCHEMA_VERSION);
	make_db(base[1], "fallback", 0.5, 100, PCP_SCHEMA_VERSION);
	make_db(new_[0], "fallback", 0.5, 100, PCP_SCHEMA_VERSION);
	make_lossy(base[1], "118608");
	pcp_analyze_opts_default(&opts.analyze);
	ck_assert_int_eq(pcp_compare_runs(base, 2, new_, 1, &opts, &r, err, sizeof(err)), PCP_ERR_LOSSY);
	ck_assert_ptr_null(r);
	snprintf(want, sizeof(want), "%s: lost 118,608 events; not comparable (--allow-lossy to "
		 "compare anyway)", base[1]);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(pcp_exit_code(PCP_ERR_LOSSY), 2);
	/* the new side is checked too */
	ck_assert_int_eq(pcp_compare_runs(new_, 1, base, 1, &opts, &r, err, sizeof(err)), PCP_OK);
	pcp_compare_result_free(r);
	ck_assert_int_eq(pcp_compare_runs(new_, 1, base, 2, &opts, &r, err, sizeof(err)), PCP_ERR_LOSSY);

	opts.allow_lossy = 1;
	ck_assert_int_eq(pcp_compare_runs(base, 2, new_, 1, &opts, &r, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(r->base_lossy[0], 0);
	ck_assert_int_eq(r->base_lossy[1], 1);
	ck_assert_uint_eq(r->counts[PCP_VERDICT_SAME], r->nr_rows);   /* verdicts still computed */
	j = pcp_compare_report_json(r);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_object_get(j, "base"),
						"lossy_runs"), 0)), base[1]);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(j, "new"), "lossy_runs")), 0);
	json_decref(j);
	mem = open_memstream(&text, &len);
	pcp_compare_report_text(mem, r, 0);
	fclose(mem);
	snprintf(want, sizeof(want), "LOSSY base run (compared under --allow-lossy): %s\n", base[1]);
	ck_assert_ptr_nonnull(strstr(text, want));
	free(text);
	pcp_compare_result_free(r);
	free(base[0]);
	free(base[1]);
	free(new_[0]);
}
END_TEST

/* The run compare makes of a trace.dat (analyzed in memory) and of that trace's own database
 * (pcpanalyze -o) are the same: metric names, units, directions, bit-identical values (NAN
 * where undefined), refill source and losses. */
static void assert_same_run(const struct pcp_run *t, const struct pcp_run *d)
{
	ck_assert_uint_gt(t->nr_metrics, 0);
	ck_assert_uint_eq(t->nr_metrics, d->nr_metrics);
	for (size_t i = 0; i < t->nr_metrics; i++) {
		const struct pcp_run_metric *x = &t->metrics[i], *y = &d->metrics[i];

		ck_assert_str_eq(x->name, y->name);
		ck_assert_str_eq(x->unit, y->unit);
		ck_assert_str_eq(x->better, y->better);
		ck_assert_msg(isnan(x->value) ? isnan(y->value) : x->value == y->value,
			      "%s: %.17g from the trace, %.17g from its database", x->name, x->value,
			      y->value);
	}
	ck_assert_int_eq(t->schema_version, d->schema_version);
	ck_assert_str_eq(t->refill_source, d->refill_source);
	ck_assert_int_eq(t->lossy, d->lossy);
	ck_assert_uint_eq(t->events_lost, d->events_lost);
	ck_assert_uint_eq(t->events_lost_unknown, d->events_lost_unknown);
}

static const struct pcp_run_metric *run_metric(const struct pcp_run *run, const char *name)
{
	for (size_t i = 0; i < run->nr_metrics; i++)
		if (!strcmp(run->metrics[i].name, name))
			return &run->metrics[i];
	ck_abort_msg("metric %s missing", name);
	return NULL;
}

/* Loads trace as a run and as the run of its database (written to db). */
static void load_trace_and_db(const char *trace, const char *db, struct pcp_run *rt,
			      struct pcp_run *rd)
{
	struct pcp_analyze_opts ao;
	struct pcp_analysis *a = NULL;
	char err[256] = "";

	pcp_analyze_opts_default(&ao);
	ck_assert_msg(pcp_run_load(trace, &ao, rt, err, sizeof(err)) == PCP_OK, "%s: %s", trace, err);
	ck_assert_msg(pcp_analyze_file(trace, &ao, &a, err, sizeof(err)) == PCP_OK, "%s: %s", trace, err);
	ck_assert_msg(pcp_store_write(db, a, err, sizeof(err)) == PCP_OK, "%s: %s", db, err);
	pcp_analysis_free(a);
	ck_assert_msg(pcp_run_load(db, &ao, rd, err, sizeof(err)) == PCP_OK, "%s: %s", db, err);
}

START_TEST(test_trace_run_equals_its_database)
{
	/* PCP and percpu metrics with values; a lossy trace */
	static const char *const names[] = { "fallback-basic.dat", "dropped.dat" };
	struct pcp_run rt, rd;
	char trace[1024];

	setup();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(trace, sizeof(trace), "%s", check_fixture_path("..", NULL, names[i]));
		load_trace_and_db(trace, path_in("own.db"), &rt, &rd);
		assert_same_run(&rt, &rd);
		if (i == 0) {           /* real values, not a table of zeros */
			/* PCP and percpu; no lock-cause metrics without kernel stacks */
			ck_assert_uint_eq(rt.nr_metrics, PCP_METRIC_DRAIN_CAUSE_FREE_HIGH_SHARE);
			ck_assert_double_eq(run_metric(&rt, "pairs")->value, 68065);
			ck_assert_double_gt(run_metric(&rt, "churn_ratio")->value, 0.7);
			ck_assert_double_eq(run_metric(&rt, "percpu_allocs")->value, 102);
			ck_assert_int_eq(rt.lossy, 0);
		} else {
			ck_assert_int_eq(rt.lossy, 1);
			ck_assert_double_eq(run_metric(&rt, "events_lost")->value, 17729);
		}
		pcp_run_release(&rt);
		pcp_run_release(&rd);
		unlink(path_in("own.db"));
	}
}
END_TEST

/* A trace compared with itself, and with its own database: no change on any metric. */
START_TEST(test_compare_trace_with_itself_and_its_db)
{
	struct pcp_compare_opts opts = { 0 };
	struct pcp_compare_result *r = NULL;
	struct pcp_analysis *a = NULL;
	char trace[1024], err[256] = "";
	char *base[1], *new_[1];

	setup();
	snprintf(trace, sizeof(trace), "%s", check_fixture_path("..", NULL, "fallback-basic.dat"));
	pcp_analyze_opts_default(&opts.analyze);
	ck_assert_int_eq(pcp_analyze_file(trace, &opts.analyze, &a, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_store_write(path_in("self.db"), a, err, sizeof(err)), PCP_OK);
	pcp_analysis_free(a);
	base[0] = trace;
	for (int with_db = 0; with_db < 2; with_db++) {
		new_[0] = with_db ? path_in("self.db") : trace;
		ck_assert_msg(pcp_compare_runs(base, 1, new_, 1, &opts, &r, err, sizeof(err)) == PCP_OK,
			      "%s", err);
		ck_assert_uint_eq(r->nr_rows, PCP_METRIC_DRAIN_CAUSE_FREE_HIGH_SHARE);   /* no stacks */
		ck_assert_int_eq(r->failed, 0);
		for (size_t i = 0; i < r->nr_rows; i++) {
			const struct pcp_compare_row *row = &r->rows[i];

			ck_assert_msg(row->verdict == PCP_VERDICT_SAME || row->verdict == PCP_VERDICT_NA,
				      "%s: %s", row->name, pcp_verdict_name(row->verdict));
			ck_assert_msg(isnan(row->base.median) ? isnan(row->new_.median)
				      : row->base.median == row->new_.median, "%s", row->name);
		}
		ck_assert_uint_eq(r->counts[PCP_VERDICT_SAME] + r->counts[PCP_VERDICT_NA],
				  PCP_METRIC_DRAIN_CAUSE_FREE_HIGH_SHARE);
		pcp_compare_result_free(r);
	}
	unlink(path_in("self.db"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compare");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_side_stats);
	tcase_add_test(tc, test_verdict_band);
	tcase_add_test(tc, test_verdict_worse_overlap);
	tcase_add_test(tc, test_verdict_zero_base);
	tcase_add_test(tc, test_verdict_abs_floor);
	tcase_add_test(tc, test_default_thresholds);
	tcase_add_test(tc, test_compare_runs);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_compare_rejects_merged);
	tcase_add_test(tc, test_text_table_aligned);
	tcase_add_test(tc, test_json_written_atomically);
	tcase_add_test(tc, test_merge_repeated_label);
	tcase_add_test(tc, test_threshold_must_be_finite);
	tcase_add_test(tc, test_side_stats_undefined);
	tcase_add_test(tc, test_undefined_metric_is_na);
	tcase_add_test(tc, test_lossy_run_refused);
	tcase_set_timeout(tc, 60); /* each database opened is checked; ASan on a busy machine */
	suite_add_tcase(s, tc);
	/* each analyzes real traces several times: about 15 s each under ASan on a busy machine */
	tc = tcase_create("trace");
	tcase_add_test(tc, test_trace_run_equals_its_database);
	tcase_add_test(tc, test_compare_trace_with_itself_and_its_db);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
