/* The HTML report's zone->lock over-time plot per zone and kind (issue 13), drawn from the
 * results database's zone_lock_timeline table (html_report.c calls it in its zone->lock
 * section). */
#ifndef PCPTRACE_HTML_ZONE_TIMELINE_H
#define PCPTRACE_HTML_ZONE_TIMELINE_H

#include <stddef.h>
#include <stdio.h>

struct pcp_html_db;

/* Lines per plot at most: the busiest (zone, kind) rows by acquisitions, and, when there are
 * more, one line "other" summing the rest (the legend stays one line wide). */
#define PCP_HTML_ZONE_LINES 7

/* Writes figure "zone-lock-timeline" from q's database: acquisitions per second per (nid,
 * zid, kind) over nr_cols time columns of col_ns (the report's merged --bucket windows).
 * lock_source and zone_map: trace_info's values (NULL: absent), for the caption; no_time_base:
 * the trace's clock is not time (no plot: a rate would be wrong). A database older than the
 * table gets a "no plot" note. A failure (PCP_ERR_DB / PCP_ERR_NOMEM) is kept in q
 * (html_report.h). */
void pcp_html_zone_timeline(FILE *f, struct pcp_html_db *q, double col_ns, size_t nr_cols,
			    const char *lock_source, const char *zone_map, int no_time_base);

#endif
