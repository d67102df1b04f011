/* zone_lock_timeline rows (zone_timeline_store.h). */
#include <sqlite3.h>
#include "common/error.h"
#include "output/store.h"
#include "output/zone_timeline_store.h"

int pcp_zone_timeline_store(sqlite3 *db, const struct pcp_churn_results *c)
{
	sqlite3_stmt *st = NULL;
	int rc = PCP_OK;

	if (sqlite3_prepare_v2(db, "INSERT INTO zone_lock_timeline(bucket_start_ns, nid, zid, kind, "
			       "acquisitions) VALUES (?1, ?2, ?3, ?4, ?5)", -1, &st, NULL) != SQLITE_OK)
		return pcp_sqlite_error(db);
	for (size_t i = 0; i < c->nr_zone_timeline && !rc; i++) {
		const struct pcp_zone_timeline_row *z = &c->zone_timeline[i];

		sqlite3_bind_int64(st, 1, (sqlite3_int64)z->bucket_start_ns);
		sqlite3_bind_int64(st, 2, z->nid);
		sqlite3_bind_int64(st, 3, z->zid);
		sqlite3_bind_text(st, 4, z->kind == PCP_LOCK_KIND_DRAIN ? "drain" : "refill", -1,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)z->acquisitions);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = pcp_sqlite_error(db);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}
