/* SQLite results (schema.sql): written to a temp file beside the target, renamed at the end. */
#ifndef PCPTRACE_STORE_H
#define PCPTRACE_STORE_H

#include <stddef.h>
#include "pcptrace/analyze.h"

#define PCP_SCHEMA_VERSION 2

extern const char pcp_schema_sql[]; /* schema.sql, compiled in */

int pcp_store_write(const char *db_path, const struct pcp_analysis *a, char *errbuf, size_t errlen);

#endif
