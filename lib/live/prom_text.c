/* pcpstat --prometheus: the live counts in Prometheus's text exposition format, for
 * node_exporter's textfile collector (live/prom_text.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/error.h"
#include "common/io.h"
#include "live/prom_text.h"
#include "output/outfile.h"

#define MAX_ZONE_ROWS 256

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void per_cpu(FILE *f, const char *name, const char *help, const struct pcp_live_counts *c,
		    uint32_t n, const unsigned char *recorded, size_t off)
{
	family(f, name, "counter", help);
	for (uint32_t i = 0; i < n; i++)
		if (recorded[i])
			fprintf(f, "%s{cpu=\"%u\"} %llu\n", name, i,
				(unsigned long long)*(const uint64_t *)((const char *)&c[i] + off));
}

int pcp_prom_write(const char *path, struct pcp_live *l, const unsigned char *recorded,
		   const struct pcp_prom_pcp_lists *lists, const int64_t *lc_occupancy,
		   const struct pcp_prom_percpu *pc, char *errbuf, size_t errlen)
{
	uint32_t n = pcp_live_nr_cpus(l);
	struct pcp_live_counts *c = calloc(n ? n : 1, sizeof(*c)), sum;
	struct pcp_zone_lock_row zones[MAX_ZONE_ROWS];
	size_t nz, i;
	uint64_t gaps[2];
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	struct pcp_outfile out;
	int err, final_gaps = pcp_live_gaps(l, gaps);

	if (!c || !(f = open_memstream(&text, &len))) {
		free(c);
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	}
	pcp_live_totals(l, c, &sum);
	per_cpu(f, "pcptrace_pcp_refill_pages_total", "Pages put on the CPU's PCP lists from the buddy allocator (refills).",
		c, n, recorded, offsetof(struct pcp_live_counts, refill_pages));
	per_cpu(f, "pcptrace_pcp_drain_pages_total", "Pages drained from the CPU's PCP lists back to the buddy allocator.",
		c, n, recorded, offsetof(struct pcp_live_counts, drain_pages));
	per_cpu(f, "pcptrace_pcp_pairs_total", "Refill-to-drain round trips completed by a drain on the CPU.",
		c, n, recorded, offsetof(struct pcp_live_counts, pairs));
	per_cpu(f, "pcptrace_pcp_cross_cpu_pairs_total", "Round trips drained on the CPU whose refill was on another CPU.",
		c, n, recorded, offsetof(struct pcp_live_counts, cross_pairs));
	per_cpu(f, "pcptrace_lost_events_total", "Trace events the kernel reported lost on the CPU (missed-events marks with a count).",
		c, n, recorded, offsetof(struct pcp_live_counts, lost_events));
	if (pc->present) {
		per_cpu(f, "pcptrace_percpu_allocations_total", "percpu allocator allocations (percpu:percpu_alloc_percpu) on the CPU.",
			c, n, recorded, offsetof(struct pcp_live_counts, percpu_allocs));
		per_cpu(f, "pcptrace_percpu_frees_total", "percpu allocator frees (percpu:percpu_free_percpu) on the CPU.",
			c, n, recorded, offsetof(struct pcp_live_counts, percpu_frees));
		family(f, "pcptrace_percpu_outstanding_bytes", "gauge",
		       "Bytes of percpu allocations made since pcpstat started and not freed yet.");
		fprintf(f, "pcptrace_percpu_outstanding_bytes %llu\n", (unsigned long long)pc->outstanding_bytes);
	}
	/* learnt gaps only: provisional counts would be rewritten, and counters never go back */
	if (final_gaps) {
		nz = pcp_live_zone_rows(l, zones, MAX_ZONE_ROWS);
		family(f, "pcptrace_zone_lock_acquisitions_total", "counter",
		       pcp_live_lock_source(l) == PCP_LOCK_NATIVE
		       ? "zone->lock acquisitions for PCP refills and drains (native zone_locked events)."
		       : "zone->lock acquisitions for PCP refills and drains (inferred from runs of blocks; nid/zid -1: zone unknown).");
		for (i = 0; i < nz && i < MAX_ZONE_ROWS; i++)
			fprintf(f, "pcptrace_zone_lock_acquisitions_total{nid=\"%d\",zid=\"%d\",kind=\"%s\"} %llu\n",
				zones[i].nid, zones[i].zid,
				zones[i].kind == PCP_LOCK_KIND_REFILL ? "refill" : "drain",
				(unsigned long long)zones[i].acquisitions);
		family(f, "pcptrace_zone_lock_moved_pages_total", "counter",
		       "Pages moved under those zone->lock acquisitions.");
		for (i = 0; i < nz && i < MAX_ZONE_ROWS; i++)
			fprintf(f, "pcptrace_zone_lock_moved_pages_total{nid=\"%d\",zid=\"%d\",kind=\"%s\"} %llu\n",
				zones[i].nid, zones[i].zid,
				zones[i].kind == PCP_LOCK_KIND_REFILL ? "refill" : "drain",
				(unsigned long long)zones[i].moved_pages);
	}
	if (lists && lists->n) {
		family(f, "pcptrace_pcp_list_pages", "gauge",
		       "Pages on the CPU's PCP lists of the zone now (/proc/zoneinfo pageset count).");
		for (i = 0; i < lists->n; i++)
			fprintf(f, "pcptrace_pcp_list_pages{cpu=\"%u\",nid=\"%d\",zid=\"%d\",zone=\"%s\"} %lld\n",
				lists->v[i].cpu, lists->v[i].nid, lists->v[i].zid, lists->v[i].zone,
				(long long)lists->v[i].count);
	}
	if (lc_occupancy) {
		family(f, "pcptrace_lifecycle_pcp_list_pages", "gauge",
		       "Pages on the CPU's PCP lists by the lifecycle model (pcpstat --lifecycle).");
		for (uint32_t k = 0; k < n; k++)
			if (recorded[k])
				fprintf(f, "pcptrace_lifecycle_pcp_list_pages{cpu=\"%u\"} %lld\n", k,
					(long long)lc_occupancy[k]);
	}
	family(f, "pcptrace_late_records_total", "counter",
	       "Records fed out of timestamp order (an idle CPU's, held longer than the lag).");
	fprintf(f, "pcptrace_late_records_total %llu\n", (unsigned long long)pcp_live_late_records(l));
	family(f, "pcptrace_info", "gauge", "pcpstat's modes: refill source, zone-lock source, whether inferred gaps are learnt.");
	fprintf(f, "pcptrace_info{refill_source=\"%s\",lock_source=\"%s\",gaps=\"%s\"} 1\n",
		pcp_live_refill_source(l),
		pcp_live_lock_source(l) == PCP_LOCK_NATIVE ? "native" : "inferred",
		final_gaps ? "final" : "learning");
	free(c);
	if (fclose(f) != 0) {
		free(text);
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	}
	err = pcp_outfile_open(&out, path, errbuf, errlen);
	if (!err && pcp_io_write_all(out.fd, text, len)) {
		pcp_outfile_abort(&out);
		err = pcp_errorf(errbuf, errlen, PCP_ERR_IO, "write failed");
	} else if (!err) {
		err = pcp_outfile_commit(&out, errbuf, errlen);
	}
	free(text);
	return err;
}
