/* Zone-lock hold time in the text summary and the JSON (lock_hold_report.h). Undefined values
 * read n/a in the text and null in the JSON, never 0. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include "common/json_text.h"
#include "output/lock_hold_report.h"
#include "common/util.h"

static const char *kind_name(enum pcp_lock_kind k)
{
	return k == PCP_LOCK_KIND_DRAIN ? "drain" : "refill";
}

/* A hold time in ns with a readable unit, or n/a. */
static const char *ns_text(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "n/a");
	else if (v >= 1e6)
		snprintf(buf, len, "%.3g ms", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.3g us", v / 1e3);
	else
		snprintf(buf, len, "%.0f ns", v);
	return buf;
}

static const char *share_text(char *buf, size_t len, uint64_t part, uint64_t whole)
{
	if (!whole)
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.1f%%", 100.0 * (double)part / (double)whole);
	return buf;
}

static void text_hist(FILE *out, const char *what, const struct pcp_lock_hold_bucket *b, size_t n,
		      enum pcp_lock_kind kind)
{
	int any = 0;

	for (size_t i = 0; i < n; i++) {
		if (b[i].kind != kind)
			continue;
		if (!any)
			fprintf(out, "  %-6s %-10s", kind_name(kind), what);
		any = 1;
		fprintf(out, " [%" PRIu64 ",%s%" PRIu64 ")%s%" PRIu64, b[i].lo,
			b[i].hi == UINT64_MAX ? "~" : "", b[i].hi, ":", b[i].acquisitions);
	}
	if (any)
		fputc('\n', out);
}

void pcp_lock_hold_report_text(FILE *out, const struct pcp_lock_hold_results *r)
{
	char n[32], e[32], p50[24], p99[24], mx[24], sh[24], id[16], b[24];

	if (!r || !(r->acquisitions[0] + r->acquisitions[1]))
		return;
	fprintf(out, "\n Zone-lock hold time (at least: %s to the last block moved under the lock%s)\n",
		r->lower_bound ? "first block" : "the *_zone_locked event",
		r->lower_bound ? "; inferred: a lower bound" : "");
	if (r->no_time_base)
		fprintf(out, "  no time base: hold times n/a\n");
	fprintf(out, "  %-9s %-6s %12s %8s %10s %10s %10s %6s %9s\n", "nid:zid", "kind",
		"acquisitions", "empty", "p50", "p99", "max", "batch", ">= batch");
	for (size_t i = 0; i < r->nr_rows; i++) {
		const struct pcp_lock_hold_row *z = &r->rows[i];

		if (z->nid < 0 && z->zid < 0)
			snprintf(id, sizeof(id), "-");
		else
			snprintf(id, sizeof(id), "%" PRId32 ":%" PRId32, z->nid, z->zid);
		if (z->batch >= 0)
			snprintf(b, sizeof(b), "%" PRId64, z->batch);
		else
			snprintf(b, sizeof(b), "n/a");
		fprintf(out, "  %-9s %-6s %12s %8s %10s %10s %10s %6s %9s\n", id, kind_name(z->kind),
			pcp_group_digits(n, sizeof(n), z->acquisitions),
			pcp_group_digits(e, sizeof(e), z->empty_acquisitions),
			ns_text(p50, sizeof(p50), z->hold_p50_ns), ns_text(p99, sizeof(p99), z->hold_p99_ns),
			ns_text(mx, sizeof(mx), z->hold_max_ns), b,
			share_text(sh, sizeof(sh), z->at_batch_acquisitions,
				   z->batch >= 0 ? z->acquisitions : 0));
	}
	for (int k = 0; k < 2; k++) {
		if (!r->acquisitions[k])
			continue;
		fprintf(out, "  %-9s %-6s %12s %8s %10s %10s %10s %6s %9s\n", "all", kind_name(k),
			pcp_group_digits(n, sizeof(n), r->acquisitions[k]),
			pcp_group_digits(e, sizeof(e), r->empty_acquisitions[k]),
			ns_text(p50, sizeof(p50), r->hold_p50_ns[k]),
			ns_text(p99, sizeof(p99), r->hold_p99_ns[k]),
			ns_text(mx, sizeof(mx), r->hold_max_ns[k]), "",
			share_text(sh, sizeof(sh), r->at_batch[k], r->batch_known[k]));
	}
	for (int k = 0; k < 2; k++) {
		text_hist(out, "hold ns", r->hold_hist, r->nr_hold_hist, (enum pcp_lock_kind)k);
		text_hist(out, "pages/acq", r->pages_hist, r->nr_pages_hist, (enum pcp_lock_kind)k);
	}
	if (!r->nr_longest)
		return;
	fprintf(out, "  longest (%zu of %zu; all in the database and JSON):\n",
		r->nr_longest < PCP_LOCK_HOLD_TEXT_LONGEST ? r->nr_longest : PCP_LOCK_HOLD_TEXT_LONGEST,
		r->nr_longest);
	for (size_t i = 0; i < r->nr_longest && i < PCP_LOCK_HOLD_TEXT_LONGEST; i++) {
		const struct pcp_lock_hold_acq *q = &r->longest[i];

		fprintf(out, "  %10s  %-6s ts %" PRIu64 " cpu %" PRIu32 " %s-%" PRId32 " zone %" PRId32
			":%" PRId32 " %" PRIu64 " blocks %" PRIu64 " pages\n",
			ns_text(mx, sizeof(mx), (double)q->hold_ns), kind_name(q->kind), q->ts_ns, q->cpu,
			q->comm[0] ? q->comm : "?", q->pid, q->nid, q->zid, q->blocks, q->pages);
	}
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

static json_t *json_kind(const struct pcp_lock_hold_results *r, int k, int *ok)
{
	json_t *o = json_object();

	if (!o) {
		*ok = 0;
		return NULL;
	}
	put(o, "acquisitions", jint(r->acquisitions[k]), ok);
	put(o, "empty_acquisitions", jint(r->empty_acquisitions[k]), ok);
	put(o, "hold_p50_ns", jreal(r->hold_p50_ns[k]), ok);
	put(o, "hold_p99_ns", jreal(r->hold_p99_ns[k]), ok);
	put(o, "hold_max_ns", jreal(r->hold_max_ns[k]), ok);
	put(o, "batch_known_acquisitions", jint(r->batch_known[k]), ok);
	put(o, "at_batch_acquisitions", jint(r->at_batch[k]), ok);
	put(o, "at_batch_share", r->batch_known[k]
	    ? json_real((double)r->at_batch[k] / (double)r->batch_known[k]) : json_null(), ok);
	return o;
}

static json_t *json_rows(const struct pcp_lock_hold_results *r, int *ok)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < r->nr_rows; i++) {
		const struct pcp_lock_hold_row *z = &r->rows[i];
		json_t *o = json_object();

		if (!o) {
			*ok = 0;
			break;
		}
		put(o, "nid", json_integer(z->nid), ok);
		put(o, "zid", json_integer(z->zid), ok);
		put(o, "kind", json_string(kind_name(z->kind)), ok);
		put(o, "acquisitions", jint(z->acquisitions), ok);
		put(o, "empty_acquisitions", jint(z->empty_acquisitions), ok);
		put(o, "hold_p50_ns", jreal(z->hold_p50_ns), ok);
		put(o, "hold_p99_ns", jreal(z->hold_p99_ns), ok);
		put(o, "hold_max_ns", jreal(z->hold_max_ns), ok);
		put(o, "lower_bound", json_boolean(r->lower_bound), ok);
		put(o, "batch", z->batch >= 0 ? json_integer(z->batch) : json_null(), ok);
		put(o, "at_batch_acquisitions", z->batch >= 0 ? jint(z->at_batch_acquisitions)
							      : json_null(), ok);
		put(o, "at_batch_share", jreal(z->at_batch_share), ok);
		push(arr, o, ok);
	}
	if (!arr)
		*ok = 0;
	return arr;
}

static json_t *json_hist(const struct pcp_lock_hold_bucket *b, size_t n, const char *lo,
			 const char *hi, int *ok)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++) {
		json_t *o = json_object();

		if (!o) {
			*ok = 0;
			break;
		}
		put(o, "kind", json_string(kind_name(b[i].kind)), ok);
		put(o, lo, jint(b[i].lo), ok);
		/* [2^63, 2^64): hi is 2^64, beyond JSON's integers here: null */
		put(o, hi, b[i].hi == UINT64_MAX ? json_null() : jint(b[i].hi), ok);
		put(o, "acquisitions", jint(b[i].acquisitions), ok);
		push(arr, o, ok);
	}
	if (!arr)
		*ok = 0;
	return arr;
}

static json_t *json_longest(const struct pcp_lock_hold_results *r, int *ok)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < r->nr_longest; i++) {
		const struct pcp_lock_hold_acq *q = &r->longest[i];
		json_t *o = json_object();

		if (!o) {
			*ok = 0;
			break;
		}
		put(o, "rank", jint(i + 1), ok);
		put(o, "ts_ns", jint(q->ts_ns), ok);
		put(o, "cpu", jint(q->cpu), ok);
		put(o, "pid", q->pid >= 0 ? json_integer(q->pid) : json_null(), ok);
		put(o, "comm", q->pid >= 0 && q->comm[0] ? pcp_json_text(q->comm) : json_null(), ok);
		put(o, "kind", json_string(kind_name(q->kind)), ok);
		put(o, "nid", json_integer(q->nid), ok);
		put(o, "zid", json_integer(q->zid), ok);
		put(o, "blocks", jint(q->blocks), ok);
		put(o, "pages", jint(q->pages), ok);
		put(o, "hold_ns", jint(q->hold_ns), ok);
		push(arr, o, ok);
	}
	if (!arr)
		*ok = 0;
	return arr;
}

json_t *pcp_lock_hold_report_json(const struct pcp_lock_hold_results *r)
{
	json_t *o;
	int ok = 1;

	if (!r)
		return json_null();
	if (!(o = json_object()))
		return NULL;
	put(o, "lower_bound", json_boolean(r->lower_bound), &ok);
	put(o, "refill", json_kind(r, PCP_LOCK_KIND_REFILL, &ok), &ok);
	put(o, "drain", json_kind(r, PCP_LOCK_KIND_DRAIN, &ok), &ok);
	put(o, "zones", json_rows(r, &ok), &ok);
	put(o, "hold_hist", json_hist(r->hold_hist, r->nr_hold_hist, "lo_ns", "hi_ns", &ok), &ok);
	put(o, "pages_hist", json_hist(r->pages_hist, r->nr_pages_hist, "lo_pages", "hi_pages", &ok),
	    &ok);
	put(o, "longest", json_longest(r, &ok), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
