/* PFN -> (nid, zid) from the zone spans of the recorder's zoneinfo snapshot, so that inferred
 * zone-lock acquisitions (docs/METRICS.md, "Zone lock") can name their zone. */
#ifndef PCPTRACE_ZONE_MAP_H
#define PCPTRACE_ZONE_MAP_H

#include <stddef.h>
#include <stdint.h>

struct pcp_zone_span {
	uint64_t start_pfn, end_pfn;        /* [start_pfn, end_pfn) */
	int32_t nid, zid;
};

struct pcp_zone_map {
	struct pcp_zone_span *spans;        /* snapshot order: node by node, zone order */
	size_t nr_spans;
};

struct pcp_meta;
/* Builds the map from meta's "before" zoneinfo: every zone with start_pfn and spanned > 0 is a
 * span (empty zones hold no PFN). *out = NULL (and PCP_OK) when meta is NULL or has no span
 * (older recorder, no zoneinfo). A zone with start_pfn whose node, zid or spanned is not a
 * non-negative integer (span_damaged) gives PCP_ERR_BAD_META. */
int pcp_zone_map_from_meta(const struct pcp_meta *meta, struct pcp_zone_map **out);
void pcp_zone_map_free(struct pcp_zone_map *map);

/* The zone holding pfn: the first span in map order with start_pfn <= pfn < end_pfn; nid and
 * zid -1 when none does. No allocation. */
static inline void pcp_zone_of(const struct pcp_zone_map *map, uint64_t pfn, int32_t *nid,
			       int32_t *zid)
{
	for (size_t i = 0; i < map->nr_spans; i++) {
		const struct pcp_zone_span *s = &map->spans[i];

		if (pfn >= s->start_pfn && pfn < s->end_pfn) {
			*nid = s->nid;
			*zid = s->zid;
			return;
		}
	}
	*nid = *zid = -1;
}

#endif
