/* Lock-cause results -> SQLite (output/lock_cause_output.h; schema.sql: lock_cause,
 * lock_cause_stack, trace_info stack_* keys, the lock-cause metrics). */
#include <stdint.h>
#include <stdio.h>
#include "common/error.h"
#include "output/lock_cause_output.h"

const char *pcp_lock_kind_name(enum pcp_lock_kind k)
{
	return k == PCP_LOCK_KIND_DRAIN ? "drain" : "refill";
}

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK ? PCP_OK : PCP_ERR_DB;
}

static int step_reset(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? PCP_OK : PCP_ERR_DB;
}

static void bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	sqlite3_bind_int64(st, i, v > INT64_MAX ? INT64_MAX : (sqlite3_int64)v);
}

static int store_info(sqlite3 *db, const struct pcp_lock_cause_results *r)
{
	const struct { const char *key; uint64_t v; } kv[] = {
		{ "stack_events", r->stack_events },
		{ "stacks_attributed", r->stacks_attributed },
		{ "stacks_extra", r->stacks_extra },
		{ "stacks_unattributed", r->stacks_unattributed },
		{ "distinct_stacks", r->distinct_stacks },
	};
	sqlite3_stmt *st;
	int rc = prep(db, "INSERT INTO trace_info(key, value) VALUES (?,?)", &st);

	for (size_t i = 0; !rc && i < sizeof(kv) / sizeof(kv[0]); i++) {
		char v[32];

		snprintf(v, sizeof(v), "%llu", (unsigned long long)kv[i].v);
		sqlite3_bind_text(st, 1, kv[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, v, -1, SQLITE_TRANSIENT);
		rc = step_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

int pcp_lock_cause_store(sqlite3 *db, const struct pcp_lock_cause_results *r)
{
	sqlite3_stmt *st;
	int rc = store_info(db, r);

	if (!rc && !(rc = prep(db, "INSERT INTO lock_cause(kind, nid, zid, cause, acquisitions, "
			       "pages) VALUES (?,?,?,?,?,?)", &st))) {
		for (size_t i = 0; !rc && i < r->nr_rows; i++) {
			const struct pcp_lock_cause_row *x = &r->rows[i];
			sqlite3_bind_text(st, 1, pcp_lock_kind_name(x->kind), -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, x->nid);
			sqlite3_bind_int64(st, 3, x->zid);
			sqlite3_bind_text(st, 4, x->cause, -1, SQLITE_STATIC);
			bind_u64(st, 5, x->acquisitions);
			bind_u64(st, 6, x->pages);
			rc = step_reset(st);
		}
		sqlite3_finalize(st);
	}
	if (!rc && !(rc = prep(db, "INSERT INTO lock_cause_stack(kind, cause, rank, comm, pid, "
			       "folded, acquisitions, pages) VALUES (?,?,?,?,?,?,?,?)", &st))) {
		for (size_t i = 0, rank = 0; !rc && i < r->nr_stacks; i++) {
			const struct pcp_lock_cause_stack *x = &r->stacks[i];

			rank = i && x->kind == x[-1].kind && x->cause == x[-1].cause ? rank + 1 : 0;
			sqlite3_bind_text(st, 1, pcp_lock_kind_name(x->kind), -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, x->cause, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, (sqlite3_int64)rank);
			sqlite3_bind_text(st, 4, x->comm, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, x->pid);
			sqlite3_bind_text(st, 6, x->folded, -1, SQLITE_STATIC);
			bind_u64(st, 7, x->acquisitions);
			bind_u64(st, 8, x->pages);
			rc = step_reset(st);
		}
		sqlite3_finalize(st);
	}
	if (!rc && !(rc = prep(db, "INSERT INTO metrics(name, value, unit, better) "
			       "VALUES (?,?,?,?)", &st))) {
		for (size_t i = 0; !rc && i < r->nr_metrics; i++) {
			const struct pcp_metric *m = &r->metrics[i];
			sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
			sqlite3_bind_double(st, 2, m->value);   /* NAN is stored as NULL */
			sqlite3_bind_text(st, 3, m->unit, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, m->better, -1, SQLITE_STATIC);
			rc = step_reset(st);
		}
		sqlite3_finalize(st);
	}
	return rc;
}
