/*
 * Allocator state around a recording (issue 3): /sys/kernel/debug/percpu_stats, the per-CPU
 * pagesets of /proc/zoneinfo and /proc/vmstat, as Jansson values for the recorder's
 * <trace>.meta.json (shape: pcprecord(1), "META FILE"; read and written by meta/meta.h).
 *
 * The parsers take text so that tests feed them captured files. A text they cannot make sense
 * of gives PCP_ERR_BAD_META (and a one-line reason in errbuf), never a partial value.
 */
#ifndef PCPTRACE_SNAPSHOT_H
#define PCPTRACE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* [{"node":0,"zone":"DMA32","zid":1,"spanned":..,"start_pfn":..,
 *   "pagesets":[{"cpu":0,"count":..,"high":..,"batch":..,
 *   "high_min":..,"high_max":..,"vm_stats_threshold":..}, ...]}, ...]
 * zid = the zone's position in its node (0 first, empty zones counted). spanned and
 * start_pfn only when the kernel prints them (no start_pfn for unpopulated zones);
 * high_min/high_max/vm_stats_threshold likewise. Zones without pagesets (unpopulated) have an
 * empty array. */
int pcp_snapshot_parse_zoneinfo(const char *text, json_t **out, char *errbuf, size_t errlen);

/* {"nr_free_pages":..., ...} in the file's order. */
int pcp_snapshot_parse_vmstat(const char *text, json_t **out, char *errbuf, size_t errlen);

/*
 * Reads the live files (mounting debugfs at /sys/kernel/debug if percpu_stats needs it) into
 * {"time":"<ISO 8601 UTC>","time_ns":<CLOCK_REALTIME ns>,
 *  "percpu_stats":{"available":true,"text":"...","parsed":{...}} or
 *                 {"available":false,"reason":"..."[,"text":"..."]},
 *  "zoneinfo":[...], "vmstat":{...}}
 * "parsed" is the text as the one percpu_stats parser reads it (pcp_meta_percpu_stats_json).
 * A file that is missing or damaged is reported inside the snapshot ("zoneinfo_error",
 * "vmstat_error"), so a recording is never lost to a snapshot. Only PCP_ERR_NOMEM fails.
 */
int pcp_snapshot_take(json_t **out);

/* The same with the reads ordered around a tracing switch, the per-CPU pageset counts
 * (/proc/zoneinfo, 25-200 us) nearest to it and percpu_stats (~250 us, checked on the switch's
 * other side) next: BEFORE_ON vmstat, percpu_stats, zoneinfo (then tracing goes on); AFTER_OFF
 * (as pcp_snapshot_take; tracing just went off) zoneinfo, percpu_stats, vmstat. The lifecycle
 * model starts and ends each CPU's occupancy at these counts: pages that move between the read
 * and the switch are an error of the model's end occupancy. Measured on the 2-CPU test VM
 * under load (21 recordings): read 40-215 us, read to switch at most 50-215 us, median 93
 * (parsing the text and the libtracefs write included); percpu_stats alone takes ~250 us. When zi is not NULL it gets the
 * zoneinfo read's CLOCK_MONOTONIC start and end (ns) for pcp_snapshot_set_pageset_timing. */
enum pcp_snapshot_order { PCP_SNAPSHOT_BEFORE_ON, PCP_SNAPSHOT_AFTER_OFF };
struct pcp_snapshot_read_time { int64_t start_ns, end_ns; };
int pcp_snapshot_take_ordered(json_t **out, enum pcp_snapshot_order order,
			      struct pcp_snapshot_read_time *zi);
/* snap's "pageset_timing": {"read_ns", "switch_gap_ns"} (pcprecord(1), META FILE). NOMEM. */
int pcp_snapshot_set_pageset_timing(json_t *snap, int64_t read_ns, int64_t switch_gap_ns);
/* CLOCK_MONOTONIC in ns, the clock of struct pcp_snapshot_read_time. */
int64_t pcp_snapshot_mono_ns(void);

/* percpu_stats' global nr_alloc and nr_dealloc now: one read of the file, which the kernel
 * prints under pcpu_lock, through the one parser. PCP_ERR_IO (cannot read), PCP_ERR_BAD_META
 * (not a percpu_stats listing). */
int pcp_snapshot_percpu_counts(int64_t *nr_alloc, int64_t *nr_dealloc);

/* Records in snap's percpu_stats the counters read on the other side of a tracing switch
 * ("tracing_switch": {when: switch_name ("went on", "went off"), nr_alloc, nr_dealloc,
 * attempts}). When they differ from the snapshot's own (a percpu operation happened between
 * the snapshot and the switch, so the trace may or may not hold it), or could not be read
 * (read_ok 0), the snapshot's percpu_stats is marked "available": false with a reason: the
 * consistency check then gives no verdict instead of a false one. PCP_ERR_NOMEM only. */
int pcp_snapshot_mark_switch(json_t *snap, const char *switch_name, int read_ok, int64_t nr_alloc,
			     int64_t nr_dealloc, int attempts);

#endif
