/* The zone-lock hold time part of the text summary and the analysis JSON's "zone_lock_hold"
 * member (pcpanalyze(1)). */
#ifndef PCPTRACE_LOCK_HOLD_REPORT_H
#define PCPTRACE_LOCK_HOLD_REPORT_H

#include <stdio.h>
#include <jansson.h>
#include "model/lock_hold.h"

/* Longest acquisitions the text summary lists (the database and JSON hold --top). */
#define PCP_LOCK_HOLD_TEXT_LONGEST 5

/* Nothing when r is NULL or has no acquisition. */
void pcp_lock_hold_report_text(FILE *out, const struct pcp_lock_hold_results *r);
/* The member, or NULL on allocation failure (r NULL: JSON null). */
json_t *pcp_lock_hold_report_json(const struct pcp_lock_hold_results *r);

#endif
