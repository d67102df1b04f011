/* SVG plots for the HTML reports: drawn here, no library (FlameGraph's approach). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "output/html_svg.h"

#define W 880.0
#define H 250.0
#define ML 78.0   /* left margin: y tick labels and the y axis label */
#define MR 16.0
#define MT 26.0   /* top: the legend */
#define MB 46.0   /* bottom: x tick labels and the x axis label */

static const char *const palette[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
};
#define NR_PALETTE (sizeof(palette) / sizeof(palette[0]))

const char pcp_html_css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:920px;color:#222}"
	"h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.4em 0 .4em;border-bottom:1px solid #ccc}"
	"table{border-collapse:collapse;font-size:13px}td,th{padding:2px 8px;text-align:left;"
	"border-bottom:1px solid #eee}td.num{text-align:right;font-variant-numeric:tabular-nums}"
	".warnings{border:2px solid #c00;background:#fff0f0;padding:.4em 1em;margin:1em 0}"
	".warnings h2{color:#c00;border:0;margin:.2em 0}.warnings li{margin:.2em 0}"
	".notes{border:1px solid #c90;background:#fffbe8;padding:.3em 1em;margin:1em 0}"
	".ok{border:1px solid #4a4;background:#f2fff2;padding:.3em 1em;margin:1em 0}"
	"figure.plot{margin:1em 0}figcaption{font-size:13px;color:#333;margin-bottom:.2em}"
	"figcaption b{font-size:14px;color:#000}p.nodata{color:#777;font-style:italic}"
	"svg text{font:11px sans-serif;fill:#333}svg text.axis{font-size:12px;fill:#000}"
	"svg .grid{stroke:#e4e4e4}svg .frame{stroke:#888;fill:none}"
	"svg polyline{fill:none;stroke-width:1.5}"
	".v-regression{background:#d62728;color:#fff}.v-worse{background:#ffb3a7}"
	".v-better{background:#a8e6a1}.v-changed{background:#ffe08a}.v-same{background:#eee}"
	".v-n-a{background:#ddd;color:#555}td.verdict{font-weight:bold;text-align:center}"
	"small{color:#555}div.cols{display:flex;gap:1.5em;align-items:flex-start}";

void pcp_html_escape(FILE *f, const char *s)
{
	if (!s)
		return;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f)
				fputs("\xef\xbf\xbd", f);
			else
				fputc(*p, f);
		}
	}
}

/* v / div with a suffix, 3 significant digits, no trailing zeros after the point. */
static void fmt_scaled(char *buf, size_t len, double v, double div, const char *suffix)
{
	double x = v / div;
	int decimals = fabs(x) >= 100 ? 0 : fabs(x) >= 10 ? 1 : 2;
	char num[64], *end;

	snprintf(num, sizeof(num), "%.*f", decimals, x);
	if (strchr(num, '.')) {
		end = num + strlen(num) - 1;
		while (*end == '0')
			*end-- = '\0';
		if (*end == '.')
			*end = '\0';
	}
	if (!strcmp(num, "-0"))
		strcpy(num, "0");
	snprintf(buf, len, "%s%s", num, suffix);
}

void pcp_html_fmt(char *buf, size_t len, double v, enum pcp_html_unit unit)
{
	double a = fabs(v);

	if (isnan(v)) {
		snprintf(buf, len, "undefined");
		return;
	}
	switch (unit) {
	case PCP_HU_NS:
		if (a >= 1e9)
			fmt_scaled(buf, len, v, 1e9, " s");
		else if (a >= 1e6)
			fmt_scaled(buf, len, v, 1e6, " ms");
		else if (a >= 1e3)
			fmt_scaled(buf, len, v, 1e3, " \xc2\xb5s");
		else
			fmt_scaled(buf, len, v, 1, " ns");
		return;
	case PCP_HU_SECONDS:
		if (a != 0 && a < 1e-3)
			fmt_scaled(buf, len, v, 1e-6, " \xc2\xb5s");
		else if (a != 0 && a < 1)
			fmt_scaled(buf, len, v, 1e-3, " ms");
		else
			fmt_scaled(buf, len, v, 1, " s");
		return;
	case PCP_HU_BYTES:
		if (a >= 1073741824.0)
			fmt_scaled(buf, len, v, 1073741824.0, " GiB");
		else if (a >= 1048576.0)
			fmt_scaled(buf, len, v, 1048576.0, " MiB");
		else if (a >= 1024.0)
			fmt_scaled(buf, len, v, 1024.0, " KiB");
		else
			fmt_scaled(buf, len, v, 1, " B");
		return;
	case PCP_HU_RAW:
		snprintf(buf, len, "%.6g", v);
		return;
	case PCP_HU_COUNT:
	case PCP_HU_PAGES:
	case PCP_HU_RATE:
		break;
	}
	if (a >= 1e9)
		fmt_scaled(buf, len, v, 1e9, "G");
	else if (a >= 1e6)
		fmt_scaled(buf, len, v, 1e6, "M");
	else if (a >= 1e4)
		fmt_scaled(buf, len, v, 1e3, "k");
	else
		fmt_scaled(buf, len, v, 1, "");
}

double pcp_html_tick_step(double span, int n)
{
	double raw, mag, f;

	if (!(span > 0) || !isfinite(span) || n < 1)
		return 1;
	raw = span / n;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

/* The plot area in pixels and the data ranges mapped onto it. */
struct frame {
	double px0, px1, py0, py1;
	double x0, x1, y0, y1;
};

static double fx(const struct frame *fr, double x)
{
	return fr->px0 + (x - fr->x0) / (fr->x1 - fr->x0) * (fr->px1 - fr->px0);
}

static double fy(const struct frame *fr, double y)
{
	return fr->py1 - (y - fr->y0) / (fr->y1 - fr->y0) * (fr->py1 - fr->py0);
}

static void figure_open(FILE *f, const struct pcp_plot *p, double height, const char *extra)
{
	fputs("<figure class=\"plot\" id=\"", f);
	pcp_html_escape(f, p->id);
	fputs("\"><figcaption><b>", f);
	pcp_html_escape(f, p->title);
	fputs("</b> &#8212; ", f);
	pcp_html_escape(f, p->caption);
	fputs("</figcaption>\n", f);
	if (height > 0)
		fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 %.0f %.0f\""
			" width=\"%.0f\" height=\"%.0f\" role=\"img\"%s>\n", W, height, W, height,
			extra ? extra : "");
}

static void figure_close(FILE *f, int svg)
{
	fputs(svg ? "</svg></figure>\n" : "</figure>\n", f);
}

void pcp_svg_nodata(FILE *f, const struct pcp_plot *p, const char *reason)
{
	figure_open(f, p, 0, NULL);
	fputs("<p class=\"nodata\">No plot: ", f);
	pcp_html_escape(f, reason);
	fputs("</p>", f);
	figure_close(f, 0);
}

/* y axis from 0 to a round maximum: grid lines, tick labels, the label; returns the max used. */
static double y_axis(FILE *f, struct frame *fr, double ymax, const struct pcp_plot *p)
{
	double step;
	char lab[64];

	if (!(ymax > 0) || !isfinite(ymax))   /* a foreign database's Inf draws as an empty axis */
		ymax = 1;
	step = pcp_html_tick_step(ymax, 4);
	fr->y0 = 0;
	fr->y1 = ceil((ymax > 0 ? ymax : 1) / step) * step;
	for (double t = 0; t <= fr->y1 + step / 2; t += step) {
		double y = fy(fr, t);
		pcp_html_fmt(lab, sizeof(lab), t, p->yunit);
		fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			fr->px0, y, fr->px1, y, fr->px0 - 4, y + 4, lab);
	}
	fprintf(f, "<text class=\"axis\" transform=\"translate(14,%.1f) rotate(-90)\" text-anchor=\"middle\">",
		(fr->py0 + fr->py1) / 2);
	pcp_html_escape(f, p->ylabel);
	fputs("</text>\n", f);
	return fr->y1;
}

static void x_label(FILE *f, const struct frame *fr, const struct pcp_plot *p, double height)
{
	fprintf(f, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
		(fr->px0 + fr->px1) / 2, height - 6);
	pcp_html_escape(f, p->xlabel);
	fputs("</text>\n", f);
}

/* x ticks over a continuous range [x0, x1] in unit. */
static void x_ticks(FILE *f, const struct frame *fr, enum pcp_html_unit unit)
{
	double step = pcp_html_tick_step(fr->x1 - fr->x0, 8);
	char lab[64];

	if (!isfinite(fr->x1 - fr->x0) || (fr->x1 - fr->x0) / step > 20)
		return;
	for (double t = ceil(fr->x0 / step) * step; t <= fr->x1 + step * 1e-9; t += step) {
		double x = fx(fr, t);
		pcp_html_fmt(lab, sizeof(lab), t, unit);
		fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
			x, fr->py0, x, fr->py1 + 4, x, fr->py1 + 16, lab);
	}
}

static void legend(FILE *f, const char *const *series, size_t n)
{
	double x = ML;

	for (size_t i = 0; i < n && series; i++) {
		fprintf(f, "<rect x=\"%.1f\" y=\"6\" width=\"10\" height=\"10\" fill=\"%s\"/>"
			"<text x=\"%.1f\" y=\"15\">", x, palette[i % NR_PALETTE], x + 14);
		pcp_html_escape(f, series[i]);
		fputs("</text>\n", f);
		x += 24 + 7.0 * (double)strlen(series[i]);
	}
}

static void frame_rect(FILE *f, const struct frame *fr)
{
	fprintf(f, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
		fr->px0, fr->py0, fr->px1 - fr->px0, fr->py1 - fr->py0);
}

void pcp_svg_hist(FILE *f, const struct pcp_plot *p, const struct pcp_html_bucket *buckets,
		  size_t nr_buckets, const char *const *series, size_t nr_series, const double *values)
{
	struct frame fr = { ML, W - MR, MT, H - MB, 0, (double)(nr_buckets ? nr_buckets : 1), 0, 1 };
	double ymax = 0, slot, bw;
	size_t every;
	char lab[64], lab2[64], val[64];

	for (size_t i = 0; i < nr_buckets * nr_series; i++)
		if (values[i] > ymax)
			ymax = values[i];
	figure_open(f, p, H, NULL);
	legend(f, series, nr_series);
	y_axis(f, &fr, ymax, p);
	slot = (fr.px1 - fr.px0) / fr.x1;
	bw = slot * 0.8 / (double)(nr_series ? nr_series : 1);
	every = nr_buckets / 12 + 1;
	for (size_t b = 0; b < nr_buckets; b++) {
		double x = fx(&fr, (double)b);
		if (b % every == 0) {
			pcp_html_fmt(lab, sizeof(lab), buckets[b].lo, p->xunit);
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
				x, fr.py1 + 14, lab);
		}
		for (size_t s = 0; s < nr_series; s++) {
			double v = values[b * nr_series + s];
			if (!(v > 0))
				continue;
			pcp_html_fmt(lab, sizeof(lab), buckets[b].lo, p->xunit);
			pcp_html_fmt(lab2, sizeof(lab2), buckets[b].hi, p->xunit);
			pcp_html_fmt(val, sizeof(val), v, p->yunit);
			fprintf(f, "<rect class=\"bar\" data-series=\"");
			pcp_html_escape(f, series[s]);
			fprintf(f, "\" data-v=\"%.15g\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\""
				" fill=\"%s\"><title>", v, x + slot * 0.1 + bw * (double)s, fy(&fr, v), bw,
				fr.py1 - fy(&fr, v), palette[s % NR_PALETTE]);
			pcp_html_escape(f, series[s]);
			fprintf(f, " [%s, %s): %s</title></rect>\n", lab, lab2, val);
		}
	}
	frame_rect(f, &fr);
	x_label(f, &fr, p, H);
	figure_close(f, 1);
}

void pcp_svg_lines(FILE *f, const struct pcp_plot *p, double col_s, size_t nr_cols,
		   const char *const *series, size_t nr_series, const double *values)
{
	struct frame fr = { ML, W - MR, MT, H - MB, 0, col_s * (double)(nr_cols ? nr_cols : 1), 0, 1 };
	double ymax = 0;
	char extra[48];

	for (size_t i = 0; i < nr_cols * nr_series; i++)
		if (values[i] > ymax)
			ymax = values[i];
	/* the column width, for checks of a series' data-sum against the database */
	snprintf(extra, sizeof(extra), " data-col-s=\"%.17g\"", col_s);
	figure_open(f, p, H, extra);
	legend(f, series, nr_series);
	y_axis(f, &fr, ymax, p);
	x_ticks(f, &fr, p->xunit);
	for (size_t s = 0; s < nr_series; s++) {
		int open = 0;
		double sum = 0;
		for (size_t c = 0; c < nr_cols; c++)
			if (!isnan(values[s * nr_cols + c]))
				sum += values[s * nr_cols + c];
		fputs("<g class=\"series\" data-name=\"", f);
		pcp_html_escape(f, series[s]);
		/* data-sum: the series' total, for checks against the database */
		fprintf(f, "\" data-points=\"%zu\" data-sum=\"%.15g\" stroke=\"%s\">", nr_cols, sum,
			palette[s % NR_PALETTE]);
		for (size_t c = 0; c < nr_cols; c++) {
			double v = values[s * nr_cols + c];
			if (isnan(v)) {
				if (open)
					fputs("\"/>", f);
				open = 0;
				continue;
			}
			fprintf(f, "%s%.1f,%.1f", open ? " " : "<polyline class=\"series\" points=\"",
				fx(&fr, ((double)c + 0.5) * col_s), fy(&fr, v));
			open = 1;
		}
		if (open)
			fputs("\"/>", f);
		fputs("</g>\n", f);
	}
	frame_rect(f, &fr);
	x_label(f, &fr, p, H);
	figure_close(f, 1);
}

/* White to dark blue; t in [0, 1] is already on the square-root scale. */
static void heat_colour(char *buf, size_t len, double t)
{
	double s = t < 0 ? 0 : t > 1 ? 1 : t;
	int r = (int)(235 - 227 * s), g = (int)(243 - 195 * s), b = (int)(255 - 148 * s);

	snprintf(buf, len, "#%02x%02x%02x", r, g, b);
}

/* Colour level 1..31 of a value (v / max) on a square-root scale: small values stay visible. */
static int heat_level(double t)
{
	int level = (int)lround(sqrt(t < 0 ? 0 : t > 1 ? 1 : t) * 31);

	return level < 1 ? 1 : level;
}

void pcp_svg_heatmap(FILE *f, const struct pcp_plot *p, size_t rows, size_t cols, double col_w,
		     const double *values)
{
	double rh = rows > 32 ? 6 : rows > 8 ? 10 : 18;
	double height = MT + MB + rh * (double)(rows ? rows : 1);
	struct frame fr = { ML, W - MR - 60, MT, height - MB, 0, (double)(cols ? cols : 1), 0,
			    (double)(rows ? rows : 1) };
	double vmax = 0, cw;
	size_t every, drawn = 0;
	char colour[32], lab[64], val[64];

	for (size_t i = 0; i < rows * cols; i++)
		if (values[i] > vmax)
			vmax = values[i];
	for (size_t i = 0; i < rows * cols; i++)
		drawn += values[i] > 0;
	{
		char extra[96];
		snprintf(extra, sizeof(extra), " data-rows=\"%zu\" data-cols=\"%zu\" data-cells=\"%zu\"",
			 rows, cols, drawn);
		figure_open(f, p, height, extra);
	}
	cw = (fr.px1 - fr.px0) / (double)(cols ? cols : 1);
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fff\"/>\n",
		fr.px0, fr.py0, fr.px1 - fr.px0, fr.py1 - fr.py0);
	/* Neighbouring cells of a row with the same colour (32 levels) are one rect: data-v is
	 * their sum, data-n how many cells it covers (1 when absent). Tooltips only while the
	 * plot is small: they are most of a cell's bytes. */
	for (size_t r = 0; r < rows; r++) {
		for (size_t c = 0; c < cols; c++) {
			double v = values[r * cols + c], sum;
			int level;
			size_t k = 1;
			if (!(v > 0))
				continue;
			level = heat_level(v / vmax);
			sum = v;
			while (c + k < cols && values[r * cols + c + k] > 0 &&
			       heat_level(values[r * cols + c + k] / vmax) == level)
				sum += values[r * cols + c + k++];
			heat_colour(colour, sizeof(colour), level / 31.0);
			fprintf(f, "<rect class=\"cell\" data-r=\"%zu\" data-v=\"%.15g\"", r, sum);
			if (k > 1)
				fprintf(f, " data-n=\"%zu\"", k);
			fprintf(f, " x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"",
				fr.px0 + cw * (double)c, fr.py0 + rh * (double)r, cw * (double)k, rh, colour);
			if (drawn <= 4000) {
				pcp_html_fmt(val, sizeof(val), sum, p->yunit);
				if (col_w > 0)
					pcp_html_fmt(lab, sizeof(lab), (double)c * col_w, p->xunit);
				else
					snprintf(lab, sizeof(lab), "%zu", c);
				fprintf(f, "><title>%zu, %s%s: %s</title></rect>\n", r, lab, k > 1 ? " on" : "", val);
			} else {
				fputs("/>\n", f);
			}
			c += k - 1;
		}
	}
	/* Row labels (CPUs), every k-th so they do not overlap. */
	every = (size_t)ceil(12.0 / rh);
	for (size_t r = 0; r < rows; r += every)
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%zu</text>\n", fr.px0 - 4,
			fr.py0 + rh * ((double)r + 0.5) + 4, r);
	fprintf(f, "<text class=\"axis\" transform=\"translate(14,%.1f) rotate(-90)\" text-anchor=\"middle\">",
		(fr.py0 + fr.py1) / 2);
	pcp_html_escape(f, p->ylabel);
	fputs("</text>\n", f);
	if (col_w > 0) {
		struct frame t = fr;
		t.x1 = col_w * (double)cols;
		x_ticks(f, &t, p->xunit);
	} else {
		every = (size_t)ceil(24.0 / cw);
		for (size_t c = 0; c < cols; c += every)
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%zu</text>\n",
				fr.px0 + cw * ((double)c + 0.5), fr.py1 + 14, c);
	}
	frame_rect(f, &fr);
	/* Colour scale: a vertical gradient from 0 (bottom) to the maximum (top). */
	fputs("<defs><linearGradient id=\"", f);
	pcp_html_escape(f, p->id);
	fputs("-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">", f);
	for (int i = 0; i <= 4; i++) {
		heat_colour(colour, sizeof(colour), i / 4.0);
		fprintf(f, "<stop offset=\"%.2f\" stop-color=\"%s\"/>", i / 4.0, colour);
	}
	fputs("</linearGradient></defs>", f);
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"%.1f\" fill=\"url(#", fr.px1 + 10,
		fr.py0, fr.py1 - fr.py0);
	pcp_html_escape(f, p->id);
	pcp_html_fmt(val, sizeof(val), vmax, p->yunit);
	fprintf(f, "-scale)\" stroke=\"#888\"/><text x=\"%.1f\" y=\"%.1f\">%s</text>"
		"<text x=\"%.1f\" y=\"%.1f\">0</text>\n", fr.px1 + 26, fr.py0 + 10, val, fr.px1 + 26, fr.py1);
	x_label(f, &fr, p, height);
	figure_close(f, 1);
}

void pcp_svg_hbars(FILE *f, const struct pcp_plot *p, const char *const *labels,
		   const double *values, size_t n)
{
	double bh = 18, height = MT + MB + bh * (double)(n ? n : 1);
	struct frame fr = { 300, W - MR - 70, MT, height - MB, 0, 1, 0, 1 };
	double vmax = 0;
	char val[64];

	for (size_t i = 0; i < n; i++)
		if (values[i] > vmax)
			vmax = values[i];
	fr.x1 = vmax > 0 ? vmax : 1;
	figure_open(f, p, height, NULL);
	for (size_t i = 0; i < n; i++) {
		double y = fr.py0 + bh * (double)i, w = values[i] > 0 ? fx(&fr, values[i]) - fr.px0 : 0;
		char label[48];
		snprintf(label, sizeof(label), "%s", labels[i] ? labels[i] : "?");
		if (labels[i] && strlen(labels[i]) >= sizeof(label))
			memcpy(label + sizeof(label) - 4, "...", 4);
		pcp_html_fmt(val, sizeof(val), values[i], p->xunit);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", fr.px0 - 6, y + 13);
		pcp_html_escape(f, label);
		fprintf(f, "</text><rect class=\"hbar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\""
			" fill=\"%s\"><title>", fr.px0, y + 2, w, bh - 4, palette[0]);
		pcp_html_escape(f, labels[i]);
		fprintf(f, ": %s</title></rect><text x=\"%.1f\" y=\"%.1f\">%s</text>\n", val,
			fr.px0 + w + 4, y + 13, val);
	}
	fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", fr.px0,
		fr.py0, fr.px0, fr.py1);
	x_label(f, &fr, p, height);
	figure_close(f, 1);
}
