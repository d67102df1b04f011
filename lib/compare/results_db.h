/*
 * Results databases that come from elsewhere (CI artifacts, a colleague's files, merged fleet
 * databases) are opened defensively (issue 17): read-only, SQLite's defensive mode, schema
 * content untrusted (trusted_schema off: no function with side effects runs from a view,
 * trigger or column default of the file), no extension loading, triggers disabled, no mmap, cell
 * size checks, and a quick_check before anything is read. Then the file must be what our
 * schema version promises, object by object:
 *
 *   - PRAGMA user_version must be PCP_SCHEMA_VERSION, else PCP_ERR_SCHEMA (exit 12).
 *   - A single-run database has exactly the tables, views and indexes of schema.sql; a merged
 *     one (it has a "run" table) those of pcp_merged_schema_sql/pcp_merged_views_sql plus every
 *     schema.sql table with a leading "run" column. Tables must have our columns (names and
 *     declared types, in order), views our definitions, indexes ours.
 *   - Anything else (a trigger, a view or index we did not make, a view or virtual table in
 *     place of one of our tables, an extra table, an extra or retyped column) means the file is
 *     not ours: PCP_ERR_USAGE (exit 2) naming the object. Extra columns and tables are refused
 *     rather than ignored because merge copies tables whole and because a results file that was
 *     edited is no longer a pcptrace result. A missing table or column is PCP_ERR_SCHEMA.
 *   - A file that fails quick_check: PCP_ERR_DB.
 * SQLite's internal tables (sqlite_stat1 from ANALYZE, sqlite_sequence) are allowed.
 * Error texts are one line without the file's name: the caller prefixes it.
 */
#ifndef PCPTRACE_RESULTS_DB_H
#define PCPTRACE_RESULTS_DB_H

#include <stddef.h>
#include <sqlite3.h>

/* merge's own tables and views (lib/compare/merge.c), part of the layout of a merged database. */
extern const char *const pcp_merged_schema_sql;
extern const char *const pcp_merged_views_sql;

/* Opens path read-only with the defensive settings and checks it (above). On error *out is
 * NULL and errbuf has the reason. */
int pcp_results_db_open(const char *path, sqlite3 **out, char *errbuf, size_t errlen);

/* Applies the defensive settings to db (a connection opened with SQLITE_OPEN_URI, such as
 * merge's output), attaches path read-only as schema and checks it. On error the caller
 * gives the connection up (the schema may still be attached). */
int pcp_results_db_attach(sqlite3 *db, const char *path, const char *schema, char *errbuf,
			  size_t errlen);

/* "file:" URI for path (percent-encoded; query appended after '?' when not NULL), for
 * sqlite3_open_v2(..., SQLITE_OPEN_URI) and ATTACH. Free with sqlite3_free(). NULL if out of
 * memory. */
char *pcp_sqlite_file_uri(const char *path, const char *query);

#endif
