/* Percpu results -> the text summary section and the "percpu" JSON member. */
#include <inttypes.h>
#include <stdio.h>
#include "common/json_text.h"
#include "common/error.h"
#include "model/percpu.h"
#include "output/percpu_frag_report.h"

#define TEXT_TOP_SITES 10
#define TEXT_TOP_FAILS 10
#define JSON_TOP_OUTSTANDING 100

/* One line: the counts, then what they mean when they differ (docs/METRICS.md). */
static void check_text(FILE *out, const struct pcp_percpu_check *c, uint64_t outstanding)
{
	static const char *const word[] = { "consistent", "incomplete", "INCONSISTENT" };

	fprintf(out, "  percpu_stats check: %s (nr_alloc %+" PRId64 " vs %" PRIu64
		" traced allocs, nr_dealloc %+" PRId64 " vs %" PRIu64 " traced + %" PRIu64
		" untraced frees)", word[c->verdict], c->nr_alloc_delta, c->traced_allocs,
		c->nr_dealloc_delta, c->traced_frees, c->untraced_frees);
	if (c->verdict == PCP_PERCPU_VERDICT_CONSISTENT && c->undone_allocs)
		fprintf(out, "; %" PRIu64 " allocs counted and freed again inside the kernel's "
			"failing allocations (alloc_fail)", c->undone_allocs);
	else if (c->verdict == PCP_PERCPU_VERDICT_INCOMPLETE)
		fprintf(out, ": the kernel counted %" PRId64 " allocs and %" PRId64 " frees that no "
			"event reports (tasks whose events the kernel does not record, or CPUs not "
			"recorded); up to %" PRIu64 " of the %" PRIu64 " outstanding allocs may have "
			"been freed", c->untraced_allocs, c->unproven_frees, c->maybe_freed,
			outstanding);
	else if (c->verdict == PCP_PERCPU_VERDICT_INCONSISTENT)
		fprintf(out, ": the trace holds %" PRId64 " allocs and %" PRId64 " frees more than "
			"the kernel counted (the snapshots do not bracket the trace)",
			c->untraced_allocs < 0 ? -c->untraced_allocs : 0,
			c->unproven_frees < 0 ? -c->unproven_frees : 0);
	fprintf(out, "\n");
}

void pcp_percpu_report_text(FILE *out, const struct pcp_percpu_results *r)
{
	if (!r)
		return;
	fprintf(out, "\nPercpu allocator\n");
	fprintf(out, "  allocs %" PRIu64 " (%" PRIu64 " atomic, %" PRIu64 " bytes), frees %" PRIu64
		" (%" PRIu64 " unmatched), fails %" PRIu64 "\n",
		r->allocs, r->atomic_allocs, r->bytes_alloc, r->frees, r->unmatched_frees, r->fails);
	fprintf(out, "  outstanding %" PRIu64 " allocs, %" PRIu64 " bytes; chunks created %" PRIu64
		", destroyed %" PRIu64 "\n", r->outstanding_allocs, r->outstanding_bytes,
		r->chunks_created, r->chunks_destroyed);
	switch (r->check.state) {
	case PCP_PERCPU_CHECK_DONE:
		check_text(out, &r->check, r->outstanding_allocs);
		break;
	case PCP_PERCPU_CHECK_NO_SNAPSHOTS:
		fprintf(out, "  percpu_stats check: skipped (no before/after snapshot)\n");
		break;
	case PCP_PERCPU_CHECK_LOSSY:
		fprintf(out, "  percpu_stats check: skipped (the trace lost events)\n");
		break;
	case PCP_PERCPU_CHECK_FILTERED:
		fprintf(out, "  percpu_stats check: skipped (a window or filter: the snapshots bound "
			"the whole recording)\n");
		break;
	default:
		break;
	}
	if (r->check.state != PCP_PERCPU_CHECK_NOT_RUN)
		pcp_percpu_frag_report_text(out, r); /* issue 16 */
	if (r->nr_callsites) {
		fprintf(out, "  top call sites by outstanding bytes:\n");
		fprintf(out, "    %12s %8s %8s %8s %6s  %s\n", "out_bytes", "out", "allocs", "frees",
			"fails", "call site");
		for (size_t i = 0; i < r->nr_callsites && i < TEXT_TOP_SITES; i++) {
			const struct pcp_percpu_callsite *c = &r->callsites[i];
			fprintf(out, "    %12" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %6" PRIu64
				"  %s\n", c->outstanding_bytes, c->outstanding_allocs, c->allocs,
				c->frees, c->fails, c->symbol ? c->symbol : "(unknown)");
		}
	}
	if (r->nr_failures) {
		fprintf(out, "  failures (%zu):\n", r->nr_failures);
		for (size_t i = 0; i < r->nr_failures && i < TEXT_TOP_FAILS; i++) {
			const struct pcp_percpu_fail *f = &r->failures[i];
			fprintf(out, "    ts %" PRIu64 " cpu %u size %" PRIu64 " align %" PRIu64
				"%s%s\n", f->ts_ns, f->cpu, f->size, f->align,
				f->reserved ? " reserved" : "", f->is_atomic ? " atomic" : "");
		}
		if (r->nr_failures > TEXT_TOP_FAILS)
			fprintf(out, "    ... %zu more\n", r->nr_failures - TEXT_TOP_FAILS);
	} else {
		fprintf(out, "  failures: none\n");
	}
}

/* Addresses as "0x..." strings: JSON integers are signed and kernel addresses are not. */
static json_t *jaddr(uint64_t a)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, a);
	return json_string(buf);
}

static json_t *ju(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* Sets key to v, consuming v; any failure poisons *ok. */
static void put(json_t *o, const char *key, json_t *v, int *ok)
{
	if (!v || json_object_set_new(o, key, v))
		*ok = 0;
}

static void push(json_t *a, json_t *v, int *ok)
{
	if (!v || json_array_append_new(a, v))
		*ok = 0;
}

/* Beyond "equal counts" only, as trace_info (a plainly consistent check keeps its members). */
static void check_json_verdict(json_t *o, const struct pcp_percpu_check *c, int *ok)
{
	if (c->undone_allocs)
		put(o, "undone_allocs", ju(c->undone_allocs), ok);
	if (c->verdict == PCP_PERCPU_VERDICT_CONSISTENT)
		return;
	put(o, "verdict", json_string(pcp_percpu_verdict_name(c->verdict)), ok);
	put(o, "untraced_allocs", json_integer(c->untraced_allocs), ok);
	put(o, "unproven_frees", json_integer(c->unproven_frees), ok);
	put(o, "outstanding_maybe_freed", ju(c->maybe_freed), ok);
}

int pcp_percpu_report_json(json_t *root, const struct pcp_percpu_results *r)
{
	int ok = 1;
	json_t *p, *a;

	if (!r)
		return PCP_OK;
	p = json_object();
	if (!p)
		return PCP_ERR_JSON;
	put(p, "allocs", ju(r->allocs), &ok);
	put(p, "frees", ju(r->frees), &ok);
	put(p, "fails", ju(r->fails), &ok);
	put(p, "unmatched_frees", ju(r->unmatched_frees), &ok);
	put(p, "replaced_allocs", ju(r->replaced_allocs), &ok);
	put(p, "atomic_allocs", ju(r->atomic_allocs), &ok);
	put(p, "bytes_alloc", ju(r->bytes_alloc), &ok);
	put(p, "bytes_freed", ju(r->bytes_freed), &ok);
	put(p, "outstanding_allocs", ju(r->outstanding_allocs), &ok);
	put(p, "outstanding_bytes", ju(r->outstanding_bytes), &ok);
	put(p, "chunks_created", ju(r->chunks_created), &ok);
	put(p, "chunks_destroyed", ju(r->chunks_destroyed), &ok);

	a = json_array();
	for (size_t i = 0; a && i < r->nr_callsites; i++) {
		const struct pcp_percpu_callsite *c = &r->callsites[i];
		json_t *o = json_object();
		put(o, "call_site", jaddr(c->call_site), &ok);
		put(o, "symbol", pcp_json_text(c->symbol), &ok);
		put(o, "allocs", ju(c->allocs), &ok);
		put(o, "frees", ju(c->frees), &ok);
		put(o, "fails", ju(c->fails), &ok);
		put(o, "bytes_alloc", ju(c->bytes_alloc), &ok);
		put(o, "bytes_freed", ju(c->bytes_freed), &ok);
		put(o, "outstanding_allocs", ju(c->outstanding_allocs), &ok);
		put(o, "outstanding_bytes", ju(c->outstanding_bytes), &ok);
		put(o, "atomic_allocs", ju(c->atomic_allocs), &ok);
		push(a, o, &ok);
	}
	put(p, "callsites", a, &ok);

	a = json_array();
	for (size_t i = 0; a && i < r->nr_size_hist; i++) {
		json_t *o = json_object();
		put(o, "lo_bytes", ju(r->size_hist[i].lo_bytes), &ok);
		put(o, "hi_bytes", ju(r->size_hist[i].hi_bytes), &ok);
		put(o, "allocs", ju(r->size_hist[i].allocs), &ok);
		push(a, o, &ok);
	}
	put(p, "size_hist", a, &ok);

	a = json_array();
	for (size_t i = 0; a && i < r->nr_outstanding && i < JSON_TOP_OUTSTANDING; i++) {
		const struct pcp_percpu_outstanding *x = &r->outstanding[i];
		json_t *o = json_object();
		put(o, "ptr", jaddr(x->ptr), &ok);
		put(o, "call_site", jaddr(x->call_site), &ok);
		put(o, "size", ju(x->size), &ok);
		put(o, "bytes_alloc", ju(x->bytes_alloc), &ok);
		put(o, "ts_ns", ju(x->ts_ns), &ok);
		push(a, o, &ok);
	}
	put(p, "outstanding", a, &ok); /* the largest JSON_TOP_OUTSTANDING; SQLite has all */

	a = json_array();
	for (size_t i = 0; a && i < r->nr_chunks; i++) {
		const struct pcp_percpu_chunk *c = &r->chunks[i];
		json_t *o = json_object();
		put(o, "base_addr", jaddr(c->base_addr), &ok);
		put(o, "created_ns", c->has_created ? ju(c->created_ns) : json_null(), &ok);
		put(o, "destroyed_ns", c->has_destroyed ? ju(c->destroyed_ns) : json_null(), &ok);
		put(o, "allocs", ju(c->allocs), &ok);
		put(o, "frees", ju(c->frees), &ok);
		push(a, o, &ok);
	}
	put(p, "chunks", a, &ok);

	a = json_array();
	for (size_t i = 0; a && i < r->nr_failures; i++) {
		const struct pcp_percpu_fail *f = &r->failures[i];
		json_t *o = json_object();
		put(o, "ts_ns", ju(f->ts_ns), &ok);
		put(o, "cpu", ju(f->cpu), &ok);
		put(o, "call_site", jaddr(f->call_site), &ok);
		put(o, "size", ju(f->size), &ok);
		put(o, "align", ju(f->align), &ok);
		put(o, "reserved", json_boolean(f->reserved), &ok);
		put(o, "is_atomic", json_boolean(f->is_atomic), &ok);
		push(a, o, &ok);
	}
	put(p, "failures", a, &ok);

	if (r->check.state != PCP_PERCPU_CHECK_NOT_RUN) {
		json_t *o = json_object();
		put(o, "state", json_string(pcp_percpu_check_state_name(r->check.state)), &ok);
		if (r->check.state == PCP_PERCPU_CHECK_DONE) {
			put(o, "consistent", json_boolean(r->check.consistent), &ok);
			put(o, "nr_alloc_delta", json_integer(r->check.nr_alloc_delta), &ok);
			put(o, "nr_dealloc_delta", json_integer(r->check.nr_dealloc_delta), &ok);
			put(o, "traced_allocs", ju(r->check.traced_allocs), &ok);
			put(o, "traced_frees", ju(r->check.traced_frees), &ok);
			put(o, "untraced_frees", ju(r->check.untraced_frees), &ok);
			check_json_verdict(o, &r->check, &ok);
		}
		put(p, "stats_check", o, &ok);
	}

	if (r->check.state != PCP_PERCPU_CHECK_NOT_RUN && pcp_percpu_frag_report_json(p, r))
		ok = 0; /* issue 16: "frag" and "run_chunks" */
	if (!ok) {
		json_decref(p);
		return PCP_ERR_JSON;
	}
	if (json_object_set_new(root, "percpu", p))
		return PCP_ERR_JSON;
	return PCP_OK;
}
