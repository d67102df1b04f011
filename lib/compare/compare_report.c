/* Output of a comparison: aligned text, JSON (shares the analysis JSON's metric shape), JUnit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/json_text.h"
#include "compare/compare.h"
#include "common/error.h"
#include "output/report.h"
#include "output/outfile.h"
#include <unistd.h>

static const char *verdict_colour(enum pcp_verdict v)
{
	switch (v) {
	case PCP_VERDICT_REGRESSION: return "\033[1;31m";
	case PCP_VERDICT_WORSE: return "\033[33m";
	case PCP_VERDICT_BETTER: return "\033[32m";
	default: return "";
	}
}

/* Integers and values from 1000 up as whole numbers (no exponent next to a plain count),
 * smaller fractions with 4 significant digits; the JSON has the exact values. */
static void format_value(char *buf, size_t len, double v)
{
	if ((v == floor(v) || fabs(v) >= 1000) && fabs(v) < 1e15)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.4g", v);
}

static void format_side(char *buf, size_t len, const struct pcp_side_stats *s)
{
	char med[32], lo[32], hi[32], na[32] = "";

	if (isnan(s->median)) {   /* undefined in every run */
		snprintf(buf, len, "n/a");
		return;
	}
	if (s->undefined)
		snprintf(na, sizeof(na), " (%zu n/a)", s->undefined);
	format_value(med, sizeof(med), s->median);
	if (s->n - s->undefined <= 1 || s->min == s->max) {
		snprintf(buf, len, "%s%s", med, na);
		return;
	}
	format_value(lo, sizeof(lo), s->min);
	format_value(hi, sizeof(hi), s->max);
	snprintf(buf, len, "%s [%s..%s]%s", med, lo, hi, na);
}

#define BASE_HEADING "base median [min..max]"
#define NEW_HEADING "new median [min..max]"

void pcp_compare_report_text(FILE *out, const struct pcp_compare_result *r, int colour)
{
	int name_w = 6, base_w = (int)strlen(BASE_HEADING), new_w = (int)strlen(NEW_HEADING);
	char base[112], new_[112], change[32];

	/* Columns as wide as their widest cell, so large counts and ranges stay aligned. */
	for (size_t i = 0; i < r->nr_rows; i++) {
		const struct pcp_compare_row *row = &r->rows[i];

		if ((int)strlen(row->name) > name_w)
			name_w = (int)strlen(row->name);
		format_side(base, sizeof(base), &row->base);
		format_side(new_, sizeof(new_), &row->new_);
		if ((int)strlen(base) > base_w)
			base_w = (int)strlen(base);
		if ((int)strlen(new_) > new_w)
			new_w = (int)strlen(new_);
	}
	fprintf(out, "pcptrace compare: %zu base run%s, %zu new run%s (refill source %s)\n", r->nr_base,
		r->nr_base == 1 ? "" : "s", r->nr_new, r->nr_new == 1 ? "" : "s", r->refill_source_base);
	for (size_t i = 0; i < r->nr_base + r->nr_new; i++) {
		int base_side = i < r->nr_base;
		size_t k = base_side ? i : i - r->nr_base;

		if (base_side ? r->base_lossy[k] : r->new_lossy[k])
			fprintf(out, "LOSSY %s run (compared under --allow-lossy): %s\n",
				base_side ? "base" : "new", base_side ? r->base_sources[k] : r->new_sources[k]);
	}
	fprintf(out, "%-*s  %-*s  %-*s  %10s  %6s  %s\n", name_w, "metric", base_w, BASE_HEADING, new_w,
		NEW_HEADING, "change", "thr%", "verdict");
	for (size_t i = 0; i < r->nr_rows; i++) {
		const struct pcp_compare_row *row = &r->rows[i];

		format_side(base, sizeof(base), &row->base);
		format_side(new_, sizeof(new_), &row->new_);
		if (isnan(row->change))
			snprintf(change, sizeof(change), "n/a");
		else if (isnan(row->relative_change))
			snprintf(change, sizeof(change), row->change == 0 ? "0%%" : "new");
		else
			snprintf(change, sizeof(change), "%+.1f%%", 100.0 * row->relative_change);
		fprintf(out, "%-*s  %-*s  %-*s  %10s  %6.1f  %s%s%s\n", name_w, row->name, base_w, base,
			new_w, new_, change, row->threshold_pct, colour ? verdict_colour(row->verdict) : "",
			pcp_verdict_name(row->verdict),
			colour && *verdict_colour(row->verdict) ? "\033[0m" : "");
	}
	fprintf(out, "verdict: %zu regression, %zu worse, %zu better, %zu same, %zu changed, %zu n/a -> %s\n",
		r->counts[PCP_VERDICT_REGRESSION], r->counts[PCP_VERDICT_WORSE],
		r->counts[PCP_VERDICT_BETTER], r->counts[PCP_VERDICT_SAME], r->counts[PCP_VERDICT_CHANGED],
		r->counts[PCP_VERDICT_NA], r->failed ? "FAIL" : "PASS");
}

/* JSON has no NaN: an undefined value is null. */
static json_t *jreal_or_null(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static json_t *side_json(const struct pcp_side_stats *s)
{
	return json_pack("{s:o, s:o, s:o, s:I, s:I}", "median", jreal_or_null(s->median), "min",
			 jreal_or_null(s->min), "max", jreal_or_null(s->max), "runs", (json_int_t)s->n,
			 "undefined_runs", (json_int_t)s->undefined);
}

static json_t *sources_json(char *const *sources, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, pcp_json_text(sources[i]));
	return a;
}

/* The runs of one side that lost events (non-empty only under --allow-lossy). */
static json_t *lossy_json(char *const *sources, const int *lossy, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (lossy[i])
			json_array_append_new(a, pcp_json_text(sources[i]));
	return a;
}

json_t *pcp_compare_report_json(const struct pcp_compare_result *r)
{
	json_t *root, *metrics, *summary;

	metrics = json_object();
	for (size_t i = 0; metrics && i < r->nr_rows; i++) {
		const struct pcp_compare_row *row = &r->rows[i];
		json_t *m = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:f, s:s}", "unit", row->unit,
				      "better", row->better, "base", side_json(&row->base), "new",
				      side_json(&row->new_), "change", jreal_or_null(row->change),
				      "relative_change",
				      isnan(row->relative_change) ? json_null()
								  : json_real(row->relative_change),
				      "threshold_pct", row->threshold_pct, "verdict",
				      pcp_verdict_name(row->verdict));
		/* "value" mirrors the analysis JSON's metric shape: the new median. */
		if (m) {
			json_object_set_new(m, "value", jreal_or_null(row->new_.median));
			json_object_set_new(m, "abs_floor", json_real(row->abs_floor));
		}
		json_object_set_new(metrics, row->name, m);
	}
	summary = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
			    "regression", (json_int_t)r->counts[PCP_VERDICT_REGRESSION],
			    "worse", (json_int_t)r->counts[PCP_VERDICT_WORSE],
			    "better", (json_int_t)r->counts[PCP_VERDICT_BETTER],
			    "same", (json_int_t)r->counts[PCP_VERDICT_SAME],
			    "changed", (json_int_t)r->counts[PCP_VERDICT_CHANGED],
			    "n/a", (json_int_t)r->counts[PCP_VERDICT_NA],
			    "failed", r->failed);
	root = json_pack("{s:i, s:s, s:{s:o, s:s, s:o}, s:{s:o, s:s, s:o}, s:o, s:o}",
			 "schema_version", PCP_JSON_SCHEMA_VERSION, "kind", "compare",
			 "base", "runs", sources_json(r->base_sources, r->nr_base), "refill_source",
			 r->refill_source_base, "lossy_runs",
			 lossy_json(r->base_sources, r->base_lossy, r->nr_base),
			 "new", "runs", sources_json(r->new_sources, r->nr_new), "refill_source",
			 r->refill_source_new, "lossy_runs",
			 lossy_json(r->new_sources, r->new_lossy, r->nr_new),
			 "metrics", metrics, "summary", summary);
	return root;
}

int pcp_compare_write_json(const char *path, const struct pcp_compare_result *r)
{
	json_t *root = pcp_compare_report_json(r);
	int err;

	if (!root)
		return PCP_ERR_NOMEM;
	err = pcp_json_write(path, root, NULL, 0);
	json_decref(root);
	return err;
}

static void xml_escaped(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(*s, out);
		}
	}
}

int pcp_compare_write_junit(const char *path, const struct pcp_compare_result *r)
{
	struct pcp_outfile of;
	char reason[256];
	size_t failures = r->counts[PCP_VERDICT_REGRESSION] +
			  (r->fail_on_worse ? r->counts[PCP_VERDICT_WORSE] : 0);
	FILE *out;
	int err;

	err = pcp_outfile_open(&of, path, reason, sizeof(reason));
	if (err)
		return err;
	out = fdopen(dup(of.fd), "w");
	if (!out) {
		pcp_outfile_abort(&of);
		return PCP_ERR_IO;
	}
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(out, "<testsuites name=\"pcptrace\">\n");
	fprintf(out, "  <testsuite name=\"pcptrace.compare\" tests=\"%zu\" failures=\"%zu\">\n",
		r->nr_rows, failures);
	for (size_t i = 0; i < r->nr_rows; i++) {
		const struct pcp_compare_row *row = &r->rows[i];
		int is_failure = row->verdict == PCP_VERDICT_REGRESSION ||
				 (row->verdict == PCP_VERDICT_WORSE && r->fail_on_worse);

		fprintf(out, "    <testcase classname=\"pcptrace.metrics\" name=\"");
		xml_escaped(out, row->name);
		fprintf(out, "\">");
		if (is_failure) {
			fprintf(out, "\n      <failure type=\"%s\" message=\"", pcp_verdict_name(row->verdict));
			xml_escaped(out, row->name);
			fprintf(out, " %s: base median %g, new median %g (threshold %.1f%%, better %s)\"/>\n    ",
				pcp_verdict_name(row->verdict), row->base.median, row->new_.median,
				row->threshold_pct, row->better);
		}
		fprintf(out, "</testcase>\n");
	}
	fprintf(out, "  </testsuite>\n</testsuites>\n");
	if (fclose(out) != 0) {
		pcp_outfile_abort(&of);
		return PCP_ERR_IO;
	}
	return pcp_outfile_commit(&of, reason, sizeof(reason));
}
