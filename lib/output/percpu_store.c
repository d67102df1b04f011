/* Percpu results -> SQLite (percpu_* tables, metrics, trace_info), the before/after
 * percpu_stats snapshots of the recorder's meta (parsed by its reader), and the consistency check.
 * Runs inside the caller's transaction (docs/METRICS.md, "Percpu"). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "common/error.h"
#include "meta/meta.h"
#include "model/percpu.h"
#include "model/percpu_frag.h"
#include "output/percpu_frag_store.h"
#include "meta/percpu_stats.h"

/* The snapshots' percpu_stats as the meta reader parsed them (NULL without a meta). */
static int parse_snapshots(const struct pcp_meta *meta, const struct pcp_percpu_stats **before,
			   const struct pcp_percpu_stats **after)
{
	int rc;

	*before = *after = NULL;
	if (!meta)
		return PCP_OK;
	if ((rc = pcp_meta_percpu_stats(&meta->before, before)))
		return rc;
	return pcp_meta_percpu_stats(&meta->after, after);
}

/*
 * What the kernel counted beyond the trace. mm/percpu.c counts an area in nr_alloc when it is
 * found and in nr_dealloc when it is freed; every free and every successful allocation is also
 * traced, except an area that pcpu_alloc frees again itself when populating it fails, which is
 * only an alloc_fail event: equal surpluses of allocs and frees, at most one per alloc_fail, are
 * those. Any other surplus is operations the trace does not hold: seen on 6.18, the events of
 * some tasks are never recorded (the sched_switch chain breaks at them), and the lazy-TLB drop
 * of an exited process's mm_struct in such a task frees its areas with no event; a recording
 * of some CPUs likewise. That is incomplete, not inconsistent: only a trace holding more than
 * the kernel counted contradicts the counters.
 */
static void judge(const struct pcp_percpu_results *r, struct pcp_percpu_check *c)
{
	uint64_t fails = r ? r->fails : 0, outstanding = r ? r->outstanding_allocs : 0;

	c->untraced_allocs = c->nr_alloc_delta - (int64_t)c->traced_allocs;
	c->unproven_frees = c->nr_dealloc_delta - (int64_t)(c->traced_frees + c->untraced_frees);
	if (c->untraced_allocs < 0 || c->unproven_frees < 0) {
		c->verdict = PCP_PERCPU_VERDICT_INCONSISTENT;
		return;
	}
	if (c->untraced_allocs == c->unproven_frees && (uint64_t)c->untraced_allocs <= fails) {
		c->verdict = PCP_PERCPU_VERDICT_CONSISTENT;
		c->consistent = 1;
		c->undone_allocs = (uint64_t)c->untraced_allocs;
		return;
	}
	/* an allocation still open in the trace may be one whose free was not traced */
	c->verdict = PCP_PERCPU_VERDICT_INCOMPLETE;
	c->maybe_freed = (uint64_t)c->unproven_frees < outstanding ? (uint64_t)c->unproven_frees
								  : outstanding;
}

static void run_check(const struct pcp_percpu_results *r, const struct pcp_percpu_stats *before,
		      const struct pcp_percpu_stats *after, int lossy, struct pcp_percpu_check *c)
{
	int64_t a0, a1, d0, d1;

	memset(c, 0, sizeof(*c));
	c->traced_allocs = r ? r->allocs : 0;
	c->traced_frees = r ? r->frees : 0;
	/* The kernel counts some frees it never traces (seen on 6.18: an exited process's mm_struct
	 * areas); a traced alloc of a ptr still open proves one each. */
	c->untraced_frees = r ? r->replaced_allocs : 0;
	if (!before || !after) {
		c->state = PCP_PERCPU_CHECK_NO_SNAPSHOTS;
		return;
	}
	if (lossy) {
		c->state = PCP_PERCPU_CHECK_LOSSY;
		return;
	}
	/* The parser guarantees both keys. */
	pcp_percpu_stats_get(before, PCP_PSTATS_GLOBAL, -1, "nr_alloc", &a0);
	pcp_percpu_stats_get(after, PCP_PSTATS_GLOBAL, -1, "nr_alloc", &a1);
	pcp_percpu_stats_get(before, PCP_PSTATS_GLOBAL, -1, "nr_dealloc", &d0);
	pcp_percpu_stats_get(after, PCP_PSTATS_GLOBAL, -1, "nr_dealloc", &d1);
	c->state = PCP_PERCPU_CHECK_DONE;
	c->nr_alloc_delta = a1 - a0;
	c->nr_dealloc_delta = d1 - d0;
	judge(r, c);
}

int pcp_percpu_attach_meta(struct pcp_percpu_results *r, const struct pcp_meta *meta, int lossy)
{
	const struct pcp_percpu_stats *before, *after;
	int rc = parse_snapshots(meta, &before, &after);

	if (!rc)
		run_check(r, before, after, lossy, &r->check);
	/* issue 16: the snapshots' fragmentation and its metrics (undefined without both) */
	pcp_percpu_frag_free(r->frag);
	r->frag = NULL;
	if (!rc && before && after)
		rc = pcp_percpu_frag_compute(before, after, r, lossy, &r->frag);
	if (!rc)
		pcp_percpu_frag_metrics(r, r->frag);
	return rc;
}

const char *pcp_percpu_check_state_name(enum pcp_percpu_check_state s)
{
	switch (s) {
	case PCP_PERCPU_CHECK_NO_SNAPSHOTS: return "no_snapshots";
	case PCP_PERCPU_CHECK_LOSSY: return "lossy";
	case PCP_PERCPU_CHECK_DONE: return "checked";
	case PCP_PERCPU_CHECK_FILTERED: return "filtered";
	default: return "not_run";
	}
}

const char *pcp_percpu_verdict_name(enum pcp_percpu_verdict v)
{
	switch (v) {
	case PCP_PERCPU_VERDICT_INCOMPLETE: return "incomplete";
	case PCP_PERCPU_VERDICT_INCONSISTENT: return "inconsistent";
	default: return "consistent";
	}
}

/* ---- SQLite ---- */

struct ins {
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;
};

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

/* Addresses keep their 64 bits as SQLite's signed INTEGER (kernel addresses read negative);
 * printf('0x%x', col) shows them the way trace-cmd report prints them. */
static void bind_addr(sqlite3_stmt *st, int i, uint64_t addr)
{
	sqlite3_bind_int64(st, i, (sqlite3_int64)addr);
}

/* u64 counts beyond INT64_MAX cannot happen in a trace; clamp rather than wrap. */
static void bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	sqlite3_bind_int64(st, i, v > INT64_MAX ? INT64_MAX : (sqlite3_int64)v);
}

static int store_callsites(sqlite3 *db, const struct pcp_percpu_results *r)
{
	sqlite3_stmt *st;
	int rc = prep(db, "INSERT INTO percpu_callsite(call_site, symbol, allocs, frees, fails, "
			  "bytes_alloc, bytes_freed, outstanding_allocs, outstanding_bytes, "
			  "atomic_allocs) VALUES (?,?,?,?,?,?,?,?,?,?)", &st);
	for (size_t i = 0; !rc && i < r->nr_callsites; i++) {
		const struct pcp_percpu_callsite *c = &r->callsites[i];
		bind_addr(st, 1, c->call_site);
		sqlite3_bind_text(st, 2, c->symbol, -1, SQLITE_STATIC);
		bind_u64(st, 3, c->allocs);
		bind_u64(st, 4, c->frees);
		bind_u64(st, 5, c->fails);
		bind_u64(st, 6, c->bytes_alloc);
		bind_u64(st, 7, c->bytes_freed);
		bind_u64(st, 8, c->outstanding_allocs);
		bind_u64(st, 9, c->outstanding_bytes);
		bind_u64(st, 10, c->atomic_allocs);
		rc = step_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

static int store_tables(sqlite3 *db, const struct pcp_percpu_results *r)
{
	sqlite3_stmt *st;
	int rc = store_callsites(db, r);

	if (!rc && !(rc = prep(db, "INSERT INTO percpu_size_hist(lo_bytes, hi_bytes, allocs) "
			       "VALUES (?,?,?)", &st))) {
		for (size_t i = 0; !rc && i < r->nr_size_hist; i++) {
			bind_u64(st, 1, r->size_hist[i].lo_bytes);
			bind_u64(st, 2, r->size_hist[i].hi_bytes);
			bind_u64(st, 3, r->size_hist[i].allocs);
			rc = step_reset(st);
		}
		sqlite3_finalize(st);
	}
	if (!rc && !(rc = prep(db, "INSERT INTO percpu_outstanding(ptr, call_site, size, "
			       "bytes_alloc, ts_ns) VALUES (?,?,?,?,?)", &st))) {
		for (size_t i = 0; !rc && i < r->nr_outstanding; i++) {
			const struct pcp_percpu_outstanding *o = &r->outstanding[i];
			bind_addr(st, 1, o->ptr);
			bind_addr(st, 2, o->call_site);
			bind_u64(st, 3, o->size);
			bind_u64(st, 4, o->bytes_alloc);
			bind_u64(st, 5, o->ts_ns);
			rc = step_reset(st);
		}
		sqlite3_finalize(st);
	}
	if (!rc && !(rc = prep(db, "INSERT INTO percpu_chunk(base_addr, created_ns, destroyed_ns, "
			       "allocs, frees) VALUES (?,?,?,?,?)", &st))) {
		for (size_t i = 0; !rc && i < r->nr_chunks; i++) {
			const struct pcp_percpu_chunk *c = &r->chunks[i];
			bind_addr(st, 1, c->base_addr);
			if (c->has_created)
				bind_u64(st, 2, c->created_ns);
			if (c->has_destroyed)
				bind_u64(st, 3, c->destroyed_ns);
			bind_u64(st, 4, c->allocs);
			bind_u64(st, 5, c->frees);
			rc = step_reset(st);
		}
		sqlite3_finalize(st);
	}
	if (!rc && !(rc = prep(db, "INSERT INTO percpu_fail(ts_ns, cpu, call_site, size, "
			       "align, reserved, is_atomic) VALUES (?,?,?,?,?,?,?)", &st))) {
		for (size_t i = 0; !rc && i < r->nr_failures; i++) {
			const struct pcp_percpu_fail *f = &r->failures[i];
			bind_u64(st, 1, f->ts_ns);
			sqlite3_bind_int64(st, 2, f->cpu);
			bind_addr(st, 3, f->call_site);
			bind_u64(st, 4, f->size);
			bind_u64(st, 5, f->align);
			sqlite3_bind_int(st, 6, f->reserved);
			sqlite3_bind_int(st, 7, f->is_atomic);
			rc = step_reset(st);
		}
		sqlite3_finalize(st);
	}
	if (!rc && !(rc = prep(db, "INSERT INTO metrics(name, value, unit, better) "
			       "VALUES (?,?,?,?)", &st))) {
		for (size_t i = 0; !rc && i < r->nr_metrics; i++) {
			const struct pcp_metric *m = &r->metrics[i];
			sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
			sqlite3_bind_double(st, 2, m->value);
			sqlite3_bind_text(st, 3, m->unit, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, m->better, -1, SQLITE_STATIC);
			rc = step_reset(st);
		}
		sqlite3_finalize(st);
	}
	return rc;
}

static int store_snapshot(sqlite3 *db, const char *which, const struct pcp_percpu_stats *s)
{
	sqlite3_stmt *st;
	int rc;

	if (!s)
		return PCP_OK;
	if ((rc = prep(db, "INSERT INTO percpu_stats(snapshot, chunk, key, value) "
		       "VALUES (?,?,?,?)", &st)))
		return rc;
	for (size_t i = 0; !rc && i < s->nr_entries; i++) {
		sqlite3_bind_text(st, 1, which, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, s->entries[i].chunk);
		sqlite3_bind_text(st, 3, s->entries[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, s->entries[i].value);
		rc = step_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

static int info(sqlite3_stmt *st, const char *key, const char *fmt, long long v, const char *s)
{
	char buf[32];

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (s) {
		sqlite3_bind_text(st, 2, s, -1, SQLITE_STATIC);
	} else {
		snprintf(buf, sizeof(buf), fmt, v);
		sqlite3_bind_text(st, 2, buf, -1, SQLITE_TRANSIENT);
	}
	return step_reset(st);
}

/* Only what goes beyond "equal counts": a plainly consistent check keeps the keys it had. */
static int store_verdict(sqlite3_stmt *st, const struct pcp_percpu_check *c)
{
	int rc = PCP_OK;

	if (c->undone_allocs)
		rc = info(st, "percpu_undone_allocs", "%lld", (long long)c->undone_allocs, NULL);
	if (rc || c->verdict == PCP_PERCPU_VERDICT_CONSISTENT)
		return rc;
	rc = info(st, "percpu_stats_verdict", NULL, 0, pcp_percpu_verdict_name(c->verdict));
	if (!rc)
		rc = info(st, "percpu_untraced_allocs", "%lld", (long long)c->untraced_allocs, NULL);
	if (!rc)
		rc = info(st, "percpu_unproven_frees", "%lld", (long long)c->unproven_frees, NULL);
	if (!rc)
		rc = info(st, "percpu_outstanding_maybe_freed", "%lld", (long long)c->maybe_freed,
			  NULL);
	return rc;
}

static int store_check(sqlite3 *db, const struct pcp_percpu_check *c)
{
	sqlite3_stmt *st;
	int rc = prep(db, "INSERT OR REPLACE INTO trace_info(key, value) VALUES (?,?)", &st);

	if (rc)
		return rc;
	rc = info(st, "percpu_stats_check", NULL, 0, pcp_percpu_check_state_name(c->state));
	if (!rc && c->state == PCP_PERCPU_CHECK_DONE) {
		rc = info(st, "percpu_stats_consistent", "%lld", c->consistent, NULL);
		if (!rc)
			rc = info(st, "percpu_stats_nr_alloc_delta", "%lld", c->nr_alloc_delta, NULL);
		if (!rc)
			rc = info(st, "percpu_stats_nr_dealloc_delta", "%lld", c->nr_dealloc_delta, NULL);
		if (!rc)
			rc = info(st, "percpu_traced_allocs", "%lld", (long long)c->traced_allocs, NULL);
		if (!rc)
			rc = info(st, "percpu_traced_frees", "%lld", (long long)c->traced_frees, NULL);
		if (!rc)
			rc = info(st, "percpu_untraced_frees", "%lld", (long long)c->untraced_frees, NULL);
		if (!rc)
			rc = store_verdict(st, c);
	}
	sqlite3_finalize(st);
	return rc;
}

int pcp_percpu_store(sqlite3 *db, const struct pcp_percpu_results *r,
		     const struct pcp_meta *meta, int lossy)
{
	const struct pcp_percpu_stats *before, *after;
	struct pcp_percpu_check check;
	int rc;

	/* Both snapshots first: damaged text fails before anything is written. */
	rc = parse_snapshots(meta, &before, &after);
	if (!rc && r)
		rc = store_tables(db, r);
	if (!rc)
		rc = store_snapshot(db, "before", before);
	if (!rc)
		rc = store_snapshot(db, "after", after);
	if (!rc && r) {
		if (r->check.state == PCP_PERCPU_CHECK_FILTERED)   /* no verdict on a window */
			check = r->check;
		else
			run_check(r, before, after, lossy, &check);
		rc = store_check(db, &check);
	}
	if (!rc && r)
		rc = pcp_percpu_frag_store(db, r);
	return rc;
}
