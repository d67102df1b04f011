/* The lifecycle section of the text summary and the "lifecycle" JSON member
 * (pcpanalyze(1), docs/METRICS.md "Lifecycle"). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "common/json_text.h"
#include "common/util.h"
#include "model/lifecycle.h"
#include "output/lifecycle_out.h"

#define TOP_TASKS 10

/* ---- text ---- */

static const char *metric_text(char *buf, size_t len, const struct pcp_metric *m)
{
	if (isnan(m->value))
		snprintf(buf, len, "n/a");
	else if (strcmp(m->unit, "ratio") == 0)
		snprintf(buf, len, "%.4f", m->value);
	else if (m->value == floor(m->value) && fabs(m->value) < 9e18)
		snprintf(buf, len, "%" PRId64, (int64_t)m->value);
	else
		snprintf(buf, len, "%.2f", m->value);
	return buf;
}

static const char *mean_text(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.1f", v);
	return buf;
}

static const char *p50_text(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.0f", v);
	return buf;
}

static uint64_t task_weight(const struct pcp_lc_task *t)
{
	return t->refill_blocks + t->drain_blocks + t->allocs + t->frees;
}

static int cmp_task_weight(const void *x, const void *y)
{
	const struct pcp_lc_task *a = *(const struct pcp_lc_task *const *)x;
	const struct pcp_lc_task *b = *(const struct pcp_lc_task *const *)y;
	uint64_t wa = task_weight(a), wb = task_weight(b);

	if (wa != wb)
		return wa < wb ? 1 : -1;
	return (a->pid > b->pid) - (a->pid < b->pid);
}

static void text_tasks(FILE *out, const struct pcp_lifecycle_results *r)
{
	const struct pcp_lc_task **order = malloc((r->nr_tasks ? r->nr_tasks : 1) * sizeof(*order));

	if (!order)
		return; /* a summary without this part beats no summary */
	for (size_t i = 0; i < r->nr_tasks; i++)
		order[i] = &r->tasks[i];
	qsort(order, r->nr_tasks, sizeof(*order), cmp_task_weight);
	fprintf(out, "  %-8s %-16s %10s %10s %8s %10s %10s\n", "pid", "comm", "refill blk", "drain blk",
		"locks", "allocs", "frees");
	for (size_t i = 0; i < r->nr_tasks && i < TOP_TASKS; i++) {
		const struct pcp_lc_task *t = order[i];
		const char *comm = r->task_comm ? r->task_comm[t - r->tasks] : NULL;

		fprintf(out, "  %-8" PRId32 " %-16.16s %10" PRIu64 " %10" PRIu64 " %8" PRIu64 " %10" PRIu64
			" %10" PRIu64 "\n", t->pid, comm ? comm : "?", t->refill_blocks, t->drain_blocks,
			t->lock_acquisitions, t->allocs, t->frees);
	}
	if (r->nr_tasks > TOP_TASKS)
		fprintf(out, "  (%zu more in lifecycle_task)\n", r->nr_tasks - TOP_TASKS);
	free(order);
}

void pcp_lifecycle_text(FILE *out, const struct pcp_analysis *a)
{
	const struct pcp_lifecycle_results *r = a->lifecycle;
	char v[48], m1[32];

	if (!r) {
		fprintf(out, "\n Lifecycle\n  %s\n", PCP_LIFECYCLE_NOT_RECORDED);
		return;
	}
	fprintf(out, "\n Lifecycle (occupancy %s)\n", r->occupancy_is_level
		? "a level: started from the before snapshot's pageset counts"
		: "a change from 0: no before snapshot");
	for (size_t i = 0; i < r->nr_metrics; i++)
		fprintf(out, "  %16s  %-22s %s\n", metric_text(v, sizeof(v), &r->metrics[i]),
			r->metrics[i].name, r->metrics[i].unit);
	fprintf(out, "  %16" PRIu64 "  %-22s blocks\n", r->unused_refills, "unused_refills");
	fprintf(out, "  %16" PRIu64 "  %-22s blocks\n", r->free_entries, "free_entries");
	fprintf(out, "  %16" PRIu64 "  %-22s blocks\n", r->remote_drains, "remote_drains");
	fprintf(out, "  round trips %" PRIu64 " split into phases, %" PRIu64 " unused, %" PRIu64
		" unsplit; median ns:", r->rt_split, r->rt_unused, r->rt_unsplit);
	for (int p = 0; p < PCP_LC_NR_PHASES; p++)
		fprintf(out, "%s %s %s", p ? "," : "", pcp_lc_phase_name((enum pcp_lc_phase)p),
			p50_text(v, sizeof(v), r->rt_phase_p50_ns[p]));
	fprintf(out, "\n  %-4s %10s %10s %10s %10s %10s %8s %8s %8s %8s %8s %8s\n", "cpu", "pcp allocs",
		"buddy", "free ent", "unused rf", "remote dr", "occ 0", "min", "mean", "max", "end",
		"-snap");
	for (uint32_t c = 0; c < r->nr_cpus; c++) {
		const struct pcp_lc_cpu_flow *f = &r->cpu_flow[c];
		char diff[24];

		if (f->has_snapshot_end)
			snprintf(diff, sizeof(diff), "%" PRId64, f->end_diff);
		else
			snprintf(diff, sizeof(diff), "n/a");
		fprintf(out, "  %-4" PRIu32 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
			" %10" PRIu64 " %8" PRId64 " %8" PRId64 " %8s %8" PRId64 " %8" PRId64 " %8s\n", c,
			f->pcp_allocs, f->buddy_allocs, f->free_entries, f->unused_refills,
			f->remote_drains, f->occ_start, f->occ_min, mean_text(m1, sizeof(m1), f->occ_mean),
			f->occ_max, f->occ_end, diff);
	}
	/* A level below 0 is impossible: pages came onto that CPU's lists unseen, or pages of
	 * another CPU's lists were taken from it (a drain of blocks listed before the trace by
	 * another CPU: a CPU going offline, drain_all_pages). Said, not hidden (docs/METRICS.md). */
	for (uint32_t c = 0; r->occupancy_is_level && c < r->nr_cpus; c++)
		if (r->cpu_flow[c].occ_min < 0)
			fprintf(out, "  note: CPU %" PRIu32 "'s occupancy went below 0 (min %" PRId64 "): pages "
				"entered its lists unseen or were counted off the wrong CPU; per-CPU "
				"occupancy is an estimate\n", c, r->cpu_flow[c].occ_min);
	text_tasks(out, r);
}

/* ---- JSON ---- */

static void put(json_t *obj, const char *key, json_t *v, int *ok)
{
	if (!v || json_object_set_new(obj, key, v) != 0)
		*ok = 0;
}

static void push(json_t *arr, json_t *v, int *ok)
{
	if (!v || json_array_append_new(arr, v) != 0)
		*ok = 0;
}

static json_t *jint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *jreal(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *json_totals(const struct pcp_lifecycle_results *r, int *ok)
{
	const struct { const char *key; uint64_t v; } rows[] = {
		{ "allocs", r->allocs }, { "frees", r->frees },
		{ "pcp_allocs", r->pcp_allocs }, { "buddy_allocs", r->buddy_allocs },
		{ "unclassified_allocs", r->unclassified_allocs },
		{ "free_entries", r->free_entries }, { "buddy_frees", r->buddy_frees },
		{ "refill_blocks", r->refill_blocks }, { "drain_blocks", r->drain_blocks },
		{ "unused_refills", r->unused_refills },
		{ "drains_owner_known", r->drains_owner_known }, { "remote_drains", r->remote_drains },
		{ "drains_owner_unknown", r->drains_owner_unknown },
		{ "allocs_pcp_unseen", r->allocs_pcp_unseen },
		{ "buddy_allocs_untraced", r->buddy_allocs_untraced },
		{ "refill_acquisitions", r->refill_acquisitions },
		{ "drain_acquisitions", r->drain_acquisitions },
		{ "stays_alloc", r->stays[PCP_LC_EXIT_ALLOC] }, { "stays_drain", r->stays[PCP_LC_EXIT_DRAIN] },
		{ "refill_while_listed", r->anomalies.refill_while_listed },
		{ "alloc_other_cpu", r->anomalies.alloc_other_cpu },
		{ "drain_not_listed", r->anomalies.drain_not_listed },
		{ "free_not_in_use", r->anomalies.free_not_in_use },
	};
	json_t *o = json_object();

	for (size_t i = 0; o && i < sizeof(rows) / sizeof(rows[0]); i++)
		put(o, rows[i].key, jint(rows[i].v), ok);
	return o;
}

static json_t *json_cpu_flow(const struct pcp_lifecycle_results *r, int *ok)
{
	json_t *arr = json_array();

	for (uint32_t c = 0; arr && c < r->nr_cpus; c++) {
		const struct pcp_lc_cpu_flow *f = &r->cpu_flow[c];
		json_t *e = json_object();

		if (!e) {
			*ok = 0;
			break;
		}
		put(e, "cpu", jint(c), ok);
		put(e, "pcp_allocs", jint(f->pcp_allocs), ok);
		put(e, "buddy_allocs", jint(f->buddy_allocs), ok);
		put(e, "unclassified_allocs", jint(f->unclassified_allocs), ok);
		put(e, "free_entries", jint(f->free_entries), ok);
		put(e, "buddy_frees", jint(f->buddy_frees), ok);
		put(e, "refill_blocks", jint(f->refill_blocks), ok);
		put(e, "refill_pages", jint(f->refill_pages), ok);
		put(e, "drain_blocks", jint(f->drain_blocks), ok);
		put(e, "drain_pages", jint(f->drain_pages), ok);
		put(e, "unused_refills", jint(f->unused_refills), ok);
		put(e, "remote_drains", jint(f->remote_drains), ok);
		put(e, "occ_start", json_integer(f->occ_start), ok);
		put(e, "occ_min", json_integer(f->occ_min), ok);
		put(e, "occ_mean", jreal(f->occ_mean), ok);
		put(e, "occ_max", json_integer(f->occ_max), ok);
		put(e, "occ_end", json_integer(f->occ_end), ok);
		put(e, "snapshot_end", f->has_snapshot_end ? json_integer(f->snapshot_end) : json_null(), ok);
		put(e, "end_diff", f->has_snapshot_end ? json_integer(f->end_diff) : json_null(), ok);
		push(arr, e, ok);
	}
	return arr;
}

static json_t *json_residency(const struct pcp_lifecycle_results *r, int *ok)
{
	json_t *o = json_object();

	for (int x = 0; o && x < PCP_LC_NR_EXITS; x++) {
		json_t *arr = json_array();

		for (size_t i = 0; arr && i < r->nr_residency_hist[x]; i++) {
			const struct pcp_hist_bucket *b = &r->residency_hist[x][i];
			json_t *e = json_object();

			if (!e) {
				*ok = 0;
				break;
			}
			put(e, "lo_ns", jint(b->lo_ns), ok);
			put(e, "hi_ns", jint(b->hi_ns), ok);
			put(e, "stays", jint(b->pairs), ok);
			put(e, "pages", jint(b->pages), ok);
			push(arr, e, ok);
		}
		put(o, pcp_lc_exit_name((enum pcp_lc_exit)x), arr, ok);
	}
	return o;
}

static json_t *json_occupancy(const struct pcp_lifecycle_results *r, int *ok)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < r->nr_occ_timeline; i++) {
		const struct pcp_lc_occ_row *t = &r->occ_timeline[i];
		json_t *e = json_object();

		if (!e) {
			*ok = 0;
			break;
		}
		put(e, "bucket_start_ns", jint(t->bucket_start_ns), ok);
		put(e, "cpu", jint(t->cpu), ok);
		put(e, "changes", jint(t->changes), ok);
		put(e, "occ_min", json_integer(t->occ_min), ok);
		put(e, "occ_max", json_integer(t->occ_max), ok);
		put(e, "occ_end", json_integer(t->occ_end), ok);
		put(e, "occ_mean", jreal(t->occ_mean), ok);
		push(arr, e, ok);
	}
	return arr;
}

static json_t *json_tasks(const struct pcp_lifecycle_results *r, int *ok)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < r->nr_tasks; i++) {
		const struct pcp_lc_task *t = &r->tasks[i];
		const char *comm = r->task_comm ? r->task_comm[i] : NULL;
		json_t *e = json_object();

		if (!e) {
			*ok = 0;
			break;
		}
		put(e, "pid", json_integer(t->pid), ok);
		put(e, "comm", pcp_json_text(comm), ok);
		put(e, "refill_blocks", jint(t->refill_blocks), ok);
		put(e, "refill_pages", jint(t->refill_pages), ok);
		put(e, "drain_blocks", jint(t->drain_blocks), ok);
		put(e, "drain_pages", jint(t->drain_pages), ok);
		put(e, "lock_acquisitions", jint(t->lock_acquisitions), ok);
		put(e, "allocs", jint(t->allocs), ok);
		put(e, "pcp_allocs", jint(t->pcp_allocs), ok);
		put(e, "buddy_allocs", jint(t->buddy_allocs), ok);
		put(e, "frees", jint(t->frees), ok);
		put(e, "free_entries", jint(t->free_entries), ok);
		push(arr, e, ok);
	}
	return arr;
}

static json_t *json_phases(const struct pcp_lifecycle_results *r, int *ok)
{
	json_t *o = json_object(), *p50 = json_object(), *hist = json_array();

	for (int p = 0; p50 && p < PCP_LC_NR_PHASES; p++)
		put(p50, pcp_lc_phase_name((enum pcp_lc_phase)p), jreal(r->rt_phase_p50_ns[p]), ok);
	for (size_t i = 0; hist && i < r->nr_rt_phase_hist; i++) {
		const struct pcp_lc_phase_bucket *b = &r->rt_phase_hist[i];
		json_t *e = json_object();

		if (!e) {
			*ok = 0;
			break;
		}
		put(e, "phase", json_string(pcp_lc_phase_name((enum pcp_lc_phase)b->phase)), ok);
		put(e, "lo_ns", jint(b->lo_ns), ok);
		put(e, "hi_ns", jint(b->hi_ns), ok);
		put(e, "round_trips", jint(b->round_trips), ok);
		push(hist, e, ok);
	}
	if (!o) {
		*ok = 0;
		json_decref(p50);
		json_decref(hist);
		return NULL;
	}
	put(o, "split", jint(r->rt_split), ok);
	put(o, "unused", jint(r->rt_unused), ok);
	put(o, "unsplit", jint(r->rt_unsplit), ok);
	put(o, "p50_ns", p50, ok);
	put(o, "hist", hist, ok);
	return o;
}

json_t *pcp_lifecycle_json(const struct pcp_analysis *a)
{
	const struct pcp_lifecycle_results *r = a->lifecycle;
	json_t *o = json_object();
	int ok = 1;

	if (!o)
		return NULL;
	put(o, "recorded", json_boolean(r != NULL), &ok);
	if (!r) {
		put(o, "note", json_string(PCP_LIFECYCLE_NOT_RECORDED), &ok);
	} else {
		put(o, "occupancy", json_string(r->occupancy_is_level ? "level" : "change"), &ok);
		put(o, "page_shift", jint(r->page_shift), &ok);
		put(o, "totals", json_totals(r, &ok), &ok);
		put(o, "cpu_flow", json_cpu_flow(r, &ok), &ok);
		put(o, "residency_hist", json_residency(r, &ok), &ok);
		put(o, "occupancy_timeline", json_occupancy(r, &ok), &ok);
		put(o, "tasks", json_tasks(r, &ok), &ok);
		put(o, "round_trip_phases", json_phases(r, &ok), &ok);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
