/* Regression gate: metrics of several runs per side, medians against the base noise band. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compare/compare.h"
#include "compare/run_load.h"
#include "common/error.h"
#include "model/metric_table.h"
#include "common/util.h"

const char *pcp_verdict_name(enum pcp_verdict v)
{
	switch (v) {
	case PCP_VERDICT_BETTER: return "better";
	case PCP_VERDICT_WORSE: return "worse";
	case PCP_VERDICT_REGRESSION: return "regression";
	case PCP_VERDICT_CHANGED: return "changed";
	case PCP_VERDICT_NA: return "n/a";
	default: return "same";
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void pcp_side_stats_of(const double *values, size_t n, struct pcp_side_stats *out)
{
	double sorted[n ? n : 1];
	size_t nr_defined = 0;

	memset(out, 0, sizeof(*out));
	out->n = n;
	/* Undefined values (NAN, NULL in the database) are left out and counted. */
	for (size_t i = 0; i < n; i++) {
		if (isnan(values[i]))
			out->undefined++;
		else
			sorted[nr_defined++] = values[i];
	}
	n = nr_defined;
	if (!n) {
		out->median = out->min = out->max = NAN;
		return;
	}
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	out->min = sorted[0];
	out->max = sorted[n - 1];
	out->median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
}

enum pcp_verdict pcp_verdict_for(const struct pcp_side_stats *base, const struct pcp_side_stats *new_,
				 const char *better, double threshold_pct, double abs_floor)
{
	double width = fmax(fabs(base->median) * threshold_pct / 100.0, abs_floor);
	double lo = base->min - width, hi = base->max + width;
	int higher_is_worse;

	/* A value undefined in any run (0/0, no time base) is not a measurement: no verdict. */
	if (base->undefined || new_->undefined || base->n == 0 || new_->n == 0)
		return PCP_VERDICT_NA;
	if (new_->median >= lo && new_->median <= hi)
		return PCP_VERDICT_SAME;
	if (!better || (strcmp(better, "lower") && strcmp(better, "higher")))
		return PCP_VERDICT_CHANGED;
	higher_is_worse = !strcmp(better, "lower");
	if (higher_is_worse ? new_->median < lo : new_->median > hi)
		return PCP_VERDICT_BETTER;
	/* Worse beyond the threshold: a regression only when no new run overlaps the base range. */
	if (higher_is_worse ? new_->min > base->max : new_->max < base->min)
		return PCP_VERDICT_REGRESSION;
	return PCP_VERDICT_WORSE;
}

double pcp_compare_abs_floor(const char *unit)
{
	/* A ratio whose base is 0 (e.g. no cross-CPU pair at all) would otherwise turn any tiny
	 * rise into a regression: one percentage point is below what these runs can resolve. */
	return unit && !strcmp(unit, "ratio") ? 0.01 : 0.0;
}

double pcp_compare_default_threshold(const char *metric)
{
	const struct pcp_metric_def *d = pcp_metric_find(metric);

	return d ? d->threshold_pct : PCP_METRIC_THRESHOLD_DEFAULT;
}

/* The direction of the metric table; a metric it does not know keeps the run's. */
static const char *better_of(const struct pcp_run_metric *m)
{
	const struct pcp_metric_def *d = pcp_metric_find(m->name);

	return d ? pcp_metric_better_name(d->better) : m->better;
}

static int wanted(const struct pcp_compare_opts *opts, const char *name)
{
	if (!opts->only)
		return 1;
	for (size_t i = 0; i < opts->nr_only; i++)
		if (!strcmp(opts->only[i], name))
			return 1;
	return 0;
}

static double threshold_for(const struct pcp_compare_opts *opts, const char *name)
{
	for (size_t i = 0; i < opts->nr_thresholds; i++)
		if (!strcmp(opts->thresholds[i].name, name))
			return opts->thresholds[i].pct;
	return pcp_compare_default_threshold(name);
}

static const struct pcp_run_metric *find_metric(const struct pcp_run *run, const char *name)
{
	for (size_t i = 0; i < run->nr_metrics; i++)
		if (!strcmp(run->metrics[i].name, name))
			return &run->metrics[i];
	return NULL;
}

/* A metric takes part only when every run of both sides has it. */
static int collect(const struct pcp_run *runs, size_t n, const char *name, double *values)
{
	for (size_t i = 0; i < n; i++) {
		const struct pcp_run_metric *m = find_metric(&runs[i], name);
		if (!m)
			return 0;
		values[i] = m->value;
	}
	return 1;
}

static int verdict_rank(enum pcp_verdict v)
{
	static const int rank[] = {
		[PCP_VERDICT_REGRESSION] = 0, [PCP_VERDICT_WORSE] = 1, [PCP_VERDICT_CHANGED] = 2,
		[PCP_VERDICT_BETTER] = 3, [PCP_VERDICT_SAME] = 4, [PCP_VERDICT_NA] = 5,
	};
	return rank[v];
}

static int cmp_rows(const void *a, const void *b)
{
	const struct pcp_compare_row *x = a, *y = b;
	int d = verdict_rank(x->verdict) - verdict_rank(y->verdict);
	return d ? d : strcmp(x->name, y->name);
}

void pcp_compare_result_free(struct pcp_compare_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nr_rows; i++) {
		free(r->rows[i].name);
		free(r->rows[i].unit);
		free(r->rows[i].better);
	}
	free(r->rows);
	for (size_t i = 0; i < r->nr_base; i++)
		free(r->base_sources[i]);
	for (size_t i = 0; i < r->nr_new; i++)
		free(r->new_sources[i]);
	free(r->base_sources);
	free(r->new_sources);
	free(r->base_lossy);
	free(r->new_lossy);
	free(r->refill_source_base);
	free(r->refill_source_new);
	free(r);
}

/* 118608 -> "118,608", as the analysis summary prints counts. */

/* The side's runs were loaded by pcp_runs_load (req, in paths' order): the first failure is
 * the side's error, as when they were loaded one by one. */
static int load_side(char *const *paths, size_t n, const struct pcp_compare_opts *opts,
		     struct pcp_run *runs, const struct pcp_run_request *req, char *errbuf, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int err = req[i].err;
		if (err) {
			pcp_errorf(errbuf, errlen, err, "%s: %s", paths[i], req[i].reason);
			for (size_t j = 0; j < n; j++)
				pcp_run_release(&runs[j]);
			return err;
		}
	}
	/* A run that lost events undercounts pairs and overcounts unmatched drains: its metrics
	 * would sit in the band as if they were measured. */
	for (size_t i = 0; i < n && !opts->allow_lossy; i++) {
		if (runs[i].lossy) {
			char lost[64];
			int err;

			pcp_group_digits(lost, sizeof(lost), runs[i].events_lost);
			err = pcp_errorf(errbuf, errlen, PCP_ERR_LOSSY,
					 "%s: lost %s events%s; not comparable (--allow-lossy to compare anyway)",
					 paths[i], lost, runs[i].events_lost_unknown
					 ? " (and more of unknown count)" : "");
			for (size_t j = 0; j < n; j++)
				pcp_run_release(&runs[j]);
			return err;
		}
	}
	for (size_t i = 1; i < n && !opts->allow_different_windows; i++) {
		if (strcmp(runs[i].filter, runs[0].filter)) {
			int err = pcp_errorf(errbuf, errlen, PCP_ERR_WINDOW_MISMATCH,
					    "%s: analyzed with window/filter '%s', but %s with '%s' "
					    "(--allow-different-windows to compare anyway)", paths[i],
					    runs[i].filter, paths[0], runs[0].filter);
			for (size_t j = 0; j < n; j++)
				pcp_run_release(&runs[j]);
			return err;
		}
	}
	for (size_t i = 1; i < n; i++) {
		if (strcmp(runs[i].refill_source ? runs[i].refill_source : "",
			   runs[0].refill_source ? runs[0].refill_source : "") && !opts->allow_mode_mismatch) {
			int err = pcp_errorf(errbuf, errlen, PCP_ERR_MODE_MISMATCH,
					    "%s: refill source %s, but %s has %s", paths[i],
					    runs[i].refill_source, paths[0], runs[0].refill_source);
			for (size_t j = 0; j < n; j++)
				pcp_run_release(&runs[j]);
			return err;
		}
	}
	return PCP_OK;
}

static char **copy_paths(char *const *paths, size_t n)
{
	char **copy = calloc(n ? n : 1, sizeof(*copy));

	for (size_t i = 0; copy && i < n; i++)
		if (!(copy[i] = strdup(paths[i]))) {
			while (i--)
				free(copy[i]);
			free(copy);
			return NULL;
		}
	return copy;
}

int pcp_compare_runs(char *const *base_paths, size_t nr_base, char *const *new_paths, size_t nr_new,
		     const struct pcp_compare_opts *opts, struct pcp_compare_result **out,
		     char *errbuf, size_t errlen)
{
	struct pcp_run *base = NULL, *new_ = NULL;
	struct pcp_run_request *req = NULL;
	struct pcp_compare_result *r = NULL;
	double *bv = NULL, *nv = NULL;
	int err;

	*out = NULL;
	if (!nr_base || !nr_new)
		return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE, "need at least one run on each side");
	/* A NaN or infinite threshold makes the band NaN: every comparison with it is false, so
	 * identical runs would come out "worse". */
	for (size_t i = 0; i < opts->nr_thresholds; i++)
		if (!isfinite(opts->thresholds[i].pct) || opts->thresholds[i].pct < 0)
			return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
					 "--threshold %s: expects a finite non-negative percentage",
					 opts->thresholds[i].name);
	base = calloc(nr_base, sizeof(*base));
	new_ = calloc(nr_new, sizeof(*new_));
	bv = calloc(nr_base, sizeof(*bv));
	nv = calloc(nr_new, sizeof(*nv));
	r = calloc(1, sizeof(*r));
	if (!base || !new_ || !bv || !nv || !r) {
		free(base);
		free(new_);
		free(bv);
		free(nv);
		free(r);
		return PCP_ERR_NOMEM;
	}
	if (!(req = calloc(nr_base + nr_new, sizeof(*req)))) {
		err = PCP_ERR_NOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < nr_base + nr_new; i++)
		req[i] = (struct pcp_run_request){ .path = i < nr_base ? base_paths[i] : new_paths[i - nr_base],
						   .run = i < nr_base ? &base[i] : &new_[i - nr_base] };
	pcp_runs_load(req, nr_base + nr_new, &opts->analyze);
	err = load_side(base_paths, nr_base, opts, base, req, errbuf, errlen);
	if (err) {
		for (size_t i = 0; i < nr_new; i++)
			pcp_run_release(&new_[i]);
		goto out_free;
	}
	err = load_side(new_paths, nr_new, opts, new_, req + nr_base, errbuf, errlen);
	if (err) {
		for (size_t i = 0; i < nr_base; i++)
			pcp_run_release(&base[i]);
		goto out_free;
	}
	if (strcmp(base[0].refill_source ? base[0].refill_source : "",
		   new_[0].refill_source ? new_[0].refill_source : "") && !opts->allow_mode_mismatch) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_MODE_MISMATCH,
				"base runs use refill source %s, new runs %s (use --allow-mode-mismatch to "
				"compare anyway)", base[0].refill_source, new_[0].refill_source);
		goto out_release;
	}
	if (strcmp(base[0].filter, new_[0].filter) && !opts->allow_different_windows) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_WINDOW_MISMATCH,
				"base runs analyzed with window/filter '%s', new runs with '%s' (use "
				"--allow-different-windows to compare anyway)", base[0].filter, new_[0].filter);
		goto out_release;
	}
	r->rows = calloc(base[0].nr_metrics ? base[0].nr_metrics : 1, sizeof(*r->rows));
	r->base_sources = copy_paths(base_paths, nr_base);
	r->new_sources = copy_paths(new_paths, nr_new);
	r->refill_source_base = strdup(base[0].refill_source ? base[0].refill_source : "");
	r->refill_source_new = strdup(new_[0].refill_source ? new_[0].refill_source : "");
	r->base_lossy = calloc(nr_base, sizeof(*r->base_lossy));
	r->new_lossy = calloc(nr_new, sizeof(*r->new_lossy));
	if (!r->rows || !r->base_sources || !r->new_sources || !r->refill_source_base ||
	    !r->refill_source_new || !r->base_lossy || !r->new_lossy) {
		err = PCP_ERR_NOMEM;
		goto out_release;
	}
	for (size_t i = 0; i < nr_base; i++)
		r->base_lossy[i] = base[i].lossy;
	for (size_t i = 0; i < nr_new; i++)
		r->new_lossy[i] = new_[i].lossy;
	r->nr_base = nr_base;
	r->nr_new = nr_new;
	for (size_t i = 0; i < base[0].nr_metrics; i++) {
		const struct pcp_run_metric *m = &base[0].metrics[i];
		struct pcp_compare_row *row;

		if (!wanted(opts, m->name) || !collect(base, nr_base, m->name, bv) ||
		    !collect(new_, nr_new, m->name, nv))
			continue;
		row = &r->rows[r->nr_rows];
		row->name = strdup(m->name);
		row->unit = strdup(m->unit);
		row->better = strdup(better_of(m));
		if (!row->name || !row->unit || !row->better) {
			free(row->name);
			free(row->unit);
			free(row->better);
			err = PCP_ERR_NOMEM;
			goto out_release;
		}
		r->nr_rows++;
		pcp_side_stats_of(bv, nr_base, &row->base);
		pcp_side_stats_of(nv, nr_new, &row->new_);
		row->change = row->new_.median - row->base.median;
		row->relative_change = row->base.median != 0 ? row->change / fabs(row->base.median) : NAN;
		if (isnan(row->change))   /* undefined on a side: no change either */
			row->relative_change = NAN;
		row->threshold_pct = threshold_for(opts, m->name);
		row->abs_floor = pcp_compare_abs_floor(m->unit);
		row->verdict = pcp_verdict_for(&row->base, &row->new_, row->better, row->threshold_pct,
					       row->abs_floor);
		r->counts[row->verdict]++;
	}
	for (size_t i = 0; i < opts->nr_only; i++) {
		int found = 0;
		for (size_t j = 0; j < r->nr_rows && !found; j++)
			found = !strcmp(r->rows[j].name, opts->only[i]);
		if (!found) {
			err = pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
					"metric %s is not present in every run", opts->only[i]);
			goto out_release;
		}
	}
	/* A misspelt --threshold in a CI configuration must not pass silently. */
	for (size_t i = 0; i < opts->nr_thresholds; i++) {
		int found = 0;
		for (size_t j = 0; j < base[0].nr_metrics && !found; j++)
			found = !strcmp(base[0].metrics[j].name, opts->thresholds[i].name);
		if (!found) {
			err = pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
					"--threshold names %s, which is not a metric of %s",
					opts->thresholds[i].name, base_paths[0]);
			goto out_release;
		}
	}
	qsort(r->rows, r->nr_rows, sizeof(*r->rows), cmp_rows);
	r->fail_on_worse = opts->fail_on_worse;
	r->failed = r->counts[PCP_VERDICT_REGRESSION] > 0 ||
		    (opts->fail_on_worse && r->counts[PCP_VERDICT_WORSE] > 0);
	*out = r;
	r = NULL;
out_release:
	for (size_t i = 0; i < nr_base; i++)
		pcp_run_release(&base[i]);
	for (size_t i = 0; i < nr_new; i++)
		pcp_run_release(&new_[i]);
out_free:
	pcp_compare_result_free(r);
	free(req);
	free(base);
	free(new_);
	free(bv);
	free(nv);
	return err;
}
