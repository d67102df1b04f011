/* Writes an analysis to SQLite (schema.sql) atomically: temp file beside the target, one
 * transaction of prepared inserts, close, rename. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "common/error.h"
#include "output/lock_hold_store.h"
#include "meta/meta.h"
#include "output/lifecycle_out.h"
#include "output/outfile.h"
#include "model/percpu.h"
#include "output/lock_cause_output.h"
#include "output/store.h"
#include "output/zone_timeline_store.h"
#include "tracedat/time_base.h"

#ifndef PCPTRACE_VERSION
#define PCPTRACE_VERSION "unknown"
#endif

struct store {
	sqlite3 *db;
	char *errbuf;
	size_t errlen;
};

int pcp_sqlite_error(sqlite3 *db)
{
	int rc = db ? sqlite3_errcode(db) & 0xff : SQLITE_OK;

	return rc == SQLITE_FULL || rc == SQLITE_IOERR ? PCP_ERR_IO : PCP_ERR_DB;
}

/* " (No space left on device)" when SQLite's last failure was the system's, else "". */
static const char *system_cause(sqlite3 *db, char *buf, size_t len)
{
	int e = db && pcp_sqlite_error(db) == PCP_ERR_IO ? sqlite3_system_errno(db) : 0;

	if (e)
		snprintf(buf, len, " (%s)", strerror(e));
	else
		buf[0] = '\0';
	return buf;
}

static int db_fail(struct store *s, const char *what)
{
	char cause[128];

	snprintf(s->errbuf, s->errlen, "%s: %s%s", what, s->db ? sqlite3_errmsg(s->db) : "no database",
		 system_cause(s->db, cause, sizeof(cause)));
	return pcp_sqlite_error(s->db);
}

static int exec_sql(struct store *s, const char *sql, const char *what)
{
	char *msg = NULL;

	char cause[128];

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(s->errbuf, s->errlen, "%s: %s%s", what, msg ? msg : "unknown SQLite error",
			 system_cause(s->db, cause, sizeof(cause)));
		sqlite3_free(msg);
		return pcp_sqlite_error(s->db);
	}
	return PCP_OK;
}

static int prepare(struct store *s, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_fail(s, "cannot prepare insert");
	return PCP_OK;
}

/* Steps a fully bound insert and makes it ready for the next row. */
static int step_reset(struct store *s, sqlite3_stmt *st, const char *table)
{
	char what[64];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		snprintf(what, sizeof(what), "cannot insert into %s", table);
		return db_fail(s, what);
	}
	return PCP_OK;
}

static void bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

/* ---- trace_info ---- */

static int scalar_text(json_t *v, char *buf, size_t len, const char **out)
{
	switch (json_typeof(v)) {
	case JSON_STRING: *out = json_string_value(v); return 1;
	case JSON_INTEGER:
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL: /* shortest text that reads back to the same double */
		snprintf(buf, len, "%.15g", json_real_value(v));
		if (strtod(buf, NULL) != json_real_value(v))
			snprintf(buf, len, "%.17g", json_real_value(v));
		break;
	case JSON_TRUE: snprintf(buf, len, "1"); break;
	case JSON_FALSE: snprintf(buf, len, "0"); break;
	default: return 0;
	}
	*out = buf;
	return 1;
}


static int info_text(struct store *s, sqlite3_stmt *st, const char *key, const char *value)
{
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	return step_reset(s, st, "trace_info");
}

static int info_u64(struct store *s, sqlite3_stmt *st, const char *key, uint64_t value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, value);
	return info_text(s, st, key, buf);
}

/* An array of strings or numbers as one space-separated string (a command line, a CPU list);
 * NULL if v holds anything else. */
static char *join_scalars(json_t *v)
{
	size_t i, len = 1;
	json_t *e;
	char *out, num[32];

	json_array_foreach(v, i, e) {
		if (json_is_string(e))
			len += json_string_length(e) + 1;
		else if (json_is_integer(e))
			len += sizeof(num);
		else
			return NULL;
	}
	if (!(out = malloc(len)))
		return NULL;
	out[0] = '\0';
	json_array_foreach(v, i, e) {
		if (i)
			strcat(out, " ");
		if (json_is_string(e)) {
			strcat(out, json_string_value(e));
		} else {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(e));
			strcat(out, num);
		}
	}
	return out;
}

/* meta.<key> rows for the recorder's meta JSON, read generically so its shape may grow:
 * scalars as text, arrays of scalars joined by spaces, objects flattened (meta.a.b) two
 * levels deep; "snapshots" go to their own tables. The meta comes from the recording machine,
 * maybe someone else's: its keys and values are only ever bound parameters, never SQL text. */
static int info_meta(struct store *s, sqlite3_stmt *st, const char *prefix, json_t *obj, int depth)
{
	const char *key, *text;
	json_t *v;
	char name[512], num[64];
	char *joined = NULL;
	int err;

	json_object_foreach(obj, key, v) {
		snprintf(name, sizeof(name), "%s.%s", prefix, key);
		if (json_is_object(v)) {
			if (depth == 0 && strcmp(key, "snapshots") == 0)
				continue;
			if (depth < 2 && (err = info_meta(s, st, name, v, depth + 1)))
				return err;
			continue;
		}
		if (json_is_array(v)) {
			if (!(joined = join_scalars(v)))
				continue; /* arrays of objects (per-CPU stats): not a key/value */
			text = joined;
		} else if (!scalar_text(v, num, sizeof(num), &text)) {
			continue; /* null: nothing to say */
		}
		err = info_text(s, st, name, text);
		free(joined);
		joined = NULL;
		if (err != PCP_OK)
			return err;
	}
	return PCP_OK;
}

/* The window and filter (docs/METRICS.md, "Windows and filters"): filter always ("none"
 * unfiltered, compare's key), the resolved window in trace time when filtered. */
static int write_filter_info(struct store *s, sqlite3_stmt *st, const struct pcp_analysis *a)
{
	int err = info_text(s, st, "filter", a->filter ? a->filter : "none");

	if (!err && a->filtered) {
		err = info_u64(s, st, "window_from_ns", a->window_from_ns);
		if (!err)
			err = a->window_to_ns == UINT64_MAX ? info_text(s, st, "window_to_ns", NULL)
							    : info_u64(s, st, "window_to_ns", a->window_to_ns);
	}
	return err;
}

static int write_trace_info(struct store *s, const struct pcp_analysis *a)
{
	const struct pcp_churn_results *c = a->churn;
	sqlite3_stmt *st = NULL;
	char ver[16];
	int err;

	if ((err = prepare(s, "INSERT OR REPLACE INTO trace_info(key, value) VALUES (?1, ?2)", &st)))
		return err;
	snprintf(ver, sizeof(ver), "%d", PCP_SCHEMA_VERSION);
	if ((err = info_text(s, st, "trace_file", a->trace_file ? a->trace_file : "")) ||
	    (err = info_u64(s, st, "nr_cpus", a->nr_cpus)) ||
	    (err = info_u64(s, st, "first_ts_ns", c->first_ts_ns)) ||
	    (err = info_u64(s, st, "last_ts_ns", c->last_ts_ns)) ||
	    /* clock ticks are no duration: NULL without a time base */
	    (err = (a->time_base == PCP_TIME_NONE ? info_text(s, st, "duration_ns", NULL)
						   : info_u64(s, st, "duration_ns", c->duration_ns))) ||
	    (err = info_text(s, st, "refill_source", pcp_refill_source_name(a->refill_source))) ||
	    (err = info_text(s, st, "lock_source", pcp_lock_source_name(a->lock_source))) ||
	    (err = info_text(s, st, "block_key", pcp_block_key_name(a->block_key))) ||
	    (a->refill_source == PCP_REFILL_FALLBACK &&
	     (err = info_text(s, st, "refill_flag", pcp_refill_flag_name(a->refill_flag)))) ||
	    (err = info_u64(s, st, "events_total", a->events_total)) ||
	    (err = info_u64(s, st, "events_lost", c->events_lost)) ||
	    (err = info_u64(s, st, "events_lost_unknown", c->lost_unknown_marks)) ||
	    (err = info_text(s, st, "lossy", c->lossy ? "1" : "0")) ||
	    (a->events_lost_source && (err = info_text(s, st, "events_lost_source", a->events_lost_source))) ||
	    (a->buffer && (err = info_text(s, st, "buffer", a->buffer))) ||
	    (err = info_text(s, st, "schema_version", ver)) ||
	    (err = info_u64(s, st, "file_version", (uint64_t)a->file_version)) ||
	    (a->trace_clock && (err = info_text(s, st, "trace_clock", a->trace_clock))) ||
	    (err = info_text(s, st, "time_base", pcp_time_base_name(a->time_base))) ||
	    (a->time_base_reason && (err = info_text(s, st, "time_base_reason", a->time_base_reason))) ||
	    (err = info_u64(s, st, "churn_window_ns", a->opts.churn_window_ns)) ||
	    (err = info_u64(s, st, "bucket_ns", a->opts.bucket_ns)) ||
	    (err = info_u64(s, st, "top_n", a->opts.top_n)) ||
	    (err = (a->opts.infer_gap_ns == PCP_INFER_GAP_AUTO
			    ? info_text(s, st, "infer_gap_ns", "auto")
			    : info_u64(s, st, "infer_gap_ns", a->opts.infer_gap_ns))) ||
	    (a->lock_source == PCP_LOCK_INFERRED &&
	     ((err = info_u64(s, st, "infer_gap_refill_ns", a->infer_gap_ns[PCP_LOCK_KIND_REFILL])) ||
	      (err = info_u64(s, st, "infer_gap_drain_ns", a->infer_gap_ns[PCP_LOCK_KIND_DRAIN])) ||
	      (err = info_text(s, st, "zone_map", a->block_key == PCP_BLOCK_KEY_PAGE_POINTER ? "n/a"
						  : a->zone_map ? "meta" : "none")))) ||
	    (err = info_text(s, st, "pcptrace_version", PCPTRACE_VERSION)) ||
	    (err = write_filter_info(s, st, a)))
		goto out;
	if (a->meta)
		err = info_meta(s, st, "meta", a->meta->json, 0);
out:
	sqlite3_finalize(st);
	return err;
}

/* ---- model tables ---- */

static int write_event_counts(struct store *s, const struct pcp_analysis *a)
{
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = prepare(s, "INSERT INTO event_counts(event, count) VALUES (?1, ?2)", &st)))
		return err;
	for (size_t i = 0; i < a->nr_event_counts && !err; i++) {
		sqlite3_bind_text(st, 1, a->event_counts[i].name, -1, SQLITE_STATIC);
		bind_u64(st, 2, a->event_counts[i].count);
		err = step_reset(s, st, "event_counts");
	}
	sqlite3_finalize(st);
	return err;
}

static int write_cpu_flow(struct store *s, const struct pcp_churn_results *c)
{
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = prepare(s, "INSERT INTO cpu_flow(cpu, refill_blocks, refill_pages, drain_blocks, "
			   "drain_pages, net_pages, refill_locks, drain_locks, lost_events) "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", &st)))
		return err;
	for (uint32_t cpu = 0; cpu < c->nr_cpus && c->cpu_flow && !err; cpu++) {
		const struct pcp_cpu_flow *f = &c->cpu_flow[cpu];

		sqlite3_bind_int64(st, 1, cpu);
		bind_u64(st, 2, f->refill_blocks);
		bind_u64(st, 3, f->refill_pages);
		bind_u64(st, 4, f->drain_blocks);
		bind_u64(st, 5, f->drain_pages);
		sqlite3_bind_int64(st, 6, f->net_pages);
		bind_u64(st, 7, f->refill_locks);
		bind_u64(st, 8, f->drain_locks);
		bind_u64(st, 9, f->lost_events);
		err = step_reset(s, st, "cpu_flow");
	}
	sqlite3_finalize(st);
	return err;
}

static int write_pair_matrix(struct store *s, const struct pcp_churn_results *c)
{
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = prepare(s, "INSERT INTO pair_matrix(refill_cpu, drain_cpu, pairs, pages) "
			   "VALUES (?1, ?2, ?3, ?4)", &st)))
		return err;
	for (size_t i = 0; i < c->nr_pair_cells && !err; i++) {
		const struct pcp_pair_cell *p = &c->pair_matrix[i];

		sqlite3_bind_int64(st, 1, p->refill_cpu);
		sqlite3_bind_int64(st, 2, p->drain_cpu);
		bind_u64(st, 3, p->pairs);
		bind_u64(st, 4, p->pages);
		err = step_reset(s, st, "pair_matrix");
	}
	sqlite3_finalize(st);
	return err;
}

static int write_round_trip_hist(struct store *s, const struct pcp_churn_results *c)
{
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = prepare(s, "INSERT INTO round_trip_hist(lo_ns, hi_ns, pairs, pages) "
			   "VALUES (?1, ?2, ?3, ?4)", &st)))
		return err;
	for (size_t i = 0; i < c->nr_hist_buckets && !err; i++) {
		const struct pcp_hist_bucket *b = &c->round_trip_hist[i];

		bind_u64(st, 1, b->lo_ns);
		bind_u64(st, 2, b->hi_ns);
		bind_u64(st, 3, b->pairs);
		bind_u64(st, 4, b->pages);
		err = step_reset(s, st, "round_trip_hist");
	}
	sqlite3_finalize(st);
	return err;
}

static int write_pfn_cycles(struct store *s, const struct pcp_churn_results *c)
{
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = prepare(s, "INSERT INTO pfn_cycles(pfn, \"order\", cycles, cross_cpu_cycles, "
			   "min_round_trip_ns, max_round_trip_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &st)))
		return err;
	for (size_t i = 0; i < c->nr_pfn_cycles && !err; i++) {
		const struct pcp_pfn_cycles *p = &c->pfn_cycles[i];

		bind_u64(st, 1, p->pfn);
		sqlite3_bind_int64(st, 2, p->order);
		bind_u64(st, 3, p->cycles);
		bind_u64(st, 4, p->cross_cpu_cycles);
		bind_u64(st, 5, p->min_round_trip_ns);
		bind_u64(st, 6, p->max_round_trip_ns);
		err = step_reset(s, st, "pfn_cycles");
	}
	sqlite3_finalize(st);
	return err;
}

/* An undefined value (NAN: 0/0, a rate without time) is NULL, never a number. */
static void bind_defined(sqlite3_stmt *st, int col, double v)
{
	if (isnan(v))
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_double(st, col, v);
}

static int write_zone_lock(struct store *s, const struct pcp_churn_results *c)
{
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = prepare(s, "INSERT INTO zone_lock(nid, zid, kind, acquisitions, target_pages, "
			   "moved_pages, per_second, peak_per_second) "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &st)))
		return err;
	for (size_t i = 0; i < c->nr_zone_lock && !err; i++) {
		const struct pcp_zone_lock_row *z = &c->zone_lock[i];

		sqlite3_bind_int64(st, 1, z->nid);
		sqlite3_bind_int64(st, 2, z->zid);
		sqlite3_bind_text(st, 3, z->kind == PCP_LOCK_KIND_DRAIN ? "drain" : "refill", -1,
				  SQLITE_STATIC);
		bind_u64(st, 4, z->acquisitions);
		bind_u64(st, 5, z->target_pages);
		bind_u64(st, 6, z->moved_pages);
		bind_defined(st, 7, z->per_second);
		bind_defined(st, 8, z->peak_per_second);
		err = step_reset(s, st, "zone_lock");
	}
	sqlite3_finalize(st);
	return err;
}

static int write_timeline(struct store *s, const struct pcp_churn_results *c)
{
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = prepare(s, "INSERT INTO timeline(bucket_start_ns, cpu, refill_pages, drain_pages, "
			   "refill_locks, drain_locks) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &st)))
		return err;
	for (size_t i = 0; i < c->nr_timeline && !err; i++) {
		const struct pcp_timeline_row *t = &c->timeline[i];

		bind_u64(st, 1, t->bucket_start_ns);
		sqlite3_bind_int64(st, 2, t->cpu);
		bind_u64(st, 3, t->refill_pages);
		bind_u64(st, 4, t->drain_pages);
		bind_u64(st, 5, t->refill_locks);
		bind_u64(st, 6, t->drain_locks);
		err = step_reset(s, st, "timeline");
	}
	sqlite3_finalize(st);
	return err;
}

static int write_metrics(struct store *s, const struct pcp_churn_results *c)
{
	sqlite3_stmt *st = NULL;
	int err;

	if ((err = prepare(s, "INSERT INTO metrics(name, value, unit, better) "
			   "VALUES (?1, ?2, ?3, ?4)", &st)))
		return err;
	for (size_t i = 0; i < c->nr_metrics && !err; i++) {
		const struct pcp_metric *m = &c->metrics[i];

		sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
		bind_defined(st, 2, m->value);
		sqlite3_bind_text(st, 3, m->unit ? m->unit : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, m->better ? m->better : "none", -1, SQLITE_STATIC);
		err = step_reset(s, st, "metrics");
	}
	sqlite3_finalize(st);
	return err;
}

/* ---- recorder snapshots (meta/meta.h) ----
 * Per snapshot ("before", "after"): its time, and zoneinfo_error/vmstat_error when those could
 * not be read, as source "meta"; vmstat counters as source "vmstat"; zoneinfo pagesets as
 * pcp_pageset rows. percpu_stats goes to the percpu tables (percpu_store.c). */

struct snap_stmts {
	sqlite3_stmt *kv, *pageset;
	const char *snap;
};

static int snap_row(struct store *s, struct snap_stmts *ss, const char *source, const char *key,
		    const char *text)
{
	sqlite3_bind_text(ss->kv, 1, ss->snap, -1, SQLITE_STATIC);
	sqlite3_bind_text(ss->kv, 2, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(ss->kv, 3, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(ss->kv, 4, text, -1, SQLITE_TRANSIENT);
	return step_reset(s, ss->kv, "snapshot");
}

static int snap_row_int(struct store *s, struct snap_stmts *ss, const char *source,
			const char *key, int64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, v);
	return snap_row(s, ss, source, key, num);
}

/* A pageset column: NULL when zoneinfo did not print the field. */
static void bind_opt(sqlite3_stmt *st, int col, unsigned has, unsigned bit, int64_t v)
{
	if (has & bit)
		sqlite3_bind_int64(st, col, v);
}

static int snap_pagesets(struct store *s, struct snap_stmts *ss, const struct pcp_meta_zone *z)
{
	sqlite3_stmt *st = ss->pageset;
	int err;

	if (!z->name)
		return PCP_OK; /* a pageset row needs its zone */
	for (size_t i = 0; i < z->nr_pagesets; i++) {
		const struct pcp_meta_pageset *p = &z->pagesets[i];

		sqlite3_bind_text(st, 1, ss->snap, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, z->node);
		sqlite3_bind_text(st, 3, z->name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, p->cpu);
		bind_opt(st, 5, p->has, PCP_META_PAGESET_COUNT, p->count);
		bind_opt(st, 6, p->has, PCP_META_PAGESET_HIGH, p->high);
		bind_opt(st, 7, p->has, PCP_META_PAGESET_BATCH, p->batch);
		bind_opt(st, 8, p->has, PCP_META_PAGESET_HIGH_MIN, p->high_min);
		bind_opt(st, 9, p->has, PCP_META_PAGESET_HIGH_MAX, p->high_max);
		if ((err = step_reset(s, st, "pcp_pageset")))
			return err;
	}
	return PCP_OK;
}

static int snap_write(struct store *s, struct snap_stmts *ss, const struct pcp_meta_snapshot *snap)
{
	int err = PCP_OK;

	if (!snap->present)
		return PCP_OK;
	if ((snap->time && (err = snap_row(s, ss, "meta", "time", snap->time))) ||
	    (snap->has_time_ns && (err = snap_row_int(s, ss, "meta", "time_ns", snap->time_ns))) ||
	    (snap->zoneinfo_error &&
	     (err = snap_row(s, ss, "meta", "zoneinfo_error", snap->zoneinfo_error))) ||
	    (snap->vmstat_error && (err = snap_row(s, ss, "meta", "vmstat_error", snap->vmstat_error))))
		return err;
	for (size_t i = 0; i < snap->nr_zones; i++)
		if ((err = snap_pagesets(s, ss, &snap->zones[i])))
			return err;
	for (size_t i = 0; i < snap->nr_vmstat; i++)
		if ((err = snap_row_int(s, ss, "vmstat", snap->vmstat[i].name, snap->vmstat[i].value)))
			return err;
	return PCP_OK;
}

static int write_snapshots(struct store *s, const struct pcp_meta *meta)
{
	struct snap_stmts ss = { NULL, NULL, NULL };
	int err;

	if (!meta)
		return PCP_OK;
	/* OR IGNORE: a vmstat counter named like another must not lose the whole analysis.
	 * Keys and values from the meta are bound parameters, never SQL text. */
	if ((err = prepare(s, "INSERT OR IGNORE INTO snapshot(snapshot, source, key, value) "
			   "VALUES (?1, ?2, ?3, ?4)", &ss.kv)) ||
	    (err = prepare(s, "INSERT OR IGNORE INTO pcp_pageset(snapshot, nid, zone, cpu, count, "
			   "high, batch, high_min, high_max) "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", &ss.pageset)))
		goto out;
	ss.snap = "before";
	if ((err = snap_write(s, &ss, &meta->before)))
		goto out;
	ss.snap = "after";
	err = snap_write(s, &ss, &meta->after);
out:
	sqlite3_finalize(ss.kv);
	sqlite3_finalize(ss.pageset);
	return err;
}

/* ---- the whole file ---- */

static int fill(struct store *s, const struct pcp_analysis *a)
{
	const struct pcp_churn_results *c = a->churn;
	char pragma[64];
	int err;

	/* The temp file is deleted on any failure, so a rollback journal on disk buys nothing. */
	if ((err = exec_sql(s, "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF;",
			    "cannot configure database")))
		return err;
	if ((err = exec_sql(s, "BEGIN", "cannot begin transaction")))
		return err;
	if ((err = exec_sql(s, pcp_schema_sql, "cannot create schema")))
		return err;
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", PCP_SCHEMA_VERSION);
	if ((err = exec_sql(s, pragma, "cannot set schema version")))
		return err;
	if ((err = write_trace_info(s, a)) || (err = write_event_counts(s, a)) ||
	    (err = write_cpu_flow(s, c)) || (err = write_pair_matrix(s, c)) ||
	    (err = write_round_trip_hist(s, c)) || (err = write_pfn_cycles(s, c)) ||
	    (err = write_zone_lock(s, c)) || (err = write_timeline(s, c)) ||
	    (err = write_metrics(s, c)) || (err = write_snapshots(s, a->meta)))
		return err;
	if ((err = pcp_lock_hold_store(s->db, c->lock_hold)))
		return db_fail(s, "cannot store zone-lock hold results");
	if (pcp_zone_timeline_store(s->db, c))
		return db_fail(s, "cannot store zone_lock_timeline");
	if (a->percpu && (err = pcp_percpu_store(s->db, a->percpu, a->meta, c->lossy))) {
		if (err == PCP_ERR_DB)
			return db_fail(s, "cannot store percpu results");
		if (s->errbuf[0] == '\0')
			snprintf(s->errbuf, s->errlen, "cannot store percpu results: %s",
				 pcp_strerror(err));
		return err;
	}
	if (a->lifecycle && pcp_lifecycle_store(s->db, a))
		return db_fail(s, "cannot store lifecycle results");
	if (a->lock_cause && pcp_lock_cause_store(s->db, a->lock_cause))
		return db_fail(s, "cannot store lock-cause results");
	return exec_sql(s, "COMMIT", "cannot commit transaction");
}

int pcp_store_prepare(struct pcp_outfile *out, const char *db_path, const struct pcp_analysis *a,
		      char *errbuf, size_t errlen)
{
	struct store s = { NULL, errbuf, errlen };
	char scratch[2];
	int err;

	if (!errbuf || errlen == 0) {
		s.errbuf = scratch;
		s.errlen = sizeof(scratch);
	}
	s.errbuf[0] = '\0';
	if (!db_path || !a || !a->churn) {
		snprintf(s.errbuf, s.errlen, "%s", pcp_strerror(PCP_ERR_INTERNAL));
		return PCP_ERR_INTERNAL;
	}
	if ((err = pcp_outfile_open(out, db_path, s.errbuf, s.errlen)))
		return err;
	/* SQLite opens the empty temp file by name; our descriptor only serves the fsync. */
	if (sqlite3_open_v2(out->tmp_path, &s.db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		err = db_fail(&s, "cannot open database");
		goto fail;
	}
	if ((err = fill(&s, a)))
		goto fail;
	if (sqlite3_close(s.db) != SQLITE_OK) {
		err = db_fail(&s, "cannot close database");
		s.db = NULL; /* close failed with statements still open: a bug, not retried */
		goto fail;
	}
	s.db = NULL;
	return pcp_outfile_finish(out, s.errbuf, s.errlen);
fail:
	if (s.db)
		sqlite3_close_v2(s.db);
	pcp_outfile_abort(out);
	return err;
}

int pcp_store_write(const char *db_path, const struct pcp_analysis *a, char *errbuf, size_t errlen)
{
	struct pcp_outfile out;
	char scratch[2];
	int err;

	if (!errbuf || errlen == 0) {
		errbuf = scratch;
		errlen = sizeof(scratch);
	}
	if ((err = pcp_store_prepare(&out, db_path, a, errbuf, errlen)))
		return err;
	return pcp_outfile_commit(&out, errbuf, errlen);
}
