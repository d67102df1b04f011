/* pcp_report_text and the JSON shape (pcpanalyze(1), JSON OUTPUT). */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/error.h"
#include "output/report.h"
#include "analysis_fixture.h"
#include "check_helpers.h"

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/pcp_test_report.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	check_remove_tree(dir);
}

static int dir_entries(void)
{
	return check_dir_entries(dir);
}

static char *text_of(const struct pcp_analysis *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	pcp_report_text(f, a);
	fclose(f);
	return buf;
}

#define ASSERT_HAS(text, needle) \
	ck_assert_msg(strstr((text), (needle)) != NULL, "missing \"%s\" in:\n%s", (needle), (text))

START_TEST(test_text_summary)
{
	struct pcp_analysis *a = fixture_analysis(0);
	char *t = text_of(a);

	ASSERT_HAS(t, "pcpanalyze: /data/run1/trace.dat\n");
	ASSERT_HAS(t, "refill fallback, zone lock inferred");
	ASSERT_HAS(t, "0.002000 s  (2 CPUs, trace.dat v6, clock local)");
	ASSERT_HAS(t, "1,000 total, 0 lost");
	ASSERT_HAS(t, "0.7143  cross_cpu_ratio");
	ASSERT_HAS(t, "1,100  round_trip_p50_ns      ns");
	ASSERT_HAS(t, "2000.0  drain_locks_per_s");
	/* busiest pair first, with its share and a cross-CPU flag */
	ASSERT_HAS(t, "0 -> 1     ");
	ASSERT_HAS(t, "71.4%  cross");
	ck_assert(strstr(t, "0 -> 1") < strstr(t, "0 -> 0"));
	ASSERT_HAS(t, "Zone lock (inferred");
	ASSERT_HAS(t, "3.25"); /* drain pages per acquisition */
	ck_assert_ptr_null(strstr(t, "LOSSY"));
	free(t);
	fixture_free(a);
}
END_TEST

START_TEST(test_text_lossy_warning)
{
	struct pcp_analysis *a = fixture_analysis(1);
	char *t = text_of(a);

	ASSERT_HAS(t, "7 lost (+ losses of unknown size)");
	ASSERT_HAS(t, "*** LOSSY TRACE: 7 events lost plus 1 losses of unknown size ***");
	free(t);
	fixture_free(a);
}
END_TEST

START_TEST(test_text_empty)
{
	struct pcp_analysis *a = fixture_empty();
	char *t = text_of(a);

	ASSERT_HAS(t, "refill native, zone lock none");
	ASSERT_HAS(t, "clock unknown");
	ck_assert_ptr_null(strstr(t, "Top CPU pairs"));
	ck_assert_ptr_null(strstr(t, "Zone lock"));
	free(t);
	fixture_free(a);
}
END_TEST

static json_t *member(json_t *o, const char *key, json_type type)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(v != NULL, "missing member %s", key);
	ck_assert_msg(json_typeof(v) == type, "member %s has type %d, want %d", key, json_typeof(v), type);
	return v;
}

static json_int_t int_member(json_t *o, const char *key)
{
	return json_integer_value(member(o, key, JSON_INTEGER));
}

/* Every element of arr is an object with exactly these integer/string members. */
static void assert_rows(json_t *arr, size_t n, const char *const *keys)
{
	size_t i, nk = 0;
	json_t *e;

	while (keys[nk])
		nk++;
	ck_assert_int_eq(json_array_size(arr), n);
	json_array_foreach(arr, i, e) {
		ck_assert(json_is_object(e));
		ck_assert_int_eq(json_object_size(e), nk);
		for (size_t k = 0; k < nk; k++)
			ck_assert_msg(json_object_get(e, keys[k]), "row lacks %s", keys[k]);
	}
}

START_TEST(test_json_shape)
{
	struct pcp_analysis *a = fixture_analysis(1);
	json_t *j = pcp_report_json(a), *t, *m, *e, *arr;
	const char *key;
	static const char *const top[] = { "schema_version", "kind", "trace", "metrics", "cpu_flow",
		"pair_matrix", "zone_lock", "round_trip_hist", "pfn_cycles", "event_counts", "percpu",
		"zone_lock_hold", "lifecycle", "lock_cause", "meta", NULL };
	static const char *const flow_keys[] = { "cpu", "refill_blocks", "refill_pages",
		"drain_blocks", "drain_pages", "net_pages", "refill_locks", "drain_locks",
		"lost_events", NULL };
	static const char *const pair_keys[] = { "refill_cpu", "drain_cpu", "pairs", "pages", NULL };
	static const char *const zone_keys[] = { "nid", "zid", "kind", "acquisitions",
		"target_pages", "moved_pages", "per_second", "peak_per_second", NULL };
	static const char *const hist_keys[] = { "lo_ns", "hi_ns", "pairs", "pages", NULL };
	static const char *const pfn_keys[] = { "pfn", "order", "cycles", "cross_cpu_cycles",
		"min_round_trip_ns", "max_round_trip_ns", NULL };

	ck_assert_ptr_nonnull(j);
	for (int i = 0; top[i]; i++)
		ck_assert_msg(json_object_get(j, top[i]), "missing %s", top[i]);
	ck_assert_int_eq(json_object_size(j), 15);
	/* no alloc/free in this analysis: the member says the lifecycle part needs --lifecycle */
	e = member(j, "lifecycle", JSON_OBJECT);
	member(e, "recorded", JSON_FALSE);
	ck_assert_ptr_nonnull(strstr(json_string_value(member(e, "note", JSON_STRING)),
				     "pcprecord --lifecycle"));
	ck_assert(json_is_null(json_object_get(j, "lock_cause")));   /* no kernel stacks */
	ck_assert_int_eq(int_member(j, "schema_version"), PCP_JSON_SCHEMA_VERSION);
	ck_assert_str_eq(json_string_value(member(j, "kind", JSON_STRING)), "analysis");

	t = member(j, "trace", JSON_OBJECT);
	ck_assert_str_eq(json_string_value(member(t, "trace_file", JSON_STRING)), "/data/run1/trace.dat");
	ck_assert_int_eq(int_member(t, "nr_cpus"), 2);
	ck_assert_int_eq(int_member(t, "first_ts_ns"), 1000);
	ck_assert_int_eq(int_member(t, "last_ts_ns"), 2001000);
	ck_assert_int_eq(int_member(t, "duration_ns"), 2000000);
	ck_assert_str_eq(json_string_value(member(t, "refill_source", JSON_STRING)), "fallback");
	ck_assert_str_eq(json_string_value(member(t, "lock_source", JSON_STRING)), "inferred");
	ck_assert_int_eq(int_member(t, "events_total"), 1000);
	ck_assert_int_eq(int_member(t, "events_lost"), 7);
	ck_assert_int_eq(int_member(t, "events_lost_unknown"), 1);
	member(t, "lossy", JSON_TRUE);
	ck_assert_int_eq(int_member(t, "file_version"), 6);
	ck_assert_str_eq(json_string_value(member(t, "trace_clock", JSON_STRING)), "local");
	ck_assert_int_eq(int_member(t, "churn_window_ns"), 1000000);
	ck_assert_int_eq(int_member(t, "bucket_ns"), 10000000);
	ck_assert_int_eq(int_member(t, "top_n"), 100);
	member(t, "pcptrace_version", JSON_STRING);

	/* metrics: name -> {value, unit, better}, in the model's order */
	m = member(j, "metrics", JSON_OBJECT);
	ck_assert_int_eq(json_object_size(m), 5);
	json_object_foreach(m, key, e) {
		const char *better;

		ck_assert(json_is_object(e));
		ck_assert_int_eq(json_object_size(e), 3);
		member(e, "value", JSON_REAL);
		member(e, "unit", JSON_STRING);
		better = json_string_value(member(e, "better", JSON_STRING));
		ck_assert(!strcmp(better, "lower") || !strcmp(better, "higher") || !strcmp(better, "none"));
	}
	ck_assert_str_eq(json_object_iter_key(json_object_iter(m)), "pairs");
	e = json_object_get(m, "cross_cpu_ratio");
	ck_assert_double_eq_tol(json_real_value(json_object_get(e, "value")), 5.0 / 7.0, 1e-15);
	ck_assert_str_eq(json_string_value(json_object_get(e, "unit")), "ratio");
	e = json_object_get(m, "pages_per_refill_lock");
	ck_assert_str_eq(json_string_value(json_object_get(e, "better")), "higher");

	arr = member(j, "cpu_flow", JSON_ARRAY);
	assert_rows(arr, 2, flow_keys);
	ck_assert_int_eq(int_member(json_array_get(arr, 1), "cpu"), 1);
	ck_assert_int_eq(int_member(json_array_get(arr, 1), "net_pages"), -10);
	ck_assert_int_eq(int_member(json_array_get(arr, 0), "lost_events"), 7);
	arr = member(j, "pair_matrix", JSON_ARRAY);
	assert_rows(arr, 2, pair_keys);
	ck_assert_int_eq(int_member(json_array_get(arr, 1), "drain_cpu"), 1);
	ck_assert_int_eq(int_member(json_array_get(arr, 1), "pages"), 7);
	arr = member(j, "zone_lock", JSON_ARRAY);
	assert_rows(arr, 2, zone_keys);
	ck_assert_int_eq(int_member(json_array_get(arr, 0), "nid"), -1);
	ck_assert_str_eq(json_string_value(member(json_array_get(arr, 1), "kind", JSON_STRING)), "drain");
	ck_assert_double_eq(json_real_value(member(json_array_get(arr, 0), "peak_per_second", JSON_REAL)), 1500.5);
	arr = member(j, "round_trip_hist", JSON_ARRAY);
	assert_rows(arr, 2, hist_keys);
	ck_assert_int_eq(int_member(json_array_get(arr, 1), "hi_ns"), 2048);
	arr = member(j, "pfn_cycles", JSON_ARRAY);
	assert_rows(arr, 2, pfn_keys);
	ck_assert_int_eq(int_member(json_array_get(arr, 0), "pfn"), 0x1000);
	ck_assert_int_eq(int_member(json_array_get(arr, 1), "order"), 1);

	e = member(j, "event_counts", JSON_OBJECT);
	ck_assert_int_eq(json_object_size(e), 3);
	ck_assert_int_eq(int_member(e, "kmem:mm_page_pcpu_drain"), 500);
	ck_assert(json_is_null(json_object_get(j, "percpu")));
	ck_assert(json_equal(member(j, "meta", JSON_OBJECT), a->meta->json));
	json_decref(j);
	fixture_free(a);
}
END_TEST

START_TEST(test_json_percpu)
{
	struct pcp_analysis *a = fixture_analysis(0);
	json_t *j, *m;
	const char *key;
	json_t *e;
	int i = 0;

	fixture_add_percpu(a);
	j = pcp_report_json(a);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_object(json_object_get(j, "percpu")));
	/* metrics holds the database's rows: PCP first, then percpu */
	m = json_object_get(j, "metrics");
	ck_assert_int_eq(json_object_size(m), 7);
	json_object_foreach(m, key, e) {
		if (i == 5)
			ck_assert_str_eq(key, "percpu_allocs");
		i++;
	}
	e = json_object_get(m, "percpu_outstanding_bytes");
	ck_assert_double_eq(json_real_value(json_object_get(e, "value")), 128.0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "better")), "lower");
	json_decref(j);
	fixture_free_percpu(a);
	fixture_free(a);
}
END_TEST

START_TEST(test_text_ns_and_percpu)
{
	struct pcp_analysis *a = fixture_analysis(0);
	char *t;

	a->churn->metrics[2].value = 81788927;
	fixture_add_percpu(a);
	t = text_of(a);
	ASSERT_HAS(t, "81,788,927  round_trip_p50_ns      ns  (81.8 ms)");
	ASSERT_HAS(t, "mm_init+0x2bf");
	free(t);
	fixture_free_percpu(a);
	fixture_free(a);
}
END_TEST

START_TEST(test_json_empty_and_nonfinite)
{
	struct pcp_analysis *a = fixture_empty();
	static struct pcp_metric nan_metric = { "pairs", 0, "pairs", "lower" };
	json_t *j;

	nan_metric.value = NAN;
	a->churn->metrics = &nan_metric;
	a->churn->nr_metrics = 1;
	j = pcp_report_json(a);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_null(json_object_get(j, "meta")));
	ck_assert(json_is_null(json_object_get(json_object_get(j, "trace"), "trace_clock")));
	ck_assert(json_is_false(json_object_get(json_object_get(j, "trace"), "lossy")));
	ck_assert_int_eq(json_array_size(json_object_get(j, "pair_matrix")), 0);
	ck_assert_int_eq(json_array_size(json_object_get(j, "cpu_flow")), 1);
	ck_assert_int_eq(json_object_size(json_object_get(j, "event_counts")), 0);
	/* JSON has no NaN: null, and the document still serializes */
	ck_assert(json_is_null(json_object_get(json_object_get(json_object_get(j, "metrics"), "pairs"), "value")));
	char *s = json_dumps(j, 0);
	ck_assert_ptr_nonnull(s);
	free(s);
	json_decref(j);
	a->churn->metrics = NULL;
	a->churn->nr_metrics = 0;
	fixture_free(a);
	ck_assert_ptr_null(pcp_report_json(NULL));
}
END_TEST

START_TEST(test_json_write_file)
{
	struct pcp_analysis *a = fixture_analysis(0);
	char path[128];
	json_error_t jerr;
	json_t *want, *got;
	FILE *f;

	snprintf(path, sizeof(path), "%s/out.json", dir);
	f = fopen(path, "w");
	fputs("old", f);
	fclose(f);
	ck_assert_int_eq(pcp_report_json_write(path, a), PCP_OK);
	ck_assert_int_eq(dir_entries(), 1);
	got = json_load_file(path, 0, &jerr);
	ck_assert_msg(got != NULL, "%s", jerr.text);
	want = pcp_report_json(a);
	ck_assert(json_equal(got, want));
	json_decref(got);
	json_decref(want);
	fixture_free(a);
}
END_TEST

START_TEST(test_json_write_failure)
{
	struct pcp_analysis *a = fixture_analysis(0);
	char path[128];

	snprintf(path, sizeof(path), "%s/missing/out.json", dir);
	ck_assert_int_eq(pcp_report_json_write(path, a), PCP_ERR_IO);
	ck_assert_int_eq(pcp_report_json_write(dir, a), PCP_ERR_IO); /* a directory */
	ck_assert_int_eq(dir_entries(), 0);
	fixture_free(a);
}
END_TEST

START_TEST(test_json_write_stdout)
{
	struct pcp_analysis *a = fixture_analysis(0);
	char path[128];
	json_error_t jerr;
	json_t *got, *want;
	int saved, fd;

	snprintf(path, sizeof(path), "%s/stdout.json", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	ck_assert_int_eq(pcp_report_json_write("-", a), PCP_OK);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	got = json_load_file(path, 0, &jerr);
	ck_assert_msg(got != NULL, "%s", jerr.text);
	want = pcp_report_json(a);
	ck_assert(json_equal(got, want));
	json_decref(got);
	json_decref(want);
	fixture_free(a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_text_summary);
	tcase_add_test(tc, test_text_lossy_warning);
	tcase_add_test(tc, test_text_empty);
	tcase_add_test(tc, test_json_shape);
	tcase_add_test(tc, test_json_percpu);
	tcase_add_test(tc, test_text_ns_and_percpu);
	tcase_add_test(tc, test_json_empty_and_nonfinite);
	tcase_add_test(tc, test_json_write_file);
	tcase_add_test(tc, test_json_write_failure);
	tcase_add_test(tc, test_json_write_stdout);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
