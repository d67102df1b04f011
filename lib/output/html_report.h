/* The HTML report of one analysis (issue 13), drawn from its results database: the same
 * renderer for `pcpanalyze --html` (the database just stored, before it is renamed) and
 * `pcpanalyze report --html` (a stored or merged result). One self-contained file. */
#ifndef PCPTRACE_HTML_REPORT_H
#define PCPTRACE_HTML_REPORT_H

#include <stddef.h>
#include <stdio.h>

struct pcp_outfile;
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

/* Time columns of the over-time plots at most (the timeline's --bucket windows are merged
 * k at a time above this); heatmaps keep rows x columns under PCP_HTML_MAX_CELLS. */
#define PCP_HTML_MAX_COLS 300
#define PCP_HTML_MAX_CELLS 8000
/* CPUs above which the pair matrix is not drawn (one cell per CPU pair). */
#define PCP_HTML_MAX_PAIR_CPUS 128
/* CPUs above which per-CPU plots are heatmaps instead of one line per CPU. */
#define PCP_HTML_MAX_LINES 8

/* Writes the report of db (a checked results database; merged databases: through temp views
 * of one run, see pcp_html_report_prepare) to f. PCP_ERR_DB with the reason in errbuf. */
int pcp_html_report_render(FILE *f, sqlite3 *db, const char *db_label, char *errbuf, size_t errlen);

/* Opens db_path defensively (results_db.h), renders the report into a finished temp file
 * beside html_path; the caller commits or aborts out. db_label: the name the report gives the
 * database (NULL: db_path; a temp file's final name). run: the run of a merged database to
 * draw (-1: the only one; a merged database of several runs then is PCP_ERR_USAGE). */
int pcp_html_report_prepare(struct pcp_outfile *out, const char *html_path, const char *db_path,
			    const char *db_label, long long run, char *errbuf, size_t errlen);

/* Writes a rendered document (memory) into a finished temp file beside path. */
int pcp_html_prepare_buffer(struct pcp_outfile *out, const char *path, const char *doc,
			    size_t len, char *errbuf, size_t errlen);

/* The database a report is drawn from and the report's first failure (PCP_ERR_DB with SQLite's
 * message, or PCP_ERR_NOMEM; errmsg malloc'ed or NULL): the plots of html_report.c and
 * html_zone_timeline.c read it through these two, which do nothing once err is set. */
struct pcp_html_db {
	sqlite3 *db;
	int err;
	char *errmsg;
};
/* A prepared statement, or NULL (the failure kept in q). */
sqlite3_stmt *pcp_html_prep(struct pcp_html_db *q, const char *sql);
/* Steps st: 1 = a row, 0 = done or failed (st finalized, a failure kept in q; NULL st: 0). */
int pcp_html_step(struct pcp_html_db *q, sqlite3_stmt *st);

#endif
