/*
 * pcpstat's incremental analysis (issue 15): the spools a running recording (lib/record/)
 * appends whole sub-buffers to are read back while tracing runs, with the one ring-buffer
 * reader (ringbuf_decode.c), merged in timestamp order as pcpanalyze merges a trace.dat's CPUs
 * (ties to the lower CPU), decoded by the same parsers and fed to the same models (churn,
 * percpu, lifecycle). Rows are windows of trace time, [origin + (k-1) I, origin + k I): a window
 * closes once every record before its end has been fed.
 *
 * Order: a CPU whose available pages are all read may still hold records in its partly filled
 * sub-buffer; its records are assumed to come no earlier than max(its last record, now - lag).
 * A record older than what was already fed (an idle CPU's, held longer than the lag) is fed
 * late, into the open window, and counted (late_records). --infer-gap auto: the gaps are
 * learnt as pcpanalyze learns them (infer_gap.c, over the start of the stream); until then
 * provisional gaps are used, and once learnt the models are rebuilt from the spools' start, so
 * that the totals are those of pcpanalyze on the same trace.
 */
#ifndef PCPTRACE_LIVE_H
#define PCPTRACE_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include "model/churn.h"

struct pcp_record;
struct pcp_meta;

struct pcp_live_opts {
	uint64_t interval_ns;       /* window length (trace clock) */
	uint64_t lag_ns;            /* how long a CPU with no whole sub-buffer may hold the merge */
	uint64_t infer_gap_ns;      /* PCP_INFER_GAP_AUTO (analyze.h) or a fixed gap, 0 = off */
	const struct pcp_meta *meta; /* the before snapshot (zone spans, pagesets); may be NULL */
	int punch;                  /* no trace.dat is written from the spools: the part read (and
				     * not needed for a replay) is punched out of them */
	uint64_t max_windows;       /* COUNT: the last window stays open until the stop; 0 none */
};

/* One CPU's (or the sum's) figures over a window, or since the start. */
struct pcp_live_counts {
	uint64_t refill_pages, drain_pages, refill_locks, drain_locks;
	uint64_t pairs, cross_pairs;            /* pairs drained on the CPU; refilled elsewhere */
	uint64_t lost_events;                   /* known counts of missed-events marks */
	uint64_t percpu_allocs, percpu_frees;   /* percpu:* operations on the CPU */
	uint64_t records;
};

struct pcp_live_window {
	uint64_t index;                         /* 1, 2, ... */
	uint64_t start_ns, end_ns;              /* trace clock; the last window ends at the stop */
	uint32_t nr_cpus;
	const struct pcp_live_counts *cpu;      /* nr_cpus entries (CPUs not recorded: zeros) */
	struct pcp_live_counts sum;
	uint64_t percpu_outstanding_bytes, percpu_outstanding_allocs;   /* at the window's end */
	int has_percpu;                         /* the trace has percpu events */
	const int64_t *lc_occupancy;            /* lifecycle model, pages per CPU; NULL unarmed */
	int gaps_final;                         /* inferred: the learnt gaps (else provisional) */
	uint64_t late_records;                  /* so far */
};

typedef void (*pcp_live_window_fn)(const struct pcp_live_window *w, void *ctx);

struct pcp_live;

/* After pcp_record_start(). lifecycle: the recording arms mm_page_alloc/free. PCP_ERR_*. */
int pcp_live_new(struct pcp_record *rec, const struct pcp_live_opts *o, struct pcp_live **out,
		 char *errbuf, size_t errlen);
/* Windows start at origin_ns (trace clock); records before it belong to the first. */
void pcp_live_set_origin(struct pcp_live *l, uint64_t origin_ns);
/* Reads what the spools hold now, feeds what the order allows, calls fn for each window that
 * closed. now_ns: the trace clock's present time (0: unknown, no lag rule). final: tracing
 * stopped and the spools are complete: everything is fed (gaps chosen if still learning) and
 * the last window closes at now_ns (or the last record). PCP_ERR_CORRUPT / IO / NOMEM. */
int pcp_live_poll(struct pcp_live *l, uint64_t now_ns, int final, pcp_live_window_fn fn,
		  void *ctx, char *errbuf, size_t errlen);

/* Since the start (Prometheus counters): per CPU (nr_cpus) and summed. */
uint32_t pcp_live_nr_cpus(const struct pcp_live *l);
void pcp_live_totals(struct pcp_live *l, struct pcp_live_counts *per_cpu, struct pcp_live_counts *sum);
/* The zone-lock rows so far (acquisitions per zone and kind), up to cap; returns how many. */
size_t pcp_live_zone_rows(struct pcp_live *l, struct pcp_zone_lock_row *out, size_t cap);
/* Lock source: NATIVE, or INFERRED (gaps set once learnt: gaps_final). */
enum pcp_lock_source pcp_live_lock_source(const struct pcp_live *l);
int pcp_live_gaps(const struct pcp_live *l, uint64_t gaps[2]);  /* 1 when final */
const char *pcp_live_refill_source(const struct pcp_live *l);  /* "native" / "fallback" */
uint64_t pcp_live_late_records(const struct pcp_live *l);
void pcp_live_free(struct pcp_live *l);

#endif
