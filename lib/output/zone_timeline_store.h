/* Zone-lock acquisitions over time per zone and kind -> SQLite (zone_lock_timeline;
 * schema.sql). Runs inside the caller's transaction. */
#ifndef PCPTRACE_ZONE_TIMELINE_STORE_H
#define PCPTRACE_ZONE_TIMELINE_STORE_H

#include "model/churn.h"

typedef struct sqlite3 sqlite3;

/* PCP_OK; on an SQLite failure the code of pcp_sqlite_error() (SQLite's message on db). */
int pcp_zone_timeline_store(sqlite3 *db, const struct pcp_churn_results *c);

#endif
