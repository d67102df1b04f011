/* Snapshot parsers on real captured texts (tests/fixtures/snapshots/) and damaged ones.
 * Expected values were read off the fixture files by eye / grep, not from our output. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "common/error.h"
#include "meta/meta.h"
#include "record/snapshot.h"
#include "check_helpers.h"

static char *fixture(const char *name)
{
	return check_read_fixture(".", "snapshots", name, NULL);
}

static json_int_t get_int(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_integer(v), "missing integer %s", key);
	return json_integer_value(v);
}

START_TEST(zoneinfo_real)
{
	char *text = fixture("zoneinfo.txt"), err[160] = "";
	json_t *zones, *normal, *sets, *cpu1;

	ck_assert_int_eq(pcp_snapshot_parse_zoneinfo(text, &zones, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(json_array_size(zones), 5); /* DMA DMA32 Normal Movable Device */
	normal = json_array_get(zones, 2);
	ck_assert_str_eq(json_string_value(json_object_get(normal, "zone")), "Normal");
	ck_assert_int_eq(get_int(normal, "node"), 0);
	sets = json_object_get(normal, "pagesets");
	ck_assert_int_eq(json_array_size(sets), 2);
	cpu1 = json_array_get(sets, 1);
	ck_assert_int_eq(get_int(cpu1, "cpu"), 1);
	ck_assert_int_eq(get_int(cpu1, "count"), 37958);
	ck_assert_int_eq(get_int(cpu1, "high"), 52338);
	ck_assert_int_eq(get_int(cpu1, "batch"), 63);
	ck_assert_int_eq(get_int(cpu1, "high_min"), 6295);
	ck_assert_int_eq(get_int(cpu1, "high_max"), 71680);
	ck_assert_int_eq(get_int(cpu1, "vm_stats_threshold"), 28);
	/* unpopulated zones have no pagesets */
	ck_assert_int_eq(json_array_size(json_object_get(json_array_get(zones, 3), "pagesets")), 0);
	json_decref(zones);
	free(text);
}
END_TEST

/* Zone spans and positions, read off zoneinfo.txt with grep: "spanned" and "start_pfn" lines
 * per zone; Movable and Device are empty (spanned 0) and print no start_pfn. */
START_TEST(zoneinfo_spans)
{
	static const struct { const char *name; long long zid, spanned, start_pfn; } want[] = {
		{ "DMA", 0, 4095, 1 }, { "DMA32", 1, 1044480, 4096 },
		{ "Normal", 2, 5505024, 1048576 }, { "Movable", 3, 0, -1 }, { "Device", 4, 0, -1 },
	};
	char *text = fixture("zoneinfo.txt"), err[160] = "";
	json_t *zones;

	ck_assert_int_eq(pcp_snapshot_parse_zoneinfo(text, &zones, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(json_array_size(zones), 5);
	for (size_t i = 0; i < 5; i++) {
		json_t *z = json_array_get(zones, i);

		ck_assert_str_eq(json_string_value(json_object_get(z, "zone")), want[i].name);
		ck_assert_int_eq(get_int(z, "zid"), want[i].zid);
		ck_assert_int_eq(get_int(z, "spanned"), want[i].spanned);
		if (want[i].start_pfn < 0)
			ck_assert_ptr_null(json_object_get(z, "start_pfn"));
		else
			ck_assert_int_eq(get_int(z, "start_pfn"), want[i].start_pfn);
	}
	json_decref(zones);
	free(text);

	/* two nodes: zid counts within each node */
	ck_assert_int_eq(pcp_snapshot_parse_zoneinfo(
		"Node 0, zone    DMA32\n        spanned  10\n  start_pfn:           5\n"
		"Node 0, zone   Normal\n        spanned  0\n"
		"Node 1, zone    DMA32\n        spanned  0\n"
		"Node 1, zone   Normal\n        spanned  20\n  start_pfn:           100\n",
		&zones, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(json_array_size(zones), 4);
	ck_assert_int_eq(get_int(json_array_get(zones, 1), "zid"), 1);
	ck_assert_int_eq(get_int(json_array_get(zones, 2), "node"), 1);
	ck_assert_int_eq(get_int(json_array_get(zones, 2), "zid"), 0);
	ck_assert_int_eq(get_int(json_array_get(zones, 3), "zid"), 1);
	ck_assert_int_eq(get_int(json_array_get(zones, 3), "start_pfn"), 100);
	json_decref(zones);

	/* a span that is not a number is damage, not a silent gap */
	zones = (json_t *)1;
	ck_assert_int_eq(pcp_snapshot_parse_zoneinfo("Node 0, zone Normal\n  start_pfn: x\n",
						     &zones, err, sizeof(err)), PCP_ERR_BAD_META);
	ck_assert(zones == NULL);
	ck_assert_int_eq(pcp_snapshot_parse_zoneinfo("Node 0, zone Normal\n  spanned -3\n",
						     &zones, err, sizeof(err)), PCP_ERR_BAD_META);
}
END_TEST

START_TEST(zoneinfo_truncated)
{
	char *text = fixture("zoneinfo_truncated.txt"), err[160] = "";
	json_t *zones = (json_t *)1;

	ck_assert_int_eq(pcp_snapshot_parse_zoneinfo(text, &zones, err, sizeof(err)),
			 PCP_ERR_BAD_META);
	ck_assert(zones == NULL);
	ck_assert_msg(strstr(err, "pageset") != NULL, "reason: %s", err);
	free(text);
}
END_TEST

START_TEST(zoneinfo_garbage)
{
	char err[160];
	json_t *z;

	ck_assert_int_eq(pcp_snapshot_parse_zoneinfo("", &z, err, sizeof(err)), PCP_ERR_BAD_META);
	ck_assert_int_eq(pcp_snapshot_parse_zoneinfo("hello\n", &z, err, sizeof(err)),
			 PCP_ERR_BAD_META);
	ck_assert_int_eq(pcp_snapshot_parse_zoneinfo("Node 0, zone Normal\n  pagesets\n"
						     "    cpu: 0\n      count: 1x\n",
						     &z, err, sizeof(err)),
			 PCP_ERR_BAD_META);
}
END_TEST

START_TEST(percpu_stats_real)
{
	char *text = fixture("percpu_stats.txt"), err[160] = "";
	json_t *p, *chunks;

	ck_assert_int_eq(pcp_snapshot_parse_percpu_stats(text, &p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(get_int(json_object_get(p, "allocation"), "unit_size"), 1048576);
	ck_assert_int_eq(get_int(json_object_get(p, "global"), "nr_alloc"), 80242);
	chunks = json_object_get(p, "chunks");
	ck_assert_int_eq(json_array_size(chunks), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(chunks, 0), "kind")),
			 "first");
	ck_assert_int_eq(get_int(json_array_get(chunks, 0), "nr_alloc"), 522);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(chunks, 1), "kind")),
			 "dynamic");
	json_decref(p);
	free(text);
}
END_TEST

START_TEST(percpu_stats_damaged)
{
	char *text = fixture("percpu_stats_damaged.txt"), err[160] = "";
	json_t *p = (json_t *)1;

	ck_assert_int_eq(pcp_snapshot_parse_percpu_stats(text, &p, err, sizeof(err)),
			 PCP_ERR_BAD_META);
	ck_assert(p == NULL);
	ck_assert_msg(strstr(err, "not a number") != NULL, "reason: %s", err);
	ck_assert_int_eq(pcp_snapshot_parse_percpu_stats("", &p, err, sizeof(err)),
			 PCP_ERR_BAD_META);
	ck_assert_int_eq(pcp_snapshot_parse_percpu_stats("Percpu Memory Statistics\n", &p, err,
							 sizeof(err)),
			 PCP_ERR_BAD_META);
	free(text);
}
END_TEST

START_TEST(vmstat_real)
{
	char *text = fixture("vmstat.txt"), err[160] = "";
	json_t *v;

	ck_assert_int_eq(pcp_snapshot_parse_vmstat(text, &v, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(json_object_size(v), 192);
	ck_assert_int_eq(get_int(v, "nr_free_pages"), 1210788);
	ck_assert_int_eq(get_int(v, "pgfree"), 14842737);
	json_decref(v);
	ck_assert_int_eq(pcp_snapshot_parse_vmstat("nr_free_pages abc\n", &v, err, sizeof(err)),
			 PCP_ERR_BAD_META);
	free(text);
}
END_TEST

/* The live snapshot never fails on a readable system and holds the documented members. */
START_TEST(live_snapshot_shape)
{
	json_t *s, *pcs;

	ck_assert_int_eq(pcp_snapshot_take(&s), PCP_OK);
	ck_assert(json_is_string(json_object_get(s, "time")));
	ck_assert(json_is_integer(json_object_get(s, "time_ns")));
	pcs = json_object_get(s, "percpu_stats");
	ck_assert(json_is_boolean(json_object_get(pcs, "available")));
	if (json_is_true(json_object_get(pcs, "available")))
		ck_assert(json_is_string(json_object_get(pcs, "text")));
	else
		ck_assert(json_is_string(json_object_get(pcs, "reason")));
	ck_assert(json_is_array(json_object_get(s, "zoneinfo")) ||
		  json_is_string(json_object_get(s, "zoneinfo_error")));
	json_decref(s);
}
END_TEST

START_TEST(meta_roundtrip)
{
	char dir[] = "/tmp/pcp_snapXXXXXX", trace[4200];
	json_t *meta, *loaded, *snaps;

	ck_assert(mkdtemp(dir) != NULL);
	snprintf(trace, sizeof(trace), "%s/t.dat", dir);
	meta = json_pack("{s:s,s:i,s:{s:{s:{s:b,s:s}}}}", "format", "pcptrace-meta", "version",
			 1, "snapshots", "after", "percpu_stats", "available", 1, "text",
			 "Percpu Memory Statistics\n");
	ck_assert(meta != NULL);
	ck_assert_int_eq(pcp_snapshot_add_system(meta), PCP_OK);
	{
		char err[160];

		ck_assert_int_eq(pcp_snapshot_write_meta(trace, meta, err, sizeof(err)), PCP_OK);
	}
	ck_assert_int_eq(pcp_meta_load(trace, &loaded), PCP_OK);
	ck_assert(loaded != NULL);
	ck_assert_str_eq(pcp_meta_percpu_stats_text(loaded, "after"), "Percpu Memory Statistics\n");
	ck_assert(pcp_meta_percpu_stats_text(loaded, "before") == NULL);
	snaps = json_object_get(loaded, "kernel_release");
	ck_assert(json_is_string(snaps));
	json_decref(meta);
	json_decref(loaded);
	{
		char path[4300];

		snprintf(path, sizeof(path), "%s.meta.json", trace);
		unlink(path);
		rmdir(dir);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("snapshot");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, zoneinfo_real);
	tcase_add_test(tc, zoneinfo_spans);
	tcase_add_test(tc, zoneinfo_truncated);
	tcase_add_test(tc, zoneinfo_garbage);
	tcase_add_test(tc, percpu_stats_real);
	tcase_add_test(tc, percpu_stats_damaged);
	tcase_add_test(tc, vmstat_real);
	tcase_add_test(tc, live_snapshot_shape);
	tcase_add_test(tc, meta_roundtrip);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
