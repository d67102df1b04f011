/* The recorder's meta file beside a trace, <trace>.meta.json (pcprecord(1), META FILE): recording
 * info and allocator snapshots as one typed struct, with its one reader (JSON -> struct,
 * meta_read.c) and its one writer (struct -> JSON, meta_write.c). Everything that uses the meta
 * (pcprecord, the analysis, store, percpu_store, merge) goes through these. */
#ifndef PCPTRACE_META_H
#define PCPTRACE_META_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "meta/percpu_stats.h"

/* A member the file may lack: readers keep "absent" and "null" apart so that a meta file is
 * written back as it was read. */
enum pcp_meta_presence { PCP_META_ABSENT = 0, PCP_META_NULL, PCP_META_SET };

struct pcp_meta_strings {
	int present;                   /* the member is an array */
	char **v;
	size_t n;
};

/* recording.cpus[]: the kernel's per-CPU ring-buffer stats as pcprecord read them. */
struct pcp_meta_cpu {
	int64_t cpu;
	int recorded;
	int64_t bytes, events, overrun, commit_overrun, dropped, read_events, missed_in_file,
		missed_unknown_pages;
};

struct pcp_meta_event_count {
	char *name;                    /* "system:event" */
	int64_t count;
};

/* The "recording" member: the tracefs instance and what it recorded. */
struct pcp_meta_recording {
	int present;
	char *instance, *clock;
	int64_t buffer_kb, subbuf_size, nr_cpus;
	int64_t *recorded_cpus;
	size_t nr_recorded_cpus;
	char *refill_source;           /* "native" or "fallback" */
	struct pcp_meta_strings events, missing_events;
	int64_t events_total;
	struct pcp_meta_event_count *event_counts;
	size_t nr_event_counts;
	int64_t lost_events, lost_unknown_pages;
	struct pcp_meta_cpu *cpus;
	size_t nr_cpu_rows;
	int has_tsc2nsec;              /* x86-tsc recordings: ns = cycles * mult >> shift */
	int64_t tsc2nsec_mult, tsc2nsec_shift;
	char *tsc2nsec_source;         /* "perf" or "calibrated" */
	enum pcp_meta_presence lifecycle; /* absent in older files (then only the events list
					* tells); PCP_META_SET: lifecycle_on holds the value */
	int lifecycle_on;              /* pcprecord --lifecycle: mm_page_alloc/free were armed */
};

/* One per-CPU pageset of a zone (/proc/zoneinfo); has: PCP_META_PAGESET_* bits. */
enum {
	PCP_META_PAGESET_COUNT = 1, PCP_META_PAGESET_HIGH = 2, PCP_META_PAGESET_BATCH = 4,
	PCP_META_PAGESET_HIGH_MIN = 8, PCP_META_PAGESET_HIGH_MAX = 16,
	PCP_META_PAGESET_VM_STATS_THRESHOLD = 32,
};
struct pcp_meta_pageset {
	int64_t cpu, count, high, batch, high_min, high_max, vm_stats_threshold;
	unsigned has;
};

/* One zone of /proc/zoneinfo; has: PCP_META_ZONE_* bits (older kernels print no span). */
enum {
	PCP_META_ZONE_ZID = 1, PCP_META_ZONE_SPANNED = 2, PCP_META_ZONE_START_PFN = 4,
	PCP_META_ZONE_NODE = 8,
};
struct pcp_meta_zone {
	int64_t node, zid, spanned, start_pfn;   /* node -1 when the file has none */
	char *name;
	unsigned has;
	int span_damaged;              /* start_pfn given, but node/zid/start_pfn/spanned not all
					* non-negative integers: the zone map refuses the meta */
	struct pcp_meta_pageset *pagesets;
	size_t nr_pagesets;
};

struct pcp_meta_counter {
	char *name;
	int64_t value;
};

/*
 * /sys/kernel/debug/percpu_stats of a snapshot. text is parsed once, by the one parser
 * (percpu_stats.h), into parsed; the file's own "parsed" member is that parse written out.
 * available: the text brackets the trace (pcprecord read it and found no race at the tracing
 * switch); otherwise reason says why not.
 */
struct pcp_meta_percpu_stats {
	int present, available;
	char *reason, *text;
	struct pcp_percpu_stats *parsed;   /* NULL: no text, or a text the parser refuses */
	int text_damaged;                  /* text present but refused by the parser */
	int has_switch;                    /* "tracing_switch": counters read at the switch */
	char *switch_when;                 /* "went on", "went off" */
	int64_t switch_nr_alloc, switch_nr_dealloc, switch_attempts;
	int has_traced_after_read;         /* operations the trace holds after the last read */
	int64_t traced_allocs, traced_frees;
};

/* One snapshot ("before" or "after" the traced window). */
struct pcp_meta_snapshot {
	int present;
	char *time;                        /* ISO 8601 UTC, ms */
	int has_time_ns;
	int64_t time_ns;                   /* CLOCK_REALTIME */
	int percpu_stats_last;             /* percpu_stats after zoneinfo/vmstat in the file
					    * (kept to write the file back as read; the order the
					    * files were read in is pcprecord(1)'s, META FILE) */
	struct pcp_meta_percpu_stats percpu_stats;
	int has_zoneinfo;
	struct pcp_meta_zone *zones;
	size_t nr_zones;
	char *zoneinfo_error;              /* instead of zoneinfo when it could not be read */
	int has_pageset_timing;            /* "pageset_timing" (pcprecord since issue 11) */
	int64_t pageset_read_ns;           /* the /proc/zoneinfo read, open to close */
	int64_t pageset_switch_gap_ns;     /* at most this between the read and the tracing
					    * switch: before: read end -> tracing on returned;
					    * after: tracing off begun -> read start */
	int has_vmstat;
	struct pcp_meta_counter *vmstat;   /* in the file's order */
	size_t nr_vmstat;
	char *vmstat_error;
};

struct pcp_meta {
	char *format;                      /* "pcptrace-meta" */
	int has_version;
	int64_t version;                   /* 1 */
	char *tool, *trace_file;
	struct pcp_meta_strings command_line;
	enum pcp_meta_presence workload;   /* NULL: no command (pcprecord --duration) */
	struct pcp_meta_strings workload_argv;
	char *kernel_release, *kernel_version, *machine, *hostname;
	char *start_time, *stop_time;
	int has_duration;
	double duration_s;
	char *stop_reason;
	enum pcp_meta_presence exit_status;
	int64_t exit_status_value;
	enum pcp_meta_presence workload_user;  /* pcprecord --user; absent in older files */
	char *user_name;
	int64_t user_uid, user_gid;
	struct pcp_meta_recording recording;
	struct pcp_meta_snapshot before, after;
	/* The file as read, for the outputs that show it as it is (the analysis JSON's "meta"
	 * member, trace_info's meta.* rows): members this version does not know are kept there. */
	json_t *json;
};

/* trace_info keys of the members that name a run: the store writes each top-level member of
 * the meta as "meta.<member>" (store.c), merge reads these for its run table. */
#define PCP_META_INFO_HOSTNAME "meta.hostname"
#define PCP_META_INFO_KERNEL_RELEASE "meta.kernel_release"
#define PCP_META_INFO_START_TIME "meta.start_time"

/* ---- reader (meta_read.c) ---- */

/* Loads "<trace_path>.meta.json". *out = NULL and PCP_OK when the file does not exist;
 * PCP_ERR_BAD_META when it exists but is not a JSON object. Members of another type than
 * documented read as absent; damage that matters to one use (a zone span, a percpu_stats text)
 * is flagged (span_damaged, text_damaged) for that use to refuse. PCP_ERR_NOMEM. */
int pcp_meta_load(const char *trace_path, struct pcp_meta **out);
/* The same from a JSON object (kept referenced in (*out)->json). */
int pcp_meta_from_json(json_t *root, struct pcp_meta **out);
/* The "recording" member and one snapshot alone (pcprecord builds them as JSON first). */
int pcp_meta_recording_from_json(const json_t *o, struct pcp_meta_recording *rec);
int pcp_meta_snapshot_from_json(const json_t *o, struct pcp_meta_snapshot *snap);
void pcp_meta_free(struct pcp_meta *m);
/* A snapshot's percpu_stats, parsed, when it brackets the trace (available, with a text): *out
 * NULL and PCP_OK when it does not, PCP_ERR_BAD_META when its text is damaged. Owned by m. */
int pcp_meta_percpu_stats(const struct pcp_meta_snapshot *s,
			  const struct pcp_percpu_stats **out);

/* Each CPU's pages on its PCP lists in the snapshot, the pageset `count` summed over zones,
 * into pages[0..nr_cpus-1] (the lifecycle model's start_pages / end_pages). 1 when filled; 0
 * (pages untouched) when the snapshot cannot say: no zoneinfo, a pageset without a count or
 * with a CPU >= nr_cpus, a CPU twice in a zone, or zones with pagesets that list different
 * CPUs. A CPU in no zone counts 0: zoneinfo lists the online CPUs, and the kernel empties an
 * offline CPU's lists. */
int pcp_meta_pcp_pages(const struct pcp_meta_snapshot *s, uint32_t nr_cpus, int64_t *pages);

/* ---- writer (meta_write.c) ---- */

/* The meta as JSON, members in the recorder's order (pcprecord(1), META FILE). NULL: no memory. */
json_t *pcp_meta_to_json(const struct pcp_meta *m);
/* percpu_stats' "parsed" member: {"allocation":{..},"global":{..},
 * "chunks":[{"kind":"first"|"reserved"|"dynamic",..},..]}. NULL: no memory. */
json_t *pcp_meta_percpu_stats_json(const struct pcp_percpu_stats *s);
/* Writes "<trace_path>.meta.json" atomically (temp file + rename), 2-space indented. */
int pcp_meta_write(const char *trace_path, const struct pcp_meta *m, char *errbuf, size_t errlen);
/* kernel_release, kernel_version, machine and hostname of this system into m. PCP_ERR_NOMEM. */
int pcp_meta_set_system(struct pcp_meta *m);

/* ---- a recording's meta (meta_recording.c) ---- */

/* What pcprecord knows of a recording it made; the JSON members are the recorder's own
 * (pcp_record_describe, pcp_snapshot_take_ordered). */
struct pcp_meta_recording_run {
	const char *tool, *trace_file;
	int argc;
	char **argv;                       /* pcprecord's command line */
	int workload_argc;                 /* -1: no command */
	char **workload;
	const char *start_time, *stop_time;
	double duration_s;
	const char *stop_reason;
	int have_status, exit_status;
	const char *user_name;             /* pcprecord --user, else NULL */
	int64_t user_uid, user_gid;
	const json_t *recording, *before, *after;
};
/* Writes "<trace_path>.meta.json" for the run (with this system's kernel and host names).
 * PCP_ERR_NOMEM (also for a NULL recording/before/after: its builder ran out of memory), or
 * the output's error; errbuf says which. */
int pcp_meta_write_recording(const char *trace_path, const struct pcp_meta_recording_run *run,
			     char *errbuf, size_t errlen);

#endif
