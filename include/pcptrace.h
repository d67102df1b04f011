/* pcptrace: the Linux page allocator's per-CPU page lists and the percpu allocator, observed.
 *
 * The one installed header of libpcptrace (pkg-config: pcptrace). Everything declared here is
 * the library's public interface: opaque handles and object_verb functions; no type of the
 * libraries used inside (libtracecmd, SQLite, Jansson) appears here. See pcptrace(3).
 */
#ifndef PCPTRACE_H
#define PCPTRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the exported functions; everything else in the library is hidden (-fvisibility=hidden). */
#if defined(__GNUC__) && !defined(PCP_API)
#define PCP_API __attribute__((visibility("default")))
#elif !defined(PCP_API)
#define PCP_API
#endif

/* Error codes of every library function that returns int (0 = success). */
enum pcp_err {
	PCP_OK = 0,
	PCP_ERR_USAGE,          /* bad option or argument */
	PCP_ERR_NOMEM,          /* out of memory */
	PCP_ERR_IO,             /* read/write failure (errno says more) */
	PCP_ERR_NOFILE,         /* input file does not exist or cannot be opened */
	PCP_ERR_EMPTY,          /* input file is empty */
	PCP_ERR_NOT_TRACE,      /* not a trace.dat file */
	PCP_ERR_TRUNCATED,      /* trace.dat ends before its declared data */
	PCP_ERR_CORRUPT,        /* trace.dat is damaged in another way */
	PCP_ERR_NO_EVENTS,      /* no event that pcptrace analyzes */
	PCP_ERR_MODE,           /* requested mode impossible for this trace */
	PCP_ERR_DB,             /* SQLite failure */
	PCP_ERR_JSON,           /* JSON failure */
	PCP_ERR_SCHEMA,         /* results database of another schema version */
	PCP_ERR_MODE_MISMATCH,  /* compared runs use different refill sources */
	PCP_ERR_BAD_META,       /* damaged trace.dat.meta.json or percpu_stats text */
	PCP_ERR_NOT_ROOT,       /* recording needs root */
	PCP_ERR_NO_TRACEFS,     /* tracefs cannot be found or mounted */
	PCP_ERR_NO_EVENT_AVAIL, /* none of the requested events exists */
	PCP_ERR_TRACEFS,        /* other tracefs failure */
	PCP_ERR_EXEC,           /* workload could not be started */
	PCP_ERR_EXEC_NOT_FOUND, /* workload command not found (the shell's 127) */
	PCP_ERR_INTERNAL,       /* a bug: please report */
	PCP_ERR_LOSSY,          /* compare: a run lost events (not comparable without --allow-lossy) */
	PCP_ERR_WINDOW_MISMATCH, /* compare: runs analyzed with different windows or filters */
	PCP_ERR__COUNT
};

/**
 * pcp_strerror - a short description of an error code
 * @err: a code of enum pcp_err (or any int)
 *
 * Returns a static lower-case string such as "file is truncated"; never NULL.
 */
PCP_API const char *pcp_strerror(int err);

/**
 * pcp_exit_code - the exit status pcptrace's tools use for an error code
 * @err: a code of enum pcp_err
 *
 * Returns 0 for PCP_OK and the documented status of pcpanalyze(1) and pcprecord(1) otherwise,
 * so that a program built on the library can keep the tools' contract.
 */
PCP_API int pcp_exit_code(int err);

/**
 * pcp_version - the library's version
 *
 * Returns the version string, e.g. "0.1.0".
 */
PCP_API const char *pcp_version(void);

/**
 * pcp_last_error - why the last failed call of this thread failed
 *
 * Every function below that returns an enum pcp_err (or NULL) also leaves a one-line reason
 * here, naming the file where there is one, e.g. "trace.dat: file is truncated (...)". It
 * stays until the next failing call in the same thread.
 *
 * Returns a thread-local string, "" when no call has failed yet; never NULL.
 */
PCP_API const char *pcp_last_error(void);

/* ---- trace: one trace.dat and its decoded events (pcp_trace(3)) ---- */

struct pcp_trace;        /* an open trace.dat, one of its buffers */
struct pcp_trace_event;  /* one decoded event, owned by its pcp_trace */

/* What a decoded event is (pcp_trace_event_kind()). */
enum pcp_event_type {
	PCP_EVENT_REFILL = 2,       /* a block put on a PCP list (native or fallback source) */
	PCP_EVENT_DRAIN,            /* a block drained from a PCP list to the buddy allocator */
	PCP_EVENT_REFILL_LOCK,      /* zone->lock taken for a PCP refill (native events only) */
	PCP_EVENT_DRAIN_LOCK,       /* zone->lock taken for a PCP drain (native events only) */
	PCP_EVENT_PERCPU_ALLOC,
	PCP_EVENT_PERCPU_FREE,
	PCP_EVENT_PERCPU_FAIL,
	PCP_EVENT_PERCPU_CHUNK_CREATE,
	PCP_EVENT_PERCPU_CHUNK_DESTROY,
};

/**
 * pcp_trace_open - open a trace.dat to read its PCP and percpu events
 * @path: the trace.dat (version 6 or 7, compressed or not)
 * @buffer: the trace buffer to read ("top" for the top-level one), or NULL to choose it as
 *          pcpanalyze does without --buffer (the only buffer with data, else the only one
 *          with an analyzable event)
 * @out: receives the handle; NULL on error
 *
 * The file is checked against its own declared layout first: a damaged file is an error here,
 * never a crash later. The refill source is chosen as pcpanalyze's default does (native when
 * the trace has kmem:mm_page_pcpu_refill, else fallback).
 *
 * Returns PCP_OK, or PCP_ERR_NOFILE, PCP_ERR_EMPTY, PCP_ERR_NOT_TRACE, PCP_ERR_TRUNCATED,
 * PCP_ERR_CORRUPT, PCP_ERR_MODE (no such buffer, or several candidates), PCP_ERR_NOMEM,
 * PCP_ERR_USAGE (a NULL argument); pcp_last_error() says why.
 */
PCP_API int pcp_trace_open(const char *path, const char *buffer, struct pcp_trace **out);

/**
 * pcp_trace_close - close a trace opened with pcp_trace_open()
 * @trace: the handle (NULL is fine)
 *
 * Frees everything, including the event pcp_trace_next() handed out last.
 */
PCP_API void pcp_trace_close(struct pcp_trace *trace);

/**
 * pcp_trace_nr_cpus - the CPUs of the buffer read
 * @trace: an open trace
 *
 * Returns the number of CPU ids (highest id + 1) the buffer declares.
 */
PCP_API unsigned pcp_trace_nr_cpus(const struct pcp_trace *trace);

/**
 * pcp_trace_clock - the trace clock the file was recorded with
 * @trace: an open trace
 *
 * Returns "local", "global", "x86-tsc", ... or NULL when the file does not say.
 */
PCP_API const char *pcp_trace_clock(const struct pcp_trace *trace);

/**
 * pcp_trace_time_base - whether timestamps are nanoseconds
 * @trace: an open trace
 *
 * Returns "ns" (the clock counts ns), "tsc2nsec" (TSC cycles converted to ns with the file's
 * TSC2NSEC option) or "none" (a counter clock: timestamps order events but are no duration).
 */
PCP_API const char *pcp_trace_time_base(const struct pcp_trace *trace);

/**
 * pcp_trace_buffer_name - the trace buffer read
 * @trace: an open trace
 *
 * Returns its name ("top" for the top-level buffer), or NULL when the file has no buffer table
 * (every record is read).
 */
PCP_API const char *pcp_trace_buffer_name(const struct pcp_trace *trace);

/**
 * pcp_trace_mode - the refill source the events are decoded with
 * @trace: an open trace
 *
 * Returns "native" (kmem:mm_page_pcpu_refill and, when present, the zone_locked events) or
 * "fallback" (kmem:mm_page_alloc_zone_locked with percpu_refill=1).
 */
PCP_API const char *pcp_trace_mode(const struct pcp_trace *trace);

/**
 * pcp_trace_lost_events - events the kernel lost while recording
 * @trace: an open trace
 * @known: receives the lost events of known count (may be NULL)
 * @unknown: receives the number of losses of unknown size (may be NULL)
 *
 * Per CPU, the larger of the missed-event marks read so far and the file's CPUSTAT counts
 * (overrun + commit overrun + dropped), summed over the CPUs: complete once pcp_trace_next()
 * has reached the end. The analysis also counts the recorder's meta file (pcp_analysis(3)).
 *
 * Returns 1 when anything was lost (the trace is lossy), else 0.
 */
PCP_API int pcp_trace_lost_events(const struct pcp_trace *trace, uint64_t *known,
				  uint64_t *unknown);

/**
 * pcp_trace_next - the next decoded PCP or percpu event, in timestamp order
 * @trace: an open trace
 * @event: receives the event, valid until the next call or pcp_trace_close(); NULL at the end
 *
 * Records of other events are skipped. Returns PCP_OK (also at the end, with *event NULL), or
 * PCP_ERR_CORRUPT / PCP_ERR_IO when damaged data ends the records early.
 */
PCP_API int pcp_trace_next(struct pcp_trace *trace, const struct pcp_trace_event **event);

/**
 * pcp_trace_event_kind - what an event is
 * @event: an event from pcp_trace_next()
 *
 * Returns an enum pcp_event_type value.
 */
PCP_API int pcp_trace_event_kind(const struct pcp_trace_event *event);

/**
 * pcp_trace_event_kind_name - the name of an event kind
 * @kind: an enum pcp_event_type value
 *
 * Returns "refill", "drain", "refill_lock", "drain_lock", "percpu_alloc", "percpu_free",
 * "percpu_fail", "percpu_chunk_create", "percpu_chunk_destroy", or "unknown".
 */
PCP_API const char *pcp_trace_event_kind_name(int kind);

/**
 * pcp_trace_event_cpu - the CPU an event was recorded on
 * @event: an event from pcp_trace_next()
 */
PCP_API unsigned pcp_trace_event_cpu(const struct pcp_trace_event *event);

/**
 * pcp_trace_event_ts - an event's timestamp
 * @event: an event from pcp_trace_next()
 *
 * Returns nanoseconds when pcp_trace_time_base() is "ns" or "tsc2nsec", else clock ticks.
 */
PCP_API uint64_t pcp_trace_event_ts(const struct pcp_trace_event *event);

/**
 * pcp_trace_event_pfn - the page block of a refill or drain
 * @event: an event from pcp_trace_next()
 *
 * Returns the PFN (the struct page pointer on kernels whose events have no pfn field), 0 for
 * other kinds.
 */
PCP_API uint64_t pcp_trace_event_pfn(const struct pcp_trace_event *event);

/**
 * pcp_trace_event_order - the order of a refilled or drained block
 * @event: an event from pcp_trace_next()
 *
 * Returns the order (the block has 2^order pages), 0 for other kinds.
 */
PCP_API unsigned pcp_trace_event_order(const struct pcp_trace_event *event);

/**
 * pcp_trace_event_migratetype - the migratetype of a refilled or drained block
 * @event: an event from pcp_trace_next()
 *
 * Returns the migratetype, -1 for other kinds.
 */
PCP_API int pcp_trace_event_migratetype(const struct pcp_trace_event *event);

/**
 * pcp_trace_event_pages - the pages of a zone-lock acquisition
 * @event: an event from pcp_trace_next()
 *
 * Returns the pages a REFILL_LOCK or DRAIN_LOCK moves, the block's 2^order pages for REFILL
 * and DRAIN, 0 for percpu kinds.
 */
PCP_API uint64_t pcp_trace_event_pages(const struct pcp_trace_event *event);

/**
 * pcp_trace_event_percpu_ptr - the percpu pointer an allocation returned or a free releases
 * @event: an event from pcp_trace_next()
 *
 * Returns the pointer (base_addr + off on kernels without the ptr field), 0 for other kinds.
 */
PCP_API uint64_t pcp_trace_event_percpu_ptr(const struct pcp_trace_event *event);

/**
 * pcp_trace_event_percpu_size - the size of a percpu allocation or failed allocation
 * @event: an event from pcp_trace_next()
 *
 * Returns bytes per CPU, 0 for other kinds (and on kernels whose event lacks the field).
 */
PCP_API uint64_t pcp_trace_event_percpu_size(const struct pcp_trace_event *event);

/**
 * pcp_trace_event_call_site - the caller of a percpu allocation or free
 * @event: an event from pcp_trace_next()
 *
 * Returns the call site address, 0 for other kinds or where the kernel does not record it.
 */
PCP_API uint64_t pcp_trace_event_call_site(const struct pcp_trace_event *event);

/* ---- output formats (pcp_analysis_write(), pcp_compare_write()) ---- */

enum pcp_format {
	PCP_FORMAT_TEXT = 1,    /* the text summary / table the tools print */
	PCP_FORMAT_JSON,        /* the documented JSON document (pcpanalyze(1), JSON OUTPUT) */
	PCP_FORMAT_DB,          /* analysis only: the SQLite results database (schema.sql) */
	PCP_FORMAT_JUNIT,       /* compare only: JUnit XML, one test case per metric */
};

/* ---- analysis: trace.dat in, metrics and tables out (pcp_analysis(3)) ---- */

struct pcp_analysis_opts;  /* pcpanalyze's analysis options */
struct pcp_analysis;       /* the results of one analysis */

/* pcp_analysis_opts_set_infer_gap(): learn the gap from the trace (the default). */
#define PCP_ANALYSIS_INFER_GAP_AUTO UINT64_MAX

/**
 * pcp_analysis_opts_new - analysis options with pcpanalyze's defaults
 *
 * Churn window 1 ms, bucket 10 ms, top 100, refill source and buffer chosen from the trace,
 * infer gap learnt from the trace.
 *
 * Returns the options, or NULL when out of memory. Free with pcp_analysis_opts_free().
 */
PCP_API struct pcp_analysis_opts *pcp_analysis_opts_new(void);

/**
 * pcp_analysis_opts_free - free analysis options
 * @opts: options from pcp_analysis_opts_new() (NULL is fine)
 */
PCP_API void pcp_analysis_opts_free(struct pcp_analysis_opts *opts);

/**
 * pcp_analysis_opts_set_churn_window - round trips up to this long count as fast churn
 * @opts: the options
 * @ns: nanoseconds (pcpanalyze --churn-window)
 *
 * Returns PCP_OK, or PCP_ERR_USAGE for NULL options.
 */
PCP_API int pcp_analysis_opts_set_churn_window(struct pcp_analysis_opts *opts, uint64_t ns);

/**
 * pcp_analysis_opts_set_bucket - window for peak lock rates and the timeline
 * @opts: the options
 * @ns: nanoseconds, not 0 (pcpanalyze --bucket)
 *
 * Returns PCP_OK, or PCP_ERR_USAGE for 0.
 */
PCP_API int pcp_analysis_opts_set_bucket(struct pcp_analysis_opts *opts, uint64_t ns);

/**
 * pcp_analysis_opts_set_top - PFNs kept in the pfn_cycles table
 * @opts: the options
 * @n: count, at most 100000000 (pcpanalyze --top)
 *
 * Returns PCP_OK, or PCP_ERR_USAGE for a larger count.
 */
PCP_API int pcp_analysis_opts_set_top(struct pcp_analysis_opts *opts, unsigned n);

/**
 * pcp_analysis_opts_set_refill_source - which events are the refills
 * @opts: the options
 * @source: "native", "fallback", or NULL / "auto" for the default (pcpanalyze --refill-source)
 *
 * Returns PCP_OK, or PCP_ERR_USAGE for another name.
 */
PCP_API int pcp_analysis_opts_set_refill_source(struct pcp_analysis_opts *opts,
						const char *source);

/**
 * pcp_analysis_opts_set_infer_gap - inferred zone locks: the pause that starts a new one
 * @opts: the options
 * @ns: nanoseconds, 0 = no inference, PCP_ANALYSIS_INFER_GAP_AUTO = learnt per kind from the
 *      trace (pcpanalyze --infer-gap)
 *
 * Returns PCP_OK, or PCP_ERR_USAGE for NULL options.
 */
PCP_API int pcp_analysis_opts_set_infer_gap(struct pcp_analysis_opts *opts, uint64_t ns);

/**
 * pcp_analysis_opts_set_buffer - the trace buffer to analyze
 * @opts: the options
 * @buffer: a buffer name ("top" = the top-level one), or NULL to choose (pcpanalyze --buffer);
 *          copied
 *
 * Returns PCP_OK, PCP_ERR_USAGE for "", or PCP_ERR_NOMEM.
 */
PCP_API int pcp_analysis_opts_set_buffer(struct pcp_analysis_opts *opts, const char *buffer);

/**
 * pcp_analysis_run - analyze a trace.dat
 * @path: the trace.dat; its recorder's meta file <path>.meta.json is read when present
 * @opts: options, or NULL for the defaults
 * @out: receives the results; NULL on error
 *
 * The same analysis as pcpanalyze(1): never a partial result.
 *
 * Returns PCP_OK, or the error pcpanalyze exits with (pcp_exit_code()): PCP_ERR_NOFILE,
 * PCP_ERR_EMPTY, PCP_ERR_NOT_TRACE, PCP_ERR_TRUNCATED, PCP_ERR_CORRUPT, PCP_ERR_NO_EVENTS,
 * PCP_ERR_MODE, PCP_ERR_BAD_META, PCP_ERR_NOMEM, PCP_ERR_IO, PCP_ERR_USAGE (NULL path).
 */
PCP_API int pcp_analysis_run(const char *path, const struct pcp_analysis_opts *opts,
			     struct pcp_analysis **out);

/**
 * pcp_analysis_free - free the results of pcp_analysis_run()
 * @analysis: the results (NULL is fine)
 */
PCP_API void pcp_analysis_free(struct pcp_analysis *analysis);

/**
 * pcp_analysis_metric - one metric's value
 * @analysis: the results
 * @name: a metric name (docs/METRICS.md, pcp_analysis_metric_name())
 * @value: receives the value (NAN when undefined; may be NULL)
 *
 * Returns 1 when the metric is defined, 0 when it is undefined (NULL in the database and the
 * JSON: no time base, no pairs, ...), -1 when the analysis has no metric of that name.
 */
PCP_API int pcp_analysis_metric(const struct pcp_analysis *analysis, const char *name,
				double *value);

/**
 * pcp_analysis_metric_count - how many metrics the analysis has
 * @analysis: the results
 *
 * Returns the PCP metrics and, when the trace has percpu events, the percpu ones.
 */
PCP_API size_t pcp_analysis_metric_count(const struct pcp_analysis *analysis);

/**
 * pcp_analysis_metric_name - the name of the i-th metric
 * @analysis: the results
 * @i: 0 to pcp_analysis_metric_count() - 1, in the order of the metrics table
 *
 * Returns the name, or NULL when i is out of range.
 */
PCP_API const char *pcp_analysis_metric_name(const struct pcp_analysis *analysis, size_t i);

/**
 * pcp_analysis_metric_unit - a metric's unit and direction
 * @analysis: the results
 * @name: a metric name
 * @better: receives "lower", "higher" or "none" (may be NULL)
 *
 * Returns the unit ("ratio", "pages", "1/s", ...), or NULL when there is no such metric.
 */
PCP_API const char *pcp_analysis_metric_unit(const struct pcp_analysis *analysis,
					     const char *name, const char **better);

/**
 * pcp_analysis_table_rows - the rows of a results table
 * @analysis: the results
 * @table: "cpu_flow", "pair_matrix", "round_trip_hist", "zone_lock", "timeline",
 *         "zone_lock_timeline", "lifecycle_cpu_flow", "lifecycle_residency_hist",
 *         "lifecycle_occupancy", "lifecycle_task" or "round_trip_phase_hist" (the database's
 *         tables of those names; the lifecycle ones have no row unless the trace has
 *         mm_page_alloc/mm_page_free records)
 * @rows: receives the number of rows
 *
 * Returns PCP_OK, or PCP_ERR_USAGE for another table name.
 */
PCP_API int pcp_analysis_table_rows(const struct pcp_analysis *analysis, const char *table,
				    size_t *rows);

/**
 * pcp_analysis_table_value - one cell of a results table
 * @analysis: the results
 * @table: a table of pcp_analysis_table_rows()
 * @row: 0 to rows - 1, in the database's order
 * @column: a column of that table in the database (zone_lock's and zone_lock_timeline's
 *          kind: 0 refill, 1 drain; lifecycle_residency_hist's exit_kind: 0 alloc, 1 drain;
 *          round_trip_phase_hist's phase: 0 wait_before_alloc, 1 in_use, 2 wait_between_uses,
 *          3 wait_after_free; lifecycle_task's comm is text, not a column here)
 * @value: receives the value (NAN where the database has NULL)
 *
 * Returns PCP_OK, or PCP_ERR_USAGE for an unknown table or column or a row out of range.
 */
PCP_API int pcp_analysis_table_value(const struct pcp_analysis *analysis, const char *table,
				     size_t row, const char *column, double *value);

/**
 * pcp_analysis_write - write the results as pcpanalyze does
 * @analysis: the results
 * @format: PCP_FORMAT_DB, PCP_FORMAT_JSON or PCP_FORMAT_TEXT
 * @path: the output file ("-" = standard output, JSON and text only)
 *
 * The file is written beside the target and renamed over it only when complete: after an
 * error the target is as it was. The trace and its meta file are refused as outputs.
 *
 * Returns PCP_OK, PCP_ERR_USAGE (bad format, output is the input), PCP_ERR_IO, PCP_ERR_DB,
 * PCP_ERR_NOMEM.
 */
PCP_API int pcp_analysis_write(const struct pcp_analysis *analysis, enum pcp_format format,
			       const char *path);

/* ---- compare: a regression gate over runs (pcp_compare(3)) ---- */

struct pcp_compare;  /* the runs, the options and, after pcp_compare_run(), the verdicts */

/* A metric's verdict (pcp_compare_verdict()). */
enum pcp_compare_verdict {
	PCP_COMPARE_SAME = 0,       /* new median inside the base band */
	PCP_COMPARE_BETTER,         /* outside it in the good direction */
	PCP_COMPARE_WORSE,          /* outside it in the bad direction, ranges still overlap */
	PCP_COMPARE_REGRESSION,     /* worse, and every new run is worse than every base run */
	PCP_COMPARE_CHANGED,        /* outside the band, the metric has no direction */
	PCP_COMPARE_NA,             /* undefined in at least one run */
};

/**
 * pcp_compare_new - an empty comparison with pcpanalyze compare's defaults
 *
 * Returns the handle, or NULL when out of memory. Free with pcp_compare_free().
 */
PCP_API struct pcp_compare *pcp_compare_new(void);

/**
 * pcp_compare_free - free a comparison
 * @cmp: the handle (NULL is fine)
 */
PCP_API void pcp_compare_free(struct pcp_compare *cmp);

/**
 * pcp_compare_add_run - add a base or a new run
 * @cmp: the comparison
 * @is_new: 0 for a base run, 1 for a new run
 * @path: a results database or a trace.dat (analyzed with the analysis options); copied
 *
 * Returns PCP_OK, PCP_ERR_USAGE (NULL path, or after pcp_compare_run()), PCP_ERR_NOMEM.
 */
PCP_API int pcp_compare_add_run(struct pcp_compare *cmp, int is_new, const char *path);

/**
 * pcp_compare_set_threshold - a metric's noise threshold
 * @cmp: the comparison
 * @metric: the metric name
 * @pct: percent of the base median, >= 0 (pcpanalyze compare --threshold NAME=PCT)
 *
 * Returns PCP_OK, PCP_ERR_USAGE, PCP_ERR_NOMEM.
 */
PCP_API int pcp_compare_set_threshold(struct pcp_compare *cmp, const char *metric, double pct);

/**
 * pcp_compare_set_only - compare only the metrics added this way
 * @cmp: the comparison
 * @metric: a metric name to compare (repeatable; pcpanalyze compare --only)
 *
 * Returns PCP_OK, PCP_ERR_USAGE, PCP_ERR_NOMEM.
 */
PCP_API int pcp_compare_set_only(struct pcp_compare *cmp, const char *metric);

/**
 * pcp_compare_set_fail_on - what makes pcp_compare_failed() true
 * @cmp: the comparison
 * @what: "regression" (the default) or "worse" (pcpanalyze compare --fail-on)
 *
 * Returns PCP_OK, or PCP_ERR_USAGE for another word.
 */
PCP_API int pcp_compare_set_fail_on(struct pcp_compare *cmp, const char *what);

/**
 * pcp_compare_set_allow_lossy - compare runs that lost events anyway
 * @cmp: the comparison
 * @allow: 1 to allow (pcpanalyze compare --allow-lossy), 0 (the default) to refuse them
 *
 * Returns PCP_OK, or PCP_ERR_USAGE for NULL.
 */
PCP_API int pcp_compare_set_allow_lossy(struct pcp_compare *cmp, int allow);

/**
 * pcp_compare_set_allow_mode_mismatch - compare runs with different refill sources anyway
 * @cmp: the comparison
 * @allow: 1 to allow (pcpanalyze compare --allow-mode-mismatch), 0 (the default) to refuse
 *
 * Returns PCP_OK, or PCP_ERR_USAGE for NULL.
 */
PCP_API int pcp_compare_set_allow_mode_mismatch(struct pcp_compare *cmp, int allow);

/**
 * pcp_compare_set_analysis_opts - analysis options for the trace.dat runs
 * @cmp: the comparison
 * @opts: options (copied), or NULL for the defaults
 *
 * Returns PCP_OK, PCP_ERR_USAGE, PCP_ERR_NOMEM.
 */
PCP_API int pcp_compare_set_analysis_opts(struct pcp_compare *cmp,
					  const struct pcp_analysis_opts *opts);

/**
 * pcp_compare_run - load every run and compare
 * @cmp: the comparison, with at least one base and one new run
 *
 * Returns PCP_OK, or why the runs cannot be compared (pcpanalyze compare exits 2):
 * PCP_ERR_USAGE (no base or no new run, run twice), PCP_ERR_SCHEMA, PCP_ERR_MODE_MISMATCH,
 * PCP_ERR_LOSSY, a load error of one run (PCP_ERR_NOFILE, PCP_ERR_DB, a trace's errors).
 */
PCP_API int pcp_compare_run(struct pcp_compare *cmp);

/**
 * pcp_compare_metric_count - the metrics compared
 * @cmp: a comparison after pcp_compare_run()
 *
 * Returns their number (0 before the run).
 */
PCP_API size_t pcp_compare_metric_count(const struct pcp_compare *cmp);

/**
 * pcp_compare_metric_name - the i-th metric compared
 * @cmp: a comparison after pcp_compare_run()
 * @i: 0 to pcp_compare_metric_count() - 1 (regressions first, then worse, changed, better,
 *     same, n/a)
 *
 * Returns the name, or NULL when i is out of range.
 */
PCP_API const char *pcp_compare_metric_name(const struct pcp_compare *cmp, size_t i);

/**
 * pcp_compare_verdict - a metric's verdict and medians
 * @cmp: a comparison after pcp_compare_run()
 * @metric: a metric name
 * @base: receives the base runs' median (NAN if undefined; may be NULL)
 * @new_median: receives the new runs' median (NAN if undefined; may be NULL)
 *
 * Returns an enum pcp_compare_verdict, or -1 when the metric was not compared.
 */
PCP_API int pcp_compare_verdict(const struct pcp_compare *cmp, const char *metric,
				double *base, double *new_median);

/**
 * pcp_compare_verdict_name - a verdict's name
 * @verdict: an enum pcp_compare_verdict value
 *
 * Returns "same", "better", "worse", "regression", "changed", "n/a", or "unknown".
 */
PCP_API const char *pcp_compare_verdict_name(int verdict);

/**
 * pcp_compare_failed - the overall result
 * @cmp: a comparison after pcp_compare_run()
 *
 * Returns 1 when a metric regressed (or got worse, with fail-on "worse"): pcpanalyze compare
 * exits 1 then. Returns 0 otherwise, and before the run.
 */
PCP_API int pcp_compare_failed(const struct pcp_compare *cmp);

/**
 * pcp_compare_write - write the comparison as pcpanalyze compare does
 * @cmp: a comparison after pcp_compare_run()
 * @format: PCP_FORMAT_TEXT (no colour), PCP_FORMAT_JSON or PCP_FORMAT_JUNIT
 * @path: the output file ("-" = standard output, text and JSON only)
 *
 * Written beside the target and renamed over it when complete; an input is refused as output.
 *
 * Returns PCP_OK, PCP_ERR_USAGE (bad format, not run, output is an input), PCP_ERR_IO,
 * PCP_ERR_NOMEM.
 */
PCP_API int pcp_compare_write(const struct pcp_compare *cmp, enum pcp_format format,
			      const char *path);

/* ---- record: a recording of the running kernel (pcp_recording(3)) ---- */

struct pcp_recording_opts;  /* what to record */
struct pcp_recording;       /* a recording in progress (an own tracefs instance) */

/**
 * pcp_recording_opts_new - recording options with pcprecord's defaults
 *
 * The PCP and percpu events, every CPU, the instance's buffer size and clock, trace.dat
 * version 6, no output path.
 *
 * Returns the options, or NULL when out of memory. Free with pcp_recording_opts_free().
 */
PCP_API struct pcp_recording_opts *pcp_recording_opts_new(void);

/**
 * pcp_recording_opts_free - free recording options
 * @opts: options from pcp_recording_opts_new() (NULL is fine)
 */
PCP_API void pcp_recording_opts_free(struct pcp_recording_opts *opts);

/**
 * pcp_recording_opts_add_event - record one more event
 * @opts: the options
 * @event: "system:event" or "system:*" (pcprecord -e); copied
 *
 * Returns PCP_OK, PCP_ERR_USAGE (no colon), PCP_ERR_NOMEM.
 */
PCP_API int pcp_recording_opts_add_event(struct pcp_recording_opts *opts, const char *event);

/**
 * pcp_recording_opts_set_buffer_kb - the per-CPU ring buffer size
 * @opts: the options
 * @kb: kilobytes per CPU, 0 = the instance's default (pcprecord -b; with the lifecycle events
 *      at least 4096)
 *
 * Returns PCP_OK, or PCP_ERR_USAGE for NULL options.
 */
PCP_API int pcp_recording_opts_set_buffer_kb(struct pcp_recording_opts *opts, size_t kb);

/**
 * pcp_recording_opts_set_lifecycle - also record every page allocation and free
 * @opts: the options
 * @on: 1 to also arm kmem:mm_page_alloc and kmem:mm_page_free (pcprecord --lifecycle), 0 not
 *
 * The events the lifecycle model follows each block through the PCP lists with
 * (mm_page_alloc_zone_locked is always armed). They raise the event rate several times: without
 * pcp_recording_opts_set_buffer_kb() the per-CPU buffer is then at least 4096 KB (pcprecord(1),
 * --lifecycle, has the measured rates).
 *
 * Returns PCP_OK, or PCP_ERR_USAGE for NULL options.
 */
PCP_API int pcp_recording_opts_set_lifecycle(struct pcp_recording_opts *opts, int on);

/**
 * pcp_recording_opts_set_cpus - the CPUs to record
 * @opts: the options
 * @cpulist: "0-3,6", or NULL for all (pcprecord -C); copied
 *
 * Returns PCP_OK, PCP_ERR_USAGE, PCP_ERR_NOMEM.
 */
PCP_API int pcp_recording_opts_set_cpus(struct pcp_recording_opts *opts, const char *cpulist);

/**
 * pcp_recording_opts_set_clock - the trace clock
 * @opts: the options
 * @clock: "local", "global", "mono", "x86-tsc", ..., or NULL for the instance's default; copied
 * @force: 1 to record with a clock that gives no time base anyway (pcprecord --force-clock)
 *
 * As pcprecord(1) --clock: a clock without a time base (counter, uptime; x86-tsc when neither
 * the kernel's TSC-to-ns conversion nor an invariant TSC to measure is available) makes
 * pcp_recording_create() fail with PCP_ERR_USAGE unless forced. x86-tsc recordings get a
 * TSC2NSEC option, so that timestamps are nanoseconds.
 *
 * Returns PCP_OK, PCP_ERR_USAGE, PCP_ERR_NOMEM.
 */
PCP_API int pcp_recording_opts_set_clock(struct pcp_recording_opts *opts, const char *clock,
					 int force);

/**
 * pcp_recording_opts_set_output - the trace.dat pcp_recording_write() writes
 * @opts: the options
 * @path: the file; copied
 * @version: trace.dat version 6 or 7
 * @compression: version 7 only: "none", "zstd" or "zlib" (NULL = "none")
 *
 * Returns PCP_OK, PCP_ERR_USAGE (bad version or compression), PCP_ERR_NOMEM.
 */
PCP_API int pcp_recording_opts_set_output(struct pcp_recording_opts *opts, const char *path,
					  int version, const char *compression);

/**
 * pcp_recording_create - set up a recording: own tracefs instance, events enabled, tracing off
 * @opts: the options (an output path is required)
 * @out: receives the recording; NULL on error
 *
 * Needs root and tracefs (mounted if needed). Spool files go beside the output.
 *
 * Returns PCP_OK, or PCP_ERR_USAGE (also: a clock without a time base, not forced), PCP_ERR_NOT_ROOT, PCP_ERR_NO_TRACEFS,
 * PCP_ERR_NO_EVENT_AVAIL, PCP_ERR_TRACEFS, PCP_ERR_NOMEM. On error no instance is left.
 */
PCP_API int pcp_recording_create(const struct pcp_recording_opts *opts,
				 struct pcp_recording **out);

/**
 * pcp_recording_start - turn tracing on and stream the ring buffers to spool files
 * @rec: a created recording
 *
 * Returns PCP_OK, PCP_ERR_USAGE (already started), PCP_ERR_TRACEFS, PCP_ERR_IO.
 */
PCP_API int pcp_recording_start(struct pcp_recording *rec);

/**
 * pcp_recording_stop - turn tracing off, read what is left, remove the instance
 * @rec: a started recording
 *
 * Returns PCP_OK, PCP_ERR_USAGE (not started), PCP_ERR_TRACEFS, PCP_ERR_IO.
 */
PCP_API int pcp_recording_stop(struct pcp_recording *rec);

/**
 * pcp_recording_lost_events - events the kernel lost during the recording
 * @rec: a stopped recording
 *
 * Returns the sum over CPUs of overrun, commit overrun and dropped events.
 */
PCP_API uint64_t pcp_recording_lost_events(const struct pcp_recording *rec);

/**
 * pcp_recording_write - write the trace.dat
 * @rec: a stopped recording
 *
 * Writes the output of the options atomically (temp file + rename). pcprecord's meta file
 * (snapshots) is not written: pcpanalyze analyzes the trace without it.
 *
 * Returns PCP_OK, PCP_ERR_USAGE (not stopped), PCP_ERR_IO, PCP_ERR_NOMEM.
 */
PCP_API int pcp_recording_write(struct pcp_recording *rec);

/**
 * pcp_recording_destroy - end a recording
 * @rec: the recording (NULL is fine)
 *
 * Stops tracing if still on, removes the tracefs instance and the spool files, frees all.
 */
PCP_API void pcp_recording_destroy(struct pcp_recording *rec);

#ifdef __cplusplus
}
#endif

#endif
