/* Percpu fragmentation (issue 16) -> SQLite: percpu_frag and percpu_run_chunk (schema.sql). */
#ifndef PCPTRACE_PERCPU_FRAG_STORE_H
#define PCPTRACE_PERCPU_FRAG_STORE_H

#include <sqlite3.h>

struct pcp_percpu_results;

/* Writes r->frag (when the snapshots were compared) and r->run_chunks inside the caller's
 * transaction. PCP_ERR_DB. */
int pcp_percpu_frag_store(sqlite3 *db, const struct pcp_percpu_results *r);

#endif
