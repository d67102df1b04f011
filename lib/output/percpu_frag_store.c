/* Percpu fragmentation (issue 16) -> SQLite: the snapshots side by side (percpu_frag) and the
 * run's survivors per chunk (percpu_run_chunk). Runs inside the caller's transaction. */
#include <stdint.h>
#include "common/error.h"
#include "model/percpu.h"
#include "model/percpu_frag.h"
#include "output/percpu_frag_store.h"

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

/* One row per key; NULL for a side the pairing lacks (columns 8-10). */
static int frag_rows(sqlite3_stmt *st, int pairing, const char *scope, const char *status,
		     int32_t bchunk, int32_t achunk, int has_base, uint64_t base,
		     const char *const *keys, const struct pcp_frag_value *v, size_t n)
{
	int rc = PCP_OK;

	for (size_t k = 0; !rc && k < n; k++) {
		if (!v[k].has_before && !v[k].has_after)
			continue; /* a key neither text has */
		sqlite3_bind_int(st, 1, pairing);
		sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
		if (bchunk != INT32_MIN)
			sqlite3_bind_int(st, 4, bchunk);
		if (achunk != INT32_MIN)
			sqlite3_bind_int(st, 5, achunk);
		if (has_base)
			sqlite3_bind_int64(st, 6, (sqlite3_int64)base);
		sqlite3_bind_text(st, 7, keys[k], -1, SQLITE_STATIC);
		if (v[k].has_before)
			sqlite3_bind_int64(st, 8, v[k].before);
		if (v[k].has_after)
			sqlite3_bind_int64(st, 9, v[k].after);
		if (v[k].has_before && v[k].has_after)
			sqlite3_bind_int64(st, 10, pcp_frag_sub(v[k].after, v[k].before));
		rc = step_reset(st);
	}
	return rc;
}

static int store_frag(sqlite3 *db, const struct pcp_percpu_frag *f)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT INTO percpu_frag(pairing, scope, status, before_chunk, "
			       "after_chunk, base_addr, key, before, after, change) "
			       "VALUES (?,?,?,?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
		return PCP_ERR_DB;
	rc = frag_rows(st, 0, "global", "matched", -1, -1, 0, 0, pcp_frag_global_keys, f->global,
		       PCP_FRAG_NR_GLOBAL_KEYS);
	for (size_t i = 0; !rc && i < f->nr_chunks; i++) {
		const struct pcp_frag_chunk *c = &f->chunks[i];
		rc = frag_rows(st, (int)i + 1, pcp_frag_kind_name(c->kind),
			       pcp_frag_status_name(c->status),
			       c->before_chunk >= 0 ? c->before_chunk : INT32_MIN,
			       c->after_chunk >= 0 ? c->after_chunk : INT32_MIN, c->has_base,
			       c->base_addr, pcp_frag_chunk_keys, c->v, PCP_FRAG_NR_CHUNK_KEYS);
	}
	sqlite3_finalize(st);
	return rc;
}

static int store_run_chunks(sqlite3 *db, const struct pcp_percpu_results *r)
{
	sqlite3_stmt *st;
	int rc = PCP_OK;

	if (sqlite3_prepare_v2(db, "INSERT INTO percpu_run_chunk(base_addr, created_ns, allocs, "
			       "unit_bytes, bytes_alloc, lo_off, hi_off, span_bytes, holes, "
			       "hole_bytes, max_hole_bytes) VALUES (?,?,?,?,?,?,?,?,?,?,?)", -1, &st,
			       NULL) != SQLITE_OK)
		return PCP_ERR_DB;
	for (size_t i = 0; !rc && i < r->nr_run_chunks; i++) {
		const struct pcp_percpu_run_chunk *c = &r->run_chunks[i];
		sqlite3_bind_int64(st, 1, (sqlite3_int64)c->base_addr);
		if (c->has_created)
			bind_u64(st, 2, c->created_ns);
		bind_u64(st, 3, c->allocs);
		bind_u64(st, 4, c->unit_bytes);
		bind_u64(st, 5, c->bytes_alloc);
		bind_u64(st, 6, c->lo_off);
		bind_u64(st, 7, c->hi_off);
		bind_u64(st, 8, c->span_bytes);
		bind_u64(st, 9, c->holes);
		bind_u64(st, 10, c->hole_bytes);
		bind_u64(st, 11, c->max_hole_bytes);
		rc = step_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

int pcp_percpu_frag_store(sqlite3 *db, const struct pcp_percpu_results *r)
{
	int rc = r->frag ? store_frag(db, r->frag) : PCP_OK;

	if (!rc)
		rc = store_run_chunks(db, r);
	return rc;
}
