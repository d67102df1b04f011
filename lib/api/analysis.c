/* The public analysis group (pcp_analysis(3)): options, pcp_analyze_file(), metrics and tables
 * read from the results, the database / JSON / text written by the store and the report. The
 * handle is the internal struct pcp_analysis itself (lib/model/analyze.h: pcp_analysis_free()
 * is defined there); the options wrap struct pcp_analyze_opts. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "common/error.h"
#include "model/lock_cause.h"
#include "model/analyze.h"
#include "model/churn.h"
#include "model/lifecycle.h"
#include "model/percpu.h"
#include "output/outfile.h"
#include "output/report.h"
#include "output/store.h"

_Static_assert(PCP_ANALYSIS_INFER_GAP_AUTO == PCP_INFER_GAP_AUTO, "the same auto marker");

struct pcp_analysis_opts {
	struct pcp_analyze_opts o;
	char *buffer;            /* owned; o.buffer points to it */
};

PCP_API struct pcp_analysis_opts *pcp_analysis_opts_new(void)
{
	struct pcp_analysis_opts *opts = calloc(1, sizeof(*opts));

	if (!opts) {
		pcp_api_fail(PCP_ERR_NOMEM, NULL, NULL);
		return NULL;
	}
	pcp_analyze_opts_default(&opts->o);
	return opts;
}

PCP_API void pcp_analysis_opts_free(struct pcp_analysis_opts *opts)
{
	if (!opts)
		return;
	free(opts->buffer);
	free(opts);
}

static int no_opts(void)
{
	return pcp_api_fail(PCP_ERR_USAGE, NULL, "analysis options are NULL");
}

PCP_API int pcp_analysis_opts_set_churn_window(struct pcp_analysis_opts *opts, uint64_t ns)
{
	if (!opts)
		return no_opts();
	opts->o.churn_window_ns = ns;
	return PCP_OK;
}

PCP_API int pcp_analysis_opts_set_bucket(struct pcp_analysis_opts *opts, uint64_t ns)
{
	if (!opts)
		return no_opts();
	if (!ns)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "bucket: expects a positive number of nanoseconds");
	opts->o.bucket_ns = ns;
	return PCP_OK;
}

PCP_API int pcp_analysis_opts_set_top(struct pcp_analysis_opts *opts, unsigned n)
{
	if (!opts)
		return no_opts();
	if (n > 100000000)   /* pcpanalyze --top's limit */
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "top: expects a count up to 100000000");
	opts->o.top_n = n;
	return PCP_OK;
}

PCP_API int pcp_analysis_opts_set_refill_source(struct pcp_analysis_opts *opts, const char *source)
{
	if (!opts)
		return no_opts();
	if (!source || !strcmp(source, "auto"))
		opts->o.refill_source = PCP_REFILL_AUTO;
	else if (!strcmp(source, "native"))
		opts->o.refill_source = PCP_REFILL_NATIVE;
	else if (!strcmp(source, "fallback"))
		opts->o.refill_source = PCP_REFILL_FALLBACK;
	else
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "refill source: expects native, fallback or auto");
	return PCP_OK;
}

PCP_API int pcp_analysis_opts_set_infer_gap(struct pcp_analysis_opts *opts, uint64_t ns)
{
	if (!opts)
		return no_opts();
	opts->o.infer_gap_ns = ns;
	return PCP_OK;
}

PCP_API int pcp_analysis_opts_set_buffer(struct pcp_analysis_opts *opts, const char *buffer)
{
	char *copy = NULL;

	if (!opts)
		return no_opts();
	if (buffer && !*buffer)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "buffer: expects a buffer name (top for the top-level one)");
	if (buffer && !(copy = strdup(buffer)))
		return pcp_api_fail(PCP_ERR_NOMEM, NULL, NULL);
	free(opts->buffer);
	opts->buffer = copy;
	opts->o.buffer = copy;
	return PCP_OK;
}

const struct pcp_analyze_opts *pcp_api_analyze_opts(const struct pcp_analysis_opts *opts)
{
	return opts ? &opts->o : NULL;
}

struct pcp_analysis_opts *pcp_api_analysis_opts_dup(const struct pcp_analysis_opts *opts)
{
	struct pcp_analysis_opts *copy = pcp_analysis_opts_new();

	if (!copy || !opts)
		return copy;
	copy->o = opts->o;
	copy->o.buffer = NULL;
	if (pcp_analysis_opts_set_buffer(copy, opts->buffer)) {
		pcp_analysis_opts_free(copy);
		return NULL;
	}
	return copy;
}

PCP_API int pcp_analysis_run(const char *path, const struct pcp_analysis_opts *opts,
			     struct pcp_analysis **out)
{
	char errbuf[512] = "";
	int err;

	if (!out)
		return pcp_api_fail(PCP_ERR_USAGE, path, "no place for the results (out is NULL)");
	*out = NULL;
	if (!path)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "pcp_analysis_run: path is NULL");
	err = pcp_analyze_file(path, opts ? &opts->o : NULL, out, errbuf, sizeof(errbuf));
	return err ? pcp_api_fail(err, path, errbuf) : PCP_OK;
}

/* ---- metrics: the PCP ones, the percpu ones, the lifecycle ones, the lock-cause ones (the
 * metrics table's order) ---- */

static const struct pcp_metric *metric_at(const struct pcp_analysis *a, size_t i)
{
	if (!a || !a->churn)
		return NULL;
	if (i < a->churn->nr_metrics)
		return &a->churn->metrics[i];
	i -= a->churn->nr_metrics;
	if (a->percpu && i < a->percpu->nr_metrics)
		return &a->percpu->metrics[i];
	i -= a->percpu ? a->percpu->nr_metrics : 0;
	if (a->lifecycle && i < a->lifecycle->nr_metrics)
		return &a->lifecycle->metrics[i];
	i -= a->lifecycle ? a->lifecycle->nr_metrics : 0;
	return a->lock_cause && i < a->lock_cause->nr_metrics ? &a->lock_cause->metrics[i] : NULL;
}

static const struct pcp_metric *metric_named(const struct pcp_analysis *a, const char *name)
{
	const struct pcp_metric *m;

	for (size_t i = 0; name && (m = metric_at(a, i)); i++)
		if (!strcmp(m->name, name))
			return m;
	return NULL;
}

PCP_API size_t pcp_analysis_metric_count(const struct pcp_analysis *a)
{
	if (!a || !a->churn)
		return 0;
	return a->churn->nr_metrics + (a->percpu ? a->percpu->nr_metrics : 0) +
	       (a->lifecycle ? a->lifecycle->nr_metrics : 0) +
	       (a->lock_cause ? a->lock_cause->nr_metrics : 0);
}

PCP_API const char *pcp_analysis_metric_name(const struct pcp_analysis *a, size_t i)
{
	const struct pcp_metric *m = metric_at(a, i);

	return m ? m->name : NULL;
}

PCP_API int pcp_analysis_metric(const struct pcp_analysis *a, const char *name, double *value)
{
	const struct pcp_metric *m = metric_named(a, name);

	if (!m) {
		if (value)
			*value = NAN;
		pcp_api_failf(PCP_ERR_USAGE, NULL, "no metric named %s", name ? name : "(null)");
		return -1;
	}
	if (value)
		*value = m->value;
	return !isnan(m->value);   /* undefined metrics are NAN (NULL in the contract) */
}

PCP_API const char *pcp_analysis_metric_unit(const struct pcp_analysis *a, const char *name,
					     const char **better)
{
	const struct pcp_metric *m = metric_named(a, name);

	if (better)
		*better = m ? (m->better ? m->better : "none") : NULL;
	return m ? (m->unit ? m->unit : "") : NULL;
}

/* ---- tables: the database's tables of the same names, read from the model's arrays ---- */

enum column_type { COL_ROW, COL_U64, COL_I64, COL_U32, COL_I32, COL_KIND, COL_REAL,
		   COL_SNAP_I64 /* int64, NAN (NULL) without the after snapshot */ };

struct column {
	const char *name;
	enum column_type type;
	size_t offset;
};

struct table {
	const char *name;
	size_t row_size;
	const struct column *columns;
	size_t nr_columns;
};

#define COL(s, field, type) { #field, type, offsetof(struct s, field) }
#define TABLE(name, s, cols) { name, sizeof(struct s), cols, sizeof(cols) / sizeof(cols[0]) }

static const struct column cpu_flow_columns[] = {
	{ "cpu", COL_ROW, 0 },
	COL(pcp_cpu_flow, refill_blocks, COL_U64), COL(pcp_cpu_flow, refill_pages, COL_U64),
	COL(pcp_cpu_flow, drain_blocks, COL_U64), COL(pcp_cpu_flow, drain_pages, COL_U64),
	COL(pcp_cpu_flow, net_pages, COL_I64), COL(pcp_cpu_flow, refill_locks, COL_U64),
	COL(pcp_cpu_flow, drain_locks, COL_U64), COL(pcp_cpu_flow, lost_events, COL_U64),
};
static const struct column pair_matrix_columns[] = {
	COL(pcp_pair_cell, refill_cpu, COL_U32), COL(pcp_pair_cell, drain_cpu, COL_U32),
	COL(pcp_pair_cell, pairs, COL_U64), COL(pcp_pair_cell, pages, COL_U64),
};
static const struct column round_trip_hist_columns[] = {
	COL(pcp_hist_bucket, lo_ns, COL_U64), COL(pcp_hist_bucket, hi_ns, COL_U64),
	COL(pcp_hist_bucket, pairs, COL_U64), COL(pcp_hist_bucket, pages, COL_U64),
};
static const struct column zone_lock_columns[] = {
	COL(pcp_zone_lock_row, nid, COL_I32), COL(pcp_zone_lock_row, zid, COL_I32),
	COL(pcp_zone_lock_row, kind, COL_KIND), COL(pcp_zone_lock_row, acquisitions, COL_U64),
	COL(pcp_zone_lock_row, target_pages, COL_U64), COL(pcp_zone_lock_row, moved_pages, COL_U64),
	COL(pcp_zone_lock_row, per_second, COL_REAL), COL(pcp_zone_lock_row, peak_per_second, COL_REAL),
};
static const struct column timeline_columns[] = {
	COL(pcp_timeline_row, bucket_start_ns, COL_U64), COL(pcp_timeline_row, cpu, COL_U32),
	COL(pcp_timeline_row, refill_pages, COL_U64), COL(pcp_timeline_row, drain_pages, COL_U64),
	COL(pcp_timeline_row, refill_locks, COL_U64), COL(pcp_timeline_row, drain_locks, COL_U64),
};
static const struct column zone_lock_timeline_columns[] = {
	COL(pcp_zone_timeline_row, bucket_start_ns, COL_U64), COL(pcp_zone_timeline_row, nid, COL_I32),
	COL(pcp_zone_timeline_row, zid, COL_I32), COL(pcp_zone_timeline_row, kind, COL_KIND),
	COL(pcp_zone_timeline_row, acquisitions, COL_U64),
};

/* Lifecycle tables (issue 11): rows only when the trace has alloc/free records. exit_kind
 * and phase read as the index of their names (alloc 0, drain 1; wait_before_alloc 0, in_use
 * 1, wait_between_uses 2, wait_after_free 3); lifecycle_task's comm is not a number. */
static const struct column lc_cpu_flow_columns[] = {
	{ "cpu", COL_ROW, 0 },
	COL(pcp_lc_cpu_flow, pcp_allocs, COL_U64), COL(pcp_lc_cpu_flow, buddy_allocs, COL_U64),
	COL(pcp_lc_cpu_flow, unclassified_allocs, COL_U64),
	COL(pcp_lc_cpu_flow, free_entries, COL_U64), COL(pcp_lc_cpu_flow, buddy_frees, COL_U64),
	COL(pcp_lc_cpu_flow, refill_blocks, COL_U64), COL(pcp_lc_cpu_flow, refill_pages, COL_U64),
	COL(pcp_lc_cpu_flow, drain_blocks, COL_U64), COL(pcp_lc_cpu_flow, drain_pages, COL_U64),
	COL(pcp_lc_cpu_flow, unused_refills, COL_U64), COL(pcp_lc_cpu_flow, remote_drains, COL_U64),
	COL(pcp_lc_cpu_flow, occ_start, COL_I64), COL(pcp_lc_cpu_flow, occ_min, COL_I64),
	COL(pcp_lc_cpu_flow, occ_mean, COL_REAL), COL(pcp_lc_cpu_flow, occ_max, COL_I64),
	COL(pcp_lc_cpu_flow, occ_end, COL_I64), COL(pcp_lc_cpu_flow, snapshot_end, COL_SNAP_I64),
	COL(pcp_lc_cpu_flow, end_diff, COL_SNAP_I64),
};
static const struct column lc_residency_columns[] = {
	COL(pcp_lc_residency_row, exit_kind, COL_U32), COL(pcp_lc_residency_row, lo_ns, COL_U64),
	COL(pcp_lc_residency_row, hi_ns, COL_U64), COL(pcp_lc_residency_row, stays, COL_U64),
	COL(pcp_lc_residency_row, pages, COL_U64),
};
static const struct column lc_occupancy_columns[] = {
	COL(pcp_lc_occ_row, bucket_start_ns, COL_U64), COL(pcp_lc_occ_row, cpu, COL_U32),
	COL(pcp_lc_occ_row, changes, COL_U64), COL(pcp_lc_occ_row, occ_min, COL_I64),
	COL(pcp_lc_occ_row, occ_max, COL_I64), COL(pcp_lc_occ_row, occ_end, COL_I64),
	COL(pcp_lc_occ_row, occ_mean, COL_REAL),
};
static const struct column lc_task_columns[] = {
	COL(pcp_lc_task, pid, COL_I32), COL(pcp_lc_task, refill_blocks, COL_U64),
	COL(pcp_lc_task, refill_pages, COL_U64), COL(pcp_lc_task, drain_blocks, COL_U64),
	COL(pcp_lc_task, drain_pages, COL_U64), COL(pcp_lc_task, lock_acquisitions, COL_U64),
	COL(pcp_lc_task, allocs, COL_U64), COL(pcp_lc_task, pcp_allocs, COL_U64),
	COL(pcp_lc_task, buddy_allocs, COL_U64), COL(pcp_lc_task, frees, COL_U64),
	COL(pcp_lc_task, free_entries, COL_U64),
};
static const struct column rt_phase_columns[] = {
	COL(pcp_lc_phase_bucket, phase, COL_U32), COL(pcp_lc_phase_bucket, lo_ns, COL_U64),
	COL(pcp_lc_phase_bucket, hi_ns, COL_U64), COL(pcp_lc_phase_bucket, round_trips, COL_U64),
};

static const struct table tables[] = {
	TABLE("cpu_flow", pcp_cpu_flow, cpu_flow_columns),
	TABLE("pair_matrix", pcp_pair_cell, pair_matrix_columns),
	TABLE("round_trip_hist", pcp_hist_bucket, round_trip_hist_columns),
	TABLE("zone_lock", pcp_zone_lock_row, zone_lock_columns),
	TABLE("timeline", pcp_timeline_row, timeline_columns),
	TABLE("zone_lock_timeline", pcp_zone_timeline_row, zone_lock_timeline_columns),
	TABLE("lifecycle_cpu_flow", pcp_lc_cpu_flow, lc_cpu_flow_columns),
	TABLE("lifecycle_residency_hist", pcp_lc_residency_row, lc_residency_columns),
	TABLE("lifecycle_occupancy", pcp_lc_occ_row, lc_occupancy_columns),
	TABLE("lifecycle_task", pcp_lc_task, lc_task_columns),
	TABLE("round_trip_phase_hist", pcp_lc_phase_bucket, rt_phase_columns),
};

/* The table's rows in the results: base pointer and count. */
static const void *table_data(const struct pcp_analysis *a, const struct table *t, size_t *n)
{
	const struct pcp_churn_results *c = a->churn;
	const struct pcp_lifecycle_results *l = a->lifecycle;
	const char *name = t->name;

	if (!strncmp(name, "lifecycle_", 10) || !strcmp(name, "round_trip_phase_hist")) {
		*n = 0;
		if (!l)
			return NULL;
		if (!strcmp(name, "lifecycle_cpu_flow"))
			return *n = l->nr_cpus, l->cpu_flow;
		if (!strcmp(name, "lifecycle_residency_hist"))
			return *n = l->nr_residency, l->residency;
		if (!strcmp(name, "lifecycle_occupancy"))
			return *n = l->nr_occ_timeline, l->occ_timeline;
		if (!strcmp(name, "lifecycle_task"))
			return *n = l->nr_tasks, l->tasks;
		return *n = l->nr_rt_phase_hist, l->rt_phase_hist;
	}

	if (!strcmp(name, "cpu_flow"))
		return *n = c->cpu_flow ? c->nr_cpus : 0, c->cpu_flow;
	if (!strcmp(name, "pair_matrix"))
		return *n = c->nr_pair_cells, c->pair_matrix;
	if (!strcmp(name, "round_trip_hist"))
		return *n = c->nr_hist_buckets, c->round_trip_hist;
	if (!strcmp(name, "zone_lock"))
		return *n = c->nr_zone_lock, c->zone_lock;
	if (!strcmp(name, "zone_lock_timeline"))
		return *n = c->nr_zone_timeline, c->zone_timeline;
	return *n = c->nr_timeline, c->timeline;
}

static const struct table *table_named(const char *name)
{
	for (size_t i = 0; name && i < sizeof(tables) / sizeof(tables[0]); i++)
		if (!strcmp(tables[i].name, name))
			return &tables[i];
	pcp_api_failf(PCP_ERR_USAGE, NULL, "no table named %s (cpu_flow, pair_matrix, "
		      "round_trip_hist, zone_lock, timeline, zone_lock_timeline, lifecycle_cpu_flow, "
		      "lifecycle_residency_hist, lifecycle_occupancy, lifecycle_task, round_trip_phase_hist)",
		      name ? name : "(null)");
	return NULL;
}

PCP_API int pcp_analysis_table_rows(const struct pcp_analysis *a, const char *table, size_t *rows)
{
	const struct table *t = table_named(table);
	size_t n = 0;

	if (!t)
		return PCP_ERR_USAGE;
	if (!a || !a->churn || !rows)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "pcp_analysis_table_rows: NULL argument");
	table_data(a, t, &n);
	*rows = n;
	return PCP_OK;
}

static double column_value(const struct column *col, const char *row, size_t index)
{
	const char *p = row + col->offset;
	uint64_t u64;
	int64_t i64;
	uint32_t u32;
	int32_t i32;
	double d;

	switch (col->type) {
	case COL_ROW: return (double)index;
	case COL_U64: memcpy(&u64, p, sizeof(u64)); return (double)u64;
	case COL_I64: memcpy(&i64, p, sizeof(i64)); return (double)i64;
	case COL_U32: memcpy(&u32, p, sizeof(u32)); return u32;
	case COL_I32: memcpy(&i32, p, sizeof(i32)); return i32;
	case COL_KIND: {   /* zone_lock's and zone_lock_timeline's kind: 0 refill, 1 drain */
		enum pcp_lock_kind kind;

		memcpy(&kind, p, sizeof(kind));
		return kind;
	}
	case COL_REAL: memcpy(&d, p, sizeof(d)); return d;
	case COL_SNAP_I64:
		if (!((const struct pcp_lc_cpu_flow *)row)->has_snapshot_end)
			return NAN;
		memcpy(&i64, p, sizeof(i64));
		return (double)i64;
	}
	return NAN;
}

PCP_API int pcp_analysis_table_value(const struct pcp_analysis *a, const char *table, size_t row,
				     const char *column, double *value)
{
	const struct table *t = table_named(table);
	const char *base;
	size_t n = 0;

	if (!t)
		return PCP_ERR_USAGE;
	if (!a || !a->churn || !column || !value)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "pcp_analysis_table_value: NULL argument");
	base = table_data(a, t, &n);
	if (row >= n)
		return pcp_api_failf(PCP_ERR_USAGE, NULL, "%s has %zu rows, not %zu", t->name, n, row + 1);
	for (size_t i = 0; i < t->nr_columns; i++) {
		if (strcmp(t->columns[i].name, column))
			continue;
		*value = column_value(&t->columns[i], base + row * t->row_size, row);
		return PCP_OK;
	}
	return pcp_api_failf(PCP_ERR_USAGE, NULL, "%s has no column %s", t->name, column);
}

/* ---- outputs: what pcpanalyze writes, each atomic ---- */

static void emit_summary(FILE *out, const void *a)
{
	pcp_report_text(out, a);
}

static int write_json(const struct pcp_analysis *a, const char *path)
{
	char errbuf[512] = "";
	json_t *doc = pcp_report_json(a);
	int err;

	if (!doc)
		return pcp_api_fail(PCP_ERR_NOMEM, path, NULL);
	err = pcp_json_write(path, doc, errbuf, sizeof(errbuf));
	json_decref(doc);
	return err ? pcp_api_fail(err, strcmp(path, "-") ? path : "stdout", errbuf) : PCP_OK;
}

static int write_db(const struct pcp_analysis *a, const char *path)
{
	char errbuf[512] = "";
	int err;

	if (!strcmp(path, "-"))
		return pcp_api_fail(PCP_ERR_USAGE, path, "a database cannot go to standard output");
	err = pcp_store_write(path, a, errbuf, sizeof(errbuf));
	return err ? pcp_api_fail(err, path, errbuf) : PCP_OK;
}

PCP_API int pcp_analysis_write(const struct pcp_analysis *a, enum pcp_format format, const char *path)
{
	int err;

	if (!a || !path)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "pcp_analysis_write: NULL argument");
	if ((err = pcp_api_check_output(path, a->trace_file)))
		return err;
	switch (format) {
	case PCP_FORMAT_DB: return write_db(a, path);
	case PCP_FORMAT_JSON: return write_json(a, path);
	case PCP_FORMAT_TEXT: return pcp_api_write_text(path, emit_summary, a);
	default: break;
	}
	return pcp_api_failf(PCP_ERR_USAGE, path, "an analysis is written as text, JSON or a database, "
			     "not format %d", (int)format);
}
