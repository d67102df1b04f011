/* Lock-cause results (model/lock_cause.h) -> the lock_cause and lock_cause_stack tables, their
 * metrics and trace_info rows (lock_cause_store.c, inside the store's transaction), the text
 * summary's section and the analysis JSON's "lock_cause" member (lock_cause_report.c). */
#ifndef PCPTRACE_LOCK_CAUSE_OUTPUT_H
#define PCPTRACE_LOCK_CAUSE_OUTPUT_H

#include <stdio.h>
#include <jansson.h>
#include <sqlite3.h>
#include "model/lock_cause.h"

/* PCP_ERR_DB (sqlite3_errmsg(db) says why). */
int pcp_lock_cause_store(sqlite3 *db, const struct pcp_lock_cause_results *r);
void pcp_lock_cause_report_text(FILE *out, const struct pcp_lock_cause_results *r);
/* root["lock_cause"]; PCP_ERR_NOMEM. */
int pcp_lock_cause_report_json(json_t *root, const struct pcp_lock_cause_results *r);
const char *pcp_lock_kind_name(enum pcp_lock_kind k);   /* "refill", "drain" */

#endif
