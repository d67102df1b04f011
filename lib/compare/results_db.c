/* Foreign results databases: opened read-only and defensively, checked against our schema. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sqlite3.h>
#include "common/error.h"
#include "compare/results_db.h"
#include "output/store.h"

char *pcp_sqlite_file_uri(const char *path, const char *query)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(path);
	char *enc = sqlite3_malloc64(3 * n + 1), *p = enc, *uri;

	if (!enc)
		return NULL;
	for (const unsigned char *s = (const unsigned char *)path; *s; s++) {
		/* '?' and '#' would end the path, '%' starts an escape; control bytes and
		 * non-ASCII are escaped too, so the URI is plain ASCII */
		if (*s <= ' ' || *s >= 0x7f || *s == '%' || *s == '?' || *s == '#') {
			*p++ = '%';
			*p++ = hex[*s >> 4];
			*p++ = hex[*s & 15];
		} else {
			*p++ = (char)*s;
		}
	}
	*p = '\0';
	/* An absolute path gets an empty authority ("file:///a"): "file://a" would name host a. */
	uri = sqlite3_mprintf("file:%s%s%s%s", path[0] == '/' ? "//" : "", enc, query ? "?" : "",
			      query ? query : "");
	sqlite3_free(enc);
	return uri;
}

/* SQLite's settings for database files from elsewhere ("Defense against dark arts" in
 * sqlite.org/security.html). They hold for the whole connection. */
static int harden(sqlite3 *db, char *errbuf, size_t errlen)
{
	static const int settings[][2] = {
		{ SQLITE_DBCONFIG_DEFENSIVE, 1 },       /* no writable_schema, no shadow tables */
		{ SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0 },  /* the file's SQL runs no side effects */
		{ SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0 },
		{ SQLITE_DBCONFIG_ENABLE_TRIGGER, 0 },  /* we need none */
		{ SQLITE_DBCONFIG_DQS_DDL, 0 },         /* "x" is an identifier, never a string */
		{ SQLITE_DBCONFIG_DQS_DML, 0 },
	};

	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (sqlite3_db_config(db, settings[i][0], settings[i][1], NULL) != SQLITE_OK)
			return pcp_errorf(errbuf, errlen, PCP_ERR_DB,
					  "cannot enable SQLite's defensive settings (option %d)",
					  settings[i][0]);
	if (sqlite3_enable_load_extension(db, 0) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA cell_size_check = ON", NULL, NULL, NULL) != SQLITE_OK)
		return pcp_errorf(errbuf, errlen, PCP_ERR_DB, "cannot enable SQLite's defensive settings: %s",
				  sqlite3_errmsg(db));
	return PCP_OK;
}

/* One integer from a query (-1 if none). */
static long long query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* SQL text without comments and with runs of white space made one space, for comparing
 * definitions (a comment edited in schema.sql does not make older files foreign). */
static char *squeeze(const char *sql)
{
	char *out = malloc(strlen(sql ? sql : "") + 1), *p = out, quote = 0;
	int space = 0;

	if (!out)
		return NULL;
	for (; sql && *sql; sql++) {
		if (!quote && sql[0] == '-' && sql[1] == '-') {
			while (sql[1] && sql[1] != '\n')
				sql++;
			space = p != out;
			continue;
		}
		if (!quote && (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')) {
			space = p != out;
			continue;
		}
		if (quote && *sql == quote)
			quote = 0; /* a doubled quote closes and reopens: same result */
		else if (!quote && (*sql == '\'' || *sql == '"' || *sql == '`' || *sql == '['))
			quote = *sql == '[' ? ']' : *sql;
		/* no space before ')' or ',' or after '(': layout only */
		if (space && p != out && p[-1] != '(' && *sql != ')' && *sql != ',')
			*p++ = ' ';
		space = 0;
		*p++ = *sql;
	}
	*p = '\0';
	return out;
}

struct check {
	sqlite3 *db;                   /* the connection holding the foreign schema */
	const char *schema;            /* "main" or the attach name */
	sqlite3 *single;               /* in memory: schema.sql as the store makes it */
	sqlite3 *merged;               /* in memory: merge's own tables and views, or NULL */
	char *errbuf;
	size_t errlen;
};

static int not_ours(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Objects we did not make: the file is not ours (exit 2), whatever else it holds. */
static int not_ours(struct check *c, const char *fmt, ...)
{
	static const char prefix[] = "not a pcptrace results database: ";
	va_list ap;

	if (c->errbuf && c->errlen > sizeof(prefix)) {
		memcpy(c->errbuf, prefix, sizeof(prefix));
		va_start(ap, fmt);
		vsnprintf(c->errbuf + sizeof(prefix) - 1, c->errlen - sizeof(prefix) + 1, fmt, ap);
		va_end(ap);
	}
	return PCP_ERR_USAGE;
}

static int incomplete(struct check *c, const char *what, const char *name)
{
	return pcp_errorf(c->errbuf, c->errlen, PCP_ERR_SCHEMA,
			  "not a complete pcptrace results database of schema version %d: no %s %s",
			  PCP_SCHEMA_VERSION, what, name);
}

static int nomem(struct check *c)
{
	return pcp_errorf(c->errbuf, c->errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
}

static sqlite3 *memory_db(const char *sql1, const char *sql2)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, sql1, NULL, NULL, NULL) != SQLITE_OK ||
	    (sql2 && sqlite3_exec(db, sql2, NULL, NULL, NULL) != SQLITE_OK)) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/* What we would have made under this name: type, table and definition (NULL: nothing). A
 * merged database holds schema.sql's tables (with a run column) but not its views or indexes. */
static sqlite3_stmt *expected_object(struct check *c, const char *name, int *with_run)
{
	sqlite3 *ref[2] = { c->merged ? c->merged : c->single, c->merged ? c->single : NULL };
	sqlite3_stmt *st = NULL;

	for (int i = 0; i < 2 && ref[i]; i++) {
		if (sqlite3_prepare_v2(ref[i], i ? "SELECT type, tbl_name, sql FROM sqlite_master "
						   "WHERE name = ?1 AND type = 'table'"
						 : "SELECT type, tbl_name, sql FROM sqlite_master WHERE name = ?1",
				       -1, &st, NULL) != SQLITE_OK)
			return NULL;
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*with_run = i == 1;
			return st;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	return NULL;
}

/* Column names and declared types of a table, "name type\n..." (NULL: out of memory). */
static char *columns(sqlite3 *db, const char *schema, const char *table, int with_run)
{
	sqlite3_stmt *st = NULL;
	char *list = sqlite3_mprintf("%s", with_run ? "run INTEGER\n" : ""), *next;

	/* xinfo: generated columns too, marked, so one cannot pass for a stored column */
	if (!list || sqlite3_prepare_v2(db, "SELECT name, type, hidden FROM pragma_table_xinfo(?1, ?2)", -1, &st,
					NULL) != SQLITE_OK) {
		sqlite3_free(list);
		return NULL;
	}
	sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, schema, -1, SQLITE_TRANSIENT);
	while (list && sqlite3_step(st) == SQLITE_ROW) {
		next = sqlite3_mprintf("%s%s %s%s\n", list, (const char *)sqlite3_column_text(st, 0),
				       (const char *)sqlite3_column_text(st, 1),
				       sqlite3_column_int(st, 2) ? " (generated)" : "");
		sqlite3_free(list);
		list = next;
	}
	sqlite3_finalize(st);
	return list;
}

/* First column (as "name type") of list that other lacks, in buf; 0 if none. */
static int first_missing(const char *list, const char *other, char *buf, size_t len)
{
	for (const char *p = list; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = (size_t)(nl - p);
		int found = 0;

		for (const char *q = other; *q && !found;) {
			const char *ql = strchr(q, '\n');
			found = (size_t)(ql - q) == n && !strncasecmp(p, q, n);
			q = ql + 1;
		}
		if (!found) {
			snprintf(buf, len, "%.*s", (int)n, p);
			return 1;
		}
		p = nl + 1;
	}
	return 0;
}

/* Columns first (the clearest message), then the whole definition where we know it: a merged
 * database's copies of schema.sql tables are made by merge from the columns alone. */
static int check_table(struct check *c, const char *name, const char *sql, int with_run,
		       const char *want_sql)
{
	char *have = NULL, *want = NULL, col[160];
	int err = PCP_OK;

	if (sql && !strncasecmp(sql, "CREATE VIRTUAL", 14))
		return not_ours(c, "%s is a virtual table", name);
	have = columns(c->db, c->schema, name, 0);
	want = columns(with_run ? c->single : c->merged ? c->merged : c->single, "main", name,
		       with_run);
	if (!have || !want)
		err = nomem(c);
	else if (first_missing(have, want, col, sizeof(col)))
		err = not_ours(c, "table %s has column %s, which the pcptrace schema does not", name, col);
	else if (first_missing(want, have, col, sizeof(col)))
		err = pcp_errorf(c->errbuf, c->errlen, PCP_ERR_SCHEMA,
				 "not a complete pcptrace results database of schema version %d: "
				 "table %s lacks column %s", PCP_SCHEMA_VERSION, name, col);
	else if (strcasecmp(have, want))
		err = not_ours(c, "table %s has the pcptrace schema's columns in another order or type",
			       name);
	sqlite3_free(have);
	sqlite3_free(want);
	if (!err && !with_run) {
		have = squeeze(sql);
		want = squeeze(want_sql);
		if (!have || !want)
			err = nomem(c);
		else if (strcmp(have, want))
			err = not_ours(c, "table %s differs from the pcptrace schema's (constraints or "
					  "defaults)", name);
		free(have);
		free(want);
	}
	return err;
}

/* Every object of the file must be one we would have made, the same way. */
static int check_objects(struct check *c)
{
	sqlite3_stmt *st = NULL;
	char *sql = sqlite3_mprintf("SELECT type, name, tbl_name, sql FROM \"%w\".sqlite_master "
				    "WHERE NOT (type = 'table' AND name LIKE 'sqlite\\_%%' ESCAPE '\\') "
				    /* code first: a view in a table's place is named as such */
				    "ORDER BY type = 'trigger' DESC, type = 'view' DESC, rowid", c->schema);
	int err = PCP_OK, rc;

	if (!sql)
		return nomem(c);
	rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return pcp_errorf(c->errbuf, c->errlen, PCP_ERR_DB, "cannot read its schema: %s",
				  sqlite3_errmsg(c->db));
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *table = (const char *)sqlite3_column_text(st, 2);
		const char *def = (const char *)sqlite3_column_text(st, 3);
		int with_run = 0;
		sqlite3_stmt *exp;

		if (!type || !name || !table)
			return pcp_errorf(c->errbuf, c->errlen, PCP_ERR_DB, "damaged schema");
		if (!strcmp(type, "trigger")) {
			err = not_ours(c, "trigger %s on %s, which the pcptrace schema does not have", name,
				       table);
			break;
		}
		exp = expected_object(c, name, &with_run);
		if (!exp) {
			err = not_ours(c, "%s %s, which the pcptrace schema does not have", type, name);
		} else if (strcmp(type, (const char *)sqlite3_column_text(exp, 0))) {
			err = not_ours(c, "%s is a %s, where the pcptrace schema has a %s", name, type,
				       (const char *)sqlite3_column_text(exp, 0));
		} else if (!strcmp(type, "table")) {
			err = check_table(c, name, def, with_run,
					  (const char *)sqlite3_column_text(exp, 2));
		} else {
			const char *want = (const char *)sqlite3_column_text(exp, 2);
			char *a = squeeze(def), *b = squeeze(want);

			if (!a || !b)
				err = nomem(c);
			else if ((!def != !want) || strcmp(a, b) ||
				 strcmp(table, (const char *)sqlite3_column_text(exp, 1)))
				err = not_ours(c, "%s %s differs from the pcptrace schema's", type, name);
			free(a);
			free(b);
		}
		sqlite3_finalize(exp);
	}
	if (!err && rc != SQLITE_DONE)
		err = pcp_errorf(c->errbuf, c->errlen, PCP_ERR_DB, "cannot read its schema: %s",
				 sqlite3_errmsg(c->db));
	sqlite3_finalize(st);
	return err;
}

/* Tables added to schema version 2 after databases of it were written (issue 11's lifecycle
 * and zone-lock hold tables, issue 12's lock causes, issue 16's percpu fragmentation, issue
 * 13's zone_lock_timeline): a database without them is
 * complete (a baseline kept from an earlier pcptrace; its metrics without them are simply not
 * there, and compare says so per metric); when present they are checked like every other
 * object. */
static int added_later(const char *name)
{
	static const char *const names[] = {
		"lifecycle_cpu_flow", "lifecycle_residency_hist", "lifecycle_occupancy",
		"lifecycle_task", "round_trip_phase_hist",
		"zone_lock_hold", "zone_lock_hold_hist", "zone_lock_pages_hist", "zone_lock_longest",
		"percpu_frag", "percpu_run_chunk", "lock_cause", "lock_cause_stack",
		"zone_lock_timeline",
	};

	for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return 1;
	return 0;
}

/* ...and every object we would have made must be there. */
static int check_complete(struct check *c, sqlite3 *ref, int tables_only)
{
	sqlite3_stmt *st = NULL, *have = NULL;
	char *sql = sqlite3_mprintf("SELECT 1 FROM \"%w\".sqlite_master WHERE name = ?1", c->schema);
	int err = PCP_OK;

	if (!sql || sqlite3_prepare_v2(c->db, sql, -1, &have, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(ref, tables_only
				    ? "SELECT type, name, tbl_name FROM sqlite_master WHERE type = 'table'"
				    : "SELECT type, name, tbl_name FROM sqlite_master",
			       -1, &st, NULL) != SQLITE_OK)
		err = pcp_errorf(c->errbuf, c->errlen, PCP_ERR_DB, "cannot read its schema: %s",
				 sqlite3_errmsg(c->db));
	sqlite3_free(sql);
	while (!err && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);

		if (added_later((const char *)sqlite3_column_text(st, 2)))   /* its indexes too */
			continue;
		sqlite3_reset(have);
		sqlite3_bind_text(have, 1, name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(have) != SQLITE_ROW)
			err = incomplete(c, (const char *)sqlite3_column_text(st, 0), name);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(have);
	return err;
}

static int check_database(sqlite3 *db, const char *schema, char *errbuf, size_t errlen)
{
	struct check c = { db, schema, NULL, NULL, errbuf, errlen };
	char *sql;
	long long version;
	int err = PCP_OK, is_merged;

	/* the header first: another version's layout is not compared object by object */
	sql = sqlite3_mprintf("PRAGMA \"%w\".user_version", schema);
	version = query_int(db, sql);
	sqlite3_free(sql);
	if (version != PCP_SCHEMA_VERSION)
		return pcp_errorf(errbuf, errlen, PCP_ERR_SCHEMA,
				  "not a pcptrace results database of schema version %d (schema version %lld)",
				  PCP_SCHEMA_VERSION, version);
	/* a damaged file is refused before any of it is read */
	{
		sqlite3_stmt *st = NULL;
		const char *res = NULL;

		sql = sqlite3_mprintf("PRAGMA \"%w\".quick_check(1)", schema);
		if (sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			res = (const char *)sqlite3_column_text(st, 0);
		if (!res || strcmp(res, "ok"))
			err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "damaged database: %s",
					 res ? res : sqlite3_errmsg(db));
		sqlite3_finalize(st);
		sqlite3_free(sql);
		if (err)
			return err;
	}
	sql = sqlite3_mprintf("SELECT COUNT(*) FROM \"%w\".sqlite_master WHERE type = 'table' AND "
			      "name = 'run'", schema);
	is_merged = query_int(db, sql) > 0;
	sqlite3_free(sql);
	c.single = memory_db(pcp_schema_sql, NULL);
	if (is_merged)
		c.merged = memory_db(pcp_merged_schema_sql, pcp_merged_views_sql);
	if (!c.single || (is_merged && !c.merged))
		err = pcp_errorf(errbuf, errlen, PCP_ERR_INTERNAL, "cannot build the reference schema");
	if (!err)
		err = check_objects(&c);
	if (!err)
		err = check_complete(&c, c.merged ? c.merged : c.single, 0);
	if (!err && c.merged)
		err = check_complete(&c, c.single, 1);
	sqlite3_close(c.single);
	sqlite3_close(c.merged);
	return err;
}

/* Names in the message come from the file: control characters would break the one-line rule
 * (or drive the terminal). */
static int one_line(int err, char *errbuf, size_t errlen)
{
	for (size_t i = 0; err && errbuf && i < errlen && errbuf[i]; i++)
		if ((unsigned char)errbuf[i] < ' ' || errbuf[i] == 0x7f)
			errbuf[i] = '?';
	return err;
}

int pcp_results_db_open(const char *path, sqlite3 **out, char *errbuf, size_t errlen)
{
	sqlite3 *db = NULL;
	char *uri;
	int err;

	*out = NULL;
	/* Always as an encoded URI: SQLite built with USE_URI (Debian's) would otherwise read a
	 * name starting with "file:" as a URI whose parameters come from the name. */
	uri = pcp_sqlite_file_uri(path, "mode=ro");
	if (!uri || sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "cannot open database: %s",
				 db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		sqlite3_free(uri);
		return err;
	}
	sqlite3_free(uri);
	err = harden(db, errbuf, errlen);
	if (!err && sqlite3_exec(db, "PRAGMA mmap_size = 0", NULL, NULL, NULL) != SQLITE_OK)
		err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "%s", sqlite3_errmsg(db));
	if (!err)
		err = check_database(db, "main", errbuf, errlen);
	if (err) {
		sqlite3_close(db);
		return one_line(err, errbuf, errlen);
	}
	*out = db;
	return PCP_OK;
}

int pcp_results_db_attach(sqlite3 *db, const char *path, const char *schema, char *errbuf,
			  size_t errlen)
{
	char *uri = pcp_sqlite_file_uri(path, "mode=ro");
	char *sql = sqlite3_mprintf("ATTACH DATABASE ?1 AS \"%w\"", schema);
	sqlite3_stmt *st = NULL;
	int err = harden(db, errbuf, errlen);

	/* the file name is a bound parameter: no quoting of user text into SQL */
	if (!err && (!uri || !sql))
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
	if (!err && (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
		     sqlite3_bind_text(st, 1, uri, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
		     sqlite3_step(st) != SQLITE_DONE))
		err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "cannot open database: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_free(sql);
	sqlite3_free(uri);
	if (!err) {
		sql = sqlite3_mprintf("PRAGMA \"%w\".mmap_size = 0", schema);
		if (!sql || sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			err = pcp_errorf(errbuf, errlen, PCP_ERR_DB, "%s", sqlite3_errmsg(db));
		sqlite3_free(sql);
	}
	if (!err)
		err = check_database(db, schema, errbuf, errlen);
	return one_line(err, errbuf, errlen);
}
