/* The meta module (lib/meta/meta.h): its reader and writer on the recorder's own meta files.
 * Each fixture meta file, read and written back, is the same file byte for byte: the typed
 * struct holds everything the recorder writes, in its order, and the "parsed" percpu_stats the
 * recorder wrote equal the one parser's reading of the text. Values checked below were read
 * off the fixture files with grep. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "common/error.h"
#include "meta/meta.h"
#include "check_helpers.h"

static const char *const fixtures[] = {
	"fallback-zones.dat", "lab-1node.dat", "lab-2node.dat", "lab-2node-zones.dat",
	"lifecycle/recorded-mix.dat",   /* pcprecord --lifecycle: lifecycle, pageset_timing */
	"lab-1node-lifecycle.dat", "lab-2node-lifecycle.dat",   /* the same in the kernel lab */
};

/* The fixture's meta, loaded as pcpanalyze finds it beside its trace. */
static struct pcp_meta *load_fixture(const char *trace)
{
	char path[1100];
	struct pcp_meta *m = NULL;

	snprintf(path, sizeof(path), "%s", check_fixture_path(".", NULL, trace));
	ck_assert_int_eq(pcp_meta_load(path, &m), PCP_OK);
	ck_assert_ptr_nonnull(m);
	return m;
}

/* read -> struct -> write: the file again, byte for byte (2-space indent, final newline). */
START_TEST(fixture_roundtrip)
{
	const char *trace = fixtures[_i];
	char name[256], dir[] = "/tmp/pcp_metaXXXXXX", out[300], err[256] = "";
	struct pcp_meta *m = load_fixture(trace);
	size_t len, out_len;
	char *want, *got;

	snprintf(name, sizeof(name), "%s.meta.json", trace);
	want = check_read_fixture(".", NULL, name, &len);
	ck_assert(mkdtemp(dir) != NULL);
	snprintf(out, sizeof(out), "%s/t.dat", dir);
	ck_assert_int_eq(pcp_meta_write(out, m, err, sizeof(err)), PCP_OK);
	snprintf(out, sizeof(out), "%s/t.dat.meta.json", dir);
	got = check_read_file(out, &out_len);
	ck_assert_msg(out_len == len && !memcmp(got, want, len), "%s: written back differs", name);
	unlink(out);
	rmdir(dir);
	free(want);
	free(got);
	pcp_meta_free(m);
}
END_TEST

/* The typed members the analysis uses, against the file (lab-2node-zones.dat.meta.json). */
START_TEST(fixture_values)
{
	struct pcp_meta *m = load_fixture("lab-2node-zones.dat");
	const struct pcp_percpu_stats *before, *after;
	const struct pcp_meta_zone *z;
	int64_t v;

	ck_assert_str_eq(m->format, "pcptrace-meta");
	ck_assert_int_eq(m->version, 1);
	ck_assert_str_eq(m->hostname, "(none)");
	ck_assert_str_eq(m->kernel_release, "6.1.192-pcplab");
	ck_assert_str_eq(m->start_time, "2026-11-22T01:32:45.537Z");
	ck_assert_int_eq(m->workload, PCP_META_SET);
	ck_assert_uint_eq(m->workload_argv.n, 3);
	ck_assert_str_eq(m->workload_argv.v[2], "12");
	ck_assert_int_eq(m->exit_status, PCP_META_SET);
	ck_assert_int_eq(m->exit_status_value, 0);
	ck_assert_int_eq(m->workload_user, PCP_META_ABSENT);   /* an older recorder's file */
	ck_assert_str_eq(m->recording.clock, "global");
	ck_assert_int_eq(m->recording.buffer_kb, 32771);
	ck_assert_int_eq(m->recording.events_total, 298802);
	ck_assert_uint_eq(m->recording.nr_cpu_rows, 4);
	ck_assert_uint_eq(m->recording.nr_event_counts, 7);
	ck_assert_str_eq(m->recording.event_counts[0].name, "kmem:mm_page_alloc_zone_locked");
	ck_assert_int_eq(m->recording.event_counts[0].count, 102406);
	/* zoneinfo: node 0 DMA first, with its span */
	ck_assert(m->before.has_zoneinfo);
	z = &m->before.zones[0];
	ck_assert_str_eq(z->name, "DMA");
	ck_assert_int_eq(z->node, 0);
	ck_assert_int_eq(z->zid, 0);
	ck_assert_int_eq(z->start_pfn, 1);
	ck_assert_int_eq(z->spanned, 4095);
	ck_assert(!z->span_damaged);
	ck_assert_int_eq(z->pagesets[0].high, 118);
	ck_assert(!(z->pagesets[0].has & PCP_META_PAGESET_HIGH_MIN));
	ck_assert(m->before.has_vmstat);
	ck_assert_str_eq(m->before.vmstat[0].name, "nr_free_pages");
	/* percpu_stats: parsed once, by the one parser */
	ck_assert_int_eq(pcp_meta_percpu_stats(&m->before, &before), PCP_OK);
	ck_assert_int_eq(pcp_meta_percpu_stats(&m->after, &after), PCP_OK);
	ck_assert_ptr_nonnull(before);
	ck_assert_ptr_nonnull(after);
	ck_assert(pcp_percpu_stats_get(before, PCP_PSTATS_CHUNK, 0, "contig_bytes", &v));
	ck_assert_int_eq(v, 17576);
	ck_assert(pcp_percpu_stats_get(after, PCP_PSTATS_CHUNK, 0, "contig_bytes", &v));
	ck_assert_int_eq(v, 17556);
	pcp_meta_free(m);
}
END_TEST

/* What the recorder writes now: percpu_stats read last before tracing on, the switch counters,
 * a --user, a recording without a command, x86-tsc: all written back as read. */
START_TEST(recorder_shapes_roundtrip)
{
	static const char text[] =
		"{\"format\": \"pcptrace-meta\", \"version\": 1, \"workload\": null, "
		"\"exit_status\": null, \"workload_user\": {\"name\": \"nobody\", \"uid\": 65534, "
		"\"gid\": 65534}, \"recording\": {\"instance\": \"pcprecord-1\", \"clock\": \"x86-tsc\", "
		"\"buffer_kb\": 1, \"subbuf_size\": 4096, \"nr_cpus\": 1, \"recorded_cpus\": [0], "
		"\"refill_source\": \"fallback\", \"events\": [\"kmem:mm_page_pcpu_drain\"], "
		"\"missing_events\": [], \"events_total\": 0, \"event_counts\": {}, \"lost_events\": 0, "
		"\"lost_unknown_pages\": 0, \"cpus\": [], \"tsc2nsec\": {\"mult\": 5, \"shift\": 3, "
		"\"source\": \"perf\"}, \"lifecycle\": true}, \"snapshots\": {\"before\": {\"time\": \"T\", "
		"\"time_ns\": 1, \"zoneinfo_error\": \"/proc/zoneinfo: x\", \"pageset_timing\": "
		"{\"read_ns\": 30000, \"switch_gap_ns\": 9000}, \"vmstat\": {\"a\": 1}, "
		"\"percpu_stats\": {\"available\": false, \"text\": \"PCT\", \"parsed\": {}, "
		"\"tracing_switch\": {\"when\": \"went on\", \"nr_alloc\": 3, \"nr_dealloc\": 2, "
		"\"attempts\": 1}, \"reason\": \"R\"}}, \"after\": {\"time\": \"U\", \"time_ns\": 2, "
		"\"percpu_stats\": {\"available\": false, \"reason\": \"no debugfs\"}, "
		"\"zoneinfo\": [], \"pageset_timing\": {\"read_ns\": 25000, \"switch_gap_ns\": 70000}, "
		"\"vmstat_error\": \"/proc/vmstat: y\"}}}";
	static const char pct[] =
		"Percpu Memory Statistics\nAllocation Info:\n----------\n  unit_size : 4096\n\n"
		"Global Stats:\n----------\n  nr_alloc : 3\n  nr_dealloc : 2\n  nr_chunks : 1\n\n"
		"Per Chunk Stats:\n----------\nChunk: <- First Chunk\n  nr_alloc : 3\n";
	json_t *in = json_loads(text, 0, NULL), *out;
	json_t *pcs = json_object_get(json_object_get(json_object_get(in, "snapshots"), "before"),
				      "percpu_stats");
	struct pcp_meta *m;
	char *a, *b;

	ck_assert_ptr_nonnull(in);
	/* the text a real one, and "parsed" what the one parser makes of it */
	json_object_set_new(pcs, "text", json_string(pct));
	json_object_set_new(pcs, "parsed", json_pack(
		"{s:{s:i},s:{s:i,s:i,s:i},s:[{s:s,s:i}]}", "allocation", "unit_size", 4096,
		"global", "nr_alloc", 3, "nr_dealloc", 2, "nr_chunks", 1, "chunks", "kind", "first",
		"nr_alloc", 3));
	ck_assert_int_eq(pcp_meta_from_json(in, &m), PCP_OK);
	ck_assert(m->before.percpu_stats_last);
	ck_assert_int_eq(m->recording.lifecycle, PCP_META_SET);
	ck_assert_int_eq(m->recording.lifecycle_on, 1);
	ck_assert(m->before.has_pageset_timing && m->after.has_pageset_timing);
	ck_assert_int_eq(m->before.pageset_read_ns, 30000);
	ck_assert_int_eq(m->before.pageset_switch_gap_ns, 9000);
	ck_assert_int_eq(m->after.pageset_switch_gap_ns, 70000);
	ck_assert_int_eq(m->before.percpu_stats.switch_nr_alloc, 3);
	ck_assert_ptr_nonnull(m->before.percpu_stats.parsed);
	out = pcp_meta_to_json(m);
	a = json_dumps(in, JSON_PRESERVE_ORDER | JSON_COMPACT);
	b = json_dumps(out, JSON_PRESERVE_ORDER | JSON_COMPACT);
	ck_assert_str_eq(b, a);
	free(a);
	free(b);
	json_decref(out);
	json_decref(in);
	pcp_meta_free(m);
}
END_TEST

/* Validation: not an object is PCP_ERR_BAD_META; damage that matters to one use is flagged. */
START_TEST(reader_validation)
{
	char dir[] = "/tmp/pcp_metaXXXXXX", trace[300], path[320];
	struct pcp_meta *m = (struct pcp_meta *)1;
	const struct pcp_percpu_stats *ps;
	json_t *j;
	FILE *f;

	ck_assert(mkdtemp(dir) != NULL);
	snprintf(trace, sizeof(trace), "%s/t.dat", dir);
	snprintf(path, sizeof(path), "%s.meta.json", trace);
	ck_assert_int_eq(pcp_meta_load(trace, &m), PCP_OK);    /* no file: no meta */
	ck_assert_ptr_null(m);
	f = fopen(path, "w");
	fputs("[1, 2]\n", f);
	fclose(f);
	ck_assert_int_eq(pcp_meta_load(trace, &m), PCP_ERR_BAD_META);
	ck_assert_ptr_null(m);
	f = fopen(path, "w");
	fputs("{\"snapshots\": {\"before\": {\"percpu_stats\": {\"available\": true, \"text\": \"x\"},"
	      " \"zoneinfo\": [{\"node\": 0, \"zone\": \"Normal\", \"start_pfn\": 1, \"spanned\": \"x\"}]}}}",
	      f);
	fclose(f);
	ck_assert_int_eq(pcp_meta_load(trace, &m), PCP_OK);
	ck_assert(m->before.percpu_stats.text_damaged);
	ck_assert_int_eq(pcp_meta_percpu_stats(&m->before, &ps), PCP_ERR_BAD_META);
	ck_assert(m->before.zones[0].span_damaged);
	/* members of another type read as absent */
	pcp_meta_free(m);
	j = json_pack("{s:i,s:s,s:{s:s}}", "hostname", 5, "format", "pcptrace-meta", "recording",
		      "cpus", "none");
	ck_assert_int_eq(pcp_meta_from_json(j, &m), PCP_OK);
	ck_assert_ptr_null(m->hostname);
	ck_assert_uint_eq(m->recording.nr_cpu_rows, 0);
	pcp_meta_free(m);
	json_decref(j);
	/* a zone without its node: node -1 (the pageset rows' nid), and none written back */
	j = json_loads("{\"snapshots\": {\"before\": {\"zoneinfo\": [{\"zone\": \"DMA\", "
		       "\"pagesets\": [{\"cpu\": 1}]}]}}}", 0, NULL);
	ck_assert_int_eq(pcp_meta_from_json(j, &m), PCP_OK);
	ck_assert_int_eq(m->before.zones[0].node, -1);
	{
		json_t *out = pcp_meta_to_json(m);

		ck_assert(json_equal(out, j));
		json_decref(out);
	}
	pcp_meta_free(m);
	json_decref(j);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* The snapshot's pages per CPU, summed over zones by hand: CPU 0 3 + 40 + 500, CPU 1 7 + 0 +
 * 600, CPU 2 in no zone (offline) 0; an empty zone (no pagesets) is skipped. */
START_TEST(pcp_pages_per_cpu)
{
	static const char good[] =
		"{\"zoneinfo\": [{\"node\": 0, \"zone\": \"DMA\", \"pagesets\": [{\"cpu\": 0, \"count\": 3},"
		" {\"cpu\": 1, \"count\": 7}]}, {\"node\": 0, \"zone\": \"DMA32\", \"pagesets\": "
		"[{\"cpu\": 1, \"count\": 0}, {\"cpu\": 0, \"count\": 40}]}, {\"node\": 0, \"zone\": "
		"\"Normal\", \"pagesets\": [{\"cpu\": 0, \"count\": 500}, {\"cpu\": 1, \"count\": 600}]},"
		" {\"node\": 0, \"zone\": \"Movable\", \"pagesets\": []}]}";
	/* each refused: a CPU missing from one zone, a pageset without count, a CPU beyond
	 * nr_cpus, a CPU twice in a zone, no zoneinfo, no pagesets at all */
	static const char *const bad[] = {
		"{\"zoneinfo\": [{\"zone\": \"A\", \"pagesets\": [{\"cpu\": 0, \"count\": 1}, "
		"{\"cpu\": 1, \"count\": 1}]}, {\"zone\": \"B\", \"pagesets\": [{\"cpu\": 0, \"count\": 1}]}]}",
		"{\"zoneinfo\": [{\"zone\": \"A\", \"pagesets\": [{\"cpu\": 0, \"high\": 1}]}]}",
		"{\"zoneinfo\": [{\"zone\": \"A\", \"pagesets\": [{\"cpu\": 3, \"count\": 1}]}]}",
		"{\"zoneinfo\": [{\"zone\": \"A\", \"pagesets\": [{\"cpu\": 0, \"count\": 1}, "
		"{\"cpu\": 1, \"count\": 1}]}, {\"zone\": \"B\", \"pagesets\": [{\"cpu\": 0, \"count\": 1}, "
		"{\"cpu\": 0, \"count\": 1}]}]}",
		"{\"zoneinfo_error\": \"/proc/zoneinfo: x\"}",
		"{\"zoneinfo\": [{\"zone\": \"A\", \"pagesets\": []}]}",
	};
	int64_t pages[3] = { -1, -1, -1 }, none[3] = { -1, -1, -1 };
	json_t *j = json_loads(good, 0, NULL);
	struct pcp_meta *m = calloc(1, sizeof(*m));   /* pcp_meta_free frees its snapshots */

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(pcp_meta_snapshot_from_json(j, &m->before), PCP_OK);
	ck_assert_int_eq(pcp_meta_pcp_pages(&m->before, 3, pages), 1);
	ck_assert_int_eq(pages[0], 543);
	ck_assert_int_eq(pages[1], 607);
	ck_assert_int_eq(pages[2], 0);
	ck_assert_int_eq(pcp_meta_pcp_pages(&m->before, 1, none), 0);   /* CPU 1 beyond nr_cpus */
	ck_assert_int_eq(none[0], -1);
	ck_assert_int_eq(pcp_meta_pcp_pages(&m->after, 3, none), 0);    /* no after snapshot */
	json_decref(j);
	pcp_meta_free(m);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = calloc(1, sizeof(*m));
		j = json_loads(bad[i], 0, NULL);
		ck_assert_ptr_nonnull(j);
		ck_assert_int_eq(pcp_meta_snapshot_from_json(j, &m->before), PCP_OK);
		ck_assert_msg(pcp_meta_pcp_pages(&m->before, 2, none) == 0, "case %zu accepted", i);
		ck_assert_int_eq(none[0], -1);
		json_decref(j);
		pcp_meta_free(m);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("meta");
	TCase *tc = tcase_create("meta");

	tcase_add_loop_test(tc, fixture_roundtrip, 0, sizeof(fixtures) / sizeof(fixtures[0]));
	tcase_add_test(tc, fixture_values);
	tcase_add_test(tc, recorder_shapes_roundtrip);
	tcase_add_test(tc, reader_validation);
	tcase_add_test(tc, pcp_pages_per_cpu);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
