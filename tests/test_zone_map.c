/* The zone map (lib/zone_map.c): PFN -> (nid, zid) from the meta's "before" zoneinfo spans.
 * Expected values come from tests/fixtures/snapshots/zoneinfo.txt read by eye (start_pfn and
 * spanned per zone) and from hand-written metas. */
#include <check.h>
#include <stdlib.h>
#include <jansson.h>
#include "common/error.h"
#include "record/snapshot.h"
#include "model/zone_map.h"
#include "check_helpers.h"

static void ck_zone(const struct pcp_zone_map *map, uint64_t pfn, int32_t nid, int32_t zid)
{
	int32_t n = 7, z = 7;

	pcp_zone_of(map, pfn, &n, &z);
	ck_assert_msg(n == nid && z == zid, "pfn %llu: %d:%d, expected %d:%d",
		      (unsigned long long)pfn, n, z, nid, zid);
}

START_TEST(from_captured_zoneinfo)
{
	char *text = check_read_fixture(".", "snapshots", "zoneinfo.txt", NULL), err[160];
	struct pcp_zone_map *map;
	json_t *zones, *meta;

	ck_assert_int_eq(pcp_snapshot_parse_zoneinfo(text, &zones, err, sizeof(err)), PCP_OK);
	meta = json_pack("{s:{s:{s:o}}}", "snapshots", "before", "zoneinfo", zones);
	ck_assert_int_eq(pcp_zone_map_from_meta(meta, &map), PCP_OK);
	ck_assert_ptr_nonnull(map);
	/* DMA [1, 4096), DMA32 [4096, 1048576), Normal [1048576, 6553600); Movable and Device
	 * span nothing */
	ck_assert_uint_eq(map->nr_spans, 3);
	ck_zone(map, 0, -1, -1);
	ck_zone(map, 1, 0, 0);
	ck_zone(map, 4095, 0, 0);
	ck_zone(map, 4096, 0, 1);
	ck_zone(map, 1048575, 0, 1);
	ck_zone(map, 1048576, 0, 2);
	ck_zone(map, 6553599, 0, 2);
	ck_zone(map, 6553600, -1, -1);
	pcp_zone_map_free(map);
	json_decref(meta);
	free(text);
}
END_TEST

START_TEST(no_spans_and_damage)
{
	struct pcp_zone_map *map = (struct pcp_zone_map *)1;
	json_t *meta;

	ck_assert_int_eq(pcp_zone_map_from_meta(NULL, &map), PCP_OK);
	ck_assert_ptr_null(map);
	/* an older recorder: zones without start_pfn */
	meta = json_loads("{\"snapshots\":{\"before\":{\"zoneinfo\":[{\"node\":0,\"zone\":\"Normal\","
			  "\"pagesets\":[]}]}}}", 0, NULL);
	ck_assert_int_eq(pcp_zone_map_from_meta(meta, &map), PCP_OK);
	ck_assert_ptr_null(map);
	json_decref(meta);
	/* only the "before" snapshot counts */
	meta = json_loads("{\"snapshots\":{\"after\":{\"zoneinfo\":[{\"node\":0,\"zid\":0,"
			  "\"start_pfn\":1,\"spanned\":5}]}}}", 0, NULL);
	ck_assert_int_eq(pcp_zone_map_from_meta(meta, &map), PCP_OK);
	ck_assert_ptr_null(map);
	json_decref(meta);
	/* start_pfn without a usable spanned or zid: damaged */
	meta = json_loads("{\"snapshots\":{\"before\":{\"zoneinfo\":[{\"node\":0,\"zid\":0,"
			  "\"start_pfn\":1,\"spanned\":\"5\"}]}}}", 0, NULL);
	ck_assert_int_eq(pcp_zone_map_from_meta(meta, &map), PCP_ERR_BAD_META);
	ck_assert_ptr_null(map);
	json_decref(meta);
	meta = json_loads("{\"snapshots\":{\"before\":{\"zoneinfo\":[{\"node\":0,"
			  "\"start_pfn\":1,\"spanned\":5}]}}}", 0, NULL);
	ck_assert_int_eq(pcp_zone_map_from_meta(meta, &map), PCP_ERR_BAD_META);
	json_decref(meta);
	/* overlapping spans: the first in snapshot order wins */
	meta = json_loads("{\"snapshots\":{\"before\":{\"zoneinfo\":["
			  "{\"node\":0,\"zid\":2,\"start_pfn\":100,\"spanned\":100},"
			  "{\"node\":1,\"zid\":1,\"start_pfn\":150,\"spanned\":100}]}}}", 0, NULL);
	ck_assert_int_eq(pcp_zone_map_from_meta(meta, &map), PCP_OK);
	ck_zone(map, 99, -1, -1);
	ck_zone(map, 150, 0, 2);
	ck_zone(map, 199, 0, 2);
	ck_zone(map, 200, 1, 1);
	ck_zone(map, 249, 1, 1);
	ck_zone(map, 250, -1, -1);
	pcp_zone_map_free(map);
	json_decref(meta);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("zone_map");
	TCase *tc = tcase_create("map");

	tcase_add_test(tc, from_captured_zoneinfo);
	tcase_add_test(tc, no_spans_and_damage);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
