/* A hand-built analysis for the store and report tests: small, every table non-empty, values
 * chosen so that each column is distinguishable. Shared by tests/test_store.c and
 * tests/test_report.c (static: each test is its own executable). */
#ifndef PCPTRACE_TEST_ANALYSIS_FIXTURE_H
#define PCPTRACE_TEST_ANALYSIS_FIXTURE_H

#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "model/analyze.h"
#include "model/churn.h"
#include "model/percpu.h"

#define FIX_DUP(arr, ...) do { \
	static const __typeof__(*(arr)) fix_src_[] = { __VA_ARGS__ }; \
	(arr) = malloc(sizeof(fix_src_)); \
	memcpy((arr), fix_src_, sizeof(fix_src_)); \
} while (0)

static const char fixture_meta_json[] =
	"{\"hostname\": \"box\", \"kernel_release\": \"6.18.0-test\", \"exit_status\": 0,"
	" \"command\": [\"pcpload\", \"--pattern\", \"burst\"], \"lossless\": true,"
	" \"recording\": {\"clock\": \"local\", \"recorded_cpus\": [0, 1],"
	"   \"cpus\": [{\"cpu\": 0, \"overrun\": 0}], \"event_counts\": {\"kmem:mm_page_pcpu_drain\": 500}},"
	" \"snapshots\": {"
	"  \"before\": {\"time\": \"2026-01-01T00:00:00Z\", \"time_ns\": 123,"
	"    \"percpu_stats\": {\"available\": false, \"reason\": \"no debugfs\"},"
	"    \"vmstat\": {\"nr_free_pages\": 1000, \"pgfree\": 5},"
	"    \"zoneinfo\": [{\"node\": 0, \"zone\": \"Normal\", \"pagesets\": ["
	"      {\"cpu\": 0, \"count\": 10, \"high\": 100, \"batch\": 63},"
	"      {\"cpu\": 1, \"count\": 5, \"high\": 100, \"batch\": 63, \"high_min\": 20}]},"
	"     {\"node\": 0, \"zone\": \"DMA\", \"pagesets\": []}]},"
	"  \"after\": {\"time\": \"2026-01-01T00:00:01Z\", \"time_ns\": 456,"
	"    \"vmstat\": {\"nr_free_pages\": 900, \"pgfree\": 50},"
	"    \"zoneinfo\": [{\"node\": 0, \"zone\": \"Normal\", \"pagesets\": ["
	"      {\"cpu\": 0, \"count\": 30, \"high\": 100, \"batch\": 63}]}]}}}";

/* lossy: mark the trace lossy (7 known + 1 unknown-size losses). */
static struct pcp_analysis *fixture_analysis(int lossy)
{
	struct pcp_analysis *a = calloc(1, sizeof(*a));
	struct pcp_churn_results *c = calloc(1, sizeof(*c));
	json_error_t jerr;

	a->trace_file = strdup("/data/run1/trace.dat");
	a->file_version = 6;
	a->trace_clock = strdup("local");
	a->nr_cpus = 2;
	a->events_total = 1000;
	a->refill_source = PCP_REFILL_FALLBACK;
	a->lock_source = PCP_LOCK_INFERRED;
	a->nr_event_counts = 3;
	a->event_counts = calloc(3, sizeof(*a->event_counts));
	a->event_counts[0] = (struct pcp_event_count){ strdup("kmem:mm_page_alloc_zone_locked"), 400 };
	a->event_counts[1] = (struct pcp_event_count){ strdup("kmem:mm_page_pcpu_drain"), 500 };
	a->event_counts[2] = (struct pcp_event_count){ strdup("sched:sched_switch"), 100 };
	a->opts.churn_window_ns = 1000000;
	a->opts.bucket_ns = 10000000;
	a->opts.top_n = 100;
	a->opts.refill_source = PCP_REFILL_AUTO;
	a->meta = json_loads(fixture_meta_json, 0, &jerr);
	a->churn = c;

	c->nr_cpus = 2;
	c->first_ts_ns = 1000;
	c->last_ts_ns = 2001000;
	c->duration_ns = 2000000;
	c->events_seen = 1000;
	c->events_lost = lossy ? 7 : 0;
	c->lost_unknown_marks = lossy ? 1 : 0;
	c->lossy = lossy;
	c->lock_source = PCP_LOCK_INFERRED;
	FIX_DUP(c->cpu_flow,
		{ 10, 12, 3, 3, 9, 2, 1, 7 },
		{ 0, 0, 8, 10, -10, 0, 3, 0 });
	if (!lossy)
		c->cpu_flow[0].lost_events = 0;
	c->nr_pair_cells = 2;
	FIX_DUP(c->pair_matrix, { 0, 0, 2, 2 }, { 0, 1, 5, 7 });
	c->nr_hist_buckets = 2;
	FIX_DUP(c->round_trip_hist, { 0, 1, 1, 1 }, { 1024, 2048, 6, 8 });
	c->nr_pfn_cycles = 2;
	FIX_DUP(c->pfn_cycles,
		{ 0x1000, 0, 4, 3, 500, 1500 },
		{ 0x2000, 1, 3, 2, 0, 1900 });
	c->nr_zone_lock = 2;
	FIX_DUP(c->zone_lock,
		{ -1, -1, PCP_LOCK_KIND_REFILL, 2, 12, 12, 1000.0, 1500.5 },
		{ -1, -1, PCP_LOCK_KIND_DRAIN, 4, 13, 13, 2000.0, 2500.0 });
	c->nr_timeline = 2;
	FIX_DUP(c->timeline, { 0, 0, 12, 3, 2, 1 }, { 0, 1, 0, 10, 0, 3 });
	c->nr_metrics = 5;
	FIX_DUP(c->metrics,
		{ "pairs", 7, "pairs", "lower" },
		{ "cross_cpu_ratio", 5.0 / 7.0, "ratio", "lower" },
		{ "round_trip_p50_ns", 1100, "ns", "none" },
		{ "drain_locks_per_s", 2000.0, "1/s", "lower" },
		{ "pages_per_refill_lock", 6, "pages", "higher" });
	return a;
}

static void fixture_free(struct pcp_analysis *a)
{
	struct pcp_churn_results *c = a->churn;

	free(c->cpu_flow);
	free(c->pair_matrix);
	free(c->round_trip_hist);
	free(c->pfn_cycles);
	free(c->zone_lock);
	free(c->timeline);
	free(c->metrics);
	free(c);
	for (size_t i = 0; i < a->nr_event_counts; i++)
		free(a->event_counts[i].name);
	free(a->event_counts);
	free(a->trace_file);
	free(a->trace_clock);
	json_decref(a->meta);
	free(a);
}

/* An analysis of a trace with nothing to pair: every table empty, no meta, no clock. */
static struct pcp_analysis *fixture_empty(void)
{
	struct pcp_analysis *a = calloc(1, sizeof(*a));
	struct pcp_churn_results *c = calloc(1, sizeof(*c));

	a->trace_file = strdup("empty.dat");
	a->file_version = 7;
	a->nr_cpus = 1;
	a->refill_source = PCP_REFILL_NATIVE;
	a->lock_source = PCP_LOCK_NONE;
	a->churn = c;
	c->nr_cpus = 1;
	c->cpu_flow = calloc(1, sizeof(*c->cpu_flow));
	return a;
}

/* Attaches a small percpu result (two metrics, one call site) to a. */
static void fixture_add_percpu(struct pcp_analysis *a)
{
	struct pcp_percpu_results *r = calloc(1, sizeof(*r));

	r->allocs = 3;
	r->frees = 1;
	r->outstanding_allocs = 2;
	r->outstanding_bytes = 128;
	r->nr_callsites = 1;
	r->callsites = calloc(1, sizeof(*r->callsites));
	r->callsites[0] = (struct pcp_percpu_callsite){ 0xffffffff8135580fULL, strdup("mm_init+0x2bf"),
		3, 1, 0, 192, 64, 2, 128, 0 };
	r->nr_metrics = 2;
	FIX_DUP(r->metrics,
		{ "percpu_allocs", 3, "allocs", "none" },
		{ "percpu_outstanding_bytes", 128, "bytes", "lower" });
	a->percpu = r;
}

static void fixture_free_percpu(struct pcp_analysis *a)
{
	if (!a->percpu)
		return;
	free(a->percpu->callsites[0].symbol);
	free(a->percpu->callsites);
	free(a->percpu->metrics);
	free(a->percpu);
	a->percpu = NULL;
}

#endif
