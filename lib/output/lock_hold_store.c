/* Zone-lock hold time results -> SQLite (lock_hold_store.h). Undefined values (NAN) are NULL. */
#include <math.h>
#include <sqlite3.h>
#include "output/lock_hold_store.h"
#include "output/store.h"
#include "common/error.h"

static const char *kind_name(enum pcp_lock_kind k)
{
	return k == PCP_LOCK_KIND_DRAIN ? "drain" : "refill";
}

static void bind_u64(sqlite3_stmt *st, int col, uint64_t v)
{
	sqlite3_bind_int64(st, col, (sqlite3_int64)v);
}

static void bind_defined(sqlite3_stmt *st, int col, double v)
{
	if (isnan(v))
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_double(st, col, v);
}

/* One statement, one row per call of fill(i) for i < n. */
static int insert_rows(sqlite3 *db, const char *sql, size_t n, const void *ctx,
		       void (*fill)(sqlite3_stmt *, const void *, size_t))
{
	sqlite3_stmt *st = NULL;
	int rc = PCP_OK;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return pcp_sqlite_error(db);
	for (size_t i = 0; i < n && !rc; i++) {
		fill(st, ctx, i);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = pcp_sqlite_error(db);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	sqlite3_finalize(st);
	return rc;
}

static void fill_row(sqlite3_stmt *st, const void *ctx, size_t i)
{
	const struct pcp_lock_hold_results *r = ctx;
	const struct pcp_lock_hold_row *z = &r->rows[i];

	sqlite3_bind_int64(st, 1, z->nid);
	sqlite3_bind_int64(st, 2, z->zid);
	sqlite3_bind_text(st, 3, kind_name(z->kind), -1, SQLITE_STATIC);
	bind_u64(st, 4, z->acquisitions);
	bind_u64(st, 5, z->empty_acquisitions);
	bind_defined(st, 6, z->hold_p50_ns);
	bind_defined(st, 7, z->hold_p99_ns);
	bind_defined(st, 8, z->hold_max_ns);
	sqlite3_bind_int(st, 9, r->lower_bound);
	if (z->batch >= 0) {
		sqlite3_bind_int64(st, 10, z->batch);
		bind_u64(st, 11, z->at_batch_acquisitions);
	}
	bind_defined(st, 12, z->at_batch_share);
}

static void fill_hold_hist(sqlite3_stmt *st, const void *ctx, size_t i)
{
	const struct pcp_lock_hold_bucket *b = &((const struct pcp_lock_hold_results *)ctx)->hold_hist[i];

	sqlite3_bind_text(st, 1, kind_name(b->kind), -1, SQLITE_STATIC);
	bind_u64(st, 2, b->lo);
	bind_u64(st, 3, b->hi);
	bind_u64(st, 4, b->acquisitions);
}

static void fill_pages_hist(sqlite3_stmt *st, const void *ctx, size_t i)
{
	const struct pcp_lock_hold_bucket *b = &((const struct pcp_lock_hold_results *)ctx)->pages_hist[i];

	sqlite3_bind_text(st, 1, kind_name(b->kind), -1, SQLITE_STATIC);
	bind_u64(st, 2, b->lo);
	bind_u64(st, 3, b->hi);
	bind_u64(st, 4, b->acquisitions);
}

static void fill_longest(sqlite3_stmt *st, const void *ctx, size_t i)
{
	const struct pcp_lock_hold_acq *q = &((const struct pcp_lock_hold_results *)ctx)->longest[i];

	bind_u64(st, 1, i + 1);
	bind_u64(st, 2, q->ts_ns);
	sqlite3_bind_int64(st, 3, q->cpu);
	if (q->pid >= 0) {
		sqlite3_bind_int64(st, 4, q->pid);
		if (q->comm[0])
			sqlite3_bind_text(st, 5, q->comm, -1, SQLITE_TRANSIENT);
	}
	sqlite3_bind_text(st, 6, kind_name(q->kind), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, q->nid);
	sqlite3_bind_int64(st, 8, q->zid);
	bind_u64(st, 9, q->blocks);
	bind_u64(st, 10, q->pages);
	bind_u64(st, 11, q->hold_ns);
}

int pcp_lock_hold_store(sqlite3 *db, const struct pcp_lock_hold_results *r)
{
	int rc;

	if (!r)
		return PCP_OK;
	rc = insert_rows(db, "INSERT INTO zone_lock_hold(nid, zid, kind, acquisitions, "
			 "empty_acquisitions, hold_p50_ns, hold_p99_ns, hold_max_ns, lower_bound, "
			 "batch, at_batch_acquisitions, at_batch_share) "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
			 r->nr_rows, r, fill_row);
	if (!rc)
		rc = insert_rows(db, "INSERT INTO zone_lock_hold_hist(kind, lo_ns, hi_ns, acquisitions) "
				 "VALUES (?1, ?2, ?3, ?4)", r->nr_hold_hist, r, fill_hold_hist);
	if (!rc)
		rc = insert_rows(db, "INSERT INTO zone_lock_pages_hist(kind, lo_pages, hi_pages, "
				 "acquisitions) VALUES (?1, ?2, ?3, ?4)", r->nr_pages_hist, r,
				 fill_pages_hist);
	if (!rc)
		rc = insert_rows(db, "INSERT INTO zone_lock_longest(rank, ts_ns, cpu, pid, comm, kind, "
				 "nid, zid, blocks, pages, hold_ns) "
				 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
				 r->nr_longest, r, fill_longest);
	return rc;
}
