/* One trace.dat in, one analysis out: reader -> parsers -> models. Tools call this. */
#ifndef PCPTRACE_ANALYZE_H
#define PCPTRACE_ANALYZE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "model/churn.h"
#include "events/event.h"

struct pcp_percpu_results;
struct pcp_lifecycle_results;
struct pcp_meta;
struct pcp_filter_spec;
struct pcp_timeline_sink;

#define PCP_INFER_GAP_AUTO UINT64_MAX

struct pcp_analyze_opts {
	uint64_t churn_window_ns;                 /* default 1 ms */
	uint64_t bucket_ns;                       /* default 10 ms */
	unsigned top_n;                           /* default 100 */
	uint64_t infer_gap_ns;                    /* inferred zone locks: PCP_INFER_GAP_AUTO
						   * (default: learnt from the trace), or ns,
						   * 0 = off */
	enum pcp_refill_source refill_source;     /* AUTO by default */
	const char *buffer;                       /* trace buffer to read ("top" = top-level);
						   * NULL (default): chosen (buffer_choice.h) */
	const struct pcp_filter_spec *filter;     /* --from/--to/--cpus/--pid/--comm
						   * (analysis_filter.h); NULL (default): none */
	const struct pcp_timeline_sink *sink;     /* timeline hooks (timeline_sink.h); NULL */
	unsigned jobs;                            /* threads for the analysis (default 1):
						   * decode, lifecycle model, kallsyms
						   * (analyze.c: set_main_pass_decoding);
						   * same results */
};

void pcp_analyze_opts_default(struct pcp_analyze_opts *o);

struct pcp_event_count {
	char *name;                               /* "system:event" */
	uint64_t count;
};

struct pcp_analysis {
	char *trace_file;
	int file_version;                         /* 6 or 7 */
	char *trace_clock;                        /* NULL if unknown */
	int time_base;                            /* enum pcp_time_base (time_base.h) */
	const char *time_base_reason;             /* static text when time_base is NONE, else NULL */
	uint32_t nr_cpus;                         /* of the buffer read */
	char *buffer;                             /* its name ("top" = top-level); NULL: the
						   * file has no buffer table (all read) */
	const char *buffer_why;                   /* static: how it was chosen */
	unsigned nr_data_buffers;                 /* buffers in the file holding data */
	char *events_lost_source;                 /* "missed_marks,cpustat_dropped", "none" */
	uint64_t events_total;
	enum pcp_refill_source refill_source;     /* NATIVE or FALLBACK */
	enum pcp_lock_source lock_source;
	uint64_t infer_gap_ns[2];                 /* the gaps used per pcp_lock_kind (inferred) */
	int zone_map;                             /* inferred: 1 when the meta's zone spans named
						   * the zones (trace_info zone_map = meta) */
	enum pcp_block_key block_key;             /* pfn, or page_pointer (older kernels): then
						   * pfn_cycles.pfn is a block id, no zone map */
	enum pcp_refill_flag refill_flag;         /* fallback: percpu_refill field or derived */
	struct pcp_event_count *event_counts;     /* sorted by name */
	size_t nr_event_counts;
	struct pcp_churn_results *churn;          /* never NULL on success */
	struct pcp_percpu_results *percpu;        /* NULL when the trace has no percpu event */
	struct pcp_lock_cause_results *lock_cause; /* NULL when the trace has no kernel_stack
						   * record (pcprecord --stacks; lock_cause.h) */
	struct pcp_meta *meta;                    /* <trace>.meta.json, NULL if absent */
	struct pcp_lifecycle_results *lifecycle; /* NULL unless the trace has mm_page_alloc /
						   * mm_page_free records (pcprecord --lifecycle) */
	char *filter;                             /* the window and filter, described
						   * (pcp_filter_spec_describe): "none" */
	int filtered;                             /* a window or filter applied */
	uint64_t window_from_ns, window_to_ns;    /* filtered: trace time [from, to), to =
						   * UINT64_MAX: open */
	struct pcp_analyze_opts opts;             /* filter and sink: NULL here */
};

/* On failure returns a pcp_err and writes a one-line reason (without the file name) to
 * errbuf. Never returns a partial analysis. */
int pcp_analyze_file(const char *path, const struct pcp_analyze_opts *opts,
		     struct pcp_analysis **out, char *errbuf, size_t errlen);
void pcp_analysis_free(struct pcp_analysis *a);

#endif
