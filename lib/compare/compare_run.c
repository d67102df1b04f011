/* The metrics of one run for compare: read from a results database, or taken in memory from
 * the analysis of a trace.dat (no database written). Both give the same run: the values, units
 * and directions the database would hold, ordered by name as the database is read. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "compare/compare.h"
#include "common/error.h"
#include "compare/results_db.h"
#include "model/lifecycle.h"
#include "model/percpu.h"
#include "model/lock_cause.h"
#include "output/store.h"
#include "common/util.h"

void pcp_run_release(struct pcp_run *run)
{
	for (size_t i = 0; i < run->nr_metrics; i++) {
		free(run->metrics[i].name);
		free(run->metrics[i].unit);
		free(run->metrics[i].better);
	}
	free(run->metrics);
	free(run->source);
	free(run->refill_source);
	free(run->filter);
	memset(run, 0, sizeof(*run));
}

static char *column_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return strdup(t ? (const char *)t : "");
}

static int read_run_db(const char *path, struct pcp_run *run, char *errbuf, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc, err = PCP_OK;
	size_t cap = 0;

	/* read-only, defensive, and only if it is our schema, object by object (results_db.h) */
	if ((err = pcp_results_db_open(path, &db, errbuf, errlen)) != PCP_OK)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT key, value FROM trace_info WHERE key IN "
				   "('schema_version', 'refill_source', 'lossy', 'events_lost', "
				   "'events_lost_unknown', 'filter')", -1, &st, NULL) != SQLITE_OK) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_SCHEMA, "not a pcptrace results database (%s)",
				sqlite3_errmsg(db));
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		if (!strcmp(key, "schema_version"))
			run->schema_version = sqlite3_column_int(st, 1);
		else if (!strcmp(key, "lossy"))
			run->lossy = sqlite3_column_int(st, 1) != 0;
		else if (!strcmp(key, "events_lost"))
			run->events_lost = (unsigned long long)sqlite3_column_int64(st, 1);
		else if (!strcmp(key, "events_lost_unknown"))
			run->events_lost_unknown = (unsigned long long)sqlite3_column_int64(st, 1);
		else if (!strcmp(key, "filter")) {
			free(run->filter);
			run->filter = column_text(st, 1);
		} else if (!run->refill_source)
			run->refill_source = column_text(st, 1);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "cannot read trace_info: %s", sqlite3_errmsg(db));
		goto out;
	}
	/* databases from before windows and filters analyzed the whole trace */
	if (!run->filter && !(run->filter = strdup("none"))) {
		err = PCP_ERR_NOMEM;
		goto out;
	}
	if (run->schema_version != PCP_SCHEMA_VERSION) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_SCHEMA, "schema version %d, this pcpanalyze reads %d",
				run->schema_version, PCP_SCHEMA_VERSION);
		goto out;
	}
	/* A merged database holds many runs in one metrics table: reading it as one run would
	 * silently compare its first run only. */
	if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM run", -1, &st, NULL) == SQLITE_OK) {
		long long runs = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		err = pcp_errorf(errbuf, errlen, PCP_ERR_SCHEMA,
				"a merged database (%lld runs): compare the single-run databases or "
				"traces it was made from", runs);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT name, value, unit, better FROM metrics ORDER BY name", -1,
			       &st, NULL) != SQLITE_OK) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_SCHEMA, "no metrics table (%s)", sqlite3_errmsg(db));
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct pcp_run_metric *m;
		if (run->nr_metrics == cap) {
			size_t ncap = cap ? 2 * cap : 32;
			void *p = realloc(run->metrics, ncap * sizeof(*run->metrics));
			if (!p) {
				err = PCP_ERR_NOMEM;
				goto out;
			}
			run->metrics = p;
			cap = ncap;
		}
		m = &run->metrics[run->nr_metrics++];
		m->name = column_text(st, 0);
		/* NULL = undefined (METRICS.md): NAN here, never 0 */
		m->value = sqlite3_column_type(st, 1) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 1);
		m->unit = column_text(st, 2);
		m->better = column_text(st, 3);
		if (!m->name || !m->unit || !m->better) {
			err = PCP_ERR_NOMEM;
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "cannot read metrics: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return err;
}

/* Appends copies of a model's metric rows (a database's metrics rows, in memory). */
static int run_add_metrics(struct pcp_run *run, const struct pcp_metric *rows, size_t n)
{
	struct pcp_run_metric *grown;

	if (!n)
		return PCP_OK;
	grown = realloc(run->metrics, (run->nr_metrics + n) * sizeof(*grown));
	if (!grown)
		return PCP_ERR_NOMEM;
	run->metrics = grown;
	for (size_t i = 0; i < n; i++) {
		struct pcp_run_metric *m = &run->metrics[run->nr_metrics++];

		m->name = strdup(rows[i].name);
		m->value = rows[i].value;
		m->unit = strdup(rows[i].unit);
		m->better = strdup(rows[i].better);
		if (!m->name || !m->unit || !m->better)
			return PCP_ERR_NOMEM;
	}
	return PCP_OK;
}

static int cmp_run_metric_name(const void *a, const void *b)
{
	const struct pcp_run_metric *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* What read_run_db would read from this analysis's database: trace_info's schema_version,
 * refill_source and losses, the metrics rows (PCP, percpu, lifecycle) ordered by name. */
static int run_from_analysis(const struct pcp_analysis *a, struct pcp_run *run)
{
	const struct pcp_churn_results *c = a->churn;
	int err;

	run->schema_version = PCP_SCHEMA_VERSION;
	run->lossy = c->lossy;
	run->events_lost = c->events_lost;
	run->events_lost_unknown = c->lost_unknown_marks;
	run->refill_source = strdup(pcp_refill_source_name(a->refill_source));
	run->filter = strdup(a->filter ? a->filter : "none");
	if (!run->refill_source || !run->filter)
		return PCP_ERR_NOMEM;
	err = run_add_metrics(run, c->metrics, c->nr_metrics);
	if (!err && a->percpu)
		err = run_add_metrics(run, a->percpu->metrics, a->percpu->nr_metrics);
	if (!err && a->lifecycle)
		err = run_add_metrics(run, a->lifecycle->metrics, a->lifecycle->nr_metrics);
	if (!err && a->lock_cause)
		err = run_add_metrics(run, a->lock_cause->metrics, a->lock_cause->nr_metrics);
	if (err)
		return err;
	qsort(run->metrics, run->nr_metrics, sizeof(*run->metrics), cmp_run_metric_name);
	return PCP_OK;
}

static int read_run_trace(const char *path, const struct pcp_analyze_opts *opts,
			  struct pcp_run *run, char *errbuf, size_t errlen)
{
	struct pcp_analysis *a = NULL;
	int err = pcp_analyze_file(path, opts, &a, errbuf, errlen);

	if (!err && (err = run_from_analysis(a, run)))
		pcp_errorf(errbuf, errlen, err, "%s", pcp_strerror(err));
	pcp_analysis_free(a);
	return err;
}

int pcp_run_load(const char *path, const struct pcp_analyze_opts *opts, struct pcp_run *out,
		 char *errbuf, size_t errlen)
{
	int kind, err;

	memset(out, 0, sizeof(*out));
	out->source = strdup(path);
	if (!out->source)
		return PCP_ERR_NOMEM;
	kind = pcp_file_kind(path);
	if (kind < 0)
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOFILE, "%s", strerror(-kind));
	else if (kind == PCP_FILE_SQLITE)
		err = read_run_db(path, out, errbuf, errlen);
	else if (kind == PCP_FILE_TRACE_DAT)
		err = read_run_trace(path, opts, out, errbuf, errlen);
	else
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOT_TRACE,
				"neither a results database nor a trace.dat file");
	if (err) {
		pcp_run_release(out);
		return err;
	}
	return PCP_OK;
}
