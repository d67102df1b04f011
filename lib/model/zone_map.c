/* The zone map: zone PFN spans of the recorder's "before" zoneinfo snapshot (lib/record/snapshot.c). */
#include <stdint.h>
#include <stdlib.h>
#include "common/error.h"
#include "model/zone_map.h"

static int get_nonneg(const json_t *zone, const char *key, json_int_t *v)
{
	const json_t *x = json_object_get(zone, key);

	if (!json_is_integer(x) || json_integer_value(x) < 0)
		return -1;
	*v = json_integer_value(x);
	return 0;
}

int pcp_zone_map_from_meta(const json_t *meta, struct pcp_zone_map **out)
{
	const json_t *zones, *zone;
	struct pcp_zone_map *map;
	size_t i, n = 0;

	*out = NULL;
	zones = json_object_get(json_object_get(json_object_get(meta, "snapshots"), "before"),
				"zoneinfo");
	if (!json_is_array(zones))
		return PCP_OK;
	json_array_foreach(zones, i, zone)
		n += json_object_get(zone, "start_pfn") != NULL;
	if (!n)
		return PCP_OK;
	map = calloc(1, sizeof(*map));
	if (!map || !(map->spans = calloc(n, sizeof(*map->spans)))) {
		free(map);
		return PCP_ERR_NOMEM;
	}
	json_array_foreach(zones, i, zone) {
		json_int_t node, zid, start, spanned;

		if (!json_object_get(zone, "start_pfn"))
			continue;
		if (get_nonneg(zone, "node", &node) || get_nonneg(zone, "zid", &zid) ||
		    get_nonneg(zone, "start_pfn", &start) || get_nonneg(zone, "spanned", &spanned) ||
		    node > INT32_MAX || zid > INT32_MAX) {
			pcp_zone_map_free(map);
			return PCP_ERR_BAD_META;
		}
		if (!spanned)
			continue;
		map->spans[map->nr_spans++] = (struct pcp_zone_span){
			.start_pfn = (uint64_t)start, .end_pfn = (uint64_t)start + (uint64_t)spanned,
			.nid = (int32_t)node, .zid = (int32_t)zid };
	}
	if (!map->nr_spans) {
		pcp_zone_map_free(map);
		return PCP_OK;
	}
	*out = map;
	return PCP_OK;
}

void pcp_zone_map_free(struct pcp_zone_map *map)
{
	if (!map)
		return;
	free(map->spans);
	free(map);
}
