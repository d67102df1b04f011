/* merge: several results databases into one, every row tagged with its run, for SQL across runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <sqlite3.h>
#include "common/json_text.h"
#include "compare/compare.h"
#include "common/error.h"
#include "meta/meta.h"
#include "output/outfile.h"
#include "compare/results_db.h"
#include "output/store.h"
#include "common/util.h"

static const char merged_schema[] =
	"CREATE TABLE run(run INTEGER PRIMARY KEY, source TEXT, trace_file TEXT, host TEXT,"
	" kernel_release TEXT, recorded_at TEXT, refill_source TEXT, labels TEXT);\n"
	"CREATE TABLE run_label(run INTEGER, key TEXT, value TEXT, PRIMARY KEY(run, key));\n";

/* Views over the merged tables; created after the data so every table exists. */
static const char merged_views[] =
	"CREATE VIEW IF NOT EXISTS v_run_metrics AS SELECT r.run, r.source, r.host, r.kernel_release,"
	" r.refill_source, r.labels, m.name, m.value, m.unit, m.better"
	" FROM run r JOIN metrics m ON m.run = r.run;\n";

/* The checker of foreign databases compares merged inputs with these (results_db.h). */
const char *const pcp_merged_schema_sql = merged_schema;
const char *const pcp_merged_views_sql = merged_views;

/* trace_info keys that carry a run's identity: the meta's, as the store names them. */
static const char *const host_keys[] = { PCP_META_INFO_HOSTNAME, NULL };
static const char *const kernel_keys[] = { PCP_META_INFO_KERNEL_RELEASE, NULL };
static const char *const time_keys[] = { PCP_META_INFO_START_TIME, NULL };

static char *info_value(sqlite3 *db, const char *table, const char *const *keys)
{
	char *sql = sqlite3_mprintf("SELECT value FROM src.%s WHERE key = ?", table);
	sqlite3_stmt *st = NULL;
	char *value = NULL;

	if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_free(sql);
		return NULL;
	}
	sqlite3_free(sql);
	for (; *keys && !value; keys++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, *keys, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			value = strdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return value;
}

static int exec(sqlite3 *db, const char *sql, char *errbuf, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		/* A full disk or an I/O error is the output's, not the database's (exit 74). */
		int err = pcp_sqlite_error(db), sys = err == PCP_ERR_IO ? sqlite3_system_errno(db) : 0;

		pcp_errorf(errbuf, errlen, err, "%s%s%s%s", msg ? msg : sqlite3_errmsg(db),
			   sys ? " (" : "", sys ? strerror(sys) : "", sys ? ")" : "");
		sqlite3_free(msg);
		return err;
	}
	return PCP_OK;
}

static int table_exists(sqlite3 *db, const char *schema, const char *table)
{
	char *sql = sqlite3_mprintf("SELECT 1 FROM %s.sqlite_master WHERE type = 'table' AND name = %Q",
				    schema, table);
	sqlite3_stmt *st = NULL;
	int found = 0;

	if (sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK)
		found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return found;
}

/* Column list "a, b, c" of schema.table, skipping a column named run. */
static char *column_list(sqlite3 *db, const char *schema, const char *table, int with_types)
{
	char *sql = sqlite3_mprintf("SELECT name, type FROM pragma_table_info(%Q, %Q)", table, schema);
	sqlite3_stmt *st = NULL;
	char *list = NULL;

	if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_free(sql);
		return NULL;
	}
	sqlite3_free(sql);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *type = (const char *)sqlite3_column_text(st, 1);
		char *next;

		if (!strcmp(name, "run"))
			continue;
		next = sqlite3_mprintf("%s%s\"%w\"%s%s", list ? list : "", list ? ", " : "", name,
				       with_types && type && *type ? " " : "", with_types && type ? type : "");
		sqlite3_free(list);
		list = next;
		if (!list)
			break;
	}
	sqlite3_finalize(st);
	return list;
}

/* Copies every data table of the attached src into main, with run ids shifted by offset
 * (merged input) or set to run_id (single run). Table and column names come from the input:
 * pcp_results_db_attach() has limited them to our schema's, and they are still spliced only as
 * quoted identifiers (%w); values are copied by SQL, never spliced. */
static int copy_tables(sqlite3 *db, int merged_input, long long run_id, long long offset,
		       const char *input, char *errbuf, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int err = PCP_OK;

	if (sqlite3_prepare_v2(db, "SELECT name FROM src.sqlite_master WHERE type = 'table' AND name NOT "
				   "LIKE 'sqlite_%' AND name NOT IN ('run', 'run_label') ORDER BY name",
			       -1, &st, NULL) != SQLITE_OK)
		return pcp_errorf(errbuf, errlen, PCP_ERR_DB, "%s: %s", input, sqlite3_errmsg(db));
	while (!err && sqlite3_step(st) == SQLITE_ROW) {
		char *table = strdup((const char *)sqlite3_column_text(st, 0));
		char *src_cols = table ? column_list(db, "src", table, 0) : NULL;
		char *sql = NULL;

		if (!table || !src_cols) {
			err = PCP_ERR_NOMEM;
		} else if (!table_exists(db, "main", table)) {
			char *typed = column_list(db, "src", table, 1);
			sql = typed ? sqlite3_mprintf("CREATE TABLE main.\"%w\"(run INTEGER NOT NULL, %s)", table,
						      typed)
				    : NULL;
			sqlite3_free(typed);
			err = sql ? exec(db, sql, errbuf, errlen) : PCP_ERR_NOMEM;
			sqlite3_free(sql);
			sql = NULL;
		} else {
			char *main_cols = column_list(db, "main", table, 0);
			if (!main_cols || strcmp(main_cols, src_cols))
				err = pcp_errorf(errbuf, errlen, PCP_ERR_SCHEMA,
					   "%s: table %s has other columns than the runs before it", input,
					   table);
			sqlite3_free(main_cols);
		}
		if (!err) {
			sql = merged_input
				      ? sqlite3_mprintf("INSERT INTO main.\"%w\"(run, %s) SELECT run + %lld, %s "
							"FROM src.\"%w\"", table, src_cols, offset, src_cols, table)
				      : sqlite3_mprintf("INSERT INTO main.\"%w\"(run, %s) SELECT %lld, %s FROM "
							"src.\"%w\"", table, src_cols, run_id, src_cols, table);
			err = sql ? exec(db, sql, errbuf, errlen) : PCP_ERR_NOMEM;
			sqlite3_free(sql);
		}
		sqlite3_free(src_cols);
		free(table);
	}
	sqlite3_finalize(st);
	return err;
}

static char *labels_json(const struct pcp_merge_label *labels, size_t n)
{
	json_t *obj = json_object();
	char *text;

	for (size_t i = 0; obj && i < n; i++)
		json_object_set_new(obj, labels[i].key, pcp_json_text(labels[i].value));
	text = obj ? json_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
	json_decref(obj);
	return text;
}

static int add_single_run(sqlite3 *db, long long run_id, const char *input, const char *labels_text,
			  const struct pcp_merge_label *labels, size_t nr_labels, char *errbuf,
			  size_t errlen)
{
	char *trace_file = info_value(db, "trace_info", (const char *const[]){ "trace_file", NULL });
	char *host = info_value(db, "trace_info", host_keys);
	char *kernel = info_value(db, "trace_info", kernel_keys);
	char *when = info_value(db, "trace_info", time_keys);
	char *refill = info_value(db, "trace_info", (const char *const[]){ "refill_source", NULL });
	sqlite3_stmt *st = NULL;
	int err = PCP_OK;

	if (sqlite3_prepare_v2(db, "INSERT INTO main.run VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &st,
			       NULL) != SQLITE_OK) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "%s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_text(st, 2, input, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, trace_file, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, kernel, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, when, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, refill, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, labels_text, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	st = NULL;
	for (size_t i = 0; !err && i < nr_labels; i++) {
		if (sqlite3_prepare_v2(db, "INSERT INTO main.run_label VALUES (?, ?, ?)", -1, &st, NULL) !=
		    SQLITE_OK) {
			err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "%s", sqlite3_errmsg(db));
			break;
		}
		sqlite3_bind_int64(st, 1, run_id);
		sqlite3_bind_text(st, 2, labels[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, labels[i].value, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "%s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		st = NULL;
	}
out:
	free(trace_file);
	free(host);
	free(kernel);
	free(when);
	free(refill);
	return err;
}

/* A merged input keeps its runs and labels; run ids are shifted past the ones already taken. */
static int add_merged_runs(sqlite3 *db, long long offset, char *errbuf, size_t errlen)
{
	char *sql = sqlite3_mprintf(
		"INSERT INTO main.run SELECT run + %lld, source, trace_file, host, kernel_release, "
		"recorded_at, refill_source, labels FROM src.run;"
		"INSERT INTO main.run_label SELECT run + %lld, key, value FROM src.run_label;",
		offset, offset);
	int err = sql ? exec(db, sql, errbuf, errlen) : PCP_ERR_NOMEM;

	sqlite3_free(sql);
	return err;
}

static long long next_run_id(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	long long id = 1;

	if (sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(run), 0) + 1 FROM main.run", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

static int check_version(sqlite3 *db, const char *input, char *errbuf, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int version = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA src.user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version != PCP_SCHEMA_VERSION || !table_exists(db, "src", "metrics"))
		return pcp_errorf(errbuf, errlen, PCP_ERR_SCHEMA,
			    "%s: not a pcptrace results database of schema version %d", input,
			    PCP_SCHEMA_VERSION);
	return PCP_OK;
}

int pcp_merge_databases(const char *out_path, char *const *inputs, size_t nr_inputs,
			const struct pcp_merge_label *labels, size_t nr_labels,
			char *errbuf, size_t errlen)
{
	return pcp_merge_databases_as(out_path, inputs, inputs, nr_inputs, labels, nr_labels, errbuf,
				      errlen);
}

int pcp_merge_databases_as(const char *out_path, char *const *db_paths, char *const *inputs,
			   size_t nr_inputs, const struct pcp_merge_label *labels, size_t nr_labels,
			   char *errbuf, size_t errlen)
{
	struct pcp_outfile of;
	char *labels_text = NULL, reason[256], *uri = NULL;
	sqlite3 *db = NULL;
	int err = PCP_OK;

	if (!nr_inputs)
		return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE, "no input database");
	/* The output replaces its file at the end: an input there would be lost. */
	for (size_t i = 0; i < nr_inputs; i++)
		if (pcp_same_file(out_path, db_paths[i]))
			return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
					  "%s: the output (-o) is also an input; choose another output file",
					  out_path);
	for (size_t i = 0; i < nr_inputs; i++) {
		int kind = pcp_file_kind(db_paths[i]);
		if (kind < 0)
			return pcp_errorf(errbuf, errlen, PCP_ERR_NOFILE, "%s: %s", inputs[i], strerror(-kind));
		if (kind != PCP_FILE_SQLITE)
			return pcp_errorf(errbuf, errlen, PCP_ERR_SCHEMA, "%s: %s", inputs[i],
					  kind == PCP_FILE_TRACE_DAT ? "a trace.dat file, not a results database"
					  : "neither a results database nor a trace.dat file");
	}
	/* run_label has one value per (run, key): a repeated key would fail half-way as an SQL
	 * constraint error (and labels_json would keep only the last value). */
	for (size_t i = 0; i < nr_labels; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(labels[i].key, labels[j].key))
				return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE, "label %s given twice",
					    labels[i].key);
	labels_text = labels_json(labels, nr_labels);
	if (!labels_text)
		return PCP_ERR_NOMEM;
	err = pcp_outfile_open(&of, out_path, reason, sizeof(reason));
	if (err) {
		free(labels_text);
		return pcp_errorf(errbuf, errlen, err, "%s: %s", out_path, reason);
	}
	close(of.fd); /* SQLite opens the temp file by name */
	of.fd = -1;
	/* URI file names on, so inputs can be attached read-only; the temp path as a URI too */
	uri = pcp_sqlite_file_uri(of.tmp_path, NULL);
	if (!uri || sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
				    NULL) != SQLITE_OK) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "%s: %s", out_path, sqlite3_errmsg(db));
		goto out;
	}
	err = exec(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN;", errbuf, errlen);
	if (!err)
		err = exec(db, merged_schema, errbuf, errlen);
	for (size_t i = 0; !err && i < nr_inputs; i++) {
		long long run_id = next_run_id(db);
		int merged_input;

		/* read-only, defensive, and only if it is our schema, object by object */
		err = pcp_results_db_attach(db, db_paths[i], "src", reason, sizeof(reason));
		if (err) {
			pcp_errorf(errbuf, errlen, err, "%s: %s", inputs[i], reason);
			break;
		}
		err = check_version(db, inputs[i], errbuf, errlen);
		merged_input = table_exists(db, "src", "run");
		if (!err)
			err = merged_input ? add_merged_runs(db, run_id - 1, errbuf, errlen)
					   : add_single_run(db, run_id, inputs[i], labels_text, labels,
							    nr_labels, errbuf, errlen);
		if (!err)
			err = copy_tables(db, merged_input, run_id, run_id - 1, inputs[i], errbuf, errlen);
		/* DETACH is not allowed inside a transaction: commit the input, then start the next. */
		if (!err)
			err = exec(db, "COMMIT; DETACH DATABASE src; BEGIN;", errbuf, errlen);
	}
	if (!err)
		err = exec(db, merged_views, errbuf, errlen);
	if (!err) {
		char *pragma = sqlite3_mprintf("PRAGMA user_version = %d", PCP_SCHEMA_VERSION);
		err = pragma ? exec(db, pragma, errbuf, errlen) : PCP_ERR_NOMEM;
		sqlite3_free(pragma);
	}
	if (!err)
		err = exec(db, "COMMIT;", errbuf, errlen);
out:
	if (sqlite3_close(db) != SQLITE_OK && !err)
		err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "%s: cannot close the database", out_path);
	/* A full disk or an I/O error while writing: name the output it happened to. */
	if (err == PCP_ERR_IO && errbuf && errlen && strncmp(errbuf, out_path, strlen(out_path))) {
		char *cause = strdup(errbuf);
		if (cause)
			pcp_errorf(errbuf, errlen, err, "%s: %s", out_path, cause);
		free(cause);
	}
	if (!err && (err = pcp_outfile_commit(&of, reason, sizeof(reason))))
		pcp_errorf(errbuf, errlen, err, "%s: %s", out_path, reason);
	if (err)
		pcp_outfile_abort(&of);
	free(labels_text);
	sqlite3_free(uri);
	return err;
}
