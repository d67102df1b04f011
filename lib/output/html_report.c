/* HTML report of one analysis, read from its results database (schema.sql): warnings first,
 * the headline metrics, then one plot per question (issue 13). Every plot is aggregated to
 * buckets in SQL (never one element per event), so the file stays small for any trace. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "common/error.h"
#include "common/io.h"
#include "compare/results_db.h"
#include "output/html_report.h"
#include "output/html_svg.h"
#include "output/html_zone_timeline.h"
#include "output/outfile.h"

struct kv {
	char *key, *value;
};

struct report {
	FILE *f;
	struct pcp_html_db q;         /* the database and its first failure */
	struct kv *info;              /* trace_info */
	size_t nr_info;
	long long nr_cpus;
	double bucket_ns, span_ns;    /* timeline window, covered time */
	double col_ns;                /* merged window of the over-time plots */
	size_t nr_cols;
};

static const char *info(const struct report *r, const char *key)
{
	for (size_t i = 0; i < r->nr_info; i++)
		if (!strcmp(r->info[i].key, key))
			return r->info[i].value;
	return NULL;
}

static int info_is(const struct report *r, const char *key, const char *value)
{
	const char *v = info(r, key);
	return v && !strcmp(v, value);
}

static double info_num(const struct report *r, const char *key)
{
	const char *v = info(r, key);
	char *end;
	double d;

	if (!v || !*v)
		return NAN;
	d = strtod(v, &end);
	return *end ? NAN : d;
}

sqlite3_stmt *pcp_html_prep(struct pcp_html_db *q, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (q->err)
		return NULL;
	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK) {
		q->err = PCP_ERR_DB;
		q->errmsg = strdup(sqlite3_errmsg(q->db));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

int pcp_html_step(struct pcp_html_db *q, sqlite3_stmt *st)
{
	int rc;

	if (!st)
		return 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE && !q->err) {
		q->err = PCP_ERR_DB;
		q->errmsg = strdup(sqlite3_errmsg(q->db));
	}
	sqlite3_finalize(st);
	return 0;
}

static sqlite3_stmt *prep(struct report *r, const char *sql)
{
	return pcp_html_prep(&r->q, sql);
}

static int step(struct report *r, sqlite3_stmt *st)
{
	return pcp_html_step(&r->q, st);
}

static long long count_rows(struct report *r, const char *sql)
{
	sqlite3_stmt *st = prep(r, sql);
	long long n = 0;

	if (step(r, st)) {
		n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return n;
}

static double col_double(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static void load_info(struct report *r)
{
	sqlite3_stmt *st = prep(r, "SELECT key, value FROM trace_info ORDER BY key");
	size_t cap = 0;

	while (step(r, st)) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		const char *v = (const char *)sqlite3_column_text(st, 1);
		if (r->nr_info == cap) {
			struct kv *grown = realloc(r->info, (cap = cap ? cap * 2 : 64) * sizeof(*grown));
			if (!grown) {
				r->q.err = PCP_ERR_NOMEM;
				sqlite3_finalize(st);
				return;
			}
			r->info = grown;
		}
		r->info[r->nr_info].key = strdup(k ? k : "");
		r->info[r->nr_info++].value = strdup(v ? v : "");
	}
}

/* ---- pieces of HTML --------------------------------------------------------------------- */

static void esc(struct report *r, const char *s)
{
	pcp_html_escape(r->f, s);
}

static void fmt(char *buf, size_t len, double v, enum pcp_html_unit u)
{
	pcp_html_fmt(buf, len, v, u);
}

/* A metric's unit (metrics.unit) as a display unit. */
static enum pcp_html_unit unit_of(const char *unit)
{
	if (!unit)
		return PCP_HU_RAW;
	if (!strcmp(unit, "ns"))
		return PCP_HU_NS;
	if (!strcmp(unit, "bytes"))
		return PCP_HU_BYTES;
	return PCP_HU_RAW;
}

static void header(struct report *r, const char *db_label)
{
	static const struct { const char *key, *label; } rows[] = {
		{ "meta.hostname", "host" }, { "meta.kernel_release", "kernel" },
		{ "meta.start_time", "recorded" }, { "meta.workload", "workload" },
		{ "nr_cpus", "CPUs" }, { "events_total", "events" },
		{ "refill_source", "refill source" }, { "lock_source", "zone-lock source" },
		{ "trace_clock", "trace clock" }, { "time_base", "time base" }, { "buffer", "buffer" },
		{ "meta.recording.buffer_kb", "ring buffer (KiB per CPU)" },
		{ "bucket_ns", "timeline bucket (ns)" }, { "churn_window_ns", "churn window (ns)" },
		{ "pcptrace_version", "pcptrace" },
	};
	double dur = info_num(r, "duration_ns");
	char buf[64];
	size_t shown = 0;

	fputs("<h1>pcptrace report: ", r->f);
	esc(r, info(r, "trace_file") ? info(r, "trace_file") : db_label);
	fputs("</h1>\n<div class=\"cols\"><table class=\"facts\">\n", r->f);
	fmt(buf, sizeof(buf), dur, PCP_HU_NS);
	fprintf(r->f, "<tr><th>duration</th><td>%s</td></tr>\n", buf);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *v = info(r, rows[i].key);
		if (!v)
			continue;
		/* Two columns: the page starts with its pictures, not a long list. */
		if (++shown == 8)
			fputs("</table><table class=\"facts\">\n", r->f);
		fprintf(r->f, "<tr><th>%s</th><td>", rows[i].label);
		esc(r, v);
		fputs("</td></tr>\n", r->f);
	}
	fputs("<tr><th>results</th><td>", r->f);
	esc(r, db_label);
	fputs("</td></tr>\n</table></div>\n", r->f);
}

/* What the reader must not miss, first and loud; notes (things to know) after them. */
static void warnings(struct report *r)
{
	char *warn = NULL, *note = NULL;
	size_t wlen = 0, nlen = 0;
	FILE *w = open_memstream(&warn, &wlen), *n = open_memstream(&note, &nlen);
	const char *clock = info(r, "trace_clock"), *v;
	int nr_warn = 0;

	if (!w || !n) {
		if (w)
			fclose(w);
		if (n)
			fclose(n);
		free(warn);
		free(note);
		r->q.err = PCP_ERR_NOMEM;
		return;
	}
	if (info_is(r, "lossy", "1")) {
		sqlite3_stmt *st = prep(r, "SELECT cpu, lost_events FROM cpu_flow WHERE lost_events > 0 ORDER BY lost_events DESC, cpu");
		int first = 1;
		fputs("<li class=\"lossy\"><b>Lossy trace:</b> ", w);
		pcp_html_escape(w, info(r, "events_lost"));
		fputs(" events lost", w);
		if (info_num(r, "events_lost_unknown") > 0) {
			fputs(" (plus ", w);
			pcp_html_escape(w, info(r, "events_lost_unknown"));
			fputs(" lost in amounts the trace does not give)", w);
		}
		while (step(r, st)) {
			fprintf(w, "%s CPU %lld: %lld", first ? "; by CPU:" : ",",
				sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
			first = 0;
		}
		fputs(" (source: ", w);
		pcp_html_escape(w, info(r, "events_lost_source"));
		fputs("). Every count below misses what was lost; pairs and occupancy around the gaps"
		      " are unreliable. Record again with a larger buffer.</li>\n", w);
		nr_warn++;
	}
	if (info_is(r, "time_base", "none")) {
		fputs("<li><b>No time base:</b> durations, rates and the plots over time are undefined (", w);
		pcp_html_escape(w, info(r, "time_base_reason"));
		fputs(").</li>\n", w);
		nr_warn++;
	}
	if (info_is(r, "refill_source", "fallback")) {
		fputs("<li><b>Fallback refills:</b> the trace has no kmem:mm_page_pcpu_refill; refills are"
		      " taken from mm_page_alloc_zone_locked (refill flag: ", w);
		pcp_html_escape(w, info(r, "refill_flag") ? info(r, "refill_flag") : "?");
		fputs("). Counts follow the allocator's view, not the seed patch's events.</li>\n", w);
		nr_warn++;
	}
	if (info_is(r, "lock_source", "inferred")) {
		fputs("<li><b>Inferred zone locks:</b> no *_zone_locked events; acquisitions are grouped"
		      " from block bursts (gap ", w);
		pcp_html_escape(w, info(r, "infer_gap_ns"));
		fputs("), zone unknown, hold times are lower bounds.</li>\n", w);
		nr_warn++;
	} else if (info_is(r, "lock_source", "none")) {
		fputs("<li>No zone-lock information in this trace: the zone-lock plots are empty.</li>\n", n);
	}
	if (!clock) {
		fputs("<li><b>Unknown trace clock:</b> cross-CPU times (round trips between CPUs) cannot"
		      " be trusted.</li>\n", w);
		nr_warn++;
	} else if (!strcmp(clock, "local")) {
		fputs("<li><b>Trace clock local:</b> per-CPU clocks, not synchronised across CPUs;"
		      " cross-CPU round trips may be off by the clocks' skew (record with a global"
		      " clock).</li>\n", w);
		nr_warn++;
	}
	v = info(r, "percpu_stats_check");
	if (v && !strcmp(v, "checked") && !info_is(r, "percpu_stats_consistent", "1")) {
		fputs("<li><b>percpu_stats check failed:</b> the kernel's nr_alloc changed by ", w);
		pcp_html_escape(w, info(r, "percpu_stats_nr_alloc_delta"));
		fputs(" while the trace has ", w);
		pcp_html_escape(w, info(r, "percpu_traced_allocs"));
		fputs(" allocations (dealloc delta ", w);
		pcp_html_escape(w, info(r, "percpu_stats_nr_dealloc_delta"));
		fputs(", traced frees ", w);
		pcp_html_escape(w, info(r, "percpu_traced_frees"));
		fputs("): the percpu figures miss events.</li>\n", w);
		nr_warn++;
	} else if (v && !strcmp(v, "lossy")) {
		fputs("<li><b>percpu_stats check not possible:</b> the trace is lossy.</li>\n", w);
		nr_warn++;
	} else if (v && !strcmp(v, "no_snapshots")) {
		fputs("<li>percpu_stats not checked: no before/after snapshots (record with pcprecord).</li>\n", n);
	} else if (v && !strcmp(v, "checked")) {
		fputs("<li>percpu_stats check: the kernel's counters agree with the traced allocations (", n);
		pcp_html_escape(n, info(r, "percpu_traced_allocs"));
		fputs(").</li>\n", n);
	}
	if (info_is(r, "lifecycle_occupancy", "change"))
		fputs("<li>Occupancy is a change from the start of the trace (no before snapshot gave the"
		      " starting level).</li>\n", n);
	if (info_num(r, "stacks_unattributed") > 0) {
		fputs("<li>Kernel stacks not attributed to an acquisition: ", n);
		pcp_html_escape(n, info(r, "stacks_unattributed"));
		fputs(".</li>\n", n);
	}
	if (clock && strcmp(clock, "local"))
		fprintf(n, "<li>Trace clock: %s; buffer read: %s.</li>\n", clock,
			info(r, "buffer") ? info(r, "buffer") : "?");
	fclose(w);
	fclose(n);
	if (nr_warn) {
		fprintf(r->f, "<div class=\"warnings\" id=\"warnings\"><h2>&#9888; %d warning%s</h2><ul>\n%s</ul></div>\n",
			nr_warn, nr_warn > 1 ? "s" : "", warn);
	} else {
		fputs("<div class=\"ok\" id=\"warnings\">No warning: lossless trace, native refills and"
		      " zone locks (or none), a global clock.</div>\n", r->f);
	}
	if (nlen)
		fprintf(r->f, "<div class=\"notes\"><ul>\n%s</ul></div>\n", note);
	free(warn);
	free(note);
}

static void metrics_table(struct report *r)
{
	long long half = (count_rows(r, "SELECT count(*) FROM metrics") + 1) / 2, row = 0;
	sqlite3_stmt *st = prep(r, "SELECT name, value, unit, better FROM metrics ORDER BY rowid");
	char buf[64];

	fputs("<h2 id=\"metrics\">Headline metrics</h2>\n<p><small>Definitions: docs/METRICS.md;"
	      " &#8595; lower is better, &#8593; higher is better, &#8226; no direction.</small></p>\n"
	      "<div class=\"cols\">", r->f);
	while (step(r, st)) {
		const char *better = (const char *)sqlite3_column_text(st, 3);
		const char *unit = (const char *)sqlite3_column_text(st, 2);
		double v = col_double(st, 1);
		enum pcp_html_unit u = unit_of(unit);
		if (u == PCP_HU_RAW || isnan(v))
			fmt(buf, sizeof(buf), v, PCP_HU_RAW);
		else
			fmt(buf, sizeof(buf), v, u);
		if (row == 0 || row == half)
			fprintf(r->f, "%s<table class=\"metrics\"><tr><th>metric</th><th>value</th><th>unit</th>"
				"<th>better</th></tr>\n", row ? "</table>" : "");
		row++;
		fputs("<tr class=\"metric\"><td>", r->f);
		esc(r, (const char *)sqlite3_column_text(st, 0));
		fprintf(r->f, "</td><td class=\"num\">%s</td><td>", buf);
		esc(r, unit);
		fprintf(r->f, "</td><td>%s</td></tr>\n",
			better && !strcmp(better, "lower") ? "&#8595; lower" :
			better && !strcmp(better, "higher") ? "&#8593; higher" : "&#8226;");
	}
	fputs(row ? "</table></div>\n" : "<p class=\"nodata\">No metric.</p></div>\n", r->f);
}

/* ---- over-time plots --------------------------------------------------------------------- */

static void time_columns(struct report *r)
{
	double max_start = NAN, nr_buckets;
	size_t max_cols;
	sqlite3_stmt *st = prep(r, "SELECT max(m) FROM (SELECT max(bucket_start_ns) AS m FROM timeline"
				   " UNION ALL SELECT max(bucket_start_ns) FROM lifecycle_occupancy)");

	if (step(r, st)) {
		max_start = col_double(st, 0);
		sqlite3_finalize(st);
	}
	r->bucket_ns = info_num(r, "bucket_ns");
	if (!(r->bucket_ns > 0))
		r->bucket_ns = 1e7;
	r->span_ns = info_num(r, "duration_ns");
	if (!isnan(max_start) && !(r->span_ns >= max_start + r->bucket_ns))
		r->span_ns = max_start + r->bucket_ns;
	if (!(r->span_ns > 0))
		r->span_ns = r->bucket_ns;
	/* A foreign database's nonsense must not overflow the integer windows below. */
	if (r->bucket_ns > 1e15)
		r->bucket_ns = 1e15;
	if (r->span_ns > 1e17)
		r->span_ns = 1e17;
	max_cols = r->nr_cpus > PCP_HTML_MAX_LINES ? (size_t)(PCP_HTML_MAX_CELLS / r->nr_cpus) : PCP_HTML_MAX_COLS;
	if (max_cols > PCP_HTML_MAX_COLS)
		max_cols = PCP_HTML_MAX_COLS;
	if (max_cols < 20)
		max_cols = 20;
	nr_buckets = ceil(r->span_ns / r->bucket_ns);
	r->col_ns = r->bucket_ns * ceil(nr_buckets / (double)max_cols);
	r->nr_cols = (size_t)ceil(r->span_ns / r->col_ns);
	if (!r->nr_cols)
		r->nr_cols = 1;
}

/* "CPU n" names for the per-CPU line series (n <= PCP_HTML_MAX_LINES). */
static void cpu_series(const char **names, char (*storage)[16], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(storage[i], sizeof(storage[i]), "CPU %u", (unsigned)i);   /* fits 16 */
		names[i] = storage[i];
	}
}

/* Per-CPU values over time: one line per CPU, or a CPU x time heatmap with many CPUs. */
static void per_cpu_over_time(struct report *r, const struct pcp_plot *p, const double *grid)
{
	size_t ncpu = (size_t)r->nr_cpus;

	if (ncpu <= PCP_HTML_MAX_LINES) {
		const char *names[PCP_HTML_MAX_LINES];
		char storage[PCP_HTML_MAX_LINES][16];
		cpu_series(names, storage, ncpu);
		pcp_svg_lines(r->f, p, r->col_ns / 1e9, r->nr_cols, names, ncpu, grid);
	} else {
		struct pcp_plot hp = *p;
		hp.ylabel = "CPU";
		pcp_svg_heatmap(r->f, &hp, ncpu, r->nr_cols, r->col_ns / 1e9, grid);
	}
}

static void timeline_section(struct report *r)
{
	size_t ncpu = (size_t)r->nr_cpus, ncol = r->nr_cols;
	double *refill = calloc(ncpu * ncol + 1, sizeof(double));
	double *drain = calloc(ncpu * ncol + 1, sizeof(double));
	double *locks = calloc(2 * ncol + 1, sizeof(double));
	sqlite3_stmt *st;
	long long rows = count_rows(r, "SELECT count(*) FROM timeline");
	char colw[64], ylab[96], cap[400];
	static const char *const kinds[] = { "refill", "drain" };

	fmt(colw, sizeof(colw), r->col_ns, PCP_HU_NS);
	fputs("<h2 id=\"timeline\">Refills and drains over time</h2>\n", r->f);
	if (!refill || !drain || !locks) {
		r->q.err = PCP_ERR_NOMEM;
		goto out;
	}
	st = prep(r, "SELECT bucket_start_ns / ?1, cpu, sum(refill_pages), sum(drain_pages),"
		     " sum(refill_locks), sum(drain_locks) FROM timeline GROUP BY 1, 2");
	if (st)
		sqlite3_bind_int64(st, 1, (sqlite3_int64)r->col_ns);
	while (step(r, st)) {
		long long c = sqlite3_column_int64(st, 0), cpu = sqlite3_column_int64(st, 1);
		if (c < 0 || cpu < 0 || cpu >= r->nr_cpus)
			continue;
		if ((size_t)c >= ncol)
			c = (long long)ncol - 1;
		refill[(size_t)cpu * ncol + (size_t)c] += sqlite3_column_double(st, 2);
		drain[(size_t)cpu * ncol + (size_t)c] += sqlite3_column_double(st, 3);
		locks[(size_t)c] += sqlite3_column_double(st, 4);
		locks[ncol + (size_t)c] += sqlite3_column_double(st, 5);
	}
	snprintf(ylab, sizeof(ylab), "pages per %s", colw);
	{
		struct pcp_plot p = { "refill-timeline", "Refill pages per CPU over time", NULL,
				      "time since the first event", ylab, PCP_HU_SECONDS, PCP_HU_PAGES };
		snprintf(cap, sizeof(cap), "pages moved from the buddy allocator onto each CPU's PCP lists"
			 " in windows of %s (%s); bursts show when and where lists were refilled.", colw,
			 ncpu > PCP_HTML_MAX_LINES ? "darker = more" : "one line per CPU");
		p.caption = cap;
		if (!rows)
			pcp_svg_nodata(r->f, &p, "the timeline is empty (no refill or drain with a time base).");
		else
			per_cpu_over_time(r, &p, refill);
	}
	{
		struct pcp_plot p = { "drain-timeline", "Drain pages per CPU over time", NULL,
				      "time since the first event", ylab, PCP_HU_SECONDS, PCP_HU_PAGES };
		snprintf(cap, sizeof(cap), "pages given back from each CPU's PCP lists to the buddy"
			 " allocator in windows of %s; a drain burst after a refill burst is churn.", colw);
		p.caption = cap;
		if (!rows)
			pcp_svg_nodata(r->f, &p, "the timeline is empty.");
		else
			per_cpu_over_time(r, &p, drain);
	}
	fputs("<h2 id=\"zone-lock\">zone-&gt;lock</h2>\n", r->f);
	{
		struct pcp_plot p = { "lock-rate", "zone->lock acquisitions per second over time, by kind",
				      NULL, "time since the first event", "acquisitions / s",
				      PCP_HU_SECONDS, PCP_HU_RATE };
		double col_s = r->col_ns / 1e9;
		snprintf(cap, sizeof(cap), "acquisitions of the zone lock for refills and for drains, all"
			 " zones and CPUs, averaged over windows of %s (per zone: the next plot).", colw);
		p.caption = cap;
		for (size_t i = 0; i < 2 * ncol; i++)
			locks[i] /= col_s;
		if (!rows || info_is(r, "lock_source", "none"))
			pcp_svg_nodata(r->f, &p, "no zone-lock acquisition in the trace.");
		else
			pcp_svg_lines(r->f, &p, col_s, ncol, kinds, 2, locks);
	}
	if (!r->q.err)
		pcp_html_zone_timeline(r->f, &r->q, r->col_ns, ncol, info(r, "lock_source"),
				       info(r, "zone_map"), info_is(r, "time_base", "none"));
out:
	free(refill);
	free(drain);
	free(locks);
}

/* Log2 histogram from sql returning (series, lo, hi, value) ordered by lo; buckets between
 * the first and the last are all shown (empty ones as gaps), so the x axis is log2. */
static void log2_hist(struct report *r, const struct pcp_plot *p, const char *sql,
		      const char *const *series, size_t ns, const char *empty)
{
	enum { MAX_B = 80 };
	struct pcp_html_bucket b[MAX_B];
	double vals[MAX_B * 4] = { 0 }, lo0 = -1, last = -1;
	sqlite3_stmt *st = prep(r, sql);
	size_t nb = 0;

	while (step(r, st)) {
		const char *s = (const char *)sqlite3_column_text(st, 0);
		double lo = sqlite3_column_double(st, 1), hi = sqlite3_column_double(st, 2);
		size_t k;
		if (lo0 < 0) {
			lo0 = lo;
			b[0].lo = lo;
			b[0].hi = hi;
			nb = 1;
		}
		/* Extend the bucket list up to lo (doubling; [0, 1) is followed by [1, 2)). */
		while (b[nb - 1].lo < lo && nb < MAX_B) {
			double next = b[nb - 1].hi;
			b[nb].lo = next;
			b[nb].hi = next ? next * 2 : 1;
			nb++;
		}
		if (b[nb - 1].lo != lo)
			continue;
		b[nb - 1].hi = hi;
		for (k = 0; k < ns && s && strcmp(series[k], s); k++)
			;
		if (k < ns)
			vals[(nb - 1) * ns + k] += sqlite3_column_double(st, 3);
		last = lo;
	}
	(void)last;
	if (!nb)
		pcp_svg_nodata(r->f, p, empty);
	else
		pcp_svg_hist(r->f, p, b, nb, series, ns, vals);
}

static void zone_lock_tables(struct report *r)
{
	sqlite3_stmt *st;
	const char *labels[64];
	double vals[64];
	char *names = calloc(64, 48), buf[6][64];
	size_t n = 0;

	if (!names) {
		r->q.err = PCP_ERR_NOMEM;
		return;
	}
	fputs("<table class=\"zones\"><tr><th>node</th><th>zone</th><th>kind</th><th>acquisitions</th>"
	      "<th>per second</th><th>peak per second</th><th>pages / acquisition</th><th>hold p50</th>"
	      "<th>hold p99</th><th>hold max</th></tr>\n", r->f);
	st = prep(r, "SELECT l.nid, l.zid, l.kind, l.acquisitions, l.per_second, l.peak_per_second,"
		     " CASE WHEN l.acquisitions > 0 THEN 1.0 * l.moved_pages / l.acquisitions END,"
		     " h.hold_p50_ns, h.hold_p99_ns, h.hold_max_ns FROM zone_lock l LEFT JOIN"
		     " zone_lock_hold h USING (nid, zid, kind) ORDER BY l.per_second DESC, l.nid, l.zid, l.kind");
	while (step(r, st)) {
		long long nid = sqlite3_column_int64(st, 0), zid = sqlite3_column_int64(st, 1);
		const char *kind = (const char *)sqlite3_column_text(st, 2);
		fmt(buf[0], 64, col_double(st, 3), PCP_HU_COUNT);
		fmt(buf[1], 64, col_double(st, 4), PCP_HU_RATE);
		fmt(buf[2], 64, col_double(st, 5), PCP_HU_RATE);
		fmt(buf[3], 64, col_double(st, 7), PCP_HU_NS);
		fmt(buf[4], 64, col_double(st, 8), PCP_HU_NS);
		fmt(buf[5], 64, col_double(st, 9), PCP_HU_NS);
		if (nid < 0)
			fprintf(r->f, "<tr><td>?</td><td>? (inferred)</td>");
		else
			fprintf(r->f, "<tr><td>%lld</td><td>%lld</td>", nid, zid);
		fputs("<td>", r->f);
		esc(r, kind);
		fprintf(r->f, "</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
			"<td class=\"num\">%.2f</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
			"<td class=\"num\">%s</td></tr>\n", buf[0], buf[1], buf[2],
			sqlite3_column_type(st, 6) == SQLITE_NULL ? 0.0 : sqlite3_column_double(st, 6),
			buf[3], buf[4], buf[5]);
		if (n < 64) {
			if (nid < 0)
				snprintf(names + 48 * n, 48, "inferred %s", kind ? kind : "?");
			else
				snprintf(names + 48 * n, 48, "node %lld zone %lld %s", nid, zid, kind ? kind : "?");
			labels[n] = names + 48 * n;
			vals[n++] = sqlite3_column_type(st, 4) == SQLITE_NULL ? 0 : sqlite3_column_double(st, 4);
		}
	}
	fputs("</table>\n", r->f);
	{
		struct pcp_plot p = { "zone-lock-zones", "zone->lock acquisitions per second by zone and kind",
				      "average over the trace (the table above has the busiest window)",
				      "acquisitions / s", NULL, PCP_HU_RATE, PCP_HU_RATE };
		if (n)
			pcp_svg_hbars(r->f, &p, labels, vals, n);
	}
	free(names);
}

static void zone_lock_section(struct report *r)
{
	static const char *const kinds[] = { "refill", "drain" };
	struct pcp_plot hold = { "hold-hist", "zone->lock hold time", NULL,
				 "hold time (log2 buckets, lower bound shown)", "acquisitions",
				 PCP_HU_NS, PCP_HU_COUNT };
	struct pcp_plot pages = { "pages-hist", "Pages moved per zone->lock acquisition",
				  "how many pages each acquisition moved; against the pageset batch:"
				  " zone_lock_hold.at_batch_share.",
				  "pages (log2 buckets)", "acquisitions", PCP_HU_PAGES, PCP_HU_COUNT };

	zone_lock_tables(r);
	hold.caption = info_is(r, "lock_source", "inferred")
		? "from the first to the last block of each inferred acquisition (a lower bound of the"
		  " real hold); a long tail is lock contention felt by every CPU of the zone."
		: "from the *_zone_locked event to the last block moved under it (the release is not"
		  " traced: at least this long); a long tail is contention felt by the zone's CPUs.";
	log2_hist(r, &hold, "SELECT kind, lo_ns, hi_ns, acquisitions FROM zone_lock_hold_hist ORDER BY lo_ns",
		  kinds, 2, "no hold time (no acquisition with a block, or no time base).");
	log2_hist(r, &pages, "SELECT kind, lo_pages, hi_pages, acquisitions FROM zone_lock_pages_hist ORDER BY lo_pages",
		  kinds, 2, "no zone-lock acquisition.");
}

static void round_trip_section(struct report *r)
{
	static const char *const pairs[] = { "pairs" };
	static const char *const exits[] = { "alloc", "drain" };
	static const char *const phases[] = { "wait_before_alloc", "in_use", "wait_between_uses",
					      "wait_after_free" };
	struct pcp_plot rt = { "round-trip-hist", "Round trip: refill to drain of the same block",
			       "time a block spent between its refill onto a PCP list and its drain back"
			       " to the buddy allocator; short round trips (left) are wasted zone-lock work.",
			       "round-trip time (log2 buckets)", "pairs", PCP_HU_NS, PCP_HU_COUNT };
	struct pcp_plot res = { "residency-hist", "Residency on a PCP list",
				"how long a block stayed on a list before it was allocated from it (alloc)"
				" or drained (drain); drains of fresh blocks mean the list was too big.",
				"residency (log2 buckets)", "stays", PCP_HU_NS, PCP_HU_COUNT };
	struct pcp_plot ph = { "phase-hist", "Round trips split into phases",
			       "where a refilled block's time goes: waiting for its first allocation, in"
			       " use, waiting between uses, waiting after its last free for the drain.",
			       "phase duration (log2 buckets)", "round trips", PCP_HU_NS, PCP_HU_COUNT };

	fputs("<h2 id=\"round-trips\">Round trips and residency</h2>\n", r->f);
	log2_hist(r, &rt, "SELECT 'pairs', lo_ns, hi_ns, pairs FROM round_trip_hist ORDER BY lo_ns",
		  pairs, 1, "no completed round trip.");
	if (count_rows(r, "SELECT count(*) FROM lifecycle_cpu_flow")) {
		log2_hist(r, &res, "SELECT exit_kind, lo_ns, hi_ns, stays FROM lifecycle_residency_hist ORDER BY lo_ns",
			  exits, 2, "no stay with both ends in the trace.");
		log2_hist(r, &ph, "SELECT phase, lo_ns, hi_ns, round_trips FROM round_trip_phase_hist ORDER BY lo_ns",
			  phases, 4, "no round trip split into phases.");
	} else {
		pcp_svg_nodata(r->f, &res, "the trace has no mm_page_alloc / mm_page_free records"
			       " (record with pcprecord --lifecycle).");
	}
}

static void pair_matrix_section(struct report *r)
{
	size_t ncpu = (size_t)r->nr_cpus;
	double *grid;
	sqlite3_stmt *st;
	struct pcp_plot p = { "pair-matrix", "Cross-CPU pair matrix",
			      "completed round trips by the CPU that refilled the block (row) and the CPU"
			      " that drained it (column); off-diagonal cells are cross-CPU pairs.",
			      "drain CPU", "refill CPU", PCP_HU_COUNT, PCP_HU_COUNT };

	if (ncpu > PCP_HTML_MAX_PAIR_CPUS) {
		pcp_svg_nodata(r->f, &p, "too many CPUs for one cell per CPU pair; the busiest pairs"
			       " are in the database's v_cpu_pairs view.");
		return;
	}
	grid = calloc(ncpu * ncpu + 1, sizeof(double));
	if (!grid) {
		r->q.err = PCP_ERR_NOMEM;
		return;
	}
	st = prep(r, "SELECT refill_cpu, drain_cpu, pairs FROM pair_matrix");
	while (step(r, st)) {
		long long a = sqlite3_column_int64(st, 0), b = sqlite3_column_int64(st, 1);
		if (a >= 0 && b >= 0 && a < r->nr_cpus && b < r->nr_cpus)
			grid[(size_t)a * ncpu + (size_t)b] += sqlite3_column_double(st, 2);
	}
	if (count_rows(r, "SELECT count(*) FROM pair_matrix WHERE pairs > 0"))
		pcp_svg_heatmap(r->f, &p, ncpu, ncpu, 0, grid);
	else
		pcp_svg_nodata(r->f, &p, "no completed round trip.");
	free(grid);
}

/* Occupancy: the highest level in each column per CPU; a column without a row kept the
 * previous level (lifecycle_occupancy has rows only where the level changed). */
static void occupancy_section(struct report *r)
{
	size_t ncpu = (size_t)r->nr_cpus, ncol = r->nr_cols;
	double *grid, *level;
	unsigned char *seen;
	sqlite3_stmt *st;
	char colw[64], cap[400];
	struct pcp_plot p = { "occupancy", "PCP occupancy per CPU over time", NULL,
			      "time since the first event", "pages on the PCP lists",
			      PCP_HU_SECONDS, PCP_HU_PAGES };

	fputs("<h2 id=\"lifecycle\">PCP occupancy</h2>\n", r->f);
	if (!count_rows(r, "SELECT count(*) FROM lifecycle_cpu_flow")) {
		p.caption = "pages on each CPU's PCP lists.";
		pcp_svg_nodata(r->f, &p, "the trace has no mm_page_alloc / mm_page_free records"
			       " (record with pcprecord --lifecycle).");
		return;
	}
	grid = calloc(ncpu * ncol + 1, sizeof(double));
	level = calloc(ncpu + 1, sizeof(double));
	seen = calloc(ncpu * ncol + 1, 1);
	if (!grid || !level || !seen) {
		r->q.err = PCP_ERR_NOMEM;
		goto out;
	}
	st = prep(r, "SELECT cpu, occ_start FROM lifecycle_cpu_flow");
	while (step(r, st)) {
		long long cpu = sqlite3_column_int64(st, 0);
		if (cpu >= 0 && cpu < r->nr_cpus)
			level[cpu] = sqlite3_column_double(st, 1);
	}
	/* Rows in time order per CPU: a column's value is its highest occ_max, the level after it
	 * the occ_end of its last row. */
	st = prep(r, "SELECT cpu, bucket_start_ns / ?1, occ_max, occ_end FROM lifecycle_occupancy"
		     " ORDER BY cpu, bucket_start_ns");
	if (st)
		sqlite3_bind_int64(st, 1, (sqlite3_int64)r->col_ns);
	{
		double *end = calloc(ncpu * ncol + 1, sizeof(double));
		if (!end) {
			sqlite3_finalize(st);
			r->q.err = PCP_ERR_NOMEM;
			goto out;
		}
		while (step(r, st)) {
			long long cpu = sqlite3_column_int64(st, 0), c = sqlite3_column_int64(st, 1);
			size_t i;
			double mx = sqlite3_column_double(st, 2);
			if (cpu < 0 || cpu >= r->nr_cpus || c < 0)
				continue;
			if ((size_t)c >= ncol)
				c = (long long)ncol - 1;
			i = (size_t)cpu * ncol + (size_t)c;
			if (!seen[i] || mx > grid[i])
				grid[i] = mx;
			end[i] = sqlite3_column_double(st, 3);
			seen[i] = 1;
		}
		for (size_t cpu = 0; cpu < ncpu; cpu++) {
			for (size_t c = 0; c < ncol; c++) {
				size_t i = cpu * ncol + c;
				if (seen[i])
					level[cpu] = end[i];
				else
					grid[i] = level[cpu];
			}
		}
		free(end);
	}
	fmt(colw, sizeof(colw), r->col_ns, PCP_HU_NS);
	snprintf(cap, sizeof(cap), "pages on each CPU's PCP lists, the highest level in each window of"
		 " %s (%s); lists that fill and empty again show refill/drain churn.", colw,
		 info_is(r, "lifecycle_occupancy", "change") ? "a change from the trace's start, not a"
		 " level: no before snapshot" : "levels from the before snapshot");
	p.caption = cap;
	per_cpu_over_time(r, &p, grid);
out:
	free(grid);
	free(level);
	free(seen);
}

static void percpu_section(struct report *r)
{
	sqlite3_stmt *st;
	const char *labels[15];
	char *names[15] = { 0 };
	double vals[15], first = info_num(r, "first_ts_ns");
	size_t n = 0, ncol = r->nr_cols;
	double *cum;
	static const char *const bytes[] = { "outstanding bytes" };
	struct pcp_plot over = { "percpu-outstanding", "Percpu: bytes still allocated, by allocation time",
				 "cumulative bytes (all CPUs) of the allocations made during the trace and"
				 " not freed by its end, by when they were made; a line that keeps rising is"
				 " a leak candidate.", "time since the first event", "bytes",
				 PCP_HU_SECONDS, PCP_HU_BYTES };
	struct pcp_plot top = { "percpu-callsites", "Percpu: top call sites by outstanding bytes",
				"bytes (all CPUs) the call site allocated during the trace and had not freed"
				" at its end.", "outstanding bytes", NULL, PCP_HU_BYTES, PCP_HU_BYTES };

	fputs("<h2 id=\"percpu\">Percpu allocator</h2>\n", r->f);
	if (!count_rows(r, "SELECT count(*) FROM percpu_callsite")) {
		pcp_svg_nodata(r->f, &over, "the trace has no percpu:* allocation events.");
		return;
	}
	cum = calloc(ncol + 1, sizeof(double));
	if (!cum) {
		r->q.err = PCP_ERR_NOMEM;
		return;
	}
	st = prep(r, "SELECT max(0, (ts_ns - ?1) / ?2), sum(bytes_alloc) FROM percpu_outstanding"
		     " WHERE ts_ns IS NOT NULL GROUP BY 1");
	if (st) {
		sqlite3_bind_int64(st, 1, isnan(first) ? 0 : (sqlite3_int64)first);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)r->col_ns);
	}
	while (step(r, st)) {
		long long c = sqlite3_column_int64(st, 0);
		if ((size_t)c >= ncol)
			c = (long long)ncol - 1;
		cum[c] += sqlite3_column_double(st, 1);
	}
	for (size_t c = 1; c < ncol; c++)
		cum[c] += cum[c - 1];
	if (count_rows(r, "SELECT count(*) FROM percpu_outstanding"))
		pcp_svg_lines(r->f, &over, r->col_ns / 1e9, ncol, bytes, 1, cum);
	else
		pcp_svg_nodata(r->f, &over, "every allocation made during the trace was freed.");
	free(cum);
	/* Nothing outstanding: the call sites that allocated the most instead. */
	if (!count_rows(r, "SELECT count(*) FROM percpu_callsite WHERE outstanding_bytes > 0")) {
		top.title = "Percpu: top call sites by bytes allocated";
		top.caption = "bytes (all CPUs) the call site allocated during the trace (all of it was"
			      " freed again by its end).";
		top.xlabel = "bytes allocated";
		st = prep(r, "SELECT coalesce(symbol, printf('0x%x', call_site)), bytes_alloc"
			     " FROM percpu_callsite ORDER BY bytes_alloc DESC, allocs DESC, call_site LIMIT 15");
	} else {
		st = prep(r, "SELECT coalesce(symbol, printf('0x%x', call_site)), outstanding_bytes"
			     " FROM percpu_callsite ORDER BY outstanding_bytes DESC, allocs DESC, call_site LIMIT 15");
	}
	while (step(r, st)) {
		const char *s = (const char *)sqlite3_column_text(st, 0);
		names[n] = strdup(s ? s : "?");
		labels[n] = names[n];
		vals[n++] = sqlite3_column_double(st, 1);
	}
	pcp_svg_hbars(r->f, &top, labels, vals, n);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	fputs("<table class=\"callsites\"><tr><th>call site</th><th>allocs</th><th>frees</th>"
	      "<th>fails</th><th>bytes allocated</th><th>outstanding</th></tr>\n", r->f);
	st = prep(r, "SELECT coalesce(symbol, printf('0x%x', call_site)), allocs, frees, fails,"
		     " bytes_alloc, outstanding_bytes FROM percpu_callsite ORDER BY outstanding_bytes DESC,"
		     " allocs DESC, call_site LIMIT 15");
	while (step(r, st)) {
		char b1[64], b2[64];
		fputs("<tr><td>", r->f);
		esc(r, (const char *)sqlite3_column_text(st, 0));
		fmt(b1, sizeof(b1), sqlite3_column_double(st, 4), PCP_HU_BYTES);
		fmt(b2, sizeof(b2), sqlite3_column_double(st, 5), PCP_HU_BYTES);
		fprintf(r->f, "</td><td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
			"<td class=\"num\">%lld</td><td class=\"num\">%s</td><td class=\"num\">%s</td></tr>\n",
			sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
			sqlite3_column_int64(st, 3), b1, b2);
	}
	fputs("</table>\n", r->f);
}

/* A tiny self-check for the browser test: counts the drawn plots and notes when the page was
 * parsed (ms since navigation; the report must open in about a second). */
static const char self_check_js[] =
	"(function(){var f=document.querySelectorAll('figure.plot'),n=0;"
	"for(var i=0;f.length>i;i++){if(f[i].querySelector('svg'))n++;}"
	"document.body.setAttribute('data-rendered',n+'/'+f.length);"
	"document.body.setAttribute('data-parsed-ms',Math.round(performance.now()));})();";

int pcp_html_report_render(FILE *f, sqlite3 *db, const char *db_label, char *errbuf, size_t errlen)
{
	struct report r = { .f = f, .q = { .db = db } };
	double ncpu;

	load_info(&r);
	ncpu = info_num(&r, "nr_cpus");
	r.nr_cpus = ncpu >= 1 && ncpu <= 65536 ? (long long)ncpu : 0;
	if (!r.nr_cpus)
		r.nr_cpus = count_rows(&r, "SELECT count(*) FROM cpu_flow");
	if (!r.nr_cpus)
		r.nr_cpus = 1;
	time_columns(&r);
	fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head>"
	      "<meta charset=\"utf-8\"/><title>pcptrace report: ", f);
	esc(&r, info(&r, "trace_file") ? info(&r, "trace_file") : db_label);
	fprintf(f, "</title><style>%s</style></head>\n<body>\n", pcp_html_css);
	header(&r, db_label);
	warnings(&r);
	fputs("<p><small>Contents: <a href=\"#timeline\">over time</a>"
	      " &#183; <a href=\"#zone-lock\">zone-&gt;lock</a> &#183; <a href=\"#round-trips\">round"
	      " trips</a> &#183; <a href=\"#pairs\">pair matrix</a> &#183; <a href=\"#lifecycle\">occupancy</a>"
	      " &#183; <a href=\"#percpu\">percpu</a> &#183; <a href=\"#metrics\">headline metrics</a></small></p>\n", f);
	timeline_section(&r);
	zone_lock_section(&r);
	round_trip_section(&r);
	fputs("<h2 id=\"pairs\">Which CPU drains what another refilled</h2>\n", f);
	pair_matrix_section(&r);
	occupancy_section(&r);
	percpu_section(&r);
	metrics_table(&r);
	fprintf(f, "<p><small>Written by pcptrace %s from the results database; every plot is"
		" aggregated from its tables (schema.sql).</small></p>\n<script>%s</script>\n</body></html>\n",
		info(&r, "pcptrace_version") ? info(&r, "pcptrace_version") : "", self_check_js);
	for (size_t i = 0; i < r.nr_info; i++) {
		free(r.info[i].key);
		free(r.info[i].value);
	}
	free(r.info);
	if (r.q.err) {
		pcp_errorf(errbuf, errlen, r.q.err, "cannot draw the report: %s",
			   r.q.errmsg ? r.q.errmsg : pcp_strerror(r.q.err));
		free(r.q.errmsg);
		return r.q.err;
	}
	return PCP_OK;
}

/* A merged database: TEMP views named as the single-run tables, over one run's rows (TEMP
 * objects come first in SQLite's name lookup), so the renderer reads it as a single run. */
static int select_run(sqlite3 *db, long long run, char *errbuf, size_t errlen)
{
	sqlite3_stmt *st = NULL, *cols = NULL;
	long long nr_runs = 0, found = 0;
	char *sql = NULL;
	int err = PCP_OK;

	if (sqlite3_prepare_v2(db, "SELECT count(*), sum(run = ?1) FROM run", -1, &st, NULL) != SQLITE_OK)
		return pcp_errorf(errbuf, errlen, PCP_ERR_DB, "%s", sqlite3_errmsg(db));
	sqlite3_bind_int64(st, 1, run);
	if (sqlite3_step(st) == SQLITE_ROW) {
		nr_runs = sqlite3_column_int64(st, 0);
		found = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (run < 0) {
		if (nr_runs != 1)
			return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
					  "a merged database of %lld runs: choose one with --run N", nr_runs);
		if (sqlite3_prepare_v2(db, "SELECT run FROM run", -1, &st, NULL) != SQLITE_OK)
			return pcp_errorf(errbuf, errlen, PCP_ERR_DB, "%s", sqlite3_errmsg(db));
		if (sqlite3_step(st) == SQLITE_ROW)
			run = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	} else if (!found) {
		return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE, "no run %lld in this merged database", run);
	}
	if (sqlite3_prepare_v2(db, "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name"
			       " NOT IN ('run', 'run_label') AND name NOT LIKE 'sqlite%'", -1, &st, NULL) != SQLITE_OK)
		return pcp_errorf(errbuf, errlen, PCP_ERR_DB, "%s", sqlite3_errmsg(db));
	while (!err && sqlite3_step(st) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(st, 0);
		char *q = sqlite3_mprintf("SELECT name FROM pragma_table_info(%Q) WHERE name != 'run'", table);
		sql = sqlite3_mprintf("CREATE TEMP VIEW \"%w\" AS SELECT ", table);
		if (!q || !sql || sqlite3_prepare_v2(db, q, -1, &cols, NULL) != SQLITE_OK) {
			err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "%s", sqlite3_errmsg(db));
		} else {
			int first = 1;
			while (sqlite3_step(cols) == SQLITE_ROW) {
				char *grown = sqlite3_mprintf("%s%s\"%w\"", sql, first ? "" : ", ",
							      (const char *)sqlite3_column_text(cols, 0));
				sqlite3_free(sql);
				sql = grown;
				first = 0;
				if (!sql)
					break;
			}
			if (sql) {
				char *grown = sqlite3_mprintf("%s FROM main.\"%w\" WHERE run = %lld", sql, table, run);
				sqlite3_free(sql);
				sql = grown;
			}
			if (!sql || sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
				err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "%s", sqlite3_errmsg(db));
		}
		sqlite3_finalize(cols);
		cols = NULL;
		sqlite3_free(q);
		sqlite3_free(sql);
		sql = NULL;
	}
	sqlite3_finalize(st);
	return err;
}

int pcp_html_prepare_buffer(struct pcp_outfile *out, const char *path, const char *doc,
			    size_t len, char *errbuf, size_t errlen)
{
	int err = pcp_outfile_open(out, path, errbuf, errlen);

	if (err)
		return err;
	if (pcp_io_write_all(out->fd, doc, len)) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_IO, "cannot write: %s", strerror(errno));
		pcp_outfile_abort(out);
		return err;
	}
	return pcp_outfile_finish(out, errbuf, errlen);
}

int pcp_html_report_prepare(struct pcp_outfile *out, const char *html_path, const char *db_path,
			    const char *db_label, long long run, char *errbuf, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *doc = NULL;
	size_t len = 0;
	FILE *f;
	int err, merged = 0;

	err = pcp_results_db_open(db_path, &db, errbuf, errlen);
	if (err)
		return err;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = 'run'",
			       -1, &st, NULL) == SQLITE_OK)
		merged = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (merged)
		err = select_run(db, run, errbuf, errlen);
	else if (run >= 0)
		err = pcp_errorf(errbuf, errlen, PCP_ERR_USAGE, "--run applies to merged databases only");
	if (err) {
		sqlite3_close(db);
		return err;
	}
	f = open_memstream(&doc, &len);
	if (!f) {
		sqlite3_close(db);
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
	}
	err = pcp_html_report_render(f, db, db_label ? db_label : db_path, errbuf, errlen);
	if (fclose(f) && !err)
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
	sqlite3_close(db);
	if (!err)
		err = pcp_html_prepare_buffer(out, html_path, doc, len, errbuf, errlen);
	free(doc);
	return err;
}
