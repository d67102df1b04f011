/* Regression gate over runs (issue 5): load the metrics of several runs per side, compare
 * medians against the base runs' noise band, give a verdict per metric. */
#ifndef PCPTRACE_COMPARE_H
#define PCPTRACE_COMPARE_H

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>
#include "model/analyze.h"

/* One metric row of one run. */
struct pcp_run_metric {
	char *name;
	double value;
	char *unit;
	char *better;          /* "lower", "higher", "none" */
};

/* The metrics of one run, from a results database or a trace.dat analyzed on the fly
 * (compare_run.c). */
struct pcp_run {
	char *source;          /* the path given */
	char *refill_source;   /* trace_info refill_source */
	char *filter;          /* trace_info filter (window and filter; "none", also when absent) */
	int schema_version;
	int lossy;             /* trace_info lossy = 1 */
	unsigned long long events_lost, events_lost_unknown;   /* trace_info, for messages */
	struct pcp_run_metric *metrics;
	size_t nr_metrics;
};

/* Loads a run. A database is read (defensively, results_db.h); a trace.dat is analyzed with
 * opts and its metrics taken from the analysis in memory, as its database would hold them (no
 * file is written). */
int pcp_run_load(const char *path, const struct pcp_analyze_opts *opts, struct pcp_run *out,
		 char *errbuf, size_t errlen);
void pcp_run_release(struct pcp_run *run);

enum pcp_verdict {
	PCP_VERDICT_SAME = 0,      /* new median inside the base range widened by the threshold */
	PCP_VERDICT_BETTER,        /* outside that band in the good direction */
	PCP_VERDICT_WORSE,         /* outside the band in the bad direction, but the new runs'
				    * range still overlaps the base runs' range */
	PCP_VERDICT_REGRESSION,    /* outside the band in the bad direction and every new run is
				    * worse than every base run */
	PCP_VERDICT_CHANGED,       /* outside the band for a metric without a direction */
	PCP_VERDICT_NA,            /* undefined (NULL) in at least one run: no verdict */
};

const char *pcp_verdict_name(enum pcp_verdict v);

struct pcp_side_stats {
	double median, min, max;   /* over the runs where the metric is defined; NAN if none */
	size_t n;                  /* runs */
	size_t undefined;          /* runs where the metric is undefined (NULL, NAN) */
};

/* Pure verdict logic: exposed for unit tests. threshold_pct widens the base range by
 * threshold_pct percent of |base median| on each side. */
enum pcp_verdict pcp_verdict_for(const struct pcp_side_stats *base, const struct pcp_side_stats *new_,
				 const char *better, double threshold_pct, double abs_floor);
void pcp_side_stats_of(const double *values, size_t n, struct pcp_side_stats *out);

struct pcp_compare_threshold {
	char *name;
	double pct;
};

struct pcp_compare_opts {
	struct pcp_analyze_opts analyze;          /* for trace.dat inputs */
	struct pcp_compare_threshold *thresholds; /* user overrides */
	size_t nr_thresholds;
	char **only;                              /* NULL: all metrics */
	size_t nr_only;
	int fail_on_worse;                        /* --fail-on worse */
	int allow_mode_mismatch;
	int allow_different_windows;              /* --allow-different-windows: compare runs
						   * analyzed with other windows/filters */
	int allow_lossy;                          /* --allow-lossy: compare lossy runs anyway */
};

/* The band never gets narrower than this on each side, whatever the base median (0.01 for
 * ratios, 0 otherwise). */
double pcp_compare_abs_floor(const char *unit);

/* Default threshold for a metric, in percent: the metric table's (model/metric_table.h),
 * PCP_METRIC_THRESHOLD_DEFAULT for a name it does not know. */
double pcp_compare_default_threshold(const char *metric);

struct pcp_compare_row {
	char *name;
	char *unit;
	char *better;
	struct pcp_side_stats base, new_;
	double change, relative_change;           /* relative_change NAN when base median is 0 */
	double threshold_pct;
	double abs_floor;
	enum pcp_verdict verdict;
};

struct pcp_compare_result {
	struct pcp_compare_row *rows;             /* regressions first, then worse, changed, better,
						   * same, n/a */
	size_t nr_rows;
	size_t counts[PCP_VERDICT_NA + 1];
	char **base_sources, **new_sources;
	int *base_lossy, *new_lossy;              /* per run: 1 lossy (only with --allow-lossy) */
	size_t nr_base, nr_new;
	char *refill_source_base, *refill_source_new;
	int fail_on_worse;                        /* --fail-on worse was given */
	int failed;                               /* per --fail-on */
};

/* Loads all runs and compares. PCP_ERR_SCHEMA / PCP_ERR_MODE_MISMATCH / PCP_ERR_LOSSY (a run
 * lost events, without allow_lossy) / load errors: not comparable (errbuf says which input and
 * why). */
int pcp_compare_runs(char *const *base_paths, size_t nr_base, char *const *new_paths, size_t nr_new,
		     const struct pcp_compare_opts *opts, struct pcp_compare_result **out,
		     char *errbuf, size_t errlen);
void pcp_compare_result_free(struct pcp_compare_result *r);

void pcp_compare_report_text(FILE *out, const struct pcp_compare_result *r, int colour);
json_t *pcp_compare_report_json(const struct pcp_compare_result *r);
/* Writes that JSON to path ("-" = stdout) atomically; PCP_ERR_IO / PCP_ERR_NOMEM. */
int pcp_compare_write_json(const char *path, const struct pcp_compare_result *r);
/* JUnit XML: one test case per metric, a failure for each regression (and worse with
 * --fail-on worse). Written atomically. */
int pcp_compare_write_junit(const char *path, const struct pcp_compare_result *r);

/* merge: copy several results databases (or merged ones) into one with a run table. */
struct pcp_merge_label {
	char *key, *value;
};
int pcp_merge_databases(const char *out_path, char *const *inputs, size_t nr_inputs,
			const struct pcp_merge_label *labels, size_t nr_labels,
			char *errbuf, size_t errlen);
/* The same, reading each run from db_paths[i] and naming it sources[i] (the run table's
 * source, and the messages): merge_files.c's analyzed trace.dat inputs. */
int pcp_merge_databases_as(const char *out_path, char *const *db_paths, char *const *sources,
			   size_t nr_inputs, const struct pcp_merge_label *labels, size_t nr_labels,
			   char *errbuf, size_t errlen);
/* merge over results databases and trace.dat files: the trace.dat inputs are analyzed with
 * aopts first, side by side (aopts->jobs threads in all), each into a results database in a
 * temporary directory that is removed before this returns; an analysis that fails ends the
 * merge with its error, named by its trace (the first in input order). */
int pcp_merge_files(const char *out_path, char *const *inputs, size_t nr_inputs,
		    const struct pcp_merge_label *labels, size_t nr_labels,
		    const struct pcp_analyze_opts *aopts, char *errbuf, size_t errlen);

#endif
