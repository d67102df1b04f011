/* Foreign results databases (lib/results_db.c): the defensive settings are really on after
 * opening, file names become exact URIs. The crafted-database cases are in
 * tests/integration/foreign_db.sh. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "common/error.h"
#include "compare/results_db.h"
#include "output/store.h"
#include "check_helpers.h"

static char path[] = "/tmp/pcp-test-results-db.XXXXXX";

/* schema.sql with a comment added to every line: layout and comments are not the schema */
static char *recommented_schema(void)
{
	size_t n = 0;
	char *out = malloc(3 * strlen(pcp_schema_sql) + 1), *p = out;

	for (const char *s = pcp_schema_sql; *s; s++) {
		if (*s == '\n') {
			memcpy(p, "  -- x", 6);
			p += 6;
			n++;
		}
		*p++ = *s == '\t' ? ' ' : *s;
	}
	*p = '\0';
	ck_assert_uint_gt(n, 10);
	return out;
}

static void make_ours(int recommented)
{
	sqlite3 *db;
	char pragma[64], *schema = recommented ? recommented_schema() : NULL;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA synchronous = OFF; BEGIN", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, schema ? schema : pcp_schema_sql, NULL, NULL, NULL), SQLITE_OK);
	free(schema);
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d; COMMIT", PCP_SCHEMA_VERSION);
	ck_assert_int_eq(sqlite3_exec(db, pragma, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int db_config(sqlite3 *db, int op)
{
	int v = -1;

	ck_assert_int_eq(sqlite3_db_config(db, op, -1, &v), SQLITE_OK);
	return v;
}

START_TEST(defensive_after_open)
{
	sqlite3 *db = NULL;
	char err[256] = "", pragma[64];

	make_ours(0);
	ck_assert_int_eq(pcp_results_db_open(path, &db, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(db_config(db, SQLITE_DBCONFIG_DEFENSIVE), 1);
	ck_assert_int_eq(db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA), 0);
	ck_assert_int_eq(db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION), 0);
	ck_assert_int_eq(db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER), 0);
	/* the SQL function is off too, and nothing can be written */
	ck_assert_int_ne(sqlite3_exec(db, "SELECT load_extension('/nonexistent')", NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "INSERT INTO metrics VALUES ('x', 1, 'u', 'none')", NULL,
				      NULL, NULL),
			 SQLITE_READONLY);
	sqlite3_close(db);

	/* another version is PCP_ERR_SCHEMA before any object is looked at */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 99; CREATE TRIGGER t AFTER INSERT "
					  "ON metrics BEGIN SELECT 1; END;", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(pcp_results_db_open(path, &db, err, sizeof(err)), PCP_ERR_SCHEMA);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", PCP_SCHEMA_VERSION);
	ck_assert_int_eq(sqlite3_exec(db, pragma, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(pcp_results_db_open(path, &db, err, sizeof(err)), PCP_ERR_USAGE);
	ck_assert_str_eq(err, "not a pcptrace results database: trigger t on metrics, which the "
			      "pcptrace schema does not have");
	unlink(path);
}
END_TEST

START_TEST(comments_do_not_matter)
{
	sqlite3 *db = NULL;
	char err[256] = "";

	make_ours(1);
	ck_assert_msg(pcp_results_db_open(path, &db, err, sizeof(err)) == PCP_OK, "%s", err);
	sqlite3_close(db);
	unlink(path);
}
END_TEST

START_TEST(file_uris)
{
	static const struct {
		const char *path, *query, *uri;
	} cases[] = {
		{ "/tmp/a.db", "mode=ro", "file:///tmp/a.db?mode=ro" },
		{ "rel/a.db", NULL, "file:rel/a.db" },
		{ "file:x?mode=rwc#y%z.db", "mode=ro", "file:file:x%3Fmode=rwc%23y%25z.db?mode=ro" },
		{ "//two/slashes", NULL, "file:////two/slashes" },
		{ "sp ace\t\xc3\xa9", NULL, "file:sp%20ace%09%C3%A9" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *uri = pcp_sqlite_file_uri(cases[i].path, cases[i].query);

		ck_assert_str_eq(uri, cases[i].uri);
		sqlite3_free(uri);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("results_db");
	TCase *tc = tcase_create("results_db");

	tcase_add_test(tc, defensive_after_open);
	tcase_add_test(tc, comments_do_not_matter);
	tcase_add_test(tc, file_uris);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
