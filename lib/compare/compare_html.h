/* `pcpanalyze compare --html`: the comparison as one self-contained HTML page (issue 13). */
#ifndef PCPTRACE_COMPARE_HTML_H
#define PCPTRACE_COMPARE_HTML_H

#include <stddef.h>
#include <stdio.h>

struct pcp_compare_result;
struct pcp_outfile;

/* Writes the page to f; PCP_ERR_IO when f failed. */
int pcp_compare_html_render(FILE *f, const struct pcp_compare_result *r);
/* Renders into a finished temp file beside path; the caller commits or aborts out. */
int pcp_compare_html_prepare(struct pcp_outfile *out, const char *path,
			     const struct pcp_compare_result *r, char *errbuf, size_t errlen);

#endif
