/* Zone-lock hold time results -> SQLite (zone_lock_hold, zone_lock_hold_hist,
 * zone_lock_pages_hist, zone_lock_longest; schema.sql). Runs inside the caller's transaction. */
#ifndef PCPTRACE_LOCK_HOLD_STORE_H
#define PCPTRACE_LOCK_HOLD_STORE_H

#include "model/lock_hold.h"

typedef struct sqlite3 sqlite3;

/* PCP_OK; on an SQLite failure the code of pcp_sqlite_error() (SQLite's message on db). */
int pcp_lock_hold_store(sqlite3 *db, const struct pcp_lock_hold_results *r);

#endif
