/* SQLite results (schema.sql): written to a temp file beside the target, renamed at the end. */
#ifndef PCPTRACE_STORE_H
#define PCPTRACE_STORE_H

#include <stddef.h>
#include "model/analyze.h"

#define PCP_SCHEMA_VERSION 2

extern const char pcp_schema_sql[]; /* schema.sql, compiled in */

int pcp_store_write(const char *db_path, const struct pcp_analysis *a, char *errbuf, size_t errlen);
/* The same, up to a finished temp file: the caller renames it with pcp_outfile_commit() (or
 * drops it with pcp_outfile_abort()), e.g. only once the JSON beside it is complete too. */
struct pcp_outfile;
int pcp_store_prepare(struct pcp_outfile *out, const char *db_path, const struct pcp_analysis *a,
		      char *errbuf, size_t errlen);
/* The error code for SQLite's last failure on db: PCP_ERR_IO for a full disk or an I/O error
 * (SQLITE_FULL, SQLITE_IOERR: the output cannot be written), PCP_ERR_DB otherwise. */
typedef struct sqlite3 sqlite3;
int pcp_sqlite_error(sqlite3 *db);

#endif
