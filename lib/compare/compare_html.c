/* `pcpanalyze compare --html`: the comparison as one self-contained HTML page (issue 13). Per
 * metric, regressions first (the result's order): base and new medians with their ranges as
 * bars over the base noise band, the verdict coloured. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/error.h"
#include "compare/compare.h"
#include "compare/compare_html.h"
#include "output/html_report.h"
#include "output/html_svg.h"
#include "output/outfile.h"

#define SW 300.0   /* strip width */
#define SH 36.0

static const char *verdict_class(enum pcp_verdict v)
{
	return v == PCP_VERDICT_NA ? "n-a" : pcp_verdict_name(v);
}

static void value(char *buf, size_t len, double v, const char *unit)
{
	pcp_html_fmt(buf, len, v, unit && !strcmp(unit, "ns") ? PCP_HU_NS :
		     unit && !strcmp(unit, "bytes") ? PCP_HU_BYTES : PCP_HU_RAW);
}

static void side_text(FILE *f, const struct pcp_side_stats *s, const char *unit)
{
	char med[64], lo[64], hi[64];

	if (isnan(s->median)) {
		fputs("n/a", f);
		return;
	}
	value(med, sizeof(med), s->median, unit);
	if (s->min == s->max && !s->undefined) {   /* one run, or all alike: no range to show */
		fprintf(f, "<b>%s</b>", med);
		return;
	}
	value(lo, sizeof(lo), s->min, unit);
	value(hi, sizeof(hi), s->max, unit);
	fprintf(f, "<b>%s</b> <small>[%s &#8211; %s]", med, lo, hi);
	if (s->undefined)
		fprintf(f, " %zu n/a", s->undefined);
	fputs("</small>", f);
}

/* The strip: noise band (base range widened by the threshold), base and new ranges as bars,
 * medians as ticks, on one linear scale per metric. */
static void strip(FILE *f, const struct pcp_compare_row *row)
{
	double width = fmax(fabs(row->base.median) * row->threshold_pct / 100.0, row->abs_floor);
	double band_lo = row->base.min - width, band_hi = row->base.max + width;
	double lo = fmin(band_lo, row->new_.min), hi = fmax(band_hi, row->new_.max), pad;
	const char *ncol = row->verdict == PCP_VERDICT_REGRESSION ? "#d62728" :
			   row->verdict == PCP_VERDICT_WORSE ? "#ff7f0e" :
			   row->verdict == PCP_VERDICT_BETTER ? "#2ca02c" : "#555";
	char a[64], b[64];

	if (row->verdict == PCP_VERDICT_NA || isnan(row->base.median) || isnan(row->new_.median)) {
		fputs("<small>undefined in a run: no verdict</small>", f);
		return;
	}
	if (!(hi > lo)) {
		lo -= 1;
		hi += 1;
	}
	pad = (hi - lo) * 0.05;
	lo -= pad;
	hi += pad;
#define X(v) (4 + ((v) - lo) / (hi - lo) * (SW - 8))
	value(a, sizeof(a), band_lo, row->unit);
	value(b, sizeof(b), band_hi, row->unit);
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"strip\" width=\"%.0f\" height=\"%.0f\""
		" viewBox=\"0 0 %.0f %.0f\">", SW, SH, SW, SH);
	fprintf(f, "<rect class=\"band\" x=\"%.1f\" y=\"1\" width=\"%.1f\" height=\"%.0f\" fill=\"#e8e8e8\">"
		"<title>noise band %s &#8211; %s</title></rect>", X(band_lo), X(band_hi) - X(band_lo),
		SH - 2, a, b);
	value(a, sizeof(a), row->base.min, row->unit);
	value(b, sizeof(b), row->base.max, row->unit);
	fprintf(f, "<rect class=\"range-base\" x=\"%.1f\" y=\"6\" width=\"%.1f\" height=\"9\" fill=\"#1f77b4\">"
		"<title>base %s &#8211; %s</title></rect>", X(row->base.min),
		fmax(X(row->base.max) - X(row->base.min), 2), a, b);
	fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"3\" y2=\"18\" stroke=\"#000\" stroke-width=\"2\"/>",
		X(row->base.median), X(row->base.median));
	value(a, sizeof(a), row->new_.min, row->unit);
	value(b, sizeof(b), row->new_.max, row->unit);
	fprintf(f, "<rect class=\"range-new\" x=\"%.1f\" y=\"21\" width=\"%.1f\" height=\"9\" fill=\"%s\">"
		"<title>new %s &#8211; %s</title></rect>", X(row->new_.min),
		fmax(X(row->new_.max) - X(row->new_.min), 2), ncol, a, b);
	fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"18\" y2=\"33\" stroke=\"#000\" stroke-width=\"2\"/>",
		X(row->new_.median), X(row->new_.median));
#undef X
	fputs("</svg>", f);
}

static void runs_list(FILE *f, const char *side, char *const *src, const int *lossy, size_t n)
{
	fprintf(f, "<p><b>%s</b> (%zu run%s):", side, n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : " ", f);
		pcp_html_escape(f, src[i]);
		if (lossy && lossy[i])
			fputs(" <b style=\"color:#c00\">LOSSY</b>", f);
	}
	fputs("</p>\n", f);
}

int pcp_compare_html_render(FILE *f, const struct pcp_compare_result *r)
{
	size_t nr_lossy = 0;

	for (size_t i = 0; i < r->nr_base; i++)
		nr_lossy += r->base_lossy && r->base_lossy[i];
	for (size_t i = 0; i < r->nr_new; i++)
		nr_lossy += r->new_lossy && r->new_lossy[i];
	fprintf(f, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head>"
		"<meta charset=\"utf-8\"/><title>pcptrace compare</title><style>%s"
		"td.strip{padding:0}</style></head>\n<body>\n<h1>pcptrace compare</h1>\n", pcp_html_css);
	fprintf(f, "<div class=\"%s\" id=\"result\"><b>%s</b>: %zu regression%s, %zu worse, %zu changed,"
		" %zu better, %zu same, %zu n/a (fails on %s)</div>\n",
		r->failed ? "warnings" : "ok", r->failed ? "FAILED" : "passed",
		r->counts[PCP_VERDICT_REGRESSION], r->counts[PCP_VERDICT_REGRESSION] == 1 ? "" : "s",
		r->counts[PCP_VERDICT_WORSE], r->counts[PCP_VERDICT_CHANGED], r->counts[PCP_VERDICT_BETTER],
		r->counts[PCP_VERDICT_SAME], r->counts[PCP_VERDICT_NA],
		r->fail_on_worse ? "worse or regression" : "regression");
	if (nr_lossy || (r->refill_source_base && r->refill_source_new &&
			 strcmp(r->refill_source_base, r->refill_source_new))) {
		fputs("<div class=\"warnings\" id=\"warnings\"><ul>", f);
		if (nr_lossy)
			fprintf(f, "<li><b>%zu lossy run%s</b> compared under --allow-lossy: their counts miss"
				" what was lost.</li>", nr_lossy, nr_lossy == 1 ? "" : "s");
		if (r->refill_source_base && r->refill_source_new &&
		    strcmp(r->refill_source_base, r->refill_source_new)) {
			fputs("<li><b>Different refill sources</b> (--allow-mode-mismatch): base ", f);
			pcp_html_escape(f, r->refill_source_base);
			fputs(", new ", f);
			pcp_html_escape(f, r->refill_source_new);
			fputs(".</li>", f);
		}
		fputs("</ul></div>\n", f);
	}
	runs_list(f, "base", r->base_sources, r->base_lossy, r->nr_base);
	runs_list(f, "new", r->new_sources, r->new_lossy, r->nr_new);
	fputs("<p><small>Each strip: grey = the noise band (the base runs' range widened by the"
	      " metric's threshold), blue = base runs' range, coloured = new runs' range, black ticks"
	      " = medians. A new median outside the band is a change; a regression when every new run"
	      " is worse than every base run.</small></p>\n", f);
	fputs("<table class=\"compare\"><tr><th>metric</th><th>verdict</th><th>base median [range]</th>"
	      "<th>new median [range]</th><th>change</th><th>threshold</th><th>base / new / band</th></tr>\n", f);
	for (size_t i = 0; i < r->nr_rows; i++) {
		const struct pcp_compare_row *row = &r->rows[i];
		fprintf(f, "<tr class=\"row v-row-%s\" data-verdict=\"%s\"><td>", verdict_class(row->verdict),
			pcp_verdict_name(row->verdict));
		pcp_html_escape(f, row->name);
		fputs(" <small>", f);
		pcp_html_escape(f, row->unit);
		fprintf(f, ", %s</small></td><td class=\"verdict v-%s\">%s</td><td>",
			row->better && !strcmp(row->better, "lower") ? "&#8595; lower is better" :
			row->better && !strcmp(row->better, "higher") ? "&#8593; higher is better" : "no direction",
			verdict_class(row->verdict), pcp_verdict_name(row->verdict));
		side_text(f, &row->base, row->unit);
		fputs("</td><td>", f);
		side_text(f, &row->new_, row->unit);
		if (isnan(row->relative_change))
			fputs("</td><td class=\"num\">&#8211;", f);
		else
			fprintf(f, "</td><td class=\"num\">%+.1f%%", row->relative_change * 100);
		fprintf(f, "</td><td class=\"num\">%g%%</td><td class=\"strip\">", row->threshold_pct);
		strip(f, row);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n</body></html>\n", f);
	return ferror(f) ? PCP_ERR_IO : PCP_OK;
}

int pcp_compare_html_prepare(struct pcp_outfile *out, const char *path,
			     const struct pcp_compare_result *r, char *errbuf, size_t errlen)
{
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);
	int err;

	if (!f)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
	err = pcp_compare_html_render(f, r);
	if (fclose(f) && !err)
		err = PCP_ERR_NOMEM;
	if (err) {
		free(doc);
		return pcp_errorf(errbuf, errlen, err, "%s", pcp_strerror(err));
	}
	err = pcp_html_prepare_buffer(out, path, doc, len, errbuf, errlen);
	free(doc);
	return err;
}
