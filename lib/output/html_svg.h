/* Small dependency-free SVG/HTML plotting for the HTML reports (issue 13): escaping, number
 * formats with units, axes with round ticks, bar histograms, line charts, heatmaps, horizontal
 * bars. Everything is written as well-formed XML (XHTML-compatible), so a plain XML parser
 * reads the whole report; plots are aggregated by the caller (one element per bucket, never
 * per event). Elements carry classes the tests count: rect.bar, rect.cell, polyline.series,
 * rect.hbar. */
#ifndef PCPTRACE_HTML_SVG_H
#define PCPTRACE_HTML_SVG_H

#include <stddef.h>
#include <stdio.h>

/* How an axis or a value is printed. */
enum pcp_html_unit {
	PCP_HU_COUNT,     /* 1.2k, 3.4M */
	PCP_HU_NS,        /* 120 ns, 1.5 us, 3 ms, 2 s */
	PCP_HU_SECONDS,   /* 0.25 s */
	PCP_HU_BYTES,     /* 512 B, 4 KiB, 1.5 MiB */
	PCP_HU_PAGES,     /* as COUNT (the label says pages) */
	PCP_HU_RATE,      /* per second, as COUNT */
	PCP_HU_RAW,       /* %g */
};

/* Writes s with &, <, >, " and ' escaped (NULL: nothing). Control characters but tab and
 * newline become U+FFFD, so the output stays valid XML whatever a trace's comm holds. */
void pcp_html_escape(FILE *f, const char *s);
/* v formatted in unit into buf (NAN: "undefined"). */
void pcp_html_fmt(char *buf, size_t len, double v, enum pcp_html_unit unit);

/* Round tick step for a range: 1, 2 or 5 times a power of ten, about n ticks. */
double pcp_html_tick_step(double span, int n);

/* What every plot has: an id (the element's id, for tests and links), a title, a one-line
 * caption saying how to read it, axis labels with units. */
struct pcp_plot {
	const char *id;
	const char *title;
	const char *caption;
	const char *xlabel, *ylabel;
	enum pcp_html_unit xunit, yunit;
};

/* Histogram in log2 buckets [lo, hi): nr_series bars per bucket side by side; values is
 * nr_bars x nr_series (row major). Zero values draw no rect; series names go to the legend and
 * to data-series. rect.bar per non-zero value. */
struct pcp_html_bucket {
	double lo, hi;
};
void pcp_svg_hist(FILE *f, const struct pcp_plot *p, const struct pcp_html_bucket *buckets,
		  size_t nr_buckets, const char *const *series, size_t nr_series, const double *values);

/* Line chart over time columns (x = column * col_s seconds): nr_series polylines of nr_cols
 * points each; values nr_series x nr_cols, NAN = no point (the line breaks). */
void pcp_svg_lines(FILE *f, const struct pcp_plot *p, double col_s, size_t nr_cols,
		   const char *const *series, size_t nr_series, const double *values);

/* Heatmap: rows x cols cells, values rows x cols; cells with value 0 (or NAN) are not drawn.
 * x axis: columns times col_w in xunit starting at 0 (for a time axis), or, with col_w = 0,
 * column indexes labelled as integers (a CPU axis). Rows are labelled by index (CPUs). Colour
 * on a square-root scale of value / max (the legend gives the max). rect.cell per drawn cell. */
void pcp_svg_heatmap(FILE *f, const struct pcp_plot *p, size_t rows, size_t cols, double col_w,
		     const double *values);

/* Horizontal bars, one per label (value in p->xunit), longest at the top as given. */
void pcp_svg_hbars(FILE *f, const struct pcp_plot *p, const char *const *labels,
		   const double *values, size_t n);

/* "<p class="nodata">" with the reason a plot is not drawn, inside the plot's figure. */
void pcp_svg_nodata(FILE *f, const struct pcp_plot *p, const char *reason);

/* The style sheet every report uses (inside <style>, no external resource). */
extern const char pcp_html_css[];

#endif
