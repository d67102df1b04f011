/* The lifecycle results (model/lifecycle.h) in the outputs: SQLite tables (lifecycle_store.c),
 * the text summary's section and the JSON member (lifecycle_report.c). */
#ifndef PCPTRACE_LIFECYCLE_OUT_H
#define PCPTRACE_LIFECYCLE_OUT_H

#include <stdio.h>
#include <jansson.h>
#include "model/analyze.h"

typedef struct sqlite3 sqlite3;

/* The lifecycle_* tables, round_trip_phase_hist, the lifecycle metrics rows and the
 * lifecycle_* trace_info keys, into an open database (inside the store's transaction). No-op
 * when a->lifecycle is NULL. PCP_ERR_DB (the database's message says why). */
int pcp_lifecycle_store(sqlite3 *db, const struct pcp_analysis *a);

/* The text summary's lifecycle section (or the line saying the trace has none). */
void pcp_lifecycle_text(FILE *out, const struct pcp_analysis *a);

/* The JSON "lifecycle" member: {"recorded": false, "note": ...} or the results. NULL: no
 * memory. */
json_t *pcp_lifecycle_json(const struct pcp_analysis *a);

/* The line the outputs give for a trace without lifecycle events. */
#define PCP_LIFECYCLE_NOT_RECORDED \
	"no kmem:mm_page_alloc/mm_page_free records: the lifecycle part needs pcprecord --lifecycle recordings"

#endif
