/*
 * Recording with libtracefs (issue 3): an own tracefs instance "pcprecord-<pid>", the PCP and
 * percpu events enabled in it, every recorded CPU's ring buffer streamed (splice) to an unlinked
 * spool file while tracing runs, per-CPU buffer stats at the end, and a trace.dat written with
 * the tracedat writer. The top-level buffer and other instances are never written to.
 *
 * Order: pcp_record_check_system() → pcp_record_create() → pcp_record_start() →
 * pcp_record_stop() → pcp_record_remove_instance() → pcp_record_write_trace() →
 * pcp_record_destroy(). pcp_record_destroy() removes the instance on every path. None of these
 * may be called from a signal handler: the tool's handler only sets a flag.
 */
#ifndef PCPTRACE_RECORD_H
#define PCPTRACE_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct pcp_record_opts {
	size_t buffer_kb;              /* per-CPU ring buffer size; 0 = the instance's default
					* (with lifecycle: at least PCP_RECORD_LIFECYCLE_BUFFER_KB) */
	const char *cpulist;           /* "0-3,6": CPUs to record; NULL = all */
	const char *clock;             /* trace clock; NULL = the instance's default (local) */
	int lifecycle;                 /* also kmem:mm_page_alloc and kmem:mm_page_free (the
					* lifecycle model's events; mm_page_alloc_zone_locked is
					* always armed), a larger default buffer */
	unsigned stacks;               /* --stacks: 0 off; else stack-trace triggers, in fallback
				        * mode on 1 block in `stacks` (PFN multiple; power of 2) */
	const char *const *extra_events; /* "system:event" or "system:*" (-e) */
	size_t nr_extra_events;
	const char *spool_dir;         /* directory for the per-CPU spool files; NULL = "." */
	int file_version;              /* trace.dat version, 6 or 7; 0 = 6 */
	const char *compression;       /* version 7: "none", "zstd" or "zlib"; NULL = "none" */
	const char *instance_prefix;   /* the instance is <prefix>-<pid>; NULL = "pcprecord"
					* (pcpstat: "pcpstat", so that an older pcprecord's
					* clean-up never takes a running pcpstat's for its own) */
};

/* The per-CPU buffer a lifecycle recording gets when no size is given (and the instance's
 * default is smaller): lossless with margin for every pcpload pattern on the 2-CPU test machine
 * (pcprecord(1), --lifecycle; bench/RESULTS.md). */
#define PCP_RECORD_LIFECYCLE_BUFFER_KB 4096

/* Per-CPU result of a recording. The kernel's counters come from the instance's
 * per_cpu/cpuN/stats read after tracing stopped and everything was read. */
struct pcp_record_cpu {
	int cpu;
	int recorded;                  /* selected by -C (or all) and its buffer was opened */
	uint64_t bytes;                /* raw ring-buffer bytes spooled (whole sub-buffers) */
	uint64_t events;               /* events found in those sub-buffers */
	uint64_t missed_in_file;       /* sum of the sub-buffers' missed-event counts */
	uint64_t missed_unknown;       /* sub-buffers flagged as missing an unknown count */
	uint64_t overrun;              /* kernel: overwritten before they were read */
	uint64_t commit_overrun;       /* kernel: lost to nested writers */
	uint64_t dropped;              /* kernel: dropped (buffer full, no-overwrite mode) */
	uint64_t read_events;          /* kernel: events read by us */
	char *stats_text;              /* the stats file as read (for the CPUSTAT option) */
};

struct pcp_record_event_count {
	char *name;                    /* "system:event" */
	uint64_t count;
};

struct pcp_record;

/* Root and tracefs (mounting it if needed). PCP_ERR_NOT_ROOT or PCP_ERR_NO_TRACEFS, with a
 * one-line reason in errbuf. */
int pcp_record_check_system(char *errbuf, size_t errlen);

/*
 * Creates the instance (tracing off), sizes its buffer, sets the clock and CPU mask, enables
 * the events. Errors: PCP_ERR_USAGE (bad cpulist, clock or -e event), PCP_ERR_NO_EVENT_AVAIL
 * (none of the PCP/percpu events exists), PCP_ERR_TRACEFS, PCP_ERR_NOMEM. On error nothing is
 * left behind (*out = NULL, the instance is removed).
 */
int pcp_record_create(const struct pcp_record_opts *o, struct pcp_record **out, char *errbuf,
		      size_t errlen);

const char *pcp_record_instance_name(const struct pcp_record *r);
const char *pcp_record_clock(const struct pcp_record *r);
/* The trace.dat gets a TSC2NSEC option (ns = cycles * mult >> shift) and the meta's recording
 * a "tsc2nsec" member {mult, shift, source}; source: "perf" or "calibrated" (pcprecord(1)). */
void pcp_record_set_tsc2nsec(struct pcp_record *r, uint32_t mult, uint32_t shift, const char *source);
size_t pcp_record_buffer_kb(const struct pcp_record *r);
int pcp_record_nr_cpus(const struct pcp_record *r);
/* Events enabled ("system:event"), and the PCP events this kernel lacks. */
size_t pcp_record_enabled_events(const struct pcp_record *r, const char *const **names);
size_t pcp_record_missing_events(const struct pcp_record *r, const char *const **names);
/* "native" when kmem:mm_page_pcpu_refill is recorded, else "fallback". */
const char *pcp_record_refill_source(const struct pcp_record *r);

/* Opens the spool files and per-CPU readers, turns tracing on, starts one reader thread per
 * CPU (created with all signals blocked). */
/*
 * Hooks around the tracing switches, so that a caller's snapshots bracket the traced window
 * (percpu_stats deltas then match the traced events). Each switch and its hooks run at
 * SCHED_FIFO where allowed, so that the recorder is not preempted between them.
 *   before_on   right before tracing goes on (the buffer is empty, the workload still held)
 *   after_on    right after; nonzero means "something raced the switch": tracing goes off
 *               again, the buffer is cleared and the switch retried (before_on included), up
 *               to PCP_RECORD_ON_ATTEMPTS times in all; the last attempt stands
 *   before_off  right before tracing goes off
 *   after_off   right after it went off, before anything else
 * Any may be NULL; the return values of all but after_on are ignored.
 */
#define PCP_RECORD_ON_ATTEMPTS 50
typedef int (*pcp_record_hook)(void *ctx);
struct pcp_record_hooks {
	pcp_record_hook before_on, after_on, before_off, after_off;
};
void pcp_record_set_hooks(struct pcp_record *r, const struct pcp_record_hooks *hooks, void *ctx);
int pcp_record_start(struct pcp_record *r, char *errbuf, size_t errlen);

/* Turns tracing off, stops the readers, reads what is left in the buffers, reads the per-CPU
 * stats and counts the events in the spooled sub-buffers. Safe to call when not started. */
int pcp_record_stop(struct pcp_record *r, char *errbuf, size_t errlen);

/* Marks the trace clock's present time (the instance's per_cpu/cpu0/stats "now ts", plus one
 * microsecond for its rounding), so that pcp_record_stop() also counts the events at or after
 * it: a before_off hook uses it to learn which operations it saw counted were also traced.
 * -1 when the clock gives no such time (counter clocks). */
int pcp_record_mark_now(struct pcp_record *r);
/* After pcp_record_stop(): events named "system:event" at or after the mark; -1 without one. */
int pcp_record_count_since_mark(const struct pcp_record *r, const char *name, uint64_t *n);

/* While recording (between start and stop), for live figures (record/live_stats.c): the
 * instance (NULL once removed); CPU cpu's spool file: pcp_record_spool_fd below. */
struct tracefs_instance *pcp_record_tracefs(const struct pcp_record *r);

/* Closes the readers and removes the instance. Idempotent. */
int pcp_record_remove_instance(struct pcp_record *r);

const struct pcp_record_cpu *pcp_record_cpus(const struct pcp_record *r, int *nr);
/* Events per type found in the spooled data (sorted by name; types with 0 are left out). */
const struct pcp_record_event_count *pcp_record_event_counts(const struct pcp_record *r,
							      size_t *nr);

/* The "recording" member of the meta JSON (pcprecord(1), META FILE): instance, clock, buffer,
 * CPUs, events enabled and missing, event counts, lost events per CPU. NULL if out of memory. */
json_t *pcp_record_describe(const struct pcp_record *r);

/* Lost events: sum over CPUs of overrun + commit_overrun + dropped (the kernel's counts). */
uint64_t pcp_record_lost_events(const struct pcp_record *r);

/* Writes the trace.dat (temp file + rename, by the tracedat writer). */
int pcp_record_write_trace(struct pcp_record *r, const char *path, char *errbuf, size_t errlen);

/* For a live reader of the recording (pcpstat, lib/live/), between start and destroy: CPU
 * cpu's spool file (whole sub-buffers appended while tracing runs; read with pread, never
 * written), -1 when the CPU is not recorded; the sub-buffer size; a tep with the instance's
 * header page and the enabled events' formats (NULL with errbuf set, *err the code; the caller
 * frees it with tep_free); the trace clock's present time in ns (0 when it gives none). */
int pcp_record_spool_fd(const struct pcp_record *r, int cpu);
unsigned int pcp_record_subbuf_size(const struct pcp_record *r);
struct tep_handle *pcp_record_new_tep(const struct pcp_record *r, int *err, char *errbuf,
				      size_t errlen);
uint64_t pcp_record_now_ns(const struct pcp_record *r);

/* Removes the instance if still there, closes and frees everything. NULL is fine. */
void pcp_record_destroy(struct pcp_record *r);

/* Removes instances named pcprecord-<pid> (pcpstat-<pid>) whose process no longer exists, or
 * whose PID now belongs to a process not named pcprecord (pcpstat) (left by a recorder killed
 * with SIGKILL, tracing still on). A running recorder's instance is left alone. Returns how
 * many were removed. */
int pcp_record_remove_stale_instances(void);

/* Whether the installed libtracecmd, which pcpanalyze and trace-cmd read headers with, can
 * read a trace.dat compressed with name ("zstd", "zlib"; NULL or "none": uncompressed):
 * 1 yes, 0 no. */
int pcp_record_compression_readable(const char *name);

#endif
