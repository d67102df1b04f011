/* zone->lock acquisitions per second over time, one line per zone and kind (html_zone_timeline.h).
 * Aggregated in SQL to the report's time columns: one point per column and line. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "common/error.h"
#include "output/html_report.h"
#include "output/html_svg.h"
#include "output/html_zone_timeline.h"

struct zone_key {
	long long nid, zid;
	int drain;
};

static int is_drain(sqlite3_stmt *st, int col)
{
	const char *k = (const char *)sqlite3_column_text(st, col);

	return k && !strcmp(k, "drain");
}

/* Index of (nid, zid, kind) among the shown lines; the last one ("other") when not among them. */
static size_t line_of(const struct zone_key *keys, size_t shown, size_t nr_lines, long long nid,
		      long long zid, int drain)
{
	for (size_t i = 0; i < shown; i++)
		if (keys[i].nid == nid && keys[i].zid == zid && keys[i].drain == drain)
			return i;
	return nr_lines - 1;
}

/* How to read the plot; other: the busiest lines and "other", not every (zone, kind). */
static void caption(char *cap, size_t len, double col_ns, const char *lock_source,
		    const char *zone_map, int other)
{
	char colw[64], top[64];

	pcp_html_fmt(colw, sizeof(colw), col_ns, PCP_HU_NS);
	if (other)
		snprintf(top, sizeof(top), "the %d busiest by acquisitions, the rest summed as \"other\"",
			 PCP_HTML_ZONE_LINES - 1);
	else
		snprintf(top, sizeof(top), "one line per zone and kind");
	snprintf(cap, len, "acquisitions of each zone's lock for refills and for drains, averaged"
		 " over windows of %s; nN zZ = node N, zone Z (the zone's index in its node, as"
		 " zone_lock names it%s); %s. A line that rises alone is where the lock gets hot;"
		 " refill and drain of one zone rising together is churn through its lock.", colw,
		 lock_source && !strcmp(lock_source, "inferred")
			 ? (zone_map && !strcmp(zone_map, "meta")
				    ? "; inferred acquisitions: zone from the recorder's zone spans"
				    : "; inferred acquisitions without a zone map: zone ?")
			 : "", top);
}

void pcp_html_zone_timeline(FILE *f, struct pcp_html_db *q, double col_ns, size_t nr_cols,
			    const char *lock_source, const char *zone_map, int no_time_base)
{
	struct pcp_plot p = { "zone-lock-timeline", "zone->lock acquisitions per second over time,"
			      " per zone and kind", NULL, "time since the first event",
			      "acquisitions / s", PCP_HU_SECONDS, PCP_HU_RATE };
	struct zone_key keys[PCP_HTML_ZONE_LINES];
	char names[PCP_HTML_ZONE_LINES][40], cap[700];
	const char *labels[PCP_HTML_ZONE_LINES];
	size_t nr_keys = 0, shown, nr_lines;
	double *vals = NULL, col_s = col_ns / 1e9;
	sqlite3_stmt *st;
	long long have = 0, nr_groups = 0;

	caption(cap, sizeof(cap), col_ns, lock_source, zone_map, 0);
	p.caption = cap;

	/* A database from before the table (still schema version 2) draws without it. */
	st = pcp_html_prep(q, "SELECT (SELECT count(*) FROM sqlite_master WHERE name ="
			   " 'zone_lock_timeline') + (SELECT count(*) FROM sqlite_temp_master WHERE name ="
			   " 'zone_lock_timeline')");
	if (pcp_html_step(q, st)) {
		have = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (q->err)
		return;
	if (!have) {
		pcp_svg_nodata(f, &p, "the results database has no zone_lock_timeline table (written by"
			       " an older pcptrace): analyze the trace again.");
		return;
	}
	if (no_time_base) {
		pcp_svg_nodata(f, &p, "the trace has no time base: acquisitions per second are undefined"
			       " (the counts per zone are in zone_lock_timeline).");
		return;
	}

	/* The lines: every (zone, kind) when they fit, else the busiest and "other". */
	st = pcp_html_prep(q, "SELECT nid, zid, kind, sum(acquisitions), count(*) OVER () FROM"
			   " zone_lock_timeline GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3");
	while (pcp_html_step(q, st)) {
		nr_groups = sqlite3_column_int64(st, 4);
		if (nr_keys == PCP_HTML_ZONE_LINES - (nr_groups > PCP_HTML_ZONE_LINES)) {
			sqlite3_finalize(st);
			break;
		}
		keys[nr_keys].nid = sqlite3_column_int64(st, 0);
		keys[nr_keys].zid = sqlite3_column_int64(st, 1);
		keys[nr_keys].drain = is_drain(st, 2);
		if (keys[nr_keys].nid < 0)
			snprintf(names[nr_keys], sizeof(names[0]), "zone ? %s",
				 keys[nr_keys].drain ? "drain" : "refill");
		else
			snprintf(names[nr_keys], sizeof(names[0]), "n%lld z%lld %s", keys[nr_keys].nid,
				 keys[nr_keys].zid, keys[nr_keys].drain ? "drain" : "refill");
		labels[nr_keys] = names[nr_keys];
		nr_keys++;
	}
	if (q->err)
		return;
	if (!nr_keys) {
		long long acq = 0;

		/* a run merged from a database older than the table: zone_lock has what this lacks */
		st = pcp_html_prep(q, "SELECT count(*) FROM zone_lock WHERE acquisitions > 0");
		if (pcp_html_step(q, st)) {
			acq = sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
		}
		pcp_svg_nodata(f, &p, acq ? "zone_lock_timeline has no row of this run (analyzed by an"
					    " older pcptrace): analyze the trace again."
					  : "no zone-lock acquisition in the trace.");
		return;
	}
	caption(cap, sizeof(cap), col_ns, lock_source, zone_map, nr_groups > PCP_HTML_ZONE_LINES);
	/* "other" sums the (zone, kind) rows not shown */
	shown = nr_keys;
	nr_lines = nr_keys + (nr_groups > (long long)nr_keys);
	if (nr_lines > shown) {
		snprintf(names[shown], sizeof(names[0]), "other");
		labels[shown] = names[shown];
	}

	vals = calloc(nr_lines * nr_cols + 1, sizeof(*vals));
	if (!vals) {
		q->err = PCP_ERR_NOMEM;
		return;
	}
	st = pcp_html_prep(q, "SELECT bucket_start_ns / ?1, nid, zid, kind, sum(acquisitions)"
			   " FROM zone_lock_timeline GROUP BY 1, 2, 3, 4");
	if (st)
		sqlite3_bind_int64(st, 1, (sqlite3_int64)col_ns);
	while (pcp_html_step(q, st)) {
		long long c = sqlite3_column_int64(st, 0);
		size_t line = line_of(keys, shown, nr_lines, sqlite3_column_int64(st, 1),
				      sqlite3_column_int64(st, 2), is_drain(st, 3));

		if (c < 0)
			continue;
		if ((size_t)c >= nr_cols)
			c = (long long)nr_cols - 1;
		vals[line * nr_cols + (size_t)c] += sqlite3_column_double(st, 4);
	}
	if (!q->err) {
		for (size_t i = 0; i < nr_lines * nr_cols; i++)
			vals[i] /= col_s;
		pcp_svg_lines(f, &p, col_s, nr_cols, labels, nr_lines, vals);
	}
	free(vals);
}
