/* The public compare group (pcp_compare(3)): runs and options gathered in a handle, then
 * pcp_compare_runs() and the compare report's text, JSON and JUnit outputs. */
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "common/error.h"
#include "compare/compare.h"
#include "output/outfile.h"

_Static_assert((int)PCP_COMPARE_SAME == (int)PCP_VERDICT_SAME &&
	       (int)PCP_COMPARE_BETTER == (int)PCP_VERDICT_BETTER &&
	       (int)PCP_COMPARE_WORSE == (int)PCP_VERDICT_WORSE &&
	       (int)PCP_COMPARE_REGRESSION == (int)PCP_VERDICT_REGRESSION &&
	       (int)PCP_COMPARE_CHANGED == (int)PCP_VERDICT_CHANGED &&
	       (int)PCP_COMPARE_NA == (int)PCP_VERDICT_NA,
	       "enum pcp_compare_verdict follows enum pcp_verdict");

/* A growing list of owned strings. */
struct strings {
	char **v;
	size_t n;
};

struct pcp_compare {
	struct strings runs[2];           /* [0] base, [1] new */
	struct strings only;
	struct pcp_compare_threshold *thresholds;   /* names owned */
	size_t nr_thresholds;
	int fail_on_worse, allow_lossy, allow_mode_mismatch;
	struct pcp_analysis_opts *analysis;         /* NULL: the defaults */
	struct pcp_compare_result *result;          /* after pcp_compare_run() */
};

static int strings_add(struct strings *s, const char *str)
{
	char **grown = realloc(s->v, (s->n + 1) * sizeof(*s->v));

	if (!grown)
		return PCP_ERR_NOMEM;
	s->v = grown;
	if (!(s->v[s->n] = strdup(str)))
		return PCP_ERR_NOMEM;
	s->n++;
	return PCP_OK;
}

static void strings_free(struct strings *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

PCP_API struct pcp_compare *pcp_compare_new(void)
{
	struct pcp_compare *c = calloc(1, sizeof(*c));

	if (!c)
		pcp_api_fail(PCP_ERR_NOMEM, NULL, NULL);
	return c;
}

PCP_API void pcp_compare_free(struct pcp_compare *c)
{
	if (!c)
		return;
	strings_free(&c->runs[0]);
	strings_free(&c->runs[1]);
	strings_free(&c->only);
	for (size_t i = 0; i < c->nr_thresholds; i++)
		free(c->thresholds[i].name);
	free(c->thresholds);
	pcp_analysis_opts_free(c->analysis);
	pcp_compare_result_free(c->result);
	free(c);
}

/* Options and runs are fixed once the comparison ran. */
static int check_settable(const struct pcp_compare *c, const void *arg, const char *what)
{
	if (!c || !arg)
		return pcp_api_failf(PCP_ERR_USAGE, NULL, "%s: NULL argument", what);
	if (c->result)
		return pcp_api_failf(PCP_ERR_USAGE, NULL, "%s: the comparison has run already", what);
	return PCP_OK;
}

PCP_API int pcp_compare_add_run(struct pcp_compare *c, int is_new, const char *path)
{
	int err = check_settable(c, path, "pcp_compare_add_run");

	if (!err && strings_add(&c->runs[is_new ? 1 : 0], path))
		err = pcp_api_fail(PCP_ERR_NOMEM, path, NULL);
	return err;
}

PCP_API int pcp_compare_set_threshold(struct pcp_compare *c, const char *metric, double pct)
{
	struct pcp_compare_threshold *grown;
	int err = check_settable(c, metric, "pcp_compare_set_threshold");

	if (err)
		return err;
	if (!(pct >= 0))
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "threshold: expects a non-negative percentage");
	grown = realloc(c->thresholds, (c->nr_thresholds + 1) * sizeof(*c->thresholds));
	if (!grown)
		return pcp_api_fail(PCP_ERR_NOMEM, NULL, NULL);
	c->thresholds = grown;
	if (!(grown[c->nr_thresholds].name = strdup(metric)))
		return pcp_api_fail(PCP_ERR_NOMEM, NULL, NULL);
	grown[c->nr_thresholds++].pct = pct;
	return PCP_OK;
}

PCP_API int pcp_compare_set_only(struct pcp_compare *c, const char *metric)
{
	int err = check_settable(c, metric, "pcp_compare_set_only");

	if (!err && !*metric)
		err = pcp_api_fail(PCP_ERR_USAGE, NULL, "only: expects a metric name");
	if (!err && strings_add(&c->only, metric))
		err = pcp_api_fail(PCP_ERR_NOMEM, NULL, NULL);
	return err;
}

PCP_API int pcp_compare_set_fail_on(struct pcp_compare *c, const char *what)
{
	int err = check_settable(c, what, "pcp_compare_set_fail_on");

	if (err)
		return err;
	if (!strcmp(what, "worse"))
		c->fail_on_worse = 1;
	else if (!strcmp(what, "regression"))
		c->fail_on_worse = 0;
	else
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "fail-on: expects worse or regression");
	return PCP_OK;
}

PCP_API int pcp_compare_set_allow_lossy(struct pcp_compare *c, int allow)
{
	int err = check_settable(c, c, "pcp_compare_set_allow_lossy");

	if (!err)
		c->allow_lossy = allow != 0;
	return err;
}

PCP_API int pcp_compare_set_allow_mode_mismatch(struct pcp_compare *c, int allow)
{
	int err = check_settable(c, c, "pcp_compare_set_allow_mode_mismatch");

	if (!err)
		c->allow_mode_mismatch = allow != 0;
	return err;
}

PCP_API int pcp_compare_set_analysis_opts(struct pcp_compare *c, const struct pcp_analysis_opts *opts)
{
	struct pcp_analysis_opts *copy;
	int err = check_settable(c, c, "pcp_compare_set_analysis_opts");

	if (err)
		return err;
	if (!(copy = pcp_api_analysis_opts_dup(opts)))
		return pcp_api_fail(PCP_ERR_NOMEM, NULL, NULL);
	pcp_analysis_opts_free(c->analysis);
	c->analysis = copy;
	return PCP_OK;
}

PCP_API int pcp_compare_run(struct pcp_compare *c)
{
	struct pcp_compare_opts opts = { 0 };
	char errbuf[1024] = "";
	int err = check_settable(c, c, "pcp_compare_run");

	if (err)
		return err;
	if (!c->runs[0].n || !c->runs[1].n)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "compare needs at least one base and one new run");
	if (c->analysis)
		opts.analyze = *pcp_api_analyze_opts(c->analysis);
	else
		pcp_analyze_opts_default(&opts.analyze);
	opts.thresholds = c->thresholds;
	opts.nr_thresholds = c->nr_thresholds;
	opts.only = c->only.n ? c->only.v : NULL;
	opts.nr_only = c->only.n;
	opts.fail_on_worse = c->fail_on_worse;
	opts.allow_mode_mismatch = c->allow_mode_mismatch;
	opts.allow_lossy = c->allow_lossy;
	err = pcp_compare_runs(c->runs[0].v, c->runs[0].n, c->runs[1].v, c->runs[1].n, &opts,
			       &c->result, errbuf, sizeof(errbuf));
	if (err) {
		c->result = NULL;
		return pcp_api_fail(err, NULL, errbuf);
	}
	return PCP_OK;
}

PCP_API size_t pcp_compare_metric_count(const struct pcp_compare *c)
{
	return c && c->result ? c->result->nr_rows : 0;
}

PCP_API const char *pcp_compare_metric_name(const struct pcp_compare *c, size_t i)
{
	return i < pcp_compare_metric_count(c) ? c->result->rows[i].name : NULL;
}

PCP_API int pcp_compare_verdict(const struct pcp_compare *c, const char *metric, double *base,
				double *new_median)
{
	for (size_t i = 0; metric && i < pcp_compare_metric_count(c); i++) {
		const struct pcp_compare_row *row = &c->result->rows[i];

		if (strcmp(row->name, metric))
			continue;
		if (base)
			*base = row->base.median;
		if (new_median)
			*new_median = row->new_.median;
		return (int)row->verdict;
	}
	pcp_api_failf(PCP_ERR_USAGE, NULL, "metric %s was not compared", metric ? metric : "(null)");
	return -1;
}

PCP_API const char *pcp_compare_verdict_name(int verdict)
{
	if (verdict < PCP_COMPARE_SAME || verdict > PCP_COMPARE_NA)
		return "unknown";
	return pcp_verdict_name((enum pcp_verdict)verdict);
}

PCP_API int pcp_compare_failed(const struct pcp_compare *c)
{
	return c && c->result && c->result->failed;
}

/* ---- outputs, as pcpanalyze compare writes them ---- */

static void emit_table(FILE *out, const void *r)
{
	pcp_compare_report_text(out, r, 0);
}

static int write_json(const struct pcp_compare_result *r, const char *path)
{
	char errbuf[512] = "";
	json_t *doc = pcp_compare_report_json(r);
	int err;

	if (!doc)
		return pcp_api_fail(PCP_ERR_NOMEM, path, NULL);
	err = pcp_json_write(path, doc, errbuf, sizeof(errbuf));
	json_decref(doc);
	return err ? pcp_api_fail(err, strcmp(path, "-") ? path : "stdout", errbuf) : PCP_OK;
}

static int write_junit(const struct pcp_compare_result *r, const char *path)
{
	int err;

	if (!strcmp(path, "-"))
		return pcp_api_fail(PCP_ERR_USAGE, path, "JUnit XML is written to a file, not standard output");
	err = pcp_compare_write_junit(path, r);
	return err ? pcp_api_fail(err, path, "cannot write JUnit XML") : PCP_OK;
}

/* An output that is one of the runs (or a run's meta file) is refused. */
static int check_outputs(const struct pcp_compare *c, const char *path)
{
	int err = PCP_OK;

	for (int side = 0; side < 2 && !err; side++)
		for (size_t i = 0; i < c->runs[side].n && !err; i++)
			err = pcp_api_check_output(path, c->runs[side].v[i]);
	return err;
}

PCP_API int pcp_compare_write(const struct pcp_compare *c, enum pcp_format format, const char *path)
{
	int err;

	if (!c || !path)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "pcp_compare_write: NULL argument");
	if (!c->result)
		return pcp_api_fail(PCP_ERR_USAGE, path, "the comparison has not run (pcp_compare_run)");
	if ((err = check_outputs(c, path)))
		return err;
	switch (format) {
	case PCP_FORMAT_TEXT: return pcp_api_write_text(path, emit_table, c->result);
	case PCP_FORMAT_JSON: return write_json(c->result, path);
	case PCP_FORMAT_JUNIT: return write_junit(c->result, path);
	default: break;
	}
	return pcp_api_failf(PCP_ERR_USAGE, path, "a comparison is written as text, JSON or JUnit XML, "
			     "not format %d", (int)format);
}
