/* The lifecycle model's end occupancy against the kernel's own count (issue 11, "Truth"): for
 * each `pcprecord --lifecycle` recording given, the model (lib/model/lifecycle.h, fed as
 * tests/test_lifecycle.c feeds it) starts each CPU at the before snapshot's pageset count
 * summed over zones (pcp_meta_pcp_pages) and its end is compared with the after snapshot's.
 * Prints one line per CPU and the counters that tell where a difference comes from.
 *
 *   bench_lifecycle_truth TRACE.dat [TRACE.dat...]
 *
 * Not a test: the bound the tests assert is justified from this driver's figures (README). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event-parse.h>
#include "common/error.h"
#include "events/parse_kmem.h"
#include "meta/meta.h"
#include "model/lifecycle.h"
#include "tracedat/trace_reader.h"

static int one(const char *path)
{
	char msg[512] = "";
	struct pcp_reader *reader = NULL;
	struct pcp_kmem_parser *kmem = NULL;
	struct pcp_lifecycle_opts o;
	struct pcp_lifecycle_model *m = NULL;
	struct pcp_lifecycle_results *r = NULL;
	struct pcp_meta *meta = NULL;
	struct tep_record *rec;
	int64_t *start = NULL, *end = NULL;
	uint32_t nr_cpus;
	int err;

	if ((err = pcp_meta_load(path, &meta)) || !meta) {
		fprintf(stderr, "%s: no meta file\n", path);
		return 1;
	}
	if ((err = pcp_reader_open(path, &reader, msg, sizeof(msg))) ||
	    (err = pcp_kmem_parser_new(pcp_reader_tep(reader), PCP_REFILL_AUTO, &kmem, msg, sizeof(msg))) ||
	    (err = pcp_kmem_parser_enable_lifecycle(kmem, msg, sizeof(msg)))) {
		fprintf(stderr, "%s: %s\n", path, msg);
		goto out;
	}
	nr_cpus = pcp_reader_layout(reader)->nr_cpus;
	start = calloc(nr_cpus, sizeof(*start));
	end = calloc(nr_cpus, sizeof(*end));
	if (!start || !end || !pcp_meta_pcp_pages(&meta->before, nr_cpus, start) ||
	    !pcp_meta_pcp_pages(&meta->after, nr_cpus, end)) {
		fprintf(stderr, "%s: no pageset counts in both snapshots\n", path);
		err = 1;
		goto out;
	}
	pcp_lifecycle_opts_default(&o);
	o.page_shift = 12;
	o.start_pages = start;
	o.end_pages = end;
	if ((err = pcp_lifecycle_new(nr_cpus, &o, &m)))
		goto out;
	while ((rec = pcp_reader_next(reader))) {
		struct pcp_event e;
		int id = tep_data_type(pcp_reader_tep(reader), rec);

		memset(&e, 0, sizeof(e));
		e.ts_ns = rec->ts;
		e.cpu = (uint32_t)rec->cpu;
		e.pid = -1;
		e.kind = (uint8_t)pcp_kmem_decode(kmem, rec, id, &e);
		pcp_lifecycle_event(m, &e);
	}
	if ((err = pcp_lifecycle_finish(m, NULL, &r)))
		goto out;
	printf("%s: lost %" PRId64 ", gap before %.1f us after %.1f us (reads %.1f / %.1f us), "
	       "allocs %" PRIu64 " (pcp %" PRIu64 ", unseen %" PRIu64 ", buddy %" PRIu64 ") frees %"
	       PRIu64 " (entries %" PRIu64 ") refills %" PRIu64 " drains %" PRIu64 " (owner unknown %"
	       PRIu64 "); anomalies: refill_while_listed %" PRIu64 " alloc_other_cpu %" PRIu64
	       " drain_not_listed %" PRIu64 " free_not_in_use %" PRIu64 "\n", path,
	       meta->recording.lost_events, meta->before.pageset_switch_gap_ns / 1e3,
	       meta->after.pageset_switch_gap_ns / 1e3, meta->before.pageset_read_ns / 1e3,
	       meta->after.pageset_read_ns / 1e3, r->allocs, r->pcp_allocs, r->allocs_pcp_unseen,
	       r->buddy_allocs, r->frees, r->free_entries, r->refill_blocks, r->drain_blocks,
	       r->drains_owner_unknown, r->anomalies.refill_while_listed,
	       r->anomalies.alloc_other_cpu, r->anomalies.drain_not_listed,
	       r->anomalies.free_not_in_use);
	for (uint32_t c = 0; c < nr_cpus; c++) {
		const struct pcp_lc_cpu_flow *f = &r->cpu_flow[c];

		printf("  cpu %u: start %" PRId64 " min %" PRId64 " max %" PRId64 " model end %" PRId64
		       " snapshot end %" PRId64 " diff %+" PRId64 " (pcp allocs %" PRIu64 ", free "
		       "entries %" PRIu64 ", refill pages %" PRIu64 ", drain pages %" PRIu64 ")\n", c,
		       f->occ_start, f->occ_min, f->occ_max, f->occ_end, f->snapshot_end, f->end_diff,
		       f->pcp_allocs, f->free_entries, f->refill_pages, f->drain_pages);
	}
	printf("  occupancy_error_pages %+.0f\n", r->occupancy_error_pages);
out:
	if (err && !msg[0])
		fprintf(stderr, "%s: %s\n", path, pcp_strerror(err));
	pcp_lifecycle_results_free(r);
	pcp_lifecycle_free(m);
	pcp_kmem_parser_free(kmem);
	if (reader)
		pcp_reader_close(reader);
	pcp_meta_free(meta);
	free(start);
	free(end);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	int status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s TRACE.dat [TRACE.dat...]\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		status |= one(argv[i]);
	return status;
}
