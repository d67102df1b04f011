/* Percpu fragmentation (issue 16) -> text summary and JSON. Definitions: docs/METRICS.md,
 * "Percpu fragmentation". */
#include <inttypes.h>
#include <stdio.h>
#include "model/percpu.h"
#include "model/percpu_frag.h"
#include "output/percpu_frag_report.h"

#define TEXT_TOP_RUN_CHUNKS 10

static const char *verdict(const struct pcp_percpu_frag *f)
{
	if (f->ratio_after > f->ratio_before)
		return "grew";
	return f->ratio_after < f->ratio_before ? "shrank" : "did not change";
}

/* "before->after" of one value, "none" for a side the chunk is not in. */
static void pair_text(char *buf, size_t len, const struct pcp_frag_value *v)
{
	char b[24] = "none", a[24] = "none";

	if (v->has_before)
		snprintf(b, sizeof(b), "%" PRId64, v->before);
	if (v->has_after)
		snprintf(a, sizeof(a), "%" PRId64, v->after);
	snprintf(buf, len, "%s->%s", b, a);
}

void pcp_percpu_frag_report_text(FILE *out, const struct pcp_percpu_results *r)
{
	const struct pcp_percpu_frag *f = r->frag;
	/* columns of the chunk table: index into pcp_frag_chunk_keys */
	static const size_t cols[] = { 0, 2, 3, 1, 4, 5 };

	if (!f) {
		fprintf(out, "  fragmentation: not measured (no before/after percpu_stats "
			"snapshot)\n");
	} else {
		fprintf(out, "  fragmentation %s: percpu_frag_ratio %.4f -> %.4f (%+.4f); sum_frag "
			"%" PRId64 " -> %" PRId64 " bytes (%+" PRId64 "), free_bytes %+" PRId64
			", empty_pop_pages %+" PRId64 ", largest fragment %" PRId64 " bytes\n",
			verdict(f), f->ratio_before, f->ratio_after, f->ratio_after - f->ratio_before,
			f->sum_frag_before, f->sum_frag_after,
			pcp_frag_sub(f->sum_frag_after, f->sum_frag_before),
			pcp_frag_sub(f->free_after, f->free_before),
			pcp_frag_sub(f->empty_pop_after, f->empty_pop_before),
			f->max_frag_after);
		fprintf(out, "  chunks before->after (%s):\n", f->trace_used ?
			"dynamic chunks matched with the trace's chunk events" :
			"dynamic chunks not matched: no usable trace of chunk events or counts differ");
		fprintf(out, "    %-8s %-9s", "chunk", "status");
		for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++)
			fprintf(out, " %19s", pcp_frag_chunk_keys[cols[k]]);
		fprintf(out, "\n");
		for (size_t i = 0; i < f->nr_chunks; i++) {
			const struct pcp_frag_chunk *c = &f->chunks[i];
			fprintf(out, "    %-8s %-9s", pcp_frag_kind_name(c->kind),
				pcp_frag_status_name(c->status));
			for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
				char buf[64];
				pair_text(buf, sizeof(buf), &c->v[cols[k]]);
				fprintf(out, " %19s", buf);
			}
			if (c->has_base)
				fprintf(out, "  base 0x%" PRIx64, c->base_addr);
			fprintf(out, "\n");
		}
	}
	if (!r->nr_run_chunks)
		return;
	fprintf(out, "  the run's surviving allocations per chunk (unit bytes; holes: gaps between "
		"them):\n");
	fprintf(out, "    %-18s %7s %8s %10s %10s %6s %10s %10s  %s\n", "base_addr", "allocs",
		"bytes", "span", "lo_off", "holes", "hole_bytes", "max_hole", "chunk");
	for (size_t i = 0; i < r->nr_run_chunks && i < TEXT_TOP_RUN_CHUNKS; i++) {
		const struct pcp_percpu_run_chunk *c = &r->run_chunks[i];
		fprintf(out, "    0x%-16" PRIx64 " %7" PRIu64 " %8" PRIu64 " %10" PRIu64 " %10" PRIu64
			" %6" PRIu64 " %10" PRIu64 " %10" PRIu64 "  %s\n", c->base_addr, c->allocs,
			c->unit_bytes, c->span_bytes, c->lo_off, c->holes, c->hole_bytes,
			c->max_hole_bytes, c->has_created ? "created during the run"
							  : "existed before the run");
	}
	if (r->nr_run_chunks > TEXT_TOP_RUN_CHUNKS)
		fprintf(out, "    ... %zu more\n", r->nr_run_chunks - TEXT_TOP_RUN_CHUNKS);
}

/* ---- JSON ---- */

static json_t *ju(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *jaddr(uint64_t a)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, a);
	return json_string(buf);
}

static void put(json_t *o, const char *key, json_t *v, int *ok)
{
	if (!o || !v || json_object_set_new(o, key, v))
		*ok = 0;
}

static json_t *values_json(const char *const *keys, const struct pcp_frag_value *v, size_t n,
			   int *ok)
{
	json_t *o = json_object();

	for (size_t k = 0; o && k < n; k++) {
		if (!v[k].has_before && !v[k].has_after)
			continue;
		json_t *x = json_object();
		put(x, "before", v[k].has_before ? json_integer(v[k].before) : json_null(), ok);
		put(x, "after", v[k].has_after ? json_integer(v[k].after) : json_null(), ok);
		put(x, "change", v[k].has_before && v[k].has_after ?
			json_integer(pcp_frag_sub(v[k].after, v[k].before)) : json_null(), ok);
		put(o, keys[k], x, ok);
	}
	if (!o)
		*ok = 0;
	return o;
}

static json_t *frag_json(const struct pcp_percpu_frag *f, int *ok)
{
	json_t *o = json_object(), *a = json_array();

	put(o, "grew", json_boolean(f->ratio_after > f->ratio_before), ok);
	put(o, "frag_ratio_before", json_real(f->ratio_before), ok);
	put(o, "frag_ratio_after", json_real(f->ratio_after), ok);
	put(o, "frag_ratio_change", json_real(f->ratio_after - f->ratio_before), ok);
	put(o, "free_bytes_before", json_integer(f->free_before), ok);
	put(o, "free_bytes_after", json_integer(f->free_after), ok);
	put(o, "sum_frag_before", json_integer(f->sum_frag_before), ok);
	put(o, "sum_frag_after", json_integer(f->sum_frag_after), ok);
	put(o, "max_frag_bytes", json_integer(f->max_frag_after), ok);
	put(o, "dynamic_matched_by_trace", json_boolean(f->trace_used), ok);
	put(o, "chunks_created_alive", ju(f->created_alive), ok);
	put(o, "chunks_destroyed_preexisting", ju(f->destroyed_pre), ok);
	put(o, "global", values_json(pcp_frag_global_keys, f->global, PCP_FRAG_NR_GLOBAL_KEYS, ok),
	    ok);
	for (size_t i = 0; a && i < f->nr_chunks; i++) {
		const struct pcp_frag_chunk *c = &f->chunks[i];
		json_t *x = json_object();
		put(x, "kind", json_string(pcp_frag_kind_name(c->kind)), ok);
		put(x, "status", json_string(pcp_frag_status_name(c->status)), ok);
		put(x, "before_chunk", c->before_chunk >= 0 ? json_integer(c->before_chunk)
							    : json_null(), ok);
		put(x, "after_chunk", c->after_chunk >= 0 ? json_integer(c->after_chunk)
							  : json_null(), ok);
		put(x, "base_addr", c->has_base ? jaddr(c->base_addr) : json_null(), ok);
		put(x, "values", values_json(pcp_frag_chunk_keys, c->v, PCP_FRAG_NR_CHUNK_KEYS, ok),
		    ok);
		if (!x || json_array_append_new(a, x))
			*ok = 0;
	}
	put(o, "chunks", a, ok);
	return o;
}

int pcp_percpu_frag_report_json(json_t *p, const struct pcp_percpu_results *r)
{
	int ok = 1;
	json_t *a = json_array();

	put(p, "frag", r->frag ? frag_json(r->frag, &ok) : json_null(), &ok);
	for (size_t i = 0; a && i < r->nr_run_chunks; i++) {
		const struct pcp_percpu_run_chunk *c = &r->run_chunks[i];
		json_t *x = json_object();
		put(x, "base_addr", jaddr(c->base_addr), &ok);
		put(x, "created_ns", c->has_created ? ju(c->created_ns) : json_null(), &ok);
		put(x, "allocs", ju(c->allocs), &ok);
		put(x, "unit_bytes", ju(c->unit_bytes), &ok);
		put(x, "bytes_alloc", ju(c->bytes_alloc), &ok);
		put(x, "lo_off", ju(c->lo_off), &ok);
		put(x, "hi_off", ju(c->hi_off), &ok);
		put(x, "span_bytes", ju(c->span_bytes), &ok);
		put(x, "holes", ju(c->holes), &ok);
		put(x, "hole_bytes", ju(c->hole_bytes), &ok);
		put(x, "max_hole_bytes", ju(c->max_hole_bytes), &ok);
		if (!x || json_array_append_new(a, x))
			ok = 0;
	}
	put(p, "run_chunks", a, &ok);
	return ok ? 0 : -1;
}
