/* pcp_store_write: every table and view read back with SQLite; atomic failure behaviour. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include "common/error.h"
#include "output/store.h"
#include "analysis_fixture.h"
#include "check_helpers.h"

static char dir[64];
static char db_path[128];

static void setup(void)
{
	strcpy(dir, "/tmp/pcp_test_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db_path, sizeof(db_path), "%s/out.db", dir);
}

static void teardown(void)
{
	check_remove_tree(dir);
}

static int dir_entries(void)
{
	return check_dir_entries(dir);
}

static sqlite3 *open_ro(void)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return db;
}

/* The single value of a query as text ("" for NULL); fails the test on no row. */
static char *q1(sqlite3 *db, const char *sql)
{
	static char buf[512];
	sqlite3_stmt *st;
	const unsigned char *t;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "no row: %s", sql);
	t = sqlite3_column_text(st, 0);
	snprintf(buf, sizeof(buf), "%s", t ? (const char *)t : "");
	sqlite3_finalize(st);
	return buf;
}

static long long qi(sqlite3 *db, const char *sql)
{
	return atoll(q1(db, sql));
}

static const char *info(sqlite3 *db, const char *key)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT value FROM trace_info WHERE key = '%s'", key);
	return q1(db, sql);
}

static void write_ok(const struct pcp_analysis *a)
{
	char err[256] = "";
	int rc = pcp_store_write(db_path, a, err, sizeof(err));

	ck_assert_msg(rc == PCP_OK, "store failed: %s (%s)", pcp_strerror(rc), err);
}

START_TEST(test_trace_info_and_version)
{
	struct pcp_analysis *a = fixture_analysis(1);
	sqlite3 *db;

	write_ok(a);
	ck_assert_int_eq(dir_entries(), 1); /* no temp file or journal left behind */
	db = open_ro();
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), PCP_SCHEMA_VERSION);
	ck_assert_str_eq(info(db, "trace_file"), "/data/run1/trace.dat");
	ck_assert_str_eq(info(db, "nr_cpus"), "2");
	ck_assert_str_eq(info(db, "first_ts_ns"), "1000");
	ck_assert_str_eq(info(db, "last_ts_ns"), "2001000");
	ck_assert_str_eq(info(db, "duration_ns"), "2000000");
	ck_assert_str_eq(info(db, "refill_source"), "fallback");
	ck_assert_str_eq(info(db, "lock_source"), "inferred");
	ck_assert_str_eq(info(db, "events_total"), "1000");
	ck_assert_str_eq(info(db, "events_lost"), "7");
	ck_assert_str_eq(info(db, "events_lost_unknown"), "1");
	ck_assert_str_eq(info(db, "lossy"), "1");
	ck_assert_str_eq(info(db, "schema_version"), "2");
	ck_assert_str_eq(info(db, "file_version"), "6");
	ck_assert_str_eq(info(db, "trace_clock"), "local");
	ck_assert_str_eq(info(db, "churn_window_ns"), "1000000");
	ck_assert_str_eq(info(db, "bucket_ns"), "10000000");
	ck_assert_str_eq(info(db, "top_n"), "100");
	ck_assert_str_ne(info(db, "pcptrace_version"), "");
	/* meta: top-level scalars generically, string arrays joined */
	ck_assert_str_eq(info(db, "meta.hostname"), "box");
	ck_assert_str_eq(info(db, "meta.kernel_release"), "6.18.0-test");
	ck_assert_str_eq(info(db, "meta.exit_status"), "0");
	ck_assert_str_eq(info(db, "meta.lossless"), "1");
	ck_assert_str_eq(info(db, "meta.command"), "pcpload --pattern burst");
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM trace_info WHERE key LIKE 'meta.snapshots%'"), 0);
	/* nested objects flattened; arrays of numbers joined; arrays of objects skipped */
	ck_assert_str_eq(info(db, "meta.recording.clock"), "local");
	ck_assert_str_eq(info(db, "meta.recording.recorded_cpus"), "0 1");
	ck_assert_str_eq(info(db, "meta.recording.event_counts.kmem:mm_page_pcpu_drain"), "500");
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM trace_info WHERE key LIKE 'meta.recording.cpus%'"), 0);
	sqlite3_close(db);
	fixture_free(a);
}
END_TEST

START_TEST(test_model_tables)
{
	struct pcp_analysis *a = fixture_analysis(1);
	sqlite3 *db;

	write_ok(a);
	db = open_ro();
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM event_counts"), 3);
	ck_assert_int_eq(qi(db, "SELECT count FROM event_counts WHERE event = 'kmem:mm_page_pcpu_drain'"), 500);
	ck_assert_str_eq(q1(db, "SELECT typeof(count) FROM event_counts LIMIT 1"), "integer");

	ck_assert_int_eq(qi(db, "SELECT count(*) FROM cpu_flow"), 2);
	ck_assert_str_eq(q1(db, "SELECT group_concat(refill_blocks||','||refill_pages||','||drain_blocks||','||"
			    "drain_pages||','||net_pages||','||refill_locks||','||drain_locks||','||"
			    "lost_events, ';') FROM (SELECT * FROM cpu_flow ORDER BY cpu)"),
			 "10,12,3,3,9,2,1,7;0,0,8,10,-10,0,3,0");

	ck_assert_str_eq(q1(db, "SELECT group_concat(refill_cpu||'>'||drain_cpu||':'||pairs||'/'||pages, ' ') "
			    "FROM (SELECT * FROM pair_matrix ORDER BY refill_cpu, drain_cpu)"), "0>0:2/2 0>1:5/7");
	ck_assert_str_eq(q1(db, "SELECT group_concat(lo_ns||'-'||hi_ns||':'||pairs||'/'||pages, ' ') "
			    "FROM (SELECT * FROM round_trip_hist ORDER BY lo_ns)"), "0-1:1/1 1024-2048:6/8");
	ck_assert_str_eq(q1(db, "SELECT group_concat(pfn||':'||\"order\"||':'||cycles||':'||cross_cpu_cycles||':'||"
			    "min_round_trip_ns||':'||max_round_trip_ns, ' ') FROM (SELECT * FROM pfn_cycles ORDER BY pfn)"),
			 "4096:0:4:3:500:1500 8192:1:3:2:0:1900");
	ck_assert_str_eq(q1(db, "SELECT nid||','||zid||','||acquisitions||','||target_pages||','||moved_pages||','||"
			    "per_second||','||peak_per_second FROM zone_lock WHERE kind = 'refill'"),
			 "-1,-1,2,12,12,1000.0,1500.5");
	ck_assert_str_eq(q1(db, "SELECT typeof(per_second) FROM zone_lock LIMIT 1"), "real");
	ck_assert_int_eq(qi(db, "SELECT acquisitions FROM zone_lock WHERE kind = 'drain'"), 4);
	ck_assert_str_eq(q1(db, "SELECT group_concat(bucket_start_ns||'/'||cpu||':'||refill_pages||','||drain_pages||','||"
			    "refill_locks||','||drain_locks, ' ') FROM (SELECT * FROM timeline ORDER BY bucket_start_ns, cpu)"),
			 "0/0:12,3,2,1 0/1:0,10,0,3");

	ck_assert_int_eq(qi(db, "SELECT count(*) FROM metrics"), 5);
	ck_assert_str_eq(q1(db, "SELECT value||' '||unit||' '||better FROM metrics WHERE name = 'pairs'"), "7.0 pairs lower");
	ck_assert_str_eq(q1(db, "SELECT unit||' '||better FROM metrics WHERE name = 'pages_per_refill_lock'"), "pages higher");
	ck_assert_str_eq(q1(db, "SELECT typeof(value) FROM metrics WHERE name = 'pairs'"), "real");
	ck_assert(qi(db, "SELECT abs(value - 5.0/7.0) < 1e-15 FROM metrics WHERE name = 'cross_cpu_ratio'") == 1);
	sqlite3_close(db);
	fixture_free(a);
}
END_TEST

START_TEST(test_snapshots_from_meta)
{
	struct pcp_analysis *a = fixture_analysis(0);
	sqlite3 *db;

	write_ok(a);
	db = open_ro();
	ck_assert_str_eq(q1(db, "SELECT value FROM snapshot WHERE snapshot = 'before' AND source = 'vmstat' "
			    "AND key = 'nr_free_pages'"), "1000");
	ck_assert_str_eq(q1(db, "SELECT value FROM snapshot WHERE snapshot = 'after' AND source = 'vmstat' "
			    "AND key = 'pgfree'"), "50");
	ck_assert_str_eq(q1(db, "SELECT value FROM snapshot WHERE snapshot = 'after' AND source = 'meta' "
			    "AND key = 'time_ns'"), "456");
	/* percpu_stats belongs to the percpu tables, not the generic snapshot table */
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM snapshot WHERE source LIKE 'percpu%'"), 0);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM pcp_pageset"), 3);
	ck_assert_str_eq(q1(db, "SELECT nid||' '||zone||' '||cpu||' '||count||' '||high||' '||batch||' '||"
			    "ifnull(high_min, 'null') FROM pcp_pageset WHERE snapshot = 'before' AND cpu = 1"),
			 "0 Normal 1 5 100 63 20");
	ck_assert_int_eq(qi(db, "SELECT count FROM pcp_pageset WHERE snapshot = 'after' AND cpu = 0"), 30);
	sqlite3_close(db);
	fixture_free(a);
}
END_TEST

START_TEST(test_views)
{
	struct pcp_analysis *a = fixture_analysis(0);
	sqlite3 *db;

	write_ok(a);
	db = open_ro();
	ck_assert_str_eq(q1(db, "SELECT pfn_hex||' '||cycles||' '||cross_cpu_ratio FROM v_hot_pfns LIMIT 1"),
			 "0x1000 4 0.75");
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM v_hot_pfns"), 2);
	ck_assert_str_eq(q1(db, "SELECT refill_cpu||'>'||drain_cpu||' '||cross_cpu||' '||share FROM v_cpu_pairs LIMIT 1"),
			 "0>1 1 0.7143");
	ck_assert_str_eq(q1(db, "SELECT kind||' '||per_second||' '||pages_per_acquisition||' '||lock_source "
			    "FROM v_zone_lock_rate LIMIT 1"), "drain 2000.0 3.25 inferred");
	ck_assert_str_eq(q1(db, "SELECT refill_vs_mean||' '||drain_vs_mean FROM v_cpu_imbalance WHERE cpu = 0"),
			 "2.0 0.4615");
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM v_percpu_top_outstanding"), 0);
	sqlite3_close(db);
	fixture_free(a);
}
END_TEST

/* The percpu work's rows land in the same file and transaction, in the one schema. */
START_TEST(test_with_percpu)
{
	struct pcp_analysis *a = fixture_analysis(0);
	sqlite3 *db;

	fixture_add_percpu(a);
	write_ok(a);
	db = open_ro();
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM metrics"), 7);
	ck_assert_str_eq(q1(db, "SELECT value||' '||unit FROM metrics WHERE name = 'percpu_outstanding_bytes'"),
			 "128.0 bytes");
	ck_assert_str_eq(q1(db, "SELECT call_site_hex||' '||symbol||' '||outstanding_bytes "
			    "FROM v_percpu_top_outstanding"), "0xffffffff8135580f mm_init+0x2bf 128");
	sqlite3_close(db);
	fixture_free_percpu(a);
	fixture_free(a);
}
END_TEST

START_TEST(test_empty_analysis)
{
	struct pcp_analysis *a = fixture_empty();
	sqlite3 *db;

	write_ok(a);
	db = open_ro();
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM cpu_flow"), 1);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM metrics"), 0);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM trace_info WHERE key = 'trace_clock'"), 0);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM trace_info WHERE key LIKE 'meta.%'"), 0);
	ck_assert_str_eq(info(db, "refill_source"), "native");
	ck_assert_str_eq(info(db, "lock_source"), "none");
	ck_assert_str_eq(info(db, "lossy"), "0");
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM v_cpu_pairs"), 0);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM v_zone_lock_rate"), 0);
	ck_assert_str_eq(q1(db, "SELECT ifnull(refill_vs_mean, 'null') FROM v_cpu_imbalance"), "null");
	sqlite3_close(db);
	fixture_free(a);
}
END_TEST

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void assert_file_is(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	ck_assert_str_eq(buf, text);
}

START_TEST(test_replaces_existing_target)
{
	struct pcp_analysis *a = fixture_analysis(0);
	sqlite3 *db;

	write_file(db_path, "not a database\n");
	write_ok(a);
	ck_assert_int_eq(dir_entries(), 1);
	db = open_ro();
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM pair_matrix"), 2);
	sqlite3_close(db);
	/* a second write over a real database replaces it whole (no duplicate rows) */
	write_ok(a);
	db = open_ro();
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM pair_matrix"), 2);
	sqlite3_close(db);
	fixture_free(a);
}
END_TEST

START_TEST(test_mode_follows_umask)
{
	struct pcp_analysis *a = fixture_analysis(0);
	struct stat st;

	umask(022);
	write_ok(a);
	ck_assert_int_eq(stat(db_path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	fixture_free(a);
}
END_TEST

/* A failure after the temp file exists (here: a duplicate metric violates the primary key)
 * leaves the existing target byte for byte and no other file. */
START_TEST(test_db_failure_preserves_target)
{
	struct pcp_analysis *a = fixture_analysis(0);
	char err[256] = "";
	int rc;

	a->churn->metrics[1].name = "pairs";
	write_file(db_path, "old results\n");
	rc = pcp_store_write(db_path, a, err, sizeof(err));
	ck_assert_int_eq(rc, PCP_ERR_DB);
	ck_assert_msg(strstr(err, "metrics") != NULL, "errbuf: %s", err);
	ck_assert_ptr_null(strchr(err, '\n'));
	assert_file_is(db_path, "old results\n");
	ck_assert_int_eq(dir_entries(), 1);
	fixture_free(a);
}
END_TEST

START_TEST(test_db_failure_leaves_no_file)
{
	struct pcp_analysis *a = fixture_analysis(0);
	char err[256] = "";

	a->churn->pair_matrix[1].refill_cpu = 0;
	a->churn->pair_matrix[1].drain_cpu = 0; /* duplicate cell */
	ck_assert_int_eq(pcp_store_write(db_path, a, err, sizeof(err)), PCP_ERR_DB);
	ck_assert_int_eq(dir_entries(), 0);
	fixture_free(a);
}
END_TEST

START_TEST(test_unwritable_locations)
{
	struct pcp_analysis *a = fixture_analysis(0);
	char err[256] = "", path[160];

	snprintf(path, sizeof(path), "%s/missing/out.db", dir);
	ck_assert_int_eq(pcp_store_write(path, a, err, sizeof(err)), PCP_ERR_IO);
	ck_assert_str_ne(err, "");
	ck_assert_int_eq(dir_entries(), 0);
	/* /proc refuses new files even for root */
	err[0] = '\0';
	ck_assert_int_eq(pcp_store_write("/proc/pcptrace-test.db", a, err, sizeof(err)), PCP_ERR_IO);
	ck_assert_int_eq(access("/proc/pcptrace-test.db", F_OK), -1);
	/* a directory in the target's place */
	snprintf(path, sizeof(path), "%s/adir", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(pcp_store_write(path, a, err, sizeof(err)), PCP_ERR_IO);
	ck_assert_int_eq(dir_entries(), 1);
	fixture_free(a);
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct pcp_analysis *a = fixture_empty();
	struct pcp_churn_results *c = a->churn;
	char err[64];

	a->churn = NULL;
	ck_assert_int_eq(pcp_store_write(db_path, a, err, sizeof(err)), PCP_ERR_INTERNAL);
	ck_assert_int_eq(pcp_store_write(db_path, NULL, NULL, 0), PCP_ERR_INTERNAL);
	ck_assert_int_eq(dir_entries(), 0);
	a->churn = c;
	fixture_free(a);
}
END_TEST

START_TEST(test_schema_text_is_compiled_in)
{
	sqlite3 *db;

	ck_assert_ptr_nonnull(strstr(pcp_schema_sql, "CREATE TABLE metrics"));
	ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, pcp_schema_sql, NULL, NULL, NULL), SQLITE_OK);
	/* every contract table of issues 2 and 4 */
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ("
			    "'trace_info','event_counts','cpu_flow','pair_matrix','round_trip_hist','pfn_cycles',"
			    "'zone_lock','timeline','metrics','percpu_callsite','percpu_size_hist',"
			    "'percpu_outstanding','percpu_chunk','percpu_fail','percpu_stats')"), 15);
	sqlite3_close(db);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_trace_info_and_version);
	tcase_add_test(tc, test_model_tables);
	tcase_add_test(tc, test_snapshots_from_meta);
	tcase_add_test(tc, test_views);
	tcase_add_test(tc, test_with_percpu);
	tcase_add_test(tc, test_empty_analysis);
	tcase_add_test(tc, test_replaces_existing_target);
	tcase_add_test(tc, test_mode_follows_umask);
	tcase_add_test(tc, test_db_failure_preserves_target);
	tcase_add_test(tc, test_db_failure_leaves_no_file);
	tcase_add_test(tc, test_unwritable_locations);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_schema_text_is_compiled_in);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
