/* Percpu fragmentation (issue 16) -> the text summary lines and the JSON members. */
#ifndef PCPTRACE_PERCPU_FRAG_REPORT_H
#define PCPTRACE_PERCPU_FRAG_REPORT_H

#include <stdio.h>
#include <jansson.h>

struct pcp_percpu_results;

/* The one-line verdict (grew / did not change / shrank / not measured), the chunks side by
 * side and the run's survivors per chunk. */
void pcp_percpu_frag_report_text(FILE *out, const struct pcp_percpu_results *r);
/* Adds "frag" (null without both snapshots) and "run_chunks" to the percpu JSON object p.
 * 0, or -1 on allocation failure. */
int pcp_percpu_frag_report_json(json_t *p, const struct pcp_percpu_results *r);

#endif
