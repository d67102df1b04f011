/* The human summary and the JSON document of an analysis (shape: pcpanalyze(1), JSON OUTPUT). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/json_text.h"
#include "common/error.h"
#include "meta/meta.h"
#include "output/lifecycle_out.h"
#include "output/outfile.h"
#include "output/lock_hold_report.h"
#include "model/lifecycle.h"
#include "model/percpu.h"
#include "output/lock_cause_output.h"
#include "output/report.h"
#include "common/util.h"
#include "tracedat/time_base.h"

#ifndef PCPTRACE_VERSION
#define PCPTRACE_VERSION "unknown"
#endif

#define TOP_CPU_PAIRS 5

/* ---- text ---- */


static const char *format_metric_value(char *buf, size_t len, const struct pcp_metric *m)
{
	const char *unit = m->unit ? m->unit : "";
	double v = m->value;

	if (isnan(v))   /* undefined (METRICS.md): no value, not 0 */
		snprintf(buf, len, "n/a");
	else if (!isfinite(v))
		snprintf(buf, len, "%g", v);
	else if (strcmp(unit, "ratio") == 0)
		snprintf(buf, len, "%.4f", v);
	else if (strcmp(unit, "1/s") == 0)
		snprintf(buf, len, "%.1f", v);
	else if (v >= 0 && v < 1.8e19 && v == floor(v))
		pcp_group_digits(buf, len, (uint64_t)v);
	else
		snprintf(buf, len, "%.2f", v);
	return buf;
}

static void text_header(FILE *out, const struct pcp_analysis *a)
{
	const struct pcp_churn_results *c = a->churn;
	char n1[32], n2[32];

	fprintf(out, "pcpanalyze: %s\n", a->trace_file ? a->trace_file : "(unnamed trace)");
	fprintf(out, "  %-10s refill %s, zone lock %s\n", "mode",
		pcp_refill_source_name(a->refill_source), pcp_lock_source_name(a->lock_source));
	/* Older kernels' formats: say how blocks are identified and refills recognized. */
	if (a->block_key == PCP_BLOCK_KEY_PAGE_POINTER)
		fprintf(out, "  %-10s keyed by struct page pointer (older kernel: the kmem events have "
			"no pfn field); pfn_cycles.pfn is that pointer, no zone map\n", "blocks");
	if (a->refill_source == PCP_REFILL_FALLBACK && a->refill_flag == PCP_REFILL_FLAG_DERIVED)
		fprintf(out, "  %-10s percpu_refill derived as order == 0, as the kernel's print fmt "
			"did (no percpu_refill field: Linux < 5.19)\n", "refills");
	if (a->time_base == PCP_TIME_NONE)   /* ticks are no duration: no rate either */
		fprintf(out, "  %-10s n/a  (%" PRIu32 " CPUs, trace.dat v%d, no time base: %s; rates n/a)\n",
			"duration", a->nr_cpus, a->file_version, a->time_base_reason);
	else
		fprintf(out, "  %-10s %.6f s  (%" PRIu32 " CPUs, trace.dat v%d, clock %s%s)\n", "duration",
			(double)c->duration_ns / 1e9, a->nr_cpus, a->file_version,
			a->trace_clock ? a->trace_clock : "unknown",
			a->time_base == PCP_TIME_TSC2NSEC ? ", converted to ns by TSC2NSEC" : "");
	if (a->buffer && a->nr_data_buffers > 1)
		fprintf(out, "  %-10s %s (%s, of %u with data)\n", "buffer", a->buffer,
			a->buffer_why ? a->buffer_why : "chosen", a->nr_data_buffers);
	else if (a->buffer)
		fprintf(out, "  %-10s %s (%s)\n", "buffer", a->buffer, a->buffer_why ? a->buffer_why : "chosen");
	if (a->filtered) {   /* loud: the numbers below are of the kept records only */
		snprintf(n1, sizeof(n1), "%" PRIu64, a->window_to_ns);
		fprintf(out, "  %-10s %s (only the records it keeps; trace time [%" PRIu64 ", %s) ns)\n",
			"filter", a->filter, a->window_from_ns, a->window_to_ns == UINT64_MAX ? "end" : n1);
	}
	fprintf(out, "  %-10s %s total, %s lost%s%s%s\n", "events", pcp_group_digits(n1, sizeof(n1), a->events_total),
		pcp_group_digits(n2, sizeof(n2), c->events_lost),
		c->lost_unknown_marks ? " (+ losses of unknown size)" : "",
		c->lossy && a->events_lost_source ? "; from " : "",
		c->lossy && a->events_lost_source ? a->events_lost_source : "");
	if (c->lossy) {
		fprintf(out, "\n  *** LOSSY TRACE: %s events lost", pcp_group_digits(n1, sizeof(n1), c->events_lost));
		if (c->lost_unknown_marks)
			fprintf(out, " plus %s losses of unknown size",
				pcp_group_digits(n2, sizeof(n2), c->lost_unknown_marks));
		fprintf(out, " ***\n  *** pairs are undercounted, unmatched drains and open refills "
			"overcounted ***\n");
	}
}

/* "  (81.8 ms)" after a duration of 1 us or more, so long round trips read at a glance. */
static const char *human_ns(char *buf, size_t len, const struct pcp_metric *m)
{
	static const struct { double scale; const char *unit; } units[] = {
		{ 1e9, "s" }, { 1e6, "ms" }, { 1e3, "us" },
	};

	buf[0] = '\0';
	if (!m->unit || strcmp(m->unit, "ns") != 0 || !isfinite(m->value))
		return buf;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (m->value >= units[i].scale) {
			snprintf(buf, len, "  (%.3g %s)", m->value / units[i].scale, units[i].unit);
			break;
		}
	return buf;
}

/* An undefined rate (no duration, no time base) reads n/a. */
static void rate_text(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.1f", v);
}

static void text_metrics(FILE *out, const struct pcp_churn_results *c)
{
	char v[48], h[32];

	if (!c->nr_metrics)
		return;
	fprintf(out, "\n PCP metrics\n");
	for (size_t i = 0; i < c->nr_metrics; i++) {
		const struct pcp_metric *m = &c->metrics[i];

		fprintf(out, "  %16s  %-22s %s%s\n", format_metric_value(v, sizeof(v), m), m->name,
			m->unit ? m->unit : "", human_ns(h, sizeof(h), m));
	}
}

static int cmp_cells_by_pairs(const void *x, const void *y)
{
	const struct pcp_pair_cell *a = *(const struct pcp_pair_cell *const *)x;
	const struct pcp_pair_cell *b = *(const struct pcp_pair_cell *const *)y;

	if (a->pairs != b->pairs)
		return a->pairs < b->pairs ? 1 : -1;
	if (a->refill_cpu != b->refill_cpu)
		return a->refill_cpu < b->refill_cpu ? -1 : 1;
	return a->drain_cpu < b->drain_cpu ? -1 : a->drain_cpu > b->drain_cpu;
}

static void text_cpu_pairs(FILE *out, const struct pcp_churn_results *c)
{
	const struct pcp_pair_cell **order;
	uint64_t total = 0;
	size_t n = c->nr_pair_cells;
	char p1[32], p2[32];

	if (!n)
		return;
	order = malloc(n * sizeof(*order));
	if (!order)
		return; /* a summary without this section beats no summary */
	for (size_t i = 0; i < n; i++) {
		order[i] = &c->pair_matrix[i];
		total += c->pair_matrix[i].pairs;
	}
	qsort(order, n, sizeof(*order), cmp_cells_by_pairs);
	fprintf(out, "\n Top CPU pairs (refill cpu -> drain cpu)\n");
	for (size_t i = 0; i < n && i < TOP_CPU_PAIRS; i++) {
		const struct pcp_pair_cell *p = order[i];

		fprintf(out, "  %5" PRIu32 " -> %-5" PRIu32 " %12s pairs %12s pages  %5.1f%%%s\n",
			p->refill_cpu, p->drain_cpu, pcp_group_digits(p1, sizeof(p1), p->pairs),
			pcp_group_digits(p2, sizeof(p2), p->pages),
			total ? 100.0 * (double)p->pairs / (double)total : 0.0,
			p->refill_cpu != p->drain_cpu ? "  cross" : "");
	}
	if (n > TOP_CPU_PAIRS)
		fprintf(out, "  (%zu more in pair_matrix)\n", n - TOP_CPU_PAIRS);
	free(order);
}

static void text_zones(FILE *out, const struct pcp_analysis *a)
{
	const struct pcp_churn_results *c = a->churn;
	char acq[32], id[16];
	const char *zone = a->block_key == PCP_BLOCK_KEY_PAGE_POINTER ? "zone n/a: blocks keyed by page pointer"
			   : a->zone_map ? "zone from the meta's zone spans" : "zone unknown";

	if (!c->nr_zone_lock)
		return;
	if (a->lock_source == PCP_LOCK_INFERRED && !a->infer_gap_ns[0] && !a->infer_gap_ns[1])
		fprintf(out, "\n Zone lock (inferred: runs of refills/drains, gap rule off, %s)\n", zone);
	else if (a->lock_source == PCP_LOCK_INFERRED)
		fprintf(out, "\n Zone lock (inferred: runs of refills/drains split by gaps > %llu / %llu ns, "
			"%s)\n", (unsigned long long)a->infer_gap_ns[PCP_LOCK_KIND_REFILL],
			(unsigned long long)a->infer_gap_ns[PCP_LOCK_KIND_DRAIN], zone);
	else
		fprintf(out, "\n Zone lock (%s)\n", pcp_lock_source_name(a->lock_source));
	fprintf(out, "  %-9s %-6s %14s %12s %12s %10s\n", "nid:zid", "kind", "acquisitions",
		"per s", "peak per s", "pages/acq");
	for (size_t i = 0; i < c->nr_zone_lock; i++) {
		const struct pcp_zone_lock_row *z = &c->zone_lock[i];
		char ps[32], peak[32];

		if (z->nid < 0 && z->zid < 0)
			snprintf(id, sizeof(id), "-");
		else
			snprintf(id, sizeof(id), "%" PRId32 ":%" PRId32, z->nid, z->zid);
		rate_text(ps, sizeof(ps), z->per_second);
		rate_text(peak, sizeof(peak), z->peak_per_second);
		fprintf(out, "  %-9s %-6s %14s %12s %12s %10.2f\n", id,
			z->kind == PCP_LOCK_KIND_DRAIN ? "drain" : "refill",
			pcp_group_digits(acq, sizeof(acq), z->acquisitions), ps, peak,
			z->acquisitions ? (double)z->moved_pages / (double)z->acquisitions : 0.0);
	}
}

void pcp_report_text(FILE *out, const struct pcp_analysis *a)
{
	if (!a || !a->churn)
		return;
	text_header(out, a);
	text_metrics(out, a->churn);
	text_cpu_pairs(out, a->churn);
	text_zones(out, a);
	pcp_lock_hold_report_text(out, a->churn->lock_hold);
	if (a->percpu)
		pcp_percpu_report_text(out, a->percpu);
	pcp_lifecycle_text(out, a);
	if (a->lock_cause)
		pcp_lock_cause_report_text(out, a->lock_cause);
}

/* ---- JSON ---- */

/* json_object_set_new that remembers failure: NULL values (allocation failure) poison *ok. */
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

/* JSON has no NaN or infinity: such a value is null. */
static json_t *jreal(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *json_trace(const struct pcp_analysis *a, int *ok)
{
	const struct pcp_churn_results *c = a->churn;
	json_t *t = json_object();

	if (!t) {
		*ok = 0;
		return NULL;
	}
	put(t, "trace_file", pcp_json_text(a->trace_file ? a->trace_file : ""), ok);
	put(t, "nr_cpus", jint(a->nr_cpus), ok);
	put(t, "first_ts_ns", jint(c->first_ts_ns), ok);
	put(t, "last_ts_ns", jint(c->last_ts_ns), ok);
	put(t, "duration_ns", a->time_base == PCP_TIME_NONE ? json_null() : jint(c->duration_ns), ok);
	put(t, "refill_source", json_string(pcp_refill_source_name(a->refill_source)), ok);
	put(t, "lock_source", json_string(pcp_lock_source_name(a->lock_source)), ok);
	put(t, "block_key", json_string(pcp_block_key_name(a->block_key)), ok);
	if (a->refill_source == PCP_REFILL_FALLBACK)
		put(t, "refill_flag", json_string(pcp_refill_flag_name(a->refill_flag)), ok);
	put(t, "events_total", jint(a->events_total), ok);
	put(t, "events_lost", jint(c->events_lost), ok);
	put(t, "events_lost_unknown", jint(c->lost_unknown_marks), ok);
	put(t, "lossy", json_boolean(c->lossy), ok);
	put(t, "events_lost_source", json_string(a->events_lost_source ? a->events_lost_source : "none"), ok);
	put(t, "buffer", pcp_json_text(a->buffer), ok);
	put(t, "file_version", json_integer(a->file_version), ok);
	put(t, "trace_clock", pcp_json_text(a->trace_clock), ok);
	put(t, "time_base", json_string(pcp_time_base_name(a->time_base)), ok);
	if (a->time_base_reason)
		put(t, "time_base_reason", json_string(a->time_base_reason), ok);
	put(t, "churn_window_ns", jint(a->opts.churn_window_ns), ok);
	put(t, "bucket_ns", jint(a->opts.bucket_ns), ok);
	put(t, "top_n", jint(a->opts.top_n), ok);
	put(t, "infer_gap_ns", a->opts.infer_gap_ns == PCP_INFER_GAP_AUTO ? json_string("auto")
							       : jint(a->opts.infer_gap_ns), ok);
	if (a->lock_source == PCP_LOCK_INFERRED) {
		put(t, "infer_gap_refill_ns", jint(a->infer_gap_ns[PCP_LOCK_KIND_REFILL]), ok);
		put(t, "infer_gap_drain_ns", jint(a->infer_gap_ns[PCP_LOCK_KIND_DRAIN]), ok);
		put(t, "zone_map", json_string(a->block_key == PCP_BLOCK_KEY_PAGE_POINTER ? "n/a"
					       : a->zone_map ? "meta" : "none"), ok);
	}
	put(t, "pcptrace_version", json_string(PCPTRACE_VERSION), ok);
	/* the window and filter, as trace_info says them (docs/METRICS.md) */
	put(t, "filter", pcp_json_text(a->filter ? a->filter : "none"), ok);
	if (a->filtered) {
		put(t, "window_from_ns", jint(a->window_from_ns), ok);
		put(t, "window_to_ns", a->window_to_ns == UINT64_MAX ? json_null() : jint(a->window_to_ns), ok);
	}
	return t;
}

static void json_add_metrics(json_t *m, const struct pcp_metric *list, size_t n, int *ok)
{
	for (size_t i = 0; i < n; i++) {
		const struct pcp_metric *x = &list[i];
		json_t *e = json_object();

		if (!e) {
			*ok = 0;
			break;
		}
		put(e, "value", jreal(x->value), ok);
		put(e, "unit", json_string(x->unit ? x->unit : ""), ok);
		put(e, "better", json_string(x->better ? x->better : "none"), ok);
		put(m, x->name, e, ok);
	}
}

/* The same rows as the database's metrics table: PCP, percpu, then lifecycle. */
static json_t *json_metrics(const struct pcp_analysis *a, int *ok)
{
	json_t *m = json_object();

	if (!m) {
		*ok = 0;
		return NULL;
	}
	json_add_metrics(m, a->churn->metrics, a->churn->nr_metrics, ok);
	if (a->percpu)
		json_add_metrics(m, a->percpu->metrics, a->percpu->nr_metrics, ok);
	if (a->lifecycle)
		json_add_metrics(m, a->lifecycle->metrics, a->lifecycle->nr_metrics, ok);
	if (a->lock_cause)
		json_add_metrics(m, a->lock_cause->metrics, a->lock_cause->nr_metrics, ok);
	return m;
}

static json_t *json_cpu_flow(const struct pcp_churn_results *c, int *ok)
{
	json_t *arr = json_array();

	for (uint32_t cpu = 0; arr && c->cpu_flow && cpu < c->nr_cpus; cpu++) {
		const struct pcp_cpu_flow *f = &c->cpu_flow[cpu];
		json_t *e = json_object();

		if (!e) {
			*ok = 0;
			break;
		}
		put(e, "cpu", jint(cpu), ok);
		put(e, "refill_blocks", jint(f->refill_blocks), ok);
		put(e, "refill_pages", jint(f->refill_pages), ok);
		put(e, "drain_blocks", jint(f->drain_blocks), ok);
		put(e, "drain_pages", jint(f->drain_pages), ok);
		put(e, "net_pages", json_integer(f->net_pages), ok);
		put(e, "refill_locks", jint(f->refill_locks), ok);
		put(e, "drain_locks", jint(f->drain_locks), ok);
		put(e, "lost_events", jint(f->lost_events), ok);
		push(arr, e, ok);
	}
	return arr;
}

static json_t *json_pair_matrix(const struct pcp_churn_results *c, int *ok)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < c->nr_pair_cells; i++) {
		const struct pcp_pair_cell *p = &c->pair_matrix[i];
		json_t *e = json_object();

		if (!e) {
			*ok = 0;
			break;
		}
		put(e, "refill_cpu", jint(p->refill_cpu), ok);
		put(e, "drain_cpu", jint(p->drain_cpu), ok);
		put(e, "pairs", jint(p->pairs), ok);
		put(e, "pages", jint(p->pages), ok);
		push(arr, e, ok);
	}
	return arr;
}

static json_t *json_zone_lock(const struct pcp_churn_results *c, int *ok)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < c->nr_zone_lock; i++) {
		const struct pcp_zone_lock_row *z = &c->zone_lock[i];
		json_t *e = json_object();

		if (!e) {
			*ok = 0;
			break;
		}
		put(e, "nid", json_integer(z->nid), ok);
		put(e, "zid", json_integer(z->zid), ok);
		put(e, "kind", json_string(z->kind == PCP_LOCK_KIND_DRAIN ? "drain" : "refill"), ok);
		put(e, "acquisitions", jint(z->acquisitions), ok);
		put(e, "target_pages", jint(z->target_pages), ok);
		put(e, "moved_pages", jint(z->moved_pages), ok);
		put(e, "per_second", jreal(z->per_second), ok);
		put(e, "peak_per_second", jreal(z->peak_per_second), ok);
		push(arr, e, ok);
	}
	return arr;
}

static json_t *json_round_trip_hist(const struct pcp_churn_results *c, int *ok)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < c->nr_hist_buckets; i++) {
		const struct pcp_hist_bucket *b = &c->round_trip_hist[i];
		json_t *e = json_object();

		if (!e) {
			*ok = 0;
			break;
		}
		put(e, "lo_ns", jint(b->lo_ns), ok);
		put(e, "hi_ns", jint(b->hi_ns), ok);
		put(e, "pairs", jint(b->pairs), ok);
		put(e, "pages", jint(b->pages), ok);
		push(arr, e, ok);
	}
	return arr;
}

/* Blocks keyed by page pointer: "pfn" is null and "page" the pointer in hex (a kernel pointer
 * does not fit a JSON integer's signed 64 bits). */
static json_t *json_pfn_cycles(const struct pcp_churn_results *c, int page_key, int *ok)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < c->nr_pfn_cycles; i++) {
		const struct pcp_pfn_cycles *p = &c->pfn_cycles[i];
		json_t *e = json_object();

		if (!e) {
			*ok = 0;
			break;
		}
		if (page_key) {
			char hex[24];
			snprintf(hex, sizeof(hex), "0x%" PRIx64, p->pfn);
			put(e, "pfn", json_null(), ok);
			put(e, "page", json_string(hex), ok);
		} else {
			put(e, "pfn", jint(p->pfn), ok);
		}
		put(e, "order", jint(p->order), ok);
		put(e, "cycles", jint(p->cycles), ok);
		put(e, "cross_cpu_cycles", jint(p->cross_cpu_cycles), ok);
		put(e, "min_round_trip_ns", jint(p->min_round_trip_ns), ok);
		put(e, "max_round_trip_ns", jint(p->max_round_trip_ns), ok);
		push(arr, e, ok);
	}
	return arr;
}

static json_t *json_event_counts(const struct pcp_analysis *a, int *ok)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < a->nr_event_counts; i++)
		put(o, a->event_counts[i].name, jint(a->event_counts[i].count), ok);
	return o;
}

json_t *pcp_report_json(const struct pcp_analysis *a)
{
	const struct pcp_churn_results *c;
	json_t *root;
	int ok = 1;

	if (!a || !a->churn)
		return NULL;
	c = a->churn;
	root = json_object();
	if (!root)
		return NULL;
	put(root, "schema_version", json_integer(PCP_JSON_SCHEMA_VERSION), &ok);
	put(root, "kind", json_string("analysis"), &ok);
	put(root, "trace", json_trace(a, &ok), &ok);
	put(root, "metrics", json_metrics(a, &ok), &ok);
	put(root, "cpu_flow", json_cpu_flow(c, &ok), &ok);
	put(root, "pair_matrix", json_pair_matrix(c, &ok), &ok);
	put(root, "zone_lock", json_zone_lock(c, &ok), &ok);
	put(root, "zone_lock_hold", pcp_lock_hold_report_json(c->lock_hold), &ok);
	put(root, "round_trip_hist", json_round_trip_hist(c, &ok), &ok);
	put(root, "pfn_cycles", json_pfn_cycles(c, a->block_key == PCP_BLOCK_KEY_PAGE_POINTER, &ok), &ok);
	put(root, "event_counts", json_event_counts(a, &ok), &ok);
	if (a->percpu) {
		if (pcp_percpu_report_json(root, a->percpu) != PCP_OK)
			ok = 0;
	}
	/* "percpu" is always present: null when the trace has no percpu event. */
	if (ok && !json_object_get(root, "percpu"))
		put(root, "percpu", json_null(), &ok);
	put(root, "lifecycle", pcp_lifecycle_json(a), &ok);
	/* "lock_cause": null when the trace has no kernel_stack record (pcprecord --stacks) */
	if (ok && a->lock_cause) {
		if (pcp_lock_cause_report_json(root, a->lock_cause) != PCP_OK)
			ok = 0;
	} else if (ok) {
		put(root, "lock_cause", json_null(), &ok);
	}
	put(root, "meta", a->meta ? json_incref(a->meta->json) : json_null(), &ok);
	if (!ok) {
		json_decref(root);
		return NULL;
	}
	return root;
}


int pcp_report_json_write(const char *path, const struct pcp_analysis *a)
{
	json_t *root;
	int err;

	if (!path)
		return PCP_ERR_INTERNAL;
	root = pcp_report_json(a);
	if (!root)
		return a && a->churn ? PCP_ERR_NOMEM : PCP_ERR_INTERNAL;
	err = pcp_json_write(path, root, NULL, 0);
	json_decref(root);
	return err;
}
