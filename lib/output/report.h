/* Human summary and JSON of an analysis. */
#ifndef PCPTRACE_REPORT_H
#define PCPTRACE_REPORT_H

#include <stdio.h>
#include <jansson.h>
#include "model/analyze.h"

#define PCP_JSON_SCHEMA_VERSION 2

void pcp_report_text(FILE *out, const struct pcp_analysis *a);
/* The documented JSON shape (pcpanalyze(1)); caller json_decref()s. NULL on allocation failure. */
json_t *pcp_report_json(const struct pcp_analysis *a);
/* Writes JSON to path ("-" = stdout) atomically. */
int pcp_report_json_write(const char *path, const struct pcp_analysis *a);

#endif
