/* Percpu allocator analysis (issue 4): parser of percpu:* events, model, percpu_stats text.
 * Owned by the percpu work; these declarations are the seam the rest of the library uses. */
#ifndef PCPTRACE_PERCPU_H
#define PCPTRACE_PERCPU_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include <sqlite3.h>
#include "model/churn.h"
#include "events/event.h"

struct tep_handle;
struct tep_record;
struct pcp_percpu_run_chunk;
struct pcp_percpu_frag;

/* Resolves percpu:* event ids and field handles once per trace. */
struct pcp_percpu_parser;
int pcp_percpu_parser_new(struct tep_handle *tep, struct pcp_percpu_parser **out);
void pcp_percpu_parser_free(struct pcp_percpu_parser *p);
/* 1 if the trace carries any percpu:* event format. */
int pcp_percpu_parser_present(const struct pcp_percpu_parser *p);
/* 1 if an alloc or free format lacks ptr: then decode sets ptr = base_addr + off on both. */
int pcp_percpu_parser_synthetic_ptr(const struct pcp_percpu_parser *p);
/* If event_id is a percpu event, fill ev (kind + percpu payload) and return its kind;
 * otherwise return PCP_EV_OTHER and leave ev alone. Hot path. */
int pcp_percpu_decode(const struct pcp_percpu_parser *p, struct tep_record *rec, int event_id,
		      struct pcp_event *ev);

/* Results (definitions: docs/METRICS.md, "Percpu"). Addresses are raw 64-bit values. */
struct pcp_percpu_callsite {
	uint64_t call_site;                 /* 0: unknown (fails, unmatched frees, old kernels) */
	char *symbol;                       /* as trace-cmd prints: "function+0xoff" or "0x..."
					       (unresolved); NULL for call site 0 */
	uint64_t allocs, frees, fails;
	uint64_t bytes_alloc, bytes_freed;
	uint64_t outstanding_allocs, outstanding_bytes;
	uint64_t atomic_allocs;
};

struct pcp_percpu_size_bucket {
	uint64_t lo_bytes, hi_bytes;        /* [lo, hi) */
	uint64_t allocs;
};

struct pcp_percpu_outstanding {
	uint64_t ptr, call_site, size, bytes_alloc, ts_ns;
	uint64_t base_addr;                 /* its chunk (0: unknown) and offset in it */
	int32_t off;
};

struct pcp_percpu_chunk {
	uint64_t base_addr;
	int has_created, has_destroyed;     /* 0: not seen in the trace */
	uint64_t created_ns, destroyed_ns;
	uint64_t allocs, frees;
};

struct pcp_percpu_fail {
	uint64_t ts_ns;
	uint32_t cpu;
	uint64_t call_site;                 /* 0 when the kernel's format lacks it */
	uint64_t size, align;
	uint8_t reserved, is_atomic;
};

enum pcp_percpu_check_state {
	PCP_PERCPU_CHECK_NOT_RUN = 0,       /* pcp_percpu_attach_meta not called */
	PCP_PERCPU_CHECK_NO_SNAPSHOTS,      /* before or after percpu_stats missing */
	PCP_PERCPU_CHECK_LOSSY,             /* the trace lost events: no verdict */
	PCP_PERCPU_CHECK_DONE,
	PCP_PERCPU_CHECK_FILTERED,          /* a window or filter (analysis_filter.h): the snapshots
					     * bound the whole recording, not what was kept */
};

/* DONE only: what the kernel's counters say about the trace (docs/METRICS.md, "Percpu"). */
enum pcp_percpu_verdict {
	PCP_PERCPU_VERDICT_CONSISTENT = 0,  /* the counters are the traced operations */
	PCP_PERCPU_VERDICT_INCOMPLETE,      /* the kernel counted operations no event reports */
	PCP_PERCPU_VERDICT_INCONSISTENT,    /* the trace holds more than the kernel counted */
};

struct pcp_percpu_check {
	enum pcp_percpu_check_state state;
	int consistent;                     /* DONE only: both deltas equal the traced counts */
	int64_t nr_alloc_delta, nr_dealloc_delta;   /* after - before, DONE only */
	uint64_t traced_allocs, traced_frees;
	uint64_t untraced_frees;            /* frees proven by a traced alloc reusing an open ptr */
	/* DONE only. untraced_allocs = nr_alloc_delta - traced allocs, unproven_frees =
	 * nr_dealloc_delta - traced - untraced frees (negative: the trace holds more). */
	enum pcp_percpu_verdict verdict;
	int64_t untraced_allocs, unproven_frees;
	uint64_t undone_allocs;             /* allocs undone inside pcpu_alloc (alloc_fail events) */
	uint64_t maybe_freed;               /* outstanding allocs an unproven free may have ended */
};

struct pcp_percpu_results {
	uint64_t allocs, frees, fails;
	uint64_t unmatched_frees;           /* frees of a ptr with no open allocation */
	uint64_t replaced_allocs;           /* allocs of a ptr that was still open */
	uint64_t atomic_allocs;
	uint64_t bytes_alloc, bytes_freed;
	uint64_t outstanding_allocs, outstanding_bytes;
	uint64_t chunks_created, chunks_destroyed;

	struct pcp_percpu_callsite *callsites; size_t nr_callsites;   /* by outstanding bytes */
	struct pcp_percpu_size_bucket *size_hist; size_t nr_size_hist; /* by lo, non-empty */
	struct pcp_percpu_outstanding *outstanding; size_t nr_outstanding; /* largest first */
	struct pcp_percpu_chunk *chunks; size_t nr_chunks;           /* order of first sight */
	struct pcp_percpu_fail *failures; size_t nr_failures;        /* trace order */
	struct pcp_metric *metrics; size_t nr_metrics;
	/* issue 16 (model/percpu_frag.h): the run's survivors per chunk (by finish) and the
	 * snapshots compared (by pcp_percpu_attach_meta; NULL without both snapshots) */
	struct pcp_percpu_run_chunk *run_chunks; size_t nr_run_chunks;
	struct pcp_percpu_frag *frag;

	struct pcp_percpu_check check;      /* filled by pcp_percpu_attach_meta */
};

struct pcp_percpu_model;
int pcp_percpu_model_new(struct pcp_percpu_model **out);
void pcp_percpu_model_event(struct pcp_percpu_model *m, const struct pcp_event *ev);
/* Bytes of the allocations open now (outstanding_bytes at the end): the timeline's counter. */
uint64_t pcp_percpu_model_open_bytes(const struct pcp_percpu_model *m);
/* tep resolves call sites to symbols (function+0xoff, as trace-cmd report prints). */
int pcp_percpu_model_finish(struct pcp_percpu_model *m, struct tep_handle *tep,
			    struct pcp_percpu_results **out);
void pcp_percpu_model_free(struct pcp_percpu_model *m);
/* Live readers (pcpstat): the counts so far, the model untouched; outstanding = the open
 * allocations (as finish's outstanding_allocs / outstanding_bytes). */
struct pcp_percpu_live {
	uint64_t allocs, frees, fails, outstanding_allocs, outstanding_bytes;
};
void pcp_percpu_model_peek(const struct pcp_percpu_model *m, struct pcp_percpu_live *out);
void pcp_percpu_results_free(struct pcp_percpu_results *r);

struct pcp_meta;
/* Writes the percpu_* tables and metrics rows into an open database whose schema exists.
 * meta (may be NULL) is the recorder's meta: its percpu_stats snapshots go to the
 * percpu_stats table and the consistency check to trace_info. lossy: the trace lost events. */
int pcp_percpu_store(sqlite3 *db, const struct pcp_percpu_results *r,
		     const struct pcp_meta *meta, int lossy);
/* Runs the percpu_stats consistency check against meta (may be NULL; its snapshots as
 * pcp_meta_percpu_stats gives them) and keeps it in r->check so the text and JSON reports
 * show it; compares the snapshots' fragmentation into r->frag and its metrics.
 * PCP_ERR_BAD_META if a snapshot text is damaged, PCP_ERR_NOMEM. */
int pcp_percpu_attach_meta(struct pcp_percpu_results *r, const struct pcp_meta *meta, int lossy);
/* "checked", "no_snapshots", "lossy", "filtered", "not_run" (trace_info percpu_stats_check). */
const char *pcp_percpu_check_state_name(enum pcp_percpu_check_state s);
/* "consistent", "incomplete", "inconsistent" (trace_info percpu_stats_verdict). */
const char *pcp_percpu_verdict_name(enum pcp_percpu_verdict v);
void pcp_percpu_report_text(FILE *out, const struct pcp_percpu_results *r);
/* Adds a "percpu" member to the analysis JSON object. */
int pcp_percpu_report_json(json_t *root, const struct pcp_percpu_results *r);

#endif
