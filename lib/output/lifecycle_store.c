/* Lifecycle results -> SQLite (schema.sql: lifecycle_cpu_flow, lifecycle_residency_hist,
 * lifecycle_occupancy, lifecycle_task, round_trip_phase_hist, the lifecycle metrics rows and
 * lifecycle_* trace_info keys), inside the store's one transaction. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <sqlite3.h>
#include "common/error.h"
#include "model/lifecycle.h"
#include "output/lifecycle_out.h"

static void bind_u64(sqlite3_stmt *st, int col, uint64_t v)
{
	sqlite3_bind_int64(st, col, (sqlite3_int64)v);
}

/* An undefined value (NAN) is NULL, never a number. */
static void bind_defined(sqlite3_stmt *st, int col, double v)
{
	if (isnan(v))
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_double(st, col, v);
}

/* Steps a bound insert and readies it for the next row. */
static int step(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? PCP_OK : PCP_ERR_DB;
}

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK ? PCP_OK : PCP_ERR_DB;
}

static int info_u64(sqlite3_stmt *st, const char *key, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, buf, -1, SQLITE_TRANSIENT);
	return step(st);
}

static int write_info(sqlite3 *db, const struct pcp_lifecycle_results *r, unsigned page_shift)
{
	const struct { const char *key; uint64_t v; } rows[] = {
		{ "lifecycle_page_shift", page_shift },
		{ "lifecycle_allocs", r->allocs },
		{ "lifecycle_frees", r->frees },
		{ "lifecycle_unclassified_allocs", r->unclassified_allocs },
		{ "lifecycle_buddy_frees", r->buddy_frees },
		{ "lifecycle_free_entries", r->free_entries },
		{ "lifecycle_refill_blocks", r->refill_blocks },
		{ "lifecycle_drain_blocks", r->drain_blocks },
		{ "lifecycle_unused_refills", r->unused_refills },
		{ "lifecycle_drains_owner_known", r->drains_owner_known },
		{ "lifecycle_remote_drains", r->remote_drains },
		{ "lifecycle_drains_owner_unknown", r->drains_owner_unknown },
		{ "lifecycle_allocs_pcp_unseen", r->allocs_pcp_unseen },
		{ "lifecycle_buddy_allocs_untraced", r->buddy_allocs_untraced },
		{ "lifecycle_refill_acquisitions", r->refill_acquisitions },
		{ "lifecycle_drain_acquisitions", r->drain_acquisitions },
		{ "lifecycle_stays_alloc", r->stays[PCP_LC_EXIT_ALLOC] },
		{ "lifecycle_stays_drain", r->stays[PCP_LC_EXIT_DRAIN] },
		{ "lifecycle_refill_while_listed", r->anomalies.refill_while_listed },
		{ "lifecycle_alloc_other_cpu", r->anomalies.alloc_other_cpu },
		{ "lifecycle_drain_not_listed", r->anomalies.drain_not_listed },
		{ "lifecycle_free_not_in_use", r->anomalies.free_not_in_use },
		{ "round_trips_split", r->rt_split },
		{ "round_trips_unused", r->rt_unused },
		{ "round_trips_unsplit", r->rt_unsplit },
	};
	sqlite3_stmt *st = NULL;
	int err = prep(db, "INSERT OR REPLACE INTO trace_info(key, value) VALUES (?1, ?2)", &st);

	if (!err) {
		sqlite3_bind_text(st, 1, "lifecycle_occupancy", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->occupancy_is_level ? "level" : "change", -1, SQLITE_STATIC);
		err = step(st);
	}
	for (size_t i = 0; !err && i < sizeof(rows) / sizeof(rows[0]); i++)
		err = info_u64(st, rows[i].key, rows[i].v);
	sqlite3_finalize(st);
	return err;
}

static int write_cpu_flow(sqlite3 *db, const struct pcp_lifecycle_results *r)
{
	sqlite3_stmt *st = NULL;
	int err = prep(db, "INSERT INTO lifecycle_cpu_flow(cpu, pcp_allocs, buddy_allocs, "
		       "unclassified_allocs, free_entries, buddy_frees, refill_blocks, refill_pages, "
		       "drain_blocks, drain_pages, unused_refills, remote_drains, occ_start, occ_min, "
		       "occ_mean, occ_max, occ_end, snapshot_end, end_diff) VALUES (?1, ?2, ?3, ?4, "
		       "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)", &st);

	for (uint32_t c = 0; !err && c < r->nr_cpus; c++) {
		const struct pcp_lc_cpu_flow *f = &r->cpu_flow[c];

		sqlite3_bind_int64(st, 1, c);
		bind_u64(st, 2, f->pcp_allocs);
		bind_u64(st, 3, f->buddy_allocs);
		bind_u64(st, 4, f->unclassified_allocs);
		bind_u64(st, 5, f->free_entries);
		bind_u64(st, 6, f->buddy_frees);
		bind_u64(st, 7, f->refill_blocks);
		bind_u64(st, 8, f->refill_pages);
		bind_u64(st, 9, f->drain_blocks);
		bind_u64(st, 10, f->drain_pages);
		bind_u64(st, 11, f->unused_refills);
		bind_u64(st, 12, f->remote_drains);
		sqlite3_bind_int64(st, 13, f->occ_start);
		sqlite3_bind_int64(st, 14, f->occ_min);
		bind_defined(st, 15, f->occ_mean);
		sqlite3_bind_int64(st, 16, f->occ_max);
		sqlite3_bind_int64(st, 17, f->occ_end);
		if (f->has_snapshot_end) {
			sqlite3_bind_int64(st, 18, f->snapshot_end);
			sqlite3_bind_int64(st, 19, f->end_diff);
		}
		err = step(st);
	}
	sqlite3_finalize(st);
	return err;
}

static int write_residency(sqlite3 *db, const struct pcp_lifecycle_results *r)
{
	sqlite3_stmt *st = NULL;
	int err = prep(db, "INSERT INTO lifecycle_residency_hist(exit_kind, lo_ns, hi_ns, stays, "
		       "pages) VALUES (?1, ?2, ?3, ?4, ?5)", &st);

	for (size_t i = 0; !err && i < r->nr_residency; i++) {
		const struct pcp_lc_residency_row *b = &r->residency[i];

		sqlite3_bind_text(st, 1, pcp_lc_exit_name((enum pcp_lc_exit)b->exit_kind), -1,
				  SQLITE_STATIC);
		bind_u64(st, 2, b->lo_ns);
		bind_u64(st, 3, b->hi_ns);
		bind_u64(st, 4, b->stays);
		bind_u64(st, 5, b->pages);
		err = step(st);
	}
	sqlite3_finalize(st);
	return err;
}

static int write_occupancy(sqlite3 *db, const struct pcp_lifecycle_results *r)
{
	sqlite3_stmt *st = NULL;
	int err = prep(db, "INSERT INTO lifecycle_occupancy(bucket_start_ns, cpu, changes, occ_min, "
		       "occ_max, occ_end, occ_mean) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st);

	for (size_t i = 0; !err && i < r->nr_occ_timeline; i++) {
		const struct pcp_lc_occ_row *o = &r->occ_timeline[i];

		bind_u64(st, 1, o->bucket_start_ns);
		sqlite3_bind_int64(st, 2, o->cpu);
		bind_u64(st, 3, o->changes);
		sqlite3_bind_int64(st, 4, o->occ_min);
		sqlite3_bind_int64(st, 5, o->occ_max);
		sqlite3_bind_int64(st, 6, o->occ_end);
		bind_defined(st, 7, o->occ_mean);
		err = step(st);
	}
	sqlite3_finalize(st);
	return err;
}

static int write_tasks(sqlite3 *db, const struct pcp_lifecycle_results *r)
{
	sqlite3_stmt *st = NULL;
	int err = prep(db, "INSERT INTO lifecycle_task(pid, comm, refill_blocks, refill_pages, "
		       "drain_blocks, drain_pages, lock_acquisitions, allocs, pcp_allocs, buddy_allocs, "
		       "frees, free_entries) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
		       &st);

	for (size_t i = 0; !err && i < r->nr_tasks; i++) {
		const struct pcp_lc_task *t = &r->tasks[i];

		sqlite3_bind_int64(st, 1, t->pid);
		if (r->task_comm && r->task_comm[i])
			sqlite3_bind_text(st, 2, r->task_comm[i], -1, SQLITE_STATIC);
		bind_u64(st, 3, t->refill_blocks);
		bind_u64(st, 4, t->refill_pages);
		bind_u64(st, 5, t->drain_blocks);
		bind_u64(st, 6, t->drain_pages);
		bind_u64(st, 7, t->lock_acquisitions);
		bind_u64(st, 8, t->allocs);
		bind_u64(st, 9, t->pcp_allocs);
		bind_u64(st, 10, t->buddy_allocs);
		bind_u64(st, 11, t->frees);
		bind_u64(st, 12, t->free_entries);
		err = step(st);
	}
	sqlite3_finalize(st);
	return err;
}

static int write_phases(sqlite3 *db, const struct pcp_lifecycle_results *r)
{
	sqlite3_stmt *st = NULL;
	int err = prep(db, "INSERT INTO round_trip_phase_hist(phase, lo_ns, hi_ns, round_trips) "
		       "VALUES (?1, ?2, ?3, ?4)", &st);

	for (size_t i = 0; !err && i < r->nr_rt_phase_hist; i++) {
		const struct pcp_lc_phase_bucket *b = &r->rt_phase_hist[i];

		sqlite3_bind_text(st, 1, pcp_lc_phase_name((enum pcp_lc_phase)b->phase), -1,
				  SQLITE_STATIC);
		bind_u64(st, 2, b->lo_ns);
		bind_u64(st, 3, b->hi_ns);
		bind_u64(st, 4, b->round_trips);
		err = step(st);
	}
	sqlite3_finalize(st);
	return err;
}

static int write_metrics(sqlite3 *db, const struct pcp_lifecycle_results *r)
{
	sqlite3_stmt *st = NULL;
	int err = prep(db, "INSERT INTO metrics(name, value, unit, better) VALUES (?1, ?2, ?3, ?4)",
		       &st);

	for (size_t i = 0; !err && i < r->nr_metrics; i++) {
		const struct pcp_metric *m = &r->metrics[i];

		sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
		bind_defined(st, 2, m->value);
		sqlite3_bind_text(st, 3, m->unit, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, m->better, -1, SQLITE_STATIC);
		err = step(st);
	}
	sqlite3_finalize(st);
	return err;
}

int pcp_lifecycle_store(sqlite3 *db, const struct pcp_analysis *a)
{
	const struct pcp_lifecycle_results *r = a->lifecycle;
	int err;

	if (!r)
		return PCP_OK;
	if ((err = write_info(db, r, r->page_shift)) || (err = write_cpu_flow(db, r)) ||
	    (err = write_residency(db, r)) || (err = write_occupancy(db, r)) ||
	    (err = write_tasks(db, r)) || (err = write_phases(db, r)) || (err = write_metrics(db, r)))
		return err;
	return PCP_OK;
}
