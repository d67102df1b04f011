/* HTML reports (issue 13): the SVG writer's pieces, the report drawn from a stored results
 * database (well-formed XML by Python's parser, as many bars and cells as the database has
 * rows, counted here with SQLite), the warnings first, the compare page, atomic output. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "common/error.h"
#include "compare/compare.h"
#include "compare/compare_html.h"
#include "output/html_report.h"
#include "output/html_svg.h"
#include "output/outfile.h"
#include "output/store.h"
#include "analysis_fixture.h"
#include "check_helpers.h"

static char dir[64], db_path[128], html_path[128];

static void setup(void)
{
	strcpy(dir, "/tmp/pcp_test_html.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db_path, sizeof(db_path), "%s/r.db", dir);
	snprintf(html_path, sizeof(html_path), "%s/r.html", dir);
}

static void teardown(void)
{
	check_remove_tree(dir);
}

static char *render(void (*draw)(FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	draw(f);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

/* noinline: inlined into a caller with a stack buffer, gcc 12 -O3 reports a dangling pointer
 * that is not there (-Wdangling-pointer, a Release build with PCP_WERROR) */
__attribute__((noinline)) static size_t count(const char *hay, const char *end, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p && (!end || p < end); p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Occurrences of needle inside the figure with this id. */
static size_t count_in_figure(const char *doc, const char *id, const char *needle)
{
	char key[96];
	const char *start, *end;

	snprintf(key, sizeof(key), "<figure class=\"plot\" id=\"%s\"", id);
	start = strstr(doc, key);
	ck_assert_msg(start != NULL, "no figure %s", id);
	end = strstr(start, "</figure>");
	ck_assert_ptr_nonnull(end);
	return count(start, end, needle);
}

/* Python's XML parser reads the whole file (the report is XHTML-compatible: every SVG in it
 * is then well-formed too). */
static void assert_xml(const char *path)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' %s", path);
	ck_assert_msg(system(cmd) == 0, "%s is not well-formed XML", path);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static long long qi(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s", sql);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

START_TEST(test_escape_and_format)
{
	char buf[64], *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	pcp_html_escape(f, "<a href=\"x\">&'\x01</a>");
	fclose(f);
	ck_assert_str_eq(out, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;\xef\xbf\xbd&lt;/a&gt;");
	free(out);
	pcp_html_fmt(buf, sizeof(buf), NAN, PCP_HU_NS);
	ck_assert_str_eq(buf, "undefined");
	pcp_html_fmt(buf, sizeof(buf), 1500, PCP_HU_NS);
	ck_assert_str_eq(buf, "1.5 \xc2\xb5s");
	pcp_html_fmt(buf, sizeof(buf), 2e9, PCP_HU_NS);
	ck_assert_str_eq(buf, "2 s");
	pcp_html_fmt(buf, sizeof(buf), 2048, PCP_HU_BYTES);
	ck_assert_str_eq(buf, "2 KiB");
	pcp_html_fmt(buf, sizeof(buf), 12345, PCP_HU_COUNT);
	ck_assert_str_eq(buf, "12.3k");
	pcp_html_fmt(buf, sizeof(buf), 0.25, PCP_HU_SECONDS);
	ck_assert_str_eq(buf, "250 ms");
	pcp_html_fmt(buf, sizeof(buf), 0, PCP_HU_PAGES);
	ck_assert_str_eq(buf, "0");
	ck_assert(fabs(pcp_html_tick_step(10, 5) - 2) < 1e-12);
	ck_assert(fabs(pcp_html_tick_step(0.7, 7) - 0.1) < 1e-12);
	ck_assert(fabs(pcp_html_tick_step(0, 5) - 1) < 1e-12);
}
END_TEST

static void draw_hist(FILE *f)
{
	static const struct pcp_html_bucket b[] = { { 0, 1 }, { 1, 2 }, { 2, 4 } };
	static const char *const series[] = { "refill", "drain" };
	static const double v[] = { 5, 0, 0, 0, 3, 9 };   /* 3 non-zero values: 3 bars */
	struct pcp_plot p = { "h", "T", "cap", "x", "y", PCP_HU_NS, PCP_HU_COUNT };

	pcp_svg_hist(f, &p, b, 3, series, 2, v);
}

static void draw_heatmap(FILE *f)
{
	static const double v[] = { 0, 1, 2, 3, 0, NAN };   /* 2 x 3, 3 cells above 0 */
	struct pcp_plot p = { "m", "T<&>", "cap", "x", "y", PCP_HU_COUNT, PCP_HU_COUNT };

	pcp_svg_heatmap(f, &p, 2, 3, 0, v);
}

static void draw_lines(FILE *f)
{
	static const char *const series[] = { "a", "b" };
	static const double v[] = { 1, 2, NAN, 4, 0, 0, 0, 0 };   /* a breaks at the NAN */
	struct pcp_plot p = { "l", "T", "cap", "x", "y", PCP_HU_SECONDS, PCP_HU_PAGES };

	pcp_svg_lines(f, &p, 0.5, 4, series, 2, v);
}

START_TEST(test_plot_elements)
{
	char *h = render(draw_hist), *m = render(draw_heatmap), *l = render(draw_lines);

	ck_assert_uint_eq(count(h, NULL, "class=\"bar\""), 3);
	ck_assert_uint_eq(count(h, NULL, "data-series=\"drain\""), 1);
	ck_assert_uint_eq(count(m, NULL, "class=\"cell\""), 3);
	ck_assert_ptr_nonnull(strstr(m, "data-cells=\"3\""));
	ck_assert_ptr_nonnull(strstr(m, "T&lt;&amp;&gt;"));
	ck_assert_uint_eq(count(l, NULL, "<g class=\"series\""), 2);
	ck_assert_uint_eq(count(l, NULL, "<polyline"), 3);
	free(h);
	free(m);
	free(l);
}
END_TEST

static void store_fixture(int lossy)
{
	struct pcp_analysis *a = fixture_analysis(lossy);
	char err[256] = "";

	fixture_add_percpu(a);
	ck_assert_int_eq(pcp_store_write(db_path, a, err, sizeof(err)), PCP_OK);
	fixture_free_percpu(a);
	fixture_free(a);
}

static char *report_of(const char *db);

/* An analysis without any event draws a report too (every plot says why it is empty). */
START_TEST(test_empty_analysis)
{
	struct pcp_analysis *a = fixture_empty();
	char err[256] = "", *doc;

	ck_assert_int_eq(pcp_store_write(db_path, a, err, sizeof(err)), PCP_OK);
	fixture_free(a);
	doc = report_of(db_path);
	assert_xml(html_path);
	ck_assert_ptr_nonnull(strstr(doc, "class=\"nodata\""));
	ck_assert_uint_eq(count(doc, NULL, "class=\"bar\""), 0);
	free(doc);
}
END_TEST

static char *report_of(const char *db)
{
	struct pcp_outfile out;
	char err[256] = "";
	int rc = pcp_html_report_prepare(&out, html_path, db, NULL, -1, err, sizeof(err));

	ck_assert_msg(rc == PCP_OK, "%s", err);
	ck_assert_int_eq(pcp_outfile_commit(&out, err, sizeof(err)), PCP_OK);
	return slurp(html_path);
}

START_TEST(test_report_from_database)
{
	char *doc;
	const char *warn, *metrics;

	store_fixture(1);
	doc = report_of(db_path);
	assert_xml(html_path);
	/* Bars and cells: one per row of the tables, counted by SQLite. */
	ck_assert_uint_eq(count_in_figure(doc, "round-trip-hist", "class=\"bar\""),
			  (size_t)qi(db_path, "SELECT count(*) FROM round_trip_hist WHERE pairs > 0"));
	ck_assert_uint_eq(count_in_figure(doc, "pair-matrix", "class=\"cell\""),
			  (size_t)qi(db_path, "SELECT count(DISTINCT refill_cpu || ',' || drain_cpu) FROM pair_matrix WHERE pairs > 0"));
	ck_assert_uint_eq(count(doc, NULL, "<tr class=\"metric\">"),
			  (size_t)qi(db_path, "SELECT count(*) FROM metrics"));
	ck_assert_uint_eq(count_in_figure(doc, "zone-lock-zones", "class=\"hbar\""),
			  (size_t)qi(db_path, "SELECT count(*) FROM zone_lock"));
	ck_assert_uint_eq(count_in_figure(doc, "percpu-callsites", "class=\"hbar\""),
			  (size_t)qi(db_path, "SELECT min(15, count(*)) FROM percpu_callsite"));
	/* 2 CPUs: one line per CPU, every time column a point. */
	ck_assert_uint_eq(count_in_figure(doc, "refill-timeline", "<g class=\"series\""), 2);
	/* Warnings first and loud: lossy with its CPU, fallback refills, inferred locks, the clock. */
	warn = strstr(doc, "class=\"warnings\"");
	metrics = strstr(doc, "id=\"metrics\"");
	ck_assert_ptr_nonnull(warn);
	ck_assert_ptr_nonnull(metrics);
	ck_assert(warn < metrics);
	ck_assert(warn < strstr(doc, "<figure"));
	ck_assert_ptr_nonnull(strstr(warn, "Lossy trace:</b> 7 events lost"));
	ck_assert_ptr_nonnull(strstr(warn, "CPU 0: 7"));
	ck_assert_ptr_nonnull(strstr(warn, "Fallback refills"));
	ck_assert_ptr_nonnull(strstr(warn, "Inferred zone locks"));
	ck_assert_ptr_nonnull(strstr(warn, "Trace clock local"));
	ck_assert_ptr_nonnull(strstr(doc, "<h2>&#9888; 4 warnings</h2>"));
	/* Self-contained: nothing loaded from elsewhere. */
	ck_assert_ptr_null(strstr(doc, "http://www.w3.org/1999/xhtml\" src"));
	ck_assert_ptr_null(strstr(doc, "<link"));
	ck_assert_ptr_null(strstr(doc, " src="));
	ck_assert_ptr_null(strstr(doc, "https:"));
	free(doc);
}
END_TEST

START_TEST(test_report_errors_leave_no_file)
{
	struct pcp_outfile out;
	char err[256] = "", missing[160];

	snprintf(missing, sizeof(missing), "%s/missing.db", dir);
	ck_assert_int_ne(pcp_html_report_prepare(&out, html_path, missing, NULL, -1, err, sizeof(err)), PCP_OK);
	ck_assert_str_ne(err, "");
	ck_assert_int_eq(access(html_path, F_OK), -1);
	/* --run on a single-run database */
	store_fixture(0);
	err[0] = '\0';
	ck_assert_int_eq(pcp_html_report_prepare(&out, html_path, db_path, NULL, 3, err, sizeof(err)),
			 PCP_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "--run"));
	ck_assert_int_eq(check_dir_entries(dir), 1);
}
END_TEST

START_TEST(test_compare_page)
{
	char new_db[160], err[256] = "", *doc, *base[] = { db_path }, *news[1];
	struct pcp_compare_opts opts = { 0 };
	struct pcp_compare_result *r = NULL;
	struct pcp_outfile out;
	sqlite3 *db;

	store_fixture(0);
	snprintf(new_db, sizeof(new_db), "%s/new.db", dir);
	news[0] = new_db;
	{
		struct pcp_analysis *a = fixture_analysis(0);
		a->churn->metrics[0].value = 70;   /* pairs: 7 -> 70, lower is better: regression */
		ck_assert_int_eq(pcp_store_write(new_db, a, err, sizeof(err)), PCP_OK);
		fixture_free(a);
	}
	ck_assert_int_eq(sqlite3_open(new_db, &db), SQLITE_OK);
	sqlite3_close(db);
	pcp_analyze_opts_default(&opts.analyze);
	ck_assert_int_eq(pcp_compare_runs(base, 1, news, 1, &opts, &r, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_compare_html_prepare(&out, html_path, r, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_outfile_commit(&out, err, sizeof(err)), PCP_OK);
	doc = slurp(html_path);
	assert_xml(html_path);
	ck_assert_uint_eq(count(doc, NULL, "<tr class=\"row "), r->nr_rows);
	/* Regressions first, coloured, and the page says it failed. */
	ck_assert_ptr_nonnull(strstr(doc, "<tr class=\"row v-row-regression\" data-verdict=\"regression\"><td>pairs"));
	ck_assert(strstr(doc, "data-verdict=\"regression\"") < strstr(doc, "data-verdict=\"same\""));
	ck_assert_ptr_nonnull(strstr(doc, "<b>FAILED</b>"));
	ck_assert_uint_eq(count(doc, NULL, "class=\"band\""), r->nr_rows - r->counts[PCP_VERDICT_NA]);
	free(doc);
	pcp_compare_result_free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("html_report");
	TCase *tc = tcase_create("html_report");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);   /* Python's XML parser starts slowly on a loaded machine */
	tcase_add_test(tc, test_escape_and_format);
	tcase_add_test(tc, test_plot_elements);
	tcase_add_test(tc, test_report_from_database);
	tcase_add_test(tc, test_report_errors_leave_no_file);
	tcase_add_test(tc, test_empty_analysis);
	tcase_add_test(tc, test_compare_page);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
