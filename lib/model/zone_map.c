/* The zone map: zone PFN spans of the recorder's "before" zoneinfo snapshot (meta/meta.h). */
#include <stdint.h>
#include <stdlib.h>
#include "common/error.h"
#include "meta/meta.h"
#include "model/zone_map.h"

/* Zones without start_pfn are unpopulated (or from an older recorder): no PFN is theirs. */
static int has_span(const struct pcp_meta_zone *z)
{
	return (z->has & PCP_META_ZONE_START_PFN) || z->span_damaged;
}

int pcp_zone_map_from_meta(const struct pcp_meta *meta, struct pcp_zone_map **out)
{
	const struct pcp_meta_snapshot *before = meta ? &meta->before : NULL;
	struct pcp_zone_map *map;
	size_t i, n = 0;

	*out = NULL;
	if (!before || !before->has_zoneinfo)
		return PCP_OK;
	for (i = 0; i < before->nr_zones; i++)
		n += has_span(&before->zones[i]);
	if (!n)
		return PCP_OK;
	map = calloc(1, sizeof(*map));
	if (!map || !(map->spans = calloc(n, sizeof(*map->spans)))) {
		free(map);
		return PCP_ERR_NOMEM;
	}
	for (i = 0; i < before->nr_zones; i++) {
		const struct pcp_meta_zone *z = &before->zones[i];

		if (!has_span(z))
			continue;
		if (z->span_damaged) {
			pcp_zone_map_free(map);
			return PCP_ERR_BAD_META;
		}
		if (!z->spanned)
			continue;
		map->spans[map->nr_spans++] = (struct pcp_zone_span){
			.start_pfn = (uint64_t)z->start_pfn,
			.end_pfn = (uint64_t)z->start_pfn + (uint64_t)z->spanned,
			.nid = (int32_t)z->node, .zid = (int32_t)z->zid };
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
