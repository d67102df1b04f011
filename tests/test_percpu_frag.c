/* Percpu fragmentation (issue 16, lib/model/percpu_frag.c) on constructed snapshots and trace
 * results: chunk matching (label, trace counts, created chunks by their traced allocations),
 * the ratio's 0 rule, undefined metrics, and the run's survivors per chunk (span, holes).
 * Expected values are worked out by hand in the comments from the definitions in
 * docs/METRICS.md, "Percpu fragmentation". */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/error.h"
#include "meta/percpu_stats.h"
#include "model/metric_table.h"
#include "model/percpu.h"
#include "model/percpu_frag.h"

struct chunk_spec {
	const char *label;          /* "<- First Chunk", "" */
	long nr_alloc, free_bytes, sum_frag, max_frag, empty_pop;
};

/* A percpu_stats text as mm/percpu-stats.c prints it. */
static struct pcp_percpu_stats *stats(long empty_pop, const struct chunk_spec *c, size_t n)
{
	char buf[8192];
	size_t len = 0;
	struct pcp_percpu_stats *s;

#define P(...) (len += (size_t)snprintf(buf + len, sizeof(buf) - len, __VA_ARGS__))
	P("Percpu Memory Statistics\nAllocation Info:\n----\n  unit_size           : %12d\n\n",
	  1048576);
	P("Global Stats:\n----\n  nr_alloc            : %12d\n  nr_dealloc          : %12d\n", 100,
	  10);
	P("  nr_cur_alloc        : %12d\n  nr_max_alloc        : %12d\n", 90, 95);
	P("  nr_chunks           : %12zu\n  nr_max_chunks       : %12zu\n", n, n);
	P("  empty_pop_pages     : %12ld\n\nPer Chunk Stats:\n----\n", empty_pop);
	for (size_t i = 0; i < n; i++) {
		P("Chunk:%s%s\n", c[i].label[0] ? " " : "", c[i].label);
		P("  nr_alloc            : %12ld\n  max_alloc_size      : %12d\n", c[i].nr_alloc, 64);
		P("  empty_pop_pages     : %12ld\n  first_bit           : %12d\n", c[i].empty_pop, 0);
		P("  free_bytes          : %12ld\n  contig_bytes        : %12ld\n", c[i].free_bytes,
		  c[i].free_bytes - c[i].sum_frag);
		P("  sum_frag            : %12ld\n  max_frag            : %12ld\n", c[i].sum_frag,
		  c[i].max_frag);
		P("  cur_min_alloc       : %12d\n  cur_med_alloc       : %12d\n", 4, 8);
		P("  cur_max_alloc       : %12d\n\n", 64);
	}
#undef P
	ck_assert_int_eq(pcp_percpu_stats_parse(buf, len, &s), PCP_OK);
	return s;
}

/* Trace results holding only chunk lifetimes and the metric rows. */
static struct pcp_percpu_results *results(const struct pcp_percpu_chunk *c, size_t n)
{
	struct pcp_percpu_results *r = calloc(1, sizeof(*r));
	double v[PCP_METRIC_COUNT];

	for (size_t i = 0; i < PCP_METRIC_COUNT; i++)
		v[i] = 0;
	ck_assert_int_eq(pcp_metric_rows(PCP_METRIC_GROUP_PERCPU, v, &r->metrics, &r->nr_metrics),
			 PCP_OK);
	if (n) {
		r->chunks = malloc(n * sizeof(*c));
		memcpy(r->chunks, c, n * sizeof(*c));
		r->nr_chunks = n;
	}
	return r;
}

static double metric(const struct pcp_percpu_results *r, const char *name)
{
	for (size_t i = 0; i < r->nr_metrics; i++)
		if (!strcmp(r->metrics[i].name, name))
			return r->metrics[i].value;
	ck_abort_msg("no metric %s", name);
	return 0;
}

static const struct pcp_frag_value *val(const struct pcp_frag_chunk *c, const char *key)
{
	for (size_t k = 0; k < PCP_FRAG_NR_CHUNK_KEYS; k++)
		if (!strcmp(pcp_frag_chunk_keys[k], key))
			return &c->v[k];
	ck_abort_msg("no key %s", key);
	return NULL;
}

static const struct chunk_spec first = { "<- First Chunk", 500, 16, 16, 16, 0 };

/* One dynamic chunk before; after, it filled up and a chunk was created (the trace saw it, with
 * 7 allocs - 2 frees = 5 left, the after chunk with nr_alloc 5). */
START_TEST(created_chunk_matched_by_trace)
{
	const struct chunk_spec b[] = { first, { "", 100, 1000, 100, 60, 3 } };
	const struct chunk_spec a[] = { first, { "", 5, 4000, 40, 40, 1 },
					{ "", 300, 600, 500, 200, 0 } };
	const struct pcp_percpu_chunk tc[] = {
		{ .base_addr = 0xa000, .allocs = 50, .frees = 10 },          /* existed before */
		{ .base_addr = 0xb000, .has_created = 1, .created_ns = 7, .allocs = 7, .frees = 2 },
	};
	struct pcp_percpu_stats *sb = stats(3, b, 2), *sa = stats(1, a, 3);
	struct pcp_percpu_results *r = results(tc, 2);
	struct pcp_percpu_frag *f;

	ck_assert_int_eq(pcp_percpu_frag_compute(sb, sa, r, 0, &f), PCP_OK);
	ck_assert(f->trace_used);
	ck_assert_uint_eq(f->created_alive, 1);
	ck_assert_uint_eq(f->nr_chunks, 3);
	/* first matched by label, the dynamic one matched, the new one created with its base */
	ck_assert_int_eq(f->chunks[0].kind, PCP_FRAG_KIND_FIRST);
	ck_assert_int_eq(f->chunks[0].status, PCP_FRAG_MATCHED);
	ck_assert_int_eq(f->chunks[1].status, PCP_FRAG_MATCHED);
	ck_assert_int_eq(f->chunks[1].before_chunk, 1);
	ck_assert_int_eq(f->chunks[1].after_chunk, 2);
	ck_assert_int_eq(val(&f->chunks[1], "sum_frag")->before, 100);
	ck_assert_int_eq(val(&f->chunks[1], "sum_frag")->after, 500);
	ck_assert_int_eq(f->chunks[2].status, PCP_FRAG_CREATED);
	ck_assert_int_eq(f->chunks[2].after_chunk, 1);
	ck_assert_int_eq(f->chunks[2].before_chunk, -1);
	ck_assert(f->chunks[2].has_base);
	ck_assert_uint_eq(f->chunks[2].base_addr, 0xb000);
	ck_assert(!val(&f->chunks[2], "free_bytes")->has_before);
	/* before: (16 + 100) / (16 + 1000); after: (16 + 40 + 500) / (16 + 4000 + 600) */
	pcp_percpu_frag_metrics(r, f);
	ck_assert_double_eq_tol(metric(r, "percpu_frag_ratio"), 556.0 / 4616.0, 1e-12);
	ck_assert_double_eq_tol(metric(r, "percpu_frag_ratio_change"),
				556.0 / 4616.0 - 116.0 / 1016.0, 1e-12);
	ck_assert_double_eq(metric(r, "percpu_free_bytes_change"), 4616 - 1016);
	ck_assert_double_eq(metric(r, "percpu_empty_pop_pages_change"), -2);
	ck_assert_double_eq(metric(r, "percpu_max_frag_bytes"), 200);
	pcp_percpu_frag_free(f);
	pcp_percpu_results_free(r);
	pcp_percpu_stats_free(sb);
	pcp_percpu_stats_free(sa);
}
END_TEST

/* The same snapshots without a trace, with a lossy one, or with counts that disagree: the
 * dynamic chunks stay unmatched (no identity in the text), the first chunk is matched. */
START_TEST(no_usable_trace_leaves_dynamic_unmatched)
{
	const struct chunk_spec b[] = { first, { "", 100, 1000, 100, 60, 3 } };
	const struct chunk_spec a[] = { first, { "", 5, 4000, 40, 40, 1 },
					{ "", 300, 600, 500, 200, 0 } };
	const struct pcp_percpu_chunk none[] = { { .base_addr = 0xa000, .allocs = 1 } };
	struct pcp_percpu_stats *sb = stats(3, b, 2), *sa = stats(1, a, 3);
	struct pcp_percpu_results *r = results(none, 1);   /* no create event: counts disagree */

	for (int pass = 0; pass < 3; pass++) {
		struct pcp_percpu_frag *f;
		const struct pcp_percpu_results *rr = pass == 0 ? NULL : r;
		ck_assert_int_eq(pcp_percpu_frag_compute(sb, sa, rr, pass == 1, &f), PCP_OK);
		ck_assert(!f->trace_used);
		ck_assert_uint_eq(f->nr_chunks, 4); /* first, dynamic before, 2 dynamic after */
		ck_assert_int_eq(f->chunks[0].status, PCP_FRAG_MATCHED);
		for (size_t i = 1; i < 4; i++)
			ck_assert_int_eq(f->chunks[i].status, PCP_FRAG_UNMATCHED);
		ck_assert_int_eq(f->chunks[1].after_chunk, -1);
		ck_assert_int_eq(f->chunks[2].before_chunk, -1);
		ck_assert_int_eq(f->chunks[3].before_chunk, -1);
		pcp_percpu_frag_free(f);
	}
	pcp_percpu_results_free(r);
	pcp_percpu_stats_free(sb);
	pcp_percpu_stats_free(sa);
}
END_TEST

/* Two chunks created with the same traced count: neither can be placed, so which after chunk
 * is the old one is unknown too. The old one destroyed and a new one created (P = 0): all
 * destroyed / created. */
START_TEST(ambiguous_and_all_replaced)
{
	const struct chunk_spec b[] = { first, { "", 100, 1000, 100, 60, 3 } };
	const struct chunk_spec a3[] = { first, { "", 5, 4000, 0, 0, 1 }, { "", 5, 4000, 0, 0, 1 },
					 { "", 300, 600, 500, 200, 0 } };
	const struct pcp_percpu_chunk two[] = {
		{ .base_addr = 0xb000, .has_created = 1, .allocs = 5 },
		{ .base_addr = 0xc000, .has_created = 1, .allocs = 5 },
	};
	const struct chunk_spec a1[] = { first, { "", 9, 5000, 0, 0, 2 } };
	const struct pcp_percpu_chunk swap[] = {
		{ .base_addr = 0xa000, .has_destroyed = 1 },
		{ .base_addr = 0xd000, .has_created = 1, .allocs = 1 },   /* 1 != 9: not placed */
	};
	struct pcp_percpu_stats *sb = stats(3, b, 2), *sa = stats(1, a3, 4), *s1 = stats(2, a1, 2);
	struct pcp_percpu_results *r = results(two, 2), *r2 = results(swap, 2);
	struct pcp_percpu_frag *f;

	ck_assert_int_eq(pcp_percpu_frag_compute(sb, sa, r, 0, &f), PCP_OK);
	ck_assert(f->trace_used);
	for (size_t i = 1; i < f->nr_chunks; i++)
		ck_assert_int_eq(f->chunks[i].status, PCP_FRAG_UNMATCHED);
	pcp_percpu_frag_free(f);

	ck_assert_int_eq(pcp_percpu_frag_compute(sb, s1, r2, 0, &f), PCP_OK);
	ck_assert_uint_eq(f->nr_chunks, 3);
	ck_assert_int_eq(f->chunks[1].status, PCP_FRAG_DESTROYED);
	ck_assert_int_eq(f->chunks[2].status, PCP_FRAG_CREATED);
	ck_assert(!f->chunks[2].has_base);
	pcp_percpu_frag_free(f);
	pcp_percpu_results_free(r);
	pcp_percpu_results_free(r2);
	pcp_percpu_stats_free(sb);
	pcp_percpu_stats_free(sa);
	pcp_percpu_stats_free(s1);
}
END_TEST

/* Two dynamic chunks live through the run, listed in the other order after it: matched by
 * their nr_alloc change against the trace's per-chunk allocs - frees (+30 and -5): before 1
 * (100) is after 2 (95), before 2 (200) is after 1 (230); 95 - 200 and 230 - 100 are no traced
 * change. With the changes not traced (nets +31, -5) nothing is matched. */
START_TEST(persisting_chunks_matched_by_counts)
{
	const struct chunk_spec b[] = { first, { "", 100, 1000, 100, 60, 3 },
					{ "", 200, 900, 300, 80, 1 } };
	const struct chunk_spec a[] = { first, { "", 230, 700, 350, 90, 0 },
					{ "", 95, 1020, 90, 60, 3 } };
	const struct pcp_percpu_chunk tc[] = {
		{ .base_addr = 0xa000, .allocs = 40, .frees = 10 },
		{ .base_addr = 0xb000, .allocs = 5, .frees = 10 },
	};
	const struct pcp_percpu_chunk off[] = {
		{ .base_addr = 0xa000, .allocs = 41, .frees = 10 },
		{ .base_addr = 0xb000, .allocs = 5, .frees = 10 },
	};
	struct pcp_percpu_stats *sb = stats(4, b, 3), *sa = stats(3, a, 3);
	struct pcp_percpu_results *r = results(tc, 2), *r2 = results(off, 2);
	struct pcp_percpu_frag *f;

	ck_assert_int_eq(pcp_percpu_frag_compute(sb, sa, r, 0, &f), PCP_OK);
	ck_assert_uint_eq(f->nr_chunks, 3);
	ck_assert_int_eq(f->chunks[1].status, PCP_FRAG_MATCHED);
	ck_assert_int_eq(f->chunks[1].before_chunk, 1);
	ck_assert_int_eq(f->chunks[1].after_chunk, 2);
	ck_assert_int_eq(f->chunks[2].status, PCP_FRAG_MATCHED);
	ck_assert_int_eq(f->chunks[2].before_chunk, 2);
	ck_assert_int_eq(f->chunks[2].after_chunk, 1);
	ck_assert_int_eq(val(&f->chunks[2], "nr_alloc")->after, 230);
	pcp_percpu_frag_free(f);
	ck_assert_int_eq(pcp_percpu_frag_compute(sb, sa, r2, 0, &f), PCP_OK);
	ck_assert_uint_eq(f->nr_chunks, 5);
	for (size_t i = 1; i < 5; i++)
		ck_assert_int_eq(f->chunks[i].status, PCP_FRAG_UNMATCHED);
	pcp_percpu_frag_free(f);
	pcp_percpu_results_free(r);
	pcp_percpu_results_free(r2);
	pcp_percpu_stats_free(sb);
	pcp_percpu_stats_free(sa);
}
END_TEST

/* No free byte at all: the ratio is 0 (the rule), not undefined; without snapshots
 * the five metrics are undefined. */
START_TEST(zero_free_and_undefined)
{
	const struct chunk_spec full[] = { { "<- First Chunk", 10, 0, 0, 0, 0 } };
	struct pcp_percpu_stats *s = stats(0, full, 1);
	struct pcp_percpu_results *r = results(NULL, 0);
	struct pcp_percpu_frag *f;

	ck_assert_int_eq(pcp_percpu_frag_compute(s, s, r, 0, &f), PCP_OK);
	pcp_percpu_frag_metrics(r, f);
	ck_assert_double_eq(metric(r, "percpu_frag_ratio"), 0);
	ck_assert_double_eq(metric(r, "percpu_frag_ratio_change"), 0);
	pcp_percpu_frag_metrics(r, NULL);
	ck_assert(isnan(metric(r, "percpu_frag_ratio")));
	ck_assert(isnan(metric(r, "percpu_frag_ratio_change")));
	ck_assert(isnan(metric(r, "percpu_free_bytes_change")));
	ck_assert(isnan(metric(r, "percpu_empty_pop_pages_change")));
	ck_assert(isnan(metric(r, "percpu_max_frag_bytes")));
	ck_assert(!isnan(metric(r, "percpu_allocs")));
	pcp_percpu_frag_free(f);
	pcp_percpu_results_free(r);
	pcp_percpu_stats_free(s);
}
END_TEST

/* Survivors per chunk. Chunk 0xa000: [100,116) [116,132) [200,208) [1000,1064): span 100..1064
 * = 964, holes [132,200) = 68 and [208,1000) = 792: 2 holes, 860 bytes, largest 792.
 * Chunk 0xb000 (created at ts 5): one alloc, no hole. base 0: in no row. */
START_TEST(run_chunks_span_and_holes)
{
	const struct pcp_percpu_chunk tc[] = {
		{ .base_addr = 0xb000, .has_created = 1, .created_ns = 5 },
		{ .base_addr = 0xa000 },
	};
	struct pcp_percpu_results *r = results(tc, 2);
	const struct pcp_percpu_outstanding o[] = {
		{ .base_addr = 0xa000, .off = 1000, .size = 64, .bytes_alloc = 256 },
		{ .base_addr = 0xa000, .off = 116, .size = 16, .bytes_alloc = 64 },
		{ .base_addr = 0xb000, .off = 8, .size = 4, .bytes_alloc = 16 },
		{ .base_addr = 0, .off = 0, .size = 4096, .bytes_alloc = 16384 },
		{ .base_addr = 0xa000, .off = 200, .size = 8, .bytes_alloc = 32 },
		{ .base_addr = 0xa000, .off = 100, .size = 16, .bytes_alloc = 64 },
	};
	r->outstanding = malloc(sizeof(o));
	memcpy(r->outstanding, o, sizeof(o));
	r->nr_outstanding = sizeof(o) / sizeof(o[0]);

	ck_assert_int_eq(pcp_percpu_run_chunks(r), PCP_OK);
	ck_assert_uint_eq(r->nr_run_chunks, 2);
	const struct pcp_percpu_run_chunk *a = &r->run_chunks[0], *b = &r->run_chunks[1];
	ck_assert_uint_eq(a->base_addr, 0xa000);
	ck_assert_uint_eq(a->allocs, 4);
	ck_assert_uint_eq(a->unit_bytes, 104);
	ck_assert_uint_eq(a->bytes_alloc, 416);
	ck_assert_uint_eq(a->lo_off, 100);
	ck_assert_uint_eq(a->hi_off, 1064);
	ck_assert_uint_eq(a->span_bytes, 964);
	ck_assert_uint_eq(a->holes, 2);
	ck_assert_uint_eq(a->hole_bytes, 860);
	ck_assert_uint_eq(a->max_hole_bytes, 792);
	ck_assert(!a->has_created);
	ck_assert_uint_eq(b->base_addr, 0xb000);
	ck_assert_uint_eq(b->allocs, 1);
	ck_assert_uint_eq(b->span_bytes, 4);
	ck_assert_uint_eq(b->holes, 0);
	ck_assert(b->has_created);
	ck_assert_uint_eq(b->created_ns, 5);
	pcp_percpu_results_free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("percpu_frag");
	TCase *tc = tcase_create("frag");

	tcase_add_test(tc, created_chunk_matched_by_trace);
	tcase_add_test(tc, no_usable_trace_leaves_dynamic_unmatched);
	tcase_add_test(tc, ambiguous_and_all_replaced);
	tcase_add_test(tc, persisting_chunks_matched_by_counts);
	tcase_add_test(tc, zero_free_and_undefined);
	tcase_add_test(tc, run_chunks_span_and_holes);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
